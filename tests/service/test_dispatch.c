/*
 * test_dispatch.c -- libs/service/src/dispatch.c (and http.c, metrics.c, threads.c)
 * through the test service pingsvc, run as a child process against real PostgreSQL and
 * nats-server, driven over NATS with real protobuf bytes.
 *
 * The group starts one pingsvc (4 workers, --max-msg 2048) on a fresh database; the tests
 * run in the order listed and the last ones check what all the earlier ones left behind:
 * the log holds exactly the events of the valid commands, and the service still answers.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "at_uuid.h"
#include "atb/v1/common.pb-c.h"
#include "bus.h"
#include "svchelp.h"
#include "svctest.pb-c.h"

#define MAX_VALID 64

static sh_service sv;
static bus *client;
/* stream ids of the commands that were answered with an append */
static char valid_streams[MAX_VALID][64];
static int n_valid;

static int setup(void **state)
{
    (void)state;
    t_require_servers(1);
    sh_prepare(&sv);
    sh_start(&sv, NULL, NULL, NULL, -1);
    if (!sh_wait_healthy(&sv, 30000)) {
        fprintf(stderr, "pingsvc did not become healthy\n");
        return -1;
    }
    bus_config bc = {.url = t_nats_url(), .prefix = sv.prefix, .stream = sv.stream};
    at_error err;
    if (bus_connect(&client, &bc, &err) != AT_OK) {
        fprintf(stderr, "bus_connect: %s\n", err.message);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    bus_close(client);
    sh_cleanup(&sv);
    return 0;
}

/* ---- helpers ---- */

static size_t pack_ping(const char *command_id, const char *id, const char *note, uint8_t *out,
                        size_t cap)
{
    Atb__V1__CommandMeta meta = ATB__V1__COMMAND_META__INIT;
    Atb__Svctest__Ping p = ATB__SVCTEST__PING__INIT;
    meta.command_id = (char *)command_id;
    meta.actor = "user:test";
    meta.expected_version = 0;   /* no version check */
    p.meta = command_id ? &meta : NULL;
    p.id = (char *)id;
    p.note = (char *)(note ? note : "");
    size_t n = atb__svctest__ping__get_packed_size(&p);
    assert_true(n <= cap);
    atb__svctest__ping__pack(&p, out);
    return n;
}

/* Send raw bytes to <prefix>.<kind>.<tenant>.pingsvc.<name>; the reply as a CommandReply
 * (free with atb__v1__command_reply__free_unpacked). */
static Atb__V1__CommandReply *send_raw(const char *kind, const char *tenant, const char *name,
                                       const void *data, size_t len)
{
    char subj[256];
    snprintf(subj, sizeof subj, "%s.%s.%s.pingsvc.%s", sv.prefix, kind, tenant, name);
    natsMsg *reply = NULL;
    natsStatus s = natsConnection_Request(&reply, bus_nats(client), subj, data, (int)len, 10000);
    assert_int_equal(s, NATS_OK);
    Atb__V1__CommandReply *r = atb__v1__command_reply__unpack(
        NULL, (size_t)natsMsg_GetDataLength(reply), (const uint8_t *)natsMsg_GetData(reply));
    natsMsg_Destroy(reply);
    assert_non_null(r);
    return r;
}

static Atb__V1__CommandReply *ping(const char *command_id, const char *id, const char *note)
{
    uint8_t buf[8192];
    size_t n = pack_ping(command_id, id, note, buf, sizeof buf);
    return send_raw("cmd", "demo", "Ping", buf, n);
}

/* A Ping that must succeed: check the reply and remember its stream. */
static Atb__V1__CommandReply *ping_ok(const char *command_id, const char *id)
{
    Atb__V1__CommandReply *r = ping(command_id, id, "hello");
    if (r->error)
        fail_msg("Ping failed: %s (%s)", r->error->message, r->error->detail);
    char stream[64];
    snprintf(stream, sizeof stream, "ping-%s", id);
    assert_string_equal(r->stream_id, stream);
    assert_string_equal(r->key, id);
    if (!r->duplicate) {
        assert_true(n_valid < MAX_VALID);
        snprintf(valid_streams[n_valid++], sizeof valid_streams[0], "%s", stream);
    }
    return r;
}

static void expect_error(Atb__V1__CommandReply *r, at_code code, const char *field)
{
    assert_non_null(r->error);
    if ((int)r->error->code != (int)code)
        fail_msg("expected %s, got %s: %s", at_code_name(code), at_code_name((at_code)r->error->code),
                 r->error->message);
    if (field)
        assert_string_equal(r->error->field, field);
    assert_true(strlen(r->error->message) > 0);
    assert_int_equal(r->first_position, 0);
    atb__v1__command_reply__free_unpacked(r, NULL);
}

static int64_t events_in(const char *stream)
{
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM atb.events WHERE stream_id = '%s'", stream);
    return sh_sql(&sv, sql);
}

/* ---- tests ---- */

static void valid_command_appends_one_event_and_replies_positions(void **state)
{
    (void)state;
    char cmd[37], id[37], stream[64];
    at_uuid_v4(cmd);
    at_uuid_v4(id);
    Atb__V1__CommandReply *r = ping_ok(cmd, id);
    assert_false(r->duplicate);
    assert_int_equal(r->version, 1);
    assert_true(r->first_position > 0);
    assert_int_equal(r->last_position, r->first_position);
    snprintf(stream, sizeof stream, "ping-%s", id);
    assert_int_equal(events_in(stream), 1);
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT position FROM atb.events WHERE stream_id = '%s'", stream);
    assert_int_equal(sh_sql(&sv, sql), r->first_position);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM atb.events WHERE stream_id = '%s' AND "
                              "command_id = '%s' AND actor = 'user:test' AND tenant = 'demo'",
             stream, cmd);
    assert_int_equal(sh_sql(&sv, sql), 1);
    atb__v1__command_reply__free_unpacked(r, NULL);
}

