/*
 * test_consumer.c -- libs/bus/src/consumer.c against real PostgreSQL and nats-server:
 * effects exactly once (also across a crash between commit and ack), in log order, gaps
 * of the stream filled from the log, dead letters, retries, filters.
 *
 * The handler's effect is a row in bus_effects written in the handler's transaction; its
 * bigserial id records the order in which effects were committed.
 *
 * Run as "test_bus_consumer consumer-child <conninfo> <prefix> <stream> <durable>" it is
 * the child process of the crash test (started with ATB_FAULT=consumer.after_commit).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>
#include <libpq-fe.h>

#include "bustest.h"
#include "atb/v1/envelope.pb-c.h"

static t_db db;

typedef struct fixture {
    char prefix[48];
    char stream[48];
    char durable[48];
    es_store *es;
    bus *b;
} fixture;

/* What the test handler does. */
typedef struct hctx {
    const char *consumer;
    int64_t fail_once_at;      /* return AT_UNAVAILABLE the first time this position comes */
    bool failed;
    int calls;
} hctx;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static at_code handler(void *ctx, es_txn *txn, const es_event *ev, at_error *err)
{
    hctx *h = ctx;
    h->calls++;
    PGconn *conn = es_txn_conn(txn);
    char pos[24];
    snprintf(pos, sizeof pos, "%" PRId64, ev->position);
    const char *params[3] = { h->consumer, pos, ev->type };
    PGresult *r = PQexecParams(conn, "INSERT INTO bus_effects (consumer, position, type) VALUES ($1, $2, $3)",
                               3, NULL, params, NULL, NULL, 0);
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    if (!ok)
        return at_error_set(err, AT_UNAVAILABLE, NULL, "could not insert the effect");
    if (ev->position == h->fail_once_at && !h->failed) {
        h->failed = true;   /* the row above must be rolled back */
        return at_error_set(err, AT_UNAVAILABLE, NULL, "database went away");
    }
    if (strcmp(ev->type, "Poison") == 0) {
        at_error_set(err, AT_VALIDATION, "payload", "poison pill");
        at_error_detail(err, "The payload cannot be decoded.");
        return AT_VALIDATION;
    }
    if (strcmp(ev->type, "PoisonSql") == 0) {
        /* A failed statement aborts the transaction; the dead letter must still be written. */
        r = PQexec(conn, "SELECT * FROM no_such_table");
        PQclear(r);
        return at_error_set(err, AT_NOT_FOUND, NULL, "the referenced record does not exist");
    }
    return AT_OK;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    t_unique(f->prefix, sizeof f->prefix, "tc");
    t_unique(f->stream, sizeof f->stream, "TC");
    t_unique(f->durable, sizeof f->durable, "d");
    t_db_create(&db);
    h_sql(db.admin, "CREATE TABLE bus_effects (id bigserial PRIMARY KEY, consumer text NOT NULL, "
                    "position bigint NOT NULL, type text NOT NULL)");
    f->es = h_es_open(db.admin);
    f->b = h_bus_connect(f->prefix, f->stream);
    at_error err;
    at_error_clear(&err);
    if (bus_stream_ensure(f->b, &err) != AT_OK) {
        fprintf(stderr, "stream: %s %s\n", err.message, err.detail);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    bus_stream_delete(f->b, NULL);
    bus_close(f->b);
    es_close(f->es);
    t_db_drop(&db);
    free(f);
    return 0;
}

static bus_consumer_config config(fixture *f, hctx *h)
{
    bus_consumer_config cfg = { 0 };
    cfg.durable = f->durable;
    cfg.handler = handler;
    cfg.ctx = h;
    cfg.batch = 64;
    cfg.retry_delay_ms = 100;
    h->consumer = f->durable;
    return cfg;
}

static bus_consumer *open_consumer(fixture *f, const bus_consumer_config *cfg)
{
    bus_consumer *c = NULL;
    at_error err;
    at_error_clear(&err);
    at_code rc = bus_consumer_open(&c, f->b, f->es, cfg, &err);
    if (rc != AT_OK)
        fprintf(stderr, "bus_consumer_open: %s (%s) %s\n", err.message, err.detail, err.hint);
    assert_int_equal(rc, AT_OK);
    return c;
}

/* Step until the checkpoint reaches target (transient failures allowed), or fail. */
static void run_until(bus_consumer *c, int64_t target)
{
    int64_t deadline = now_ms() + 20000;
    bus_consumer_stats st;
    for (;;) {
        bus_consumer_stats_get(c, &st);
        if (st.checkpoint >= target)
            return;
        if (now_ms() > deadline) {
            fprintf(stderr, "checkpoint %" PRId64 " did not reach %" PRId64 "\n", st.checkpoint, target);
            fail();
        }
        at_error err;
        at_error_clear(&err);
        at_code rc = bus_consumer_step(c, 200, NULL, &err);
        if (rc != AT_OK && rc != AT_UNAVAILABLE) {
            fprintf(stderr, "step: %s %s\n", err.message, err.detail);
            fail();
        }
    }
}

/* The effects of `consumer`: count, distinct positions, and whether positions grow with
 * the order of commit. */
static void effects(fixture *f, int64_t *count, int64_t *distinct, bool *ordered)
{
    char sql[512];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM bus_effects WHERE consumer = '%s'", f->durable);
    *count = h_sql(db.admin, sql);
    snprintf(sql, sizeof sql, "SELECT count(DISTINCT position) FROM bus_effects WHERE consumer = '%s'",
             f->durable);
    *distinct = h_sql(db.admin, sql);
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM (SELECT position, lag(position) OVER (ORDER BY id) AS prev "
             "FROM bus_effects WHERE consumer = '%s') x WHERE prev IS NOT NULL AND position <= prev",
             f->durable);
    *ordered = h_sql(db.admin, sql) == 0;
}

static int64_t checkpoint_of(fixture *f)
{
    int64_t ck = -1;
    at_error err;
    at_error_clear(&err);
    assert_int_equal(es_checkpoint_get(f->es, f->durable, &ck, &err), ES_OK);
    return ck;
}

/* ---- tests --------------------------------------------------------------------- */

static void consumer_handles_every_event_once_in_log_order(void **state)
{
    fixture *f = *state;
    h_append(f->es, "demo", "person", "PersonRegistered", 150, 30);
    h_append(f->es, "dobele", "household", "HouseholdFormed", 150, 1);
    h_relay_drain(f->es, f->b);
    hctx h = { 0 };
    bus_consumer_config cfg = config(f, &h);
    bus_consumer *c = open_consumer(f, &cfg);

    at_error err;
    at_error_clear(&err);
    size_t handled = 0;
    assert_int_equal(bus_consumer_step(c, 2000, &handled, &err), AT_OK);
    assert_int_equal(handled, 64);          /* one batch */
    run_until(c, 300);
    bus_consumer_stats st;
    bus_consumer_stats_get(c, &st);
    assert_int_equal(st.handled, 300);
    assert_int_equal(st.duplicates, 0);
    assert_int_equal(st.gap_filled, 0);
    assert_int_equal(st.dead_letters, 0);
    assert_int_equal(st.checkpoint, 300);
    assert_int_equal(checkpoint_of(f), 300);

    /* Nothing more: a step waits and returns nothing. */
    assert_int_equal(bus_consumer_step(c, 100, &handled, &err), AT_OK);
    assert_int_equal(handled, 0);
    bus_consumer_close(c);

    int64_t count, distinct;
    bool ordered;
    effects(f, &count, &distinct, &ordered);
    assert_int_equal(count, 300);
    assert_int_equal(distinct, 300);
    assert_true(ordered);
}

static void consumer_reopened_continues_after_its_checkpoint(void **state)
{
    fixture *f = *state;
    h_append(f->es, "demo", "person", "PersonRegistered", 40, 40);
    h_relay_drain(f->es, f->b);
    hctx h = { 0 };
    bus_consumer_config cfg = config(f, &h);
    bus_consumer *c = open_consumer(f, &cfg);
    run_until(c, 40);
    bus_consumer_close(c);

    /* Closing kept the durable (it was never unsubscribed). */
    jsConsumerInfo *ci = NULL;
    assert_int_equal(js_GetConsumerInfo(&ci, bus_js(f->b), f->stream, f->durable, NULL, NULL), NATS_OK);
    jsConsumerInfo_Destroy(ci);

    h_append(f->es, "demo", "person", "PersonRegistered", 10, 10);
    h_relay_drain(f->es, f->b);
    h.calls = 0;
    c = open_consumer(f, &cfg);
    run_until(c, 50);
    bus_consumer_stats st;
    bus_consumer_stats_get(c, &st);
    assert_int_equal(st.handled, 10);
    assert_int_equal(h.calls, 10);
    bus_consumer_close(c);
    int64_t count, distinct;
    bool ordered;
    effects(f, &count, &distinct, &ordered);
    assert_int_equal(count, 50);
    assert_int_equal(distinct, 50);
    assert_true(ordered);
}

/* A child handles one event, commits, and dies before the ack (fault point); three times.
 * Then the consumer runs to the end: every effect exists once, redeliveries are counted. */
static void consumer_effects_happen_once_after_crash_between_commit_and_ack(void **state)
{
    fixture *f = *state;
    h_append(f->es, "demo", "person", "PersonRegistered", 40, 10);
    h_relay_drain(f->es, f->b);
    const char *args[] = { "consumer-child", db.admin, f->prefix, f->stream, f->durable, NULL };
    for (int k = 1; k <= 3; k++) {
        pid_t pid = h_spawn_self("ATB_FAULT=consumer.after_commit", args);
        assert_int_equal(h_wait(pid), 99);
        assert_int_equal(checkpoint_of(f), k);
        int64_t count, distinct;
        bool ordered;
        effects(f, &count, &distinct, &ordered);
        assert_int_equal(count, k);
    }
    hctx h = { 0 };
    bus_consumer_config cfg = config(f, &h);
    bus_consumer *c = open_consumer(f, &cfg);
    run_until(c, 40);
    /* Position 3 was committed but never acknowledged: it must come again (after the ack
     * wait of 1 s the children set) and be recognised as a duplicate. */
    bus_consumer_stats st;
    int64_t deadline = now_ms() + 10000;
    do {
        at_error err;
        bus_consumer_step(c, 200, NULL, &err);
        bus_consumer_stats_get(c, &st);
    } while (st.duplicates == 0 && now_ms() < deadline);
    assert_true(st.duplicates >= 1);
    assert_int_equal(st.handled, 37);
    bus_consumer_close(c);
    int64_t count, distinct;
    bool ordered;
    effects(f, &count, &distinct, &ordered);
    assert_int_equal(count, 40);
    assert_int_equal(distinct, 40);
    assert_true(ordered);
}

static int consumer_child(const char *conninfo, const char *prefix, const char *stream,
                          const char *durable)
{
    es_store *es = h_es_open(conninfo);
    bus *b = h_bus_connect(prefix, stream);
    hctx h = { 0 };
    h.consumer = durable;
    bus_consumer_config cfg = { 0 };
    cfg.durable = durable;
    cfg.handler = handler;
    cfg.ctx = &h;
    cfg.batch = 64;
    cfg.ack_wait_ms = 1000;
    bus_consumer *c = NULL;
    at_error err;
    at_error_clear(&err);
    if (bus_consumer_open(&c, b, es, &cfg, &err) != AT_OK) {
        fprintf(stderr, "child: %s %s\n", err.message, err.detail);
        return 2;
    }
    /* With the fault armed, the first commit ends this process (exit code 99). */
    for (int i = 0; i < 20; i++)
        bus_consumer_step(c, 3000, NULL, &err);
    bus_consumer_close(c);
    bus_close(b);
    es_close(es);
    nats_Close();
    return 0;
}

static void consumer_handles_an_event_the_stream_lost_from_the_log(void **state)
{
    fixture *f = *state;
    h_append(f->es, "demo", "person", "PersonRegistered", 50, 5);
    h_relay_drain(f->es, f->b);
    /* Positions equal stream sequences here: lose 20 in the middle and 50 at the end. */
    assert_int_equal(js_DeleteMsg(bus_js(f->b), f->stream, 20, NULL, NULL), NATS_OK);
    assert_int_equal(js_DeleteMsg(bus_js(f->b), f->stream, 50, NULL, NULL), NATS_OK);
    hctx h = { 0 };
    bus_consumer_config cfg = config(f, &h);
    bus_consumer *c = open_consumer(f, &cfg);
    run_until(c, 49);
    bus_consumer_stats st;
    bus_consumer_stats_get(c, &st);
    assert_int_equal(st.gap_filled, 1);
    assert_int_equal(st.handled, 49);

    /* The lost last event is handled, from the log, when the next one arrives. */
    h_append(f->es, "demo", "person", "PersonRegistered", 1, 1);
    h_relay_drain(f->es, f->b);
    run_until(c, 51);
    bus_consumer_stats_get(c, &st);
    assert_int_equal(st.gap_filled, 2);
    assert_int_equal(st.handled, 51);
    bus_consumer_close(c);
    int64_t count, distinct;
    bool ordered;
    effects(f, &count, &distinct, &ordered);
    assert_int_equal(count, 51);
    assert_int_equal(distinct, 51);
    assert_true(ordered);
}

/* No later message reveals a lost last event: an idle step finds it in the log. And a
 * checkpoint set back while the consumer was closed (a projection rebuilt) is replayed from
 * the log although the durable has acknowledged everything. */
static void consumer_catches_up_from_the_log_when_the_stream_is_idle(void **state)
{
    fixture *f = *state;
    h_append(f->es, "demo", "person", "PersonRegistered", 10, 2);
    h_relay_drain(f->es, f->b);
    assert_int_equal(js_DeleteMsg(bus_js(f->b), f->stream, 10, NULL, NULL), NATS_OK);
    hctx h = { 0 };
    bus_consumer_config cfg = config(f, &h);
    bus_consumer *c = open_consumer(f, &cfg);
    run_until(c, 10);
    bus_consumer_stats st;
    bus_consumer_stats_get(c, &st);
    assert_int_equal(st.gap_filled, 1);
    assert_int_equal(st.handled, 10);
    bus_consumer_close(c);

    char sql[256];
    snprintf(sql, sizeof sql, "UPDATE atb.checkpoints SET position = 0 WHERE consumer = '%s'", f->durable);
    h_sql(db.admin, sql);
    c = open_consumer(f, &cfg);
    run_until(c, 10);
    bus_consumer_stats_get(c, &st);
    assert_int_equal(st.handled, 10);
    assert_int_equal(st.gap_filled, 10);
    bus_consumer_close(c);
    int64_t count, distinct;
    bool ordered;
    effects(f, &count, &distinct, &ordered);
    assert_int_equal(count, 20);   /* every event twice: once, then once more after the reset */
    assert_int_equal(distinct, 10);
}

static void consumer_of_one_category_fills_gaps_of_that_category_only(void **state)
{
    fixture *f = *state;
    /* person 1-10, household 11-20, person 21-30, household 31-40 */
    h_append(f->es, "demo", "person", "PersonRegistered", 10, 10);
    h_append(f->es, "demo", "household", "HouseholdFormed", 10, 10);
    h_append(f->es, "demo", "person", "PersonRegistered", 10, 10);
    h_append(f->es, "demo", "household", "HouseholdFormed", 10, 10);
    h_relay_drain(f->es, f->b);
    assert_int_equal(js_DeleteMsg(bus_js(f->b), f->stream, 15, NULL, NULL), NATS_OK);   /* household */
    assert_int_equal(js_DeleteMsg(bus_js(f->b), f->stream, 25, NULL, NULL), NATS_OK);   /* person */
    hctx h = { 0 };
    bus_consumer_config cfg = config(f, &h);
    const char *cats[] = { "household" };
    cfg.categories = cats;
    cfg.n_categories = 1;
    bus_consumer *c = open_consumer(f, &cfg);
    run_until(c, 40);
    bus_consumer_stats st;
    bus_consumer_stats_get(c, &st);
    assert_int_equal(st.handled, 20);
    assert_int_equal(st.gap_filled, 1);
    assert_int_equal(st.skipped, 0);        /* the filter subject kept persons away */
    bus_consumer_close(c);
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM bus_effects WHERE type <> 'HouseholdFormed'");
    assert_int_equal(h_sql(db.admin, sql), 0);
    int64_t count, distinct;
    bool ordered;
    effects(f, &count, &distinct, &ordered);
    assert_int_equal(count, 20);
    assert_int_equal(distinct, 20);
    assert_true(ordered);
}

static void consumer_of_several_categories_and_a_tenant_skips_the_rest(void **state)
{
    fixture *f = *state;
    h_append(f->es, "kandava", "person", "PersonRegistered", 10, 3);         /* 1-10 */
    h_append(f->es, "kandava", "household", "HouseholdFormed", 10, 3);       /* 11-20 */
    h_append(f->es, "kandava", "application", "ApplicationSubmitted", 10, 3);/* 21-30 */
    h_append(f->es, "dobele", "person", "PersonRegistered", 10, 3);          /* 31-40 */
    h_relay_drain(f->es, f->b);
    assert_int_equal(js_DeleteMsg(bus_js(f->b), f->stream, 22, NULL, NULL), NATS_OK);
    hctx h = { 0 };
    bus_consumer_config cfg = config(f, &h);
    const char *cats[] = { "person", "application" };
    cfg.categories = cats;
    cfg.n_categories = 2;
    cfg.tenant = "kandava";
    bus_consumer *c = open_consumer(f, &cfg);
    run_until(c, 30);
    /* The last dobele messages are outside the tenant's filter subject: nothing to see. */
    bus_consumer_stats st;
    bus_consumer_stats_get(c, &st);
    assert_int_equal(st.handled, 20);
    assert_int_equal(st.gap_filled, 1);
    assert_int_equal(st.skipped, 10);       /* households of kandava share the subject filter */
    bus_consumer_close(c);
    assert_int_equal(h_sql(db.admin, "SELECT count(*) FROM bus_effects WHERE type = 'HouseholdFormed' "
                                     "OR position > 30"), 0);
    int64_t count, distinct;
    bool ordered;
    effects(f, &count, &distinct, &ordered);
    assert_int_equal(count, 20);
    assert_int_equal(distinct, 20);
    assert_true(ordered);
}

static void consumer_dead_letters_poison_events_and_continues(void **state)
{
    fixture *f = *state;
    h_append(f->es, "demo", "person", "PersonRegistered", 5, 5);    /* 1-5 */
    h_append(f->es, "demo", "person", "Poison", 1, 1);              /* 6 */
    h_append(f->es, "demo", "person", "PersonRegistered", 5, 5);    /* 7-11 */
    h_append(f->es, "demo", "person", "PoisonSql", 1, 1);           /* 12 */
    h_append(f->es, "demo", "person", "PersonRegistered", 3, 3);    /* 13-15 */
    h_relay_drain(f->es, f->b);
    hctx h = { 0 };
    bus_consumer_config cfg = config(f, &h);
    bus_consumer *c = open_consumer(f, &cfg);
    run_until(c, 15);
    bus_consumer_stats st;
    bus_consumer_stats_get(c, &st);
    assert_int_equal(st.handled, 13);
    assert_int_equal(st.dead_letters, 2);
    bus_consumer_close(c);

    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM atb.dead_letters WHERE consumer = '%s' AND position = 6 AND code = 1 "
             "AND message = 'poison pill' AND detail = 'The payload cannot be decoded.'", f->durable);
    assert_int_equal(h_sql(db.admin, sql), 1);
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM atb.dead_letters WHERE consumer = '%s' AND position = 12 AND code = 3 "
             "AND message = 'the referenced record does not exist'", f->durable);
    assert_int_equal(h_sql(db.admin, sql), 1);
    assert_int_equal(h_sql(db.admin, "SELECT count(*) FROM bus_effects WHERE position IN (6, 12)"), 0);
    int64_t count, distinct;
    bool ordered;
    effects(f, &count, &distinct, &ordered);
    assert_int_equal(count, 13);
    assert_int_equal(distinct, 13);
    assert_true(ordered);
}

