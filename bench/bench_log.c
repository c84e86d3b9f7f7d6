/*
 * bench_log.c -- throughput of the event log against PostgreSQL's own bulk paths, all
 * measured in one run against the same server:
 *
 *   baseline  COPY FROM STDIN (binary) of N rows with one identical payload into a plain
 *             table shaped like atb.events (no index, no constraint, one transaction);
 *   (a)       es_append() of 100-event appends from a few threads;
 *   (b)       es_append() of single events from 32 threads (the group committer);
 *   baseline  COPY (SELECT <event columns> FROM atb.events ORDER BY position) TO STDOUT;
 *   (c)       es_read_all() in batches over the whole log, decoding every payload as an
 *             atb.v1.PersonRegistered.
 *
 * It prints events/s and the ratio to its baseline, and the server's fsync and
 * synchronous_commit so the reader knows how durable the appends were. It asserts
 * nothing. It makes its own database and drops it at the end.
 *
 * Usage: bench_log [N]   (N events for the baseline and for (a); (b) appends N/4)
 * Server: ATB_PG_HOST, ATB_PG_PORT, ATB_PG_SUPERUSER as for the tests.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>
#include <libpq-fe.h>

#include "benchlib.h"

#include "atb/v1/intake.pb-c.h"
#include "es.h"

static char *show(PGconn *c, const char *setting)
{
    char sql[128];
    snprintf(sql, sizeof sql, "SHOW %s", setting);
    PGresult *r = PQexec(c, sql);
    char *v = strdup(PQresultStatus(r) == PGRES_TUPLES_OK ? PQgetvalue(r, 0, 0) : "?");
    PQclear(r);
    return v;
}

static void uuid_v4(char out[37])
{
    unsigned char b[16];
    if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b)
        bh_die("getrandom", "failed");
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
             b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
             b[13], b[14], b[15]);
}

/* The payload every event carries: one PersonRegistered. */
static uint8_t payload[128];
static size_t payload_len;

static void make_payload(void)
{
    char key[37];
    uuid_v4(key);
    Atb__V1__PersonRegistered pr = ATB__V1__PERSON_REGISTERED__INIT;
    Atb__V1__Date birth = ATB__V1__DATE__INIT, reg = ATB__V1__DATE__INIT;
    birth.year = 1984;
    birth.month = 3;
    birth.day = 17;
    reg.year = 2023;
    reg.month = 7;
    reg.day = 1;
    pr.person_key = key;
    pr.birth_date = &birth;
    pr.sex = ATB__V1__SEX__FEMALE;
    pr.registered_on = &reg;
    payload_len = atb__v1__person_registered__get_packed_size(&pr);
    if (payload_len > sizeof payload)
        bh_die("payload", "too large");
    atb__v1__person_registered__pack(&pr, payload);
}

/* ---- baseline: COPY FROM STDIN binary ----------------------------------------------- */

