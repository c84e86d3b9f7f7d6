/* Tests of libs/core/src/iban.c, with the example IBANs of the SWIFT IBAN registry (one per
 * SEPA country and a few more) and IBANs whose check digits are computed here by the
 * chunked method ISO 13616 describes, independently of the library's digit-by-digit one. */
#include "t.h"
#include <stdio.h>
#include <stdlib.h>
#include "at_iban.h"

static const char *const registry_examples[] = {
    "AD1200012030200359100100",     "AL47212110090000000235698741", "AT611904300234573201",
    "BE68539007547034",             "BG80BNBG96611020345678",       "CH9300762011623852957",
    "CY17002001280000001200527600", "CZ6508000000192000145399",     "DE89370400440532013000",
    "DK5000400440116243",           "EE382200221020145685",         "ES9121000418450200051332",
    "FI2112345600000785",           "FR1420041010050500013M02606",  "GB29NWBK60161331926819",
    "GR1601101250000000012300695",  "HR1210010051863000160",        "HU42117730161111101800000000",
    "IE29AIBK93115212345678",       "IS140159260076545510730339",   "IT60X0542811101000000123456",
    "LI21088100002324013AA",        "LT121000011101001000",         "LU280019400644750000",
    "LV80BANK0000435195001",        "MC5811222000010123456789030",  "MD24AG000225100013104168",
    "ME25505000012345678951",       "MK07250120000058984",          "MT84MALT011000012345MTLCAST001S",
    "NL91ABNA0417164300",           "NO9386011117947",              "PL61109010140000071219812874",
    "PT50000201231234567890154",    "RO49AAAA1B31007593840000",     "RS35260005601001611379",
    "SE4550000000058398257466",     "SI56263300012039086",          "SK3112000000198742637541",
    "SM86U0322509800000000270100",  "VA59001123000012345678",       "GB82WEST12345698765432",
    "LC55HEMM000100010012001200023015", "RU0304452522540817810538091310419", "XK051212012345678906",
};

/* The remainder mod 97 of the rearranged IBAN, computed the way ISO 13616 describes it for
 * machines without big numbers: the digit string is cut into pieces of up to nine digits,
 * each prefixed with the remainder so far. */
static int ref_mod97(const char *iban)
{
    char digits[80] = "";
    size_t n = strlen(iban);
    for (size_t i = 0; i < n; i++) {
        char c = iban[(i + 4) % n];
        char part[4];
        if (c >= '0' && c <= '9')
            snprintf(part, sizeof part, "%c", c);
        else
            snprintf(part, sizeof part, "%d", (c - 'A' + 10) % 100);   /* 10..35 */
        strcat(digits, part);
    }
    long rem = 0;
    for (size_t at = 0; at < strlen(digits);) {
        char piece[16];
        int len = snprintf(piece, sizeof piece, "%ld", rem);
        size_t take = 9 - (size_t)len;
        snprintf(piece + len, sizeof piece - (size_t)len, "%.*s", (int)take, digits + at);
        at += strlen(piece + len);
        rem = atol(piece) % 97;
    }
    return (int)rem;
}

/* Set the check digits of iban (with any two digits in place) as ISO 13616 computes them. */
static void set_check_digits(char *iban)
{
    iban[2] = '0';
    iban[3] = '0';
    int cd = 98 - ref_mod97(iban);
    iban[2] = (char)('0' + cd / 10);
    iban[3] = (char)('0' + cd % 10);
}

static void expect_ok(const char *s, const char *normalised)
{
    char out[AT_IBAN_MAX + 1];
    at_error e;
    if (at_iban_validate(s, "iban", out, &e) != AT_OK)
        fail_msg("%s refused: %s", s, e.message);
    assert_string_equal(out, normalised);
}

/* Expect a VALIDATION error naming the field; returns the message. */
static const char *refused(const char *s, at_error *e)
{
    char out[AT_IBAN_MAX + 1] = "untouched";
    if (at_iban_validate(s, "iban", out, e) != AT_VALIDATION)
        fail_msg("accepted \"%s\"", s ? s : "(null)");
    assert_string_equal(e->field, "iban");
    assert_string_equal(out, "untouched");
    return e->message;
}

static void iban_accepts_the_registry_examples(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof registry_examples / sizeof registry_examples[0]; i++) {
        assert_int_equal(ref_mod97(registry_examples[i]), 1);   /* the reference agrees */
        expect_ok(registry_examples[i], registry_examples[i]);
    }
    at_error e;
    assert_int_equal(at_iban_validate("LV80BANK0000435195001", "iban", NULL, &e), AT_OK);   /* out may be NULL */
}

