/*
 * consume.c -- what the means service does with intake's events: two durable consumers
 * (handlers.c lists them), each run by libs/service on its own thread.
 *
 *   means-applications  category "application": ApplicationCompleted is decided exactly as
 *                       AssessApplication decides (assess_decide), the decision events
 *                       appended to decision-<application id>.
 *   means-appeals       category "appeal": AppealDecided with outcome CHANGED becomes
 *                       DecisionOverridden (kind APPEAL) on decision-<application id>
 *                       (override_in_txn).
 * Every other event type of the categories is acknowledged without an effect.
 *
 * Invariants:
 *  - A handler runs inside the consumer's transaction, which also moves its checkpoint
 *    (libs/bus): its appends and projection rows commit with the checkpoint or not at all.
 *  - Once per event, whatever redelivers it: the command id of what a handler appends is
 *    derived from the event id (at_uuid_derive), so the decision stream read under the
 *    locks, and the log's command ids, both answer a second delivery (a redelivery, a
 *    checkpoint moved back, a restart) with "done", and nothing is appended twice.
 *  - A decision stream that another command created first (a caseworker's
 *    AssessApplication) is "done" as well: an application is decided once.
 *  - An ApplicationCompleted that decodes but cannot be decided as it stands (the rules
 *    refuse the input, no rule in force for the municipality on the date) is undone to a
 *    savepoint and recorded as AssessmentFailed on assessment-<id> with the error: intake
 *    returns the application to the caseworker, and a later ApplicationCompleted of it is
 *    decided afresh. An event that can never be handled (its payload does not decode, an
 *    application id that is not the event's, no such decision to override) returns a code
 *    other than AT_UNAVAILABLE / AT_INTERNAL: the transaction is rolled back, so nothing of
 *    it is appended, and libs/bus records it in atb.dead_letters and moves on. PostgreSQL
 *    trouble is AT_UNAVAILABLE or AT_INTERNAL: rolled back and retried.
 *
 * When intake adds an event this service must act on: a row in handlers.c (or a new type
 * here, in the category's handler), and docs/events.md.
 */
#include "means.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "at_uuid.h"
#include "atb/v1/intake.pb-c.h"

#define EV_APPLICATION_COMPLETED "ApplicationCompleted"
#define EV_APPEAL_DECIDED "AppealDecided"

/* Namespaces of the command ids derived from event ids. Never change them: a redelivery
 * after the change would no longer be recognised as done. */
#define DECIDE_COMMAND_NS "8902c890-b351-4124-8eba-ef26c3c36d68"
#define FAILED_COMMAND_NS "3d0f5b1e-7a2c-4e8d-9b61-0c4a8e2f7d13"
#define APPEAL_COMMAND_NS "ef91c017-6c40-4a54-94ff-7acde23748f3"

#define ARENA_BLOCK (64 * 1024)

static at_code malformed(const es_event *ev, const char *what, at_error *err)
{
    at_error_set(err, AT_MALFORMED, NULL, "cannot decode %s at position %lld", ev->type, (long long)ev->position);
    at_error_detail(err, "%s", what);
    at_error_hint(err, "The event stays in the log; fix the producer and record the fact again.");
    return AT_MALFORMED;
}

/* A conflict a second try resolves (the stream read again): retried, never a dead letter. */
static at_code retry_later(at_error *err)
{
    at_error e = *err;
    at_error_set(err, AT_INTERNAL, e.field, "%s", e.message);
    at_error_detail(err, "%s", e.detail);
    at_error_hint(err, "The event is handled again; the next try reads the decision stream anew.");
    return AT_INTERNAL;
}

static const char *or_null(const char *s)
{
    return s && s[0] ? s : NULL;
}

static void log_event(const char *msg, const es_event *ev, const char *application_id)
{
    char pos[24];
    snprintf(pos, sizeof pos, "%lld", (long long)ev->position);
    svc_log_kv(SVC_LOG_INFO, msg, "tenant", ev->tenant, "event", ev->type, "position", pos, "application",
               application_id, NULL);
}

/* ---- means-applications */

/* The application of the event, its id checked against the event's. */
static at_code application_of(const es_event *ev, Atb__V1__ApplicationCompleted *ac, at_error *err)
{
    Atb__V1__Application *app = ac->application;
    if (!app)
        return at_error_set(err, AT_VALIDATION, "application", "application is not given");
    if (!app->id || !app->id[0])
        app->id = ac->application_id;   /* the event names it once */
    if (ac->application_id && ac->application_id[0] && strcasecmp(ac->application_id, app->id) != 0) {
        at_error_set(err, AT_VALIDATION, "application.id", "the application's id is not the event's");
        at_error_detail(err, "ApplicationCompleted at position %lld names application %.40s and carries "
                             "application %.40s.", (long long)ev->position, ac->application_id, app->id);
        return AT_VALIDATION;
    }
    return AT_OK;
}

