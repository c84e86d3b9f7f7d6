/*
 * request.c -- requests for a service (stream request-<key>), needs assessments (stream
 * assessment-<key>) and the waiting list.
 *
 * A request is checked against the requesting municipality's catalogue on the date asked
 * for: a person who is not eligible is refused with the reason and nothing is appended.
 * An eligible request joins the list of its service as "waiting". A person has at most one
 * open request (waiting or offered) per service.
 *
 * Facts the command leaves out are filled from the projections of consume.c as of the date
 * asked for (a typed fact wins) and recorded in ServiceRequested with the list `filled`.
 *
 * The waiting list is the table allocation.requests, written with the events; its order
 * is the priority rule of eligible.c, then the order the requests were recorded.
 */
#include "allocation.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AL_DOMAINS 10    /* functional domains scored by an assessment (docs/allocation.md) */

at_code al_care_level_of(svc_request *req, es_txn *t, const char *person, at_date on, int *level, at_error *err)
{
    char d[11];
    al_date_text(on, d);
    const char *p[3] = {req->tenant, person, d};
    PGresult *r = NULL;
    at_code code = al_exec(t,
                           "SELECT care_level FROM allocation.assessments WHERE tenant = $1 AND person_key = $2 "
                           "AND assessed_on <= $3 ORDER BY assessed_on DESC, seq DESC LIMIT 1",
                           3, p, &r, "read the assessments", err);
    if (code != AT_OK)
        return code;
    *level = PQntuples(r) ? atoi(PQgetvalue(r, 0, 0)) : 0;
    PQclear(r);
    return AT_OK;
}

at_code request_service(svc_request *req, ProtobufCMessage **reply, at_error *err)
{
    return al_request(req, (const Atb__V1__RequestService *)req->msg, NULL, reply, err);
}

