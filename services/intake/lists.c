/*
 * lists.c -- the lists a caseworker's screens start from: the cases of a person
 * (ListPersonCases), the applications of a household (ListHouseholdApplications) and the
 * co-operation agreements of a person (ListPersonAgreements). The stream index
 * (intake.links, intake.memberships) says which streams; each stream is folded for what
 * it holds now, so a list says what the log says.
 */
#include "intake.h"

#include <stdio.h>
#include <string.h>

/* Streams in one reply: a reply must fit in one NATS message. */
#define LISTS_MAX 500

/* The keys (the part after "<kind>-") of the tenant's streams that `sql` selects with
 * $1 = tenant, $2 = key, $3 = limit. PQclear the result. */
static at_code stream_keys(svc_request *req, const char *sql, const char *key, PGresult **out, at_error *err)
{
    es_txn *t = NULL;
    at_code code = intake_begin(req, &t, err);
    if (code != AT_OK)
        return code;
    char lim[16];
    snprintf(lim, sizeof lim, "%d", LISTS_MAX);
    const char *p[3] = {req->tenant, key, lim};
    PGresult *r = PQexecParams(es_txn_conn(t), sql, 3, NULL, p, NULL, NULL, 0);
    es_txn_rollback(t);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        code = intake_pg_failed(r, "read the stream index", err);
        PQclear(r);
        return code;
    }
    *out = r;
    return AT_OK;
}

/* A key field of a query: a UUID, lower-cased in place. */
static at_code check_key(char *key, const char *field, at_error *err)
{
    at_code code = intake_check_key(key, field, true, err);
    if (code == AT_OK)
        intake_lower(key);
    return code;
}

/* ---- ListPersonCases */

at_code lists_person_cases(svc_request *req, ProtobufCMessage **reply, at_error *err)
{
    Atb__V1__ListPersonCases *q = (Atb__V1__ListPersonCases *)req->msg;
    at_code code = check_key(q->person_key, "person_key", err);
    if (code != AT_OK)
        return code;
    PGresult *r = NULL;
    code = stream_keys(req,
                       "SELECT substr(stream_id, 6) FROM intake.links WHERE tenant = $1 AND kind = 'case' AND "
                       "(person_key = $2::uuid OR household_key IN (SELECT household_key FROM intake.memberships "
                       "WHERE tenant = $1 AND person_key = $2::uuid)) ORDER BY stream_id LIMIT $3::int",
                       q->person_key, &r, err);
    if (code != AT_OK)
        return code;
    size_t n = (size_t)PQntuples(r);
    Atb__V1__CaseList *l = at_arena_alloc(req->arena, sizeof *l);
    Atb__V1__CaseRef *c = at_arena_alloc(req->arena, (n + 1) * sizeof *c);
    Atb__V1__CaseRef **v = at_arena_alloc(req->arena, (n + 1) * sizeof *v);
    if (!l || !c || !v) {
        PQclear(r);
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    }
    atb__v1__case_list__init(l);
    l->cases = v;
    for (size_t i = 0; i < n && code == AT_OK; i++) {
        case_state s;
        if ((code = case_fold(req, PQgetvalue(r, (int)i, 0), &s, err)) != AT_OK || !s.opened)
            continue;
        Atb__V1__CaseRef *x = &c[l->n_cases];
        atb__v1__case_ref__init(x);
        x->case_key = s.opened->case_key;
        x->person_key = s.opened->person_key;
        x->household_key = s.opened->household_key;
        x->sector = s.opened->sector;
        x->social_worker = (char *)s.worker;
        x->opened_on = s.opened->opened_on;
        x->active = s.active;
        v[l->n_cases++] = x;
    }
    PQclear(r);
    if (code != AT_OK)
        return code;
    *reply = &l->base;
    return AT_OK;
}

/* ---- ListHouseholdApplications */

at_code lists_household_applications(svc_request *req, ProtobufCMessage **reply, at_error *err)
{
    Atb__V1__ListHouseholdApplications *q = (Atb__V1__ListHouseholdApplications *)req->msg;
    at_code code = check_key(q->household_key, "household_key", err);
    if (code != AT_OK)
        return code;
    PGresult *r = NULL;
    code = stream_keys(req,
                       "SELECT application_id::text FROM intake.links WHERE tenant = $1 AND kind = 'application' "
                       "AND household_key = $2::uuid ORDER BY stream_id LIMIT $3::int",
                       q->household_key, &r, err);
    if (code != AT_OK)
        return code;
    size_t n = (size_t)PQntuples(r);
    Atb__V1__ApplicationList *l = at_arena_alloc(req->arena, sizeof *l);
    Atb__V1__ApplicationRef *a = at_arena_alloc(req->arena, (n + 1) * sizeof *a);
    Atb__V1__ApplicationRef **v = at_arena_alloc(req->arena, (n + 1) * sizeof *v);
    if (!l || !a || !v) {
        PQclear(r);
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    }
    atb__v1__application_list__init(l);
    l->applications = v;
    for (size_t i = 0; i < n && code == AT_OK; i++) {
        application_state s;
        if ((code = application_fold(req, PQgetvalue(r, (int)i, 0), &s, err)) != AT_OK || !s.received)
            continue;
        Atb__V1__ApplicationRef *x = &a[l->n_applications];
        atb__v1__application_ref__init(x);
        x->application_id = s.received->application_id;
        x->applicant = s.received->applicant;
        x->received = s.received->received;
        x->deadline = s.received->deadline;
        x->status = s.status;
        v[l->n_applications++] = x;
    }
    PQclear(r);
    if (code != AT_OK)
        return code;
    /* Oldest first: the index is in key order, the screen reads in time order. */
    for (size_t i = 1; i < l->n_applications; i++)
        for (size_t j = i; j > 0; j--) {
            at_date d0, d1;
            svc_date_in(v[j - 1]->received, &d0);
            svc_date_in(v[j]->received, &d1);
            if (d0 <= d1)
                break;
            Atb__V1__ApplicationRef *tmp = v[j];
            v[j] = v[j - 1];
            v[j - 1] = tmp;
        }
    *reply = &l->base;
    return AT_OK;
}

