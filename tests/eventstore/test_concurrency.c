/*
 * test_concurrency.c -- optimistic concurrency: an append names the version it decided
 * on; a stale one is ES_CONFLICT with the version found and appends nothing, and under
 * concurrency exactly one writer wins each version.
 */
#include "helpers.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void append_rejects_stale_version(void **state)
{
    (void)state;
    es_store *es = h_open("atb_allocation", 2);
    char stream[80];
    h_stream(stream, sizeof stream, "allocation");
    es_append_res res;
    at_error err;
    assert_int_equal(h_append1(es, "kuldiga", stream, ES_VERSION_NONE, NULL, "1", &res, &err), ES_OK);
    assert_int_equal(h_append1(es, "kuldiga", stream, 1, NULL, "2", &res, &err), ES_OK);
    int64_t head = h_scalar("SELECT position FROM atb.log_head");

    assert_int_equal(h_append1(es, "kuldiga", stream, 1, NULL, "stale", &res, &err), ES_CONFLICT);
    assert_int_equal(res.actual_version, 2);
    assert_int_equal(res.first_position, 0);
    assert_int_equal(err.code, AT_CONFLICT);
    assert_string_equal(err.field, "expected_version");
    char want[300];
    snprintf(want, sizeof want, "could not append to stream \"%s\": expected version 1, found 2", stream);
    assert_string_equal(err.message, want);
    /* A version from the future conflicts the same way. */
    assert_int_equal(h_append1(es, "kuldiga", stream, 7, NULL, "future", &res, &err), ES_CONFLICT);
    assert_int_equal(res.actual_version, 2);
    assert_int_equal(h_scalar("SELECT position FROM atb.log_head"), head);
    assert_int_equal(h_scalar("SELECT count(*) FROM atb.events WHERE stream_id = '%s'", stream), 2);
    es_close(es);
}

static void version_none_on_existing_stream_conflicts(void **state)
{
    (void)state;
    es_store *es = h_open("atb_allocation", 2);
    char stream[80];
    h_stream(stream, sizeof stream, "allocation");
    es_append_res res;
    at_error err;
    assert_int_equal(h_append1(es, "demo", stream, ES_VERSION_NONE, NULL, "1", &res, &err), ES_OK);
    assert_int_equal(res.version, 1);
    assert_int_equal(h_append1(es, "demo", stream, ES_VERSION_NONE, NULL, "again", &res, &err),
                     ES_CONFLICT);
    assert_int_equal(res.actual_version, 1);
    /* ES_VERSION_ANY appends whatever the version is. */
    assert_int_equal(h_append1(es, "demo", stream, ES_VERSION_ANY, NULL, "any", &res, &err), ES_OK);
    assert_int_equal(res.version, 2);
    assert_int_equal(h_scalar("SELECT count(*) FROM atb.events WHERE stream_id = '%s'", stream), 2);
    es_close(es);
}

/* ---- one winner per version -------------------------------------------------------- */

enum { RACERS = 12, ROUNDS = 8 };

struct race {
    es_store *es;
    pthread_barrier_t *barrier;
    const char *stream;
    int id;
    es_status st[ROUNDS];
    int64_t actual[ROUNDS];
};

static void *racer(void *arg)
{
    struct race *r = arg;
    for (int round = 0; round < ROUNDS; round++) {
        pthread_barrier_wait(r->barrier);
        char payload[32];
        snprintf(payload, sizeof payload, "r%d-t%d", round, r->id);
        es_event_in ev = h_event("RaceWon", payload, strlen(payload));
        es_append_req req = {.tenant = "demo", .stream_id = r->stream, .expected_version = round,
                             .events = &ev, .n_events = 1};
        es_append_res res;
        at_error err;
        /* Half the racers append through the group committer, half in transactions. */
        if (r->id % 2 == 0) {
            r->st[round] = es_append(r->es, &req, &res, &err);
        } else {
            es_txn *t;
            r->st[round] = es_txn_begin(r->es, &t, &err);
            if (r->st[round] == ES_OK) {
                r->st[round] = es_txn_append(t, &req, &res, &err);
                if (r->st[round] == ES_OK)
                    r->st[round] = es_txn_commit(t, &err);
                else
                    es_txn_rollback(t);
            }
        }
        r->actual[round] = res.actual_version;
        pthread_barrier_wait(r->barrier);
    }
    return NULL;
}

static void concurrent_appends_at_one_version_have_one_winner(void **state)
{
    (void)state;
    es_store *es = h_open("atb_allocation", RACERS);
    char stream[80];
    h_stream(stream, sizeof stream, "race");
    pthread_barrier_t barrier;
    pthread_barrier_init(&barrier, NULL, RACERS);
    struct race r[RACERS];
    pthread_t th[RACERS];
    for (int i = 0; i < RACERS; i++) {
        r[i] = (struct race){.es = es, .barrier = &barrier, .stream = stream, .id = i};
        pthread_create(&th[i], NULL, racer, &r[i]);
    }
    for (int i = 0; i < RACERS; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&barrier);
    for (int round = 0; round < ROUNDS; round++) {
        int wins = 0;
        for (int i = 0; i < RACERS; i++) {
            if (r[i].st[round] == ES_OK) {
                wins++;
            } else {
                assert_int_equal(r[i].st[round], ES_CONFLICT);
                assert_int_equal(r[i].actual[round], round + 1);
            }
        }
        assert_int_equal(wins, 1);
    }
    assert_int_equal(h_scalar("SELECT count(*) FROM atb.events WHERE stream_id = '%s'", stream), ROUNDS);
    assert_int_equal(h_scalar("SELECT max(version) FROM atb.events WHERE stream_id = '%s'", stream), ROUNDS);
    es_close(es);
}

