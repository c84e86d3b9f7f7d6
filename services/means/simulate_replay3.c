/*
 * simulate_replay3.c -- three replays of a recorded decision side by side: (a) as decided
 * (the recorded result, proven by replay_event with the recorded rule-set version), (b) as
 * the law stood on the decision date with today's knowledge (the newest RuleSetPublished
 * of the municipality whose valid period covers the date: it differs from (a) where a rule
 * set was corrected after the decision), (c) what-if (a draft, optional). Contract in
 * simulate.h.
 *
 * Invariants:
 *  - (b) and (c) are re-decided from the recorded input with the chain of the application's
 *    earlier asks, as the simulation does (simulate.c), so (b) equals (a) whenever the
 *    newest version is the recorded one.
 *  - Rows are collected before they are handed out: an override that came later in the log
 *    marks the row it replaced.
 *  - "Newest" is the highest log position on ruleset-<scope>: the last version published.
 */
#include "simulate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "at_uuid.h"

#define R3_BATCH 2000
#define R3_MAX_SCOPES 64

const char *r3_label_name(r3_label l)
{
    switch (l) {
    case R3_SAME: return "same";
    case R3_OVERPAYMENT: return "possible overpayment";
    case R3_UNDERPAYMENT: return "possible underpayment";
    case R3_DIFFERS: return "differs";
    }
    return "?";
}

typedef struct pub {
    int64_t position;
    char version[65];
    at_period valid;
} pub;

typedef struct scope_pubs {
    char scope[MEANS_MAX_KEY + 1];
    pub *p;
    size_t n;
} scope_pubs;

typedef struct r3_ctx {
    es_store *es;
    ruleset_cache *rc;
    const r3_opts *o;
    scope_pubs scopes[R3_MAX_SCOPES];
    size_t n_scopes;
    at_arena *a;
    sim_chain chain_b, chain_c;
    r3_row *rows;
    size_t n_rows, cap_rows;
} r3_ctx;

/* Every RuleSetPublished of the scope (read once per run). */
static at_code pubs_of(r3_ctx *x, const char *scope, scope_pubs **out, at_error *err)
{
    for (size_t i = 0; i < x->n_scopes; i++)
        if (strcmp(x->scopes[i].scope, scope) == 0) {
            *out = &x->scopes[i];
            return AT_OK;
        }
    if (x->n_scopes == R3_MAX_SCOPES)
        return at_error_set(err, AT_INTERNAL, NULL, "more than %d municipalities", R3_MAX_SCOPES);
    char stream[MEANS_MAX_KEY + 16];
    snprintf(stream, sizeof stream, "ruleset-%s", scope);
    es_batch *b = NULL;
    es_status st = es_read_stream(x->es, stream, 1, SIZE_MAX, &b, err);
    if (st != ES_OK)
        return es_status_code(st);
    scope_pubs *s = &x->scopes[x->n_scopes];
    memset(s, 0, sizeof *s);
    snprintf(s->scope, sizeof s->scope, "%s", scope);
    size_t n = es_batch_count(b);
    s->p = calloc(n ? n : 1, sizeof *s->p);
    if (!s->p) {
        es_batch_free(b);
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        const es_event *ev = es_batch_get(b, i);
        if (strcmp(ev->type, MEANS_EV_RULESET_PUBLISHED) != 0)
            continue;
        Atb__V1__RuleSetPublished *p = atb__v1__rule_set_published__unpack(NULL, ev->payload_len, ev->payload);
        if (!p)
            continue;   /* one that does not decode cannot be the law as known */
        pub *q = &s->p[s->n];
        q->position = ev->position;
        snprintf(q->version, sizeof q->version, "%s", p->version);
        q->valid.from = q->valid.to = AT_DATE_NONE;
        if (decision_date_in(p->valid_from, false, &q->valid.from) &&
            decision_date_in(p->valid_to, false, &q->valid.to) && q->valid.from != AT_DATE_NONE)
            s->n++;
        atb__v1__rule_set_published__free_unpacked(p, NULL);
    }
    es_batch_free(b);
    x->n_scopes++;
    *out = s;
    return AT_OK;
}

