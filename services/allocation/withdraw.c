/*
 * withdraw.c -- requests and offers that end without a placement: WithdrawServiceRequest
 * (the person no longer wants or needs the service) and ExpireOffers (offers not answered
 * within the service's offer_days, docs/allocation.md §4), and the expiry of one unit's
 * offers that Allocate runs first.
 *
 * Invariants:
 *  - A place held by an offer that ends here is offered to the next eligible person of the
 *    same list in the same transaction (al_offer_next), so a freed place never waits for
 *    a worker to notice it.
 *  - Locks as in place.c: unit rows -> offer rows -> request rows -> the log's head.
 *    ExpireOffers locks every unit it needs first, in (owner, provider, service) order,
 *    and every other command holds at most one unit's lock, so no two wait in a cycle.
 *  - An offer made on D of a service with offer_days N can be accepted up to D + N; from
 *    D + N + 1 on it is expired, whether or not a command has found it yet (AnswerOffer
 *    refuses a late acceptance without writing anything).
 */
#include "allocation.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

at_date al_offer_deadline(const al_service *s, at_date offered_on)
{
    return s && s->offer_days > 0 ? offered_on + s->offer_days : AT_DATE_NONE;
}

/* The OfferExpired of one offer row into slot, and its rows marked expired. */
static at_code expire_one(svc_request *req, es_txn *t, const char *offer_key, const char *request_key,
                          const char *person_key, at_date offered_on, const al_service *s, at_date on,
                          al_pending *slot, at_error *err)
{
    const char *kp[1] = {offer_key}, *rp[1] = {request_key};
    at_code code;
    if ((code = al_exec(t, "UPDATE allocation.offers SET state = 'expired' WHERE offer_key = $1", 1, kp, NULL,
                        "mark the offer expired", err)) != AT_OK ||
        (code = al_exec(t, "UPDATE allocation.requests SET state = 'expired' WHERE request_key = $1", 1, rp, NULL,
                        "mark the request expired", err)) != AT_OK)
        return code;
    Atb__V1__OfferExpired *ev = at_arena_alloc(req->arena, sizeof *ev);
    if (!ev) {
        es_txn_rollback(t);
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    }
    atb__v1__offer_expired__init(ev);
    ev->offer_key = at_arena_strdup(req->arena, offer_key);
    ev->request_key = at_arena_strdup(req->arena, request_key);
    ev->person_key = at_arena_strdup(req->arena, person_key);
    ev->offered_on = svc_date_out(req->arena, offered_on);
    ev->last_day = svc_date_out(req->arena, al_offer_deadline(s, offered_on));
    ev->offer_days = s->offer_days;
    ev->found_on = svc_date_out(req->arena, on);
    snprintf(slot->stream, sizeof slot->stream, "request-%s", request_key);
    return svc_pack(req->arena, &ev->base, "OfferExpired", &slot->ev, err);
}

at_code al_expire_unit(svc_request *req, es_txn *t, const al_unit_ref *u, at_date on, al_pending *pv, size_t *n,
                       size_t cap, at_error *err)
{
    char d[11];
    const char *p[5] = {req->tenant, u->owner, u->provider, u->service, al_date_text(on, d)};
    PGresult *r = NULL;
    at_code code = al_exec(t,
                           "SELECT offer_key, request_key, person_key, offered_on FROM allocation.offers "
                           "WHERE tenant = $1 AND owner = $2 AND provider = $3 AND service = $4 AND state = 'open' "
                           "AND offered_on < $5::date ORDER BY offered_on, offer_key FOR UPDATE",
                           5, p, &r, "read the open offers", err);
    if (code != AT_OK)
        return code;
    for (int i = 0; i < PQntuples(r); i++) {
        at_date offered = AT_DATE_NONE;
        at_date_parse(PQgetvalue(r, i, 3), "offered_on", &offered, NULL);
        /* the version of the service the offer was made under says how long it holds */
        const al_service *s = al_service_find(req->tenant, u->service, offered);
        at_date last = al_offer_deadline(s, offered);
        if (last == AT_DATE_NONE || on <= last)
            continue;
        if (*n >= cap) {
            PQclear(r);
            es_txn_rollback(t);
            return at_error_set(err, AT_INTERNAL, NULL, "more expired offers than room for them");
        }
        if ((code = expire_one(req, t, PQgetvalue(r, i, 0), PQgetvalue(r, i, 1), PQgetvalue(r, i, 2), offered, s, on,
                               &pv[*n], err)) != AT_OK) {
            PQclear(r);
            return code;
        }
        (*n)++;
    }
    PQclear(r);
    return AT_OK;
}

