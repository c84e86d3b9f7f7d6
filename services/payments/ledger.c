/*
 * ledger.c -- grants, their terms, and reconciliation: the one place where orders are
 * made, cancelled or found to have overpaid.
 *
 * A grant (payments.grants) is paid under a list of terms (payments.terms): the decision's
 * result, then each override's, each from a date on. The target of a grant is a list of
 * slots (schedule.c): the first terms' slots, where each later terms value replaces the
 * slots that begin after its date (an override decided on D changes what is paid for
 * periods that begin after D; money for a period already begun stays as decided). A
 * one-off grant has one slot, so an override replaces it whatever its date.
 *
 * Reconciliation compares each slot's target with its orders: those not yet at the bank
 * (scheduled, rejected) are cancelled when the slot's sum is wrong; those at the bank or
 * paid (batched, paid) are never touched. What is missing becomes a new order; what was
 * sent beyond the target becomes a recovery claim (RecoveryClaimed), never an edit. So per
 * slot, after every reconciliation: sum(live orders) - sum(claims) = target, and per grant
 * the same sums equal granted_cents; the schema's deferred trigger refuses any commit
 * where owed - claimed > granted.
 *
 * Concurrency: the grant's row is locked first (SELECT ... FOR UPDATE) and its orders
 * next; CreateBatch locks orders only, so the two meet on the orders' row locks and a
 * reconciliation sees an order either before or after it was batched, never half.
 * Ids of orders and claims are derived from the source event id, the grant and the slot,
 * so a replayed source would make the same ids (and collide rather than duplicate).
 */
#include "payments.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "at_time.h"
#include "at_uuid.h"

/* Namespaces of derived ids. Never change them. */
#define ORDER_NS "b3a7c1d2-5e4f-4a6b-9c8d-7e6f5a4b3c21"
#define CLAIM_NS "c4b8d2e3-6f5a-4b7c-8d9e-8f7a6b5c4d32"
#define LEDGER_CMD_NS "d5c9e3f4-7a6b-4c8d-9eaf-9a8b7c6d5e43"

#define MAX_TARGET (2 * PAY_MAX_SLOTS)

typedef struct order_row {
    char id[AT_UUID_LEN + 1];
    at_date slot_from;
    at_cents amount;
    bool active;        /* scheduled or rejected: may still be cancelled */
    bool cancel;
} order_row;

typedef struct grant_row {
    bool exists;
    char person[64], payee[64], benefit[64], channel[16], budget_code[16], funding[16];
    at_cents granted;
} grant_row;

static at_code load_grant(es_txn *t, const char *grant, grant_row *g, at_error *err)
{
    const char *p[1] = {grant};
    PGresult *r;
    at_code c = pay_sql(t,
                        "SELECT person, coalesce(payee, ''), benefit, channel, budget_code, funding, granted_cents "
                        "FROM payments.grants WHERE grant_key = $1 FOR UPDATE",
                        1, p, &r, err);
    if (c != AT_OK)
        return c;
    g->exists = PQntuples(r) > 0;
    if (g->exists) {
        snprintf(g->person, sizeof g->person, "%s", PQgetvalue(r, 0, 0));
        snprintf(g->payee, sizeof g->payee, "%s", PQgetvalue(r, 0, 1));
        snprintf(g->benefit, sizeof g->benefit, "%s", PQgetvalue(r, 0, 2));
        snprintf(g->channel, sizeof g->channel, "%s", PQgetvalue(r, 0, 3));
        snprintf(g->budget_code, sizeof g->budget_code, "%s", PQgetvalue(r, 0, 4));
        snprintf(g->funding, sizeof g->funding, "%s", PQgetvalue(r, 0, 5));
        g->granted = strtoll(PQgetvalue(r, 0, 6), NULL, 10);
    }
    PQclear(r);
    return AT_OK;
}

