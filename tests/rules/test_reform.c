/*
 * test_reform.c -- the engine parts of the 2021 reform in libs/rules: the household-type
 * classifier (a pure function), the national maximum of a municipality's low-income
 * threshold (caps: a rule set above it does not load, checked against the real
 * national.yaml on both sides of each maximum), the housing benefit's expense kinds and
 * norms, and the loader's checks of a housing benefit. The amounts of the reform are
 * rule cases (tests/rules/cases/reform_*.yaml).
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

#ifndef RULES_RULESETS_DIR
#error "RULES_RULESETS_DIR must name services/means/rulesets"
#endif

static at_date d(const char *s)
{
    at_date x;
    assert_int_equal(at_date_parse(s, "date", &x, NULL), AT_OK);
    return x;
}

/* ---- the classifier */

static void classifier_covers_every_household_type(void **state)
{
    (void)state;
    const uint32_t P = RULES_MF_PENSIONER, A = RULES_MF_PENSION_AGE, D = RULES_MF_DISABLED, C = RULES_MF_CHILD;
    const uint32_t W = RULES_MF_ABLE_TO_WORK | RULES_MF_EMPLOYED;
    static const struct {
        uint32_t f[4];
        size_t n;
        rules_household_type want;
    } rows[] = {
        {{0}, 0, RULES_HT_NONE},
        {{P}, 1, RULES_HT_SINGLE_PENSIONER_OR_DISABLED},
        {{A}, 1, RULES_HT_SINGLE_PENSIONER_OR_DISABLED},          /* pension age without the flag */
        {{D}, 1, RULES_HT_SINGLE_PENSIONER_OR_DISABLED},
        {{W}, 1, RULES_HT_OTHER},
        {{C}, 1, RULES_HT_OTHER},                                   /* a child alone: no adult */
        {{P, A}, 2, RULES_HT_PENSIONERS_OR_DISABLED_ONLY},
        {{P, D}, 2, RULES_HT_PENSIONERS_OR_DISABLED_ONLY},
        {{P, C | D}, 2, RULES_HT_PENSIONERS_OR_DISABLED_ONLY},    /* a child with disability */
        {{P, C}, 2, RULES_HT_PENSIONERS_OR_DISABLED_WITH_CHILDREN},
        {{D, C, C}, 3, RULES_HT_PENSIONERS_OR_DISABLED_WITH_CHILDREN},
        {{P, W}, 2, RULES_HT_OTHER},
        {{W, W, C, C}, 4, RULES_HT_OTHER},
        {{D | W, C}, 2, RULES_HT_PENSIONERS_OR_DISABLED_WITH_CHILDREN}, /* disabled and working */
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        rules_household_type got = rules_household_classify(rows[i].n ? rows[i].f : NULL, rows[i].n);
        if (got != rows[i].want)
            fail_msg("row %zu: expected %s, got %s", i, rules_household_type_name(rows[i].want),
                     rules_household_type_name(got));
    }
    assert_string_equal(rules_household_type_name(RULES_HT_OTHER), "other");
    assert_string_equal(rules_household_type_name(RULES_HT_NONE), "none");
    assert_null(rules_household_type_name(99));
}

/* ---- the national maximum of the low-income threshold */

static char *slurp(const char *name, size_t *n)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", RULES_RULESETS_DIR, name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long l = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)l + 1);
    assert_int_equal(fread(b, 1, (size_t)l, f), (size_t)l);
    fclose(f);
    b[l] = 0;
    *n = (size_t)l;
    return b;
}

/* Load the real national.yaml with a town whose low-income threshold `name` is `value`
 * from `from` to `to`. */
static at_code load_town(const char *name, const char *from, const char *to, const char *value, at_error *err)
{
    size_t nn;
    char *nat = slurp("national.yaml", &nn);
    char town[2048];
    snprintf(town, sizeof town,
             "scope: town\n"
             "title: \"town\"\n"
             "in_force: {from: 2021-01-01, to: 2025-12-31, source: \"test\"}\n"
             "parameters:\n"
             "  %s:\n"
             "    unit: eur_scale\n"
             "    label_lv: \"slieksnis\"\n"
             "    label_en: \"threshold\"\n"
             "    values:\n"
             "      - {from: %s, to: %s, value: %s, source: \"town regulation\"}\n",
             name, from, to, value);
    rules_source src[2] = {{"national.yaml", nat, nn}, {"town.yaml", town, strlen(town)}};
    rules_set *s = NULL;
    at_error_clear(err);
    at_code rc = rules_set_load(src, 2, &s, err);
    rules_set_free(s);
    free(nat);
    return rc;
}