/* ---- WithdrawServiceRequest */

typedef struct request_row {
    char tenant[AL_CODE_MAX + 1], person_key[37], service[AL_CODE_MAX + 1], state[16];
    at_date requested_on;
} request_row;

static at_code read_request(es_txn *t, const char *key, bool lock, request_row *q, bool *found, at_error *err)
{
    PGresult *r = NULL;
    at_code code = al_read_row(t,
                               "SELECT tenant, person_key, service, state, requested_on FROM allocation.requests "
                               "WHERE request_key = $1",
                               key, lock, "read the request", &r, found, err);
    if (code != AT_OK || !*found)
        return code;
    al_col_text(r, 0, q->tenant, sizeof q->tenant);
    al_col_text(r, 1, q->person_key, sizeof q->person_key);
    al_col_text(r, 2, q->service, sizeof q->service);
    al_col_text(r, 3, q->state, sizeof q->state);
    at_date_parse(PQgetvalue(r, 0, 4), "requested_on", &q->requested_on, NULL);
    PQclear(r);
    return AT_OK;
}

/* The open offer of a request: its key, unit and date (*found false when none). */
typedef struct open_offer {
    char key[37], owner[AL_CODE_MAX + 1], provider[AL_CODE_MAX + 1];
    at_date offered_on;
} open_offer;

static at_code read_open_offer(es_txn *t, const char *request_key, bool lock, open_offer *o, bool *found,
                               at_error *err)
{
    PGresult *r = NULL;
    at_code code = al_read_row(t,
                               "SELECT offer_key, owner, provider, offered_on FROM allocation.offers "
                               "WHERE request_key = $1 AND state = 'open'",
                               request_key, lock, "read the offer", &r, found, err);
    if (code != AT_OK || !*found)
        return code;
    al_col_text(r, 0, o->key, sizeof o->key);
    al_col_text(r, 1, o->owner, sizeof o->owner);
    al_col_text(r, 2, o->provider, sizeof o->provider);
    at_date_parse(PQgetvalue(r, 0, 3), "offered_on", &o->offered_on, NULL);
    PQclear(r);
    return AT_OK;
}

static at_code not_open(es_txn *t, const char *key, const char *state, at_error *err)
{
    es_txn_rollback(t);
    at_error_set(err, AT_CONFLICT, "request_key", "the request is %s", state);
    if (strcmp(state, "placed") == 0) {
        at_error_detail(err, "Request %s ended in a placement.", key);
        at_error_hint(err, "End the placement with Discharge.");
    } else {
        at_error_detail(err, "Request %s is no longer on the waiting list.", key);
    }
    return AT_CONFLICT;
}

