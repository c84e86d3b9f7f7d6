/*
 * consume.c -- what allocation does with other services' events: two durable consumers
 * (allocation_consumers below), each run by libs/service on its own thread.
 *
 *   allocation-decisions     category "decision": each StatusGranted of means testing gives
 *                            every member of the decision's household the status for the
 *                            decision's period: rows of allocation.statuses, written in the
 *                            consumer's transaction (with its checkpoint). A
 *                            DecisionOverridden of a status decision (appeal, commission,
 *                            correction) replaces it from its effective date. Refusals and
 *                            benefits change nothing here.
 *   allocation-persons       category "person": the birth date (PersonRegistered,
 *                            PersonCorrected) and the dated DISABILITY and RESIDENCE facts
 *                            (PersonFactRecorded; a correction marks the fact it replaces)
 *                            of intake's persons: allocation.persons, allocation.person_facts.
 *   allocation-applications  category "application": each ApplicationCompleted of intake
 *                            with service asks puts the ask's subject on the waiting list
 *                            exactly as RequestService would (al_request), with the facts
 *                            of the event's household and the status from
 *                            allocation.statuses; an ask that RequestService would refuse
 *                            is recorded as ServiceRequestRefused on the request's stream.
 *
 * Invariants:
 *  - Once per event: the command id of each request (and of its refusal) is derived from
 *    the event id and the ask's index, so a redelivery (a restart, a checkpoint moved back)
 *    finds it in atb.commands and appends nothing. Each request commits in its own
 *    transaction before the checkpoint moves: a crash between the two is a redelivery.
 *  - An event that can never be handled (its payload does not decode, no ApplicationReceived
 *    before it, a service ask index that is not a service ask) returns AT_MALFORMED or
 *    AT_VALIDATION before anything is appended: libs/bus records a dead letter and moves on.
 *    PostgreSQL trouble is AT_UNAVAILABLE: rolled back and retried.
 */
#include "allocation.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "at_uuid.h"
#include "atb/v1/intake.pb-c.h"
#include "atb/v1/means.pb-c.h"

/* Namespace of the command ids derived from event ids. Never change it: a redelivery
 * after the change would no longer be recognised as done. */
#define AL_ASK_NS "5d7e2a90-8c31-4f6b-a0d4-3e9b17c6f285"

#define ARENA_BLOCK (64 * 1024)

/* Means testing's event types read here (services/means/means_core.h). */
#define EV_GRANTED "StatusGranted"
#define EV_REFUSED "StatusRefused"
#define EV_OVERRIDDEN "DecisionOverridden"

/* A durable's name is also its checkpoint's: never rename one. */
static const char *const decision_categories[] = {"decision"};
static const char *const person_categories[] = {"person"};
static const char *const application_categories[] = {"application"};
const svc_consumer allocation_consumers[] = {
    {"allocation-decisions", decision_categories, 1, consume_decision, NULL},
    {"allocation-persons", person_categories, 1, consume_person, NULL},
    {"allocation-applications", application_categories, 1, consume_application, NULL},
};
const size_t allocation_n_consumers = sizeof allocation_consumers / sizeof allocation_consumers[0];

static at_code malformed(const es_event *ev, const char *what, at_error *err)
{
    at_error_set(err, AT_MALFORMED, NULL, "cannot decode %s at position %lld", ev->type, (long long)ev->position);
    at_error_detail(err, "%s", what);
    at_error_hint(err, "The event stays in the log; fix the producer and record the fact again.");
    return AT_MALFORMED;
}

/* One statement in the consumer's transaction. Never rolls back: libs/bus owns it. */
static at_code run(es_txn *t, const char *sql, int n, const char *const *params, const char *what, at_error *err)
{
    PGresult *r = PQexecParams(es_txn_conn(t), sql, n, NULL, params, NULL, NULL, 0);
    ExecStatusType s = PQresultStatus(r);
    if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK) {
        at_error_set(err, AT_UNAVAILABLE, NULL, "could not %s", what);
        at_error_detail(err, "PostgreSQL said: %.300s", PQresultErrorMessage(r));
        PQclear(r);
        return AT_UNAVAILABLE;
    }
    PQclear(r);
    return AT_OK;
}

