/*
 * bench_payments.c -- payments throughput against the foundation it stands on, all measured
 * in one run against the same servers:
 *
 *   baseline  es_append() of single BenefitGranted events from 16 threads (the group
 *             committer): how fast the log takes the decisions payments consumes;
 *   (a)       decision event -> batched order: D one-off BenefitGranted events appended
 *             (100 per append), carried by atbalsts-relay, scheduled by atbalsts-payments'
 *             consumer (one order each), then CreateBatch until every order is batched;
 *   (b)       E orders (default 100,000) written straight into payments' tables (the way
 *             there is (a)'s), then CreateBatch until all are batched (10,000 a batch), then
 *             ExportBatch of every batch: the pain.001 files rendered, checked, stored and
 *             returned in pieces over NATS;
 *   baseline  SELECT of the rows an export reads (orders joined with payees) for the E;
 *   (c)       pay_pain001_render + pay_pain001_check of E transfers in this process.
 *
 * It prints orders/s and the ratios, and the server's fsync and synchronous_commit. It
 * asserts nothing. It makes its own database and drops it at the end.
 *
 * Usage: bench_payments [D [E]]   (defaults 5000 and 100000)
 * Binaries: ../services/payments/atbalsts-payments and ../services/relay/atbalsts-relay
 * from this program's directory, or ATB_PAYMENTS_BIN / ATB_RELAY_BIN.
 * Servers: ATB_PG_HOST, ATB_PG_PORT, ATB_PG_SUPERUSER, ATB_NATS_URL as for the tests.
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

#include "at_uuid.h"
#include "bus.h"
#include "es.h"
#include "pay_core.h"
#include "atb/v1/means.pb-c.h"
#include "atb/v1/payments.pb-c.h"

static pid_t service_pid, relay_pid;
static char drop_sql[160], root_ci[512], prefix[64];
static bus *client;

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
    fprintf(stderr, "bench_payments: %s: %s\n", what, why);
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

static int64_t sql_int(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    int64_t v = -1;
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0)
        v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    else if (PQresultStatus(r) != PGRES_COMMAND_OK)
        die(sql, PQresultErrorMessage(r));
    PQclear(r);
    return v;
}

static char *show(PGconn *c, const char *setting)
{
    char sql[64];
    snprintf(sql, sizeof sql, "SHOW %s", setting);
    PGresult *r = PQexec(c, sql);
    char *v = strdup(PQresultStatus(r) == PGRES_TUPLES_OK ? PQgetvalue(r, 0, 0) : "?");
    PQclear(r);
    return v;
}

static pid_t start_service(const char *exe, const char *role, const char *db, const char *admin)
{
    char pg[512], env_pg[600], env_admin[600], env_prefix[128], env_stream[128], env_nats[300];
    conninfo(pg, sizeof pg, role, db);
    snprintf(env_pg, sizeof env_pg, "ATB_PG_URL=%s", pg);
    snprintf(env_admin, sizeof env_admin, "ATB_PG_ADMIN_URL=%s", admin);
    snprintf(env_prefix, sizeof env_prefix, "ATB_PREFIX=%s", prefix);
    snprintf(env_stream, sizeof env_stream, "ATB_STREAM=%s", prefix);
    snprintf(env_nats, sizeof env_nats, "ATB_NATS_URL=%s", env_or("ATB_NATS_URL", "nats://127.0.0.1:4229"));
    char *envp[] = {env_pg, env_admin, env_prefix, env_stream, env_nats, "ATB_HTTP_PORT=0", "ATB_LOG_LEVEL=warn",
                    "ATB_MAX_MSG=262144", "ATB_WORKERS=8", NULL};
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

/* One decision as means testing records it: a one-off benefit paid to the account. */
static uint8_t *decision_bytes(const char *app, const char *person, size_t *len)
{
    Atb__V1__Date d = ATB__V1__DATE__INIT;
    d.year = 2026, d.month = 3, d.day = 2;
    Atb__V1__Ask a = ATB__V1__ASK__INIT;
    a.kind = ATB__V1__ASK_KIND__ASK_KIND_BENEFIT;
    a.benefit = "BIRTH";
    Atb__V1__DecisionInput in = ATB__V1__DECISION_INPUT__INIT;
    in.tenant = "daugavpils";
    in.application_id = (char *)app;
    in.decision_date = &d;
    in.applicant = (char *)person;
    in.ask_index = 1;
    in.ask = &a;
    Atb__V1__DecisionResult r = ATB__V1__DECISION_RESULT__INIT;
    r.outcome = ATB__V1__DECISION_OUTCOME__DECISION_OUTCOME_GRANTED;
    r.benefit = "BIRTH";
    r.period_from = &d;
    r.has_amount = true;
    r.amount_cents = 15000;
    r.per = ATB__V1__AMOUNT_PER__AMOUNT_PER_ONCE;
    r.payment = ATB__V1__PAYMENT_FORM__PAYMENT_FORM_ACCOUNT;
    Atb__V1__Decision dec = ATB__V1__DECISION__INIT;
    dec.application_id = (char *)app;
    dec.ask_index = 1;
    dec.input = &in;
    dec.result = &r;
    Atb__V1__BenefitGranted bg = ATB__V1__BENEFIT_GRANTED__INIT;
    bg.decision = &dec;
    *len = protobuf_c_message_get_packed_size(&bg.base);
    uint8_t *b = malloc(*len);
    protobuf_c_message_pack(&bg.base, b);
    return b;
}

