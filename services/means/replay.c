/*
 * replay.c -- rebuild a recorded decision from the log alone and prove it equal.
 *
 * A decision event carries its whole input and names the rule-set version it used; the
 * RuleSetPublished event of that version carries the rule set's canonical bytes. The
 * replay takes nothing else: not the files, not the service's state, not the clock.
 *
 * Order of the checks, and why: the event must decode and belong to its stream; the
 * input must hash to the recorded SHA-256 (else the input itself was changed and nothing
 * after it would mean anything); the rule set must be the municipality's own, be in the
 * log and load to the same version; then the calculation runs and every step is compared in order (labels, values,
 * result, outcome, every parameter read), then the result field by field, then the event
 * type the result implies. The first difference is reported with both values; a decision
 * that cannot be rebuilt at all is a mismatch too, never an error of the replay.
 *
 * When adding a field to Decision, ExplanationStep or DecisionResult: compare it below.
 */
#include "means_core.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "at_uuid.h"

typedef struct cmp {
    at_arena *a;
    Atb__V1__ReplayMismatch *m;    /* NULL until the first difference */
    bool oom;
} cmp;

static char *dup(cmp *c, const char *s)
{
    char *p = at_arena_strdup(c->a, s ? s : "");
    if (!p) {
        c->oom = true;
        return (char *)"";
    }
    return p;
}

static bool differ(cmp *c, const char *where, int step, const Atb__V1__ExplanationStep *st, const char *field,
                   const char *recorded, const char *replayed)
{
    if (c->m)
        return true;
    Atb__V1__ReplayMismatch *m = at_arena_alloc(c->a, sizeof *m);
    if (!m) {
        c->oom = true;
        return true;
    }
    atb__v1__replay_mismatch__init(m);
    m->where = dup(c, where);
    m->step = step;
    m->label_lv = dup(c, st ? st->label_lv : "");
    m->label_en = dup(c, st ? st->label_en : "");
    m->field = dup(c, field);
    m->recorded = dup(c, recorded);
    m->replayed = dup(c, replayed);
    c->m = m;
    return true;
}

static const char *s_or(const char *s)
{
    return s ? s : "";
}

static bool str_differ(cmp *c, const char *where, int step, const Atb__V1__ExplanationStep *st, const char *field,
                       const char *recorded, const char *replayed)
{
    if (strcmp(s_or(recorded), s_or(replayed)) == 0)
        return false;
    return differ(c, where, step, st, field, s_or(recorded), s_or(replayed));
}

static bool int_differ(cmp *c, const char *where, int step, const Atb__V1__ExplanationStep *st, const char *field,
                       int64_t recorded, int64_t replayed)
{
    if (recorded == replayed)
        return false;
    char r1[32], r2[32];
    snprintf(r1, sizeof r1, "%" PRId64, recorded);
    snprintf(r2, sizeof r2, "%" PRId64, replayed);
    return differ(c, where, step, st, field, r1, r2);
}

static void date_text(const Atb__V1__Date *d, char *buf, size_t n)
{
    if (!d || (d->year == 0 && d->month == 0 && d->day == 0))
        snprintf(buf, n, "-");
    else
        snprintf(buf, n, "%04d-%02d-%02d", (int)d->year, (int)d->month, (int)d->day);
}

/* Equal as date_text would print them: NULL and all-zero are the same "-". */
static bool date_same(const Atb__V1__Date *x, const Atb__V1__Date *y)
{
    bool nx = !x || (x->year == 0 && x->month == 0 && x->day == 0);
    bool ny = !y || (y->year == 0 && y->month == 0 && y->day == 0);
    if (nx || ny)
        return nx == ny;
    return x->year == y->year && x->month == y->month && x->day == y->day;
}

/* Dates are compared as numbers and printed only when they differ: a decision has a few
 * hundred of them (every parameter read has two), and printing each was a tenth of the
 * audit's time. */
