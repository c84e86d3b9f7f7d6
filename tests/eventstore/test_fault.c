/*
 * test_fault.c -- fault points (libs/eventstore/src/fault.c) and what a crash at each
 * leaves behind: nothing before COMMIT, everything after it, and a retry with the same
 * command id is then a duplicate, never a second copy.
 *
 * Each crash runs in a child: this program started again (fresh process, so ATB_FAULT is
 * read as at a real start) with "--child <scenario> <database> <stream> <command id>".
 */
#include "helpers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- the child --------------------------------------------------------------------- */

static int child(const char *scenario, const char *dbname, const char *stream, const char *cmd)
{
    t_db db;
    memset(&db, 0, sizeof db);
    snprintf(db.name, sizeof db.name, "%s", dbname);
    char ci[512];
    t_db_conninfo(&db, "atb_intake", ci, sizeof ci);
    es_config cfg = {.conninfo = ci, .pool_size = 1};
    es_store *es;
    at_error err;
    if (es_open(&es, &cfg, &err) != ES_OK) {
        fprintf(stderr, "child: es_open: %s\n", err.message);
        return 2;
    }
    es_event_in ev = {.type = "Crashed", .payload = (const uint8_t *)"c", .payload_len = 1};
    es_append_req req = {.tenant = "demo", .stream_id = stream, .expected_version = 0,
                         .command_id = cmd, .events = &ev, .n_events = 1};
    es_append_res res;
    if (strcmp(scenario, "txn") == 0) {
        es_txn *t;
        if (es_txn_begin(es, &t, &err) != ES_OK || es_txn_append(t, &req, &res, &err) != ES_OK
            || es_txn_checkpoint_set(t, "fault.consumer", 1234, &err) != ES_OK)
            return 3;
        es_txn_commit(t, &err);
    } else if (strcmp(scenario, "group") == 0) {
        es_append(es, &req, &res, &err);
    } else if (strcmp(scenario, "custom") == 0) {
        es_fault_point("consumer.before_ack");   /* not armed: passes */
        es_fault_arm("consumer.after_commit");
        es_fault_disarm("consumer.after_commit");
        es_fault_point("consumer.after_commit"); /* disarmed: passes */
        es_fault_arm("consumer.after_commit");
        es_fault_point("consumer.after_commit");
    }
    es_close(es);
    return 0;   /* the armed point did not fire */
}

/* ---- the parent -------------------------------------------------------------------- */

static char self[4096];

/* Run a child with ATB_FAULT=fault; return its exit status. */
static int run_child(const char *fault, const char *scenario, const char *stream, const char *cmd)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (fault)
            setenv("ATB_FAULT", fault, 1);
        else
            unsetenv("ATB_FAULT");
        execl(self, self, "--child", scenario, h_db.name, stream, cmd, (char *)NULL);
        _exit(127);
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    return WEXITSTATUS(st);
}

static void crash_before_commit_leaves_nothing(void **state)
{
    (void)state;
    char stream[80], cmd[37];
    h_stream(stream, sizeof stream, "person");
    h_uuid(cmd);
    long long head = h_scalar("SELECT position FROM atb.log_head");
    assert_int_equal(run_child("append.before_commit", "txn", stream, cmd), 99);
    assert_int_equal(h_scalar("SELECT count(*) FROM atb.events WHERE stream_id = '%s'", stream), 0);
    assert_int_equal(h_scalar("SELECT count(*) FROM atb.commands WHERE command_id = '%s'", cmd), 0);
    assert_int_equal(h_scalar("SELECT count(*) FROM atb.checkpoints WHERE consumer = 'fault.consumer'"), 0);
    assert_int_equal(h_scalar("SELECT position FROM atb.log_head"), head);
    /* The retry appends for real: the crashed attempt left no trace of the command. */
    es_store *es = h_open("atb_intake", 1);
    es_append_res res;
    at_error err;
    assert_int_equal(h_append1(es, "demo", stream, 0, cmd, "retry", &res, &err), ES_OK);
    assert_false(res.duplicate);
    assert_int_equal(res.first_position, head + 1);
    es_close(es);
}

static void crash_after_commit_keeps_everything(void **state)
{
    (void)state;
    char stream[80], cmd[37];
    h_stream(stream, sizeof stream, "person");
    h_uuid(cmd);
    assert_int_equal(run_child("txn.after_commit", "txn", stream, cmd), 99);
    assert_int_equal(h_scalar("SELECT count(*) FROM atb.events WHERE stream_id = '%s'", stream), 1);
    assert_int_equal(h_scalar("SELECT position FROM atb.checkpoints WHERE consumer = 'fault.consumer'"), 1234);
    /* The client never heard of the commit and retries: a duplicate, not a second copy. */
    es_store *es = h_open("atb_intake", 1);
    es_append_res res;
    at_error err;
    assert_int_equal(h_append1(es, "demo", stream, 0, cmd, "retry", &res, &err), ES_OK);
    assert_true(res.duplicate);
    assert_int_equal(h_scalar("SELECT count(*) FROM atb.events WHERE stream_id = '%s'", stream), 1);
    es_close(es);
}

static void crash_after_group_commit_keeps_the_append(void **state)
{
    (void)state;
    char stream[80], cmd[37];
    h_stream(stream, sizeof stream, "person");
    h_uuid(cmd);
    assert_int_equal(run_child("group.after_commit", "group", stream, cmd), 99);
    assert_int_equal(h_scalar("SELECT count(*) FROM atb.events WHERE command_id = '%s'", cmd), 1);
    es_store *es = h_open("atb_intake", 1);
    es_append_res res;
    at_error err;
    assert_int_equal(h_append1(es, "demo", stream, 0, cmd, "retry", &res, &err), ES_OK);
    assert_true(res.duplicate);
    es_close(es);
}

static void unarmed_points_pass_and_any_name_can_be_armed(void **state)
{
    (void)state;
    char stream[80], cmd[37];
    h_stream(stream, sizeof stream, "person");
    h_uuid(cmd);
    /* Without ATB_FAULT every point of a full transaction passes. */
    assert_int_equal(run_child(NULL, "txn", stream, cmd), 0);
    assert_int_equal(h_scalar("SELECT count(*) FROM atb.events WHERE stream_id = '%s'", stream), 1);
    /* A name of another library's point, armed and disarmed by the API. */
    assert_int_equal(run_child(NULL, "custom", stream, cmd), 99);
    /* ATB_FAULT may name several points; an unrelated one does not fire. */
    h_stream(stream, sizeof stream, "person");
    h_uuid(cmd);
    assert_int_equal(run_child("nothing.here,group.after_commit", "txn", stream, cmd), 0);
}

int main(int argc, char **argv)
{
    if (argc == 6 && strcmp(argv[1], "--child") == 0)
        return child(argv[2], argv[3], argv[4], argv[5]);
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return 1;
    self[n] = '\0';
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(crash_before_commit_leaves_nothing),
        cmocka_unit_test(crash_after_commit_keeps_everything),
        cmocka_unit_test(crash_after_group_commit_keeps_the_append),
        cmocka_unit_test(unarmed_points_pass_and_any_name_can_be_armed),
    };
    return cmocka_run_group_tests(tests, h_group_setup, h_group_teardown);
}
