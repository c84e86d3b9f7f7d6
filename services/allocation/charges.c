/*
 * charges.c -- RecordCharges: what a period of the tenant's placements costs and who owes
 * whom, appended as events for the payments service (docs/events.md, "Service allocation").
 *
 * For each placement of the tenant in place on some day of the period:
 *   units   days in place and not suspended within the period (start_on <= D < ended_on)
 *           for day and place services; for hour and trip services the weekly hours in
 *           force on each such day, summed, / 7, rounded down (PlacementChanged);
 *   own provider   the tenant's tariff x units; the client pays copay_percent of it by the
 *           status on the request (needy: nothing; an emergency admission: nothing) to the
 *           provider (ChargeRecorded, payer "client"); a request without a status (or with
 *           one filled from the log) takes the status in force on the first day charged
 *           from allocation.statuses (means testing's decisions and their overrides,
 *           consume.c), and ChargeRecorded names that status and its source; the rest
 *           is owed to the provider by the funding source (ChargeRecorded, payer
 *           "municipality:<tenant>", "state" or "eu_fund");
 *   bought place   the agreed price x units is owed to the seller municipality
 *           (InterMunicipalCharge); the client's share of it is owed to the buyer
 *           (ChargeRecorded, payer "client", payee "municipality:<buyer>").
 * All charges of a period are one append to the stream charges-<tenant>.<from>.<to>,
 * created there (expected version "none"): a period is charged once.
 */
#include "allocation.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "at_money.h"

static int copay_percent(const al_service *s, int status, bool emergency)
{
    if (emergency || status == ATB__V1__NEED_STATUS__NEED_STATUS_NEEDY)
        return 0;
    return status == ATB__V1__NEED_STATUS__NEED_STATUS_LOW_INCOME ? s->copay_low_income : s->copay_other;
}

/* Units to charge for [a, b): each day not suspended counts 1 (day and place services) or
 * the weekly load in force that day (hour and trip services, then / 7, rounded down).
 * Changes apply from their date, in date order (place_change keeps them so). */
static at_code chargeable_units(es_txn *t, const char *placement, const al_service *s, int start_load, at_date a,
                                at_date b, int64_t *units, at_error *err)
{
    const char *p[1] = {placement};
    PGresult *r = NULL;
    at_code code = al_exec(t,
                           "SELECT from_on, load, suspended FROM allocation.placement_changes "
                           "WHERE placement_key = $1 ORDER BY from_on, seq",
                           1, p, &r, "read the changes", err);
    if (code != AT_OK)
        return code;
    int n = PQntuples(r), k = 0, load = start_load;
    bool suspended = false, hours = s->unit == AL_UNIT_HOUR || s->unit == AL_UNIT_TRIP;
    int64_t sum = 0;
    for (at_date d = a; d < b; d++) {
        for (; k < n; k++) {
            at_date from = AT_DATE_NONE;
            at_date_parse(PQgetvalue(r, k, 0), "from_on", &from, NULL);
            if (from > d)
                break;
            load = atoi(PQgetvalue(r, k, 1));
            suspended = PQgetvalue(r, k, 2)[0] == 't';
        }
        if (!suspended)
            sum += hours ? load : 1;
    }
    PQclear(r);
    *units = hours ? sum / 7 : sum;
    return AT_OK;
}

typedef struct out_list {
    es_event_in *ev;
    size_t n, cap;
} out_list;

static es_event_in *next_slot(svc_request *req, out_list *l)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        es_event_in *nv = at_arena_alloc(req->arena, cap * sizeof *nv);
        if (!nv)
            return NULL;
        if (l->n)
            memcpy(nv, l->ev, l->n * sizeof *nv);
        l->ev = nv, l->cap = cap;
    }
    return &l->ev[l->n++];
}