static bool date_differ(cmp *c, const char *where, int step, const Atb__V1__ExplanationStep *st, const char *field,
                        const Atb__V1__Date *recorded, const Atb__V1__Date *replayed)
{
    if (date_same(recorded, replayed))
        return false;
    char r1[16], r2[16];
    date_text(recorded, r1, sizeof r1);
    date_text(replayed, r2, sizeof r2);
    return str_differ(c, where, step, st, field, r1, r2);
}

/* The i-th parameter read of step no. The field's name ("reads.3.value") is printed only
 * when it differs: a decision has hundreds of reads, and naming each field up front cost
 * more than comparing it. */
static bool read_differ(cmp *c, int no, const Atb__V1__ExplanationStep *r, size_t i, const Atb__V1__ParameterRead *x,
                        const Atb__V1__ParameterRead *y)
{
    if (strcmp(s_or(x->name), s_or(y->name)) == 0 && strcmp(s_or(x->value), s_or(y->value)) == 0 &&
        date_same(x->from, y->from) && date_same(x->to, y->to) && strcmp(s_or(x->scope), s_or(y->scope)) == 0 &&
        strcmp(s_or(x->source), s_or(y->source)) == 0 && strcmp(s_or(x->note), s_or(y->note)) == 0)
        return false;
    char f[64];
#define FIELD(name) (snprintf(f, sizeof f, "reads.%zu." name, i + 1), f)
    return str_differ(c, "step", no, r, FIELD("name"), x->name, y->name) ||
           str_differ(c, "step", no, r, FIELD("value"), x->value, y->value) ||
           date_differ(c, "step", no, r, FIELD("from"), x->from, y->from) ||
           date_differ(c, "step", no, r, FIELD("to"), x->to, y->to) ||
           str_differ(c, "step", no, r, FIELD("scope"), x->scope, y->scope) ||
           str_differ(c, "step", no, r, FIELD("source"), x->source, y->source) ||
           str_differ(c, "step", no, r, FIELD("note"), x->note, y->note);
#undef FIELD
}

static bool step_differ(cmp *c, int no, const Atb__V1__ExplanationStep *r, const Atb__V1__ExplanationStep *p)
{
    if (str_differ(c, "step", no, r, "label_lv", r->label_lv, p->label_lv) ||
        str_differ(c, "step", no, r, "label_en", r->label_en, p->label_en) ||
        str_differ(c, "step", no, r, "values", r->values, p->values) ||
        str_differ(c, "step", no, r, "result", r->result, p->result) ||
        int_differ(c, "step", no, r, "outcome", r->outcome, p->outcome))
        return true;
    size_t n = r->n_reads < p->n_reads ? r->n_reads : p->n_reads;
    for (size_t i = 0; i < n; i++)
        if (read_differ(c, no, r, i, r->reads[i], p->reads[i]))
            return true;
    return int_differ(c, "step", no, r, "reads", (int64_t)r->n_reads, (int64_t)p->n_reads);
}