static void consumer_retries_a_transient_failure_and_applies_it_once(void **state)
{
    fixture *f = *state;
    h_append(f->es, "demo", "person", "PersonRegistered", 30, 30);
    h_relay_drain(f->es, f->b);
    hctx h = { 0 };
    h.fail_once_at = 12;
    bus_consumer_config cfg = config(f, &h);
    bus_consumer *c = open_consumer(f, &cfg);
    at_error err;
    at_error_clear(&err);
    size_t handled = 0;
    assert_int_equal(bus_consumer_step(c, 2000, &handled, &err), AT_UNAVAILABLE);
    assert_int_equal(handled, 11);
    assert_int_equal(err.code, AT_UNAVAILABLE);
    assert_non_null(strstr(err.message, "could not handle position 12: database went away"));
    assert_int_equal(checkpoint_of(f), 11);
    assert_int_equal(h_sql(db.admin, "SELECT count(*) FROM bus_effects WHERE position = 12"), 0);

    run_until(c, 30);
    bus_consumer_stats st;
    bus_consumer_stats_get(c, &st);
    assert_int_equal(st.handled, 30);
    assert_int_equal(st.dead_letters, 0);
    bus_consumer_close(c);
    int64_t count, distinct;
    bool ordered;
    effects(f, &count, &distinct, &ordered);
    assert_int_equal(count, 30);
    assert_int_equal(distinct, 30);
    assert_true(ordered);
}

