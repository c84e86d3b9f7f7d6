/*
 * bench_intake.c -- intake commands per second end to end, against the raw append of the
 * event log, in one run against the same servers:
 *
 *   service   C concurrent clients over NATS to a running atbalsts-intake, each working
 *             through "family files" one command at a time (request -> checked, folded,
 *             appended in PostgreSQL with its identity and note rows in one transaction
 *             -> reply), C = 1, 8, 32, 64 in flight. A file is what a caseworker records for
 *             a new client household: RegisterPerson per member (1-4), RecordPersonFact
 *             (residence with its address, employment), CreateHousehold, SubmitApplication
 *             (needy status + GMI), SubmitDeclaration (three months' income, two expense
 *             documents, one too old), RecordHomeVisit, MakeAgreement (two duties),
 *             OpenCase, LogActivity twice, CompleteApplication.
 *   baseline  es_append() of single events from C threads (the group committer, as
 *             bench_log's (b)), with payloads the service wrote in this run, one new
 *             stream and command id per event.
 *
 * Each level runs three rounds of (service, then as many baseline events as the service
 * appended). It prints the medians of the rounds' commands/s, events/s and ratios to the
 * baseline at the same concurrency, the rounds' spread, p50 and p99 latency per level and
 * per command. It asserts nothing.
 *
 * Usage: bench_intake [FILES_PER_LEVEL [LEVEL ...]]   (default 240 files; levels 1 8 32 64)
 * The service binary: ATB_INTAKE_BIN, else ../services/intake/atbalsts-intake next to this
 * program's directory (the build tree's layout); its handler threads: ATB_BENCH_WORKERS
 * (default 8, the service's own default). Servers: ATB_PG_HOST, ATB_PG_PORT, ATB_PG_SUPERUSER and ATB_NATS_URL as
 * for the tests. It makes its own database and subject prefix and removes them at the end.
 */
#include <libgen.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <libpq-fe.h>

#include "at_uuid.h"
#include "bus.h"
#include "es.h"
#include "atb/v1/intake.pb-c.h"

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

/* What to undo when the program ends early: the service child and the database. */
static pid_t service_pid;
static char drop_sql[160], root_ci[512];

static void die(const char *what, const char *why)
{
    fprintf(stderr, "bench_intake: %s: %s\n", what, why);
    exit(1);
}

static void undo(void)
{
    if (service_pid > 0) {
        kill(service_pid, SIGTERM);
        int st;
        waitpid(service_pid, &st, 0);
        service_pid = 0;
    }
    if (drop_sql[0]) {
        PGconn *c = PQconnectdb(root_ci);
        PQclear(PQexec(c, drop_sql));
        PQfinish(c);
        drop_sql[0] = 0;
    }
}

static void conninfo(char *buf, size_t n, const char *user, const char *db)
{
    snprintf(buf, n, "host=%s port=%s user=%s dbname=%s", env_or("ATB_PG_HOST", "127.0.0.1"),
             env_or("ATB_PG_PORT", "54329"), user, db);
}

static void exec_or_die(const char *ci, const char *sql)
{
    PGconn *c = PQconnectdb(ci);
    if (PQstatus(c) != CONNECTION_OK)
        die("connect", PQerrorMessage(c));
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
        die(sql, PQerrorMessage(c));
    PQclear(r);
    PQfinish(c);
}

static char *show(const char *ci, const char *setting)
{
    PGconn *c = PQconnectdb(ci);
    char sql[64];
    snprintf(sql, sizeof sql, "SHOW %s", setting);
    PGresult *r = PQexec(c, sql);
    char *v = strdup(PQresultStatus(r) == PGRES_TUPLES_OK ? PQgetvalue(r, 0, 0) : "?");
    PQclear(r);
    PQfinish(c);
    return v;
}

/* ---- latencies ---------------------------------------------------------------------- */

/* The commands of a file, in the order a caseworker gives them. */
enum kind {
    K_REGISTER, K_FACT, K_HOUSEHOLD, K_APPLICATION, K_DECLARATION, K_VISIT, K_AGREEMENT, K_CASE,
    K_ACTIVITY, K_COMPLETE, N_KINDS
};
static const char *const kind_name[N_KINDS] = {
    "RegisterPerson", "RecordPersonFact", "CreateHousehold", "SubmitApplication", "SubmitDeclaration",
    "RecordHomeVisit", "MakeAgreement", "OpenCase", "LogActivity", "CompleteApplication",
};