at_code al_status_of(es_txn *t, const char *tenant, const char *person, at_date on, int *status, int64_t *position,
                     const char **event, at_error *err)
{
    char d[11];
    al_date_text(on, d);
    const char *p[3] = {tenant, person, d};
    PGresult *r = NULL;
    at_code code = al_exec(t,
                           "SELECT status, position, event FROM allocation.statuses WHERE tenant = $1 "
                           "AND person_key = $2 AND from_on <= $3::date AND (to_on IS NULL OR to_on >= $3::date) "
                           "ORDER BY status > 0 DESC, position DESC LIMIT 1",
                           3, p, &r, "read the statuses", err);
    if (code != AT_OK)
        return code;
    bool found = PQntuples(r) > 0;
    *status = found ? atoi(PQgetvalue(r, 0, 0)) : ATB__V1__NEED_STATUS__NEED_STATUS_NONE;
    *position = found ? strtoll(PQgetvalue(r, 0, 1), NULL, 10) : 0;
    *event = !found ? "" : strcmp(PQgetvalue(r, 0, 2), EV_OVERRIDDEN) == 0 ? EV_OVERRIDDEN
                                                                                       : "StatusGranted";
    PQclear(r);
    return AT_OK;
}

/* ---- allocation-decisions */

static at_code project_status(es_txn *t, const es_event *ev, at_arena *a, at_error *err)
{
    Atb__V1__StatusGranted *g = atb__v1__status_granted__unpack(at_arena_pbc(a), ev->payload_len, ev->payload);
    if (!g)
        return malformed(ev, "The payload is not an atb.v1.StatusGranted.", err);
    const Atb__V1__Decision *d = g->decision;
    if (!d || !d->result || !d->input || !d->input->household)
        return malformed(ev, "The decision has no result or no household.", err);
    const Atb__V1__DecisionResult *res = d->result;
    if (res->status != ATB__V1__MEANS_STATUS__MEANS_STATUS_NEEDY &&
        res->status != ATB__V1__MEANS_STATUS__MEANS_STATUS_LOW_INCOME)
        return at_error_set(err, AT_VALIDATION, "result.status", "a status granted is needy or low-income");
    at_date from, to;
    if (!svc_date_in(res->period_from, &from) || from == AT_DATE_NONE || !svc_date_in(res->period_to, &to) ||
        (to != AT_DATE_NONE && to < from))
        return at_error_set(err, AT_VALIDATION, "result.period_from", "the status has no valid period");
    char st[8], pos[24], df[11], dt[11];
    snprintf(st, sizeof st, "%d", (int)res->status);
    snprintf(pos, sizeof pos, "%lld", (long long)ev->position);
    al_date_text(from, df);
    al_date_text(to, dt);
    const Atb__V1__Household *h = d->input->household;
    for (size_t i = 0; i < h->n_members; i++) {
        const char *key = h->members[i]->key;
        if (!key || !at_uuid_valid(key))
            continue;   /* means testing refuses such a household; nothing to attach it to */
        const char *p[7] = {ev->tenant, key, st, df, to == AT_DATE_NONE ? NULL : dt, ev->stream_id, pos};
        at_code code = run(t,
                           "INSERT INTO allocation.statuses (tenant, person_key, status, from_on, to_on, source, "
                           "position, decision_position, event) VALUES ($1, $2, $3, $4, $5, $6, $7, $7, "
                           "'StatusGranted') ON CONFLICT DO NOTHING",
                           7, p, "record the status", err);
        if (code != AT_OK)
            return code;
    }
    return AT_OK;
}

/* The household of the decision at `position` on the override's stream (a StatusGranted
 * or StatusRefused: both carry one Decision as field 1). NULL when the stream has none. */
static at_code overridden_household(es_txn *t, const es_event *ev, int64_t position, at_arena *a,
                                    const Atb__V1__Household **out, at_error *err)
{
    *out = NULL;
    es_batch *b = NULL;
    es_status st = es_read_stream(es_txn_store(t), ev->stream_id, 1, (size_t)(ev->version > 1 ? ev->version - 1 : 1),
                                  &b, err);
    if (st != ES_OK)
        return es_status_code(st);
    for (size_t i = 0; i < es_batch_count(b) && !*out; i++) {
        const es_event *e = es_batch_get(b, i);
        if (e->position != position || (strcmp(e->type, EV_GRANTED) != 0 && strcmp(e->type, EV_REFUSED) != 0))
            continue;
        uint8_t *copy = at_arena_alloc(a, e->payload_len + 1);
        if (!copy) {
            es_batch_free(b);
            return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
        }
        memcpy(copy, e->payload, e->payload_len);
        Atb__V1__StatusGranted *g = atb__v1__status_granted__unpack(at_arena_pbc(a), e->payload_len, copy);
        if (g && g->decision && g->decision->input)
            *out = g->decision->input->household;
    }
    es_batch_free(b);
    return AT_OK;
}

