/*
 * test_txn.c -- transactions (libs/eventstore/src/txn.c): a handler's own statements, its
 * appends and its checkpoint commit together or not at all, a checkpoint row is held by
 * one instance of a consumer at a time, and an append holds the log until it commits.
 */
#include "helpers.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void checkpoint_commits_atomically_with_appends(void **state)
{
    (void)state;
    es_store *es = h_open("atb_means", 2);
    char stream[80];
    h_stream(stream, sizeof stream, "household");
    at_error err;
    es_txn *t;
    int64_t pos = -1;
    assert_int_equal(es_txn_begin(es, &t, &err), ES_OK);
    assert_int_equal(es_txn_checkpoint_get(t, "means.assessor", &pos, &err), ES_OK);
    assert_int_equal(pos, 0);
    es_event_in ev = h_event("HouseholdAssessed", "a", 1);
    es_append_req req = {.tenant = "kandava", .stream_id = stream, .expected_version = 0,
                         .events = &ev, .n_events = 1};
    es_append_res res;
    assert_int_equal(es_txn_checkpoint_set(t, "means.assessor", 17, &err), ES_OK);
    assert_int_equal(es_txn_append(t, &req, &res, &err), ES_OK);
    /* Not visible to others before the commit. */
    assert_int_equal(h_scalar("SELECT count(*) FROM atb.events WHERE stream_id = '%s'", stream), 0);
    assert_int_equal(h_scalar("SELECT position FROM atb.checkpoints WHERE consumer = 'means.assessor'"), 0);
    assert_int_equal(es_txn_commit(t, &err), ES_OK);
    assert_int_equal(h_scalar("SELECT count(*) FROM atb.events WHERE stream_id = '%s'", stream), 1);
    assert_int_equal(es_checkpoint_get(es, "means.assessor", &pos, &err), ES_OK);
    assert_int_equal(pos, 17);
    assert_int_equal(h_scalar("SELECT position FROM atb.log_head"), res.last_position);
    es_close(es);
}

static void rollback_leaves_appends_and_checkpoint_unchanged(void **state)
{
    (void)state;
    es_store *es = h_open("atb_means", 2);
    char stream[80];
    h_stream(stream, sizeof stream, "household");
    at_error err;
    es_txn *t;
    int64_t pos;
    long long head = h_scalar("SELECT position FROM atb.log_head");
    assert_int_equal(es_txn_begin(es, &t, &err), ES_OK);
    assert_int_equal(es_txn_checkpoint_get(t, "means.assessor", &pos, &err), ES_OK);
    assert_int_equal(pos, 17);
    es_event_in ev = h_event("HouseholdAssessed", "b", 1);
    es_append_req req = {.tenant = "kandava", .stream_id = stream, .expected_version = 0,
                         .events = &ev, .n_events = 1};
    es_append_res res;
    assert_int_equal(es_txn_append(t, &req, &res, &err), ES_OK);
    assert_int_equal(es_txn_checkpoint_set(t, "means.assessor", 99, &err), ES_OK);
    es_txn_rollback(t);
    assert_int_equal(es_checkpoint_get(es, "means.assessor", &pos, &err), ES_OK);
    assert_int_equal(pos, 17);
    assert_int_equal(h_scalar("SELECT count(*) FROM atb.events WHERE stream_id = '%s'", stream), 0);
    assert_int_equal(h_scalar("SELECT position FROM atb.log_head"), head);
    /* The positions the rolled-back append had are taken by the next append: no hole. */
    assert_int_equal(es_append(es, &req, &res, &err), ES_OK);
    assert_int_equal(res.first_position, head + 1);
    es_close(es);
}

static void own_statements_commit_and_roll_back_with_the_append(void **state)
{
    (void)state;
    es_store *es = h_open("atb_intake", 2);
    at_error err;
    es_txn *t;
    assert_int_equal(es_txn_begin(es, &t, &err), ES_OK);
    PGresult *r = PQexec(es_txn_conn(t), "CREATE TABLE intake.people (key text PRIMARY KEY)");
    assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
    PQclear(r);
    assert_int_equal(es_txn_commit(t, &err), ES_OK);

    for (int commit = 0; commit < 2; commit++) {
        char stream[80];
        h_stream(stream, sizeof stream, "person");
        assert_int_equal(es_txn_begin(es, &t, &err), ES_OK);
        const char *values[1] = {stream};
        r = PQexecParams(es_txn_conn(t), "INSERT INTO intake.people (key) VALUES ($1)", 1, NULL,
                         values, NULL, NULL, 0);
        assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
        PQclear(r);
        es_append_res res;
        es_event_in ev = h_event("PersonRegistered", "p", 1);
        es_append_req req = {.tenant = "demo", .stream_id = stream, .expected_version = 0,
                             .events = &ev, .n_events = 1};
        assert_int_equal(es_txn_append(t, &req, &res, &err), ES_OK);
        if (commit)
            assert_int_equal(es_txn_commit(t, &err), ES_OK);
        else
            es_txn_rollback(t);
        assert_int_equal(h_scalar("SELECT count(*) FROM intake.people WHERE key = '%s'", stream), commit);
        assert_int_equal(h_scalar("SELECT count(*) FROM atb.events WHERE stream_id = '%s'", stream), commit);
    }
    es_close(es);
}

