/*
 * test_idempotency.c -- a command id is the idempotency key of an append: appended twice,
 * it yields the first result (duplicate = true) and the log holds one copy, also when the
 * two copies travel in the same group commit. Only committed, accepted appends count.
 */
#include "helpers.h"

#include <string.h>

static void command_appended_twice_returns_first_result(void **state)
{
    (void)state;
    es_store *es = h_open("atb_payments", 2);
    char stream[80], cmd[37];
    h_stream(stream, sizeof stream, "payment");
    h_uuid(cmd);
    es_event_in evs[2] = {h_event("PaymentOrdered", "a", 1), h_event("PaymentScheduled", "b", 1)};
    es_append_req req = {.tenant = "dobele", .stream_id = stream, .expected_version = 0,
                         .command_id = cmd, .events = evs, .n_events = 2};
    es_append_res first, again;
    at_error err;
    assert_int_equal(es_append(es, &req, &first, &err), ES_OK);
    assert_false(first.duplicate);
    /* Other appends in between move the head on. */
    assert_int_equal(h_append1(es, "dobele", stream, 2, NULL, "c", &again, &err), ES_OK);

    /* The retry names a version that is stale by now: still the first result, no conflict. */
    assert_int_equal(es_append(es, &req, &again, &err), ES_OK);
    assert_true(again.duplicate);
    assert_int_equal(again.first_position, first.first_position);
    assert_int_equal(again.last_position, first.last_position);
    assert_int_equal(again.version, 2);
    assert_int_equal(h_scalar("SELECT count(*) FROM atb.events WHERE command_id = '%s'", cmd), 2);
    assert_int_equal(h_scalar("SELECT count(*) FROM atb.commands WHERE command_id = '%s'", cmd), 1);
    assert_int_equal(h_scalar("SELECT count(*) FROM atb.events WHERE stream_id = '%s'", stream), 3);
    es_close(es);
}

static void same_command_in_one_group_is_appended_once(void **state)
{
    (void)state;
    es_config cfg = {.pool_size = 1, .group_max_wait_us = 1000000};
    es_store *es = h_open_cfg("atb_payments", &cfg);
    char s1[80], s2[80], cmd[37];
    h_stream(s1, sizeof s1, "payment");
    h_stream(s2, sizeof s2, "payment");
    h_uuid(cmd);
    es_event_in ev = h_event("PaymentOrdered", "p", 1);
    /* Four copies, two of them naming another stream: the first to be decided wins. */
    es_append_req a = {.tenant = "dobele", .stream_id = s1, .expected_version = ES_VERSION_ANY,
                       .command_id = cmd, .events = &ev, .n_events = 1};
    es_append_req b = a;
    b.stream_id = s2;
    h_job jobs[4] = {{.es = es, .req = &a}, {.es = es, .req = &b}, {.es = es, .req = &a},
                     {.es = es, .req = &b}};
    es_store_stats st0, st1;
    es_stats(es, &st0);
    h_run_jobs(jobs, 4);
    es_stats(es, &st1);
    assert_int_equal(st1.groups - st0.groups, 1);
    assert_int_equal(st1.appends - st0.appends, 4);
    assert_int_equal(st1.events - st0.events, 1);
    int originals = 0;
    for (int i = 0; i < 4; i++) {
        assert_int_equal(jobs[i].st, ES_OK);
        originals += !jobs[i].res.duplicate;
        assert_int_equal(jobs[i].res.first_position, jobs[0].res.first_position);
        assert_int_equal(jobs[i].res.version, 1);
    }
    assert_int_equal(originals, 1);
    assert_int_equal(h_scalar("SELECT count(*) FROM atb.events WHERE command_id = '%s'", cmd), 1);
    assert_int_equal(h_scalar("SELECT count(*) FROM atb.events WHERE stream_id IN ('%s', '%s')",
                              s1, s2), 1);
    es_close(es);
}

static void conflicting_command_is_not_recorded(void **state)
{
    (void)state;
    es_store *es = h_open("atb_payments", 2);
    char stream[80], cmd[37];
    h_stream(stream, sizeof stream, "payment");
    h_uuid(cmd);
    es_append_res res;
    at_error err;
    assert_int_equal(h_append1(es, "demo", stream, 0, NULL, "x", &res, &err), ES_OK);
    assert_int_equal(h_append1(es, "demo", stream, 0, cmd, "y", &res, &err), ES_CONFLICT);
    /* Decided again with the version found, the same command id appends for real. */
    assert_int_equal(h_append1(es, "demo", stream, 1, cmd, "y", &res, &err), ES_OK);
    assert_false(res.duplicate);
    assert_int_equal(res.version, 2);
    assert_int_equal(h_scalar("SELECT count(*) FROM atb.events WHERE command_id = '%s'", cmd), 1);
    es_close(es);
}

static void command_ids_hold_across_transactions_and_groups(void **state)
{
    (void)state;
    es_store *es = h_open("atb_payments", 2);
    char stream[80], cmd[37], rolled[37];
    h_stream(stream, sizeof stream, "payment");
    h_uuid(cmd);
    h_uuid(rolled);
    es_event_in ev = h_event("PaymentOrdered", "p", 1);
    es_append_req req = {.tenant = "demo", .stream_id = stream, .expected_version = 0,
                         .command_id = cmd, .events = &ev, .n_events = 1};
    es_append_res r1, r2;
    at_error err;
    es_txn *t;
    assert_int_equal(es_txn_begin(es, &t, &err), ES_OK);
    assert_int_equal(es_txn_append(t, &req, &r1, &err), ES_OK);
    /* In the same transaction the command is already recorded. */
    assert_int_equal(es_txn_append(t, &req, &r2, &err), ES_OK);
    assert_true(r2.duplicate);
    assert_int_equal(es_txn_commit(t, &err), ES_OK);
    assert_int_equal(es_append(es, &req, &r2, &err), ES_OK);
    assert_true(r2.duplicate);
    assert_int_equal(r2.first_position, r1.first_position);

    /* A rolled-back append recorded nothing: its command id is still free. */
    req.command_id = rolled;
    req.expected_version = 1;
    assert_int_equal(es_txn_begin(es, &t, &err), ES_OK);
    assert_int_equal(es_txn_append(t, &req, &r1, &err), ES_OK);
    es_txn_rollback(t);
    assert_int_equal(es_append(es, &req, &r2, &err), ES_OK);
    assert_false(r2.duplicate);
    assert_int_equal(r2.version, 2);
    assert_int_equal(h_scalar("SELECT count(*) FROM atb.events WHERE stream_id = '%s'", stream), 2);
    es_close(es);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(command_appended_twice_returns_first_result),
        cmocka_unit_test(same_command_in_one_group_is_appended_once),
        cmocka_unit_test(conflicting_command_is_not_recorded),
        cmocka_unit_test(command_ids_hold_across_transactions_and_groups),
    };
    return cmocka_run_group_tests(tests, h_group_setup, h_group_teardown);
}
