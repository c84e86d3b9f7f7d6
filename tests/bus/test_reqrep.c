/*
 * test_reqrep.c -- libs/bus/src/reqrep.c and the libuv attachment (conn.c, uvadapter.c)
 * against a real nats-server.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <uv.h>

#include "bustest.h"
#include "atb/v1/common.pb-c.h"

typedef struct fixture {
    char prefix[48];
    bus *server;              /* the responder's connection */
    bus *client;
    natsSubscription *sub;
    int die_on_first_seen;    /* DieOnFirst requests received */
    int unavailable_seen;     /* UnavailableTwice requests received */
} fixture;

/* The responder: RegisterPerson answers a CommandReply echoing the command id; Fail
 * answers an error; NoReply publishes nothing. Runs on libnats' delivery thread. */
static void on_request(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
    fixture *f = closure;
    bus_subject s;
    at_error err;
    at_error_clear(&err);
    if (bus_subject_parse(f->server, natsMsg_GetSubject(msg), &s, &err) != AT_OK) {
        bus_reply_error(f->server, msg, &err);
    } else if (strcmp(s.name, "RegisterPerson") == 0) {
        Atb__V1__CommandHeader *h = atb__v1__command_header__unpack(
            NULL, (size_t)natsMsg_GetDataLength(msg), (const uint8_t *)natsMsg_GetData(msg));
        Atb__V1__CommandReply rep = ATB__V1__COMMAND_REPLY__INIT;
        char sid[128];
        snprintf(sid, sizeof sid, "person-%s", (h && h->meta) ? h->meta->command_id : "?");
        rep.stream_id = sid;
        rep.version = 1;
        rep.first_position = 41;
        rep.last_position = 41;
        rep.key = s.tenant;
        bus_reply(f->server, msg, &rep.base, NULL);
        atb__v1__command_header__free_unpacked(h, NULL);
    } else if (strcmp(s.name, "DieOnFirst") == 0) {
        /* An instance that dies with the request: only the second send is answered. */
        if (__atomic_add_fetch(&f->die_on_first_seen, 1, __ATOMIC_SEQ_CST) > 1) {
            Atb__V1__CommandReply rep = ATB__V1__COMMAND_REPLY__INIT;
            rep.stream_id = "answered";
            bus_reply(f->server, msg, &rep.base, NULL);
        }
    } else if (strcmp(s.name, "UnavailableTwice") == 0) {
        /* A service whose database restarts: "could not" twice, then done. */
        if (__atomic_add_fetch(&f->unavailable_seen, 1, __ATOMIC_SEQ_CST) <= 2) {
            at_error_set(&err, AT_UNAVAILABLE, NULL, "could not reach PostgreSQL");
            bus_reply_error(f->server, msg, &err);
        } else {
            Atb__V1__CommandReply rep = ATB__V1__COMMAND_REPLY__INIT;
            rep.stream_id = "answered";
            rep.version = 7;
            bus_reply(f->server, msg, &rep.base, NULL);
        }
    } else if (strcmp(s.name, "Fail") == 0) {
        at_error_set(&err, AT_CONFLICT, "meta.expected_version", "stale expected version %d", 3);
        at_error_detail(&err, "The stream is at version 5.");
        at_error_hint(&err, "reload the case and try again");
        bus_reply_error(f->server, msg, &err);
    }
    natsMsg_Destroy(msg);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    t_unique(f->prefix, sizeof f->prefix, "rr");
    f->server = h_bus_connect(f->prefix, "UNUSED");
    f->client = h_bus_connect(f->prefix, "UNUSED");
    char subject[128];
    snprintf(subject, sizeof subject, "%s.cmd.*.intake.>", f->prefix);
    if (natsConnection_Subscribe(&f->sub, bus_nats(f->server), subject, on_request, f) != NATS_OK)
        return -1;
    natsConnection_Flush(bus_nats(f->server));
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    natsSubscription_Unsubscribe(f->sub);
    natsSubscription_Destroy(f->sub);
    bus_close(f->client);
    bus_close(f->server);
    free(f);
    return 0;
}

