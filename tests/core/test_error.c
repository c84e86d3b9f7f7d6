/* Tests of libs/core/src/error.c. */
#include "t.h"
#include "at_error.h"

static void error_set_fills_code_field_and_message(void **state)
{
    (void)state;
    at_error e;
    at_code c = at_error_set(&e, AT_VALIDATION, "members.2.income", "income %d is negative", -5);
    assert_int_equal(c, AT_VALIDATION);
    assert_int_equal(e.code, AT_VALIDATION);
    assert_string_equal(e.field, "members.2.income");
    assert_string_equal(e.message, "income -5 is negative");
    assert_string_equal(e.detail, "");
    at_error_detail(&e, "Amounts are never below zero.");
    at_error_hint(&e, "Enter %s.", "0.00");
    assert_string_equal(e.detail, "Amounts are never below zero.");
    assert_string_equal(e.hint, "Enter 0.00.");
}

static void error_on_null_is_a_no_op(void **state)
{
    (void)state;
    assert_int_equal(at_error_set(NULL, AT_CONFLICT, NULL, "x"), AT_CONFLICT);
    at_error_detail(NULL, "x");
    at_error_hint(NULL, "x");
    at_error_clear(NULL);
}

static void error_truncates_overlong_text_safely(void **state)
{
    (void)state;
    char big[2000];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = 0;
    at_error e;
    at_error_set(&e, AT_INTERNAL, big, "%s", big);
    at_error_detail(&e, "%s", big);
    assert_int_equal(strlen(e.message), sizeof e.message - 1);
    assert_int_equal(strlen(e.field), sizeof e.field - 1);
    assert_int_equal(strlen(e.detail), sizeof e.detail - 1);
}

static void code_names_match_the_proto_enum(void **state)
{
    (void)state;
    assert_string_equal(at_code_name(AT_OK), "OK");
    assert_string_equal(at_code_name(AT_VALIDATION), "VALIDATION");
    assert_string_equal(at_code_name(AT_CONFLICT), "CONFLICT");
    assert_string_equal(at_code_name(AT_NOT_FOUND), "NOT_FOUND");
    assert_string_equal(at_code_name(AT_UNAUTHORISED), "UNAUTHORISED");
    assert_string_equal(at_code_name(AT_UNKNOWN_TENANT), "UNKNOWN_TENANT");
    assert_string_equal(at_code_name(AT_TOO_LARGE), "TOO_LARGE");
    assert_string_equal(at_code_name(AT_MALFORMED), "MALFORMED");
    assert_string_equal(at_code_name(AT_INTERNAL), "INTERNAL");
    assert_string_equal(at_code_name(AT_UNAVAILABLE), "UNAVAILABLE");
    assert_string_equal(at_code_name(AT_UNKNOWN_COMMAND), "UNKNOWN_COMMAND");
    assert_string_equal(at_code_name((at_code)99), "UNKNOWN");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(error_set_fills_code_field_and_message),
        cmocka_unit_test(error_on_null_is_a_no_op),
        cmocka_unit_test(error_truncates_overlong_text_safely),
        cmocka_unit_test(code_names_match_the_proto_enum),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
