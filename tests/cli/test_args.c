/*
 * test_args.c -- services/cli/cli_args.c: the words and values of the command line.
 * No servers.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "cli.h"

static const char *KEY = "8fe2b937-1ac3-4df2-b201-50805cbea8c7";

static void relationship_words_map_to_the_proto_enum(void **state)
{
    (void)state;
    int v = -1;
    assert_int_equal(cli_word_parse(cli_relationships, "applicant", "relationship", &v, NULL), AT_OK);
    assert_int_equal(v, ATB__V1__RELATIONSHIP__RELATIONSHIP_APPLICANT);
    assert_int_equal(cli_word_parse(cli_relationships, "relative", "relationship", &v, NULL), AT_OK);
    assert_int_equal(v, ATB__V1__RELATIONSHIP__RELATIONSHIP_OTHER_RELATIVE);
    assert_int_equal(cli_word_parse(cli_relationships, "Other_Relative", "relationship", &v, NULL), AT_OK);
    assert_int_equal(v, ATB__V1__RELATIONSHIP__RELATIONSHIP_OTHER_RELATIVE);
    assert_int_equal(cli_word_parse(cli_relationships, "OTHER", "relationship", &v, NULL), AT_OK);
    assert_int_equal(v, ATB__V1__RELATIONSHIP__RELATIONSHIP_OTHER);
}

static void an_unknown_word_is_refused_with_the_words_there_are(void **state)
{
    (void)state;
    at_error err;
    at_error_clear(&err);
    int v = 77;
    assert_int_equal(cli_word_parse(cli_relationships, "kid", "relationship", &v, &err), AT_VALIDATION);
    assert_int_equal(v, 77);
    assert_string_equal(err.message, "unknown relationship \"kid\"");
    assert_string_equal(err.field, "relationship");
    /* the alias other-relative is accepted but not offered */
    assert_string_equal(err.detail, "The relationship is one of applicant|spouse|child|parent|relative|other.");
}

static void fact_kinds_and_employment_accept_dash_or_underscore(void **state)
{
    (void)state;
    int v = 0;
    assert_int_equal(cli_word_parse(cli_fact_kinds, "care-level", "kind", &v, NULL), AT_OK);
    assert_int_equal(v, ATB__V1__PERSON_FACT_KIND__PERSON_FACT_KIND_CARE_LEVEL);
    assert_int_equal(cli_word_parse(cli_fact_kinds, "care_level", "kind", &v, NULL), AT_OK);
    assert_int_equal(v, ATB__V1__PERSON_FACT_KIND__PERSON_FACT_KIND_CARE_LEVEL);
    assert_int_equal(cli_word_parse(cli_employments, "registered_unemployed", "employment", &v, NULL), AT_OK);
    assert_int_equal(v, ATB__V1__EMPLOYMENT__EMPLOYMENT_REGISTERED_UNEMPLOYED);
    assert_int_equal(cli_word_parse(cli_appeal_outcomes, "changed", "outcome", &v, NULL), AT_OK);
    assert_int_equal(v, ATB__V1__APPEAL_OUTCOME__APPEAL_OUTCOME_CHANGED);
    assert_int_equal(cli_word_parse(cli_appeal_bodies, "court", "body", &v, NULL), AT_OK);
    assert_int_equal(v, ATB__V1__APPEAL_BODY__APPEAL_BODY_COURT);
    assert_string_equal(cli_word_of(cli_fact_kinds, ATB__V1__PERSON_FACT_KIND__PERSON_FACT_KIND_FLAG), "flag");
    assert_string_equal(cli_word_of(cli_fact_kinds, 99), "");
}