static bool result_differ(cmp *c, const char *where, const Atb__V1__DecisionResult *r,
                          const Atb__V1__DecisionResult *p)
{
    if (!r)
        return differ(c, where, 0, NULL, where, "(none)", "a result");
    if (int_differ(c, where, 0, NULL, "outcome", r->outcome, p->outcome) ||
        int_differ(c, where, 0, NULL, "ask", r->ask, p->ask) ||
        str_differ(c, where, 0, NULL, "benefit", r->benefit, p->benefit) ||
        str_differ(c, where, 0, NULL, "component", r->component, p->component) ||
        int_differ(c, where, 0, NULL, "status", r->status, p->status) ||
        date_differ(c, where, 0, NULL, "period_from", r->period_from, p->period_from) ||
        date_differ(c, where, 0, NULL, "period_to", r->period_to, p->period_to) ||
        int_differ(c, where, 0, NULL, "has_amount", r->has_amount, p->has_amount) ||
        int_differ(c, where, 0, NULL, "amount_cents", r->amount_cents, p->amount_cents) ||
        int_differ(c, where, 0, NULL, "per", r->per, p->per) ||
        int_differ(c, where, 0, NULL, "units", r->units, p->units) ||
        str_differ(c, where, 0, NULL, "unit_name", r->unit_name, p->unit_name) ||
        int_differ(c, where, 0, NULL, "payment", r->payment, p->payment) ||
        str_differ(c, where, 0, NULL, "budget_code", r->budget_code, p->budget_code))
        return true;
    size_t n = r->n_reasons < p->n_reasons ? r->n_reasons : p->n_reasons;
    for (size_t i = 0; i < n; i++) {
        char f[48];
        snprintf(f, sizeof f, "reasons.%zu", i + 1);
        if (str_differ(c, where, 0, NULL, f, r->reasons[i]->code, p->reasons[i]->code))
            return true;
        snprintf(f, sizeof f, "reasons.%zu.text_lv", i + 1);
        if (str_differ(c, where, 0, NULL, f, r->reasons[i]->text_lv, p->reasons[i]->text_lv))
            return true;
        snprintf(f, sizeof f, "reasons.%zu.text_en", i + 1);
        if (str_differ(c, where, 0, NULL, f, r->reasons[i]->text_en, p->reasons[i]->text_en))
            return true;
    }
    return int_differ(c, where, 0, NULL, "reasons", (int64_t)r->n_reasons, (int64_t)p->n_reasons);
}

/* The recorded steps against the rebuilt ones, in order, then their count; *compared is
 * the number of steps both have. */
static bool steps_differ(cmp *c, Atb__V1__ExplanationStep *const *r, size_t nr, Atb__V1__ExplanationStep *const *p,
                         size_t np, int32_t *compared)
{
    size_t n = nr < np ? nr : np;
    for (size_t i = 0; i < n; i++)
        if (step_differ(c, (int)i + 1, r[i], p[i]))
            return true;
    *compared = (int32_t)n;
    return int_differ(c, "steps", 0, NULL, "count", (int64_t)nr, (int64_t)np);
}

/* Compare and rebuild; fills c->m on the first difference. */
static at_code rebuild(ruleset_cache *rc, es_store *es, const es_event *ev, const Atb__V1__Decision *d, cmp *c,
                       Atb__V1__ReplayedDecision *out, at_error *err)
{
    char stream[96];
    snprintf(stream, sizeof stream, "decision-%s", s_or(d->application_id));
    if (str_differ(c, "event", 0, NULL, "stream_id", stream, ev->stream_id))
        return AT_OK;
    const Atb__V1__DecisionInput *in = d->input;
    if (!in) {
        differ(c, "input", 0, NULL, "input", "(none)", "an input");
        return AT_OK;
    }
    if (str_differ(c, "input", 0, NULL, "application_id", d->application_id, in->application_id) ||
        str_differ(c, "input", 0, NULL, "tenant", ev->tenant, in->tenant) ||
        int_differ(c, "input", 0, NULL, "ask_index", d->ask_index, in->ask_index))
        return AT_OK;
    char hash[65];
    at_code code = decision_input_hash(in, c->a, hash, err);
    if (code != AT_OK)
        return code;
    if (str_differ(c, "input", 0, NULL, "input_sha256", d->input_sha256, hash))
        return AT_OK;
    if (d->n_rule_sets != 1) {
        int_differ(c, "rule_set", 0, NULL, "rule_sets", (int64_t)d->n_rule_sets, 1);
        return AT_OK;
    }
    const Atb__V1__RuleSetRef *ref = d->rule_sets[0];
    /* a municipality's decisions use its own rule set */
    if (str_differ(c, "rule_set", 0, NULL, "scope", ev->tenant, ref->scope))
        return AT_OK;
    const rules_set *set = NULL;
    int64_t pos = 0;
    code = ruleset_cache_version(rc, es, ref->scope, ref->version, ref->position, &set, &pos, err);
    if (code == AT_UNAVAILABLE || code == AT_INTERNAL)
        return code;
    if (code != AT_OK) {
        differ(c, "rule_set", 0, NULL, "version", s_or(ref->version), err ? err->message : "not in the log");
        return AT_OK;
    }
    if (int_differ(c, "rule_set", 0, NULL, "position", ref->position, pos))
        return AT_OK;

    decision_rules dr;
    at_error e2;
    at_error_clear(&e2);
    if (decision_to_rules(in, "ask", c->a, &dr, &e2) != AT_OK) {
        if (e2.code == AT_INTERNAL)
            return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
        differ(c, "input", 0, NULL, e2.field, "accepted", e2.message);
        return AT_OK;
    }
    rules_result *res = NULL;
    code = rules_decide(set, &dr.h, &dr.a, &dr.hist, &res, &e2);
    if (code == AT_INTERNAL)
        return at_error_set(err, AT_INTERNAL, NULL, "%s", e2.message);
    if (code != AT_OK) {
        differ(c, "result", 0, NULL, "error", "a decision", e2.message);
        return AT_OK;
    }
    Atb__V1__Decision *p = NULL;
    code = decision_build(c->a, in, res, ref, &p, err);
    rules_result_free(res);
    if (code != AT_OK)
        return code;

    if (steps_differ(c, d->steps, d->n_steps, p->steps, p->n_steps, &out->steps) ||
        result_differ(c, "result", d->result, p->result))
        return AT_OK;
    str_differ(c, "event", 0, NULL, "type", ev->type, decision_event_type(p->result));
    return AT_OK;
}

