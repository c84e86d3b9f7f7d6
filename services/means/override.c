/*
 * override.c -- OverrideDecision: a human decision (a commission in a crisis case, an
 * appeal outcome, a correction) that replaces the result of one decision.
 *
 * Invariants:
 *  - The recorded decision is never changed: DecisionOverridden is appended after it on
 *    the same stream, naming who decided, on what document, why, the result it replaces
 *    and the new one. ReplayDecision still proves the calculation; ExplainDecision shows
 *    both.
 *  - expected_version is required: the decider saw the stream at that version, and an
 *    override based on a stale view is a CONFLICT, never a silent second override.
 *  - The projection of grants follows the newest result in the same transaction, so later
 *    decisions see the overridden grant (or its absence).
 *  - The new result keeps the ask of the decision it overrides: an override cannot turn a
 *    status decision into a benefit.
 *  - The stream is read, checked and appended to in one transaction (override_in_txn), the
 *    one way both OverrideDecision and the consumer of appeal outcomes (consume.c) record
 *    an override. A command id already on the stream is answered with its first result
 *    before anything is written.
 */
#include "means.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "at_uuid.h"

#define MAX_TEXT 2000

/* Given, at most max bytes, no control character but newline. */
static bool text_ok(const char *s, size_t max)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > max)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 && s[i] != '\n')
            return false;
    return true;
}

static at_code check_result(const Atb__V1__DecisionResult *r, const Atb__V1__Decision *orig, at_error *err)
{
    if (!r)
        return at_error_set(err, AT_VALIDATION, "result", "the new result is not given");
    if (r->outcome != ATB__V1__DECISION_OUTCOME__DECISION_OUTCOME_GRANTED && r->outcome != ATB__V1__DECISION_OUTCOME__DECISION_OUTCOME_REFUSED)
        return at_error_set(err, AT_VALIDATION, "result.outcome", "outcome must be granted or refused");
    at_date from, to;
    if (!decision_date_in(r->period_from, false, &from))
        return at_error_set(err, AT_VALIDATION, "result.period_from", "period_from is not a valid date");
    if (!decision_date_in(r->period_to, false, &to))
        return at_error_set(err, AT_VALIDATION, "result.period_to", "period_to is not a valid date");
    if (from != AT_DATE_NONE && !at_period_valid((at_period){from, to}))
        return at_error_set(err, AT_VALIDATION, "result.period_to", "the period ends before it starts");
    if (from == AT_DATE_NONE && to != AT_DATE_NONE)
        return at_error_set(err, AT_VALIDATION, "result.period_from", "a period with an end has a start");
    bool status = orig->result->ask == ATB__V1__ASK_KIND__ASK_KIND_NEEDY_STATUS ||
                  orig->result->ask == ATB__V1__ASK_KIND__ASK_KIND_LOW_INCOME_STATUS;
    if (r->outcome == ATB__V1__DECISION_OUTCOME__DECISION_OUTCOME_REFUSED) {
        if (r->has_amount || r->amount_cents || r->status || r->units || from != AT_DATE_NONE)
            return at_error_set(err, AT_VALIDATION, "result", "a refusal has no status, period or amount");
        return AT_OK;
    }
    if (status) {
        if (r->status != ATB__V1__MEANS_STATUS__MEANS_STATUS_NEEDY &&
            r->status != ATB__V1__MEANS_STATUS__MEANS_STATUS_LOW_INCOME)
            return at_error_set(err, AT_VALIDATION, "result.status", "a granted status is needy or low income");
        if (from == AT_DATE_NONE)
            return at_error_set(err, AT_VALIDATION, "result.period_from", "a granted status has a period");
        if (r->has_amount)
            return at_error_set(err, AT_VALIDATION, "result.has_amount", "a status has no amount");
        return AT_OK;
    }
    if (r->status)
        return at_error_set(err, AT_VALIDATION, "result.status", "a benefit grants no status");
    if (r->payment < ATB__V1__PAYMENT_FORM__PAYMENT_FORM_CASH || r->payment > ATB__V1__PAYMENT_FORM__PAYMENT_FORM_PROVIDER)
        return at_error_set(err, AT_VALIDATION, "result.payment", "a granted benefit has a payment form");
    if (r->has_amount && (r->amount_cents < 0 || r->per < ATB__V1__AMOUNT_PER__AMOUNT_PER_ONCE || r->per > ATB__V1__AMOUNT_PER__AMOUNT_PER_YEAR))
        return at_error_set(err, AT_VALIDATION, "result.amount_cents",
                            "an amount is not negative and is per once, month or year");
    if (!r->has_amount && r->amount_cents)
        return at_error_set(err, AT_VALIDATION, "result.has_amount", "amount_cents is given without has_amount");
    if (r->units < 0)
        return at_error_set(err, AT_VALIDATION, "result.units", "units are never negative");
    return AT_OK;
}

