/* Tests of libs/core/src/money.c: strict parsing, formatting, overflow, and muldiv's
 * rounding checked against a second, floor-based formulation written here. */
#include "t.h"
#include <stdio.h>
#include "at_money.h"

static at_cents parse_ok(const char *s)
{
    at_cents c = -999;
    at_error e;
    assert_int_equal(at_cents_parse(s, "amount", &c, &e), AT_OK);
    return c;
}

/* Parse s expecting a VALIDATION error that names the field and leaves *out alone;
 * returns the message. */
static const char *parse_bad(const char *s, at_error *e)
{
    at_cents c = 42;
    assert_int_equal(at_cents_parse(s, "amount", &c, e), AT_VALIDATION);
    assert_int_equal(c, 42);
    assert_int_equal(e->code, AT_VALIDATION);
    assert_string_equal(e->field, "amount");
    return e->message;
}

static void parse_accepts_euro_amounts(void **state)
{
    (void)state;
    assert_int_equal(parse_ok("128.06"), 12806);
    assert_int_equal(parse_ok("64"), 6400);
    assert_int_equal(parse_ok("64.5"), 6450);
    assert_int_equal(parse_ok("64.50"), 6450);
    assert_int_equal(parse_ok("0.01"), 1);
    assert_int_equal(parse_ok("0"), 0);
    assert_int_equal(parse_ok("-0.00"), 0);
    assert_int_equal(parse_ok("-3.10"), -310);
    assert_int_equal(parse_ok("-0.05"), -5);
    assert_int_equal(parse_ok("128,06"), 12806);
    assert_int_equal(parse_ok("1,5"), 150);
    assert_int_equal(parse_ok("+7"), 700);
    assert_int_equal(parse_ok("007.50"), 750);
    /* Leading zeros do not count towards overflow. */
    assert_int_equal(parse_ok("0000000000000000000000000000001.00"), 100);
}

static void parse_rejects_anything_else(void **state)
{
    (void)state;
    const char *bad[] = {"", " ", " 1", "1 ", "\t1", "1e3", "1E3", "12.345", "12.340", "--1", "-+1", "+-1", "-",
                         "+", "1.2.3", "1,2,3", "1 234.50", "1,234.50", "1.234,50", "12.", "12,", ".5", "-.5",
                         "abc", "1.0x", "0x10", "1_000", "NaN", "inf", "1.-5", "1.5-", "\xd9\xa1", "€5", "5€",
                         "99999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        at_error e;
        parse_bad(bad[i], &e);
    }
    at_cents c = 42;
    assert_int_equal(at_cents_parse(NULL, "amount", &c, NULL), AT_VALIDATION);
    assert_int_equal(c, 42);
}

static void parse_error_messages_name_the_problem(void **state)
{
    (void)state;
    at_error e;
    assert_string_equal(parse_bad("", &e), "amount is empty");
    assert_string_equal(parse_bad("12.345", &e), "amount \"12.345\" has more than two decimals");
    assert_string_equal(e.detail, "Amounts are in euro cents; a fraction of a cent is not rounded silently.");
    assert_string_equal(parse_bad("1 234.50", &e), "invalid amount \"1 234.50\"");
    assert_string_equal(e.detail, "An amount has no spaces or thousands separators.");
    assert_string_equal(parse_bad("1e3", &e), "invalid amount \"1e3\"");
    assert_string_equal(e.detail, "An amount has only digits and one decimal point or comma.");
    assert_string_equal(parse_bad("12.", &e), "invalid amount \"12.\"");
    assert_string_equal(e.detail, "A decimal point or comma must be followed by one or two digits.");
    assert_string_equal(parse_bad("--1", &e), "invalid amount \"--1\"");
    assert_string_equal(e.detail, "An amount starts with a digit, after an optional minus sign.");
    assert_string_equal(parse_bad("92233720368547758.08", &e), "amount \"92233720368547758.08\" is too large");
}