at_code replay_event(ruleset_cache *rc, es_store *es, const es_event *ev, at_arena *a,
                     Atb__V1__ReplayedDecision *out, at_error *err)
{
    cmp c = {.a = a};
    atb__v1__replayed_decision__init(out);
    out->event_type = dup(&c, ev->type);
    out->position = ev->position;
    Atb__V1__Decision *d = decision_unpack(a, ev);
    at_code code = AT_OK;
    if (!d) {
        differ(&c, "event", 0, NULL, "payload", "a Decision", "bytes that do not decode");
    } else {
        out->ask_index = d->ask_index;
        out->rule_set_versions = at_arena_alloc(a, (d->n_rule_sets + 1) * sizeof(char *));
        if (!out->rule_set_versions)
            return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
        for (size_t i = 0; i < d->n_rule_sets; i++)
            out->rule_set_versions[out->n_rule_set_versions++] = dup(&c, d->rule_sets[i]->version);
        code = rebuild(rc, es, ev, d, &c, out, err);
    }
    if (c.oom)
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    out->mismatch = c.m;
    out->proven = code == AT_OK && !c.m;
    return code;
}

/* ---- a recalculation at a change of the GMI level ------------------------------------ */

/* The recorded input, dated the day of the change, with the grant itself in its history
 * (a fact of the log: "decision-<id>/<ask>"). Changes d->input in place (arena memory). */
static at_code level_change_input(at_arena *a, Atb__V1__Decision *d, const Atb__V1__DecisionResult *cur,
                                  at_date day, at_error *err)
{
    Atb__V1__DecisionInput *in = d->input;
    at_date decided;
    decision_date_in(in->decision_date, false, &decided);
    in->decision_date = decision_date_out(a, day);
    if (!in->history) {
        in->history = at_arena_alloc(a, sizeof *in->history);
        if (!in->history)
            return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
        atb__v1__household_history__init(in->history);
    }
    Atb__V1__HouseholdHistory *h = in->history;
    Atb__V1__GrantFact *g = at_arena_alloc(a, sizeof *g);
    Atb__V1__GrantFact **grants = at_arena_alloc(a, (h->n_grants + 1) * sizeof *grants);
    char src[96];
    snprintf(src, sizeof src, "decision-%s/%d", s_or(d->application_id), (int)d->ask_index);
    if (!g || !grants)
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    atb__v1__grant_fact__init(g);
    g->benefit = cur->benefit && cur->benefit[0] ? cur->benefit : (char *)"GMI";
    g->decided_on = decision_date_out(a, decided);
    g->member = in->ask && in->ask->subject && in->ask->subject[0] ? in->ask->subject : in->applicant;
    g->amount_cents = cur->amount_cents;
    g->source = at_arena_strdup(a, src);
    if (h->n_grants)
        memcpy(grants, h->grants, h->n_grants * sizeof *grants);
    grants[h->n_grants] = g;
    h->grants = grants;
    h->n_grants++;
    return g->source ? AT_OK : at_error_set(err, AT_INTERNAL, NULL, "out of memory");
}