static void same_command_id_again_is_a_duplicate_without_a_second_event(void **state)
{
    (void)state;
    char cmd[37], id[37], stream[64];
    at_uuid_v4(cmd);
    at_uuid_v4(id);
    Atb__V1__CommandReply *first = ping_ok(cmd, id);
    Atb__V1__CommandReply *again = ping_ok(cmd, id);
    assert_true(again->duplicate);
    assert_int_equal(again->first_position, first->first_position);
    assert_int_equal(again->version, first->version);
    snprintf(stream, sizeof stream, "ping-%s", id);
    assert_int_equal(events_in(stream), 1);
    atb__v1__command_reply__free_unpacked(first, NULL);
    atb__v1__command_reply__free_unpacked(again, NULL);
}

static void malformed_bytes_get_malformed(void **state)
{
    (void)state;
    /* not protobuf at all: a length-delimited field 1 that runs past the end */
    static const uint8_t junk[] = {0x0a, 0x7f, 0x01, 0x02};
    expect_error(send_raw("cmd", "demo", "Ping", junk, sizeof junk), AT_MALFORMED, NULL);
    /* a valid CommandMeta, then field 2 (id, a string) sent as a varint */
    uint8_t buf[256];
    char cmd[37], id[37];
    at_uuid_v4(cmd);
    at_uuid_v4(id);
    size_t n = pack_ping(cmd, id, NULL, buf, sizeof buf - 2);
    buf[n++] = 0x10; /* field 2, wire type 0 */
    buf[n++] = 0x01;
    expect_error(send_raw("cmd", "demo", "Ping", buf, n), AT_MALFORMED, NULL);
    /* a query with junk bytes */
    expect_error(send_raw("qry", "demo", "Count", junk, sizeof junk), AT_MALFORMED, NULL);
}

static void invalid_utf8_in_a_string_is_malformed_and_names_the_field(void **state)
{
    (void)state;
    char cmd[37], id[37];
    at_uuid_v4(cmd);
    at_uuid_v4(id);
    Atb__V1__CommandReply *r = ping(cmd, id, "caf\xc3");   /* cut multi-byte sequence */
    expect_error(r, AT_MALFORMED, "note");
    /* in a repeated field */
    Atb__V1__CommandMeta meta = ATB__V1__COMMAND_META__INIT;
    Atb__Svctest__Ping p = ATB__SVCTEST__PING__INIT;
    at_uuid_v4(cmd);
    meta.command_id = cmd;
    p.meta = &meta;
    p.id = id;
    char *tags[] = {"ok", "\xed\xa0\x80"};   /* an encoded surrogate */
    p.tags = tags;
    p.n_tags = 2;
    uint8_t buf[256];
    size_t n = atb__svctest__ping__pack(&p, buf);
    expect_error(send_raw("cmd", "demo", "Ping", buf, n), AT_MALFORMED, "tags.1");
}

