/*
 * simulate.c -- the read-only log connection, the draft, re-deciding a recorded decision
 * with another rule set, and the what-if simulation (the three replays are in
 * simulate_replay3.c, the draft in simulate_draft.c). Contract in simulate.h.
 *
 * Invariants:
 *  - Nothing here appends: the store is opened read-only, and no function takes a
 *    transaction to write with.
 *  - Re-deciding with the very rule set a decision was made with gives its recorded
 *    result: the input is the recorded one, and the facts an earlier ask of the same
 *    application added (source "decision-<application>/<ask>") are rebuilt from that ask's
 *    re-decided result exactly as the service adds them (assess.c add_own), at the end of
 *    the history, where the service put them. When changing add_own, change own_facts().
 *  - Sums are int64 cents; an overflow is AT_INTERNAL, never a wrapped figure.
 */
#include "simulate.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

/* ---- the read-only store */

/* Append `v` to buf as a conninfo value: single-quoted, with \ and ' escaped. */
static bool put_value(char *buf, size_t n, size_t *len, const char *key, const char *v)
{
    int w = snprintf(buf + *len, n - *len, "%s%s='", *len ? " " : "", key);
    if (w < 0 || (size_t)w >= n - *len)
        return false;
    *len += (size_t)w;
    for (const char *p = v; *p; p++) {
        if (*len + 3 >= n)
            return false;
        if (*p == '\\' || *p == '\'')
            buf[(*len)++] = '\\';
        buf[(*len)++] = *p;
    }
    if (*len + 2 >= n)
        return false;
    buf[(*len)++] = '\'';
    buf[*len] = 0;
    return true;
}

at_code sim_open_readonly(const char *conninfo, const char *application_name, es_store **out, at_error *err)
{
    *out = NULL;
    char *perr = NULL;
    PQconninfoOption *opts = PQconninfoParse(conninfo ? conninfo : "", &perr);
    if (!opts) {
        at_error_set(err, AT_VALIDATION, "pg", "the database address does not parse");
        at_error_detail(err, "%.300s", perr ? perr : "out of memory");
        at_error_hint(err, "Give a URL (postgresql://role@host:port/db) or key=value words.");
        PQfreemem(perr);
        return AT_VALIDATION;
    }
    /* Rebuilt as key=value words so that the read-only option is added to the caller's
     * own options (a URL's ?options=... included), never replacing them. */
    static const char ro[] = "-c default_transaction_read_only=on";
    char buf[4096], merged[1024];
    size_t len = 0;
    bool ok = true, had_options = false;
    buf[0] = 0;
    for (PQconninfoOption *o = opts; o->keyword && ok; o++) {
        if (!o->val)
            continue;
        if (strcmp(o->keyword, "options") == 0) {
            had_options = true;
            snprintf(merged, sizeof merged, "%s %s", o->val, ro);
            ok = strlen(o->val) + sizeof ro + 1 < sizeof merged && put_value(buf, sizeof buf, &len, "options", merged);
        } else {
            ok = put_value(buf, sizeof buf, &len, o->keyword, o->val);
        }
    }
    if (ok && !had_options)
        ok = put_value(buf, sizeof buf, &len, "options", ro);
    PQconninfoFree(opts);
    if (!ok)
        return at_error_set(err, AT_VALIDATION, "pg", "the database address is too long");
    es_config cfg = {.conninfo = buf, .pool_size = 2, .application_name = application_name};
    es_status st = es_open(out, &cfg, err);
    return st == ES_OK ? AT_OK : AT_UNAVAILABLE;
}

/* ---- results and their cost */

static int months_touched(at_period p)
{
    int y1, m1, d1, y2, m2, d2;
    at_date_to_ymd(p.from, &y1, &m1, &d1);
    at_date_to_ymd(p.to, &y2, &m2, &d2);
    int n = (y2 * 12 + m2) - (y1 * 12 + m1) + 1;
    return n > 0 ? n : 1;
}

static int years_touched(at_period p)
{
    int y1, m1, d1, y2, m2, d2;
    at_date_to_ymd(p.from, &y1, &m1, &d1);
    at_date_to_ymd(p.to, &y2, &m2, &d2);
    return y2 >= y1 ? y2 - y1 + 1 : 1;
}

