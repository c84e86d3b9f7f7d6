/*
 * cli_generate_services.c -- the allocation part of a generated year (cli_generate.h):
 * needs assessments and service requests (the winter queue is longer than the places),
 * offers for as many as the unit holds and their acceptance, crisis admissions with their
 * discharges, the year's charges.
 *
 * One municipality at a time, in the plan's order: offers follow the order requests were
 * recorded in, so sent in parallel the same seed could place other persons.
 */
#include "cli_generate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "at_time.h"

#include "atb/v1/allocation.pb-c.h"

/* ---- services ---------------------------------------------------------------------- */

/* The unit's capacity on a date (places, or hours a week), 0 when it has none. The plan's
 * own bookings are counted by the caller: a second run of the seed, which finds its own
 * placements there, must send the same commands. */
static int capacity(gen_year *u, const char *tenant, const gen_service *s, at_date on)
{
    Atb__V1__Date d;
    Atb__V1__GetOccupancy q = ATB__V1__GET_OCCUPANCY__INIT;
    q.owner = (char *)s->owner;
    q.provider = (char *)s->provider;
    q.service = (char *)s->service;
    q.on = gen_date(&d, on);
    ProtobufCMessage *m = NULL;
    if (gen_query(u->g, tenant, "allocation", "GetOccupancy", &q.base, &atb__v1__occupancy_reply__descriptor, &m) !=
        CLI_OK)
        return 0;
    const Atb__V1__OccupancyReply *o = (const Atb__V1__OccupancyReply *)m;
    int cap = cli_refused(o->error) ? 0 : o->capacity;
    protobuf_c_message_free_unpacked(m, NULL);
    return cap;
}

/* Requests of one service of a town, in the plan's order; then offers for as many as the
 * unit has room for on the last request's date, each accepted. */
static void service_queue(gen_year *u, int town, const gen_service *s, bool winter)
{
    const char *tenant = u->pl->preset->towns[town].tenant;
    at_date last = 0;
    long asked = 0;
    for (int i = 0; i < u->pl->nh; i++) {
        gen_household *h = &u->pl->h[i];
        if (h->town != town || !(winter ? h->winter : h->care))
            continue;
        gen_person *p = &u->pl->p[h->applicant];
        if (!p->key[0])
            continue;
        Atb__V1__CommandMeta meta = ATB__V1__COMMAND_META__INIT;
        Atb__V1__Date on, birth;
        if (s->assess) {
            /* Ten scores 0..4 (docs/allocation.md): a total of 10..19, care level 2. */
            int32_t scores[10];
            for (int k = 0; k < 10; k++)
                scores[k] = 1 + (k < (i % 10) ? 1 : 0);
            Atb__V1__RecordAssessment ra = ATB__V1__RECORD_ASSESSMENT__INIT;
            ra.meta = &meta;
            ra.person_key = p->key;
            ra.assessed_on = gen_date(&on, h->received);
            ra.n_scores = 10;
            ra.scores = scores;
            if (gen_cmd(u->g, tenant, "allocation", "RecordAssessment", &ra.base, &meta, "assessment", i, NULL) != AT_OK)
                continue;
        }
        Atb__V1__RequestService rs = ATB__V1__REQUEST_SERVICE__INIT;
        rs.meta = &meta;
        rs.person_key = p->key;
        rs.service = (char *)s->service;
        rs.requested_on = gen_date(&on, h->received);
        rs.urgency = winter ? ATB__V1__URGENCY__URGENCY_HOMELESS : ATB__V1__URGENCY__URGENCY_NONE;
        rs.hours_per_week = s->hours;
        rs.birth_date = gen_date(&birth, p->birth);
        rs.disability_group = p->disability >= 1 && p->disability <= 3 ? p->disability : 0;
        rs.resident = true;
        if (gen_cmd(u->g, tenant, "allocation", "RequestService", &rs.base, &meta, winter ? "winter" : "care", i,
                    NULL) != AT_OK)
            continue;
        asked++;
        if (h->received > last)
            last = h->received;
        gen_step(u->g);
    }
    if (!asked)
        return;
    int room = capacity(u, tenant, s, last) / (s->hours > 0 ? s->hours : 1);
    long offers = asked < room ? asked : room;
    for (long k = 0; k < offers; k++) {
        Atb__V1__CommandMeta meta = ATB__V1__COMMAND_META__INIT;
        Atb__V1__Date on;
        Atb__V1__Allocate al = ATB__V1__ALLOCATE__INIT;
        al.meta = &meta;
        al.owner = (char *)s->owner;
        al.provider = (char *)s->provider;
        al.service = (char *)s->service;
        al.on = gen_date(&on, last);
        char what[64], offer[37];
        snprintf(what, sizeof what, "offer/%s", s->service);
        /* CONFLICT: no free place (the unit is shared with others, or with earlier seeds). */
        if (gen_cmd_expect(u->g, tenant, "allocation", "Allocate", &al.base, &meta, what, k, AT_CONFLICT, offer) !=
            AT_OK)
            break;
        Atb__V1__AnswerOffer ao = ATB__V1__ANSWER_OFFER__INIT;
        ao.meta = &meta;
        ao.offer_key = offer;
        ao.accept = true;
        ao.on = gen_date(&on, last + 1);
        snprintf(what, sizeof what, "accept/%s", s->service);
        if (gen_cmd(u->g, tenant, "allocation", "AnswerOffer", &ao.base, &meta, what, k, NULL) != AT_OK)
            break;
        pthread_mutex_lock(&u->mu);
        u->r->offers++;
        u->r->placements++;
        pthread_mutex_unlock(&u->mu);
    }
    pthread_mutex_lock(&u->mu);
    u->r->requests += asked;
    pthread_mutex_unlock(&u->mu);
}

