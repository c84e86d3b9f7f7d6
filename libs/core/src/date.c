/*
 * date.c -- calendar dates as day numbers, and inclusive periods (see at_date.h).
 *
 * The conversions use the well-known era-based civil calendar arithmetic (400-year eras
 * of 146097 days, years starting in March so the leap day is last), which is exact for
 * the whole proleptic Gregorian calendar. Only 1800..2199 are accepted from outside: no
 * Latvian personal code or legal act of this product falls outside that range, and a
 * wider range would only admit typing mistakes.
 */
#include "at_date.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#define YEAR_MIN 1800
#define YEAR_MAX 2199

bool at_date_is_leap_year(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int at_days_in_month(int y, int m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m < 1 || m > 12)
        return 0;
    return m == 2 && at_date_is_leap_year(y) ? 29 : days[m - 1];
}

static int32_t days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int era = (y >= 0 ? y : y - 399) / 400;
    int yoe = y - era * 400;                                  /* [0, 399] */
    int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1; /* [0, 365] */
    int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;          /* [0, 146096] */
    return era * 146097 + doe - 719468;
}

void at_date_to_ymd(at_date z, int *year, int *month, int *day)
{
    int32_t zz = z + 719468;
    int era = (zz >= 0 ? zz : zz - 146096) / 146097;
    int doe = zz - era * 146097;
    int yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int y = yoe + era * 400;
    int doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int mp = (5 * doy + 2) / 153;
    int d = doy - (153 * mp + 2) / 5 + 1;
    int m = mp + (mp < 10 ? 3 : -9);
    if (year)
        *year = y + (m <= 2);
    if (month)
        *month = m;
    if (day)
        *day = d;
}

bool at_date_from_ymd(int y, int m, int d, at_date *out)
{
    if (y < YEAR_MIN || y > YEAR_MAX || m < 1 || m > 12 || d < 1 || d > at_days_in_month(y, m))
        return false;
    *out = days_from_civil(y, m, d);
    return true;
}

at_code at_date_parse(const char *s, const char *field, at_date *out, at_error *err)
{
    int ok = s && strlen(s) == 10 && s[4] == '-' && s[7] == '-';
    for (int i = 0; ok && i < 10; i++)
        if (i != 4 && i != 7 && !isdigit((unsigned char)s[i]))
            ok = 0;
    if (!ok) {
        at_error_set(err, AT_VALIDATION, field, "invalid date \"%.20s\"", s ? s : "");
        at_error_detail(err, "A date is written YYYY-MM-DD, for example 2018-05-14.");
        return AT_VALIDATION;
    }
    int y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
    int m = (s[5] - '0') * 10 + (s[6] - '0');
    int d = (s[8] - '0') * 10 + (s[9] - '0');
    if (!at_date_from_ymd(y, m, d, out)) {
        at_error_set(err, AT_VALIDATION, field, "date \"%s\" does not exist", s);
        at_error_detail(err, "The day must exist in the calendar and the year must be between %d and %d.",
                        YEAR_MIN, YEAR_MAX);
        return AT_VALIDATION;
    }
    return AT_OK;
}

int at_date_format(at_date d, char *buf, size_t n)
{
    int y, m, dd;
    at_date_to_ymd(d, &y, &m, &dd);
    return snprintf(buf, n, "%04d-%02d-%02d", y, m, dd);
}

int at_date_weekday(at_date d)
{
    /* 1970-01-01 was a Thursday (3 when Monday is 0). */
    int w = (int)((d % 7 + 7 + 3) % 7);
    return w;
}

at_date at_month_first(at_date d)
{
    int y, m, dd;
    at_date_to_ymd(d, &y, &m, &dd);
    return days_from_civil(y, m, 1);
}

at_date at_month_last(at_date d)
{
    int y, m, dd;
    at_date_to_ymd(d, &y, &m, &dd);
    return days_from_civil(y, m, at_days_in_month(y, m));
}

at_date at_date_add_months(at_date d, int n)
{
    int y, m, dd;
    at_date_to_ymd(d, &y, &m, &dd);
    int total = y * 12 + (m - 1) + n;
    int ny = total >= 0 ? total / 12 : (total - 11) / 12;
    int nm = total - ny * 12 + 1;
    int last = at_days_in_month(ny, nm);
    return days_from_civil(ny, nm, dd > last ? last : dd);
}

/* Whole years between birth and on. A 29 February birthday counts as reached on 1 March
 * in a common year: the anniversary "29 February" does not exist then, and the civil-law
 * rule for terms in years (a term ends on the same day of the last year) has no such day,
 * so the year of age is complete only once 28 February has passed. This is the
 * conservative reading for age-limited benefits and it is what the tests pin. */
int at_age_on(at_date birth, at_date on)
{
    int by, bm, bd, oy, om, od;
    at_date_to_ymd(birth, &by, &bm, &bd);
    at_date_to_ymd(on, &oy, &om, &od);
    int age = oy - by;
    if (om < bm || (om == bm && od < bd))
        age--;
    return age;
}

at_period at_last_full_months(at_date ref, int n)
{
    at_period p;
    at_date first = at_month_first(ref);
    p.from = at_date_add_months(first, -n);
    p.to = first - 1;
    return p;
}

at_period at_month_of(at_date d)
{
    at_period p = {at_month_first(d), at_month_last(d)};
    return p;
}

bool at_period_contains(at_period p, at_date d)
{
    return d >= p.from && (p.to == AT_DATE_NONE || d <= p.to);
}

bool at_period_valid(at_period p)
{
    return p.from != AT_DATE_NONE && (p.to == AT_DATE_NONE || p.from <= p.to);
}

int32_t at_period_overlap_days(at_period a, at_period b)
{
    at_date from = a.from > b.from ? a.from : b.from;
    at_date to;
    if (a.to == AT_DATE_NONE)
        to = b.to;
    else if (b.to == AT_DATE_NONE)
        to = a.to;
    else
        to = a.to < b.to ? a.to : b.to;
    if (to == AT_DATE_NONE)
        return -1;   /* both open-ended: unbounded overlap */
    return to >= from ? to - from + 1 : 0;
}

int32_t at_period_days(at_period p)
{
    if (p.to == AT_DATE_NONE)
        return -1;
    return p.to - p.from + 1;
}
