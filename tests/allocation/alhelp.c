/*
 * alhelp.c -- see alhelp.h.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <libpq-fe.h>

#include "at_uuid.h"
#include "alhelp.h"

void ah_prepare(ah *h)
{
    memset(h, 0, sizeof *h);
    sh_prepare(&h->sv);
    h->sv.exe = ALLOCATION_PATH;
    t_db_conninfo(&h->sv.db, "atb_allocation", h->sv.pg_url, sizeof h->sv.pg_url);
}

void ah_relay_start(ah *h)
{
    h->relay = h->sv;
    h->relay.exe = RELAY_PATH;
    h->relay.pid = 0;
    h->relay.http_port = sh_free_port();
    t_db_conninfo(&h->sv.db, "atb_relay", h->relay.pg_url, sizeof h->relay.pg_url);
    const char *env[] = {"ATB_LOG_LEVEL=warn", NULL};
    sh_start(&h->relay, NULL, env, NULL, -1);
    if (!sh_wait_healthy(&h->relay, 30000)) {
        fprintf(stderr, "FATAL: atbalsts-relay did not become healthy\n");
        sh_kill(&h->relay);
        exit(1);
    }
}

void ah_launch(ah *h)
{
    static char env_cat[1100];
    snprintf(env_cat, sizeof env_cat, "ATB_CATALOGUE=%s", h->catalogue ? h->catalogue : CATALOGUE_DIR);
    const char *env[] = {env_cat, "ATB_MAX_MSG=65536", "ATB_WORKERS=8", "ATB_LOG_LEVEL=warn", NULL};
    sh_start(&h->sv, NULL, env, NULL, -1);
    if (!sh_wait_healthy(&h->sv, 30000)) {
        fprintf(stderr, "FATAL: atbalsts-allocation did not become healthy\n");
        sh_kill(&h->sv);
        exit(1);
    }
    if (h->client)
        return;
    bus_config cfg = {.url = t_nats_url(), .prefix = h->sv.prefix, .stream = h->sv.stream, .name = "alloc-test"};
    at_error err;
    if (bus_connect(&h->client, &cfg, &err) != AT_OK) {
        fprintf(stderr, "FATAL: bus_connect: %s\n", err.message);
        exit(1);
    }
}

void ah_start(ah *h)
{
    ah_prepare(h);
    ah_launch(h);
}

int ah_halt(ah *h)
{
    int rc = 0;
    if (h->sv.pid > 0) {
        kill(h->sv.pid, SIGTERM);
        rc = sh_wait_exit(h->sv.pid, 30000);
        if (rc < 0)
            sh_kill(&h->sv);
        h->sv.pid = 0;
        if (rc != 0)
            fprintf(stderr, "atbalsts-allocation exited with %d\n", rc);
    }
    return rc;
}

int ah_stop(ah *h)
{
    int rc = ah_halt(h);
    if (h->relay.pid > 0) {
        kill(h->relay.pid, SIGTERM);
        if (sh_wait_exit(h->relay.pid, 30000) < 0)
            sh_kill(&h->relay);
        h->relay.pid = 0;
    }
    bus_close(h->client);
    h->client = NULL;
    sh_cleanup(&h->sv);
    nats_Close();
    return rc;
}

static natsMsg *request(ah *h, const char *kind, const char *tenant, const char *name, const ProtobufCMessage *msg)
{
    char subject[256];
    snprintf(subject, sizeof subject, "%s.%s.%s.allocation.%s", h->sv.prefix, kind, tenant, name);
    for (int i = 0; i < 20; i++) {
        natsMsg *reply = NULL;
        at_error err;
        if (bus_request(h->client, subject, msg, 20000, &reply, &err) == AT_OK)
            return reply;
        struct timespec ts = {0, 100 * 1000000L};
        nanosleep(&ts, NULL);
    }
    fail_msg("no reply on %s", subject);
    return NULL;
}

#define DECODE(type, fn, msgp)                                                                            \
    do {                                                                                                  \
        natsMsg *r_ = (msgp);                                                                             \
        type *v_ = fn(NULL, (size_t)natsMsg_GetDataLength(r_), (const uint8_t *)natsMsg_GetData(r_));     \
        natsMsg_Destroy(r_);                                                                              \
        assert_non_null(v_);                                                                              \
        return v_;                                                                                        \
    } while (0)

Atb__V1__CommandReply *ah_cmd(ah *h, const char *tenant, const char *name, ProtobufCMessage *msg,
                              Atb__V1__CommandMeta *meta)
{
    static __thread char id[37];
    if (!meta->command_id || !*meta->command_id) {
        at_uuid_v4(id);
        meta->command_id = id;
    }
    if (!meta->actor || !*meta->actor)
        meta->actor = "user:test";
    DECODE(Atb__V1__CommandReply, atb__v1__command_reply__unpack, request(h, "cmd", tenant, name, msg));
}

Atb__V1__WaitingListReply *ah_list(ah *h, const char *tenant, const char *service, int y, int m, int d)
{
    Atb__V1__GetWaitingList q = ATB__V1__GET_WAITING_LIST__INIT;
    Atb__V1__Date on;
    ah_date(&on, y, m, d);
    q.service = (char *)service;
    q.on = &on;
    DECODE(Atb__V1__WaitingListReply, atb__v1__waiting_list_reply__unpack,
           request(h, "qry", tenant, "GetWaitingList", &q.base));
}

Atb__V1__OccupancyReply *ah_occupancy(ah *h, const char *tenant, const char *owner, const char *provider,
                                      const char *service, int y, int m, int d)
{
    Atb__V1__GetOccupancy q = ATB__V1__GET_OCCUPANCY__INIT;
    Atb__V1__Date on;
    ah_date(&on, y, m, d);
    q.owner = (char *)owner;
    q.provider = (char *)provider;
    q.service = (char *)service;
    q.on = &on;
    DECODE(Atb__V1__OccupancyReply, atb__v1__occupancy_reply__unpack,
           request(h, "qry", tenant, "GetOccupancy", &q.base));
}

int64_t ah_head(ah *h)
{
    return sh_sql(&h->sv, "SELECT coalesce(max(position), 0) FROM atb.events");
}

int64_t ah_wait_sql(ah *h, int64_t want, int timeout_ms, const char *sql)
{
    PGconn *c = PQconnectdb(h->sv.db.admin);
    int64_t got = -1;
    for (int waited = 0;; waited += 50) {
        got = -1;
        PGresult *r = PQexec(c, sql);
        if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0 && !PQgetisnull(r, 0, 0))
            got = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        PQclear(r);
        if (got == want || waited >= timeout_ms)
            break;
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
    }
    PQfinish(c);
    return got;
}

int64_t ah_count(ah *h, const char *type, const char *tenant)
{
    char sql[512];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM atb.events WHERE type = '%s'%s%s%s", type,
             tenant ? " AND tenant = '" : "", tenant ? tenant : "", tenant ? "'" : "");
    return sh_sql(&h->sv, sql);
}

void ah_date(Atb__V1__Date *out, int y, int m, int d)
{
    atb__v1__date__init(out);
    out->year = y, out->month = m, out->day = d;
}

Atb__V1__CommandReply *ah_assess(ah *h, const char *tenant, const char *person, int level_points)
{
    Atb__V1__RecordAssessment c = ATB__V1__RECORD_ASSESSMENT__INIT;
    Atb__V1__CommandMeta meta = ATB__V1__COMMAND_META__INIT;
    Atb__V1__Date on;
    ah_date(&on, 2019, 1, 15);
    int32_t scores[10];
    for (int i = 0; i < 10; i++)   /* spread the points over the ten domains, at most 4 each */
        scores[i] = level_points / 10 + (i < level_points % 10 ? 1 : 0);
    c.meta = &meta;
    c.person_key = (char *)person;
    c.assessed_on = &on;
    c.n_scores = 10;
    c.scores = scores;
    meta.actor = "user:ilze.ozola";
    return ah_cmd(h, tenant, "RecordAssessment", &c.base, &meta);
}