static void iban_accepts_computed_check_digits(void **state)
{
    (void)state;
    /* Latvian accounts of several banks, and Estonian and Lithuanian ones. */
    const char *bodies[] = {"LV00HABA0551012345678", "LV00UNLA0050012345678", "LV00PARX0001234567890",
                            "LV00RIKO0000123456789", "EE001010220012345678", "LT007300010012345678",
                            "DE00100100100123456789"};
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        char iban[AT_IBAN_MAX + 1];
        snprintf(iban, sizeof iban, "%s", bodies[i]);
        set_check_digits(iban);
        expect_ok(iban, iban);
    }
}

static void iban_normalises_case_and_spaces(void **state)
{
    (void)state;
    expect_ok("lv80 bank 0000 4351 9500 1", "LV80BANK0000435195001");
    expect_ok("LV80 BANK 0000 4351 9500 1", "LV80BANK0000435195001");
    expect_ok("  Lv80bAnK00004351 95001  ", "LV80BANK0000435195001");
    expect_ok("fr14 2004 1010 0505 0001 3m02 606", "FR1420041010050500013M02606");
    expect_ok("GB82 WEST 1234 5698 7654 32", "GB82WEST12345698765432");
}

static void iban_rejects_wrong_check_digits(void **state)
{
    (void)state;
    at_error e;
    assert_string_equal(refused("LV81BANK0000435195001", &e), "IBAN check digits are wrong");
    assert_string_equal(e.detail, "The check digits of LV81BANK0000435195001 do not match the rest of the number.");
    assert_string_equal(e.hint, "Check the account number for a typing mistake.");
    assert_string_equal(refused("LV80BANK0000435159001", &e), "IBAN check digits are wrong");
    assert_string_equal(refused("lv80 bank 0000 4351 9500 2", &e), "IBAN check digits are wrong");
}

static void iban_catches_every_single_digit_error_and_adjacent_swap(void **state)
{
    (void)state;
    const char *good = "LV80BANK0000435195001";
    size_t n = strlen(good);
    for (size_t i = 2; i < n; i++) {
        for (char c = '0'; c <= '9'; c++) {
            char bad[AT_IBAN_MAX + 1];
            memcpy(bad, good, n + 1);
            if (bad[i] == c || bad[i] < '0' || bad[i] > '9')
                continue;
            bad[i] = c;
            assert_int_equal(at_iban_validate(bad, "iban", NULL, NULL), AT_VALIDATION);
        }
        if (i + 1 < n && good[i] != good[i + 1]) {
            char bad[AT_IBAN_MAX + 1];
            memcpy(bad, good, n + 1);
            bad[i] = good[i + 1];
            bad[i + 1] = good[i];
            assert_int_equal(at_iban_validate(bad, "iban", NULL, NULL), AT_VALIDATION);
        }
    }
}

/* Find an LV account whose ISO check digits are `want`. */
static void find_lv_with_check(int want, char iban[AT_IBAN_MAX + 1])
{
    for (int k = 0; k < 100000; k++) {
        snprintf(iban, AT_IBAN_MAX + 1, "LV00BANK%013d", k);
        set_check_digits(iban);
        if ((iban[2] - '0') * 10 + (iban[3] - '0') == want)
            return;
    }
    fail_msg("no account with check digits %02d", want);
}

static void iban_rejects_check_digits_00_01_99_that_pass_mod_97(void **state)
{
    (void)state;
    /* Check digits are 98 minus a remainder, so 02..98. Adding or taking 97 keeps MOD 97
     * happy, so 97 -> 00, 98 -> 01 and 02 -> 99 pass the arithmetic but are never issued. */
    const int canonical[] = {97, 98, 2};
    const char *alias[] = {"00", "01", "99"};
    for (int i = 0; i < 3; i++) {
        char iban[AT_IBAN_MAX + 1];
        find_lv_with_check(canonical[i], iban);
        expect_ok(iban, iban);
        iban[2] = alias[i][0];
        iban[3] = alias[i][1];
        assert_int_equal(ref_mod97(iban), 1);   /* the arithmetic alone would accept it */
        at_error e;
        assert_string_equal(refused(iban, &e), "IBAN check digits are wrong");
    }
}

