/*
 * levelchange.c -- RecalculateAtLevelChange: GMI grants that run across a change of the
 * GMI level, re-decided from that day where the rule set says so (docs/rules.md §9.3).
 *
 * Invariants:
 *  - Whether an amount is kept or recalculated is the rule set's, never this file's: the
 *    parameter gmi.keep_amount_on_level_change in force on the day of the change (true
 *    under Cabinet Regulation No. 550 until 2020, false from 2021). With true nothing is
 *    appended; the grants are only listed.
 *  - A grant is re-decided from its recorded input alone, dated the day of the change,
 *    under the rules in force that day, with the grant itself added to the input's
 *    history (so the explanation shows the step "GMI level changed during a running
 *    grant" and the parameter it read). The period stays the grant's. The re-decision
 *    is decision_redecide_at_level_change (replay.c), the same function `atbalsts audit`
 *    proves each recorded recalculation with.
 *  - The recorded decision is never changed: a DecisionOverridden of kind LEVEL_CHANGE is
 *    appended after it, carrying the day, the rule set, the parameters read, the input's
 *    hash and the steps. Its decided_on is the day before the change, the last day of the
 *    old amount, which is how payments reads an override's date: every month that begins
 *    on or after the change is paid under the new result.
 *  - Idempotent: a grant already recalculated for that day is "done_before", and each
 *    append's command id is derived from the tenant, the grant and the day, so a second
 *    run (or a retry of the first) appends nothing.
 *  - A grant that people decided on after it (commission, appeal, correction) is left to
 *    a caseworker ("overridden"): re-deciding it from the recorded input would undo their
 *    decision.
 *  - One transaction for the whole run: the reply describes exactly what was committed.
 */
#include "means.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "at_uuid.h"

#define LC_LEVEL "gmi.level"
#define LC_KEEP "gmi.keep_amount_on_level_change"
#define LC_MAX_LISTED 500
/* The namespace of the command ids of LEVEL_CHANGE overrides (a fixed, random UUID). */
#define LC_ID_NS "5b0f3f7e-8a51-4c1e-9d3a-2f6c1b7e4a90"

typedef struct lc_run {
    const char *tenant;
    at_date day;
    const rules_set *set;
    Atb__V1__RuleSetRef *ref;
    Atb__V1__ParameterRead **reads;
    size_t n_reads;
    bool keep;
    const char *actor;
    const char *correlation_id;
    at_arena *a;
} lc_run;

static at_code pg_failed(PGconn *pg, PGresult *r, const char *what, at_error *err)
{
    bool down = PQstatus(pg) != CONNECTION_OK;
    at_error_set(err, down ? AT_UNAVAILABLE : AT_INTERNAL, NULL, "could not %s", what);
    at_error_detail(err, "%.300s", PQresultErrorMessage(r));
    PQclear(r);
    return down ? AT_UNAVAILABLE : AT_INTERNAL;
}

static void money_text(at_cents c, char *buf, size_t n)
{
    at_cents m = c < 0 ? -c : c;
    snprintf(buf, n, "%s%" PRId64 ".%02" PRId64, c < 0 ? "-" : "", m / 100, m % 100);
}

/* A parameter value as the rule files write it: "109.00 + 76.00 x (n-1)", "true". */
static const char *value_text(at_arena *a, const rules_param_value *v)
{
    char buf[96], f[32], o[32];
    if (v->unit == RULES_UNIT_BOOL) {
        snprintf(buf, sizeof buf, "%s", v->value ? "true" : "false");
    } else if (v->household) {
        money_text(v->first, f, sizeof f);
        money_text(v->others, o, sizeof o);
        snprintf(buf, sizeof buf, "%s + %s x (n-1)", f, o);
    } else {
        money_text(v->value, f, sizeof f);
        snprintf(buf, sizeof buf, "%s", f);
    }
    return at_arena_strdup(a, buf);
}

static Atb__V1__ParameterRead *read_out(at_arena *a, const rules_param_value *v)
{
    Atb__V1__ParameterRead *r = at_arena_alloc(a, sizeof *r);
    if (!r)
        return NULL;
    atb__v1__parameter_read__init(r);
    r->name = (char *)v->name;
    r->value = (char *)value_text(a, v);
    r->from = decision_date_out(a, v->in_force.from);
    r->to = decision_date_out(a, v->in_force.to);
    r->scope = (char *)(v->scope ? v->scope : "");
    r->source = (char *)(v->source ? v->source : "");
    r->note = (char *)(v->note ? v->note : "");
    return r->value ? r : NULL;
}

