/*
 * consumer.c -- durable JetStream pull consumers whose effects happen exactly once.
 *
 * Each event is handled in its own PostgreSQL transaction that (1) locks and reads the
 * consumer's checkpoint, (2) runs the handler, (3) moves the checkpoint to the event's
 * position, and commits; only then is the message acknowledged. A crash between commit and
 * ack makes JetStream redeliver the message; its position is then at or below the
 * checkpoint and it is acknowledged without running the handler (a duplicate).
 *
 * Gaps. Before an event at position P is handled, the log is asked for the events of the
 * consumer's filter after the checkpoint. Any such event below P was lost by the stream
 * (or is late: a Nak, a redelivery); it is handled first, from the log, each in its own
 * transaction. So effects follow log order even when the stream does not, and an event the
 * stream lost is handled when the next one arrives -- or, when none arrives, at the next
 * idle step (catch_up): a fetch that times out reads the log after the checkpoint.
 *
 * Invariants:
 *  - c->ckpt never exceeds the checkpoint stored in PostgreSQL (it is read from there, and
 *    only moved after a commit that set it), and checkpoints only grow. So "P <= c->ckpt"
 *    proves a duplicate without a round trip, and "no event of the filter in
 *    (c->ckpt, P)" proves there is no gap before P.
 *  - The gap window (c->win) holds the log's events of the filter after c->win_after, in
 *    order. It is dropped at every step: a window read after a message was fetched holds
 *    every event up to that message (the relay publishes only committed events), but not
 *    necessarily those of messages fetched later.
 *  - The handler sees events in strictly increasing position order, at most once each with
 *    a committed effect.
 *
 * Filter subjects. nats-server 2.9 and libnats 3.4.1 allow ONE FilterSubject per consumer.
 * One category (with or without a tenant) maps exactly onto one subject. For several
 * categories the consumer subscribes to "<prefix>.evt.<tenant or *>.>" and skips the other
 * categories locally. One consumer per category was rejected: the checkpoint and the gap
 * check are per consumer, and a handler of several categories needs them in one log order
 * (a projection that reads persons and households must see them as they were written).
 *
 * Closing never deletes the durable: the subscription is bound to a consumer created with
 * js_AddConsumer and is only destroyed, never unsubscribed (libnats deletes a durable it
 * created itself on Unsubscribe).
 */
#include "bus_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <libpq-fe.h>

#define DEFAULT_BATCH 256
#define MAX_BATCH 10000
#define DEFAULT_ACK_WAIT_MS 30000
#define DEFAULT_RETRY_DELAY_MS 1000
#define FAULT_AFTER_COMMIT "consumer.after_commit"

struct bus_consumer {
    bus *b;
    es_store *es;
    natsSubscription *sub;
    char durable[BUS_TOKEN_MAX + 1];
    char filter_subject[BUS_SUBJECT_MAX];
    char tenant[BUS_TOKEN_MAX + 1];
    char **categories;
    size_t n_categories;
    es_filter filter;           /* points at tenant / categories above */
    bool filtered;              /* tenant or categories set */
    bus_handler_fn handler;
    void *ctx;
    int batch;
    int retry_delay_ms;
    int ack_wait_ms;
    int64_t checked_ms;         /* when an idle step last made sure the durable exists */

    int64_t ckpt;               /* lower bound of the stored checkpoint (see invariants) */

    es_batch *win;              /* gap window: events of the filter after win_after */
    int64_t win_after;
    bool win_complete;          /* the read returned fewer than asked: nothing more then */
    size_t win_idx;             /* first window event that may be above ckpt */

    bus_consumer_stats stats;   /* written by the stepping thread, read with atomics */
};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void stat_add(int64_t *field, int64_t n)
{
    __atomic_add_fetch(field, n, __ATOMIC_RELAXED);
}

static void set_ckpt(bus_consumer *c, int64_t pos)
{
    if (pos > c->ckpt)
        c->ckpt = pos;
    __atomic_store_n(&c->stats.checkpoint, c->ckpt, __ATOMIC_RELAXED);
}