at_code al_request(svc_request *req, const Atb__V1__RequestService *c, const al_origin *origin,
                   ProtobufCMessage **reply, at_error *err)
{
    at_code code;
    at_date on, birth;
    char key[37];
    al_key(req, "request", key);
    bool done;
    if ((code = al_seen(req, key, reply, &done, err)) != AT_OK || done)
        return code;
    if ((code = al_check_key(c->person_key, "person_key", err)) != AT_OK ||
        (code = al_check_code(c->service, "service", true, err)) != AT_OK ||
        (code = al_check_date(c->requested_on, "requested_on", true, &on, err)) != AT_OK ||
        (code = al_check_date(c->birth_date, "birth_date", false, &birth, err)) != AT_OK)
        return code;
    if (c->urgency < 0 || c->urgency > ATB__V1__URGENCY__URGENCY_HOMELESS)
        return at_error_set(err, AT_VALIDATION, "urgency", "urgency is not a known value");
    if (c->status < 0 || c->status > ATB__V1__NEED_STATUS__NEED_STATUS_LOW_INCOME)
        return at_error_set(err, AT_VALIDATION, "status", "status is not a known value");
    if (c->disability_group < 0 || c->disability_group > 3)
        return at_error_set(err, AT_VALIDATION, "disability_group", "disability_group is outside 0..3");
    if (c->n_target_groups > AL_MAX_LIST)
        return at_error_set(err, AT_VALIDATION, "target_groups", "at most %d target groups", AL_MAX_LIST);
    for (size_t i = 0; i < c->n_target_groups; i++)
        if ((code = al_check_code(c->target_groups[i], "target_groups", true, err)) != AT_OK)
            return code;
    const al_service *s = al_service_find(req->tenant, c->service, on);
    if (!s) {
        at_error_set(err, AT_NOT_FOUND, "service", "no service %s in %s on that date", c->service, req->tenant);
        at_error_detail(err, "The catalogue of %s has no version of %s in force on the date requested.",
                        req->tenant, c->service);
        return AT_NOT_FOUND;
    }
    int load = 1;
    if (s->unit == AL_UNIT_HOUR || s->unit == AL_UNIT_TRIP) {
        if (c->hours_per_week <= 0 || c->hours_per_week > 168) {
            at_error_set(err, AT_VALIDATION, "hours_per_week", "hours_per_week is required (1..168)");
            at_error_detail(err, "The service %s is given in %ss a week.", s->code, al_unit_name(s->unit));
            return AT_VALIDATION;
        }
        load = c->hours_per_week;
    }
    es_txn *t = NULL;
    if ((code = al_begin(req, &t, err)) != AT_OK)
        return code;
    al_person p = {.birth_date = birth, .disability_group = c->disability_group, .status = c->status,
                   .resident = c->resident, .n_targets = c->n_target_groups, .targets = c->target_groups,
                   .load = load};
    /* Typed facts win; those left out are what the log says on the date asked for (intake's
     * person, means testing's decisions), and the event records them: a replay reads no
     * projection. */
    const char *filled[4];
    size_t n_filled = 0;
    if (birth == AT_DATE_NONE || !p.disability_group || !p.resident) {
        al_known k;
        if ((code = al_person_of(t, req->tenant, c->person_key, on, &k, err)) != AT_OK)
            return code;
        if (birth == AT_DATE_NONE && k.birth_date != AT_DATE_NONE) {
            p.birth_date = birth = k.birth_date;
            filled[n_filled++] = "birth_date";
        }
        if (!p.disability_group && k.disability_group > 0) {
            p.disability_group = k.disability_group;
            filled[n_filled++] = "disability_group";
        }
        if (!p.resident && k.resident > 0) {
            p.resident = true;
            filled[n_filled++] = "resident";
        }
    }
    if (birth == AT_DATE_NONE) {
        es_txn_rollback(t);
        at_error_set(err, AT_VALIDATION, "birth_date", "birth_date is required");
        at_error_detail(err, "The command gives none and intake has recorded no birth date of the person.");
        return AT_VALIDATION;
    }
    int64_t status_position = 0;
    const char *status_event = "";
    if (c->status == ATB__V1__NEED_STATUS__NEED_STATUS_NONE) {
        if ((code = al_status_of(t, req->tenant, c->person_key, on, &p.status, &status_position, &status_event,
                                 err)) != AT_OK)
            return code;
        if (status_position > 0)
            filled[n_filled++] = "status";
    }
    if ((code = al_care_level_of(req, t, c->person_key, on, &p.care_level, err)) != AT_OK)
        return code;
    if ((code = al_eligible(s, &p, on, err)) != AT_OK) {
        es_txn_rollback(t);
        return code;
    }
    /* One open request per person and service: an advisory lock on (tenant, person,
     * service) makes two requests racing to be the first run one after the other. */
    char lockname[128];
    snprintf(lockname, sizeof lockname, "%s/%s/%s", req->tenant, c->person_key, c->service);
    const char *lp[1] = {lockname};
    if ((code = al_exec(t, "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", 1, lp, NULL,
                        "lock the person's requests", err)) != AT_OK)
        return code;
    const char *q[3] = {req->tenant, c->person_key, c->service};
    PGresult *r = NULL;
    if ((code = al_exec(t,
                        "SELECT request_key FROM allocation.requests WHERE tenant = $1 AND person_key = $2 "
                        "AND service = $3 AND state IN ('waiting', 'offered')",
                        3, q, &r, "read the requests", err)) != AT_OK)
        return code;
    if (PQntuples(r) > 0) {
        at_error_set(err, AT_CONFLICT, "person_key", "the person is already on the list of %s", c->service);
        at_error_detail(err, "Request %s is open.", PQgetvalue(r, 0, 0));
        PQclear(r);
        es_txn_rollback(t);
        return AT_CONFLICT;
    }
    PQclear(r);
    char urg[8], ld[8], dg[8], st[8], bd[11], rd[11], tg[AL_MAX_LIST * (AL_CODE_MAX + 3) + 3];
    snprintf(urg, sizeof urg, "%d", c->urgency);
    snprintf(ld, sizeof ld, "%d", load);
    snprintf(dg, sizeof dg, "%d", p.disability_group);
    snprintf(st, sizeof st, "%d", p.status);
    size_t o = (size_t)snprintf(tg, sizeof tg, "{");
    for (size_t i = 0; i < c->n_target_groups; i++)
        o += (size_t)snprintf(tg + o, sizeof tg - o, "%s%s", i ? "," : "", c->target_groups[i]);
    snprintf(tg + o, sizeof tg - o, "}");
    const char *ip[13] = {key, req->tenant, c->person_key, c->service, urg, ld, al_date_text(birth, bd), dg, st,
                          p.resident ? "true" : "false", tg, al_date_text(on, rd),
                          status_position > 0 ? "true" : "false"};
    if ((code = al_exec(t,
                        "INSERT INTO allocation.requests (request_key, tenant, person_key, service, urgency, load, "
                        "birth_date, disability_group, status, resident, target_groups, requested_on, state, "
                        "status_filled) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'waiting', $13)",
                        13, ip, NULL, "record the request", err)) != AT_OK)
        return code;
    Atb__V1__ServiceRequested ev = ATB__V1__SERVICE_REQUESTED__INIT;
    ev.request_key = key;
    ev.person_key = c->person_key;
    ev.service = c->service;
    ev.requested_on = c->requested_on;
    ev.urgency = c->urgency;
    ev.load = load;
    ev.birth_date = svc_date_out(req->arena, birth);
    ev.disability_group = p.disability_group;
    ev.status = (Atb__V1__NeedStatus)p.status;
    ev.resident = p.resident;
    ev.n_target_groups = c->n_target_groups;
    ev.target_groups = c->target_groups;
    ev.catalogue_version = (char *)al_catalogue_version(req->tenant);
    ev.n_filled = n_filled;
    ev.filled = (char **)filled;
    ev.status_position = status_position;
    ev.status_event = (char *)status_event;
    if (origin) {
        ev.application_id = (char *)origin->application_id;
        ev.ask_index = origin->ask_index;
    }
    es_event_in in;
    es_append_res res;
    char stream[64];
    snprintf(stream, sizeof stream, "request-%s", key);
    if ((code = svc_pack(req->arena, &ev.base, "ServiceRequested", &in, err)) != AT_OK) {
        es_txn_rollback(t);
        return code;
    }
    if ((code = al_append_caused(req, t, stream, ES_VERSION_NONE, &in, 1, 0, origin ? origin->causation_id : NULL, &res,
                                 err)) != AT_OK)
        return code;
    return al_finish(req, t, stream, key, &res, reply, err);
}