static void unknown_tenant_is_refused(void **state)
{
    (void)state;
    char cmd[37], id[37];
    at_uuid_v4(cmd);
    at_uuid_v4(id);
    uint8_t buf[256];
    size_t n = pack_ping(cmd, id, NULL, buf, sizeof buf);
    Atb__V1__CommandReply *r = send_raw("cmd", "atlantis", "Ping", buf, n);
    assert_non_null(r->error);
    assert_non_null(strstr(r->error->message, "atlantis"));
    expect_error(r, AT_UNKNOWN_TENANT, NULL);
}

static void message_larger_than_max_msg_is_too_large(void **state)
{
    (void)state;
    char cmd[37], id[37];
    at_uuid_v4(cmd);
    at_uuid_v4(id);
    char note[3000];
    memset(note, 'x', sizeof note - 1);
    note[sizeof note - 1] = 0;
    Atb__V1__CommandReply *r = ping(cmd, id, note);
    assert_non_null(r->error);
    assert_non_null(strstr(r->error->message, "2048"));
    expect_error(r, AT_TOO_LARGE, NULL);
    /* too large and not protobuf either: the size is checked first */
    static uint8_t junk[4096];
    memset(junk, 0xff, sizeof junk);
    expect_error(send_raw("cmd", "demo", "Ping", junk, sizeof junk), AT_TOO_LARGE, NULL);
}

static void unknown_command_is_refused(void **state)
{
    (void)state;
    char cmd[37], id[37];
    at_uuid_v4(cmd);
    at_uuid_v4(id);
    uint8_t buf[256];
    size_t n = pack_ping(cmd, id, NULL, buf, sizeof buf);
    expect_error(send_raw("cmd", "demo", "Launch", buf, n), AT_UNKNOWN_COMMAND, NULL);
    /* a query is not a command, and a command is not a query */
    expect_error(send_raw("cmd", "demo", "Count", buf, n), AT_UNKNOWN_COMMAND, NULL);
    expect_error(send_raw("qry", "demo", "Ping", buf, n), AT_UNKNOWN_COMMAND, NULL);
    /* a subject with an extra token */
    char subj[256];
    snprintf(subj, sizeof subj, "%s.cmd.demo.pingsvc.Ping.extra", sv.prefix);
    natsMsg *reply = NULL;
    assert_int_equal(natsConnection_Request(&reply, bus_nats(client), subj, buf, (int)n, 10000), NATS_OK);
    Atb__V1__CommandReply *r = atb__v1__command_reply__unpack(
        NULL, (size_t)natsMsg_GetDataLength(reply), (const uint8_t *)natsMsg_GetData(reply));
    natsMsg_Destroy(reply);
    assert_non_null(r);
    expect_error(r, AT_UNKNOWN_COMMAND, NULL);
}

static void missing_or_bad_command_id_is_a_validation_error(void **state)
{
    (void)state;
    char id[37];
    at_uuid_v4(id);
    expect_error(ping(NULL, id, NULL), AT_VALIDATION, "command_id");   /* no meta at all */
    expect_error(ping("", id, NULL), AT_VALIDATION, "command_id");
    expect_error(ping("not-a-uuid", id, NULL), AT_VALIDATION, "command_id");
    /* zero bytes: a command without anything */
    expect_error(send_raw("cmd", "demo", "Ping", "", 0), AT_VALIDATION, "command_id");
}

static void handler_validation_error_is_replied_and_appends_nothing(void **state)
{
    (void)state;
    char cmd[37];
    at_uuid_v4(cmd);
    Atb__V1__CommandReply *r = ping(cmd, "not-a-uuid", NULL);
    expect_error(r, AT_VALIDATION, "id");
    assert_int_equal(events_in("ping-not-a-uuid"), 0);
}