static void consumer_terminates_malformed_messages_without_stopping(void **state)
{
    fixture *f = *state;
    h_append(f->es, "demo", "person", "PersonRegistered", 10, 10);
    h_relay_drain(f->es, f->b);
    char subject[128];
    snprintf(subject, sizeof subject, "%s.evt.demo.person.Garbage", f->prefix);
    assert_int_equal(js_Publish(NULL, bus_js(f->b), subject, "\xff\xff\xff", 3, NULL, NULL), NATS_OK);
    /* A real envelope whose header disagrees with it. */
    es_event ev = { 0 };
    ev.position = 11;
    ev.tenant = "demo";
    ev.category = "person";
    ev.type = "PersonRegistered";
    uint8_t *buf = NULL;
    size_t len = bus_envelope_pack(&ev, &buf);
    natsMsg *m = NULL;
    assert_int_equal(natsMsg_Create(&m, subject, NULL, (const char *)buf, (int)len), NATS_OK);
    natsMsgHeader_Set(m, "Atb-Position", "12");
    assert_int_equal(js_PublishMsg(NULL, bus_js(f->b), m, NULL, NULL), NATS_OK);
    natsMsg_Destroy(m);
    free(buf);
    h_append(f->es, "demo", "person", "PersonRegistered", 2, 2);
    /* The stream's last message is not the relay's, so a new relay would refuse to resume:
     * publish the two new events by hand, as the relay would. */
    for (int64_t p = 11; p <= 12; p++) {
        es_batch *b = NULL;
        at_error err;
        assert_int_equal(es_read_all(f->es, p - 1, 1, NULL, &b, &err), ES_OK);
        const es_event *e = es_batch_get(b, 0);
        char subj[256], pos[24];
        snprintf(subj, sizeof subj, "%s.evt.demo.person.PersonRegistered", f->prefix);
        snprintf(pos, sizeof pos, "%" PRId64, p);
        len = bus_envelope_pack(e, &buf);
        assert_int_equal(natsMsg_Create(&m, subj, NULL, (const char *)buf, (int)len), NATS_OK);
        natsMsgHeader_Set(m, "Atb-Position", pos);
        natsMsgHeader_Set(m, "Nats-Msg-Id", pos);
        assert_int_equal(js_PublishMsg(NULL, bus_js(f->b), m, NULL, NULL), NATS_OK);
        natsMsg_Destroy(m);
        free(buf);
        es_batch_free(b);
    }
    hctx h = { 0 };
    bus_consumer_config cfg = config(f, &h);
    bus_consumer *c = open_consumer(f, &cfg);
    run_until(c, 12);
    bus_consumer_stats st;
    bus_consumer_stats_get(c, &st);
    assert_int_equal(st.malformed, 2);
    assert_int_equal(st.handled, 12);
    bus_consumer_close(c);
    int64_t count, distinct;
    bool ordered;
    effects(f, &count, &distinct, &ordered);
    assert_int_equal(count, 12);
    assert_true(ordered);
}

