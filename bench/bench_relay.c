/*
 * bench_relay.c -- relay throughput (log -> JetStream) against raw async publishing.
 *
 * Usage: bench_relay [events] [relay batch] [rounds]     (defaults 50000, 1000, 3)
 *
 * Fills a fresh database with `events` events, then per round and on fresh streams:
 *   raw:   js_PublishAsync of the same envelope bytes with Nats-Msg-Id, read from memory
 *          (no PostgreSQL), then js_PublishAsyncComplete;
 *   relay: bus_relay_step until the stream holds the whole log (reads PostgreSQL,
 *          packs envelopes, sets four headers, waits for every ack per batch).
 * Prints events/s of each round and the ratio relay/raw of the medians. Asserts nothing
 * about speed.
 *
 * Environment: ATB_PG_HOST, ATB_PG_PORT, ATB_PG_SUPERUSER, ATB_NATS_URL (as the tests).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <libpq-fe.h>
#include <nats/nats.h>

#include "bus.h"
#include "es.h"

static const char *env_or(const char *name, const char *def)
{
    const char *v = getenv(name);
    return (v && *v) ? v : def;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, const at_error *err)
{
    fprintf(stderr, "bench_relay: %s: %s %s\n", what, err ? err->message : "", err ? err->detail : "");
    exit(1);
}

static void admin(const char *dbname, const char *sql)
{
    char ci[512];
    snprintf(ci, sizeof ci, "host=%s port=%s user=%s dbname=%s", env_or("ATB_PG_HOST", "127.0.0.1"),
             env_or("ATB_PG_PORT", "54329"), env_or("ATB_PG_SUPERUSER", "postgres"), dbname);
    PGconn *c = PQconnectdb(ci);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "bench_relay: %s", PQerrorMessage(c));
        exit(1);
    }
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        fprintf(stderr, "bench_relay: %s: %s", sql, PQerrorMessage(c));
        exit(1);
    }
    PQclear(r);
    PQfinish(c);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct packed {
    char subject[160];
    char id[24];
    uint8_t *data;
    size_t len;
} packed;

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? (size_t)strtoull(argv[1], NULL, 10) : 50000;
    int batch = argc > 2 ? atoi(argv[2]) : 1000;
    int rounds = argc > 3 ? atoi(argv[3]) : 3;
    if (n == 0 || batch <= 0 || rounds <= 0 || rounds > 20) {
        fprintf(stderr, "usage: bench_relay [events] [relay batch] [rounds]\n");
        return 2;
    }

    char dbname[64], conninfo[512];
    snprintf(dbname, sizeof dbname, "atb_bench_relay_%d", (int)getpid());
    char sql[128];
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", dbname);
    admin("postgres", sql);
    snprintf(conninfo, sizeof conninfo, "host=%s port=%s user=%s dbname=%s",
             env_or("ATB_PG_HOST", "127.0.0.1"), env_or("ATB_PG_PORT", "54329"),
             env_or("ATB_PG_SUPERUSER", "postgres"), dbname);
    at_error err;
    at_error_clear(&err);
    if (es_migrate(conninfo, NULL, &err) != ES_OK)
        die("es_migrate", &err);
    es_config ecfg = { 0 };
    ecfg.conninfo = conninfo;
    ecfg.application_name = "bench_relay";
    es_store *es = NULL;
    if (es_open(&es, &ecfg, &err) != ES_OK)
        die("es_open", &err);

    /* The log: persons of one municipality, 10 events per stream, a 64-byte payload
     * (about the size of a PersonRegistered body). */
    double t0 = now_s();
    uint8_t payload[64];
    memset(payload, 0x5a, sizeof payload);
    es_event_in evs[10];
    for (int i = 0; i < 10; i++) {
        memset(&evs[i], 0, sizeof evs[i]);
        evs[i].type = "PersonRegistered";
        evs[i].payload = payload;
        evs[i].payload_len = sizeof payload;
    }
    for (size_t done = 0; done < n;) {
        size_t k = n - done < 10 ? n - done : 10;
        char sid[64];
        snprintf(sid, sizeof sid, "person-b%zu", done);
        es_append_req req = { 0 };
        req.tenant = "demo";
        req.stream_id = sid;
        req.expected_version = ES_VERSION_NONE;
        req.actor = "service:bench";
        req.events = evs;
        req.n_events = k;
        es_append_res res;
        if (es_append(es, &req, &res, &err) != ES_OK)
            die("es_append", &err);
        done += k;
    }
    printf("bench_relay: %zu events appended in %.2f s; relay batch %d; %d rounds\n", n, now_s() - t0,
           batch, rounds);

    /* The baseline's messages: the same envelopes, packed before the clock starts. */
    char prefix[64];
    snprintf(prefix, sizeof prefix, "bench%d", (int)getpid());
    packed *msgs = calloc(n, sizeof *msgs);
    size_t m = 0;
    for (int64_t after = 0; m < n;) {
        es_batch *b = NULL;
        if (es_read_all(es, after, 5000, NULL, &b, &err) != ES_OK)
            die("es_read_all", &err);
        size_t k = es_batch_count(b);
        if (k == 0)
            break;
        for (size_t i = 0; i < k && m < n; i++, m++) {
            const es_event *ev = es_batch_get(b, i);
            snprintf(msgs[m].subject, sizeof msgs[m].subject, "%s.evt.%s.%s.%s", prefix, ev->tenant,
                     ev->category, ev->type);
            snprintf(msgs[m].id, sizeof msgs[m].id, "%" PRId64, ev->position);
            msgs[m].len = bus_envelope_pack(ev, &msgs[m].data);
            after = ev->position;
        }
        es_batch_free(b);
    }

    double raw[20], relay[20];
    for (int round = 0; round < rounds; round++) {
        char stream[64];
        /* raw async publish */
        snprintf(stream, sizeof stream, "BENCHRAW%d_%d", (int)getpid(), round);
        bus_config bcfg = { 0 };
        bcfg.url = env_or("ATB_NATS_URL", "nats://127.0.0.1:4229");
        bcfg.name = "bench_relay";
        bcfg.prefix = prefix;
        bcfg.stream = stream;
        bus *b = NULL;
        if (bus_connect(&b, &bcfg, &err) != AT_OK)
            die("bus_connect", &err);
        if (bus_stream_ensure(b, &err) != AT_OK)
            die("bus_stream_ensure", &err);
        jsPubOptions po;
        double s0 = now_s();
        for (size_t i = 0; i < m; i++) {
            jsPubOptions_Init(&po);
            po.MsgId = msgs[i].id;
            natsStatus s = js_PublishAsync(bus_js(b), msgs[i].subject, msgs[i].data, (int)msgs[i].len, &po);
            if (s != NATS_OK) {
                fprintf(stderr, "bench_relay: js_PublishAsync: %s\n", natsStatus_GetText(s));
                return 1;
            }
        }
        jsPubOptions_Init(&po);
        po.MaxWait = 60000;
        if (js_PublishAsyncComplete(bus_js(b), &po) != NATS_OK) {
            fprintf(stderr, "bench_relay: raw publishes not acknowledged\n");
            return 1;
        }
        raw[round] = (double)m / (now_s() - s0);
        bus_stream_delete(b, NULL);
        bus_close(b);

        /* the relay, from PostgreSQL */
        snprintf(stream, sizeof stream, "BENCHRELAY%d_%d", (int)getpid(), round);
        bcfg.stream = stream;
        if (bus_connect(&b, &bcfg, &err) != AT_OK)
            die("bus_connect", &err);
        bus_relay *r = NULL;
        if (bus_relay_open(&r, es, b, batch, &err) != AT_OK)
            die("bus_relay_open", &err);
        size_t total = 0, got = 0;
        s0 = now_s();
        do {
            if (bus_relay_step(r, 0, &got, &err) != AT_OK)
                die("bus_relay_step", &err);
            total += got;
        } while (got > 0);
        relay[round] = (double)total / (now_s() - s0);
        if (total != m) {
            fprintf(stderr, "bench_relay: relay published %zu of %zu\n", total, m);
            return 1;
        }
        bus_relay_close(r);
        bus_stream_delete(b, NULL);
        bus_close(b);
        printf("round %d: raw js_PublishAsync+MsgId %9.0f events/s   relay %9.0f events/s   ratio %.2f\n",
               round + 1, raw[round], relay[round], relay[round] / raw[round]);
    }
    qsort(raw, (size_t)rounds, sizeof raw[0], cmp_double);
    qsort(relay, (size_t)rounds, sizeof relay[0], cmp_double);
    double mraw = raw[rounds / 2], mrelay = relay[rounds / 2];
    printf("median: raw %.0f events/s, relay %.0f events/s, relay/raw = %.2f (target >= 0.50)\n", mraw, mrelay,
           mrelay / mraw);

    for (size_t i = 0; i < m; i++)
        free(msgs[i].data);
    free(msgs);
    es_close(es);
    snprintf(sql, sizeof sql, "DROP DATABASE %s WITH (FORCE)", dbname);
    admin("postgres", sql);
    nats_Close();
    return 0;
}