/* A DecisionOverridden of a status decision: from its effective date (decided_on; only
 * GMI overrides of kind LEVEL_CHANGE have another) the rows of the decision it overrides end, and a granted result
 * is in force from that date (or its period_from, if later) to its period_to. Days before
 * the effective date keep what they had, so a charge of an earlier period is the same
 * whether it was recorded before or after the override (docs/allocation.md, "Facts from the
 * log"). Benefits (GMI, LEVEL_CHANGE) change nothing here. */
static at_code project_override(es_txn *t, const es_event *ev, at_arena *a, at_error *err)
{
    Atb__V1__DecisionOverridden *o =
        atb__v1__decision_overridden__unpack(at_arena_pbc(a), ev->payload_len, ev->payload);
    if (!o)
        return malformed(ev, "The payload is not an atb.v1.DecisionOverridden.", err);
    const Atb__V1__DecisionResult *res = o->result;
    if (!res || (res->ask != ATB__V1__ASK_KIND__ASK_KIND_NEEDY_STATUS &&
                 res->ask != ATB__V1__ASK_KIND__ASK_KIND_LOW_INCOME_STATUS))
        return AT_OK;
    at_date eff = AT_DATE_NONE;
    if (!svc_date_in(o->decided_on, &eff) || eff == AT_DATE_NONE)
        return at_error_set(err, AT_VALIDATION, "decided_on", "the override has no valid date");
    if (o->overridden_position <= 0)
        return at_error_set(err, AT_VALIDATION, "overridden_position", "the override names no decision");
    bool granted = res->outcome == ATB__V1__DECISION_OUTCOME__DECISION_OUTCOME_GRANTED;
    at_date from = AT_DATE_NONE, to = AT_DATE_NONE;
    if (granted && (res->status != ATB__V1__MEANS_STATUS__MEANS_STATUS_NEEDY &&
                    res->status != ATB__V1__MEANS_STATUS__MEANS_STATUS_LOW_INCOME))
        return at_error_set(err, AT_VALIDATION, "result.status", "a status granted is needy or low-income");
    if (granted && (!svc_date_in(res->period_from, &from) || from == AT_DATE_NONE ||
                    !svc_date_in(res->period_to, &to) || (to != AT_DATE_NONE && to < from)))
        return at_error_set(err, AT_VALIDATION, "result.period_from", "the status has no valid period");

    char de[11], dpos[24], pos[24];
    al_date_text(eff, de);
    snprintf(dpos, sizeof dpos, "%lld", (long long)o->overridden_position);
    snprintf(pos, sizeof pos, "%lld", (long long)ev->position);
    /* An annulment leaves a row of status 0 over what it took away, so a request or charge
     * that finds no other status names the override as its source. Then the earlier rows of
     * the decision (its StatusGranted, earlier overrides) end the day before. */
    const char *p[5] = {ev->tenant, dpos, pos, de, ev->stream_id};
    at_code code = granted ? AT_OK
                           : run(t,
                                 "INSERT INTO allocation.statuses (tenant, person_key, status, from_on, to_on, source, "
                                 "position, decision_position, event) SELECT tenant, person_key, 0, $4::date, "
                                 "CASE WHEN bool_or(to_on IS NULL) THEN NULL ELSE max(to_on) END, $5, $3, $2, "
                                 "'DecisionOverridden' FROM allocation.statuses WHERE tenant = $1 "
                                 "AND decision_position = $2 AND position < $3 AND status > 0 "
                                 "AND (to_on IS NULL OR to_on >= $4::date) GROUP BY tenant, person_key "
                                 "ON CONFLICT DO NOTHING",
                                 5, p, "record the annulled status", err);
    if (code == AT_OK)
        code = run(t,
                   "DELETE FROM allocation.statuses WHERE tenant = $1 AND decision_position = $2 "
                   "AND position < $3 AND from_on >= $4::date",
                   4, p, "end the overridden status", err);
    if (code == AT_OK)
        code = run(t,
                   "UPDATE allocation.statuses SET to_on = $4::date - 1 WHERE tenant = $1 AND decision_position = $2 "
                   "AND position < $3 AND (to_on IS NULL OR to_on >= $4::date)",
                   4, p, "end the overridden status", err);
    if (code != AT_OK || !granted)
        return code;
    if (from < eff)
        from = eff;
    if (to != AT_DATE_NONE && to < from)
        return AT_OK;   /* the new period ended before the override took effect */
    const Atb__V1__Household *h = NULL;
    if ((code = overridden_household(t, ev, o->overridden_position, a, &h, err)) != AT_OK)
        return code;
    if (!h)
        return at_error_set(err, AT_VALIDATION, "overridden_position", "the stream has no status decision at %lld",
                            (long long)o->overridden_position);
    char st[8], df[11], dt[11];
    snprintf(st, sizeof st, "%d", (int)res->status);
    al_date_text(from, df);
    al_date_text(to, dt);
    for (size_t i = 0; i < h->n_members; i++) {
        const char *key = h->members[i]->key;
        if (!key || !at_uuid_valid(key))
            continue;
        const char *q[8] = {ev->tenant, key, st, df, to == AT_DATE_NONE ? NULL : dt, ev->stream_id, pos, dpos};
        if ((code = run(t,
                        "INSERT INTO allocation.statuses (tenant, person_key, status, from_on, to_on, source, "
                        "position, decision_position, event) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, "
                        "'DecisionOverridden') ON CONFLICT DO NOTHING",
                        8, q, "record the overridden status", err)) != AT_OK)
            return code;
    }
    return AT_OK;
}

