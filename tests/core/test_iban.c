/* Tests of libs/core/src/iban.c, with the example IBANs of the national registries. */
#include "t.h"
#include "at_iban.h"

static void iban_accepts_registry_examples(void **state)
{
    (void)state;
    const char *good[] = {"LV80BANK0000435195001", "EE382200221020145685", "LT121000011101001000",
                          "DE89370400440532013000", "GB82WEST12345698765432", "FI2112345600000785",
                          "NO9386011117947"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        char out[AT_IBAN_MAX + 1];
        at_error e;
        assert_int_equal(at_iban_validate(good[i], "iban", out, &e), AT_OK);
        assert_string_equal(out, good[i]);
    }
}

static void iban_normalises_case_and_spaces(void **state)
{
    (void)state;
    char out[AT_IBAN_MAX + 1];
    assert_int_equal(at_iban_validate("lv80 bank 0000 4351 9500 1", "iban", out, NULL), AT_OK);
    assert_string_equal(out, "LV80BANK0000435195001");
}

static void iban_rejects_wrong_check_digits(void **state)
{
    (void)state;
    at_error e;
    assert_int_equal(at_iban_validate("LV81BANK0000435195001", "iban", NULL, &e), AT_VALIDATION);
    assert_string_equal(e.message, "IBAN check digits are wrong");
    /* one swapped pair of digits in the account */
    assert_int_equal(at_iban_validate("LV80BANK0000435159001", "iban", NULL, &e), AT_VALIDATION);
}

static void iban_rejects_wrong_length_country_and_characters(void **state)
{
    (void)state;
    at_error e;
    assert_int_equal(at_iban_validate("LV80BANK000043519500", "iban", NULL, &e), AT_VALIDATION);
    assert_string_equal(e.message, "IBAN has 20 characters, LV needs 21");
    assert_int_equal(at_iban_validate("QQ80BANK0000435195001", "iban", NULL, &e), AT_VALIDATION);
    assert_string_equal(e.message, "IBAN country code QQ is not known");
    assert_int_equal(at_iban_validate("LV80BANK-0000435195001", "iban", NULL, &e), AT_VALIDATION);
    assert_int_equal(at_iban_validate("", "iban", NULL, &e), AT_VALIDATION);
    assert_int_equal(at_iban_validate("80LVBANK0000435195001", "iban", NULL, &e), AT_VALIDATION);
    assert_int_equal(at_iban_validate("LV80BANK00004351950010000000000000000", "iban", NULL, &e), AT_VALIDATION);
    assert_string_equal(e.field, "iban");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(iban_accepts_registry_examples),
        cmocka_unit_test(iban_normalises_case_and_spaces),
        cmocka_unit_test(iban_rejects_wrong_check_digits),
        cmocka_unit_test(iban_rejects_wrong_length_country_and_characters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
