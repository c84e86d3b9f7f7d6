/*
 * test_assess.c -- AssessApplication through the atbalsts-means binary (services/means/
 * assess.c, ruleset.c, decision.c) against real PostgreSQL and NATS: the decision events
 * land in the log with their explanation, input and rule-set version; a command is
 * decided once; bad input is refused naming the field and appends nothing; a member of a
 * household holding a status cannot be assessed in another household; the rule set is
 * published once.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "at_uuid.h"
#include "meanshelp.h"
#include "means_core.h"

static mh M;

static int setup(void **state)
{
    (void)state;
    mh_prepare(&M);
    mh_start(&M, NULL);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    mh_cleanup(&M);
    return 0;
}

static int64_t count(const char *fmt, const char *arg)
{
    char sql[512];
    snprintf(sql, sizeof sql, fmt, arg);
    return sh_sql(&M.sv, sql);
}

static void assert_ok(const Atb__V1__AssessReply *r)
{
    if (r->error && r->error->code)
        fail_msg("error %d %s: %s (%s)", r->error->code, r->error->field, r->error->message, r->error->detail);
}

static void daugavpils_needy_family_gets_status_and_gmi_with_explanation_and_rule_set_version(void **state)
{
    (void)state;
    mh_family f;
    /* document 004 (seeds 7.1 case 2): 3 x 53.00 - 100.00 = 59.00 a month in 2018 */
    mh_family_init(&f, 2018, 3, 15, 10000);
    Atb__V1__AssessReply *r = mh_assess(&M, "daugavpils", &f.cmd);
    assert_ok(r);
    assert_false(r->duplicate);
    assert_int_equal(r->version, 2);
    assert_int_equal(r->n_decisions, 2);
    char stream[64];
    snprintf(stream, sizeof stream, "decision-%s", f.app_id);
    assert_string_equal(r->stream_id, stream);

    Atb__V1__DecisionSummary *s = r->decisions[0];
    assert_string_equal(s->event_type, "StatusGranted");
    assert_int_equal(s->result->status, ATB__V1__MEANS_STATUS__MEANS_STATUS_NEEDY);
    assert_int_equal(s->result->period_from->year, 2018);
    assert_int_equal(s->result->period_from->month, 3);
    assert_int_equal(s->result->period_from->day, 15);
    assert_int_equal(s->result->period_to->month, 6);
    assert_int_equal(s->result->period_to->day, 14);
    s = r->decisions[1];
    assert_string_equal(s->event_type, "BenefitGranted");
    assert_string_equal(s->result->benefit, "GMI");
    assert_true(s->result->has_amount);
    assert_int_equal(s->result->amount_cents, 5900);
    assert_int_equal(s->result->per, ATB__V1__AMOUNT_PER__AMOUNT_PER_MONTH);
    assert_int_equal(s->result->payment, ATB__V1__PAYMENT_FORM__PAYMENT_FORM_CASH_OR_ACCOUNT);
    assert_int_equal(s->result->period_to->day, 14);
    assert_int_equal(s->n_rule_set_versions, 1);
    char version[65];
    snprintf(version, sizeof version, "%s", s->rule_set_versions[0]);
    assert_int_equal(strlen(version), 64);

    /* the log: two decision events in one append, by the command's actor */
    assert_int_equal(count("SELECT count(*) FROM atb.events WHERE stream_id = 'decision-%s'", f.app_id), 2);
    assert_int_equal(count("SELECT count(*) FROM atb.events WHERE stream_id = 'decision-%s' AND actor = "
                           "'user:ilze.test'", f.app_id), 2);
    assert_int_equal(count("SELECT last_position - first_position FROM atb.commands WHERE command_id = '%s'",
                           f.command_id), 1);
    /* the rule set the decisions name is published, once, on ruleset-daugavpils */
    assert_int_equal(sh_sql(&M.sv, "SELECT count(*) FROM atb.events WHERE stream_id = 'ruleset-daugavpils'"), 1);
    size_t len = 0;
    uint8_t *p = mh_sql_bytes(&M, "SELECT payload FROM atb.events WHERE stream_id = 'ruleset-daugavpils'", &len);
    Atb__V1__RuleSetPublished *rs = atb__v1__rule_set_published__unpack(NULL, len, p);
    assert_non_null(rs);
    assert_string_equal(rs->version, version);
    assert_string_equal(rs->scope, "daugavpils");
    assert_int_equal(rs->n_sources, 2);
    assert_string_equal(rs->sources[0]->name, "national.yaml");
    assert_string_equal(rs->sources[1]->name, "daugavpils.yaml");
    char h[65];
    means_sha256_hex(rs->canonical.data, rs->canonical.len, h);
    assert_string_equal(h, version);
    assert_int_equal(rs->valid_from->year, 2016);   /* daugavpils.yaml in force 2016-2020 */
    assert_int_equal(rs->valid_to->year, 2020);
    atb__v1__rule_set_published__free_unpacked(rs, NULL);
    free(p);

    /* the GMI event carries its whole input, its hash, the explanation with sources */
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT payload FROM atb.events WHERE stream_id = 'decision-%s' AND version = 2",
             f.app_id);
    p = mh_sql_bytes(&M, sql, &len);
    Atb__V1__BenefitGranted *bg = atb__v1__benefit_granted__unpack(NULL, len, p);
    assert_non_null(bg);
    Atb__V1__Decision *d = bg->decision;
    assert_string_equal(d->application_id, f.app_id);
    assert_int_equal(d->ask_index, 2);
    assert_string_equal(d->rule_sets[0]->version, version);
    assert_string_equal(d->rule_sets[0]->scope, "daugavpils");
    assert_int_equal(d->input->household->n_members, 3);
    assert_string_equal(d->input->household->members[0]->key, f.key[0]);
    assert_int_equal(d->input->household->n_incomes, 3);
    /* the status granted by ask 1 is the GMI's history, and says where it came from */
    assert_int_equal(d->input->history->n_statuses, 1);
    char src[96];
    snprintf(src, sizeof src, "decision-%s/1", f.app_id);
    assert_string_equal(d->input->history->statuses[0]->source, src);
    size_t n = atb__v1__decision_input__get_packed_size(d->input);
    uint8_t *ib = malloc(n);
    atb__v1__decision_input__pack(d->input, ib);
    means_sha256_hex(ib, n, h);
    free(ib);
    assert_string_equal(d->input_sha256, h);
    assert_true(d->n_steps >= 3);
    bool gmi_read = false;
    for (size_t i = 0; i < d->n_steps; i++) {
        assert_true(strlen(d->steps[i]->label_lv) > 0);
        assert_true(strlen(d->steps[i]->label_en) > 0);
        for (size_t j = 0; j < d->steps[i]->n_reads; j++) {
            assert_true(strlen(d->steps[i]->reads[j]->source) > 0);
            if (strcmp(d->steps[i]->reads[j]->name, "gmi.level") == 0) {
                gmi_read = true;
                assert_string_equal(d->steps[i]->reads[j]->value, "53.00 per person");
                assert_string_equal(d->steps[i]->reads[j]->scope, "national");
            }
        }
    }
    assert_true(gmi_read);
    atb__v1__benefit_granted__free_unpacked(bg, NULL);
    free(p);
    atb__v1__assess_reply__free_unpacked(r, NULL);
}

