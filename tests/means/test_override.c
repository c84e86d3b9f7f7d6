/*
 * test_override.c -- OverrideDecision through the atbalsts-means binary (services/means/
 * override.c): a commission's decision is recorded with who decided, on what document and
 * why, after the decision it replaces; it needs the stream version the decider saw; the
 * replay still proves the calculation; and a later decision of the household reads the
 * overridden status from the log.
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
#include "meanshelp.h"

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

/* A commission grants needy status from 2018-03-20 to 2018-06-19. */
typedef struct ovr {
    char command_id[37];
    Atb__V1__OverrideDecision cmd;
    Atb__V1__CommandMeta meta;
    Atb__V1__DecisionResult result;
    Atb__V1__Date on, from, to;
} ovr;

static void ovr_init(ovr *o, const char *application_id, int64_t expected_version)
{
    memset(o, 0, sizeof *o);
    at_uuid_v4(o->command_id);
    atb__v1__override_decision__init(&o->cmd);
    atb__v1__command_meta__init(&o->meta);
    atb__v1__decision_result__init(&o->result);
    atb__v1__date__init(&o->on);
    atb__v1__date__init(&o->from);
    atb__v1__date__init(&o->to);
    o->meta.command_id = o->command_id;
    o->meta.actor = "user:anna.commission";
    o->meta.expected_version = expected_version;
    o->cmd.meta = &o->meta;
    o->cmd.application_id = (char *)application_id;
    o->cmd.ask_index = 1;
    o->cmd.kind = ATB__V1__OVERRIDE_KIND__OVERRIDE_KIND_COMMISSION;
    o->cmd.decided_by = "commission:social-assistance";
    o->cmd.reference = "protocol No. 7 of 2018-03-20";
    o->cmd.reason = "crisis: the family's home burnt down on 2018-03-17";
    o->on.year = 2018, o->on.month = 3, o->on.day = 20;
    o->cmd.decided_on = &o->on;
    o->result.outcome = ATB__V1__DECISION_OUTCOME__DECISION_OUTCOME_GRANTED;
    o->result.status = ATB__V1__MEANS_STATUS__MEANS_STATUS_NEEDY;
    o->from = o->on;
    o->to.year = 2018, o->to.month = 6, o->to.day = 19;
    o->result.period_from = &o->from;
    o->result.period_to = &o->to;
    o->cmd.result = &o->result;
}

/* A family with 600.00 a month: 200.00 per member is above 128.06, status refused. */
static void refused_family(mh_family *f)
{
    mh_family_init(f, 2018, 3, 15, 60000);
    Atb__V1__AssessReply *r = mh_assess(&M, "daugavpils", &f->cmd);
    assert_true(r->error == NULL || r->error->code == 0);
    assert_int_equal(r->n_decisions, 2);
    assert_string_equal(r->decisions[0]->event_type, "StatusRefused");
    assert_string_equal(r->decisions[0]->result->reasons[0]->code, "income_above_threshold");
    assert_string_equal(r->decisions[1]->event_type, "BenefitRefused");
    atb__v1__assess_reply__free_unpacked(r, NULL);
}

static void override_without_expected_version_is_refused(void **state)
{
    (void)state;
    mh_family f;
    refused_family(&f);
    ovr o;
    ovr_init(&o, f.app_id, 0);
    Atb__V1__CommandReply *r = mh_override(&M, "daugavpils", &o.cmd);
    assert_non_null(r->error);
    assert_int_equal(r->error->code, ATB__V1__ERROR_CODE__VALIDATION);
    assert_string_equal(r->error->field, "meta.expected_version");
    assert_string_equal(r->error->message, "expected_version is required");
    atb__v1__command_reply__free_unpacked(r, NULL);

    ovr_init(&o, f.app_id, 1);   /* the decider saw one event; there are two */
    r = mh_override(&M, "daugavpils", &o.cmd);
    assert_non_null(r->error);
    assert_int_equal(r->error->code, ATB__V1__ERROR_CODE__CONFLICT);
    assert_string_equal(r->error->message, "the decision changed since version 1");
    atb__v1__command_reply__free_unpacked(r, NULL);

    ovr_init(&o, f.app_id, 2);
    o.cmd.reason = "";
    r = mh_override(&M, "daugavpils", &o.cmd);
    assert_int_equal(r->error->code, ATB__V1__ERROR_CODE__VALIDATION);
    assert_string_equal(r->error->field, "reason");
    atb__v1__command_reply__free_unpacked(r, NULL);

    ovr_init(&o, f.app_id, 2);
    o.result.amount_cents = 100;   /* a status has no amount */
    o.result.has_amount = true;
    r = mh_override(&M, "daugavpils", &o.cmd);
    assert_int_equal(r->error->code, ATB__V1__ERROR_CODE__VALIDATION);
    assert_string_equal(r->error->field, "result.has_amount");
    atb__v1__command_reply__free_unpacked(r, NULL);

    char sql[160];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM atb.events WHERE stream_id = 'decision-%s'", f.app_id);
    assert_int_equal(sh_sql(&M.sv, sql), 2);
}