at_code al_request_refuse(svc_request *req, const Atb__V1__RequestService *c, const al_origin *o,
                          const at_error *cause, ProtobufCMessage **reply, at_error *err)
{
    char key[37];
    al_key(req, "request", key);
    bool done;
    at_code code;
    if ((code = al_seen(req, key, reply, &done, err)) != AT_OK || done)
        return code;
    Atb__V1__Error e = ATB__V1__ERROR__INIT;
    e.code = (Atb__V1__ErrorCode)cause->code;
    e.message = (char *)cause->message;
    e.detail = (char *)cause->detail;
    e.hint = (char *)cause->hint;
    e.field = (char *)cause->field;
    Atb__V1__ServiceRequestRefused ev = ATB__V1__SERVICE_REQUEST_REFUSED__INIT;
    ev.request_key = key;
    ev.person_key = c->person_key ? c->person_key : (char *)"";
    ev.service = c->service ? c->service : (char *)"";
    ev.application_id = (char *)o->application_id;
    ev.ask_index = o->ask_index;
    ev.error = &e;
    ev.completed_position = o->completed_position;
    es_txn *t = NULL;
    if ((code = al_begin(req, &t, err)) != AT_OK)
        return code;
    es_event_in in;
    es_append_res res;
    char stream[64];
    snprintf(stream, sizeof stream, "request-%s", key);
    if ((code = svc_pack(req->arena, &ev.base, "ServiceRequestRefused", &in, err)) != AT_OK) {
        es_txn_rollback(t);
        return code;
    }
    if ((code = al_append_caused(req, t, stream, ES_VERSION_NONE, &in, 1, 0, o->causation_id, &res, err)) != AT_OK)
        return code;
    return al_finish(req, t, stream, key, &res, reply, err);
}

