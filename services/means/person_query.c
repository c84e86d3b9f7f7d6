/*
 * person_query.c -- ListPersonStatuses: what a person holds now, from the projection of
 * the granted decisions (means.grants, means.members), each marked when an override
 * changed it. A refused ask is not in the projection and so not listed: ExplainDecision
 * of the application tells it.
 */
#include "means.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "at_uuid.h"

/* Rows in one reply: a reply must fit in one NATS message. */
#define STATUS_LIST_MAX 1000

/* The person's own grants, and the grants of every application whose household counted
 * the person as a member (household benefits such as GMI carry no member). */
static const char sql[] =
    "SELECT g.application_id, g.ask_index, g.household, g.kind, coalesce(g.status, ''), coalesce(g.benefit, ''), "
    "coalesce(g.member, ''), g.decided_on, coalesce(g.period_from::text, ''), coalesce(g.period_to::text, ''), "
    "g.amount_cents, g.units FROM means.grants g WHERE g.tenant = $1 AND (g.member = $2 OR g.application_id IN "
    "(SELECT m.application_id FROM means.members m WHERE m.tenant = $1 AND m.member = $2)) "
    "ORDER BY g.decided_on DESC, g.application_id, g.ask_index LIMIT $3::int";

static Atb__V1__Date *date_of(at_arena *a, const char *s)
{
    int y, m, d;
    at_date out;
    if (!s[0] || sscanf(s, "%d-%d-%d", &y, &m, &d) != 3 || !at_date_from_ymd(y, m, d, &out))
        return NULL;
    return svc_date_out(a, out);
}

/* The ask indexes of decision-<id> that a DecisionOverridden names (a bit each, < 64). */
static at_code overridden_asks(svc_request *req, const char *application_id, uint64_t *mask, at_error *err)
{
    char stream[96];
    snprintf(stream, sizeof stream, "decision-%s", application_id);
    es_batch *b = NULL;
    es_status st = es_read_stream(req->es, stream, 1, SIZE_MAX, &b, err);
    if (st != ES_OK)
        return es_status_code(st);
    *mask = 0;
    for (size_t i = 0; i < es_batch_count(b); i++) {
        const es_event *ev = es_batch_get(b, i);
        if (strcmp(ev->type, MEANS_EV_OVERRIDDEN) != 0)
            continue;
        Atb__V1__DecisionOverridden *o =
            atb__v1__decision_overridden__unpack(at_arena_pbc(req->arena), ev->payload_len, ev->payload);
        if (o && o->ask_index >= 0 && o->ask_index < 64)
            *mask |= UINT64_C(1) << o->ask_index;
    }
    es_batch_free(b);
    return AT_OK;
}

static at_code fill(svc_request *req, PGresult *r, Atb__V1__PersonStatuses *out, at_error *err)
{
    at_arena *a = req->arena;
    size_t n = (size_t)PQntuples(r);
    out->statuses = at_arena_alloc(a, (n + 1) * sizeof *out->statuses);
    Atb__V1__PersonStatus *s = at_arena_alloc(a, (n + 1) * sizeof *s);
    if (!out->statuses || !s)
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    const char *last = "";
    uint64_t mask = 0;
    for (size_t i = 0; i < n; i++) {
        int k = (int)i;
        atb__v1__person_status__init(&s[i]);
        s[i].application_id = at_arena_strdup(a, PQgetvalue(r, k, 0));
        s[i].ask_index = (int32_t)strtol(PQgetvalue(r, k, 1), NULL, 10);
        s[i].household = at_arena_strdup(a, PQgetvalue(r, k, 2));
        s[i].kind = at_arena_strdup(a, PQgetvalue(r, k, 3));
        const char *st = PQgetvalue(r, k, 4);
        s[i].status = strcmp(st, "needy") == 0        ? ATB__V1__MEANS_STATUS__MEANS_STATUS_NEEDY
                      : strcmp(st, "low_income") == 0 ? ATB__V1__MEANS_STATUS__MEANS_STATUS_LOW_INCOME
                                                      : ATB__V1__MEANS_STATUS__MEANS_STATUS_UNSPECIFIED;
        s[i].benefit = at_arena_strdup(a, PQgetvalue(r, k, 5));
        s[i].member = at_arena_strdup(a, PQgetvalue(r, k, 6));
        s[i].decided_on = date_of(a, PQgetvalue(r, k, 7));
        s[i].period_from = date_of(a, PQgetvalue(r, k, 8));
        s[i].period_to = date_of(a, PQgetvalue(r, k, 9));
        s[i].amount_cents = strtoll(PQgetvalue(r, k, 10), NULL, 10);
        s[i].units = strtoll(PQgetvalue(r, k, 11), NULL, 10);
        if (!s[i].application_id || !s[i].household || !s[i].kind || !s[i].benefit || !s[i].member)
            return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
        /* Rows of one application are not always adjacent (ordered by date first), so a
         * stream may be read twice; a person has few decisions. */
        if (strcmp(last, s[i].application_id) != 0) {
            at_code c = overridden_asks(req, s[i].application_id, &mask, err);
            if (c != AT_OK)
                return c;
            last = s[i].application_id;
        }
        s[i].overridden = s[i].ask_index >= 0 && s[i].ask_index < 64 && (mask >> s[i].ask_index & 1u);
        out->statuses[i] = &s[i];
    }
    out->n_statuses = n;
    return AT_OK;
}

at_code person_statuses_handle(svc_request *req, ProtobufCMessage **reply, at_error *err)
{
    const Atb__V1__ListPersonStatuses *q = (const Atb__V1__ListPersonStatuses *)req->msg;
    if (!at_uuid_valid(q->person)) {
        at_error_set(err, AT_VALIDATION, "person", "person is not a UUID");
        at_error_detail(err, "A person is named by the person key intake gave it.");
        return AT_VALIDATION;
    }
    means_lower(q->person);
    char lim[16];
    snprintf(lim, sizeof lim, "%d", STATUS_LIST_MAX);
    const char *p[3] = {req->tenant, q->person, lim};
    es_txn *t = NULL;
    es_status st = es_txn_begin(req->es, &t, err);
    if (st != ES_OK)
        return es_status_code(st);
    PGconn *pg = es_txn_conn(t);
    PGresult *r = PQexecParams(pg, sql, 3, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        bool down = PQstatus(pg) != CONNECTION_OK;
        at_error_set(err, down ? AT_UNAVAILABLE : AT_INTERNAL, NULL, "could not read the grants");
        at_error_detail(err, "%.300s", PQresultErrorMessage(r));
        PQclear(r);
        es_txn_rollback(t);
        return down ? AT_UNAVAILABLE : AT_INTERNAL;
    }
    es_txn_rollback(t);
    Atb__V1__PersonStatuses *out = at_arena_alloc(req->arena, sizeof *out);
    at_code c = AT_INTERNAL;
    if (!out)
        at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    else {
        atb__v1__person_statuses__init(out);
        out->person = q->person;
        c = fill(req, r, out, err);
    }
    PQclear(r);
    if (c != AT_OK)
        return c;
    *reply = &out->base;
    return AT_OK;
}
