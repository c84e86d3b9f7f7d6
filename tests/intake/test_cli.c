/*
 * test_cli.c -- the caseworker's command line (services/cli) as a caseworker runs it:
 * the binary against running intake, relay and reporting services (skeleton.c), its
 * stdout, stderr and exit code. JSON output is parsed with jansson, not searched.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "skeleton.h"

typedef struct run {
    int code;                 /* exit code; -1 when it did not exit normally */
    char out[16384];
    char err[8192];
} run;

static run r;

static void slurp(FILE *f, char *buf, size_t n)
{
    rewind(f);
    size_t got = fread(buf, 1, n - 1, f);
    buf[got] = 0;
    fclose(f);
}

/* Run the CLI with args (NULL-terminated) against the test's services; fills r. */
static void cli(const char *first, ...)
{
    const char *argv[32] = {CLI_PATH};
    int argc = 1;
    va_list ap;
    va_start(ap, first);
    for (const char *a = first; a && argc < 31; a = va_arg(ap, const char *))
        argv[argc++] = a;
    va_end(ap);
    argv[argc] = NULL;
    FILE *out = tmpfile(), *err = tmpfile();
    assert_non_null(out);
    assert_non_null(err);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fileno(out), 1);
        dup2(fileno(err), 2);
        setenv("ATB_NATS_URL", t_nats_url(), 1);
        setenv("ATB_PREFIX", sk.prefix, 1);
        unsetenv("ATB_TENANT");
        execv(CLI_PATH, (char *const *)argv);
        _exit(127);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    r.code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    slurp(out, r.out, sizeof r.out);
    slurp(err, r.err, sizeof r.err);
    if (getenv("ATB_TEST_VERBOSE"))
        fprintf(stderr, "exit %d\n--- stdout\n%s--- stderr\n%s", r.code, r.out, r.err);
}

static json_t *parse_out(void)
{
    json_error_t e;
    json_t *j = json_loads(r.out, 0, &e);
    if (!j)
        fail_msg("stdout is not one JSON value: %s: %s", e.text, r.out);
    return j;
}

static char anna_key[37];

static void person_register_prints_the_new_key_and_exits_0(void **state)
{
    (void)state;
    cli("--json", "person", "register", "--code", "111111-11111", "--given", "Anna", "--family", "Bērziņa",
        "--sex", "f", NULL);
    assert_int_equal(r.code, 0);
    json_t *j = parse_out();
    const char *key = json_string_value(json_object_get(j, "person_key"));
    assert_non_null(key);
    assert_int_equal(strlen(key), 36);
    snprintf(anna_key, sizeof anna_key, "%s", key);
    assert_int_equal(json_integer_value(json_object_get(j, "version")), 1);
    assert_true(json_integer_value(json_object_get(j, "position")) >= 1);
    assert_true(json_is_false(json_object_get(j, "duplicate")));
    json_decref(j);

    /* text: the key on the first line */
    cli("--tenant", "kandava", "person", "register", "--code", "32123456789", "--given", "Jānis", "--family",
        "Ozols", "--sex", "m", "--birth", "2018-03-04", NULL);
    assert_int_equal(r.code, 0);
    assert_true(strncmp(r.out, "registered person ", 18) == 0);
    assert_string_equal(r.err, "");
}

