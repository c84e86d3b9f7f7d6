/*
 * test_relay.c -- libs/bus/src/relay.c and stream.c against real PostgreSQL and
 * nats-server: order, exactly-once in the stream, resume after kill -9, rebuild, and
 * several relays on one stream (one publishes, a stale one never republishes).
 *
 * Run as "test_bus_relay relay-child <conninfo> <prefix> <stream>" it is the child
 * process of the kill -9 test: it relays until the log is drained, then exits 0.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <libpq-fe.h>

#include "bustest.h"
#include "atb/v1/envelope.pb-c.h"

static t_db db;

typedef struct fixture {
    char prefix[48];
    char stream[48];
    es_store *es;
    bus *b;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    t_unique(f->prefix, sizeof f->prefix, "tr");
    t_unique(f->stream, sizeof f->stream, "TR");
    /* A fresh log per test, so positions start at 1. */
    t_db_create(&db);
    f->es = h_es_open(db.admin);
    f->b = h_bus_connect(f->prefix, f->stream);
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

static void sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

/* The stream holds positions 1..n, once each, in order, and every message agrees with the
 * log: subject, headers and the envelope bytes decode to the logged event. */
static void assert_stream_is_log(fixture *f, int64_t n)
{
    h_msg *m = NULL;
    size_t count = h_read_stream(f->b, &m);
    assert_int_equal(count, (size_t)n);
    es_batch *batch = NULL;
    at_error err;
    at_error_clear(&err);
    int64_t pos = 0;
    size_t i = 0;
    while (i < count) {
        assert_int_equal(es_read_all(f->es, pos, 5000, NULL, &batch, &err), ES_OK);
        size_t k = es_batch_count(batch);
        assert_true(k > 0);
        for (size_t j = 0; j < k; j++, i++) {
            const es_event *ev = es_batch_get(batch, j);
            char want[32], subject[256];
            snprintf(want, sizeof want, "%" PRId64, ev->position);
            assert_int_equal(ev->position, (int64_t)i + 1);
            assert_string_equal(m[i].position, want);
            assert_string_equal(m[i].msg_id, want);
            assert_string_equal(m[i].type, ev->type);
            assert_string_equal(m[i].tenant, ev->tenant);
            snprintf(subject, sizeof subject, "%s.evt.%s.%s.%s", f->prefix, ev->tenant,
                     ev->category, ev->type);
            assert_string_equal(m[i].subject, subject);
            if (i > 0)
                assert_true(m[i].seq > m[i - 1].seq);
            Atb__V1__EventEnvelope *env = atb__v1__event_envelope__unpack(NULL, m[i].len, m[i].data);
            assert_non_null(env);
            assert_int_equal(env->position, ev->position);
            assert_string_equal(env->event_id, ev->event_id);
            assert_string_equal(env->stream_id, ev->stream_id);
            assert_int_equal(env->version, ev->version);
            assert_int_equal(env->recorded_at_us, ev->recorded_at_us);
            assert_int_equal(env->payload.len, ev->payload_len);
            assert_memory_equal(env->payload.data, ev->payload, ev->payload_len);
            atb__v1__event_envelope__free_unpacked(env, NULL);
            pos = ev->position;
        }
        es_batch_free(batch);
    }
    h_msgs_free(m, count);
}

static void relay_publishes_every_event_in_log_order_once(void **state)
{
    fixture *f = *state;
    h_append(f->es, "demo", "person", "PersonRegistered", 700, 100);
    h_append(f->es, "daugavpils", "household", "HouseholdFormed", 300, 7);
    int64_t n = h_append(f->es, "kandava", "person", "PersonRegistered", 250, 250);
    assert_int_equal(n, 1250);

    bus_relay *r = NULL;
    at_error err;
    at_error_clear(&err);
    assert_int_equal(bus_relay_open(&r, f->es, f->b, 500, &err), AT_OK);
    assert_int_equal(bus_relay_position(r), 0);
    size_t total = 0, got = 0;
    int steps = 0;
    do {
        assert_int_equal(bus_relay_step(r, 0, &got, &err), AT_OK);
        total += got;
        steps++;
    } while (got > 0);
    assert_int_equal(total, 1250);
    assert_int_equal(steps, 4);               /* 500 + 500 + 250, then an empty step */
    assert_int_equal(bus_relay_position(r), 1250);

    /* Caught up: a step that waits for new events returns nothing after the wait. */
    assert_int_equal(bus_relay_step(r, 50, &got, &err), AT_OK);
    assert_int_equal(got, 0);
    bus_relay_close(r);

    /* A new relay resumes at the end and publishes nothing twice. */
    assert_int_equal(bus_relay_open(&r, f->es, f->b, 500, &err), AT_OK);
    assert_int_equal(bus_relay_position(r), 1250);
    assert_int_equal(bus_relay_step(r, 0, &got, &err), AT_OK);
    assert_int_equal(got, 0);
    int64_t last = 0;
    assert_int_equal(bus_stream_last_position(f->b, &last, &err), AT_OK);
    assert_int_equal(last, 1250);
    bus_relay_close(r);

    assert_stream_is_log(f, 1250);
}