static void municipal_threshold_at_the_maximum_loads_and_above_it_does_not(void **state)
{
    (void)state;
    static const struct {
        const char *from, *to, *at, *first_above, *others_above;
    } periods[] = {
        {"2021-01-01", "2023-06-30", "{first: \"436.00\", others: \"305.00\"}",
         "{first: \"436.01\", others: \"305.00\"}", "{first: \"436.00\", others: \"305.01\"}"},
        {"2023-07-01", "2023-12-31", "{first: \"501.00\", others: \"351.00\"}",
         "{first: \"501.01\", others: \"351.00\"}", "{first: \"501.00\", others: \"351.01\"}"},
        {"2024-01-01", "2024-12-31", "{first: \"549.00\", others: \"384.00\"}",
         "{first: \"549.01\", others: \"384.00\"}", "{first: \"549.00\", others: \"384.01\"}"},
        {"2025-01-01", "2025-12-31", "{first: \"604.00\", others: \"423.00\"}",
         "{first: \"604.01\", others: \"423.00\"}", "{first: \"604.00\", others: \"423.01\"}"},
    };
    at_error err;
    for (size_t i = 0; i < 4; i++) {
        const char *name = "low_income.income_threshold";
        assert_int_equal(load_town(name, periods[i].from, periods[i].to, periods[i].at, &err), AT_OK);
        assert_int_equal(load_town(name, periods[i].from, periods[i].to, periods[i].first_above, &err), AT_VALIDATION);
        assert_non_null(strstr(err.message, "town.yaml:10: low_income.income_threshold exceeds the national maximum "
                                            "low_income.max_threshold"));
        assert_non_null(strstr(err.detail, periods[i].from));
        assert_int_equal(load_town(name, periods[i].from, periods[i].to, periods[i].others_above, &err), AT_VALIDATION);
    }
    /* A household-type variant is capped too; a per-person amount is capped on both parts. */
    assert_int_equal(load_town("low_income.income_threshold.single_pensioner_or_disabled", "2021-01-01", "2021-12-31",
                               "{first: \"436.01\", others: \"0.00\"}", &err), AT_VALIDATION);
    assert_int_equal(load_town("low_income.income_threshold", "2021-01-01", "2021-12-31", "\"305.00\"", &err), AT_OK);
    assert_int_equal(load_town("low_income.income_threshold", "2021-01-01", "2021-12-31", "\"305.01\"", &err),
                     AT_VALIDATION);
    /* A value that straddles two maxima is checked against both: 501.00 fits 2023-07 only. */
    assert_int_equal(load_town("low_income.income_threshold", "2023-06-01", "2023-12-31",
                               "{first: \"501.00\", others: \"351.00\"}", &err), AT_VALIDATION);
    assert_non_null(strstr(err.detail, "2021-01-01"));
    /* Before the reform there is no maximum: the family-based thresholds are not capped. */
    assert_int_equal(load_town("low_income.income_threshold", "2019-01-01", "2020-12-31", "\"999.00\"", &err), AT_OK);
    /* A derived threshold cannot be checked when loading: refused where a maximum applies. */
    assert_int_equal(load_town("low_income.income_threshold", "2021-01-01", "2021-12-31",
                               "{ratio: \"0.80\", of: min_wage, rounding: half_up}", &err), AT_VALIDATION);
    assert_non_null(strstr(err.message, "cannot be checked against the national maximum"));
}

/* ---- housing: expense kinds and norms */