/* The day must be the first day of a new GMI level, and the rule set must say whether
 * running grants keep their amount on it. Fills run->reads and run->keep. */
static at_code read_parameters(lc_run *run, at_error *err)
{
    char d0[16], d1[16];
    decision_date_text(run->day - 1, d0, sizeof d0);
    decision_date_text(run->day, d1, sizeof d1);
    rules_param_value before, on, keep;
    at_error e;
    at_error_clear(&e);
    if (rules_param(run->set, run->tenant, LC_LEVEL, run->day, &on, &e) != AT_OK) {
        at_error_set(err, AT_VALIDATION, "date", "no rule in force");
        at_error_detail(err, "The rule set of %s has no value of %s on %s.", run->tenant, LC_LEVEL, d1);
        at_error_hint(err, "Give a day the published rule set covers.");
        return AT_VALIDATION;
    }
    if (rules_param(run->set, run->tenant, LC_LEVEL, run->day - 1, &before, &e) != AT_OK ||
        (before.first == on.first && before.others == on.others && before.household == on.household)) {
        at_error_set(err, AT_VALIDATION, "date", "the GMI level does not change on %s", d1);
        at_error_detail(err, "%s is %s on %s and on %s.", LC_LEVEL, value_text(run->a, &on), d0, d1);
        at_error_hint(err, "Give the first day of a new GMI level (docs/rules.md §9.1).");
        return AT_VALIDATION;
    }
    if (rules_param(run->set, run->tenant, LC_KEEP, run->day, &keep, &e) != AT_OK) {
        at_error_set(err, AT_VALIDATION, "date", "no rule in force");
        at_error_detail(err, "The rule set of %s does not say on %s whether a running GMI grant keeps its "
                             "amount when the level changes (%s).", run->tenant, d1, LC_KEEP);
        at_error_hint(err, "Add %s to the rule set with its source.", LC_KEEP);
        return AT_VALIDATION;
    }
    run->keep = keep.value != 0;
    run->reads = at_arena_alloc(run->a, 3 * sizeof *run->reads);
    if (!run->reads || !(run->reads[0] = read_out(run->a, &before)) || !(run->reads[1] = read_out(run->a, &on)) ||
        !(run->reads[2] = read_out(run->a, &keep)))
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    run->n_reads = 3;
    return AT_OK;
}

/* What the decision stream says about one grant. */
typedef struct lc_stream {
    Atb__V1__Decision *decision;
    int64_t position;                       /* of the decision event */
    const Atb__V1__DecisionResult *current; /* the newest result */
    int64_t version;
    bool by_people;                         /* a commission, appeal or correction followed */
    bool done;                              /* recalculated for this day already */
} lc_stream;

static void fold(at_arena *a, const es_event *ev, int ask, at_date day, lc_stream *s)
{
    if (decision_is_event_type(ev->type)) {
        Atb__V1__Decision *d = decision_unpack(a, ev);
        if (d && d->ask_index == ask && d->result) {
            s->decision = d;
            s->position = ev->position;
            s->current = d->result;
        }
        return;
    }
    if (strcmp(ev->type, MEANS_EV_OVERRIDDEN) != 0 || !s->decision)
        return;
    Atb__V1__DecisionOverridden *o =
        atb__v1__decision_overridden__unpack(at_arena_pbc(a), ev->payload_len, ev->payload);
    if (!o || o->ask_index != ask || !o->result)
        return;
    s->current = o->result;
    at_date from;
    if (o->kind != ATB__V1__OVERRIDE_KIND__OVERRIDE_KIND_LEVEL_CHANGE)
        s->by_people = true;
    else if (decision_date_in(o->effective_from, false, &from) && from == day)
        s->done = true;
}