at_code withdraw_request(svc_request *req, ProtobufCMessage **reply, at_error *err)
{
    const Atb__V1__WithdrawServiceRequest *c = (const Atb__V1__WithdrawServiceRequest *)req->msg;
    at_code code;
    char offer_key[37];
    al_key(req, "offer", offer_key);
    bool done;
    if ((code = al_seen(req, offer_key, reply, &done, err)) != AT_OK || done)
        return code;
    at_date on;
    if ((code = al_check_key(c->request_key, "request_key", err)) != AT_OK ||
        (code = al_check_date(c->on, "on", true, &on, err)) != AT_OK ||
        (code = al_check_code(c->reason, "reason", true, err)) != AT_OK)
        return code;
    es_txn *t = NULL;
    if ((code = al_begin(req, &t, err)) != AT_OK)
        return code;
    request_row q;
    bool found = false;
    if ((code = read_request(t, c->request_key, false, &q, &found, err)) != AT_OK)
        return code;
    if (!found || strcmp(q.tenant, req->tenant) != 0) {
        es_txn_rollback(t);
        return at_error_set(err, AT_NOT_FOUND, "request_key", "request not found");
    }
    if (strcmp(q.state, "waiting") != 0 && strcmp(q.state, "offered") != 0)
        return not_open(t, c->request_key, q.state, err);
    if (on < q.requested_on) {
        es_txn_rollback(t);
        return at_error_set(err, AT_VALIDATION, "on", "a request is withdrawn on or after the day it was made");
    }
    /* An offered request: lock its unit first (place.c's order), then the offer. */
    open_offer o;
    bool offered = false;
    al_unit_ref u;
    if (strcmp(q.state, "offered") == 0) {
        if ((code = read_open_offer(t, c->request_key, false, &o, &offered, err)) != AT_OK)
            return code;
        if (offered && on < o.offered_on) {
            es_txn_rollback(t);
            return at_error_set(err, AT_VALIDATION, "on", "the request is withdrawn before its offer was made");
        }
        if (offered && (code = al_resolve_unit(req, o.owner, o.provider, q.service, o.offered_on, &u, err)) != AT_OK) {
            es_txn_rollback(t);
            return code;
        }
        if (offered && ((code = al_lock_unit(t, &u, err)) != AT_OK ||
                        (code = read_open_offer(t, c->request_key, true, &o, &offered, err)) != AT_OK))
            return code;
    }
    char state[16];
    snprintf(state, sizeof state, "%s", q.state);
    if ((code = read_request(t, c->request_key, true, &q, &found, err)) != AT_OK)
        return code;
    if (strcmp(q.state, state) != 0) {
        es_txn_rollback(t);
        at_error_set(err, AT_CONFLICT, "request_key", "the request changed while it was withdrawn");
        at_error_detail(err, "It was %s and is now %s.", state, q.state);
        at_error_hint(err, "Retry with the same command id.");
        return AT_CONFLICT;
    }
    const char *rp[1] = {c->request_key};
    if ((code = al_exec(t, "UPDATE allocation.requests SET state = 'withdrawn' WHERE request_key = $1", 1, rp, NULL,
                        "mark the request withdrawn", err)) != AT_OK)
        return code;
    if (offered) {
        const char *kp[1] = {o.key};
        if ((code = al_exec(t, "UPDATE allocation.offers SET state = 'withdrawn' WHERE offer_key = $1", 1, kp, NULL,
                            "mark the offer withdrawn", err)) != AT_OK)
            return code;
    }
    al_pending pv[2];
    size_t n = 0;
    Atb__V1__ServiceRequestWithdrawn ev = ATB__V1__SERVICE_REQUEST_WITHDRAWN__INIT;
    ev.request_key = c->request_key;
    ev.person_key = q.person_key;
    ev.service = q.service;
    ev.withdrawn_on = c->on;
    ev.reason = c->reason;
    ev.offer_key = offered ? o.key : "";
    snprintf(pv[n].stream, sizeof pv[n].stream, "request-%s", c->request_key);
    if ((code = svc_pack(req->arena, &ev.base, "ServiceRequestWithdrawn", &pv[n++].ev, err)) != AT_OK) {
        es_txn_rollback(t);
        return code;
    }
    /* The place the withdrawn offer held goes to the next eligible person at once. */
    bool made = false;
    if (offered) {
        int free_ = 0;
        if ((code = al_free_places(req, t, &u, &free_, err)) != AT_OK)
            return code;
        if (free_ > 0 && (code = al_offer_next(req, t, &u, on, free_, "offer", &pv[n], offer_key, &made, err)) != AT_OK)
            return code;
        if (made)
            n++;
    }
    es_append_res res;
    if ((code = al_append_all(req, t, pv, n, &res, err)) != AT_OK)
        return code;
    return al_finish(req, t, pv[0].stream, made ? offer_key : "", &res, reply, err);
}

/* ---- ExpireOffers */