/* A growable list of latencies in seconds. */
typedef struct samples {
    double *v;
    size_t n, cap;
} samples;

static void samples_add(samples *s, double x)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 256;
        s->v = realloc(s->v, s->cap * sizeof *s->v);
        if (!s->v)
            die("samples", "out of memory");
    }
    s->v[s->n++] = x;
}

static void samples_merge(samples *into, const samples *from)
{
    for (size_t i = 0; i < from->n; i++)
        samples_add(into, from->v[i]);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The q-quantile (nearest rank) in ms; sorts s. */
static double quantile_ms(samples *s, double q)
{
    if (s->n == 0)
        return 0;
    qsort(s->v, s->n, sizeof *s->v, cmp_double);
    size_t rank = (size_t)(q * (double)s->n + 0.999999);
    if (rank < 1)
        rank = 1;
    if (rank > s->n)
        rank = s->n;
    return 1000.0 * s->v[rank - 1];
}

/* ---- the clients ---------------------------------------------------------------------- */

static bus *client;
static char prefix[64];
static atomic_uint next_code;          /* personal codes 32NNNN-NNNNN, unique in the run */
static atomic_int first_error_shown;

typedef struct caseworker {
    unsigned first, count;             /* files first .. first + count - 1 */
    samples lat[N_KINDS];
    long commands, events, errors;
} caseworker;

/* Send one command and wait for its CommandReply. On success copy the reply's key into
 * key (when not NULL) and return true. */
static bool call(caseworker *c, enum kind k, const ProtobufCMessage *msg, char key[37])
{
    char subject[192];
    snprintf(subject, sizeof subject, "%s.cmd.daugavpils.intake.%s", prefix, kind_name[k]);
    natsMsg *reply = NULL;
    at_error err;
    double t0 = now_s();
    at_code rc = bus_request(client, subject, msg, 30000, &reply, &err);
    double dt = now_s() - t0;
    if (rc != AT_OK) {
        if (atomic_fetch_add(&first_error_shown, 1) == 0)
            fprintf(stderr, "bench_intake: %s: %s\n", kind_name[k], err.message);
        c->errors++;
        return false;
    }
    Atb__V1__CommandReply *r = atb__v1__command_reply__unpack(NULL, (size_t)natsMsg_GetDataLength(reply),
                                                              (const uint8_t *)natsMsg_GetData(reply));
    natsMsg_Destroy(reply);
    bool ok = r && !(r->error && r->error->code);
    if (!ok) {
        if (atomic_fetch_add(&first_error_shown, 1) == 0)
            fprintf(stderr, "bench_intake: %s: %s (%s)\n", kind_name[k], r && r->error ? r->error->message : "?",
                    r && r->error ? r->error->detail : "not a CommandReply");
        c->errors++;
    } else {
        samples_add(&c->lat[k], dt);
        c->commands++;
        c->events += r->last_position - r->first_position + 1;
        if (key)
            snprintf(key, 37, "%s", r->key);
    }
    if (r)
        atb__v1__command_reply__free_unpacked(r, NULL);
    return ok;
}

static void meta_init(Atb__V1__CommandMeta *m, char id[37])
{
    atb__v1__command_meta__init(m);
    at_uuid_v4(id);
    m->command_id = id;
    m->actor = "user:bench";
}

static Atb__V1__Date *date(Atb__V1__Date *d, int y, int m, int day)
{
    atb__v1__date__init(d);
    d->year = y;
    d->month = m;
    d->day = day;
    return d;
}

#define MAXM 4
static const char *const given[2][4] = {{"Ilze", "Anna", "Līga", "Marta"}, {"Jānis", "Pēteris", "Andris", "Roberts"}};
static const char *const family[2] = {"Ozola", "Ozols"};

/* One family file. False as soon as a command fails: the rest depend on it. */
static bool file(caseworker *c, unsigned i)
{
    int members = 1 + (int)(i % MAXM), adults = members == 1 ? 1 : 2;
    char key[MAXM][37], hh[37], app[37], agr[37], cas[37], id[37];
    Atb__V1__CommandMeta meta;
    Atb__V1__Date d1, d2, d3;

    /* the members */
    for (int k = 0; k < members; k++) {
        char code[16];
        snprintf(code, sizeof code, "32%09u", atomic_fetch_add(&next_code, 1) % 1000000000u);
        int female = (int)((i + (unsigned)k) % 2 == 0);
        Atb__V1__RegisterPerson rp = ATB__V1__REGISTER_PERSON__INIT;
        meta_init(&meta, id);
        rp.meta = &meta;
        rp.personal_code = code;
        rp.given_name = (char *)given[!female][(i + (unsigned)k) % 4];
        rp.family_name = (char *)family[!female];
        rp.birth_date = k < adults ? date(&d1, 1975 + k, 1 + (int)(i % 12), 1 + (int)(i % 28))
                                   : date(&d1, 2006 + k, 1 + (int)(i % 12), 1 + (int)(i % 28));
        rp.sex = female ? ATB__V1__SEX__FEMALE : ATB__V1__SEX__MALE;
        if (!call(c, K_REGISTER, &rp.base, key[k]))
            return false;
    }

    /* the applicant's declared residence (address to the note store) and employment */
    Atb__V1__RecordPersonFact rf = ATB__V1__RECORD_PERSON_FACT__INIT;
    Atb__V1__PersonFact f = ATB__V1__PERSON_FACT__INIT;
    meta_init(&meta, id);
    rf.meta = &meta;
    rf.person_key = key[0];
    rf.fact = &f;
    f.kind = ATB__V1__PERSON_FACT_KIND__PERSON_FACT_KIND_RESIDENCE;
    f.from = date(&d1, 2012, 5, 1);
    f.municipality = "daugavpils";
    rf.address = "Vienības iela 8-12, Daugavpils, LV-5401";
    if (!call(c, K_FACT, &rf.base, NULL))
        return false;
    atb__v1__person_fact__init(&f);
    meta_init(&meta, id);
    rf.address = "";
    f.kind = ATB__V1__PERSON_FACT_KIND__PERSON_FACT_KIND_EMPLOYMENT;
    f.from = date(&d1, 2017, 11, 1);
    f.employment = ATB__V1__EMPLOYMENT__EMPLOYMENT_REGISTERED_UNEMPLOYED;
    if (!call(c, K_FACT, &rf.base, NULL))
        return false;

    /* the household */
    Atb__V1__CreateHousehold ch = ATB__V1__CREATE_HOUSEHOLD__INIT;
    Atb__V1__MemberIn mi[MAXM], *mp[MAXM];
    Atb__V1__Date joined;
    date(&joined, 2015, 1, 1);
    for (int k = 0; k < members; k++) {
        atb__v1__member_in__init(&mi[k]);
        mi[k].person_key = key[k];
        mi[k].relationship = k == 0 ? ATB__V1__RELATIONSHIP__RELATIONSHIP_APPLICANT
                             : k < adults ? ATB__V1__RELATIONSHIP__RELATIONSHIP_SPOUSE
                                          : ATB__V1__RELATIONSHIP__RELATIONSHIP_CHILD;
        mi[k].joined = &joined;
        mp[k] = &mi[k];
    }
    meta_init(&meta, id);
    ch.meta = &meta;
    ch.members = mp;
    ch.n_members = (size_t)members;
    if (!call(c, K_HOUSEHOLD, &ch.base, hh))
        return false;

    /* the application: needy status, then GMI */
    Atb__V1__SubmitApplication sa = ATB__V1__SUBMIT_APPLICATION__INIT;
    Atb__V1__Ask ask[2], *ap[2];
    for (int k = 0; k < 2; k++) {
        atb__v1__ask__init(&ask[k]);
        ap[k] = &ask[k];
    }
    ask[0].kind = ATB__V1__ASK_KIND__ASK_KIND_NEEDY_STATUS;
    ask[1].kind = ATB__V1__ASK_KIND__ASK_KIND_GMI;
    meta_init(&meta, id);
    sa.meta = &meta;
    sa.applicant = key[0];
    sa.household_key = hh;
    sa.asks = ap;
    sa.n_asks = 2;
    sa.received = date(&d1, 2018, 3, 15);
    sa.channel = (i % 3 == 0) ? ATB__V1__CHANNEL__CHANNEL_RECEPTION_POINT : ATB__V1__CHANNEL__CHANNEL_OFFICE;
    sa.social_worker = "user:bench";
    if (!call(c, K_APPLICATION, &sa.base, app))
        return false;

    /* the declaration: three months of wages, two expense documents (one too old) */
    Atb__V1__SubmitDeclaration sd = ATB__V1__SUBMIT_DECLARATION__INIT;
    Atb__V1__MonthlyIncome inc[3], *ip[3];
    Atb__V1__Date month[3], issued[2];
    static const int months[3][2] = {{2017, 12}, {2018, 1}, {2018, 2}};
    for (int k = 0; k < 3; k++) {
        atb__v1__monthly_income__init(&inc[k]);
        inc[k].member = key[0];
        inc[k].type = "wage";
        inc[k].month = date(&month[k], months[k][0], months[k][1], 1);
        inc[k].amount_cents = 2000 + (int64_t)((i * 7919u) % 13001u) * members;
        ip[k] = &inc[k];
    }
    Atb__V1__Expense ex[2], *ep[2];
    for (int k = 0; k < 2; k++) {
        atb__v1__expense__init(&ex[k]);
        ep[k] = &ex[k];
    }
    ex[0].kind = "heating";
    ex[0].amount_cents = 6420;
    ex[0].document = "AS Daugavpils Siltums 2018/02";
    ex[0].issued = date(&issued[0], 2018, 2, 10);
    ex[1].kind = "medical";
    ex[1].amount_cents = 1850;
    ex[1].document = "aptieka 1166";
    ex[1].issued = date(&issued[1], 2016, 12, 1);   /* more than 12 months before */
    meta_init(&meta, id);
    sd.meta = &meta;
    sd.application_id = app;
    sd.incomes = ip;
    sd.n_incomes = 3;
    sd.housing_expenses_cents = 9500;
    sd.expenses = ep;
    sd.n_expenses = 2;
    sd.declared_on = date(&d1, 2018, 3, 15);
    if (!call(c, K_DECLARATION, &sd.base, NULL))
        return false;

    /* the home visit */
    Atb__V1__RecordHomeVisit hv = ATB__V1__RECORD_HOME_VISIT__INIT;
    char *found[MAXM], *cond[1] = {"adequate"};
    for (int k = 0; k < members; k++)
        found[k] = key[k];
    meta_init(&meta, id);
    hv.meta = &meta;
    hv.household_key = hh;
    hv.application_id = app;
    hv.visited_on = date(&d1, 2018, 3, 19);
    hv.found = found;
    hv.n_found = (size_t)members;
    hv.conditions = cond;
    hv.n_conditions = 1;
    hv.findings = "Dzīvoklis ir tīrs un apsildīts; visi ģimenes locekļi dzīvo norādītajā adresē.";
    hv.social_worker = "user:bench";
    if (!call(c, K_VISIT, &hv.base, NULL))
        return false;

    /* the co-operation agreement of the applicant (registered unemployed) */
    Atb__V1__MakeAgreement ma = ATB__V1__MAKE_AGREEMENT__INIT;
    Atb__V1__Duty du[2], *dp[2];
    for (int k = 0; k < 2; k++) {
        atb__v1__duty__init(&du[k]);
        dp[k] = &du[k];
    }
    du[0].kind = "seek_work";
    du[0].due = date(&d2, 2018, 4, 30);
    du[0].text = "Katru nedēļu pieteikties vismaz divās vakancēs un iesniegt apliecinājumu.";
    du[1].kind = "meet_social_worker";
    du[1].due = date(&d3, 2018, 4, 15);
    du[1].text = "Tikšanās ar sociālo darbinieku.";
    meta_init(&meta, id);
    ma.meta = &meta;
    ma.person_key = key[0];
    ma.application_id = app;
    ma.signed_on = date(&d1, 2018, 3, 19);
    ma.duties = dp;
    ma.n_duties = 2;
    if (!call(c, K_AGREEMENT, &ma.base, agr))
        return false;

    /* the case and two lines of its activity log */
    Atb__V1__OpenCase oc = ATB__V1__OPEN_CASE__INIT;
    meta_init(&meta, id);
    oc.meta = &meta;
    oc.person_key = key[0];
    oc.household_key = hh;
    oc.sector = "social_assistance";
    oc.social_worker = "user:bench";
    oc.opened_on = date(&d1, 2018, 3, 15);
    if (!call(c, K_CASE, &oc.base, cas))
        return false;
    static const char *const act_kind[2] = {"consultation", "phone_call"};
    static const char *const act_text[2] = {"Konsultācija par iztikas līdzekļu deklarāciju.",
                                            "Zvans: atgādinājums par NVA reģistrāciju."};
    for (int k = 0; k < 2; k++) {
        Atb__V1__LogActivity la = ATB__V1__LOG_ACTIVITY__INIT;
        meta_init(&meta, id);
        la.meta = &meta;
        la.case_key = cas;
        la.kind = (char *)act_kind[k];
        la.on = date(&d1, 2018, 3, 15 + k);
        la.text = (char *)act_text[k];
        if (!call(c, K_ACTIVITY, &la.base, NULL))
            return false;
    }

    /* the file is complete: intake assembles the household as of the decision date */
    Atb__V1__CompleteApplication ca = ATB__V1__COMPLETE_APPLICATION__INIT;
    meta_init(&meta, id);
    ca.meta = &meta;
    ca.application_id = app;
    ca.decision_date = date(&d1, 2018, 3, 20);
    return call(c, K_COMPLETE, &ca.base, NULL);
}

static void *client_run(void *p)
{
    caseworker *c = p;
    for (unsigned i = 0; i < c->count; i++)
        file(c, c->first + i);
    return NULL;
}

/* ---- the service ------------------------------------------------------------------------- */

static pid_t start_service(const char *exe, const char *db, const char *admin, const char *workers)
{
    char pg[512], env_pg[600], env_admin[600], env_prefix[128], env_stream[128], env_nats[300], env_workers[64];
    conninfo(pg, sizeof pg, "atb_intake", db);
    snprintf(env_pg, sizeof env_pg, "ATB_PG_URL=%s", pg);
    snprintf(env_admin, sizeof env_admin, "ATB_PG_ADMIN_URL=%s", admin);
    snprintf(env_prefix, sizeof env_prefix, "ATB_PREFIX=%s", prefix);
    snprintf(env_stream, sizeof env_stream, "ATB_STREAM=%s", prefix);
    snprintf(env_nats, sizeof env_nats, "ATB_NATS_URL=%s", env_or("ATB_NATS_URL", "nats://127.0.0.1:4229"));
    snprintf(env_workers, sizeof env_workers, "ATB_WORKERS=%s", workers);
    char *envp[] = {env_pg, env_admin, env_prefix, env_stream, env_nats, env_workers,
                    "ATB_HTTP_PORT=0", "ATB_LOG_LEVEL=warn", NULL};
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        execle(exe, exe, (char *)NULL, envp);
        _exit(127);
    }
    if (pid < 0)
        die("fork", "failed");
    return pid;
}

