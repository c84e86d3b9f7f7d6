/*
 * test_decide.c -- rules_decide() as an API (libs/rules/src/decide.c, result.c): the
 * household-form threshold (first person + others) is data only, the explanation carries
 * every parameter read with its source, rendering is bounded, errors need no at_error.
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

/* A synthetic scope in the household form of 2021 (first person / each other person), to
 * show the form is expressible as data; the real 2021 rule set is not part of this one. */
static const char *const HOUSEHOLD_FORM =
    "scope: national\n"
    "title: \"household form\"\n"
    "in_force: {from: 2021-01-01, to: 2021-12-31, source: \"test\"}\n"
    "parameters:\n"
    "  gmi.level:\n"
    "    unit: eur_scale\n"
    "    label_lv: \"GMI slieksnis\"\n"
    "    label_en: \"GMI threshold\"\n"
    "    values:\n"
    "      - {from: 2021-01-01, to: 2021-12-31, value: {first: \"109.00\", others: \"76.00\"}, source: \"test: first/others form\"}\n"
    "  pension_age:\n"
    "    unit: months\n"
    "    label_lv: \"pensijas vecums\"\n"
    "    label_en: \"pension age\"\n"
    "    values:\n"
    "      - {from: 2021-01-01, to: 2021-12-31, value: 768, source: \"test\"}\n"
    "income_types:\n"
    "  wage:\n"
    "    label_lv: \"alga\"\n"
    "    label_en: \"wage\"\n"
    "    values:\n"
    "      - {from: 2021-01-01, to: 2021-12-31, counted: true, source: \"test\"}\n"
    "benefits:\n"
    "  GMI:\n"
    "    kind: gmi\n"
    "    label_lv: \"GMI pabalsts\"\n"
    "    label_en: \"GMI benefit\"\n"
    "    versions:\n"
    "      - {from: 2021-01-01, to: 2021-12-31, source: \"test\", status_any: [needy], level_param: gmi.level,\n"
    "         per: month, period: status, payment: account}\n";

static const char *const TOWN =
    "scope: town\n"
    "title: \"town\"\n"
    "in_force: {from: 2021-01-01, to: 2021-12-31, source: \"test\"}\n";