static at_code es_fail(es_status st)
{
    at_code rc = es_status_code(st);
    return rc == AT_OK ? AT_INTERNAL : rc;
}

/* ---- opening ------------------------------------------------------------------ */

static at_code build_filter_subject(bus_consumer *c, at_error *err)
{
    const char *tenant = c->tenant[0] ? c->tenant : "*";
    int n;
    if (c->n_categories == 1)
        n = snprintf(c->filter_subject, sizeof c->filter_subject, "%s.evt.%s.%s.>",
                     c->b->prefix, tenant, c->categories[0]);
    else if (c->tenant[0])
        n = snprintf(c->filter_subject, sizeof c->filter_subject, "%s.evt.%s.>",
                     c->b->prefix, c->tenant);
    else
        n = snprintf(c->filter_subject, sizeof c->filter_subject, "%s.evt.>", c->b->prefix);
    if (n < 0 || (size_t)n >= sizeof c->filter_subject)
        return at_error_set(err, AT_VALIDATION, "categories", "consumer filter subject too long");
    return AT_OK;
}

/* Find the durable, or create it. An existing durable with another filter is refused:
 * silently changing what a consumer receives would skip or repeat events. */
static at_code ensure_durable(bus_consumer *c, int ack_wait_ms, at_error *err)
{
    jsCtx *js = c->b->js;
    const char *stream = c->b->stream;
    for (int attempt = 0; attempt < 2; attempt++) {
        jsConsumerInfo *ci = NULL;
        jsErrCode jerr = 0;
        natsStatus s = js_GetConsumerInfo(&ci, js, stream, c->durable, NULL, &jerr);
        if (s == NATS_OK) {
            char fs[BUS_SUBJECT_MAX];
            snprintf(fs, sizeof fs, "%s",
                     (ci->Config && ci->Config->FilterSubject) ? ci->Config->FilterSubject : "");
            bool pull = !ci->Config || !ci->Config->DeliverSubject || !*ci->Config->DeliverSubject;
            bool same = strcmp(fs, c->filter_subject) == 0;
            jsConsumerInfo_Destroy(ci);
            if (same && pull)
                return AT_OK;
            at_error_set(err, AT_CONFLICT, "durable",
                         "consumer %s exists on stream %s with another configuration", c->durable,
                         stream);
            at_error_detail(err, "It filters \"%s\"%s; this consumer needs the pull consumer "
                                 "filtering \"%s\".", fs, pull ? "" : " and pushes", c->filter_subject);
            at_error_hint(err, "delete the JetStream consumer (its place is kept by its checkpoint "
                               "in PostgreSQL) or give this consumer another name");
            return AT_CONFLICT;
        }
        if (s != NATS_NOT_FOUND) {
            if (jerr == JSStreamNotFoundErr) {
                at_error_set(err, AT_UNAVAILABLE, "stream", "could not open consumer %s: stream %s does not exist yet",
                             c->durable, stream);
                at_error_hint(err, "start the relay; it creates the stream");
                return AT_UNAVAILABLE;
            }
            return bus__nats_error(err, AT_UNAVAILABLE, s, jerr, "could not look up consumer %s",
                                   c->durable);
        }

        jsConsumerConfig cc;
        jsConsumerConfig_Init(&cc);
        cc.Durable = c->durable;
        cc.Description = "atbalsts consumer; its checkpoint is in PostgreSQL";
        cc.AckPolicy = js_AckExplicit;
        cc.DeliverPolicy = js_DeliverAll;
        cc.ReplayPolicy = js_ReplayInstant;
        cc.FilterSubject = c->filter_subject;
        cc.AckWait = (int64_t)ack_wait_ms * 1000000;
        cc.MaxDeliver = -1;
        /* Several batches in flight, so a Nak'd batch does not stall the next fetch. */
        cc.MaxAckPending = c->batch * 4 > 1000 ? c->batch * 4 : 1000;
        jerr = 0;
        s = js_AddConsumer(NULL, js, stream, &cc, NULL, &jerr);
        if (s == NATS_OK)
            return AT_OK;
        if (jerr == JSConsumerNameExistErr)
            continue;   /* another instance created it meanwhile: look at it again */
        if (jerr == JSStreamNotFoundErr) {
            at_error_set(err, AT_UNAVAILABLE, "stream", "could not open consumer %s: stream %s does not exist yet",
                         c->durable, stream);
            at_error_hint(err, "start the relay; it creates the stream");
            return AT_UNAVAILABLE;
        }
        return bus__nats_error(err, AT_UNAVAILABLE, s, jerr, "could not create consumer %s on stream %s",
                               c->durable, stream);
    }
    return at_error_set(err, AT_UNAVAILABLE, "durable", "could not create consumer %s", c->durable);
}