static at_code read_stream(es_txn *t, const lc_run *run, const char *stream, int ask, lc_stream *s, at_error *err)
{
    memset(s, 0, sizeof *s);
    PGconn *pg = es_txn_conn(t);
    const char *p[2] = {stream, run->tenant};
    /* binary results: text columns come as their bytes, the payload as it is */
    PGresult *r = PQexecParams(pg,
                               "SELECT position::text, version::text, type, payload FROM atb.events "
                               "WHERE stream_id = $1 AND tenant = $2 ORDER BY version",
                               2, NULL, p, NULL, NULL, 1);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        return pg_failed(pg, r, "read the decision stream", err);
    for (int i = 0; i < PQntuples(r); i++) {
        es_event ev;
        memset(&ev, 0, sizeof ev);
        ev.position = strtoll(PQgetvalue(r, i, 0), NULL, 10);
        ev.version = strtoll(PQgetvalue(r, i, 1), NULL, 10);
        ev.type = PQgetvalue(r, i, 2);
        ev.payload = (const uint8_t *)PQgetvalue(r, i, 3);
        ev.payload_len = (size_t)PQgetlength(r, i, 3);
        s->version = ev.version;
        fold(run->a, &ev, ask, run->day, s);
    }
    PQclear(r);
    return AT_OK;
}

static bool pays(const Atb__V1__DecisionResult *r)
{
    return r && r->outcome == ATB__V1__DECISION_OUTCOME__DECISION_OUTCOME_GRANTED && r->has_amount &&
           r->amount_cents > 0;
}

static at_code append_override(es_txn *t, const lc_run *run, const lc_stream *s, const Atb__V1__Decision *p,
                               Atb__V1__DecisionResult *nr, es_append_res *res, at_error *err)
{
    at_arena *a = run->a;
    const Atb__V1__Decision *d = s->decision;
    char day[16], reason[512], reference[96], name[256], cmd_id[AT_UUID_LEN + 1], stream[96];
    decision_date_text(run->day, day, sizeof day);
    snprintf(reference, sizeof reference, "%s %s", LC_LEVEL, day);
    snprintf(reason, sizeof reason,
             "The GMI level changes on %s (%s -> %s) and %s is false on that day: the grant is re-decided from "
             "that day from its recorded input under the rules in force then.",
             day, run->reads[0]->value, run->reads[1]->value, LC_KEEP);
    snprintf(name, sizeof name, "level-change/%s/%s/%d/%s", run->tenant, d->application_id, (int)d->ask_index, day);
    at_uuid_derive(LC_ID_NS, name, cmd_id);
    snprintf(stream, sizeof stream, "decision-%s", d->application_id);

    Atb__V1__DecisionOverridden ev = ATB__V1__DECISION_OVERRIDDEN__INIT;
    ev.application_id = d->application_id;
    ev.ask_index = d->ask_index;
    ev.kind = ATB__V1__OVERRIDE_KIND__OVERRIDE_KIND_LEVEL_CHANGE;
    ev.decided_by = "rules:" LC_KEEP;
    ev.reference = reference;
    ev.reason = reason;
    ev.decided_on = decision_date_out(a, run->day - 1);
    ev.previous = (Atb__V1__DecisionResult *)s->current;
    ev.result = nr;
    ev.actor = (char *)(run->actor ? run->actor : "");
    ev.overridden_position = s->position;
    ev.effective_from = decision_date_out(a, run->day);
    ev.rule_set = run->ref;
    ev.reads = run->reads;
    ev.n_reads = run->n_reads;
    ev.input_sha256 = p->input_sha256;
    ev.steps = p->steps;
    ev.n_steps = p->n_steps;
    size_t n = atb__v1__decision_overridden__get_packed_size(&ev);
    uint8_t *buf = at_arena_alloc(a, n + 1);
    if (!buf)
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    atb__v1__decision_overridden__pack(&ev, buf);
    es_event_in in = {.type = MEANS_EV_OVERRIDDEN, .payload = buf, .payload_len = n};
    es_append_req ar = {
        .tenant = run->tenant,
        .stream_id = stream,
        .expected_version = s->version,
        .command_id = cmd_id,
        .correlation_id = run->correlation_id,
        .actor = run->actor,
        .events = &in,
        .n_events = 1,
    };
    PGconn *pg = es_txn_conn(t);
    at_code code;
    if ((code = projection_forget(pg, d->application_id, d->ask_index, err)) != AT_OK ||
        (code = projection_record(pg, run->tenant, d->input, nr, run->day - 1, err)) != AT_OK)
        return code;
    es_status st = es_txn_append(t, &ar, res, err);
    if (st == ES_CONFLICT) {
        at_error_set(err, AT_CONFLICT, "date", "decision %s changed during the run", stream);
        at_error_hint(err, "Run the command again: what was recalculated is kept.");
        return AT_CONFLICT;
    }
    return st == ES_OK ? AT_OK : es_status_code(st);
}

