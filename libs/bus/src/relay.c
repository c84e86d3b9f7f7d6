/*
 * relay.c -- the relay: committed events from the log to JetStream, in position order.
 *
 * One step reads the events after the last confirmed position (es_read_all), publishes
 * each asynchronously with Nats-Msg-Id = its position, and waits until JetStream has
 * acknowledged all of them. Only then does the position move. If any publish failed or
 * was not acknowledged in time, the step returns an error and the position stays: the next
 * step publishes the same events again, and the stream's duplicate window (2 minutes)
 * stores each once.
 *
 * Invariants:
 *  - r->pos is a position whose event and every earlier one have been acknowledged by
 *    JetStream (or were there when the relay opened).
 *  - Positions in the log are commit-ordered and gapless (es.h), and one connection
 *    publishes them in order, so the stream holds the log in order.
 *  - On open the relay resumes from the Atb-Position of the last message in the stream
 *    (0 for an empty or new stream): a kill -9 loses nothing and publishes nothing twice,
 *    and a deleted stream is rebuilt from the whole log.
 *
 * Several relays (one per instance of the relay service) are safe: a step publishes only
 * while it holds a PostgreSQL transaction-level advisory lock on the stream's name
 * (pg_try_advisory_xact_lock), and under the lock it first moves its position forward to
 * the stream's last Atb-Position, so it never publishes again what another relay already
 * published. A relay that does not get the lock is a standby: its step publishes nothing
 * and returns after wait_ms (at most STANDBY_WAIT_MS). A relay killed with the lock loses
 * it with its PostgreSQL connection, and a standby takes over at its next step. The
 * duplicate window alone was rejected: a relay stalled for more than 2 minutes would
 * publish old positions again, after newer ones, and the stream would not be the log.
 *
 * Speed: while the acknowledgements of one batch are on their way, the step reads the next
 * batch from PostgreSQL (a read has no effect, so it is simply dropped if the batch
 * fails). The relay has its own JetStream context, so its acknowledgement tracking and
 * error callback see only its own publishes.
 */
#include "bus_int.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <libpq-fe.h>

#define DEFAULT_BATCH 1000
#define MAX_BATCH 100000
/* How long a step waits for the acknowledgements of its batch. */
#define ACK_WAIT_MS 10000
/* The longest a standby's step waits before it returns (it tries the lock again then). */
#define STANDBY_WAIT_MS 500

struct bus_relay {
    es_store *es;
    bus *b;
    jsCtx *js;                 /* the relay's own context (its own async-ack tracking) */
    int batch;
    int64_t pos;               /* last position confirmed in the stream */
    bool leader;               /* the last step held the relay lock */
    es_batch *next;            /* events after pos read ahead, or NULL */
    uint8_t *buf;              /* envelope packing buffer */
    size_t cap;

    pthread_mutex_t mu;        /* guards the failure fields, set on libnats' threads */
    int failures;
    char first_failure[256];
};

/* libnats calls this on its delivery thread for a publish the server refused. */
static void on_publish_error(jsCtx *js, jsPubAckErr *pae, void *closure)
{
    bus_relay *r = closure;
    const char *pos = NULL;
    if (pae->Msg)
        natsMsgHeader_Get(pae->Msg, "Atb-Position", &pos);
    pthread_mutex_lock(&r->mu);
    if (r->failures++ == 0)
        snprintf(r->first_failure, sizeof r->first_failure, "position %s: %s (JetStream error %d)",
                 pos ? pos : "?", pae->ErrText ? pae->ErrText : natsStatus_GetText(pae->Err),
                 (int)pae->ErrCode);
    pthread_mutex_unlock(&r->mu);
}

at_code bus_relay_open(bus_relay **out, es_store *es, bus *b, int batch, at_error *err)
{
    *out = NULL;
    if (batch < 0 || batch > MAX_BATCH)
        return at_error_set(err, AT_VALIDATION, "batch", "relay batch must be between 1 and %d, not %d",
                            MAX_BATCH, batch);
    at_code rc = bus_stream_ensure(b, err);
    if (rc != AT_OK)
        return rc;
    int64_t last = 0, head = 0;
    rc = bus_stream_last_position(b, &last, err);
    if (rc != AT_OK)
        return rc;
    es_status es_rc = es_head(es, &head, err);
    if (es_rc != ES_OK)
        return es_status_code(es_rc);
    if (last > head) {
        at_error_set(err, AT_CONFLICT, "stream",
                     "cannot resume the relay: stream %s holds position %" PRId64
                     " but the log ends at %" PRId64, b->stream, last, head);
        at_error_detail(err, "The stream was filled from another event log than this database's.");
        at_error_hint(err, "point the relay at the right database, or delete the stream so that "
                           "it is rebuilt from this log");
        return AT_CONFLICT;
    }

    bus_relay *r = calloc(1, sizeof *r);
    if (!r)
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    r->es = es;
    r->b = b;
    r->batch = batch > 0 ? batch : DEFAULT_BATCH;
    r->pos = last;
    pthread_mutex_init(&r->mu, NULL);
    natsStatus s = bus__js_new(b, &r->js, on_publish_error, r);
    if (s != NATS_OK) {
        bus__nats_error(err, AT_INTERNAL, s, 0, "could not create the relay's JetStream context");
        bus_relay_close(r);
        return AT_INTERNAL;
    }
    *out = r;
    return AT_OK;
}