at_code decision_redecide_at_level_change(at_arena *a, const rules_set *set, const Atb__V1__RuleSetRef *ref,
                                          Atb__V1__Decision *d, const Atb__V1__DecisionResult *current, at_date day,
                                          Atb__V1__Decision **out, at_error *err)
{
    *out = NULL;
    if (!d->input || !d->input->household || !d->input->ask)
        return at_error_set(err, AT_VALIDATION, "input", "the grant has no recorded input");
    at_code code = level_change_input(a, d, current, day, err);
    if (code != AT_OK)
        return code;
    decision_rules dr;
    if ((code = decision_to_rules(d->input, "ask", a, &dr, err)) != AT_OK)
        return code;
    rules_result *res = NULL;
    if ((code = rules_decide(set, &dr.h, &dr.a, &dr.hist, &res, err)) != AT_OK)
        return code == AT_INTERNAL ? code : AT_VALIDATION;
    Atb__V1__Decision *p = NULL;
    code = decision_build(a, d->input, res, ref, &p, err);
    rules_result_free(res);
    if (code != AT_OK)
        return code;
    /* the grant's own ask, benefit and period: only the amount is decided again */
    Atb__V1__DecisionResult *r = p->result;
    r->ask = current->ask;
    r->benefit = current->benefit;
    if (r->outcome == ATB__V1__DECISION_OUTCOME__DECISION_OUTCOME_GRANTED) {
        r->period_from = current->period_from;
        r->period_to = current->period_to;
    }
    *out = p;
    return AT_OK;
}

bool replay_is_level_change(const es_event *ev, at_arena *a)
{
    if (strcmp(ev->type, MEANS_EV_OVERRIDDEN) != 0)
        return false;
    Atb__V1__DecisionOverridden *o =
        atb__v1__decision_overridden__unpack(at_arena_pbc(a), ev->payload_len, ev->payload);
    /* bytes that do not decode are not a decision of people: the replay reports them */
    return !o || o->kind == ATB__V1__OVERRIDE_KIND__OVERRIDE_KIND_LEVEL_CHANGE;
}

/* What the stream held before the override: the decision of its ask, and the newest
 * result (the decision's, or that of an earlier recalculation). */
typedef struct lc_before {
    Atb__V1__Decision *decision;
    int64_t position;
    const Atb__V1__DecisionResult *current;
    bool by_people;
} lc_before;

static at_code stream_before(es_store *es, const es_event *ev, int ask, at_arena *a, lc_before *s, at_error *err)
{
    memset(s, 0, sizeof *s);
    if (ev->version <= 1)
        return AT_OK;
    es_batch *b = NULL;
    es_status st = es_read_stream(es, ev->stream_id, 1, (size_t)(ev->version - 1), &b, err);
    if (st != ES_OK)
        return es_status_code(st);
    for (size_t i = 0; i < es_batch_count(b); i++) {
        const es_event *e = es_batch_get(b, i);
        if (decision_is_event_type(e->type)) {
            Atb__V1__Decision *d = decision_unpack(a, e);
            if (d && d->ask_index == ask && d->result) {
                s->decision = d;
                s->position = e->position;
                s->current = d->result;
                s->by_people = false;
            }
        } else if (strcmp(e->type, MEANS_EV_OVERRIDDEN) == 0 && s->decision) {
            Atb__V1__DecisionOverridden *o =
                atb__v1__decision_overridden__unpack(at_arena_pbc(a), e->payload_len, e->payload);
            if (o && o->ask_index == ask && o->result) {
                s->current = o->result;
                s->by_people |= o->kind != ATB__V1__OVERRIDE_KIND__OVERRIDE_KIND_LEVEL_CHANGE;
            }
        }
    }
    es_batch_free(b);
    return AT_OK;
}

