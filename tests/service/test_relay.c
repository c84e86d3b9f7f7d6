/*
 * test_relay.c -- services/relay (atbalsts-relay): the relay wired by the runtime. The
 * relay itself (resume, rebuild, duplicates) is tested in tests/bus; here the binary, as
 * role atb_relay, publishes a log it did not write and reports where it is.
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

#include "bus.h"
#include "es.h"
#include "svchelp.h"

static sh_service sv;

static int setup(void **state)
{
    (void)state;
    t_require_servers(1);
    sh_prepare(&sv);
    sv.exe = RELAY_PATH;
    t_db_conninfo(&sv.db, "atb_relay", sv.pg_url, sizeof sv.pg_url);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    sh_cleanup(&sv);
    return 0;
}

static void append_events(int n)
{
    es_store *es = NULL;
    es_config ec = {.conninfo = sv.db.admin};
    at_error err;
    assert_int_equal(es_open(&es, &ec, &err), ES_OK);
    for (int i = 0; i < n; i++) {
        char sid[64];
        snprintf(sid, sizeof sid, "relaytest-%d", i % 5);
        uint8_t payload[4] = {1, 2, 3, (uint8_t)i};
        es_event_in ev = {.type = "Tested", .payload = payload, .payload_len = sizeof payload};
        es_append_req req = {.tenant = "dobele", .stream_id = sid, .expected_version = ES_VERSION_ANY,
                             .events = &ev, .n_events = 1};
        if (es_append(es, &req, NULL, &err) != ES_OK)
            fail_msg("es_append: %s (%s)", err.message, err.detail);
    }
    es_close(es);
}

static void relay_publishes_the_log_and_reports_its_position(void **state)
{
    (void)state;
    append_events(25);
    sh_start(&sv, NULL, NULL, NULL, -1);
    assert_true(sh_wait_healthy(&sv, 30000));
    static char body[1 << 16];
    int64_t pos = -1, head = -1;
    for (int i = 0; i < 200 && !(pos == 25 && head == 25); i++) {
        assert_int_equal(sh_get(sv.http_port, "/metrics", body, sizeof body), 200);
        pos = sh_metric(body, "atb_relay_position{service=\"relay\"}");
        head = sh_metric(body, "atb_log_head{service=\"relay\"}");
        struct timespec ts = {0, 100 * 1000000L};
        nanosleep(&ts, NULL);
    }
    assert_int_equal(pos, 25);
    assert_int_equal(head, 25);
    /* the relay has no commands: no request series beyond the _unknown slot */
    assert_int_equal(sh_metric(body, "atb_requests_total{service=\"relay\",command=\"_unknown\"}"), 0);

    /* the stream holds the 25 events, once each */
    bus *b = NULL;
    bus_config bc = {.url = t_nats_url(), .prefix = sv.prefix, .stream = sv.stream};
    assert_int_equal(bus_connect(&b, &bc, NULL), AT_OK);
    int64_t last = 0;
    assert_int_equal(bus_stream_last_position(b, &last, NULL), AT_OK);
    assert_int_equal(last, 25);
    jsStreamInfo *si = NULL;
    assert_int_equal(js_GetStreamInfo(&si, bus_js(b), sv.stream, NULL, NULL), NATS_OK);
    assert_int_equal(si->State.Msgs, 25);
    jsStreamInfo_Destroy(si);

    /* more events while it runs are published too */
    append_events(5);
    for (int i = 0; i < 200 && last < 30; i++) {
        assert_int_equal(bus_stream_last_position(b, &last, NULL), AT_OK);
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
    }
    assert_int_equal(last, 30);
    bus_close(b);

    assert_int_equal(kill(sv.pid, SIGTERM), 0);
    int code = sh_wait_exit(sv.pid, 10000);
    sv.pid = 0;
    assert_int_equal(code, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(relay_publishes_the_log_and_reports_its_position),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