int64_t sim_cost(const sim_result *r)
{
    if (!r->decided || !r->granted || !r->has_amount)
        return 0;
    bool closed = r->period.from != AT_DATE_NONE && r->period.to != AT_DATE_NONE;
    int64_t times = 1;
    if (r->per == RULES_PER_MONTH && closed)
        times = months_touched(r->period);
    else if (r->per == RULES_PER_YEAR && closed)
        times = years_touched(r->period);
    else if (r->per == RULES_PER_NONE)
        times = 0;
    at_cents c = 0;
    return at_cents_mul(r->amount, times, &c) ? c : INT64_MAX;
}

void sim__from_recorded(const Atb__V1__DecisionResult *r, sim_result *out)
{
    memset(out, 0, sizeof *out);
    out->decided = r != NULL;
    if (!r) {
        snprintf(out->error, sizeof out->error, "the decision has no result");
        return;
    }
    out->granted = r->outcome == ATB__V1__DECISION_OUTCOME__DECISION_OUTCOME_GRANTED;
    out->status = (int)r->status;
    out->period.from = AT_DATE_NONE;
    out->period.to = AT_DATE_NONE;
    decision_date_in(r->period_from, false, &out->period.from);
    decision_date_in(r->period_to, false, &out->period.to);
    out->has_amount = r->has_amount;
    out->amount = r->amount_cents;
    out->per = (int)r->per;
    out->units = r->units;
    snprintf(out->benefit, sizeof out->benefit, "%s", r->benefit ? r->benefit : "");
    snprintf(out->component, sizeof out->component, "%s", r->component ? r->component : "");
    out->cost = sim_cost(out);
}

static void from_rules(const rules_decision *d, sim_result *out)
{
    memset(out, 0, sizeof *out);
    out->decided = true;
    out->granted = d->outcome == RULES_GRANTED;
    out->status = (int)d->status;
    out->period = d->period;
    out->has_amount = d->has_amount;
    out->amount = d->amount;
    out->per = (int)d->per;
    out->units = d->units;
    snprintf(out->benefit, sizeof out->benefit, "%s", d->benefit ? d->benefit : "");
    snprintf(out->component, sizeof out->component, "%s", d->component ? d->component : "");
    out->cost = sim_cost(out);
}

/* ---- re-deciding with another rule set */

void sim__chain_start(sim_chain *ch, const char *application)
{
    if (strcmp(ch->app, application ? application : "") == 0)
        return;
    memset(ch, 0, sizeof *ch);
    snprintf(ch->app, sizeof ch->app, "%s", application ? application : "");
}

/* The ask index a fact's source names when it is "decision-<this application>/<ask>"
 * and that ask has been re-decided; 0 otherwise. */
static int own_ask(const sim_chain *ch, const char *source)
{
    size_t n = strlen(ch->app);
    if (!source || strncmp(source, "decision-", 9) != 0 || strncmp(source + 9, ch->app, n) != 0 ||
        source[9 + n] != '/')
        return 0;
    int k = atoi(source + 10 + n);
    return k > 0 && k <= MEANS_MAX_ASKS && ch->have[k] ? k : 0;
}

static Atb__V1__Date *date_out(at_arena *a, at_date d)
{
    return decision_date_out(a, d);
}

/* The history of `in` with the facts of its application's earlier asks replaced by what
 * the other rule set decided for them (see the invariants). */
