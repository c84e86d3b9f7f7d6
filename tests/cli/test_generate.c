/*
 * test_generate.c -- `atbalsts generate` (services/cli/cli_generate*.c): the population
 * model's shape, and a generated year driven through the real services.
 *
 * The shape (no servers, --dry-run): the presets follow the documents within the
 * tolerances docs/generate.md states, --scale scales them, a seed always gives the same
 * plan and another seed another one.
 *
 * The year (real PostgreSQL and nats-server; intake, relay, reporting, means, payments
 * and allocation as child processes on a fresh database, by tests/intake's skeleton.c):
 *  - a run is answered throughout, decides every application, pays monthly batches and
 *    writes their pain.001 files, and its report counts what the run saw decided;
 *  - a second run of the seed on the same database appends nothing (the log's head does
 *    not move) and gives the same report;
 *  - a run of the seed on another fresh platform sends exactly the same commands (the
 *    sorted command logs are equal, ids and bytes) and gives the same report figures.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "skeleton.h"

#define SEED "5"   /* at this scale: appeals, care requests and a crisis admission planned */
#define SCALE "12"

static pid_t allocation_pid;

/* Run the CLI with args (NULL-ended); stdout parsed as one JSON object into *out (NULL
 * when it is not JSON). The exit code. */
static int cli_json(json_t **out, const char *const *args)
{
    const char *argv[40] = {CLI_PATH};
    int argc = 1;
    for (; args[argc - 1] && argc < 39; argc++)
        argv[argc] = args[argc - 1];
    argv[argc] = NULL;
    FILE *o = tmpfile();
    assert_non_null(o);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fileno(o), 1);
        if (!getenv("ATB_TEST_VERBOSE"))
            freopen("/dev/null", "w", stderr);
        setenv("ATB_NATS_URL", t_nats_url(), 1);
        setenv("ATB_PREFIX", sk.prefix[0] ? sk.prefix : "atb", 1);
        setenv("ATB_ACTOR", "user:test", 1);
        execv(CLI_PATH, (char *const *)argv);
        _exit(127);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    rewind(o);
    json_error_t e;
    *out = json_loadf(o, 0, &e);
    fclose(o);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}
#define CLI(out, ...) cli_json(out, (const char *const[]){__VA_ARGS__, NULL})

static json_int_t jint(const json_t *j, const char *path)
{
    char buf[128];
    snprintf(buf, sizeof buf, "%s", path);
    const json_t *v = j;
    for (char *save = NULL, *k = strtok_r(buf, ".", &save); k && v; k = strtok_r(NULL, ".", &save))
        v = json_object_get(v, k);
    if (!json_is_integer(v))
        fail_msg("no integer at %s", path);
    return json_integer_value(v);
}

/* ---- the shape ----------------------------------------------------------------------- */

static json_t *plan(const char *preset, const char *scale, const char *seed)
{
    json_t *j = NULL;
    assert_int_equal(CLI(&j, "generate", "--preset", preset, "--scale", scale, "--seed", seed, "--dry-run", "--json"),
                     0);
    assert_non_null(j);
    return j;
}

static void daugavpils_has_the_documents_shape(void **state)
{
    (void)state;
    json_t *j = plan("daugavpils", "100", "1");
    /* Document 004: about 20,000 clients a year (22 % of 90,912 inhabitants). */
    json_int_t persons = jint(j, "plan.persons"), households = jint(j, "plan.households");
    assert_int_equal(persons, 20000);
    /* Households of 1.8..2.6 persons on average (docs/generate.md: the mix of types). */
    assert_true(households * 18 <= persons * 10 && persons * 10 <= households * 26);
    /* Pensioners 15..30 % of the clients, children 25..45 %, persons with a disability
     * 5..15 %; large families (3+ children) 4..12 % of the households. */
    json_int_t pens = jint(j, "plan.pensioners"), kids = jint(j, "plan.children");
    assert_true(pens * 100 >= persons * 15 && pens * 100 <= persons * 30);
    assert_true(kids * 100 >= persons * 25 && kids * 100 <= persons * 45);
    json_int_t dis = jint(j, "plan.disabled");
    assert_true(dis * 100 >= persons * 5 && dis * 100 <= persons * 15);
    json_int_t large = jint(j, "plan.large_families");
    assert_true(large * 100 >= households * 4 && large * 100 <= households * 12);
    /* Winter: more requests for the night shelter than its 60 beds (document 004 §4.6:
     * 155-166 clients a year; services/allocation/catalogue/daugavpils.yaml). */
    assert_true(jint(j, "plan.winter_requests") > 60);
    /* Some co-operation duties fail, some decisions are appealed. */
    assert_true(jint(j, "plan.duties_failed") > 0 && jint(j, "plan.duties_failed") < jint(j, "plan.agreements"));
    assert_true(jint(j, "plan.appeals") > 0);
    json_decref(j);
}