static void person_show_prints_the_identity_by_code_and_by_key(void **state)
{
    (void)state;
    cli("person", "show", "--code", "11111111111", NULL);
    assert_int_equal(r.code, 0);
    assert_non_null(strstr(r.out, "name           Anna Bērziņa\n"));
    assert_non_null(strstr(r.out, "personal code  111111-11111\n"));
    assert_non_null(strstr(r.out, "birth date     1911-11-11\n"));
    assert_non_null(strstr(r.out, "sex            f\n"));

    cli("--json", "person", "show", "--key", anna_key, NULL);
    assert_int_equal(r.code, 0);
    json_t *j = parse_out();
    assert_string_equal(json_string_value(json_object_get(j, "person_key")), anna_key);
    assert_string_equal(json_string_value(json_object_get(j, "family_name")), "Bērziņa");
    assert_string_equal(json_string_value(json_object_get(j, "birth_date")), "1911-11-11");
    assert_string_equal(json_string_value(json_object_get(j, "sex")), "f");
    assert_int_equal(json_integer_value(json_object_get(j, "version")), 1);
    json_decref(j);

    /* the new-format person lives in kandava, not in the default daugavpils */
    cli("--tenant", "kandava", "person", "show", "--code", "321234-56789", NULL);
    assert_int_equal(r.code, 0);
    assert_non_null(strstr(r.out, "birth date     2018-03-04\n"));
    cli("person", "show", "--code", "321234-56789", NULL);
    assert_int_equal(r.code, 2);
    assert_non_null(strstr(r.err, "ERROR:  NOT_FOUND: person not found\n"));
}

static void a_refusal_exits_2_with_the_services_error_on_stderr(void **state)
{
    (void)state;
    cli("person", "register", "--code", "111111-11112", "--given", "A", "--family", "B", "--sex", "m", NULL);
    assert_int_equal(r.code, 2);
    assert_string_equal(r.out, "");
    assert_non_null(strstr(r.err, "ERROR:  VALIDATION: personal code checksum is wrong\n"));
    assert_non_null(strstr(r.err, "FIELD:  personal_code\n"));

    /* with --json the same error is also one object on stdout */
    cli("--json", "person", "register", "--code", "111111-11111", "--given", "Anna", "--family", "Bērziņa",
        "--sex", "f", NULL);
    assert_int_equal(r.code, 2);
    assert_non_null(strstr(r.err, "ERROR:  CONFLICT: person is already registered\n"));
    json_t *j = parse_out();
    json_t *e = json_object_get(j, "error");
    assert_string_equal(json_string_value(json_object_get(e, "code")), "CONFLICT");
    assert_string_equal(json_string_value(json_object_get(e, "field")), "personal_code");
    assert_string_equal(json_string_value(json_object_get(e, "key")), anna_key);
    assert_non_null(strstr(json_string_value(json_object_get(e, "detail")), anna_key));
    json_decref(j);

    cli("--tenant", "atlantida", "person", "show", "--key", anna_key, NULL);
    assert_int_equal(r.code, 2);
    assert_non_null(strstr(r.err, "ERROR:  UNKNOWN_TENANT: "));
}

static void usage_errors_exit_1_before_anything_is_sent(void **state)
{
    (void)state;
    int64_t events = sk_sql_int("SELECT count(*) FROM atb.events");
    cli("person", "register", "--code", "111111-11111", "--given", "A", "--family", "B", NULL);   /* no --sex */
    assert_int_equal(r.code, 1);
    assert_non_null(strstr(r.err, "needs --code, --given, --family and --sex"));
    cli("person", "register", "--code", "010101-10006", "--given", "A", "--family", "B", "--sex", "x", NULL);
    assert_int_equal(r.code, 1);
    cli("person", "register", "--code", "010101-10006", "--given", "A", "--family", "B", "--sex", "m", "--birth",
        "1901-02-29", NULL);
    assert_int_equal(r.code, 1);
    assert_non_null(strstr(r.err, "--birth \"1901-02-29\""));
    cli("person", "show", NULL);
    assert_int_equal(r.code, 1);
    cli("person", "show", "--key", anna_key, "--code", "111111-11111", NULL);
    assert_int_equal(r.code, 1);
    cli("person", "forget", NULL);
    assert_int_equal(r.code, 1);
    cli("payments", NULL);
    assert_int_equal(r.code, 1);
    cli(NULL);
    assert_int_equal(r.code, 1);
    cli("--tenant", "daug.avpils", "person", "show", "--key", anna_key, NULL);
    assert_int_equal(r.code, 1);
    cli("demo", "--persons", "0", NULL);
    assert_int_equal(r.code, 1);
    assert_int_equal(sk_sql_int("SELECT count(*) FROM atb.events"), events);
}

