/*
 * read.c -- reading the log: batches of events, one stream, the whole log filtered,
 * the head, waiting for the head to move, and checkpoints outside a transaction.
 *
 * Results come in PostgreSQL's binary format and stay in the PGresult: an es_batch owns
 * the PGresult and an array of es_event whose strings and payloads point into it (libpq
 * ends every value with a NUL byte, binary ones too, so text columns are C strings as
 * they are). Only UUIDs are formatted, into one buffer of the batch.
 *
 * es_wait() lets one waiting thread at a time poll the LISTEN connection (the "poller");
 * the others sleep on wait_cv and are woken each time the poller has read the head. The
 * head is read again after every wake, so a lost notification delays nobody longer than
 * one poll slice.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "es_int.h"

struct es_batch {
    PGresult *res;
    size_t n;
    es_event *ev;
};

#define EVENT_COLS                                                                          \
    "position, event_id, tenant, stream_id, category, version, type, occurred_at, "        \
    "recorded_at, causation_id, correlation_id, command_id, actor, payload"
enum { N_COLS = 14 };

size_t es_batch_count(const es_batch *b)
{
    return b ? b->n : 0;
}

const es_event *es_batch_get(const es_batch *b, size_t i)
{
    return b && i < b->n ? &b->ev[i] : NULL;
}

void es_batch_free(es_batch *b)
{
    if (!b)
        return;
    PQclear(b->res);
    free(b->ev);
    free(b);
}

static const char *uuid_col(const PGresult *r, int row, int col, char *buf)
{
    if (PQgetisnull(r, row, col) || PQgetlength(r, row, col) != 16)
        return "";
    es__uuid_format((const uint8_t *)PQgetvalue(r, row, col), buf);
    return buf;
}

/* Wrap a result of EVENT_COLS in binary format into a batch; takes r in every case. */
static es_status make_batch(PGresult *r, es_batch **out, at_error *err)
{
    if (PQnfields(r) != N_COLS) {
        PQclear(r);
        return es__fail(err, ES_IO, NULL, "could not read events: unexpected result shape");
    }
    size_t n = (size_t)PQntuples(r);
    es_batch *b = calloc(1, sizeof *b);
    /* The events and their formatted UUIDs (4 per event) in one block. */
    es_event *ev = n ? malloc(n * (sizeof(es_event) + 4 * 37)) : NULL;
    if (!b || (n && !ev)) {
        free(b);
        free(ev);
        PQclear(r);
        return es__fail(err, ES_NOMEM, NULL, "could not read events: out of memory");
    }
    char *ids = (char *)(ev + n);
    for (size_t i = 0; i < n; i++) {
        int row = (int)i;
        es_event *e = &ev[i];
        char *u = ids + i * 4 * 37;
        e->position = es__get_int8(PQgetvalue(r, row, 0));
        e->event_id = uuid_col(r, row, 1, u);
        e->tenant = PQgetvalue(r, row, 2);
        e->stream_id = PQgetvalue(r, row, 3);
        e->category = PQgetvalue(r, row, 4);
        e->version = es__get_int8(PQgetvalue(r, row, 5));
        e->type = PQgetvalue(r, row, 6);
        e->occurred_at_us = es__get_int8(PQgetvalue(r, row, 7)) + ES_PG_EPOCH_US;
        e->recorded_at_us = es__get_int8(PQgetvalue(r, row, 8)) + ES_PG_EPOCH_US;
        e->causation_id = uuid_col(r, row, 9, u + 37);
        e->correlation_id = uuid_col(r, row, 10, u + 74);
        e->command_id = uuid_col(r, row, 11, u + 111);
        e->actor = PQgetvalue(r, row, 12);
        e->payload = (const uint8_t *)PQgetvalue(r, row, 13);
        e->payload_len = (size_t)PQgetlength(r, row, 13);
    }
    b->res = r;
    b->n = n;
    b->ev = ev;
    *out = b;
    return ES_OK;
}