/* The relay rebuilds a deleted stream (and with it the durable is gone): the consumer
 * binds to a new durable, acknowledges the replayed events as duplicates, goes on. */
static void consumer_survives_a_stream_rebuild(void **state)
{
    fixture *f = *state;
    h_append(f->es, "demo", "person", "PersonRegistered", 20, 20);
    h_relay_drain(f->es, f->b);
    hctx h = { 0 };
    bus_consumer_config cfg = config(f, &h);
    bus_consumer *c = open_consumer(f, &cfg);
    run_until(c, 20);

    at_error err;
    at_error_clear(&err);
    assert_int_equal(bus_stream_delete(f->b, &err), AT_OK);
    /* Without a stream an idle step says so (and loses nothing). */
    size_t handled = 9;
    at_code rc = AT_OK;
    for (int i = 0; i < 20 && rc == AT_OK; i++)
        rc = bus_consumer_step(c, 100, &handled, &err);
    assert_int_equal(rc, AT_UNAVAILABLE);
    assert_int_equal(handled, 0);
    assert_non_null(strstr(err.message, "does not exist yet"));

    h_relay_drain(f->es, f->b);                 /* rebuilt: positions 1..20 again */
    h_append(f->es, "demo", "person", "PersonRegistered", 5, 5);
    h_relay_drain(f->es, f->b);
    run_until(c, 25);
    bus_consumer_stats st;
    bus_consumer_stats_get(c, &st);
    assert_int_equal(st.handled, 25);
    assert_int_equal(st.duplicates, 20);
    bus_consumer_close(c);
    int64_t count, distinct;
    bool ordered;
    effects(f, &count, &distinct, &ordered);
    assert_int_equal(count, 25);
    assert_int_equal(distinct, 25);
    assert_true(ordered);
}