int64_t bus_relay_position(const bus_relay *r)
{
    return r->pos;
}

bool bus_relay_leader(const bus_relay *r)
{
    return __atomic_load_n(&r->leader, __ATOMIC_RELAXED);
}

static at_code publish_step(bus_relay *r, int wait_ms, size_t *published, at_error *err);

/* Begin a transaction and try the relay lock of this stream in it. *t is NULL when the
 * lock is held by another relay (AT_OK) or on failure. */
static at_code take_lock(bus_relay *r, es_txn **t, at_error *err)
{
    *t = NULL;
    es_txn *txn = NULL;
    es_status st = es_txn_begin(r->es, &txn, err);
    if (st != ES_OK)
        return es_status_code(st);
    const char *params[1] = { r->b->stream };
    PGresult *res = PQexecParams(es_txn_conn(txn),
                                 "SELECT pg_try_advisory_xact_lock(hashtext('atb.relay'), hashtext($1))",
                                 1, NULL, params, NULL, NULL, 0);
    bool ok = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1;
    bool got = ok && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    if (!ok) {
        at_error_set(err, AT_UNAVAILABLE, NULL, "could not take the relay lock of stream %s",
                     r->b->stream);
        at_error_detail(err, "PostgreSQL said: %s", PQresultErrorMessage(res));
    }
    PQclear(res);
    if (!got) {
        es_txn_rollback(txn);
        return ok ? AT_OK : AT_UNAVAILABLE;
    }
    *t = txn;
    return AT_OK;
}

static void sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* Under the lock: step over what another relay published since this one last did. A
 * stream that lost its tail (or was deleted) keeps r->pos: the publish then fails or
 * refills it, as with one relay. */
static at_code follow_stream(bus_relay *r, at_error *err)
{
    int64_t last = 0;
    at_error e;
    at_error_clear(&e);
    at_code rc = bus_stream_last_position(r->b, &last, &e);
    if (rc == AT_NOT_FOUND)
        return AT_OK;
    if (rc != AT_OK) {
        if (err)
            *err = e;
        return rc;
    }
    if (last > r->pos) {
        r->pos = last;
        es_batch_free(r->next);
        r->next = NULL;
    }
    return AT_OK;
}

/* Publish one event asynchronously. The message is the library's once accepted. */
static at_code publish_one(bus_relay *r, const es_event *ev, at_error *err)
{
    char subject[BUS_SUBJECT_MAX], pos[24];
    if (bus__subject_event_sanitized(r->b, subject, sizeof subject, ev) < 0)
        return at_error_set(err, AT_INTERNAL, NULL, "cannot build the subject of position %" PRId64,
                            ev->position);
    size_t len = bus__envelope_pack_into(ev, &r->buf, &r->cap);
    if (len == 0)
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    snprintf(pos, sizeof pos, "%" PRId64, ev->position);

    natsMsg *m = NULL;
    natsStatus s = natsMsg_Create(&m, subject, NULL, (const char *)r->buf, (int)len);
    if (s == NATS_OK)
        s = natsMsgHeader_Set(m, "Nats-Msg-Id", pos);
    if (s == NATS_OK)
        s = natsMsgHeader_Set(m, "Atb-Position", pos);
    if (s == NATS_OK)
        s = natsMsgHeader_Set(m, "Atb-Type", ev->type ? ev->type : "");
    if (s == NATS_OK)
        s = natsMsgHeader_Set(m, "Atb-Tenant", ev->tenant ? ev->tenant : "");
    if (s == NATS_OK)
        s = js_PublishMsgAsync(r->js, &m, NULL);
    natsMsg_Destroy(m);   /* NULL (a no-op) when the library took it */
    if (s != NATS_OK)
        return bus__nats_error(err, AT_UNAVAILABLE, s, 0, "could not publish position %" PRId64,
                               ev->position);
    return AT_OK;
}

/* Wait for every outstanding acknowledgement; drop what did not come in time (a late ack
 * is then ignored by libnats, and the event is published again by the next step). */
static natsStatus wait_acks(bus_relay *r)
{
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = ACK_WAIT_MS;
    natsStatus s = js_PublishAsyncComplete(r->js, &po);
    if (s == NATS_TIMEOUT) {
        natsMsgList pending = { 0 };
        if (js_PublishAsyncGetPendingList(&pending, r->js) == NATS_OK)
            natsMsgList_Destroy(&pending);
    }
    return s;
}

