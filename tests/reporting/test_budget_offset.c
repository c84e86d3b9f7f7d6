/*
 * test_budget_offset.c -- recovery claims collected by offset, as the budget report shows
 * them (services/reporting/budget.c, BudgetExecutionReport's recovered_by_offset_cents),
 * from the events the real atbalsts-payments appends.
 *
 * Payments runs as a child process on a fresh database (tests/payments' harness): GMI of
 * 100.00 a month for January to March 2041 is paid, the decision is corrected to 50.00 from
 * 15 February (a claim of 50.00), a new GMI of 100.00 a month for April to June follows.
 * April's batch keeps back 20.00 and is paid; May's keeps back 20.00 and the bank rejects
 * it, then it is sent again and paid. Reporting's payments projection is played over that
 * log with the consumer's own handler (as `atbalsts report rebuild` does) and the report
 * asked with the service's own query handler: for April and May, recovered by offset is
 * 20.00 after April, still 20.00 after May's rejection, 40.00 once May is paid; rebuilt
 * from nothing, the projection is md5-identical.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "at_buf.h"
#include "at_uuid.h"
#include "payhelp.h"
#include "reporting.h"
#include "atb/v1/reporting.pb-c.h"

static ph P;

#define WAIT 20000

static void lv_iban(const char *bank, const char *account, char out[32])
{
    char bban[18], digits[64];
    snprintf(bban, sizeof bban, "%s%s", bank, account);
    size_t k = 0;
    const char *parts[2] = {bban, "LV00"};
    for (int p = 0; p < 2; p++)
        for (const char *c = parts[p]; *c; c++)
            k += (size_t)(*c >= 'A' ? snprintf(digits + k, 3, "%d", *c - 'A' + 10) : snprintf(digits + k, 2, "%c", *c));
    int mod = 0;
    for (size_t i = 0; i < k; i++)
        mod = (mod * 10 + (digits[i] - '0')) % 97;
    snprintf(out, 32, "LV%02d%s", 98 - mod, bban);
}

static int64_t q(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int64_t q(const char *fmt, ...)
{
    char sql[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof sql, fmt, ap);
    va_end(ap);
    return ph_sql(&P, sql);
}

/* A batch of what is due by `due`; its id into batch[37]. */
static void batch_of(const char *due, int64_t want_sum, char batch[37])
{
    Atb__V1__CommandMeta meta;
    char id[37];
    ph_meta(&meta, id);
    Atb__V1__Date d;
    ph_date(&d, due);
    Atb__V1__CreateBatch c = ATB__V1__CREATE_BATCH__INIT;
    c.meta = &meta;
    c.due = &d;
    Atb__V1__BatchReply *b = ph_batch(&P, "CreateBatch", &c.base);
    if (b->error && b->error->code)
        fail_msg("CreateBatch: %s", b->error->message);
    assert_int_equal(b->control_sum_cents, want_sum);
    snprintf(batch, 37, "%s", b->batch_id);
    atb__v1__batch_reply__free_unpacked(b, NULL);
    size_t len;
    int code;
    free(ph_export(&P, batch, &len, NULL, &code));   /* sent to the bank */
}

/* The bank's answer for every order of the batch: all paid, or (reject) all rejected AC04. */
static void bank_answers(const char *batch, const char *report, bool reject)
{
    Atb__V1__CommandMeta meta;
    char id[37], order[40] = "";
    ph_meta(&meta, id);
    Atb__V1__ImportConfirmation c = ATB__V1__IMPORT_CONFIRMATION__INIT;
    c.meta = &meta;
    c.batch_id = (char *)batch;
    c.report_id = (char *)report;
    Atb__V1__OrderResult o = ATB__V1__ORDER_RESULT__INIT, *op[1] = {&o};
    if (reject) {
        char sql[200];
        snprintf(sql, sizeof sql, "SELECT order_id FROM payments.orders WHERE batch_id = '%s'", batch);
        sh_sql_text(&P.sv, sql, order, sizeof order);
        o.end_to_end_id = order;
        o.rejected = true;
        o.reason = "AC04";
        c.results = op;
        c.n_results = 1;
    }
    Atb__V1__BatchReply *b = ph_batch(&P, "ImportConfirmation", &c.base);
    if (b->error && b->error->code)
        fail_msg("ImportConfirmation: %s", b->error->message);
    atb__v1__batch_reply__free_unpacked(b, NULL);
}