static void scale_and_seed_shape_the_plan(void **state)
{
    (void)state;
    json_t *a = plan("tervete", "100", "1"), *b = plan("tervete", "100", "1"), *c = plan("tervete", "100", "2");
    json_t *ten = plan("daugavpils", "10", "1"), *three = plan("daugavpils", "300", "1");
    json_t *region = plan("region", "100", "1");
    assert_true(json_equal(a, b));
    assert_false(json_equal(json_object_get(a, "plan"), json_object_get(c, "plan")));
    /* Tērvete: 22 % of document 002's 3,582 inhabitants, rounded: 790 clients. */
    assert_int_equal(jint(a, "plan.persons"), 790);
    assert_int_equal(jint(ten, "plan.persons"), 2000);
    assert_int_equal(jint(three, "plan.persons"), 60000);
    /* The region is Tērvete and Kandava together: more than Tērvete alone. */
    assert_true(jint(region, "plan.persons") > jint(a, "plan.persons"));
    json_decref(a), json_decref(b), json_decref(c), json_decref(ten), json_decref(three), json_decref(region);
}

static void bad_options_are_usage_errors(void **state)
{
    (void)state;
    json_t *j = NULL;
    assert_int_equal(CLI(&j, "generate", "--preset", "riga", "--dry-run"), 1);
    assert_int_equal(CLI(&j, "generate", "--scale", "0", "--dry-run"), 1);
    assert_int_equal(CLI(&j, "generate", "--concurrency", "999", "--dry-run"), 1);
    assert_int_equal(CLI(&j, "generate", "--seed", "x", "--dry-run"), 1);
}

/* ---- the year ------------------------------------------------------------------------ */

static void start_platform(void)
{
    assert_int_equal(sk_start(), 0);
    assert_int_equal(sk_start_means(), 0);
    assert_int_equal(sk_start_payments(), 0);
    char pg[600];
    t_db_conninfo(&sk.db, "atb_allocation", pg, sizeof pg);
    allocation_pid = fork();
    if (allocation_pid == 0) {
        setenv("ATB_PG_URL", pg, 1);
        setenv("ATB_PG_ADMIN_URL", sk.db.admin, 1);
        setenv("ATB_NATS_URL", t_nats_url(), 1);
        setenv("ATB_PREFIX", sk.prefix, 1);
        setenv("ATB_STREAM", sk.stream, 1);
        setenv("ATB_HTTP_PORT", "0", 1);
        setenv("ATB_LOG_LEVEL", "warn", 1);
        execl(ALLOCATION_PATH, ALLOCATION_PATH, (char *)NULL);
        _exit(127);
    }
    sk_wait_ready();
}

static void stop_platform(void)
{
    kill(allocation_pid, SIGTERM);
    waitpid(allocation_pid, NULL, 0);
    sk_stop_services();
    at_error err;
    bus_stream_delete(sk.client, &err);
    bus_close(sk.client);
    sk.client = NULL;
    t_db_drop(&sk.db);
}

static json_t *year(const char *out_dir, const char *log)
{
    json_t *j = NULL;
    int code = CLI(&j, "generate", "--preset", "tervete", "--scale", SCALE, "--seed", SEED, "--concurrency", "8",
                   "--out", out_dir, "--commands", log, "--wait", "120", "--json");
    if (code != 0 && j) {
        char *dump = json_dumps(json_object_get(j, "commands"), JSON_INDENT(1));
        fprintf(stderr, "generate exited %d: %s\n", code, dump);
        free(dump);
    }
    assert_int_equal(code, 0);
    assert_non_null(j);
    return j;
}

static bool same_file(const char *a, const char *b)
{
    FILE *x = fopen(a, "rb"), *y = fopen(b, "rb");
    bool same = x && y;
    int c1 = 0, c2 = 0;
    while (same && c1 != EOF) {
        c1 = fgetc(x);
        c2 = fgetc(y);
        same = c1 == c2;
    }
    if (x)
        fclose(x);
    if (y)
        fclose(y);
    return same;
}

