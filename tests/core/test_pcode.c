/* Tests of libs/core/src/pcode.c. Valid codes are built here with the check digit computed
 * from the published rule, so the test does not trust the code it tests; a few fixed codes
 * were worked out by hand (the sums are in the comments). */
#include "t.h"
#include <stdio.h>
#include "at_pcode.h"

/* The rule: check = (1101 - sum(d_i * w_i)) mod 11 over the first ten digits. Returns the
 * check value 0..10 of ten digits. */
static int rule_check(const char ten[10])
{
    static const int w[10] = {1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
    int s = 0;
    for (int i = 0; i < 10; i++)
        s += (ten[i] - '0') * w[i];
    return (1101 - s) % 11;
}

/* "DDMMYY-CNNN" + the check digit into out; 0 (and out empty) when the check value is 10,
 * i.e. no valid code has these ten digits. */
static int make_code(const char ten[10], char out[13])
{
    int c = rule_check(ten);
    out[0] = '\0';
    if (c == 10)
        return 0;
    snprintf(out, 13, "%.6s-%.4s%c", ten, ten + 6, (char)('0' + c));
    return 1;
}

static at_date ymd(int y, int m, int d)
{
    at_date r;
    assert_true(at_date_from_ymd(y, m, d, &r));
    return r;
}

static void expect_old(const char *code, const char *normalised, at_date birth)
{
    at_pcode pc;
    at_error e;
    if (at_pcode_validate(code, "personal_code", &pc, &e) != AT_OK)
        fail_msg("%s refused: %s", code, e.message);
    assert_int_equal(pc.kind, AT_PCODE_OLD);
    assert_string_equal(pc.normalised, normalised);
    assert_int_equal(pc.birth_date, birth);
}

/* Validate s expecting VALIDATION with field "pc"; *out must stay untouched. Returns the
 * message. */
static const char *refused(const char *s, at_error *e)
{
    at_pcode pc;
    memset(&pc, 0x5a, sizeof pc);
    if (at_pcode_validate(s, "pc", &pc, e) != AT_VALIDATION)
        fail_msg("accepted \"%s\"", s ? s : "(null)");
    assert_string_equal(e->field, "pc");
    unsigned char *p = (unsigned char *)&pc;
    for (size_t i = 0; i < sizeof pc; i++)
        assert_int_equal(p[i], 0x5a);
    return e->message;
}

static void pcode_accepts_hand_computed_codes(void **state)
{
    (void)state;
    /* 111111-11111: 1+6+3+7+9+10+5+8+4+2 = 55; (1101 - 55) mod 11 = 1046 mod 11 = 1. */
    expect_old("111111-11111", "111111-11111", ymd(1911, 11, 11));
    /* 161175-19997: 1+36+3+7+63+50+5+72+36+18 = 291; 810 mod 11 = 7. */
    expect_old("161175-19997", "161175-19997", ymd(1975, 11, 16));
    /* 290200-20009: 2+54+0+14+0+0+10+0+0+0 = 80; 1021 mod 11 = 9. Leap day of 2000. */
    expect_old("290200-20009", "290200-20009", ymd(2000, 2, 29));
    /* 311299-01232: 3+6+3+14+81+90+0+8+8+6 = 219; 882 mod 11 = 2. Last day of the 1800s. */
    expect_old("311299-01232", "311299-01232", ymd(1899, 12, 31));
}

static void pcode_accepts_codes_with_or_without_the_dash(void **state)
{
    (void)state;
    expect_old("11111111111", "111111-11111", ymd(1911, 11, 11));
    expect_old("16117519997", "161175-19997", ymd(1975, 11, 16));
    at_error e;
    assert_int_equal(at_pcode_validate("111111-11111", "pc", NULL, &e), AT_OK);   /* out may be NULL */
}

static void pcode_accepts_computed_codes_in_three_centuries(void **state)
{
    (void)state;
    struct {
        const char *ten;
        int y, m, d;
    } cases[] = {
        {"0103551234", 1955, 3, 1},  {"1502801076", 1980, 2, 15}, {"2902002000", 2000, 2, 29},
        {"3112990345", 1899, 12, 31}, {"0101070012", 1807, 1, 1}, {"2902961555", 1996, 2, 29},
        {"3010171234", 1917, 10, 30}, {"0107172001", 2017, 7, 1}, {"2902040777", 1804, 2, 29},
    };
    int made = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char code[13], bare[12];
        if (!make_code(cases[i].ten, code))
            continue;
        made++;
        at_date birth = ymd(cases[i].y, cases[i].m, cases[i].d);
        expect_old(code, code, birth);
        snprintf(bare, sizeof bare, "%.6s%.5s", code, code + 7);
        expect_old(bare, code, birth);
    }
    assert_true(made >= 7);
}

