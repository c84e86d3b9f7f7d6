/* Tests of libs/core/src/time.c: the day of a timestamp at the edges of days, and the two
 * clocks' plausibility (they are the only impure functions of libs/core). */
#include "t.h"
#include <time.h>
#include "at_time.h"

#define DAY_US 86400000000LL

static void date_of_us_floors_to_the_utc_day(void **state)
{
    (void)state;
    assert_int_equal(at_date_of_us(0), 0);
    assert_int_equal(at_date_of_us(DAY_US - 1), 0);
    assert_int_equal(at_date_of_us(DAY_US), 1);
    assert_int_equal(at_date_of_us(-1), -1);   /* 1969-12-31 23:59:59.999999 */
    assert_int_equal(at_date_of_us(-DAY_US), -1);
    assert_int_equal(at_date_of_us(-DAY_US - 1), -2);
    /* 2018-05-14T23:59:59.999999Z and the next microsecond. */
    at_date d;
    assert_true(at_date_from_ymd(2018, 5, 14, &d));
    int64_t midnight = (int64_t)(d + 1) * DAY_US;
    assert_int_equal(at_date_of_us(midnight - 1), d);
    assert_int_equal(at_date_of_us(midnight), d + 1);
    /* 1800-01-01, the earliest date the product accepts. */
    assert_true(at_date_from_ymd(1800, 1, 1, &d));
    assert_int_equal(at_date_of_us((int64_t)d * DAY_US + 1), d);
}

static void now_agrees_with_the_system_clock(void **state)
{
    (void)state;
    /* Microseconds of the wall clock, not milliseconds, nanoseconds or a monotonic clock:
     * a minute's slack either side still catches each of those, and keeps the test true
     * when a virtual machine's clock is stepped between the calls. */
    int64_t before = ((int64_t)time(NULL) - 60) * 1000000;
    int64_t now = at_now_us();
    int64_t after = ((int64_t)time(NULL) + 60) * 1000000;
    assert_true(now >= before && now <= after);
    at_date d2020;
    assert_true(at_date_from_ymd(2020, 1, 1, &d2020));
    assert_true(at_today_utc() > d2020);
    /* today is the date of now, unless midnight passed between the two calls */
    int64_t us = at_now_us();
    at_date today = at_today_utc();
    assert_true(today == at_date_of_us(us) || today == at_date_of_us(us) + 1);
}

static void monotonic_clock_never_goes_back(void **state)
{
    (void)state;
    int64_t prev = at_mono_ns();
    for (int i = 0; i < 100000; i++) {
        int64_t t = at_mono_ns();
        assert_true(t >= prev);
        prev = t;
    }
    struct timespec pause = {0, 2000000};   /* 2 ms */
    int64_t start = at_mono_ns();
    nanosleep(&pause, NULL);
    assert_true(at_mono_ns() - start >= 2000000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(date_of_us_floors_to_the_utc_day),
        cmocka_unit_test(now_agrees_with_the_system_clock),
        cmocka_unit_test(monotonic_clock_never_goes_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