static void same_command_twice_yields_one_decision(void **state)
{
    (void)state;
    mh_family f;
    mh_family_init(&f, 2018, 3, 15, 10000);
    Atb__V1__AssessReply *a = mh_assess(&M, "daugavpils", &f.cmd);
    assert_ok(a);
    Atb__V1__AssessReply *b = mh_assess(&M, "daugavpils", &f.cmd);
    assert_ok(b);
    assert_false(a->duplicate);
    assert_true(b->duplicate);
    assert_int_equal(b->first_position, a->first_position);
    assert_int_equal(b->last_position, a->last_position);
    assert_int_equal(b->version, a->version);
    assert_int_equal(b->n_decisions, 2);
    assert_int_equal(b->decisions[1]->result->amount_cents, 5900);
    assert_string_equal(b->decisions[1]->input_sha256, a->decisions[1]->input_sha256);
    assert_int_equal(count("SELECT count(*) FROM atb.events WHERE stream_id = 'decision-%s'", f.app_id), 2);
    assert_int_equal(count("SELECT count(*) FROM means.grants WHERE application_id = '%s'", f.app_id), 2);
    atb__v1__assess_reply__free_unpacked(a, NULL);
    atb__v1__assess_reply__free_unpacked(b, NULL);

    /* the same application under another command: a conflict, nothing appended */
    at_uuid_v4(f.command_id);
    Atb__V1__AssessReply *c = mh_assess(&M, "daugavpils", &f.cmd);
    assert_non_null(c->error);
    assert_int_equal(c->error->code, ATB__V1__ERROR_CODE__CONFLICT);
    assert_string_equal(c->error->field, "application.id");
    char msg[128];
    snprintf(msg, sizeof msg, "application %s is already decided", f.app_id);
    assert_string_equal(c->error->message, msg);
    atb__v1__assess_reply__free_unpacked(c, NULL);
    assert_int_equal(count("SELECT count(*) FROM atb.events WHERE stream_id = 'decision-%s'", f.app_id), 2);
}

