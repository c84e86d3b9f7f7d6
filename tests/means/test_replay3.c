/*
 * test_replay3.c -- three replays side by side (services/means/simulate_replay3.c,
 * atbalsts replay) on a household whose rule set was corrected after its decision.
 *
 * A family is decided in March 2018 with the national GMI level 53.00 (3 x 53.00 - 100.00
 * = 59.00 a month). Then the rule set is corrected: the service restarts with national.yaml
 * saying 54.00 for 2018 and publishes the new version. The law as known today gives
 * 3 x 54.00 - 100.00 = 62.00: a possible underpayment of 3.00 for each month of the grant.
 * A second correction to 52.00 makes the same decision a possible overpayment of 3.00 a
 * month. A draft (national, 55.00) is the what-if column: 65.00.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <jansson.h>

#include "at_money.h"
#include "at_uuid.h"
#include "meanshelp.h"
#include "simulate.h"

static mh M;
static char dirs[2][1024];
static char draft_path[1024];

/* ---- rule files with the 2018-2019 GMI level changed */

static int setup(void **state)
{
    (void)state;
    mh_prepare(&M);
    mh_start(&M, NULL);
    mh_rulesets_at_level(RULESETS_DIR, TEST_TMP_DIR, "54.00", dirs[0], sizeof dirs[0]);
    mh_rulesets_at_level(RULESETS_DIR, TEST_TMP_DIR, "52.00", dirs[1], sizeof dirs[1]);
    snprintf(draft_path, sizeof draft_path, "%s/draft-national-XXXXXX.yaml", TEST_TMP_DIR);
    int fd = mkstemps(draft_path, 5);
    assert_true(fd >= 0);
    close(fd);
    mh_copy_changed(RULESETS_DIR "/national.yaml", draft_path, "value: \"53.00\"", "value: \"55.00\"");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    mh_remove_dir(dirs[0]);
    mh_remove_dir(dirs[1]);
    unlink(draft_path);
    mh_cleanup(&M);
    return 0;
}

static void assess_ok(mh_family *f, int64_t want_gmi)
{
    Atb__V1__AssessReply *r = mh_assess(&M, "daugavpils", &f->cmd);
    if (r->error && r->error->code)
        fail_msg("error %s (%s)", r->error->message, r->error->detail);
    assert_int_equal(r->decisions[1]->result->amount_cents, want_gmi);
    atb__v1__assess_reply__free_unpacked(r, NULL);
}

/* Restart the service on `dir` (NULL = the source tree's) and decide a fresh family so
 * the set of the directory is in the log. */
static void restart_on(const char *dir, int64_t want_gmi)
{
    assert_int_equal(mh_stop(&M), 0);
    mh_start(&M, dir);
    mh_family f;
    mh_family_init(&f, 2018, 3, 15, 10000);
    assess_ok(&f, want_gmi);
}

typedef struct rows {
    r3_row r[8];
    size_t n;
} rows;

static at_code keep(const r3_row *row, void *ctx)
{
    rows *x = ctx;
    assert_true(x->n < 8);
    x->r[x->n++] = *row;
    return AT_OK;
}

static void replay3(const char *app, const sim_draft *draft, rows *out)
{
    es_store *es = NULL;
    ruleset_cache *rc = NULL;
    at_error err;
    assert_int_equal(sim_open_readonly(M.sv.pg_url, "test-replay3", &es, &err), AT_OK);
    assert_int_equal(ruleset_cache_open(NULL, &rc, &err), AT_OK);
    r3_opts o = {.tenant = "daugavpils", .application = app, .from = AT_DATE_NONE, .to = AT_DATE_NONE,
                 .draft = draft};
    memset(out, 0, sizeof *out);
    if (r3_run(es, rc, &o, keep, out, &err) != AT_OK)
        fail_msg("replay: %s", err.message);
    ruleset_cache_free(rc);
    es_close(es);
}

static int64_t months(const sim_result *r)
{
    int y1, m1, d1, y2, m2, d2;
    at_date_to_ymd(r->period.from, &y1, &m1, &d1);
    at_date_to_ymd(r->period.to, &y2, &m2, &d2);
    return (int64_t)(y2 - y1) * 12 + (m2 - m1) + 1;
}

