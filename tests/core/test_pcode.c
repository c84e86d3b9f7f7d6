/* Tests of libs/core/src/pcode.c. Valid codes are built with the check digit computed
 * here from the published rule, so the test does not trust the code it tests. */
#include "t.h"
#include <stdio.h>
#include "at_pcode.h"

/* Append the check digit of the rule (1101 - sum(d_i * w_i)) mod 11 to ten digits;
 * returns 0 and leaves out empty when the remainder is 10 (no valid code). */
static int make_code(const char ten[10], char out[13])
{
    static const int w[10] = {1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
    int s = 0;
    for (int i = 0; i < 10; i++)
        s += (ten[i] - '0') * w[i];
    int c = (1101 - s) % 11;
    if (c == 10) {
        out[0] = 0;
        return 0;
    }
    snprintf(out, 13, "%.6s-%.4s%c", ten, ten + 6, (char)('0' + c));
    return 1;
}

static void pcode_accepts_a_published_example(void **state)
{
    (void)state;
    at_pcode pc;
    at_error e;
    /* 111111-11111: sum 55, (1101 - 55) mod 11 = 1: valid; born 1911-11-11. */
    assert_int_equal(at_pcode_validate("111111-11111", "personal_code", &pc, &e), AT_OK);
    assert_int_equal(pc.kind, AT_PCODE_OLD);
    at_date d;
    assert_true(at_date_from_ymd(1911, 11, 11, &d));
    assert_int_equal(pc.birth_date, d);
    assert_string_equal(pc.normalised, "111111-11111");
    assert_int_equal(at_pcode_validate("11111111111", "personal_code", &pc, &e), AT_OK);
    assert_string_equal(pc.normalised, "111111-11111");
}

static void pcode_accepts_computed_codes_in_three_centuries(void **state)
{
    (void)state;
    const char *tens[] = {"0103551234", "1502801076", "2902002000", "3112990345", "0101070012"};
    int made = 0;
    for (size_t i = 0; i < sizeof tens / sizeof tens[0]; i++) {
        char code[13];
        if (!make_code(tens[i], code))
            continue;
        made++;
        at_pcode pc;
        at_error e;
        assert_int_equal(at_pcode_validate(code, "pc", &pc, &e), AT_OK);
        assert_int_equal(pc.kind, AT_PCODE_OLD);
    }
    assert_true(made >= 3);
    at_pcode pc;
    char code[13];
    assert_true(make_code("2902002000", code) || 1);
    if (make_code("2902002000", code)) {
        assert_int_equal(at_pcode_validate(code, "pc", &pc, NULL), AT_OK);
        at_date d;
        at_date_from_ymd(2000, 2, 29, &d);
        assert_int_equal(pc.birth_date, d);
    }
}

static void pcode_rejects_wrong_checksum(void **state)
{
    (void)state;
    char code[13];
    assert_true(make_code("0103551234", code));
    code[11] = (char)('0' + (code[11] - '0' + 1) % 10);
    at_error e;
    assert_int_equal(at_pcode_validate(code, "personal_code", NULL, &e), AT_VALIDATION);
    assert_string_equal(e.message, "personal code checksum is wrong");
    assert_string_equal(e.field, "personal_code");
    assert_int_equal(at_pcode_validate("111112-11111", "personal_code", NULL, &e), AT_VALIDATION);
}

static void pcode_rejects_remainder_ten(void **state)
{
    (void)state;
    /* Find a ten-digit prefix whose remainder is 10: no last digit can make it valid. */
    char ten[11] = "0101801000";
    int found = 0;
    for (int n = 0; n < 1000 && !found; n++) {
        snprintf(ten + 7, 4, "%03d", n);
        char out[13];
        if (!make_code(ten, out))
            found = 1;
    }
    assert_true(found);
    for (int last = 0; last <= 9; last++) {
        char code[13];
        snprintf(code, sizeof code, "%.6s-%.4s%c", ten, ten + 6, (char)('0' + last));
        assert_int_equal(at_pcode_validate(code, "pc", NULL, NULL), AT_VALIDATION);
    }
}

static void pcode_rejects_dates_that_do_not_exist(void **state)
{
    (void)state;
    at_error e;
    char code[13];
    /* 31 February 1999 */
    if (make_code("3102991234", code)) {
        assert_int_equal(at_pcode_validate(code, "pc", NULL, &e), AT_VALIDATION);
        assert_string_equal(e.message, "personal code contains a date that does not exist");
    }
    /* 29 February 1900 (not a leap year) */
    if (make_code("2902001234", code)) {
        assert_int_equal(at_pcode_validate(code, "pc", NULL, &e), AT_VALIDATION);
    }
    /* century digit 3 is not defined for old codes */
    if (make_code("0101803123", code)) {
        assert_int_equal(at_pcode_validate(code, "pc", NULL, &e), AT_VALIDATION);
        assert_string_equal(e.message, "personal code has an invalid century digit 3");
    }
}

static void pcode_rejects_wrong_shape(void **state)
{
    (void)state;
    const char *bad[] = {"", "11111-111111", "1111111111", "111111111111", "111111-1111a", "ABCDEF-GHIJK",
                         "111111 11111", "111111--1111"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        at_error e;
        assert_int_equal(at_pcode_validate(bad[i], "pc", NULL, &e), AT_VALIDATION);
        assert_string_equal(e.field, "pc");
    }
    assert_int_equal(at_pcode_validate(NULL, "pc", NULL, NULL), AT_VALIDATION);
}

static void pcode_accepts_new_format_without_birth_date(void **state)
{
    (void)state;
    at_pcode pc;
    at_error e;
    assert_int_equal(at_pcode_validate("32123456789", "pc", &pc, &e), AT_OK);
    assert_int_equal(pc.kind, AT_PCODE_NEW);
    assert_int_equal(pc.birth_date, AT_DATE_NONE);
    assert_string_equal(pc.normalised, "321234-56789");
    assert_int_equal(at_pcode_validate("321234-5678", "pc", &pc, &e), AT_VALIDATION);
    /* 3 then 2..9 is the new format; 30 and 31 are days of an old-format code */
    assert_int_equal(at_pcode_validate("39000000001", "pc", &pc, &e), AT_OK);
    assert_int_equal(pc.kind, AT_PCODE_NEW);
    char code[13];
    assert_true(make_code("3112991234", code) || make_code("3112991235", code));
    assert_int_equal(at_pcode_validate(code, "pc", &pc, &e), AT_OK);
    assert_int_equal(pc.kind, AT_PCODE_OLD);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pcode_accepts_a_published_example),
        cmocka_unit_test(pcode_accepts_computed_codes_in_three_centuries),
        cmocka_unit_test(pcode_rejects_wrong_checksum),
        cmocka_unit_test(pcode_rejects_remainder_ten),
        cmocka_unit_test(pcode_rejects_dates_that_do_not_exist),
        cmocka_unit_test(pcode_rejects_wrong_shape),
        cmocka_unit_test(pcode_accepts_new_format_without_birth_date),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