static void pcode_accepts_exactly_one_last_digit(void **state)
{
    (void)state;
    /* For a thousand serial numbers, of the ten possible last digits the validator accepts
     * exactly the one the rule gives, and none where the rule gives 10. */
    int tens = 0;
    for (int serial = 0; serial < 1000; serial++) {
        char ten[11];
        snprintf(ten, sizeof ten, "1405871%03d", serial);
        int want = rule_check(ten);
        tens += want == 10;
        for (int last = 0; last <= 9; last++) {
            char code[13];
            snprintf(code, sizeof code, "%.6s-%.4s%c", ten, ten + 6, (char)('0' + last));
            at_code got = at_pcode_validate(code, "pc", NULL, NULL);
            if ((got == AT_OK) != (last == want))
                fail_msg("%s: got %s, rule says %d", code, at_code_name(got), want);
        }
    }
    assert_true(tens > 50);   /* about one serial in eleven */
}

static void pcode_rejects_wrong_checksum(void **state)
{
    (void)state;
    at_error e;
    assert_string_equal(refused("111111-11112", &e), "personal code checksum is wrong");
    assert_string_equal(e.detail, "The last digit of 111111-11112 does not match the check digit of the first ten.");
    assert_string_equal(e.hint, "Check the code for a typing mistake.");
    char code[13];
    assert_true(make_code("0103551234", code));
    code[11] = (char)('0' + (code[11] - '0' + 1) % 10);
    assert_string_equal(refused(code, &e), "personal code checksum is wrong");
    /* Two neighbouring digits swapped: the weights differ, so the check catches it. */
    assert_string_equal(refused("161157-19997", &e), "personal code checksum is wrong");
}

static void pcode_rejects_a_check_value_of_ten(void **state)
{
    (void)state;
    /* 010100-0000x: 0+6+0+7+0+0+0+0+0+0 = 13; 1088 mod 11 = 10, so no last digit fits. */
    at_error e;
    for (char last = '0'; last <= '9'; last++) {
        char code[13] = "010100-0000";
        code[11] = last;
        code[12] = '\0';
        assert_string_equal(refused(code, &e), "personal code checksum is wrong");
    }
}

static void pcode_rejects_dates_that_do_not_exist(void **state)
{
    (void)state;
    at_error e;
    /* 31 February 1999, whatever the serial and check digit. */
    for (int last = 0; last <= 9; last++) {
        char code[13];
        snprintf(code, sizeof code, "310299-1234%d", last);
        assert_string_equal(refused(code, &e), "personal code contains a date that does not exist");
    }
    char code[13];
    const char *impossible[] = {"2902001234", "2902991234", "3104801234", "0013801234", "0100801234"};
    for (size_t i = 0; i < sizeof impossible / sizeof impossible[0]; i++) {
        if (!make_code(impossible[i], code))
            continue;   /* keep the check digit right, so only the date can be wrong */
        assert_string_equal(refused(code, &e), "personal code contains a date that does not exist");
    }
    /* 29 February 1900 (not a leap year) even with the right check digit. */
    assert_true(make_code("2902001556", code));
    assert_string_equal(refused(code, &e), "personal code contains a date that does not exist");
    assert_string_equal(e.detail,
                        "The first six digits 290200 with century digit 1 give a day that is not in the calendar.");
    /* 00 as day or month. */
    assert_string_equal(refused("000180-11111", &e), "personal code contains a date that does not exist");
}

static void pcode_rejects_an_unknown_century_digit(void **state)
{
    (void)state;
    at_error e;
    for (char c = '3'; c <= '9'; c++) {
        char ten[11] = "0101800123";
        ten[6] = c;
        char code[13];
        snprintf(code, sizeof code, "%.6s-%.4s0", ten, ten + 6);
        char want[64];
        snprintf(want, sizeof want, "personal code has an invalid century digit %c", c);
        assert_string_equal(refused(code, &e), want);
    }
}