static const char *const HOUSING_NATIONAL =
    "scope: national\n"
    "title: \"housing\"\n"
    "in_force: {from: 2021-01-01, to: 2021-12-31, source: \"test\"}\n"
    "parameters:\n"
    "  gmi.level:\n"
    "    unit: eur_scale\n"
    "    label_lv: \"GMI\"\n"
    "    label_en: \"GMI\"\n"
    "    values:\n"
    "      - {from: 2021-01-01, to: 2021-12-31, value: {first: \"109.00\", others: \"76.00\"}, source: \"test\"}\n"
    "  pension_age:\n"
    "    unit: months\n"
    "    label_lv: \"p\"\n"
    "    label_en: \"p\"\n"
    "    values:\n"
    "      - {from: 2021-01-01, to: 2021-12-31, value: 768, source: \"test\"}\n"
    "  housing.coefficient:\n"
    "    unit: ratio\n"
    "    label_lv: \"K\"\n"
    "    label_en: \"K\"\n"
    "    values:\n"
    "      - {from: 2021-01-01, to: 2021-12-31, value: \"1\", source: \"test\"}\n"
    "  housing.coefficient.single_pensioner_or_disabled:\n"
    "    unit: ratio\n"
    "    label_lv: \"K\"\n"
    "    label_en: \"K\"\n"
    "    values:\n"
    "      - {from: 2021-01-01, to: 2021-12-31, value: \"2.5\", source: \"test\"}\n"
    "  housing.norm.heat:\n"
    "    unit: eur\n"
    "    label_lv: \"norma\"\n"
    "    label_en: \"norm\"\n"
    "    values:\n"
    "      - {from: 2021-01-01, to: 2021-12-31, value: \"60.00\", source: \"test norm\"}\n"
    "income_types:\n"
    "  pension:\n"
    "    label_lv: \"pensija\"\n"
    "    label_en: \"pension\"\n"
    "    values:\n"
    "      - {from: 2021-01-01, to: 2021-12-31, counted: true, source: \"test\"}\n"
    "benefits:\n"
    "  HOUSING:\n"
    "    kind: housing\n"
    "    label_lv: \"Mājokļa pabalsts\"\n"
    "    label_en: \"Housing benefit\"\n"
    "    versions:\n"
    "      - from: 2021-01-01\n"
    "        to: 2021-12-31\n"
    "        source: \"test\"\n"
    "        status_any: [needy, low_income]\n"
    "        level_param: gmi.level\n"
    "        coefficient_param: housing.coefficient\n"
    "        per: month\n"
    "        period: status\n"
    "        payment: account\n"
    "        expenses:\n"
    "          rent: {counted: true, source: \"test\"}\n"
    "          heat: {counted: true, norm_param: housing.norm.heat, source: \"test\"}\n";

static const char *const TOWN =
    "scope: town\n"
    "title: \"town\"\n"
    "in_force: {from: 2021-01-01, to: 2021-12-31, source: \"test\"}\n";

static at_code load_housing(const char *national, rules_set **s, at_error *err)
{
    rules_source src[2] = {{"national.yaml", national, strlen(national)}, {"town.yaml", TOWN, strlen(TOWN)}};
    at_error_clear(err);
    return rules_set_load(src, 2, s, err);
}

typedef struct pensioner {
    rules_member m;
    rules_income in[3];
    rules_expense ex[2];
    rules_household h;
    rules_application a;
    rules_status_record st;
    rules_history hist;
} pensioner;

/* A pensioner living alone with 300.00 pension a month, low-income status, asking for the
 * housing benefit on 2021-05-10 with rent `rent` and heat `heat`. */
static void single_pensioner(pensioner *x, at_cents rent, at_cents heat)
{
    memset(x, 0, sizeof *x);
    x->m = (rules_member){.key = "p1", .birth = d("1950-01-01"), .flags = RULES_MF_PENSIONER,
                          .disability = {AT_DATE_NONE, AT_DATE_NONE}, .residence_since = AT_DATE_NONE};
    for (int k = 0; k < 3; k++)
        x->in[k] = (rules_income){"p1", "pension", at_date_add_months(d("2021-02-01"), k), 30000};
    x->ex[0] = (rules_expense){"rent", rent};
    x->ex[1] = (rules_expense){"heat", heat};
    x->h = (rules_household){.id = "h1", .members = &x->m, .n_members = 1, .incomes = x->in, .n_incomes = 3,
                             .expenses = x->ex, .n_expenses = 2};
    x->a = (rules_application){.tenant = "town", .submitted = d("2021-05-10"), .decision = d("2021-05-10"),
                               .ask = RULES_ASK_HOUSING, .applicant = "p1", .event = AT_DATE_NONE,
                               .bill_date = AT_DATE_NONE};
    x->st = (rules_status_record){RULES_STATUS_LOW_INCOME, {d("2021-05-01"), d("2021-07-31")}};
    x->hist = (rules_history){.statuses = &x->st, .n_statuses = 1};
}

