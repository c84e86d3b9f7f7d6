/*
 * test_payments_levelchange.c -- a change of the GMI level during running grants, end to
 * end (docs/rules.md §9.3): households assessed by atbalsts-means, paid monthly by
 * atbalsts-payments, then `atbalsts means recalculate --on DAY`. On 2021-01-01 the rule
 * set says "recalculate": the grant crossing it is re-decided under the 2021 household
 * amounts and its 2021 orders carry the new amount. On 2020-01-01 it says "keep": nothing
 * changes. A second run appends nothing, and `atbalsts audit` proves every decision and
 * the recalculation itself, re-derived from the log; a recalculation changed through a
 * side door is found.
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
#include <sys/wait.h>
#include <unistd.h>

#include "meanshelp.h"
#include "payhelp.h"

static ph P;
static sh_service means;
static char nats_arg[512];

static int setup(void **state)
{
    (void)state;
    t_require_servers(1);
    ph_prepare(&P);
    means = P.sv;
    means.exe = TEST_MEANS_PATH;
    means.pid = 0;
    means.http_port = sh_free_port();
    t_db_conninfo(&P.sv.db, "atb_means", means.pg_url, sizeof means.pg_url);
    const char *env[] = {"ATB_RULESETS=" TEST_RULESETS_DIR, "ATB_MAX_MSG=262144", "ATB_LOG_LEVEL=warn", NULL};
    sh_start(&means, NULL, env, NULL, -1);
    if (!sh_wait_healthy(&means, 30000))
        fail_msg("atbalsts-means did not start");
    if (!ph_start(&P, NULL))
        fail_msg("atbalsts-payments did not start");
    snprintf(nats_arg, sizeof nats_arg, "%s", t_nats_url());
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (means.pid > 0) {
        kill(means.pid, SIGTERM);
        if (sh_wait_exit(means.pid, 30000) < 0)
            sh_kill(&means);
    }
    return ph_cleanup(&P) == 0 ? 0 : -1;
}

/* Run the command line with args after the global options; its stdout in out. */
static int cli_run(const char *tenant, char *out, size_t n, const char *const *args)
{
    const char *argv[32] = {CLI_PATH, "--nats", nats_arg, "--prefix", P.sv.prefix, "--tenant", tenant};
    int argc = 7;
    for (int i = 0; args[i] && argc < 31; i++)
        argv[argc++] = args[i];
    argv[argc] = NULL;
    FILE *f = tmpfile();
    assert_non_null(f);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fileno(f), 1);
        execv(CLI_PATH, (char *const *)argv);
        _exit(127);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    rewind(f);
    size_t got = fread(out, 1, n - 1, f);
    out[got] = 0;
    fclose(f);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void assess(const char *tenant, mh_family *f, int64_t gmi_cents, int orders)
{
    char subject[256];
    snprintf(subject, sizeof subject, "%s.cmd.%s.means.AssessApplication", P.sv.prefix, tenant);
    natsMsg *m = NULL;
    at_error err;
    for (int i = 0; i < 50 && !m; i++)
        if (bus_request(P.client, subject, &f->cmd.base, 20000, &m, &err) != AT_OK)
            m = NULL;
    assert_non_null(m);
    Atb__V1__AssessReply *ar = atb__v1__assess_reply__unpack(NULL, (size_t)natsMsg_GetDataLength(m),
                                                            (const uint8_t *)natsMsg_GetData(m));
    natsMsg_Destroy(m);
    assert_non_null(ar);
    if (ar->error && ar->error->code)
        fail_msg("assess: %s %s", ar->error->message, ar->error->detail);
    assert_int_equal(ar->n_decisions, 2);
    assert_int_equal(ar->decisions[1]->result->amount_cents, gmi_cents);
    atb__v1__assess_reply__free_unpacked(ar, NULL);
    char sql[512];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM payments.orders WHERE grant_key = '%s/2'", f->app_id);
    assert_int_equal(ph_wait_sql(&P, orders, 30000, sql), orders);
}

