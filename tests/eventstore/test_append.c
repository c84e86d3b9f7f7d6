/*
 * test_append.c -- appending (libs/eventstore/src/append.c): what goes in comes back out
 * byte for byte, bad requests are refused with the field named and append nothing.
 */
#include "helpers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void append_then_read_stream_returns_events_in_version_order(void **state)
{
    (void)state;
    es_store *es = h_open("atb_intake", 2);
    char stream[80];
    h_stream(stream, sizeof stream, "person");
    es_event_in evs[3] = {h_event("PersonRegistered", "a", 1), h_event("AddressChanged", "bb", 2),
                          h_event("AddressChanged", "ccc", 3)};
    es_append_req req = {.tenant = "kuldiga", .stream_id = stream,
                         .expected_version = ES_VERSION_NONE, .events = evs, .n_events = 3};
    es_append_res res;
    at_error err;
    assert_int_equal(es_append(es, &req, &res, &err), ES_OK);
    assert_int_equal(res.version, 3);
    assert_int_equal(res.last_position - res.first_position, 2);
    assert_false(res.duplicate);

    es_batch *b = NULL;
    assert_int_equal(es_read_stream(es, stream, 1, 100, &b, &err), ES_OK);
    assert_int_equal(es_batch_count(b), 3);
    for (size_t i = 0; i < 3; i++) {
        const es_event *e = es_batch_get(b, i);
        assert_int_equal(e->version, (int64_t)i + 1);
        assert_int_equal(e->position, res.first_position + (int64_t)i);
        assert_string_equal(e->stream_id, stream);
        assert_string_equal(e->category, "person");
        assert_string_equal(e->tenant, "kuldiga");
        assert_string_equal(e->type, evs[i].type);
        assert_int_equal(e->payload_len, i + 1);
        assert_memory_equal(e->payload, evs[i].payload, i + 1);
    }
    assert_null(es_batch_get(b, 3));
    es_batch_free(b);

    /* from_version and max select a window of the stream. */
    assert_int_equal(es_read_stream(es, stream, 2, 1, &b, &err), ES_OK);
    assert_int_equal(es_batch_count(b), 1);
    assert_int_equal(es_batch_get(b, 0)->version, 2);
    es_batch_free(b);

    /* An unknown stream reads as empty, not as an error. */
    assert_int_equal(es_read_stream(es, "person-none", 1, 10, &b, &err), ES_OK);
    assert_int_equal(es_batch_count(b), 0);
    es_batch_free(b);
    es_close(es);
}

static void payload_round_trips_every_byte_value(void **state)
{
    (void)state;
    es_store *es = h_open("atb_means", 2);
    char stream[80];
    h_stream(stream, sizeof stream, "household");
    static uint8_t all[256 * 4];
    for (size_t i = 0; i < sizeof all; i++)
        all[i] = (uint8_t)(i % 256);
    static const uint8_t zeros[] = {0, 0, 0};
    uint8_t *big = malloc(ES_MAX_PAYLOAD);
    assert_non_null(big);
    for (size_t i = 0; i < ES_MAX_PAYLOAD; i++)
        big[i] = (uint8_t)((i * 7919) >> 3);
    es_event_in evs[4] = {h_event("Empty", NULL, 0), h_event("Zeros", zeros, sizeof zeros),
                          h_event("AllBytes", all, sizeof all),
                          h_event("Largest", big, ES_MAX_PAYLOAD)};
    es_append_req req = {.tenant = "demo", .stream_id = stream, .expected_version = ES_VERSION_ANY,
                         .events = evs, .n_events = 4};
    es_append_res res;
    at_error err;
    assert_int_equal(es_append(es, &req, &res, &err), ES_OK);

    es_batch *b = NULL;
    assert_int_equal(es_read_all(es, res.first_position - 1, 4, NULL, &b, &err), ES_OK);
    assert_int_equal(es_batch_count(b), 4);
    for (size_t i = 0; i < 4; i++) {
        const es_event *e = es_batch_get(b, i);
        assert_int_equal(e->payload_len, evs[i].payload_len);
        if (evs[i].payload_len)
            assert_memory_equal(e->payload, evs[i].payload, evs[i].payload_len);
        assert_non_null(e->payload);
    }
    es_batch_free(b);
    free(big);
    /* What PostgreSQL holds is the same bytes (not an escaped form of them). */
    assert_int_equal(h_scalar("SELECT length(payload) FROM atb.events WHERE stream_id = '%s' "
                              "AND version = 3", stream), 1024);
    assert_int_equal(h_scalar("SELECT get_byte(payload, 0) + get_byte(payload, 255) FROM "
                              "atb.events WHERE stream_id = '%s' AND version = 3", stream), 255);
    es_close(es);
}