/* Reporting's payments projection played over the whole log, one event to a transaction
 * with the checkpoint, as the consumer does (an event played twice changes nothing). */
static void project(void)
{
    static const char *const cats[] = {"paygrant", "paybatch", "paycash"};
    es_filter f = {.categories = cats, .n_categories = 3};
    es_batch *b = NULL;
    at_error err;
    assert_int_equal(es_read_all(P.es, 0, 10000, &f, &b, &err), ES_OK);
    for (size_t i = 0; i < es_batch_count(b); i++) {
        const es_event *ev = es_batch_get(b, i);
        es_txn *t = NULL;
        assert_int_equal(es_txn_begin(P.es, &t, &err), ES_OK);
        if (payments_project(NULL, t, ev, &err) != AT_OK)
            fail_msg("position %lld: %s: %s", (long long)ev->position, err.message, err.detail);
        assert_int_equal(es_txn_checkpoint_set(t, PAYMENTS_CONSUMER, ev->position, &err), ES_OK);
        assert_int_equal(es_txn_commit(t, &err), ES_OK);
    }
    es_batch_free(b);
}

/* April and May 2041, the tenant's total line: scheduled, paid, orders, recovered, net,
 * recovered by offset (cents). */
static void april_and_may(char *out, size_t n)
{
    Atb__V1__Date from, to;
    ph_date(&from, "2041-04-01");
    ph_date(&to, "2041-05-31");
    const char *tenants[1] = {PH_TENANT};
    Atb__V1__BudgetExecutionReport q = ATB__V1__BUDGET_EXECUTION_REPORT__INIT;
    q.tenants = (char **)tenants;
    q.n_tenants = 1;
    q.from = &from;
    q.to = &to;
    at_arena *a = at_arena_new(64 * 1024);
    assert_non_null(a);
    svc_request req = {.es = P.es, .tenant = PH_TENANT, .name = "BudgetExecutionReport", .msg = &q.base,
                       .arena = a};
    ProtobufCMessage *reply = NULL;
    at_error err;
    if (budget_report(&req, &reply, &err) != AT_OK)
        fail_msg("BudgetExecutionReport: %s: %s", err.message, err.detail);
    const Atb__V1__BudgetExecutionReply *r = (const Atb__V1__BudgetExecutionReply *)reply;
    snprintf(out, n, "no total line");
    for (size_t i = 0; i < r->n_lines; i++) {
        const Atb__V1__BudgetFigures *b = r->lines[i];
        if (b->tenant[0])
            continue;
        snprintf(out, n, "%lld %lld %lld %lld %lld %lld", (long long)b->scheduled_cents, (long long)b->paid_cents,
                 (long long)b->paid_orders, (long long)b->recovered_cents, (long long)b->net_cents,
                 (long long)b->recovered_by_offset_cents);
    }
    at_arena_free(a);
}