at_code withdraw_expire(svc_request *req, ProtobufCMessage **reply, at_error *err)
{
    const Atb__V1__ExpireOffers *c = (const Atb__V1__ExpireOffers *)req->msg;
    at_code code;
    bool done;
    if ((code = al_seen(req, "", reply, &done, err)) != AT_OK || done)
        return code;
    at_date on;
    if ((code = al_check_date(c->on, "on", true, &on, err)) != AT_OK)
        return code;
    es_txn *t = NULL;
    if ((code = al_begin(req, &t, err)) != AT_OK)
        return code;
    char d[11];
    const char *p[2] = {req->tenant, al_date_text(on, d)};
    PGresult *r = NULL;
    /* The units with offers old enough to have expired (the exact rule is per service,
     * in al_expire_unit), and how many offers each holds. */
    if ((code = al_exec(t,
                        "SELECT owner, provider, service, count(*) FROM allocation.offers WHERE tenant = $1 "
                        "AND state = 'open' AND offered_on < $2::date GROUP BY owner, provider, service "
                        "ORDER BY owner, provider, service",
                        2, p, &r, "read the open offers", err)) != AT_OK)
        return code;
    int n_units = PQntuples(r);
    size_t cap = 0;
    al_unit_ref *units = at_arena_alloc(req->arena, (size_t)(n_units ? n_units : 1) * sizeof *units);
    bool *usable = at_arena_alloc(req->arena, (size_t)(n_units ? n_units : 1) * sizeof *usable);
    if (!units || !usable) {
        PQclear(r);
        es_txn_rollback(t);
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    }
    for (int i = 0; i < n_units; i++) {
        char *owner = at_arena_strdup(req->arena, PQgetvalue(r, i, 0)),
             *provider = at_arena_strdup(req->arena, PQgetvalue(r, i, 1)),
             *service = at_arena_strdup(req->arena, PQgetvalue(r, i, 2));
        cap += 2 * (size_t)strtoll(PQgetvalue(r, i, 3), NULL, 10);   /* each expiry, and its next offer */
        at_error ignored;
        /* A unit or agreement no longer in force on the date: its offers stay until the
         * catalogue is put right (nothing can be offered there anyway). */
        usable[i] = owner && provider && service &&
                    al_resolve_unit(req, owner, provider, service, on, &units[i], &ignored) == AT_OK;
    }
    PQclear(r);
    for (int i = 0; i < n_units; i++)
        if (usable[i] && (code = al_lock_unit(t, &units[i], err)) != AT_OK)
            return code;
    al_pending *pv = at_arena_alloc(req->arena, (cap ? cap : 1) * sizeof *pv);
    if (!pv) {
        es_txn_rollback(t);
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    }
    size_t n = 0, offers = 0;
    for (int i = 0; i < n_units; i++) {
        if (!usable[i])
            continue;
        size_t before = n;
        if ((code = al_expire_unit(req, t, &units[i], on, pv, &n, cap, err)) != AT_OK)
            return code;
        /* each place freed is offered to the next eligible person, while one fits */
        for (size_t k = before, expired = n - before; k < before + expired; k++) {
            int free_ = 0;
            bool made = false;
            char what[32], key[37];
            snprintf(what, sizeof what, "offer:%zu", offers++);
            if ((code = al_free_places(req, t, &units[i], &free_, err)) != AT_OK)
                return code;
            if (free_ < 1)
                break;
            if ((code = al_offer_next(req, t, &units[i], on, free_, what, &pv[n], key, &made, err)) != AT_OK)
                return code;
            if (!made)
                break;
            n++;
        }
    }
    if (n == 0) {
        es_txn_rollback(t);   /* nothing expired: a normal day, nothing appended */
        es_append_res none = {0};
        *reply = svc_reply_appended(req, "", "", &none);
        return *reply ? AT_OK : at_error_set(err, AT_INTERNAL, NULL, "could not build the reply: out of memory");
    }
    es_append_res res;
    if ((code = al_append_all(req, t, pv, n, &res, err)) != AT_OK)
        return code;
    return al_finish(req, t, pv[0].stream, "", &res, reply, err);
}
