/*
 * append.c -- appending: request validation, the one call to atb.append(), and the
 * group committer that shares that call (and its commit) among concurrent es_append()s.
 *
 * The committer is one thread with its own connection. es_append() queues a request
 * (FIFO) and sleeps on its own condition variable; the committer takes everything queued
 * (up to group_max_events events and ES_GROUP_MAX_BYTES payload bytes), makes one
 * autocommit call of atb.append(), and wakes each caller with its own result. It never
 * waits for more work while something is queued (unless group_max_wait_us asks it to), so
 * a lone append is not delayed, and appends that arrive during a call form the next group.
 *
 * Invariants:
 *  - a request is answered exactly once, after the call that carried it returned;
 *  - a failure of the whole call is never blamed on a request by guesswork: if the call
 *    failed for a reason other than the connection, each request of the group is tried
 *    alone, so only the request that causes the failure gets it;
 *  - nothing of a request is read after its caller was woken (the caller's stack frame
 *    owns it).
 * When changing the parameters of atb.append(), change sql/ (a new migration), the
 * prepared statement below and es__append_call() together.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "es_int.h"

#define APPEND_SQL                                                                          \
    "SELECT status, first_position, last_position, version, actual_version, detail "       \
    "FROM atb.append($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"

enum { N_PARAMS = 12 };

static const Oid param_types[N_PARAMS] = {
    ES_OID_TEXT_ARRAY, ES_OID_TEXT_ARRAY, ES_OID_INT8_ARRAY, ES_OID_UUID_ARRAY,
    ES_OID_UUID_ARRAY, ES_OID_UUID_ARRAY, ES_OID_TEXT_ARRAY, ES_OID_INT4_ARRAY,
    ES_OID_UUID_ARRAY, ES_OID_TEXT_ARRAY, ES_OID_TS_ARRAY, ES_OID_BYTEA_ARRAY,
};

static const uint32_t elem_types[N_PARAMS] = {
    ES_OID_TEXT, ES_OID_TEXT, ES_OID_INT8, ES_OID_UUID, ES_OID_UUID, ES_OID_UUID,
    ES_OID_TEXT, ES_OID_INT4, ES_OID_UUID, ES_OID_TEXT, ES_OID_TIMESTAMPTZ, ES_OID_BYTEA,
};

/* ---- validation ---------------------------------------------------------------- */

static bool word_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

static bool uuid_ok(const char *s)
{
    uint8_t b[16];
    return !s || !*s || es__uuid_parse(s, b);
}

static es_status invalid(at_error *err, const char *field, const char *hint, const char *fmt,
                         const char *arg)
{
    es__fail(err, ES_INVALID, field, fmt, arg);
    if (err && hint)
        at_error_hint(err, "%s", hint);
    return ES_INVALID;
}