static void envelope_fields_round_trip(void **state)
{
    (void)state;
    es_store *es = h_open("atb_intake", 2);
    char stream[80], eid[37], cmd[37], cause[37], corr[37];
    h_stream(stream, sizeof stream, "person");
    h_uuid(eid);
    h_uuid(cmd);
    h_uuid(cause);
    h_uuid(corr);
    es_event_in ev = h_event("PersonRegistered", "x", 1);
    ev.event_id = eid;
    ev.occurred_at_us = 1688169600123456LL; /* 2023-07-01 00:00:00.123456 UTC */
    es_append_req req = {.tenant = "tervete", .stream_id = stream, .expected_version = 0,
                         .command_id = cmd, .causation_id = cause, .correlation_id = corr,
                         .actor = "user:ilze.ozola", .events = &ev, .n_events = 1};
    es_append_res res;
    at_error err;
    assert_int_equal(es_append(es, &req, &res, &err), ES_OK);
    es_batch *b = NULL;
    assert_int_equal(es_read_stream(es, stream, 1, 10, &b, &err), ES_OK);
    assert_int_equal(es_batch_count(b), 1);
    const es_event *e = es_batch_get(b, 0);
    assert_string_equal(e->event_id, eid);
    assert_string_equal(e->command_id, cmd);
    assert_string_equal(e->causation_id, cause);
    assert_string_equal(e->correlation_id, corr);
    assert_string_equal(e->actor, "user:ilze.ozola");
    assert_int_equal(e->occurred_at_us, 1688169600123456LL);
    assert_true(e->recorded_at_us > 1688169600000000LL);
    es_batch_free(b);

    /* Without ids or time, the log makes an event id and takes the time of the append;
     * the optional ids read back as "". */
    char s2[80];
    h_stream(s2, sizeof s2, "person");
    es_event_in ev2 = h_event("PersonRegistered", "y", 1);
    es_append_req req2 = {.tenant = "tervete", .stream_id = s2, .expected_version = 0,
                          .events = &ev2, .n_events = 1};
    assert_int_equal(es_append(es, &req2, &res, &err), ES_OK);
    assert_int_equal(es_read_stream(es, s2, 1, 10, &b, &err), ES_OK);
    e = es_batch_get(b, 0);
    assert_int_equal(strlen(e->event_id), 36);
    assert_string_equal(e->command_id, "");
    assert_string_equal(e->causation_id, "");
    assert_string_equal(e->correlation_id, "");
    assert_string_equal(e->actor, "");
    assert_true(e->occurred_at_us == e->recorded_at_us);
    es_batch_free(b);
    es_close(es);
}

static void unknown_tenant_is_refused_and_appends_nothing(void **state)
{
    (void)state;
    es_store *es = h_open("atb_intake", 2);
    char stream[80];
    h_stream(stream, sizeof stream, "person");
    long long before = h_scalar("SELECT count(*) FROM atb.events");
    es_append_res res;
    at_error err;
    assert_int_equal(h_append1(es, "atlantis", stream, ES_VERSION_ANY, NULL, "p", &res, &err),
                     ES_UNKNOWN_TENANT);
    assert_string_equal(err.message, "cannot append for tenant \"atlantis\": it is not registered");
    assert_string_equal(err.field, "tenant");
    assert_int_equal(err.code, AT_UNKNOWN_TENANT);
    assert_int_equal(res.first_position, 0);
    assert_int_equal(h_scalar("SELECT count(*) FROM atb.events"), before);
    assert_int_equal(h_scalar("SELECT count(*) FROM atb.events WHERE stream_id = '%s'", stream), 0);
    es_close(es);
}

