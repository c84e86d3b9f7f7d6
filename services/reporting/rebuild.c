/*
 * rebuild.c -- drop a projection and replay it from the log, and its digest (md5 of its
 * ordered rows), for `atbalsts report rebuild` (docs/reporting.md, "Rebuilding").
 *
 * A projection is its consumer (handler, categories, checkpoint: reporting_consumers in
 * handlers.c) and its tables (below). A rebuild, with atbalsts-reporting stopped (its
 * consumers keep their checkpoints in memory and never move them back; lock.c refuses a
 * rebuild under a running service):
 *   1. in one transaction, delete the tables' rows and set the consumer's checkpoint to 0;
 *   2. read the log after the checkpoint a batch at a time, the consumer's categories only,
 *      and project each batch through the consumer's own handler in one transaction that
 *      also moves the checkpoint to the batch's last event (the handlers are idempotent
 *      and see the events in log order, as the consumer would); the handlers' statements
 *      pipelined and gathered (pipeline.c), or, when that fails, one event at a time;
 *   3. stop at the log's head when it started; the checkpoint is the position the
 *      projection reflects.
 * The projections do not read each other: rep_rebuild_run rebuilds several side by side.
 * An interrupted rebuild leaves a consistent prefix: the running service (or a second
 * rebuild) continues from the checkpoint.
 *
 * When adding a projection, add its tables here (with the columns that order their rows
 * uniquely), or the rebuild will not know it.
 */
#include "reporting.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Events to a transaction: large enough that the commit and the log read are a small part
 * of the time, small enough that an interrupted rebuild loses little. */
#define REBUILD_BATCH 5000

/* Tables of one projection, at most; raise it when a projection gets another table. */
#define REP_MAX_TABLES 4

typedef struct rep_table {
    const char *name;        /* in schema reporting */
    const char *order_by;    /* a unique ordering of its rows */
} rep_table;

typedef struct rep_projection_def {
    const char *name;
    const char *durable;
    rep_table tables[REP_MAX_TABLES];
} rep_projection_def;

static const rep_projection_def defs[] = {
    {"persons", PERSONS_CONSUMER, {{"persons", "person_key"}}},
    {"decisions", DECISIONS_CONSUMER,
     {{"decisions", "tenant, application_id, ask_index"},
      {"decision_results", "tenant, application_id, ask_index, position"}}},
    {"applications", APPLICATIONS_CONSUMER, {{"applications", "tenant, application_id"}}},
    {"placements", PLACEMENTS_CONSUMER,
     {{"placements", "placement_key"}, {"placement_loads", "placement_key, position"}}},
    {"requests", REQUESTS_CONSUMER, {{"requests", "request_key"}}},
    {"payments", PAYMENTS_CONSUMER,
     {{"payment_orders", "order_id"}, {"payment_batches", "batch_id"}, {"recoveries", "claim_id"},
      {"recovery_collections", "claim_id, order_id"}}},
    {"appeals", APPEALS_CONSUMER, {{"appeals", "appeal_key"}}},
    {"catalogue", UNITS_CONSUMER,
     {{"catalogues", "owner, position"}, {"units", "owner, position, provider, service, valid_from"}}},
};

size_t rep_projections_count(void)
{
    return sizeof defs / sizeof defs[0];
}

const char *rep_projection_name(size_t i)
{
    return i < rep_projections_count() ? defs[i].name : NULL;
}

static const svc_consumer *consumer_of(const rep_projection_def *d)
{
    for (size_t i = 0; i < reporting_n_consumers; i++)
        if (strcmp(reporting_consumers[i].durable, d->durable) == 0)
            return &reporting_consumers[i];
    return NULL;
}

static at_code pg_error(PGresult *r, const char *what, at_error *err)
{
    const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    at_error_set(err, AT_UNAVAILABLE, NULL, "could not %s", what);
    at_error_detail(err, "PostgreSQL said: %.300s (SQLSTATE %s).", PQresultErrorMessage(r), state ? state : "none");
    return AT_UNAVAILABLE;
}