static void request_round_trips_a_command_reply(void **state)
{
    fixture *f = *state;
    char subject[128];
    assert_true(bus_subject_command(f->client, subject, sizeof subject, "daugavpils", "intake",
                                    "RegisterPerson") > 0);
    Atb__V1__CommandMeta meta = ATB__V1__COMMAND_META__INIT;
    meta.command_id = "0f8fad5b-d9cb-469f-a165-70867728950e";
    meta.actor = "user:ilze.ozola";
    meta.expected_version = 0;
    Atb__V1__CommandHeader cmd = ATB__V1__COMMAND_HEADER__INIT;
    cmd.meta = &meta;
    natsMsg *reply = NULL;
    at_error err;
    at_error_clear(&err);
    assert_int_equal(bus_request(f->client, subject, &cmd.base, 5000, &reply, &err), AT_OK);
    assert_non_null(reply);
    Atb__V1__CommandReply *rep = atb__v1__command_reply__unpack(
        NULL, (size_t)natsMsg_GetDataLength(reply), (const uint8_t *)natsMsg_GetData(reply));
    assert_non_null(rep);
    assert_null(rep->error);
    assert_string_equal(rep->stream_id, "person-0f8fad5b-d9cb-469f-a165-70867728950e");
    assert_int_equal(rep->version, 1);
    assert_int_equal(rep->first_position, 41);
    assert_string_equal(rep->key, "daugavpils");
    atb__v1__command_reply__free_unpacked(rep, NULL);
    natsMsg_Destroy(reply);
}

static void reply_error_decodes_as_command_reply_with_code_and_message(void **state)
{
    fixture *f = *state;
    char subject[128];
    assert_true(bus_subject_command(f->client, subject, sizeof subject, "demo", "intake", "Fail") > 0);
    Atb__V1__CommandHeader cmd = ATB__V1__COMMAND_HEADER__INIT;
    natsMsg *reply = NULL;
    at_error err;
    at_error_clear(&err);
    assert_int_equal(bus_request(f->client, subject, &cmd.base, 5000, &reply, &err), AT_OK);
    Atb__V1__CommandReply *rep = atb__v1__command_reply__unpack(
        NULL, (size_t)natsMsg_GetDataLength(reply), (const uint8_t *)natsMsg_GetData(reply));
    assert_non_null(rep);
    assert_non_null(rep->error);
    assert_int_equal(rep->error->code, ATB__V1__ERROR_CODE__CONFLICT);
    assert_string_equal(rep->error->message, "stale expected version 3");
    assert_string_equal(rep->error->detail, "The stream is at version 5.");
    assert_string_equal(rep->error->hint, "reload the case and try again");
    assert_string_equal(rep->error->field, "meta.expected_version");
    assert_string_equal(rep->stream_id, "");
    atb__v1__command_reply__free_unpacked(rep, NULL);
    natsMsg_Destroy(reply);
}

static void request_without_responder_is_unavailable(void **state)
{
    fixture *f = *state;
    char subject[128];
    assert_true(bus_subject_command(f->client, subject, sizeof subject, "demo", "payments", "Pay") > 0);
    Atb__V1__CommandHeader cmd = ATB__V1__COMMAND_HEADER__INIT;
    natsMsg *reply = (natsMsg *)1;
    at_error err;
    at_error_clear(&err);
    assert_int_equal(bus_request(f->client, subject, &cmd.base, 2000, &reply, &err), AT_UNAVAILABLE);
    assert_null(reply);
    char want[192];
    snprintf(want, sizeof want, "no service answers %s", subject);
    assert_string_equal(err.message, want);
    assert_non_null(strstr(err.hint, "start the service"));
}

static void request_that_gets_no_answer_times_out_as_unavailable(void **state)
{
    fixture *f = *state;
    char subject[128];
    assert_true(bus_subject_command(f->client, subject, sizeof subject, "demo", "intake", "NoReply") > 0);
    Atb__V1__CommandHeader cmd = ATB__V1__COMMAND_HEADER__INIT;
    natsMsg *reply = NULL;
    at_error err;
    at_error_clear(&err);
    assert_int_equal(bus_request(f->client, subject, &cmd.base, 300, &reply, &err), AT_UNAVAILABLE);
    assert_null(reply);
    assert_non_null(strstr(err.message, "within 300 ms"));
}

static void request_lost_by_a_dying_instance_is_sent_again_and_answered(void **state)
{
    fixture *f = *state;
    char subject[128];
    assert_true(bus_subject_command(f->client, subject, sizeof subject, "demo", "intake", "DieOnFirst") > 0);
    Atb__V1__CommandHeader cmd = ATB__V1__COMMAND_HEADER__INIT;
    natsMsg *reply = NULL;
    at_error err;
    at_error_clear(&err);
    assert_int_equal(bus_request(f->client, subject, &cmd.base, 300, &reply, &err), AT_OK);
    assert_non_null(reply);
    Atb__V1__CommandReply *r = atb__v1__command_reply__unpack(
        NULL, (size_t)natsMsg_GetDataLength(reply), (const uint8_t *)natsMsg_GetData(reply));
    assert_non_null(r);
    assert_string_equal(r->stream_id, "answered");
    atb__v1__command_reply__free_unpacked(r, NULL);
    natsMsg_Destroy(reply);
    assert_int_equal(__atomic_load_n(&f->die_on_first_seen, __ATOMIC_SEQ_CST), 2);
}

