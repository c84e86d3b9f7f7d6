/*
 * budget.c -- the payments projection (payments' events) and BudgetExecutionReport: budget
 * execution by EKK code and funding source (docs/reporting.md, "BudgetExecutionReport").
 *
 * One consumer ("reporting-payments") reads the categories paygrant, paybatch and paycash,
 * so it sees them in log order: a batch is created before it is confirmed, an order
 * scheduled before it is batched.
 *
 * reporting.payment_orders: one row per order (PaymentsScheduled), cancelled_position once
 * PaymentsCancelled names it, paid_on and paid_position once paid: a BatchConfirmed that
 * lists it as paid (on its batch's execution date, as payments' own BudgetExecution counts)
 * or a CashPaid (on its date). reporting.payment_batches: each batch's execution date.
 * reporting.recoveries: one row per RecoveryClaimed, on the date it occurred.
 * reporting.recovery_collections: one row per RecoveryCollected (claim and order), with the
 * claim's EKK code and funding; it counts as recovered when its order is paid, so an order
 * the bank rejects or that is cancelled recovers nothing (docs/payments.md: the order
 * keeps back once, and a cancelled order's offset is released).
 *
 * Invariants as decisions.c: written in the consumer's transaction, every row carries the
 * position of the event that changed it, an event projected twice changes nothing.
 */
#include "reporting.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "at_date.h"
#include "at_time.h"
#include "atb/v1/payments.pb-c.h"
#include "atb/v1/reporting.pb-c.h"

/* The ids as a PostgreSQL array literal, malloc'd; NULL when out of memory. Order ids are
 * UUIDs, but quote each anyway so that no id can split into two. */
static char *ids_array(char **ids, size_t n)
{
    size_t cap = 3;
    for (size_t i = 0; i < n; i++)
        cap += 2 * strlen(ids[i]) + 3;
    char *out = malloc(cap), *p = out;
    if (!out)
        return NULL;
    *p++ = '{';
    for (size_t i = 0; i < n; i++) {
        if (i)
            *p++ = ',';
        *p++ = '"';
        for (const char *k = ids[i]; *k; k++) {
            if (*k == '"' || *k == '\\')
                *p++ = '\\';
            *p++ = *k;
        }
        *p++ = '"';
    }
    *p++ = '}';
    *p = 0;
    return out;
}

static at_code project_scheduled(es_txn *txn, const es_event *ev, at_error *err)
{
    Atb__V1__PaymentsScheduled *m = atb__v1__payments_scheduled__unpack(NULL, ev->payload_len, ev->payload);
    if (!m)
        return rep_malformed(ev, "Its payload does not decode.", err);
    at_code code = AT_OK;
    char pos[24];
    snprintf(pos, sizeof pos, "%lld", (long long)ev->position);
    for (size_t i = 0; code == AT_OK && i < m->n_orders; i++) {
        const Atb__V1__PaymentOrder *o = m->orders[i];
        char funding[16], amount[24], due[16];
        if (!o->order_id[0]) {
            code = rep_malformed(ev, "An order has no order_id.", err);
            break;
        }
        snprintf(funding, sizeof funding, "%d", (int)o->funding);
        snprintf(amount, sizeof amount, "%lld", (long long)o->amount_cents);
        const char *p[8] = {o->order_id, ev->tenant, m->grant, o->budget_code, funding, amount,
                            rep_date_text(o->due, due), pos};
        code = rep_exec(txn, ev, "reporting.payment_orders",
                        "INSERT INTO reporting.payment_orders (order_id, tenant, grant_id, budget_code, funding, "
                        "amount_cents, due, position) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) "
                        "ON CONFLICT (order_id) DO NOTHING",
                        8, p, err);
    }
    atb__v1__payments_scheduled__free_unpacked(m, NULL);
    return code;
}

static at_code project_cancelled(es_txn *txn, const es_event *ev, at_error *err)
{
    Atb__V1__PaymentsCancelled *m = atb__v1__payments_cancelled__unpack(NULL, ev->payload_len, ev->payload);
    if (!m)
        return rep_malformed(ev, "Its payload does not decode.", err);
    char *ids = ids_array(m->order_ids, m->n_order_ids), pos[24];
    snprintf(pos, sizeof pos, "%lld", (long long)ev->position);
    const char *p[2] = {ids, pos};
    at_code code = ids ? rep_exec(txn, ev, "reporting.payment_orders",
                                  "UPDATE reporting.payment_orders SET cancelled_position = $2 "
                                  "WHERE order_id = ANY($1::text[]) AND cancelled_position IS NULL",
                                  2, p, err)
                       : at_error_set(err, AT_UNAVAILABLE, NULL, "could not project a cancellation: out of memory");
    free(ids);
    atb__v1__payments_cancelled__free_unpacked(m, NULL);
    return code;
}