/* Does the application ask for anything means testing decides? */
static bool asks_means(const Atb__V1__Application *app)
{
    for (size_t i = 0; i < app->n_asks; i++)
        if (app->asks[i]->kind != ATB__V1__ASK_KIND__ASK_KIND_SERVICE)
            return true;
    return false;
}

/* Run one statement of the consumer's transaction (a savepoint). */
static at_code savepoint(es_txn *t, const char *sql, at_error *err)
{
    PGresult *r = PQexec(es_txn_conn(t), sql);
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok) {
        at_error_set(err, AT_UNAVAILABLE, NULL, "could not run %s", sql);
        at_error_detail(err, "PostgreSQL said: %.300s", PQresultErrorMessage(r));
    }
    PQclear(r);
    return ok ? AT_OK : AT_UNAVAILABLE;
}

/* The application cannot be decided as it stands (cause in err): record that on
 * assessment-<id>, so intake can return it to the caseworker, instead of a dead letter no
 * caseworker sees. What the attempt did in the transaction is undone first. */
static at_code record_failure(es_txn *t, const es_event *ev, const char *application_id, at_arena *a,
                              at_error *err)
{
    at_error cause = *err;
    at_code code = savepoint(t, "ROLLBACK TO SAVEPOINT assess", err);
    if (code != AT_OK)
        return code;
    Atb__V1__Error e = ATB__V1__ERROR__INIT;
    e.code = (Atb__V1__ErrorCode)cause.code;
    e.message = cause.message;
    e.detail = cause.detail;
    e.hint = cause.hint;
    e.field = cause.field;
    Atb__V1__AssessmentFailed f = ATB__V1__ASSESSMENT_FAILED__INIT;
    f.application_id = (char *)application_id;
    f.error = &e;
    f.completed_position = ev->position;
    size_t n = atb__v1__assessment_failed__get_packed_size(&f);
    uint8_t *buf = at_arena_alloc(a, n);
    if (!buf)
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    atb__v1__assessment_failed__pack(&f, buf);
    char stream[MEANS_MAX_KEY + 16], command_id[AT_UUID_LEN + 1];
    snprintf(stream, sizeof stream, "assessment-%s", application_id);
    at_uuid_derive(FAILED_COMMAND_NS, ev->event_id, command_id);
    es_event_in in = {.type = "AssessmentFailed", .payload = buf, .payload_len = n};
    es_append_req req = {.tenant = ev->tenant, .stream_id = stream, .expected_version = ES_VERSION_ANY,
                         .command_id = command_id, .causation_id = ev->event_id,
                         .correlation_id = or_null(ev->correlation_id), .actor = "service:means",
                         .events = &in, .n_events = 1};
    es_append_res res;
    es_status st = es_txn_append(t, &req, &res, err);
    if (st != ES_OK)
        return es_status_code(st);
    svc_log_kv(SVC_LOG_WARN, "application could not be decided; returned to intake", "tenant", ev->tenant,
               "application", application_id, "error", cause.message, "detail", cause.detail, NULL);
    return AT_OK;
}

static at_code decide_completed(es_txn *t, const es_event *ev, at_arena *a, at_error *err)
{
    Atb__V1__ApplicationCompleted *ac =
        atb__v1__application_completed__unpack(at_arena_pbc(a), ev->payload_len, ev->payload);
    if (!ac)
        return malformed(ev, "The payload is not an atb.v1.ApplicationCompleted.", err);
    at_code code = application_of(ev, ac, err);
    if (code != AT_OK)
        return code;
    Atb__V1__Application *app = ac->application;
    if (app->n_asks > 0 && !asks_means(app)) {
        /* only social services asked for: allocation decides them, there is nothing here */
        log_event("application asks only for social services: no means test", ev, app->id);
        return AT_OK;
    }
    assess_lower_keys(app, ac->household, NULL);
    char command_id[AT_UUID_LEN + 1];
    at_uuid_derive(DECIDE_COMMAND_NS, ev->event_id, command_id);
    assess_cmd cmd = {
        .tenant = ev->tenant,
        .command_id = command_id,
        .causation_id = ev->event_id,
        .correlation_id = or_null(ev->correlation_id),
        .actor = ev->actor[0] ? ev->actor : "service:means",
        .app = app,
        .household = ac->household,
        .history = NULL,   /* the log's own facts are all there is */
        .skip_services = true,
    };
    assess_out out;
    if ((code = savepoint(t, "SAVEPOINT assess", err)) != AT_OK)
        return code;
    code = assess_decide(t, &cmd, a, &out, err);
    if (code == AT_VALIDATION && !es_txn_failed(t))
        return record_failure(t, ev, app->id, a, err);
    if (code == AT_OK && out.res.duplicate && !out.written)
        return AT_OK;   /* decided by this event before: a redelivery */
    if (code == AT_OK && out.res.duplicate) {
        /* the log knows the command id from another stream: never ours to commit */
        at_error_set(err, AT_CONFLICT, NULL, "command id %s of the decision is already in the log", command_id);
        at_error_detail(err, "It was derived from event %s and recorded for another stream.", ev->event_id);
        return AT_CONFLICT;
    }
    if (code == AT_CONFLICT && out.existing > 0 && !out.written) {
        at_error_clear(err);
        log_event("application already decided by another command", ev, app->id);
        return AT_OK;
    }
    if (code == AT_CONFLICT) {
        /* the stream appeared after the check under the locks: the next try finds it there */
        return retry_later(err);
    }
    return code;
}