struct appender {
    es_store *es;
    long count;
};

static void *append_run(void *arg)
{
    struct appender *a = arg;
    for (long i = 0; i < a->count; i++) {
        char app[37], person[37], stream[64];
        at_uuid_v4(app);
        at_uuid_v4(person);
        size_t len;
        uint8_t *b = decision_bytes(app, person, &len);
        snprintf(stream, sizeof stream, "benchdecision-%s", app);
        es_event_in ev = {.type = "BenefitGranted", .payload = b, .payload_len = len};
        es_append_req rq = {.tenant = "daugavpils", .stream_id = stream, .expected_version = ES_VERSION_NONE,
                            .events = &ev, .n_events = 1};
        at_error err;
        if (es_append(a->es, &rq, NULL, &err) != ES_OK)
            die("es_append", err.message);
        free(b);
    }
    return NULL;
}

static Atb__V1__BatchReply *command(const char *name, const ProtobufCMessage *m)
{
    char subject[256];
    snprintf(subject, sizeof subject, "%s.cmd.daugavpils.payments.%s", prefix, name);
    natsMsg *reply = NULL;
    at_error err;
    for (int i = 0; i < 100 && bus_request(client, subject, m, 60000, &reply, &err) != AT_OK; i++) {
        struct timespec ts = {0, 200000000L};
        nanosleep(&ts, NULL);
    }
    if (!reply)
        die(name, "no reply");
    Atb__V1__BatchReply *r = atb__v1__batch_reply__unpack(NULL, (size_t)natsMsg_GetDataLength(reply),
                                                         (const uint8_t *)natsMsg_GetData(reply));
    natsMsg_Destroy(reply);
    if (!r)
        die(name, "reply does not decode");
    return r;
}