/* One crossing grant: its outcome in g; *written when the transaction holds its writes. */
static at_code one_grant(es_txn *t, const lc_run *run, const char *app, int ask, Atb__V1__LevelChangeGrant *g,
                         bool *written, at_error *err)
{
    char stream[96];
    snprintf(stream, sizeof stream, "decision-%s", app);
    lc_stream s;
    at_code code = read_stream(t, run, stream, ask, &s, err);
    if (code != AT_OK)
        return code;
    if (!s.decision || !s.decision->input || !s.decision->input->household || !s.decision->input->ask) {
        at_error_set(err, AT_INTERNAL, NULL, "grant %s/%d has no decision in the log", app, ask);
        return AT_INTERNAL;
    }
    const Atb__V1__DecisionResult *cur = s.current;
    g->previous_cents = pays(cur) ? cur->amount_cents : 0;
    g->amount_cents = g->previous_cents;
    if (run->keep) {
        g->outcome = "kept";
        return AT_OK;
    }
    if (s.done) {
        g->outcome = "done_before";
        return AT_OK;
    }
    if (s.by_people) {
        g->outcome = "overridden";
        return AT_OK;
    }
    if (!pays(cur)) {
        g->outcome = "not_paid";
        return AT_OK;
    }
    /* the one re-decision the audit replays (replay.c) */
    Atb__V1__Decision *p = NULL;
    at_error e;
    at_error_clear(&e);
    code = decision_redecide_at_level_change(run->a, run->set, run->ref, s.decision, cur, run->day, &p, &e);
    if (code == AT_INTERNAL)
        return at_error_set(err, AT_INTERNAL, NULL, "%s", e.message);
    if (code != AT_OK) {
        g->outcome = "not_decided";
        g->detail = at_arena_strdup(run->a, e.message);
        return AT_OK;
    }
    Atb__V1__DecisionResult *nr = p->result;
    g->amount_cents = pays(nr) ? nr->amount_cents : 0;
    if (g->amount_cents == g->previous_cents) {
        g->outcome = "unchanged";
        return AT_OK;
    }
    es_append_res res;
    *written = true;
    if ((code = append_override(t, run, &s, p, nr, &res, err)) != AT_OK)
        return code;
    g->outcome = res.duplicate ? "done_before" : "recalculated";
    g->position = res.first_position;
    return AT_OK;
}

/* The GMI grants of the tenant decided before the day whose period runs across it, as the
 * projection of the log holds them (means.grants, written with the decision events). */
