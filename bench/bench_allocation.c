/*
 * bench_allocation.c -- the allocation service's write path under contention for scarce
 * places, and the rebuild of every unit's occupancy from the log, each against a
 * foundation baseline measured in the same run on the same server:
 *
 *   baseline  es_append() of one event per call from T threads, no version check (the
 *             log's group-committed rate for single-event commands);
 *   (a)       EmergencyAdmission + Discharge pairs from T threads, all on Dobele's crisis
 *             centre (8 places): each command locks the unit's row, counts its places,
 *             writes its row and appends; most admissions find the unit full and are
 *             refused (they count: the refusal is decided under the same lock);
 *   baseline  es_read_all() over the placement events in batches, payloads not decoded;
 *   (b)       al_occupancy_rebuild(): the same read, every payload decoded and folded
 *             into the loads in place on a date, per unit.
 *
 * The handlers are called in-process with the svc_request the runtime would build (no
 * NATS), on the source tree's catalogue. It prints commands/s, events/s and ratios; it
 * asserts nothing. It makes its own database and drops it at the end.
 *
 * Before (b) the log gets PLACEMENTS more placements (2 events each, three in four ended)
 * spread over every unit of the catalogue, appended as the handlers would write them.
 *
 * Usage: bench_allocation [SECONDS] [THREADS] [PLACEMENTS]   (default 5, 16, 20000; SECONDS
 * at most 60)
 * Server: ATB_PG_HOST, ATB_PG_PORT, ATB_PG_SUPERUSER as for the tests.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <libpq-fe.h>

#include "allocation.h"
#include "at_uuid.h"

static const char *env_or(const char *name, const char *def)
{
    const char *v = getenv(name);
    return v && *v ? v : def;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, const char *why)
{
    fprintf(stderr, "bench_allocation: %s: %s\n", what, why);
    exit(1);
}

static void conninfo(char *buf, size_t n, const char *db)
{
    snprintf(buf, n, "host=%s port=%s user=%s dbname=%s", env_or("ATB_PG_HOST", "127.0.0.1"),
             env_or("ATB_PG_PORT", "54329"), env_or("ATB_PG_SUPERUSER", "postgres"), db);
}

static void exec_or_die(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
        die(sql, PQerrorMessage(c));
    PQclear(r);
}

static es_store *es;
static double deadline;
static atomic_long n_ok, n_refused, n_failed;

/* ---- baseline: single-event appends ---- */

static void *append_main(void *arg)
{
    uint8_t payload[64];
    memset(payload, 7, sizeof payload);
    long done = 0;
    while (now_s() < deadline) {
        char cmd[37], stream[64];
        at_uuid_v4(cmd);
        snprintf(stream, sizeof stream, "benchbase-%s", cmd);
        es_event_in ev = {.type = "BenchBaseline", .payload = payload, .payload_len = sizeof payload};
        es_append_req r = {.tenant = "dobele", .stream_id = stream, .expected_version = ES_VERSION_ANY,
                           .command_id = cmd, .events = &ev, .n_events = 1};
        if (es_append(es, &r, NULL, NULL) == ES_OK)
            done++;
    }
    atomic_fetch_add(&n_ok, done);
    return NULL;
}

/* ---- (a) admissions and discharges racing for 8 places ---- */

static at_code call(at_arena *a, const char *tenant, const char *name, svc_handler_fn fn, ProtobufCMessage *msg,
                    Atb__V1__CommandReply **out)
{
    char cmd[37];
    at_uuid_v4(cmd);
    svc_request req = {.es = es, .tenant = tenant, .name = name, .command_id = cmd, .actor = "user:bench",
                       .correlation_id = "", .expected_version = ES_VERSION_ANY, .msg = msg, .arena = a};
    ProtobufCMessage *reply = NULL;
    at_error err;
    at_error_clear(&err);
    at_code code = fn(&req, &reply, &err);
    *out = (Atb__V1__CommandReply *)reply;
    return code;
}