/* Wait until the service answers a query (its answer is NOT_FOUND: any reply will do). */
static void wait_ready(void)
{
    char subject[192];
    snprintf(subject, sizeof subject, "%s.qry.daugavpils.intake.GetPerson", prefix);
    Atb__V1__GetPerson g = ATB__V1__GET_PERSON__INIT;
    g.person_key = "00000000-0000-4000-8000-000000000000";
    double t0 = now_s();
    for (;;) {
        natsMsg *reply = NULL;
        at_error err;
        if (bus_request(client, subject, &g.base, 1000, &reply, &err) == AT_OK) {
            natsMsg_Destroy(reply);
            return;
        }
        if (now_s() - t0 > 30)
            die("service", "no answer within 30 s");
        struct timespec ts = {0, 100000000L};
        nanosleep(&ts, NULL);
    }
}

/* ---- the baseline: single-event appends ----------------------------------------------------- */

typedef struct payload {
    char *type;
    uint8_t *data;
    size_t len;
} payload;

static payload *payloads;
static size_t n_payloads;

/* Events the service appended in this run, in log order: the baseline appends the same
 * bytes, so both sides write the same mix of sizes. */
static void load_payloads(const char *admin)
{
    PGconn *c = PQconnectdb(admin);
    PGresult *r = PQexecParams(c, "SELECT type, payload FROM atb.events ORDER BY position LIMIT 4000", 0, NULL,
                               NULL, NULL, NULL, 1);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) == 0)
        die("payloads", "no events in the log");
    n_payloads = (size_t)PQntuples(r);
    payloads = calloc(n_payloads, sizeof *payloads);
    for (size_t i = 0; i < n_payloads; i++) {
        payloads[i].type = strdup(PQgetvalue(r, (int)i, 0));
        payloads[i].len = (size_t)PQgetlength(r, (int)i, 1);
        payloads[i].data = malloc(payloads[i].len + 1);
        memcpy(payloads[i].data, PQgetvalue(r, (int)i, 1), payloads[i].len);
    }
    PQclear(r);
    PQfinish(c);
}