static at_code rebuild_history(const Atb__V1__DecisionInput *in, const sim_chain *ch, at_arena *a,
                               Atb__V1__HouseholdHistory **out, bool *blocked, char *why, size_t nwhy)
{
    *blocked = false;
    const Atb__V1__HouseholdHistory *h = in->history;
    size_t ng = h ? h->n_grants : 0, ns = h ? h->n_statuses : 0;
    Atb__V1__HouseholdHistory *p = at_arena_alloc(a, sizeof *p);
    if (!p)
        return AT_INTERNAL;
    atb__v1__household_history__init(p);
    p->grants = at_arena_alloc(a, (ng + MEANS_MAX_ASKS) * sizeof *p->grants);
    p->statuses = at_arena_alloc(a, (ns + MEANS_MAX_ASKS) * sizeof *p->statuses);
    if (!p->grants || !p->statuses)
        return AT_INTERNAL;
    for (size_t i = 0; i < ng; i++)
        if (!own_ask(ch, h->grants[i]->source))
            p->grants[p->n_grants++] = h->grants[i];
    for (size_t i = 0; i < ns; i++)
        if (!own_ask(ch, h->statuses[i]->source))
            p->statuses[p->n_statuses++] = h->statuses[i];
    if (h) {
        p->memberships = h->memberships;
        p->n_memberships = h->n_memberships;
    }
    for (int k = 1; k < in->ask_index && k <= MEANS_MAX_ASKS; k++) {
        if (!ch->have[k])
            continue;
        const sim_result *r = &ch->res[k];
        if (!r->decided) {
            *blocked = true;
            snprintf(why, nwhy, "ask %d of the application could not be decided: %.150s", k, r->error);
            return AT_OK;
        }
        if (!r->granted)
            continue;
        char src[MEANS_MAX_KEY + 48];
        snprintf(src, sizeof src, "decision-%s/%d", ch->app, k);
        char *s = at_arena_strdup(a, src);
        if (!s)
            return AT_INTERNAL;
        if (ch->status_ask[k]) {
            Atb__V1__StatusFact *f = at_arena_alloc(a, sizeof *f);
            if (!f)
                return AT_INTERNAL;
            atb__v1__status_fact__init(f);
            f->status = (Atb__V1__MeansStatus)r->status;
            f->from = date_out(a, r->period.from);
            f->to = date_out(a, r->period.to);
            f->source = s;
            p->statuses[p->n_statuses++] = f;
            continue;
        }
        Atb__V1__GrantFact *f = at_arena_alloc(a, sizeof *f);
        if (!f)
            return AT_INTERNAL;
        atb__v1__grant_fact__init(f);
        f->benefit = at_arena_strdup(a, r->component[0] ? r->component : r->benefit);
        f->decided_on = ch->decided_on[k];
        f->member = ch->member[k];
        f->amount_cents = r->has_amount ? r->amount : 0;
        f->units = r->units;
        f->event_date = ch->event[k];
        f->receipts_pending = true;
        f->source = s;
        if (!f->benefit)
            return AT_INTERNAL;
        p->grants[p->n_grants++] = f;
    }
    *out = p;
    return AT_OK;
}

static bool is_status_kind(Atb__V1__AskKind k)
{
    return k == ATB__V1__ASK_KIND__ASK_KIND_NEEDY_STATUS || k == ATB__V1__ASK_KIND__ASK_KIND_LOW_INCOME_STATUS;
}

at_code sim__redecide(const rules_set *set, const Atb__V1__DecisionInput *in, sim_chain *ch, at_arena *a,
                      sim_result *out, at_error *err)
{
    memset(out, 0, sizeof *out);
    Atb__V1__DecisionInput copy = *in;
    bool blocked = false;
    if (rebuild_history(in, ch, a, &copy.history, &blocked, out->error, sizeof out->error) != AT_OK)
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    if (!blocked) {
        decision_rules dr;
        at_error e2;
        at_error_clear(&e2);
        rules_result *res = NULL;
        at_code code = decision_to_rules(&copy, "ask", a, &dr, &e2);
        if (code == AT_OK)
            code = rules_decide(set, &dr.h, &dr.a, &dr.hist, &res, &e2);
        if (code == AT_INTERNAL)
            return at_error_set(err, AT_INTERNAL, NULL, "%s", e2.message);
        if (code == AT_OK)
            from_rules(rules_result_decision(res), out);
        else
            snprintf(out->error, sizeof out->error, "%s", e2.message);
        rules_result_free(res);
    }
    sim__chain_put(ch, in, out);
    return AT_OK;
}

void sim__chain_put(sim_chain *ch, const Atb__V1__DecisionInput *in, const sim_result *r)
{
    int k = in->ask_index;
    if (k <= 0 || k > MEANS_MAX_ASKS || !in->ask)
        return;
    ch->have[k] = true;
    ch->res[k] = *r;
    ch->status_ask[k] = is_status_kind(in->ask->kind);
    ch->decided_on[k] = in->decision_date;
    ch->event[k] = in->ask->event_date;
    ch->member[k] = in->ask->subject && in->ask->subject[0] ? in->ask->subject : in->applicant;
}