/* The amounts of a grant's live orders (not cancelled), by month. */
static void live_orders(const char *app_id, char *out, size_t n)
{
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT string_agg(amount_cents::text, ',' ORDER BY slot_from) FROM payments.orders "
             "WHERE grant_key = '%s/2' AND status <> 'cancelled'", app_id);
    sh_sql_text(&P.sv, sql, out, n);
}

static int64_t overrides_of(const char *app_id)
{
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM atb.events WHERE stream_id = 'decision-%s' AND type = "
                              "'DecisionOverridden'", app_id);
    return sh_sql(&P.sv, sql);
}

/* The grant's entry in a JSON reply of `means recalculate`. */
static json_t *grant_of(json_t *reply, const char *app_id)
{
    json_t *gs = json_object_get(reply, "grants");
    for (size_t i = 0; i < json_array_size(gs); i++) {
        json_t *g = json_array_get(gs, i);
        if (strcmp(json_string_value(json_object_get(g, "application_id")), app_id) == 0)
            return g;
    }
    return NULL;
}

static json_t *recalculate(const char *tenant, const char *day, int want_rc)
{
    static char out[1 << 16];
    const char *args[] = {"means", "recalculate", "--on", day, "--json", NULL};
    int rc = cli_run(tenant, out, sizeof out, args);
    if (rc != want_rc)
        fail_msg("means recalculate --on %s: exit %d\n%s", day, rc, out);
    json_error_t je;
    json_t *j = json_loads(out, 0, &je);
    if (!j)
        fail_msg("not JSON: %s\n%s", je.text, out);
    return j;
}

static int64_t json_int(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    if (json_is_string(v))
        return strtoll(json_string_value(v), NULL, 10);
    return json_is_integer(v) ? json_integer_value(v) : 0;
}

/* `atbalsts --json audit` over every municipality, which must exit with want; with
 * --jobs when jobs > 0 and option (--application, --household) when value is given. */
static json_t *audit_json(int want, int jobs, const char *option, const char *value)
{
    char pg[600], nj[16];
    snprintf(pg, sizeof pg, "%s", P.sv.db.admin);
    snprintf(nj, sizeof nj, "%d", jobs);
    const char *args[12] = {"--json", "audit", "--pg", pg, "--all-tenants"};
    int n = 5;
    if (jobs > 0) {
        args[n++] = "--jobs";
        args[n++] = nj;
    }
    if (value) {
        args[n++] = option;
        args[n++] = value;
    }
    args[n] = NULL;
    static char out[1 << 16];
    int rc = cli_run("kandava", out, sizeof out, args);
    if (rc != want)
        fail_msg("audit: exit %d\n%s", rc, out);
    json_error_t je;
    json_t *j = json_loads(out, 0, &je);
    if (!j)
        fail_msg("not JSON: %s\n%s", je.text, out);
    return j;
}