static void checkpoint_is_held_by_one_instance_at_a_time(void **state)
{
    (void)state;
    es_store *es = h_open("atb_reporting", 3);
    at_error err;
    es_txn *a, *b;
    int64_t pos;
    assert_int_equal(es_txn_begin(es, &a, &err), ES_OK);
    assert_int_equal(es_txn_checkpoint_get(a, "reporting.totals", &pos, &err), ES_OK);

    /* A second instance cannot take the row while the first holds it. */
    assert_int_equal(es_txn_begin(es, &b, &err), ES_OK);
    PQclear(PQexec(es_txn_conn(b), "SET LOCAL lock_timeout = '200ms'"));
    assert_int_equal(es_txn_checkpoint_get(b, "reporting.totals", &pos, &err), ES_IO);
    assert_non_null(strstr(err.detail, "SQLSTATE 55P03"));
    /* Its transaction has failed: further calls and the commit report that. */
    assert_int_equal(es_txn_checkpoint_set(b, "reporting.totals", 5, &err), ES_IO);
    assert_int_equal(es_txn_commit(b, &err), ES_IO);

    assert_int_equal(es_txn_checkpoint_set(a, "reporting.totals", 8, &err), ES_OK);
    assert_int_equal(es_txn_commit(a, &err), ES_OK);
    assert_int_equal(es_txn_begin(es, &b, &err), ES_OK);
    assert_int_equal(es_txn_checkpoint_get(b, "reporting.totals", &pos, &err), ES_OK);
    assert_int_equal(pos, 8);
    es_txn_rollback(b);
    es_close(es);
}

struct late_append {
    es_store *es;
    const char *stream;
    volatile int done;
    es_append_res res;
    es_status st;
};

static void *append_behind(void *arg)
{
    struct late_append *l = arg;
    at_error err;
    l->st = h_append1(l->es, "demo", l->stream, ES_VERSION_ANY, NULL, "behind", &l->res, &err);
    __atomic_store_n(&l->done, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

static void open_append_holds_the_log_until_commit(void **state)
{
    (void)state;
    es_store *es = h_open("atb_intake", 2);
    char s1[80], s2[80];
    h_stream(s1, sizeof s1, "person");
    h_stream(s2, sizeof s2, "person");
    at_error err;
    es_txn *t;
    es_append_res res;
    assert_int_equal(es_txn_begin(es, &t, &err), ES_OK);
    es_event_in ev = h_event("PersonRegistered", "first", 5);
    es_append_req req = {.tenant = "demo", .stream_id = s1, .expected_version = 0,
                         .events = &ev, .n_events = 1};
    assert_int_equal(es_txn_append(t, &req, &res, &err), ES_OK);

    struct late_append l = {.es = es, .stream = s2};
    pthread_t th;
    pthread_create(&th, NULL, append_behind, &l);
    usleep(300000);
    /* The other append waits for the head lock: positions follow commit order. */
    assert_int_equal(__atomic_load_n(&l.done, __ATOMIC_SEQ_CST), 0);
    assert_int_equal(es_txn_commit(t, &err), ES_OK);
    pthread_join(th, NULL);
    assert_int_equal(l.st, ES_OK);
    assert_int_equal(l.res.first_position, res.last_position + 1);
    es_close(es);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(checkpoint_commits_atomically_with_appends),
        cmocka_unit_test(rollback_leaves_appends_and_checkpoint_unchanged),
        cmocka_unit_test(own_statements_commit_and_roll_back_with_the_append),
        cmocka_unit_test(checkpoint_is_held_by_one_instance_at_a_time),
        cmocka_unit_test(open_append_holds_the_log_until_commit),
    };
    return cmocka_run_group_tests(tests, h_group_setup, h_group_teardown);
}