static void parse_reaches_exactly_the_int64_limits(void **state)
{
    (void)state;
    at_error e;
    assert_int_equal(parse_ok("92233720368547758.07"), INT64_MAX);
    assert_int_equal(parse_ok("-92233720368547758.08"), INT64_MIN);
    parse_bad("92233720368547758.08", &e);
    parse_bad("-92233720368547758.09", &e);
    parse_bad("92233720368547759", &e);
    parse_bad("184467440737095516.16", &e);   /* 2^64 cents: would wrap to 0 in uint64 */
    /* A thousand digits: no overflow inside the parser, just "too large". */
    char huge[1002];
    memset(huge, '9', 1000);
    huge[1000] = '\0';
    assert_string_equal(parse_bad(huge, &e), "amount \"9999999999999999999999999999999999999999\" is too large");
}

static void format_writes_two_decimals(void **state)
{
    (void)state;
    char b[32];
    assert_int_equal(at_cents_format(12806, b, sizeof b), 6);
    assert_string_equal(b, "128.06");
    at_cents_format(-50, b, sizeof b);
    assert_string_equal(b, "-0.50");
    at_cents_format(-5, b, sizeof b);
    assert_string_equal(b, "-0.05");
    at_cents_format(0, b, sizeof b);
    assert_string_equal(b, "0.00");
    at_cents_format(100, b, sizeof b);
    assert_string_equal(b, "1.00");
    at_cents_format(INT64_MAX, b, sizeof b);
    assert_string_equal(b, "92233720368547758.07");
    assert_int_equal(at_cents_format(INT64_MIN, b, 24), 21);   /* 24 bytes suffice for any value */
    assert_string_equal(b, "-92233720368547758.08");
    /* A short buffer truncates safely and still reports the full length. */
    memset(b, 'x', sizeof b);
    assert_int_equal(at_cents_format(12806, b, 4), 6);
    assert_string_equal(b, "128");
    assert_int_equal(b[4], 'x');
}

static void format_then_parse_gives_the_same_cents(void **state)
{
    (void)state;
    at_cents fixed[] = {0, 1, -1, 9, 10, 99, 100, -100, 101, 12806, -12806, INT64_MAX, INT64_MIN, INT64_MAX - 1,
                        INT64_MIN + 1};
    char b[32];
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        at_cents_format(fixed[i], b, sizeof b);
        assert_int_equal(parse_ok(b), fixed[i]);
    }
    uint64_t x = 88172645463325252ULL;   /* xorshift: many magnitudes, reproducible */
    for (int i = 0; i < 20000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        at_cents c = (at_cents)(x >> (i % 60));
        if (i & 1)
            c = -c;
        at_cents_format(c, b, sizeof b);
        assert_int_equal(parse_ok(b), c);
    }
}

static void arithmetic_reports_overflow_and_leaves_the_result_alone(void **state)
{
    (void)state;
    at_cents r = 7;
    assert_true(at_cents_add(1, 2, &r));
    assert_int_equal(r, 3);
    assert_false(at_cents_add(INT64_MAX, 1, &r));
    assert_false(at_cents_add(INT64_MIN, -1, &r));
    assert_int_equal(r, 3);
    assert_true(at_cents_add(INT64_MAX, INT64_MIN, &r));
    assert_int_equal(r, -1);
    assert_true(at_cents_sub(500, 750, &r));
    assert_int_equal(r, -250);
    assert_false(at_cents_sub(INT64_MIN, 1, &r));
    assert_false(at_cents_sub(0, INT64_MIN, &r));
    assert_false(at_cents_sub(INT64_MAX, -1, &r));
    assert_int_equal(r, -250);
    assert_true(at_cents_mul(6400, 4, &r));
    assert_int_equal(r, 25600);
    assert_true(at_cents_mul(-6400, 4, &r));
    assert_int_equal(r, -25600);
    assert_false(at_cents_mul(INT64_MAX / 2 + 1, 2, &r));
    assert_false(at_cents_mul(INT64_MIN, -1, &r));
    assert_int_equal(r, -25600);
}

static at_cents md(at_cents a, int64_t num, int64_t den, at_rounding m)
{
    at_cents r = 0;
    assert_true(at_cents_muldiv(a, num, den, m, &r));
    return r;
}