static void invalid_requests_are_refused_with_the_field_named(void **state)
{
    (void)state;
    es_store *es = h_open("atb_intake", 2);
    long long before = h_scalar("SELECT position FROM atb.log_head");
    es_append_res res;
    at_error err;
    es_event_in ok = h_event("PersonRegistered", "p", 1);
    struct {
        es_append_req req;
        const char *field;
        const char *message;
    } cases[] = {
        {{.tenant = "demo", .stream_id = "", .events = &ok, .n_events = 1}, "stream_id",
         "cannot append: no stream id"},
        {{.tenant = "demo", .stream_id = NULL, .events = &ok, .n_events = 1}, "stream_id",
         "cannot append: no stream id"},
        {{.tenant = "demo", .stream_id = "-x", .events = &ok, .n_events = 1}, "stream_id",
         "cannot append to stream \"-x\": it has no valid category"},
        {{.tenant = "demo", .stream_id = "per.son-1", .events = &ok, .n_events = 1}, "stream_id",
         "cannot append to stream \"per.son-1\": it has no valid category"},
        {{.tenant = "demo", .stream_id = "person-a b", .events = &ok, .n_events = 1}, "stream_id",
         "cannot append to stream \"person-a b\": it contains a space or a control character"},
        {{.tenant = "demo", .stream_id = "person-1", .events = NULL, .n_events = 0}, "events",
         "cannot append to stream \"person-1\": no events"},
        {{.tenant = "demo", .stream_id = "person-1", .events = &ok, .n_events = 0}, "events",
         "cannot append to stream \"person-1\": no events"},
        {{.tenant = "", .stream_id = "person-1", .events = &ok, .n_events = 1}, "tenant",
         "cannot append: no tenant"},
        {{.tenant = "demo", .stream_id = "person-1", .command_id = "not-a-uuid", .events = &ok,
          .n_events = 1}, "command_id", "cannot append: command id \"not-a-uuid\" is not a UUID"},
        {{.tenant = "demo", .stream_id = "person-1", .causation_id = "1234", .events = &ok,
          .n_events = 1}, "causation_id", "cannot append: causation id \"1234\" is not a UUID"},
        {{.tenant = "demo", .stream_id = "person-1",
          .correlation_id = "00000000-0000-0000-0000-00000000000g", .events = &ok, .n_events = 1},
         "correlation_id",
         "cannot append: correlation id \"00000000-0000-0000-0000-00000000000g\" is not a UUID"},
        {{.tenant = "demo", .stream_id = "person-1", .expected_version = -2, .events = &ok,
          .n_events = 1}, "expected_version",
         "cannot append to stream \"person-1\": the expected version is negative"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        at_error_clear(&err);
        assert_int_equal(es_append(es, &cases[i].req, &res, &err), ES_INVALID);
        assert_string_equal(err.field, cases[i].field);
        assert_string_equal(err.message, cases[i].message);
        assert_int_equal(err.code, AT_VALIDATION);
    }
    /* Event-level faults name the event. */
    es_event_in evs[2] = {h_event("Fine", "p", 1), h_event("bad type", "p", 1)};
    es_append_req r2 = {.tenant = "demo", .stream_id = "person-1", .events = evs, .n_events = 2};
    assert_int_equal(es_append(es, &r2, &res, &err), ES_INVALID);
    assert_string_equal(err.field, "events.1.type");
    evs[1] = h_event("Fine", NULL, 5);
    assert_int_equal(es_append(es, &r2, &res, &err), ES_INVALID);
    assert_string_equal(err.field, "events.1.payload");
    evs[1] = h_event("Fine", "p", ES_MAX_PAYLOAD + 1);
    assert_int_equal(es_append(es, &r2, &res, &err), ES_INVALID);
    assert_string_equal(err.message, "cannot append to stream \"person-1\": the payload of event 1 "
                                     "is larger than 512 KiB");
    evs[1] = h_event("Fine", "p", 1);
    evs[1].event_id = "zz";
    assert_int_equal(es_append(es, &r2, &res, &err), ES_INVALID);
    assert_string_equal(err.field, "events.1.event_id");
    /* The same rejections hold inside a transaction. */
    es_txn *t;
    assert_int_equal(es_txn_begin(es, &t, &err), ES_OK);
    assert_int_equal(es_txn_append(t, &cases[0].req, &res, &err), ES_INVALID);
    assert_int_equal(es_txn_commit(t, &err), ES_OK);

    assert_int_equal(h_scalar("SELECT position FROM atb.log_head"), before);
    es_close(es);
}

static void atb_append_refuses_invalid_input_given_directly(void **state)
{
    (void)state;
    /* atb.append() is also an SQL interface: it checks what the C library checks. */
    PGconn *c = h_admin();
    PGresult *r = PQexec(c,
        "SELECT status, detail FROM atb.append(ARRAY['demo','demo','demo'], "
        "ARRAY['person-1','x y','person-2'], ARRAY[-1,-1,-5]::bigint[], "
        "ARRAY[NULL,NULL,NULL]::uuid[], ARRAY[NULL,NULL,NULL]::uuid[], ARRAY[NULL,NULL,NULL]::uuid[],"
        "ARRAY[NULL,NULL,NULL]::text[], ARRAY[1,1,1], ARRAY[NULL,NULL,NULL]::uuid[],"
        "ARRAY['bad type','Fine','Fine'], ARRAY[NULL,NULL,NULL]::timestamptz[], ARRAY['','','']::bytea[])");
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    assert_int_equal(PQntuples(r), 3);
    for (int i = 0; i < 3; i++)
        assert_string_equal(PQgetvalue(r, i, 0), "4");
    assert_string_equal(PQgetvalue(r, 0, 1), "an event has no valid type name or no payload");
    PQclear(r);
    r = PQexec(c, "SELECT * FROM atb.append(ARRAY['demo'], ARRAY['person-1'], ARRAY[-1]::bigint[], "
                  "ARRAY[NULL]::uuid[], ARRAY[NULL]::uuid[], ARRAY[NULL]::uuid[], ARRAY[NULL]::text[],"
                  "ARRAY[2], ARRAY[NULL]::uuid[], ARRAY['A'], ARRAY[NULL]::timestamptz[], ARRAY['']::bytea[])");
    assert_int_equal(PQresultStatus(r), PGRES_FATAL_ERROR);
    assert_string_equal(PQresultErrorField(r, PG_DIAG_SQLSTATE), "22023");
    PQclear(r);
    PQfinish(c);
    assert_int_equal(h_scalar("SELECT count(*) FROM atb.events WHERE stream_id IN ('person-1', 'person-2')"), 0);
}

static void stream_of_another_tenant_is_refused(void **state)
{
    (void)state;
    es_store *es = h_open("atb_intake", 2);
    char stream[80];
    h_stream(stream, sizeof stream, "person");
    es_append_res res;
    at_error err;
    assert_int_equal(h_append1(es, "kandava", stream, 0, NULL, "p", &res, &err), ES_OK);
    assert_int_equal(h_append1(es, "dobele", stream, 1, NULL, "p", &res, &err), ES_INVALID);
    char want[400];
    snprintf(want, sizeof want, "cannot append to stream \"%s\": stream %s belongs to tenant kandava",
             stream, stream);
    assert_string_equal(err.message, want);
    assert_int_equal(h_scalar("SELECT count(*) FROM atb.events WHERE stream_id = '%s'", stream), 1);
    es_close(es);
}

static void one_rejected_append_does_not_fail_its_group(void **state)
{
    (void)state;
    /* A group commit that waits long enough to carry all three appends in one call. */
    es_config cfg = {.pool_size = 1, .group_max_wait_us = 1000000};
    es_store *es = h_open_cfg("atb_intake", &cfg);
    char s1[80], s2[80];
    h_stream(s1, sizeof s1, "person");
    h_stream(s2, sizeof s2, "person");
    es_append_res res;
    at_error err;
    assert_int_equal(h_append1(es, "demo", s1, 0, NULL, "p", &res, &err), ES_OK);
    es_store_stats before;
    es_stats(es, &before);
    /* In the group: a stale version on s1, an unknown tenant, and a good append to s2. */
    es_event_in ev = h_event("TestHappened", "p", 1);
    es_append_req stale = {.tenant = "demo", .stream_id = s1, .expected_version = 0,
                           .events = &ev, .n_events = 1};
    es_append_req unknown = {.tenant = "nowhere", .stream_id = s2, .expected_version = 0,
                             .events = &ev, .n_events = 1};
    es_append_req good = {.tenant = "demo", .stream_id = s2, .expected_version = 0,
                          .events = &ev, .n_events = 1};
    h_job jobs[3] = {{.es = es, .req = &stale}, {.es = es, .req = &unknown},
                     {.es = es, .req = &good}};
    h_run_jobs(jobs, 3);
    assert_int_equal(jobs[0].st, ES_CONFLICT);
    assert_int_equal(jobs[0].res.actual_version, 1);
    assert_int_equal(jobs[1].st, ES_UNKNOWN_TENANT);
    assert_int_equal(jobs[2].st, ES_OK);
    assert_int_equal(jobs[2].res.version, 1);
    es_store_stats after;
    es_stats(es, &after);
    assert_int_equal(after.groups - before.groups, 1);
    assert_int_equal(after.appends - before.appends, 3);
    assert_int_equal(after.events - before.events, 1);
    es_close(es);
}

static void event_id_already_in_the_log_fails_only_its_own_append(void **state)
{
    (void)state;
    es_config cfg = {.pool_size = 1, .group_max_wait_us = 1000000};
    es_store *es = h_open_cfg("atb_intake", &cfg);
    char s1[80], s2[80], s3[80], eid[37];
    h_stream(s1, sizeof s1, "person");
    h_stream(s2, sizeof s2, "person");
    h_stream(s3, sizeof s3, "person");
    h_uuid(eid);
    es_event_in ev = h_event("PersonRegistered", "p", 1);
    ev.event_id = eid;
    es_append_req first = {.tenant = "demo", .stream_id = s1, .expected_version = 0,
                           .events = &ev, .n_events = 1};
    es_append_res res;
    at_error err;
    assert_int_equal(es_append(es, &first, &res, &err), ES_OK);

    /* In one group: the same event id again (a conflict with the log itself) and an
     * innocent append, which must not pay for it. */
    es_event_in plain = h_event("PersonRegistered", "q", 1);
    es_append_req again = {.tenant = "demo", .stream_id = s2, .expected_version = 0,
                           .events = &ev, .n_events = 1};
    es_append_req other = {.tenant = "demo", .stream_id = s3, .expected_version = 0,
                           .events = &plain, .n_events = 1};
    h_job jobs[2] = {{.es = es, .req = &again}, {.es = es, .req = &other}};
    h_run_jobs(jobs, 2);
    assert_int_equal(jobs[0].st, ES_CONFLICT);
    assert_string_equal(jobs[0].err.message, "could not append: duplicate key value violates "
                                             "unique constraint \"events_event_id_key\"");
    assert_non_null(strstr(jobs[0].err.detail, "SQLSTATE 23505"));
    assert_int_equal(jobs[1].st, ES_OK);
    assert_int_equal(jobs[1].res.version, 1);
    assert_int_equal(h_scalar("SELECT count(*) FROM atb.events WHERE event_id = '%s'", eid), 1);
    assert_int_equal(h_scalar("SELECT count(*) FROM atb.events WHERE stream_id = '%s'", s2), 0);
    es_close(es);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(append_then_read_stream_returns_events_in_version_order),
        cmocka_unit_test(payload_round_trips_every_byte_value),
        cmocka_unit_test(envelope_fields_round_trip),
        cmocka_unit_test(unknown_tenant_is_refused_and_appends_nothing),
        cmocka_unit_test(invalid_requests_are_refused_with_the_field_named),
        cmocka_unit_test(atb_append_refuses_invalid_input_given_directly),
        cmocka_unit_test(stream_of_another_tenant_is_refused),
        cmocka_unit_test(one_rejected_append_does_not_fail_its_group),
        cmocka_unit_test(event_id_already_in_the_log_fails_only_its_own_append),
    };
    return cmocka_run_group_tests(tests, h_group_setup, h_group_teardown);
}
