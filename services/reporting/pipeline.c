/*
 * pipeline.c -- a rebuild's batch written with few round trips and little server work per
 * event (docs/performance.md, "Reporting"): the handlers stay those of the live consumers,
 * only rep_exec changes what it does with their statements while a pipeline is on.
 *
 *  - pipelined: statements are sent without waiting for their replies (libpq pipeline
 *    mode), synced every PIPE_DEPTH replies so that the server's replies never fill the
 *    socket while we still write (the pipeline deadlock libpq's manual warns of);
 *  - prepared: each distinct text is prepared once a batch, so the server parses and plans
 *    it once rather than once an event (and deallocated at the batch's end);
 *  - gathered: rows of an INSERT ... VALUES (...) ON CONFLICT DO NOTHING are queued and sent
 *    as one multi-row INSERT. Order is kept where it matters: every queue is sent, in the
 *    order the queues were opened, before any other statement, before a different statement
 *    on a queued table, and when one queue is full. DO NOTHING keeps the first of two rows
 *    that conflict within one statement, as the statements one by one would.
 * A failure reports the table and an event of the statement; the rebuild then rolls back
 * and replays that batch one event at a time (rebuild.c), which names the exact event.
 *
 * The state is per thread: the handlers' signature (bus_handler_fn) has no room for it, and
 * the service's consumer threads never turn a pipeline on.
 */
#include "reporting.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PIPE_DEPTH 256      /* replies awaited before a sync */
#define STMT_MAX 64         /* statements prepared in one batch */
#define QUEUE_MAX 8         /* tables with rows queued at once */
#define QUEUE_PARAMS 4000   /* parameters of one multi-row INSERT (PostgreSQL allows 65,535) */
#define QUEUE_ROWS 500

typedef struct prepared {
    char *sql;
    unsigned serial;    /* its name is "rep_<serial>" */
} prepared;

typedef struct queue {
    char *sql;          /* the one-row statement (a copy) */
    const char *table;
    int n;              /* parameters a row */
    size_t head_len;    /* the text before the row's "(" */
    size_t row_at, row_len;
    int rows, max_rows;
    int64_t first_position;
    char **vals;        /* max_rows * n, each a copy or NULL */
} queue;

typedef struct pipe_state {
    PGconn *conn;       /* NULL: off */
    size_t n;           /* replies awaited */
    int64_t positions[PIPE_DEPTH];
    const char *tables[PIPE_DEPTH];
    PGconn *prepared_on;
    prepared stmts[STMT_MAX];
    size_t n_stmts;
    unsigned next_serial;   /* never reused: a name may outlive a forgotten entry */
    queue queues[QUEUE_MAX];
    size_t n_queues;
} pipe_state;

static _Thread_local pipe_state P;

static at_code conn_failed(const char *table, int64_t position, at_error *err)
{
    at_error_set(err, AT_UNAVAILABLE, NULL, "could not write %s", table);
    at_error_detail(err, "Event at position %lld: %.250s", (long long)position, PQerrorMessage(P.conn));
    return AT_UNAVAILABLE;
}

/* Forget the prepared statements: after a failure their state is unknown (a Parse in an
 * aborted pipeline never ran; one that did is harmless, its name is not reused). */
static void forget_prepared(void)
{
    for (size_t i = 0; i < P.n_stmts; i++)
        free(P.stmts[i].sql);
    P.n_stmts = 0;
    P.prepared_on = NULL;
}

/* Sync and read every reply awaited; the first failure into err. */
static at_code drain(at_error *err)
{
    if (P.n == 0)
        return AT_OK;
    if (!PQpipelineSync(P.conn)) {
        P.n = 0;
        forget_prepared();
        return conn_failed("the projection", 0, err);
    }
    at_code code = AT_OK;
    /* each statement answers with its result and a NULL; the sync with PGRES_PIPELINE_SYNC */
    for (size_t q = 0; q <= P.n && PQstatus(P.conn) == CONNECTION_OK;) {
        PGresult *r = PQgetResult(P.conn);
        if (!r) {
            q++;
            continue;
        }
        ExecStatusType s = PQresultStatus(r);
        if (s == PGRES_PIPELINE_SYNC) {
            PQclear(r);
            break;
        }
        /* after a failure the rest of the pipeline is PGRES_PIPELINE_ABORTED */
        if (s != PGRES_COMMAND_OK && s != PGRES_PIPELINE_ABORTED && code == AT_OK && q < P.n)
            code = rep_write_failed(r, P.positions[q], P.tables[q], err);
        PQclear(r);
    }
    if (code == AT_OK && PQstatus(P.conn) != CONNECTION_OK)
        code = conn_failed("the projection", 0, err);
    P.n = 0;
    if (code != AT_OK)
        forget_prepared();
    return code;
}

