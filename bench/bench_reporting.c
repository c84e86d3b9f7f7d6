/*
 * bench_reporting.c -- reporting and audit over a log of a million events, each rate as a
 * ratio to the raw read of the same log in the same run:
 *
 *   baseline  es_read_all() in batches of 5,000 over the whole log (bench_log's (c) without
 *             the decode: the bytes only);
 *   (a)       every reporting projection rebuilt from the log as `atbalsts report rebuild`
 *             does it (services/reporting/rebuild.c: the consumer's own handler, 5,000
 *             events to a transaction with the checkpoint, the statements pipelined);
 *             here persons, decisions and
 *             applications have events;
 *   (b)       `atbalsts audit --all-tenants` (the program, run from the same build) over the
 *             whole log: every decision event read, rebuilt with the rule set of its recorded
 *             version (from the log) and compared step by step (services/means/replay.c);
 *             on one thread (b1) and on one per CPU (b). Rates are given per decision and
 *             per event of the log (the audit reads the log's decision events; its time
 *             for a log of N events is N / that rate).
 *
 * The log: families of three (two adults, a child, varying incomes) in Daugavpils and
 * Kandava in 2020 (both rule sets are in force then), each family file 7 events as intake
 * and means testing append them: 3 PersonRegistered, ApplicationReceived, a needy-status and a GMI decision made by
 * the real rules (rules_decide on the published rule set, so every decision replays to a
 * proof), ApplicationDecided. The rule sets are published with es_append; the family files
 * are loaded with COPY (binary) into atb.events, positions after the head, and the head moved.
 * It asserts nothing about speed; it fails if a decision does not replay to a proof.
 *
 * Usage: bench_reporting [N [audit|rebuild]]   (N events, default 1,000,000; "audit": the
 * reads and the audit only, e.g. under perf; "rebuild": the reads and the rebuild only)
 * Server: ATB_PG_HOST, ATB_PG_PORT, ATB_PG_SUPERUSER as for the tests. It makes its own
 * database and drops it at the end (ATB_BENCH_KEEP=1 keeps it and prints its name, e.g. to
 * run `atbalsts audit` on it by hand).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include <libpq-fe.h>

#include "benchlib.h"

#include "at_date.h"
#include "at_uuid.h"
#include "es.h"
#include "means_core.h"
#include "reporting.h"
#include "atb/v1/intake.pb-c.h"
#include "atb/v1/means.pb-c.h"

/* This process's CPU time, user and system: the rest of a rebuild's time is the server's. */
static double cpu_s(void)
{
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return (double)(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + (double)(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

static char bench_db[64];   /* dropped by bh_die() too, so a failed run leaves nothing */
static PGconn *bench_admin;

static void drop_bench_db(void)
{
    if (bench_admin && bench_db[0]) {
        char sql[128];
        snprintf(sql, sizeof sql, "DROP DATABASE %s WITH (FORCE)", bench_db);
        PQclear(PQexec(bench_admin, sql));
    }
}

static long long sql_ll(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
        bh_die(sql, PQerrorMessage(c));
    long long v = atoll(PQgetvalue(r, 0, 0));
    PQclear(r);
    return v;
}

/* ---- COPY (binary) of atb.events rows ------------------------------------------------ */

typedef struct copier {
    PGconn *c;
    uint8_t *buf;
    size_t len, cap;
    int64_t position;       /* of the last row */
    uint8_t id_prefix[8];   /* event ids: a random prefix and a counter */
    long rows;
} copier;

static void copy_flush(copier *k)
{
    if (k->len && PQputCopyData(k->c, (const char *)k->buf, (int)k->len) != 1)
        bh_die("COPY data", PQerrorMessage(k->c));
    k->len = 0;
}

static void copy_begin(copier *k, PGconn *c, int64_t after)
{
    *k = (copier){.c = c, .cap = 4 << 20, .position = after};
    k->buf = malloc(k->cap);
    if (!k->buf || getrandom(k->id_prefix, sizeof k->id_prefix, 0) != (ssize_t)sizeof k->id_prefix)
        bh_die("copy", "out of memory or randomness");
    PGresult *r = PQexec(c, "COPY atb.events (position, event_id, tenant, stream_id, category, version, type, "
                            "occurred_at, recorded_at, causation_id, correlation_id, command_id, actor, payload) "
                            "FROM STDIN (FORMAT binary)");
    if (PQresultStatus(r) != PGRES_COPY_IN)
        bh_die("COPY FROM", PQerrorMessage(c));
    PQclear(r);
    static const uint8_t header[11] = {'P', 'G', 'C', 'O', 'P', 'Y', '\n', 0xff, '\r', '\n', 0};
    memcpy(k->buf, header, 11);
    k->len = 11 + bh_put32(k->buf + 11, 0);
    k->len += bh_put32(k->buf + k->len, 0);
}

/* One row; day is the event's date (recorded at noon UTC). */
static void copy_row(copier *k, const char *tenant, const char *category, const char *id, int64_t version,
                     const char *type, at_date day, const char *actor, const uint8_t *payload, size_t n)
{
    if (k->cap - k->len < n + 512)
        copy_flush(k);
    if (k->cap - k->len < n + 512)
        bh_die("copy", "payload larger than the buffer");
    char stream[96];
    int sl = snprintf(stream, sizeof stream, "%s-%s", category, id);
    uint8_t eid[16];
    memcpy(eid, k->id_prefix, 8);
    bh_put64(eid + 8, (uint64_t)++k->rows);
    eid[6] = (uint8_t)((eid[6] & 0x0f) | 0x40);
    eid[8] = (uint8_t)((eid[8] & 0x3f) | 0x80);
    /* timestamptz: microseconds since 2000-01-01 */
    int64_t ts = ((int64_t)day * 86400 + 12 * 3600 - 946684800LL) * 1000000LL + k->rows % 1000000;
    uint8_t *p = k->buf + k->len;
    p += bh_put16(p, 14);
    p += bh_field8(p, ++k->position);
    p += bh_field(p, eid, 16);
    p += bh_field(p, tenant, strlen(tenant));
    p += bh_field(p, stream, (size_t)sl);
    p += bh_field(p, category, strlen(category));
    p += bh_field8(p, version);
    p += bh_field(p, type, strlen(type));
    p += bh_field8(p, ts);
    p += bh_field8(p, ts);
    p += bh_field_null(p);
    p += bh_field_null(p);
    p += bh_field_null(p);
    p += bh_field(p, actor, strlen(actor));
    p += bh_field(p, payload, n);
    k->len = (size_t)(p - k->buf);
}

static void copy_end(copier *k)
{
    if (k->cap - k->len < 2)
        copy_flush(k);
    k->len += bh_put16(k->buf + k->len, 0xffff);
    copy_flush(k);
    if (PQputCopyEnd(k->c, NULL) != 1)
        bh_die("COPY end", PQerrorMessage(k->c));
    PGresult *r = PQgetResult(k->c);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        bh_die("COPY result", PQerrorMessage(k->c));
    PQclear(r);
    free(k->buf);
}

/* ---- the family files ----------------------------------------------------------------- */

static Atb__V1__Date pdate(at_date d)
{
    Atb__V1__Date x = ATB__V1__DATE__INIT;
    int y, m, dd;
    at_date_to_ymd(d, &y, &m, &dd);
    x.year = y, x.month = m, x.day = dd;
    return x;
}

static void pack_row(copier *k, const char *tenant, const char *category, const char *id, int64_t version,
                     const char *type, at_date day, const char *actor, const ProtobufCMessage *m)
{
    static uint8_t buf[1 << 16];
    size_t n = protobuf_c_message_get_packed_size(m);
    if (n > sizeof buf)
        bh_die("pack", "message too large");
    protobuf_c_message_pack(m, buf);
    copy_row(k, tenant, category, id, version, type, day, actor, buf, n);
}

typedef struct ruleset_of {
    const char *tenant;
    Atb__V1__RuleSetRef ref;
    const rules_set *set;
} ruleset_of;

static long long decisions_made, granted_made;
static size_t payload_bytes;

/* One family file: 7 events. i varies the family (income, date, tenant). */
static void family(copier *k, at_arena *a, const ruleset_of *rs, long i)
{
    char app[37], hh_id[37], keys[3][37];
    at_uuid_v4(app);
    at_uuid_v4(hh_id);
    for (int m = 0; m < 3; m++)
        at_uuid_v4(keys[m]);
    at_date start, on;
    at_date_from_ymd(2020, 1, 10, &start);
    on = start + (at_date)(i % 340);                 /* 2020-01-10 .. 2020-12-14: both rule sets in force */
    at_date received = on - 5;
    static const int64_t incomes[] = {0, 9000, 18000, 36000, 72000, 150000};
    int64_t income = incomes[i % 6];

    /* 3 PersonRegistered */
    static const int born[3] = {1980, 1983, 2012};
    Atb__V1__Date births[3];
    for (int m = 0; m < 3; m++) {
        at_date b;
        at_date_from_ymd(born[m] + (int)(i % 7), 1 + (int)(i % 12), 1 + (int)(i % 28), &b);
        births[m] = pdate(b);
        Atb__V1__PersonRegistered pr = ATB__V1__PERSON_REGISTERED__INIT;
        Atb__V1__Date reg = pdate(received - 30);
        pr.person_key = keys[m];
        pr.birth_date = &births[m];
        pr.sex = m == 1 ? ATB__V1__SEX__FEMALE : ATB__V1__SEX__MALE;
        pr.registered_on = &reg;
        pack_row(k, rs->tenant, "person", keys[m], 1, "PersonRegistered", received - 30, "user:bench", &pr.base);
    }

    /* ApplicationReceived */
    Atb__V1__Ask asks[2], *ap[2];
    for (int q = 0; q < 2; q++) {
        atb__v1__ask__init(&asks[q]);
        ap[q] = &asks[q];
    }
    asks[0].kind = ATB__V1__ASK_KIND__ASK_KIND_NEEDY_STATUS;
    asks[1].kind = ATB__V1__ASK_KIND__ASK_KIND_GMI;
    Atb__V1__Date rec = pdate(received), deadline = pdate(at_date_add_months(received, 1)), dd = pdate(on);
    Atb__V1__ApplicationReceived ar = ATB__V1__APPLICATION_RECEIVED__INIT;
    ar.application_id = app;
    ar.applicant = keys[0];
    ar.household_key = hh_id;
    ar.asks = ap;
    ar.n_asks = 2;
    ar.received = &rec;
    ar.deadline = &deadline;
    pack_row(k, rs->tenant, "application", app, 1, "ApplicationReceived", received, "user:bench", &ar.base);

    /* the household as means testing sees it on the decision date */
    static char *flags[] = {"able_to_work", "registered_unemployed"};
    static const Atb__V1__Relationship rel[3] = {ATB__V1__RELATIONSHIP__RELATIONSHIP_APPLICANT,
                                                 ATB__V1__RELATIONSHIP__RELATIONSHIP_SPOUSE,
                                                 ATB__V1__RELATIONSHIP__RELATIONSHIP_CHILD};
    Atb__V1__HouseholdMember mem[3], *mp[3];
    for (int m = 0; m < 3; m++) {
        atb__v1__household_member__init(&mem[m]);
        mem[m].key = keys[m];
        mem[m].birth_date = &births[m];
        mem[m].relationship = rel[m];
        if (m < 2) {
            mem[m].flags = flags;
            mem[m].n_flags = 2;
        }
        mp[m] = &mem[m];
    }
    at_period w = at_last_full_months(received, 3);
    Atb__V1__MonthlyIncome inc[3], *ip[3];
    Atb__V1__Date months[3];
    for (int m = 0; m < 3; m++) {
        atb__v1__monthly_income__init(&inc[m]);
        months[m] = pdate(at_date_add_months(w.from, m));
        inc[m].member = keys[0];
        inc[m].type = "social_insurance_benefit";
        inc[m].month = &months[m];
        inc[m].amount_cents = income;
        ip[m] = &inc[m];
    }
    Atb__V1__Household hh = ATB__V1__HOUSEHOLD__INIT;
    hh.id = hh_id;
    hh.members = mp;
    hh.n_members = 3;
    hh.incomes = ip;
    hh.n_incomes = 3;
    Atb__V1__HouseholdHistory hist = ATB__V1__HOUSEHOLD_HISTORY__INIT;

    int granted = 0, refused = 0;
    for (int q = 0; q < 2; q++) {
        at_arena_reset(a);
        Atb__V1__DecisionInput in = ATB__V1__DECISION_INPUT__INIT;
        in.tenant = (char *)rs->tenant;
        in.application_id = app;
        in.submitted = &rec;
        in.decision_date = &dd;
        in.applicant = keys[0];
        in.ask_index = q + 1;
        in.ask = &asks[q];
        in.household = &hh;
        in.history = &hist;
        decision_rules dr;
        at_error err;
        if (decision_to_rules(&in, "ask", a, &dr, &err) != AT_OK)
            bh_die("decision input", err.message);
        rules_result *res = NULL;
        if (rules_decide(rs->set, &dr.h, &dr.a, &dr.hist, &res, &err) != AT_OK)
            bh_die("rules_decide", err.message);
        Atb__V1__Decision *d = NULL;
        if (decision_build(a, &in, res, &rs->ref, &d, &err) != AT_OK)
            bh_die("decision_build", err.message);
        rules_result_free(res);
        size_t n = 0;
        uint8_t *p = decision_pack(a, d, &n);
        if (!p)
            bh_die("decision_pack", "out of memory");
        const char *type = decision_event_type(d->result);
        if (d->result->outcome == ATB__V1__DECISION_OUTCOME__DECISION_OUTCOME_GRANTED)
            granted++, granted_made++;
        else
            refused++;
        decisions_made++;
        payload_bytes += n;
        copy_row(k, rs->tenant, "decision", app, q + 1, type, on, "service:means", p, n);
    }
    Atb__V1__ApplicationDecided ad = ATB__V1__APPLICATION_DECIDED__INIT;
    ad.application_id = app;
    ad.decision_position = k->position;
    ad.granted = granted;
    ad.refused = refused;
    pack_row(k, rs->tenant, "application", app, 2, "ApplicationDecided", on, "service:intake", &ad.base);
}

/* ---- measurements --------------------------------------------------------------------- */

static double bench_read(es_store *es, long *events)
{
    long n = 0;
    size_t bytes = 0;
    int64_t after = 0;
    at_error err;
    double t0 = bh_now_s();
    for (;;) {
        es_batch *b;
        if (es_read_all(es, after, 5000, NULL, &b, &err) != ES_OK)
            bh_die("es_read_all", err.message);
        size_t cnt = es_batch_count(b);
        for (size_t i = 0; i < cnt; i++) {
            const es_event *e = es_batch_get(b, i);
            bytes += e->payload_len;
            after = e->position;
        }
        n += (long)cnt;
        es_batch_free(b);
        if (cnt == 0)
            break;
    }
    double t = bh_now_s() - t0;
    if (bytes == 0)
        bh_die("read", "no payload bytes");
    *events = n;
    return (double)n / t;
}

/* `atbalsts report rebuild` of every projection (services/reporting/rebuild.c: rows and
 * checkpoint dropped, the log replayed through the consumer's handler a batch of 1,000
 * events to a transaction). Returns events/s over all of them; *done the events replayed. */
static double bench_rebuild(es_store *es, int jobs, long *done)
{
    size_t n = rep_projections_count();
    rep_rebuild_task *tasks = calloc(n, sizeof *tasks);
    if (!tasks)
        bh_die("rebuild", "out of memory");
    for (size_t i = 0; i < n; i++)
        tasks[i].projection = i;
    double t0 = bh_now_s(), c0 = cpu_s();
    rep_rebuild_run(es, tasks, n, jobs);
    double wall = bh_now_s() - t0, cpu = cpu_s() - c0;
    long total = 0;
    for (size_t i = 0; i < n; i++) {
        if (tasks[i].code != AT_OK)
            bh_die(rep_projection_name(i), tasks[i].err.message);
        if (tasks[i].res.malformed)
            bh_die(rep_projection_name(i), "events did not decode");
        printf("          %-13s %8lld events in %6.2f s\n", rep_projection_name(i), (long long)tasks[i].res.events,
               tasks[i].seconds);
        total += (long)tasks[i].res.events;
    }
    printf("          %d job(s): %.2f s, this process's CPU %.2f s (the rest is the server's)\n", jobs, wall, cpu);
    free(tasks);
    *done = total;
    return (double)total / wall;
}

/* The number after "key": in the audit's JSON summary; -1 when it is not there. */
static long json_number(const char *json, const char *key)
{
    char k[64];
    snprintf(k, sizeof k, "\"%s\"", key);
    const char *p = strstr(json, k);
    if (!p)
        return -1;
    p += strlen(k);
    while (*p == ' ' || *p == ':')
        p++;
    return atol(p);
}

/* `atbalsts audit --all-tenants --json` over the whole log (the program itself, from the
 * same build), on `jobs` threads. Returns decisions/s; the log's events/s in *log_rate. */
static double bench_audit(const char *conninfo, int jobs, long log_events, long *decisions, long *proven,
                          double *log_rate)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "'%s' --json audit --pg '%s' --all-tenants --jobs %d", CLI_PATH, conninfo, jobs);
    double t0 = bh_now_s();
    FILE *f = popen(cmd, "r");
    if (!f)
        bh_die("audit", "cannot run atbalsts");
    static char out[1 << 20];
    size_t n = fread(out, 1, sizeof out - 1, f);
    out[n] = '\0';
    int rc = pclose(f);
    double t = bh_now_s() - t0;
    *decisions = json_number(out, "decisions");
    *proven = json_number(out, "proven");
    if (rc != 0 || *decisions < 0)
        fprintf(stderr, "bench_reporting: atbalsts audit exited with %d:\n%s\n", rc, out);
    *log_rate = (double)log_events / t;
    return (double)*decisions / t;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);   /* figures appear as they are measured */
    bh_init("bench_reporting");
    bh_on_die(drop_bench_db);
    long target = argc > 1 ? atol(argv[1]) : 1000000;
    if (target < 7000)
        target = 7000;
    char db[64], sql[256];
    snprintf(db, sizeof db, "atb_bench_rep_%d", (int)getpid());
    PGconn *admin = bh_connect("postgres");
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", db);
    bh_exec(admin, sql);
    snprintf(bench_db, sizeof bench_db, "%s", db);
    bench_admin = admin;
    char ci[512];
    bh_conninfo(db, ci, sizeof ci);
    at_error err;
    if (es_migrate(ci, NULL, &err) != ES_OK)
        bh_die("es_migrate", err.message);
    PGconn *c = bh_connect(db);
    for (size_t i = 0; i < reporting_n_migrations; i++) {   /* as libs/service applies them */
        bh_exec(c, "BEGIN; SET LOCAL search_path TO reporting");
        bh_exec(c, reporting_migrations[i]);
        bh_exec(c, "COMMIT");
    }
    es_config cfg = {.conninfo = ci, .pool_size = 4};   /* the rebuild's jobs */
    es_store *es = NULL;
    if (es_open(&es, &cfg, &err) != ES_OK)
        bh_die("es_open", err.message);

    /* the rule sets, published as the means service does */
    ruleset_cache *files = NULL;
    if (ruleset_cache_open(RULESETS_DIR, &files, &err) != AT_OK)
        bh_die("rule sets", err.message);
    if (ruleset_cache_publish(files, es, NULL, &err) != AT_OK)
        bh_die("publish", err.message);
    ruleset_of rs[2] = {{.tenant = "daugavpils"}, {.tenant = "kandava"}};
    ruleset_info info[2];
    for (int t = 0; t < 2; t++) {
        if (!ruleset_cache_get(files, rs[t].tenant, &info[t]))
            bh_die("rule set", rs[t].tenant);
        atb__v1__rule_set_ref__init(&rs[t].ref);
        rs[t].ref.scope = info[t].scope;
        rs[t].ref.version = info[t].version;
        rs[t].ref.position = info[t].position;
        rs[t].set = info[t].set;
    }

    /* the family files */
    int64_t head = 0;
    es_head(es, &head, NULL);
    double t0 = bh_now_s();
    copier k;
    copy_begin(&k, c, head);
    at_arena *a = at_arena_new(256 * 1024);
    long families = 0;
    while (k.rows + 7 <= target || families == 0)
        family(&k, a, &rs[families % 2], families), families++;
    copy_end(&k);
    snprintf(sql, sizeof sql, "UPDATE atb.log_head SET position = %lld", (long long)k.position);
    bh_exec(c, sql);
    bh_exec(c, "VACUUM ANALYZE atb.events");
    double load_s = bh_now_s() - t0;
    at_arena_free(a);
    long long total = sql_ll(c, "SELECT count(*) FROM atb.events");
    long long mb = sql_ll(c, "SELECT pg_total_relation_size('atb.events') / 1048576");
    printf("atbalsts reporting and audit benchmark: PostgreSQL %s\n", PQparameterStatus(c, "server_version"));
    printf("log: %lld events (%ld family files of 7: 3 persons, application received and decided, "
           "needy status and GMI decided by the rules), %lld decisions (%lld granted), decision payloads "
           "%zu bytes on average, atb.events %lld MB; generated and loaded in %.1f s\n\n",
           total, families, decisions_made, granted_made, decisions_made ? payload_bytes / (size_t)decisions_made : 0,
           mb, load_s);

    long events = 0;
    double base1 = bench_read(es, &events);
    printf("baseline  es_read_all 5000/batch, whole log, %ld events   %10.0f events/s\n", events, base1);

    /* "audit": the reads and the audits only; "rebuild": the reads and the rebuild only */
    bool audits = !(argc > 2 && strcmp(argv[2], "rebuild") == 0);
    bool rebuild = !(argc > 2 && strcmp(argv[2], "audit") == 0);
    double base = base1;
    if (audits) {
        long dec1 = 0, proven1 = 0, dec = 0, proven = 0;
        double log_rate1 = 0, log_rate = 0;
        double audit1 = bench_audit(ci, 1, events, &dec1, &proven1, &log_rate1);
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        int jobs = cpus < 1 ? 1 : cpus > 16 ? 16 : (int)cpus;
        double audit = bench_audit(ci, jobs, events, &dec, &proven, &log_rate);
        double base2 = bench_read(es, &events);
        base = base1 > base2 ? base1 : base2;   /* the better of the two reads around it */
        printf("baseline  (again, after the audits)                         %10.0f events/s; best %0.f\n", base2, base);
        printf("(b1)      atbalsts audit --jobs 1: %ld decisions, %ld proven   %10.0f decisions/s  %5.1f%% of baseline;"
               " log events %10.0f/s  %5.1f%%\n", dec1, proven1, audit1, 100.0 * audit1 / base, log_rate1,
               100.0 * log_rate1 / base);
        printf("(b)       atbalsts audit --jobs %d: %ld decisions, %ld proven   %10.0f decisions/s  %5.1f%% of "
               "baseline; log events %10.0f/s  %5.1f%%\n", jobs, dec, proven, audit, 100.0 * audit / base, log_rate,
               100.0 * log_rate / base);
        if (proven != dec || proven1 != dec1 || dec != decisions_made)
            bh_die("audit", "a decision did not replay to a proof");
    }

    if (rebuild) {
        long done = 0, done1 = 0;
        double rb1 = bench_rebuild(es, 1, &done1);
        printf("(a1)      atbalsts report rebuild on one thread, %ld events  %10.0f events/s\n", done1, rb1);
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        double rb = bench_rebuild(es, cpus < 1 ? 1 : cpus > 4 ? 4 : (int)cpus, &done);
        if (!audits) {
            double base2 = bench_read(es, &events);
            base = base1 > base2 ? base1 : base2;
            printf("baseline  (again, after the rebuild)                        %10.0f events/s; best %0.f\n", base2,
                   base);
        }
        printf("(a1)      atbalsts report rebuild, one thread                           %10.0f events/s     %5.1f%% of "
               "baseline\n", rb1, 100.0 * rb1 / base);
        printf("(a)       atbalsts report rebuild, every projection, %ld events %10.0f events/s     %5.1f%% of "
               "baseline\n", done, rb, 100.0 * rb / base);
        if (sql_ll(c, "SELECT count(*) FROM reporting.decisions") != decisions_made)
            bh_die("projection", "reporting.decisions does not have a row per decision");
    }
    es_close(es);
    ruleset_cache_free(files);
    PQfinish(c);
    if (strcmp(bh_env("ATB_BENCH_KEEP", "0"), "1") == 0) {
        printf("kept database %s\n", db);
    } else {
        snprintf(sql, sizeof sql, "DROP DATABASE %s WITH (FORCE)", db);
        bh_exec(admin, sql);
    }
    PQfinish(admin);
    return 0;
}