at_code request_assess(svc_request *req, ProtobufCMessage **reply, at_error *err)
{
    const Atb__V1__RecordAssessment *c = (const Atb__V1__RecordAssessment *)req->msg;
    at_code code;
    at_date on;
    char key[37];
    al_key(req, "assessment", key);
    bool done;
    if ((code = al_seen(req, key, reply, &done, err)) != AT_OK || done)
        return code;
    if ((code = al_check_key(c->person_key, "person_key", err)) != AT_OK ||
        (code = al_check_date(c->assessed_on, "assessed_on", true, &on, err)) != AT_OK)
        return code;
    if (on > svc_today())
        return at_error_set(err, AT_VALIDATION, "assessed_on", "assessed_on is in the future");
    if (!req->actor || !*req->actor) {
        at_error_set(err, AT_VALIDATION, "meta.actor", "the author is required");
        at_error_detail(err, "An assessment names the worker who made it: CommandMeta.actor.");
        return AT_VALIDATION;
    }
    if (c->n_scores != AL_DOMAINS) {
        at_error_set(err, AT_VALIDATION, "scores", "an assessment scores %d domains, not %zu", AL_DOMAINS,
                     c->n_scores);
        at_error_detail(err, "The domains and their order are in docs/allocation.md, \"Care level\".");
        return AT_VALIDATION;
    }
    for (size_t i = 0; i < c->n_scores; i++)
        if (c->scores[i] < 0 || c->scores[i] > 4) {
            char f[48];
            snprintf(f, sizeof f, "scores.%zu", i + 1);
            return at_error_set(err, AT_VALIDATION, f, "a score is 0..4");
        }
    if (c->n_recommended > AL_MAX_LIST)
        return at_error_set(err, AT_VALIDATION, "recommended", "at most %d recommended services", AL_MAX_LIST);
    for (size_t i = 0; i < c->n_recommended; i++) {
        if ((code = al_check_code(c->recommended[i], "recommended", true, err)) != AT_OK)
            return code;
        if (!al_service_find(req->tenant, c->recommended[i], on)) {
            at_error_set(err, AT_VALIDATION, "recommended", "no service %s in %s", c->recommended[i], req->tenant);
            return AT_VALIDATION;
        }
    }
    int total = 0;
    int level = al_care_level(c->scores, c->n_scores, &total);
    es_txn *t = NULL;
    if ((code = al_begin(req, &t, err)) != AT_OK)
        return code;
    char lv[8], d[11];
    snprintf(lv, sizeof lv, "%d", level);
    const char *ip[5] = {key, req->tenant, c->person_key, al_date_text(on, d), lv};
    if ((code = al_exec(t,
                        "INSERT INTO allocation.assessments (assessment_key, tenant, person_key, assessed_on, "
                        "care_level) VALUES ($1, $2, $3, $4, $5)",
                        5, ip, NULL, "record the assessment", err)) != AT_OK)
        return code;
    Atb__V1__AssessmentRecorded ev = ATB__V1__ASSESSMENT_RECORDED__INIT;
    ev.assessment_key = key;
    ev.person_key = c->person_key;
    ev.assessed_on = c->assessed_on;
    ev.n_scores = c->n_scores;
    ev.scores = c->scores;
    ev.total = total;
    ev.care_level = level;
    ev.n_recommended = c->n_recommended;
    ev.recommended = c->recommended;
    ev.author = (char *)req->actor;
    es_event_in in;
    es_append_res res;
    char stream[64];
    snprintf(stream, sizeof stream, "assessment-%s", key);
    if ((code = svc_pack(req->arena, &ev.base, "AssessmentRecorded", &in, err)) != AT_OK) {
        es_txn_rollback(t);
        return code;
    }
    if ((code = al_append(req, t, stream, ES_VERSION_NONE, &in, 1, 0, &res, err)) != AT_OK)
        return code;
    return al_finish(req, t, stream, key, &res, reply, err);
}