es_status es__validate(const es_append_req *req, at_error *err)
{
    if (!req)
        return es__fail(err, ES_INVALID, NULL, "cannot append: no request");
    if (!req->tenant || !*req->tenant)
        return invalid(err, "tenant", "Give the municipality code, e.g. \"kuldiga\".",
                       "cannot append: no tenant%s", "");
    const char *sid = req->stream_id;
    if (!sid || !*sid)
        return invalid(err, "stream_id", "Give a stream id \"<category>-<id>\".",
                       "cannot append: no stream id%s", "");
    size_t slen = strlen(sid), cat = 0;
    if (slen > ES_MAX_STREAM_ID)
        return invalid(err, "stream_id", NULL, "cannot append: the stream id is longer than "
                       "200 bytes%s", "");
    while (sid[cat] && sid[cat] != '-')
        cat++;
    for (size_t i = 0; i < cat; i++)
        if (!word_char((unsigned char)sid[i]))
            cat = 0;
    if (cat == 0 || cat > 63)
        return invalid(err, "stream_id",
                       "The category, the part before the first \"-\", needs 1 to 63 letters, "
                       "digits or \"_\": it becomes a NATS subject token.",
                       "cannot append to stream \"%s\": it has no valid category", sid);
    for (size_t i = 0; i < slen; i++) {
        unsigned char c = (unsigned char)sid[i];
        if (c <= ' ' || c == 0x7f)
            return invalid(err, "stream_id", NULL, "cannot append to stream \"%s\": it contains "
                           "a space or a control character", sid);
    }
    if (req->expected_version < ES_VERSION_ANY)
        return invalid(err, "expected_version", "Use ES_VERSION_ANY (-1), ES_VERSION_NONE (0) "
                       "or the stream's current version.",
                       "cannot append to stream \"%s\": the expected version is negative", sid);
    if (!uuid_ok(req->command_id))
        return invalid(err, "command_id", NULL, "cannot append: command id \"%s\" is not a UUID",
                       req->command_id);
    if (!uuid_ok(req->causation_id))
        return invalid(err, "causation_id", NULL,
                       "cannot append: causation id \"%s\" is not a UUID", req->causation_id);
    if (!uuid_ok(req->correlation_id))
        return invalid(err, "correlation_id", NULL,
                       "cannot append: correlation id \"%s\" is not a UUID", req->correlation_id);
    if (req->actor && strlen(req->actor) > ES_MAX_ACTOR)
        return invalid(err, "actor", NULL, "cannot append: the actor is longer than 200 bytes%s",
                       "");
    if (!req->events || req->n_events == 0)
        return invalid(err, "events", "An append carries at least one event.",
                       "cannot append to stream \"%s\": no events", sid);
    if (req->n_events > ES_MAX_EVENTS)
        return invalid(err, "events", "Split the append into several.",
                       "cannot append to stream \"%s\": more than 10000 events", sid);
    for (size_t i = 0; i < req->n_events; i++) {
        const es_event_in *e = &req->events[i];
        char field[40];
        const char *t = e->type;
        size_t tlen = t ? strlen(t) : 0;
        bool tok = tlen > 0 && tlen <= ES_MAX_TYPE
                   && ((t[0] >= 'a' && t[0] <= 'z') || (t[0] >= 'A' && t[0] <= 'Z'));
        for (size_t j = 0; tok && j < tlen; j++)
            tok = word_char((unsigned char)t[j]);
        if (!tok) {
            snprintf(field, sizeof field, "events.%zu.type", i);
            es__fail(err, ES_INVALID, field, "cannot append to stream \"%s\": event %zu has no "
                     "valid type name", sid, i);
            if (err)
                at_error_hint(err, "A type name is a letter and then up to 99 letters, digits "
                              "or \"_\", e.g. \"PersonRegistered\".");
            return ES_INVALID;
        }
        if ((!e->payload && e->payload_len > 0) || e->payload_len > ES_MAX_PAYLOAD) {
            snprintf(field, sizeof field, "events.%zu.payload", i);
            es__fail(err, ES_INVALID, field, "cannot append to stream \"%s\": the payload of "
                     "event %zu is %s", sid, i, e->payload ? "larger than 512 KiB" : "missing");
            return ES_INVALID;
        }
        if (!uuid_ok(e->event_id)) {
            snprintf(field, sizeof field, "events.%zu.event_id", i);
            es__fail(err, ES_INVALID, field, "cannot append: event id \"%s\" is not a UUID",
                     e->event_id);
            return ES_INVALID;
        }
    }
    return ES_OK;
}

/* ---- the call ------------------------------------------------------------------ */

static void set_all(es__pending *const *items, size_t n, es_status s, const at_error *err)
{
    for (size_t i = 0; i < n; i++) {
        items[i]->status = s;
        if (err)
            items[i]->err = *err;
        memset(&items[i]->res, 0, sizeof items[i]->res);
    }
}

static int64_t opt_int8(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? 0 : es__get_int8(PQgetvalue(r, row, col));
}

