/*
 * test_log.c -- libs/service/src/log.c: JSON lines on stderr, escaping, levels, redaction.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "svc_int.h"

/* Run fn with stderr going into a pipe; what it wrote, in out. */
static void capture(void (*fn)(void), char *out, size_t n)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    int saved = dup(STDERR_FILENO);
    dup2(fds[1], STDERR_FILENO);
    fn();
    dup2(saved, STDERR_FILENO);
    close(saved);
    close(fds[1]);
    size_t got = 0;
    for (;;) {
        ssize_t r = read(fds[0], out + got, n - 1 - got);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    out[got] = 0;
    close(fds[0]);
}

/* The line without its timestamp: everything after "ts":"...", checked for shape. */
static const char *after_ts(const char *line)
{
    assert_memory_equal(line, "{\"ts\":\"", 7);
    const char *ts = line + 7;
    /* 2024-05-01T12:00:00.123Z */
    assert_int_equal(strlen(ts) > 24, 1);
    for (int i = 0; i < 24; i++) {
        char c = ts[i];
        if (i == 4 || i == 7)
            assert_int_equal(c, '-');
        else if (i == 10)
            assert_int_equal(c, 'T');
        else if (i == 13 || i == 16)
            assert_int_equal(c, ':');
        else if (i == 19)
            assert_int_equal(c, '.');
        else if (i == 23)
            assert_int_equal(c, 'Z');
        else
            assert_true(c >= '0' && c <= '9');
    }
    assert_int_equal(ts[24], '"');
    return ts + 25;
}

static void log_plain(void)
{
    svc_log_set_service("unit");
    svc_log_set_level(SVC_LOG_INFO);
    svc_log(SVC_LOG_INFO, "hello %d", 42);
}

static void line_has_time_level_service_and_message(void **state)
{
    (void)state;
    char out[4096];
    capture(log_plain, out, sizeof out);
    assert_string_equal(after_ts(out), ",\"level\":\"info\",\"service\":\"unit\",\"msg\":\"hello 42\"}\n");
}

static void log_nasty(void)
{
    svc_log(SVC_LOG_WARN, "q\" b\\ n\n t\t c\x01 bad\xff cut\xc4 ok\xc4\x81 sur\xed\xa0\x80");
}

static void strings_are_escaped_and_invalid_utf8_replaced(void **state)
{
    (void)state;
    char out[4096];
    capture(log_nasty, out, sizeof out);
    assert_string_equal(after_ts(out),
                        ",\"level\":\"warn\",\"service\":\"unit\",\"msg\":\"q\\\" b\\\\ n\\n t\\t "
                        "c\\u0001 bad\\ufffd cut\\ufffd ok\xc4\x81 sur\\ufffd\\ufffd\\ufffd\"}\n");
}

static void log_fields(void)
{
    svc_log_kv(SVC_LOG_ERROR, "request failed", "subject", "atb.cmd.demo.x.Y", "error", "say \"no\"",
               "empty", NULL, NULL);
}

static void fields_follow_the_message_escaped(void **state)
{
    (void)state;
    char out[4096];
    capture(log_fields, out, sizeof out);
    assert_string_equal(after_ts(out),
                        ",\"level\":\"error\",\"service\":\"unit\",\"msg\":\"request failed\","
                        "\"subject\":\"atb.cmd.demo.x.Y\",\"error\":\"say \\\"no\\\"\",\"empty\":\"\"}\n");
}

static void log_below_level(void)
{
    svc_log_set_level(SVC_LOG_WARN);
    svc_log(SVC_LOG_INFO, "not shown");
    svc_log_kv(SVC_LOG_DEBUG, "not shown either", NULL);
    svc_log(SVC_LOG_ERROR, "shown");
    svc_log_set_level(SVC_LOG_INFO);
}

static void lines_below_the_level_are_not_written(void **state)
{
    (void)state;
    char out[4096];
    capture(log_below_level, out, sizeof out);
    assert_null(strstr(out, "not shown"));
    assert_non_null(strstr(out, "\"msg\":\"shown\""));
    assert_int_equal(strchr(out, '\n') - out + 1, (long)strlen(out));   /* one line */
    assert_false(svc_log_enabled(SVC_LOG_DEBUG));
    assert_true(svc_log_enabled(SVC_LOG_INFO));
}

static void passwords_are_redacted(void **state)
{
    (void)state;
    char out[512];
    svc__redact("nats://relay:s3cret@127.0.0.1:4222", out, sizeof out);
    assert_string_equal(out, "nats://relay:***@127.0.0.1:4222");
    svc__redact("postgresql://atb_intake:pw@db/atbalsts?password=other&sslmode=require", out, sizeof out);
    assert_string_equal(out, "postgresql://atb_intake:***@db/atbalsts?password=***&sslmode=require");
    svc__redact("host=db user=atb_intake password=pw dbname=atbalsts", out, sizeof out);
    assert_string_equal(out, "host=db user=atb_intake password=*** dbname=atbalsts");
    svc__redact("nats://127.0.0.1:4222", out, sizeof out);
    assert_string_equal(out, "nats://127.0.0.1:4222");
}

static void utf8_check_refuses_overlong_surrogates_and_past_max(void **state)
{
    (void)state;
    assert_true(svc__utf8_valid("Dobeles novads \xc4\x81 \xe2\x82\xac \xf0\x9f\x98\x80", 26));
    assert_false(svc__utf8_valid("\xc0\xaf", 2));              /* overlong '/' */
    assert_false(svc__utf8_valid("\xe0\x80\xaf", 3));          /* overlong */
    assert_false(svc__utf8_valid("\xed\xa0\x80", 3));          /* surrogate */
    assert_false(svc__utf8_valid("\xf4\x90\x80\x80", 4));      /* past U+10FFFF */
    assert_false(svc__utf8_valid("\xe2\x82", 2));              /* cut */
    assert_true(svc__utf8_valid("", 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(line_has_time_level_service_and_message),
        cmocka_unit_test(strings_are_escaped_and_invalid_utf8_replaced),
        cmocka_unit_test(fields_follow_the_message_escaped),
        cmocka_unit_test(lines_below_the_level_are_not_written),
        cmocka_unit_test(passwords_are_redacted),
        cmocka_unit_test(utf8_check_refuses_overlong_surrogates_and_past_max),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