/* The six modes on one value: HALF_UP, HALF_EVEN, DOWN, UP, FLOOR, CEIL. */
static void six(at_cents a, int64_t num, int64_t den, const at_cents want[6])
{
    for (int m = AT_ROUND_HALF_UP; m <= AT_ROUND_CEIL; m++) {
        at_cents got = md(a, num, den, (at_rounding)m);
        if (got != want[m])
            fail_msg("%lld * %lld / %lld in mode %d: got %lld, want %lld", (long long)a, (long long)num,
                     (long long)den, m, (long long)got, (long long)want[m]);
    }
}

static void muldiv_rounds_by_every_mode(void **state)
{
    (void)state;
    /* 0.7 x 87.50 = 61.25 exactly: every mode agrees. */
    six(8750, 7, 10, (const at_cents[]){6125, 6125, 6125, 6125, 6125, 6125});
    /* 0.7 x 87.55 = 61.285: an exact half cent, even neighbour 61.28. */
    six(8755, 7, 10, (const at_cents[]){6129, 6128, 6128, 6129, 6128, 6129});
    six(-8755, 7, 10, (const at_cents[]){-6129, -6128, -6128, -6129, -6129, -6128});
    /* 0.7 x 87.65 = 61.355: an exact half with an odd lower neighbour, so even goes up. */
    six(8765, 7, 10, (const at_cents[]){6136, 6136, 6135, 6136, 6135, 6136});
    six(-8765, 7, 10, (const at_cents[]){-6136, -6136, -6135, -6136, -6136, -6135});
    /* A negative coefficient gives the same as a negative amount. */
    six(8765, -7, 10, (const at_cents[]){-6136, -6136, -6135, -6136, -6136, -6135});
    /* 1/3 of 1.00 = 33.33..: below the half. 2/3 = 66.66..: above it. */
    six(100, 1, 3, (const at_cents[]){33, 33, 33, 34, 33, 34});
    six(100, 2, 3, (const at_cents[]){67, 67, 66, 67, 66, 67});
    six(-100, 2, 3, (const at_cents[]){-67, -67, -66, -67, -67, -66});
    /* 80% of a 430.00 minimum wage, pro-rating 64.00 for 17 of 31 days (35.0967..). */
    six(43000, 80, 100, (const at_cents[]){34400, 34400, 34400, 34400, 34400, 34400});
    six(6400, 17, 31, (const at_cents[]){3510, 3510, 3509, 3510, 3509, 3510});
    /* Nothing to round, and zero. */
    six(0, 7, 10, (const at_cents[]){0, 0, 0, 0, 0, 0});
    six(12345, 0, 10, (const at_cents[]){0, 0, 0, 0, 0, 0});
    six(-1, 1, 1, (const at_cents[]){-1, -1, -1, -1, -1, -1});
}

/* The same rounding, formulated on the floor instead of on truncation. */
static __int128 reference(__int128 p, __int128 den, at_rounding m)
{
    __int128 fl = p / den;
    if (p % den != 0 && p < 0)
        fl--;
    __int128 frac = p - fl * den;   /* 0 <= frac < den */
    __int128 ce = frac ? fl + 1 : fl;
    if (frac == 0)
        return fl;
    switch (m) {
    case AT_ROUND_FLOOR: return fl;
    case AT_ROUND_CEIL: return ce;
    case AT_ROUND_DOWN: return p >= 0 ? fl : ce;
    case AT_ROUND_UP: return p >= 0 ? ce : fl;
    case AT_ROUND_HALF_UP:
        if (2 * frac != den)
            return 2 * frac > den ? ce : fl;
        return p >= 0 ? ce : fl;
    case AT_ROUND_HALF_EVEN:
        if (2 * frac != den)
            return 2 * frac > den ? ce : fl;
        return (fl % 2 == 0) ? fl : ce;
    }
    return 0;
}