/* Appends one event 300 ms after it starts (the store is shared between threads). */
static void *late_append(void *arg)
{
    sleep_ms(300);
    h_append(arg, "demo", "person", "PersonRegistered", 1, 1);
    return NULL;
}

static void relay_step_wakes_up_for_an_event_appended_while_it_waits(void **state)
{
    fixture *f = *state;
    bus_relay *r = NULL;
    at_error err;
    at_error_clear(&err);
    assert_int_equal(bus_relay_open(&r, f->es, f->b, 100, &err), AT_OK);
    size_t got = 9;
    assert_int_equal(bus_relay_step(r, 10, &got, &err), AT_OK);
    assert_int_equal(got, 0);

    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, late_append, f->es), 0);
    assert_int_equal(bus_relay_step(r, 10000, &got, &err), AT_OK);
    assert_int_equal(got, 1);
    assert_int_equal(bus_relay_position(r), 1);
    pthread_join(t, NULL);
    bus_relay_close(r);
}

static void relay_rebuilds_a_deleted_stream_identical_from_the_log(void **state)
{
    fixture *f = *state;
    h_append(f->es, "demo", "person", "PersonRegistered", 400, 50);
    h_append(f->es, "tervete", "application", "ApplicationSubmitted", 123, 10);
    h_relay_drain(f->es, f->b);
    h_msg *before = NULL;
    size_t n_before = h_read_stream(f->b, &before);
    assert_int_equal(n_before, 523);

    at_error err;
    at_error_clear(&err);
    assert_int_equal(bus_stream_delete(f->b, &err), AT_OK);
    assert_int_equal(bus_stream_delete(f->b, &err), AT_NOT_FOUND);
    int64_t last = -1;
    assert_int_equal(bus_stream_last_position(f->b, &last, &err), AT_NOT_FOUND);

    h_relay_drain(f->es, f->b);
    h_msg *after = NULL;
    size_t n_after = h_read_stream(f->b, &after);
    assert_int_equal(n_after, n_before);
    for (size_t i = 0; i < n_after; i++) {
        assert_int_equal(after[i].seq, before[i].seq);
        assert_string_equal(after[i].subject, before[i].subject);
        assert_string_equal(after[i].msg_id, before[i].msg_id);
        assert_string_equal(after[i].position, before[i].position);
        assert_int_equal(after[i].len, before[i].len);
        assert_memory_equal(after[i].data, before[i].data, before[i].len);
    }
    h_msgs_free(before, n_before);
    h_msgs_free(after, n_after);
    assert_stream_is_log(f, 523);
}

static void relay_keeps_its_position_when_publishing_fails(void **state)
{
    fixture *f = *state;
    h_append(f->es, "demo", "person", "PersonRegistered", 10, 10);
    bus_relay *r = NULL;
    at_error err;
    at_error_clear(&err);
    assert_int_equal(bus_relay_open(&r, f->es, f->b, 100, &err), AT_OK);
    size_t got = 0;
    assert_int_equal(bus_relay_step(r, 0, &got, &err), AT_OK);
    assert_int_equal(got, 10);

    /* Without the stream nobody stores the events: the server answers "no responders". */
    assert_int_equal(bus_stream_delete(f->b, &err), AT_OK);
    h_append(f->es, "demo", "person", "PersonRegistered", 5, 5);
    at_error_clear(&err);
    assert_int_equal(bus_relay_step(r, 0, &got, &err), AT_UNAVAILABLE);
    assert_int_equal(got, 0);
    assert_int_equal(bus_relay_position(r), 10);
    assert_int_equal(err.code, AT_UNAVAILABLE);
    assert_non_null(strstr(err.message, "could not publish 5 of positions 11..15"));
    assert_non_null(strstr(err.hint, "publishes them again"));

    /* Once the stream is back, the same events go out. */
    assert_int_equal(bus_stream_ensure(f->b, &err), AT_OK);
    assert_int_equal(bus_relay_step(r, 0, &got, &err), AT_OK);
    assert_int_equal(got, 5);
    assert_int_equal(bus_relay_position(r), 15);
    int64_t last = 0;
    assert_int_equal(bus_stream_last_position(f->b, &last, &err), AT_OK);
    assert_int_equal(last, 15);
    bus_relay_close(r);
}