/* Compare and re-derive a LEVEL_CHANGE override; fills c->m on the first difference. */
static at_code rebuild_level_change(ruleset_cache *rc, es_store *es, const es_event *ev,
                                    const Atb__V1__DecisionOverridden *o, cmp *c, Atb__V1__ReplayedDecision *out,
                                    at_error *err)
{
    char stream[96];
    snprintf(stream, sizeof stream, "decision-%s", s_or(o->application_id));
    if (int_differ(c, "event", 0, NULL, "kind", ATB__V1__OVERRIDE_KIND__OVERRIDE_KIND_LEVEL_CHANGE, o->kind) ||
        str_differ(c, "event", 0, NULL, "stream_id", stream, ev->stream_id))
        return AT_OK;
    at_date day;
    if (!decision_date_in(o->effective_from, false, &day) || day == AT_DATE_NONE) {
        differ(c, "event", 0, NULL, "effective_from", "a day", "none");
        return AT_OK;
    }
    /* payments reads decided_on: the last day of the old amount */
    Atb__V1__Date *last = decision_date_out(c->a, day - 1);
    if (date_differ(c, "event", 0, NULL, "decided_on", o->decided_on, last))
        return AT_OK;

    lc_before s;
    at_code code = stream_before(es, ev, o->ask_index, c->a, &s, err);
    if (code != AT_OK)
        return code;
    if (!s.decision) {
        differ(c, "input", 0, NULL, "decision", "a decision before it", "none on the stream");
        return AT_OK;
    }
    if (s.by_people) {
        /* a recalculation would undo a decision of people: one is never made after one */
        differ(c, "event", 0, NULL, "kind", "level_change", "none: a decision of people came before it");
        return AT_OK;
    }
    if (int_differ(c, "event", 0, NULL, "overridden_position", o->overridden_position, s.position) ||
        result_differ(c, "previous", o->previous, s.current))
        return AT_OK;

    const Atb__V1__RuleSetRef *ref = o->rule_set;
    if (!ref) {
        differ(c, "rule_set", 0, NULL, "rule_set", "(none)", "a rule set");
        return AT_OK;
    }
    if (str_differ(c, "rule_set", 0, NULL, "scope", ev->tenant, ref->scope))
        return AT_OK;
    const rules_set *set = NULL;
    int64_t pos = 0;
    code = ruleset_cache_version(rc, es, ref->scope, ref->version, ref->position, &set, &pos, err);
    if (code == AT_UNAVAILABLE || code == AT_INTERNAL)
        return code;
    if (code != AT_OK) {
        differ(c, "rule_set", 0, NULL, "version", s_or(ref->version), err ? err->message : "not in the log");
        return AT_OK;
    }
    if (int_differ(c, "rule_set", 0, NULL, "position", ref->position, pos))
        return AT_OK;
    /* the rule set of that day must ask for the recalculation at all */
    rules_param_value keep;
    at_error e2;
    at_error_clear(&e2);
    if (rules_param(set, ev->tenant, "gmi.keep_amount_on_level_change", day, &keep, &e2) != AT_OK || keep.value) {
        differ(c, "rule_set", 0, NULL, "gmi.keep_amount_on_level_change", "false",
               e2.message[0] ? e2.message : "true");
        return AT_OK;
    }

    Atb__V1__Decision *p = NULL;
    code = decision_redecide_at_level_change(c->a, set, ref, s.decision, s.current, day, &p, &e2);
    if (code == AT_INTERNAL)
        return at_error_set(err, AT_INTERNAL, NULL, "%s", e2.message);
    if (code != AT_OK) {
        differ(c, "result", 0, NULL, "error", "a decision", e2.message);
        return AT_OK;
    }
    if (str_differ(c, "input", 0, NULL, "input_sha256", o->input_sha256, p->input_sha256) ||
        steps_differ(c, o->steps, o->n_steps, p->steps, p->n_steps, &out->steps))
        return AT_OK;
    result_differ(c, "result", o->result, p->result);
    return AT_OK;
}