/* COPY n rows into bench_plain, made by create_sql; returns rows/s. */
static double bench_copy_in(PGconn *c, long n, const char *create_sql)
{
    bh_exec(c, create_sql);
    static const uint8_t id[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    size_t cap = 1 << 20, len = 0;
    uint8_t *buf = malloc(cap);
    double t0 = bh_now_s();
    PGresult *r = PQexec(c, "COPY bench_plain FROM STDIN (FORMAT binary)");
    if (PQresultStatus(r) != PGRES_COPY_IN)
        bh_die("COPY FROM", PQerrorMessage(c));
    PQclear(r);
    static const uint8_t header[19] = {'P', 'G', 'C', 'O', 'P', 'Y', '\n', 0xff, '\r', '\n', 0};
    memcpy(buf, header, 11);
    len = 11 + bh_put32(buf + 11, 0);
    len += bh_put32(buf + len, 0);
    int64_t ts = 742000000000000LL;
    for (long i = 0; i < n; i++) {
        if (cap - len < 512) {
            if (PQputCopyData(c, (const char *)buf, (int)len) != 1)
                bh_die("COPY data", PQerrorMessage(c));
            len = 0;
        }
        char stream[48];
        int sl = snprintf(stream, sizeof stream, "person-%ld", i);
        uint8_t *p = buf + len;
        p += bh_put16(p, 14);
        uint8_t eid[16];
        memcpy(eid, id, 16);
        bh_put64(eid + 8, (uint64_t)i * 0x9e3779b97f4a7c15ULL);   /* unique, scattered like v4 ids */
        p += bh_field8(p, i + 1);
        p += bh_field(p, eid, 16);
        p += bh_field(p, "demo", 4);
        p += bh_field(p, stream, (size_t)sl);
        p += bh_field(p, "person", 6);
        p += bh_field8(p, 1);
        p += bh_field(p, "PersonRegistered", 16);
        p += bh_field8(p, ts);
        p += bh_field8(p, ts);
        p += bh_field_null(p);
        p += bh_field_null(p);
        p += bh_field(p, id, 16);
        p += bh_field(p, "user:bench", 10);
        p += bh_field(p, payload, payload_len);
        len = (size_t)(p - buf);
    }
    len += bh_put16(buf + len, 0xffff);
    if (PQputCopyData(c, (const char *)buf, (int)len) != 1 || PQputCopyEnd(c, NULL) != 1)
        bh_die("COPY end", PQerrorMessage(c));
    r = PQgetResult(c);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        bh_die("COPY result", PQerrorMessage(c));
    PQclear(r);
    double t = bh_now_s() - t0;
    free(buf);
    bh_exec(c, "DROP TABLE bench_plain");
    return (double)n / t;
}

/* ---- (a) and (b): appends ------------------------------------------------------------ */

struct appender {
    es_store *es;
    long appends;        /* this thread's number of appends */
    int per_append;      /* events in each */
    long failures;
};

static void *appender_main(void *arg)
{
    struct appender *a = arg;
    es_event_in *evs = calloc((size_t)a->per_append, sizeof *evs);
    for (int i = 0; i < a->per_append; i++)
        evs[i] = (es_event_in){.type = "PersonRegistered", .payload = payload,
                               .payload_len = payload_len};
    char stream[64], cmd[37];
    for (long n = 0; n < a->appends; n++) {
        char key[37];
        uuid_v4(key);
        uuid_v4(cmd);
        snprintf(stream, sizeof stream, "person-%s", key);
        es_append_req req = {.tenant = "demo", .stream_id = stream,
                             .expected_version = ES_VERSION_NONE, .command_id = cmd,
                             .actor = "user:bench", .events = evs,
                             .n_events = (size_t)a->per_append};
        es_append_res res;
        at_error err;
        if (es_append(a->es, &req, &res, &err) != ES_OK) {
            if (a->failures++ == 0)
                fprintf(stderr, "bench_log: append: %s (%s)\n", err.message, err.detail);
        }
    }
    free(evs);
    return NULL;
}

static double bench_appends(const char *conninfo, int threads, long events, int per_append,
                            int group_wait_us, es_store_stats *stats)
{
    es_config cfg = {.conninfo = conninfo, .pool_size = 1, .group_max_wait_us = group_wait_us};
    es_store *es;
    at_error err;
    if (es_open(&es, &cfg, &err) != ES_OK)
        bh_die("es_open", err.message);
    struct appender *a = calloc((size_t)threads, sizeof *a);
    pthread_t *th = calloc((size_t)threads, sizeof *th);
    long appends = events / per_append;
    double t0 = bh_now_s();
    for (int i = 0; i < threads; i++) {
        a[i] = (struct appender){.es = es, .per_append = per_append,
                                 .appends = appends / threads + (i < appends % threads)};
        pthread_create(&th[i], NULL, appender_main, &a[i]);
    }
    long failures = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(th[i], NULL);
        failures += a[i].failures;
    }
    double t = bh_now_s() - t0;
    es_stats(es, stats);
    es_close(es);
    free(a);
    free(th);
    if (failures)
        bh_die("appends", "some appends failed");
    return (double)stats->events / t;
}

/* ---- (c): reading -------------------------------------------------------------------- */

static double bench_copy_out(PGconn *c, long *rows)
{
    double t0 = bh_now_s();
    PGresult *r = PQexec(c, "COPY (SELECT position, event_id, tenant, stream_id, category, version, "
                            "type, occurred_at, recorded_at, causation_id, correlation_id, "
                            "command_id, actor, payload FROM atb.events ORDER BY position) "
                            "TO STDOUT (FORMAT binary)");
    if (PQresultStatus(r) != PGRES_COPY_OUT)
        bh_die("COPY TO", PQerrorMessage(c));
    PQclear(r);
    long n = -1;   /* the first message carries the header with the first row */
    char *data;
    int len;
    while ((len = PQgetCopyData(c, &data, 0)) > 0) {
        n++;
        PQfreemem(data);
    }
    r = PQgetResult(c);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        bh_die("COPY TO result", PQerrorMessage(c));
    *rows = atol(PQcmdTuples(r));
    PQclear(r);
    (void)n;
    return (double)*rows / (bh_now_s() - t0);
}

static double bench_read(const char *conninfo, size_t batch, long *events)
{
    es_config cfg = {.conninfo = conninfo, .pool_size = 1};
    es_store *es;
    at_error err;
    if (es_open(&es, &cfg, &err) != ES_OK)
        bh_die("es_open", err.message);
    long n = 0, bad = 0;
    int64_t after = 0;
    double t0 = bh_now_s();
    for (;;) {
        es_batch *b;
        if (es_read_all(es, after, batch, NULL, &b, &err) != ES_OK)
            bh_die("es_read_all", err.message);
        size_t cnt = es_batch_count(b);
        for (size_t i = 0; i < cnt; i++) {
            const es_event *e = es_batch_get(b, i);
            Atb__V1__PersonRegistered *pr =
                atb__v1__person_registered__unpack(NULL, e->payload_len, e->payload);
            if (!pr || pr->sex != ATB__V1__SEX__FEMALE)
                bad++;
            atb__v1__person_registered__free_unpacked(pr, NULL);
            after = e->position;
        }
        n += (long)cnt;
        es_batch_free(b);
        if (cnt == 0)
            break;
    }
    double t = bh_now_s() - t0;
    es_close(es);
    if (bad)
        bh_die("decode", "a payload did not decode");
    *events = n;
    return (double)n / t;
}

