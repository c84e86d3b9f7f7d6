/*
 * test_main.c -- libs/service/src/main.c: start, settings errors, the graceful drain on
 * SIGTERM and a restart, with the test service pingsvc as a child process.
 *
 * Run with the argument --valgrind, each start of the service runs under valgrind (memory
 * errors and definite leaks fail it); ctest does this in the entry test_svc_main_valgrind.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "at_time.h"
#include "at_uuid.h"
#include "atb/v1/common.pb-c.h"
#include "bus.h"
#include "svchelp.h"
#include "svctest.pb-c.h"

static sh_service sv;
static bool use_valgrind;
#ifndef VALGRIND_PATH
#define VALGRIND_PATH "valgrind"
#endif
static const char *const valgrind[] = {
    VALGRIND_PATH, "--quiet", "--error-exitcode=97", "--leak-check=full",
    "--errors-for-leak-kinds=definite", "--show-leak-kinds=definite", "--track-fds=no", NULL};

static const char *const *wrapper(void)
{
    return use_valgrind ? valgrind : NULL;
}

static int startup_ms(void)
{
    return use_valgrind ? 120000 : 30000;
}

static int setup(void **state)
{
    (void)state;
    t_require_servers(1);
    sh_prepare(&sv);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    sh_cleanup(&sv);
    return 0;
}

/* Run pingsvc to its end with stderr captured; its exit code, its stderr in out. */
static int run_captured(const char *const *env, const char *const *args, char *out, size_t n)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = sh_start(&sv, NULL, env, args, fds[1]);
    close(fds[1]);
    size_t got = 0;
    for (;;) {
        ssize_t r = read(fds[0], out + got, n - 1 - got);
        if (r <= 0)
            break;
        got += (size_t)r;
        if (got == n - 1)
            break;
    }
    out[got] = 0;
    close(fds[0]);
    int code = sh_wait_exit(pid, 30000);
    sv.pid = 0;
    return code;
}

static void bad_setting_exits_2_and_names_its_source(void **state)
{
    (void)state;
    static char out[8192];
    const char *const env[] = {"ATB_WORKERS=0", NULL};
    assert_int_equal(run_captured(env, NULL, out, sizeof out), 2);
    assert_non_null(strstr(out, "--workers: must be 1..256, got 0 (from ATB_WORKERS)"));
    assert_non_null(strstr(out, "\"level\":\"error\""));
    assert_non_null(strstr(out, "\"service\":\"pingsvc\""));

    const char *const args[] = {"--max-msg", "lots", NULL};
    assert_int_equal(run_captured(NULL, args, out, sizeof out), 2);
    assert_non_null(strstr(out, "--max-msg: must be a whole number, got \\\"lots\\\" (from --max-msg)"));
}

static void help_lists_every_setting_and_exits_0(void **state)
{
    (void)state;
    /* --help prints on stdout: run it through the shell to capture that */
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "'%s' --help", PINGSVC_PATH);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    static char out[8192];
    size_t got = fread(out, 1, sizeof out - 1, p);
    out[got] = 0;
    int st = pclose(p);
    assert_int_equal(WEXITSTATUS(st), 0);
    const char *names[] = {"--pg ", "ATB_PG_URL", "--pg-admin", "--nats ", "--nats-user", "--nats-password",
                           "--prefix", "--stream", "--http", "--workers", "ATB_WORKERS", "--max-msg",
                           "--log-level", "--pg-pool", "atbalsts-pingsvc"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strstr(out, names[i]))
            fail_msg("--help does not mention %s:\n%s", names[i], out);
}

static size_t pack_ping(const char *id, int sleep_ms, uint8_t *buf)
{
    char cmd[37];
    at_uuid_v4(cmd);
    Atb__V1__CommandMeta meta = ATB__V1__COMMAND_META__INIT;
    Atb__Svctest__Ping p = ATB__SVCTEST__PING__INIT;
    meta.command_id = cmd;
    meta.expected_version = 0;   /* no version check */
    p.meta = &meta;
    p.id = (char *)id;
    p.sleep_ms = sleep_ms;
    return atb__svctest__ping__pack(&p, buf);
}

