/*
 * at_time.h -- the clock, kept out of every pure calculation.
 */
#ifndef AT_TIME_H
#define AT_TIME_H

#include <stdint.h>
#include "at_date.h"

int64_t at_now_us(void);          /* wall clock, Unix microseconds UTC */
int64_t at_mono_ns(void);         /* monotonic clock in nanoseconds, for durations */
at_date at_today_utc(void);       /* today's date in UTC */
/* The calendar date (UTC) of a Unix-microsecond timestamp. */
at_date at_date_of_us(int64_t us);

#endif