at_code replay_override(ruleset_cache *rc, es_store *es, const es_event *ev, at_arena *a,
                        Atb__V1__ReplayedDecision *out, at_error *err)
{
    cmp c = {.a = a};
    atb__v1__replayed_decision__init(out);
    out->event_type = dup(&c, ev->type);
    out->position = ev->position;
    Atb__V1__DecisionOverridden *o =
        atb__v1__decision_overridden__unpack(at_arena_pbc(a), ev->payload_len, ev->payload);
    at_code code = AT_OK;
    if (!o) {
        differ(&c, "event", 0, NULL, "payload", "a DecisionOverridden", "bytes that do not decode");
    } else {
        out->ask_index = o->ask_index;
        if (o->rule_set) {
            out->rule_set_versions = at_arena_alloc(a, sizeof(char *));
            if (!out->rule_set_versions)
                return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
            out->rule_set_versions[out->n_rule_set_versions++] = dup(&c, o->rule_set->version);
        }
        code = rebuild_level_change(rc, es, ev, o, &c, out, err);
    }
    if (c.oom)
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    out->mismatch = c.m;
    out->proven = code == AT_OK && !c.m;
    return code;
}

at_code replay_application(ruleset_cache *rc, es_store *es, const char *tenant, const char *application_id,
                           at_arena *a, Atb__V1__ReplayReply *out, at_error *err)
{
    atb__v1__replay_reply__init(out);
    if (!at_uuid_valid(application_id))
        return at_error_set(err, AT_VALIDATION, "application_id", "application id is not a UUID");
    char stream[96];
    snprintf(stream, sizeof stream, "decision-%s", application_id);
    es_batch *b = NULL;
    es_status st = es_read_stream(es, stream, 1, SIZE_MAX, &b, err);
    if (st != ES_OK)
        return es_status_code(st);
    size_t n = es_batch_count(b);
    const es_event *first = es_batch_get(b, 0);
    if (n == 0 || (tenant && strcmp(first->tenant, tenant) != 0)) {
        es_batch_free(b);
        at_error_set(err, AT_NOT_FOUND, "application_id", "no decision for application %s", application_id);
        at_error_detail(err, "Stream %s does not exist in this municipality.", stream);
        return AT_NOT_FOUND;
    }
    out->application_id = at_arena_strdup(a, application_id);
    out->decisions = at_arena_alloc(a, n * sizeof *out->decisions);
    if (!out->application_id || !out->decisions) {
        es_batch_free(b);
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    }
    at_code code = AT_OK;
    bool all = true;
    for (size_t i = 0; i < n && code == AT_OK; i++) {
        const es_event *ev = es_batch_get(b, i);
        if (strcmp(ev->type, MEANS_EV_OVERRIDDEN) == 0) {
            Atb__V1__DecisionOverridden *o =
                atb__v1__decision_overridden__unpack(at_arena_pbc(a), ev->payload_len, ev->payload);
            for (size_t j = 0; o && j < out->n_decisions; j++)
                if (out->decisions[j]->ask_index == o->ask_index)
                    out->decisions[j]->overridden = true;
            continue;
        }
        if (!decision_is_event_type(ev->type))
            continue;
        Atb__V1__ReplayedDecision *r = at_arena_alloc(a, sizeof *r);
        if (!r) {
            code = at_error_set(err, AT_INTERNAL, NULL, "out of memory");
            break;
        }
        code = replay_event(rc, es, ev, a, r, err);
        all = all && r->proven;
        out->decisions[out->n_decisions++] = r;
    }
    es_batch_free(b);
    out->proven = code == AT_OK && all && out->n_decisions > 0;
    return code;
}