static void query_answers_from_the_log(void **state)
{
    (void)state;
    char cmd[37], id[37];
    at_uuid_v4(cmd);
    at_uuid_v4(id);
    atb__v1__command_reply__free_unpacked(ping_ok(cmd, id), NULL);
    at_uuid_v4(cmd);
    atb__v1__command_reply__free_unpacked(ping_ok(cmd, id), NULL);

    Atb__Svctest__Count q = ATB__SVCTEST__COUNT__INIT;
    q.id = id;
    natsMsg *reply = NULL;
    char subj[256];
    snprintf(subj, sizeof subj, "%s.qry.demo.pingsvc.Count", sv.prefix);
    at_error err;
    assert_int_equal(bus_request(client, subj, &q.base, 10000, &reply, &err), AT_OK);
    Atb__Svctest__CountReply *cr = atb__svctest__count_reply__unpack(
        NULL, (size_t)natsMsg_GetDataLength(reply), (const uint8_t *)natsMsg_GetData(reply));
    natsMsg_Destroy(reply);
    assert_non_null(cr);
    assert_null(cr->error);
    assert_int_equal(cr->count, 2);
    assert_int_equal(cr->version, 2);
    atb__svctest__count_reply__free_unpacked(cr, NULL);
}

static void many_concurrent_commands_each_get_their_reply(void **state)
{
    (void)state;
    /* 40 requests in flight at once on 4 workers: every one answered, each its own */
    enum { N = 40 };
    natsInbox *inbox = NULL;
    natsSubscription *sub = NULL;
    assert_int_equal(natsInbox_Create(&inbox), NATS_OK);
    assert_int_equal(natsConnection_SubscribeSync(&sub, bus_nats(client), inbox), NATS_OK);
    char ids[N][37], subj[256];
    snprintf(subj, sizeof subj, "%s.cmd.demo.pingsvc.Ping", sv.prefix);
    for (int i = 0; i < N; i++) {
        char cmd[37];
        at_uuid_v4(cmd);
        at_uuid_v4(ids[i]);
        uint8_t buf[256];
        size_t n = pack_ping(cmd, ids[i], NULL, buf, sizeof buf);
        assert_int_equal(natsConnection_PublishRequest(bus_nats(client), subj, inbox, buf, (int)n), NATS_OK);
    }
    bool seen[N] = {false};
    for (int k = 0; k < N; k++) {
        natsMsg *m = NULL;
        assert_int_equal(natsSubscription_NextMsg(&m, sub, 20000), NATS_OK);
        Atb__V1__CommandReply *r = atb__v1__command_reply__unpack(
            NULL, (size_t)natsMsg_GetDataLength(m), (const uint8_t *)natsMsg_GetData(m));
        natsMsg_Destroy(m);
        assert_non_null(r);
        assert_null(r->error);
        int which = -1;
        for (int i = 0; i < N; i++)
            if (strcmp(r->key, ids[i]) == 0)
                which = i;
        assert_true(which >= 0);
        assert_false(seen[which]);
        seen[which] = true;
        assert_true(n_valid < MAX_VALID);
        snprintf(valid_streams[n_valid++], sizeof valid_streams[0], "%s", r->stream_id);
        atb__v1__command_reply__free_unpacked(r, NULL);
    }
    natsSubscription_Destroy(sub);
    natsInbox_Destroy(inbox);
}