/* Crisis admissions of whole families (when the unit has room on the day), each family
 * discharged two weeks later. */
static void crisis(gen_year *u, int town)
{
    const gen_town *t = &u->pl->preset->towns[town];
    gen_service s = {"crisis_centre", t->crisis_owner, t->crisis_provider, 0, false};
    at_date mid = gen_ymd(GEN_YEAR, 7, 1);
    int cap = capacity(u, t->tenant, &s, mid);
    /* The plan's own stays, [start, start + STAY], to admit only where there is room. */
    enum { STAY = 14 };
    at_date *start = calloc((size_t)u->pl->nh + 1, sizeof *start);
    int *size = calloc((size_t)u->pl->nh + 1, sizeof *size), stays = 0;
    for (int i = 0; start && size && i < u->pl->nh; i++) {
        gen_household *h = &u->pl->h[i];
        if (h->town != town || !h->crisis || !h->key[0])
            continue;
        int in = 0;
        for (int k = 0; k < stays; k++)
            if (start[k] <= h->received + STAY && h->received <= start[k] + STAY)
                in += size[k];
        if (in + h->n > cap)
            continue;   /* no room: the family is placed elsewhere (not modelled) */
        char *keys[8];
        for (int k = 0; k < h->n && k < 8; k++)
            keys[k] = u->pl->p[h->first + k].key;
        Atb__V1__CommandMeta meta = ATB__V1__COMMAND_META__INIT;
        Atb__V1__Date on;
        Atb__V1__EmergencyAdmission ea = ATB__V1__EMERGENCY_ADMISSION__INIT;
        ea.meta = &meta;
        ea.owner = (char *)s.owner;
        ea.provider = (char *)s.provider;
        ea.service = "crisis_centre";
        ea.on = gen_date(&on, h->received);
        ea.n_person_keys = (size_t)h->n;
        ea.person_keys = keys;
        ea.reason = "crisis";
        /* CONFLICT: no free place under the purchase agreement; placed elsewhere. */
        if (gen_cmd_expect(u->g, t->tenant, "allocation", "EmergencyAdmission", &ea.base, &meta, "admission", i,
                           AT_CONFLICT, NULL) != AT_OK)
            continue;
        start[stays] = h->received;
        size[stays++] = h->n;
        pthread_mutex_lock(&u->mu);
        u->r->admissions++;
        pthread_mutex_unlock(&u->mu);
        /* The family's placements, by the unit's occupants on the day. */
        Atb__V1__GetOccupancy q = ATB__V1__GET_OCCUPANCY__INIT;
        q.owner = (char *)s.owner;
        q.provider = (char *)s.provider;
        q.service = "crisis_centre";
        q.on = gen_date(&on, h->received);
        ProtobufCMessage *m = NULL;
        if (gen_query(u->g, t->tenant, "allocation", "GetOccupancy", &q.base, &atb__v1__occupancy_reply__descriptor,
                      &m) != CLI_OK)
            continue;
        const Atb__V1__OccupancyReply *o = (const Atb__V1__OccupancyReply *)m;
        for (size_t j = 0; !cli_refused(o->error) && j < o->n_occupants; j++)
            for (int k = 0; k < h->n; k++) {
                if (strcmp(o->occupants[j]->person_key, keys[k]) != 0)
                    continue;
                Atb__V1__Discharge dc = ATB__V1__DISCHARGE__INIT;
                Atb__V1__Date off;
                dc.meta = &meta;
                dc.placement_key = o->occupants[j]->placement_key;
                dc.on = gen_date(&off, h->received + STAY);
                dc.reason = "crisis_resolved";
                char what[32];
                snprintf(what, sizeof what, "discharge%d", k);
                gen_cmd(u->g, t->tenant, "allocation", "Discharge", &dc.base, &meta, what, i, NULL);
            }
        protobuf_c_message_free_unpacked(m, NULL);
    }
    free(start);
    free(size);
}

void gen_services_town(void *arg, long town)
{
    gen_year *u = arg;
    const gen_town *t = &u->pl->preset->towns[town];
    if (t->care.service)
        service_queue(u, (int)town, &t->care, false);
    if (t->winter.service)
        service_queue(u, (int)town, &t->winter, true);
    if (t->crisis_owner)
        crisis(u, (int)town);
    Atb__V1__CommandMeta meta = ATB__V1__COMMAND_META__INIT;
    Atb__V1__Date from, to;
    Atb__V1__RecordCharges rc = ATB__V1__RECORD_CHARGES__INIT;
    rc.meta = &meta;
    rc.period_from = gen_date(&from, gen_ymd(GEN_YEAR, 1, 1));
    rc.period_to = gen_date(&to, gen_ymd(GEN_YEAR, 12, 31));
    /* CONFLICT: the year is charged already (another seed ran on this database). */
    gen_cmd_expect(u->g, t->tenant, "allocation", "RecordCharges", &rc.base, &meta, "charges", GEN_YEAR, AT_CONFLICT,
                   NULL);
}