static void every_command_answers_help_with_exit_0(void **state)
{
    (void)state;
    const char *const helps[][4] = {{"--help", NULL},
                                    {"help", NULL},
                                    {"person", "--help", NULL},
                                    {"person", "register", "--help", NULL},
                                    {"person", "show", "--help", NULL},
                                    {"demo", "--help", NULL}};
    for (size_t i = 0; i < sizeof helps / sizeof helps[0]; i++) {
        cli(helps[i][0], helps[i][1], helps[i][2], NULL);
        assert_int_equal(r.code, 0);
        assert_non_null(strstr(r.out, "usage: atbalsts"));
    }
}

static void an_unreachable_service_exits_3(void **state)
{
    (void)state;
    /* nothing listens on port 1 */
    cli("--nats", "nats://127.0.0.1:1", "person", "show", "--key", anna_key, NULL);
    assert_int_equal(r.code, 3);
    assert_non_null(strstr(r.err, "could not connect to NATS"));
    /* NATS answers, but no service subscribes under this prefix */
    cli("--prefix", "nobodyhome", "person", "show", "--key", anna_key, NULL);
    assert_int_equal(r.code, 3);
    assert_non_null(strstr(r.err, "could not get an answer from the intake service"));
}

static void demo_registers_residents_and_the_projection_catches_up(void **state)
{
    (void)state;
    int64_t persons = sk_sql_int("SELECT count(*) FROM intake.identities WHERE tenant = 'tervete'");
    cli("--tenant", "tervete", "--json", "demo", "--persons", "60", "--seed", "7", "--clients", "6", "--no-payments",
        NULL);
    assert_int_equal(r.code, 0);
    json_t *j = parse_out();
    assert_int_equal(json_integer_value(json_object_get(j, "registered")), 60);
    json_t *refused = json_object_get(j, "refused");
    assert_int_equal(json_integer_value(json_object_get(refused, "VALIDATION")), 1);
    assert_int_equal(json_integer_value(json_object_get(refused, "CONFLICT")), 1);
    assert_int_equal(json_integer_value(json_object_get(refused, "UNKNOWN_TENANT")), 1);
    assert_int_equal(json_object_size(refused), 3);
    assert_int_equal(json_integer_value(json_object_get(j, "projection_added")), 60);
    assert_true(json_is_true(json_object_get(j, "projection_equals_registered")));
    assert_true(json_real_value(json_object_get(j, "latency_p99_ms")) >=
                json_real_value(json_object_get(j, "latency_p50_ms")));
    /* the caseload: every household's application decided by means testing */
    json_t *cases = json_object_get(j, "cases");
    assert_non_null(cases);
    json_int_t households = json_integer_value(json_object_get(cases, "households"));
    assert_true(households > 10);
    assert_int_equal(json_integer_value(json_object_get(cases, "completed")), households);
    /* Tērvete's rule set has no low-income threshold (its documents give none): means
     * testing returns each application with that reason rather than deciding a part */
    assert_int_equal(json_integer_value(json_object_get(cases, "decided")) +
                         json_integer_value(json_object_get(cases, "returned")),
                     households);
    assert_int_equal(sk_sql_int("SELECT count(DISTINCT stream_id) FROM atb.events WHERE tenant = 'tervete' AND "
                                "type IN ('ApplicationDecided', 'ApplicationReturned')"),
                     households);
    assert_non_null(strstr(json_string_value(json_object_get(cases, "returned_reason")),
                           "low_income.income_threshold"));
    json_decref(j);
    assert_int_equal(sk_sql_int("SELECT count(*) FROM intake.identities WHERE tenant = 'tervete'"), persons + 60);
    assert_int_equal(sk_sql_int("SELECT count(*) FROM reporting.persons WHERE tenant = 'tervete'"), persons + 60);
    /* every generated code was valid and the new-format ones carry a birth date */
    assert_int_equal(sk_sql_int("SELECT count(*) FROM reporting.persons WHERE tenant = 'tervete' AND "
                                "(birth_date IS NULL OR birth_date > current_date + 1)"),
                     0);
}

