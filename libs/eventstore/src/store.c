/*
 * store.c -- the es_store handle: opening and closing, the connection pool, the mapping
 * of PostgreSQL errors to es_status, the tenant cache and the statistics.
 *
 * Invariants:
 *  - every connection in the free list is outside a transaction (es__pool_put rolls back
 *    or drops one that is not), so a transaction never inherits another's state;
 *  - a connection found broken is dropped and opened again on its next use, never
 *    reused half-broken;
 *  - es_open() fails unless the database schema is at least the version this library
 *    knows, so a service never runs against a schema it was not built for.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "es_int.h"

const char *es_status_str(es_status s)
{
    switch (s) {
    case ES_OK: return "ok";
    case ES_CONFLICT: return "conflict";
    case ES_UNKNOWN_TENANT: return "unknown tenant";
    case ES_INVALID: return "invalid";
    case ES_NOT_FOUND: return "not found";
    case ES_IO: return "i/o";
    case ES_REFUSED: return "refused";
    case ES_NOMEM: return "out of memory";
    case ES_CLOSED: return "closed";
    }
    return "unknown status";
}

at_code es_status_code(es_status s)
{
    switch (s) {
    case ES_OK: return AT_OK;
    case ES_CONFLICT: return AT_CONFLICT;
    case ES_UNKNOWN_TENANT: return AT_UNKNOWN_TENANT;
    case ES_INVALID: return AT_VALIDATION;
    case ES_NOT_FOUND: return AT_NOT_FOUND;
    case ES_IO: return AT_UNAVAILABLE;
    case ES_REFUSED: return AT_UNAUTHORISED;
    case ES_NOMEM: return AT_INTERNAL;
    case ES_CLOSED: return AT_UNAVAILABLE;
    }
    return AT_INTERNAL;
}

es_status es__fail(at_error *err, es_status status, const char *field, const char *fmt, ...)
{
    if (!err)
        return status;
    char msg[sizeof err->message];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    at_error_set(err, es_status_code(status), field, "%s", msg);
    return status;
}

/* Copy s without its trailing newlines (libpq ends its messages with one). */
static void chomp(char *dst, size_t n, const char *s)
{
    snprintf(dst, n, "%s", s ? s : "");
    size_t len = strlen(dst);
    while (len && (dst[len - 1] == '\n' || dst[len - 1] == '\r'))
        dst[--len] = '\0';
}

static bool starts(const char *s, const char *prefix)
{
    return s && strncmp(s, prefix, strlen(prefix)) == 0;
}

es_status es__pg_fail(at_error *err, PGconn *pg, const PGresult *res, const char *what)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *constraint = res ? PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME) : NULL;
    const char *pdetail = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL) : NULL;
    const char *phint = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_HINT) : NULL;
    char primary[256];
    const char *p = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    if (!p && res && PQresultErrorMessage(res)[0])
        p = PQresultErrorMessage(res);
    if (!p && pg)
        p = PQerrorMessage(pg);
    chomp(primary, sizeof primary, p && *p ? p : "no result from the server");

    bool broken = !pg || PQstatus(pg) == CONNECTION_BAD;
    es_status st;
    const char *hint = NULL;
    if (broken || !state) {
        /* No SQLSTATE: libpq failed on its side (connection lost, out of memory). */
        st = ES_IO;
        hint = "Check that PostgreSQL is running; retry the same request (with the same command id).";
    } else if (starts(state, "08") || starts(state, "53") || starts(state, "57P")
               || starts(state, "58") || strcmp(state, "40001") == 0
               || strcmp(state, "40P01") == 0 || strcmp(state, "55P03") == 0) {
        st = ES_IO;
        hint = "Retry the same request (with the same command id).";
    } else if (strcmp(state, "23505") == 0) {
        st = ES_CONFLICT;
        if (constraint && strcmp(constraint, "events_stream_version_key") == 0)
            hint = "Another append took this stream version; reload the stream and retry.";
        else if (constraint && strcmp(constraint, "events_event_id_key") == 0)
            hint = "An event with this event id is already in the log; give each event its own id.";
    } else if (strcmp(state, "23503") == 0) {
        st = ES_UNKNOWN_TENANT;
    } else if (strcmp(state, "42501") == 0 || strcmp(state, ES_SQLSTATE_IMMUTABLE) == 0) {
        st = ES_REFUSED;
    } else if (strcmp(state, "42P01") == 0 || strcmp(state, "42883") == 0
               || strcmp(state, "3F000") == 0 || strcmp(state, "26000") == 0) {
        st = ES_INVALID;
        hint = "The database schema is missing or older than this program: run es_migrate() "
               "with an admin connection string.";
    } else if (starts(state, "22") || starts(state, "23")) {
        st = ES_INVALID;
    } else {
        st = ES_REFUSED;
    }
    if (!err)
        return st;
    const char *verb = (st == ES_IO || st == ES_CONFLICT) ? "could not" : "cannot";
    at_error_set(err, es_status_code(st), NULL, "%s %s: %s", verb, what, primary);
    if (state && pdetail)
        at_error_detail(err, "PostgreSQL reported SQLSTATE %s. %s", state, pdetail);
    else if (state)
        at_error_detail(err, "PostgreSQL reported SQLSTATE %s.", state);
    else
        at_error_detail(err, "The connection to PostgreSQL failed before the server answered.");
    if (phint)
        at_error_hint(err, "%s", phint);
    else if (hint)
        at_error_hint(err, "%s", hint);
    return st;
}

