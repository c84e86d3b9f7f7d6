/*
 * test_payments_means.c -- the whole chain with the real means service: a needy household
 * assessed by atbalsts-means (AssessApplication), its GMI paid monthly by
 * atbalsts-payments over the status period, the first and last months pro rata, then
 * revoked by a commission (OverrideDecision) in the middle of the period: the months not
 * begun are stopped.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "at_uuid.h"
#include "meanshelp.h"
#include "payhelp.h"

static ph P;
static sh_service means;

static int setup(void **state)
{
    (void)state;
    t_require_servers(1);
    ph_prepare(&P);
    means = P.sv;
    means.exe = TEST_MEANS_PATH;
    means.pid = 0;
    means.http_port = sh_free_port();
    t_db_conninfo(&P.sv.db, "atb_means", means.pg_url, sizeof means.pg_url);
    const char *env[] = {"ATB_RULESETS=" TEST_RULESETS_DIR, "ATB_MAX_MSG=262144", "ATB_LOG_LEVEL=warn", NULL};
    sh_start(&means, NULL, env, NULL, -1);
    if (!sh_wait_healthy(&means, 30000))
        fail_msg("atbalsts-means did not start");
    if (!ph_start(&P, NULL))
        fail_msg("atbalsts-payments did not start");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (means.pid > 0) {
        kill(means.pid, SIGTERM);
        if (sh_wait_exit(means.pid, 30000) < 0)
            sh_kill(&means);
    }
    /* a clean drain (exit 0; under ASan also no leak) */
    return ph_cleanup(&P) == 0 ? 0 : -1;
}

static natsMsg *means_request(const char *name, const ProtobufCMessage *m)
{
    char subject[256];
    snprintf(subject, sizeof subject, "%s.cmd.%s.means.%s", P.sv.prefix, PH_TENANT, name);
    natsMsg *reply = NULL;
    at_error err;
    for (int i = 0; i < 50 && !reply; i++)
        if (bus_request(P.client, subject, m, 20000, &reply, &err) != AT_OK)
            reply = NULL;
    assert_non_null(reply);
    return reply;
}

static void needy_household_gmi_paid_monthly_and_stopped_when_revoked(void **state)
{
    (void)state;
    mh_family f;
    /* document 004: 3 x 53.00 - 100.00 = 59.00 a month, status 2018-03-15 .. 2018-06-14 */
    mh_family_init(&f, 2018, 3, 15, 10000);
    natsMsg *m = means_request("AssessApplication", &f.cmd.base);
    Atb__V1__AssessReply *ar = atb__v1__assess_reply__unpack(NULL, (size_t)natsMsg_GetDataLength(m),
                                                            (const uint8_t *)natsMsg_GetData(m));
    natsMsg_Destroy(m);
    assert_non_null(ar);
    assert_true(!ar->error || ar->error->code == 0);
    assert_int_equal(ar->n_decisions, 2);
    assert_int_equal(ar->decisions[1]->result->amount_cents, 5900);
    atb__v1__assess_reply__free_unpacked(ar, NULL);

    char sql[512];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM payments.orders WHERE grant_key = '%s/2'", f.app_id);
    assert_int_equal(ph_wait_sql(&P, 4, 30000, sql), 4);
    /* 17/31 of March, April, May, 14/30 of June; the applicant is the payee */
    snprintf(sql, sizeof sql,
             "SELECT string_agg(amount_cents::text, ',' ORDER BY slot_from) FROM payments.orders WHERE grant_key = "
             "'%s/2' AND person = '%s' AND payee = '%s'", f.app_id, f.key[0], f.key[0]);
    char amounts[128];
    sh_sql_text(&P.sv, sql, amounts, sizeof amounts);
    assert_string_equal(amounts, "3235,5900,5900,2753");
    /* the status itself is no money */
    snprintf(sql, sizeof sql, "SELECT count(*) FROM payments.grants WHERE grant_key = '%s/1'", f.app_id);
    assert_int_equal(sh_sql(&P.sv, sql), 0);

    /* the account, and a batch of what is due by 1 April */
    Atb__V1__CommandReply *r = ph_set_payee(&P, f.key[0], ATB__V1__PAYEE_KIND__PAYEE_KIND_PERSON, "Jānis Ozols",
                                            "LV80BANK0000435195001", NULL);
    atb__v1__command_reply__free_unpacked(r, NULL);
    r = ph_set_payee(&P, "00000000-0000-4000-8000-000000000001", ATB__V1__PAYEE_KIND__PAYEE_KIND_DEBTOR,
                     "Daugavpils pilsētas Sociālais dienests", "DE89370400440532013000", NULL);
    atb__v1__command_reply__free_unpacked(r, NULL);
    Atb__V1__CommandMeta meta;
    char id[37];
    ph_meta(&meta, id);
    Atb__V1__Date due;
    ph_date(&due, "2018-04-01");
    Atb__V1__CreateBatch cb = ATB__V1__CREATE_BATCH__INIT;
    cb.meta = &meta;
    cb.due = &due;
    Atb__V1__BatchReply *b = ph_batch(&P, "CreateBatch", &cb.base);
    assert_true(!b->error || b->error->code == 0);
    assert_int_equal(b->count, 2);
    assert_int_equal(b->control_sum_cents, 9135);
    atb__v1__batch_reply__free_unpacked(b, NULL);

    /* a commission revokes the GMI on 20 April: May and June stop */
    Atb__V1__CommandMeta om;
    char oid[37];
    ph_meta(&om, oid);
    om.expected_version = 2;
    Atb__V1__DecisionResult res = ATB__V1__DECISION_RESULT__INIT;
    res.outcome = ATB__V1__DECISION_OUTCOME__DECISION_OUTCOME_REFUSED;
    res.ask = ATB__V1__ASK_KIND__ASK_KIND_GMI;
    res.benefit = "GMI";
    Atb__V1__Date on;
    ph_date(&on, "2018-04-20");
    Atb__V1__OverrideDecision od = ATB__V1__OVERRIDE_DECISION__INIT;
    od.meta = &om;
    od.application_id = f.app_id;
    od.ask_index = 2;
    od.kind = ATB__V1__OVERRIDE_KIND__OVERRIDE_KIND_COMMISSION;
    od.decided_by = "commission:social-assistance";
    od.reference = "Nr. 18/4-20";
    od.reason = "the household did not co-operate";
    od.decided_on = &on;
    od.result = &res;
    m = means_request("OverrideDecision", &od.base);
    Atb__V1__CommandReply *cr = atb__v1__command_reply__unpack(NULL, (size_t)natsMsg_GetDataLength(m),
                                                              (const uint8_t *)natsMsg_GetData(m));
    natsMsg_Destroy(m);
    assert_non_null(cr);
    if (cr->error && cr->error->code)
        fail_msg("override: %s %s", cr->error->message, cr->error->detail);
    atb__v1__command_reply__free_unpacked(cr, NULL);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM payments.orders WHERE grant_key = '%s/2' AND status = 'cancelled'",
             f.app_id);
    assert_int_equal(ph_wait_sql(&P, 2, 30000, sql), 2);
    snprintf(sql, sizeof sql, "SELECT granted_cents FROM payments.grants WHERE grant_key = '%s/2'", f.app_id);
    assert_int_equal(sh_sql(&P.sv, sql), 9135);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM payments.orders WHERE grant_key = '%s/2' AND status = 'batched'",
             f.app_id);
    assert_int_equal(sh_sql(&P.sv, sql), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(needy_household_gmi_paid_monthly_and_stopped_when_revoked),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