static void a_year_runs_through_and_repeats_exactly(void **state)
{
    (void)state;
    char dir1[256], dir2[256], log1[300], log2[300], log3[300];
    snprintf(dir1, sizeof dir1, "%s/gen%d-a", TEST_TMP_DIR, (int)getpid());
    snprintf(dir2, sizeof dir2, "%s/gen%d-b", TEST_TMP_DIR, (int)getpid());
    snprintf(log1, sizeof log1, "%s/commands1.txt", dir1);
    snprintf(log2, sizeof log2, "%s/commands2.txt", dir1);
    snprintf(log3, sizeof log3, "%s/commands3.txt", dir2);
    mkdir(dir1, 0755);
    mkdir(dir2, 0755);

    start_platform();
    json_t *a = year(dir1, log1);
    json_int_t households = jint(a, "plan.households");
    /* Every household's application completed and decided; nothing refused. */
    assert_int_equal(jint(a, "year.completed"), households);
    assert_int_equal(jint(a, "year.decided"), households);
    assert_int_equal(json_object_size(json_object_get(json_object_get(a, "commands"), "refused")), 0);
    assert_int_equal(jint(a, "commands.unanswered"), 0);
    /* The report of the fresh database counts exactly the applications the run saw decided,
     * and the appeals it filed. */
    assert_int_equal(jint(a, "report.total.applications_decided"), households);
    assert_int_equal(jint(a, "report.total.appealed"), jint(a, "year.appeals"));
    /* Every planned appeal was filed and decided, every planned service request made. */
    assert_true(jint(a, "plan.appeals") > 0);
    assert_int_equal(jint(a, "year.appeals"), jint(a, "plan.appeals"));
    assert_int_equal(jint(a, "year.service_requests"), jint(a, "plan.care_requests") + jint(a, "plan.winter_requests"));
    /* Money moved: batches paid, and each batch's pain.001 file was written. */
    assert_true(jint(a, "year.gmi_granted") > 0);
    assert_true(jint(a, "year.batches") > 0);
    assert_int_equal(jint(a, "year.orders_paid"), jint(a, "year.orders_batched"));
    json_t *files = json_object_get(json_object_get(a, "year"), "sepa_files");
    assert_int_equal((json_int_t)json_array_size(files), jint(a, "year.batches"));
    char path[600], head[64] = "";
    snprintf(path, sizeof path, "%s/%s", dir1, json_string_value(json_array_get(files, 0)));
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    assert_non_null(fgets(head, sizeof head, f));
    fclose(f);
    assert_non_null(strstr(head, "<?xml"));

    /* The same seed again on the same database: nothing appended, the same report. */
    int64_t head_before = sk_sql_int("SELECT max(position) FROM atb.events");
    json_t *b = year(dir1, log2);
    assert_int_equal(sk_sql_int("SELECT max(position) FROM atb.events"), head_before);
    assert_true(jint(b, "commands.duplicate") > 0);
    assert_true(json_equal(json_object_get(a, "report"), json_object_get(b, "report")));
    stop_platform();

    /* The same seed on another fresh platform: the same commands, byte for byte, and the
     * same report figures (the log positions differ: the relay's catalogue and rule-set
     * events may land in another order). */
    start_platform();
    json_t *c = year(dir2, log3);
    assert_true(same_file(log1, log3));
    json_t *ra = json_object_get(a, "report"), *rc = json_object_get(c, "report");
    assert_true(json_equal(json_object_get(ra, "total"), json_object_get(rc, "total")));
    assert_true(json_equal(json_object_get(ra, "rows"), json_object_get(rc, "rows")));
    assert_int_equal(jint(a, "year.gmi_cents_per_month"), jint(c, "year.gmi_cents_per_month"));
    assert_int_equal(jint(a, "year.orders_paid"), jint(c, "year.orders_paid"));
    stop_platform();
    json_decref(a), json_decref(b), json_decref(c);
}

int main(void)
{
    const struct CMUnitTest shape[] = {
        cmocka_unit_test(daugavpils_has_the_documents_shape),
        cmocka_unit_test(scale_and_seed_shape_the_plan),
        cmocka_unit_test(bad_options_are_usage_errors),
    };
    int failed = cmocka_run_group_tests_name("generate_shape", shape, NULL, NULL);
    t_require_servers(1);
    const struct CMUnitTest run[] = {
        cmocka_unit_test(a_year_runs_through_and_repeats_exactly),
    };
    return failed | cmocka_run_group_tests_name("generate_year", run, NULL, NULL);
}