static void pcode_rejects_wrong_shape(void **state)
{
    (void)state;
    const char *length[] = {"",         "1",          "1111111111",    "111111111111", "111111-1111",
                            "111111-111111", "32123456",  "3212345678901", "321234-5678"};
    const char *chars[] = {"11111-111111", "1111111-1111", "111111--1111", "111111 11111", "111111-1111a",
                           "ABCDEF-GHIJK", " 11111111111", "11111111111 ", "111111_11111", "-11111111111",
                           "11111111111-", "111111-11111\n", "111111\xe2\x80\x93" "11111" /* en dash */};
    at_error e;
    for (size_t i = 0; i < sizeof length / sizeof length[0]; i++) {
        assert_string_equal(refused(length[i], &e), "personal code must have 11 digits");
        assert_true(strstr(e.detail, "DDMMYY-CNNNN") != NULL);
    }
    for (size_t i = 0; i < sizeof chars / sizeof chars[0]; i++)
        assert_string_equal(refused(chars[i], &e),
                            "personal code may contain only digits and a dash after the sixth digit");
    refused(NULL, &e);
    assert_string_equal(e.message, "personal code must have 11 digits");
    assert_string_equal(e.detail, "It has 0. A personal code is written DDMMYY-CNNNN or 32NNNN-NNNNN; the dash is optional.");
    assert_int_equal(at_pcode_validate("1111", "pc", NULL, NULL), AT_VALIDATION);   /* err may be NULL */
}

static void pcode_accepts_new_format_on_its_shape(void **state)
{
    (void)state;
    at_pcode pc;
    at_error e;
    assert_int_equal(at_pcode_validate("32123456789", "pc", &pc, &e), AT_OK);
    assert_int_equal(pc.kind, AT_PCODE_NEW);
    assert_int_equal(pc.birth_date, AT_DATE_NONE);
    assert_string_equal(pc.normalised, "321234-56789");
    assert_int_equal(at_pcode_validate("321234-56789", "pc", &pc, &e), AT_OK);
    assert_string_equal(pc.normalised, "321234-56789");
    /* No check digit is verified: every last digit is accepted (see pcode.c for why). */
    for (char last = '0'; last <= '9'; last++) {
        char code[12] = "3200000000";
        code[10] = last;
        code[11] = '\0';
        assert_int_equal(at_pcode_validate(code, "pc", NULL, &e), AT_OK);
    }
    /* The law allows a second digit 2..9; none of these is a day of the month. */
    for (char second = '2'; second <= '9'; second++) {
        char code[12] = "3_999999999";
        code[1] = second;
        assert_int_equal(at_pcode_validate(code, "pc", &pc, &e), AT_OK);
        assert_int_equal(pc.kind, AT_PCODE_NEW);
    }
}

static void pcode_treats_30_and_31_as_days_not_new_codes(void **state)
{
    (void)state;
    char code[13];
    assert_true(make_code("3010171234", code) || make_code("3010171235", code));
    at_pcode pc;
    assert_int_equal(at_pcode_validate(code, "pc", &pc, NULL), AT_OK);
    assert_int_equal(pc.kind, AT_PCODE_OLD);
    at_error e;
    assert_string_equal(refused("300299-12345", &e), "personal code contains a date that does not exist");
    assert_string_equal(refused("310499-12345", &e), "personal code contains a date that does not exist");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pcode_accepts_hand_computed_codes),
        cmocka_unit_test(pcode_accepts_codes_with_or_without_the_dash),
        cmocka_unit_test(pcode_accepts_computed_codes_in_three_centuries),
        cmocka_unit_test(pcode_accepts_exactly_one_last_digit),
        cmocka_unit_test(pcode_rejects_wrong_checksum),
        cmocka_unit_test(pcode_rejects_a_check_value_of_ten),
        cmocka_unit_test(pcode_rejects_dates_that_do_not_exist),
        cmocka_unit_test(pcode_rejects_an_unknown_century_digit),
        cmocka_unit_test(pcode_rejects_wrong_shape),
        cmocka_unit_test(pcode_accepts_new_format_on_its_shape),
        cmocka_unit_test(pcode_treats_30_and_31_as_days_not_new_codes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
