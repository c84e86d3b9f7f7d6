/*
 * query.c -- ListDueOrders, PaymentHistory (from the service's tables) and BudgetExecution
 * (from the log alone, so the figures can be proven against the events years later).
 */
#include "payments.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "at_time.h"

/* Rows in one reply: a reply must fit in one NATS message. */
#define LIST_MAX 2000

static Atb__V1__OrderList *new_list(svc_request *req)
{
    Atb__V1__OrderList *l = at_arena_alloc(req->arena, sizeof *l);
    if (l)
        atb__v1__order_list__init(l);
    return l;
}

#define ORDER_COLUMNS                                                                                              \
    "order_id, grant_key, person, coalesce(payee, ''), channel, amount_cents, due, slot_from, slot_to, benefit, " \
    "budget_code, funding, status, coalesce(batch_id::text, ''), coalesce(reject_reason, ''), offset_cents"

static at_code fill_orders(svc_request *req, PGresult *r, Atb__V1__OrderList *l, at_error *err)
{
    size_t n = (size_t)PQntuples(r);
    l->orders = at_arena_alloc(req->arena, (n + 1) * sizeof *l->orders);
    Atb__V1__PaymentOrder *o = at_arena_alloc(req->arena, (n + 1) * sizeof *o);
    if (!l->orders || !o)
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    for (size_t i = 0; i < n; i++) {
        int k = (int)i;
        atb__v1__payment_order__init(&o[i]);
        o[i].order_id = PQgetvalue(r, k, 0);
        o[i].grant = PQgetvalue(r, k, 1);
        o[i].person = PQgetvalue(r, k, 2);
        o[i].payee = PQgetvalue(r, k, 3);
        o[i].channel = pay_channel_of(PQgetvalue(r, k, 4));
        o[i].amount_cents = strtoll(PQgetvalue(r, k, 5), NULL, 10);
        o[i].due = svc_date_out(req->arena, pay_date_parse(PQgetvalue(r, k, 6)));
        o[i].period_from = svc_date_out(req->arena, pay_date_parse(PQgetvalue(r, k, 7)));
        o[i].period_to = svc_date_out(req->arena, pay_date_parse(PQgetvalue(r, k, 8)));
        o[i].benefit = PQgetvalue(r, k, 9);
        o[i].budget_code = PQgetvalue(r, k, 10);
        o[i].funding = pay_funding_of(PQgetvalue(r, k, 11));
        o[i].status = pay_status_of(PQgetvalue(r, k, 12));
        o[i].batch_id = PQgetvalue(r, k, 13);
        o[i].reject_reason = PQgetvalue(r, k, 14);
        o[i].offset_cents = strtoll(PQgetvalue(r, k, 15), NULL, 10);
        l->orders[i] = &o[i];
        if (o[i].status != ATB__V1__ORDER_STATUS__ORDER_STATUS_CANCELLED)
            l->total_cents += o[i].amount_cents;
    }
    l->n_orders = n;
    return AT_OK;
}

/* Run a read-only query in its own transaction; the result stays valid after it ends. */
static at_code read_query(svc_request *req, const char *sql, int n, const char *const *p, PGresult **r,
                          at_error *err)
{
    es_txn *t;
    at_code c = pay_begin(req->es, &t, err);
    if (c != AT_OK)
        return c;
    c = pay_sql(t, sql, n, p, r, err);
    es_txn_rollback(t);
    return c;
}

at_code query_due_handle(svc_request *req, ProtobufCMessage **reply, at_error *err)
{
    Atb__V1__ListDueOrders *m = (Atb__V1__ListDueOrders *)req->msg;
    at_date due;
    if (!svc_date_in(m->due, &due))
        return at_error_set(err, AT_VALIDATION, "due", "due does not exist");
    char d[11], lim[16];
    snprintf(lim, sizeof lim, "%d", LIST_MAX);
    const char *p[3] = {req->tenant, pay_date_sql(due, d), lim};
    PGresult *r;
    at_code c = read_query(req,
                           "SELECT " ORDER_COLUMNS " FROM payments.orders WHERE tenant = $1 AND status = 'scheduled' "
                           "AND ($2::date IS NULL OR due <= $2) ORDER BY due, order_id LIMIT $3",
                           3, p, &r, err);
    if (c != AT_OK)
        return c;
    Atb__V1__OrderList *l = new_list(req);
    c = l ? fill_orders(req, r, l, err) : at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    /* the strings point into r: copy before it goes */
    for (size_t i = 0; c == AT_OK && i < l->n_orders; i++) {
        Atb__V1__PaymentOrder *o = l->orders[i];
        char **f[] = {&o->order_id, &o->grant, &o->person, &o->payee, &o->benefit, &o->budget_code,
                      &o->batch_id, &o->reject_reason};
        for (size_t k = 0; k < sizeof f / sizeof f[0]; k++)
            *f[k] = at_arena_strdup(req->arena, *f[k]);
    }
    PQclear(r);
    if (c != AT_OK)
        return c;
    *reply = &l->base;
    return AT_OK;
}