/* The waiting list of a service: open requests in offer order, with the expected wait
 * estimated from the places of that service freed in the last 365 days (docs). */
at_code request_list(svc_request *req, ProtobufCMessage **reply, at_error *err)
{
    const Atb__V1__GetWaitingList *q = (const Atb__V1__GetWaitingList *)req->msg;
    at_code code;
    at_date on;
    if ((code = al_check_code(q->service, "service", true, err)) != AT_OK ||
        (code = al_check_date(q->on, "on", false, &on, err)) != AT_OK)
        return code;
    if (on == AT_DATE_NONE)
        on = svc_today();
    es_txn *t = NULL;
    if ((code = al_begin(req, &t, err)) != AT_OK)
        return code;
    char d[11];
    al_date_text(on, d);
    const char *winter = al_priority(ATB__V1__URGENCY__URGENCY_HOMELESS, on) == 2 ? "2" : "3";
    const char *p[4] = {req->tenant, q->service, d, winter};
    PGresult *r = NULL;
    if ((code = al_exec(t,
                        "SELECT request_key, person_key, urgency, requested_on, ($3::date - requested_on), state, "
                        "CASE WHEN urgency IN (1, 2) THEN 1 WHEN urgency = 3 THEN $4::int ELSE 3 END AS prio "
                        "FROM allocation.requests WHERE tenant = $1 AND service = $2 "
                        "AND state IN ('waiting', 'offered') ORDER BY prio, seq",
                        4, p, &r, "read the waiting list", err)) != AT_OK)
        return code;
    PGresult *e = NULL;
    if ((code = al_exec(t,
                        "SELECT count(*) FROM allocation.placements WHERE tenant = $1 AND service = $2 "
                        "AND ended_on > $3::date - 365 AND ended_on <= $3::date",
                        3, p, &e, "read the discharges", err)) != AT_OK) {
        PQclear(r);
        return code;
    }
    long freed = strtol(PQgetvalue(e, 0, 0), NULL, 10);
    PQclear(e);
    Atb__V1__WaitingListReply *out = at_arena_alloc(req->arena, sizeof *out);
    int n = PQntuples(r);
    Atb__V1__WaitingEntry **es = at_arena_alloc(req->arena, (size_t)(n ? n : 1) * sizeof *es);
    if (!out || !es) {
        PQclear(r);
        es_txn_rollback(t);
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    }
    atb__v1__waiting_list_reply__init(out);
    for (int i = 0; i < n; i++) {
        Atb__V1__WaitingEntry *w = at_arena_alloc(req->arena, sizeof *w);
        if (!w)
            break;
        atb__v1__waiting_entry__init(w);
        w->position = i + 1;
        w->request_key = at_arena_strdup(req->arena, PQgetvalue(r, i, 0));
        w->person_key = at_arena_strdup(req->arena, PQgetvalue(r, i, 1));
        w->urgency = (Atb__V1__Urgency)atoi(PQgetvalue(r, i, 2));
        at_date rq = AT_DATE_NONE;
        at_date_parse(PQgetvalue(r, i, 3), "requested_on", &rq, NULL);
        w->requested_on = svc_date_out(req->arena, rq);
        w->waited_days = atoi(PQgetvalue(r, i, 4));
        w->state = at_arena_strdup(req->arena, PQgetvalue(r, i, 5));
        w->priority = atoi(PQgetvalue(r, i, 6));
        w->expected_wait_days = freed > 0 ? (int32_t)(((long)(i + 1) * 365 + freed - 1) / freed) : -1;
        es[out->n_entries++] = w;
    }
    out->entries = es;
    PQclear(r);
    es_txn_rollback(t);
    *reply = &out->base;
    return AT_OK;
}
