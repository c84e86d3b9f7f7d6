/*
 * offset.c -- recovery claims collected from later payments: when a batch is made, part of
 * each order is kept back for the open claims against the same payee under the same
 * benefit (docs/payments.md, "Collecting recovery claims").
 *
 * The order stays owed in full: its amount_cents is what the grant pays, so the ledger
 * (orders - claims <= granted, per grant) does not move. What changes is where the money
 * goes: offset_cents of it settles the claims (payments.collections, one row per claim and
 * order, and a RecoveryCollected event each) and amount - offset is sent to the bank.
 * At most the share in payments.offset_share of each order is kept back, so the household
 * always receives the rest. An order keeps back once: re-batched after the bank rejected
 * it, it is sent with the same offset. The schema's deferred trigger refuses a commit
 * where a claim is collected beyond its amount or an order's offset differs from its
 * collections.
 */
#include "payments.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct claim {
    const char *id, *payee, *benefit, *grant, *budget_code, *funding;
    at_cents balance;
} claim;

/* The open claims of the tenant, oldest first, with what is left of each. The caller
 * holds the tenant's collection lock, so the balances stay true until it commits. */
static at_code open_claims(es_txn *t, const char *tenant, PGresult **out, at_error *err)
{
    const char *p[1] = {tenant};
    at_code c = pay_sql(t, "SELECT pg_advisory_xact_lock(hashtext('payments.collect.' || $1))", 1, p, NULL, err);
    if (c != AT_OK)
        return c;
    return pay_sql(t,
                   "SELECT * FROM (SELECT r.claim_id, g.payee, g.benefit, r.amount_cents - coalesce((SELECT "
                   "sum(c.amount_cents) FROM payments.collections c JOIN payments.orders o USING (order_id) WHERE "
                   "c.claim_id = r.claim_id AND o.status <> 'cancelled'), 0) AS balance, r.grant_key, "
                   "r.budget_code, r.funding, r.claimed_on FROM payments.recoveries r JOIN payments.grants g USING "
                   "(grant_key) WHERE r.tenant = $1 AND g.payee IS NOT NULL) x WHERE balance > 0 "
                   "ORDER BY claimed_on, claim_id",
                   1, p, out, err);
}

/* The share of an order of `benefit` that may be kept back, in percent. */
static at_code share_of(es_txn *t, const char *tenant, const char *benefit, int *pct, at_error *err)
{
    const char *p[2] = {tenant, benefit};
    PGresult *r;
    at_code c = pay_sql(t,
                        "SELECT percent FROM payments.offset_share WHERE tenant IN ($1, '*') AND benefit IN ($2, '*') "
                        "ORDER BY benefit = '*', tenant = '*' LIMIT 1",
                        2, p, &r, err);
    if (c != AT_OK)
        return c;
    *pct = PQntuples(r) ? atoi(PQgetvalue(r, 0, 0)) : 0;
    PQclear(r);
    return AT_OK;
}

static at_code record(es_txn *t, const claim *cl, const char *order_id, const char *batch_id, at_date on,
                      at_cents take, at_arena *a, Atb__V1__RecoveryCollected **out, at_error *err)
{
    char amt[24], d[11];
    snprintf(amt, sizeof amt, "%lld", (long long)take);
    const char *p[5] = {cl->id, order_id, batch_id, amt, pay_date_sql(on, d)};
    at_code c = pay_sql(t,
                        "INSERT INTO payments.collections (claim_id, order_id, batch_id, amount_cents, collected_on) "
                        "VALUES ($1, $2, $3, $4, $5)",
                        5, p, NULL, err);
    if (c != AT_OK)
        return c;
    Atb__V1__RecoveryCollected *m = at_arena_alloc(a, sizeof *m);
    if (!m)
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    atb__v1__recovery_collected__init(m);
    m->claim_id = at_arena_strdup(a, cl->id);
    m->order_id = at_arena_strdup(a, order_id);
    m->batch_id = (char *)batch_id;
    m->amount_cents = take;
    m->balance_cents = cl->balance;
    m->grant = at_arena_strdup(a, cl->grant);
    m->collected_on = svc_date_out(a, on);
    m->budget_code = at_arena_strdup(a, cl->budget_code);
    m->funding = pay_funding_of(cl->funding);
    *out = m;
    if (!m->claim_id || !m->order_id || !m->grant || !m->budget_code)
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    return AT_OK;
}

at_code offset_collect(es_txn *t, const char *tenant, const char *batch_id, at_date on, pay_batch_order *orders,
                       size_t n, at_arena *a, Atb__V1__RecoveryCollected ***evs, size_t *n_evs, at_error *err)
{
    *n_evs = 0;
    *evs = NULL;
    PGresult *r;
    at_code c = open_claims(t, tenant, &r, err);
    if (c != AT_OK)
        return c;
    size_t nc = (size_t)PQntuples(r);
    claim *cl = nc ? at_arena_alloc(a, nc * sizeof *cl) : NULL;
    /* one event per claim and order; BatchCreated goes in the same append */
    size_t cap = ES_MAX_EVENTS - 1;
    *evs = nc ? at_arena_alloc(a, (cap + 1) * sizeof **evs) : NULL;
    if (nc && (!cl || !*evs)) {
        PQclear(r);
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    }
    for (size_t i = 0; i < nc; i++) {
        int k = (int)i;
        cl[i] = (claim){.id = at_arena_strdup(a, PQgetvalue(r, k, 0)),
                        .payee = at_arena_strdup(a, PQgetvalue(r, k, 1)),
                        .benefit = at_arena_strdup(a, PQgetvalue(r, k, 2)),
                        .balance = strtoll(PQgetvalue(r, k, 3), NULL, 10),
                        .grant = at_arena_strdup(a, PQgetvalue(r, k, 4)),
                        .budget_code = at_arena_strdup(a, PQgetvalue(r, k, 5)),
                        .funding = at_arena_strdup(a, PQgetvalue(r, k, 6))};
        if (!cl[i].id || !cl[i].payee || !cl[i].benefit || !cl[i].grant || !cl[i].budget_code || !cl[i].funding)
            c = at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    }
    PQclear(r);
    for (size_t i = 0; c == AT_OK && i < n && *n_evs < cap; i++) {
        pay_batch_order *o = &orders[i];
        if (o->offset > 0 || !o->payee[0])
            continue;   /* kept back when first batched; sent again with the same offset */
        at_cents room = -1;
        for (size_t k = 0; c == AT_OK && k < nc && room != 0 && *n_evs < cap; k++) {
            if (cl[k].balance <= 0 || strcmp(cl[k].payee, o->payee) != 0 || strcmp(cl[k].benefit, o->benefit) != 0)
                continue;
            if (room < 0) {
                int pct = 0;
                c = share_of(t, tenant, o->benefit, &pct, err);
                room = c == AT_OK ? o->amount * pct / 100 : 0;   /* rounded down: never more than the share */
            }
            at_cents take = cl[k].balance < room ? cl[k].balance : room;
            if (c != AT_OK || take <= 0)
                continue;
            cl[k].balance -= take;
            room -= take;
            o->offset += take;
            c = record(t, &cl[k], o->order_id, batch_id, on, take, a, &(*evs)[*n_evs], err);
            if (c == AT_OK)
                (*n_evs)++;
        }
        if (c == AT_OK && o->offset > 0) {
            char off[24];
            snprintf(off, sizeof off, "%lld", (long long)o->offset);
            const char *p[2] = {o->order_id, off};
            c = pay_sql(t, "UPDATE payments.orders SET offset_cents = $2 WHERE order_id = $1", 2, p, NULL, err);
        }
    }
    return c;
}
