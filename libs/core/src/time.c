/*
 * time.c -- the clock (see at_time.h). Nothing else in libs/core reads it.
 */
#include "at_time.h"

#include <time.h>

int64_t at_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t at_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

at_date at_date_of_us(int64_t us)
{
    int64_t days = us / 86400000000LL;
    if (us < 0 && us % 86400000000LL != 0)
        days--;
    return (at_date)days;
}

at_date at_today_utc(void)
{
    return at_date_of_us(at_now_us());
}
