/*
 * occupancy.c -- who is in a provider's places on a date, rebuilt from the log.
 *
 * The fold reads every event of category "placement" of every municipality (a unit is
 * filled by its owner and by the municipalities that bought places in it) in log order:
 * PlacementStarted adds the placement, PlacementChanged changes its weekly load from a
 * date on, PlacementEnded closes it. A placement occupies its
 * unit on day D when start_on <= D < ended_on (the day of discharge is free). Nothing but
 * the log is read, so the answer for a past date is what the log proves, whatever the
 * tables say.
 */
#include "allocation.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct change {
    at_date from;
    int load;
} change;

typedef struct occ {
    change *changes;                 /* PlacementChanged in log order (dates ascending) */
    size_t n_changes;
    char key[37], person[37], tenant[AL_CODE_MAX + 1], owner[AL_CODE_MAX + 1], provider[AL_CODE_MAX + 1],
        service[AL_CODE_MAX + 1];
    int load;
    bool emergency;
    at_date start, end;
} occ;

typedef struct fold {
    occ *v;
    size_t n, cap;
    int64_t events, head;
} fold;

static occ *find(fold *f, const char *key)
{
    for (size_t i = f->n; i-- > 0;)   /* an end follows its start closely: search from the back */
        if (strcmp(f->v[i].key, key) == 0)
            return &f->v[i];
    return NULL;
}

static at_code fold_log(es_store *es, fold *f, at_error *err)
{
    static const char *const cats[] = {"placement"};
    es_filter flt = {.tenant = NULL, .categories = cats, .n_categories = 1};
    int64_t after = 0;
    for (;;) {
        es_batch *b = NULL;
        es_status st = es_read_all(es, after, 4096, &flt, &b, err);
        if (st != ES_OK)
            return es_status_code(st);
        size_t n = es_batch_count(b);
        for (size_t i = 0; i < n; i++) {
            const es_event *e = es_batch_get(b, i);
            after = e->position;
            f->events++;
            if (strcmp(e->type, "PlacementStarted") == 0) {
                Atb__V1__PlacementStarted *m = atb__v1__placement_started__unpack(NULL, e->payload_len, e->payload);
                if (!m)
                    continue;
                if (f->n == f->cap) {
                    size_t cap = f->cap ? f->cap * 2 : 256;
                    occ *nv = realloc(f->v, cap * sizeof *nv);
                    if (!nv) {
                        atb__v1__placement_started__free_unpacked(m, NULL);
                        es_batch_free(b);
                        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
                    }
                    f->v = nv, f->cap = cap;
                }
                occ *o = &f->v[f->n++];
                memset(o, 0, sizeof *o);
                snprintf(o->key, sizeof o->key, "%s", m->placement_key);
                snprintf(o->person, sizeof o->person, "%s", m->person_key);
                snprintf(o->tenant, sizeof o->tenant, "%s", e->tenant);
                snprintf(o->owner, sizeof o->owner, "%s", m->owner);
                snprintf(o->provider, sizeof o->provider, "%s", m->provider);
                snprintf(o->service, sizeof o->service, "%s", m->service);
                o->load = m->load;
                o->emergency = m->emergency;
                svc_date_in(m->start_on, &o->start);
                o->end = AT_DATE_NONE;
                atb__v1__placement_started__free_unpacked(m, NULL);
            } else if (strcmp(e->type, "PlacementChanged") == 0) {
                Atb__V1__PlacementChanged *m = atb__v1__placement_changed__unpack(NULL, e->payload_len, e->payload);
                if (!m)
                    continue;
                occ *o = find(f, m->placement_key);
                change *nc = o ? realloc(o->changes, (o->n_changes + 1) * sizeof *nc) : NULL;
                if (nc) {
                    o->changes = nc;
                    svc_date_in(m->from_on, &nc[o->n_changes].from);
                    nc[o->n_changes++].load = m->load;
                }
                atb__v1__placement_changed__free_unpacked(m, NULL);
            } else if (strcmp(e->type, "PlacementEnded") == 0) {
                Atb__V1__PlacementEnded *m = atb__v1__placement_ended__unpack(NULL, e->payload_len, e->payload);
                if (!m)
                    continue;
                occ *o = find(f, m->placement_key);
                if (o)
                    svc_date_in(m->ended_on, &o->end);
                atb__v1__placement_ended__free_unpacked(m, NULL);
            }
        }
        es_batch_free(b);
        if (n < 4096)
            break;
    }
    f->head = after;
    return AT_OK;
}

static bool in_place(const occ *o, at_date on)
{
    return o->start <= on && (o->end == AT_DATE_NONE || on < o->end);
}

/* The load in force on `on`: the start's, or the last change from on or before it. A
 * suspended placement keeps its place (and its load): it is reserved, not free. */
static int load_on(const occ *o, at_date on)
{
    int load = o->load;
    for (size_t i = 0; i < o->n_changes && o->changes[i].from <= on; i++)
        load = o->changes[i].load;
    return load;
}