/* Turn row `row` of atb.append()'s result into p's outcome. */
static void take_row(es__pending *p, const PGresult *r, int row)
{
    const es_append_req *q = p->req;
    int32_t code = es__get_int4(PQgetvalue(r, row, 0));
    memset(&p->res, 0, sizeof p->res);
    at_error_clear(&p->err);
    switch (code) {
    case 0:
    case 2:
        p->status = ES_OK;
        p->res.first_position = opt_int8(r, row, 1);
        p->res.last_position = opt_int8(r, row, 2);
        p->res.version = opt_int8(r, row, 3);
        p->res.duplicate = code == 2;
        break;
    case 1:
        p->status = ES_CONFLICT;
        p->res.actual_version = opt_int8(r, row, 4);
        es__fail(&p->err, ES_CONFLICT, "expected_version", "could not append to stream \"%s\": "
                 "expected version %lld, found %lld", q->stream_id,
                 (long long)q->expected_version, (long long)p->res.actual_version);
        at_error_detail(&p->err, "The stream changed after it was read: another command "
                        "appended to it first. Nothing was appended.");
        at_error_hint(&p->err, "Read the stream again, decide again, and retry the command "
                      "with the version found.");
        break;
    case 3:
        p->status = ES_UNKNOWN_TENANT;
        es__fail(&p->err, ES_UNKNOWN_TENANT, "tenant", "cannot append for tenant \"%s\": it is "
                 "not registered", q->tenant);
        at_error_detail(&p->err, "The tenant is not in atb.tenants. Nothing was appended.");
        at_error_hint(&p->err, "Check the municipality code; a new municipality is added by a "
                      "migration.");
        break;
    default:
        p->status = ES_INVALID;
        es__fail(&p->err, ES_INVALID, NULL, "cannot append to stream \"%s\": %s", q->stream_id,
                 PQgetisnull(r, row, 5) ? "the log refused the request"
                                        : PQgetvalue(r, row, 5));
        at_error_detail(&p->err, "atb.append() returned status %d. Nothing was appended.",
                        (int)code);
        break;
    }
}

es_status es__append_call(es_conn *c, es__pending *const *items, size_t n)
{
    at_error err;
    at_error_clear(&err);
    if (!c->prepared) {
        PGresult *r = PQprepare(c->pg, ES_APPEND_STMT, APPEND_SQL, N_PARAMS, param_types);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            es_status s = es__pg_fail(&err, c->pg, r, "prepare the append");
            PQclear(r);
            set_all(items, n, s, &err);
            return s;
        }
        PQclear(r);
        c->prepared = true;
    }

    es__arr a[N_PARAMS];
    for (int i = 0; i < N_PARAMS; i++)
        es__arr_init(&a[i], elem_types[i]);
    for (size_t i = 0; i < n; i++) {
        const es_append_req *q = items[i]->req;
        es__arr_text(&a[0], q->tenant);
        es__arr_text(&a[1], q->stream_id);
        es__arr_int8(&a[2], q->expected_version);
        es__arr_uuid(&a[3], q->command_id);
        es__arr_uuid(&a[4], q->causation_id);
        es__arr_uuid(&a[5], q->correlation_id);
        es__arr_text(&a[6], q->actor && *q->actor ? q->actor : NULL);
        es__arr_int4(&a[7], (int32_t)q->n_events);
        for (size_t j = 0; j < q->n_events; j++) {
            const es_event_in *e = &q->events[j];
            es__arr_uuid(&a[8], e->event_id);
            es__arr_text(&a[9], e->type);
            if (e->occurred_at_us)
                es__arr_int8(&a[10], e->occurred_at_us - ES_PG_EPOCH_US);
            else
                es__arr_null(&a[10]);
            es__arr_bytes(&a[11], e->payload_len ? (const void *)e->payload : "", e->payload_len);
        }
    }
    const char *values[N_PARAMS];
    int lengths[N_PARAMS], formats[N_PARAMS];
    bool failed = false;
    for (int i = 0; i < N_PARAMS; i++) {
        es__arr_finish(&a[i]);
        failed |= a[i].failed || a[i].len > INT32_MAX;
        values[i] = (const char *)a[i].p;
        lengths[i] = (int)a[i].len;
        formats[i] = 1;
    }
    es_status result = ES_OK;
    if (failed) {
        result = es__fail(&err, ES_NOMEM, NULL, "could not append: out of memory");
        set_all(items, n, result, &err);
    } else {
        PGresult *r = PQexecPrepared(c->pg, ES_APPEND_STMT, N_PARAMS, values, lengths, formats, 1);
        if (PQresultStatus(r) != PGRES_TUPLES_OK) {
            result = es__pg_fail(&err, c->pg, r, "append");
            set_all(items, n, result, &err);
        } else if (PQntuples(r) != (int)n || PQnfields(r) != 6) {
            result = es__fail(&err, ES_IO, NULL, "could not append: atb.append() returned %d "
                              "rows for %zu appends", PQntuples(r), n);
            at_error_hint(&err, "The database schema may not match this program: run "
                          "es_migrate().");
            set_all(items, n, result, &err);
        } else {
            for (size_t i = 0; i < n; i++)
                take_row(items[i], r, (int)i);
        }
        PQclear(r);
    }
    for (int i = 0; i < N_PARAMS; i++)
        es__arr_free(&a[i]);
    return result;
}