static void sigterm_answers_requests_in_flight_and_exits_0(void **state)
{
    (void)state;
    sh_start(&sv, wrapper(), NULL, NULL, -1);
    assert_true(sh_wait_healthy(&sv, startup_ms()));

    bus *client = NULL;
    bus_config bc = {.url = t_nats_url(), .prefix = sv.prefix, .stream = sv.stream};
    assert_int_equal(bus_connect(&client, &bc, NULL), AT_OK);
    natsConnection *nc = bus_nats(client);
    natsInbox *inbox = NULL;
    natsSubscription *sub = NULL;
    assert_int_equal(natsInbox_Create(&inbox), NATS_OK);
    assert_int_equal(natsConnection_SubscribeSync(&sub, nc, inbox), NATS_OK);

    /* 6 slow commands: 4 run at once on the 4 workers, 2 wait in the queue */
    enum { N = 6 };
    char subj[256];
    snprintf(subj, sizeof subj, "%s.cmd.demo.pingsvc.Ping", sv.prefix);
    char ids[N][37];
    for (int i = 0; i < N; i++) {
        uint8_t buf[256];
        at_uuid_v4(ids[i]);
        size_t n = pack_ping(ids[i], 1000, buf);
        assert_int_equal(natsConnection_PublishRequest(nc, subj, inbox, buf, (int)n), NATS_OK);
    }
    assert_int_equal(natsConnection_FlushTimeout(nc, 5000), NATS_OK);
    struct timespec ts = {0, 300 * 1000000L};
    nanosleep(&ts, NULL);     /* the service has them */
    int64_t t0 = at_mono_ns();
    assert_int_equal(kill(sv.pid, SIGTERM), 0);

    int ok = 0;
    for (int i = 0; i < N; i++) {
        natsMsg *m = NULL;
        natsStatus s = natsSubscription_NextMsg(&m, sub, 10000);
        if (s != NATS_OK)
            fail_msg("reply %d of %d did not come: %s", i + 1, N, natsStatus_GetText(s));
        Atb__V1__CommandReply *r = atb__v1__command_reply__unpack(
            NULL, (size_t)natsMsg_GetDataLength(m), (const uint8_t *)natsMsg_GetData(m));
        natsMsg_Destroy(m);
        assert_non_null(r);
        if (r->error)
            fail_msg("in-flight command failed: %s", r->error->message);
        ok++;
        atb__v1__command_reply__free_unpacked(r, NULL);
    }
    assert_int_equal(ok, N);
    int code = sh_wait_exit(sv.pid, use_valgrind ? 60000 : 10000);
    int64_t ms = (at_mono_ns() - t0) / 1000000;
    sv.pid = 0;
    assert_int_equal(code, 0);
    if (!use_valgrind)
        assert_true(ms < 8000);
    fprintf(stderr, "drained %d requests and exited in %lld ms\n", N, (long long)ms);

    /* every in-flight command was applied, once */
    assert_int_equal(sh_sql(&sv, "SELECT count(*) FROM atb.events"), N);
    /* nobody answers now */
    natsMsg *m = NULL;
    uint8_t buf[256];
    size_t n = pack_ping(ids[0], 0, buf);
    natsStatus s = natsConnection_Request(&m, nc, subj, buf, (int)n, 1000);
    assert_true(s == NATS_NO_RESPONDERS || s == NATS_TIMEOUT);
    natsMsg_Destroy(m);

    natsSubscription_Destroy(sub);
    natsInbox_Destroy(inbox);
    bus_close(client);
}

static void restart_applies_no_migration_twice_and_resumes(void **state)
{
    (void)state;
    assert_int_equal(sh_sql(&sv, "SELECT count(*) FROM atb.service_migrations WHERE service = 'pingsvc'"), 1);
    sh_start(&sv, wrapper(), NULL, NULL, -1);
    assert_true(sh_wait_healthy(&sv, startup_ms()));
    assert_int_equal(sh_sql(&sv, "SELECT count(*) FROM atb.service_migrations WHERE service = 'pingsvc'"), 1);
    /* the consumer resumes from its checkpoint and catches up with the earlier events */
    int64_t want = sh_sql(&sv, "SELECT count(*) FROM atb.events");
    int64_t got = 0;
    for (int i = 0; i < 300 && got < want; i++) {
        got = sh_sql(&sv, "SELECT count(*) FROM pingsvc.notes");
        struct timespec ts = {0, 100 * 1000000L};
        if (got < want)
            nanosleep(&ts, NULL);
    }
    assert_int_equal(got, want);
    assert_int_equal(kill(sv.pid, SIGINT), 0);
    int code = sh_wait_exit(sv.pid, use_valgrind ? 60000 : 10000);
    sv.pid = 0;
    assert_int_equal(code, 0);
}

static void taken_http_port_fails_the_start_with_1(void **state)
{
    (void)state;
    /* a first instance holds the port; the second must say so and exit 1 */
    sh_start(&sv, NULL, NULL, NULL, -1);
    pid_t first = sv.pid;
    assert_true(sh_wait_healthy(&sv, startup_ms()));
    static char out[8192];
    assert_int_equal(run_captured(NULL, NULL, out, sizeof out), 1);
    assert_non_null(strstr(out, "could not listen on 127.0.0.1:"));
    sv.pid = first;
    assert_int_equal(kill(sv.pid, SIGTERM), 0);
    assert_int_equal(sh_wait_exit(sv.pid, 10000), 0);
    sv.pid = 0;
}

