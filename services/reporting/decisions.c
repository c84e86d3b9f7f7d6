/*
 * decisions.c -- the decisions and applications projections.
 *
 * reporting.decisions: one row per decision of means testing (tenant, application, ask
 * index) with its current result; a DecisionOverridden replaces the result and keeps the
 * result first decided in the original_* columns. reporting.applications: one row per
 * application with its received date, legal deadline, applicant and social worker, whether
 * it was decided and appealed.
 * reporting.decision_results: every result of a decision, the first and each override, at
 * its position; with the application's fact positions (received_position,
 * first_decided_position, appealed_position) they give the figures "as known on" a date.
 *
 * Invariants:
 *  - each row is written in the consumer's transaction, which also moves its checkpoint
 *    ("reporting-decisions", "reporting-applications"): a table reflects exactly the events
 *    up to its checkpoint, the per-projection high-water mark; each row also holds the
 *    position of the last event that changed it;
 *  - projecting an event twice changes nothing: inserts are ON CONFLICT DO NOTHING, and an
 *    update applies only an event after the one the row already holds. So a rebuild (delete
 *    the rows and the checkpoint) replays the log into the same rows;
 *  - the two projections never read each other: their consumers run independently, and the
 *    report joins them when it reads;
 *  - nothing identifying: household and member keys are pseudonymous UUIDs.
 */
#include "reporting.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atb/v1/intake.pb-c.h"
#include "atb/v1/means.pb-c.h"

/* "YYYY-MM-DD", or NULL for a date not given (all zero). */
static const char *date_text(const Atb__V1__Date *d, char out[16])
{
    if (!d || (d->year == 0 && d->month == 0 && d->day == 0))
        return NULL;
    snprintf(out, 16, "%04d-%02d-%02d", (int)d->year, (int)d->month, (int)d->day);
    return out;
}

static at_code malformed(const es_event *ev, const char *why, at_error *err)
{
    at_error_set(err, AT_MALFORMED, NULL, "cannot project %s at position %lld", ev->type, (long long)ev->position);
    at_error_detail(err, "%s", why);
    return AT_MALFORMED;
}

/* The household's member keys as a PostgreSQL array literal, malloc'd; NULL when out of
 * memory. Each element is quoted, so a key holding a comma or brace stays one element. */