static void a_grant_crossing_a_change_is_recalculated_where_the_rules_say_so(void **state)
{
    (void)state;
    /* Kandava 2020, the national level: 3 x 64.00 - 100.00 = 92.00 a month,
       2020-11-15 .. 2021-02-14 (Kandava's rule set runs on after 2020, Daugavpils' does not) */
    mh_family a;
    mh_family_init(&a, 2020, 11, 15, 10000);
    assess("kandava", &a, 9200, 4);
    /* 2019, the national level: 3 x 53.00 - 100.00 = 59.00 a month, 2019-11-15 .. 2020-02-14;
       on 2020-01-01 Daugavpils' level of 65.00 begins */
    mh_family k;
    mh_family_init(&k, 2019, 11, 15, 10000);
    assess("daugavpils", &k, 5900, 4);
    char before_a[128], before_k[128], now[128];
    live_orders(a.app_id, before_a, sizeof before_a);
    live_orders(k.app_id, before_k, sizeof before_k);
    assert_string_equal(before_a, "4907,9200,9200,4600");   /* 16/30 of November, 14/28 of February */

    /* 2021-01-01: recalculate; 109.00 + 2 x 76.00 - 100.00 = 161.00 from January */
    json_t *j = recalculate("kandava", "2021-01-01", 0);
    assert_false(json_is_true(json_object_get(j, "keep")));
    assert_int_equal(json_int(j, "recalculated"), 1);
    json_t *g = grant_of(j, a.app_id);
    assert_non_null(g);
    assert_string_equal(json_string_value(json_object_get(g, "outcome")), "recalculated");
    assert_int_equal(json_int(g, "previous_cents"), 9200);
    assert_int_equal(json_int(g, "amount_cents"), 16100);
    assert_null(grant_of(j, k.app_id));
    json_decref(j);
    assert_int_equal(overrides_of(a.app_id), 1);

    char sql[512];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM payments.orders WHERE grant_key = '%s/2' AND status = "
                              "'cancelled'", a.app_id);
    assert_int_equal(ph_wait_sql(&P, 2, 30000, sql), 2);
    live_orders(a.app_id, now, sizeof now);
    assert_string_equal(now, "4907,9200,16100,8050");
    /* the re-decision is explained: its steps read the keep parameter of 2021 */
    snprintf(sql, sizeof sql, "SELECT count(*) FROM atb.events WHERE stream_id = 'decision-%s' AND type = "
                              "'DecisionOverridden' AND position(convert_to('gmi.keep_amount_on_level_change', "
                              "'UTF8') in payload) > 0", a.app_id);
    assert_int_equal(sh_sql(&P.sv, sql), 1);

    /* a second run appends nothing */
    snprintf(sql, sizeof sql, "SELECT max(position) FROM atb.events");
    int64_t head = sh_sql(&P.sv, sql);
    j = recalculate("kandava", "2021-01-01", 0);
    assert_int_equal(json_int(j, "recalculated"), 0);
    g = grant_of(j, a.app_id);
    assert_non_null(g);
    assert_string_equal(json_string_value(json_object_get(g, "outcome")), "done_before");
    json_decref(j);
    assert_int_equal(sh_sql(&P.sv, sql), head);
    assert_int_equal(overrides_of(a.app_id), 1);

    /* 2020-01-01: the rules of then keep the amount: listed, untouched */
    j = recalculate("daugavpils", "2020-01-01", 0);
    assert_true(json_is_true(json_object_get(j, "keep")));
    assert_int_equal(json_int(j, "recalculated"), 0);
    g = grant_of(j, k.app_id);
    assert_non_null(g);
    assert_string_equal(json_string_value(json_object_get(g, "outcome")), "kept");
    json_decref(j);
    assert_int_equal(sh_sql(&P.sv, sql), head);
    assert_int_equal(overrides_of(k.app_id), 0);
    live_orders(k.app_id, now, sizeof now);
    assert_string_equal(now, before_k);

    /* a day on which the level does not change is refused, nothing sent on */
    static char out[4096];
    const char *bad[] = {"means", "recalculate", "--on", "2021-01-02", NULL};
    assert_int_equal(cli_run("kandava", out, sizeof out, bad), 2);
    /* and so is a day the municipality's rule set does not cover: never stale values */
    const char *stale[] = {"means", "recalculate", "--on", "2021-01-01", NULL};
    assert_int_equal(cli_run("daugavpils", out, sizeof out, stale), 2);
    assert_int_equal(sh_sql(&P.sv, sql), head);

    /* the auditor proves every decision and the recalculation from the log */
    j = audit_json(0, 0, NULL, NULL);
    /* two applications of two decisions each, and one recalculation: a decision of the
       machine, re-derived, not a human override */
    assert_int_equal(json_int(j, "decisions"), 4);
    assert_int_equal(json_int(j, "proven"), 4);
    assert_int_equal(json_int(j, "not_proven"), 0);
    assert_int_equal(json_int(j, "recalculations"), 1);
    assert_int_equal(json_int(j, "recalculations_proven"), 1);
    assert_int_equal(json_int(j, "recalculations_not_proven"), 0);
    assert_int_equal(json_int(j, "overrides"), 0);
    json_decref(j);
    /* one household's history: its two decisions and its recalculation */
    j = audit_json(0, 1, "--household", a.household);
    assert_int_equal(json_int(j, "decisions"), 2);
    assert_int_equal(json_int(j, "recalculations_proven"), 1);
    json_decref(j);
    j = audit_json(0, 1, "--household", k.household);
    assert_int_equal(json_int(j, "decisions"), 2);
    assert_int_equal(json_int(j, "recalculations"), 0);
    json_decref(j);
    char pg[600];
    snprintf(pg, sizeof pg, "%s", P.sv.db.admin);
    const char *text[] = {"audit", "--pg", pg, "--all-tenants", "--jobs", "1", NULL};
    static char aout[1 << 16];
    int rc = cli_run("kandava", aout, sizeof aout, text);
    if (rc != 0 || !strstr(aout, "4 decisions replayed from the log, 4 proven, 0 NOT proven; recalculations at "
                                 "a GMI level change: 1 replayed, 1 proven, 0 NOT proven"))
        fail_msg("audit: exit %d\n%s", rc, aout);

    /* the three replays show the recalculation as such, proven */
    const char *r3[] = {"replay", "--pg", pg, "--application", a.app_id, NULL};
    rc = cli_run("kandava", aout, sizeof aout, r3);
    if (rc != 0 || !strstr(aout, "recalculated at the GMI level change of 2021-01-01: granted 161.00 from that day "
                                 "(proven from the log)") || strstr(aout, "overridden by people"))
        fail_msg("replay: exit %d\n%s", rc, aout);

    /* Change one letter of the recalculation's explanation, bypassing the log's guards
       (the superuser switching the immutability triggers off), as a side door would. */
    snprintf(sql, sizeof sql,
             "ALTER TABLE atb.events DISABLE TRIGGER USER; "
             "UPDATE atb.events SET payload = overlay(payload PLACING convert_to('X', 'UTF8') FROM "
             "position(convert_to('recalculated under the new level', 'UTF8') IN payload) FOR 1) WHERE "
             "stream_id = 'decision-%s' AND type = 'DecisionOverridden' AND "
             "position(convert_to('recalculated under the new level', 'UTF8') IN payload) > 0; "
             "ALTER TABLE atb.events ENABLE TRIGGER USER; SELECT 1",
             a.app_id);
    assert_int_equal(sh_sql(&P.sv, sql), 1);
    rc = cli_run("kandava", aout, sizeof aout, text);
    char line[160];
    snprintf(line, sizeof line, "NOT PROVEN  %s recalculation of decision 2 (DecisionOverridden", a.app_id);
    if (rc != 2 || !strstr(aout, line) || !strstr(aout, "4 proven, 0 NOT proven; recalculations at a GMI level "
                                                        "change: 1 replayed, 0 proven, 1 NOT proven"))
        fail_msg("tampered audit: exit %d\n%s", rc, aout);
    rc = cli_run("kandava", aout, sizeof aout, r3);
    if (rc != 2 || !strstr(aout, "recalculated at the GMI level change of 2021-01-01: granted 161.00 from that day "
                                 "(NOT PROVEN: see audit)"))
        fail_msg("tampered replay: exit %d\n%s", rc, aout);
    /* the same finding with threads and for the application alone, with the step and both values */
    j = audit_json(2, 2, "--application", a.app_id);
    assert_int_equal(json_int(j, "decisions"), 2);
    assert_int_equal(json_int(j, "proven"), 2);
    assert_int_equal(json_int(j, "recalculations_not_proven"), 1);
    json_t *m = json_array_get(json_object_get(j, "mismatches"), 0);
    assert_non_null(m);
    assert_string_equal(json_string_value(json_object_get(m, "kind")), "recalculation");
    assert_string_equal(json_string_value(json_object_get(m, "application")), a.app_id);
    assert_string_equal(json_string_value(json_object_get(m, "where")), "step");
    assert_true(json_int(m, "step") > 0);
    const char *rec = json_string_value(json_object_get(m, "recorded"));
    const char *rep = json_string_value(json_object_get(m, "replayed"));
    assert_non_null(strstr(rec, "Xecalculated under the new level"));
    assert_non_null(strstr(rep, "recalculated under the new level"));
    assert_string_equal(json_string_value(json_object_get(m, "field")), "result");
    json_decref(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_grant_crossing_a_change_is_recalculated_where_the_rules_say_so),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