at_code rep_projection_digest(es_store *es, size_t i, char *out, size_t n, int64_t *position, at_error *err)
{
    const rep_projection_def *d = &defs[i];
    char sql[1536];
    size_t k = (size_t)snprintf(sql, sizeof sql, "SELECT concat_ws(' '");
    for (int t = 0; t < REP_MAX_TABLES && d->tables[t].name; t++)
        k += (size_t)snprintf(sql + k, sizeof sql - k,
                              ", (SELECT coalesce(md5(string_agg(x::text, ',' ORDER BY %s)), 'empty') "
                              "FROM reporting.%s x)",
                              d->tables[t].order_by, d->tables[t].name);
    snprintf(sql + k, sizeof sql - k,
             "), coalesce((SELECT position FROM atb.checkpoints WHERE consumer = '%s'), 0)", d->durable);
    es_txn *t = NULL;
    es_status st = es_txn_begin(es, &t, err);
    if (st != ES_OK)
        return es_status_code(st);
    PGresult *r = PQexec(es_txn_conn(t), sql);
    at_code code = AT_OK;
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        code = pg_error(r, "compute the projection's digest", err);
    } else {
        snprintf(out, n, "%s", PQgetvalue(r, 0, 0));
        *position = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
    }
    PQclear(r);
    es_txn_rollback(t);
    return code;
}

static at_code drop(es_store *es, const rep_projection_def *d, size_t projection, at_error *err)
{
    es_txn *t = NULL;
    es_status st = es_txn_begin(es, &t, err);
    if (st != ES_OK)
        return es_status_code(st);
    at_code code = rep_rebuild_guard(t, projection, err);
    for (int i = 0; code == AT_OK && i <= REP_MAX_TABLES; i++) {
        char sql[256];
        if (i < REP_MAX_TABLES && !d->tables[i].name)
            continue;
        if (i < REP_MAX_TABLES)
            snprintf(sql, sizeof sql, "DELETE FROM reporting.%s", d->tables[i].name);
        else
            /* set back, not deleted: the service's role may not delete checkpoints */
            snprintf(sql, sizeof sql, "UPDATE atb.checkpoints SET position = 0, updated_at = now() "
                     "WHERE consumer = '%s'", d->durable);
        PGresult *r = PQexec(es_txn_conn(t), sql);
        if (PQresultStatus(r) != PGRES_COMMAND_OK)
            code = pg_error(r, "drop the projection", err);
        PQclear(r);
    }
    if (code != AT_OK) {
        es_txn_rollback(t);
        return code;
    }
    st = es_txn_commit(t, err);
    return st == ES_OK ? AT_OK : es_status_code(st);
}

/* The batch's events through the handler with their statements pipelined and gathered
 * (pipeline.c): a few round trips a batch instead of one a statement. Any failure, also an
 * event that does not decode, makes the caller roll back and take project_each. */
static at_code project_pipelined(es_txn *t, const svc_consumer *c, const es_batch *b, at_error *err)
{
    at_code code = rep_pipeline_begin(t, err);
    for (size_t i = 0; code == AT_OK && i < es_batch_count(b); i++)
        code = c->handler(c->ctx, t, es_batch_get(b, i), err);
    at_error end_err;
    at_code end = rep_pipeline_end(&end_err);
    if (code == AT_OK && end != AT_OK) {
        *err = end_err;
        code = end;
    }
    return code;
}

static at_code sql_simple(es_txn *t, const char *sql, at_error *err)
{
    PGresult *r = PQexec(es_txn_conn(t), sql);
    at_code code = PQresultStatus(r) == PGRES_COMMAND_OK ? AT_OK : pg_error(r, "replay the projection", err);
    PQclear(r);
    return code;
}

/* The batch one event at a time, each in a savepoint: an event the handler finds malformed
 * leaves nothing (the running consumer rolls it back and dead-letters it, atb.dead_letters)
 * and the replay goes on; any other failure ends it. */
static at_code project_each(es_txn *t, const svc_consumer *c, const es_batch *b, int64_t *malformed, at_error *err)
{
    at_code code = AT_OK;
    for (size_t i = 0; code == AT_OK && i < es_batch_count(b); i++) {
        if ((code = sql_simple(t, "SAVEPOINT event", err)) != AT_OK)
            break;
        code = c->handler(c->ctx, t, es_batch_get(b, i), err);
        if (code == AT_MALFORMED) {
            (*malformed)++;
            at_error_clear(err);
            code = sql_simple(t, "ROLLBACK TO SAVEPOINT event", err);
        }
        if (code == AT_OK)
            code = sql_simple(t, "RELEASE SAVEPOINT event", err);
    }
    return code;
}

/* Project one batch in one transaction, under the lock (lock.c), with the checkpoint moved
 * to its last event in the same transaction: pipelined, or one event at a time (`each`). */
