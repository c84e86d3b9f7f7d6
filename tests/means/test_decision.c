/*
 * test_decision.c -- the decision record of services/means (decision.c) and the rule-set
 * directory loader (ruleset.c), without servers: keys are UUIDs, computed flags are
 * refused, the rules library's errors get AssessApplication's field names, a decision
 * built from a real calculation survives its event's encoding with the same input hash.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "at_uuid.h"
#include "means_core.h"

static void sha256_matches_the_fips_180_2_vectors(void **state)
{
    (void)state;
    char h[65];
    means_sha256_hex("abc", 3, h);
    assert_string_equal(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    means_sha256_hex("", 0, h);
    assert_string_equal(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

/* ---- a small input: one adult applicant asking for needy status in Daugavpils */

typedef struct in_fx {
    char app[37], hh[37], key[37];
    Atb__V1__DecisionInput in;
    Atb__V1__Household h;
    Atb__V1__HouseholdMember m, *mp;
    Atb__V1__MonthlyIncome inc[3], *ip[3];
    Atb__V1__Ask ask;
    Atb__V1__Date on, birth, month[3];
    char *flags[2];
} in_fx;

static void fx_init(in_fx *f)
{
    memset(f, 0, sizeof *f);
    at_uuid_v4(f->app);
    at_uuid_v4(f->hh);
    at_uuid_v4(f->key);
    atb__v1__decision_input__init(&f->in);
    atb__v1__household__init(&f->h);
    atb__v1__household_member__init(&f->m);
    atb__v1__ask__init(&f->ask);
    atb__v1__date__init(&f->on);
    atb__v1__date__init(&f->birth);
    f->on.year = 2018, f->on.month = 3, f->on.day = 15;
    f->birth.year = 1970, f->birth.month = 5, f->birth.day = 5;
    f->flags[0] = "able_to_work";
    f->flags[1] = "registered_unemployed";
    f->m.key = f->key;
    f->m.birth_date = &f->birth;
    f->m.relationship = ATB__V1__RELATIONSHIP__RELATIONSHIP_APPLICANT;
    f->m.flags = f->flags;
    f->m.n_flags = 2;
    f->mp = &f->m;
    f->h.id = f->hh;
    f->h.members = &f->mp;
    f->h.n_members = 1;
    for (int i = 0; i < 3; i++) {
        atb__v1__monthly_income__init(&f->inc[i]);
        atb__v1__date__init(&f->month[i]);
        f->month[i].year = i == 0 ? 2017 : 2018;
        f->month[i].month = i == 0 ? 12 : i;   /* day 0: the month as a whole */
        f->inc[i].member = f->key;
        f->inc[i].type = "wage";
        f->inc[i].month = &f->month[i];
        f->inc[i].amount_cents = 10000;
        f->ip[i] = &f->inc[i];
    }
    f->h.incomes = f->ip;
    f->h.n_incomes = 3;
    f->ask.kind = ATB__V1__ASK_KIND__ASK_KIND_NEEDY_STATUS;
    f->in.tenant = "daugavpils";
    f->in.application_id = f->app;
    f->in.decision_date = &f->on;
    f->in.applicant = f->key;
    f->in.ask_index = 1;
    f->in.ask = &f->ask;
    f->in.household = &f->h;
}

static at_code convert(in_fx *f, at_error *err, decision_rules *dr, at_arena **a)
{
    *a = at_arena_new(4096);
    at_error_clear(err);
    return decision_to_rules(&f->in, "application.asks.0", *a, dr, err);
}

static void input_converts_with_flags_and_whole_months(void **state)
{
    (void)state;
    in_fx f;
    fx_init(&f);
    at_error err;
    decision_rules dr;
    at_arena *a;
    assert_int_equal(convert(&f, &err, &dr, &a), AT_OK);
    assert_int_equal(dr.h.n_members, 1);
    assert_int_equal(dr.h.members[0].flags, RULES_MF_ABLE_TO_WORK | RULES_MF_REGISTERED_UNEMPLOYED);
    assert_int_equal(dr.h.members[0].relationship, RULES_REL_APPLICANT);
    at_date first;
    at_date_from_ymd(2018, 1, 1, &first);
    assert_int_equal(dr.h.incomes[1].month, first);
    assert_int_equal(dr.a.ask, RULES_ASK_NEEDY_STATUS);
    assert_int_equal(dr.a.submitted, AT_DATE_NONE);
    at_arena_free(a);
}