at_code charges_record(svc_request *req, ProtobufCMessage **reply, at_error *err)
{
    const Atb__V1__RecordCharges *c = (const Atb__V1__RecordCharges *)req->msg;
    at_code code;
    at_date from, to;
    if ((code = al_check_date(c->period_from, "period_from", true, &from, err)) != AT_OK ||
        (code = al_check_date(c->period_to, "period_to", true, &to, err)) != AT_OK)
        return code;
    if (to < from || to - from > 366)
        return at_error_set(err, AT_VALIDATION, "period_to", "a period is 1..367 days from period_from");
    char df[11], dt[11], stream[96];
    al_date_text(from, df);
    al_date_text(to, dt);
    snprintf(stream, sizeof stream, "charges-%s.%s.%s", req->tenant, df, dt);
    bool done;
    if ((code = al_seen(req, "", reply, &done, err)) != AT_OK || done)
        return code;
    es_txn *t = NULL;
    if ((code = al_begin(req, &t, err)) != AT_OK)
        return code;
    const char *p[3] = {req->tenant, df, dt};
    PGresult *r = NULL;
    if ((code = al_exec(t,
                        "SELECT placement_key, person_key, owner, provider, service, agreement, load, status, "
                        "emergency, greatest(start_on, $2::date), "
                        "least(coalesce(ended_on, $3::date + 1), $3::date + 1), "
                        "coalesce((SELECT q.status_filled FROM allocation.requests q "
                        "WHERE q.request_key = p.request_key), false) "
                        "FROM allocation.placements p WHERE tenant = $1 AND start_on <= $3::date "
                        "AND (ended_on IS NULL OR ended_on > $2::date) ORDER BY start_on, placement_key",
                        3, p, &r, "read the placements", err)) != AT_OK)
        return code;
    out_list l = {0};
    int n = PQntuples(r);
    for (int i = 0; i < n; i++) {
        const char *pk = PQgetvalue(r, i, 0), *person = PQgetvalue(r, i, 1), *owner = PQgetvalue(r, i, 2),
                   *provider = PQgetvalue(r, i, 3), *service = PQgetvalue(r, i, 4), *agreement = PQgetvalue(r, i, 5);
        int load = atoi(PQgetvalue(r, i, 6)), status = atoi(PQgetvalue(r, i, 7));
        bool emergency = PQgetvalue(r, i, 8)[0] == 't';
        at_date a = AT_DATE_NONE, b = AT_DATE_NONE;
        at_date_parse(PQgetvalue(r, i, 9), "from", &a, NULL);
        at_date_parse(PQgetvalue(r, i, 10), "to", &b, NULL);
        if (b <= a)
            continue;
        const al_service *s = al_service_find(req->tenant, service, a);
        if (!s) {
            PQclear(r);
            es_txn_rollback(t);
            at_error_set(err, AT_NOT_FOUND, "period_from", "no tariff of %s on %s", service, PQgetvalue(r, i, 9));
            return AT_NOT_FOUND;
        }
        int64_t units = 0;
        if ((code = chargeable_units(t, pk, s, load, a, b, &units, err)) != AT_OK) {
            PQclear(r);
            return code;
        }
        if (units == 0)
            continue;
        /* A request without a status, or with one filled from the log: the status in force
         * on the first day charged, from means testing's decisions (a status granted after
         * the request counts, one annulled on appeal no longer does). A typed status stays. */
        bool filled = PQgetvalue(r, i, 11)[0] == 't';
        int64_t status_position = 0;
        const char *source = emergency                                       ? "emergency"
                             : status != ATB__V1__NEED_STATUS__NEED_STATUS_NONE ? "request"
                                                                                : "";
        if ((status == ATB__V1__NEED_STATUS__NEED_STATUS_NONE || filled) && !emergency &&
            (code = al_status_of(t, req->tenant, person, a, &status, &status_position, &source, err)) != AT_OK) {
            PQclear(r);
            return code;
        }
        const al_agreement *g = *agreement ? al_agreement_find(req->tenant, owner, provider, service, a) : NULL;
        int64_t price = g ? g->price_cents : s->tariff_cents;
        at_cents total = 0, client = 0;
        if (!at_cents_mul(price, units, &total) ||
            !at_cents_muldiv(total, copay_percent(s, status, emergency), 100, AT_ROUND_HALF_UP, &client)) {
            PQclear(r);
            es_txn_rollback(t);
            return at_error_set(err, AT_INTERNAL, NULL, "the charge of placement %s overflows", pk);
        }
        char unit_payee[2 * AL_CODE_MAX + 16], buyer_payee[AL_CODE_MAX + 16], muni_payer[AL_CODE_MAX + 16];
        snprintf(unit_payee, sizeof unit_payee, "provider:%s.%s", owner, provider);
        snprintf(buyer_payee, sizeof buyer_payee, "municipality:%s", req->tenant);
        snprintf(muni_payer, sizeof muni_payer, "municipality:%s", req->tenant);
        char what[64], ckey[37];
        if (g) {
            Atb__V1__InterMunicipalCharge ev = ATB__V1__INTER_MUNICIPAL_CHARGE__INIT;
            snprintf(what, sizeof what, "imc:%s", pk);
            al_key(req, what, ckey);
            ev.charge_key = ckey;
            ev.agreement = (char *)g->id;
            ev.buyer = (char *)req->tenant;
            ev.seller = (char *)owner;
            ev.provider = (char *)provider;
            ev.placement_key = (char *)pk;
            ev.person_key = (char *)person;
            ev.units = units;
            ev.unit_price_cents = price;
            ev.amount_cents = total;
            ev.period_from = svc_date_out(req->arena, a);
            ev.period_to = svc_date_out(req->arena, b - 1);
            ev.ekk_code = (char *)g->ekk;
            ev.funding_source = (char *)s->funding;
            ev.service = (char *)service;
            es_event_in *slot = next_slot(req, &l);
            if (!slot || (code = svc_pack(req->arena, &ev.base, "InterMunicipalCharge", slot, err)) != AT_OK) {
                PQclear(r);
                es_txn_rollback(t);
                return slot ? code : at_error_set(err, AT_INTERNAL, NULL, "out of memory");
            }
        }
        for (int part = 0; part < 2; part++) {
            /* part 0: the client's share; part 1: the funder's share of an own provider. */
            at_cents amount = part == 0 ? client : total - client;
            if (part == 1 && g)
                break;
            if (amount == 0)
                continue;
            Atb__V1__ChargeRecorded ev = ATB__V1__CHARGE_RECORDED__INIT;
            snprintf(what, sizeof what, "charge:%s:%d", pk, part);
            al_key(req, what, ckey);
            ev.charge_key = ckey;
            ev.placement_key = (char *)pk;
            ev.person_key = (char *)person;
            const char *funder = strcmp(s->funding, "municipality") == 0 ? muni_payer : s->funding;
            ev.payer = (char *)(part == 0 ? "client" : funder);
            ev.payee = g ? buyer_payee : unit_payee;
            ev.amount_cents = amount;
            ev.period_from = svc_date_out(req->arena, a);
            ev.period_to = svc_date_out(req->arena, b - 1);
            ev.units = units;
            ev.unit_price_cents = price;
            ev.ekk_code = (char *)(g ? g->ekk : s->ekk);
            ev.funding_source = (char *)(part == 0 ? "client" : s->funding);
            ev.service = (char *)service;
            ev.status = (Atb__V1__NeedStatus)status;
            ev.status_source = (char *)source;
            ev.status_position = status_position;
            es_event_in *slot = next_slot(req, &l);
            if (!slot || (code = svc_pack(req->arena, &ev.base, "ChargeRecorded", slot, err)) != AT_OK) {
                PQclear(r);
                es_txn_rollback(t);
                return slot ? code : at_error_set(err, AT_INTERNAL, NULL, "out of memory");
            }
        }
    }
    PQclear(r);
    if (l.n == 0) {
        es_txn_rollback(t);
        at_error_set(err, AT_NOT_FOUND, "period_from", "nothing to charge in %s..%s", df, dt);
        at_error_detail(err, "No placement of %s was in place on a day of the period.", req->tenant);
        return AT_NOT_FOUND;
    }
    es_append_res res;
    if ((code = al_append(req, t, stream, ES_VERSION_NONE, l.ev, l.n, 0, &res, err)) != AT_OK) {
        if (code == AT_CONFLICT) {
            at_error_set(err, AT_CONFLICT, "period_from", "the period %s..%s is charged already", df, dt);
            at_error_detail(err, "The stream %s holds its charges; a period is charged once.", stream);
        }
        return code;
    }
    return al_finish(req, t, stream, "", &res, reply, err);
}
