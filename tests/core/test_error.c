/* Tests of libs/core/src/error.c: filling, truncation, UTF-8 safety, aliasing, code names
 * and their agreement with atb.v1.ErrorCode. */
#include "t.h"
#include "at_error.h"
#include "atb/v1/common.pb-c.h"

/* Whether s is well-formed UTF-8 (a separate, simpler check than error.c's). */
static int valid_utf8(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        int n = *p < 0x80 ? 1 : (*p & 0xE0) == 0xC0 ? 2 : (*p & 0xF0) == 0xE0 ? 3 : (*p & 0xF8) == 0xF0 ? 4 : 0;
        if (n == 0 || (n == 2 && *p < 0xC2))
            return 0;
        for (int i = 1; i < n; i++)
            if ((p[i] & 0xC0) != 0x80)
                return 0;
        p += n;
    }
    return 1;
}

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
    assert_string_equal(e.hint, "");
    at_error_detail(&e, "Amounts are never below zero.");
    at_error_hint(&e, "Enter %s.", "0.00");
    assert_string_equal(e.detail, "Amounts are never below zero.");
    assert_string_equal(e.hint, "Enter 0.00.");
}

static void error_set_clears_the_previous_detail_hint_and_field(void **state)
{
    (void)state;
    at_error e;
    at_error_set(&e, AT_VALIDATION, "iban", "first");
    at_error_detail(&e, "old detail");
    at_error_hint(&e, "old hint");
    at_error_set(&e, AT_CONFLICT, NULL, "second");
    assert_int_equal(e.code, AT_CONFLICT);
    assert_string_equal(e.field, "");
    assert_string_equal(e.message, "second");
    assert_string_equal(e.detail, "");
    assert_string_equal(e.hint, "");
    at_error_clear(&e);
    assert_int_equal(e.code, AT_OK);
    assert_string_equal(e.message, "");
}

static void error_on_null_is_a_no_op(void **state)
{
    (void)state;
    assert_int_equal(at_error_set(NULL, AT_CONFLICT, NULL, "x"), AT_CONFLICT);
    assert_int_equal(at_error_set(NULL, AT_OK, "f", "%s", "y"), AT_OK);
    at_error_detail(NULL, "x");
    at_error_hint(NULL, "x");
    at_error_clear(NULL);
}

static void error_truncates_overlong_text_within_each_field(void **state)
{
    (void)state;
    char big[2000];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = 0;
    at_error e;
    at_error_set(&e, AT_INTERNAL, big, "%s", big);
    at_error_detail(&e, "%s", big);
    at_error_hint(&e, "%s%s", big, big);
    assert_int_equal(strlen(e.field), sizeof e.field - 1);
    assert_int_equal(strlen(e.message), sizeof e.message - 1);
    assert_int_equal(strlen(e.detail), sizeof e.detail - 1);
    assert_int_equal(strlen(e.hint), sizeof e.hint - 1);
    /* A short text after a long one is not polluted by the neighbour. */
    at_error_set(&e, AT_INTERNAL, big, "short");
    assert_string_equal(e.message, "short");
}

static void error_truncation_never_splits_a_utf8_character(void **state)
{
    (void)state;
    /* "ā" is two bytes; 191 usable bytes would end on half of one. */
    char lv[601] = "";
    for (int i = 0; i < 300; i++)
        strcat(lv, "\xc4\x81");
    at_error e;
    at_error_set(&e, AT_VALIDATION, lv, "%s", lv);
    at_error_detail(&e, "x%s", lv);   /* odd offset: the cut falls elsewhere */
    at_error_hint(&e, "%s", lv);
    assert_true(valid_utf8(e.field));
    assert_true(valid_utf8(e.message));
    assert_true(valid_utf8(e.detail));
    assert_true(valid_utf8(e.hint));
    assert_int_equal(strlen(e.field), 62);     /* 63 bytes would end on half a character */
    assert_int_equal(strlen(e.message), 190);  /* the same at 191 */
    assert_int_equal(strlen(e.detail), 383);   /* "x" + 191 characters: fits exactly */
    /* Three-byte characters (the euro sign) too. */
    char eur[601] = "";
    for (int i = 0; i < 200; i++)
        strcat(eur, "\xe2\x82\xac");
    at_error_set(&e, AT_VALIDATION, NULL, "%s", eur);
    assert_true(valid_utf8(e.message));
    assert_int_equal(strlen(e.message) % 3, 0);
}