/* ---- ListPersonAgreements */

#define DUTY_MAX 32

/* Fold agreement-<key> into x: the duties as made, each with its latest outcome by date
 * (a later outcome on the same date wins, as the log orders them). */
static at_code agreement_ref(svc_request *req, const char *key, Atb__V1__AgreementRef *x, at_error *err)
{
    char stream[64];
    snprintf(stream, sizeof stream, "agreement-%s", key);
    es_batch *b = NULL;
    at_code code = intake_read(req, stream, &b, err);
    if (code != AT_OK)
        return code;
    atb__v1__agreement_ref__init(x);
    for (size_t i = 0; i < es_batch_count(b) && code == AT_OK; i++) {
        const es_event *e = es_batch_get(b, i);
        if (strcmp(e->type, "AgreementMade") == 0) {
            Atb__V1__AgreementMade *m =
                (Atb__V1__AgreementMade *)intake_unpack(req->arena, &atb__v1__agreement_made__descriptor, e, err);
            size_t n = m ? m->n_duties : 0;
            Atb__V1__DutyState *d = at_arena_alloc(req->arena, (n + 1) * sizeof *d);
            x->duties = at_arena_alloc(req->arena, (n + 1) * sizeof *x->duties);
            if (!m || !d || !x->duties) {
                code = m ? at_error_set(err, AT_INTERNAL, NULL, "out of memory") : AT_INTERNAL;
                break;
            }
            x->agreement_key = m->agreement_key;
            x->application_id = m->application_id;
            x->signed_on = m->signed_on;
            for (size_t k = 0; k < n; k++) {
                atb__v1__duty_state__init(&d[k]);
                d[k].index = m->duties[k]->index;
                d[k].kind = m->duties[k]->kind;
                d[k].due = m->duties[k]->due;
                x->duties[k] = &d[k];
            }
            x->n_duties = n;
            continue;
        }
        bool ok = strcmp(e->type, "DutyFulfilled") == 0;
        if (!ok && strcmp(e->type, "DutyFailed") != 0)
            continue;
        /* DutyFulfilled and DutyFailed have the same fields. */
        Atb__V1__DutyFulfilled *o =
            (Atb__V1__DutyFulfilled *)intake_unpack(req->arena, &atb__v1__duty_fulfilled__descriptor, e, err);
        if (!o) {
            code = AT_INTERNAL;
            break;
        }
        for (size_t k = 0; k < x->n_duties; k++) {
            Atb__V1__DutyState *d = x->duties[k];
            at_date on, before;
            svc_date_in(o->on, &on);
            svc_date_in(d->outcome_on, &before);
            if (d->index != o->duty || (d->outcome != 0 && on < before))
                continue;
            d->outcome = ok ? 1 : -1;
            d->outcome_on = o->on;
        }
    }
    es_batch_free(b);
    return code;
}

at_code lists_person_agreements(svc_request *req, ProtobufCMessage **reply, at_error *err)
{
    Atb__V1__ListPersonAgreements *q = (Atb__V1__ListPersonAgreements *)req->msg;
    at_code code = check_key(q->person_key, "person_key", err);
    if (code != AT_OK)
        return code;
    PGresult *r = NULL;
    code = stream_keys(req,
                       "SELECT substr(stream_id, 11) FROM intake.links WHERE tenant = $1 AND kind = 'agreement' "
                       "AND person_key = $2::uuid ORDER BY stream_id LIMIT $3::int",
                       q->person_key, &r, err);
    if (code != AT_OK)
        return code;
    size_t n = (size_t)PQntuples(r);
    Atb__V1__AgreementList *l = at_arena_alloc(req->arena, sizeof *l);
    Atb__V1__AgreementRef *a = at_arena_alloc(req->arena, (n + 1) * sizeof *a);
    Atb__V1__AgreementRef **v = at_arena_alloc(req->arena, (n + 1) * sizeof *v);
    if (!l || !a || !v) {
        PQclear(r);
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    }
    atb__v1__agreement_list__init(l);
    l->agreements = v;
    for (size_t i = 0; i < n && code == AT_OK; i++) {
        if ((code = agreement_ref(req, PQgetvalue(r, (int)i, 0), &a[l->n_agreements], err)) != AT_OK ||
            !a[l->n_agreements].agreement_key)
            continue;
        v[l->n_agreements] = &a[l->n_agreements];
        l->n_agreements++;
    }
    PQclear(r);
    if (code != AT_OK)
        return code;
    *reply = &l->base;
    return AT_OK;
}