typedef struct twin {
    const Atb__V1__AssessApplication *cmd;
    Atb__V1__AssessReply *reply;
} twin;

static void *send_twin(void *p)
{
    twin *t = p;
    char subject[160];
    snprintf(subject, sizeof subject, "%s.cmd.daugavpils.means.AssessApplication", M.sv.prefix);
    natsMsg *m = NULL;
    if (bus_request(M.client, subject, &t->cmd->base, 30000, &m, NULL) == AT_OK) {
        t->reply = atb__v1__assess_reply__unpack(NULL, (size_t)natsMsg_GetDataLength(m),
                                                 (const uint8_t *)natsMsg_GetData(m));
        natsMsg_Destroy(m);
    }
    return NULL;
}

static void concurrent_twins_of_one_command_yield_one_decision(void **state)
{
    (void)state;
    mh_family f;
    mh_family_init(&f, 2018, 3, 15, 10000);
    enum { N = 8 };
    twin t[N];
    pthread_t th[N];
    for (int i = 0; i < N; i++) {
        t[i] = (twin){.cmd = &f.cmd};
        pthread_create(&th[i], NULL, send_twin, &t[i]);
    }
    for (int i = 0; i < N; i++)
        pthread_join(th[i], NULL);
    int firsts = 0;
    for (int i = 0; i < N; i++) {
        assert_non_null(t[i].reply);
        assert_ok(t[i].reply);
        firsts += !t[i].reply->duplicate;
        assert_int_equal(t[i].reply->first_position, t[0].reply->first_position);
        assert_int_equal(t[i].reply->n_decisions, 2);
        assert_int_equal(t[i].reply->decisions[1]->result->amount_cents, 5900);
        assert_string_equal(t[i].reply->decisions[1]->input_sha256, t[0].reply->decisions[1]->input_sha256);
    }
    assert_int_equal(firsts, 1);
    for (int i = 0; i < N; i++)
        atb__v1__assess_reply__free_unpacked(t[i].reply, NULL);
    assert_int_equal(count("SELECT count(*) FROM atb.events WHERE stream_id = 'decision-%s'", f.app_id), 2);
    assert_int_equal(count("SELECT count(*) FROM means.grants WHERE application_id = '%s'", f.app_id), 2);
    assert_int_equal(count("SELECT count(*) FROM means.members WHERE application_id = '%s'", f.app_id), 3);
}

/* One bad input: the reply is VALIDATION with this field and message, and the log is as
 * it was. */
static void expect_refused(mh_family *f, const char *tenant, const char *field, const char *message)
{
    int64_t before = sh_sql(&M.sv, "SELECT count(*) FROM atb.events");
    int64_t grants = sh_sql(&M.sv, "SELECT count(*) FROM means.grants");
    at_uuid_v4(f->command_id);
    Atb__V1__AssessReply *r = mh_assess(&M, tenant, &f->cmd);
    assert_non_null(r->error);
    if (r->error->code != ATB__V1__ERROR_CODE__VALIDATION || strcmp(r->error->field, field) != 0 ||
        strcmp(r->error->message, message) != 0)
        fail_msg("expected VALIDATION %s \"%s\", got %d %s \"%s\" (%s)", field, message, r->error->code,
                 r->error->field, r->error->message, r->error->detail);
    assert_int_equal(r->n_decisions, 0);
    atb__v1__assess_reply__free_unpacked(r, NULL);
    assert_int_equal(sh_sql(&M.sv, "SELECT count(*) FROM atb.events"), before);
    assert_int_equal(sh_sql(&M.sv, "SELECT count(*) FROM means.grants"), grants);
}