struct appender {
    es_store *es;
    long first, count;
    long failures;
};

static void *append_run(void *p)
{
    struct appender *a = p;
    for (long i = 0; i < a->count; i++) {
        const payload *pl = &payloads[(size_t)(a->first + i) % n_payloads];
        char key[37], stream[64], cmd[37];
        at_uuid_v4(key);
        at_uuid_v4(cmd);
        snprintf(stream, sizeof stream, "benchbase-%s", key);
        es_event_in ev = {.type = pl->type, .payload = pl->data, .payload_len = pl->len};
        es_append_req req = {.tenant = "daugavpils", .stream_id = stream, .expected_version = ES_VERSION_NONE,
                             .command_id = cmd, .actor = "user:bench", .events = &ev, .n_events = 1};
        es_append_res res;
        at_error err;
        if (es_append(a->es, &req, &res, &err) != ES_OK && a->failures++ == 0)
            fprintf(stderr, "bench_intake: es_append: %s\n", err.message);
    }
    return NULL;
}

/* n single-event appends from `threads` threads; appends/s. */
static double baseline(const char *ci, int threads, long n, es_store_stats *st)
{
    es_config cfg = {.conninfo = ci, .pool_size = 1, .application_name = "bench_intake"};
    es_store *es = NULL;
    at_error err;
    if (es_open(&es, &cfg, &err) != ES_OK)
        die("es_open", err.message);
    pthread_t *th = calloc((size_t)threads, sizeof *th);
    struct appender *ap = calloc((size_t)threads, sizeof *ap);
    long first = 0;
    double t0 = now_s();
    for (int i = 0; i < threads; i++) {
        ap[i] = (struct appender){.es = es, .first = first, .count = n / threads + (i < n % threads)};
        first += ap[i].count;
        pthread_create(&th[i], NULL, append_run, &ap[i]);
    }
    long failures = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(th[i], NULL);
        failures += ap[i].failures;
    }
    double t = now_s() - t0;
    es_stats(es, st);
    es_close(es);
    free(th);
    free(ap);
    if (failures)
        die("baseline", "some appends failed");
    return (double)st->events / t;
}