at_code query_history_handle(svc_request *req, ProtobufCMessage **reply, at_error *err)
{
    Atb__V1__PaymentHistory *m = (Atb__V1__PaymentHistory *)req->msg;
    at_code c = pay_check_key(m->person, "person", err);
    if (c != AT_OK)
        return c;
    char lim[16];
    snprintf(lim, sizeof lim, "%d", LIST_MAX);
    const char *p[3] = {req->tenant, m->person, lim};
    PGresult *r, *rc;
    if ((c = read_query(req,
                        "SELECT " ORDER_COLUMNS " FROM payments.orders WHERE tenant = $1 AND person = $2 "
                        "ORDER BY slot_from, due, order_id LIMIT $3",
                        3, p, &r, err)) != AT_OK)
        return c;
    if ((c = read_query(req,
                        "SELECT r.claim_id, r.grant_key, r.amount_cents, r.slot_from, r.slot_to, r.budget_code, "
                        "r.funding, coalesce((SELECT sum(c.amount_cents) FROM payments.collections c JOIN "
                        "payments.orders o USING (order_id) WHERE c.claim_id = r.claim_id AND o.status <> "
                        "'cancelled'), 0) FROM payments.recoveries r WHERE r.tenant = $1 AND r.person = $2 "
                        "ORDER BY r.slot_from LIMIT $3",
                        3, p, &rc, err)) != AT_OK) {
        PQclear(r);
        return c;
    }
    Atb__V1__OrderList *l = new_list(req);
    c = l ? fill_orders(req, r, l, err) : at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    for (size_t i = 0; c == AT_OK && i < l->n_orders; i++) {
        Atb__V1__PaymentOrder *o = l->orders[i];
        char **f[] = {&o->order_id, &o->grant, &o->person, &o->payee, &o->benefit, &o->budget_code,
                      &o->batch_id, &o->reject_reason};
        for (size_t k = 0; k < sizeof f / sizeof f[0]; k++)
            *f[k] = at_arena_strdup(req->arena, *f[k]);
    }
    size_t n = (size_t)PQntuples(rc);
    if (c == AT_OK) {
        l->recoveries = at_arena_alloc(req->arena, (n + 1) * sizeof *l->recoveries);
        Atb__V1__RecoveryClaimed *v = at_arena_alloc(req->arena, (n + 1) * sizeof *v);
        if (!l->recoveries || !v)
            c = at_error_set(err, AT_INTERNAL, NULL, "out of memory");
        for (size_t i = 0; c == AT_OK && i < n; i++) {
            int k = (int)i;
            atb__v1__recovery_claimed__init(&v[i]);
            v[i].claim_id = at_arena_strdup(req->arena, PQgetvalue(rc, k, 0));
            v[i].grant = at_arena_strdup(req->arena, PQgetvalue(rc, k, 1));
            v[i].person = m->person;
            v[i].amount_cents = strtoll(PQgetvalue(rc, k, 2), NULL, 10);
            v[i].period_from = svc_date_out(req->arena, pay_date_parse(PQgetvalue(rc, k, 3)));
            v[i].period_to = svc_date_out(req->arena, pay_date_parse(PQgetvalue(rc, k, 4)));
            v[i].budget_code = at_arena_strdup(req->arena, PQgetvalue(rc, k, 5));
            v[i].funding = pay_funding_of(PQgetvalue(rc, k, 6));
            v[i].collected_cents = strtoll(PQgetvalue(rc, k, 7), NULL, 10);
            l->recoveries[i] = &v[i];
        }
        l->n_recoveries = n;
    }
    PQclear(r);
    PQclear(rc);
    if (c != AT_OK)
        return c;
    *reply = &l->base;
    return AT_OK;
}