typedef struct racer {
    fixture *f;
    bus *b;
    int64_t target;
    hctx h;
    bus_consumer_stats st;
} racer;

static void *race(void *arg)
{
    racer *r = arg;
    bus_consumer_config cfg = { 0 };
    cfg.durable = r->f->durable;
    cfg.handler = handler;
    cfg.ctx = &r->h;
    cfg.batch = 16;
    cfg.retry_delay_ms = 50;
    r->h.consumer = r->f->durable;
    bus_consumer *c = NULL;
    at_error err;
    at_error_clear(&err);
    /* Both may try to create the durable; one creates it, the other binds to it. */
    if (bus_consumer_open(&c, r->b, r->f->es, &cfg, &err) != AT_OK) {
        fprintf(stderr, "racer: %s %s\n", err.message, err.detail);
        return NULL;
    }
    int64_t deadline = now_ms() + 20000;
    while (now_ms() < deadline) {
        int64_t ck = 0;
        es_checkpoint_get(r->f->es, r->f->durable, &ck, &err);
        if (ck >= r->target)
            break;
        bus_consumer_step(c, 100, NULL, &err);
    }
    bus_consumer_stats_get(c, &r->st);
    bus_consumer_close(c);
    return NULL;
}

static void consumer_instances_sharing_a_durable_apply_each_event_once(void **state)
{
    fixture *f = *state;
    h_append(f->es, "demo", "person", "PersonRegistered", 400, 40);
    h_relay_drain(f->es, f->b);
    racer a = { .f = f, .target = 400 }, b = { .f = f, .target = 400 };
    a.b = h_bus_connect(f->prefix, f->stream);
    b.b = h_bus_connect(f->prefix, f->stream);
    pthread_t ta, tb;
    pthread_create(&ta, NULL, race, &a);
    pthread_create(&tb, NULL, race, &b);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    bus_close(a.b);
    bus_close(b.b);
    fprintf(stderr, "# instance a handled %" PRId64 " (dup %" PRId64 "), b handled %" PRId64 " (dup %" PRId64 ")\n",
            a.st.handled, a.st.duplicates, b.st.handled, b.st.duplicates);
    assert_int_equal(a.st.handled + b.st.handled, 400);
    assert_int_equal(checkpoint_of(f), 400);
    int64_t count, distinct;
    bool ordered;
    effects(f, &count, &distinct, &ordered);
    assert_int_equal(count, 400);
    assert_int_equal(distinct, 400);
    assert_true(ordered);
}