static at_code crossing(es_txn *t, const lc_run *run, PGresult **out, at_error *err)
{
    PGconn *pg = es_txn_conn(t);
    char day[16];
    decision_date_text(run->day, day, sizeof day);
    const char *p[2] = {run->tenant, day};
    PGresult *r = PQexecParams(pg,
                               "SELECT application_id::text, ask_index FROM means.grants WHERE tenant = $1 AND "
                               "kind = 'benefit' AND benefit = 'GMI' AND decided_on < $2::date AND "
                               "period_from < $2::date AND period_to >= $2::date "
                               "ORDER BY decided_on, application_id, ask_index",
                               2, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        return pg_failed(pg, r, "read the GMI grants", err);
    *out = r;
    return AT_OK;
}

static at_code run_txn(es_txn *t, lc_run *run, Atb__V1__LevelChangeReply *rep, bool *written, at_error *err)
{
    PGresult *r = NULL;
    at_code code = crossing(t, run, &r, err);
    if (code != AT_OK)
        return code;
    int n = PQntuples(r);
    size_t listed = n < LC_MAX_LISTED ? (size_t)n : LC_MAX_LISTED;
    rep->grants = at_arena_alloc(run->a, (listed + 1) * sizeof *rep->grants);
    if (!rep->grants) {
        PQclear(r);
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    }
    rep->crossing = n;
    for (int i = 0; i < n && code == AT_OK; i++) {
        Atb__V1__LevelChangeGrant *g = at_arena_alloc(run->a, sizeof *g);
        if (!g) {
            code = at_error_set(err, AT_INTERNAL, NULL, "out of memory");
            break;
        }
        atb__v1__level_change_grant__init(g);
        g->application_id = at_arena_strdup(run->a, PQgetvalue(r, i, 0));
        g->ask_index = atoi(PQgetvalue(r, i, 1));
        if (!g->application_id) {
            code = at_error_set(err, AT_INTERNAL, NULL, "out of memory");
            break;
        }
        code = one_grant(t, run, g->application_id, g->ask_index, g, written, err);
        if (code == AT_OK && strcmp(g->outcome, "recalculated") == 0)
            rep->recalculated++;
        if ((size_t)i < listed)
            rep->grants[rep->n_grants++] = g;
    }
    PQclear(r);
    return code;
}

/* The tenant's published rule set, covering the day. */
static at_code rule_set(svc_request *req, lc_run *run, at_error *err)
{
    ruleset_info info;
    if (!ruleset_cache_get(means_rulesets, req->tenant, &info)) {
        at_code code = assess_publish(req->es, err);
        if (code != AT_OK)
            return code;
        if (!ruleset_cache_get(means_rulesets, req->tenant, &info)) {
            at_error_set(err, AT_VALIDATION, "meta", "no rule set for municipality %s", req->tenant);
            at_error_hint(err, "Add services/means/rulesets/%s.yaml and restart the service.", req->tenant);
            return AT_VALIDATION;
        }
    }
    char d[16];
    decision_date_text(run->day, d, sizeof d);
    if (!rules_set_covers(info.set, req->tenant, run->day)) {
        at_error_set(err, AT_VALIDATION, "date", "no rule set in force on %s", d);
        at_error_detail(err, "The rule set of %s is not in force on that day.", req->tenant);
        return AT_VALIDATION;
    }
    run->set = info.set;
    run->ref = at_arena_alloc(run->a, sizeof *run->ref);
    if (!run->ref)
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    atb__v1__rule_set_ref__init(run->ref);
    run->ref->scope = at_arena_strdup(run->a, info.scope);
    run->ref->version = at_arena_strdup(run->a, info.version);
    run->ref->position = info.position;
    return run->ref->scope && run->ref->version ? AT_OK : at_error_set(err, AT_INTERNAL, NULL, "out of memory");
}

at_code levelchange_handle(svc_request *req, ProtobufCMessage **reply, at_error *err)
{
    const Atb__V1__RecalculateAtLevelChange *cmd = (const Atb__V1__RecalculateAtLevelChange *)req->msg;
    lc_run run = {
        .tenant = req->tenant,
        .actor = req->actor[0] ? req->actor : NULL,
        .correlation_id = req->correlation_id[0] ? req->correlation_id : NULL,
        .a = req->arena,
    };
    if (!decision_date_in(cmd->date, false, &run.day) || run.day == AT_DATE_NONE)
        return at_error_set(err, AT_VALIDATION, "date", "the day of the change is not a valid date");
    at_code code;
    if ((code = rule_set(req, &run, err)) != AT_OK || (code = read_parameters(&run, err)) != AT_OK)
        return code;

    Atb__V1__LevelChangeReply *rep = at_arena_alloc(req->arena, sizeof *rep);
    if (!rep)
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    atb__v1__level_change_reply__init(rep);
    rep->date = decision_date_out(req->arena, run.day);
    rep->keep = run.keep;
    rep->rule_set = run.ref;
    rep->reads = run.reads;
    rep->n_reads = run.n_reads;

    es_txn *t = NULL;
    es_status st = es_txn_begin(req->es, &t, err);
    if (st != ES_OK)
        return es_status_code(st);
    bool written = false;
    code = run_txn(t, &run, rep, &written, err);
    if (code != AT_OK || !written) {
        es_txn_rollback(t);
        if (code != AT_OK)
            return code;
    } else if ((st = es_txn_commit(t, err)) != ES_OK) {
        return es_status_code(st);
    }
    if (rep->recalculated)
        svc_metric_add(req->service, "gmi_level_recalculated", rep->recalculated);
    *reply = &rep->base;
    return AT_OK;
}