static void demo_again_with_the_same_seed_registers_nobody_twice(void **state)
{
    (void)state;
    cli("--tenant", "tervete", "demo", "--persons", "60", "--seed", "7", "--clients", "6", NULL);
    assert_int_equal(r.code, 0);
    assert_non_null(strstr(r.out, "  registered              0\n"));
    assert_non_null(strstr(r.out, "CONFLICT 61"));
    assert_non_null(strstr(r.out, "-- a personal code with a wrong check digit:\n   ERROR:  VALIDATION: "));
    assert_non_null(strstr(r.out, "-- an unknown municipality (atlantida):\n   ERROR:  UNKNOWN_TENANT: "));
    assert_non_null(strstr(r.out, "0 persons added"));
    assert_int_equal(sk_sql_int("SELECT count(*) FROM intake.identities WHERE tenant = 'tervete'"), 60);
}

/* atbalsts audit proves every decision of the log, and finds one changed through a side
 * door (the superuser switching the log's immutability triggers off). */
static void audit_proves_every_decision_and_finds_a_tampered_one(void **state)
{
    (void)state;
    /* The whole demo: registrations, the caseload, and its payments down to the bank. */
    cli("--json", "demo", "--persons", "40", "--seed", "11", "--clients", "4", NULL);
    assert_int_equal(r.code, 0);
    json_t *demo = parse_out();
    json_t *pay = json_object_get(demo, "payments");
    assert_non_null(pay);
    json_int_t batched = json_integer_value(json_object_get(pay, "batched"));
    assert_true(batched > 0);
    assert_int_equal(json_integer_value(json_object_get(pay, "paid")) +
                         json_integer_value(json_object_get(pay, "rejected")),
                     batched);
    assert_int_equal(json_integer_value(json_object_get(pay, "rejected")), 1);
    assert_true(json_integer_value(json_object_get(pay, "file_bytes")) > 1000);
    /* the budget of 2020 is what the bank paid: the batch's sum less the rejected order */
    assert_true(json_integer_value(json_object_get(pay, "budget_paid_cents")) > 0);
    assert_true(json_integer_value(json_object_get(pay, "budget_paid_cents")) <
                json_integer_value(json_object_get(pay, "control_sum_cents")));
    char batch[64];
    snprintf(batch, sizeof batch, "%s", json_string_value(json_object_get(pay, "batch")));
    json_int_t file_bytes = json_integer_value(json_object_get(pay, "file_bytes"));
    json_decref(demo);
    assert_int_equal(sk_sql_int("SELECT count(*) FROM atb.events WHERE type = 'BatchConfirmed'"), 1);
    /* The accountant's commands see the same: the file again, byte for byte in size, and
     * the budget line of the GMI's EKK code. */
    char path[512];
    const char *tmp = getenv("TMPDIR");
    snprintf(path, sizeof path, "%s/atb_test_batch_XXXXXX", tmp && *tmp ? tmp : P_tmpdir);
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    cli("payment", "export", batch, "--out", path, NULL);
    assert_int_equal(r.code, 0);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char head[64] = "";
    assert_true(fread(head, 1, sizeof head - 1, f) > 0);
    fseek(f, 0, SEEK_END);
    assert_int_equal(ftell(f), file_bytes);
    fclose(f);
    unlink(path);
    assert_non_null(strstr(head, "<?xml"));
    cli("payment", "budget", "--from", "2020-01-01", "--to", "2020-12-31", NULL);
    assert_int_equal(r.code, 0);
    assert_non_null(strstr(r.out, "6421"));
    cli("--json", "audit", "--pg", sk.db.admin, NULL);
    assert_int_equal(r.code, 0);
    json_t *j = parse_out();
    json_int_t decisions = json_integer_value(json_object_get(j, "decisions"));
    assert_true(decisions >= 10);
    assert_int_equal(json_integer_value(json_object_get(j, "proven")), decisions);
    assert_int_equal(json_integer_value(json_object_get(j, "not_proven")), 0);
    json_decref(j);
    assert_int_equal(sk_sql_int("SELECT count(*) FROM atb.events WHERE category = 'decision' AND tenant = "
                                "'daugavpils'"),
                     decisions);

    /* Change one letter of one decision's explanation, bypassing the log's guards. */
    char app[64];
    sk_sql_text(app, sizeof app, "SELECT substr(stream_id, 10) FROM atb.events WHERE category = 'decision' AND "
                                 "position(convert_to('EUR', 'UTF8') IN payload) > 0 ORDER BY position LIMIT 1");
    assert_true(strlen(app) == 36);
    sk_sql_int("ALTER TABLE atb.events DISABLE TRIGGER USER; "
               "UPDATE atb.events SET payload = overlay(payload PLACING convert_to('X', 'UTF8') FROM "
               "position(convert_to('EUR', 'UTF8') IN payload) FOR 1) WHERE position = (SELECT min(position) FROM "
               "atb.events WHERE stream_id = 'decision-%s' AND position(convert_to('EUR', 'UTF8') IN payload) > 0); "
               "ALTER TABLE atb.events ENABLE TRIGGER USER; SELECT 1",
               app);
    cli("audit", "--pg", sk.db.admin, NULL);
    assert_int_equal(r.code, 2);
    char line[128];
    snprintf(line, sizeof line, "NOT PROVEN  %s decision", app);
    assert_non_null(strstr(r.out, line));
    assert_non_null(strstr(r.out, "1 NOT proven"));
    /* One application alone: the same finding. */
    cli("--json", "audit", "--pg", sk.db.admin, "--application", app, NULL);
    assert_int_equal(r.code, 2);
    j = parse_out();
    assert_int_equal(json_integer_value(json_object_get(j, "not_proven")), 1);
    json_t *m = json_array_get(json_object_get(j, "mismatches"), 0);
    assert_string_equal(json_string_value(json_object_get(m, "application")), app);
    assert_non_null(strstr(json_string_value(json_object_get(m, "recorded")), "X"));
    json_decref(j);
}

static int setup(void **state)
{
    (void)state;
    if (sk_start() != 0 || sk_start_means() != 0 || sk_start_payments() != 0)
        return -1;
    sk_wait_ready();   /* the command line, unlike sk_call, does not wait for a service */
    /* the demo's caseload needs the rule sets in the log (means publishes them at start) */
    if (sk_wait_sql(1, 30000, "SELECT least(count(*), 1) FROM atb.events WHERE stream_id = 'ruleset-tervete'") != 1)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return sk_teardown();
}

int main(void)
{
    t_require_servers(1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(person_register_prints_the_new_key_and_exits_0),
        cmocka_unit_test(person_show_prints_the_identity_by_code_and_by_key),
        cmocka_unit_test(a_refusal_exits_2_with_the_services_error_on_stderr),
        cmocka_unit_test(usage_errors_exit_1_before_anything_is_sent),
        cmocka_unit_test(every_command_answers_help_with_exit_0),
        cmocka_unit_test(an_unreachable_service_exits_3),
        cmocka_unit_test(demo_registers_residents_and_the_projection_catches_up),
        cmocka_unit_test(demo_again_with_the_same_seed_registers_nobody_twice),
        cmocka_unit_test(audit_proves_every_decision_and_finds_a_tampered_one),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