void sim__benefit_key(const Atb__V1__DecisionInput *in, char *buf, size_t n)
{
    Atb__V1__AskKind k = in->ask ? in->ask->kind : ATB__V1__ASK_KIND__ASK_KIND_UNSPECIFIED;
    switch (k) {
    case ATB__V1__ASK_KIND__ASK_KIND_NEEDY_STATUS: snprintf(buf, n, "status:needy"); break;
    case ATB__V1__ASK_KIND__ASK_KIND_LOW_INCOME_STATUS: snprintf(buf, n, "status:low_income"); break;
    case ATB__V1__ASK_KIND__ASK_KIND_GMI: snprintf(buf, n, "GMI"); break;
    case ATB__V1__ASK_KIND__ASK_KIND_HOUSING: snprintf(buf, n, "HOUSING"); break;
    default: snprintf(buf, n, "%s", in->ask && in->ask->benefit ? in->ask->benefit : "?"); break;
    }
}

bool sim__in_period(const Atb__V1__DecisionInput *in, at_date from, at_date to, at_date *on)
{
    at_date d = AT_DATE_NONE;
    if (!decision_date_in(in->decision_date, false, &d) || d == AT_DATE_NONE)
        return false;
    *on = d;
    return (from == AT_DATE_NONE || d >= from) && (to == AT_DATE_NONE || d <= to);
}

/* ---- the simulation */

typedef struct row {
    char household[37];
    char application[37];
    int ask;
    char benefit[MEANS_MAX_KEY + 8];
    bool granted_before, granted_after, overridden;
    int64_t before, after;
} row;

typedef struct ovr {
    char application[37];
    int ask;
} ovr;

typedef struct sim_state {
    row *rows;
    size_t n_rows, cap_rows;
    ovr *ovrs;
    size_t n_ovrs, cap_ovrs;
} sim_state;

static bool grow(void **p, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return true;
    size_t nc = *cap ? *cap * 2 : 1024;
    void *q = realloc(*p, nc * size);
    if (!q)
        return false;
    *p = q;
    *cap = nc;
    return true;
}

static void copy_id(char dst[37], const char *src)
{
    snprintf(dst, 37, "%s", src ? src : "");
}

static at_code note_override(sim_state *s, const es_event *ev, at_arena *a)
{
    Atb__V1__DecisionOverridden *o = atb__v1__decision_overridden__unpack(at_arena_pbc(a), ev->payload_len, ev->payload);
    if (!o)
        return AT_OK;
    if (!grow((void **)&s->ovrs, &s->cap_ovrs, s->n_ovrs, sizeof *s->ovrs))
        return AT_INTERNAL;
    ovr *v = &s->ovrs[s->n_ovrs++];
    copy_id(v->application, o->application_id);
    v->ask = o->ask_index;
    return AT_OK;
}

#define SIM_BATCH 2000