static char *members_array(const Atb__V1__Household *h)
{
    size_t cap = 3, n = h ? h->n_members : 0;
    for (size_t i = 0; i < n; i++)
        cap += 2 * strlen(h->members[i]->key) + 3;
    char *out = malloc(cap), *p = out;
    if (!out)
        return NULL;
    *p++ = '{';
    for (size_t i = 0; i < n; i++) {
        if (i)
            *p++ = ',';
        *p++ = '"';
        for (const char *k = h->members[i]->key; *k; k++) {
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

static const ProtobufCMessageDescriptor *decision_type(const char *type)
{
    if (strcmp(type, "StatusGranted") == 0)
        return &atb__v1__status_granted__descriptor;
    if (strcmp(type, "StatusRefused") == 0)
        return &atb__v1__status_refused__descriptor;
    if (strcmp(type, "BenefitGranted") == 0)
        return &atb__v1__benefit_granted__descriptor;
    if (strcmp(type, "BenefitRefused") == 0)
        return &atb__v1__benefit_refused__descriptor;
    return NULL;
}

/* A row of reporting.decision_results: tenant, application id, ask index, position, outcome,
 * status, period from, to, has amount, amount, per, budget code. */
static at_code result_insert(es_txn *txn, const es_event *ev, const char *const p[12], at_error *err)
{
    return rep_exec(txn, ev, "reporting.decision_results",
                "INSERT INTO reporting.decision_results (tenant, application_id, ask_index, position, outcome, "
                "status, period_from, period_to, has_amount, amount_cents, per, budget_code) VALUES "
                "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT DO NOTHING",
                12, p, err);
}

static at_code project_decision(es_txn *txn, const es_event *ev, const ProtobufCMessageDescriptor *desc,
                                at_error *err)
{
    ProtobufCMessage *m = protobuf_c_message_unpack(desc, NULL, ev->payload_len, ev->payload);
    /* the four events are the same message: `Decision decision = 1` */
    const Atb__V1__Decision *d = m ? ((const Atb__V1__StatusGranted *)m)->decision : NULL;
    const char *why = !m ? "Its payload does not decode."
                      : !d || !d->result || !d->input ? "It has no decision, result or input."
                      : !d->application_id[0]          ? "Its application_id is empty."
                                                       : NULL;
    if (why) {
        if (m)
            protobuf_c_message_free_unpacked(m, NULL);
        return malformed(ev, why, err);
    }
    const Atb__V1__DecisionResult *r = d->result;
    const Atb__V1__Household *h = d->input->household;
    char *members = members_array(h);
    if (!members) {
        protobuf_c_message_free_unpacked(m, NULL);
        return at_error_set(err, AT_UNAVAILABLE, NULL, "could not project a decision: out of memory");
    }
    char ask_index[16], ask[16], outcome[16], status[16], amount[24], per[16], count[16], pos[24];
    char from[16], to[16], on[16];
    snprintf(ask_index, sizeof ask_index, "%d", (int)d->ask_index);
    snprintf(ask, sizeof ask, "%d", (int)r->ask);
    snprintf(outcome, sizeof outcome, "%d", (int)r->outcome);
    snprintf(status, sizeof status, "%d", (int)r->status);
    snprintf(amount, sizeof amount, "%lld", (long long)r->amount_cents);
    snprintf(per, sizeof per, "%d", (int)r->per);
    snprintf(count, sizeof count, "%zu", h ? h->n_members : 0);
    snprintf(pos, sizeof pos, "%lld", (long long)ev->position);
    const char *params[19] = {ev->tenant, d->application_id, ask_index, ev->type, ask, r->benefit, outcome,
                              status, date_text(r->period_from, from), date_text(r->period_to, to),
                              r->has_amount ? "true" : "false", amount, per, r->budget_code,
                              h ? h->id : "", count, members, date_text(d->input->decision_date, on), pos};
    at_code code = rep_exec(txn, ev, "reporting.decisions",
                        "INSERT INTO reporting.decisions (tenant, application_id, ask_index, event_type, ask, "
                        "benefit, outcome, status, period_from, period_to, has_amount, amount_cents, per, "
                        "budget_code, household_id, member_count, members, decided_on, position) VALUES "
                        "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19) "
                        "ON CONFLICT (tenant, application_id, ask_index) DO NOTHING",
                        19, params, err);
    free(members);
    const char *res[12] = {ev->tenant, d->application_id, ask_index, pos, outcome, status, params[8], params[9],
                           params[10], amount, per, r->budget_code};
    if (code == AT_OK)
        code = result_insert(txn, ev, res, err);
    protobuf_c_message_free_unpacked(m, NULL);
    return code;
}

static at_code project_override(es_txn *txn, const es_event *ev, at_error *err)
{
    Atb__V1__DecisionOverridden *o = atb__v1__decision_overridden__unpack(NULL, ev->payload_len, ev->payload);
    const char *why = !o ? "Its payload does not decode."
                      : !o->result ? "It has no result."
                      : !o->application_id[0] ? "Its application_id is empty."
                                              : NULL;
    if (why) {
        if (o)
            atb__v1__decision_overridden__free_unpacked(o, NULL);
        return malformed(ev, why, err);
    }
    const Atb__V1__DecisionResult *r = o->result;
    char ask_index[16], outcome[16], status[16], amount[24], per[16], pos[24], from[16], to[16];
    snprintf(ask_index, sizeof ask_index, "%d", (int)o->ask_index);
    snprintf(outcome, sizeof outcome, "%d", (int)r->outcome);
    snprintf(status, sizeof status, "%d", (int)r->status);
    snprintf(amount, sizeof amount, "%lld", (long long)r->amount_cents);
    snprintf(per, sizeof per, "%d", (int)r->per);
    snprintf(pos, sizeof pos, "%lld", (long long)ev->position);
    const char *params[12] = {ev->tenant, o->application_id, ask_index, outcome, status,
                              date_text(r->period_from, from), date_text(r->period_to, to),
                              r->has_amount ? "true" : "false", amount, per, r->budget_code, pos};
    /* The right-hand sides read the row before the update: the first override moves the
     * decided result into original_*, a later one leaves them. An override already applied
     * (a replay) matches no row. */
    at_code code = rep_exec(txn, ev, "reporting.decisions",
                        "UPDATE reporting.decisions SET "
                        "original_outcome = CASE WHEN overridden_position IS NULL THEN outcome ELSE original_outcome END, "
                        "original_status = CASE WHEN overridden_position IS NULL THEN status ELSE original_status END, "
                        "original_period_from = CASE WHEN overridden_position IS NULL THEN period_from "
                        "ELSE original_period_from END, "
                        "original_period_to = CASE WHEN overridden_position IS NULL THEN period_to "
                        "ELSE original_period_to END, "
                        "original_amount_cents = CASE WHEN overridden_position IS NULL THEN amount_cents "
                        "ELSE original_amount_cents END, "
                        "original_per = CASE WHEN overridden_position IS NULL THEN per ELSE original_per END, "
                        "outcome = $4, status = $5, period_from = $6, period_to = $7, has_amount = $8, "
                        "amount_cents = $9, per = $10, budget_code = $11, overridden_position = $12 "
                        "WHERE tenant = $1 AND application_id = $2 AND ask_index = $3 "
                        "AND coalesce(overridden_position, 0) < $12",
                        12, params, err);
    const char *res[12] = {ev->tenant, o->application_id, ask_index, pos, outcome, status, params[5], params[6],
                           params[7], amount, per, r->budget_code};
    if (code == AT_OK)
        code = result_insert(txn, ev, res, err);
    atb__v1__decision_overridden__free_unpacked(o, NULL);
    return code;
}

at_code decisions_project(void *ctx, es_txn *txn, const es_event *ev, at_error *err)
{
    (void)ctx;
    const ProtobufCMessageDescriptor *desc = decision_type(ev->type);
    if (desc)
        return project_decision(txn, ev, desc, err);
    if (strcmp(ev->type, "DecisionOverridden") == 0)
        return project_override(txn, ev, err);
    return AT_OK;   /* other decision events do not change this projection */
}

static at_code project_received(es_txn *txn, const es_event *ev, at_error *err)
{
    Atb__V1__ApplicationReceived *a = atb__v1__application_received__unpack(NULL, ev->payload_len, ev->payload);
    if (!a || !a->application_id[0]) {
        if (a)
            atb__v1__application_received__free_unpacked(a, NULL);
        return malformed(ev, a ? "Its application_id is empty." : "Its payload does not decode.", err);
    }
    char received[16], deadline[16], pos[24];
    snprintf(pos, sizeof pos, "%lld", (long long)ev->position);
    const char *params[7] = {ev->tenant, a->application_id, date_text(a->received, received),
                             date_text(a->deadline, deadline), pos, a->applicant, a->social_worker};
    at_code code = rep_exec(txn, ev, "reporting.applications",
                        "INSERT INTO reporting.applications (tenant, application_id, received, deadline, position, "
                        "received_position, applicant, social_worker) VALUES ($1, $2, $3, $4, $5, $5, $6, $7) "
                        "ON CONFLICT (tenant, application_id) DO NOTHING",
                        7, params, err);
    atb__v1__application_received__free_unpacked(a, NULL);
    return code;
}

/* ApplicationDecided or ApplicationAppealed: both only need the application id (field 1
 * of each), and both mark the row once; a replay of an older event matches no row. */
static at_code project_mark(es_txn *txn, const es_event *ev, bool decided, at_error *err)
{
    char id[128] = "";
    bool decoded = false;
    if (decided) {
        Atb__V1__ApplicationDecided *a = atb__v1__application_decided__unpack(NULL, ev->payload_len, ev->payload);
        if (a && strlen(a->application_id) < sizeof id) {
            decoded = true;
            snprintf(id, sizeof id, "%s", a->application_id);
        }
        if (a)
            atb__v1__application_decided__free_unpacked(a, NULL);
    } else {
        Atb__V1__ApplicationAppealed *a = atb__v1__application_appealed__unpack(NULL, ev->payload_len, ev->payload);
        if (a && strlen(a->application_id) < sizeof id) {
            decoded = true;
            snprintf(id, sizeof id, "%s", a->application_id);
        }
        if (a)
            atb__v1__application_appealed__free_unpacked(a, NULL);
    }
    if (!decoded || !id[0])
        return malformed(ev, "Its payload does not decode, or its application_id is empty or too long.", err);
    char pos[24];
    snprintf(pos, sizeof pos, "%lld", (long long)ev->position);
    const char *params[3] = {ev->tenant, id, pos};
    at_code code = rep_exec(txn, ev, "reporting.applications",
                        decided ? "UPDATE reporting.applications SET decided_position = $3, position = $3, "
                                  "first_decided_position = coalesce(first_decided_position, $3) "
                                  "WHERE tenant = $1 AND application_id = $2 AND position < $3"
                                : "UPDATE reporting.applications SET appealed = true, position = $3, "
                                  "appealed_position = coalesce(appealed_position, $3) "
                                  "WHERE tenant = $1 AND application_id = $2 AND position < $3",
                        3, params, err);
    return code;
}

at_code applications_project(void *ctx, es_txn *txn, const es_event *ev, at_error *err)
{
    (void)ctx;
    if (strcmp(ev->type, "ApplicationReceived") == 0)
        return project_received(txn, ev, err);
    if (strcmp(ev->type, "ApplicationDecided") == 0)
        return project_mark(txn, ev, true, err);
    if (strcmp(ev->type, "ApplicationAppealed") == 0)
        return project_mark(txn, ev, false, err);
    return AT_OK;   /* other application events do not change this projection */
}