static at_code project_recovery(es_txn *txn, const es_event *ev, at_error *err)
{
    Atb__V1__RecoveryClaimed *m = atb__v1__recovery_claimed__unpack(NULL, ev->payload_len, ev->payload);
    if (!m || !m->claim_id[0]) {
        if (m)
            atb__v1__recovery_claimed__free_unpacked(m, NULL);
        return rep_malformed(ev, m ? "Its claim_id is empty." : "Its payload does not decode.", err);
    }
    char funding[16], amount[24], on[16], pos[24];
    snprintf(funding, sizeof funding, "%d", (int)m->funding);
    snprintf(amount, sizeof amount, "%lld", (long long)m->amount_cents);
    at_date_format(at_date_of_us(ev->occurred_at_us), on, sizeof on);
    snprintf(pos, sizeof pos, "%lld", (long long)ev->position);
    const char *p[7] = {m->claim_id, ev->tenant, m->budget_code, funding, amount, on, pos};
    at_code code = rep_exec(txn, ev, "reporting.recoveries",
                            "INSERT INTO reporting.recoveries (claim_id, tenant, budget_code, funding, amount_cents, "
                            "recorded_on, position) VALUES ($1, $2, $3, $4, $5, $6, $7) "
                            "ON CONFLICT (claim_id) DO NOTHING",
                            7, p, err);
    atb__v1__recovery_claimed__free_unpacked(m, NULL);
    return code;
}

static at_code project_collected(es_txn *txn, const es_event *ev, at_error *err)
{
    Atb__V1__RecoveryCollected *m = atb__v1__recovery_collected__unpack(NULL, ev->payload_len, ev->payload);
    if (!m || !m->claim_id[0] || !m->order_id[0]) {
        if (m)
            atb__v1__recovery_collected__free_unpacked(m, NULL);
        return rep_malformed(ev, m ? "Its claim_id or order_id is empty." : "Its payload does not decode.", err);
    }
    char funding[16], amount[24], pos[24];
    snprintf(funding, sizeof funding, "%d", (int)m->funding);
    snprintf(amount, sizeof amount, "%lld", (long long)m->amount_cents);
    snprintf(pos, sizeof pos, "%lld", (long long)ev->position);
    const char *p[8] = {m->claim_id, m->order_id, ev->tenant, m->batch_id, m->budget_code, funding, amount, pos};
    at_code code = rep_exec(txn, ev, "reporting.recovery_collections",
                            "INSERT INTO reporting.recovery_collections (claim_id, order_id, tenant, batch_id, "
                            "budget_code, funding, amount_cents, position) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) "
                            "ON CONFLICT (claim_id, order_id) DO NOTHING",
                            8, p, err);
    atb__v1__recovery_collected__free_unpacked(m, NULL);
    return code;
}

static at_code project_batch(es_txn *txn, const es_event *ev, at_error *err)
{
    Atb__V1__BatchCreated *m = atb__v1__batch_created__unpack(NULL, ev->payload_len, ev->payload);
    char exec[16], pos[24];
    if (!m || !m->batch_id[0] || !rep_date_text(m->execution_date, exec)) {
        if (m)
            atb__v1__batch_created__free_unpacked(m, NULL);
        return rep_malformed(ev, m ? "Its batch_id or execution_date is empty." : "Its payload does not decode.",
                             err);
    }
    snprintf(pos, sizeof pos, "%lld", (long long)ev->position);
    const char *p[4] = {m->batch_id, ev->tenant, exec, pos};
    at_code code = rep_exec(txn, ev, "reporting.payment_batches",
                            "INSERT INTO reporting.payment_batches (batch_id, tenant, execution_date, position) "
                            "VALUES ($1, $2, $3, $4) ON CONFLICT (batch_id) DO NOTHING",
                            4, p, err);
    atb__v1__batch_created__free_unpacked(m, NULL);
    return code;
}