/* Create the durable if needed and subscribe to it (c->sub). */
static at_code bind(bus_consumer *c, at_error *err)
{
    at_code rc = ensure_durable(c, c->ack_wait_ms, err);
    if (rc != AT_OK)
        return rc;
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = c->b->stream;
    so.Consumer = c->durable;
    jsErrCode jerr = 0;
    natsStatus s = js_PullSubscribe(&c->sub, c->b->js, c->filter_subject, c->durable, NULL, &so, &jerr);
    if (s != NATS_OK) {
        c->sub = NULL;
        return bus__nats_error(err, AT_UNAVAILABLE, s, jerr, "could not bind to consumer %s", c->durable);
    }
    return AT_OK;
}

/* A fetch from a deleted durable (the stream was deleted and rebuilt by the relay, or an
 * operator removed the consumer) just times out. So an idle step checks, at most once a
 * second, that the durable still exists, and binds to a new one if it does not. The new
 * durable replays the stream from its start; what the checkpoint covers is acknowledged
 * as duplicates without touching PostgreSQL. */
static at_code check_durable(bus_consumer *c, at_error *err)
{
    int64_t now = mono_ms();
    if (c->sub && now - c->checked_ms < 1000)
        return AT_OK;
    c->checked_ms = now;
    if (c->sub) {
        jsConsumerInfo *ci = NULL;
        jsErrCode jerr = 0;
        natsStatus s = js_GetConsumerInfo(&ci, c->b->js, c->b->stream, c->durable, NULL, &jerr);
        jsConsumerInfo_Destroy(ci);
        if (s == NATS_OK)
            return AT_OK;
        if (s != NATS_NOT_FOUND && jerr != JSStreamNotFoundErr)
            return bus__nats_error(err, AT_UNAVAILABLE, s, jerr, "could not look up consumer %s",
                                   c->durable);
        natsSubscription_Destroy(c->sub);   /* never Unsubscribe: see the file comment */
        c->sub = NULL;
    }
    return bind(c, err);
}