/* (b): the newest published set of the scope covering `on`; *set NULL and why when none. */
static at_code law_as_known(r3_ctx *x, const char *scope, at_date on, r3_row *row, const rules_set **set,
                            at_error *err)
{
    *set = NULL;
    scope_pubs *s = NULL;
    at_code code = pubs_of(x, scope, &s, err);
    if (code != AT_OK)
        return code;
    const pub *best = NULL;
    for (size_t i = 0; i < s->n; i++)
        if (at_period_contains(s->p[i].valid, on) && (!best || s->p[i].position > best->position))
            best = &s->p[i];
    if (!best) {
        char d[16];
        at_date_format(on, d, sizeof d);
        snprintf(row->b.error, sizeof row->b.error, "no published rule set of %s covers %s", scope, d);
        return AT_OK;
    }
    snprintf(row->version_b, sizeof row->version_b, "%s", best->version);
    row->position_b = best->position;
    int64_t pos = 0;
    at_error e2;
    at_error_clear(&e2);
    code = ruleset_cache_version(x->rc, x->es, scope, best->version, best->position, set, &pos, &e2);
    if (code == AT_UNAVAILABLE || code == AT_INTERNAL) {
        if (err)
            *err = e2;
        return code;
    }
    if (code != AT_OK)
        snprintf(row->b.error, sizeof row->b.error, "%s", e2.message);
    return AT_OK;
}

static void label(r3_row *r)
{
    r->difference = 0;
    if (!r->b.decided) {
        r->label = R3_DIFFERS;
        return;
    }
    r->difference = r->b.cost - r->a.cost;
    bool same = r->a.granted == r->b.granted && r->a.status == r->b.status && r->a.amount == r->b.amount &&
                r->a.per == r->b.per && r->a.units == r->b.units && r->a.period.from == r->b.period.from &&
                r->a.period.to == r->b.period.to && r->difference == 0;
    if (same)
        r->label = R3_SAME;
    else if (r->difference > 0)
        r->label = R3_UNDERPAYMENT;
    else if (r->difference < 0)
        r->label = R3_OVERPAYMENT;
    else
        r->label = R3_DIFFERS;
}

static at_code one(r3_ctx *x, const es_event *ev, at_error *err)
{
    if (strcmp(ev->type, MEANS_EV_OVERRIDDEN) == 0) {
        Atb__V1__DecisionOverridden *o =
            atb__v1__decision_overridden__unpack(at_arena_pbc(x->a), ev->payload_len, ev->payload);
        for (size_t i = 0; o && i < x->n_rows; i++)
            if (strcmp(x->rows[i].application, o->application_id) == 0 && x->rows[i].ask_index == o->ask_index)
                x->rows[i].overridden = true;
        return AT_OK;
    }
    if (!decision_is_event_type(ev->type))
        return AT_OK;
    const char *app = ev->stream_id + 9;
    if (strcmp(x->chain_b.app, app) != 0) {
        at_arena_reset(x->a);   /* the chains point into the arena for their own application only */
        sim__chain_start(&x->chain_b, app);
        sim__chain_start(&x->chain_c, app);
    }
    Atb__V1__Decision *d = decision_unpack(x->a, ev);
    at_date on = AT_DATE_NONE;
    if (!d || !d->input || !sim__in_period(d->input, x->o->from, x->o->to, &on))
        return AT_OK;
    if (x->n_rows == x->cap_rows) {
        size_t nc = x->cap_rows ? 2 * x->cap_rows : 64;
        r3_row *nr = realloc(x->rows, nc * sizeof *nr);
        if (!nr)
            return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
        x->rows = nr;
        x->cap_rows = nc;
    }
    r3_row *r = &x->rows[x->n_rows];
    memset(r, 0, sizeof *r);
    snprintf(r->application, sizeof r->application, "%s", app);
    r->ask_index = d->ask_index;
    snprintf(r->household, sizeof r->household, "%s",
             d->input->household && d->input->household->id ? d->input->household->id : "");
    sim__benefit_key(d->input, r->benefit, sizeof r->benefit);
    r->decided_on = on;
    r->position = ev->position;
    if (d->n_rule_sets > 0)
        snprintf(r->version_a, sizeof r->version_a, "%s", d->rule_sets[0]->version);

    Atb__V1__ReplayedDecision rd;
    at_code code = replay_event(x->rc, x->es, ev, x->a, &rd, err);
    if (code != AT_OK)
        return code;
    r->proven = rd.proven;
    sim__from_recorded(d->result, &r->a);

    const rules_set *set_b = NULL;
    if ((code = law_as_known(x, ev->tenant, on, r, &set_b, err)) != AT_OK)
        return code;
    if (set_b) {
        if ((code = sim__redecide(set_b, d->input, &x->chain_b, x->a, &r->b, err)) != AT_OK)
            return code;
    } else {
        sim__chain_put(&x->chain_b, d->input, &r->b);
    }
    const rules_set *set_c = x->o->draft ? sim_draft_set(x->o->draft, ev->tenant) : NULL;
    if (set_c) {
        r->has_c = true;
        if ((code = sim__redecide(set_c, d->input, &x->chain_c, x->a, &r->c, err)) != AT_OK)
            return code;
    }
    label(r);
    x->n_rows++;
    return AT_OK;
}

