/*
 * place.c -- places: offers from the waiting list (Allocate), answers to offers
 * (AnswerOffer), admissions outside the list (EmergencyAdmission) and discharges.
 *
 * Invariants:
 *  - A place is never given twice. Every command that takes or frees a place of a unit
 *    first locks the unit's row (allocation.units FOR UPDATE) and keeps it to its commit;
 *    under that lock it reads what the unit holds (open offers and placements not ended)
 *    and appends its events. Two allocations racing for a unit's last place therefore run
 *    one after the other, and the second finds no free place.
 *  - An open offer holds its place: a place is offered to one person at a time.
 *  - A municipality places only into a unit it owns, or one it has a purchase agreement
 *    for on that date, and under an agreement at most the places the agreement buys.
 *  - Locks are taken unit row -> offer or placement row -> request rows -> log head.
 */
#include "allocation.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


/* The unit, the tenant's right to use it, and the tenant's service definition on `on`. */
at_code al_resolve_unit(svc_request *req, const char *owner, const char *provider, const char *service,
                            at_date on, al_unit_ref *u, at_error *err)
{
    at_code code;
    if ((code = al_check_code(owner, "owner", true, err)) != AT_OK ||
        (code = al_check_code(provider, "provider", true, err)) != AT_OK ||
        (code = al_check_code(service, "service", true, err)) != AT_OK)
        return code;
    memset(u, 0, sizeof *u);
    u->owner = owner, u->provider = provider, u->service = service;
    u->def = al_unit_find(owner, provider, service, on);
    if (!u->def) {
        at_error_set(err, AT_NOT_FOUND, "provider", "no unit %s.%s for %s on that date", owner, provider, service);
        at_error_detail(err, "The catalogue of %s has no provider %s with places for %s in force then.", owner,
                        provider, service);
        return AT_NOT_FOUND;
    }
    if (strcmp(owner, req->tenant) != 0) {
        u->agreement = al_agreement_find(req->tenant, owner, provider, service, on);
        if (!u->agreement) {
            at_error_set(err, AT_UNAUTHORISED, "provider", "%s has no purchase agreement for %s.%s", req->tenant,
                         owner, provider);
            at_error_detail(err, "A municipality places only into its own providers and into places it has bought; "
                                 "the catalogue of %s has no agreement with %s for %s in force on that date.",
                            req->tenant, owner, service);
            at_error_hint(err, "Add the purchase agreement to the catalogue of %s, with its source.", req->tenant);
            return AT_UNAUTHORISED;
        }
    }
    u->service_def = al_service_find(req->tenant, service, on);
    if (!u->service_def) {
        at_error_set(err, AT_NOT_FOUND, "service", "no service %s in %s on that date", service, req->tenant);
        at_error_detail(err, "The catalogue of %s defines who may receive %s; it has no version in force then.",
                        req->tenant, service);
        return AT_NOT_FOUND;
    }
    return AT_OK;
}

at_code al_lock_unit(es_txn *t, const al_unit_ref *u, at_error *err)
{
    const char *p[3] = {u->owner, u->provider, u->service};
    PGresult *r = NULL;
    at_code code = al_exec(t,
                           "SELECT 1 FROM allocation.units WHERE owner = $1 AND provider = $2 AND service = $3 "
                           "FOR UPDATE",
                           3, p, &r, "lock the unit", err);
    if (code != AT_OK)
        return code;
    int n = PQntuples(r);
    PQclear(r);
    if (n != 1) {
        es_txn_rollback(t);
        return at_error_set(err, AT_INTERNAL, NULL, "the unit %s.%s has no row in allocation.units", u->owner,
                            u->provider);
    }
    return AT_OK;
}

/* Places free for the tenant under the unit's lock: the unit's capacity less what open
 * offers and placements hold, and under an agreement no more than it buys. */
at_code al_free_places(svc_request *req, es_txn *t, const al_unit_ref *u, int *free_out, at_error *err)
{
    const char *p[4] = {u->owner, u->provider, u->service, req->tenant};
    PGresult *r = NULL;
    at_code code = al_exec(t,
                           "SELECT coalesce(sum(load), 0), coalesce(sum(load) FILTER (WHERE tenant = $4), 0) FROM ("
                           " SELECT coalesce((SELECT c.load FROM allocation.placement_changes c "
                           "   WHERE c.placement_key = p.placement_key ORDER BY c.seq DESC LIMIT 1), p.load) AS load, "
                           "   tenant FROM allocation.placements p WHERE owner = $1 AND provider = $2 "
                           "   AND service = $3 AND ended_on IS NULL"
                           " UNION ALL SELECT load, tenant FROM allocation.offers WHERE owner = $1 AND provider = $2 "
                           "   AND service = $3 AND state = 'open') x",
                           4, p, &r, "count the places", err);
    if (code != AT_OK)
        return code;
    int used = atoi(PQgetvalue(r, 0, 0)), mine = atoi(PQgetvalue(r, 0, 1));
    PQclear(r);
    int free_ = u->def->capacity - used;
    if (u->agreement && u->agreement->places - mine < free_)
        free_ = u->agreement->places - mine;
    *free_out = free_ < 0 ? 0 : free_;
    return AT_OK;
}