at_code bus_consumer_open(bus_consumer **out, bus *b, es_store *es,
                          const bus_consumer_config *cfg, at_error *err)
{
    *out = NULL;
    if (!cfg || !cfg->handler)
        return at_error_set(err, AT_VALIDATION, "handler", "a consumer needs a handler");
    if (!bus_token_valid(cfg->durable) || strchr(cfg->durable, '/') || strchr(cfg->durable, '\\')) {
        at_error_set(err, AT_VALIDATION, "durable", "invalid consumer name \"%s\"",
                     cfg->durable ? cfg->durable : "");
        at_error_detail(err, "A consumer name is 1 to %d bytes without '.', '*', '>', '/', '\\' "
                             "or white space.", BUS_TOKEN_MAX);
        return AT_VALIDATION;
    }
    if (cfg->tenant && !bus_token_valid(cfg->tenant))
        return at_error_set(err, AT_VALIDATION, "tenant", "invalid tenant \"%s\"", cfg->tenant);
    if (cfg->n_categories > 0 && !cfg->categories)
        return at_error_set(err, AT_VALIDATION, "categories", "n_categories is %zu but categories is NULL",
                            cfg->n_categories);
    for (size_t i = 0; i < cfg->n_categories; i++)
        if (!bus_token_valid(cfg->categories[i]))
            return at_error_set(err, AT_VALIDATION, "categories", "invalid category \"%s\"",
                                cfg->categories[i] ? cfg->categories[i] : "");
    if (cfg->batch < 0 || cfg->batch > MAX_BATCH)
        return at_error_set(err, AT_VALIDATION, "batch", "consumer batch must be between 1 and %d, not %d",
                            MAX_BATCH, cfg->batch);
    if (cfg->ack_wait_ms < 0 || cfg->retry_delay_ms < 0)
        return at_error_set(err, AT_VALIDATION, "ack_wait_ms", "consumer times cannot be negative");

    bus_consumer *c = calloc(1, sizeof *c);
    if (!c)
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    c->b = b;
    c->es = es;
    snprintf(c->durable, sizeof c->durable, "%s", cfg->durable);
    if (cfg->tenant)
        snprintf(c->tenant, sizeof c->tenant, "%s", cfg->tenant);
    c->handler = cfg->handler;
    c->ctx = cfg->ctx;
    c->batch = cfg->batch > 0 ? cfg->batch : DEFAULT_BATCH;
    c->retry_delay_ms = cfg->retry_delay_ms > 0 ? cfg->retry_delay_ms : DEFAULT_RETRY_DELAY_MS;
    c->ack_wait_ms = cfg->ack_wait_ms > 0 ? cfg->ack_wait_ms : DEFAULT_ACK_WAIT_MS;
    if (cfg->n_categories > 0) {
        c->categories = calloc(cfg->n_categories, sizeof *c->categories);
        if (!c->categories) {
            bus_consumer_close(c);
            return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
        }
        c->n_categories = cfg->n_categories;
        for (size_t i = 0; i < cfg->n_categories; i++) {
            c->categories[i] = strdup(cfg->categories[i]);
            if (!c->categories[i]) {
                bus_consumer_close(c);
                return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
            }
        }
    }
    c->filter.tenant = c->tenant[0] ? c->tenant : NULL;
    c->filter.categories = (const char *const *)c->categories;
    c->filter.n_categories = c->n_categories;
    c->filtered = c->tenant[0] || c->n_categories > 0;

    at_code rc = build_filter_subject(c, err);
    if (rc == AT_OK)
        rc = bind(c, err);
    if (rc != AT_OK) {
        bus_consumer_close(c);
        return rc;
    }
    c->checked_ms = mono_ms();

    int64_t ck = 0;
    es_status st = es_checkpoint_get(es, c->durable, &ck, err);
    if (st == ES_NOT_FOUND) {   /* a consumer that never handled anything */
        ck = 0;
        st = ES_OK;
    }
    if (st != ES_OK) {
        bus_consumer_close(c);
        return es_fail(st);
    }
    set_ckpt(c, ck);
    *out = c;
    return AT_OK;
}

void bus_consumer_close(bus_consumer *c)
{
    if (!c)
        return;
    /* Destroy, never Unsubscribe: see the file comment. */
    natsSubscription_Destroy(c->sub);
    es_batch_free(c->win);
    for (size_t i = 0; i < c->n_categories; i++)
        free(c->categories[i]);
    free(c->categories);
    free(c);
}

void bus_consumer_stats_get(const bus_consumer *c, bus_consumer_stats *out)
{
    out->handled = __atomic_load_n(&c->stats.handled, __ATOMIC_RELAXED);
    out->duplicates = __atomic_load_n(&c->stats.duplicates, __ATOMIC_RELAXED);
    out->gap_filled = __atomic_load_n(&c->stats.gap_filled, __ATOMIC_RELAXED);
    out->dead_letters = __atomic_load_n(&c->stats.dead_letters, __ATOMIC_RELAXED);
    out->checkpoint = __atomic_load_n(&c->stats.checkpoint, __ATOMIC_RELAXED);
    out->malformed = __atomic_load_n(&c->stats.malformed, __ATOMIC_RELAXED);
    out->skipped = __atomic_load_n(&c->stats.skipped, __ATOMIC_RELAXED);
}

