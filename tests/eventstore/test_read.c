/*
 * test_read.c -- reading (libs/eventstore/src/read.c): the whole log in position order
 * with tenant and category filters, the head, waiting for the head, the tenant cache.
 */
#include "helpers.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Appends across tenants and categories, in a known order, and returns the head before. */
static int64_t seed_mixed_log(es_store *es, char cats[3][16])
{
    char u[37];
    h_uuid(u);
    for (int i = 0; i < 3; i++)
        snprintf(cats[i], 16, "c%.8s%d", u, i);   /* categories unique to this test */
    at_error err;
    int64_t head = 0;
    assert_int_equal(es_head(es, &head, &err), ES_OK);
    const char *tenants[2] = {"kuldiga", "saldus"};
    es_append_res res;
    for (int i = 0; i < 12; i++) {
        char stream[64];
        snprintf(stream, sizeof stream, "%s-%d", cats[i % 3], i / 3);
        char payload[16];
        snprintf(payload, sizeof payload, "%d", i);
        assert_int_equal(h_append1(es, tenants[i % 2], stream, ES_VERSION_ANY, NULL, payload,
                                   &res, &err), ES_OK);
    }
    return head;
}

static void read_all_returns_positions_in_order_after_the_given_one(void **state)
{
    (void)state;
    es_store *es = h_open("atb_reporting", 2);
    char cats[3][16];
    int64_t head0 = seed_mixed_log(es, cats);
    at_error err;
    es_batch *b;
    assert_int_equal(es_read_all(es, head0, 1000, NULL, &b, &err), ES_OK);
    assert_int_equal(es_batch_count(b), 12);
    for (size_t i = 0; i < 12; i++) {
        const es_event *e = es_batch_get(b, i);
        assert_int_equal(e->position, head0 + 1 + (int64_t)i);
        char payload[16];
        snprintf(payload, sizeof payload, "%zu", i);
        assert_int_equal(e->payload_len, strlen(payload));
        assert_memory_equal(e->payload, payload, e->payload_len);
    }
    es_batch_free(b);
    /* max bounds the batch; after skips. */
    assert_int_equal(es_read_all(es, head0 + 5, 4, NULL, &b, &err), ES_OK);
    assert_int_equal(es_batch_count(b), 4);
    assert_int_equal(es_batch_get(b, 0)->position, head0 + 6);
    es_batch_free(b);
    int64_t head;
    assert_int_equal(es_head(es, &head, &err), ES_OK);
    assert_int_equal(head, head0 + 12);
    assert_int_equal(es_read_all(es, head, 10, NULL, &b, &err), ES_OK);
    assert_int_equal(es_batch_count(b), 0);
    es_batch_free(b);
    assert_int_equal(es_read_all(es, head, 0, NULL, &b, &err), ES_INVALID);
    assert_null(b);
    es_close(es);
}