at_code consume_decision(void *ctx, es_txn *t, const es_event *ev, at_error *err)
{
    (void)ctx;
    bool granted = strcmp(ev->type, EV_GRANTED) == 0, overridden = strcmp(ev->type, EV_OVERRIDDEN) == 0;
    if (!granted && !overridden)
        return AT_OK;   /* refusals and benefits: no status */
    at_arena *a = at_arena_new(ARENA_BLOCK);
    if (!a)
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    at_code code = granted ? project_status(t, ev, a, err) : project_override(t, ev, a, err);
    at_arena_free(a);
    return code;
}

/* ---- allocation-persons */

at_code al_person_of(es_txn *t, const char *tenant, const char *person, at_date on, al_known *out, at_error *err)
{
    char d[11];
    al_date_text(on, d);
    const char *p[3] = {tenant, person, d};
    PGresult *r = NULL;
    /* The fact of a kind in force on the date is the latest one started on or before it
     * (a later fact ends an open-ended earlier one, docs/intake.md), if it has not ended. */
    at_code code = al_exec(t,
                           "SELECT (SELECT birth_date FROM allocation.persons WHERE tenant = $1 AND person_key = $2), "
                           "(SELECT CASE WHEN (to_on IS NULL OR to_on >= $3::date) AND level BETWEEN 1 AND 3 "
                           "THEN level ELSE 0 END FROM allocation.person_facts WHERE tenant = $1 AND person_key = $2 "
                           "AND kind = 2 AND NOT replaced AND from_on <= $3::date "
                           "ORDER BY from_on DESC, position DESC LIMIT 1), "
                           "(SELECT CASE WHEN (to_on IS NULL OR to_on >= $3::date) AND municipality = $1 THEN 1 "
                           "ELSE 0 END FROM allocation.person_facts WHERE tenant = $1 AND person_key = $2 "
                           "AND kind = 1 AND NOT replaced AND from_on <= $3::date "
                           "ORDER BY from_on DESC, position DESC LIMIT 1)",
                           3, p, &r, "read the person", err);
    if (code != AT_OK)
        return code;
    out->birth_date = AT_DATE_NONE;
    if (!PQgetisnull(r, 0, 0))
        at_date_parse(PQgetvalue(r, 0, 0), "birth_date", &out->birth_date, NULL);
    out->disability_group = PQgetisnull(r, 0, 1) ? -1 : atoi(PQgetvalue(r, 0, 1));
    out->resident = PQgetisnull(r, 0, 2) ? -1 : atoi(PQgetvalue(r, 0, 2));
    PQclear(r);
    return AT_OK;
}