/* ---- the gap window ----------------------------------------------------------- */

static bool matches(const bus_consumer *c, const es_event *ev)
{
    if (c->tenant[0] && strcmp(ev->tenant, c->tenant) != 0)
        return false;
    if (c->n_categories == 0)
        return true;
    for (size_t i = 0; i < c->n_categories; i++)
        if (strcmp(ev->category, c->categories[i]) == 0)
            return true;
    return false;
}

static void drop_window(bus_consumer *c)
{
    es_batch_free(c->win);
    c->win = NULL;
    c->win_idx = 0;
}

/* The first event of the filter after c->ckpt and below p, or NULL if there is none. */
static es_status find_gap(bus_consumer *c, int64_t p, const es_event **gap, at_error *err)
{
    *gap = NULL;
    int64_t ck = c->ckpt;
    if (p <= ck + 1)
        return ES_OK;   /* no position lies between */
    bool valid = c->win && c->win_after <= ck;
    if (valid && !c->win_complete) {
        size_t n = es_batch_count(c->win);
        int64_t last = n ? es_batch_get(c->win, n - 1)->position : c->win_after;
        valid = last >= p - 1;
    }
    if (!valid) {
        drop_window(c);
        size_t max = (size_t)(c->batch > 256 ? c->batch : 256);
        es_status st = es_read_all(c->es, ck, max, c->filtered ? &c->filter : NULL, &c->win, err);
        if (st != ES_OK) {
            c->win = NULL;
            return st;
        }
        c->win_after = ck;
        c->win_complete = es_batch_count(c->win) < max;
    }
    size_t n = es_batch_count(c->win);
    while (c->win_idx < n && es_batch_get(c->win, c->win_idx)->position <= ck)
        c->win_idx++;
    if (c->win_idx < n) {
        const es_event *ev = es_batch_get(c->win, c->win_idx);
        if (ev->position < p)
            *gap = ev;
    }
    return ES_OK;
}

/* ---- handling one event ------------------------------------------------------- */

static at_code dead_letter(bus_consumer *c, const es_event *ev, at_code code,
                           const at_error *herr, bool *moved, at_error *err)
{
    es_txn *t = NULL;
    es_status st = es_txn_begin(c->es, &t, err);
    if (st != ES_OK)
        return es_fail(st);
    int64_t ck = 0;
    st = es_txn_checkpoint_get(t, c->durable, &ck, err);
    if (st != ES_OK) {
        es_txn_rollback(t);
        return es_fail(st);
    }
    set_ckpt(c, ck);
    if (ev->position <= ck) {
        es_txn_rollback(t);
        return AT_OK;
    }
    char pos[24], codebuf[16];
    snprintf(pos, sizeof pos, "%" PRId64, ev->position);
    snprintf(codebuf, sizeof codebuf, "%d", (int)code);
    const char *params[5] = { c->durable, pos, codebuf, herr->message, herr->detail };
    /* After an operator moves a checkpoint back, a poison event comes again: its first
     * record stands (service roles may insert into atb.dead_letters, not update it). */
    PGresult *res = PQexecParams(es_txn_conn(t),
                                 "INSERT INTO atb.dead_letters (consumer, position, code, message, detail) "
                                 "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (consumer, position) DO NOTHING",
                                 5, NULL, params, NULL, NULL, 0);
    bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    if (!ok) {
        at_error_set(err, AT_UNAVAILABLE, NULL, "could not record dead letter at position %" PRId64
                     " for consumer %s", ev->position, c->durable);
        at_error_detail(err, "PostgreSQL said: %s", PQresultErrorMessage(res));
    }
    PQclear(res);
    if (!ok) {
        es_txn_rollback(t);
        return AT_UNAVAILABLE;
    }
    st = es_txn_checkpoint_set(t, c->durable, ev->position, err);
    if (st != ES_OK) {
        es_txn_rollback(t);
        return es_fail(st);
    }
    st = es_txn_commit(t, err);
    if (st != ES_OK)
        return es_fail(st);
    set_ckpt(c, ev->position);
    *moved = true;
    stat_add(&c->stats.dead_letters, 1);
    es_fault_point(FAULT_AFTER_COMMIT);
    return AT_OK;
}