static at_code sim_tenant(es_store *es, const sim_draft *draft, const sim_opts *o, const char *tenant,
                          sim_state *s, sim_report *rep, at_error *err)
{
    static const char *const categories[] = {"decision"};
    es_filter f = {.tenant = tenant, .categories = categories, .n_categories = 1};
    at_arena *a = at_arena_new(256 * 1024);
    if (!a)
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    sim_chain *ch = calloc(1, sizeof *ch);
    if (!ch) {
        at_arena_free(a);
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    }
    at_code code = AT_OK;
    int64_t after = 0;
    for (;;) {
        es_batch *b = NULL;
        es_status st = es_read_all(es, after, SIM_BATCH, &f, &b, err);
        if (st != ES_OK) {
            code = es_status_code(st);
            break;
        }
        size_t n = es_batch_count(b);
        for (size_t i = 0; i < n && code == AT_OK; i++) {
            const es_event *ev = es_batch_get(b, i);
            after = ev->position;
            if (ev->position > rep->head)
                continue;   /* appended after the simulation began: not part of it */
            if (strcmp(ev->type, MEANS_EV_OVERRIDDEN) == 0) {
                if (note_override(s, ev, a) != AT_OK)
                    code = at_error_set(err, AT_INTERNAL, NULL, "out of memory");
                continue;
            }
            if (!decision_is_event_type(ev->type))
                continue;
            const char *app = ev->stream_id + 9;
            if (strcmp(ch->app, app) != 0) {
                at_arena_reset(a);    /* the chain points into the arena only for its own application */
                sim__chain_start(ch, app);
            }
            Atb__V1__Decision *d = decision_unpack(a, ev);
            at_date on;
            if (!d || !d->input || !d->input->household || !sim__in_period(d->input, o->from, o->to, &on))
                continue;
            const rules_set *set = sim_draft_set(draft, ev->tenant);
            if (!set) {
                rep->untouched++;
                continue;
            }
            sim_result before, now;
            sim__from_recorded(d->result, &before);
            if ((code = sim__redecide(set, d->input, ch, a, &now, err)) != AT_OK)
                break;
            rep->decisions++;
            if (!now.decided) {
                if (!rep->undecidable++)
                    snprintf(rep->first_error, sizeof rep->first_error, "application %s ask %d: %.200s", app,
                             (int)d->ask_index, now.error);
                continue;
            }
            if (!grow((void **)&s->rows, &s->cap_rows, s->n_rows, sizeof *s->rows)) {
                code = at_error_set(err, AT_INTERNAL, NULL, "out of memory");
                break;
            }
            row *r = &s->rows[s->n_rows++];
            memset(r, 0, sizeof *r);
            copy_id(r->household, d->input->household->id);
            copy_id(r->application, app);
            r->ask = d->ask_index;
            sim__benefit_key(d->input, r->benefit, sizeof r->benefit);
            r->granted_before = before.granted;
            r->granted_after = now.granted;
            r->before = before.cost;
            r->after = now.cost;
        }
        es_batch_free(b);
        if (code != AT_OK || n < SIM_BATCH)
            break;
    }
    free(ch);
    at_arena_free(a);
    return code;
}

static int ovr_cmp(const void *x, const void *y)
{
    const ovr *a = x, *b = y;
    int c = strcmp(a->application, b->application);
    return c ? c : (a->ask > b->ask) - (a->ask < b->ask);
}

static int by_benefit_household(const void *x, const void *y)
{
    const row *a = x, *b = y;
    int c = strcmp(a->benefit, b->benefit);
    if (!c)
        c = strcmp(a->household, b->household);
    return c ? c : strcmp(a->application, b->application);
}

static int by_household(const void *x, const void *y)
{
    const row *a = x, *b = y;
    int c = strcmp(a->household, b->household);
    return c ? c : strcmp(a->application, b->application);
}

const char *sim_group_name(sim_group g)
{
    static const char *const names[] = {"gain", "lose", "new", "drop", "same", "neither"};
    return g < SIM_N_GROUPS ? names[g] : "?";
}

static sim_group classify(bool gb, bool ga, int64_t before, int64_t after)
{
    if (!gb && !ga)
        return SIM_NEITHER;
    if (!gb)
        return SIM_NEW;
    if (!ga)
        return SIM_DROP;
    return after > before ? SIM_GAIN : after < before ? SIM_LOSE : SIM_SAME;
}

/* One household's rows rows[i..j) into line l. On the total line (benefits_only) a status
 * alone does not make a household "granted": newly qualifying there means a first benefit,
 * which is what a council asks; statuses have lines of their own. */
static bool add_household(sim_line *l, const row *rows, size_t i, size_t j, size_t max_examples, bool benefits_only)
{
    bool gb = false, ga = false;
    int64_t before = 0, after = 0;
    for (size_t k = i; k < j; k++) {
        bool counts = !benefits_only || strncmp(rows[k].benefit, "status:", 7) != 0;
        gb = gb || (counts && rows[k].granted_before);
        ga = ga || (counts && rows[k].granted_after);
        if (!at_cents_add(before, rows[k].before, &before) || !at_cents_add(after, rows[k].after, &after))
            return false;
    }
    l->decisions += (long)(j - i);
    if (!at_cents_add(l->before, before, &l->before) || !at_cents_add(l->after, after, &l->after))
        return false;
    sim_group g = classify(gb, ga, before, after);
    l->households[g]++;
    if (l->n_examples[g] < max_examples) {
        sim_example *e = &l->examples[g][l->n_examples[g]++];
        copy_id(e->household, rows[i].household);
        copy_id(e->application, rows[i].application);
        e->before = before;
        e->after = after;
    }
    return true;
}