static void request_answered_unavailable_is_sent_again_until_done(void **state)
{
    fixture *f = *state;
    char subject[128];
    assert_true(bus_subject_command(f->client, subject, sizeof subject, "demo", "intake", "UnavailableTwice") > 0);
    Atb__V1__CommandHeader cmd = ATB__V1__COMMAND_HEADER__INIT;
    natsMsg *reply = NULL;
    at_error err;
    at_error_clear(&err);
    assert_int_equal(bus_request(f->client, subject, &cmd.base, 2000, &reply, &err), AT_OK);
    Atb__V1__CommandReply *r = atb__v1__command_reply__unpack(
        NULL, (size_t)natsMsg_GetDataLength(reply), (const uint8_t *)natsMsg_GetData(reply));
    assert_non_null(r);
    assert_null(r->error);
    assert_int_equal(r->version, 7);
    atb__v1__command_reply__free_unpacked(r, NULL);
    natsMsg_Destroy(reply);
    assert_int_equal(__atomic_load_n(&f->unavailable_seen, __ATOMIC_SEQ_CST), 3);

    /* Other refusals are the caller's: sent once. */
    assert_true(bus_subject_command(f->client, subject, sizeof subject, "demo", "intake", "Fail") > 0);
    assert_int_equal(bus_request(f->client, subject, &cmd.base, 2000, &reply, &err), AT_OK);
    r = atb__v1__command_reply__unpack(NULL, (size_t)natsMsg_GetDataLength(reply),
                                       (const uint8_t *)natsMsg_GetData(reply));
    assert_non_null(r);
    assert_non_null(r->error);
    assert_int_equal(r->error->code, AT_CONFLICT);
    atb__v1__command_reply__free_unpacked(r, NULL);
    natsMsg_Destroy(reply);
}

static void reply_to_a_message_without_reply_subject_is_refused(void **state)
{
    fixture *f = *state;
    natsMsg *m = NULL;
    assert_int_equal(natsMsg_Create(&m, "x.y", NULL, "", 0), NATS_OK);
    Atb__V1__CommandReply rep = ATB__V1__COMMAND_REPLY__INIT;
    at_error err;
    at_error_clear(&err);
    assert_int_equal(bus_reply(f->server, m, &rep.base, &err), AT_VALIDATION);
    assert_string_equal(err.message, "cannot reply: the request has no reply subject");
    assert_int_equal(bus_reply_error(f->server, m, &err), AT_VALIDATION);
    natsMsg_Destroy(m);
}

/* A cluster's URL list: one dead server in it does not stop the connection. */
static void connect_to_a_server_list_uses_a_live_server(void **state)
{
    (void)state;
    char urls[600];
    snprintf(urls, sizeof urls, "nats://127.0.0.1:1,%s,nats://127.0.0.1:2", t_nats_url());
    bus_config cfg = { 0 };
    cfg.url = urls;
    cfg.name = "test_bus_url_list";
    bus *b = NULL;
    at_error err;
    at_error_clear(&err);
    assert_int_equal(bus_connect(&b, &cfg, &err), AT_OK);
    assert_non_null(b);
    assert_int_equal(natsConnection_Flush(bus_nats(b)), NATS_OK);
    bus_close(b);
    cfg.url = "nats://127.0.0.1:1,nats://127.0.0.1:2";
    assert_int_equal(bus_connect(&b, &cfg, &err), AT_UNAVAILABLE);
    assert_null(b);
}

static void connect_refuses_bad_prefix_stream_and_unreachable_server(void **state)
{
    bus *b = NULL;
    at_error err;
    bus_config cfg = { 0 };
    cfg.url = t_nats_url();
    cfg.prefix = "a.*";
    at_error_clear(&err);
    assert_int_equal(bus_connect(&b, &cfg, &err), AT_VALIDATION);
    assert_string_equal(err.field, "prefix");
    assert_null(b);
    cfg.prefix = NULL;
    cfg.stream = "A.B";
    at_error_clear(&err);
    assert_int_equal(bus_connect(&b, &cfg, &err), AT_VALIDATION);
    assert_string_equal(err.field, "stream");
    cfg.stream = NULL;
    cfg.url = "nats://127.0.0.1:1";
    at_error_clear(&err);
    assert_int_equal(bus_connect(&b, &cfg, &err), AT_UNAVAILABLE);
    assert_string_equal(err.message, "could not connect to NATS at nats://127.0.0.1:1");
    assert_non_null(strstr(err.hint, "nats-server"));
    assert_null(b);
    bus_connect(&b, &cfg, NULL);   /* err may be NULL */
    assert_null(b);
}