/* Three instances, each with its own PostgreSQL pool and NATS connection as separate
 * processes would have, share one durable while events keep arriving and the stream loses
 * every 9th one: each instance fills gaps from the log that another may be handling from a
 * message at that moment, and idle instances catch up the same range of the log together.
 * The handler refuses to apply an event at or below an effect already committed (the
 * order check runs inside the effect's transaction), so a double or out-of-order effect
 * shows as a dead letter as well as in the effects table. */
typedef struct instance {
    fixture *f;
    bus *b;
    es_store *es;
    int64_t target;
    hctx h;
    bus_consumer_stats st;
    int failures;
} instance;

static at_code ordered_handler(void *ctx, es_txn *txn, const es_event *ev, at_error *err)
{
    hctx *h = ctx;
    PGconn *conn = es_txn_conn(txn);
    char pos[24];
    snprintf(pos, sizeof pos, "%" PRId64, ev->position);
    const char *params[1] = { pos };
    PGresult *r = PQexecParams(conn, "SELECT count(*) FROM bus_effects WHERE position >= $1::bigint",
                               1, NULL, params, NULL, NULL, 0);
    bool ok = PQresultStatus(r) == PGRES_TUPLES_OK;
    bool later = ok && strcmp(PQgetvalue(r, 0, 0), "0") != 0;
    PQclear(r);
    if (!ok)
        return at_error_set(err, AT_UNAVAILABLE, NULL, "could not read the effects");
    if (later)
        return at_error_set(err, AT_CONFLICT, NULL, "an effect at or after %s exists", pos);
    return handler(h, txn, ev, err);
}