/* ---- writers that retry lose nothing ---------------------------------------------- */

enum { WRITERS = 8, PER_WRITER = 25 };

struct writer {
    es_store *es;
    const char *stream;
    int id;
    int conflicts;
    bool failed;
};

static void *retrying_writer(void *arg)
{
    struct writer *w = arg;
    for (int n = 0; n < PER_WRITER && !w->failed; n++) {
        char payload[32];
        snprintf(payload, sizeof payload, "w%d-n%d", w->id, n);
        int64_t expected = 0;
        for (;;) {
            es_event_in ev = h_event("Counted", payload, strlen(payload));
            es_append_req req = {.tenant = "demo", .stream_id = w->stream,
                                 .expected_version = expected, .events = &ev, .n_events = 1};
            es_append_res res;
            at_error err;
            es_status s = es_append(w->es, &req, &res, &err);
            if (s == ES_OK)
                break;
            if (s != ES_CONFLICT) {
                w->failed = true;
                break;
            }
            w->conflicts++;
            expected = res.actual_version;   /* read again, decide again */
        }
    }
    return NULL;
}

static void concurrent_retrying_writers_lose_no_write(void **state)
{
    (void)state;
    es_store *es = h_open("atb_allocation", 2);
    char stream[80];
    h_stream(stream, sizeof stream, "counter");
    struct writer w[WRITERS];
    pthread_t th[WRITERS];
    for (int i = 0; i < WRITERS; i++) {
        w[i] = (struct writer){.es = es, .stream = stream, .id = i};
        pthread_create(&th[i], NULL, retrying_writer, &w[i]);
    }
    int conflicts = 0;
    for (int i = 0; i < WRITERS; i++) {
        pthread_join(th[i], NULL);
        assert_false(w[i].failed);
        conflicts += w[i].conflicts;
    }
    assert_true(conflicts > 0);   /* the race really happened */
    /* Every write is there exactly once, versions 1..N without a hole. */
    assert_int_equal(h_scalar("SELECT count(*) FROM atb.events WHERE stream_id = '%s'", stream),
                     WRITERS * PER_WRITER);
    assert_int_equal(h_scalar("SELECT count(DISTINCT payload) FROM atb.events WHERE stream_id = '%s'",
                              stream), WRITERS * PER_WRITER);
    assert_int_equal(h_scalar("SELECT max(version) FROM atb.events WHERE stream_id = '%s'", stream),
                     WRITERS * PER_WRITER);
    es_close(es);
}

/* ---- defence in depth ---------------------------------------------------------------- */

struct blocked {
    es_store *es;
    const char *stream;
    es_status st;
    at_error err;
};

static void *append_v1(void *arg)
{
    struct blocked *b = arg;
    es_append_res res;
    b->st = h_append1(b->es, "demo", b->stream, ES_VERSION_ANY, NULL, "mine", &res, &b->err);
    return NULL;
}

static void writer_that_bypasses_the_lock_still_cannot_take_a_version_twice(void **state)
{
    (void)state;
    /* Only a superuser can insert into atb.events directly, and nothing in atbalsts does;
     * if one did, the unique (stream_id, version) still stops a second version 1, and the
     * library reports it as the conflict it is. */
    es_store *es = h_open("atb_allocation", 1);
    char stream[80];
    h_stream(stream, sizeof stream, "bypass");
    PGconn *c = h_admin();
    char sql[512];
    snprintf(sql, sizeof sql, "BEGIN; INSERT INTO atb.events (position, event_id, tenant, stream_id, "
             "category, version, type, occurred_at, payload) VALUES (1000000000, gen_random_uuid(), "
             "'demo', '%s', 'bypass', 1, 'Forged', now(), '')", stream);
    PQclear(PQexec(c, sql));
    struct blocked b = {.es = es, .stream = stream};
    pthread_t th;
    pthread_create(&th, NULL, append_v1, &b);
    usleep(300000);   /* the append now waits on the uncommitted version 1 */
    PQclear(PQexec(c, "COMMIT"));
    pthread_join(th, NULL);
    assert_int_equal(b.st, ES_CONFLICT);
    assert_int_equal(b.err.code, AT_CONFLICT);
    assert_non_null(strstr(b.err.message, "events_stream_version_key"));
    assert_non_null(strstr(b.err.detail, "SQLSTATE 23505"));
    assert_string_equal(b.err.hint, "Another append took this stream version; reload the stream and retry.");
    PQclear(PQexec(c, "ALTER TABLE atb.events DISABLE TRIGGER events_refuse_change"));
    PQclear(PQexec(c, "DELETE FROM atb.events WHERE position = 1000000000"));
    PQclear(PQexec(c, "ALTER TABLE atb.events ENABLE TRIGGER events_refuse_change"));
    PQfinish(c);
    es_close(es);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(append_rejects_stale_version),
        cmocka_unit_test(version_none_on_existing_stream_conflicts),
        cmocka_unit_test(concurrent_appends_at_one_version_have_one_winner),
        cmocka_unit_test(concurrent_retrying_writers_lose_no_write),
        cmocka_unit_test(writer_that_bypasses_the_lock_still_cannot_take_a_version_twice),
    };
    return cmocka_run_group_tests(tests, h_group_setup, h_group_teardown);
}