static at_code no_place(es_txn *t, const al_unit_ref *u, int want, at_error *err)
{
    es_txn_rollback(t);
    at_error_set(err, AT_CONFLICT, "provider", "no free place at %s.%s", u->owner, u->provider);
    if (u->agreement)
        at_error_detail(err, "The unit's places, or the %d the agreement %s buys, are taken or offered; %d %s "
                             "needed.",
                        u->agreement->places, u->agreement->id, want, want == 1 ? "was" : "were");
    else
        at_error_detail(err, "All %d %s of the unit are taken or offered; %d %s needed.", u->def->capacity,
                        u->def->capacity == 1 ? "place" : "places", want, want == 1 ? "was" : "were");
    at_error_hint(err, "The request stays on the waiting list; offer again when a place frees up.");
    return AT_CONFLICT;
}


at_code al_append_all(svc_request *req, es_txn *t, al_pending *pv, size_t n, es_append_res *first, at_error *err)
{
    for (size_t i = 0; i < n; i++) {
        es_append_res res;
        at_code code = al_append(req, t, pv[i].stream, ES_VERSION_ANY, &pv[i].ev, 1, (int)i, &res, err);
        if (code != AT_OK)
            return code;
        if (i == 0)
            *first = res;
    }
    return AT_OK;
}

/* Offer the unit's free place to the first eligible waiting request of the tenant's list
 * (priority, then order of recording). *made false when nobody eligible fits. The offer
 * row is written; the event is left in *pv for the caller to append. */
at_code al_offer_next(svc_request *req, es_txn *t, const al_unit_ref *u, at_date on, int free_, const char *what,
                          al_pending *pv, char offer_key[37], bool *made, at_error *err)
{
    *made = false;
    char d[11];
    al_date_text(on, d);
    const char *winter = al_priority(ATB__V1__URGENCY__URGENCY_HOMELESS, on) == 2 ? "2" : "3";
    const char *p[4] = {req->tenant, u->service, winter, d};
    PGresult *r = NULL;
    /* FOR UPDATE with the state re-checked after any wait: a request another unit's
     * allocation offered meanwhile drops out instead of getting a second offer. */
    at_code code = al_exec(t,
                           "SELECT request_key, person_key, urgency, load, birth_date, disability_group, status, "
                           "resident, array_to_string(target_groups, ','), "
                           "CASE WHEN urgency IN (1, 2) THEN 1 WHEN urgency = 3 THEN $3::int ELSE 3 END AS prio "
                           "FROM allocation.requests WHERE tenant = $1 AND service = $2 AND state = 'waiting' "
                           "AND requested_on <= $4::date ORDER BY prio, seq FOR UPDATE",
                           4, p, &r, "read the waiting list", err);
    if (code != AT_OK)
        return code;
    int n = PQntuples(r);
    size_t n_skipped = 0;
    char **skipped = at_arena_alloc(req->arena, (size_t)(n ? n : 1) * sizeof *skipped);
    if (!skipped) {
        PQclear(r);
        es_txn_rollback(t);
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    }
    for (int i = 0; i < n; i++) {
        al_person ps;
        memset(&ps, 0, sizeof ps);
        at_date_parse(PQgetvalue(r, i, 4), "birth_date", &ps.birth_date, NULL);
        ps.disability_group = atoi(PQgetvalue(r, i, 5));
        ps.status = atoi(PQgetvalue(r, i, 6));
        ps.resident = PQgetvalue(r, i, 7)[0] == 't';
        ps.load = atoi(PQgetvalue(r, i, 3));
        char *tgs = at_arena_strdup(req->arena, PQgetvalue(r, i, 8));
        char *tv[AL_MAX_LIST];
        for (char *s = tgs, *save = NULL, *tok; tgs && (tok = strtok_r(s, ",", &save)) && ps.n_targets < AL_MAX_LIST;
             s = NULL)
            tv[ps.n_targets++] = tok;
        ps.targets = tv;
        const char *person = PQgetvalue(r, i, 1);
        if ((code = al_care_level_of(req, t, person, on, &ps.care_level, err)) != AT_OK) {
            PQclear(r);
            return code;
        }
        at_error why;
        at_error_clear(&why);
        if (ps.load > free_ || al_eligible(u->service_def, &ps, on, &why) != AT_OK) {
            skipped[n_skipped++] = at_arena_strdup(req->arena, PQgetvalue(r, i, 0));
            continue;
        }
        al_key(req, what, offer_key);
        char *request_key = at_arena_strdup(req->arena, PQgetvalue(r, i, 0));
        char *person_key = at_arena_strdup(req->arena, person);
        char ld[8];
        snprintf(ld, sizeof ld, "%d", ps.load);
        const char *ip[10] = {offer_key, req->tenant, request_key, person_key, u->owner, u->provider, u->service,
                              u->agreement ? u->agreement->id : "", ld, d};
        if ((code = al_exec(t,
                            "INSERT INTO allocation.offers (offer_key, tenant, request_key, person_key, owner, "
                            "provider, service, agreement, load, offered_on, state) "
                            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'open')",
                            10, ip, NULL, "record the offer", err)) != AT_OK ||
            (code = al_exec(t, "UPDATE allocation.requests SET state = 'offered' WHERE request_key = $1", 1,
                            (const char *const *)&request_key, NULL, "mark the request offered", err)) != AT_OK) {
            PQclear(r);
            return code;
        }
        Atb__V1__OfferMade *ev = at_arena_alloc(req->arena, sizeof *ev);
        if (!ev) {
            PQclear(r);
            es_txn_rollback(t);
            return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
        }
        atb__v1__offer_made__init(ev);
        ev->offer_key = at_arena_strdup(req->arena, offer_key);
        ev->request_key = request_key;
        ev->person_key = person_key;
        ev->service = (char *)u->service;
        ev->owner = (char *)u->owner;
        ev->provider = (char *)u->provider;
        ev->agreement = (char *)(u->agreement ? u->agreement->id : "");
        ev->offered_on = svc_date_out(req->arena, on);
        ev->list_position = i + 1;
        ev->priority = atoi(PQgetvalue(r, i, 9));
        ev->n_skipped = n_skipped;
        ev->skipped = skipped;
        PQclear(r);
        snprintf(pv->stream, sizeof pv->stream, "request-%s", request_key);
        *made = true;
        return svc_pack(req->arena, &ev->base, "OfferMade", &pv->ev, err);
    }
    PQclear(r);
    return AT_OK;
}