static at_code project_birth(es_txn *t, const es_event *ev, const char *person, const Atb__V1__Date *birth,
                             at_error *err)
{
    at_date b = AT_DATE_NONE;
    if (!svc_date_in(birth, &b) || b == AT_DATE_NONE)
        return AT_OK;   /* a correction of something else */
    if (!person || !at_uuid_valid(person))
        return at_error_set(err, AT_VALIDATION, "person_key", "the person key is not a UUID");
    char bd[11], pos[24];
    al_date_text(b, bd);
    snprintf(pos, sizeof pos, "%lld", (long long)ev->position);
    const char *p[4] = {ev->tenant, person, bd, pos};
    return run(t,
               "INSERT INTO allocation.persons (tenant, person_key, birth_date, position) VALUES ($1, $2, $3, $4) "
               "ON CONFLICT (tenant, person_key) DO UPDATE SET birth_date = EXCLUDED.birth_date, "
               "position = EXCLUDED.position WHERE allocation.persons.position < EXCLUDED.position",
               4, p, "record the birth date", err);
}

static at_code project_fact(es_txn *t, const es_event *ev, const Atb__V1__PersonFactRecorded *f, at_error *err)
{
    const Atb__V1__PersonFact *x = f->fact;
    if (!x || (x->kind != ATB__V1__PERSON_FACT_KIND__PERSON_FACT_KIND_DISABILITY &&
               x->kind != ATB__V1__PERSON_FACT_KIND__PERSON_FACT_KIND_RESIDENCE))
        return AT_OK;   /* care levels come from allocation's own assessments */
    if (!f->person_key || !at_uuid_valid(f->person_key))
        return at_error_set(err, AT_VALIDATION, "person_key", "the person key is not a UUID");
    at_date from = AT_DATE_NONE, to = AT_DATE_NONE;
    if (!svc_date_in(x->from, &from) || from == AT_DATE_NONE || !svc_date_in(x->to, &to))
        return at_error_set(err, AT_VALIDATION, "fact.from", "the fact has no valid period");
    char pos[24], kind[8], level[8], df[11], dt[11], corrects[24];
    snprintf(pos, sizeof pos, "%lld", (long long)ev->position);
    snprintf(kind, sizeof kind, "%d", (int)x->kind);
    snprintf(level, sizeof level, "%d", (int)x->level);
    snprintf(corrects, sizeof corrects, "%lld", (long long)f->corrects_position);
    al_date_text(from, df);
    al_date_text(to, dt);
    const char *p[8] = {pos, ev->tenant, f->person_key, kind, level, x->municipality ? x->municipality : "", df,
                        to == AT_DATE_NONE ? NULL : dt};
    at_code code = run(t,
                       "INSERT INTO allocation.person_facts (position, tenant, person_key, kind, level, municipality, "
                       "from_on, to_on) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (position) DO NOTHING",
                       8, p, "record the person's fact", err);
    if (code != AT_OK || f->corrects_position <= 0)
        return code;
    const char *c[2] = {corrects, ev->tenant};
    return run(t, "UPDATE allocation.person_facts SET replaced = true WHERE position = $1 AND tenant = $2", 2, c,
               "record the correction", err);
}

at_code consume_person(void *ctx, es_txn *t, const es_event *ev, at_error *err)
{
    (void)ctx;
    bool registered = strcmp(ev->type, "PersonRegistered") == 0, corrected = strcmp(ev->type, "PersonCorrected") == 0,
         fact = strcmp(ev->type, "PersonFactRecorded") == 0;
    if (!registered && !corrected && !fact)
        return AT_OK;
    at_arena *a = at_arena_new(ARENA_BLOCK);
    if (!a)
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    at_code code = AT_OK;
    if (registered) {
        Atb__V1__PersonRegistered *m =
            atb__v1__person_registered__unpack(at_arena_pbc(a), ev->payload_len, ev->payload);
        code = m ? project_birth(t, ev, m->person_key, m->birth_date, err)
                 : malformed(ev, "The payload is not an atb.v1.PersonRegistered.", err);
    } else if (corrected) {
        Atb__V1__PersonCorrected *m = atb__v1__person_corrected__unpack(at_arena_pbc(a), ev->payload_len, ev->payload);
        code = m ? project_birth(t, ev, m->person_key, m->birth_date, err)
                 : malformed(ev, "The payload is not an atb.v1.PersonCorrected.", err);
    } else {
        Atb__V1__PersonFactRecorded *m =
            atb__v1__person_fact_recorded__unpack(at_arena_pbc(a), ev->payload_len, ev->payload);
        code = m ? project_fact(t, ev, m, err) : malformed(ev, "The payload is not an atb.v1.PersonFactRecorded.", err);
    }
    at_arena_free(a);
    return code;
}