static void dates_parse_strictly_into_the_proto_date(void **state)
{
    (void)state;
    Atb__V1__Date d = ATB__V1__DATE__INIT;
    at_error err;
    assert_int_equal(cli_date_parse("2024-02-29", "on", &d, &err), AT_OK);
    assert_int_equal(d.year, 2024);
    assert_int_equal(d.month, 2);
    assert_int_equal(d.day, 29);
    char t[11];
    cli_date_text(&d, t);
    assert_string_equal(t, "2024-02-29");
    assert_int_equal(cli_date_parse("2023-02-29", "on", &d, &err), AT_VALIDATION);
    assert_string_equal(err.field, "on");
    assert_int_equal(cli_date_parse("2024-5-2", "on", &d, &err), AT_VALIDATION);
    assert_int_equal(cli_date_parse("02.05.2024", "on", &d, &err), AT_VALIDATION);
    Atb__V1__Date none = ATB__V1__DATE__INIT;
    cli_date_text(&none, t);
    assert_string_equal(t, "");
    cli_date_text(NULL, t);
    assert_string_equal(t, "");
}

static void whole_numbers_must_be_whole_and_in_range(void **state)
{
    (void)state;
    int64_t v = 0;
    at_error err;
    assert_int_equal(cli_int64_parse("42", "level", 0, 99, &v, &err), AT_OK);
    assert_int_equal(v, 42);
    assert_int_equal(cli_int64_parse("-1", "expect-version", -1, INT64_MAX, &v, &err), AT_OK);
    assert_int_equal(v, -1);
    assert_int_equal(cli_int64_parse("4x", "level", 0, 99, &v, &err), AT_VALIDATION);
    assert_string_equal(err.message, "level \"4x\" is not a whole number");
    assert_int_equal(cli_int64_parse("", "level", 0, 99, &v, &err), AT_VALIDATION);
    assert_int_equal(cli_int64_parse(" 4", "level", 0, 99, &v, &err), AT_VALIDATION);
    assert_int_equal(cli_int64_parse("100", "level", 0, 99, &v, &err), AT_VALIDATION);
    assert_string_equal(err.message, "level 100 is out of range");
    assert_int_equal(cli_int64_parse("99999999999999999999", "n", 0, INT64_MAX, &v, &err), AT_VALIDATION);
}

static void euro_amounts_become_cents_without_floats(void **state)
{
    (void)state;
    int64_t c = 0;
    at_error err;
    assert_int_equal(cli_cents_parse("12.34", "amount", &c, &err), AT_OK);
    assert_int_equal(c, 1234);
    assert_int_equal(cli_cents_parse("0,10", "amount", &c, &err), AT_OK);
    assert_int_equal(c, 10);
    assert_int_equal(cli_cents_parse("64", "amount", &c, &err), AT_OK);
    assert_int_equal(c, 6400);
    /* 0.29 * 100 is 28.999... in binary floating point: integer arithmetic gives 29 */
    assert_int_equal(cli_cents_parse("0.29", "amount", &c, &err), AT_OK);
    assert_int_equal(c, 29);
    assert_int_equal(cli_cents_parse("92233720368547758.07", "amount", &c, &err), AT_OK);
    assert_int_equal(c, INT64_MAX);
    assert_int_equal(cli_cents_parse("1.234", "amount", &c, &err), AT_VALIDATION);
    assert_int_equal(cli_cents_parse("1 234.00", "amount", &c, &err), AT_VALIDATION);
    assert_int_equal(cli_cents_parse("1e3", "amount", &c, &err), AT_VALIDATION);
}