/* ---- BudgetExecution: a fold of the log ---- */

typedef struct known_order {
    char id[37];
    char budget_code[16];
    Atb__V1__FundingSource funding;
    at_cents amount;
    bool used;
} known_order;

typedef struct fold {
    known_order *orders;
    size_t cap;           /* a power of two */
    size_t n;
    struct { char id[37]; at_date exec; } *batches;
    size_t n_batches, cap_batches;
    Atb__V1__BudgetLine *lines;
    size_t n_lines, cap_lines;
    at_period period;
    at_arena *a;
} fold;

static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static known_order *order_slot(fold *f, const char *id)
{
    for (size_t i = hash(id) & (f->cap - 1);; i = (i + 1) & (f->cap - 1))
        if (!f->orders[i].used || strcmp(f->orders[i].id, id) == 0)
            return &f->orders[i];
}

static bool grow_orders(fold *f)
{
    if ((f->n + 1) * 2 < f->cap)
        return true;
    known_order *old = f->orders;
    size_t old_cap = f->cap;
    f->cap = f->cap ? f->cap * 2 : 1024;
    f->orders = calloc(f->cap, sizeof *f->orders);
    if (!f->orders)
        return false;
    for (size_t i = 0; i < old_cap; i++)
        if (old[i].used)
            *order_slot(f, old[i].id) = old[i];
    free(old);
    return true;
}

static Atb__V1__BudgetLine *line_of(fold *f, const char *code, Atb__V1__FundingSource funding)
{
    for (size_t i = 0; i < f->n_lines; i++)
        if (f->lines[i].funding == funding && strcmp(f->lines[i].budget_code, code) == 0)
            return &f->lines[i];
    if (f->n_lines == f->cap_lines) {
        size_t cap = f->cap_lines ? f->cap_lines * 2 : 16;
        Atb__V1__BudgetLine *l = at_arena_alloc(f->a, cap * sizeof *l);
        if (!l)
            return NULL;
        if (f->n_lines)
            memcpy(l, f->lines, f->n_lines * sizeof *l);
        f->lines = l;
        f->cap_lines = cap;
    }
    Atb__V1__BudgetLine *l = &f->lines[f->n_lines++];
    atb__v1__budget_line__init(l);
    l->budget_code = at_arena_strdup(f->a, code);
    l->funding = funding;
    return l;
}

static void paid(fold *f, const char *order_id, at_date on)
{
    if (!at_period_contains(f->period, on))
        return;
    known_order *o = order_slot(f, order_id);
    if (!o->used)
        return;   /* an order the log never scheduled: cannot happen through the service */
    Atb__V1__BudgetLine *l = line_of(f, o->budget_code, o->funding);
    if (l) {
        l->paid_cents += o->amount;
        l->orders++;
    }
}