static void *instance_main(void *arg)
{
    instance *in = arg;
    bus_consumer_config cfg = { 0 };
    cfg.durable = in->f->durable;
    cfg.handler = ordered_handler;
    cfg.ctx = &in->h;
    cfg.batch = 8;
    cfg.retry_delay_ms = 20;
    cfg.ack_wait_ms = 2000;
    in->h.consumer = in->f->durable;
    bus_consumer *c = NULL;
    at_error err;
    at_error_clear(&err);
    if (bus_consumer_open(&c, in->b, in->es, &cfg, &err) != AT_OK) {
        fprintf(stderr, "instance: %s %s\n", err.message, err.detail);
        in->failures++;
        return NULL;
    }
    int64_t deadline = now_ms() + 60000;
    while (now_ms() < deadline) {
        int64_t ck = 0;
        es_checkpoint_get(in->es, in->f->durable, &ck, &err);
        if (ck >= __atomic_load_n(&in->target, __ATOMIC_ACQUIRE) &&
            __atomic_load_n(&in->target, __ATOMIC_ACQUIRE) > 0)
            break;
        at_code rc = bus_consumer_step(c, 50, NULL, &err);
        if (rc != AT_OK && rc != AT_UNAVAILABLE && rc != AT_INTERNAL) {
            fprintf(stderr, "instance step: %s %s\n", err.message, err.detail);
            in->failures++;
        }
    }
    bus_consumer_stats_get(c, &in->st);
    bus_consumer_close(c);
    return NULL;
}

static void consumer_instances_with_lost_messages_and_live_appends_apply_each_event_once_in_order(void **state)
{
    fixture *f = *state;
    enum { N_INST = 3, ROUNDS = 12, PER_ROUND = 50 };
    instance in[N_INST];
    pthread_t th[N_INST];
    memset(in, 0, sizeof in);
    for (int i = 0; i < N_INST; i++) {
        in[i].f = f;
        in[i].b = h_bus_connect(f->prefix, f->stream);
        in[i].es = h_es_open(db.admin);
        in[i].target = 0;   /* set once the last round is relayed */
        pthread_create(&th[i], NULL, instance_main, &in[i]);
    }
    int64_t head = 0;
    uint64_t seq = 0;
    for (int round = 0; round < ROUNDS; round++) {
        head = h_append(f->es, "demo", "person", "PersonRegistered", PER_ROUND, 5);
        h_relay_drain(f->es, f->b);
        /* Stream sequences equal positions here (one relay, nothing lost before). */
        for (; seq < (uint64_t)head; seq++)
            if ((seq + 1) % 9 == 0)
                assert_int_equal(js_DeleteMsg(bus_js(f->b), f->stream, seq + 1, NULL, NULL), NATS_OK);
    }
    for (int i = 0; i < N_INST; i++)
        __atomic_store_n(&in[i].target, head, __ATOMIC_RELEASE);
    int64_t handled = 0, gap_filled = 0, dead = 0;
    for (int i = 0; i < N_INST; i++) {
        pthread_join(th[i], NULL);
        fprintf(stderr, "# instance %d: handled %" PRId64 ", from the log %" PRId64
                ", duplicates %" PRId64 "\n", i, in[i].st.handled, in[i].st.gap_filled,
                in[i].st.duplicates);
        handled += in[i].st.handled;
        gap_filled += in[i].st.gap_filled;
        dead += in[i].st.dead_letters;
        assert_int_equal(in[i].failures, 0);
        es_close(in[i].es);
        bus_close(in[i].b);
    }
    assert_int_equal(head, ROUNDS * PER_ROUND);
    assert_int_equal(dead, 0);
    assert_int_equal(handled, head);
    assert_true(gap_filled >= head / 9);
    assert_int_equal(checkpoint_of(f), head);
    assert_int_equal(h_sql(db.admin, "SELECT count(*) FROM atb.dead_letters"), 0);
    int64_t count, distinct;
    bool ordered;
    effects(f, &count, &distinct, &ordered);
    assert_int_equal(count, head);
    assert_int_equal(distinct, head);
    assert_true(ordered);
}