/* One more reply awaited, for a write of table by the event at position. */
static at_code awaited(int64_t position, const char *table, at_error *err)
{
    P.positions[P.n] = position;
    P.tables[P.n] = table;
    return ++P.n == PIPE_DEPTH ? drain(err) : AT_OK;
}

/* Send sql: prepared (once per connection) while there is room for its name, else parsed. */
static at_code send(int64_t position, const char *table, const char *sql, int n, const char *const *params,
                    at_error *err)
{
    if (P.prepared_on != P.conn) {
        forget_prepared();
        P.prepared_on = P.conn;
    }
    size_t i = 0;
    while (i < P.n_stmts && strcmp(P.stmts[i].sql, sql) != 0)
        i++;
    char name[24];
    at_code code;
    if (i == P.n_stmts && i < STMT_MAX && (P.stmts[i].sql = strdup(sql))) {
        P.stmts[i].serial = P.next_serial++;
        snprintf(name, sizeof name, "rep_%u", P.stmts[i].serial);
        if (!PQsendPrepare(P.conn, name, sql, n, NULL)) {
            free(P.stmts[i].sql);
            return conn_failed(table, position, err);
        }
        P.n_stmts++;
        if ((code = awaited(position, table, err)) != AT_OK)
            return code;
    }
    int sent;
    if (i < P.n_stmts) {
        snprintf(name, sizeof name, "rep_%u", P.stmts[i].serial);
        sent = PQsendQueryPrepared(P.conn, name, n, params, NULL, NULL, 0);
    } else {
        sent = PQsendQueryParams(P.conn, sql, n, NULL, params, NULL, NULL, 0);
    }
    return sent ? awaited(position, table, err) : conn_failed(table, position, err);
}

/* Can sql's rows be gathered? "INSERT INTO t (...) VALUES (<row>) ... DO NOTHING" where the
 * row has parameters and constants only (no parenthesis, no quote) and the rest none; the
 * row's place into q. */
static bool gatherable(const char *sql, queue *q)
{
    const char *v = strstr(sql, " VALUES (");
    if (strncmp(sql, "INSERT INTO ", 12) != 0 || !v || strstr(v + 9, " VALUES ("))
        return false;
    const char *row = v + 8, *end = strchr(row + 1, ')');
    if (!end || strcspn(row + 1, "('") < (size_t)(end - row - 1))
        return false;
    /* the tail's text is sent once, so it may not read a row's parameters */
    if (!strstr(end, "DO NOTHING") || strstr(end, "RETURNING") || strchr(end, '$'))
        return false;
    q->head_len = (size_t)(row - sql);
    q->row_at = q->head_len;
    q->row_len = (size_t)(end + 1 - row);
    return true;
}

/* The row template with each $k as $(k + offset), appended at out. */
static char *row_text(char *out, const char *row, size_t len, int offset)
{
    for (size_t i = 0; i < len;) {
        if (row[i] == '$') {
            char *e;
            long k = strtol(row + i + 1, &e, 10);
            out += sprintf(out, "$%ld", k + offset);
            i = (size_t)(e - row);
        } else {
            *out++ = row[i++];
        }
    }
    return out;
}

static void queue_free(queue *q)
{
    for (int i = 0; i < q->rows * q->n; i++)
        free(q->vals[i]);
    free(q->vals);
    free(q->sql);
    memset(q, 0, sizeof *q);
}

/* Send q's rows as one INSERT (the one-row statement itself for one row). */
static at_code queue_send(queue *q, at_error *err)
{
    if (q->rows == 1)
        return send(q->first_position, q->table, q->sql, q->n, (const char *const *)q->vals, err);
    size_t tail_at = q->row_at + q->row_len, tail_len = strlen(q->sql + tail_at);
    /* a row's text grows by at most 6 characters a parameter when renumbered */
    char *sql = malloc(q->head_len + (size_t)q->rows * (q->row_len + 2 + 6 * (size_t)q->n) + tail_len + 1);
    if (!sql)
        return at_error_set(err, AT_UNAVAILABLE, NULL, "could not write %s: out of memory", q->table);
    memcpy(sql, q->sql, q->head_len);
    char *p = sql + q->head_len;
    for (int r = 0; r < q->rows; r++) {
        if (r) {
            *p++ = ',';
            *p++ = ' ';
        }
        p = row_text(p, q->sql + q->row_at, q->row_len, r * q->n);
    }
    memcpy(p, q->sql + tail_at, tail_len + 1);
    at_code code = send(q->first_position, q->table, sql, q->rows * q->n, (const char *const *)q->vals, err);
    free(sql);
    return code;
}