static void fold_free(fold *f)
{
    for (size_t i = 0; i < f->n; i++)
        free(f->v[i].changes);
    free(f->v);
}

at_code al_occupancy_rebuild(es_store *es, at_date on, al_occupancy_fn fn, void *ctx, int64_t *events,
                             at_error *err)
{
    fold f = {0};
    at_code code = fold_log(es, &f, err);
    if (code == AT_OK) {
        /* Sum per unit: sort-free, since units are few; mark each placement once. */
        bool *done = calloc(f.n ? f.n : 1, sizeof *done);
        if (!done)
            code = at_error_set(err, AT_INTERNAL, NULL, "out of memory");
        for (size_t i = 0; done && i < f.n; i++) {
            if (done[i] || !in_place(&f.v[i], on))
                continue;
            int sum = 0;
            for (size_t k = i; k < f.n; k++)
                if (!done[k] && in_place(&f.v[k], on) && strcmp(f.v[k].owner, f.v[i].owner) == 0 &&
                    strcmp(f.v[k].provider, f.v[i].provider) == 0 && strcmp(f.v[k].service, f.v[i].service) == 0) {
                    sum += load_on(&f.v[k], on);
                    done[k] = true;
                }
            if (fn)
                fn(ctx, f.v[i].owner, f.v[i].provider, f.v[i].service, sum);
        }
        free(done);
    }
    if (events)
        *events = f.events;
    fold_free(&f);
    return code;
}

at_code occupancy_get(svc_request *req, ProtobufCMessage **reply, at_error *err)
{
    const Atb__V1__GetOccupancy *q = (const Atb__V1__GetOccupancy *)req->msg;
    at_code code;
    at_date on;
    if ((code = al_check_code(q->owner, "owner", true, err)) != AT_OK ||
        (code = al_check_code(q->provider, "provider", true, err)) != AT_OK ||
        (code = al_check_code(q->service, "service", true, err)) != AT_OK ||
        (code = al_check_date(q->on, "on", true, &on, err)) != AT_OK)
        return code;
    const al_unit_def *u = al_unit_find(q->owner, q->provider, q->service, on);
    if (!u)
        return at_error_set(err, AT_NOT_FOUND, "provider", "no unit %s.%s for %s on that date", q->owner,
                            q->provider, q->service);
    /* The owner sees its unit; a buyer sees it while its agreement is in force. */
    if (strcmp(q->owner, req->tenant) != 0 && !al_agreement_find(req->tenant, q->owner, q->provider, q->service, on)) {
        at_error_set(err, AT_UNAUTHORISED, "provider", "%s has no purchase agreement for %s.%s", req->tenant,
                     q->owner, q->provider);
        at_error_detail(err, "A municipality sees the occupancy of its own units and of units it buys places in.");
        return AT_UNAUTHORISED;
    }
    fold f = {0};
    if ((code = fold_log(req->es, &f, err)) != AT_OK) {
        fold_free(&f);
        return code;
    }
    Atb__V1__OccupancyReply *out = at_arena_alloc(req->arena, sizeof *out);
    Atb__V1__OccupantView **ov = at_arena_alloc(req->arena, (f.n ? f.n : 1) * sizeof *ov);
    if (!out || !ov) {
        fold_free(&f);
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    }
    atb__v1__occupancy_reply__init(out);
    out->occupants = ov;
    for (size_t i = 0; i < f.n; i++) {
        const occ *o = &f.v[i];
        if (!in_place(o, on) || strcmp(o->owner, q->owner) != 0 || strcmp(o->provider, q->provider) != 0 ||
            strcmp(o->service, q->service) != 0)
            continue;
        out->occupied += load_on(o, on);
        Atb__V1__OccupantView *v = at_arena_alloc(req->arena, sizeof *v);
        if (!v)
            break;
        atb__v1__occupant_view__init(v);
        v->placement_key = at_arena_strdup(req->arena, o->key);
        /* Another municipality's resident stays a count: its person key is not ours to see. */
        v->person_key = at_arena_strdup(req->arena, strcmp(o->tenant, req->tenant) == 0 ? o->person : "");
        v->placed_by = at_arena_strdup(req->arena, o->tenant);
        v->load = load_on(o, on);
        v->start_on = svc_date_out(req->arena, o->start);
        v->emergency = o->emergency;
        ov[out->n_occupants++] = v;
    }
    out->capacity = u->capacity;
    out->free = u->capacity > out->occupied ? u->capacity - out->occupied : 0;
    out->unit = (char *)al_unit_name(AL_UNIT_PLACE);
    const al_service *s = al_service_find(q->owner, q->service, on);
    if (s)
        out->unit = (char *)al_unit_name(s->unit);
    out->log_position = f.head;
    fold_free(&f);
    *reply = &out->base;
    return AT_OK;
}