static at_code project_confirmed(es_txn *txn, const es_event *ev, at_error *err)
{
    Atb__V1__BatchConfirmed *m = atb__v1__batch_confirmed__unpack(NULL, ev->payload_len, ev->payload);
    if (!m)
        return rep_malformed(ev, "Its payload does not decode.", err);
    char *ids = ids_array(m->paid, m->n_paid), pos[24];
    snprintf(pos, sizeof pos, "%lld", (long long)ev->position);
    const char *p[3] = {ids, m->batch_id, pos};
    at_code code = ids ? rep_exec(txn, ev, "reporting.payment_orders",
                                  "UPDATE reporting.payment_orders SET paid_position = $3, paid_on = "
                                  "(SELECT execution_date FROM reporting.payment_batches WHERE batch_id = $2) "
                                  "WHERE order_id = ANY($1::text[]) AND paid_position IS NULL",
                                  3, p, err)
                       : at_error_set(err, AT_UNAVAILABLE, NULL, "could not project a confirmation: out of memory");
    free(ids);
    atb__v1__batch_confirmed__free_unpacked(m, NULL);
    return code;
}

static at_code project_cash(es_txn *txn, const es_event *ev, at_error *err)
{
    Atb__V1__CashPaid *m = atb__v1__cash_paid__unpack(NULL, ev->payload_len, ev->payload);
    char on[16], pos[24];
    if (!m || !m->order_id[0] || !rep_date_text(m->paid_on, on)) {
        if (m)
            atb__v1__cash_paid__free_unpacked(m, NULL);
        return rep_malformed(ev, m ? "Its order_id or paid_on is empty." : "Its payload does not decode.", err);
    }
    snprintf(pos, sizeof pos, "%lld", (long long)ev->position);
    const char *p[3] = {m->order_id, on, pos};
    at_code code = rep_exec(txn, ev, "reporting.payment_orders",
                            "UPDATE reporting.payment_orders SET paid_on = $2, paid_position = $3 "
                            "WHERE order_id = $1 AND paid_position IS NULL",
                            3, p, err);
    atb__v1__cash_paid__free_unpacked(m, NULL);
    return code;
}

at_code payments_project(void *ctx, es_txn *txn, const es_event *ev, at_error *err)
{
    (void)ctx;
    if (strcmp(ev->type, "PaymentsScheduled") == 0)
        return project_scheduled(txn, ev, err);
    if (strcmp(ev->type, "PaymentsCancelled") == 0)
        return project_cancelled(txn, ev, err);
    if (strcmp(ev->type, "RecoveryClaimed") == 0)
        return project_recovery(txn, ev, err);
    if (strcmp(ev->type, "BatchCreated") == 0)
        return project_batch(txn, ev, err);
    if (strcmp(ev->type, "RecoveryCollected") == 0)
        return project_collected(txn, ev, err);
    if (strcmp(ev->type, "BatchConfirmed") == 0)
        return project_confirmed(txn, ev, err);
    if (strcmp(ev->type, "CashPaid") == 0)
        return project_cash(txn, ev, err);
    return AT_OK;   /* BatchExported changes no figure of this projection */
}

/* ---- BudgetExecutionReport ---- */

/* Per (tenant, EKK code, funding): orders due in the period and not cancelled, orders paid
 * in it, recovery claims recorded in it, and what the orders paid in it kept back for
 * claims (on the claim's code and funding); all as known at position $4. */
static const char SQL_BUDGET[] =
    "WITH o AS (SELECT tenant, budget_code, funding, amount_cents, "
    "    CASE WHEN due BETWEEN $2::date AND $3::date AND coalesce(cancelled_position > $4, true) "
    "      THEN amount_cents ELSE 0 END AS scheduled, "
    "    CASE WHEN paid_position <= $4 AND paid_on BETWEEN $2::date AND $3::date THEN 1 ELSE 0 END AS paid "
    "  FROM reporting.payment_orders WHERE tenant = ANY($1::text[]) AND position <= $4), "
    "l AS (SELECT tenant, budget_code, funding, scheduled, amount_cents * paid AS paid_cents, paid, 0::bigint AS rec, "
    "    0::bigint AS col "
    "  FROM o WHERE scheduled > 0 OR paid = 1 "
    "  UNION ALL SELECT tenant, budget_code, funding, 0, 0, 0, amount_cents, 0 FROM reporting.recoveries "
    "  WHERE tenant = ANY($1::text[]) AND position <= $4 AND recorded_on BETWEEN $2::date AND $3::date "
    "  UNION ALL SELECT c.tenant, c.budget_code, c.funding, 0, 0, 0, 0, c.amount_cents "
    "  FROM reporting.recovery_collections c JOIN reporting.payment_orders p ON p.order_id = c.order_id "
    "  WHERE c.tenant = ANY($1::text[]) AND c.position <= $4 AND p.paid_position <= $4 "
    "    AND p.paid_on BETWEEN $2::date AND $3::date AND coalesce(p.cancelled_position > $4, true)) "
    "SELECT GROUPING(tenant), tenant, budget_code, funding, sum(scheduled)::bigint, sum(paid_cents)::bigint, "
    "  sum(paid)::bigint, sum(rec)::bigint, sum(col)::bigint "
    "FROM l GROUP BY GROUPING SETS ((tenant, budget_code, funding), (budget_code, funding)) "
    "ORDER BY GROUPING(tenant), tenant, budget_code, funding";