typedef struct fx {
    rules_set *set;
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    rules_source src[2] = {{"national.yaml", HOUSEHOLD_FORM, strlen(HOUSEHOLD_FORM)}, {"town.yaml", TOWN, strlen(TOWN)}};
    at_error err;
    at_error_clear(&err);
    if (rules_set_load(src, 2, &f->set, &err) != AT_OK) {
        fprintf(stderr, "%s\n", err.message);
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    rules_set_free(f->set);
    free(f);
    return 0;
}

static at_date d(const char *s)
{
    at_date x;
    assert_int_equal(at_date_parse(s, "date", &x, NULL), AT_OK);
    return x;
}

typedef struct household {
    rules_member m[4];
    rules_income in[3];
    rules_household h;
    rules_application a;
    rules_status_record st;
    rules_history hist;
} household;

static void four_persons(household *x, at_cents monthly_wage)
{
    memset(x, 0, sizeof *x);
    static const char *const keys[] = {"a1", "a2", "c1", "c2"};
    static const char *const born[] = {"1980-01-01", "1982-01-01", "2010-01-01", "2013-01-01"};
    for (int i = 0; i < 4; i++) {
        x->m[i].key = keys[i];
        x->m[i].birth = d(born[i]);
        x->m[i].disability.from = x->m[i].disability.to = AT_DATE_NONE;
        x->m[i].residence_since = AT_DATE_NONE;
    }
    x->m[0].flags = RULES_MF_ABLE_TO_WORK | RULES_MF_EMPLOYED;
    x->m[1].flags = RULES_MF_ABLE_TO_WORK | RULES_MF_REGISTERED_UNEMPLOYED;
    for (int k = 0; k < 3 && monthly_wage; k++)
        x->in[k] = (rules_income){"a1", "wage", at_date_add_months(d("2021-02-01"), k), monthly_wage};
    x->h = (rules_household){.id = "h1", .members = x->m, .n_members = 4, .incomes = x->in,
                             .n_incomes = monthly_wage ? 3 : 0};
    x->a = (rules_application){.tenant = "town", .submitted = d("2021-05-10"), .decision = d("2021-05-10"),
                               .ask = RULES_ASK_GMI, .applicant = "a1", .event = AT_DATE_NONE, .bill_date = AT_DATE_NONE};
    x->st = (rules_status_record){RULES_STATUS_NEEDY, {d("2021-05-01"), d("2021-07-31")}};
    x->hist = (rules_history){.statuses = &x->st, .n_statuses = 1};
}

static void household_form_threshold_needs_no_code_change(void **state)
{
    fx *f = *state;
    household x;
    rules_result *r = NULL;
    at_error err;
    /* 2 adults + 2 children, no income: 109.00 + 3 x 76.00 = 337.00 */
    four_persons(&x, 0);
    assert_int_equal(rules_decide(f->set, &x.h, &x.a, &x.hist, &r, &err), AT_OK);
    assert_int_equal(rules_result_decision(r)->outcome, RULES_GRANTED);
    assert_int_equal(rules_result_decision(r)->amount, 33700);
    rules_result_free(r);
    /* the same with 300.00 a month: 337.00 - 300.00 = 37.00 */
    four_persons(&x, 30000);
    assert_int_equal(rules_decide(f->set, &x.h, &x.a, &x.hist, &r, &err), AT_OK);
    assert_int_equal(rules_result_decision(r)->amount, 3700);
    rules_result_free(r);
}

static void explanation_names_every_parameter_with_its_source(void **state)
{
    fx *f = *state;
    household x;
    rules_result *r = NULL;
    four_persons(&x, 30000);
    assert_int_equal(rules_decide(f->set, &x.h, &x.a, &x.hist, &r, NULL), AT_OK);
    bool saw_level = false;
    for (size_t i = 0; i < rules_result_n_steps(r); i++) {
        const rules_step *s = rules_result_step(r, i);
        assert_true(s->label_lv[0] && s->label_en[0]);
        for (size_t k = 0; k < s->n_reads; k++) {
            assert_true(s->reads[k].source[0]);
            if (strcmp(s->reads[k].name, "gmi.level") == 0) {
                saw_level = true;
                assert_string_equal(s->reads[k].source, "test: first/others form");
                assert_string_equal(s->reads[k].value, "109.00 first person + 76.00 each other person");
                assert_int_equal(s->reads[k].from, d("2021-01-01"));
            }
        }
    }
    assert_true(saw_level);
    assert_null(rules_result_step(r, rules_result_n_steps(r)));
    rules_result_free(r);
}

static void rendering_reports_the_full_length_and_never_overflows(void **state)
{
    fx *f = *state;
    household x;
    rules_result *r = NULL;
    four_persons(&x, 30000);
    assert_int_equal(rules_decide(f->set, &x.h, &x.a, &x.hist, &r, NULL), AT_OK);
    size_t need = rules_result_format(r, RULES_LANG_LV, NULL, 0);
    assert_true(need > 100);
    char small[32];
    memset(small, 'x', sizeof small);
    assert_int_equal(rules_result_format(r, RULES_LANG_LV, small, sizeof small), need);
    assert_int_equal(small[31], 0);
    char *full = malloc(need + 1);
    assert_int_equal(rules_result_format(r, RULES_LANG_LV, full, need + 1), need);
    assert_int_equal(strlen(full), need);
    assert_non_null(strstr(full, "Lēmums: piešķirts"));
    assert_non_null(strstr(full, "37.00 EUR"));
    free(full);
    rules_result_free(r);
}

static void the_same_input_gives_the_same_decision_every_time(void **state)
{
    fx *f = *state;
    household x;
    four_persons(&x, 12345);
    char first[8192], again[8192];
    for (int i = 0; i < 2; i++) {
        rules_result *r = NULL;
        assert_int_equal(rules_decide(f->set, &x.h, &x.a, &x.hist, &r, NULL), AT_OK);
        rules_result_format(r, RULES_LANG_BOTH, i ? again : first, sizeof first);
        rules_result_free(r);
    }
    assert_string_equal(first, again);
}

static void an_error_without_an_at_error_still_returns_its_code(void **state)
{
    fx *f = *state;
    household x;
    rules_result *r = (rules_result *)&x;   /* must be reset to NULL */
    four_persons(&x, 30000);
    x.in[1].amount = -1;
    assert_int_equal(rules_decide(f->set, &x.h, &x.a, &x.hist, &r, NULL), AT_VALIDATION);
    assert_null(r);
    x.in[1].amount = 100;
    x.a.decision = d("2022-01-10");
    x.a.submitted = AT_DATE_NONE;
    assert_int_equal(rules_decide(f->set, &x.h, &x.a, &x.hist, &r, NULL), AT_NOT_FOUND);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(household_form_threshold_needs_no_code_change),
        cmocka_unit_test(explanation_names_every_parameter_with_its_source),
        cmocka_unit_test(rendering_reports_the_full_length_and_never_overflows),
        cmocka_unit_test(the_same_input_gives_the_same_decision_every_time),
        cmocka_unit_test(an_error_without_an_at_error_still_returns_its_code),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