static void a_claim_collected_by_later_payments_is_recovered_by_offset(void **state)
{
    (void)state;
    char app[37], app2[37], person[37], iban[32], batch[37], text[128];
    at_uuid_v4(app);
    at_uuid_v4(app2);
    at_uuid_v4(person);
    lv_iban("HABA", "0000000000901", iban);
    atb__v1__command_reply__free_unpacked(ph_set_payee(&P, person, ATB__V1__PAYEE_KIND__PAYEE_KIND_PERSON,
                                                       "Valdis Ozoliņš", iban, NULL), NULL);
    ph_grant(&P, app, 2, person, "GMI", 10000, ATB__V1__AMOUNT_PER__AMOUNT_PER_MONTH,
             ATB__V1__PAYMENT_FORM__PAYMENT_FORM_ACCOUNT, "2041-01-01", "2041-03-31", "2041-01-01");
    assert_int_equal(ph_wait_sql(&P, 3, WAIT, "SELECT count(*) FROM payments.orders"), 3);
    batch_of("2041-03-01", 30000, batch);
    bank_answers(batch, "R-2041-03", false);
    ph_override(&P, app, 2, "GMI", 5000, ATB__V1__AMOUNT_PER__AMOUNT_PER_MONTH, "2041-01-01", "2041-03-31",
                "2041-02-15");
    assert_int_equal(ph_wait_sql(&P, 5000, WAIT, "SELECT coalesce(sum(amount_cents), 0) FROM payments.recoveries"),
                     5000);
    ph_grant(&P, app2, 2, person, "GMI", 10000, ATB__V1__AMOUNT_PER__AMOUNT_PER_MONTH,
             ATB__V1__PAYMENT_FORM__PAYMENT_FORM_ACCOUNT, "2041-04-01", "2041-06-30", "2041-03-20");
    assert_int_equal(ph_wait_sql(&P, 6, WAIT, "SELECT count(*) FROM payments.orders"), 6);

    batch_of("2041-04-01", 8000, batch);
    bank_answers(batch, "R-2041-04", false);
    project();
    april_and_may(text, sizeof text);
    /* scheduled: April and May; paid: April 100.00, of which 20.00 kept back for the claim
     * (raised today, not in 2041: recovered 0) */
    assert_string_equal(text, "20000 10000 1 0 10000 2000");

    batch_of("2041-05-01", 8000, batch);
    bank_answers(batch, "R-2041-05-rejected", true);
    project();
    april_and_may(text, sizeof text);
    assert_string_equal(text, "20000 10000 1 0 10000 2000");   /* kept back, but not paid */

    /* the account corrected, May is sent again with the same offset and paid */
    lv_iban("UNLA", "0000000000902", iban);
    atb__v1__command_reply__free_unpacked(ph_set_payee(&P, person, ATB__V1__PAYEE_KIND__PAYEE_KIND_PERSON,
                                                       "Valdis Ozoliņš", iban, NULL), NULL);
    batch_of("2041-05-01", 8000, batch);
    bank_answers(batch, "R-2041-05", false);
    project();
    april_and_may(text, sizeof text);
    assert_string_equal(text, "20000 20000 2 0 20000 4000");
    assert_int_equal(q("SELECT count(*) FROM reporting.recovery_collections"), 2);

    /* rebuilt from nothing: the same rows */
    char before[512], after[512];
    int64_t pos_before, pos_after;
    size_t k = 0;
    while (strcmp(rep_projection_name(k), "payments") != 0)
        k++;
    at_error err;
    assert_int_equal(rep_projection_digest(P.es, k, before, sizeof before, &pos_before, &err), AT_OK);
    q("DELETE FROM reporting.payment_orders; DELETE FROM reporting.payment_batches; "
      "DELETE FROM reporting.recoveries; DELETE FROM reporting.recovery_collections; "
      "DELETE FROM atb.checkpoints WHERE consumer = '" PAYMENTS_CONSUMER "'");
    assert_int_equal(q("SELECT count(*) FROM reporting.recovery_collections"), 0);
    project();
    assert_int_equal(rep_projection_digest(P.es, k, after, sizeof after, &pos_after, &err), AT_OK);
    assert_string_equal(after, before);
    assert_int_equal(pos_after, pos_before);
}

static int setup(void **state)
{
    (void)state;
    t_require_servers(1);
    ph_prepare(&P);
    if (!ph_start(&P, NULL))
        fail_msg("atbalsts-payments did not start");
    char debtor[37], iban[32];
    at_uuid_v4(debtor);
    lv_iban("PARX", "0000000000001", iban);
    Atb__V1__CommandReply *r = ph_set_payee(&P, debtor, ATB__V1__PAYEE_KIND__PAYEE_KIND_DEBTOR,
                                            "Daugavpils pilsētas Sociālais dienests", iban, NULL);
    assert_true(!r->error || r->error->code == 0);
    atb__v1__command_reply__free_unpacked(r, NULL);
    /* reporting's tables in the same database, as libs/service migrates them (the log's
     * migrations, run by the harness, made the schema) */
    for (size_t i = 0; i < reporting_n_migrations; i++) {
        size_t n = strlen(reporting_migrations[i]) + 96;
        char *sql = malloc(n);
        assert_non_null(sql);
        snprintf(sql, n, "BEGIN; SET LOCAL search_path TO reporting; %s COMMIT", reporting_migrations[i]);
        ph_sql(&P, sql);
        free(sql);
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return ph_cleanup(&P) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_claim_collected_by_later_payments_is_recovered_by_offset),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
