/*
 * lock.c -- a rebuild and the running service exclude each other through PostgreSQL
 * advisory locks: one a projection, (REP_LOCK_KEY, the projection's number).
 *
 * Why: the service's consumers keep their checkpoints in memory and never move them back,
 * so a projection dropped and replayed under a running service would have the consumer
 * write on top of the replay from its old position, and the rebuild would set back a
 * checkpoint the consumer then overwrites: rows and checkpoint would disagree.
 *
 *  - the service takes every projection's lock SHARED when it starts (several instances
 *    may run) on a connection of its own, held until the process ends; it does not start
 *    when it cannot;
 *  - a rebuild takes its projection's lock EXCLUSIVE for each of its transactions (the drop
 *    and every batch), so it refuses to begin while any instance runs, and when an
 *    instance starts between two batches the next batch refuses: what was committed is a
 *    consistent prefix with its checkpoint, which the starting service reads and continues
 *    from. Rebuilds of different projections run side by side (rep_rebuild_run).
 * Not covered: if the service's lock connection is lost while it runs, the lock is gone
 * until the service restarts (docs/reporting.md, "Rebuilding").
 */
#include "reporting.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "atbR" as an integer: the first half of our keys in the database's advisory-lock space */
#define REP_LOCK_KEY "1635017298"

static PGconn *service_lock;   /* held for the life of the process; its end releases it */

/* A new connection with the same parameters as conn's (host, role, password, database). */
static PGconn *connect_like(PGconn *conn)
{
    PQconninfoOption *opts = PQconninfo(conn);
    if (!opts)
        return NULL;
    size_t n = 0;
    for (PQconninfoOption *o = opts; o->keyword; o++)
        n++;
    const char **kw = calloc(n + 2, sizeof *kw), **val = calloc(n + 2, sizeof *val);
    if (!kw || !val) {
        free(kw);
        free(val);
        PQconninfoFree(opts);
        return NULL;
    }
    size_t k = 0;
    for (PQconninfoOption *o = opts; o->keyword; o++)
        if (o->val && o->val[0] && strcmp(o->keyword, "application_name") != 0) {
            kw[k] = o->keyword;
            val[k++] = o->val;
        }
    kw[k] = "application_name";
    val[k++] = "atbalsts-reporting-lock";
    kw[k] = NULL;
    val[k] = NULL;
    PGconn *c = PQconnectdbParams(kw, val, 0);
    free(kw);
    free(val);
    PQconninfoFree(opts);
    return c;
}

at_code rep_service_lock(es_store *es, at_error *err)
{
    es_txn *t = NULL;
    es_status st = es_txn_begin(es, &t, err);
    if (st != ES_OK)
        return es_status_code(st);
    PGconn *c = connect_like(es_txn_conn(t));
    es_txn_rollback(t);
    if (!c || PQstatus(c) != CONNECTION_OK) {
        at_error_set(err, AT_UNAVAILABLE, NULL, "could not connect for the projections' lock");
        at_error_detail(err, "PostgreSQL said: %.300s", c ? PQerrorMessage(c) : "out of memory");
        PQfinish(c);
        return AT_UNAVAILABLE;
    }
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT bool_and(pg_try_advisory_lock_shared(" REP_LOCK_KEY ", i)) "
             "FROM generate_series(0, %zu) i", rep_projections_count() - 1);
    PGresult *r = PQexec(c, sql);
    at_code code = AT_OK;
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        at_error_set(err, AT_UNAVAILABLE, NULL, "could not take the projections' lock");
        at_error_detail(err, "PostgreSQL said: %.300s", PQresultErrorMessage(r));
        code = AT_UNAVAILABLE;
    } else if (strcmp(PQgetvalue(r, 0, 0), "t") != 0) {
        at_error_set(err, AT_CONFLICT, NULL, "a rebuild of the projections is running");
        at_error_detail(err, "`atbalsts report rebuild` holds the projections' advisory lock; the "
                             "consumers would race its replay.");
        at_error_hint(err, "Start atbalsts-reporting again when the rebuild has finished.");
        code = AT_CONFLICT;
    }
    PQclear(r);
    if (code != AT_OK) {
        PQfinish(c);
        return code;
    }
    service_lock = c;
    return AT_OK;
}

at_code rep_rebuild_guard(es_txn *t, size_t projection, at_error *err)
{
    char sql[96];
    snprintf(sql, sizeof sql, "SELECT pg_try_advisory_xact_lock(" REP_LOCK_KEY ", %zu)", projection);
    PGresult *r = PQexec(es_txn_conn(t), sql);
    at_code code = AT_OK;
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        at_error_set(err, AT_UNAVAILABLE, NULL, "could not take the projections' lock");
        at_error_detail(err, "PostgreSQL said: %.300s", PQresultErrorMessage(r));
        code = AT_UNAVAILABLE;
    } else if (strcmp(PQgetvalue(r, 0, 0), "t") != 0) {
        at_error_set(err, AT_CONFLICT, NULL, "atbalsts-reporting is running");
        at_error_detail(err, "The reporting service holds the projections' advisory lock: its consumers keep "
                             "their checkpoints in memory and would write over a replay.");
        at_error_hint(err, "Stop atbalsts-reporting (every instance), run the rebuild, then start it again.");
        code = AT_CONFLICT;
    }
    PQclear(r);
    return code;
}

void rep_service_unlock(void)
{
    PQfinish(service_lock);
    service_lock = NULL;
}