static void muldiv_agrees_with_a_floor_based_reference(void **state)
{
    (void)state;
    static const int64_t nums[] = {1, 2, 3, 7, -7, 80, 17};
    for (at_cents a = -400; a <= 400; a++)
        for (size_t k = 0; k < sizeof nums / sizeof nums[0]; k++)
            for (int64_t den = 1; den <= 12; den++)
                for (int m = AT_ROUND_HALF_UP; m <= AT_ROUND_CEIL; m++) {
                    at_cents got = md(a, nums[k], den, (at_rounding)m);
                    __int128 want = reference((__int128)a * nums[k], den, (at_rounding)m);
                    if (got != (at_cents)want)
                        fail_msg("%lld * %lld / %lld mode %d: got %lld want %lld", (long long)a,
                                 (long long)nums[k], (long long)den, m, (long long)got, (long long)want);
                }
}

static void muldiv_has_no_intermediate_overflow(void **state)
{
    (void)state;
    assert_int_equal(md(INT64_MAX, INT64_MAX, INT64_MAX, AT_ROUND_HALF_UP), INT64_MAX);
    assert_int_equal(md(INT64_MIN, INT64_MAX, INT64_MAX, AT_ROUND_HALF_UP), INT64_MIN);
    assert_int_equal(md(INT64_MAX / 4, 4, 4, AT_ROUND_HALF_UP), INT64_MAX / 4);
    /* (2^63 - 1) * 3 / 4 = 6917529027641081855.25 */
    assert_int_equal(md(INT64_MAX, 3, 4, AT_ROUND_DOWN), 6917529027641081855LL);
    assert_int_equal(md(INT64_MAX, 3, 4, AT_ROUND_UP), 6917529027641081856LL);
}

static void muldiv_refuses_bad_denominators_overflow_and_unknown_modes(void **state)
{
    (void)state;
    at_cents r = 9;
    assert_false(at_cents_muldiv(100, 1, 0, AT_ROUND_HALF_UP, &r));
    assert_false(at_cents_muldiv(100, 1, -3, AT_ROUND_HALF_UP, &r));
    assert_false(at_cents_muldiv(INT64_MAX, 3, 1, AT_ROUND_HALF_UP, &r));
    assert_false(at_cents_muldiv(INT64_MIN, -1, 1, AT_ROUND_DOWN, &r));
    assert_false(at_cents_muldiv(INT64_MAX, 3, 2, AT_ROUND_HALF_UP, &r));
    assert_false(at_cents_muldiv(100, 1, 3, (at_rounding)6, &r));
    assert_false(at_cents_muldiv(100, 1, 1, (at_rounding)-1, &r));
    assert_int_equal(r, 9);
    /* (2^63 - 1) / 2 = ...03.5 rounds up to ...04, which fits; INT64_MAX + 1 would not. */
    assert_true(at_cents_muldiv(INT64_MAX, 1, 2, AT_ROUND_UP, &r));
    assert_int_equal(r, INT64_MAX / 2 + 1);
    /* The limit holds for the final quotient, not the product: MAX * MAX / (MAX - 1) is
     * MAX + 1 and a bit, MAX * 2 / 2 is MAX, MIN * 11 / 10 is below MIN. */
    r = 9;
    assert_false(at_cents_muldiv(INT64_MAX, INT64_MAX, INT64_MAX - 1, AT_ROUND_DOWN, &r));
    assert_true(at_cents_muldiv(INT64_MAX, 2, 2, AT_ROUND_CEIL, &r));
    assert_int_equal(r, INT64_MAX);
    r = 9;
    assert_false(at_cents_muldiv(INT64_MIN, 2 * 5 + 1, 2 * 5, AT_ROUND_FLOOR, &r));
    assert_int_equal(r, 9);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parse_accepts_euro_amounts),
        cmocka_unit_test(parse_rejects_anything_else),
        cmocka_unit_test(parse_error_messages_name_the_problem),
        cmocka_unit_test(parse_reaches_exactly_the_int64_limits),
        cmocka_unit_test(format_writes_two_decimals),
        cmocka_unit_test(format_then_parse_gives_the_same_cents),
        cmocka_unit_test(arithmetic_reports_overflow_and_leaves_the_result_alone),
        cmocka_unit_test(muldiv_rounds_by_every_mode),
        cmocka_unit_test(muldiv_agrees_with_a_floor_based_reference),
        cmocka_unit_test(muldiv_has_no_intermediate_overflow),
        cmocka_unit_test(muldiv_refuses_bad_denominators_overflow_and_unknown_modes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
