/*
 * skeleton.c -- the walking-skeleton services (and means testing) as child processes
 * (see skeleton.h).
 *
 * Each child gets the environment a deployment would give it: its own role in
 * ATB_PG_URL, the superuser as ATB_PG_ADMIN_URL (migrations), the test's NATS URL, prefix
 * and stream, no HTTP port. Logs at warn level go to the test's stderr.
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
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <libpq-fe.h>

#include "at_uuid.h"
#include "skeleton.h"
#include "atb/v1/intake.pb-c.h"
#include "atb/v1/reporting.pb-c.h"

skeleton sk;

static pid_t spawn(const char *exe, const char *role)
{
    char pg[600];
    t_db_conninfo(&sk.db, role, pg, sizeof pg);
    pid_t pid = fork();
    if (pid == 0) {
        setenv("ATB_PG_URL", pg, 1);
        setenv("ATB_PG_ADMIN_URL", sk.db.admin, 1);
        setenv("ATB_NATS_URL", t_nats_url(), 1);
        setenv("ATB_PREFIX", sk.prefix, 1);
        setenv("ATB_STREAM", sk.stream, 1);
        setenv("ATB_HTTP_PORT", "0", 1);
        setenv("ATB_WORKERS", "4", 1);
        setenv("ATB_LOG_LEVEL", "warn", 1);
        execl(exe, exe, (char *)NULL);
        _exit(127);
    }
    return pid;
}

void sk_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

int sk_start(void)
{
    t_db_create(&sk.db);
    t_unique(sk.prefix, sizeof sk.prefix, "ws");
    t_unique(sk.stream, sizeof sk.stream, "WS");
    sk.pids[0] = spawn(INTAKE_PATH, "atb_intake");
    sk.pids[1] = spawn(RELAY_PATH, "atb_relay");
    sk.pids[2] = spawn(REPORTING_PATH, "atb_reporting");
    bus_config cfg = {.url = t_nats_url(), .prefix = sk.prefix, .stream = sk.stream, .name = "walking-skeleton"};
    at_error err;
    if (bus_connect(&sk.client, &cfg, &err) != AT_OK) {
        fprintf(stderr, "cannot connect to NATS: %s\n", err.message);
        return -1;
    }
    return 0;
}

int sk_start_means(void)
{
#ifdef MEANS_PATH
    sk.pids[3] = spawn(MEANS_PATH, "atb_means");
    return sk.pids[3] > 0 ? 0 : -1;
#else
    return -1;
#endif
}

int sk_start_payments(void)
{
#ifdef PAYMENTS_PATH
    sk.pids[4] = spawn(PAYMENTS_PATH, "atb_payments");
    return sk.pids[4] > 0 ? 0 : -1;
#else
    return -1;
#endif
}

int sk_stop_services(void)
{
    int bad = 0;
    for (int i = 0; i < 5; i++)
        if (sk.pids[i] > 0)
            kill(sk.pids[i], SIGTERM);
    for (int i = 0; i < 5; i++) {
        if (sk.pids[i] <= 0)
            continue;
        int st = 0;
        pid_t got = 0;
        for (int t = 0; t < 400 && (got = waitpid(sk.pids[i], &st, WNOHANG)) == 0; t++)
            sk_sleep_ms(50);
        if (got == 0) {
            kill(sk.pids[i], SIGKILL);
            waitpid(sk.pids[i], &st, 0);
            bad++;
        } else if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            bad++;
        }
        sk.pids[i] = 0;
    }
    return bad;
}

int sk_teardown(void)
{
    sk_stop_services();
    at_error err;
    bus_stream_delete(sk.client, &err);
    bus_close(sk.client);
    sk.client = NULL;
    nats_Close();
    t_db_drop(&sk.db);
    return 0;
}

ProtobufCMessage *sk_call(const char *kind, const char *tenant, const char *service, const char *name,
                          const ProtobufCMessage *msg, const ProtobufCMessageDescriptor *type)
{
    char subject[256];
    snprintf(subject, sizeof subject, "%s.%s.%s.%s.%s", sk.prefix, kind, tenant, service, name);
    natsMsg *reply = NULL;
    at_error err;
    at_error_clear(&err);
    for (int i = 0; i < 100 && bus_request(sk.client, subject, msg, 5000, &reply, &err) != AT_OK; i++)
        sk_sleep_ms(100);
    if (!reply)
        fail_msg("no reply on %s: %s", subject, err.message);
    ProtobufCMessage *m = protobuf_c_message_unpack(type, NULL, (size_t)natsMsg_GetDataLength(reply),
                                                    (const uint8_t *)natsMsg_GetData(reply));
    natsMsg_Destroy(reply);
    if (!m)
        fail_msg("the reply on %s is not a %s", subject, type->name);
    return m;
}

void sk_wait_ready(void)
{
    Atb__V1__GetPerson g = ATB__V1__GET_PERSON__INIT;
    g.person_key = "00000000-0000-4000-8000-000000000000";
    protobuf_c_message_free_unpacked(sk_call("qry", "daugavpils", "intake", "GetPerson", &g.base,
                                             &atb__v1__person_view__descriptor), NULL);
    Atb__V1__CountPersons q = ATB__V1__COUNT_PERSONS__INIT;
    protobuf_c_message_free_unpacked(sk_call("qry", "daugavpils", "reporting", "CountPersons", &q.base,
                                             &atb__v1__person_count__descriptor), NULL);
}

/* Run sql; false (nothing in out) on an SQL error. */
static bool query(const char *sql, char *out, size_t n)
{
    PGconn *c = PQconnectdb(sk.db.admin);
    PGresult *r = PQexec(c, sql);
    bool ok = PQresultStatus(r) == PGRES_TUPLES_OK;
    out[0] = 0;
    if (ok && PQntuples(r) > 0 && !PQgetisnull(r, 0, 0))
        snprintf(out, n, "%s", PQgetvalue(r, 0, 0));
    if (!ok)
        fprintf(stderr, "sql failed: %s: %s", sql, PQresultErrorMessage(r));
    PQclear(r);
    PQfinish(c);
    return ok;
}