static void put_int8(char buf[8], int64_t v)
{
    uint64_t u = (uint64_t)v;
    for (int i = 7; i >= 0; i--) {
        buf[i] = (char)(u & 0xff);
        u >>= 8;
    }
}

static int64_t clamp_max(size_t max)
{
    return max > (size_t)INT64_MAX ? INT64_MAX : (int64_t)max;
}

/* Run a query returning EVENT_COLS on a pooled connection. */
static es_status query_events(es_store *es, const char *sql, int n, const Oid *types,
                              const char *const *values, const int *lengths, const int *formats,
                              es_batch **out, at_error *err)
{
    /* A read changes nothing, so a connection found broken (the server restarted, an
     * idle connection was cut) is opened again and the read repeated, once. */
    for (int attempt = 0;; attempt++) {
        es_conn *c;
        es_status s = es__pool_get(es, &c, err);
        if (s != ES_OK)
            return s;
        PGresult *r = PQexecParams(c->pg, sql, n, types, values, lengths, formats, 1);
        if (PQresultStatus(r) == PGRES_TUPLES_OK) {
            es__pool_put(es, c);
            return make_batch(r, out, err);
        }
        s = es__pg_fail(err, c->pg, r, "read events");
        bool broken = PQstatus(c->pg) != CONNECTION_OK;
        PQclear(r);
        es__pool_put(es, c);
        if (!broken || attempt == 1)
            return s;
    }
}

es_status es_read_stream(es_store *es, const char *stream_id, int64_t from_version, size_t max,
                         es_batch **out, at_error *err)
{
    if (out)
        *out = NULL;
    if (!es || !out)
        return es__fail(err, ES_INVALID, NULL, "cannot read a stream: no store or no output");
    if (!stream_id || !*stream_id)
        return es__fail(err, ES_INVALID, "stream_id", "cannot read a stream: no stream id");
    if (max == 0)
        return es__fail(err, ES_INVALID, "max", "cannot read stream \"%s\": max is 0", stream_id);
    char from[8], lim[8];
    put_int8(from, from_version);
    put_int8(lim, clamp_max(max));
    const Oid types[3] = {ES_OID_TEXT, ES_OID_INT8, ES_OID_INT8};
    const char *values[3] = {stream_id, from, lim};
    const int lengths[3] = {(int)strlen(stream_id), 8, 8};
    const int formats[3] = {1, 1, 1};
    return query_events(es, "SELECT " EVENT_COLS " FROM atb.events WHERE stream_id = $1 "
                        "AND version >= $2 ORDER BY version LIMIT $3",
                        3, types, values, lengths, formats, out, err);
}