at_code consume_application(void *ctx, es_txn *t, const es_event *ev, at_error *err)
{
    (void)ctx;
    if (strcmp(ev->type, EV_APPLICATION_COMPLETED) != 0)
        return AT_OK;   /* received, declarations, withdrawals: nothing to decide yet */
    at_arena *a = at_arena_new(ARENA_BLOCK);
    if (!a)
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    at_code code = decide_completed(t, ev, a, err);
    at_arena_free(a);
    return code;
}

/* ---- means-appeals */

static const char *body_name(Atb__V1__AppealBody b)
{
    switch (b) {
    case ATB__V1__APPEAL_BODY__APPEAL_BODY_COUNCIL:
        return "council";
    case ATB__V1__APPEAL_BODY__APPEAL_BODY_COURT:
        return "court";
    default:
        return NULL;
    }
}

static at_code override_appeal(es_txn *t, const es_event *ev, at_arena *a, at_error *err)
{
    Atb__V1__AppealDecided *ad = atb__v1__appeal_decided__unpack(at_arena_pbc(a), ev->payload_len, ev->payload);
    if (!ad)
        return malformed(ev, "The payload is not an atb.v1.AppealDecided.", err);
    if (ad->outcome != ATB__V1__APPEAL_OUTCOME__APPEAL_OUTCOME_CHANGED)
        return AT_OK;   /* upheld, annulled, withdrawn: the decision as recorded stands here */
    const char *body = body_name(ad->body);
    if (!body)
        return at_error_set(err, AT_VALIDATION, "body", "the appeal body is not council or court");
    char decided_by[32], reason[256], command_id[AT_UUID_LEN + 1];
    snprintf(decided_by, sizeof decided_by, "appeal:%s", body);
    /* The reasoning is free text: intake keeps it in its note store; the event names the
     * note, and so does the override. */
    if (ad->reasoning_note && ad->reasoning_note[0])
        snprintf(reason, sizeof reason, "appeal %.40s changed the decision (%s); reasoning: note %.40s",
                 ad->appeal_key, body, ad->reasoning_note);
    else
        snprintf(reason, sizeof reason, "appeal %.40s changed the decision (%s)", ad->appeal_key, body);
    at_uuid_derive(APPEAL_COMMAND_NS, ev->event_id, command_id);

    Atb__V1__OverrideDecision o = ATB__V1__OVERRIDE_DECISION__INIT;
    o.application_id = ad->application_id;
    o.ask_index = ad->ask_index;
    o.kind = ATB__V1__OVERRIDE_KIND__OVERRIDE_KIND_APPEAL;
    o.decided_by = decided_by;
    o.reference = ad->reference;
    o.reason = reason;
    o.decided_on = ad->decided_on;
    o.result = ad->result;
    override_cmd c = {
        .tenant = ev->tenant,
        .command_id = command_id,
        .causation_id = ev->event_id,
        .correlation_id = or_null(ev->correlation_id),
        .actor = or_null(ev->actor),
        .expected_version = ES_VERSION_ANY,   /* the version read in this transaction */
        .o = &o,
    };
    override_out out;
    at_code code = override_in_txn(t, &c, a, &out, err);
    if (code == AT_OK && out.res.duplicate && out.written) {
        at_error_set(err, AT_CONFLICT, NULL, "command id %s of the override is already in the log", command_id);
        at_error_detail(err, "It was derived from event %s and recorded for another stream.", ev->event_id);
        return AT_CONFLICT;
    }
    if (code == AT_CONFLICT) {
        /* an override was appended between our read and our append: read again */
        return retry_later(err);
    }
    return code;   /* AT_OK also for a duplicate found on the stream: done before */
}

at_code consume_appeal(void *ctx, es_txn *t, const es_event *ev, at_error *err)
{
    (void)ctx;
    if (strcmp(ev->type, EV_APPEAL_DECIDED) != 0)
        return AT_OK;   /* filed: nothing changes until it is decided */
    at_arena *a = at_arena_new(ARENA_BLOCK);
    if (!a)
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    at_code code = override_appeal(t, ev, a, err);
    at_arena_free(a);
    return code;
}
