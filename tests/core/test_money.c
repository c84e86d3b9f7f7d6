/* Tests of libs/core/src/money.c. */
#include "t.h"
#include "at_money.h"

static at_cents parse_ok(const char *s)
{
    at_cents c = -999;
    at_error e;
    assert_int_equal(at_cents_parse(s, "amount", &c, &e), AT_OK);
    return c;
}

static void parse_accepts_euro_amounts(void **state)
{
    (void)state;
    assert_int_equal(parse_ok("128.06"), 12806);
    assert_int_equal(parse_ok("64"), 6400);
    assert_int_equal(parse_ok("64.5"), 6450);
    assert_int_equal(parse_ok("0.01"), 1);
    assert_int_equal(parse_ok("-3.10"), -310);
    assert_int_equal(parse_ok("128,06"), 12806);
    assert_int_equal(parse_ok("+7"), 700);
}

static void parse_rejects_anything_else(void **state)
{
    (void)state;
    const char *bad[] = {"", " ", "1e3", "12.345", "--1", "1.2.3", "1 234.50", "12.", ".5", "abc",
                         "99999999999999999999", "1.0x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        at_cents c = 42;
        at_error e;
        assert_int_equal(at_cents_parse(bad[i], "amount", &c, &e), AT_VALIDATION);
        assert_int_equal(c, 42);
        assert_string_equal(e.field, "amount");
    }
    at_error e;
    at_cents c;
    at_cents_parse("12.345", "x", &c, &e);
    assert_string_equal(e.message, "amount \"12.345\" has more than two decimals");
}

static void format_writes_two_decimals(void **state)
{
    (void)state;
    char b[32];
    at_cents_format(12806, b, sizeof b);
    assert_string_equal(b, "128.06");
    at_cents_format(-50, b, sizeof b);
    assert_string_equal(b, "-0.50");
    at_cents_format(0, b, sizeof b);
    assert_string_equal(b, "0.00");
    at_cents_format(INT64_MIN, b, sizeof b);
    assert_string_equal(b, "-92233720368547758.08");
}

static void arithmetic_reports_overflow(void **state)
{
    (void)state;
    at_cents r = 7;
    assert_true(at_cents_add(1, 2, &r));
    assert_int_equal(r, 3);
    assert_false(at_cents_add(INT64_MAX, 1, &r));
    assert_int_equal(r, 3);
    assert_false(at_cents_sub(INT64_MIN, 1, &r));
    assert_false(at_cents_mul(INT64_MAX / 2 + 1, 2, &r));
    assert_true(at_cents_mul(6400, 4, &r));
    assert_int_equal(r, 25600);
}

static at_cents md(at_cents a, int64_t num, int64_t den, at_rounding m)
{
    at_cents r = 0;
    assert_true(at_cents_muldiv(a, num, den, m, &r));
    return r;
}

static void muldiv_rounds_exactly_as_asked(void **state)
{
    (void)state;
    /* 80% of a 430.00 minimum wage is exact. */
    assert_int_equal(md(43000, 80, 100, AT_ROUND_HALF_UP), 34400);
    /* 0.7 x 125.00 = 87.50 exactly. */
    assert_int_equal(md(12500, 7, 10, AT_ROUND_HALF_UP), 8750);
    /* 1/3 of 1.00: 33.33.. */
    assert_int_equal(md(100, 1, 3, AT_ROUND_HALF_UP), 33);
    assert_int_equal(md(100, 1, 3, AT_ROUND_UP), 34);
    assert_int_equal(md(100, 1, 3, AT_ROUND_DOWN), 33);
    /* exact halves: 0.05 / 2 = 2.5 cents */
    assert_int_equal(md(5, 1, 2, AT_ROUND_HALF_UP), 3);
    assert_int_equal(md(5, 1, 2, AT_ROUND_HALF_EVEN), 2);
    assert_int_equal(md(7, 1, 2, AT_ROUND_HALF_EVEN), 4);
    assert_int_equal(md(-5, 1, 2, AT_ROUND_HALF_UP), -3);
    assert_int_equal(md(-5, 1, 2, AT_ROUND_HALF_EVEN), -2);
    assert_int_equal(md(-5, 1, 2, AT_ROUND_FLOOR), -3);
    assert_int_equal(md(-5, 1, 2, AT_ROUND_CEIL), -2);
    assert_int_equal(md(5, 1, 2, AT_ROUND_FLOOR), 2);
    assert_int_equal(md(5, 1, 2, AT_ROUND_CEIL), 3);
    assert_int_equal(md(-5, 1, 2, AT_ROUND_DOWN), -2);
    assert_int_equal(md(-5, 1, 2, AT_ROUND_UP), -3);
    /* pro-rating 64.00 for 17 of 31 days = 35.0967.. */
    assert_int_equal(md(6400, 17, 31, AT_ROUND_HALF_UP), 3510);
    /* no intermediate overflow */
    assert_int_equal(md(INT64_MAX / 4, 4, 4, AT_ROUND_HALF_UP), INT64_MAX / 4);
}

static void muldiv_refuses_bad_denominators_and_overflow(void **state)
{
    (void)state;
    at_cents r = 9;
    assert_false(at_cents_muldiv(100, 1, 0, AT_ROUND_HALF_UP, &r));
    assert_false(at_cents_muldiv(100, 1, -3, AT_ROUND_HALF_UP, &r));
    assert_false(at_cents_muldiv(INT64_MAX, 3, 1, AT_ROUND_HALF_UP, &r));
    assert_int_equal(r, 9);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parse_accepts_euro_amounts),
        cmocka_unit_test(parse_rejects_anything_else),
        cmocka_unit_test(format_writes_two_decimals),
        cmocka_unit_test(arithmetic_reports_overflow),
        cmocka_unit_test(muldiv_rounds_exactly_as_asked),
        cmocka_unit_test(muldiv_refuses_bad_denominators_and_overflow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
