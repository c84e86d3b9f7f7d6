/*
 * bench_means.c -- decisions per second of the means service, end to end, against the
 * raw append of the event log and the pure calculation, all in one run:
 *
 *   baseline  es_append() of single events from N threads (the group committer), each
 *             event a recorded decision's payload, as the service's appends carry;
 *   service   AssessApplication requests from N concurrent clients over NATS to a running
 *             atbalsts-means: validate, lock the household, read its history, decide
 *             needy status and GMI, record the grants and append both decision events in
 *             one transaction, reply;
 *   consumer  the same household mix as ApplicationCompleted events appended to the log
 *             (as intake appends them), relayed to JetStream by atbalsts-relay, decided by
 *             the service's durable consumer: from the first event appended to the last
 *             decision in the log (event in -> decisions appended);
 *   pure      rules_decide() alone (libs/rules) on the same household mix, one thread,
 *             with the rule set loaded from the RuleSetPublished event the service wrote.
 *
 * The household mix: 1 to 6 members (one or two working-age adults, the rest children),
 * average incomes per member from 20 to 150 EUR, in Daugavpils on 2018-03-15: most get
 * needy status (up to 128.06), about a quarter also GMI (below the 53.00 level). It prints applications/s,
 * decisions/s (events) and the ratios; it asserts nothing.
 *
 * Usage: bench_means [APPLICATIONS [CLIENTS]]   (default 2000 applications, 16 clients)
 * The service binaries: ATB_MEANS_BIN and ATB_RELAY_BIN, else ../services/means/atbalsts-means
 * and ../services/relay/atbalsts-relay next to this program's directory (the build tree's
 * layout). Servers: ATB_PG_HOST, ATB_PG_PORT,
 * ATB_PG_SUPERUSER and ATB_NATS_URL as for the tests. It makes its own database and
 * subject prefix and removes them at the end.
 */
#include <libgen.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <libpq-fe.h>

#include "at_date.h"
#include "at_uuid.h"
#include "bus.h"
#include "es.h"
#include "rules.h"
#include "atb/v1/intake.pb-c.h"
#include "atb/v1/means.pb-c.h"

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
static pid_t service_pid, relay_pid;
static char drop_sql[160], root_ci[512];

static void die(const char *what, const char *why)
{
    fprintf(stderr, "bench_means: %s: %s\n", what, why);
    exit(1);
}