static void override_is_recorded_with_who_and_why_and_later_decisions_use_it(void **state)
{
    (void)state;
    mh_family f;
    refused_family(&f);
    ovr o;
    ovr_init(&o, f.app_id, 2);
    Atb__V1__CommandReply *r = mh_override(&M, "daugavpils", &o.cmd);
    if (r->error && r->error->code)
        fail_msg("%s: %s (%s)", r->error->field, r->error->message, r->error->detail);
    assert_int_equal(r->version, 3);
    int64_t pos = r->first_position;
    atb__v1__command_reply__free_unpacked(r, NULL);
    /* the same command again: the first result, no second event */
    r = mh_override(&M, "daugavpils", &o.cmd);
    assert_true(r->duplicate);
    assert_int_equal(r->first_position, pos);
    atb__v1__command_reply__free_unpacked(r, NULL);

    char sql[256];
    snprintf(sql, sizeof sql, "SELECT payload FROM atb.events WHERE stream_id = 'decision-%s' AND version = 3 "
                              "AND type = 'DecisionOverridden' AND actor = 'user:anna.commission'", f.app_id);
    size_t len = 0;
    uint8_t *p = mh_sql_bytes(&M, sql, &len);
    assert_non_null(p);
    Atb__V1__DecisionOverridden *ev = atb__v1__decision_overridden__unpack(NULL, len, p);
    free(p);
    assert_non_null(ev);
    assert_string_equal(ev->decided_by, "commission:social-assistance");
    assert_string_equal(ev->reason, "crisis: the family's home burnt down on 2018-03-17");
    assert_string_equal(ev->reference, "protocol No. 7 of 2018-03-20");
    assert_string_equal(ev->actor, "user:anna.commission");
    assert_int_equal(ev->kind, ATB__V1__OVERRIDE_KIND__OVERRIDE_KIND_COMMISSION);
    assert_int_equal(ev->previous->outcome, ATB__V1__DECISION_OUTCOME__DECISION_OUTCOME_REFUSED);
    assert_int_equal(ev->result->outcome, ATB__V1__DECISION_OUTCOME__DECISION_OUTCOME_GRANTED);
    assert_int_equal(ev->result->ask, ATB__V1__ASK_KIND__ASK_KIND_NEEDY_STATUS);
    snprintf(sql, sizeof sql, "SELECT position FROM atb.events WHERE stream_id = 'decision-%s' AND version = 1",
             f.app_id);
    assert_int_equal(ev->overridden_position, sh_sql(&M.sv, sql));
    atb__v1__decision_overridden__free_unpacked(ev, NULL);

    /* explained with the override; the calculation still replays */
    Atb__V1__ExplainReply *e = mh_explain(&M, "daugavpils", f.app_id);
    assert_int_equal(e->version, 3);
    assert_int_equal(e->n_overrides, 1);
    assert_non_null(strstr(e->text, "Overridden"));
    assert_non_null(strstr(e->text, "home burnt down"));
    atb__v1__explain_reply__free_unpacked(e, NULL);
    Atb__V1__ReplayReply *rp = mh_replay(&M, "daugavpils", f.app_id);
    assert_true(rp->proven);
    assert_true(rp->decisions[0]->overridden);
    assert_false(rp->decisions[1]->overridden);
    atb__v1__replay_reply__free_unpacked(rp, NULL);

    /* In April the household, its income down to 50.00 after the fire, asks for GMI only:
     * the needy status comes from the log (the commission's), 3 x 53.00 - 50.00 = 109.00. */
    mh_family g;
    mh_family_init(&g, 2018, 4, 10, 5000);
    snprintf(g.household, sizeof g.household, "%s", f.household);
    for (int i = 0; i < 3; i++)
        snprintf(g.key[i], sizeof g.key[i], "%s", f.key[i]);
    g.ap[0] = &g.ask[1];
    g.app.n_asks = 1;
    Atb__V1__AssessReply *a = mh_assess(&M, "daugavpils", &g.cmd);
    if (a->error && a->error->code)
        fail_msg("%s: %s (%s)", a->error->field, a->error->message, a->error->detail);
    assert_string_equal(a->decisions[0]->event_type, "BenefitGranted");
    assert_int_equal(a->decisions[0]->result->amount_cents, 10900);
    assert_int_equal(a->decisions[0]->result->period_to->month, 6);
    assert_int_equal(a->decisions[0]->result->period_to->day, 19);
    atb__v1__assess_reply__free_unpacked(a, NULL);
    Atb__V1__ExplainReply *x = mh_explain(&M, "daugavpils", g.app_id);
    const Atb__V1__HouseholdHistory *h = x->decisions[0]->decision->input->history;
    assert_int_equal(h->n_statuses, 1);
    char src[96];
    snprintf(src, sizeof src, "decision-%s/1", f.app_id);
    assert_string_equal(h->statuses[0]->source, src);
    atb__v1__explain_reply__free_unpacked(x, NULL);
}

int main(void)
{
    t_require_servers(1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(override_without_expected_version_is_refused),
        cmocka_unit_test(override_is_recorded_with_who_and_why_and_later_decisions_use_it),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