static void relay_refuses_a_stream_ahead_of_the_log(void **state)
{
    fixture *f = *state;
    h_append(f->es, "demo", "person", "PersonRegistered", 20, 20);
    h_relay_drain(f->es, f->b);

    /* Another database: its log is shorter than the stream. */
    t_db other;
    t_db_create(&other);
    es_store *es2 = h_es_open(other.admin);
    h_append(es2, "demo", "person", "PersonRegistered", 3, 3);
    bus_relay *r = NULL;
    at_error err;
    at_error_clear(&err);
    assert_int_equal(bus_relay_open(&r, es2, f->b, 100, &err), AT_CONFLICT);
    assert_null(r);
    assert_non_null(strstr(err.message, "holds position 20 but the log ends at 3"));
    es_close(es2);
    t_db_drop(&other);
}

static void stream_last_position_steps_over_deleted_tail_messages(void **state)
{
    fixture *f = *state;
    h_append(f->es, "demo", "person", "PersonRegistered", 30, 30);
    h_relay_drain(f->es, f->b);
    at_error err;
    at_error_clear(&err);
    assert_int_equal(js_DeleteMsg(bus_js(f->b), f->stream, 30, NULL, NULL), NATS_OK);
    assert_int_equal(js_DeleteMsg(bus_js(f->b), f->stream, 29, NULL, NULL), NATS_OK);
    int64_t last = 0;
    assert_int_equal(bus_stream_last_position(f->b, &last, &err), AT_OK);
    assert_int_equal(last, 28);
}

static void stream_ensure_refuses_a_stream_with_other_subjects(void **state)
{
    fixture *f = *state;
    jsStreamConfig cfg;
    jsStreamConfig_Init(&cfg);
    char subj[64];
    snprintf(subj, sizeof subj, "%s.other.>", f->prefix);
    const char *subjects[] = { subj };
    cfg.Name = f->stream;
    cfg.Subjects = subjects;
    cfg.SubjectsLen = 1;
    cfg.Storage = js_MemoryStorage;
    assert_int_equal(js_AddStream(NULL, bus_js(f->b), &cfg, NULL, NULL), NATS_OK);
    at_error err;
    at_error_clear(&err);
    assert_int_equal(bus_stream_ensure(f->b, &err), AT_CONFLICT);
    assert_non_null(strstr(err.message, "exists with other subjects"));
}

/* kill -9 in the middle of a big backlog, then a restart: nothing lost, nothing twice. */
static void relay_resumes_after_kill9_without_loss_or_duplicates(void **state)
{
    fixture *f = *state;
    const int64_t n = 20000;
    assert_int_equal(h_append(f->es, "demo", "person", "PersonRegistered", (size_t)n, 500), n);
    /* The stream exists before the child starts, so progress can be watched from here. */
    at_error err;
    at_error_clear(&err);
    assert_int_equal(bus_stream_ensure(f->b, &err), AT_OK);

    const char *args[] = { "relay-child", db.admin, f->prefix, f->stream, NULL };
    pid_t pid = h_spawn_self(NULL, args);
    uint64_t msgs = 0, last_seq = 0;
    for (int i = 0; i < 20000; i++) {
        h_stream_state(f->b, &msgs, &last_seq);
        if (msgs >= 2000)
            break;
        sleep_ms(1);
    }
    kill(pid, SIGKILL);
    assert_int_equal(h_wait(pid), 128 + SIGKILL);
    /* Let the server finish the bytes the dead connection had sent (a real restart takes
     * longer than this), so the count below is final. */
    uint64_t prev = UINT64_MAX;
    for (int i = 0; i < 100 && msgs != prev; i++) {
        prev = msgs;
        sleep_ms(50);
        h_stream_state(f->b, &msgs, &last_seq);
    }
    fprintf(stderr, "# killed the relay with %" PRIu64 " of %" PRId64 " events in the stream\n", msgs, n);
    assert_true(msgs >= 2000);
    assert_true(msgs < (uint64_t)n);     /* it really died in the middle */
    assert_int_equal(msgs, last_seq);     /* a prefix of the log, no holes */

    pid = h_spawn_self(NULL, args);
    assert_int_equal(h_wait(pid), 0);
    assert_stream_is_log(f, n);
}