static void ignore_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

PGconn *es__connect(const es_store *es, at_error *err)
{
    /* A default application_name goes first so that one in the conninfo overrides it;
     * one given in es_config goes last and wins. */
    const char *kw[4], *val[4];
    int n = 0;
    if (!es->appname_given) {
        kw[n] = "application_name";
        val[n++] = es->appname;
    }
    kw[n] = "dbname";
    val[n++] = es->conninfo;
    if (es->appname_given) {
        kw[n] = "application_name";
        val[n++] = es->appname;
    }
    kw[n] = NULL;
    val[n] = NULL;
    PGconn *pg = PQconnectdbParams(kw, val, 1);
    if (!pg) {
        es__fail(err, ES_NOMEM, NULL, "could not connect to PostgreSQL: out of memory");
        return NULL;
    }
    if (PQstatus(pg) != CONNECTION_OK) {
        char msg[256];
        chomp(msg, sizeof msg, PQerrorMessage(pg));
        es__fail(err, ES_IO, NULL, "could not connect to PostgreSQL");
        if (err) {
            at_error_detail(err, "%s", msg);
            at_error_hint(err, "Check the connection string and that PostgreSQL is running.");
        }
        PQfinish(pg);
        return NULL;
    }
    /* A library never writes to stderr: drop the server's notices. */
    PQsetNoticeProcessor(pg, ignore_notice, NULL);
    return pg;
}

es_status es__conn_ensure(es_store *es, es_conn *c, at_error *err)
{
    if (c->pg && PQstatus(c->pg) == CONNECTION_OK)
        return ES_OK;
    if (c->pg)
        PQfinish(c->pg);
    c->prepared = false;
    c->pg = es__connect(es, err);
    return c->pg ? ES_OK : ES_IO;
}

es_status es__pool_get(es_store *es, es_conn **out, at_error *err)
{
    pthread_mutex_lock(&es->pool_mu);
    while (es->n_free == 0 && !es->pool_closing)
        pthread_cond_wait(&es->pool_cv, &es->pool_mu);
    if (es->pool_closing) {
        pthread_mutex_unlock(&es->pool_mu);
        return es__fail(err, ES_CLOSED, NULL, "cannot use the event store: it is closing");
    }
    es_conn *c = es->free_conns[--es->n_free];
    pthread_mutex_unlock(&es->pool_mu);
    es_status s = es__conn_ensure(es, c, err);
    if (s != ES_OK) {
        es__pool_put(es, c);
        return s;
    }
    *out = c;
    return ES_OK;
}

void es__pool_put(es_store *es, es_conn *c)
{
    if (c->pg && PQstatus(c->pg) != CONNECTION_OK) {
        PQfinish(c->pg);
        c->pg = NULL;
        c->prepared = false;
    }
    if (c->pg && PQtransactionStatus(c->pg) != PQTRANS_IDLE) {
        PGresult *r = PQexec(c->pg, "ROLLBACK");
        PQclear(r);
        if (PQtransactionStatus(c->pg) != PQTRANS_IDLE) {
            PQfinish(c->pg);
            c->pg = NULL;
            c->prepared = false;
        }
    }
    pthread_mutex_lock(&es->pool_mu);
    es->free_conns[es->n_free++] = c;
    pthread_cond_signal(&es->pool_cv);
    pthread_mutex_unlock(&es->pool_mu);
}

