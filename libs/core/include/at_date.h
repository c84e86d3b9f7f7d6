/*
 * at_date.h -- calendar dates and periods, with no time zone and no clock.
 *
 * A date is the number of days since 1970-01-01 in the proleptic Gregorian calendar,
 * so comparisons and differences are integer arithmetic. Years 1800..2199 are accepted.
 * A period is inclusive at both ends, as Latvian legal texts count them
 * ("no 2017. gada 1. janvāra līdz 31. decembrim").
 *
 * Functions that map a date to a date (at_month_first, at_month_last, at_date_add_months)
 * return AT_DATE_NONE for AT_DATE_NONE. All functions are pure and thread-safe.
 */
#ifndef AT_DATE_H
#define AT_DATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "at_error.h"

typedef int32_t at_date;

#define AT_DATE_NONE INT32_MIN   /* "no date"; never a valid date */

typedef struct at_period {
    at_date from;   /* first day, inclusive */
    at_date to;     /* last day, inclusive; AT_DATE_NONE = open-ended */
} at_period;

/* Build a date; false if the day does not exist (2019-02-29) or the year is out of range. */
bool at_date_from_ymd(int year, int month, int day, at_date *out);
void at_date_to_ymd(at_date d, int *year, int *month, int *day);

/* Strict ISO "YYYY-MM-DD". field names the input in the error. */
at_code at_date_parse(const char *s, const char *field, at_date *out, at_error *err);
/* "YYYY-MM-DD" into buf of at least 11 bytes; returns 10. AT_DATE_NONE writes "" and
 * returns 0. */
int at_date_format(at_date d, char *buf, size_t n);

bool at_date_is_leap_year(int year);
int at_days_in_month(int year, int month);

/* 0 = Monday .. 6 = Sunday. */
int at_date_weekday(at_date d);

at_date at_month_first(at_date d);   /* first day of d's month */
at_date at_month_last(at_date d);    /* last day of d's month */

/* d plus n calendar months; a day past the end of the target month is clamped to its
 * last day (2018-01-31 + 1 month = 2018-02-28). n may be negative. */
at_date at_date_add_months(at_date d, int n);

/* Age in whole years on date `on` for someone born on `birth`. A person born on 29 February
 * reaches a new year of age on 1 March in common years (Latvian civil law counts a term
 * that ends on a day that does not exist to the last day of the month, i.e. 28 February;
 * see date.c for the reasoning and the choice made). Negative if on < birth. */
int at_age_on(at_date birth, at_date on);

/* The n full calendar months before the month of `ref`: ref 2018-05-14, n 3 ->
 * 2018-02-01 .. 2018-04-30. This is "the last three full months before the application".
 * n < 1 gives an empty period (to = from - 1); ref AT_DATE_NONE gives {NONE, NONE}. */
at_period at_last_full_months(at_date ref, int n);

/* The calendar month containing d. */
at_period at_month_of(at_date d);

/* A period whose `from` is AT_DATE_NONE is not valid: it contains nothing, overlaps nothing
 * and has 0 days. */
bool at_period_contains(at_period p, at_date d);
bool at_period_valid(at_period p);                  /* from <= to (or to open) */
/* Number of days the two periods share: 0 if disjoint, -1 if both are open-ended. */
int32_t at_period_overlap_days(at_period a, at_period b);
int32_t at_period_days(at_period p);                /* to - from + 1 (0 if to < from); -1 if open-ended */

#endif