static void *admit_main(void *arg)
{
    const char *tenant = (intptr_t)arg % 2 ? "tervete" : "dobele";
    at_arena *a = at_arena_new(16384);
    Atb__V1__Date on = ATB__V1__DATE__INIT;
    on.year = 2019, on.month = 3, on.day = 1;
    while (now_s() < deadline) {
        char person[37];
        at_uuid_v4(person);
        char *one[1] = {person};
        Atb__V1__EmergencyAdmission c = ATB__V1__EMERGENCY_ADMISSION__INIT;
        c.owner = "dobele", c.provider = "krizes_centrs", c.service = "crisis_centre", c.on = &on;
        c.n_person_keys = 1, c.person_keys = one, c.reason = "violence";
        Atb__V1__CommandReply *r = NULL;
        at_code code = call(a, tenant, "EmergencyAdmission", place_emergency, &c.base, &r);
        if (code == AT_CONFLICT) {
            atomic_fetch_add(&n_refused, 1);
        } else if (code != AT_OK) {
            atomic_fetch_add(&n_failed, 1);
        } else {
            atomic_fetch_add(&n_ok, 1);
            char key[40];
            snprintf(key, sizeof key, "%s", r->key);
            at_arena_reset(a);
            Atb__V1__Discharge d = ATB__V1__DISCHARGE__INIT;
            d.placement_key = key, d.on = &on, d.reason = "moved_out";
            code = call(a, tenant, "Discharge", place_discharge, &d.base, &r);
            atomic_fetch_add(code == AT_OK ? &n_ok : &n_failed, 1);
        }
        at_arena_reset(a);
    }
    at_arena_free(a);
    return NULL;
}

static double run_threads(int threads, double seconds, void *(*fn)(void *))
{
    pthread_t th[256];
    atomic_store(&n_ok, 0);
    atomic_store(&n_refused, 0);
    atomic_store(&n_failed, 0);
    double t0 = now_s();
    deadline = t0 + seconds;
    for (int i = 0; i < threads; i++)
        pthread_create(&th[i], NULL, fn, (void *)(intptr_t)i);
    for (int i = 0; i < threads; i++)
        pthread_join(th[i], NULL);
    return now_s() - t0;
}

/* ---- (b) reading the placements ---- */

/* More history for the rebuild to read: placements of every unit of the catalogue, each
 * a stream of PlacementStarted and (for three in four) PlacementEnded, as the handlers
 * write them, appended straight into the log. */
static atomic_long seed_left;

static void *seed_main(void *arg)
{
    at_arena *a = at_arena_new(8192);
    unsigned seed = (unsigned)(intptr_t)arg * 7919u + 1;
    while (atomic_fetch_sub(&seed_left, 1) > 0) {
        const al_unit_def *u = &al_cat->units[rand_r(&seed) % al_cat->n_units];
        char key[37], person[37], stream[64];
        at_uuid_v4(key);
        at_uuid_v4(person);
        snprintf(stream, sizeof stream, "placement-%s", key);
        Atb__V1__Date start = ATB__V1__DATE__INIT, end = ATB__V1__DATE__INIT;
        start.year = 2018 + (int)(rand_r(&seed) % 2), start.month = 1 + (int)(rand_r(&seed) % 12), start.day = 1;
        end = start;
        end.day = 28;
        Atb__V1__PlacementStarted ps = ATB__V1__PLACEMENT_STARTED__INIT;
        ps.placement_key = key, ps.person_key = person, ps.owner = (char *)u->owner;
        ps.provider = (char *)u->provider, ps.service = (char *)u->service, ps.start_on = &start, ps.load = 1;
        ps.unit = "day";
        Atb__V1__PlacementEnded pe = ATB__V1__PLACEMENT_ENDED__INIT;
        pe.placement_key = key, pe.person_key = person, pe.owner = (char *)u->owner;
        pe.provider = (char *)u->provider, pe.service = (char *)u->service, pe.ended_on = &end;
        pe.reason = "moved_out";
        es_event_in ev[2];
        at_error err;
        if (svc_pack(a, &ps.base, "PlacementStarted", &ev[0], &err) != AT_OK ||
            svc_pack(a, &pe.base, "PlacementEnded", &ev[1], &err) != AT_OK)
            die("pack", err.message);
        es_append_req r = {.tenant = u->owner, .stream_id = stream, .expected_version = ES_VERSION_NONE,
                           .events = ev, .n_events = rand_r(&seed) % 4 ? 2 : 1};
        if (es_append(es, &r, NULL, &err) != ES_OK)
            die("seed", err.message);
        at_arena_reset(a);
    }
    at_arena_free(a);
    return NULL;
}

static void count_unit(void *ctx, const char *owner, const char *provider, const char *service, int occupied)
{
    (*(int *)ctx)++;
}