static void health_and_metrics_answer_and_count_requests_and_errors(void **state)
{
    (void)state;
    static char body[1 << 16];
    assert_int_equal(sh_get(sv.http_port, "/healthz", body, sizeof body), 200);
    assert_non_null(strstr(body, "\"status\":\"ok\""));
    assert_non_null(strstr(body, "\"pg\":\"ok\""));
    assert_non_null(strstr(body, "\"nats\":\"ok\""));

    assert_int_equal(sh_get(sv.http_port, "/metrics", body, sizeof body), 200);
    const char *req_ping = "atb_requests_total{service=\"pingsvc\",command=\"Ping\"}";
    const char *req_unknown = "atb_requests_total{service=\"pingsvc\",command=\"_unknown\"}";
    const char *err_malformed = "atb_errors_total{service=\"pingsvc\",code=\"MALFORMED\"}";
    const char *err_unknown = "atb_errors_total{service=\"pingsvc\",code=\"UNKNOWN_COMMAND\"}";
    const char *sec_count = "atb_request_seconds_count{service=\"pingsvc\",command=\"Ping\"}";
    const char *pings = "atb_pings_total{service=\"pingsvc\"}";
    int64_t p0 = sh_metric(body, req_ping), u0 = sh_metric(body, req_unknown);
    int64_t m0 = sh_metric(body, err_malformed), k0 = sh_metric(body, err_unknown);
    int64_t c0 = sh_metric(body, sec_count), g0 = sh_metric(body, pings);
    assert_true(p0 > 0);   /* the tests before sent pings */
    assert_true(m0 >= 3);
    assert_true(k0 >= 4);
    assert_int_equal(c0, p0);

    /* one valid Ping, one malformed Ping, one unknown command */
    char cmd[37], id[37];
    at_uuid_v4(cmd);
    at_uuid_v4(id);
    atb__v1__command_reply__free_unpacked(ping_ok(cmd, id), NULL);
    static const uint8_t junk[] = {0x0a, 0x7f};
    expect_error(send_raw("cmd", "demo", "Ping", junk, sizeof junk), AT_MALFORMED, NULL);
    expect_error(send_raw("cmd", "demo", "Nope", junk, sizeof junk), AT_UNKNOWN_COMMAND, NULL);

    assert_int_equal(sh_get(sv.http_port, "/metrics", body, sizeof body), 200);
    assert_int_equal(sh_metric(body, req_ping), p0 + 2);
    assert_int_equal(sh_metric(body, req_unknown), u0 + 1);
    assert_int_equal(sh_metric(body, err_malformed), m0 + 1);
    assert_int_equal(sh_metric(body, err_unknown), k0 + 1);
    assert_int_equal(sh_metric(body, sec_count), p0 + 2);
    assert_int_equal(sh_metric(body, pings), g0 + 1);
    assert_non_null(strstr(body, "# TYPE atb_requests_total counter"));
    assert_true(sh_metric(body, "atb_events_appended_total{service=\"pingsvc\"}") >= n_valid);
    assert_int_equal(sh_metric(body, "atb_requests_in_flight{service=\"pingsvc\"}"), 0);
    assert_int_equal(sh_metric(body, "atb_nats_connected{service=\"pingsvc\"}"), 1);

    /* not there, not GET, not HTTP */
    assert_int_equal(sh_get(sv.http_port, "/nothing", body, sizeof body), 404);
    assert_int_equal(sh_http(sv.http_port, "POST /metrics HTTP/1.1\r\nHost: x\r\n\r\n", body, sizeof body), 405);
    assert_int_equal(sh_http(sv.http_port, "hello there\r\n\r\n", body, sizeof body), 400);
    assert_int_equal(sh_http(sv.http_port, "GET /healthz?verbose=1 HTTP/1.0\r\n\r\n", body, sizeof body), 200);
    /* a header block larger than the server's buffer */
    static char big[8192];
    memset(big, 'a', sizeof big);
    memcpy(big, "GET /metrics HTTP/1.1\r\nX: ", 26);
    big[sizeof big - 1] = 0;
    assert_int_equal(sh_http(sv.http_port, big, body, sizeof body), 431);
}

static void log_holds_exactly_the_events_of_the_valid_commands(void **state)
{
    (void)state;
    /* the service still answers after all the bad requests */
    char cmd[37], id[37];
    at_uuid_v4(cmd);
    at_uuid_v4(id);
    atb__v1__command_reply__free_unpacked(ping_ok(cmd, id), NULL);

    /* every event belongs to a stream a valid command named (a stream may be named twice) */
    static char sql[MAX_VALID * 70 + 256];
    int k = snprintf(sql, sizeof sql, "SELECT count(*) FROM atb.events WHERE stream_id NOT IN ('-'");
    for (int i = 0; i < n_valid; i++)
        k += snprintf(sql + k, sizeof sql - (size_t)k, ",'%s'", valid_streams[i]);
    snprintf(sql + k, sizeof sql - (size_t)k, ")");
    assert_int_equal(sh_sql(&sv, sql), 0);
    assert_int_equal(sh_sql(&sv, "SELECT count(*) FROM atb.events"), n_valid);
    /* no second copy of anything: one event per command id */
    assert_int_equal(sh_sql(&sv, "SELECT count(*) FROM (SELECT command_id FROM atb.events "
                                 "GROUP BY command_id HAVING count(*) > 1) d"), 0);
}

