/*
 * date.c -- calendar dates as day numbers, and inclusive periods (see at_date.h).
 *
 * Conversion counts days directly: 365 per year since 1970 plus one for every leap day in
 * between, the leap days counted with floor division so the same formula holds on both
 * sides of 1970. The way back estimates the year from the mean Gregorian year (146097 days
 * per 400 years) and corrects the estimate by at most a step. Both work in 64 bits for
 * every int32 input, so even AT_DATE_NONE converts without overflow (to a meaningless year);
 * tests/core/test_date.c round-trips every day from 1800 to 2199.
 *
 * Only 1800..2199 are accepted from outside (at_date_from_ymd, at_date_parse): personal
 * codes start in the 1800s and no legal act of this product reaches 2200, so a wider range
 * would only admit typing mistakes. Arithmetic on valid dates may leave the range.
 *
 * Functions that take a date and return a date pass AT_DATE_NONE through unchanged.
 */
#include "at_date.h"

#include <stdio.h>
#include <string.h>

#define YEAR_MIN 1800
#define YEAR_MAX 2199

/* Days before the first of each month in a common year. */
static const int16_t days_before_month[13] = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365};

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

bool at_date_is_leap_year(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int at_days_in_month(int y, int m)
{
    if (m < 1 || m > 12)
        return 0;
    if (m == 2 && at_date_is_leap_year(y))
        return 29;
    return days_before_month[m] - days_before_month[m - 1];
}

/* Leap years before year y, up to a constant: multiples of 4, less those of 100, plus those
 * of 400. Only differences of it are used, so the constant cancels; floor division keeps the
 * count right for years before 1 as well. */
static int64_t leap_years_before(int64_t y)
{
    int64_t p = y - 1;
    return floor_div(p, 4) - floor_div(p, 100) + floor_div(p, 400);
}

/* The day number of 1 January of year y. */
static int64_t year_start(int64_t y)
{
    return 365 * (y - 1970) + leap_years_before(y) - leap_years_before(1970);
}

/* Day number of y-m-d, for any y and a month 1..12; d may be any day of that month. */
static int64_t day_number(int64_t y, int m, int d)
{
    int64_t n = year_start(y) + days_before_month[m - 1] + d - 1;
    if (m > 2 && at_date_is_leap_year((int)y))
        n++;
    return n;
}

void at_date_to_ymd(at_date z, int *year, int *month, int *day)
{
    /* The estimate is within one year of the truth; the loops settle it. */
    int64_t y = 1970 + floor_div((int64_t)z * 400, 146097);
    while (year_start(y) > z)
        y--;
    while (year_start(y + 1) <= z)
        y++;
    int doy = (int)(z - year_start(y));   /* 0..365 */
    int leap = at_date_is_leap_year((int)y);
    int m = 12;
    while (days_before_month[m - 1] + (m > 2 ? leap : 0) > doy)
        m--;
    if (year)
        *year = (int)y;
    if (month)
        *month = m;
    if (day)
        *day = doy - days_before_month[m - 1] - (m > 2 ? leap : 0) + 1;
}

bool at_date_from_ymd(int y, int m, int d, at_date *out)
{
    if (y < YEAR_MIN || y > YEAR_MAX || m < 1 || m > 12 || d < 1 || d > at_days_in_month(y, m))
        return false;
    *out = (at_date)day_number(y, m, d);
    return true;
}

static int two_digits(const char *s)
{
    return (s[0] - '0') * 10 + (s[1] - '0');
}

at_code at_date_parse(const char *s, const char *field, at_date *out, at_error *err)
{
    bool shape = s && strlen(s) == 10 && s[4] == '-' && s[7] == '-';
    for (int i = 0; shape && i < 10; i++)
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
            shape = false;
    if (!shape) {
        at_error_set(err, AT_VALIDATION, field, "invalid date \"%.20s\"", s ? s : "");
        at_error_detail(err, "A date is written YYYY-MM-DD, for example 2018-05-14.");
        return AT_VALIDATION;
    }
    int y = two_digits(s) * 100 + two_digits(s + 2);
    if (!at_date_from_ymd(y, two_digits(s + 5), two_digits(s + 8), out)) {
        at_error_set(err, AT_VALIDATION, field, "date \"%s\" does not exist", s);
        at_error_detail(err, "The day must exist in the calendar and the year must be between %d and %d.",
                        YEAR_MIN, YEAR_MAX);
        return AT_VALIDATION;
    }
    return AT_OK;
}

int at_date_format(at_date d, char *buf, size_t n)
{
    if (d == AT_DATE_NONE) {
        if (n > 0)
            buf[0] = '\0';
        return 0;
    }
    int y, m, dd;
    at_date_to_ymd(d, &y, &m, &dd);
    return snprintf(buf, n, "%04d-%02d-%02d", y, m, dd);
}

int at_date_weekday(at_date d)
{
    /* 1970-01-01, day 0, was a Thursday: 3 when Monday is 0. */
    return (int)(((int64_t)d % 7 + 7 + 3) % 7);
}

at_date at_month_first(at_date d)
{
    if (d == AT_DATE_NONE)
        return d;
    int y, m, dd;
    at_date_to_ymd(d, &y, &m, &dd);
    return d - (dd - 1);
}

at_date at_month_last(at_date d)
{
    if (d == AT_DATE_NONE)
        return d;
    int y, m, dd;
    at_date_to_ymd(d, &y, &m, &dd);
    return d + (at_days_in_month(y, m) - dd);
}

at_date at_date_add_months(at_date d, int n)
{
    if (d == AT_DATE_NONE)
        return d;
    int y, m, dd;
    at_date_to_ymd(d, &y, &m, &dd);
    int64_t months = (int64_t)y * 12 + (m - 1) + n;   /* months since year 0 */
    int64_t ny = floor_div(months, 12);
    int nm = (int)(months - ny * 12) + 1;
    int last = at_days_in_month((int)ny, nm);
    return (at_date)day_number(ny, nm, dd > last ? last : dd);
}

/*
 * Whole years between birth and on.
 *
 * A year of age is complete at the end of the day before the birthday, so the new age
 * starts on the birthday. For someone born on 29 February there is no such day in a common
 * year. Civil law ends a term whose last month lacks the day on that month's last day,
 * 28 February; the year of age is then complete at the end of 28 February, and the new age
 * starts on 1 March. The other reading (new age on 28 February) grants the age before the
 * person has lived the full number of years. We take 1 March, as at_date.h states and the
 * tests pin; in a leap year the birthday exists and is used.
 *
 * Note: at_date_add_months(birth, 12 * n) clamps 29 February to 28 February, so "birth plus
 * n years <= on" is reached one day earlier than at_age_on says for these birthdays.
 */
int at_age_on(at_date birth, at_date on)
{
    int by, bm, bd, oy, om, od;
    at_date_to_ymd(birth, &by, &bm, &bd);
    at_date_to_ymd(on, &oy, &om, &od);
    int age = oy - by;
    /* Comparing (month, day) makes 02-28 < 02-29 < 03-01: exactly the rule above. */
    if (om < bm || (om == bm && od < bd))
        age--;
    return age;
}

at_period at_last_full_months(at_date ref, int n)
{
    at_period p = {AT_DATE_NONE, AT_DATE_NONE};
    if (ref == AT_DATE_NONE)
        return p;
    at_date first = at_month_first(ref);
    p.to = first - 1;
    /* n < 1 asks for no months: an empty period (to < from) rather than a wrong one. */
    p.from = n < 1 ? first : at_date_add_months(first, -n);
    return p;
}

at_period at_month_of(at_date d)
{
    at_period p = {at_month_first(d), at_month_last(d)};
    return p;
}

bool at_period_contains(at_period p, at_date d)
{
    if (d == AT_DATE_NONE || p.from == AT_DATE_NONE)
        return false;
    return d >= p.from && (p.to == AT_DATE_NONE || d <= p.to);
}

bool at_period_valid(at_period p)
{
    return p.from != AT_DATE_NONE && (p.to == AT_DATE_NONE || p.from <= p.to);
}

int32_t at_period_overlap_days(at_period a, at_period b)
{
    if (a.from == AT_DATE_NONE || b.from == AT_DATE_NONE)
        return 0;   /* a period without a start is not a period */
    int64_t from = a.from > b.from ? a.from : b.from;
    int64_t to;
    if (a.to == AT_DATE_NONE && b.to == AT_DATE_NONE)
        return -1;   /* both open-ended: the overlap has no end either */
    if (a.to == AT_DATE_NONE)
        to = b.to;
    else if (b.to == AT_DATE_NONE)
        to = a.to;
    else
        to = a.to < b.to ? a.to : b.to;
    return to >= from ? (int32_t)(to - from + 1) : 0;
}

int32_t at_period_days(at_period p)
{
    if (p.from == AT_DATE_NONE)
        return 0;
    if (p.to == AT_DATE_NONE)
        return -1;
    int64_t n = (int64_t)p.to - p.from + 1;
    return n > 0 ? (int32_t)n : 0;
}