/* ---- the group committer ------------------------------------------------------- */

static size_t request_bytes(const es_append_req *q)
{
    size_t b = 0;
    for (size_t i = 0; i < q->n_events; i++)
        b += q->events[i].payload_len;
    return b;
}

/* Move queued requests into batch while they fit. Called with q_mu held. */
static void take_queued(es_store *es, es__pending **batch, size_t *n, size_t *events,
                        size_t *bytes)
{
    while (es->q_head) {
        es__pending *p = es->q_head;
        size_t pe = p->req->n_events, pb = request_bytes(p->req);
        if (*n > 0 && (*events + pe > (size_t)es->group_max_events
                       || *bytes + pb > ES_GROUP_MAX_BYTES))
            break;
        es->q_head = p->next;
        if (!es->q_head)
            es->q_tail = NULL;
        batch[(*n)++] = p;
        *events += pe;
        *bytes += pb;
    }
}

static void run_group(es_store *es, es__pending **batch, size_t n)
{
    at_error err;
    at_error_clear(&err);
    es_status s = es__conn_ensure(es, &es->commit_conn, &err);
    if (s != ES_OK) {
        set_all(batch, n, s, &err);
        return;
    }
    s = es__append_call(&es->commit_conn, batch, n);
    if (s != ES_OK && s != ES_IO && n > 1 && PQstatus(es->commit_conn.pg) == CONNECTION_OK) {
        /* One request may be poisoning the group (e.g. an event id already in the log):
         * try each alone so the others are not failed for it. */
        for (size_t i = 0; i < n; i++)
            es__append_call(&es->commit_conn, &batch[i], 1);
    }
    if (s == ES_OK)
        es_fault_point("group.after_commit");
}