static void housing_caps_each_expense_at_its_norm(void **state)
{
    (void)state;
    rules_set *s = NULL;
    at_error err;
    assert_int_equal(load_housing(HOUSING_NATIONAL, &s, &err), AT_OK);
    pensioner x;
    rules_result *r = NULL;

    /* heat 80.00 above its norm 60.00: 2.5 x 109.00 + 50.00 + 60.00 - 300.00 = 82.50 */
    single_pensioner(&x, 5000, 8000);
    assert_int_equal(rules_decide(s, &x.h, &x.a, &x.hist, &r, &err), AT_OK);
    assert_int_equal(rules_result_decision(r)->outcome, RULES_GRANTED);
    assert_int_equal(rules_result_decision(r)->amount, 8250);
    assert_int_equal(rules_result_decision(r)->household_type, RULES_HT_SINGLE_PENSIONER_OR_DISABLED);
    rules_result_free(r);

    /* heat 59.99 below the norm counts in full: 272.50 + 50.00 + 59.99 - 300.00 = 82.49 */
    single_pensioner(&x, 5000, 5999);
    assert_int_equal(rules_decide(s, &x.h, &x.a, &x.hist, &r, &err), AT_OK);
    assert_int_equal(rules_result_decision(r)->amount, 8249);
    rules_result_free(r);

    /* a negative expense is an input error, with no result */
    single_pensioner(&x, -1, 5000);
    assert_int_equal(rules_decide(s, &x.h, &x.a, &x.hist, &r, &err), AT_VALIDATION);
    assert_null(r);
    assert_string_equal(err.field, "expenses");

    /* no breakdown: the total counts in full (as before the reform's input was added) */
    single_pensioner(&x, 0, 0);
    x.h.expenses = NULL;
    x.h.n_expenses = 0;
    x.h.housing_expenses = 15000;
    assert_int_equal(rules_decide(s, &x.h, &x.a, &x.hist, &r, &err), AT_OK);
    assert_int_equal(rules_result_decision(r)->amount, 27250 + 15000 - 30000);
    rules_result_free(r);
    rules_set_free(s);
}

static void housing_benefit_is_checked_when_loading(void **state)
{
    (void)state;
    rules_set *s = NULL;
    at_error err;
    char doc[8192];

    /* a housing benefit needs its coefficient */
    snprintf(doc, sizeof doc, "%s", HOUSING_NATIONAL);
    char *k = strstr(doc, "        coefficient_param: housing.coefficient\n");
    assert_non_null(k);
    memmove(k, k + strlen("        coefficient_param: housing.coefficient\n"),
            strlen(k + strlen("        coefficient_param: housing.coefficient\n")) + 1);
    assert_int_equal(load_housing(doc, &s, &err), AT_VALIDATION);
    assert_non_null(strstr(err.message, "missing \"coefficient_param\""));

    /* a norm must be an existing amount parameter */
    snprintf(doc, sizeof doc, "%s", HOUSING_NATIONAL);
    k = strstr(doc, "norm_param: housing.norm.heat");
    assert_non_null(k);
    memcpy(k, "norm_param: housing.norm.gas ", strlen("norm_param: housing.norm.gas "));
    assert_int_equal(load_housing(doc, &s, &err), AT_VALIDATION);
    assert_non_null(strstr(err.message, "housing.norm.gas"));

    /* an expense kind needs its source */
    snprintf(doc, sizeof doc, "%s", HOUSING_NATIONAL);
    k = strstr(doc, "rent: {counted: true, source: \"test\"}");
    assert_non_null(k);
    memcpy(k, "rent: {counted: true}                 ", strlen("rent: {counted: true, source: \"test\"}"));
    assert_int_equal(load_housing(doc, &s, &err), AT_VALIDATION);
    assert_non_null(strstr(err.message, "missing \"source\" in an expense kind"));

    /* the coefficient belongs to a housing benefit only */
    snprintf(doc, sizeof doc, "%s", HOUSING_NATIONAL);
    k = strstr(doc, "kind: housing\n");
    memcpy(k, "kind: gmi    \n", strlen("kind: housing\n"));
    assert_int_equal(load_housing(doc, &s, &err), AT_VALIDATION);
    assert_non_null(strstr(err.message, "coefficient_param and expenses belong to a housing benefit"));
    assert_null(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(classifier_covers_every_household_type),
        cmocka_unit_test(municipal_threshold_at_the_maximum_loads_and_above_it_does_not),
        cmocka_unit_test(housing_caps_each_expense_at_its_norm),
        cmocka_unit_test(housing_benefit_is_checked_when_loading),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