/* The newest result of ask `ask` on the stream: its decision, and the last override. */
typedef struct found {
    Atb__V1__Decision *decision;
    int64_t position;
    const Atb__V1__DecisionResult *current;
} found;

/* Fold one event of the stream (in version order) into f. */
static void find_step(at_arena *a, const es_event *ev, int ask, found *f)
{
    if (decision_is_event_type(ev->type)) {
        Atb__V1__Decision *d = decision_unpack(a, ev);
        if (d && d->ask_index == ask && d->result) {
            f->decision = d;
            f->position = ev->position;
            f->current = d->result;
        }
    } else if (strcmp(ev->type, MEANS_EV_OVERRIDDEN) == 0 && f->decision) {
        Atb__V1__DecisionOverridden *o =
            atb__v1__decision_overridden__unpack(at_arena_pbc(a), ev->payload_len, ev->payload);
        if (o && o->ask_index == ask && o->result)
            f->current = o->result;
    }
}

static at_code pg_failed(PGconn *pg, PGresult *r, const char *what, at_error *err)
{
    bool down = PQstatus(pg) != CONNECTION_OK;
    at_error_set(err, down ? AT_UNAVAILABLE : AT_INTERNAL, NULL, "could not %s", what);
    at_error_detail(err, "%.300s", PQresultErrorMessage(r));
    PQclear(r);
    return down ? AT_UNAVAILABLE : AT_INTERNAL;
}

/* Read decision-<id> as the transaction sees it: find the ask's decision and newest
 * result, the stream's version, and whether this command id appended to it before (then
 * out->res holds that first result). Only a stream of the command's tenant counts. */
static at_code read_stream(es_txn *t, const override_cmd *c, const char *stream, at_arena *a, found *f,
                           int64_t *version, override_out *out, at_error *err)
{
    memset(f, 0, sizeof *f);
    *version = 0;
    PGconn *pg = es_txn_conn(t);
    const char *p[1] = {stream};
    /* binary results: text columns come as their bytes, the payload as it is */
    PGresult *r = PQexecParams(pg,
                               "SELECT position::text, version::text, type, payload, coalesce(command_id::text, ''), "
                               "tenant FROM atb.events WHERE stream_id = $1 ORDER BY version",
                               1, NULL, p, NULL, NULL, 1);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        return pg_failed(pg, r, "read the decision stream", err);
    int rows = PQntuples(r);
    if (rows > 0 && strcmp(PQgetvalue(r, 0, 5), c->tenant) != 0)
        rows = 0;   /* another municipality's application: not found here */
    for (int i = 0; i < rows; i++) {
        es_event ev;
        memset(&ev, 0, sizeof ev);
        ev.position = strtoll(PQgetvalue(r, i, 0), NULL, 10);
        ev.version = strtoll(PQgetvalue(r, i, 1), NULL, 10);
        ev.type = PQgetvalue(r, i, 2);
        ev.payload = (const uint8_t *)PQgetvalue(r, i, 3);
        ev.payload_len = (size_t)PQgetlength(r, i, 3);
        *version = ev.version;
        if (c->command_id && strcmp(PQgetvalue(r, i, 4), c->command_id) == 0) {
            if (!out->res.duplicate)
                out->res.first_position = ev.position;
            out->res.duplicate = true;
            out->res.last_position = ev.position;
            out->res.version = ev.version;
        }
        find_step(a, &ev, c->o->ask_index, f);
    }
    PQclear(r);
    return AT_OK;
}