Atb__V1__CommandReply *ah_request(ah *h, const char *tenant, const char *person, const ah_req *r)
{
    Atb__V1__RequestService c = ATB__V1__REQUEST_SERVICE__INIT;
    Atb__V1__CommandMeta meta = ATB__V1__COMMAND_META__INIT;
    Atb__V1__Date on, birth;
    ah_date(&on, r->y, r->m, r->d);
    ah_date(&birth, r->by, r->bm, r->bd);
    char *tg[1] = {(char *)r->target};
    c.meta = &meta;
    c.person_key = (char *)person;
    c.service = (char *)r->service;
    c.requested_on = &on;
    c.birth_date = &birth;
    c.urgency = (Atb__V1__Urgency)r->urgency;
    c.hours_per_week = r->hours;
    c.disability_group = r->group;
    c.status = (Atb__V1__NeedStatus)r->status;
    c.resident = r->resident;
    c.n_target_groups = r->target ? 1 : 0;
    c.target_groups = tg;
    return ah_cmd(h, tenant, "RequestService", &c.base, &meta);
}

Atb__V1__CommandReply *ah_allocate(ah *h, const char *tenant, const char *owner, const char *provider,
                                   const char *service, int y, int m, int d)
{
    Atb__V1__Allocate c = ATB__V1__ALLOCATE__INIT;
    Atb__V1__CommandMeta meta = ATB__V1__COMMAND_META__INIT;
    Atb__V1__Date on;
    ah_date(&on, y, m, d);
    c.meta = &meta;
    c.owner = (char *)owner;
    c.provider = (char *)provider;
    c.service = (char *)service;
    c.on = &on;
    return ah_cmd(h, tenant, "Allocate", &c.base, &meta);
}