/* ---- allocation-applications */

/* The ApplicationReceived of the event's stream, before the event. */
static at_code received_of(es_txn *t, const es_event *ev, at_arena *a, Atb__V1__ApplicationReceived **out,
                           at_error *err)
{
    es_batch *b = NULL;
    es_status st = es_read_stream(es_txn_store(t), ev->stream_id, 1, (size_t)(ev->version > 1 ? ev->version - 1 : 1),
                                  &b, err);
    if (st != ES_OK)
        return es_status_code(st);
    *out = NULL;
    for (size_t i = 0; i < es_batch_count(b) && !*out; i++) {
        const es_event *e = es_batch_get(b, i);
        if (strcmp(e->type, "ApplicationReceived") != 0 || e->version >= ev->version)
            continue;
        uint8_t *copy = at_arena_alloc(a, e->payload_len + 1);
        if (!copy) {
            es_batch_free(b);
            return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
        }
        memcpy(copy, e->payload, e->payload_len);
        *out = atb__v1__application_received__unpack(at_arena_pbc(a), e->payload_len, copy);
        if (!*out) {
            es_batch_free(b);
            return malformed(ev, "The application's ApplicationReceived does not decode.", err);
        }
    }
    es_batch_free(b);
    if (!*out) {
        at_error_set(err, AT_VALIDATION, "application_id", "no ApplicationReceived before ApplicationCompleted");
        at_error_detail(err, "Stream %s has no ApplicationReceived before version %lld.", ev->stream_id,
                        (long long)ev->version);
        return AT_VALIDATION;
    }
    return AT_OK;
}

static const Atb__V1__HouseholdMember *member_of(const Atb__V1__Household *h, const char *key)
{
    for (size_t i = 0; h && key && i < h->n_members; i++)
        if (h->members[i]->key && strcasecmp(h->members[i]->key, key) == 0)
            return h->members[i];
    return NULL;
}

/* The disability group of the member in force on `on` (0 none). A child with disability
 * (4 in means.proto) has no group I-III: 0 here. */
static int32_t group_on(const Atb__V1__HouseholdMember *m, at_date on)
{
    at_date from = AT_DATE_NONE, to = AT_DATE_NONE;
    if (m->disability_group < 1 || m->disability_group > 3 || !svc_date_in(m->disability_from, &from) ||
        !svc_date_in(m->disability_to, &to))
        return 0;
    if ((from != AT_DATE_NONE && from > on) || (to != AT_DATE_NONE && to < on))
        return 0;
    return m->disability_group;
}

static char *lower_dup(at_arena *a, const char *s)
{
    char *c = at_arena_strdup(a, s ? s : "");
    for (char *p = c; p && *p; p++)
        *p = (char)tolower((unsigned char)*p);
    return c;
}

/* The RequestService of one service ask: the subject's facts from the household on the
 * date the application was received. Sets cause (and returns its code) when the subject
 * is not a member of the household. */
static at_code ask_command(const Atb__V1__ApplicationReceived *r, const Atb__V1__Household *h,
                           const Atb__V1__Ask *ask, at_arena *a, Atb__V1__RequestService *c, at_error *cause)
{
    atb__v1__request_service__init(c);
    const char *subject = ask->subject && ask->subject[0] ? ask->subject : r->applicant;
    c->person_key = lower_dup(a, subject);
    c->service = lower_dup(a, ask->benefit);
    c->requested_on = r->received;
    c->hours_per_week = ask->units > 168 ? 169 : (int32_t)(ask->units < 0 ? 0 : ask->units);
    at_date on = AT_DATE_NONE;
    svc_date_in(r->received, &on);
    const Atb__V1__HouseholdMember *m = member_of(h, subject);
    if (!m) {
        at_error_set(cause, AT_VALIDATION, "subject", "the ask's subject is not a member of the household");
        at_error_detail(cause, "The household of the completed application has no member %.40s.",
                        subject ? subject : "");
        return AT_VALIDATION;
    }
    at_date since = AT_DATE_NONE;
    c->birth_date = m->birth_date;
    c->disability_group = on == AT_DATE_NONE ? 0 : group_on(m, on);
    c->resident = svc_date_in(m->residence_since, &since) && since != AT_DATE_NONE && since <= on;
    return AT_OK;
}

