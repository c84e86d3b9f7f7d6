/*
 * test_load.c -- the rule-set loader of libs/rules (compile.c, set.c, ytree.c): strict
 * schema with line numbers, mandatory sources, dated values without overlaps, "no rule in
 * force" outside them, municipal override by name and date, canonical bytes and version id.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "rules.h"

#define NATIONAL_HEAD                                   \
    "scope: national\n"                                 \
    "title: \"test national\"\n"                        \
    "in_force: {from: 2014-01-01, source: \"act\"}\n"

/* A national document with one parameter `gmi` whose values are given by `values`. */
static const char *national_with(const char *values)
{
    static char buf[4096];
    snprintf(buf, sizeof buf,
             NATIONAL_HEAD
             "parameters:\n"
             "  gmi:\n"
             "    unit: eur\n"
             "    label_lv: \"GMI līmenis\"\n"
             "    label_en: \"GMI level\"\n"
             "    values:\n%s",
             values);
    return buf;
}

static const char *const GMI_VALUES =
    "      - from: 2018-01-01\n"
    "        to: 2019-12-31\n"
    "        value: \"53.00\"\n"
    "        source: \"Cabinet Regulation No. 913 point 2\"\n"
    "      - from: 2020-01-01\n"
    "        to: 2020-12-31\n"
    "        value: \"64.00\"\n"
    "        source: \"Cabinet Regulation No. 913 point 2 as amended\"\n";

static const char *const TOWN =
    "scope: town\n"
    "title: \"test town\"\n"
    "in_force: {from: 2016-01-01, to: 2020-12-31, source: \"document 999\"}\n"
    "parameters:\n"
    "  gmi:\n"
    "    unit: eur\n"
    "    label_lv: \"GMI\"\n"
    "    label_en: \"GMI\"\n"
    "    values:\n"
    "      - {from: 2020-01-01, to: 2020-12-31, value: \"65.00\", source: \"town regulation No. 47\"}\n"
    "  low_income.threshold:\n"
    "    unit: eur\n"
    "    label_lv: \"robeža\"\n"
    "    label_en: \"threshold\"\n"
    "    values:\n"
    "      - {from: 2016-01-01, to: 2020-12-31, value: {ratio: \"0.80\", of: wage, rounding: half_up},\n"
    "         source: \"document 999 §5\"}\n";

static const char *const WAGE =
    "  wage:\n"
    "    unit: eur\n"
    "    label_lv: \"alga\"\n"
    "    label_en: \"wage\"\n"
    "    values:\n"
    "      - {from: 2017-01-01, to: 2017-12-31, value: \"380.00\", source: \"wage act\"}\n";

static at_code load2(const char *a, const char *b, rules_set **out, at_error *err)
{
    rules_source src[2] = {{"national.yaml", a, strlen(a)}, {"town.yaml", b, b ? strlen(b) : 0}};
    at_error_clear(err);
    return rules_set_load(src, b ? 2 : 1, out, err);
}

static at_date d(const char *s)
{
    at_date x;
    assert_int_equal(at_date_parse(s, "date", &x, NULL), AT_OK);
    return x;
}

static void load_rejects_an_unknown_key_with_its_line(void **state)
{
    (void)state;
    const char *doc = national_with("      - from: 2018-01-01\n"
                                    "        amout: \"53.00\"\n"
                                    "        source: \"act\"\n");
    rules_set *s = NULL;
    at_error err;
    assert_int_equal(load2(doc, NULL, &s, &err), AT_VALIDATION);
    assert_null(s);
    /* line 11 is the misspelt key */
    assert_string_equal(err.message, "national.yaml:11: unknown key \"amout\" in a parameter value");
    assert_non_null(strstr(err.hint, "value"));
    assert_string_equal(err.field, "parameters.gmi[0]");
}

static void load_rejects_a_value_without_a_source(void **state)
{
    (void)state;
    rules_set *s = NULL;
    at_error err;
    assert_int_equal(load2(national_with("      - {from: 2018-01-01, value: \"53.00\"}\n"), NULL, &s, &err),
                     AT_VALIDATION);
    assert_string_equal(err.message, "national.yaml:10: missing \"source\" in a parameter value");
    assert_null(s);
}