/* Handle ev in its own transaction unless the checkpoint has passed it. *moved is set when
 * the checkpoint now stands at ev (handled or dead-lettered). AT_OK means "look again";
 * anything else is a retryable failure and the batch stops. */
static at_code handle_one(bus_consumer *c, const es_event *ev, bool from_log, bool *moved,
                          size_t *handled, at_error *err)
{
    *moved = false;
    es_txn *t = NULL;
    es_status st = es_txn_begin(c->es, &t, err);
    if (st != ES_OK)
        return es_fail(st);
    int64_t ck = 0;
    st = es_txn_checkpoint_get(t, c->durable, &ck, err);
    if (st != ES_OK) {
        es_txn_rollback(t);
        return es_fail(st);
    }
    set_ckpt(c, ck);
    if (ev->position <= ck) {          /* another instance got here first */
        es_txn_rollback(t);
        return AT_OK;
    }

    at_error herr;
    at_error_clear(&herr);
    at_code hrc = c->handler(c->ctx, t, ev, &herr);
    if (hrc == AT_OK) {
        st = es_txn_checkpoint_set(t, c->durable, ev->position, err);
        if (st != ES_OK) {
            es_txn_rollback(t);
            return es_fail(st);
        }
        st = es_txn_commit(t, err);
        if (st != ES_OK)
            return es_fail(st);
        set_ckpt(c, ev->position);
        *moved = true;
        (*handled)++;
        stat_add(&c->stats.handled, 1);
        if (from_log)
            stat_add(&c->stats.gap_filled, 1);
        es_fault_point(FAULT_AFTER_COMMIT);
        return AT_OK;
    }
    es_txn_rollback(t);
    if (hrc == AT_UNAVAILABLE || hrc == AT_INTERNAL) {
        at_error_set(err, hrc, herr.field[0] ? herr.field : NULL,
                     "consumer %s could not handle position %" PRId64 ": %s", c->durable,
                     ev->position, herr.message[0] ? herr.message : at_code_name(hrc));
        if (herr.detail[0])
            at_error_detail(err, "%s", herr.detail);
        at_error_hint(err, "it is retried after %d ms", c->retry_delay_ms);
        return hrc;
    }
    if (!herr.message[0])
        at_error_set(&herr, hrc, NULL, "handler returned %s", at_code_name(hrc));
    /* The handler's own statements may have aborted its transaction: record the dead
     * letter in a fresh one. */
    return dead_letter(c, ev, hrc, &herr, moved, err);
}

/* ---- one message -------------------------------------------------------------- */

static bool decode(natsMsg *m, Atb__V1__EventEnvelope **envp, es_event *ev)
{
    *envp = NULL;
    int len = natsMsg_GetDataLength(m);
    const uint8_t *data = (const uint8_t *)natsMsg_GetData(m);
    if (len <= 0 || !data)
        return false;
    Atb__V1__EventEnvelope *env = atb__v1__event_envelope__unpack(NULL, (size_t)len, data);
    if (!env)
        return false;
    const char *hv = NULL;
    int64_t hpos = 0;
    bool ok = env->position > 0 && env->type[0] && env->tenant[0];
    if (ok && natsMsgHeader_Get(m, "Atb-Position", &hv) == NATS_OK)
        ok = bus__parse_position(hv, &hpos) && hpos == env->position;
    if (!ok) {
        atb__v1__event_envelope__free_unpacked(env, NULL);
        return false;
    }
    bus__envelope_to_event(env, ev);
    *envp = env;
    return true;
}

/* Settle one message: acknowledged (handled, duplicate, skipped) or terminated
 * (malformed). A return other than AT_OK leaves it unsettled and stops the batch. */