static void read_all_filters_by_tenant_and_categories(void **state)
{
    (void)state;
    es_store *es = h_open("atb_reporting", 2);
    char cats[3][16];
    int64_t head0 = seed_mixed_log(es, cats);
    at_error err;
    es_batch *b;

    es_filter f1 = {.tenant = "saldus"};
    assert_int_equal(es_read_all(es, head0, 100, &f1, &b, &err), ES_OK);
    assert_int_equal(es_batch_count(b), 6);
    for (size_t i = 0; i < es_batch_count(b); i++) {
        assert_string_equal(es_batch_get(b, i)->tenant, "saldus");
        assert_int_equal(es_batch_get(b, i)->position, head0 + 2 + 2 * (int64_t)i);
    }
    es_batch_free(b);

    const char *two[2] = {cats[2], cats[0]};
    es_filter f2 = {.categories = two, .n_categories = 2};
    assert_int_equal(es_read_all(es, head0, 100, &f2, &b, &err), ES_OK);
    assert_int_equal(es_batch_count(b), 8);
    int64_t last = head0;
    for (size_t i = 0; i < es_batch_count(b); i++) {
        const es_event *e = es_batch_get(b, i);
        assert_true(strcmp(e->category, cats[0]) == 0 || strcmp(e->category, cats[2]) == 0);
        assert_true(e->position > last);
        last = e->position;
    }
    es_batch_free(b);
    /* The limit applies to the merged categories, in position order. */
    assert_int_equal(es_read_all(es, head0, 3, &f2, &b, &err), ES_OK);
    assert_int_equal(es_batch_count(b), 3);
    assert_int_equal(es_batch_get(b, 0)->position, head0 + 1);
    assert_int_equal(es_batch_get(b, 1)->position, head0 + 3);
    assert_int_equal(es_batch_get(b, 2)->position, head0 + 4);
    es_batch_free(b);

    const char *one[1] = {cats[1]};
    es_filter f3 = {.tenant = "kuldiga", .categories = one, .n_categories = 1};
    assert_int_equal(es_read_all(es, head0, 100, &f3, &b, &err), ES_OK);
    /* Category 1 is i = 1, 4, 7, 10; kuldiga is even i: 4 and 10. */
    assert_int_equal(es_batch_count(b), 2);
    assert_int_equal(es_batch_get(b, 0)->position, head0 + 5);
    assert_int_equal(es_batch_get(b, 1)->position, head0 + 11);
    es_batch_free(b);
    es_close(es);
}

struct later {
    es_store *es;
    int delay_ms;
};

static void *append_later(void *arg)
{
    struct later *l = arg;
    usleep((useconds_t)l->delay_ms * 1000);
    char stream[80];
    h_stream(stream, sizeof stream, "wait");
    es_append_res res;
    at_error err;
    h_append1(l->es, "demo", stream, 0, NULL, "w", &res, &err);
    return NULL;
}

static void wait_returns_when_the_head_passes(void **state)
{
    (void)state;
    es_store *reader = h_open("atb_relay", 1);
    es_store *writer = h_open("atb_intake", 1);
    at_error err;
    int64_t head;
    assert_int_equal(es_head(reader, &head, &err), ES_OK);

    /* Nothing appended: the wait times out with the head unchanged. */
    int64_t seen = -1, t0 = h_ms();
    assert_int_equal(es_wait(reader, head, 200, &seen, &err), ES_OK);
    assert_int_equal(seen, head);
    assert_true(h_ms() - t0 >= 190);

    /* An append 300 ms later wakes the waiter long before its 10 s timeout. */
    struct later l = {writer, 300};
    pthread_t th;
    pthread_create(&th, NULL, append_later, &l);
    t0 = h_ms();
    assert_int_equal(es_wait(reader, head, 10000, &seen, &err), ES_OK);
    int64_t took = h_ms() - t0;
    pthread_join(th, NULL);
    assert_int_equal(seen, head + 1);
    assert_true(took >= 250);
    assert_true(took < 5000);

    /* A head already past returns at once. */
    t0 = h_ms();
    assert_int_equal(es_wait(reader, head, 10000, &seen, &err), ES_OK);
    assert_true(h_ms() - t0 < 1000);
    assert_int_equal(seen, head + 1);
    es_close(writer);
    es_close(reader);
}

struct waiter {
    es_store *es;
    int64_t after, seen;
    es_status st;
};

static void *wait_thread(void *arg)
{
    struct waiter *w = arg;
    at_error err;
    w->st = es_wait(w->es, w->after, 10000, &w->seen, &err);
    return NULL;
}

static void several_waiters_are_all_woken(void **state)
{
    (void)state;
    es_store *reader = h_open("atb_relay", 1);
    es_store *writer = h_open("atb_intake", 1);
    at_error err;
    int64_t head;
    assert_int_equal(es_head(reader, &head, &err), ES_OK);
    struct waiter w[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (struct waiter){reader, head, -1, ES_IO};
        pthread_create(&th[i], NULL, wait_thread, &w[i]);
    }
    usleep(200000);
    int64_t t0 = h_ms();
    struct later l = {writer, 0};
    append_later(&l);
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(w[i].st, ES_OK);
        assert_int_equal(w[i].seen, head + 1);
    }
    assert_true(h_ms() - t0 < 5000);
    es_close(writer);
    es_close(reader);
}