/* ---- the connection on a libuv loop ---- */

typedef struct uvtest {
    fixture *f;
    uv_loop_t loop;
    uv_async_t done;
    bus *onloop;              /* connected on the loop thread */
    at_code worker_rc;
    char worker_msg[192];
    char stream_id[128];
} uvtest;

/* A worker thread makes a blocking request through the loop-driven connection, as
 * service workers do, then tells the loop to finish. */
static void worker(void *arg)
{
    uvtest *u = arg;
    char subject[128];
    bus_subject_command(u->onloop, subject, sizeof subject, "kuldiga", "intake", "RegisterPerson");
    Atb__V1__CommandMeta meta = ATB__V1__COMMAND_META__INIT;
    meta.command_id = "uv";
    Atb__V1__CommandHeader cmd = ATB__V1__COMMAND_HEADER__INIT;
    cmd.meta = &meta;
    natsMsg *reply = NULL;
    at_error err;
    at_error_clear(&err);
    u->worker_rc = bus_request(u->onloop, subject, &cmd.base, 5000, &reply, &err);
    snprintf(u->worker_msg, sizeof u->worker_msg, "%s", err.message);
    if (reply) {
        Atb__V1__CommandReply *rep = atb__v1__command_reply__unpack(
            NULL, (size_t)natsMsg_GetDataLength(reply), (const uint8_t *)natsMsg_GetData(reply));
        if (rep)
            snprintf(u->stream_id, sizeof u->stream_id, "%s", rep->stream_id);
        atb__v1__command_reply__free_unpacked(rep, NULL);
        natsMsg_Destroy(reply);
    }
    uv_async_send(&u->done);
}

static void on_done(uv_async_t *a)
{
    uvtest *u = a->data;
    /* On the loop thread: closing detaches the adapter, whose handles close on this loop. */
    bus_close(u->onloop);
    u->onloop = NULL;
    uv_close((uv_handle_t *)&u->done, NULL);
}

static void connect_on_a_uv_loop_serves_blocking_calls_from_workers(void **state)
{
    uvtest u = { 0 };
    u.f = *state;
    assert_int_equal(uv_loop_init(&u.loop), 0);
    assert_int_equal(uv_async_init(&u.loop, &u.done, on_done), 0);
    u.done.data = &u;
    bus_config cfg = { 0 };
    cfg.url = t_nats_url();
    cfg.name = "test_bus_uv";
    cfg.prefix = u.f->prefix;
    cfg.uv_loop = &u.loop;
    at_error err;
    at_error_clear(&err);
    assert_int_equal(bus_connect(&u.onloop, &cfg, &err), AT_OK);
    uv_thread_t t;
    assert_int_equal(uv_thread_create(&t, worker, &u), 0);
    assert_int_equal(uv_run(&u.loop, UV_RUN_DEFAULT), 0);
    uv_thread_join(&t);
    assert_int_equal(u.worker_rc, AT_OK);
    assert_string_equal(u.stream_id, "person-uv");
    assert_null(u.onloop);
    assert_int_equal(uv_loop_close(&u.loop), 0);
}

int main(void)
{
    t_require_servers(1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(request_round_trips_a_command_reply, setup, teardown),
        cmocka_unit_test_setup_teardown(reply_error_decodes_as_command_reply_with_code_and_message, setup, teardown),
        cmocka_unit_test_setup_teardown(request_without_responder_is_unavailable, setup, teardown),
        cmocka_unit_test_setup_teardown(request_that_gets_no_answer_times_out_as_unavailable, setup, teardown),
        cmocka_unit_test_setup_teardown(request_lost_by_a_dying_instance_is_sent_again_and_answered, setup, teardown),
        cmocka_unit_test_setup_teardown(request_answered_unavailable_is_sent_again_until_done, setup, teardown),
        cmocka_unit_test_setup_teardown(reply_to_a_message_without_reply_subject_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(connect_refuses_bad_prefix_stream_and_unreachable_server, setup, teardown),
        cmocka_unit_test_setup_teardown(connect_to_a_server_list_uses_a_live_server, setup, teardown),
        cmocka_unit_test_setup_teardown(connect_on_a_uv_loop_serves_blocking_calls_from_workers, setup, teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    nats_Close();
    return rc;
}
