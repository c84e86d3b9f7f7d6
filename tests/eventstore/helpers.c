/*
 * helpers.c -- see helpers.h.
 */
#include "helpers.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

t_db h_db;

int h_group_setup(void **state)
{
    (void)state;
    t_require_servers(0);
    t_db_create(&h_db);
    return 0;
}

int h_group_teardown(void **state)
{
    (void)state;
    t_db_drop(&h_db);
    return 0;
}

es_store *h_open_cfg(const char *role, es_config *cfg)
{
    char ci[512];
    t_db_conninfo(&h_db, role, ci, sizeof ci);
    cfg->conninfo = ci;
    es_store *es = NULL;
    at_error err;
    at_error_clear(&err);
    es_status s = es_open(&es, cfg, &err);
    if (s != ES_OK)
        fail_msg("es_open as %s: %s: %s (%s)", role ? role : "superuser", es_status_str(s),
                 err.message, err.detail);
    cfg->conninfo = NULL;
    return es;
}

es_store *h_open(const char *role, int pool_size)
{
    es_config cfg = {.pool_size = pool_size};
    return h_open_cfg(role, &cfg);
}

PGconn *h_admin(void)
{
    PGconn *c = PQconnectdb(h_db.admin);
    if (PQstatus(c) != CONNECTION_OK)
        fail_msg("admin connection: %s", PQerrorMessage(c));
    return c;
}

long long h_scalar(const char *fmt, ...)
{
    char sql[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof sql, fmt, ap);
    va_end(ap);
    PGconn *c = h_admin();
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        fail_msg("%s: %s", sql, PQerrorMessage(c));
    long long v = (PQntuples(r) > 0 && !PQgetisnull(r, 0, 0)) ? atoll(PQgetvalue(r, 0, 0)) : 0;
    PQclear(r);
    PQfinish(c);
    return v;
}

void h_uuid(char out[37])
{
    unsigned char b[16];
    if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b)
        fail_msg("getrandom");
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
             b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
             b[13], b[14], b[15]);
}

void h_stream(char *out, size_t n, const char *category)
{
    char u[37];
    h_uuid(u);
    snprintf(out, n, "%s-%s", category, u);
}

es_event_in h_event(const char *type, const void *payload, size_t len)
{
    es_event_in e = {.type = type, .payload = payload, .payload_len = len};
    return e;
}

es_status h_append1(es_store *es, const char *tenant, const char *stream, int64_t expected,
                    const char *command_id, const char *payload, es_append_res *res,
                    at_error *err)
{
    es_event_in ev = h_event("TestHappened", payload, payload ? strlen(payload) : 0);
    es_append_req req = {
        .tenant = tenant,
        .stream_id = stream,
        .expected_version = expected,
        .command_id = command_id,
        .actor = "user:test",
        .events = &ev,
        .n_events = 1,
    };
    return es_append(es, &req, res, err);
}

int64_t h_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *run_job(void *arg)
{
    h_job *j = arg;
    j->st = es_append(j->es, j->req, &j->res, &j->err);
    return NULL;
}

void h_run_jobs(h_job *jobs, size_t n)
{
    pthread_t *th = calloc(n, sizeof *th);
    assert_non_null(th);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(pthread_create(&th[i], NULL, run_job, &jobs[i]), 0);
    for (size_t i = 0; i < n; i++)
        pthread_join(th[i], NULL);
    free(th);
}