Atb__V1__CommandReply *ah_answer(ah *h, const char *tenant, const char *offer, bool accept, const char *reason,
                                 int y, int m, int d)
{
    Atb__V1__AnswerOffer c = ATB__V1__ANSWER_OFFER__INIT;
    Atb__V1__CommandMeta meta = ATB__V1__COMMAND_META__INIT;
    Atb__V1__Date on;
    ah_date(&on, y, m, d);
    c.meta = &meta;
    c.offer_key = (char *)offer;
    c.accept = accept;
    c.reason = (char *)(reason ? reason : "");
    c.on = &on;
    return ah_cmd(h, tenant, "AnswerOffer", &c.base, &meta);
}

Atb__V1__CommandReply *ah_emergency(ah *h, const char *tenant, const char *owner, const char *provider,
                                    const char *service, int y, int m, int d, const char *const *persons, size_t n)
{
    Atb__V1__EmergencyAdmission c = ATB__V1__EMERGENCY_ADMISSION__INIT;
    Atb__V1__CommandMeta meta = ATB__V1__COMMAND_META__INIT;
    Atb__V1__Date on;
    ah_date(&on, y, m, d);
    c.meta = &meta;
    c.owner = (char *)owner;
    c.provider = (char *)provider;
    c.service = (char *)service;
    c.on = &on;
    c.n_person_keys = n;
    c.person_keys = (char **)persons;
    c.reason = "violence";
    return ah_cmd(h, tenant, "EmergencyAdmission", &c.base, &meta);
}

Atb__V1__CommandReply *ah_discharge(ah *h, const char *tenant, const char *placement, int y, int m, int d)
{
    Atb__V1__Discharge c = ATB__V1__DISCHARGE__INIT;
    Atb__V1__CommandMeta meta = ATB__V1__COMMAND_META__INIT;
    Atb__V1__Date on;
    ah_date(&on, y, m, d);
    c.meta = &meta;
    c.placement_key = (char *)placement;
    c.on = &on;
    c.reason = "moved_out";
    return ah_cmd(h, tenant, "Discharge", &c.base, &meta);
}

const char *ah_stream_key(const char *s)
{
    const char *dash = s ? strchr(s, '-') : NULL;
    return dash ? dash + 1 : "";
}