static void undo(void)
{
    pid_t *pids[2] = {&service_pid, &relay_pid};
    for (int i = 0; i < 2; i++)
        if (*pids[i] > 0) {
            kill(*pids[i], SIGTERM);
            int st;
            waitpid(*pids[i], &st, 0);
            *pids[i] = 0;
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

/* ---- the household mix ---------------------------------------------------------------- */

#define MAXM 6

typedef struct household {
    int size;              /* members */
    int adults;
    int64_t month_cents;   /* household income each month (wage of member 0) */
} household;

static household mix(unsigned i)
{
    household h;
    h.size = 1 + (int)(i % MAXM);
    h.adults = h.size == 1 ? 1 : 2;
    int64_t per_person = 2000 + (int64_t)((i * 7919u) % 13001u);   /* 20.00 .. 150.00 */
    h.month_cents = per_person * h.size;
    return h;
}

/* One AssessApplication with its storage. */
typedef struct app_msg {
    char app_id[37], hh_id[37], cmd_id[37], key[MAXM][37];
    Atb__V1__AssessApplication cmd;
    Atb__V1__CommandMeta meta;
    Atb__V1__Application app;
    Atb__V1__Household hh;
    Atb__V1__HouseholdMember m[MAXM], *mp[MAXM];
    Atb__V1__MonthlyIncome inc[3], *ip[3];
    Atb__V1__Ask ask[2], *ap[2];
    Atb__V1__Date on, birth[MAXM], month[3];
} app_msg;

static char *adult_flags[2] = {"able_to_work", "registered_unemployed"};

static void set_date(Atb__V1__Date *p, int y, int m, int d)
{
    atb__v1__date__init(p);
    p->year = y;
    p->month = m;
    p->day = d;
}

static void build(app_msg *a, household h)
{
    memset(a, 0, sizeof *a);
    at_uuid_v4(a->app_id);
    at_uuid_v4(a->hh_id);
    at_uuid_v4(a->cmd_id);
    atb__v1__assess_application__init(&a->cmd);
    atb__v1__command_meta__init(&a->meta);
    atb__v1__application__init(&a->app);
    atb__v1__household__init(&a->hh);
    a->meta.command_id = a->cmd_id;
    a->meta.actor = "user:bench";
    a->cmd.meta = &a->meta;
    a->cmd.application = &a->app;
    a->cmd.household = &a->hh;
    set_date(&a->on, 2018, 3, 15);
    a->app.id = a->app_id;
    a->app.decision_date = &a->on;
    for (int i = 0; i < h.size; i++) {
        at_uuid_v4(a->key[i]);
        atb__v1__household_member__init(&a->m[i]);
        a->m[i].key = a->key[i];
        bool adult = i < h.adults;
        set_date(&a->birth[i], adult ? 1975 + i : 2006 + i, 6, 1);
        a->m[i].birth_date = &a->birth[i];
        a->m[i].relationship = i == 0 ? ATB__V1__RELATIONSHIP__RELATIONSHIP_APPLICANT
                                      : adult ? ATB__V1__RELATIONSHIP__RELATIONSHIP_SPOUSE
                                              : ATB__V1__RELATIONSHIP__RELATIONSHIP_CHILD;
        if (adult) {
            a->m[i].flags = adult_flags;
            a->m[i].n_flags = 2;
        }
        a->mp[i] = &a->m[i];
    }
    a->app.applicant = a->key[0];
    a->hh.id = a->hh_id;
    a->hh.members = a->mp;
    a->hh.n_members = (size_t)h.size;
    static const int months[3][2] = {{2017, 12}, {2018, 1}, {2018, 2}};
    for (int i = 0; i < 3; i++) {
        atb__v1__monthly_income__init(&a->inc[i]);
        set_date(&a->month[i], months[i][0], months[i][1], 1);
        a->inc[i].member = a->key[0];
        a->inc[i].type = "wage";
        a->inc[i].month = &a->month[i];
        a->inc[i].amount_cents = h.month_cents;
        a->ip[i] = &a->inc[i];
    }
    a->hh.incomes = a->ip;
    a->hh.n_incomes = 3;
    for (int i = 0; i < 2; i++) {
        atb__v1__ask__init(&a->ask[i]);
        a->ap[i] = &a->ask[i];
    }
    a->ask[0].kind = ATB__V1__ASK_KIND__ASK_KIND_NEEDY_STATUS;
    a->ask[1].kind = ATB__V1__ASK_KIND__ASK_KIND_GMI;
    a->app.asks = a->ap;
    a->app.n_asks = 2;
}

/* ---- the service ----------------------------------------------------------------------- */

static bus *client;
static char prefix[64];

struct client_arg {
    unsigned first, count;
    long decisions, errors;
};

static void *client_run(void *p)
{
    struct client_arg *c = p;
    char subject[160];
    snprintf(subject, sizeof subject, "%s.cmd.daugavpils.means.AssessApplication", prefix);
    app_msg *a = malloc(sizeof *a);
    for (unsigned i = 0; i < c->count; i++) {
        build(a, mix(c->first + i));
        natsMsg *reply = NULL;
        at_error err;
        if (bus_request(client, subject, &a->cmd.base, 30000, &reply, &err) != AT_OK) {
            c->errors++;
            continue;
        }
        Atb__V1__AssessReply *r = atb__v1__assess_reply__unpack(NULL, (size_t)natsMsg_GetDataLength(reply),
                                                                (const uint8_t *)natsMsg_GetData(reply));
        natsMsg_Destroy(reply);
        if (!r || (r->error && r->error->code)) {
            if (r && c->errors == 0)
                fprintf(stderr, "bench_means: %s: %s\n", r->error->message, r->error->detail);
            c->errors++;
        } else {
            c->decisions += (long)r->n_decisions;
        }
        if (r)
            atb__v1__assess_reply__free_unpacked(r, NULL);
    }
    free(a);
    return NULL;
}

static pid_t start_service(const char *exe, const char *role, const char *db, const char *admin)
{
    char pg[512], env_pg[600], env_admin[600], env_prefix[128], env_stream[128], env_nats[300], env_workers[64];
    conninfo(pg, sizeof pg, role, db);
    snprintf(env_pg, sizeof env_pg, "ATB_PG_URL=%s", pg);
    snprintf(env_admin, sizeof env_admin, "ATB_PG_ADMIN_URL=%s", admin);
    snprintf(env_prefix, sizeof env_prefix, "ATB_PREFIX=%s", prefix);
    snprintf(env_stream, sizeof env_stream, "ATB_STREAM=%s", prefix);
    snprintf(env_nats, sizeof env_nats, "ATB_NATS_URL=%s", env_or("ATB_NATS_URL", "nats://127.0.0.1:4229"));
    snprintf(env_workers, sizeof env_workers, "ATB_WORKERS=%s", env_or("ATB_BENCH_WORKERS", "16"));
    char env_rules[1100];
    char *envp[12] = {env_pg, env_admin, env_prefix, env_stream, env_nats, env_workers,
                      "ATB_HTTP_PORT=0", "ATB_LOG_LEVEL=warn", "ATB_MAX_MSG=262144", NULL};
    const char *rules = getenv("ATB_RULESETS");   /* else the service's default */
    if (rules && *rules) {
        snprintf(env_rules, sizeof env_rules, "ATB_RULESETS=%s", rules);
        envp[9] = env_rules;
        envp[10] = NULL;
    }
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

/* ---- the baseline: single-event appends ------------------------------------------------- */

struct appender {
    es_store *es;
    long count;
    const uint8_t *payload;
    size_t len;
};

static void *append_run(void *p)
{
    struct appender *a = p;
    for (long i = 0; i < a->count; i++) {
        char id[37], stream[64], cmd[37];
        at_uuid_v4(id);
        at_uuid_v4(cmd);
        snprintf(stream, sizeof stream, "benchdecision-%s", id);
        es_event_in ev = {.type = "BenefitGranted", .payload = a->payload, .payload_len = a->len};
        es_append_req req = {.tenant = "daugavpils", .stream_id = stream, .expected_version = ES_VERSION_NONE,
                             .command_id = cmd, .actor = "user:bench", .events = &ev, .n_events = 1};
        es_append_res res;
        at_error err;
        if (es_append(a->es, &req, &res, &err) != ES_OK)
            die("es_append", err.message);
    }
    return NULL;
}

/* ---- the consumer: ApplicationCompleted events in -------------------------------------- */

struct completer {
    es_store *es;
    unsigned first, count;
};

static void *complete_run(void *p)
{
    struct completer *c = p;
    app_msg *a = malloc(sizeof *a);
    for (unsigned i = 0; i < c->count; i++) {
        build(a, mix(c->first + i));
        Atb__V1__ApplicationCompleted ac = ATB__V1__APPLICATION_COMPLETED__INIT;
        ac.application_id = a->app_id;
        ac.application = &a->app;
        ac.household = &a->hh;
        uint8_t buf[8192];
        size_t len = atb__v1__application_completed__get_packed_size(&ac);
        if (len > sizeof buf)
            die("ApplicationCompleted", "too large");
        atb__v1__application_completed__pack(&ac, buf);
        char stream[64];
        snprintf(stream, sizeof stream, "application-%s", a->app_id);
        es_event_in ev = {.type = "ApplicationCompleted", .payload = buf, .payload_len = len};
        es_append_req req = {.tenant = "daugavpils", .stream_id = stream, .expected_version = ES_VERSION_ANY,
                             .command_id = a->cmd_id, .actor = "user:bench", .events = &ev, .n_events = 1};
        es_append_res res;
        at_error err;
        if (es_append(c->es, &req, &res, &err) != ES_OK)
            die("es_append", err.message);
    }
    free(a);
    return NULL;
}

static int64_t sql_int(const char *ci, const char *sql)
{
    PGconn *c = PQconnectdb(ci);
    PGresult *r = PQexec(c, sql);
    int64_t v = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 ? strtoll(PQgetvalue(r, 0, 0), NULL, 10)
                                                                          : -1;
    PQclear(r);
    PQfinish(c);
    return v;
}

/* Append n ApplicationCompleted from `clients` threads; wait until the consumer has
 * decided all of them (2 decision events each, or a dead letter). Returns the seconds from
 * the first append to the last decision; *t_in gets the seconds the appends took. */
static double consume(const char *pg, const char *admin, unsigned first, unsigned n, int clients, double *t_in,
                      long *decided)
{
    es_config cfg = {.conninfo = pg, .pool_size = 4, .application_name = "bench_means_in"};
    es_store *es = NULL;
    at_error err;
    if (es_open(&es, &cfg, &err) != ES_OK)
        die("es_open", err.message);
    int64_t before = sql_int(admin, "SELECT count(*) FROM atb.events WHERE category = 'decision'");
    pthread_t th[256];
    struct completer cc[256];
    unsigned per = n / (unsigned)clients, extra = n % (unsigned)clients;
    double t0 = now_s();
    for (int i = 0; i < clients; i++) {
        cc[i] = (struct completer){.es = es, .first = first, .count = per + ((unsigned)i < extra)};
        first += cc[i].count;
        pthread_create(&th[i], NULL, complete_run, &cc[i]);
    }
    for (int i = 0; i < clients; i++)
        pthread_join(th[i], NULL);
    *t_in = now_s() - t0;
    es_close(es);
    int64_t want = before + 2 * (int64_t)n, got = before;
    double last = now_s();
    while (got < want) {
        struct timespec ts = {0, 20000000L};
        nanosleep(&ts, NULL);
        int64_t now = sql_int(admin, "SELECT count(*) FROM atb.events WHERE category = 'decision'");
        int64_t dead = sql_int(admin, "SELECT count(*) FROM atb.dead_letters");
        if (now > got)
            last = now_s();
        got = now;
        if (got + 2 * dead >= want)
            break;
        if (now_s() - last > 30)
            die("consumer", "no progress for 30 s");
    }
    *decided = (long)(got - before);
    return now_s() - t0;
}

/* ---- the pure calculation --------------------------------------------------------------- */

static long pure(const rules_set *set, unsigned n, double *seconds)
{
    rules_member m[MAXM];
    rules_income inc[3];
    char keys[MAXM][16];
    long decisions = 0;
    double t0 = now_s();
    for (unsigned i = 0; i < n; i++) {
        household h = mix(i);
        memset(m, 0, sizeof m);
        for (int k = 0; k < h.size; k++) {
            snprintf(keys[k], sizeof keys[k], "m%d", k);
            m[k].key = keys[k];
            bool adult = k < h.adults;
            at_date_from_ymd(adult ? 1975 + k : 2006 + k, 6, 1, &m[k].birth);
            m[k].relationship = k == 0 ? RULES_REL_APPLICANT : adult ? RULES_REL_SPOUSE : RULES_REL_CHILD;
            m[k].flags = adult ? RULES_MF_ABLE_TO_WORK | RULES_MF_REGISTERED_UNEMPLOYED : 0;
            m[k].disability.from = m[k].disability.to = AT_DATE_NONE;
            m[k].residence_since = AT_DATE_NONE;
        }
        static const int months[3][2] = {{2017, 12}, {2018, 1}, {2018, 2}};
        for (int k = 0; k < 3; k++) {
            inc[k].member = "m0";
            inc[k].type = "wage";
            at_date_from_ymd(months[k][0], months[k][1], 1, &inc[k].month);
            inc[k].amount = h.month_cents;
        }
        rules_household hh = {.id = "h", .members = m, .n_members = (size_t)h.size, .incomes = inc, .n_incomes = 3};
        rules_application a = {.tenant = "daugavpils", .submitted = AT_DATE_NONE, .ask = RULES_ASK_NEEDY_STATUS,
                               .applicant = "m0", .bill_date = AT_DATE_NONE, .event = AT_DATE_NONE};
        at_date_from_ymd(2018, 3, 15, &a.decision);
        rules_result *r = NULL;
        at_error err;
        if (rules_decide(set, &hh, &a, NULL, &r, &err) != AT_OK)
            die("rules_decide", err.message);
        const rules_decision *d = rules_result_decision(r);
        rules_status_record st = {d->status, d->period};
        rules_history hist = {.statuses = &st, .n_statuses = d->outcome == RULES_GRANTED ? 1 : 0};
        rules_result_free(r);
        a.ask = RULES_ASK_GMI;
        if (rules_decide(set, &hh, &a, &hist, &r, &err) != AT_OK)
            die("rules_decide", err.message);
        rules_result_free(r);
        decisions += 2;
    }
    *seconds = now_s() - t0;
    return decisions;
}

int main(int argc, char **argv)
{
    unsigned n = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 2000;
    int clients = argc > 2 ? atoi(argv[2]) : 16;
    if (n == 0 || clients < 1 || clients > 256)
        die("usage", "bench_means [APPLICATIONS [CLIENTS 1..256]]");

    char self[4096], exe[4200];
    ssize_t sl = readlink("/proc/self/exe", self, sizeof self - 1);
    self[sl > 0 ? sl : 0] = 0;
    snprintf(exe, sizeof exe, "%s", env_or("ATB_MEANS_BIN", ""));
    char relay[4200];
    snprintf(relay, sizeof relay, "%s", env_or("ATB_RELAY_BIN", ""));
    char *dir = dirname(self);
    if (!exe[0])
        snprintf(exe, sizeof exe, "%s/../services/means/atbalsts-means", dir);
    if (!relay[0])
        snprintf(relay, sizeof relay, "%s/../services/relay/atbalsts-relay", dir);
    if (access(exe, X_OK) != 0)
        die(exe, "not found (build the atb_means target, or set ATB_MEANS_BIN)");
    if (access(relay, X_OK) != 0)
        die(relay, "not found (build the atb_relay target, or set ATB_RELAY_BIN)");

    const char *super = env_or("ATB_PG_SUPERUSER", "postgres");
    char db[64], admin[512], root[512];
    snprintf(db, sizeof db, "atb_bench_means_%d", (int)getpid());
    snprintf(prefix, sizeof prefix, "benchmeans%d", (int)getpid());
    conninfo(root, sizeof root, super, "postgres");
    conninfo(admin, sizeof admin, super, db);
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
                     .name = "bench_means"};
    if (bus_connect(&client, &bc, &err) != AT_OK)
        die("bus_connect", err.message);
    service_pid = start_service(exe, "atb_means", db, admin);
    relay_pid = start_service(relay, "atb_relay", db, admin);

    /* wait until it answers; the first request also publishes the rule sets */
    struct client_arg warm = {.first = 0, .count = 1};
    double t_ready = now_s();
    for (;;) {
        warm.errors = 0;
        client_run(&warm);
        if (warm.errors == 0)
            break;
        if (now_s() - t_ready > 30)
            die("service", "no answer within 30 s");
        struct timespec ts = {0, 100000000L};
        nanosleep(&ts, NULL);
    }

    /* ---- service */
    pthread_t th[256];
    struct client_arg ca[256];
    unsigned per = n / (unsigned)clients, extra = n % (unsigned)clients, first = 1;
    double t0 = now_s();
    for (int i = 0; i < clients; i++) {
        ca[i] = (struct client_arg){.first = first, .count = per + ((unsigned)i < extra)};
        first += ca[i].count;
        pthread_create(&th[i], NULL, client_run, &ca[i]);
    }
    long decisions = 0, errors = 0;
    for (int i = 0; i < clients; i++) {
        pthread_join(th[i], NULL);
        decisions += ca[i].decisions;
        errors += ca[i].errors;
    }
    double t_service = now_s() - t0;

    /* a recorded decision's payload, and the rule set the service published */
    PGconn *c = PQconnectdb(admin);
    PGresult *r = PQexecParams(c, "SELECT payload FROM atb.events WHERE type = 'BenefitGranted' LIMIT 1", 0, NULL,
                               NULL, NULL, NULL, 1);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
        die("payload", "no BenefitGranted in the log");
    size_t plen = (size_t)PQgetlength(r, 0, 0);
    uint8_t *payload = malloc(plen);
    memcpy(payload, PQgetvalue(r, 0, 0), plen);
    PQclear(r);
    r = PQexecParams(c, "SELECT payload FROM atb.events WHERE stream_id = 'ruleset-daugavpils' LIMIT 1", 0, NULL,
                     NULL, NULL, NULL, 1);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
        die("rule set", "no RuleSetPublished in the log");
    Atb__V1__RuleSetPublished *rsp = atb__v1__rule_set_published__unpack(NULL, (size_t)PQgetlength(r, 0, 0),
                                                                         (const uint8_t *)PQgetvalue(r, 0, 0));
    PQclear(r);
    PQfinish(c);
    rules_set *set = NULL;
    if (!rsp || rules_set_from_bytes(rsp->canonical.data, rsp->canonical.len, &set, &err) != AT_OK)
        die("rule set", "does not load");

    /* ---- baseline: as many single-event appends as the service appended decisions */
    char pg[512];
    conninfo(pg, sizeof pg, "atb_means", db);
    es_config cfg = {.conninfo = pg, .pool_size = 4, .application_name = "bench_means"};
    es_store *es = NULL;
    if (es_open(&es, &cfg, &err) != ES_OK)
        die("es_open", err.message);
    struct appender ap[256];
    long total = decisions > 0 ? decisions : (long)n;
    t0 = now_s();
    for (int i = 0; i < clients; i++) {
        ap[i] = (struct appender){.es = es, .count = total / clients + (i < total % clients), .payload = payload,
                                  .len = plen};
        pthread_create(&th[i], NULL, append_run, &ap[i]);
    }
    for (int i = 0; i < clients; i++)
        pthread_join(th[i], NULL);
    double t_append = now_s() - t0;
    es_close(es);

    /* ---- consumer: the same mix as intake's ApplicationCompleted events */
    double t_in = 0;
    long consumed = 0;
    double t_consume = consume(pg, admin, n + 1, n, clients, &t_in, &consumed);

    /* ---- pure */
    double t_pure;
    long pure_decisions = pure(set, n, &t_pure);

    char *fsync = show(admin, "fsync"), *sync = show(admin, "synchronous_commit");
    double svc_apps = (double)n / t_service, svc_dec = (double)decisions / t_service;
    double app_rate = (double)total / t_append, pure_rate = (double)pure_decisions / t_pure;
    printf("bench_means: %u applications (needy status + GMI each), %d concurrent clients; "
           "PostgreSQL fsync=%s synchronous_commit=%s; decision payload %zu bytes\n",
           n, clients, fsync, sync, plen);
    printf("  %-62s %12.0f events/s\n", "baseline: es_append, 1 event per append, same threads", app_rate);
    printf("  %-62s %12.0f decisions/s  (%.0f applications/s, %ld errors)\n",
           "service: AssessApplication request -> 2 decisions appended -> reply", svc_dec, svc_apps, errors);
    printf("  %-62s %12.0f decisions/s  (%.0f applications/s; input appended at %.0f events/s)\n",
           "consumer: ApplicationCompleted appended -> relay -> decided", (double)consumed / t_consume,
           (double)n / t_consume, (double)n / t_in);
    printf("  %-62s %12.0f decisions/s\n", "pure: rules_decide alone, 1 thread", pure_rate);
    printf("  ratio consumer / baseline append: %.3f\n", ((double)consumed / t_consume) / app_rate);
    printf("  ratio service / baseline append: %.3f (decision events/s over single-event appends/s)\n",
           svc_dec / app_rate);
    printf("  ratio service / pure calculation: %.4f\n", svc_dec / pure_rate);
    printf("  service time per application: %.2f ms wall over %d clients\n", 1000.0 * t_service / n, clients);

    free(fsync);
    free(sync);
    free(payload);
    rules_set_free(set);
    atb__v1__rule_set_published__free_unpacked(rsp, NULL);
    bus_stream_delete(client, NULL);
    bus_close(client);
    nats_Close();
    undo();
    return 0;
}
