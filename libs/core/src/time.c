/*
 * time.c -- the clock (see at_time.h). Nothing else in libs/core reads it, so every other
 * calculation can be tested with dates the test chooses.
 *
 * clock_gettime cannot fail for CLOCK_REALTIME and CLOCK_MONOTONIC with a valid pointer
 * (EINVAL/EFAULT are the only errors it has), so these functions have no error path.
 */
#include "at_time.h"

#include <time.h>

#define US_PER_DAY 86400000000LL

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
    /* Floor division: the microsecond before 1970-01-01 belongs to 1969-12-31 (day -1),
     * where C's truncating division would say day 0. */
    int64_t days = us / US_PER_DAY;
    if (us % US_PER_DAY < 0)
        days--;
    return (at_date)days;
}

at_date at_today_utc(void)
{
    return at_date_of_us(at_now_us());
}