static void load_rejects_overlapping_dates(void **state)
{
    (void)state;
    rules_set *s = NULL;
    at_error err;
    const char *doc = national_with("      - {from: 2018-01-01, to: 2020-01-31, value: \"53.00\", source: \"a\"}\n"
                                    "      - {from: 2020-01-01, value: \"64.00\", source: \"b\"}\n");
    assert_int_equal(load2(doc, NULL, &s, &err), AT_VALIDATION);
    assert_non_null(strstr(err.message, "overlapping dates in parameter gmi"));
    assert_non_null(strstr(err.message, "2018-01-01 (line 10) is still in force on 2020-01-01"));
    /* an open-ended value followed by another overlaps too */
    doc = national_with("      - {from: 2018-01-01, value: \"53.00\", source: \"a\"}\n"
                        "      - {from: 2020-01-01, value: \"64.00\", source: \"b\"}\n");
    assert_int_equal(load2(doc, NULL, &s, &err), AT_VALIDATION);
    assert_non_null(strstr(err.message, "overlapping dates"));
}

static void load_rejects_unquoted_and_three_decimal_amounts(void **state)
{
    (void)state;
    rules_set *s = NULL;
    at_error err;
    assert_int_equal(load2(national_with("      - {from: 2018-01-01, value: 53.00, source: \"a\"}\n"), NULL, &s, &err),
                     AT_VALIDATION);
    assert_non_null(strstr(err.message, "must be a quoted decimal string"));
    assert_int_equal(load2(national_with("      - {from: 2018-01-01, value: \"53.001\", source: \"a\"}\n"), NULL, &s, &err),
                     AT_VALIDATION);
    assert_non_null(strstr(err.message, "at most two decimals"));
}

static void load_rejects_duplicate_keys_and_aliases(void **state)
{
    (void)state;
    rules_set *s = NULL;
    at_error err;
    assert_int_equal(load2(national_with("      - {from: 2018-01-01, from: 2019-01-01, value: \"1.00\", source: \"a\"}\n"),
                           NULL, &s, &err),
                     AT_VALIDATION);
    assert_non_null(strstr(err.message, "duplicate key \"from\""));
    assert_int_equal(load2(national_with("      - &v {from: 2018-01-01, value: \"1.00\", source: \"a\"}\n"
                                         "      - *v\n"),
                           NULL, &s, &err),
                     AT_MALFORMED);
    assert_non_null(strstr(err.message, "not allowed in a rule set"));
}

static void load_requires_exactly_one_national_scope(void **state)
{
    (void)state;
    rules_set *s = NULL;
    at_error err;
    rules_source src[1] = {{"town.yaml", TOWN, strlen(TOWN)}};
    at_error_clear(&err);
    assert_int_equal(rules_set_load(src, 1, &s, &err), AT_VALIDATION);
    assert_string_equal(err.message, "a rule set needs exactly one national scope");
}

static void param_after_its_end_date_is_no_rule_in_force(void **state)
{
    (void)state;
    rules_set *s = NULL;
    at_error err;
    assert_int_equal(load2(national_with(GMI_VALUES), NULL, &s, &err), AT_OK);
    rules_param_value v;
    assert_int_equal(rules_param(s, NULL, "gmi", d("2020-12-31"), &v, &err), AT_OK);
    assert_int_equal(v.value, 6400);
    assert_int_equal(rules_param(s, NULL, "gmi", d("2021-01-01"), &v, &err), AT_NOT_FOUND);
    assert_string_equal(err.message, "no rule in force for gmi on 2021-01-01");
    assert_int_equal(rules_param(s, NULL, "gmi", d("2017-12-31"), &v, &err), AT_NOT_FOUND);
    assert_int_equal(rules_param(s, NULL, "nothing", d("2018-06-01"), &v, &err), AT_NOT_FOUND);
    rules_set_free(s);
}