static void bad_inputs_are_refused_naming_the_field_and_append_nothing(void **state)
{
    (void)state;
    mh_family f;
    char msg[160];
    /* make sure the rule sets are published, so "nothing appended" is about the decision */
    mh_family_init(&f, 2018, 3, 15, 10000);
    Atb__V1__AssessReply *r = mh_assess(&M, "daugavpils", &f.cmd);
    assert_ok(r);
    atb__v1__assess_reply__free_unpacked(r, NULL);

    mh_family_init(&f, 2018, 3, 15, 10000);
    f.inc[1].amount_cents = -1;
    snprintf(msg, sizeof msg, "negative income for member %s", f.key[0]);
    expect_refused(&f, "daugavpils", "household.incomes.amount_cents", msg);

    mh_family_init(&f, 2018, 3, 15, 10000);
    f.month[2].month = 3;    /* March 2018 is the month of the application, not before it */
    expect_refused(&f, "daugavpils", "household.incomes.month", "income month outside the window");

    mh_family_init(&f, 2018, 3, 15, 10000);
    f.ask[1].kind = ATB__V1__ASK_KIND__ASK_KIND_BENEFIT;
    f.ask[1].benefit = "NO_SUCH_BENEFIT";
    expect_refused(&f, "daugavpils", "application.asks.1.benefit", "unknown benefit code \"NO_SUCH_BENEFIT\"");

    mh_family_init(&f, 2021, 3, 15, 10000);
    expect_refused(&f, "daugavpils", "application.decision_date", "no rule set in force for daugavpils on 2021-03-15");

    mh_family_init(&f, 2018, 3, 15, 10000);
    expect_refused(&f, "kuldiga", "application.decision_date", "no rule set in force for kuldiga on 2018-03-15");

    mh_family_init(&f, 2018, 3, 15, 10000);
    f.m[2].key = f.key[1];   /* the spouse listed twice */
    snprintf(msg, sizeof msg, "member %s is listed twice in the household", f.key[1]);
    expect_refused(&f, "daugavpils", "household.members", msg);

    mh_family_init(&f, 2018, 3, 15, 10000);
    f.m[1].key = "111111-11111";   /* a personal code is never a key */
    f.m[1].flags = NULL;
    f.m[1].n_flags = 0;
    expect_refused(&f, "daugavpils", "household.members.1.key", "member key is not a person key");

    mh_family_init(&f, 2018, 3, 15, 10000);
    char *computed[1] = {"child"};
    f.m[2].flags = computed;
    f.m[2].n_flags = 1;
    expect_refused(&f, "daugavpils", "household.members.2.flags", "member flag \"child\" is computed, not given");

    mh_family_init(&f, 2018, 3, 15, 10000);
    f.inc[0].type = "lottery";
    expect_refused(&f, "daugavpils", "household.incomes.type", "unknown income type \"lottery\"");

    /* a member in two households, stated by the command's history */
    mh_family_init(&f, 2018, 3, 15, 10000);
    Atb__V1__HouseholdHistory h = ATB__V1__HOUSEHOLD_HISTORY__INIT;
    Atb__V1__MembershipFact ms = ATB__V1__MEMBERSHIP_FACT__INIT, *msp = &ms;
    Atb__V1__Date from = ATB__V1__DATE__INIT;
    char other[37];
    at_uuid_v4(other);
    from.year = 2018, from.month = 1, from.day = 1;
    ms.member = f.key[1];
    ms.household = other;
    ms.from = &from;
    h.memberships = &msp;
    h.n_memberships = 1;
    f.cmd.history = &h;
    snprintf(msg, sizeof msg, "member %s belongs to two households", f.key[1]);
    expect_refused(&f, "daugavpils", "household.members", msg);
}

static void member_of_a_household_holding_a_status_is_refused_in_another(void **state)
{
    (void)state;
    mh_family a;
    mh_family_init(&a, 2018, 3, 15, 10000);
    Atb__V1__AssessReply *r = mh_assess(&M, "daugavpils", &a.cmd);
    assert_ok(r);
    assert_string_equal(r->decisions[0]->event_type, "StatusGranted");
    atb__v1__assess_reply__free_unpacked(r, NULL);

    /* A month later the spouse applies in a household of her own: the log says she is in
     * the first one until 2018-06-14. */
    mh_family b;
    mh_family_init(&b, 2018, 4, 16, 5000);
    snprintf(b.key[1], sizeof b.key[1], "%s", a.key[1]);
    char msg[160];
    snprintf(msg, sizeof msg, "member %s belongs to two households", a.key[1]);
    int64_t before = sh_sql(&M.sv, "SELECT count(*) FROM atb.events");
    Atb__V1__AssessReply *x = mh_assess(&M, "daugavpils", &b.cmd);
    assert_non_null(x->error);
    assert_int_equal(x->error->code, ATB__V1__ERROR_CODE__VALIDATION);
    assert_string_equal(x->error->field, "household.members");
    assert_string_equal(x->error->message, msg);
    assert_non_null(strstr(x->error->detail, a.household));
    atb__v1__assess_reply__free_unpacked(x, NULL);
    assert_int_equal(sh_sql(&M.sv, "SELECT count(*) FROM atb.events"), before);

    /* after the status period she may be assessed in the new household */
    mh_family_init(&b, 2018, 7, 2, 5000);
    snprintf(b.key[1], sizeof b.key[1], "%s", a.key[1]);
    x = mh_assess(&M, "daugavpils", &b.cmd);
    assert_ok(x);
    atb__v1__assess_reply__free_unpacked(x, NULL);
}