static void consumer_open_refuses_bad_configuration_and_a_changed_filter(void **state)
{
    fixture *f = *state;
    hctx h = { 0 };
    bus_consumer_config cfg = config(f, &h);
    bus_consumer *c = NULL;
    at_error err;

    cfg.durable = "bad.name";
    at_error_clear(&err);
    assert_int_equal(bus_consumer_open(&c, f->b, f->es, &cfg, &err), AT_VALIDATION);
    assert_string_equal(err.field, "durable");
    assert_null(c);

    cfg = config(f, &h);
    cfg.tenant = "two words";
    at_error_clear(&err);
    assert_int_equal(bus_consumer_open(&c, f->b, f->es, &cfg, &err), AT_VALIDATION);
    assert_string_equal(err.field, "tenant");

    cfg = config(f, &h);
    const char *bad_cats[] = { "person", "a>b" };
    cfg.categories = bad_cats;
    cfg.n_categories = 2;
    at_error_clear(&err);
    assert_int_equal(bus_consumer_open(&c, f->b, f->es, &cfg, &err), AT_VALIDATION);
    assert_string_equal(err.field, "categories");

    /* No stream yet: the relay has not started. */
    char nostream[48];
    t_unique(nostream, sizeof nostream, "NOSTREAM");
    bus *other = h_bus_connect(f->prefix, nostream);
    cfg = config(f, &h);
    at_error_clear(&err);
    assert_int_equal(bus_consumer_open(&c, other, f->es, &cfg, &err), AT_UNAVAILABLE);
    assert_null(c);
    assert_non_null(strstr(err.message, "does not exist yet"));
    assert_string_equal(err.hint, "start the relay; it creates the stream");
    bus_close(other);

    cfg = config(f, &h);
    const char *persons[] = { "person" };
    cfg.categories = persons;
    cfg.n_categories = 1;
    c = open_consumer(f, &cfg);
    bus_consumer_close(c);
    const char *households[] = { "household" };
    cfg.categories = households;
    at_error_clear(&err);
    c = NULL;
    assert_int_equal(bus_consumer_open(&c, f->b, f->es, &cfg, &err), AT_CONFLICT);
    assert_null(c);
    assert_non_null(strstr(err.message, "exists on stream"));
    assert_non_null(strstr(err.hint, "delete the JetStream consumer"));
}

int main(int argc, char **argv)
{
    if (argc == 6 && strcmp(argv[1], "consumer-child") == 0)
        return consumer_child(argv[2], argv[3], argv[4], argv[5]);
    t_require_servers(1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(consumer_handles_every_event_once_in_log_order, setup, teardown),
        cmocka_unit_test_setup_teardown(consumer_reopened_continues_after_its_checkpoint, setup, teardown),
        cmocka_unit_test_setup_teardown(consumer_effects_happen_once_after_crash_between_commit_and_ack, setup, teardown),
        cmocka_unit_test_setup_teardown(consumer_handles_an_event_the_stream_lost_from_the_log, setup, teardown),
        cmocka_unit_test_setup_teardown(consumer_catches_up_from_the_log_when_the_stream_is_idle, setup, teardown),
        cmocka_unit_test_setup_teardown(consumer_of_one_category_fills_gaps_of_that_category_only, setup, teardown),
        cmocka_unit_test_setup_teardown(consumer_of_several_categories_and_a_tenant_skips_the_rest, setup, teardown),
        cmocka_unit_test_setup_teardown(consumer_dead_letters_poison_events_and_continues, setup, teardown),
        cmocka_unit_test_setup_teardown(consumer_retries_a_transient_failure_and_applies_it_once, setup, teardown),
        cmocka_unit_test_setup_teardown(consumer_terminates_malformed_messages_without_stopping, setup, teardown),
        cmocka_unit_test_setup_teardown(consumer_survives_a_stream_rebuild, setup, teardown),
        cmocka_unit_test_setup_teardown(consumer_instances_sharing_a_durable_apply_each_event_once, setup, teardown),
        cmocka_unit_test_setup_teardown(consumer_instances_with_lost_messages_and_live_appends_apply_each_event_once_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(consumer_open_refuses_bad_configuration_and_a_changed_filter, setup, teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    nats_Close();
    return rc;
}