static void wait_survives_a_lost_listen_connection(void **state)
{
    (void)state;
    char app[64];
    t_unique(app, sizeof app, "eswait");
    es_config cfg = {.pool_size = 1, .application_name = app};
    es_store *reader = h_open_cfg("atb_relay", &cfg);
    es_store *writer = h_open("atb_intake", 1);
    at_error err;
    int64_t head, seen;
    assert_int_equal(es_head(reader, &head, &err), ES_OK);
    assert_int_equal(es_wait(reader, head, 50, &seen, &err), ES_OK);   /* opens LISTEN */
    PGconn *c = h_admin();
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                              "WHERE application_name = '%s'", app);
    PQclear(PQexec(c, sql));
    PQfinish(c);
    struct later l = {writer, 300};
    pthread_t th;
    pthread_create(&th, NULL, append_later, &l);
    int64_t t0 = h_ms();
    assert_int_equal(es_wait(reader, head, 10000, &seen, &err), ES_OK);
    pthread_join(th, NULL);
    assert_int_equal(seen, head + 1);
    assert_true(h_ms() - t0 < 5000);
    es_close(writer);
    es_close(reader);
}

static void tenant_known_answers_from_the_registry(void **state)
{
    (void)state;
    es_store *es = h_open("atb_gateway", 1);
    assert_true(es_tenant_known(es, "daugavpils"));
    assert_true(es_tenant_known(es, "ventspils_novads"));
    assert_true(es_tenant_known(es, "demo"));
    assert_false(es_tenant_known(es, "riga"));
    assert_false(es_tenant_known(es, ""));
    assert_false(es_tenant_known(es, NULL));
    /* A tenant added later is found (the cache reloads on a miss, at most once a second). */
    PGconn *c = h_admin();
    PQclear(PQexec(c, "INSERT INTO atb.tenants (code, name) VALUES ('jelgava_test', 'Jelgava')"));
    PQfinish(c);
    sleep(1);
    usleep(100000);
    assert_true(es_tenant_known(es, "jelgava_test"));
    es_close(es);
}

static void kurzeme_programme_members_are_seeded(void **state)
{
    (void)state;
    assert_int_equal(h_scalar("SELECT count(*) FROM atb.tenants WHERE region = 'kurzeme'"), 20);
    assert_int_equal(h_scalar("SELECT count(*) FROM atb.tenants WHERE code IN ('daugavpils', "
                              "'tervete', 'kandava', 'kuldiga', 'dobele', 'demo')"), 6);
}

static void checkpoint_reads_zero_until_set(void **state)
{
    (void)state;
    es_store *es = h_open("atb_means", 1);
    at_error err;
    int64_t pos = -1;
    assert_int_equal(es_checkpoint_get(es, "means.test-reader", &pos, &err), ES_OK);
    assert_int_equal(pos, 0);
    es_txn *t;
    assert_int_equal(es_txn_begin(es, &t, &err), ES_OK);
    assert_int_equal(es_txn_checkpoint_set(t, "means.test-reader", 42, &err), ES_OK);
    assert_int_equal(es_txn_commit(t, &err), ES_OK);
    assert_int_equal(es_checkpoint_get(es, "means.test-reader", &pos, &err), ES_OK);
    assert_int_equal(pos, 42);
    es_close(es);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(read_all_returns_positions_in_order_after_the_given_one),
        cmocka_unit_test(read_all_filters_by_tenant_and_categories),
        cmocka_unit_test(wait_returns_when_the_head_passes),
        cmocka_unit_test(several_waiters_are_all_woken),
        cmocka_unit_test(wait_survives_a_lost_listen_connection),
        cmocka_unit_test(tenant_known_answers_from_the_registry),
        cmocka_unit_test(kurzeme_programme_members_are_seeded),
        cmocka_unit_test(checkpoint_reads_zero_until_set),
    };
    return cmocka_run_group_tests(tests, h_group_setup, h_group_teardown);
}