int64_t sk_sql_int(const char *fmt, ...)
{
    char sql[2048], out[64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof sql, fmt, ap);
    va_end(ap);
    if (!query(sql, out, sizeof out))
        fail_msg("sql failed: %s", sql);
    return strtoll(out, NULL, 10);
}

void sk_sql_text(char *out, size_t n, const char *fmt, ...)
{
    char sql[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof sql, fmt, ap);
    va_end(ap);
    if (!query(sql, out, n))
        fail_msg("sql failed: %s", sql);
}

int64_t sk_wait_sql(int64_t want, int timeout_ms, const char *fmt, ...)
{
    char sql[2048], out[64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof sql, fmt, ap);
    va_end(ap);
    /* Errors count as "not yet": the table may not exist before the service migrated. */
    PGconn *c = PQconnectdb(sk.db.admin);
    int64_t got = -1;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        PGresult *r = PQexec(c, sql);
        if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0 && !PQgetisnull(r, 0, 0)) {
            snprintf(out, sizeof out, "%s", PQgetvalue(r, 0, 0));
            got = strtoll(out, NULL, 10);
        }
        PQclear(r);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
        if (got == want || ms > timeout_ms)
            break;
        sk_sleep_ms(50);
    }
    PQfinish(c);
    return got;
}

int sk_group_setup(const char *ruleset_tenant)
{
    t_require_servers(1);
    if (sk_start() != 0 || (ruleset_tenant && sk_start_means() != 0))
        return -1;
    sk_wait_ready();
    if (!ruleset_tenant)
        return 0;
    const char *sql = "SELECT least(count(*), 1) FROM atb.events WHERE stream_id = 'ruleset-%s'";
    return sk_wait_sql(1, 30000, sql, ruleset_tenant) == 1 ? 0 : -1;
}

int sk_group_teardown(void)
{
    int bad = sk_stop_services();
    if (bad)
        fprintf(stderr, "%d service(s) did not exit cleanly\n", bad);
    sk_teardown();
    return bad ? -1 : 0;
}

Atb__V1__Date sk_date(int y, int m, int d)
{
    Atb__V1__Date x = ATB__V1__DATE__INIT;
    x.year = y;
    x.month = m;
    x.day = d;
    return x;
}

Atb__V1__CommandMeta *sk_meta(const char *actor)
{
    static Atb__V1__CommandMeta m[8];
    static char ids[8][37];
    static int next;
    int i = next++ % 8;
    atb__v1__command_meta__init(&m[i]);
    at_uuid_v4(ids[i]);
    m[i].command_id = ids[i];
    m[i].actor = (char *)actor;
    return &m[i];
}