static at_code process(bus_consumer *c, natsMsg *m, size_t *handled, at_error *err)
{
    Atb__V1__EventEnvelope *env = NULL;
    es_event ev;
    if (!decode(m, &env, &ev)) {
        /* Not our envelope: never redeliver it. If it stood for a real event, the gap
         * check hands that event over from the log when the next message arrives. */
        natsMsg_Term(m, NULL);
        stat_add(&c->stats.malformed, 1);
        return AT_OK;
    }
    const int64_t p = ev.position;
    const bool wanted = matches(c, &ev);
    at_code rc = AT_OK;
    for (;;) {
        if (p <= c->ckpt) {
            natsMsg_Ack(m, NULL);
            stat_add(&c->stats.duplicates, 1);
            break;
        }
        const es_event *gap = NULL;
        es_status st = find_gap(c, p, &gap, err);
        if (st != ES_OK) {
            rc = es_fail(st);
            break;
        }
        if (!gap && !wanted) {
            natsMsg_Ack(m, NULL);
            stat_add(&c->stats.skipped, 1);
            break;
        }
        bool moved = false;
        rc = handle_one(c, gap ? gap : &ev, gap != NULL, &moved, handled, err);
        if (rc != AT_OK)
            break;
        if (!gap && moved) {
            natsMsg_Ack(m, NULL);
            break;
        }
        /* a gap event was handled, or the checkpoint moved under us: look again */
    }
    atb__v1__event_envelope__free_unpacked(env, NULL);
    return rc;
}

/* The stream brought nothing: whatever the log holds for this consumer after its
 * checkpoint is handled from the log now, in log order, at most a batch of it. That is an
 * event the stream lost when it was the last one (no later message would reveal the gap),
 * or events before a checkpoint set back while the service was stopped (a projection
 * rebuilt from the log). */
static at_code catch_up(bus_consumer *c, size_t *handled, at_error *err)
{
    for (int i = 0; i < c->batch; i++) {
        const es_event *gap = NULL;
        es_status st = find_gap(c, INT64_MAX, &gap, err);
        if (st != ES_OK)
            return es_fail(st);
        if (!gap)
            return AT_OK;
        bool moved = false;
        at_code rc = handle_one(c, gap, true, &moved, handled, err);
        if (rc != AT_OK)
            return rc;
    }
    return AT_OK;
}

at_code bus_consumer_step(bus_consumer *c, int wait_ms, size_t *handled, at_error *err)
{
    size_t n_handled = 0;
    if (handled)
        *handled = 0;
    drop_window(c);

    if (!c->sub) {   /* a rebind failed earlier */
        at_code rc = check_durable(c, err);
        if (rc != AT_OK)
            return rc;
    }
    natsMsgList list = { 0 };
    jsErrCode jerr = 0;
    natsStatus s = natsSubscription_Fetch(&list, c->sub, c->batch, wait_ms > 0 ? wait_ms : 1, &jerr);
    if (s == NATS_TIMEOUT) {
        at_code rc = catch_up(c, &n_handled, err);
        drop_window(c);
        if (handled)
            *handled = n_handled;
        return rc != AT_OK ? rc : check_durable(c, err);
    }
    if (s != NATS_OK)
        return bus__nats_error(err, AT_UNAVAILABLE, s, jerr, "could not fetch from consumer %s",
                               c->durable);
    at_code rc = AT_OK;
    for (int i = 0; i < list.Count; i++) {
        rc = process(c, list.Msgs[i], &n_handled, err);
        if (rc != AT_OK) {
            /* Keep order: hand this message and the rest back; they come again after the
             * delay, and the gap check puts whatever arrives first in log order. */
            for (int j = i; j < list.Count; j++)
                natsMsg_NakWithDelay(list.Msgs[j], c->retry_delay_ms, NULL);
            break;
        }
    }
    natsMsgList_Destroy(&list);
    drop_window(c);
    if (handled)
        *handled = n_handled;
    return rc;
}