static void municipal_override_wins_on_its_dates_and_national_fills_the_rest(void **state)
{
    (void)state;
    char nat[8192];
    snprintf(nat, sizeof nat, "%s%s", national_with(GMI_VALUES), WAGE);
    rules_set *s = NULL;
    at_error err;
    assert_int_equal(load2(nat, TOWN, &s, &err), AT_OK);
    rules_param_value v;
    assert_int_equal(rules_param(s, "town", "gmi", d("2020-03-01"), &v, &err), AT_OK);
    assert_int_equal(v.value, 6500);
    assert_string_equal(v.scope, "town");
    assert_string_equal(v.source, "town regulation No. 47");
    assert_int_equal(rules_param(s, "town", "gmi", d("2019-03-01"), &v, &err), AT_OK);
    assert_int_equal(v.value, 5300);
    assert_string_equal(v.scope, "national");
    /* another tenant and national itself keep the national value */
    assert_int_equal(rules_param(s, NULL, "gmi", d("2020-03-01"), &v, &err), AT_OK);
    assert_int_equal(v.value, 6400);
    assert_int_equal(rules_param(s, "nowhere", "gmi", d("2020-03-01"), &v, &err), AT_UNKNOWN_TENANT);
    /* a derived value: 0.80 x 380.00 = 304.00 */
    assert_int_equal(rules_param(s, "town", "low_income.threshold", d("2017-05-01"), &v, &err), AT_OK);
    assert_int_equal(v.value, 30400);
    assert_int_equal(v.in_force.from, d("2017-01-01"));
    /* and no base in force means no derived value either */
    assert_int_equal(rules_param(s, "town", "low_income.threshold", d("2018-05-01"), &v, &err), AT_NOT_FOUND);
    assert_string_equal(err.message, "no rule in force for wage on 2018-05-01");
    rules_set_free(s);
}

static void serialisation_round_trip_keeps_the_version(void **state)
{
    (void)state;
    char nat[8192];
    snprintf(nat, sizeof nat, "%s%s", national_with(GMI_VALUES), WAGE);
    rules_set *s = NULL, *back = NULL;
    at_error err;
    assert_int_equal(load2(nat, TOWN, &s, &err), AT_OK);
    size_t len;
    const char *bytes = rules_set_bytes(s, &len);
    assert_int_equal(strlen(rules_set_version(s)), 64);
    assert_int_equal(rules_set_from_bytes(bytes, len, &back, &err), AT_OK);
    assert_string_equal(rules_set_version(back), rules_set_version(s));
    size_t len2;
    const char *bytes2 = rules_set_bytes(back, &len2);
    assert_int_equal(len, len2);
    assert_memory_equal(bytes, bytes2, len);
    rules_param_value v;
    assert_int_equal(rules_param(back, "town", "gmi", d("2020-03-01"), &v, &err), AT_OK);
    assert_int_equal(v.value, 6500);
    rules_set_free(back);

    /* bytes that load but are not canonical are refused: their hash would be unreproducible */
    char *copy = malloc(len + 2);
    memcpy(copy, bytes, len);
    memcpy(copy + len, " \n", 2);
    assert_int_equal(rules_set_from_bytes(copy, len + 2, &back, &err), AT_MALFORMED);
    assert_string_equal(err.message, "rule-set bytes are not in canonical form");
    free(copy);
    rules_set_free(s);
}

static void version_ignores_comments_order_and_amount_spelling(void **state)
{
    (void)state;
    const char *a = national_with("      - {from: 2018-01-01, value: \"53.00\", source: \"act\"}\n");
    char a_copy[4096];
    snprintf(a_copy, sizeof a_copy, "%s", a);
    const char *b =
        "# the same rules, written differently\n"
        "title: \"test national\"\n"
        "parameters:\n"
        "  gmi:\n"
        "    values:\n"
        "      - source: \"act\"   # a comment\n"
        "        value: \"53\"\n"
        "        from: 2018-01-01\n"
        "    label_en: \"GMI level\"\n"
        "    label_lv: \"GMI līmenis\"\n"
        "    unit: eur\n"
        "in_force: {source: \"act\", from: 2014-01-01}\n"
        "scope: national\n";
    rules_set *s1 = NULL, *s2 = NULL;
    at_error err;
    assert_int_equal(load2(a_copy, NULL, &s1, &err), AT_OK);
    assert_int_equal(load2(b, NULL, &s2, &err), AT_OK);
    assert_string_equal(rules_set_version(s1), rules_set_version(s2));
    rules_set_free(s1);
    rules_set_free(s2);
}

static void a_changed_value_gives_a_different_version(void **state)
{
    (void)state;
    char a[4096], b[4096];
    snprintf(a, sizeof a, "%s", national_with("      - {from: 2018-01-01, value: \"53.00\", source: \"act\"}\n"));
    snprintf(b, sizeof b, "%s", national_with("      - {from: 2018-01-01, value: \"53.01\", source: \"act\"}\n"));
    rules_set *s1 = NULL, *s2 = NULL;
    at_error err;
    assert_int_equal(load2(a, NULL, &s1, &err), AT_OK);
    assert_int_equal(load2(b, NULL, &s2, &err), AT_OK);
    assert_string_not_equal(rules_set_version(s1), rules_set_version(s2));
    rules_set_free(s1);
    rules_set_free(s2);
}

