/* Tests of libs/core/src/date.c. Day numbers are checked against a day-by-day count done
 * here with the Gregorian rule written out, and against anchors from the calendar. */
#include "t.h"
#include <stdio.h>
#include "at_date.h"

static at_date D(const char *s)
{
    at_date d;
    at_error e;
    if (at_date_parse(s, "date", &d, &e) != AT_OK)
        fail_msg("cannot parse %s: %s", s, e.message);
    return d;
}

static int test_leap(int y)
{
    if (y % 400 == 0)
        return 1;
    if (y % 100 == 0)
        return 0;
    return y % 4 == 0;
}

static int test_month_days(int y, int m)
{
    static const int n[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && test_leap(y) ? 29 : n[m - 1];
}

static void every_day_from_1800_to_2199_counts_up_by_one(void **state)
{
    (void)state;
    at_date expect = -62091;   /* 1800-01-01: 62091 days before 1970-01-01 */
    for (int y = 1800; y <= 2199; y++)
        for (int m = 1; m <= 12; m++)
            for (int d = 1; d <= test_month_days(y, m); d++, expect++) {
                at_date got;
                if (!at_date_from_ymd(y, m, d, &got) || got != expect)
                    fail_msg("%04d-%02d-%02d: got %d, want %d", y, m, d, got, expect);
                int yy, mm, dd;
                at_date_to_ymd(expect, &yy, &mm, &dd);
                if (yy != y || mm != m || dd != d)
                    fail_msg("day %d: got %04d-%02d-%02d, want %04d-%02d-%02d", expect, yy, mm, dd, y, m, d);
            }
    assert_int_equal(expect - 1, 84005);   /* 2199-12-31 */
}

static void day_numbers_match_calendar_anchors(void **state)
{
    (void)state;
    assert_int_equal(D("1970-01-01"), 0);
    assert_int_equal(D("1969-12-31"), -1);
    assert_int_equal(D("2000-01-01"), 10957);
    assert_int_equal(D("2000-02-29"), 11016);
    assert_int_equal(D("2024-02-29"), 19782);
    assert_int_equal(D("1900-01-01"), -25567);
    assert_int_equal(D("2000-03-01") - D("2000-02-28"), 2);
    assert_int_equal(D("1900-03-01") - D("1900-02-28"), 1);
    assert_int_equal(D("2024-03-01") - D("2024-02-28"), 2);
    assert_int_equal(D("2025-01-01") - D("2024-01-01"), 366);
    assert_int_equal(D("2101-01-01") - D("2100-01-01"), 365);
    /* Outside the accepted range the conversion still works (no overflow, no crash). */
    int y, m, d;
    at_date_to_ymd(INT32_MIN, &y, &m, &d);
    at_date_to_ymd(INT32_MAX, &y, &m, &d);
    assert_true(y > 5000000);
    at_date_to_ymd(0, NULL, NULL, NULL);
}

static void leap_years_follow_the_gregorian_rule(void **state)
{
    (void)state;
    assert_false(at_date_is_leap_year(1800));
    assert_false(at_date_is_leap_year(1900));
    assert_true(at_date_is_leap_year(2000));
    assert_true(at_date_is_leap_year(2024));
    assert_false(at_date_is_leap_year(2023));
    assert_false(at_date_is_leap_year(2100));
    assert_true(at_date_is_leap_year(2196));
    assert_int_equal(at_days_in_month(1900, 2), 28);
    assert_int_equal(at_days_in_month(2000, 2), 29);
    assert_int_equal(at_days_in_month(2024, 2), 29);
    assert_int_equal(at_days_in_month(2023, 2), 28);
    assert_int_equal(at_days_in_month(2023, 4), 30);
    assert_int_equal(at_days_in_month(2023, 12), 31);
    assert_int_equal(at_days_in_month(2023, 0), 0);
    assert_int_equal(at_days_in_month(2023, 13), 0);
}

static void from_ymd_refuses_days_that_do_not_exist(void **state)
{
    (void)state;
    at_date d = 77;
    assert_false(at_date_from_ymd(2019, 2, 29, &d));
    assert_false(at_date_from_ymd(1900, 2, 29, &d));
    assert_false(at_date_from_ymd(2020, 2, 30, &d));
    assert_false(at_date_from_ymd(2020, 4, 31, &d));
    assert_false(at_date_from_ymd(2020, 0, 1, &d));
    assert_false(at_date_from_ymd(2020, 13, 1, &d));
    assert_false(at_date_from_ymd(2020, 1, 0, &d));
    assert_false(at_date_from_ymd(2020, 1, -1, &d));
    assert_false(at_date_from_ymd(1799, 12, 31, &d));
    assert_false(at_date_from_ymd(2200, 1, 1, &d));
    assert_int_equal(d, 77);
    assert_true(at_date_from_ymd(2000, 2, 29, &d));
    assert_true(at_date_from_ymd(1800, 1, 1, &d));
    assert_true(at_date_from_ymd(2199, 12, 31, &d));
}

static void parse_is_strict_iso(void **state)
{
    (void)state;
    const char *bad[] = {"",           "2018-5-14",   "2018/05/14", "20180514",    "2018-05-14T00:00",
                         "2019-02-29", "1900-02-29",  "2018-13-01", "2018-00-10",  "2018-04-31",
                         "abcd-ef-gh", " 2018-05-14", "2018-05-14 ", "14.05.2018", "+018-05-14",
                         "2018-05-1x", "1799-12-31",  "2200-01-01", "2018-05-140", "-018-05-14"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        at_date d = 5;
        at_error e;
        if (at_date_parse(bad[i], "decided_on", &d, &e) != AT_VALIDATION)
            fail_msg("accepted \"%s\"", bad[i]);
        assert_int_equal(d, 5);
        assert_string_equal(e.field, "decided_on");
    }
    at_error e;
    at_date d;
    assert_int_equal(at_date_parse(NULL, "f", &d, &e), AT_VALIDATION);
    at_date_parse("2018/05/14", "f", &d, &e);
    assert_string_equal(e.message, "invalid date \"2018/05/14\"");
    assert_string_equal(e.detail, "A date is written YYYY-MM-DD, for example 2018-05-14.");
    at_date_parse("2019-02-29", "f", &d, &e);
    assert_string_equal(e.message, "date \"2019-02-29\" does not exist");
}

static void format_writes_iso_and_nothing_for_no_date(void **state)
{
    (void)state;
    char b[16];
    assert_int_equal(at_date_format(D("2018-05-14"), b, sizeof b), 10);
    assert_string_equal(b, "2018-05-14");
    at_date_format(D("1800-01-01"), b, sizeof b);
    assert_string_equal(b, "1800-01-01");
    at_date_format(D("2199-12-31"), b, sizeof b);
    assert_string_equal(b, "2199-12-31");
    assert_int_equal(at_date_format(AT_DATE_NONE, b, sizeof b), 0);
    assert_string_equal(b, "");
    assert_int_equal(at_date_format(0, b, 5), 10);   /* truncates safely */
    assert_string_equal(b, "1970");
}

static void weekdays_start_on_monday(void **state)
{
    (void)state;
    assert_int_equal(at_date_weekday(D("1970-01-01")), 3);   /* Thursday */
    assert_int_equal(at_date_weekday(D("1969-12-29")), 0);   /* Monday */
    assert_int_equal(at_date_weekday(D("2000-01-01")), 5);   /* Saturday */
    assert_int_equal(at_date_weekday(D("2024-02-29")), 3);   /* Thursday */
    assert_int_equal(at_date_weekday(D("1800-01-01")), 2);   /* Wednesday */
    assert_int_equal(at_date_weekday(D("2199-12-31")), 1);   /* Tuesday */
    for (at_date d = D("1899-12-25"); d < D("1900-01-25"); d++)
        assert_int_equal(at_date_weekday(d + 1), (at_date_weekday(d) + 1) % 7);
}

static void month_first_and_last_know_february(void **state)
{
    (void)state;
    assert_int_equal(at_month_first(D("2018-05-14")), D("2018-05-01"));
    assert_int_equal(at_month_first(D("2018-05-01")), D("2018-05-01"));
    assert_int_equal(at_month_last(D("2018-02-14")), D("2018-02-28"));
    assert_int_equal(at_month_last(D("2024-02-01")), D("2024-02-29"));
    assert_int_equal(at_month_last(D("2000-02-01")), D("2000-02-29"));
    assert_int_equal(at_month_last(D("1900-02-01")), D("1900-02-28"));
    assert_int_equal(at_month_last(D("2018-12-31")), D("2018-12-31"));
    assert_int_equal(at_month_first(AT_DATE_NONE), AT_DATE_NONE);
    assert_int_equal(at_month_last(AT_DATE_NONE), AT_DATE_NONE);
}

static void add_months_clamps_to_the_month_end(void **state)
{
    (void)state;
    struct {
        const char *from;
        int n;
        const char *to;
    } cases[] = {
        {"2018-01-31", 1, "2018-02-28"},  {"2020-01-31", 1, "2020-02-29"},   {"2000-01-31", 1, "2000-02-29"},
        {"1900-01-31", 1, "1900-02-28"},  {"2018-03-31", -1, "2018-02-28"},  {"2024-03-31", -1, "2024-02-29"},
        {"2018-05-31", 1, "2018-06-30"},  {"2018-01-15", -13, "2016-12-15"}, {"2018-11-30", 2, "2019-01-30"},
        {"2019-01-31", -2, "2018-11-30"}, {"2018-12-31", 1, "2019-01-31"},   {"2019-01-01", -1, "2018-12-01"},
        {"2019-01-31", -1, "2018-12-31"}, {"2018-12-15", 0, "2018-12-15"},   {"2024-02-29", -12, "2023-02-28"},
        {"2024-02-29", 48, "2028-02-29"}, {"2024-02-29", 12, "2025-02-28"},  {"2000-02-29", 1200, "2100-02-28"},
        {"2000-02-29", -1200, "1900-02-28"}, {"1800-01-01", -1, "1799-12-01"}, {"2199-12-31", 1, "2200-01-31"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        at_date got = at_date_add_months(D(cases[i].from), cases[i].n);
        int y, m, d;
        at_date_to_ymd(got, &y, &m, &d);
        char want[16], have[16];
        snprintf(have, sizeof have, "%04d-%02d-%02d", y, m, d);
        snprintf(want, sizeof want, "%s", cases[i].to);
        if (strcmp(have, want) != 0)
            fail_msg("%s %+d months: got %s, want %s", cases[i].from, cases[i].n, have, want);
    }
    assert_int_equal(at_date_add_months(AT_DATE_NONE, 3), AT_DATE_NONE);
}

static void last_three_full_months_precede_the_application_month(void **state)
{
    (void)state;
    at_period p = at_last_full_months(D("2018-05-14"), 3);
    assert_int_equal(p.from, D("2018-02-01"));
    assert_int_equal(p.to, D("2018-04-30"));
    assert_int_equal(at_period_days(p), 89);
    p = at_last_full_months(D("2018-05-01"), 3);   /* the first of the month changes nothing */
    assert_int_equal(p.from, D("2018-02-01"));
    p = at_last_full_months(D("2018-01-31"), 3);   /* across the year boundary */
    assert_int_equal(p.from, D("2017-10-01"));
    assert_int_equal(p.to, D("2017-12-31"));
    assert_int_equal(at_period_days(p), 92);
    p = at_last_full_months(D("2024-03-10"), 1);
    assert_int_equal(p.from, D("2024-02-01"));
    assert_int_equal(p.to, D("2024-02-29"));
    p = at_last_full_months(D("2019-06-30"), 12);
    assert_int_equal(p.from, D("2018-06-01"));
    assert_int_equal(p.to, D("2019-05-31"));
    p = at_last_full_months(D("2019-06-30"), 0);
    assert_false(at_period_valid(p));
    assert_int_equal(at_period_days(p), 0);
    p = at_last_full_months(AT_DATE_NONE, 3);
    assert_int_equal(p.from, AT_DATE_NONE);
    assert_int_equal(p.to, AT_DATE_NONE);
}

static void age_counts_whole_years(void **state)
{
    (void)state;
    assert_int_equal(at_age_on(D("1955-06-15"), D("2018-06-14")), 62);
    assert_int_equal(at_age_on(D("1955-06-15"), D("2018-06-15")), 63);
    assert_int_equal(at_age_on(D("1955-06-15"), D("2018-12-31")), 63);
    assert_int_equal(at_age_on(D("2000-01-01"), D("2017-12-31")), 17);
    assert_int_equal(at_age_on(D("2000-01-01"), D("2018-01-01")), 18);
    assert_int_equal(at_age_on(D("2018-05-14"), D("2018-05-14")), 0);
    assert_int_equal(at_age_on(D("2020-01-01"), D("2019-01-01")), -1);
    assert_true(at_age_on(D("2020-06-01"), D("2020-05-31")) < 0);
    assert_true(at_age_on(D("2020-01-02"), D("2020-01-01")) < 0);
}

static void age_for_29_february_turns_on_1_march_in_common_years(void **state)
{
    (void)state;
    at_date b = D("2000-02-29");
    assert_int_equal(at_age_on(b, D("2018-02-27")), 17);
    assert_int_equal(at_age_on(b, D("2018-02-28")), 17);   /* the chosen rule: not yet */
    assert_int_equal(at_age_on(b, D("2018-03-01")), 18);
    assert_int_equal(at_age_on(b, D("2020-02-28")), 19);
    assert_int_equal(at_age_on(b, D("2020-02-29")), 20);   /* leap year: the birthday itself */
    assert_int_equal(at_age_on(b, D("2100-02-28")), 99);   /* 2100 is not a leap year */
    assert_int_equal(at_age_on(b, D("2100-03-01")), 100);
    assert_int_equal(at_age_on(b, D("2001-02-28")), 0);
    assert_int_equal(at_age_on(b, D("2001-03-01")), 1);
    /* Born on 28 February or 1 March: unaffected by the rule. */
    assert_int_equal(at_age_on(D("2000-02-28"), D("2018-02-28")), 18);
    assert_int_equal(at_age_on(D("2000-03-01"), D("2018-02-28")), 17);
    assert_int_equal(at_age_on(D("2000-03-01"), D("2018-03-01")), 18);
}

static void periods_are_inclusive_at_both_ends(void **state)
{
    (void)state;
    at_period y2017 = {D("2017-01-01"), D("2017-12-31")};
    at_period open = {D("2017-12-01"), AT_DATE_NONE};
    at_period q1 = {D("2018-01-01"), D("2018-03-31")};
    at_period one = {D("2018-02-10"), D("2018-02-10")};
    assert_true(at_period_contains(y2017, D("2017-01-01")));
    assert_true(at_period_contains(y2017, D("2017-12-31")));
    assert_false(at_period_contains(y2017, D("2016-12-31")));
    assert_false(at_period_contains(y2017, D("2018-01-01")));
    assert_true(at_period_contains(open, D("2100-01-01")));
    assert_false(at_period_contains(open, D("2017-11-30")));
    assert_false(at_period_contains(open, AT_DATE_NONE));
    assert_true(at_period_contains(one, D("2018-02-10")));
    assert_int_equal(at_period_days(y2017), 365);
    assert_int_equal(at_period_days(one), 1);
    assert_int_equal(at_period_days(open), -1);
    assert_int_equal(at_period_days((at_period){D("2024-01-01"), D("2024-12-31")}), 366);
    assert_int_equal(at_period_overlap_days(y2017, open), 31);
    assert_int_equal(at_period_overlap_days(open, y2017), 31);
    assert_int_equal(at_period_overlap_days(open, q1), 90);
    assert_int_equal(at_period_overlap_days(y2017, q1), 0);
    assert_int_equal(at_period_overlap_days(q1, one), 1);
    assert_int_equal(at_period_overlap_days(y2017, y2017), 365);
    assert_int_equal(at_period_overlap_days(open, open), -1);
    /* Touching periods share a day; adjacent ones share none. */
    at_period dec = {D("2017-12-01"), D("2017-12-31")};
    at_period jan = {D("2018-01-01"), D("2018-01-31")};
    at_period dec31 = {D("2017-12-31"), D("2018-01-05")};
    assert_int_equal(at_period_overlap_days(dec, jan), 0);
    assert_int_equal(at_period_overlap_days(dec, dec31), 1);
    assert_int_equal(at_month_of(D("2018-02-10")).from, D("2018-02-01"));
    assert_int_equal(at_month_of(D("2018-02-10")).to, D("2018-02-28"));
}

static void invalid_periods_contain_and_overlap_nothing(void **state)
{
    (void)state;
    at_period y2017 = {D("2017-01-01"), D("2017-12-31")};
    at_period backwards = {D("2018-01-02"), D("2018-01-01")};
    at_period nofrom = {AT_DATE_NONE, D("2018-01-01")};
    at_period nothing = {AT_DATE_NONE, AT_DATE_NONE};
    assert_true(at_period_valid(y2017));
    assert_true(at_period_valid((at_period){D("2018-01-01"), AT_DATE_NONE}));
    assert_false(at_period_valid(backwards));
    assert_false(at_period_valid(nofrom));
    assert_false(at_period_valid(nothing));
    assert_int_equal(at_period_days(backwards), 0);
    assert_int_equal(at_period_days((at_period){D("2018-01-10"), D("2018-01-01")}), 0);   /* never negative */
    assert_int_equal(at_period_days(nofrom), 0);
    assert_int_equal(at_period_days(nothing), 0);
    assert_false(at_period_contains(nofrom, D("2017-06-01")));
    assert_false(at_period_contains(nothing, D("2017-06-01")));
    assert_false(at_period_contains(backwards, D("2018-01-01")));
    assert_int_equal(at_period_overlap_days(nofrom, y2017), 0);
    assert_int_equal(at_period_overlap_days(nothing, nothing), 0);
    assert_int_equal(at_period_overlap_days(backwards, backwards), 0);
    assert_int_equal(at_period_overlap_days(backwards, (at_period){D("2017-01-01"), AT_DATE_NONE}), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_day_from_1800_to_2199_counts_up_by_one),
        cmocka_unit_test(day_numbers_match_calendar_anchors),
        cmocka_unit_test(leap_years_follow_the_gregorian_rule),
        cmocka_unit_test(from_ymd_refuses_days_that_do_not_exist),
        cmocka_unit_test(parse_is_strict_iso),
        cmocka_unit_test(format_writes_iso_and_nothing_for_no_date),
        cmocka_unit_test(weekdays_start_on_monday),
        cmocka_unit_test(month_first_and_last_know_february),
        cmocka_unit_test(add_months_clamps_to_the_month_end),
        cmocka_unit_test(last_three_full_months_precede_the_application_month),
        cmocka_unit_test(age_counts_whole_years),
        cmocka_unit_test(age_for_29_february_turns_on_1_march_in_common_years),
        cmocka_unit_test(periods_are_inclusive_at_both_ends),
        cmocka_unit_test(invalid_periods_contain_and_overlap_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