static void error_replaces_bytes_that_are_not_utf8(void **state)
{
    (void)state;
    at_error e;
    /* A stray 0xFF, a lone continuation byte, an overlong '/', a surrogate. */
    at_error_set(&e, AT_VALIDATION, "f\xc4", "amount \"%s\" is wrong", "1\xff" "2\x80" "3\xc0\xaf" "4\xed\xa0\x80");
    assert_true(valid_utf8(e.message));
    assert_string_equal(e.field, "f");   /* a lead byte cut off at the end is dropped, not marked */
    assert_string_equal(e.message, "amount \"1?2?3??4???\" is wrong");
    at_error_set(&e, AT_VALIDATION, "g\xff", "x");
    assert_string_equal(e.field, "g?");   /* a byte that can start nothing is marked */
    /* Latvian text passes untouched. */
    at_error_set(&e, AT_VALIDATION, NULL, "pašvaldība %s", "Tērvete");
    assert_string_equal(e.message, "pašvaldība Tērvete");
}

static void error_arguments_may_point_into_the_same_error(void **state)
{
    (void)state;
    at_error e;
    at_error_set(&e, AT_UNAVAILABLE, "household", "could not read the log");
    at_error_detail(&e, "Connection refused.");
    /* Wrap: the new message quotes the old one; field passed from the error itself. */
    at_error_set(&e, AT_UNAVAILABLE, e.field, "could not save: %s", e.message);
    assert_string_equal(e.field, "household");
    assert_string_equal(e.message, "could not save: could not read the log");
    at_error_detail(&e, "%s Retried once.", e.detail);   /* detail was cleared by set */
    assert_string_equal(e.detail, " Retried once.");
    at_error_hint(&e, "%s / %s", e.message, e.detail);
    assert_string_equal(e.hint, "could not save: could not read the log /  Retried once.");
}

static void code_names_cover_every_code(void **state)
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
    assert_string_equal(at_code_name((at_code)11), "UNKNOWN");
    assert_string_equal(at_code_name((at_code)99), "UNKNOWN");
    assert_string_equal(at_code_name((at_code)-1), "UNKNOWN");
}

static void codes_and_names_equal_the_proto_enum(void **state)
{
    (void)state;
    /* Every value of atb.v1.ErrorCode but UNSPECIFIED (our OK) has the same number and
     * name here; a code added to one enum and not the other fails this test. */
    const ProtobufCEnumDescriptor *d = &atb__v1__error_code__descriptor;
    int max = 0;
    for (unsigned i = 0; i < d->n_values; i++) {
        const ProtobufCEnumValue *v = &d->values[i];
        if (v->value == 0)
            continue;
        assert_string_equal(at_code_name((at_code)v->value), v->name);
        if (v->value > max)
            max = v->value;
    }
    assert_int_equal(max, AT_UNKNOWN_COMMAND);
    assert_int_equal(ATB__V1__ERROR_CODE__VALIDATION, AT_VALIDATION);
    assert_int_equal(ATB__V1__ERROR_CODE__UNKNOWN_COMMAND, AT_UNKNOWN_COMMAND);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(error_set_fills_code_field_and_message),
        cmocka_unit_test(error_set_clears_the_previous_detail_hint_and_field),
        cmocka_unit_test(error_on_null_is_a_no_op),
        cmocka_unit_test(error_truncates_overlong_text_within_each_field),
        cmocka_unit_test(error_truncation_never_splits_a_utf8_character),
        cmocka_unit_test(error_replaces_bytes_that_are_not_utf8),
        cmocka_unit_test(error_arguments_may_point_into_the_same_error),
        cmocka_unit_test(code_names_cover_every_code),
        cmocka_unit_test(codes_and_names_equal_the_proto_enum),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