static void meta(Atb__V1__CommandMeta *m, char id[37])
{
    atb__v1__command_meta__init(m);
    at_uuid_v4(id);
    m->command_id = id;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? strtol(argv[1], NULL, 10) : 5000;
    long e = argc > 2 ? strtol(argv[2], NULL, 10) : 100000;
    if (n < 1 || e < 1)
        die("usage", "bench_payments [DECISIONS [EXPORTED_ORDERS]]");
    char self[4096], exe[4200], relay[4200];
    ssize_t sl = readlink("/proc/self/exe", self, sizeof self - 1);
    self[sl > 0 ? sl : 0] = 0;
    char *dir = dirname(self);
    snprintf(exe, sizeof exe, "%s", env_or("ATB_PAYMENTS_BIN", ""));
    snprintf(relay, sizeof relay, "%s", env_or("ATB_RELAY_BIN", ""));
    if (!exe[0])
        snprintf(exe, sizeof exe, "%s/../services/payments/atbalsts-payments", dir);
    if (!relay[0])
        snprintf(relay, sizeof relay, "%s/../services/relay/atbalsts-relay", dir);
    if (access(exe, X_OK) != 0)
        die(exe, "not found (build atb_payments, or set ATB_PAYMENTS_BIN)");
    if (access(relay, X_OK) != 0)
        die(relay, "not found (build atb_relay, or set ATB_RELAY_BIN)");

    const char *super = env_or("ATB_PG_SUPERUSER", "postgres");
    char db[64], admin[512];
    snprintf(db, sizeof db, "atb_bench_pay_%d", (int)getpid());
    snprintf(prefix, sizeof prefix, "benchpay%d", (int)getpid());
    conninfo(root_ci, sizeof root_ci, super, "postgres");
    conninfo(admin, sizeof admin, super, db);
    PGconn *root = PQconnectdb(root_ci);
    if (PQstatus(root) != CONNECTION_OK)
        die("connect", PQerrorMessage(root));
    char sql[2048];
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", db);
    sql_int(root, sql);
    PQfinish(root);
    snprintf(drop_sql, sizeof drop_sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", db);
    atexit(undo);
    at_error err;
    if (es_migrate(admin, NULL, &err) != ES_OK)
        die("es_migrate", err.message);
    bus_config bc = {.url = env_or("ATB_NATS_URL", "nats://127.0.0.1:4229"), .prefix = prefix, .stream = prefix,
                     .name = "bench_payments"};
    if (bus_connect(&client, &bc, &err) != AT_OK)
        die("bus_connect", err.message);
    relay_pid = start_service(relay, "atb_relay", db, admin);
    service_pid = start_service(exe, "atb_payments", db, admin);
    PGconn *c = PQconnectdb(admin);
    double t_ready = now_s();
    while (sql_int(c, "SELECT count(*) FROM atb.service_migrations WHERE service = 'payments'") < 1) {
        if (now_s() - t_ready > 30)
            die("service", "not migrated within 30 s");
        struct timespec ts = {0, 100000000L};
        nanosleep(&ts, NULL);
    }

    /* ---- baseline: single-event appends of the same decisions */
    es_store *es = NULL;
    es_config cfg = {.conninfo = admin, .pool_size = 16, .application_name = "bench_payments"};
    if (es_open(&es, &cfg, &err) != ES_OK)
        die("es_open", err.message);
    long base_n = n < 20000 ? n : 20000;
    pthread_t th[16];
    struct appender ap[16];
    double t0 = now_s();
    for (int i = 0; i < 16; i++) {
        ap[i] = (struct appender){.es = es, .count = base_n / 16 + (i < base_n % 16)};
        pthread_create(&th[i], NULL, append_run, &ap[i]);
    }
    for (int i = 0; i < 16; i++)
        pthread_join(th[i], NULL);
    double base_append = (double)base_n / (now_s() - t0);

    /* ---- (a) decision event -> order -> batch; every client has an account first */
    snprintf(sql, sizeof sql,
             "INSERT INTO payments.payees (tenant, payee, kind, name, iban) VALUES ('daugavpils', "
             "'00000000-0000-4000-8000-000000000000', 'debtor', 'Daugavpils pilsētas Sociālais dienests', "
             "'LV80BANK0000435195001')");
    sql_int(c, sql);
    /* every client has an account before the run: the timed part is the payments path */
    char (*persons)[37] = calloc((size_t)n, 37);
    for (long i = 0; i < n; i++)
        at_uuid_v4(persons[i]);
    for (long i = 0; i < n; i += 10000) {
        long k = n - i < 10000 ? n - i : 10000;
        char *arr = malloc((size_t)k * 38 + 3), *p = arr;
        *p++ = '{';
        for (long j = 0; j < k; j++)
            p += sprintf(p, "%s%s", j ? "," : "", persons[i + j]);
        *p++ = '}';
        *p = 0;
        const char *params[1] = {arr};
        PGresult *pr = PQexecParams(c,
                                    "INSERT INTO payments.payees (tenant, payee, kind, name, iban) SELECT "
                                    "'daugavpils', unnest($1::text[]), 'person', 'Klients', 'LV80BANK0000435195001'",
                                    1, NULL, params, NULL, NULL, 0);
        if (PQresultStatus(pr) != PGRES_COMMAND_OK)
            die("payees", PQresultErrorMessage(pr));
        PQclear(pr);
        free(arr);
    }
    t0 = now_s();
    long appended = 0;
    while (appended < n) {
        es_event_in evs[100];
        uint8_t *bufs[100];
        char app[37], stream[64];
        long k = n - appended < 100 ? n - appended : 100;
        for (long i = 0; i < k; i++) {
            at_uuid_v4(app);
            size_t len;
            bufs[i] = decision_bytes(app, persons[appended + i], &len);
            evs[i] = (es_event_in){.type = "BenefitGranted", .payload = bufs[i], .payload_len = len};
        }
        /* a hundred applications' decisions in one append: a fast producer */
        snprintf(stream, sizeof stream, "decision-%s", app);
        es_append_req rq = {.tenant = "daugavpils", .stream_id = stream, .expected_version = ES_VERSION_NONE,
                            .events = evs, .n_events = (size_t)k};
        if (es_append(es, &rq, NULL, &err) != ES_OK)
            die("es_append", err.message);
        for (long i = 0; i < k; i++)
            free(bufs[i]);
        appended += k;
    }
    double t_in = now_s() - t0;
    while (sql_int(c, "SELECT count(*) FROM payments.orders") < n) {
        if (now_s() - t0 > 3600)
            die("consumer", "orders not scheduled within an hour");
        struct timespec ts = {0, 20000000L};
        nanosleep(&ts, NULL);
    }
    double t_sched = now_s() - t0;
    char *batches[64];
    int nb = 0;
    for (long batched = 0; batched < n && nb < 64;) {
        Atb__V1__CommandMeta m;
        char id[37];
        meta(&m, id);
        Atb__V1__Date due = ATB__V1__DATE__INIT;
        due.year = 2026, due.month = 12, due.day = 31;
        Atb__V1__CreateBatch cb = ATB__V1__CREATE_BATCH__INIT;
        cb.meta = &m;
        cb.due = &due;
        Atb__V1__BatchReply *r = command("CreateBatch", &cb.base);
        if (r->error && r->error->code)
            die("CreateBatch", r->error->message);
        batched += r->count;
        batches[nb++] = strdup(r->batch_id);
        atb__v1__batch_reply__free_unpacked(r, NULL);
    }
    double t_batched = now_s() - t0;

    /* ---- (b) E orders straight into the tables, batched and exported through the service */
    snprintf(sql, sizeof sql,
             "WITH g AS (INSERT INTO payments.grants (grant_key, tenant, person, payee, benefit, channel, budget_code, "
             "funding, granted_cents, stream) SELECT 'bench/' || i, 'daugavpils', p, p, 'BIRTH', 'account', '6429', "
             "'municipal', 15000, 'paygrant-bench.' || i FROM (SELECT i, gen_random_uuid()::text AS p FROM "
             "generate_series(1, %ld) i) s RETURNING grant_key, person), pe AS (INSERT INTO payments.payees (tenant, "
             "payee, kind, name, iban) SELECT 'daugavpils', person, 'person', 'Klients', 'LV80BANK0000435195001' FROM "
             "g) INSERT INTO payments.orders (order_id, tenant, grant_key, person, payee, channel, amount_cents, due, "
             "slot_from, slot_to, benefit, budget_code, funding, status) SELECT gen_random_uuid(), 'daugavpils', "
             "grant_key, person, person, 'account', 15000, '2027-01-15', '2027-01-15', '2027-01-15', 'BIRTH', "
             "'6429', 'municipal', 'scheduled' FROM g", e);
    sql_int(c, sql);
    t0 = now_s();
    for (long batched = 0; batched < e && nb < 64;) {
        Atb__V1__CommandMeta m;
        char id[37];
        meta(&m, id);
        Atb__V1__Date due = ATB__V1__DATE__INIT;
        due.year = 2027, due.month = 1, due.day = 31;
        Atb__V1__CreateBatch cb = ATB__V1__CREATE_BATCH__INIT;
        cb.meta = &m;
        cb.due = &due;
        Atb__V1__BatchReply *br = command("CreateBatch", &cb.base);
        if (br->error && br->error->code)
            die("CreateBatch", br->error->message);
        batched += br->count;
        batches[nb++] = strdup(br->batch_id);
        atb__v1__batch_reply__free_unpacked(br, NULL);
    }
    double t_batch_e = now_s() - t0;
    int first_e = 0;   /* (a)'s batches come first: the export measures (b)'s */
    for (int b = 0; b < nb; b++) {
        snprintf(sql, sizeof sql, "SELECT count(*) FROM payments.batch_orders bo JOIN payments.orders o USING "
                                  "(order_id) WHERE bo.batch_id = '%s' AND o.due = '2027-01-15'", batches[b]);
        if (sql_int(c, sql) == 0)
            first_e = b + 1;
    }

    /* ---- baseline: the rows an export reads */
    t0 = now_s();
    PGresult *r = PQexec(c, "SELECT o.order_id, o.amount_cents, p.name, p.iban, p.bic, o.benefit, o.budget_code "
                            "FROM payments.batch_orders bo JOIN payments.orders o USING (order_id) JOIN "
                            "payments.payees p ON p.tenant = o.tenant AND p.payee = o.payee WHERE o.due = "
                            "'2027-01-15' ORDER BY o.order_id");
    long rows = PQntuples(r);
    PQclear(r);
    double base_select = (double)rows / (now_s() - t0);

    /* ---- (b) ExportBatch of every batch */
    t0 = now_s();
    size_t bytes = 0;
    for (int b = first_e; b < nb; b++) {
        for (int64_t off = 0;;) {
            Atb__V1__CommandMeta m;
            char id[37];
            meta(&m, id);
            Atb__V1__ExportBatch eb = ATB__V1__EXPORT_BATCH__INIT;
            eb.meta = &m;
            eb.batch_id = batches[b];
            eb.offset = off;
            Atb__V1__BatchReply *x = command("ExportBatch", &eb.base);
            if (x->error && x->error->code)
                die("ExportBatch", x->error->message);
            off += (int64_t)x->xml.len;
            bool done = off >= x->xml_total || x->xml.len == 0;
            atb__v1__batch_reply__free_unpacked(x, NULL);
            if (done) {
                bytes += (size_t)off;
                break;
            }
        }
    }
    double t_export = now_s() - t0;

    /* ---- (c) the file alone, in this process */
    pay_xfer *x = calloc((size_t)e, sizeof *x);
    char (*ids)[37] = calloc((size_t)e, 37);
    for (long i = 0; i < e; i++) {
        at_uuid_v4(ids[i]);
        x[i] = (pay_xfer){ids[i], 15000, "Klients", "LV80BANK0000435195001", "", "BIRTH 6429 2026-03-02"};
    }
    at_date exec;
    at_date_from_ymd(2026, 3, 2, &exec);
    pay_batch_file f = {.batch_id = ids[0], .created_at = "2026-03-01T09:00:00", .execution_date = exec,
                        .debtor_name = "D", .debtor_iban = "LV80BANK0000435195001", .xfers = x, .n_xfers = (size_t)e};
    at_buf buf;
    at_buf_init(&buf, SIZE_MAX);
    t0 = now_s();
    if (pay_pain001_render(&f, &buf, &err) != AT_OK)
        die("render", err.message);
    double t_render = now_s() - t0;
    t0 = now_s();
    if (pay_pain001_check(buf.ptr, buf.len, NULL, NULL, &err) != AT_OK)
        die("check", err.message);
    double t_check = now_s() - t0;

    char *fsync = show(c, "fsync"), *sync = show(c, "synchronous_commit");
    printf("bench_payments: (a) %ld decisions (one-off, paid to an account), (b) %ld orders exported in %d "
           "batches; PostgreSQL fsync=%s synchronous_commit=%s\n", n, e, nb - first_e, fsync, sync);
    printf("  %-60s %12.0f events/s\n", "baseline: es_append, 1 decision per append, 16 threads", base_append);
    printf("  %-60s %12.0f orders/s  (input appended at %.0f events/s)\n",
           "(a) decision event -> relay -> scheduled order", (double)n / t_sched, (double)n / t_in);
    printf("  %-60s %12.0f orders/s\n", "(a) decision event -> order in a batch (CreateBatch included)",
           (double)n / t_batched);
    printf("  ratio (a) batched orders / baseline append: %.3f\n", ((double)n / t_batched) / base_append);
    printf("  %-60s %12.0f orders/s\n", "(b) CreateBatch of scheduled orders", (double)e / t_batch_e);
    printf("  %-60s %12.0f rows/s\n", "baseline: SELECT of the rows an export reads", base_select);
    printf("  %-60s %12.0f orders/s  (%.1f MB of pain.001)\n", "(b) ExportBatch over NATS, all batches",
           (double)e / t_export, (double)bytes / 1e6);
    printf("  ratio (b) export / baseline select: %.3f\n", ((double)e / t_export) / base_select);
    printf("  %-60s %12.0f orders/s\n", "(c) pay_pain001_render alone, 1 thread", (double)e / t_render);
    printf("  %-60s %12.0f orders/s\n", "(c) pay_pain001_check (libxml2) alone, 1 thread", (double)e / t_check);
    free(fsync);
    free(sync);
    at_buf_free(&buf);
    free(x);
    free(ids);
    free(persons);
    for (int b = 0; b < nb; b++)
        free(batches[b]);
    PQfinish(c);
    es_close(es);
    bus_stream_delete(client, NULL);
    bus_close(client);
    nats_Close();
    undo();
    return 0;
}