int main(int argc, char **argv)
{
    bh_init("bench_log");
    long n = argc > 1 ? atol(argv[1]) : 200000;
    if (n < 1000)
        n = 1000;
    make_payload();

    char db[64], sql[128];
    snprintf(db, sizeof db, "atb_bench_%d", (int)getpid());
    PGconn *admin = bh_connect("postgres");
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", db);
    bh_exec(admin, sql);
    char ci[512];
    bh_conninfo(db, ci, sizeof ci);
    at_error err;
    if (es_migrate(ci, NULL, &err) != ES_OK)
        bh_die("es_migrate", err.message);
    char svc[512];
    snprintf(svc, sizeof svc, "host=%s port=%s user=atb_intake dbname=%s",
             bh_env("ATB_PG_HOST", "127.0.0.1"), bh_env("ATB_PG_PORT", "54329"), db);
    PGconn *c = bh_connect(db);

    char *fsync = show(c, "fsync"), *sync = show(c, "synchronous_commit");
    char *method = show(c, "wal_sync_method"), *ver = show(c, "server_version");
    printf("atbalsts event log benchmark: PostgreSQL %s, fsync=%s, synchronous_commit=%s, "
           "wal_sync_method=%s\n", ver, fsync, sync, method);
    printf("payload: PersonRegistered, %zu bytes; every event has its own stream and command id\n\n",
           payload_len);

    double copy_in = bench_copy_in(c, n, "CREATE TABLE bench_plain (LIKE atb.events)");
    printf("baseline  COPY FROM STDIN binary, plain table, %ld rows      %10.0f events/s\n", n,
           copy_in);
    /* Not a target, a yardstick: the same COPY into a table with every index of
     * atb.events shows what the log's schema itself costs. */
    double copy_schema = bench_copy_in(c, n, "CREATE TABLE bench_plain (LIKE atb.events INCLUDING ALL)");
    printf("reference COPY FROM STDIN binary, atb.events' indexes        %10.0f events/s  %5.1f%% of COPY\n",
           copy_schema, 100.0 * copy_schema / copy_in);

    es_store_stats st;
    double a = bench_appends(svc, 4, n, 100, 0, &st);
    printf("(a)       es_append 100 events/append, 4 threads, %ld ev   %10.0f events/s  %5.1f%% of COPY"
           "  (%llu groups, avg %.1f appends, committer busy %.0f%%)\n", (long)st.events, a,
           100.0 * a / copy_in, (unsigned long long)st.groups,
           st.groups ? (double)st.appends / (double)st.groups : 0.0,
           100.0 * (double)st.busy_us / 1e6 / ((double)st.events / a));

    long nb = n / 4;
    double b = bench_appends(svc, 32, nb, 1, 0, &st);
    printf("(b)       es_append 1 event/append, 32 threads, %ld ev      %10.0f events/s  %5.1f%% of COPY"
           "  (%llu groups, avg %.1f appends, committer busy %.0f%%)\n", (long)st.events, b,
           100.0 * b / copy_in, (unsigned long long)st.groups,
           st.groups ? (double)st.appends / (double)st.groups : 0.0,
           100.0 * (double)st.busy_us / 1e6 / ((double)st.events / b));

    /* The same with the committer waiting up to 500 us for more appends once it has one
     * (es_config.group_max_wait_us; the default is 0: never wait). */
    double b2 = bench_appends(svc, 32, nb, 1, 500, &st);
    printf("(b')      as (b), group_max_wait_us = 500, %ld ev               %10.0f events/s  %5.1f%% of COPY"
           "  (%llu groups, avg %.1f appends)\n", (long)st.events, b2, 100.0 * b2 / copy_in,
           (unsigned long long)st.groups, st.groups ? (double)st.appends / (double)st.groups : 0.0);
    printf("          (a) is %.0f%%, (b) %.0f%% of the reference COPY into atb.events' shape\n",
           100.0 * a / copy_schema, 100.0 * b / copy_schema);

    bh_exec(c, "VACUUM ANALYZE atb.events");
    long rows = 0, events = 0;
    double out = 0, rd = 0;
    for (int i = 0; i < 2; i++) {   /* best of two, both warm */
        double o = bench_copy_out(c, &rows);
        double r = bench_read(svc, 5000, &events);
        out = o > out ? o : out;
        rd = r > rd ? r : rd;
    }
    printf("\nbaseline  COPY (SELECT ... FROM atb.events) TO STDOUT, %ld rows %9.0f events/s\n",
           rows, out);
    printf("(c)       es_read_all 5000/batch + decode, %ld events      %10.0f events/s  %5.1f%% of COPY TO\n",
           events, rd, 100.0 * rd / out);

    PQfinish(c);
    snprintf(sql, sizeof sql, "DROP DATABASE %s WITH (FORCE)", db);
    bh_exec(admin, sql);
    PQfinish(admin);
    free(fsync);
    free(sync);
    free(method);
    free(ver);
    return 0;
}
