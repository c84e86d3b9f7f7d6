/* Tests of libs/core/src/date.c. */
#include "t.h"
#include "at_date.h"

static at_date D(const char *s)
{
    at_date d;
    at_error e;
    assert_int_equal(at_date_parse(s, "date", &d, &e), AT_OK);
    return d;
}

static void dates_round_trip_over_four_centuries(void **state)
{
    (void)state;
    at_date first, last;
    assert_true(at_date_from_ymd(1800, 1, 1, &first));
    assert_true(at_date_from_ymd(2199, 12, 31, &last));
    int y0, m0, d0;
    at_date_to_ymd(first, &y0, &m0, &d0);
    for (at_date d = first; d <= last; d++) {
        int y, m, dd;
        at_date_to_ymd(d, &y, &m, &dd);
        at_date back;
        assert_true(at_date_from_ymd(y, m, dd, &back));
        assert_int_equal(back, d);
    }
    assert_int_equal(D("1970-01-01"), 0);
    assert_int_equal(D("2000-03-01") - D("2000-02-28"), 2);
    assert_int_equal(D("1900-03-01") - D("1900-02-28"), 1);
}

static void leap_years_follow_the_gregorian_rule(void **state)
{
    (void)state;
    assert_false(at_date_is_leap_year(1900));
    assert_true(at_date_is_leap_year(2000));
    assert_true(at_date_is_leap_year(2024));
    assert_false(at_date_is_leap_year(2023));
    at_date d;
    assert_false(at_date_from_ymd(2019, 2, 29, &d));
    assert_true(at_date_from_ymd(2020, 2, 29, &d));
    assert_false(at_date_from_ymd(2020, 4, 31, &d));
    assert_false(at_date_from_ymd(1799, 12, 31, &d));
    assert_false(at_date_from_ymd(2200, 1, 1, &d));
}

static void parse_is_strict(void **state)
{
    (void)state;
    const char *bad[] = {"", "2018-5-14", "2018/05/14", "20180514", "2018-05-14T00:00", "2019-02-29",
                         "2018-13-01", "2018-00-10", "abcd-ef-gh"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        at_date d = 5;
        at_error e;
        assert_int_equal(at_date_parse(bad[i], "decided_on", &d, &e), AT_VALIDATION);
        assert_int_equal(d, 5);
        assert_string_equal(e.field, "decided_on");
    }
    char b[11];
    at_date_format(D("2018-05-14"), b, sizeof b);
    assert_string_equal(b, "2018-05-14");
}

static void weekdays_start_on_monday(void **state)
{
    (void)state;
    assert_int_equal(at_date_weekday(D("1970-01-01")), 3);
    assert_int_equal(at_date_weekday(D("2026-11-22")), 6);
    assert_int_equal(at_date_weekday(D("1969-12-29")), 0);
}

static void month_arithmetic_clamps_to_month_end(void **state)
{
    (void)state;
    assert_int_equal(at_date_add_months(D("2018-01-31"), 1), D("2018-02-28"));
    assert_int_equal(at_date_add_months(D("2020-01-31"), 1), D("2020-02-29"));
    assert_int_equal(at_date_add_months(D("2018-03-31"), -1), D("2018-02-28"));
    assert_int_equal(at_date_add_months(D("2018-01-15"), -13), D("2016-12-15"));
    assert_int_equal(at_date_add_months(D("2018-11-30"), 2), D("2019-01-30"));
    assert_int_equal(at_month_first(D("2018-05-14")), D("2018-05-01"));
    assert_int_equal(at_month_last(D("2018-02-14")), D("2018-02-28"));
    assert_int_equal(at_month_last(D("2024-02-01")), D("2024-02-29"));
}

static void last_three_full_months_precede_the_application_month(void **state)
{
    (void)state;
    at_period p = at_last_full_months(D("2018-05-14"), 3);
    assert_int_equal(p.from, D("2018-02-01"));
    assert_int_equal(p.to, D("2018-04-30"));
    p = at_last_full_months(D("2018-01-01"), 3);
    assert_int_equal(p.from, D("2017-10-01"));
    assert_int_equal(p.to, D("2017-12-31"));
    assert_int_equal(at_period_days(p), 92);
}

static void age_counts_whole_years(void **state)
{
    (void)state;
    assert_int_equal(at_age_on(D("1955-06-15"), D("2018-06-14")), 62);
    assert_int_equal(at_age_on(D("1955-06-15"), D("2018-06-15")), 63);
    assert_int_equal(at_age_on(D("2000-02-29"), D("2018-02-28")), 17);
    assert_int_equal(at_age_on(D("2000-02-29"), D("2018-03-01")), 18);
    assert_int_equal(at_age_on(D("2000-02-29"), D("2020-02-29")), 20);
    assert_true(at_age_on(D("2020-01-01"), D("2019-01-01")) < 0);
}

static void periods_are_inclusive_at_both_ends(void **state)
{
    (void)state;
    at_period y2017 = {D("2017-01-01"), D("2017-12-31")};
    at_period open = {D("2017-12-01"), AT_DATE_NONE};
    at_period q1 = {D("2018-01-01"), D("2018-03-31")};
    assert_true(at_period_contains(y2017, D("2017-12-31")));
    assert_false(at_period_contains(y2017, D("2018-01-01")));
    assert_true(at_period_contains(open, D("2100-01-01")));
    assert_int_equal(at_period_days(y2017), 365);
    assert_int_equal(at_period_overlap_days(y2017, open), 31);
    assert_int_equal(at_period_overlap_days(y2017, q1), 0);
    assert_int_equal(at_period_overlap_days(open, open), -1);
    assert_true(at_period_valid(y2017));
    at_period bad = {D("2018-01-02"), D("2018-01-01")};
    assert_false(at_period_valid(bad));
    assert_int_equal(at_month_of(D("2018-02-10")).to, D("2018-02-28"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(dates_round_trip_over_four_centuries),
        cmocka_unit_test(leap_years_follow_the_gregorian_rule),
        cmocka_unit_test(parse_is_strict),
        cmocka_unit_test(weekdays_start_on_monday),
        cmocka_unit_test(month_arithmetic_clamps_to_month_end),
        cmocka_unit_test(last_three_full_months_precede_the_application_month),
        cmocka_unit_test(age_counts_whole_years),
        cmocka_unit_test(periods_are_inclusive_at_both_ends),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