static at_code check_fields(const Atb__V1__OverrideDecision *o, at_date *decided_on, at_error *err)
{
    if (!at_uuid_valid(o->application_id))
        return at_error_set(err, AT_VALIDATION, "application_id", "application id is not a UUID");
    means_lower(o->application_id);
    if (o->ask_index < 1 || o->ask_index > MEANS_MAX_ASKS)
        return at_error_set(err, AT_VALIDATION, "ask_index", "ask_index must be 1..%d", MEANS_MAX_ASKS);
    if (o->kind < ATB__V1__OVERRIDE_KIND__OVERRIDE_KIND_COMMISSION || o->kind > ATB__V1__OVERRIDE_KIND__OVERRIDE_KIND_CORRECTION)
        return at_error_set(err, AT_VALIDATION, "kind", "kind must be commission, appeal or correction");
    if (!text_ok(o->decided_by, 200))
        return at_error_set(err, AT_VALIDATION, "decided_by", "who decided is not given");
    if (!text_ok(o->reason, MAX_TEXT))
        return at_error_set(err, AT_VALIDATION, "reason", "the reason is not given");
    if (o->reference && o->reference[0] && !text_ok(o->reference, 200))
        return at_error_set(err, AT_VALIDATION, "reference", "the reference is longer than 200 bytes or has "
                                                             "control characters");
    if (!decision_date_in(o->decided_on, false, decided_on) || *decided_on == AT_DATE_NONE)
        return at_error_set(err, AT_VALIDATION, "decided_on", "decided_on is not a valid date");
    return AT_OK;
}