static void iban_rejects_wrong_length_for_the_country(void **state)
{
    (void)state;
    at_error e;
    assert_string_equal(refused("LV80BANK000043519500", &e), "IBAN has 20 characters, LV needs 21");
    assert_string_equal(refused("LV80BANK00004351950011", &e), "IBAN has 22 characters, LV needs 21");
    assert_string_equal(refused("EE38220022102014568", &e), "IBAN has 19 characters, EE needs 20");
    assert_string_equal(refused("DE8937040044053201300", &e), "IBAN has 21 characters, DE needs 22");
    assert_string_equal(refused("NO938601111794", &e), "IBAN has 14 characters, NO needs 15");
    assert_string_equal(refused("LV80BANK00004351950010000000000000000", &e), "IBAN is longer than 34 characters");
}

static void iban_rejects_an_unknown_country(void **state)
{
    (void)state;
    at_error e;
    assert_string_equal(refused("QQ80BANK0000435195001", &e), "IBAN country code QQ is not known");
    assert_string_equal(refused("US64SVBKUS6S3300958879", &e), "IBAN country code US is not known");
    /* Territories use their country's code: an Åland IBAN starts with FI, not AX. */
    assert_string_equal(refused("AX2112345600000785", &e), "IBAN country code AX is not known");
}

static void iban_rejects_a_bban_that_breaks_the_country_format(void **state)
{
    (void)state;
    /* LV: 4 letters (the bank) and 13 letters or digits. A digit in the bank code: */
    char iban[AT_IBAN_MAX + 1] = "LV00BAN10000435195001";
    set_check_digits(iban);
    assert_int_equal(ref_mod97(iban), 1);   /* arithmetic fine, format not */
    at_error e;
    assert_string_equal(refused(iban, &e), "IBAN does not match the account format of LV");
    assert_string_equal(e.detail, "After the country code and check digits, LV IBANs have 4 letters, then 13 letters or digits.");
    /* DE: digits only. */
    char de[AT_IBAN_MAX + 1] = "DE0037040044053201300A";
    set_check_digits(de);
    assert_string_equal(refused(de, &e), "IBAN does not match the account format of DE");
    assert_string_equal(e.detail, "After the country code and check digits, DE IBANs have 18 digits.");
    /* IT: a check letter, the bank and branch numbers, then the account. */
    char it[AT_IBAN_MAX + 1] = "IT0010542811101000000123456";   /* a digit where the letter goes */
    set_check_digits(it);
    assert_string_equal(refused(it, &e), "IBAN does not match the account format of IT");
    assert_string_equal(e.detail,
                        "After the country code and check digits, IT IBANs have 1 letter, then 10 digits, then "
                        "12 letters or digits.");
}

static void iban_rejects_bad_characters_and_shapes(void **state)
{
    (void)state;
    at_error e;
    assert_string_equal(refused("LV80BANK-0000435195001", &e), "IBAN contains an invalid character '-'");
    assert_string_equal(refused("LV80\tBANK0000435195001", &e), "IBAN contains an invalid character '\t'");
    assert_string_equal(refused("LV80BANK0000435195001.", &e), "IBAN contains an invalid character '.'");
    assert_string_equal(refused("LV80BANK00004351950\xc4\x81", &e), "IBAN contains an invalid character '?'");
    const char *shape = "IBAN must start with a country code and two check digits";
    assert_string_equal(refused("", &e), shape);
    assert_string_equal(refused("    ", &e), shape);
    assert_string_equal(refused("LV80", &e), shape);
    assert_string_equal(refused("80LVBANK0000435195001", &e), shape);
    assert_string_equal(refused("LVX0BANK0000435195001", &e), shape);
    assert_string_equal(refused("L180BANK0000435195001", &e), shape);
    assert_string_equal(refused(NULL, &e), shape);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(iban_accepts_the_registry_examples),
        cmocka_unit_test(iban_accepts_computed_check_digits),
        cmocka_unit_test(iban_normalises_case_and_spaces),
        cmocka_unit_test(iban_rejects_wrong_check_digits),
        cmocka_unit_test(iban_catches_every_single_digit_error_and_adjacent_swap),
        cmocka_unit_test(iban_rejects_check_digits_00_01_99_that_pass_mod_97),
        cmocka_unit_test(iban_rejects_wrong_length_for_the_country),
        cmocka_unit_test(iban_rejects_an_unknown_country),
        cmocka_unit_test(iban_rejects_a_bban_that_breaks_the_country_format),
        cmocka_unit_test(iban_rejects_bad_characters_and_shapes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