/* Refuse a database whose schema is older than this library (or missing). */
static es_status check_schema(PGconn *pg, at_error *err)
{
    PGresult *r = PQexec(pg, "SELECT coalesce(max(version), 0) FROM atb.schema_migrations");
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        es_status s = es__pg_fail(err, pg, r, "open the event store");
        PQclear(r);
        return s;
    }
    int have = atoi(PQgetvalue(r, 0, 0));
    PQclear(r);
    if (have < es_schema_version()) {
        es__fail(err, ES_INVALID, NULL, "cannot open the event store: the database schema is at "
                 "version %d, this program needs %d", have, es_schema_version());
        if (err)
            at_error_hint(err, "Run es_migrate() with an admin connection string first.");
        return ES_INVALID;
    }
    return ES_OK;
}

static void store_free(es_store *es)
{
    if (!es)
        return;
    if (es->conns)
        for (int i = 0; i < es->pool_size; i++)
            if (es->conns[i].pg)
                PQfinish(es->conns[i].pg);
    if (es->commit_conn.pg)
        PQfinish(es->commit_conn.pg);
    if (es->listen)
        PQfinish(es->listen);
    for (size_t i = 0; i < es->n_tenants; i++)
        free(es->tenants[i]);
    free(es->tenants);
    free(es->conns);
    free(es->free_conns);
    free(es->conninfo);
    free(es->appname);
    pthread_mutex_destroy(&es->pool_mu);
    pthread_cond_destroy(&es->pool_cv);
    pthread_mutex_destroy(&es->q_mu);
    pthread_cond_destroy(&es->q_cv);
    pthread_mutex_destroy(&es->wait_mu);
    pthread_cond_destroy(&es->wait_cv);
    pthread_mutex_destroy(&es->tenant_mu);
    free(es);
}

es_status es_open(es_store **out, const es_config *cfg, at_error *err)
{
    if (!out || !cfg)
        return es__fail(err, ES_INVALID, NULL, "cannot open the event store: no configuration");
    *out = NULL;
    es__fault_init_env();
    if (cfg->pool_size > 256)
        return es__fail(err, ES_INVALID, "pool_size", "cannot open the event store: pool_size "
                        "%d is more than 256", cfg->pool_size);

    es_store *es = calloc(1, sizeof *es);
    if (!es)
        return es__fail(err, ES_NOMEM, NULL, "cannot open the event store: out of memory");
    pthread_mutex_init(&es->pool_mu, NULL);
    pthread_cond_init(&es->pool_cv, NULL);
    pthread_mutex_init(&es->q_mu, NULL);
    pthread_cond_init(&es->q_cv, NULL);
    pthread_mutex_init(&es->wait_mu, NULL);
    pthread_cond_init(&es->wait_cv, NULL);
    pthread_mutex_init(&es->tenant_mu, NULL);
    es->pool_size = cfg->pool_size > 0 ? cfg->pool_size : 4;
    es->group_max_events = cfg->group_max_events > 0 ? cfg->group_max_events : 2048;
    es->group_max_wait_us = cfg->group_max_wait_us > 0 ? cfg->group_max_wait_us : 0;
    es->appname_given = cfg->application_name && *cfg->application_name;
    es->conninfo = strdup(cfg->conninfo ? cfg->conninfo : "");
    es->appname = strdup(es->appname_given ? cfg->application_name : "atbalsts");
    es->conns = calloc((size_t)es->pool_size, sizeof *es->conns);
    es->free_conns = calloc((size_t)es->pool_size, sizeof *es->free_conns);
    if (!es->conninfo || !es->appname || !es->conns || !es->free_conns) {
        store_free(es);
        return es__fail(err, ES_NOMEM, NULL, "cannot open the event store: out of memory");
    }
    for (int i = 0; i < es->pool_size; i++) {
        es->conns[i].pg = es__connect(es, err);
        if (!es->conns[i].pg) {
            store_free(es);
            return ES_IO;
        }
        es->free_conns[es->n_free++] = &es->conns[i];
    }
    es_status s = check_schema(es->conns[0].pg, err);
    if (s == ES_OK)
        s = es__conn_ensure(es, &es->commit_conn, err);
    if (s == ES_OK)
        s = es__committer_start(es, err);
    if (s != ES_OK) {
        store_free(es);
        return s;
    }
    *out = es;
    return ES_OK;
}