at_code ledger_grant_exists(es_txn *t, const char *grant, bool *exists, at_error *err)
{
    grant_row g;
    at_code c = load_grant(t, grant, &g, err);
    *exists = c == AT_OK && g.exists;
    return c;
}

/* A new grant: its budget code and funding from the terms, else from payments.ekk (the
 * tenant's row before the national '*', the benefit's before the default). */
static at_code create_grant(es_txn *t, const pay_terms_in *in, grant_row *g, at_error *err)
{
    /* a service or a place without a row of its own falls back on its kind's row */
    const char *kind = in->channel == ATB__V1__PAYMENT_CHANNEL__PAYMENT_CHANNEL_MUNICIPALITY ? "PLACE"
                       : in->channel == ATB__V1__PAYMENT_CHANNEL__PAYMENT_CHANNEL_PROVIDER && in->payee ? "SERVICE"
                                                                                                         : "";
    const char *p[3] = {in->tenant, in->benefit, kind};
    PGresult *r;
    at_code c = pay_sql(t,
                        "SELECT budget_code, funding FROM payments.ekk WHERE tenant IN ($1, '*') AND benefit IN "
                        "($2, $3, '*') ORDER BY benefit = '*', benefit = $3, tenant = '*' LIMIT 1",
                        3, p, &r, err);
    if (c != AT_OK)
        return c;
    snprintf(g->budget_code, sizeof g->budget_code, "%s",
             in->budget_code && *in->budget_code ? in->budget_code : PQntuples(r) ? PQgetvalue(r, 0, 0) : "6429");
    snprintf(g->funding, sizeof g->funding, "%s",
             in->funding ? pay_funding_name(in->funding) : PQntuples(r) ? PQgetvalue(r, 0, 1) : "municipal");
    PQclear(r);
    snprintf(g->person, sizeof g->person, "%s", in->person ? in->person : "");
    snprintf(g->benefit, sizeof g->benefit, "%s", in->benefit);
    snprintf(g->channel, sizeof g->channel, "%s", pay_channel_name(in->channel));
    g->payee[0] = '\0';
    if (in->payee && *in->payee) {
        snprintf(g->payee, sizeof g->payee, "%s", in->payee);
    } else if (in->channel == ATB__V1__PAYMENT_CHANNEL__PAYMENT_CHANNEL_ACCOUNT ||
               in->channel == ATB__V1__PAYMENT_CHANNEL__PAYMENT_CHANNEL_CASH) {
        snprintf(g->payee, sizeof g->payee, "%s", g->person);
    }
    g->granted = 0;
    g->exists = true;
    char stream[160];
    snprintf(stream, sizeof stream, "paygrant-%s", in->grant);
    for (char *s = stream; *s; s++)
        if (*s == '/')
            *s = '.';
    const char *q[9] = {in->grant, in->tenant, g->person, g->payee[0] ? g->payee : NULL, g->benefit,
                        g->channel, g->budget_code, g->funding, stream};
    return pay_sql(t,
                   "INSERT INTO payments.grants (grant_key, tenant, person, payee, benefit, channel, budget_code, "
                   "funding, stream) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                   9, q, NULL, err);
}

static at_code insert_terms(es_txn *t, const pay_terms_in *in, int64_t position, at_error *err)
{
    char amount[24], per[8], from[11], to[11], dec[11], after[11], pos[24];
    snprintf(amount, sizeof amount, "%lld", (long long)in->terms.amount);
    snprintf(per, sizeof per, "%d", (int)in->terms.per);
    snprintf(pos, sizeof pos, "%lld", (long long)position);
    const char *p[8] = {in->grant, pay_date_sql(in->effective_after, after), amount, per,
                        pay_date_sql(in->terms.from, from), pay_date_sql(in->terms.to, to),
                        pay_date_sql(in->terms.decided_on, dec), pos};
    return pay_sql(t,
                   "INSERT INTO payments.terms (grant_key, seq, effective_after, amount_cents, per, period_from, "
                   "period_to, decided_on, source_position) SELECT $1, coalesce(max(seq), 0) + 1, $2, $3, $4, $5, "
                   "$6, $7, $8 FROM payments.terms WHERE grant_key = $1",
                   8, p, NULL, err);
}

/* The grant's target slots from all its terms, in seq order. */
static at_code target_of(es_txn *t, const char *grant, pay_slot *target, size_t *n, at_error *err)
{
    const char *p[1] = {grant};
    PGresult *r;
    at_code c = pay_sql(t,
                        "SELECT coalesce(effective_after::text, ''), amount_cents, per, coalesce(period_from::text, ''), "
                        "coalesce(period_to::text, ''), coalesce(decided_on::text, '') FROM payments.terms "
                        "WHERE grant_key = $1 ORDER BY seq",
                        1, p, &r, err);
    if (c != AT_OK)
        return c;
    *n = 0;
    bool once = PQntuples(r) > 0 && atoi(PQgetvalue(r, 0, 2)) == PAY_PER_ONCE;
    pay_slot slots[PAY_MAX_SLOTS];
    for (int i = 0; c == AT_OK && i < PQntuples(r); i++) {
        pay_terms tm = {.amount = strtoll(PQgetvalue(r, i, 1), NULL, 10),
                        .per = (pay_per)atoi(PQgetvalue(r, i, 2)),
                        .from = pay_date_parse(PQgetvalue(r, i, 3)),
                        .to = pay_date_parse(PQgetvalue(r, i, 4)),
                        .decided_on = pay_date_parse(PQgetvalue(r, i, 5))};
        at_date cut = once ? AT_DATE_NONE : pay_date_parse(PQgetvalue(r, i, 0));
        size_t ns = 0;
        c = pay_slots(&tm, slots, PAY_MAX_SLOTS, &ns, err);
        if (c != AT_OK)
            break;
        size_t keep = 0;
        for (size_t k = 0; k < *n; k++)
            if (cut != AT_DATE_NONE && target[k].from <= cut)
                target[keep++] = target[k];
        *n = keep;
        for (size_t k = 0; k < ns && *n < MAX_TARGET; k++)
            if (cut == AT_DATE_NONE || slots[k].from > cut)
                target[(*n)++] = slots[k];
    }
    PQclear(r);
    return c;
}

typedef struct plan {
    pay_slot target[MAX_TARGET];
    size_t n_target;
    order_row *orders;
    size_t n_orders;
    Atb__V1__PaymentOrder **made;
    size_t n_made;
    Atb__V1__RecoveryClaimed **claims;
    size_t n_claims;
    char **cancelled;
    size_t n_cancelled;
} plan;

static at_code load_orders(es_txn *t, const char *grant, plan *pl, at_arena *a, at_error *err)
{
    const char *p[1] = {grant};
    PGresult *r;
    at_code c = pay_sql(t,
                        "SELECT order_id, slot_from, amount_cents, status FROM payments.orders "
                        "WHERE grant_key = $1 AND status <> 'cancelled' ORDER BY slot_from, order_id FOR UPDATE",
                        1, p, &r, err);
    if (c != AT_OK)
        return c;
    pl->n_orders = (size_t)PQntuples(r);
    pl->orders = at_arena_alloc(a, (pl->n_orders + 1) * sizeof *pl->orders);
    if (!pl->orders) {
        PQclear(r);
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    }
    for (size_t i = 0; i < pl->n_orders; i++) {
        order_row *o = &pl->orders[i];
        snprintf(o->id, sizeof o->id, "%s", PQgetvalue(r, (int)i, 0));
        o->slot_from = pay_date_parse(PQgetvalue(r, (int)i, 1));
        o->amount = strtoll(PQgetvalue(r, (int)i, 2), NULL, 10);
        const char *st = PQgetvalue(r, (int)i, 3);
        o->active = strcmp(st, "scheduled") == 0 || strcmp(st, "rejected") == 0;
        o->cancel = false;
    }
    PQclear(r);
    return AT_OK;
}

static at_code claimed_in(es_txn *t, const char *grant, at_date slot, at_cents *out, at_error *err)
{
    char d[11];
    const char *p[2] = {grant, pay_date_sql(slot, d)};
    PGresult *r;
    at_code c = pay_sql(t,
                        "SELECT coalesce(sum(amount_cents), 0) FROM payments.recoveries "
                        "WHERE grant_key = $1 AND slot_from = $2",
                        2, p, &r, err);
    if (c == AT_OK) {
        *out = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        PQclear(r);
    }
    return c;
}

typedef struct ctx {
    es_txn *t;
    const pay_terms_in *in;
    const es_event *source;
    const grant_row *g;
    at_arena *a;
    plan *pl;
} ctx;

static at_code make_order(ctx *x, const pay_slot *s, at_cents amount, at_error *err)
{
    char name[256], from[11], to[11], due[11], amt[24];
    Atb__V1__PaymentOrder *o = at_arena_alloc(x->a, sizeof *o);
    char *id = at_arena_alloc(x->a, AT_UUID_LEN + 1);
    if (!o || !id)
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    snprintf(name, sizeof name, "%s/%s/%s", x->source->event_id, x->in->grant, pay_date_sql(s->from, from));
    at_uuid_derive(ORDER_NS, name, id);
    pay_date_sql(s->to, to);
    pay_date_sql(s->due, due);
    snprintf(amt, sizeof amt, "%lld", (long long)amount);
    const char *p[13] = {id, x->in->tenant, x->in->grant, x->g->person, x->g->payee[0] ? x->g->payee : NULL,
                         x->g->channel, amt, due, from, to, x->g->benefit, x->g->budget_code, x->g->funding};
    at_code c = pay_sql(x->t,
                        "INSERT INTO payments.orders (order_id, tenant, grant_key, person, payee, channel, amount_cents, "
                        "due, slot_from, slot_to, benefit, budget_code, funding, status) VALUES ($1, $2, $3, $4, "
                        "coalesce($5, (SELECT payee FROM payments.provider_benefits WHERE tenant = $2 AND benefit = "
                        "$11 AND $6 = 'provider')), $6, $7, $8, $9, $10, $11, $12, $13, 'scheduled')",
                        13, p, NULL, err);
    if (c != AT_OK)
        return c;
    atb__v1__payment_order__init(o);
    o->order_id = id;
    o->grant = (char *)x->in->grant;
    o->person = at_arena_strdup(x->a, x->g->person);
    o->payee = at_arena_strdup(x->a, x->g->payee);
    o->channel = pay_channel_of(x->g->channel);
    o->amount_cents = amount;
    o->due = svc_date_out(x->a, s->due);
    o->period_from = svc_date_out(x->a, s->from);
    o->period_to = svc_date_out(x->a, s->to);
    o->benefit = at_arena_strdup(x->a, x->g->benefit);
    o->budget_code = at_arena_strdup(x->a, x->g->budget_code);
    o->funding = pay_funding_of(x->g->funding);
    o->status = ATB__V1__ORDER_STATUS__ORDER_STATUS_SCHEDULED;
    x->pl->made[x->pl->n_made++] = o;
    return AT_OK;
}

static at_code make_claim(ctx *x, at_date from, at_date to, at_cents amount, at_error *err)
{
    char name[256], f[11], tt[11], on[11], amt[24];
    Atb__V1__RecoveryClaimed *m = at_arena_alloc(x->a, sizeof *m);
    char *id = at_arena_alloc(x->a, AT_UUID_LEN + 1);
    if (!m || !id)
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    snprintf(name, sizeof name, "%s/%s/%s", x->source->event_id, x->in->grant, pay_date_sql(from, f));
    at_uuid_derive(CLAIM_NS, name, id);
    at_date claimed_on = at_date_of_us(x->source->occurred_at_us);
    snprintf(amt, sizeof amt, "%lld", (long long)amount);
    const char *p[10] = {id, x->in->tenant, x->in->grant, x->g->person, amt, f, pay_date_sql(to, tt),
                         x->g->budget_code, x->g->funding, pay_date_sql(claimed_on, on)};
    at_code c = pay_sql(x->t,
                        "INSERT INTO payments.recoveries (claim_id, tenant, grant_key, person, amount_cents, slot_from, "
                        "slot_to, budget_code, funding, claimed_on) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                        10, p, NULL, err);
    if (c != AT_OK)
        return c;
    atb__v1__recovery_claimed__init(m);
    m->claim_id = id;
    m->grant = (char *)x->in->grant;
    m->person = at_arena_strdup(x->a, x->g->person);
    m->amount_cents = amount;
    m->period_from = svc_date_out(x->a, from);
    m->period_to = svc_date_out(x->a, to);
    m->source_position = x->source->position;
    m->budget_code = at_arena_strdup(x->a, x->g->budget_code);
    m->funding = pay_funding_of(x->g->funding);
    x->pl->claims[x->pl->n_claims++] = m;
    return AT_OK;
}

/* One slot key: its target (NULL when none) against its orders. */
static at_code settle_slot(ctx *x, at_date key, const pay_slot *target, at_error *err)
{
    plan *pl = x->pl;
    at_cents live = 0, committed = 0, claimed = 0;
    at_date to = target ? target->to : key;
    for (size_t i = 0; i < pl->n_orders; i++) {
        if (pl->orders[i].slot_from != key)
            continue;
        live += pl->orders[i].amount;
        if (!pl->orders[i].active)
            committed += pl->orders[i].amount;
    }
    at_code c = claimed_in(x->t, x->in->grant, key, &claimed, err);
    if (c != AT_OK)
        return c;
    at_cents want = target ? target->amount : 0;
    if (live - claimed == want)
        return AT_OK;
    for (size_t i = 0; i < pl->n_orders; i++) {
        order_row *o = &pl->orders[i];
        if (o->slot_from != key || !o->active)
            continue;
        const char *p[1] = {o->id};
        if ((c = pay_sql(x->t, "UPDATE payments.orders SET status = 'cancelled' WHERE order_id = $1", 1, p, NULL,
                         err)) != AT_OK)
            return c;
        pl->cancelled[pl->n_cancelled++] = o->id;
    }
    at_cents need = want - (committed - claimed);
    if (need > 0 && target)
        return make_order(x, target, need, err);
    if (need < 0)
        return make_claim(x, key, to, -need, err);
    return AT_OK;
}

static at_code append_events(ctx *x, at_cents granted, bool granted_changed, bool *changed, at_error *err)
{
    plan *pl = x->pl;
    size_t n = 0;
    es_event_in evs[3 + MAX_TARGET];
    at_code c = AT_OK;
    if (pl->n_cancelled > 0) {
        Atb__V1__PaymentsCancelled m = ATB__V1__PAYMENTS_CANCELLED__INIT;
        m.grant = (char *)x->in->grant;
        m.order_ids = pl->cancelled;
        m.n_order_ids = pl->n_cancelled;
        m.granted_cents = granted;
        m.source_position = x->source->position;
        c = svc_pack(x->a, &m.base, "PaymentsCancelled", &evs[n++], err);
    }
    for (size_t i = 0; c == AT_OK && i < pl->n_claims; i++)
        c = svc_pack(x->a, &pl->claims[i]->base, "RecoveryClaimed", &evs[n++], err);
    if (c == AT_OK && (pl->n_made > 0 || (granted_changed && pl->n_cancelled == 0))) {
        Atb__V1__PaymentsScheduled m = ATB__V1__PAYMENTS_SCHEDULED__INIT;
        m.grant = (char *)x->in->grant;
        m.granted_cents = granted;
        m.orders = pl->made;
        m.n_orders = pl->n_made;
        m.source_position = x->source->position;
        c = svc_pack(x->a, &m.base, "PaymentsScheduled", &evs[n++], err);
    }
    if (c != AT_OK || n == 0)
        return c;
    char stream[160], name[200], cmd[AT_UUID_LEN + 1];
    snprintf(stream, sizeof stream, "paygrant-%s", x->in->grant);
    for (char *s = stream; *s; s++)
        if (*s == '/')
            *s = '.';
    snprintf(name, sizeof name, "%s/%s", x->source->event_id, x->in->grant);
    at_uuid_derive(LEDGER_CMD_NS, name, cmd);
    es_append_res res;
    c = pay_append(x->t, x->in->tenant, stream, ES_VERSION_ANY, cmd, x->source->event_id,
                   x->source->correlation_id, x->source->actor[0] ? x->source->actor : "service:payments", evs, n,
                   &res, err);
    if (c == AT_OK && res.duplicate) {
        /* sources rows make this unreachable; if reached, the rows written here must go */
        at_error_set(err, AT_CONFLICT, NULL, "the payments of event %s are already in the log", x->source->event_id);
        return AT_CONFLICT;
    }
    *changed = c == AT_OK;
    return c;
}

at_code ledger_apply(es_txn *t, const pay_terms_in *in, const es_event *source, at_arena *a, bool *changed,
                     at_error *err)
{
    *changed = false;
    grant_row g;
    at_code c = load_grant(t, in->grant, &g, err);
    if (c != AT_OK)
        return c;
    if (!g.exists) {
        if (in->terms.amount == 0)
            return AT_OK;   /* a revocation of a grant that never had money: nothing to stop */
        if ((c = create_grant(t, in, &g, err)) != AT_OK)
            return c;
    }
    if ((c = insert_terms(t, in, source->position, err)) != AT_OK)
        return c;
    plan *pl = at_arena_alloc(a, sizeof *pl);
    if (!pl)
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    memset(pl, 0, sizeof *pl);
    if ((c = target_of(t, in->grant, pl->target, &pl->n_target, err)) != AT_OK ||
        (c = load_orders(t, in->grant, pl, a, err)) != AT_OK)
        return c;
    size_t cap = pl->n_target + pl->n_orders + 1;
    pl->made = at_arena_alloc(a, cap * sizeof *pl->made);
    pl->claims = at_arena_alloc(a, cap * sizeof *pl->claims);
    pl->cancelled = at_arena_alloc(a, cap * sizeof *pl->cancelled);
    if (!pl->made || !pl->claims || !pl->cancelled)
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    ctx x = {.t = t, .in = in, .source = source, .g = &g, .a = a, .pl = pl};
    at_cents granted = 0;
    for (size_t i = 0; c == AT_OK && i < pl->n_target; i++) {
        granted += pl->target[i].amount;
        c = settle_slot(&x, pl->target[i].from, &pl->target[i], err);
    }
    /* slots of orders the target no longer has */
    for (size_t i = 0; c == AT_OK && i < pl->n_orders; i++) {
        at_date key = pl->orders[i].slot_from;
        bool seen = i > 0 && pl->orders[i - 1].slot_from == key;
        for (size_t k = 0; !seen && k < pl->n_target; k++)
            seen = pl->target[k].from == key;
        if (!seen)
            c = settle_slot(&x, key, NULL, err);
    }
    if (c != AT_OK)
        return c;
    char gs[24];
    snprintf(gs, sizeof gs, "%lld", (long long)granted);
    const char *p[2] = {in->grant, gs};
    if (granted != g.granted &&
        (c = pay_sql(t, "UPDATE payments.grants SET granted_cents = $2 WHERE grant_key = $1", 2, p, NULL, err)) !=
            AT_OK)
        return c;
    return append_events(&x, granted, granted != g.granted, changed, err);
}