/* Send every queue, in the order they were opened, and close them. */
static at_code flush_queues(at_error *err)
{
    at_code code = AT_OK;
    for (size_t i = 0; i < P.n_queues; i++) {
        if (code == AT_OK && P.queues[i].rows > 0)
            code = queue_send(&P.queues[i], err);
        queue_free(&P.queues[i]);
    }
    P.n_queues = 0;
    return code;
}

/* Queue a row of sql (gatherable, its place in tmpl) for table. */
static at_code gather(const es_event *ev, const char *table, const char *sql, int n, const char *const *params,
                      const queue *tmpl, at_error *err)
{
    queue *q = NULL;
    for (size_t i = 0; i < P.n_queues && !q; i++)
        if (strcmp(P.queues[i].table, table) == 0)
            q = &P.queues[i];
    at_code code;
    if ((q && strcmp(q->sql, sql) != 0) || (!q && P.n_queues == QUEUE_MAX)) {
        if ((code = flush_queues(err)) != AT_OK)
            return code;
        q = NULL;
    }
    if (!q) {
        q = &P.queues[P.n_queues];
        *q = *tmpl;
        q->table = table;
        q->n = n;
        q->max_rows = n > 0 && QUEUE_PARAMS / n < QUEUE_ROWS ? QUEUE_PARAMS / n : QUEUE_ROWS;
        q->sql = strdup(sql);
        q->vals = calloc((size_t)q->max_rows * (size_t)(n > 0 ? n : 1), sizeof *q->vals);
        if (!q->sql || !q->vals) {
            queue_free(q);
            return at_error_set(err, AT_UNAVAILABLE, NULL, "could not write %s: out of memory", table);
        }
        P.n_queues++;
    }
    if (q->rows == 0)
        q->first_position = ev->position;
    char **row = q->vals + (size_t)q->rows * (size_t)n;
    for (int i = 0; i < n; i++)
        if (params[i] && !(row[i] = strdup(params[i]))) {
            while (i-- > 0)
                free(row[i]), row[i] = NULL;
            return at_error_set(err, AT_UNAVAILABLE, NULL, "could not write %s: out of memory", table);
        }
    return ++q->rows == q->max_rows ? flush_queues(err) : AT_OK;
}

bool rep_pipeline_on(PGconn *conn)
{
    return P.conn && P.conn == conn;
}

at_code rep_pipeline_exec(const es_event *ev, const char *table, const char *sql, int n,
                          const char *const *params, at_error *err)
{
    queue tmpl = {0};
    if (gatherable(sql, &tmpl))
        return gather(ev, table, sql, n, params, &tmpl, err);
    at_code code = flush_queues(err);
    return code == AT_OK ? send(ev->position, table, sql, n, params, err) : code;
}

at_code rep_pipeline_begin(es_txn *txn, at_error *err)
{
    PGconn *conn = es_txn_conn(txn);
    if (!PQenterPipelineMode(conn)) {
        at_error_set(err, AT_UNAVAILABLE, NULL, "could not start a pipeline");
        at_error_detail(err, "PostgreSQL connection: %.250s", PQerrorMessage(conn));
        return AT_UNAVAILABLE;
    }
    P.conn = conn;
    P.n = 0;
    return AT_OK;
}

at_code rep_pipeline_end(at_error *err)
{
    if (!P.conn)
        return AT_OK;
    at_code code = flush_queues(err);
    /* the statements are the batch's: a connection of the pool goes back clean */
    for (size_t i = 0; code == AT_OK && i < P.n_stmts; i++) {
        char sql[48];
        snprintf(sql, sizeof sql, "DEALLOCATE rep_%u", P.stmts[i].serial);
        code = PQsendQueryParams(P.conn, sql, 0, NULL, NULL, NULL, NULL, 0) ? awaited(0, "the projection", err)
                                                                           : conn_failed("the projection", 0, err);
    }
    at_error drained;
    at_code d = drain(&drained);
    if (code == AT_OK && d != AT_OK) {
        *err = drained;
        code = d;
    }
    PQexitPipelineMode(P.conn);
    forget_prepared();
    P.conn = NULL;
    return code;
}