es_status es_read_all(es_store *es, int64_t after, size_t max, const es_filter *filter,
                      es_batch **out, at_error *err)
{
    if (out)
        *out = NULL;
    if (!es || !out)
        return es__fail(err, ES_INVALID, NULL, "cannot read the log: no store or no output");
    if (max == 0)
        return es__fail(err, ES_INVALID, "max", "cannot read the log: max is 0");
    const char *tenant = filter && filter->tenant && *filter->tenant ? filter->tenant : NULL;
    bool cats = filter && filter->categories && filter->n_categories > 0;

    char pafter[8], lim[8];
    put_int8(pafter, after);
    put_int8(lim, clamp_max(max));
    Oid types[4] = {ES_OID_INT8, ES_OID_INT8, 0, 0};
    const char *values[4] = {pafter, lim, NULL, NULL};
    int lengths[4] = {8, 8, 0, 0};
    int formats[4] = {1, 1, 1, 1};
    int n = 2;
    es__arr arr;
    memset(&arr, 0, sizeof arr);
    if (tenant) {
        types[n] = ES_OID_TEXT;
        values[n] = tenant;
        lengths[n] = (int)strlen(tenant);
        n++;
    }
    if (cats) {
        es__arr_init(&arr, ES_OID_TEXT);
        for (size_t i = 0; i < filter->n_categories; i++)
            es__arr_text(&arr, filter->categories[i] ? filter->categories[i] : "");
        es__arr_finish(&arr);
        if (arr.failed) {
            es__arr_free(&arr);
            return es__fail(err, ES_NOMEM, NULL, "could not read the log: out of memory");
        }
        types[n] = ES_OID_TEXT_ARRAY;
        values[n] = (const char *)arr.p;
        lengths[n] = (int)arr.len;
        n++;
    }
    const char *sql;
    if (!tenant && !cats)
        sql = "SELECT " EVENT_COLS " FROM atb.events WHERE position > $1 "
              "ORDER BY position LIMIT $2";
    else if (!cats)
        sql = "SELECT " EVENT_COLS " FROM atb.events WHERE tenant = $3 AND position > $1 "
              "ORDER BY position LIMIT $2";
    /* Per category, at most max rows through the (category, position) index, then the
     * first max of their union: a batch costs O(categories x max) however long the log. */
    else if (!tenant)
        sql = "SELECT e.* FROM unnest($3::text[]) AS c(category), LATERAL (SELECT " EVENT_COLS
              " FROM atb.events AS x WHERE x.category = c.category AND x.position > $1 "
              "ORDER BY x.position LIMIT $2) AS e ORDER BY e.position LIMIT $2";
    else
        sql = "SELECT e.* FROM unnest($4::text[]) AS c(category), LATERAL (SELECT " EVENT_COLS
              " FROM atb.events AS x WHERE x.category = c.category AND x.tenant = $3 "
              "AND x.position > $1 ORDER BY x.position LIMIT $2) AS e ORDER BY e.position LIMIT $2";
    es_status s = query_events(es, sql, n, types, values, lengths, formats, out, err);
    es__arr_free(&arr);
    return s;
}

static es_status read_head(PGconn *pg, int64_t *head, at_error *err)
{
    PGresult *r = PQexecParams(pg, "SELECT position FROM atb.log_head WHERE id = 1", 0, NULL,
                               NULL, NULL, NULL, 1);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
        es_status s = es__pg_fail(err, pg, r, "read the head of the log");
        PQclear(r);
        return s;
    }
    *head = es__get_int8(PQgetvalue(r, 0, 0));
    PQclear(r);
    return ES_OK;
}

es_status es_head(es_store *es, int64_t *position, at_error *err)
{
    if (!es || !position)
        return es__fail(err, ES_INVALID, NULL, "cannot read the head: no store or no output");
    for (int attempt = 0;; attempt++) {
        es_conn *c;
        es_status s = es__pool_get(es, &c, err);
        if (s != ES_OK)
            return s;
        s = read_head(c->pg, position, err);
        bool broken = s != ES_OK && PQstatus(c->pg) != CONNECTION_OK;
        es__pool_put(es, c);
        if (!broken || attempt == 1)
            return s;
    }
}

/* Open the LISTEN connection if it is not open. Called by the poller only. */
static bool listen_ready(es_store *es)
{
    if (es->listen && PQstatus(es->listen) == CONNECTION_OK)
        return true;
    if (es->listen)
        PQfinish(es->listen);
    es->listen = es__connect(es, NULL);
    if (!es->listen)
        return false;
    PGresult *r = PQexec(es->listen, "LISTEN atb_log");
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    if (!ok) {
        PQfinish(es->listen);
        es->listen = NULL;
    }
    return ok;
}

/* One turn of the poller: read the head; if it has not passed `after`, wait for a
 * notification (at most slice_ms) and read it again. A LISTEN connection that fails is
 * dropped (the next turn opens a new one) and this turn falls back to the pool. */