at_code place_allocate(svc_request *req, ProtobufCMessage **reply, at_error *err)
{
    const Atb__V1__Allocate *c = (const Atb__V1__Allocate *)req->msg;
    at_code code;
    char offer_key[37];
    al_key(req, "offer", offer_key);
    bool done;
    if ((code = al_seen(req, offer_key, reply, &done, err)) != AT_OK || done)
        return code;
    at_date on;
    if ((code = al_check_date(c->on, "on", true, &on, err)) != AT_OK)
        return code;
    al_unit_ref u;
    if ((code = al_resolve_unit(req, c->owner, c->provider, c->service, on, &u, err)) != AT_OK)
        return code;
    es_txn *t = NULL;
    if ((code = al_begin(req, &t, err)) != AT_OK || (code = al_lock_unit(t, &u, err)) != AT_OK)
        return code;
    /* Offers of the unit not answered in time free their places first (withdraw.c). They
     * are committed only with the new offer; ExpireOffers commits them on their own. */
    const char *cp[4] = {req->tenant, u.owner, u.provider, u.service};
    PGresult *r = NULL;
    if ((code = al_exec(t,
                        "SELECT count(*) FROM allocation.offers WHERE tenant = $1 AND owner = $2 AND provider = $3 "
                        "AND service = $4 AND state = 'open'",
                        4, cp, &r, "count the open offers", err)) != AT_OK)
        return code;
    size_t cap = (size_t)strtoll(PQgetvalue(r, 0, 0), NULL, 10) + 1, n = 0;
    PQclear(r);
    al_pending *pv = at_arena_alloc(req->arena, cap * sizeof *pv);
    if (!pv) {
        es_txn_rollback(t);
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    }
    if ((code = al_expire_unit(req, t, &u, on, pv, &n, cap - 1, err)) != AT_OK)
        return code;
    int free_ = 0;
    if ((code = al_free_places(req, t, &u, &free_, err)) != AT_OK)
        return code;
    if (free_ < 1)
        return no_place(t, &u, 1, err);
    bool made = false;
    if ((code = al_offer_next(req, t, &u, on, free_, "offer", &pv[n], offer_key, &made, err)) != AT_OK)
        return code;
    if (!made) {
        es_txn_rollback(t);
        at_error_set(err, AT_NOT_FOUND, "service", "nobody on the list of %s can take the place", c->service);
        at_error_detail(err, "No waiting request of %s for %s is eligible on that date and fits the %d free "
                             "%s of %s.%s.",
                        req->tenant, c->service, free_, free_ == 1 ? "unit" : "units", c->owner, c->provider);
        return AT_NOT_FOUND;
    }
    /* the expiries first (parts 1..n), the offer last as part 0: the command's own id, so a
     * retry is answered with the offer */
    es_append_res res;
    for (size_t i = 0; i < n; i++)
        if ((code = al_append(req, t, pv[i].stream, ES_VERSION_ANY, &pv[i].ev, 1, (int)i + 1, &res, err)) != AT_OK)
            return code;
    if ((code = al_append(req, t, pv[n].stream, ES_VERSION_ANY, &pv[n].ev, 1, 0, &res, err)) != AT_OK)
        return code;
    return al_finish(req, t, pv[n].stream, offer_key, &res, reply, err);
}

/* The offer's row, read without a lock to learn its unit (then locked in order). */
typedef struct offer_row {
    char tenant[AL_CODE_MAX + 1], request_key[37], person_key[37], owner[AL_CODE_MAX + 1],
        provider[AL_CODE_MAX + 1], service[AL_CODE_MAX + 1], agreement[AL_CODE_MAX + 1], state[16];
    int load;
    at_date offered_on;
} offer_row;