static void personal_code_as_a_key_is_refused(void **state)
{
    (void)state;
    in_fx f;
    fx_init(&f);
    f.m.key = "010170-12345";
    at_error err;
    decision_rules dr;
    at_arena *a;
    assert_int_equal(convert(&f, &err, &dr, &a), AT_VALIDATION);
    assert_string_equal(err.field, "household.members.0.key");
    assert_string_equal(err.message, "member key is not a person key");
    assert_non_null(strstr(err.detail, "never by a personal code"));
    at_arena_free(a);
}

static void computed_and_unknown_flags_are_refused(void **state)
{
    (void)state;
    in_fx f;
    fx_init(&f);
    f.flags[1] = "pension_age";
    at_error err;
    decision_rules dr;
    at_arena *a;
    assert_int_equal(convert(&f, &err, &dr, &a), AT_VALIDATION);
    assert_string_equal(err.field, "household.members.0.flags");
    assert_string_equal(err.message, "member flag \"pension_age\" is computed, not given");
    at_arena_free(a);

    fx_init(&f);
    char *af[1] = {"no_such_fact"};
    f.ask.flags = af;
    f.ask.n_flags = 1;
    assert_int_equal(convert(&f, &err, &dr, &a), AT_VALIDATION);
    assert_string_equal(err.field, "application.asks.0.flags");
    assert_string_equal(err.message, "unknown application flag \"no_such_fact\"");
    at_arena_free(a);

    fx_init(&f);
    f.ask.benefit = "HEATING";   /* a code with a status ask */
    assert_int_equal(convert(&f, &err, &dr, &a), AT_VALIDATION);
    assert_string_equal(err.field, "application.asks.0.benefit");
    at_arena_free(a);
}