at_code budget_report(svc_request *req, ProtobufCMessage **reply, at_error *err)
{
    const Atb__V1__BudgetExecutionReport *q = (const Atb__V1__BudgetExecutionReport *)req->msg;
    char f[16], t[16], cut[24];
    rep_tenants tn;
    at_code code;
    if ((code = rep_period_check("BudgetExecutionReport", q->from, q->to, f, t, err)) != AT_OK ||
        (code = rep_tenants_check(q->tenants, q->n_tenants, req->tenant, &tn, err)) != AT_OK)
        return code;
    Atb__V1__BudgetExecutionReply *rep = at_arena_alloc(req->arena, sizeof *rep);
    char *tenants = rep_tenants_array(&tn, req->arena);
    if (!rep || !tenants)
        return at_error_set(err, AT_INTERNAL, NULL, "could not build the reply: out of memory");
    atb__v1__budget_execution_reply__init(rep);
    es_txn *tx = NULL;
    if ((code = rep_snapshot_begin(req->es, &tx, err)) != AT_OK)
        return code;
    int64_t cutoff;
    PGresult *r = NULL, *pos = NULL;
    code = rep_cutoff(tx, q->as_known_on, q->as_of_position, &cutoff, cut, err);
    const char *p[4] = {tenants, f, t, cut};
    if (code == AT_OK &&
        (!(r = rep_query(tx, SQL_BUDGET, 4, p, err)) ||
         !(pos = rep_query(tx, "SELECT coalesce((SELECT position FROM atb.checkpoints WHERE consumer = '"
                               PAYMENTS_CONSUMER "'), 0)", 0, NULL, err))))
        code = AT_UNAVAILABLE;
    int n = r ? PQntuples(r) : 0;
    if (code == AT_OK) {
        rep->lines = at_arena_alloc(req->arena, (size_t)(n ? n : 1) * sizeof *rep->lines);
        Atb__V1__BudgetFigures *b = at_arena_alloc(req->arena, (size_t)(n ? n : 1) * sizeof *b);
        if (!rep->lines || !b)
            code = at_error_set(err, AT_INTERNAL, NULL, "could not build the reply: out of memory");
        for (int i = 0; code == AT_OK && i < n; i++) {
            atb__v1__budget_figures__init(&b[i]);
            b[i].tenant = at_arena_strdup(req->arena, rep_num(r, i, 0) == 1 ? "" : PQgetvalue(r, i, 1));
            b[i].budget_code = at_arena_strdup(req->arena, PQgetvalue(r, i, 2));
            if (!b[i].tenant || !b[i].budget_code)
                code = at_error_set(err, AT_INTERNAL, NULL, "could not build the reply: out of memory");
            b[i].funding = (Atb__V1__FundingSource)rep_num(r, i, 3);
            b[i].scheduled_cents = rep_num(r, i, 4);
            b[i].paid_cents = rep_num(r, i, 5);
            b[i].paid_orders = rep_num(r, i, 6);
            b[i].recovered_cents = rep_num(r, i, 7);
            b[i].net_cents = b[i].paid_cents - b[i].recovered_cents;
            /* not in net: the claim it settles is in recovered_cents already */
            b[i].recovered_by_offset_cents = rep_num(r, i, 8);
            rep->lines[rep->n_lines++] = &b[i];
        }
    }
    if (code == AT_OK) {
        rep->payments_position = rep_num(pos, 0, 0);
        rep->as_of_position = cutoff == INT64_MAX ? 0 : cutoff;
        *reply = &rep->base;
    }
    PQclear(r);
    PQclear(pos);
    es_txn_rollback(tx);
    return code;
}