static es_status read_after(bus_relay *r, int64_t after, es_batch **out, at_error *err)
{
    return es_read_all(r->es, after, (size_t)r->batch, NULL, out, err);
}

at_code bus_relay_step(bus_relay *r, int wait_ms, size_t *published, at_error *err)
{
    if (published)
        *published = 0;
    es_txn *lock = NULL;
    at_code rc = take_lock(r, &lock, err);
    if (rc != AT_OK)
        return rc;
    if (!lock) {   /* another relay publishes: stand by */
        __atomic_store_n(&r->leader, false, __ATOMIC_RELAXED);
        es_batch_free(r->next);
        r->next = NULL;
        if (wait_ms > 0)
            sleep_ms(wait_ms < STANDBY_WAIT_MS ? wait_ms : STANDBY_WAIT_MS);
        return AT_OK;
    }
    __atomic_store_n(&r->leader, true, __ATOMIC_RELAXED);
    rc = follow_stream(r, err);
    if (rc == AT_OK)
        rc = publish_step(r, wait_ms, published, err);
    /* The lock has done its job once the acknowledgements are in; nothing was written. */
    es_txn_rollback(lock);
    return rc;
}

static at_code publish_step(bus_relay *r, int wait_ms, size_t *published, at_error *err)
{
    es_batch *batch = r->next;
    r->next = NULL;
    if (!batch) {
        es_status es_rc = read_after(r, r->pos, &batch, err);
        if (es_rc != ES_OK)
            return es_status_code(es_rc);
        if (es_batch_count(batch) == 0 && wait_ms > 0) {
            es_batch_free(batch);
            batch = NULL;
            int64_t head = 0;
            es_rc = es_wait(r->es, r->pos, wait_ms, &head, err);
            if (es_rc != ES_OK)
                return es_status_code(es_rc);
            if (head <= r->pos)
                return AT_OK;
            es_rc = read_after(r, r->pos, &batch, err);
            if (es_rc != ES_OK)
                return es_status_code(es_rc);
        }
    }
    size_t n = es_batch_count(batch);
    if (n == 0) {
        es_batch_free(batch);
        return AT_OK;
    }

    pthread_mutex_lock(&r->mu);
    r->failures = 0;
    r->first_failure[0] = 0;
    pthread_mutex_unlock(&r->mu);

    at_code rc = AT_OK;
    size_t sent = 0;
    for (; sent < n; sent++) {
        const es_event *ev = es_batch_get(batch, sent);
        if (ev->position != r->pos + 1 + (int64_t)sent) {
            /* es.h promises gapless positions; publishing across a hole would make the
             * stream disagree with the log for good. */
            rc = at_error_set(err, AT_INTERNAL, NULL,
                              "cannot relay: the log skips from position %" PRId64 " to %" PRId64,
                              r->pos + (int64_t)sent, ev->position);
            at_error_detail(err, "The event store promises gapless, commit-ordered positions.");
            break;
        }
        rc = publish_one(r, ev, err);
        if (rc != AT_OK)
            break;
    }
    int64_t last = es_batch_get(batch, n - 1)->position;

    /* Read ahead while the acknowledgements travel. Only a full batch suggests more. */
    if (rc == AT_OK && n == (size_t)r->batch) {
        es_batch *next = NULL;
        at_error ignored;
        if (read_after(r, last, &next, &ignored) == ES_OK)
            r->next = next;
    }
    es_batch_free(batch);

    natsStatus s = wait_acks(r);
    pthread_mutex_lock(&r->mu);
    int failures = r->failures;
    char first[sizeof r->first_failure];
    memcpy(first, r->first_failure, sizeof first);
    pthread_mutex_unlock(&r->mu);

    if (rc == AT_OK && s != NATS_OK) {
        rc = bus__nats_error(err, AT_UNAVAILABLE, s, 0,
                             "could not confirm positions %" PRId64 "..%" PRId64 " in stream %s",
                             r->pos + 1, last, r->b->stream);
        at_error_hint(err, "the next step publishes them again; the stream stores each once");
    }
    if (rc == AT_OK && failures > 0) {
        rc = at_error_set(err, AT_UNAVAILABLE, NULL,
                          "could not publish %d of positions %" PRId64 "..%" PRId64 " to stream %s",
                          failures, r->pos + 1, last, r->b->stream);
        at_error_detail(err, "The first failure: %s.", first);
        at_error_hint(err, "the next step publishes them again; the stream stores each once");
    }
    if (rc != AT_OK) {
        es_batch_free(r->next);
        r->next = NULL;
        return rc;
    }
    r->pos = last;
    if (published)
        *published = n;
    return AT_OK;
}

void bus_relay_close(bus_relay *r)
{
    if (!r)
        return;
    if (r->js) {
        wait_acks(r);
        jsCtx_Destroy(r->js);
    }
    es_batch_free(r->next);
    free(r->buf);
    pthread_mutex_destroy(&r->mu);
    free(r);
}