static double read_only(int64_t *events)
{
    static const char *const cats[] = {"placement"};
    es_filter f = {.categories = cats, .n_categories = 1};
    int64_t after = 0, n = 0;
    double t0 = now_s();
    for (;;) {
        es_batch *b = NULL;
        at_error err;
        if (es_read_all(es, after, 4096, &f, &b, &err) != ES_OK)
            die("es_read_all", err.message);
        size_t k = es_batch_count(b);
        if (k)
            after = es_batch_get(b, k - 1)->position;
        n += (int64_t)k;
        es_batch_free(b);
        if (k < 4096)
            break;
    }
    *events = n;
    return now_s() - t0;
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 5.0;
    int threads = argc > 2 ? atoi(argv[2]) : 16;
    if (seconds <= 0)
        seconds = 5.0;
    if (seconds > 60)   /* scripts/bench gives every bench the same arguments, counts included */
        seconds = 60;
    if (threads < 1 || threads > 256)
        threads = 16;
    long seed_n = argc > 3 ? atol(argv[3]) : 20000;

    char db[64], sql[160], ci[512];
    snprintf(db, sizeof db, "atb_bench_alloc_%d", (int)getpid());
    conninfo(ci, sizeof ci, "postgres");
    PGconn *admin = PQconnectdb(ci);
    if (PQstatus(admin) != CONNECTION_OK)
        die("connect", PQerrorMessage(admin));
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", db);
    exec_or_die(admin, sql);
    conninfo(ci, sizeof ci, db);
    at_error err;
    if (es_migrate(ci, NULL, &err) != ES_OK)
        die("es_migrate", err.message);
    PGconn *c = PQconnectdb(ci);
    if (PQstatus(c) != CONNECTION_OK)
        die("connect", PQerrorMessage(c));
    exec_or_die(c, "SET search_path = allocation");
    for (size_t i = 0; i < allocation_n_migrations; i++)
        exec_or_die(c, allocation_migrations[i]);
    PGresult *v = PQexec(c, "SHOW synchronous_commit");
    printf("atbalsts allocation benchmark: %d threads, %.1f s a phase, synchronous_commit=%s\n", threads, seconds,
           PQresultStatus(v) == PGRES_TUPLES_OK ? PQgetvalue(v, 0, 0) : "?");
    PQclear(v);
    char role_ci[512];
    snprintf(role_ci, sizeof role_ci, "host=%s port=%s user=atb_allocation dbname=%s",
             env_or("ATB_PG_HOST", "127.0.0.1"), env_or("ATB_PG_PORT", "54329"), db);
    es_config cfg = {.conninfo = role_ci, .pool_size = threads + 2, .application_name = "bench_allocation"};
    if (es_open(&es, &cfg, &err) != ES_OK)
        die("es_open", err.message);
    if (al_catalogue_load(CATALOGUE_DIR, &al_cat, &err) != AT_OK)
        die("catalogue", err.message);
    if (al_catalogue_publish(es, &err) != AT_OK)
        die("publish", err.message);

    double t = run_threads(threads, seconds, append_main);
    double base = (double)atomic_load(&n_ok) / t;
    printf("baseline  es_append, 1 event per call, %d threads          %10.0f appends/s\n", threads, base);

    t = run_threads(threads, seconds, admit_main);
    long ok = atomic_load(&n_ok), refused = atomic_load(&n_refused), failed = atomic_load(&n_failed);
    double cmds = (double)(ok + refused) / t;
    printf("(a)       admissions + discharges, 8 places, %d threads     %10.0f commands/s  %5.1f%% of baseline"
           "  (%ld placed or discharged, %ld refused full, %ld failed)\n",
           threads, cmds, 100.0 * cmds / base, ok, refused, failed);

    atomic_store(&seed_left, seed_n);
    run_threads(threads, 1e9, seed_main);
    int64_t events = 0;
    double tr = read_only(&events);
    printf("baseline  es_read_all of the placement events, %lld events   %10.0f events/s\n", (long long)events,
           (double)events / tr);
    int units = 0;
    int64_t folded = 0;
    at_date on;
    at_date_from_ymd(2019, 3, 1, &on);
    double t0 = now_s();
    if (al_occupancy_rebuild(es, on, count_unit, &units, &folded, &err) != AT_OK)
        die("rebuild", err.message);
    double tb = now_s() - t0;
    printf("(b)       occupancy of every unit rebuilt from the log         %10.0f events/s  %5.1f%% of baseline"
           "  (%lld events in %.3f s, %d units occupied)\n",
           (double)folded / tb, 100.0 * tr / tb, (long long)folded, tb, units);

    es_close(es);
    al_catalogue_free(al_cat);
    PQfinish(c);
    snprintf(sql, sizeof sql, "DROP DATABASE %s WITH (FORCE)", db);
    exec_or_die(admin, sql);
    PQfinish(admin);
    return 0;
}