/* ---- several relays ---------------------------------------------------------- */

/* The events stream as bus_stream_ensure makes it, but with a duplicate window of 200 ms,
 * so that a republished event is not hidden by the window. */
static void short_window_stream(fixture *f)
{
    char subject[128];
    snprintf(subject, sizeof subject, "%s.evt.>", f->prefix);
    const char *subjects[1] = { subject };
    jsStreamConfig cfg;
    jsStreamConfig_Init(&cfg);
    cfg.Name = f->stream;
    cfg.Subjects = subjects;
    cfg.SubjectsLen = 1;
    cfg.Storage = js_FileStorage;
    cfg.Duplicates = 200LL * 1000 * 1000;
    assert_int_equal(js_AddStream(NULL, bus_js(f->b), &cfg, NULL, NULL), NATS_OK);
}

static void relay_stands_by_while_another_relay_holds_the_lock(void **state)
{
    fixture *f = *state;
    h_append(f->es, "demo", "person", "PersonRegistered", 10, 10);
    bus_relay *r = NULL;
    at_error err;
    at_error_clear(&err);
    assert_int_equal(bus_relay_open(&r, f->es, f->b, 100, &err), AT_OK);

    /* Another relay's lock, held by a connection of its own. */
    PGconn *other = PQconnectdb(db.admin);
    assert_int_equal(PQstatus(other), CONNECTION_OK);
    const char *params[1] = { f->stream };
    PGresult *res = PQexecParams(other, "SELECT pg_advisory_lock(hashtext('atb.relay'), hashtext($1))",
                                 1, NULL, params, NULL, NULL, 0);
    assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
    PQclear(res);

    size_t got = 99;
    assert_int_equal(bus_relay_step(r, 50, &got, &err), AT_OK);
    assert_int_equal(got, 0);
    assert_false(bus_relay_leader(r));
    uint64_t msgs = 0, last_seq = 0;
    h_stream_state(f->b, &msgs, &last_seq);
    assert_int_equal(msgs, 0);

    /* The other relay dies (its connection ends): this one takes over at its next step. */
    PQfinish(other);
    int steps = 0;
    do {
        assert_int_equal(bus_relay_step(r, 50, &got, &err), AT_OK);
    } while (got == 0 && ++steps < 100);   /* the server ends the backend asynchronously */
    assert_int_equal(got, 10);
    assert_true(bus_relay_leader(r));
    bus_relay_close(r);
    assert_stream_is_log(f, 10);
}

static void relay_behind_another_relay_publishes_nothing_twice_after_the_duplicate_window(void **state)
{
    fixture *f = *state;
    short_window_stream(f);
    bus *b2 = h_bus_connect(f->prefix, f->stream);
    es_store *es2 = h_es_open(db.admin);
    bus_relay *stale = NULL, *live = NULL;
    at_error err;
    at_error_clear(&err);
    assert_int_equal(bus_relay_open(&stale, es2, b2, 1000, &err), AT_OK);
    assert_int_equal(bus_relay_open(&live, f->es, f->b, 1000, &err), AT_OK);
    h_append(f->es, "demo", "person", "PersonRegistered", 100, 10);
    size_t got = 0;
    assert_int_equal(bus_relay_step(live, 0, &got, &err), AT_OK);
    assert_int_equal(got, 100);

    /* The stale relay (stalled, say) wakes up after the duplicate window: it must not
     * publish 1..100 again. */
    sleep_ms(400);
    assert_int_equal(bus_relay_step(stale, 0, &got, &err), AT_OK);
    assert_int_equal(got, 0);
    assert_int_equal(bus_relay_position(stale), 100);
    h_append(f->es, "demo", "person", "PersonRegistered", 20, 10);
    assert_int_equal(bus_relay_step(stale, 0, &got, &err), AT_OK);
    assert_int_equal(got, 20);
    sleep_ms(400);
    assert_int_equal(bus_relay_step(live, 0, &got, &err), AT_OK);
    assert_int_equal(got, 0);
    assert_int_equal(bus_relay_position(live), 120);
    bus_relay_close(stale);
    bus_relay_close(live);
    es_close(es2);
    bus_close(b2);
    assert_stream_is_log(f, 120);
}