static void rules_errors_get_the_fields_of_the_command(void **state)
{
    (void)state;
    static const struct {
        at_code code;
        const char *rules, *path;
    } cases[] = {
        {AT_VALIDATION, "incomes.amount", "household.incomes.amount_cents"},
        {AT_VALIDATION, "incomes.month", "household.incomes.month"},
        {AT_CONFLICT, "members", "household.members"},
        {AT_NOT_FOUND, "benefit", "application.asks.3.benefit"},
        {AT_NOT_FOUND, "decision", "application.decision_date"},
        {AT_UNKNOWN_TENANT, "tenant", "tenant"},
        {AT_VALIDATION, "bill_date", "application.asks.3.bill.issued"},
        {AT_NOT_FOUND, "gmi.level", "application.asks.3"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        at_error err;
        at_error_set(&err, cases[i].code, cases[i].rules, "the message");
        at_error_detail(&err, "The detail.");
        assert_int_equal(decision_rules_error(cases[i].code, "application.asks.3", &err), AT_VALIDATION);
        assert_int_equal(err.code, AT_VALIDATION);
        assert_string_equal(err.field, cases[i].path);
        assert_string_equal(err.message, "the message");
        assert_string_equal(err.detail, "The detail.");
    }
    at_error err;
    at_error_set(&err, AT_INTERNAL, NULL, "out of memory");
    assert_int_equal(decision_rules_error(AT_INTERNAL, "application.asks.0", &err), AT_INTERNAL);
}

static char *slurp(const char *name, size_t *n)
{
    char path[2048];
    snprintf(path, sizeof path, "%s/%s", RULESETS_DIR, name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char *buf = malloc(1 << 20);
    *n = fread(buf, 1, 1 << 20, f);
    fclose(f);
    return buf;
}

static void decision_survives_its_event_with_the_same_input_hash(void **state)
{
    (void)state;
    size_t nn, dn;
    char *nat = slurp("national.yaml", &nn), *dau = slurp("daugavpils.yaml", &dn);
    rules_source src[2] = {{"national.yaml", nat, nn}, {"daugavpils.yaml", dau, dn}};
    rules_set *set = NULL;
    at_error err;
    at_error_clear(&err);
    assert_int_equal(rules_set_load(src, 2, &set, &err), AT_OK);

    in_fx f;
    fx_init(&f);
    decision_rules dr;
    at_arena *a;
    assert_int_equal(convert(&f, &err, &dr, &a), AT_OK);
    rules_result *res = NULL;
    assert_int_equal(rules_decide(set, &dr.h, &dr.a, &dr.hist, &res, &err), AT_OK);
    Atb__V1__RuleSetRef ref = ATB__V1__RULE_SET_REF__INIT;
    ref.scope = "daugavpils";
    ref.version = (char *)rules_set_version(set);
    ref.position = 7;
    Atb__V1__Decision *d = NULL;
    assert_int_equal(decision_build(a, &f.in, res, &ref, &d, &err), AT_OK);
    assert_int_equal(d->n_steps, rules_result_n_steps(res));
    assert_string_equal(d->steps[0]->label_lv, rules_result_step(res, 0)->label_lv);
    rules_result_free(res);   /* the Decision holds copies */
    /* 100.00 a month for one person is below 128.06: needy, three months from 2018-03-15 */
    assert_int_equal(d->result->outcome, ATB__V1__DECISION_OUTCOME__DECISION_OUTCOME_GRANTED);
    assert_string_equal(decision_event_type(d->result), "StatusGranted");
    assert_int_equal(d->result->period_to->month, 6);
    assert_int_equal(d->result->period_to->day, 14);

    size_t len = 0;
    uint8_t *p = decision_pack(a, d, &len);
    assert_non_null(p);
    es_event ev = {.type = "StatusGranted", .payload = p, .payload_len = len};
    at_arena *b = at_arena_new(4096);
    Atb__V1__Decision *back = decision_unpack(b, &ev);
    assert_non_null(back);
    char h[65];
    assert_int_equal(decision_input_hash(back->input, b, h, &err), AT_OK);
    assert_string_equal(h, d->input_sha256);
    assert_string_equal(back->rule_sets[0]->version, rules_set_version(set));
    assert_int_equal(back->rule_sets[0]->position, 7);
    ev.type = "PersonRegistered";
    assert_null(decision_unpack(b, &ev));

    at_arena_free(b);
    at_arena_free(a);
    rules_set_free(set);
    free(nat);
    free(dau);
}

static void event_type_follows_the_ask_and_the_outcome(void **state)
{
    (void)state;
    Atb__V1__DecisionResult r = ATB__V1__DECISION_RESULT__INIT;
    r.ask = ATB__V1__ASK_KIND__ASK_KIND_LOW_INCOME_STATUS;
    r.outcome = ATB__V1__DECISION_OUTCOME__DECISION_OUTCOME_REFUSED;
    assert_string_equal(decision_event_type(&r), "StatusRefused");
    r.ask = ATB__V1__ASK_KIND__ASK_KIND_HOUSING;
    assert_string_equal(decision_event_type(&r), "BenefitRefused");
    r.outcome = ATB__V1__DECISION_OUTCOME__DECISION_OUTCOME_GRANTED;
    assert_string_equal(decision_event_type(&r), "BenefitGranted");
    assert_true(decision_is_event_type("BenefitGranted"));
    assert_false(decision_is_event_type("DecisionOverridden"));
}

static void rule_directory_loads_one_set_per_municipality(void **state)
{
    (void)state;
    ruleset_cache *c = NULL;
    at_error err;
    at_error_clear(&err);
    assert_int_equal(ruleset_cache_open(RULESETS_DIR, &c, &err), AT_OK);
    assert_int_equal(ruleset_cache_count(c), 3);
    assert_string_equal(ruleset_cache_scope(c, 0), "daugavpils");
    assert_string_equal(ruleset_cache_scope(c, 1), "kandava");
    assert_string_equal(ruleset_cache_scope(c, 2), "tervete");
    ruleset_info info;
    assert_false(ruleset_cache_get(c, "daugavpils", &info));   /* not published yet */
    ruleset_cache_free(c);

    assert_int_equal(ruleset_cache_open(RULESETS_DIR "/no-such-dir", &c, &err), AT_NOT_FOUND);
    assert_null(c);
    assert_string_equal(err.field, "rulesets");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sha256_matches_the_fips_180_2_vectors),
        cmocka_unit_test(input_converts_with_flags_and_whole_months),
        cmocka_unit_test(personal_code_as_a_key_is_refused),
        cmocka_unit_test(computed_and_unknown_flags_are_refused),
        cmocka_unit_test(rules_errors_get_the_fields_of_the_command),
        cmocka_unit_test(decision_survives_its_event_with_the_same_input_hash),
        cmocka_unit_test(event_type_follows_the_ask_and_the_outcome),
        cmocka_unit_test(rule_directory_loads_one_set_per_municipality),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
