/*
 * services.c -- the social services projections (service allocation's events) and
 * ServicesReport (docs/reporting.md, "ServicesReport", defines every figure).
 *
 * Capacities come from the units projection (catalogue.c).
 *
 * reporting.placements: one row per placement (PlacementStarted), its end once
 * PlacementEnded is recorded (ended_on is the first day out of the place, as allocation's
 * occupancy counts it). reporting.placement_loads: the weekly load and suspension in force
 * from a date, one row per PlacementStarted and PlacementChanged. reporting.requests: one
 * row per request that joined a waiting list (ServiceRequested); it leaves the list when a
 * placement naming it starts.
 *
 * Invariants:
 *  - rows are written in the consumer's transaction that moves its checkpoint
 *    ("reporting-placements", "reporting-requests"); every row carries the position of the
 *    event that wrote it (ended_position for the end), which is what "as known on" filters;
 *  - projecting an event twice changes nothing (inserts ON CONFLICT DO NOTHING, the end set
 *    once), so a rebuild replays the log into the same rows;
 *  - nothing identifying: persons are person keys.
 */
#include "reporting.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atb/v1/allocation.pb-c.h"
#include "atb/v1/reporting.pb-c.h"

static at_code project_started(es_txn *txn, const es_event *ev, at_error *err)
{
    Atb__V1__PlacementStarted *m = atb__v1__placement_started__unpack(NULL, ev->payload_len, ev->payload);
    char start[16], load[16], pos[24];
    const char *why = !m                                         ? "Its payload does not decode."
                      : !m->placement_key[0] || !m->service[0] ? "Its placement_key or service is empty."
                      : !rep_date_text(m->start_on, start)     ? "It has no start date."
                                                               : NULL;
    if (why) {
        if (m)
            atb__v1__placement_started__free_unpacked(m, NULL);
        return rep_malformed(ev, why, err);
    }
    snprintf(load, sizeof load, "%d", (int)m->load);
    snprintf(pos, sizeof pos, "%lld", (long long)ev->position);
    const char *p[11] = {m->placement_key, ev->tenant,  m->request_key, m->person_key, m->service, m->owner,
                         m->provider,      m->unit,     start,          m->emergency ? "true" : "false", pos};
    at_code code = rep_exec(txn, ev, "reporting.placements",
                            "INSERT INTO reporting.placements (placement_key, tenant, request_key, person_key, "
                            "service, owner, provider, unit, start_on, emergency, position) VALUES "
                            "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (placement_key) DO NOTHING",
                            11, p, err);
    const char *l[4] = {m->placement_key, start, load, pos};
    if (code == AT_OK)
        code = rep_exec(txn, ev, "reporting.placement_loads",
                        "INSERT INTO reporting.placement_loads (placement_key, from_on, load, suspended, position) "
                        "VALUES ($1, $2, $3, false, $4) ON CONFLICT DO NOTHING",
                        4, l, err);
    atb__v1__placement_started__free_unpacked(m, NULL);
    return code;
}