static sim_line *new_line(sim_report *r, size_t *cap, const char *benefit)
{
    if (!grow((void **)&r->lines, cap, r->n_lines, sizeof *r->lines))
        return NULL;
    sim_line *l = &r->lines[r->n_lines++];
    memset(l, 0, sizeof *l);
    snprintf(l->benefit, sizeof l->benefit, "%s", benefit);
    return l;
}

static at_code aggregate(sim_state *s, const sim_opts *o, sim_report *rep, at_error *err)
{
    size_t max_ex = o->examples ? o->examples : 5;
    if (max_ex > SIM_MAX_EXAMPLES)
        max_ex = SIM_MAX_EXAMPLES;
    /* a decision replaced by people is theirs, not the rules': left out */
    if (s->n_ovrs) /* qsort's pointer must not be NULL, even for no elements */
        qsort(s->ovrs, s->n_ovrs, sizeof *s->ovrs, ovr_cmp);
    size_t kept = 0;
    for (size_t i = 0; i < s->n_rows; i++) {
        ovr key;
        copy_id(key.application, s->rows[i].application);
        key.ask = s->rows[i].ask;
        if (s->n_ovrs && bsearch(&key, s->ovrs, s->n_ovrs, sizeof *s->ovrs, ovr_cmp)) {
            rep->overridden++;
            rep->decisions--;
            continue;
        }
        s->rows[kept++] = s->rows[i];
    }
    s->n_rows = kept;
    size_t cap = 0;
    if (s->n_rows)
        qsort(s->rows, s->n_rows, sizeof *s->rows, by_benefit_household);
    for (size_t i = 0; i < s->n_rows;) {
        sim_line *l = new_line(rep, &cap, s->rows[i].benefit);
        if (!l)
            return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
        size_t end = i;
        while (end < s->n_rows && strcmp(s->rows[end].benefit, l->benefit) == 0)
            end++;
        for (size_t h = i; h < end;) {
            size_t e = h;
            while (e < end && strcmp(s->rows[e].household, s->rows[h].household) == 0)
                e++;
            if (!add_household(l, s->rows, h, e, max_ex, false))
                return at_error_set(err, AT_INTERNAL, NULL, "the cost does not fit in 64 bits");
            h = e;
        }
        i = end;
    }
    sim_line *t = new_line(rep, &cap, "total");
    if (!t)
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    if (s->n_rows)
        qsort(s->rows, s->n_rows, sizeof *s->rows, by_household);
    for (size_t h = 0; h < s->n_rows;) {
        size_t e = h;
        while (e < s->n_rows && strcmp(s->rows[e].household, s->rows[h].household) == 0)
            e++;
        if (!add_household(t, s->rows, h, e, max_ex, true))
            return at_error_set(err, AT_INTERNAL, NULL, "the cost does not fit in 64 bits");
        h = e;
    }
    return AT_OK;
}

at_code sim_run(es_store *es, const sim_draft *draft, const sim_opts *o, sim_report *out, at_error *err)
{
    memset(out, 0, sizeof *out);
    es_status st = es_head(es, &out->head, err);
    if (st != ES_OK)
        return es_status_code(st);
    sim_state s = {0};
    at_code code = AT_OK;
    if (o->n_tenants == 0)
        code = sim_tenant(es, draft, o, NULL, &s, out, err);
    for (size_t i = 0; i < o->n_tenants && code == AT_OK; i++)
        code = sim_tenant(es, draft, o, o->tenants[i], &s, out, err);
    if (code == AT_OK)
        code = aggregate(&s, o, out, err);
    free(s.rows);
    free(s.ovrs);
    if (code != AT_OK)
        sim_report_free(out);
    return code;
}

void sim_report_free(sim_report *r)
{
    if (!r)
        return;
    free(r->lines);
    r->lines = NULL;
    r->n_lines = 0;
}