static at_code request_asks(es_txn *t, const es_event *ev, at_arena *a, at_error *err)
{
    Atb__V1__ApplicationCompleted *ac =
        atb__v1__application_completed__unpack(at_arena_pbc(a), ev->payload_len, ev->payload);
    if (!ac)
        return malformed(ev, "The payload is not an atb.v1.ApplicationCompleted.", err);
    if (ac->n_service_asks == 0)
        return AT_OK;   /* nothing for allocation: means testing decides the rest */
    Atb__V1__ApplicationReceived *r = NULL;
    at_code code = received_of(t, ev, a, &r, err);
    if (code != AT_OK)
        return code;
    for (size_t i = 0; i < ac->n_service_asks; i++) {
        int32_t n = ac->service_asks[i];
        if (n < 1 || (size_t)n > r->n_asks || r->asks[n - 1]->kind != ATB__V1__ASK_KIND__ASK_KIND_SERVICE) {
            at_error_set(err, AT_VALIDATION, "service_asks", "service ask %d is not a service ask of the application",
                         (int)n);
            at_error_detail(err, "ApplicationReceived of %s has %zu asks.", ev->stream_id, r->n_asks);
            return AT_VALIDATION;
        }
    }
    const char *app_id = ac->application_id && ac->application_id[0] ? ac->application_id : r->application_id;
    for (size_t i = 0; i < ac->n_service_asks; i++) {
        int32_t n = ac->service_asks[i];
        char name[96], command_id[AT_UUID_LEN + 1];
        snprintf(name, sizeof name, "%s/ask%d", ev->event_id, (int)n);
        at_uuid_derive(AL_ASK_NS, name, command_id);
        Atb__V1__RequestService c;
        at_error cause;
        at_error_clear(&cause);
        at_code refused = ask_command(r, ac->household, r->asks[n - 1], a, &c, &cause);
        svc_request req;
        memset(&req, 0, sizeof req);
        req.es = es_txn_store(t);
        req.tenant = ev->tenant;
        req.name = "RequestService";
        req.command_id = command_id;
        req.actor = "service:allocation";
        req.correlation_id = ev->correlation_id ? ev->correlation_id : "";
        req.expected_version = ES_VERSION_ANY;
        req.msg = &c.base;
        req.arena = a;
        al_origin o = {.causation_id = ev->event_id, .application_id = app_id, .ask_index = n,
                       .completed_position = ev->position};
        ProtobufCMessage *reply = NULL;
        if (refused == AT_OK)
            refused = al_request(&req, &c, &o, &reply, &cause);
        if (refused == AT_OK)
            continue;
        if (refused != AT_VALIDATION && refused != AT_NOT_FOUND && refused != AT_CONFLICT) {
            *err = cause;   /* PostgreSQL or the log: retried */
            return refused;
        }
        char pos[24];
        snprintf(pos, sizeof pos, "%lld", (long long)ev->position);
        svc_log_kv(SVC_LOG_WARN, "service ask refused", "tenant", ev->tenant, "application", app_id, "position", pos,
                   "service", c.service, "error", cause.message, "detail", cause.detail, NULL);
        if ((code = al_request_refuse(&req, &c, &o, &cause, &reply, err)) != AT_OK)
            return code;
    }
    return AT_OK;
}

at_code consume_application(void *ctx, es_txn *t, const es_event *ev, at_error *err)
{
    (void)ctx;
    if (strcmp(ev->type, "ApplicationCompleted") != 0)
        return AT_OK;   /* received, declarations, withdrawals, decisions: nothing to place */
    at_arena *a = at_arena_new(ARENA_BLOCK);
    if (!a)
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    at_code code = request_asks(t, ev, a, err);
    at_arena_free(a);
    return code;
}