#ifdef NATS_SERVER_PATH
/* A private nats-server (JetStream, store under the build tree) that the test can stop. */
static pid_t nats_start(int port, const char *store)
{
    char p[16];
    snprintf(p, sizeof p, "%d", port);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int devnull = open("/dev/null", O_RDWR);
        dup2(devnull, STDIN_FILENO);
        dup2(devnull, STDOUT_FILENO);
        dup2(devnull, STDERR_FILENO);
        execl(NATS_SERVER_PATH, "nats-server", "-a", "127.0.0.1", "-p", p, "-js", "-sd", store,
              (char *)NULL);
        _exit(127);
    }
    /* ready when a client connects */
    char url[64];
    snprintf(url, sizeof url, "nats://127.0.0.1:%d", port);
    for (int i = 0; i < 100; i++) {
        natsConnection *nc = NULL;
        if (natsConnection_ConnectTo(&nc, url) == NATS_OK) {
            natsConnection_Destroy(nc);
            return pid;
        }
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
    }
    fail_msg("the private nats-server did not start");
    return -1;
}

static void health_follows_nats_down_and_back_and_commands_work_again(void **state)
{
    (void)state;
    int port = sh_free_port();
    char store[512], url[64], env_url[96];
    snprintf(store, sizeof store, "%s/nats-%d", TEST_STORE_DIR, (int)getpid());
    snprintf(url, sizeof url, "nats://127.0.0.1:%d", port);
    snprintf(env_url, sizeof env_url, "ATB_NATS_URL=%s", url);
    pid_t nats = nats_start(port, store);
    const char *const env[] = {env_url, NULL};
    sh_start(&sv, NULL, env, NULL, -1);
    assert_true(sh_wait_healthy(&sv, startup_ms()));

    kill(nats, SIGTERM);
    assert_true(sh_wait_exit(nats, 10000) >= 0);   /* nats-server exits 1 on SIGTERM */
    static char body[4096];
    int status = 0;
    for (int i = 0; i < 100 && status != 503; i++) {
        status = sh_get(sv.http_port, "/healthz", body, sizeof body);
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
    }
    assert_int_equal(status, 503);
    assert_non_null(strstr(body, "\"nats\":\"down\""));
    assert_non_null(strstr(body, "\"pg\":\"ok\""));

    nats = nats_start(port, store);
    assert_true(sh_wait_healthy(&sv, 15000));

    /* and it answers commands again */
    bus *client = NULL;
    bus_config bc = {.url = url, .prefix = sv.prefix, .stream = sv.stream};
    assert_int_equal(bus_connect(&client, &bc, NULL), AT_OK);
    char subj[256], id[37];
    snprintf(subj, sizeof subj, "%s.cmd.demo.pingsvc.Ping", sv.prefix);
    at_uuid_v4(id);
    uint8_t buf[256];
    size_t n = pack_ping(id, 0, buf);
    natsMsg *m = NULL;
    natsStatus s = NATS_TIMEOUT;
    for (int i = 0; i < 50 && s != NATS_OK; i++) {   /* the subscription comes back with it */
        s = natsConnection_Request(&m, bus_nats(client), subj, buf, (int)n, 2000);
        if (s != NATS_OK) {
            struct timespec ts = {0, 100 * 1000000L};
            nanosleep(&ts, NULL);
        }
    }
    assert_int_equal(s, NATS_OK);
    Atb__V1__CommandReply *r = atb__v1__command_reply__unpack(
        NULL, (size_t)natsMsg_GetDataLength(m), (const uint8_t *)natsMsg_GetData(m));
    natsMsg_Destroy(m);
    assert_non_null(r);
    assert_null(r->error);
    atb__v1__command_reply__free_unpacked(r, NULL);
    bus_close(client);

    assert_int_equal(kill(sv.pid, SIGTERM), 0);
    int code = sh_wait_exit(sv.pid, 15000);
    sv.pid = 0;
    kill(nats, SIGTERM);
    sh_wait_exit(nats, 10000);
    char rm[600];
    snprintf(rm, sizeof rm, "rm -rf '%s'", store);
    t_system("%s", rm);
    assert_int_equal(code, 0);
}
#endif

int main(int argc, char **argv)
{
    use_valgrind = argc > 1 && strcmp(argv[1], "--valgrind") == 0;
    const struct CMUnitTest all[] = {
        cmocka_unit_test(bad_setting_exits_2_and_names_its_source),
        cmocka_unit_test(help_lists_every_setting_and_exits_0),
        cmocka_unit_test(sigterm_answers_requests_in_flight_and_exits_0),
        cmocka_unit_test(restart_applies_no_migration_twice_and_resumes),
        cmocka_unit_test(taken_http_port_fails_the_start_with_1),
#ifdef NATS_SERVER_PATH
        cmocka_unit_test(health_follows_nats_down_and_back_and_commands_work_again),
#endif
    };
    const struct CMUnitTest under_valgrind[] = {
        cmocka_unit_test(sigterm_answers_requests_in_flight_and_exits_0),
        cmocka_unit_test(restart_applies_no_migration_twice_and_resumes),
    };
    if (use_valgrind)
        return cmocka_run_group_tests_name("valgrind", under_valgrind, setup, teardown);
    return cmocka_run_group_tests(all, setup, teardown);
}