/* ---- one level ------------------------------------------------------------------------------ */

/* Each level runs in rounds, each round the service and then the baseline, and reports
 * the medians: on a shared machine a burst of other work then hits one round of both
 * sides, not a whole level of one side. */
#define ROUNDS 3

typedef struct level_result {
    int clients;
    long commands, events, errors;
    samples all, per[N_KINDS];          /* latencies of every round */
    double cps[ROUNDS], eps[ROUNDS], base[ROUNDS];
    es_store_stats base_st;             /* the last round's baseline */
} level_result;

/* `files` files from `clients` clients; adds to L; the round's commands/s and events/s. */
static void run_round(level_result *L, int clients, unsigned files, unsigned *next_file, double *cps, double *eps)
{
    L->clients = clients;
    pthread_t *th = calloc((size_t)clients, sizeof *th);
    caseworker *cl = calloc((size_t)clients, sizeof *cl);
    unsigned per = files / (unsigned)clients, extra = files % (unsigned)clients;
    double t0 = now_s();
    for (int i = 0; i < clients; i++) {
        cl[i].first = *next_file;
        cl[i].count = per + ((unsigned)i < extra);
        *next_file += cl[i].count;
        pthread_create(&th[i], NULL, client_run, &cl[i]);
    }
    for (int i = 0; i < clients; i++)
        pthread_join(th[i], NULL);
    double seconds = now_s() - t0;
    long commands = 0, events = 0;
    for (int i = 0; i < clients; i++) {
        commands += cl[i].commands;
        events += cl[i].events;
        L->errors += cl[i].errors;
        for (int k = 0; k < N_KINDS; k++) {
            samples_merge(&L->all, &cl[i].lat[k]);
            samples_merge(&L->per[k], &cl[i].lat[k]);
            free(cl[i].lat[k].v);
        }
    }
    L->commands += commands;
    L->events += events;
    *cps = (double)commands / seconds;
    *eps = (double)events / seconds;
    free(th);
    free(cl);
}