static at_code batch_try(es_store *es, size_t projection, const svc_consumer *c, const es_batch *b, bool each,
                         int64_t *malformed, at_error *err)
{
    es_txn *t = NULL;
    es_status st = es_txn_begin(es, &t, err);
    if (st != ES_OK)
        return es_status_code(st);
    int64_t bad = 0;
    at_code code = rep_rebuild_guard(t, projection, err);
    if (code == AT_OK)
        code = each ? project_each(t, c, b, &bad, err) : project_pipelined(t, c, b, err);
    if (code != AT_OK) {
        es_txn_rollback(t);
        return code;
    }
    st = es_txn_checkpoint_set(t, c->durable, es_batch_get(b, es_batch_count(b) - 1)->position, err);
    if (st == ES_OK)
        st = es_txn_commit(t, err);
    else
        es_txn_rollback(t);
    if (st != ES_OK)
        return es_status_code(st);
    *malformed += bad;
    return AT_OK;
}

static at_code replay_batch(es_store *es, size_t projection, const svc_consumer *c, const es_batch *b,
                            int64_t *malformed, at_error *err)
{
    at_code code = batch_try(es, projection, c, b, false, malformed, err);
    /* refused by the lock: the service runs, and one event at a time would be refused too */
    if (code == AT_OK || code == AT_CONFLICT)
        return code;
    at_error_clear(err);
    return batch_try(es, projection, c, b, true, malformed, err);
}

at_code rep_projection_rebuild(es_store *es, size_t i, rep_rebuild_result *res, at_error *err)
{
    const rep_projection_def *d = &defs[i];
    const svc_consumer *c = consumer_of(d);
    memset(res, 0, sizeof *res);
    if (!c) {
        at_error_set(err, AT_INTERNAL, NULL, "projection %s has no consumer", d->name);
        return AT_INTERNAL;
    }
    int64_t head = 0;
    es_status st = es_head(es, &head, err);
    if (st != ES_OK)
        return es_status_code(st);
    at_code code = drop(es, d, i, err);
    es_filter f = {.categories = c->categories, .n_categories = c->n_categories};
    int64_t after = 0;
    while (code == AT_OK && after < head) {
        es_batch *b = NULL;
        if ((st = es_read_all(es, after, REBUILD_BATCH, &f, &b, err)) != ES_OK)
            return es_status_code(st);
        size_t n = es_batch_count(b);
        /* stop at the head seen when the rebuild started; later events are the service's */
        while (n > 0 && es_batch_get(b, n - 1)->position > head)
            n--;
        if (n == 0) {
            es_batch_free(b);
            break;
        }
        if (n < es_batch_count(b)) {
            es_batch_free(b);
            if ((st = es_read_all(es, after, n, &f, &b, err)) != ES_OK)
                return es_status_code(st);
        }
        code = replay_batch(es, i, c, b, &res->malformed, err);
        if (code == AT_OK) {
            after = es_batch_get(b, n - 1)->position;
            res->events += (int64_t)n;
        }
        es_batch_free(b);
    }
    res->position = after;
    return code;
}

/* The tasks not yet taken, shared by rep_rebuild_run's threads. */
typedef struct rebuild_queue {
    es_store *es;
    rep_rebuild_task *tasks;
    size_t n;
    atomic_size_t next;
} rebuild_queue;

static void rebuild_task(es_store *es, rep_rebuild_task *t)
{
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    at_error_clear(&t->err);
    t->code = AT_OK;
    if (t->digests)
        t->code = rep_projection_digest(es, t->projection, t->before, sizeof t->before, &t->position_before, &t->err);
    if (t->code == AT_OK)
        t->code = rep_projection_rebuild(es, t->projection, &t->res, &t->err);
    int64_t after = 0;
    if (t->code == AT_OK && t->digests)
        t->code = rep_projection_digest(es, t->projection, t->after, sizeof t->after, &after, &t->err);
    clock_gettime(CLOCK_MONOTONIC, &b);
    t->seconds = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
}

static void *rebuild_worker(void *arg)
{
    rebuild_queue *q = arg;
    for (size_t k; (k = atomic_fetch_add(&q->next, 1)) < q->n;)
        rebuild_task(q->es, &q->tasks[k]);
    return NULL;
}

void rep_rebuild_run(es_store *es, rep_rebuild_task *tasks, size_t n, int jobs)
{
    rebuild_queue q = {.es = es, .tasks = tasks, .n = n};
    atomic_init(&q.next, 0);
    pthread_t th[REP_REBUILD_MAX_JOBS];
    int started = 0;
    for (int j = 1; j < jobs && j < REP_REBUILD_MAX_JOBS && (size_t)j < n; j++)
        if (pthread_create(&th[started], NULL, rebuild_worker, &q) == 0)
            started++;
    rebuild_worker(&q);   /* this thread is one of the jobs; with no other thread, the only one */
    for (int j = 0; j < started; j++)
        pthread_join(th[j], NULL);
}