static void a_member_is_key_relationship_and_joined(void **state)
{
    (void)state;
    cli_member m;
    at_error err;
    char arg[128];
    snprintf(arg, sizeof arg, "%s:child:2024-05-02", KEY);
    assert_int_equal(cli_member_parse(arg, &m, &err), AT_OK);
    assert_string_equal(m.key, KEY);
    assert_int_equal(m.relationship, ATB__V1__RELATIONSHIP__RELATIONSHIP_CHILD);
    assert_int_equal(m.joined.year, 2024);
    assert_int_equal(m.joined.month, 5);
    assert_int_equal(m.joined.day, 2);

    assert_int_equal(cli_member_parse("x:child:2024-05-02", &m, &err), AT_VALIDATION);
    assert_string_equal(err.message, "member \"x:child:2024-05-02\": \"x\" is not a person key");
    snprintf(arg, sizeof arg, "%s:child", KEY);
    assert_int_equal(cli_member_parse(arg, &m, &err), AT_VALIDATION);
    assert_non_null(strstr(err.message, "is not KEY:RELATIONSHIP:JOINED"));
    snprintf(arg, sizeof arg, "%s:child:2024-05-02:x", KEY);
    assert_int_equal(cli_member_parse(arg, &m, &err), AT_VALIDATION);
    snprintf(arg, sizeof arg, "%s:cousin:2024-05-02", KEY);
    assert_int_equal(cli_member_parse(arg, &m, &err), AT_VALIDATION);
    assert_string_equal(err.message, "unknown relationship \"cousin\"");
    snprintf(arg, sizeof arg, "%s:child:2024-13-02", KEY);
    assert_int_equal(cli_member_parse(arg, &m, &err), AT_VALIDATION);
    assert_string_equal(err.field, "joined");
    /* 36 characters that are not a UUID */
    assert_int_equal(cli_member_parse("8fe2b937x1ac3x4df2xb201x50805cbea8c7:child:2024-05-02", &m, &err),
                     AT_VALIDATION);
}

static void a_duty_text_may_hold_colons(void **state)
{
    (void)state;
    cli_duty d;
    at_error err;
    assert_int_equal(cli_duty_parse("seek_work:2024-06-30:Apply to 3 jobs: shop, bakery, depot", &d, &err), AT_OK);
    assert_string_equal(d.kind, "seek_work");
    assert_int_equal(d.due.year, 2024);
    assert_int_equal(d.due.month, 6);
    assert_int_equal(d.due.day, 30);
    assert_string_equal(d.text, "Apply to 3 jobs: shop, bakery, depot");
    cli_duty_free(&d);
    assert_int_equal(cli_duty_parse("register_unemployed:2024-06-01", &d, &err), AT_OK);
    assert_string_equal(d.text, "");
    cli_duty_free(&d);
    assert_int_equal(cli_duty_parse("register_unemployed", &d, &err), AT_VALIDATION);
    assert_null(d.text);
    assert_int_equal(cli_duty_parse(":2024-06-01", &d, &err), AT_VALIDATION);
    assert_int_equal(cli_duty_parse("seek_work:soon:text", &d, &err), AT_VALIDATION);
    assert_string_equal(err.field, "due");
    assert_null(d.text);
}

static void list_options_split_on_commas_and_skip_empty_words(void **state)
{
    (void)state;
    cli_list l = {0};
    assert_true(cli_list_add(&l, "income_statement"));
    assert_true(cli_list_add(&l, "a,b,,c,"));
    assert_true(cli_list_add(&l, ""));
    assert_int_equal(l.n, 4);
    assert_string_equal(l.items[0], "income_statement");
    assert_string_equal(l.items[1], "a");
    assert_string_equal(l.items[2], "b");
    assert_string_equal(l.items[3], "c");
    for (int i = 0; i < 20; i++)
        assert_true(cli_list_add(&l, "x"));
    assert_int_equal(l.n, 24);
    cli_list_free(&l);
    assert_int_equal(l.n, 0);
    assert_null(l.items);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(relationship_words_map_to_the_proto_enum),
        cmocka_unit_test(an_unknown_word_is_refused_with_the_words_there_are),
        cmocka_unit_test(fact_kinds_and_employment_accept_dash_or_underscore),
        cmocka_unit_test(dates_parse_strictly_into_the_proto_date),
        cmocka_unit_test(whole_numbers_must_be_whole_and_in_range),
        cmocka_unit_test(euro_amounts_become_cents_without_floats),
        cmocka_unit_test(a_member_is_key_relationship_and_joined),
        cmocka_unit_test(a_duty_text_may_hold_colons),
        cmocka_unit_test(list_options_split_on_commas_and_skip_empty_words),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