void es_close(es_store *es)
{
    if (!es)
        return;
    es__committer_stop(es);
    pthread_mutex_lock(&es->pool_mu);
    es->pool_closing = true;
    pthread_cond_broadcast(&es->pool_cv);
    pthread_mutex_unlock(&es->pool_mu);
    store_free(es);
}

es_status es_stats(es_store *es, es_store_stats *out)
{
    if (!es || !out)
        return ES_INVALID;
    pthread_mutex_lock(&es->q_mu);
    *out = es->stats;
    pthread_mutex_unlock(&es->q_mu);
    return ES_OK;
}

/* ---- tenants ------------------------------------------------------------------- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool tenant_cached(es_store *es, const char *tenant)
{
    const char *key = tenant;
    return es->n_tenants
        && bsearch(&key, es->tenants, es->n_tenants, sizeof *es->tenants, cmp_str) != NULL;
}

/* Load every tenant code; the table is small (one row per municipality). */
static es_status tenants_reload(es_store *es, at_error *err)
{
    es_conn *c;
    es_status st = es__pool_get(es, &c, err);
    if (st != ES_OK)
        return st;
    PGresult *r = PQexec(c->pg, "SELECT code FROM atb.tenants");
    char **list = NULL;
    size_t n = 0;
    bool ok = PQresultStatus(r) == PGRES_TUPLES_OK;
    if (ok) {
        n = (size_t)PQntuples(r);
        list = calloc(n ? n : 1, sizeof *list);
        ok = list != NULL;
        for (size_t i = 0; ok && i < n; i++) {
            list[i] = strdup(PQgetvalue(r, (int)i, 0));
            ok = list[i] != NULL;
        }
    }
    if (!ok)
        es__fail(err, ES_IO, NULL, "could not read the tenant registry: %s", PQresultErrorMessage(r));
    PQclear(r);
    es__pool_put(es, c);
    if (!ok) {
        for (size_t i = 0; list && i < n; i++)
            free(list[i]);
        free(list);
        return ES_IO;
    }
    qsort(list, n, sizeof *list, cmp_str);
    pthread_mutex_lock(&es->tenant_mu);
    char **old = es->tenants;
    size_t n_old = es->n_tenants;
    es->tenants = list;
    es->n_tenants = n;
    es->tenants_loaded_ns = es__mono_ns();
    pthread_mutex_unlock(&es->tenant_mu);
    for (size_t i = 0; i < n_old; i++)
        free(old[i]);
    free(old);
    return ES_OK;
}

es_status es_tenant_check(es_store *es, const char *tenant, bool *known, at_error *err)
{
    *known = false;
    if (!es || !tenant || !*tenant)
        return ES_OK;
    pthread_mutex_lock(&es->tenant_mu);
    *known = tenant_cached(es, tenant);
    /* A miss reloads the list, at most once a second, so a tenant added by a migration
     * is seen without a restart and a flood of unknown codes costs no flood of queries. */
    bool stale = es->tenants_loaded_ns == 0
                 || es__mono_ns() - es->tenants_loaded_ns > 1000000000LL;
    pthread_mutex_unlock(&es->tenant_mu);
    if (*known || !stale)
        return ES_OK;
    /* A list that cannot be refreshed cannot prove a tenant unknown: say so, so the
     * caller answers "unavailable, retry" rather than "unknown municipality". */
    es_status st = tenants_reload(es, err);
    if (st != ES_OK)
        return st;
    pthread_mutex_lock(&es->tenant_mu);
    *known = tenant_cached(es, tenant);
    pthread_mutex_unlock(&es->tenant_mu);
    return ES_OK;
}

bool es_tenant_known(es_store *es, const char *tenant)
{
    bool known = false;
    es_tenant_check(es, tenant, &known, NULL);
    return known;
}
