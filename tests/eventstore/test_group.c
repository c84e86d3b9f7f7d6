/*
 * test_group.c -- the group committer (libs/eventstore/src/append.c): concurrent
 * single-event appends share calls of atb.append() and their commits, every caller gets
 * its own result, and a lost connection fails only the group in flight.
 */
#include "helpers.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { THREADS = 32, PER_THREAD = 40 };

struct single {
    es_store *es;
    int id;
    int failures;
    int64_t positions[PER_THREAD];
};

static void *single_appender(void *arg)
{
    struct single *s = arg;
    char stream[80];
    h_stream(stream, sizeof stream, "grouped");
    for (int i = 0; i < PER_THREAD; i++) {
        es_append_res res;
        at_error err;
        if (h_append1(s->es, "demo", stream, i, NULL, "g", &res, &err) != ES_OK
            || res.version != i + 1 || res.first_position != res.last_position) {
            s->failures++;
            continue;
        }
        s->positions[i] = res.first_position;
    }
    return NULL;
}

static void concurrent_single_appends_share_group_commits(void **state)
{
    (void)state;
    es_store *es = h_open("atb_intake", 1);
    int64_t head0 = h_scalar("SELECT position FROM atb.log_head");
    static struct single s[THREADS];
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++) {
        s[i] = (struct single){.es = es, .id = i};
        pthread_create(&th[i], NULL, single_appender, &s[i]);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(s[i].failures, 0);
    }
    es_store_stats st;
    assert_int_equal(es_stats(es, &st), ES_OK);
    print_message("group commit: %llu appends in %llu groups (largest %llu)\n",
                  (unsigned long long)st.appends, (unsigned long long)st.groups,
                  (unsigned long long)st.max_group);
    assert_int_equal(st.appends, THREADS * PER_THREAD);
    assert_int_equal(st.events, THREADS * PER_THREAD);
    assert_true(st.groups < st.appends);
    assert_true(st.max_group > 1);
    assert_int_equal(st.failed_groups, 0);
    /* Each caller got its own position: all distinct, exactly the new part of the log. */
    static char used[THREADS * PER_THREAD];
    memset(used, 0, sizeof used);
    for (int i = 0; i < THREADS; i++)
        for (int j = 0; j < PER_THREAD; j++) {
            int64_t p = s[i].positions[j] - head0 - 1;
            assert_true(p >= 0 && p < THREADS * PER_THREAD);
            assert_int_equal(used[p], 0);
            used[p] = 1;
        }
    assert_int_equal(h_scalar("SELECT position FROM atb.log_head"), head0 + THREADS * PER_THREAD);
    es_close(es);
}

/* Terminate the backends of a store (as a restart or a network cut would); returns how
 * many there were. */
static int kill_backends(const char *appname)
{
    PGconn *c = h_admin();
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                              "WHERE application_name = '%s'", appname);
    PGresult *r = PQexec(c, sql);
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    int n = atoi(PQgetvalue(r, 0, 0));
    PQclear(r);
    PQfinish(c);
    return n;
}

static void lost_connection_fails_the_group_and_the_next_append_reconnects(void **state)
{
    (void)state;
    char app[64];
    t_unique(app, sizeof app, "estest");
    es_config cfg = {.pool_size = 2, .application_name = app};
    es_store *es = h_open_cfg("atb_intake", &cfg);
    char stream[80], cmd[37];
    h_stream(stream, sizeof stream, "person");
    h_uuid(cmd);
    es_append_res res;
    at_error err;
    assert_int_equal(h_append1(es, "demo", stream, 0, NULL, "1", &res, &err), ES_OK);

    assert_int_equal(kill_backends(app), 3);   /* 2 pooled + the committer's */
    /* The committer's connection is dead: this append fails as a whole, with ES_IO. */
    assert_int_equal(h_append1(es, "demo", stream, 1, cmd, "2", &res, &err), ES_IO);
    assert_int_equal(err.code, AT_UNAVAILABLE);
    assert_non_null(strstr(err.message, "could not append"));
    es_store_stats st;
    es_stats(es, &st);
    assert_int_equal(st.failed_groups, 1);
    /* The retry (same command id) reconnects and appends once. */
    assert_int_equal(h_append1(es, "demo", stream, 1, cmd, "2", &res, &err), ES_OK);
    assert_int_equal(res.version, 2);
    assert_int_equal(h_scalar("SELECT count(*) FROM atb.events WHERE stream_id = '%s'", stream), 2);

    /* Reads and transactions find their broken pooled connections and reconnect. */
    /* The pooled connections are dead since the first kill; kill the committer's new one. */
    assert_int_equal(kill_backends(app), 1);
    es_batch *b;
    assert_int_equal(es_read_stream(es, stream, 1, 10, &b, &err), ES_OK);
    assert_int_equal(es_batch_count(b), 2);
    es_batch_free(b);
    int64_t head;
    assert_int_equal(es_head(es, &head, &err), ES_OK);
    es_txn *t;
    assert_int_equal(es_txn_begin(es, &t, &err), ES_OK);
    assert_int_equal(es_txn_checkpoint_set(t, "test.reconnect", head, &err), ES_OK);
    assert_int_equal(es_txn_commit(t, &err), ES_OK);
    es_close(es);
}

static void closed_store_refuses_appends(void **state)
{
    (void)state;
    /* es_close() finishes what is queued; NULL is a no-op. */
    es_close(NULL);
    es_append_res res;
    at_error err;
    assert_int_equal(es_append(NULL, NULL, &res, &err), ES_INVALID);
    assert_int_equal(es_stats(NULL, NULL), ES_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(concurrent_single_appends_share_group_commits),
        cmocka_unit_test(lost_connection_fails_the_group_and_the_next_append_reconnects),
        cmocka_unit_test(closed_store_refuses_appends),
    };
    return cmocka_run_group_tests(tests, h_group_setup, h_group_teardown);
}