static void a_reference_to_an_undefined_parameter_is_refused(void **state)
{
    (void)state;
    const char *doc = NATIONAL_HEAD
        "benefits:\n"
        "  X:\n"
        "    kind: catalogue\n"
        "    label_lv: \"x\"\n"
        "    label_en: \"x\"\n"
        "    versions:\n"
        "      - from: 2018-01-01\n"
        "        source: \"s\"\n"
        "        income_basis: per_person\n"
        "        income_max_param: missing.limit\n"
        "        amount: {mode: fixed, value: \"1.00\"}\n"
        "        payment: cash\n";
    rules_set *s = NULL;
    at_error err;
    assert_int_equal(load2(doc, NULL, &s, &err), AT_VALIDATION);
    assert_non_null(strstr(err.message, "refers to parameter missing.limit, which is not defined"));
}

static char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long l = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)l + 1);
    assert_int_equal(fread(b, 1, (size_t)l, f), (size_t)l);
    fclose(f);
    *n = (size_t)l;
    return b;
}

static void the_shipped_rule_sets_load_and_round_trip_in_any_order(void **state)
{
    (void)state;
    static const char *const names[] = {"national.yaml", "daugavpils.yaml", "kandava.yaml", "tervete.yaml"};
    rules_source fwd[4], rev[4];
    char path[1024];
    for (int i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s/%s", RULES_RULESETS_DIR, names[i]);
        fwd[i].name = names[i];
        fwd[i].bytes = slurp(path, &fwd[i].len);
        rev[3 - i] = fwd[i];
    }
    rules_set *a = NULL, *b = NULL, *c = NULL;
    at_error err;
    at_error_clear(&err);
    assert_int_equal(rules_set_load(fwd, 4, &a, &err), AT_OK);
    assert_int_equal(rules_set_load(rev, 4, &b, &err), AT_OK);
    assert_string_equal(rules_set_version(a), rules_set_version(b));
    size_t len;
    const void *bytes = rules_set_bytes(a, &len);
    assert_int_equal(rules_set_from_bytes(bytes, len, &c, &err), AT_OK);
    assert_string_equal(rules_set_version(c), rules_set_version(a));
    rules_param_value v;
    assert_int_equal(rules_param(c, "daugavpils", "low_income.income_threshold", d("2018-06-01"), &v, &err), AT_OK);
    assert_int_equal(v.value, 34400);       /* 0.80 x 430.00 */
    assert_int_equal(rules_param(c, "daugavpils", "needy.real_estate_disregard_below", d("2017-01-01"), &v, &err), AT_OK);
    assert_int_equal(v.value, 600000);
    assert_int_equal(rules_param(c, "daugavpils", "needy.real_estate_disregard_below", d("2016-12-31"), &v, &err), AT_OK);
    assert_int_equal(v.value, 500000);
    assert_true(rules_set_covers(c, "tervete", d("2018-01-01")));
    assert_false(rules_set_covers(c, "tervete", d("2016-12-31")));
    rules_set_free(a);
    rules_set_free(b);
    rules_set_free(c);
    for (int i = 0; i < 4; i++)
        free((void *)fwd[i].bytes);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(load_rejects_an_unknown_key_with_its_line),
        cmocka_unit_test(load_rejects_a_value_without_a_source),
        cmocka_unit_test(load_rejects_overlapping_dates),
        cmocka_unit_test(load_rejects_unquoted_and_three_decimal_amounts),
        cmocka_unit_test(load_rejects_duplicate_keys_and_aliases),
        cmocka_unit_test(load_requires_exactly_one_national_scope),
        cmocka_unit_test(param_after_its_end_date_is_no_rule_in_force),
        cmocka_unit_test(municipal_override_wins_on_its_dates_and_national_fills_the_rest),
        cmocka_unit_test(serialisation_round_trip_keeps_the_version),
        cmocka_unit_test(version_ignores_comments_order_and_amount_spelling),
        cmocka_unit_test(a_changed_value_gives_a_different_version),
        cmocka_unit_test(a_reference_to_an_undefined_parameter_is_refused),
        cmocka_unit_test(the_shipped_rule_sets_load_and_round_trip_in_any_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