static void *committer_main(void *arg)
{
    es_store *es = arg;
    size_t cap = (size_t)es->group_max_events + 1;
    es__pending **batch = malloc(cap * sizeof *batch);
    pthread_mutex_lock(&es->q_mu);
    for (;;) {
        while (!es->q_head && !es->closing)
            pthread_cond_wait(&es->q_cv, &es->q_mu);
        if (!es->q_head)
            break;
        size_t n = 0, events = 0, bytes = 0;
        if (!batch) {
            /* Without memory for a batch, carry one request at a time. */
            es__pending *one = es->q_head;
            es->q_head = one->next;
            if (!es->q_head)
                es->q_tail = NULL;
            pthread_mutex_unlock(&es->q_mu);
            run_group(es, &one, 1);
            pthread_mutex_lock(&es->q_mu);
            one->done = true;
            pthread_cond_signal(&one->cv);
            continue;
        }
        take_queued(es, batch, &n, &events, &bytes);
        if (es->group_max_wait_us > 0 && events < (size_t)es->group_max_events && !es->closing) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            long ns = until.tv_nsec + (long)es->group_max_wait_us * 1000L;
            until.tv_sec += ns / 1000000000L;
            until.tv_nsec = ns % 1000000000L;
            while (events < (size_t)es->group_max_events && !es->closing
                   && pthread_cond_timedwait(&es->q_cv, &es->q_mu, &until) == 0)
                take_queued(es, batch, &n, &events, &bytes);
            take_queued(es, batch, &n, &events, &bytes);
        }
        pthread_mutex_unlock(&es->q_mu);

        int64_t t0 = es__mono_ns();
        run_group(es, batch, n);
        int64_t busy = es__mono_ns() - t0;

        pthread_mutex_lock(&es->q_mu);
        es->stats.busy_us += (uint64_t)(busy / 1000);
        uint64_t appended = 0;
        bool whole_failed = true;
        for (size_t i = 0; i < n; i++) {
            if (batch[i]->status == ES_OK && !batch[i]->res.duplicate)
                appended += (uint64_t)(batch[i]->res.last_position - batch[i]->res.first_position + 1);
            if (batch[i]->status != ES_IO && batch[i]->status != ES_NOMEM)
                whole_failed = false;
        }
        es->stats.groups++;
        es->stats.appends += n;
        es->stats.events += appended;
        if (n > es->stats.max_group)
            es->stats.max_group = n;
        if (whole_failed)
            es->stats.failed_groups++;
        for (size_t i = 0; i < n; i++) {
            batch[i]->done = true;
            pthread_cond_signal(&batch[i]->cv);
        }
    }
    pthread_mutex_unlock(&es->q_mu);
    free(batch);
    return NULL;
}

es_status es__committer_start(es_store *es, at_error *err)
{
    if (pthread_create(&es->committer, NULL, committer_main, es) != 0)
        return es__fail(err, ES_NOMEM, NULL, "could not start the group committer thread");
    es->committer_running = true;
    return ES_OK;
}

void es__committer_stop(es_store *es)
{
    if (!es->committer_running)
        return;
    pthread_mutex_lock(&es->q_mu);
    es->closing = true;
    pthread_cond_broadcast(&es->q_cv);
    pthread_mutex_unlock(&es->q_mu);
    pthread_join(es->committer, NULL);
    es->committer_running = false;
}

es_status es_append(es_store *es, const es_append_req *req, es_append_res *res, at_error *err)
{
    if (res)
        memset(res, 0, sizeof *res);
    if (!es)
        return es__fail(err, ES_INVALID, NULL, "cannot append: no event store");
    es_status s = es__validate(req, err);
    if (s != ES_OK)
        return s;

    es__pending p;
    memset(&p, 0, sizeof p);
    p.req = req;
    pthread_cond_init(&p.cv, NULL);
    pthread_mutex_lock(&es->q_mu);
    if (es->closing) {
        pthread_mutex_unlock(&es->q_mu);
        pthread_cond_destroy(&p.cv);
        return es__fail(err, ES_CLOSED, NULL, "cannot append: the event store is closing");
    }
    if (es->q_tail)
        es->q_tail->next = &p;
    else
        es->q_head = &p;
    es->q_tail = &p;
    pthread_cond_signal(&es->q_cv);
    while (!p.done)
        pthread_cond_wait(&p.cv, &es->q_mu);
    pthread_mutex_unlock(&es->q_mu);
    pthread_cond_destroy(&p.cv);

    if (res)
        *res = p.res;
    if (p.status != ES_OK && err)
        *err = p.err;
    return p.status;
}