typedef struct relayer {
    fixture *f;
    int64_t head;          /* set by the appender when it is done; 0 until then */
    size_t published;
    int steps_led;
    int failures;
} relayer;

static void *relayer_main(void *arg)
{
    relayer *rl = arg;
    bus *b = h_bus_connect(rl->f->prefix, rl->f->stream);
    es_store *es = h_es_open(db.admin);
    bus_relay *r = NULL;
    at_error err;
    at_error_clear(&err);
    if (bus_relay_open(&r, es, b, 64, &err) != AT_OK) {
        rl->failures++;
        goto out;
    }
    for (int i = 0; i < 100000; i++) {
        int64_t head = __atomic_load_n(&rl->head, __ATOMIC_ACQUIRE);
        if (head > 0 && bus_relay_position(r) >= head)
            break;
        size_t got = 0;
        if (bus_relay_step(r, 20, &got, &err) != AT_OK) {
            fprintf(stderr, "relay step: %s %s\n", err.message, err.detail);
            rl->failures++;
        }
        rl->published += got;
        if (bus_relay_leader(r))
            rl->steps_led++;
    }
    bus_relay_close(r);
out:
    es_close(es);
    bus_close(b);
    return NULL;
}

static void relays_stepping_together_publish_the_log_once_in_order(void **state)
{
    fixture *f = *state;
    short_window_stream(f);
    relayer rl[3];
    pthread_t th[3];
    memset(rl, 0, sizeof rl);
    for (int i = 0; i < 3; i++) {
        rl[i].f = f;
        pthread_create(&th[i], NULL, relayer_main, &rl[i]);
    }
    int64_t head = 0;
    for (int i = 0; i < 40; i++) {
        head = h_append(f->es, "demo", "person", "PersonRegistered", 25, 5);
        sleep_ms(i % 4 == 0 ? 250 : 10);   /* now and then longer than the window */
    }
    for (int i = 0; i < 3; i++)
        __atomic_store_n(&rl[i].head, head, __ATOMIC_RELEASE);
    size_t published = 0;
    for (int i = 0; i < 3; i++) {
        pthread_join(th[i], NULL);
        fprintf(stderr, "# relay %d: published %zu in %d steps it led\n", i, rl[i].published,
                rl[i].steps_led);
        assert_int_equal(rl[i].failures, 0);
        published += rl[i].published;
    }
    assert_int_equal(published, (size_t)head);
    assert_stream_is_log(f, head);
}

static int relay_child(const char *conninfo, const char *prefix, const char *stream)
{
    es_store *es = h_es_open(conninfo);
    bus *b = h_bus_connect(prefix, stream);
    h_relay_drain(es, b);
    bus_close(b);
    es_close(es);
    nats_Close();
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 5 && strcmp(argv[1], "relay-child") == 0)
        return relay_child(argv[2], argv[3], argv[4]);
    t_require_servers(1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(relay_publishes_every_event_in_log_order_once, setup, teardown),
        cmocka_unit_test_setup_teardown(relay_step_wakes_up_for_an_event_appended_while_it_waits, setup, teardown),
        cmocka_unit_test_setup_teardown(relay_rebuilds_a_deleted_stream_identical_from_the_log, setup, teardown),
        cmocka_unit_test_setup_teardown(relay_keeps_its_position_when_publishing_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(relay_refuses_a_stream_ahead_of_the_log, setup, teardown),
        cmocka_unit_test_setup_teardown(stream_last_position_steps_over_deleted_tail_messages, setup, teardown),
        cmocka_unit_test_setup_teardown(stream_ensure_refuses_a_stream_with_other_subjects, setup, teardown),
        cmocka_unit_test_setup_teardown(relay_resumes_after_kill9_without_loss_or_duplicates, setup, teardown),
        cmocka_unit_test_setup_teardown(relay_stands_by_while_another_relay_holds_the_lock, setup, teardown),
        cmocka_unit_test_setup_teardown(relay_behind_another_relay_publishes_nothing_twice_after_the_duplicate_window, setup, teardown),
        cmocka_unit_test_setup_teardown(relays_stepping_together_publish_the_log_once_in_order, setup, teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    nats_Close();
    return rc;
}