static at_code read_offer(es_txn *t, const char *key, bool lock, offer_row *o, bool *found, at_error *err)
{
    PGresult *r = NULL;
    at_code code = al_read_row(t,
                               "SELECT tenant, request_key, person_key, owner, provider, service, agreement, "
                               "state, load, offered_on FROM allocation.offers WHERE offer_key = $1",
                               key, lock, "read the offer", &r, found, err);
    if (code != AT_OK || !*found)
        return code;
    al_col_text(r, 0, o->tenant, sizeof o->tenant);
    al_col_text(r, 1, o->request_key, sizeof o->request_key);
    al_col_text(r, 2, o->person_key, sizeof o->person_key);
    al_col_text(r, 3, o->owner, sizeof o->owner);
    al_col_text(r, 4, o->provider, sizeof o->provider);
    al_col_text(r, 5, o->service, sizeof o->service);
    al_col_text(r, 6, o->agreement, sizeof o->agreement);
    al_col_text(r, 7, o->state, sizeof o->state);
    o->load = atoi(PQgetvalue(r, 0, 8));
    at_date_parse(PQgetvalue(r, 0, 9), "offered_on", &o->offered_on, NULL);
    PQclear(r);
    return AT_OK;
}

/* Insert the placement row and build its PlacementStarted into pv. */
static at_code start_placement(svc_request *req, es_txn *t, const al_unit_ref *u, const char *placement_key,
                               const char *person, const char *request_key, const char *offer_key, int load,
                               int status, at_date on, bool emergency, const char *reason, al_pending *pv,
                               at_error *err)
{
    char ld[8], st[8], d[11];
    snprintf(ld, sizeof ld, "%d", load);
    snprintf(st, sizeof st, "%d", status);
    const char *ip[12] = {placement_key, req->tenant, person, *request_key ? request_key : NULL, u->owner,
                          u->provider, u->service, u->agreement ? u->agreement->id : "", ld, st,
                          emergency ? "true" : "false", al_date_text(on, d)};
    at_code code = al_exec(t,
                           "INSERT INTO allocation.placements (placement_key, tenant, person_key, request_key, owner, "
                           "provider, service, agreement, load, status, emergency, start_on) "
                           "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                           12, ip, NULL, "record the placement", err);
    if (code != AT_OK)
        return code;
    Atb__V1__PlacementStarted *ev = at_arena_alloc(req->arena, sizeof *ev);
    if (!ev) {
        es_txn_rollback(t);
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    }
    atb__v1__placement_started__init(ev);
    ev->placement_key = at_arena_strdup(req->arena, placement_key);
    ev->request_key = at_arena_strdup(req->arena, request_key);
    ev->person_key = at_arena_strdup(req->arena, person);
    ev->service = (char *)u->service;
    ev->owner = (char *)u->owner;
    ev->provider = (char *)u->provider;
    ev->agreement = (char *)(u->agreement ? u->agreement->id : "");
    ev->start_on = svc_date_out(req->arena, on);
    ev->load = load;
    ev->unit = (char *)al_unit_name(u->service_def->unit);
    ev->emergency = emergency;
    ev->reason = (char *)(reason ? reason : "");
    ev->offer_key = at_arena_strdup(req->arena, offer_key);
    snprintf(pv->stream, sizeof pv->stream, "placement-%s", placement_key);
    return svc_pack(req->arena, &ev->base, "PlacementStarted", &pv->ev, err);
}

at_code place_answer(svc_request *req, ProtobufCMessage **reply, at_error *err)
{
    const Atb__V1__AnswerOffer *c = (const Atb__V1__AnswerOffer *)req->msg;
    at_code code;
    char key[37];
    al_key(req, c->accept ? "placement" : "offer", key);
    bool done;
    if ((code = al_seen(req, key, reply, &done, err)) != AT_OK || done)
        return code;
    at_date on;
    if ((code = al_check_key(c->offer_key, "offer_key", err)) != AT_OK ||
        (code = al_check_date(c->on, "on", c->accept, &on, err)) != AT_OK)
        return code;
    if (!c->accept && (code = al_check_code(c->reason, "reason", true, err)) != AT_OK)
        return code;
    es_txn *t = NULL;
    if ((code = al_begin(req, &t, err)) != AT_OK)
        return code;
    offer_row o;
    bool found = false;
    if ((code = read_offer(t, c->offer_key, false, &o, &found, err)) != AT_OK)
        return code;
    if (!found || strcmp(o.tenant, req->tenant) != 0) {
        es_txn_rollback(t);
        return at_error_set(err, AT_NOT_FOUND, "offer_key", "offer not found");
    }
    if (!c->accept)
        on = o.offered_on;
    if (on < o.offered_on) {
        es_txn_rollback(t);
        return at_error_set(err, AT_VALIDATION, "on", "the placement cannot start before the offer");
    }
    al_unit_ref u;
    if ((code = al_resolve_unit(req, o.owner, o.provider, o.service, o.offered_on, &u, err)) != AT_OK) {
        es_txn_rollback(t);
        return code;
    }
    if ((code = al_lock_unit(t, &u, err)) != AT_OK ||
        (code = read_offer(t, c->offer_key, true, &o, &found, err)) != AT_OK)
        return code;
    if (strcmp(o.state, "open") != 0) {
        es_txn_rollback(t);
        at_error_set(err, AT_CONFLICT, "offer_key", "the offer is %s", o.state);
        at_error_detail(err, "An offer is answered once.");
        return AT_CONFLICT;
    }
    at_date last = al_offer_deadline(al_service_find(req->tenant, o.service, o.offered_on), o.offered_on);
    if (c->accept && last != AT_DATE_NONE && on > last) {
        char d1[11];
        es_txn_rollback(t);
        at_error_set(err, AT_CONFLICT, "on", "the offer expired after %s", al_date_text(last, d1));
        at_error_detail(err, "An offer of %s holds for %d days; it was not accepted in time.", o.service,
                        (int)(last - o.offered_on));
        at_error_hint(err, "ExpireOffers passes the place to the next person; make a new request if the person "
                           "still needs the service.");
        return AT_CONFLICT;
    }
    const char *kp[1] = {c->offer_key};
    const char *rp[1] = {o.request_key};
    al_pending pv[2];
    size_t n = 0;
    const char *reply_stream, *reply_key;
    if (c->accept) {
        if ((code = al_exec(t, "UPDATE allocation.offers SET state = 'accepted' WHERE offer_key = $1", 1, kp, NULL,
                            "mark the offer accepted", err)) != AT_OK ||
            (code = al_exec(t, "UPDATE allocation.requests SET state = 'placed' WHERE request_key = $1", 1, rp,
                            NULL, "mark the request placed", err)) != AT_OK)
            return code;
        PGresult *r = NULL;
        if ((code = al_exec(t, "SELECT status FROM allocation.requests WHERE request_key = $1", 1, rp, &r,
                            "read the request", err)) != AT_OK)
            return code;
        int status = PQntuples(r) ? atoi(PQgetvalue(r, 0, 0)) : 0;
        PQclear(r);
        Atb__V1__OfferAccepted ev = ATB__V1__OFFER_ACCEPTED__INIT;
        ev.offer_key = c->offer_key;
        ev.request_key = o.request_key;
        ev.person_key = o.person_key;
        ev.placement_key = key;
        snprintf(pv[n].stream, sizeof pv[n].stream, "request-%s", o.request_key);
        if ((code = svc_pack(req->arena, &ev.base, "OfferAccepted", &pv[n++].ev, err)) != AT_OK) {
            es_txn_rollback(t);
            return code;
        }
        if ((code = start_placement(req, t, &u, key, o.person_key, o.request_key, c->offer_key, o.load, status, on,
                                    false, NULL, &pv[n++], err)) != AT_OK)
            return code;
        reply_stream = pv[1].stream;
        reply_key = key;
    } else {
        if ((code = al_exec(t, "UPDATE allocation.offers SET state = 'declined' WHERE offer_key = $1", 1, kp, NULL,
                            "mark the offer declined", err)) != AT_OK ||
            (code = al_exec(t, "UPDATE allocation.requests SET state = 'declined' WHERE request_key = $1", 1, rp,
                            NULL, "mark the request declined", err)) != AT_OK)
            return code;
        Atb__V1__OfferDeclined ev = ATB__V1__OFFER_DECLINED__INIT;
        ev.offer_key = c->offer_key;
        ev.request_key = o.request_key;
        ev.person_key = o.person_key;
        ev.reason = c->reason;
        snprintf(pv[n].stream, sizeof pv[n].stream, "request-%s", o.request_key);
        if ((code = svc_pack(req->arena, &ev.base, "OfferDeclined", &pv[n++].ev, err)) != AT_OK) {
            es_txn_rollback(t);
            return code;
        }
        /* The place the declined offer held goes to the next eligible person at once. */
        int free_ = 0;
        bool made = false;
        if ((code = al_free_places(req, t, &u, &free_, err)) != AT_OK)
            return code;
        if (free_ > 0 &&
            (code = al_offer_next(req, t, &u, o.offered_on, free_, "offer", &pv[n], key, &made, err)) != AT_OK)
            return code;
        if (made)
            n++;
        reply_stream = pv[0].stream;
        reply_key = made ? key : "";
    }
    es_append_res res;
    if ((code = al_append_all(req, t, pv, n, &res, err)) != AT_OK)
        return code;
    return al_finish(req, t, reply_stream, reply_key, &res, reply, err);
}

at_code place_emergency(svc_request *req, ProtobufCMessage **reply, at_error *err)
{
    const Atb__V1__EmergencyAdmission *c = (const Atb__V1__EmergencyAdmission *)req->msg;
    at_code code;
    char first[37];
    al_key(req, "placement:0", first);
    bool done;
    if ((code = al_seen(req, first, reply, &done, err)) != AT_OK || done)
        return code;
    at_date on;
    if ((code = al_check_date(c->on, "on", true, &on, err)) != AT_OK ||
        (code = al_check_code(c->reason, "reason", true, err)) != AT_OK)
        return code;
    if (c->n_person_keys == 0 || c->n_person_keys > 16)
        return at_error_set(err, AT_VALIDATION, "person_keys", "an admission names 1..16 persons");
    for (size_t i = 0; i < c->n_person_keys; i++) {
        char f[48];
        snprintf(f, sizeof f, "person_keys.%zu", i + 1);
        if ((code = al_check_key(c->person_keys[i], f, err)) != AT_OK)
            return code;
        for (size_t k = 0; k < i; k++)
            if (strcmp(c->person_keys[k], c->person_keys[i]) == 0)
                return at_error_set(err, AT_VALIDATION, f, "a person is named twice");
    }
    al_unit_ref u;
    if ((code = al_resolve_unit(req, c->owner, c->provider, c->service, on, &u, err)) != AT_OK)
        return code;
    if (!u.service_def->emergency) {
        at_error_set(err, AT_VALIDATION, "service", "%s does not admit in an emergency", c->service);
        at_error_detail(err, "Only services marked emergency: true in the catalogue (crisis centres) admit "
                             "outside the waiting list.");
        at_error_hint(err, "Put the request on the waiting list with its urgency (RequestService).");
        return AT_VALIDATION;
    }
    es_txn *t = NULL;
    if ((code = al_begin(req, &t, err)) != AT_OK || (code = al_lock_unit(t, &u, err)) != AT_OK)
        return code;
    int free_ = 0;
    if ((code = al_free_places(req, t, &u, &free_, err)) != AT_OK)
        return code;
    if ((size_t)free_ < c->n_person_keys)
        return no_place(t, &u, (int)c->n_person_keys, err);
    /* A person already in a place of this unit is not admitted twice. */
    for (size_t i = 0; i < c->n_person_keys; i++) {
        const char *p[4] = {c->person_keys[i], c->owner, c->provider, c->service};
        PGresult *r = NULL;
        if ((code = al_exec(t,
                            "SELECT 1 FROM allocation.placements WHERE person_key = $1 AND owner = $2 "
                            "AND provider = $3 AND service = $4 AND ended_on IS NULL",
                            4, p, &r, "read the placements", err)) != AT_OK)
            return code;
        int n = PQntuples(r);
        PQclear(r);
        if (n) {
            es_txn_rollback(t);
            char f[48];
            snprintf(f, sizeof f, "person_keys.%zu", i + 1);
            return at_error_set(err, AT_CONFLICT, f, "the person is already placed at %s.%s", c->owner, c->provider);
        }
    }
    al_pending *pv = at_arena_alloc(req->arena, c->n_person_keys * sizeof *pv);
    if (!pv) {
        es_txn_rollback(t);
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    }
    for (size_t i = 0; i < c->n_person_keys; i++) {
        char what[32], key[37];
        snprintf(what, sizeof what, "placement:%zu", i);
        al_key(req, what, key);
        if ((code = start_placement(req, t, &u, key, c->person_keys[i], "", "", 1,
                                    ATB__V1__NEED_STATUS__NEED_STATUS_NONE, on, true, c->reason, &pv[i], err)) != AT_OK)
            return code;
    }
    es_append_res res;
    if ((code = al_append_all(req, t, pv, c->n_person_keys, &res, err)) != AT_OK)
        return code;
    return al_finish(req, t, pv[0].stream, first, &res, reply, err);
}

at_code place_discharge(svc_request *req, ProtobufCMessage **reply, at_error *err)
{
    const Atb__V1__Discharge *c = (const Atb__V1__Discharge *)req->msg;
    at_code code;
    bool done;
    if ((code = al_seen(req, c->placement_key, reply, &done, err)) != AT_OK || done)
        return code;
    at_date on;
    if ((code = al_check_key(c->placement_key, "placement_key", err)) != AT_OK ||
        (code = al_check_date(c->on, "on", true, &on, err)) != AT_OK ||
        (code = al_check_code(c->reason, "reason", true, err)) != AT_OK)
        return code;
    es_txn *t = NULL;
    if ((code = al_begin(req, &t, err)) != AT_OK)
        return code;
    const char *p[1] = {c->placement_key};
    static const char sql[] = "SELECT tenant, person_key, owner, provider, service, start_on, ended_on IS NOT NULL "
                              "FROM allocation.placements WHERE placement_key = $1";
    PGresult *r = NULL;
    if ((code = al_exec(t, sql, 1, p, &r, "read the placement", err)) != AT_OK)
        return code;
    if (PQntuples(r) != 1 || strcmp(PQgetvalue(r, 0, 0), req->tenant) != 0) {
        PQclear(r);
        es_txn_rollback(t);
        return at_error_set(err, AT_NOT_FOUND, "placement_key", "placement not found");
    }
    char *person = at_arena_strdup(req->arena, PQgetvalue(r, 0, 1));
    char *owner = at_arena_strdup(req->arena, PQgetvalue(r, 0, 2));
    char *provider = at_arena_strdup(req->arena, PQgetvalue(r, 0, 3));
    char *service = at_arena_strdup(req->arena, PQgetvalue(r, 0, 4));
    at_date start = AT_DATE_NONE;
    at_date_parse(PQgetvalue(r, 0, 5), "start_on", &start, NULL);
    PQclear(r);
    /* Lock in the order of every other writer: the unit, then the placement's state. */
    al_unit_ref u = {.owner = owner, .provider = provider, .service = service};
    if ((code = al_lock_unit(t, &u, err)) != AT_OK)
        return code;
    if ((code = al_exec(t, "SELECT ended_on IS NOT NULL FROM allocation.placements WHERE placement_key = $1 FOR UPDATE",
                        1, p, &r, "lock the placement", err)) != AT_OK)
        return code;
    bool ended = PQgetvalue(r, 0, 0)[0] == 't';
    PQclear(r);
    if (ended) {
        es_txn_rollback(t);
        return at_error_set(err, AT_CONFLICT, "placement_key", "the placement has ended");
    }
    if (on < start) {
        es_txn_rollback(t);
        return at_error_set(err, AT_VALIDATION, "on", "the discharge is before the placement started");
    }
    char d[11];
    const char *up[2] = {c->placement_key, al_date_text(on, d)};
    if ((code = al_exec(t, "UPDATE allocation.placements SET ended_on = $2 WHERE placement_key = $1", 2, up, NULL,
                        "end the placement", err)) != AT_OK)
        return code;
    Atb__V1__PlacementEnded ev = ATB__V1__PLACEMENT_ENDED__INIT;
    ev.placement_key = c->placement_key;
    ev.person_key = person;
    ev.owner = owner;
    ev.provider = provider;
    ev.service = service;
    ev.ended_on = c->on;
    ev.reason = c->reason;
    al_pending pv;
    snprintf(pv.stream, sizeof pv.stream, "placement-%s", c->placement_key);
    if ((code = svc_pack(req->arena, &ev.base, "PlacementEnded", &pv.ev, err)) != AT_OK) {
        es_txn_rollback(t);
        return code;
    }
    es_append_res res;
    if ((code = al_append_all(req, t, &pv, 1, &res, err)) != AT_OK)
        return code;
    return al_finish(req, t, pv.stream, c->placement_key, &res, reply, err);
}

at_code place_change(svc_request *req, ProtobufCMessage **reply, at_error *err)
{
    const Atb__V1__ChangePlacement *c = (const Atb__V1__ChangePlacement *)req->msg;
    at_code code;
    bool done;
    if ((code = al_seen(req, c->placement_key, reply, &done, err)) != AT_OK || done)
        return code;
    at_date on;
    if ((code = al_check_key(c->placement_key, "placement_key", err)) != AT_OK ||
        (code = al_check_date(c->from_on, "from_on", true, &on, err)) != AT_OK ||
        (code = al_check_code(c->reason, "reason", true, err)) != AT_OK)
        return code;
    if (c->suspend && c->resume)
        return at_error_set(err, AT_VALIDATION, "resume", "suspend and resume are exclusive");
    if (c->hours_per_week < 0 || c->hours_per_week > 168)
        return at_error_set(err, AT_VALIDATION, "hours_per_week", "hours_per_week is outside 0..168");
    if (!c->suspend && !c->resume && c->hours_per_week == 0)
        return at_error_set(err, AT_VALIDATION, "hours_per_week", "nothing to change");
    es_txn *t = NULL;
    if ((code = al_begin(req, &t, err)) != AT_OK)
        return code;
    const char *p[1] = {c->placement_key};
    PGresult *r = NULL;
    if ((code = al_exec(t,
                        "SELECT p.tenant, p.person_key, p.owner, p.provider, p.service, p.start_on, p.load, "
                        "coalesce(q.birth_date::text, ''), coalesce(q.disability_group, 0), coalesce(q.status, 0), "
                        "coalesce(q.resident, false), coalesce(array_to_string(q.target_groups, ','), '') "
                        "FROM allocation.placements p LEFT JOIN allocation.requests q USING (request_key) "
                        "WHERE p.placement_key = $1",
                        1, p, &r, "read the placement", err)) != AT_OK)
        return code;
    if (PQntuples(r) != 1 || strcmp(PQgetvalue(r, 0, 0), req->tenant) != 0) {
        PQclear(r);
        es_txn_rollback(t);
        return at_error_set(err, AT_NOT_FOUND, "placement_key", "placement not found");
    }
    char *person = at_arena_strdup(req->arena, PQgetvalue(r, 0, 1));
    char *owner = at_arena_strdup(req->arena, PQgetvalue(r, 0, 2));
    char *provider = at_arena_strdup(req->arena, PQgetvalue(r, 0, 3));
    char *service = at_arena_strdup(req->arena, PQgetvalue(r, 0, 4));
    at_date start = AT_DATE_NONE;
    at_date_parse(PQgetvalue(r, 0, 5), "start_on", &start, NULL);
    al_person ps;
    memset(&ps, 0, sizeof ps);
    bool from_list = *PQgetvalue(r, 0, 7) != 0;
    if (from_list)
        at_date_parse(PQgetvalue(r, 0, 7), "birth_date", &ps.birth_date, NULL);
    ps.disability_group = atoi(PQgetvalue(r, 0, 8));
    ps.status = atoi(PQgetvalue(r, 0, 9));
    ps.resident = PQgetvalue(r, 0, 10)[0] == 't';
    char *tgs = at_arena_strdup(req->arena, PQgetvalue(r, 0, 11));
    char *tv[AL_MAX_LIST];
    for (char *s = tgs, *save = NULL, *tok; tgs && (tok = strtok_r(s, ",", &save)) && ps.n_targets < AL_MAX_LIST;
         s = NULL)
        tv[ps.n_targets++] = tok;
    ps.targets = tv;
    PQclear(r);
    al_unit_ref u;
    if ((code = al_resolve_unit(req, owner, provider, service, on, &u, err)) != AT_OK) {
        es_txn_rollback(t);
        return code;
    }
    if ((code = al_lock_unit(t, &u, err)) != AT_OK)
        return code;
    if ((code = al_exec(t,
                        "SELECT p.ended_on IS NOT NULL, coalesce(c.load, p.load), coalesce(c.suspended, false), "
                        "coalesce(c.from_on, p.start_on) "
                        "FROM allocation.placements p LEFT JOIN LATERAL (SELECT load, suspended, from_on FROM "
                        "allocation.placement_changes WHERE placement_key = p.placement_key ORDER BY seq DESC "
                        "LIMIT 1) c ON true WHERE p.placement_key = $1 FOR UPDATE OF p",
                        1, p, &r, "lock the placement", err)) != AT_OK)
        return code;
    bool ended = PQgetvalue(r, 0, 0)[0] == 't';
    int load = atoi(PQgetvalue(r, 0, 1));
    bool suspended = PQgetvalue(r, 0, 2)[0] == 't';
    at_date last = AT_DATE_NONE;
    at_date_parse(PQgetvalue(r, 0, 3), "from_on", &last, NULL);
    PQclear(r);
    if (ended) {
        es_txn_rollback(t);
        return at_error_set(err, AT_CONFLICT, "placement_key", "the placement has ended");
    }
    if (on < start || on < last) {
        es_txn_rollback(t);
        char a[11];
        at_error_set(err, AT_VALIDATION, "from_on", "the change is before the placement's last change");
        at_error_detail(err, "Changes are recorded in date order; the placement stands as changed from %s.",
                        al_date_text(last, a));
        return AT_VALIDATION;
    }
    if ((c->suspend && suspended) || (c->resume && !suspended)) {
        es_txn_rollback(t);
        return at_error_set(err, AT_CONFLICT, c->suspend ? "suspend" : "resume", "the placement is %s",
                            suspended ? "suspended already" : "not suspended");
    }
    int new_load = load;
    if (c->hours_per_week > 0) {
        if (u.service_def->unit != AL_UNIT_HOUR && u.service_def->unit != AL_UNIT_TRIP) {
            es_txn_rollback(t);
            return at_error_set(err, AT_VALIDATION, "hours_per_week", "%s is not given in hours or trips",
                                service);
        }
        new_load = c->hours_per_week;
        ps.load = new_load;
        if (from_list) {
            if ((code = al_care_level_of(req, t, person, on, &ps.care_level, err)) != AT_OK)
                return code;
            if ((code = al_eligible(u.service_def, &ps, on, err)) != AT_OK) {
                es_txn_rollback(t);
                return code;
            }
        }
        int free_ = 0;
        if (new_load > load && ((code = al_free_places(req, t, &u, &free_, err)) != AT_OK))
            return code;
        if (new_load > load && free_ < new_load - load)
            return no_place(t, &u, new_load - load, err);
    }
    bool now_suspended = c->suspend ? true : c->resume ? false : suspended;
    char ld[8], d[11];
    snprintf(ld, sizeof ld, "%d", new_load);
    const char *ip[4] = {c->placement_key, al_date_text(on, d), ld, now_suspended ? "true" : "false"};
    if ((code = al_exec(t,
                        "INSERT INTO allocation.placement_changes (placement_key, from_on, load, suspended) "
                        "VALUES ($1, $2, $3, $4)",
                        4, ip, NULL, "record the change", err)) != AT_OK)
        return code;
    Atb__V1__PlacementChanged ev = ATB__V1__PLACEMENT_CHANGED__INIT;
    ev.placement_key = c->placement_key;
    ev.person_key = person;
    ev.owner = owner;
    ev.provider = provider;
    ev.service = service;
    ev.from_on = c->from_on;
    ev.load = new_load;
    ev.suspended = now_suspended;
    ev.reason = c->reason;
    al_pending pv;
    snprintf(pv.stream, sizeof pv.stream, "placement-%s", c->placement_key);
    if ((code = svc_pack(req->arena, &ev.base, "PlacementChanged", &pv.ev, err)) != AT_OK) {
        es_txn_rollback(t);
        return code;
    }
    es_append_res res;
    if ((code = al_append_all(req, t, &pv, 1, &res, err)) != AT_OK)
        return code;
    return al_finish(req, t, pv.stream, c->placement_key, &res, reply, err);
}