static void rule_set_is_published_once_across_restarts(void **state)
{
    (void)state;
    mh_family f;
    mh_family_init(&f, 2018, 3, 15, 10000);
    Atb__V1__AssessReply *r = mh_assess(&M, "daugavpils", &f.cmd);
    assert_ok(r);
    atb__v1__assess_reply__free_unpacked(r, NULL);
    int64_t sets = sh_sql(&M.sv, "SELECT count(*) FROM atb.events WHERE type = 'RuleSetPublished'");
    assert_int_equal(sets, 3);   /* daugavpils, kandava, tervete */
    assert_int_equal(mh_stop(&M), 0);
    mh_start(&M, NULL);
    mh_family_init(&f, 2018, 3, 15, 10000);
    r = mh_assess(&M, "kandava", &f.cmd);
    /* Kandava's rule set starts in 2020: a 2018 decision there has no rule set */
    assert_non_null(r->error);
    assert_string_equal(r->error->message, "no rule set in force for kandava on 2018-03-15");
    atb__v1__assess_reply__free_unpacked(r, NULL);
    mh_family_init(&f, 2018, 3, 15, 10000);
    r = mh_assess(&M, "daugavpils", &f.cmd);
    assert_ok(r);
    atb__v1__assess_reply__free_unpacked(r, NULL);
    assert_int_equal(sh_sql(&M.sv, "SELECT count(*) FROM atb.events WHERE type = 'RuleSetPublished'"), sets);
}

static void explain_returns_the_recorded_explanation(void **state)
{
    (void)state;
    mh_family f;
    mh_family_init(&f, 2018, 3, 15, 10000);
    Atb__V1__AssessReply *r = mh_assess(&M, "daugavpils", &f.cmd);
    assert_ok(r);
    atb__v1__assess_reply__free_unpacked(r, NULL);
    Atb__V1__ExplainReply *e = mh_explain(&M, "daugavpils", f.app_id);
    assert_true(e->error == NULL || e->error->code == 0);
    assert_int_equal(e->version, 2);
    assert_int_equal(e->n_decisions, 2);
    assert_string_equal(e->decisions[0]->event_type, "StatusGranted");
    assert_string_equal(e->decisions[0]->actor, "user:ilze.test");
    assert_int_equal(e->decisions[1]->decision->result->amount_cents, 5900);
    assert_non_null(strstr(e->text, "Household composition"));
    assert_non_null(strstr(e->text, "gmi.level = 53.00"));
    assert_non_null(strstr(e->text, "59.00 EUR"));
    if (getenv("MEANS_SHOW"))
        fprintf(stderr, "%s\n", e->text);
    atb__v1__explain_reply__free_unpacked(e, NULL);

    /* another municipality does not see it */
    e = mh_explain(&M, "tervete", f.app_id);
    assert_non_null(e->error);
    assert_int_equal(e->error->code, ATB__V1__ERROR_CODE__NOT_FOUND);
    atb__v1__explain_reply__free_unpacked(e, NULL);
}

int main(void)
{
    t_require_servers(1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(daugavpils_needy_family_gets_status_and_gmi_with_explanation_and_rule_set_version),
        cmocka_unit_test(same_command_twice_yields_one_decision),
        cmocka_unit_test(concurrent_twins_of_one_command_yield_one_decision),
        cmocka_unit_test(bad_inputs_are_refused_naming_the_field_and_append_nothing),
        cmocka_unit_test(member_of_a_household_holding_a_status_is_refused_in_another),
        cmocka_unit_test(rule_set_is_published_once_across_restarts),
        cmocka_unit_test(explain_returns_the_recorded_explanation),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