static at_code read_application(r3_ctx *x, at_error *err)
{
    const char *id = x->o->application;
    if (!at_uuid_valid(id))
        return at_error_set(err, AT_VALIDATION, "application", "application id is not a UUID");
    char stream[96];
    snprintf(stream, sizeof stream, "decision-%s", id);
    es_batch *b = NULL;
    es_status st = es_read_stream(x->es, stream, 1, SIZE_MAX, &b, err);
    if (st != ES_OK)
        return es_status_code(st);
    size_t n = es_batch_count(b);
    const es_event *first = es_batch_get(b, 0);
    if (n == 0 || (x->o->tenant && strcmp(first->tenant, x->o->tenant) != 0)) {
        es_batch_free(b);
        at_error_set(err, AT_NOT_FOUND, "application", "no decision for application %s", id);
        at_error_detail(err, "Stream %s does not exist in this municipality.", stream);
        return AT_NOT_FOUND;
    }
    at_code code = AT_OK;
    for (size_t i = 0; i < n && code == AT_OK; i++)
        code = one(x, es_batch_get(b, i), err);
    es_batch_free(b);
    return code;
}

static at_code read_period(r3_ctx *x, at_error *err)
{
    static const char *const categories[] = {"decision"};
    es_filter f = {.tenant = x->o->tenant, .categories = categories, .n_categories = 1};
    int64_t after = 0;
    at_code code = AT_OK;
    for (;;) {
        es_batch *b = NULL;
        es_status st = es_read_all(x->es, after, R3_BATCH, &f, &b, err);
        if (st != ES_OK)
            return es_status_code(st);
        size_t n = es_batch_count(b);
        for (size_t i = 0; i < n && code == AT_OK; i++) {
            const es_event *ev = es_batch_get(b, i);
            after = ev->position;
            code = one(x, ev, err);
        }
        es_batch_free(b);
        if (code != AT_OK || n < R3_BATCH)
            return code;
    }
}

at_code r3_run(es_store *es, ruleset_cache *rc, const r3_opts *o, r3_row_fn fn, void *ctx, at_error *err)
{
    r3_ctx *x = calloc(1, sizeof *x);
    if (!x || !(x->a = at_arena_new(256 * 1024))) {
        free(x);
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    }
    x->es = es;
    x->rc = rc;
    x->o = o;
    at_code code = o->application ? read_application(x, err) : read_period(x, err);
    for (size_t i = 0; i < x->n_rows && code == AT_OK; i++)
        code = fn(&x->rows[i], ctx);
    for (size_t i = 0; i < x->n_scopes; i++)
        free(x->scopes[i].p);
    free(x->rows);
    at_arena_free(x->a);
    free(x);
    return code;
}