static at_code project_changed(es_txn *txn, const es_event *ev, at_error *err)
{
    Atb__V1__PlacementChanged *m = atb__v1__placement_changed__unpack(NULL, ev->payload_len, ev->payload);
    char from[16], load[16], pos[24];
    const char *why = !m                                    ? "Its payload does not decode."
                      : !m->placement_key[0]                ? "Its placement_key is empty."
                      : !rep_date_text(m->from_on, from)    ? "It has no from_on date."
                                                            : NULL;
    if (why) {
        if (m)
            atb__v1__placement_changed__free_unpacked(m, NULL);
        return rep_malformed(ev, why, err);
    }
    snprintf(load, sizeof load, "%d", (int)m->load);
    snprintf(pos, sizeof pos, "%lld", (long long)ev->position);
    const char *l[5] = {m->placement_key, from, load, m->suspended ? "true" : "false", pos};
    at_code code = rep_exec(txn, ev, "reporting.placement_loads",
                            "INSERT INTO reporting.placement_loads (placement_key, from_on, load, suspended, "
                            "position) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                            5, l, err);
    atb__v1__placement_changed__free_unpacked(m, NULL);
    return code;
}

static at_code project_ended(es_txn *txn, const es_event *ev, at_error *err)
{
    Atb__V1__PlacementEnded *m = atb__v1__placement_ended__unpack(NULL, ev->payload_len, ev->payload);
    char on[16], pos[24];
    const char *why = !m                                  ? "Its payload does not decode."
                      : !m->placement_key[0]              ? "Its placement_key is empty."
                      : !rep_date_text(m->ended_on, on)   ? "It has no ended_on date."
                                                          : NULL;
    if (why) {
        if (m)
            atb__v1__placement_ended__free_unpacked(m, NULL);
        return rep_malformed(ev, why, err);
    }
    snprintf(pos, sizeof pos, "%lld", (long long)ev->position);
    const char *p[3] = {m->placement_key, on, pos};
    at_code code = rep_exec(txn, ev, "reporting.placements",
                            "UPDATE reporting.placements SET ended_on = $2, ended_position = $3 "
                            "WHERE placement_key = $1 AND ended_position IS NULL",
                            3, p, err);
    atb__v1__placement_ended__free_unpacked(m, NULL);
    return code;
}

at_code placements_project(void *ctx, es_txn *txn, const es_event *ev, at_error *err)
{
    (void)ctx;
    if (strcmp(ev->type, "PlacementStarted") == 0)
        return project_started(txn, ev, err);
    if (strcmp(ev->type, "PlacementChanged") == 0)
        return project_changed(txn, ev, err);
    if (strcmp(ev->type, "PlacementEnded") == 0)
        return project_ended(txn, ev, err);
    return AT_OK;   /* other placement events do not change this projection */
}

at_code requests_project(void *ctx, es_txn *txn, const es_event *ev, at_error *err)
{
    (void)ctx;
    if (strcmp(ev->type, "ServiceRequested") != 0)
        return AT_OK;   /* offers and refusals do not change the list's membership here */
    Atb__V1__ServiceRequested *m = atb__v1__service_requested__unpack(NULL, ev->payload_len, ev->payload);
    char on[16], urgency[16], pos[24];
    const char *why = !m                                      ? "Its payload does not decode."
                      : !m->request_key[0] || !m->service[0] ? "Its request_key or service is empty."
                      : !rep_date_text(m->requested_on, on)  ? "It has no requested_on date."
                                                             : NULL;
    if (why) {
        if (m)
            atb__v1__service_requested__free_unpacked(m, NULL);
        return rep_malformed(ev, why, err);
    }
    snprintf(urgency, sizeof urgency, "%d", (int)m->urgency);
    snprintf(pos, sizeof pos, "%lld", (long long)ev->position);
    const char *p[7] = {m->request_key, ev->tenant, m->person_key, m->service, on, urgency, pos};
    at_code code = rep_exec(txn, ev, "reporting.requests",
                            "INSERT INTO reporting.requests (request_key, tenant, person_key, service, requested_on, "
                            "urgency, position) VALUES ($1, $2, $3, $4, $5, $6, $7) "
                            "ON CONFLICT (request_key) DO NOTHING",
                            7, p, err);
    atb__v1__service_requested__free_unpacked(m, NULL);
    return code;
}

/* ---- ServicesReport ---- */

/* Placements as known at position $4 that were in place on a day of [$2, $3], or started or
 * ended in it; per placement its days and load-days not suspended inside the period (each
 * load row is in force from its date to the next one's), and the load in force on $3. */
static const char SQL_PLACEMENTS[] =
    "WITH p AS (SELECT placement_key, tenant, person_key, service, owner, provider, unit, start_on, emergency, "
    "    CASE WHEN ended_position <= $4 THEN ended_on END AS ended_on "
    "  FROM reporting.placements WHERE tenant = ANY($1::text[]) AND position <= $4), "
    "p2 AS (SELECT * FROM p WHERE start_on <= $3::date AND coalesce(ended_on >= $2::date, true)), "
    "s AS (SELECT l.placement_key, l.load, l.suspended, l.from_on AS a0, "
    "    lead(l.from_on) OVER (PARTITION BY l.placement_key ORDER BY l.from_on, l.position) AS b0 "
    "  FROM reporting.placement_loads l JOIN p2 USING (placement_key) WHERE l.position <= $4), "
    "x AS (SELECT p2.*, "
    "    (SELECT coalesce(sum(greatest(0, least(coalesce(s.b0, $3::date + 1), coalesce(p2.ended_on, $3::date + 1), "
    "       $3::date + 1) - greatest(s.a0, p2.start_on, $2::date))), 0) FROM s "
    "     WHERE s.placement_key = p2.placement_key AND NOT s.suspended) AS days, "
    "    (SELECT coalesce(sum(s.load::bigint * greatest(0, least(coalesce(s.b0, $3::date + 1), "
    "       coalesce(p2.ended_on, $3::date + 1), $3::date + 1) - greatest(s.a0, p2.start_on, $2::date))), 0) FROM s "
    "     WHERE s.placement_key = p2.placement_key AND NOT s.suspended) AS load_days, "
    "    (SELECT CASE WHEN s.suspended THEN NULL ELSE s.load END FROM s WHERE s.placement_key = p2.placement_key "
    "     AND s.a0 <= $3::date ORDER BY s.a0 DESC LIMIT 1) AS load_on_end "
    "  FROM p2) "
    "SELECT GROUPING(tenant), GROUPING(owner), tenant, service, owner, provider, unit, "
    "  count(DISTINCT person_key) FILTER (WHERE coalesce(ended_on > $2::date, true)), "
    "  count(*) FILTER (WHERE load_on_end IS NOT NULL AND coalesce(ended_on > $3::date, true)), "
    "  coalesce(sum(load_on_end) FILTER (WHERE coalesce(ended_on > $3::date, true)), 0), "
    "  coalesce(sum(days) FILTER (WHERE unit IN ('day', 'place')), 0), "
    "  coalesce(sum(load_days / 7) FILTER (WHERE unit = 'hour'), 0), "
    "  coalesce(sum(load_days / 7) FILTER (WHERE unit = 'trip'), 0), "
    "  count(*) FILTER (WHERE start_on >= $2::date), "
    "  count(*) FILTER (WHERE start_on >= $2::date AND emergency), "
    "  count(*) FILTER (WHERE ended_on <= $3::date) "
    "FROM x GROUP BY GROUPING SETS ((tenant, service, unit, owner, provider), (tenant, service, unit), "
    "  (service, unit)) "
    "ORDER BY GROUPING(tenant), GROUPING(owner), tenant, service, owner, provider";

/* Requests as known at $4 and the start of the placement made for each (also as known at
 * $4); a request is on the list from its date until the day its placement starts. */
static const char SQL_WAITING[] =
    "WITH r AS (SELECT r.tenant, r.service, r.requested_on, "
    "    (SELECT min(p.start_on) FROM reporting.placements p WHERE p.request_key = r.request_key "
    "     AND p.position <= $4) AS placed_on "
    "  FROM reporting.requests r WHERE r.tenant = ANY($1::text[]) AND r.position <= $4 "
    "  AND r.requested_on <= $3::date) "
    "SELECT GROUPING(tenant), tenant, service, "
    "  count(*) FILTER (WHERE requested_on >= $2::date), "
    "  count(*) FILTER (WHERE placed_on IS NULL OR placed_on > $3::date), "
    "  coalesce(sum($3::date - requested_on) FILTER (WHERE placed_on IS NULL OR placed_on > $3::date), 0), "
    "  coalesce(max($3::date - requested_on) FILTER (WHERE placed_on IS NULL OR placed_on > $3::date), 0), "
    "  count(*) FILTER (WHERE placed_on BETWEEN $2::date AND $3::date), "
    "  coalesce(sum(placed_on - requested_on) FILTER (WHERE placed_on BETWEEN $2::date AND $3::date), 0) "
    "FROM r WHERE placed_on IS NULL OR placed_on >= $2::date "
    "GROUP BY GROUPING SETS ((tenant, service), (service)) ORDER BY GROUPING(tenant), tenant, service";

/* The capacity of each unit on $1 in its municipality's catalogue version known at $2. */
static const char SQL_CAPACITY[] =
    "SELECT u.owner, u.provider, u.service, sum(u.capacity) FROM reporting.units u "
    "WHERE u.position = (SELECT max(c.position) FROM reporting.catalogues c WHERE c.owner = u.owner "
    "  AND c.position <= $2) "
    "AND u.valid_from <= $1::date AND coalesce(u.valid_to >= $1::date, true) GROUP BY 1, 2, 3";

static const char SQL_POSITIONS[] =
    "SELECT coalesce((SELECT position FROM atb.checkpoints WHERE consumer = '" PLACEMENTS_CONSUMER "'), 0), "
    "coalesce((SELECT position FROM atb.checkpoints WHERE consumer = '" REQUESTS_CONSUMER "'), 0)";

static at_code fill_figures(PGresult *r, Atb__V1__ServicesReportReply *rep, at_arena *a, at_error *err)
{
    int n = PQntuples(r);
    rep->providers = at_arena_alloc(a, (size_t)(n ? n : 1) * sizeof *rep->providers);
    rep->services = at_arena_alloc(a, (size_t)(n ? n : 1) * sizeof *rep->services);
    Atb__V1__ServiceFigures *f = at_arena_alloc(a, (size_t)(n ? n : 1) * sizeof *f);
    if (!rep->providers || !rep->services || !f)
        return at_error_set(err, AT_INTERNAL, NULL, "could not build the reply: out of memory");
    for (int i = 0; i < n; i++) {
        Atb__V1__ServiceFigures *x = &f[i];
        atb__v1__service_figures__init(x);
        bool total = rep_num(r, i, 0) == 1, per_service = rep_num(r, i, 1) == 1;
        x->tenant = at_arena_strdup(a, total ? "" : PQgetvalue(r, i, 2));
        x->service = at_arena_strdup(a, PQgetvalue(r, i, 3));
        x->owner = at_arena_strdup(a, per_service ? "" : PQgetvalue(r, i, 4));
        x->provider = at_arena_strdup(a, per_service ? "" : PQgetvalue(r, i, 5));
        x->unit = at_arena_strdup(a, PQgetvalue(r, i, 6));
        if (!x->tenant || !x->service || !x->owner || !x->provider || !x->unit)
            return at_error_set(err, AT_INTERNAL, NULL, "could not build the reply: out of memory");
        int64_t *v[10] = {&x->clients, &x->in_place_on_end, &x->load_on_end, &x->place_days, &x->hours,
                          &x->trips, &x->admissions, &x->emergency_admissions, &x->discharges, NULL};
        for (int k = 0; v[k]; k++)
            *v[k] = rep_num(r, i, 7 + k);
        if (per_service)
            rep->services[rep->n_services++] = x;
        else
            rep->providers[rep->n_providers++] = x;
    }
    return AT_OK;
}

/* Capacities: a provider line's unit from the catalogue; a per-service line sums the units
 * of its provider lines (same municipality, or all for the total), each unit once. */
static void fill_capacity(PGresult *cap, Atb__V1__ServicesReportReply *rep)
{
    for (size_t i = 0; i < rep->n_providers; i++) {
        Atb__V1__ServiceFigures *f = rep->providers[i];
        for (int k = 0; k < PQntuples(cap); k++)
            if (strcmp(PQgetvalue(cap, k, 0), f->owner) == 0 && strcmp(PQgetvalue(cap, k, 1), f->provider) == 0 &&
                strcmp(PQgetvalue(cap, k, 2), f->service) == 0)
                f->capacity = rep_num(cap, k, 3);
    }
    for (size_t i = 0; i < rep->n_services; i++) {
        Atb__V1__ServiceFigures *s = rep->services[i];
        for (size_t k = 0; k < rep->n_providers; k++) {
            const Atb__V1__ServiceFigures *f = rep->providers[k];
            if (strcmp(f->service, s->service) != 0 || (s->tenant[0] && strcmp(f->tenant, s->tenant) != 0))
                continue;
            bool seen = false;   /* the same unit under an earlier municipality's line */
            for (size_t j = 0; j < k && !seen; j++)
                seen = strcmp(rep->providers[j]->service, f->service) == 0 &&
                       strcmp(rep->providers[j]->owner, f->owner) == 0 &&
                       strcmp(rep->providers[j]->provider, f->provider) == 0 &&
                       (!s->tenant[0] || strcmp(rep->providers[j]->tenant, s->tenant) == 0);
            if (!seen)
                s->capacity += f->capacity;
        }
    }
}

static at_code fill_waiting(PGresult *r, Atb__V1__ServicesReportReply *rep, at_arena *a, at_error *err)
{
    int n = PQntuples(r);
    rep->waiting = at_arena_alloc(a, (size_t)(n ? n : 1) * sizeof *rep->waiting);
    Atb__V1__WaitingFigures *w = at_arena_alloc(a, (size_t)(n ? n : 1) * sizeof *w);
    if (!rep->waiting || !w)
        return at_error_set(err, AT_INTERNAL, NULL, "could not build the reply: out of memory");
    for (int i = 0; i < n; i++) {
        Atb__V1__WaitingFigures *x = &w[i];
        atb__v1__waiting_figures__init(x);
        x->tenant = at_arena_strdup(a, rep_num(r, i, 0) == 1 ? "" : PQgetvalue(r, i, 1));
        x->service = at_arena_strdup(a, PQgetvalue(r, i, 2));
        if (!x->tenant || !x->service)
            return at_error_set(err, AT_INTERNAL, NULL, "could not build the reply: out of memory");
        x->joined = rep_num(r, i, 3);
        x->waiting_on_end = rep_num(r, i, 4);
        x->waiting_days_on_end = rep_num(r, i, 5);
        x->max_waiting_days = rep_num(r, i, 6);
        x->admitted = rep_num(r, i, 7);
        x->admitted_waiting_days = rep_num(r, i, 8);
        rep->waiting[rep->n_waiting++] = x;
    }
    return AT_OK;
}

at_code services_report(svc_request *req, ProtobufCMessage **reply, at_error *err)
{
    const Atb__V1__ServicesReport *q = (const Atb__V1__ServicesReport *)req->msg;
    char f[16], t[16], cut[24];
    rep_tenants tn;
    at_code code;
    if ((code = rep_period_check("ServicesReport", q->from, q->to, f, t, err)) != AT_OK ||
        (code = rep_tenants_check(q->tenants, q->n_tenants, req->tenant, &tn, err)) != AT_OK)
        return code;
    Atb__V1__ServicesReportReply *rep = at_arena_alloc(req->arena, sizeof *rep);
    char *tenants = rep_tenants_array(&tn, req->arena);
    if (!rep || !tenants)
        return at_error_set(err, AT_INTERNAL, NULL, "could not build the reply: out of memory");
    atb__v1__services_report_reply__init(rep);
    es_txn *tx = NULL;
    if ((code = rep_snapshot_begin(req->es, &tx, err)) != AT_OK)
        return code;
    int64_t cutoff;
    PGresult *r[4] = {0};
    code = rep_cutoff(tx, q->as_known_on, q->as_of_position, &cutoff, cut, err);
    const char *p[4] = {tenants, f, t, cut};
    const char *pc[2] = {t, cut};
    if (code == AT_OK && (!(r[0] = rep_query(tx, SQL_PLACEMENTS, 4, p, err)) ||
                          !(r[1] = rep_query(tx, SQL_WAITING, 4, p, err)) ||
                          !(r[2] = rep_query(tx, SQL_POSITIONS, 0, NULL, err)) ||
                          !(r[3] = rep_query(tx, SQL_CAPACITY, 2, pc, err))))
        code = AT_UNAVAILABLE;
    if (code == AT_OK && (code = fill_figures(r[0], rep, req->arena, err)) == AT_OK &&
        (code = fill_waiting(r[1], rep, req->arena, err)) == AT_OK) {
        fill_capacity(r[3], rep);
        rep->placements_position = rep_num(r[2], 0, 0);
        rep->requests_position = rep_num(r[2], 0, 1);
        rep->as_of_position = cutoff == INT64_MAX ? 0 : cutoff;
        *reply = &rep->base;
    }
    for (int i = 0; i < 4; i++)
        PQclear(r[i]);
    es_txn_rollback(tx);
    return code;
}