static void a_corrected_rule_set_shows_the_difference_labelled(void **state)
{
    (void)state;
    int64_t head0 = sh_sql(&M.sv, "SELECT coalesce(max(position), 0) FROM atb.events");
    mh_family f;
    mh_family_init(&f, 2018, 3, 15, 10000);
    assess_ok(&f, 5900);
    rows x;
    replay3(f.app_id, NULL, &x);
    /* before any correction: (b) is (a) */
    assert_int_equal(x.n, 2);
    for (size_t i = 0; i < x.n; i++) {
        assert_true(x.r[i].proven);
        assert_int_equal(x.r[i].label, R3_SAME);
        assert_string_equal(x.r[i].version_a, x.r[i].version_b);
        assert_false(x.r[i].has_c);
    }
    char va[65];
    snprintf(va, sizeof va, "%s", x.r[1].version_a);

    /* corrected upwards after the decision: a possible underpayment */
    restart_on(dirs[0], 6200);
    sim_draft *d = NULL;
    at_error err;
    if (sim_draft_open(RULESETS_DIR, draft_path, &d, &err) != AT_OK)
        fail_msg("draft: %s", err.message);
    assert_string_equal(sim_draft_scope(d), "national");
    replay3(f.app_id, d, &x);
    assert_int_equal(x.n, 2);
    const r3_row *s = &x.r[0], *g = &x.r[1];
    assert_string_equal(s->benefit, "status:needy");
    assert_int_equal(s->label, R3_SAME);                 /* the status does not use the GMI level */
    assert_string_equal(g->benefit, "GMI");
    assert_true(g->proven);                              /* (a) still proves with its own version */
    assert_string_equal(g->version_a, va);
    assert_string_not_equal(g->version_b, va);
    assert_true(g->position_b > 0);
    assert_int_equal(g->a.amount, 5900);
    assert_int_equal(g->b.amount, 6200);
    assert_int_equal(g->label, R3_UNDERPAYMENT);
    int64_t m = months(&g->a);
    assert_true(m >= 1);
    assert_int_equal(g->difference, 300 * m);
    assert_int_equal(g->a.cost, 5900 * m);
    assert_true(g->has_c);
    assert_int_equal(g->c.amount, 6500);                 /* 3 x 55.00 - 100.00 */
    sim_draft_free(d);

    /* the command line says the same */
    static char out[1 << 16];
    const char *args[] = {CLI_PATH, "--tenant", "daugavpils", "replay", "--application", f.app_id, "--pg",
                          M.sv.pg_url, "--json", NULL};
    assert_int_equal(mh_run_cli(CLI_PATH, TEST_TMP_DIR, args, out, sizeof out), 0);
    json_error_t je;
    json_t *j = json_loads(out, 0, &je);
    if (!j)
        fail_msg("not JSON: %s\n%s", je.text, out);
    assert_int_equal(json_integer_value(json_object_get(j, "possible_underpayments")), 1);
    assert_int_equal(json_integer_value(json_object_get(j, "underpaid_cents")), 300 * m);
    json_t *row = json_array_get(json_object_get(j, "rows"), 1);
    assert_string_equal(json_string_value(json_object_get(row, "label")), "possible underpayment");
    json_decref(j);
    const char *text_args[] = {CLI_PATH, "--tenant", "daugavpils", "replay", "--application", f.app_id, "--pg",
                               M.sv.pg_url, NULL};
    assert_int_equal(mh_run_cli(CLI_PATH, TEST_TMP_DIR, text_args, out, sizeof out), 0);
    if (getenv("MEANS_SHOW"))
        fprintf(stderr, "%s", out);
    char want[64], amount[32];
    at_cents_format(300 * m, amount, sizeof amount);
    snprintf(want, sizeof want, "=> possible underpayment of %s", amount);
    if (!strstr(out, want))
        fail_msg("no \"%s\" in\n%s", want, out);

    /* corrected downwards: the same decision is now a possible overpayment */
    restart_on(dirs[1], 5600);
    replay3(f.app_id, NULL, &x);
    g = &x.r[1];
    assert_int_equal(g->b.amount, 5600);
    assert_int_equal(g->label, R3_OVERPAYMENT);
    assert_int_equal(g->difference, -300 * m);
    assert_true(g->proven);

    /* the replays themselves write nothing */
    int64_t head = sh_sql(&M.sv, "SELECT coalesce(max(position), 0) FROM atb.events");
    replay3(f.app_id, NULL, &x);
    assert_int_equal(sh_sql(&M.sv, "SELECT coalesce(max(position), 0) FROM atb.events"), head);
    assert_true(head > head0);
}

static void a_period_replays_every_decision_and_an_unknown_application_is_not_found(void **state)
{
    (void)state;
    es_store *es = NULL;
    ruleset_cache *rc = NULL;
    at_error err;
    assert_int_equal(sim_open_readonly(M.sv.pg_url, "test-replay3", &es, &err), AT_OK);
    assert_int_equal(ruleset_cache_open(NULL, &rc, &err), AT_OK);
    at_date from, to;
    at_date_from_ymd(2018, 1, 1, &from);
    at_date_from_ymd(2018, 12, 31, &to);
    r3_opts o = {.tenant = "daugavpils", .from = from, .to = to};
    rows x;
    memset(&x, 0, sizeof x);
    assert_int_equal(r3_run(es, rc, &o, keep, &x, &err), AT_OK);
    int64_t decisions = sh_sql(&M.sv, "SELECT count(*) FROM atb.events WHERE category = 'decision'");
    assert_int_equal((int64_t)x.n, decisions);
    for (size_t i = 0; i < x.n; i++) {
        assert_true(x.r[i].proven);
        assert_true(x.r[i].b.decided);
        /* every GMI is judged against the newest correction, 52.00 */
        if (strcmp(x.r[i].benefit, "GMI") == 0)
            assert_int_equal(x.r[i].b.amount, 5600);
    }
    char id[37];
    at_uuid_v4(id);
    o.application = id;
    assert_int_equal(r3_run(es, rc, &o, keep, &x, &err), AT_NOT_FOUND);
    o.application = "not-a-uuid";
    assert_int_equal(r3_run(es, rc, &o, keep, &x, &err), AT_VALIDATION);
    ruleset_cache_free(rc);
    es_close(es);
}

int main(void)
{
    t_require_servers(1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_corrected_rule_set_shows_the_difference_labelled),
        cmocka_unit_test(a_period_replays_every_decision_and_an_unknown_application_is_not_found),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