static es_status poll_once(es_store *es, int64_t after, int slice_ms, int64_t *head, at_error *err)
{
    if (listen_ready(es)) {
        if (read_head(es->listen, head, NULL) == ES_OK) {
            if (*head > after || slice_ms <= 0)
                return ES_OK;
            struct pollfd pfd = {.fd = PQsocket(es->listen), .events = POLLIN};
            if (pfd.fd >= 0 && poll(&pfd, 1, slice_ms) > 0 && PQconsumeInput(es->listen)) {
                PGnotify *nt;
                while ((nt = PQnotifies(es->listen)) != NULL)
                    PQfreemem(nt);
            }
            if (PQstatus(es->listen) == CONNECTION_OK && read_head(es->listen, head, NULL) == ES_OK)
                return ES_OK;
        }
        PQfinish(es->listen);
        es->listen = NULL;
    }
    /* No LISTEN connection: read the head through the pool, every 100 ms at most. */
    es_status s = es_head(es, head, err);
    if (s == ES_OK && *head <= after && slice_ms > 0)
        usleep((useconds_t)(slice_ms < 100 ? slice_ms : 100) * 1000);
    return s;
}

es_status es_wait(es_store *es, int64_t after, int timeout_ms, int64_t *head, at_error *err)
{
    if (!es)
        return es__fail(err, ES_INVALID, NULL, "cannot wait for the log: no store");
    int64_t deadline = es__mono_ns() + (int64_t)(timeout_ms > 0 ? timeout_ms : 0) * 1000000LL;
    es_status s = ES_OK;
    pthread_mutex_lock(&es->wait_mu);
    if (es->seen_head <= after) {
        /* Look once before waiting: the head may have passed long ago. */
        pthread_mutex_unlock(&es->wait_mu);
        int64_t h = 0;
        s = es_head(es, &h, err);
        pthread_mutex_lock(&es->wait_mu);
        if (s == ES_OK && h > es->seen_head)
            es->seen_head = h;
    }
    while (s == ES_OK && es->seen_head <= after) {
        /* seen_head was true when read, and the head never moves back. */
        int64_t left_ns = deadline - es__mono_ns();
        if (left_ns <= 0)
            break;
        if (!es->polling) {
            es->polling = true;
            pthread_mutex_unlock(&es->wait_mu);
            int slice = (int)((left_ns + 999999) / 1000000);
            if (slice > 1000)
                slice = 1000;
            int64_t h = 0;
            s = poll_once(es, after, slice, &h, err);
            pthread_mutex_lock(&es->wait_mu);
            es->polling = false;
            if (s == ES_OK && h > es->seen_head)
                es->seen_head = h;
            pthread_cond_broadcast(&es->wait_cv);
        } else {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            int64_t ns = until.tv_nsec + left_ns;
            until.tv_sec += (time_t)(ns / 1000000000LL);
            until.tv_nsec = (long)(ns % 1000000000LL);
            pthread_cond_timedwait(&es->wait_cv, &es->wait_mu, &until);
        }
    }
    if (head)
        *head = es->seen_head;
    pthread_mutex_unlock(&es->wait_mu);
    return s;
}

es_status es_checkpoint_get(es_store *es, const char *consumer, int64_t *position, at_error *err)
{
    if (!es || !consumer || !*consumer || !position)
        return es__fail(err, ES_INVALID, "consumer", "cannot read a checkpoint: no consumer name");
    *position = 0;
    es_conn *c;
    es_status s = es__pool_get(es, &c, err);
    if (s != ES_OK)
        return s;
    const char *values[1] = {consumer};
    PGresult *r = PQexecParams(c->pg, "SELECT position FROM atb.checkpoints WHERE consumer = $1",
                               1, NULL, values, NULL, NULL, 1);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        s = es__pg_fail(err, c->pg, r, "read a checkpoint");
    } else if (PQntuples(r) == 1) {
        *position = es__get_int8(PQgetvalue(r, 0, 0));
    }
    PQclear(r);
    es__pool_put(es, c);
    return s;
}