static void consumer_handles_every_relayed_event(void **state)
{
    (void)state;
    /* command -> log -> relay -> stream -> consumer -> pingsvc.notes, with checkpoint */
    int64_t want = sh_sql(&sv, "SELECT count(*) FROM atb.events WHERE category = 'ping'");
    int64_t got = 0;
    for (int i = 0; i < 300 && got < want; i++) {
        got = sh_sql(&sv, "SELECT count(*) FROM pingsvc.notes");
        if (got < want) {
            struct timespec ts = {0, 100 * 1000000L};
            nanosleep(&ts, NULL);
        }
    }
    assert_int_equal(got, want);
    assert_int_equal(sh_sql(&sv, "SELECT count(*) FROM pingsvc.notes n JOIN atb.events e "
                                 "ON e.position = n.position AND e.stream_id = n.stream_id"),
                     want);
    int64_t head = sh_sql(&sv, "SELECT max(position) FROM atb.events");
    static char body[1 << 16];
    int64_t lag = -1, handled = -1, relay = -1, log_head = -1;
    for (int i = 0; i < 50; i++) {   /* the head is probed once a second */
        assert_int_equal(sh_get(sv.http_port, "/metrics", body, sizeof body), 200);
        lag = sh_metric(body, "atb_consumer_lag{service=\"pingsvc\",consumer=\"pingsvc_notes\"}");
        handled = sh_metric(body, "atb_events_handled_total{service=\"pingsvc\",consumer=\"pingsvc_notes\"}");
        relay = sh_metric(body, "atb_relay_position{service=\"pingsvc\"}");
        log_head = sh_metric(body, "atb_log_head{service=\"pingsvc\"}");
        if (lag == 0 && handled == want && relay == head && log_head == head)
            break;
        struct timespec ts = {0, 100 * 1000000L};
        nanosleep(&ts, NULL);
    }
    if (handled != want || relay != head || lag != 0 || log_head != head)
        fail_msg("consumer handled %lld of %lld, relay at %lld, log head %lld of %lld, lag %lld:\n%s",
                 (long long)handled, (long long)want, (long long)relay, (long long)log_head,
                 (long long)head, (long long)lag, body);
    assert_int_equal(sh_metric(body, "atb_consumer_dead_letters_total{service=\"pingsvc\",consumer=\"pingsvc_notes\"}"), 0);
    char ck[512];
    sh_sql_text(&sv, "SELECT string_agg(consumer || '=' || position, ', ') FROM atb.checkpoints", ck,
                sizeof ck);
    if (sh_sql(&sv, "SELECT position FROM atb.checkpoints WHERE consumer = 'pingsvc_notes'") != head)
        fail_msg("checkpoints: %s; head %lld", ck, (long long)head);
}

static void service_migration_was_recorded_once(void **state)
{
    (void)state;
    assert_int_equal(sh_sql(&sv, "SELECT count(*) FROM atb.service_migrations WHERE service = 'pingsvc'"), 1);
    assert_int_equal(sh_sql(&sv, "SELECT count(*) FROM atb.service_migrations WHERE service = 'pingsvc' "
                                 "AND version = 1"), 1);
    /* the schema belongs to the service's role, and so may the table's rows */
    assert_int_equal(sh_sql(&sv, "SELECT count(*) FROM pg_namespace WHERE nspname = 'pingsvc' AND "
                                 "nspowner = 'atb_pingsvc'::regrole"), 1);
}

static void stops_cleanly_after_all_of_this(void **state)
{
    (void)state;
    /* exit 0 after SIGTERM; with sanitizers also: no leak and no error at exit */
    assert_int_equal(kill(sv.pid, SIGTERM), 0);
    int code = sh_wait_exit(sv.pid, 20000);
    if (code >= 0)
        sv.pid = 0;
    assert_int_equal(code, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(valid_command_appends_one_event_and_replies_positions),
        cmocka_unit_test(same_command_id_again_is_a_duplicate_without_a_second_event),
        cmocka_unit_test(malformed_bytes_get_malformed),
        cmocka_unit_test(invalid_utf8_in_a_string_is_malformed_and_names_the_field),
        cmocka_unit_test(unknown_tenant_is_refused),
        cmocka_unit_test(message_larger_than_max_msg_is_too_large),
        cmocka_unit_test(unknown_command_is_refused),
        cmocka_unit_test(missing_or_bad_command_id_is_a_validation_error),
        cmocka_unit_test(handler_validation_error_is_replied_and_appends_nothing),
        cmocka_unit_test(query_answers_from_the_log),
        cmocka_unit_test(many_concurrent_commands_each_get_their_reply),
        cmocka_unit_test(health_and_metrics_answer_and_count_requests_and_errors),
        cmocka_unit_test(log_holds_exactly_the_events_of_the_valid_commands),
        cmocka_unit_test(consumer_handles_every_relayed_event),
        cmocka_unit_test(service_migration_was_recorded_once),
        cmocka_unit_test(stops_cleanly_after_all_of_this),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