static at_code fold_event(fold *f, const es_event *e, at_arena *a)
{
    ProtobufCAllocator *pa = at_arena_pbc(a);
    if (strcmp(e->type, "PaymentsScheduled") == 0) {
        Atb__V1__PaymentsScheduled *m = atb__v1__payments_scheduled__unpack(pa, e->payload_len, e->payload);
        for (size_t i = 0; m && i < m->n_orders; i++) {
            if (!grow_orders(f))
                return AT_INTERNAL;
            known_order *o = order_slot(f, m->orders[i]->order_id);
            if (!o->used)
                f->n++;
            o->used = true;
            snprintf(o->id, sizeof o->id, "%s", m->orders[i]->order_id);
            snprintf(o->budget_code, sizeof o->budget_code, "%s", m->orders[i]->budget_code);
            o->funding = m->orders[i]->funding;
            o->amount = m->orders[i]->amount_cents;
        }
    } else if (strcmp(e->type, "BatchCreated") == 0) {
        Atb__V1__BatchCreated *m = atb__v1__batch_created__unpack(pa, e->payload_len, e->payload);
        if (m) {
            if (f->n_batches == f->cap_batches) {
                size_t cap = f->cap_batches ? f->cap_batches * 2 : 64;
                void *b = realloc(f->batches, cap * sizeof *f->batches);
                if (!b)
                    return AT_INTERNAL;
                f->batches = b;
                f->cap_batches = cap;
            }
            snprintf(f->batches[f->n_batches].id, 37, "%s", m->batch_id);
            svc_date_in(m->execution_date, &f->batches[f->n_batches].exec);
            f->n_batches++;
        }
    } else if (strcmp(e->type, "BatchConfirmed") == 0) {
        Atb__V1__BatchConfirmed *m = atb__v1__batch_confirmed__unpack(pa, e->payload_len, e->payload);
        at_date exec = AT_DATE_NONE;
        for (size_t i = 0; m && i < f->n_batches; i++)
            if (strcmp(f->batches[i].id, m->batch_id) == 0)
                exec = f->batches[i].exec;
        for (size_t i = 0; m && i < m->n_paid; i++)
            paid(f, m->paid[i], exec);
    } else if (strcmp(e->type, "CashPaid") == 0) {
        Atb__V1__CashPaid *m = atb__v1__cash_paid__unpack(pa, e->payload_len, e->payload);
        at_date on;
        if (m && svc_date_in(m->paid_on, &on))
            paid(f, m->order_id, on);
    } else if (strcmp(e->type, "RecoveryClaimed") == 0) {
        Atb__V1__RecoveryClaimed *m = atb__v1__recovery_claimed__unpack(pa, e->payload_len, e->payload);
        if (m && at_period_contains(f->period, at_date_of_us(e->occurred_at_us))) {
            Atb__V1__BudgetLine *l = line_of(f, m->budget_code, m->funding);
            if (l)
                l->recovered_cents += m->amount_cents;
        }
    }
    return AT_OK;
}

at_code query_budget_handle(svc_request *req, ProtobufCMessage **reply, at_error *err)
{
    Atb__V1__BudgetExecution *m = (Atb__V1__BudgetExecution *)req->msg;
    fold f = {.a = req->arena};
    if (!svc_date_in(m->from, &f.period.from) || f.period.from == AT_DATE_NONE)
        return at_error_set(err, AT_VALIDATION, "from", "from is required");
    if (!svc_date_in(m->to, &f.period.to) || f.period.to == AT_DATE_NONE)
        return at_error_set(err, AT_VALIDATION, "to", "to is required");
    if (f.period.to < f.period.from)
        return at_error_set(err, AT_VALIDATION, "to", "the period ends before it begins");
    static const char *const cats[] = {"paygrant", "paybatch", "paycash"};
    es_filter filter = {.tenant = req->tenant, .categories = cats, .n_categories = 3};
    int64_t head = 0, after = 0;
    es_status st = es_head(req->es, &head, err);
    at_code c = st == ES_OK ? AT_OK : es_status_code(st);
    at_arena *a = at_arena_new(64 * 1024);
    if (!a)
        c = at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    while (c == AT_OK && after < head) {
        es_batch *b = NULL;
        if ((st = es_read_all(req->es, after, 5000, &filter, &b, err)) != ES_OK) {
            c = es_status_code(st);
            break;
        }
        size_t n = es_batch_count(b);
        for (size_t i = 0; c == AT_OK && i < n; i++) {
            const es_event *e = es_batch_get(b, i);
            if (e->position > head)
                break;
            c = fold_event(&f, e, a);
            if (c != AT_OK)
                at_error_set(err, c, NULL, "out of memory");
            after = e->position;
            at_arena_reset(a);
        }
        es_batch_free(b);
        if (n == 0)
            break;
    }
    at_arena_free(a);
    free(f.orders);
    free(f.batches);
    if (c != AT_OK)
        return c;
    Atb__V1__BudgetReport *r = at_arena_alloc(req->arena, sizeof *r);
    Atb__V1__BudgetLine **lp = at_arena_alloc(req->arena, (f.n_lines + 1) * sizeof *lp);
    if (!r || !lp)
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    atb__v1__budget_report__init(r);
    for (size_t i = 0; i < f.n_lines; i++) {
        lp[i] = &f.lines[i];
        r->paid_cents += f.lines[i].paid_cents;
    }
    r->lines = lp;
    r->n_lines = f.n_lines;
    r->position = head;
    *reply = &r->base;
    return AT_OK;
}