at_code override_in_txn(es_txn *t, const override_cmd *c, at_arena *a, override_out *out, at_error *err)
{
    memset(out, 0, sizeof *out);
    Atb__V1__OverrideDecision *o = c->o;
    at_date decided_on;
    at_code code = check_fields(o, &decided_on, err);
    if (code != AT_OK)
        return code;
    char stream[96];
    snprintf(stream, sizeof stream, "decision-%s", o->application_id);
    found f;
    int64_t version = 0;
    if ((code = read_stream(t, c, stream, a, &f, &version, out, err)) != AT_OK || out->res.duplicate)
        return code;
    if (!f.decision || !f.decision->input || !f.decision->input->household || !f.decision->input->ask)
        return at_error_set(err, AT_NOT_FOUND, "application_id", "application %s has no decision %d",
                            o->application_id, (int)o->ask_index);
    if ((code = check_result(o->result, f.decision, err)) != AT_OK)
        return code;
    at_date decided;
    decision_date_in(f.decision->input->decision_date, false, &decided);
    if (decided_on < decided) {
        char d1[16];
        at_date_format(decided, d1, sizeof d1);
        at_error_set(err, AT_VALIDATION, "decided_on", "an override is decided on or after the decision");
        at_error_detail(err, "The decision it overrides was made as of %s.", d1);
        return AT_VALIDATION;
    }

    /* The new result answers the same ask. */
    Atb__V1__DecisionResult *nr = o->result;
    nr->ask = f.decision->result->ask;
    nr->benefit = f.decision->result->benefit;
    if (!nr->component || !nr->component[0])
        nr->component = nr->outcome == ATB__V1__DECISION_OUTCOME__DECISION_OUTCOME_GRANTED ? f.decision->result->component : (char *)"";
    Atb__V1__DecisionOverridden ev = ATB__V1__DECISION_OVERRIDDEN__INIT;
    ev.application_id = o->application_id;
    ev.ask_index = o->ask_index;
    ev.kind = o->kind;
    ev.decided_by = o->decided_by;
    ev.reference = o->reference;
    ev.reason = o->reason;
    ev.decided_on = o->decided_on;
    ev.previous = (Atb__V1__DecisionResult *)f.current;
    ev.result = nr;
    ev.actor = (char *)(c->actor ? c->actor : "");
    ev.overridden_position = f.position;
    size_t n = atb__v1__decision_overridden__get_packed_size(&ev);
    uint8_t *buf = at_arena_alloc(a, n + 1);
    if (!buf)
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    atb__v1__decision_overridden__pack(&ev, buf);
    es_event_in in = {.type = MEANS_EV_OVERRIDDEN, .payload = buf, .payload_len = n};
    es_append_req ar = {
        .tenant = c->tenant,
        .stream_id = stream,
        /* ES_VERSION_ANY: the version this transaction read (see override_cmd) */
        .expected_version = c->expected_version == ES_VERSION_ANY ? version : c->expected_version,
        .command_id = c->command_id,
        .causation_id = c->causation_id,
        .correlation_id = c->correlation_id,
        .actor = c->actor,
        .events = &in,
        .n_events = 1,
    };

    PGconn *pg = es_txn_conn(t);
    out->written = true;
    if ((code = projection_forget(pg, o->application_id, o->ask_index, err)) != AT_OK ||
        (code = projection_record(pg, c->tenant, f.decision->input, nr, decided_on, err)) != AT_OK)
        return code;
    es_status st = es_txn_append(t, &ar, &out->res, err);
    if (st == ES_CONFLICT) {
        at_error_set(err, AT_CONFLICT, "meta.expected_version", "the decision changed since version %lld",
                     (long long)ar.expected_version);
        at_error_detail(err, "Stream %s is at version %lld.", stream, (long long)out->res.actual_version);
        at_error_hint(err, "Read the decision again (ExplainDecision) and decide on what it says now.");
        return AT_CONFLICT;
    }
    return st == ES_OK ? AT_OK : es_status_code(st);
}

at_code override_handle(svc_request *req, ProtobufCMessage **reply, at_error *err)
{
    Atb__V1__OverrideDecision *o = (Atb__V1__OverrideDecision *)req->msg;
    if (req->expected_version == ES_VERSION_ANY || req->expected_version == ES_VERSION_NONE) {
        at_error_set(err, AT_VALIDATION, "meta.expected_version", "expected_version is required");
        at_error_detail(err, "An override replaces a decision the decider has read; it names the version of "
                             "decision-<application id> it was made on.");
        at_error_hint(err, "Send the version that ExplainDecision returns.");
        return AT_VALIDATION;
    }
    override_cmd c = {
        .tenant = req->tenant,
        .command_id = req->command_id,
        .correlation_id = req->correlation_id[0] ? req->correlation_id : NULL,
        .actor = req->actor[0] ? req->actor : NULL,
        .expected_version = req->expected_version,
        .o = o,
    };
    es_txn *t = NULL;
    es_status st = es_txn_begin(req->es, &t, err);
    if (st != ES_OK)
        return es_status_code(st);
    override_out out;
    at_code code = override_in_txn(t, &c, req->arena, &out, err);
    if (code != AT_OK) {
        es_txn_rollback(t);
        return code;
    }
    if (out.res.duplicate)
        es_txn_rollback(t);   /* recorded the first time: keep what that did */
    else if ((st = es_txn_commit(t, err)) != ES_OK)
        return es_status_code(st);
    char stream[96];
    snprintf(stream, sizeof stream, "decision-%s", o->application_id);
    *reply = svc_reply_appended(req, stream, NULL, &out.res);
    return *reply ? AT_OK : at_error_set(err, AT_INTERNAL, NULL, "out of memory");
}