static double median3(double a, double b, double c)
{
    return a > b ? (b > c ? b : (a > c ? c : a)) : (a > c ? a : (b > c ? c : b));
}

static void level_free(level_result *L)
{
    free(L->all.v);
    for (int k = 0; k < N_KINDS; k++)
        free(L->per[k].v);
}

int main(int argc, char **argv)
{
    unsigned files = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 240;
    int levels[16] = {1, 8, 32, 64}, n_levels = 4;
    if (argc > 2) {
        n_levels = 0;
        for (int i = 2; i < argc && n_levels < 16; i++)
            levels[n_levels++] = atoi(argv[i]);
    }
    int max_clients = 0;
    for (int i = 0; i < n_levels; i++) {
        if (levels[i] < 1 || levels[i] > 256)
            die("usage", "bench_intake [FILES_PER_LEVEL [LEVEL 1..256 ...]]");
        max_clients = levels[i] > max_clients ? levels[i] : max_clients;
    }
    if (files < ROUNDS)
        die("usage", "bench_intake [FILES_PER_LEVEL [LEVEL 1..256 ...]]");

    char self[4096], exe[4200];
    ssize_t sl = readlink("/proc/self/exe", self, sizeof self - 1);
    self[sl > 0 ? sl : 0] = 0;
    snprintf(exe, sizeof exe, "%s", env_or("ATB_INTAKE_BIN", ""));
    if (!exe[0])
        snprintf(exe, sizeof exe, "%s/../services/intake/atbalsts-intake", dirname(self));
    if (access(exe, X_OK) != 0)
        die(exe, "not found (build the atb_intake target, or set ATB_INTAKE_BIN)");
    const char *workers = env_or("ATB_BENCH_WORKERS", "8");

    const char *super = env_or("ATB_PG_SUPERUSER", "postgres");
    char db[64], admin[512], root[512], svc[512];
    snprintf(db, sizeof db, "atb_bench_intake_%d", (int)getpid());
    snprintf(prefix, sizeof prefix, "benchintake%d", (int)getpid());
    conninfo(root, sizeof root, super, "postgres");
    conninfo(admin, sizeof admin, super, db);
    conninfo(svc, sizeof svc, "atb_intake", db);
    char sql[160];
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", db);
    exec_or_die(root, sql);
    snprintf(root_ci, sizeof root_ci, "%s", root);
    snprintf(drop_sql, sizeof drop_sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", db);
    atexit(undo);
    at_error err;
    if (es_migrate(admin, NULL, &err) != ES_OK)
        die("es_migrate", err.message);

    bus_config bc = {.url = env_or("ATB_NATS_URL", "nats://127.0.0.1:4229"), .prefix = prefix, .stream = prefix,
                     .name = "bench_intake"};
    if (bus_connect(&client, &bc, &err) != AT_OK)
        die("bus_connect", err.message);
    /* the stream the service's consumer (intake-decisions) reads; nothing is relayed into
     * it here, so the consumer idles instead of retrying */
    if (bus_stream_ensure(client, &err) != AT_OK)
        die("bus_stream_ensure", err.message);
    service_pid = start_service(exe, db, admin, workers);
    wait_ready();

    /* a few files first: the service's connections, plans and caches warm up, and the
     * baseline gets real payloads to append */
    unsigned next_file = 0;
    level_result warm = {0};
    double ignored_cps, ignored_eps;
    run_round(&warm, 4, 16, &next_file, &ignored_cps, &ignored_eps);
    if (warm.errors)
        die("warm-up", "the service refused commands of the mix (see above)");
    level_free(&warm);
    load_payloads(admin);
    size_t payload_bytes = 0;
    for (size_t i = 0; i < n_payloads; i++)
        payload_bytes += payloads[i].len;

    level_result *res = calloc((size_t)n_levels, sizeof *res);
    for (int l = 0; l < n_levels; l++) {
        level_result *L = &res[l];
        for (int r = 0; r < ROUNDS; r++) {
            long before = L->events;
            run_round(L, levels[l], files / ROUNDS + ((unsigned)r < files % ROUNDS), &next_file, &L->cps[r],
                      &L->eps[r]);
            long n = L->events - before > 1000 ? L->events - before : 1000;
            L->base[r] = baseline(svc, levels[l], n, &L->base_st);
        }
    }

    char *fsync = show(admin, "fsync"), *sync = show(admin, "synchronous_commit"), *ver = show(admin, "server_version");
    printf("bench_intake: %u family files per level (1-%d members, %.1f commands each on average), service "
           "workers %s; PostgreSQL %s fsync=%s synchronous_commit=%s; event payloads %.0f bytes on average\n",
           files, MAXM, 11 + (1 + MAXM) / 2.0, workers, ver, fsync, sync, (double)payload_bytes / (double)n_payloads);
    printf("  each level: %d rounds of (service, then baseline); rates and ratios are the medians of the "
           "rounds, latencies over all rounds\n", ROUNDS);
    printf("\n  %-9s %10s %10s %8s %8s %14s %9s %17s %9s\n", "in flight", "commands/s", "events/s", "p50 ms",
           "p99 ms", "base appends/s", "cmd/base", "(rounds min-max)", "ev/base");
    for (int l = 0; l < n_levels; l++) {
        level_result *L = &res[l];
        double rc[ROUNDS], re[ROUNDS], lo = 1e300, hi = 0;
        for (int r = 0; r < ROUNDS; r++) {
            rc[r] = L->cps[r] / L->base[r];
            re[r] = L->eps[r] / L->base[r];
            lo = rc[r] < lo ? rc[r] : lo;
            hi = rc[r] > hi ? rc[r] : hi;
        }
        printf("  %-9d %10.0f %10.0f %8.1f %8.1f %14.0f %9.3f %8.3f-%-8.3f %9.3f%s\n", L->clients,
               median3(L->cps[0], L->cps[1], L->cps[2]), median3(L->eps[0], L->eps[1], L->eps[2]),
               quantile_ms(&L->all, 0.50), quantile_ms(&L->all, 0.99), median3(L->base[0], L->base[1], L->base[2]),
               median3(rc[0], rc[1], rc[2]), lo, hi, median3(re[0], re[1], re[2]),
               L->errors ? "  (errors, see above)" : "");
    }
    printf("\n  baseline: es_append, 1 event per append, one new stream and command id each, the service's "
           "payloads; group commit at each level:\n");
    for (int l = 0; l < n_levels; l++) {
        es_store_stats *st = &res[l].base_st;
        printf("    %3d threads: %llu events in %llu groups (avg %.1f appends, max %llu)\n", res[l].clients,
               (unsigned long long)st->events, (unsigned long long)st->groups,
               st->groups ? (double)st->appends / (double)st->groups : 0.0, (unsigned long long)st->max_group);
    }

    /* per command, at the highest level and at 1 in flight */
    for (int pass = 0; pass < 2; pass++) {
        level_result *L = NULL;
        for (int l = 0; l < n_levels; l++)
            if (!L || (pass == 0 ? res[l].clients > L->clients : res[l].clients < L->clients))
                L = &res[l];
        if (pass == 1 && n_levels == 1)
            break;
        printf("\n  per command, %d in flight:            count    p50 ms    p99 ms\n", L->clients);
        for (int k = 0; k < N_KINDS; k++)
            printf("    %-30s %9zu %9.1f %9.1f\n", kind_name[k], L->per[k].n, quantile_ms(&L->per[k], 0.50),
                   quantile_ms(&L->per[k], 0.99));
    }

    for (int l = 0; l < n_levels; l++)
        level_free(&res[l]);
    free(res);
    for (size_t i = 0; i < n_payloads; i++) {
        free(payloads[i].type);
        free(payloads[i].data);
    }
    free(payloads);
    free(fsync);
    free(sync);
    free(ver);
    bus_stream_delete(client, NULL);
    bus_close(client);
    nats_Close();
    undo();
    return 0;
}
