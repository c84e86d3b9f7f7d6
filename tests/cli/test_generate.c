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
 *
 * A council's draft over a generated year (run with the argument "simulate"): a Tērvete
 * year, then `atbalsts simulate --json` with national.yaml's 2020 GMI level raised by
 * 10 %. The expected figures are computed here from the log's decision events alone:
 * each recorded input decided again with libs/rules under both rule sets, the needy
 * status of the application's first ask carried into its GMI ask's history, the cost
 * counted per calendar month of the grant. The GMI cost change must equal their sum to
 * the cent, and the gain/lose/new/drop household counts must equal the ones counted here.
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

#include <libpq-fe.h>

#include "at_buf.h"
#include "at_date.h"
#include "meanshelp.h"
#include "means_core.h"
#include "simulate.h"
#include "skeleton.h"

#define SEED "5"   /* at this scale: appeals, care requests and a crisis admission planned */
#define SCALE "12"
#define SIM_SCALE "40"   /* enough households for every group the draft makes */

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

/* Safe to call twice: a case's teardown calls it again after the case stopped it. */
static void stop_platform(void)
{
    if (!sk.client)
        return;
    if (allocation_pid > 0) {
        kill(allocation_pid, SIGTERM);
        waitpid(allocation_pid, NULL, 0);
        allocation_pid = 0;
    }
    sk_stop_services();
    at_error err;
    bus_stream_delete(sk.client, &err);
    bus_close(sk.client);
    sk.client = NULL;
    t_db_drop(&sk.db);
}

static json_t *year_at(const char *scale, const char *out_dir, const char *log)
{
    json_t *j = NULL;
    int code = CLI(&j, "generate", "--preset", "tervete", "--scale", scale, "--seed", SEED, "--concurrency", "8",
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

static json_t *year(const char *out_dir, const char *log)
{
    return year_at(SCALE, out_dir, log);
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

/* ---- a council's draft over the generated year ----------------------------------------- */

/* The expected figures of a draft, computed here from the log's decision events alone:
 * each recorded input decided again with libs/rules under the current and the draft rule
 * set, needy status first, so the GMI ask's history holds the status that set decided. */
typedef struct gs_expect {
    long decisions;                   /* GMI decisions not replaced by an override */
    int64_t before, after;            /* their cost, cents */
    long gain, lose, fresh, drop;     /* households, as docs/rules.md defines the groups */
} gs_expect;

typedef struct gs_row {
    Atb__V1__Decision *d;
    int64_t cost[2];
    bool granted[2];
    bool gmi;
} gs_row;

static rules_set *gs_load(const char *national_path)
{
    size_t n1, n2;
    char *b1 = mh_slurp(national_path, &n1), *b2 = mh_slurp(RULESETS_DIR "/tervete.yaml", &n2);
    rules_source src[2] = {{"national.yaml", b1, n1}, {"tervete.yaml", b2, n2}};
    rules_set *s = NULL;
    at_error err;
    if (rules_set_load(src, 2, &s, &err) != AT_OK)
        fail_msg("load %s: %s", national_path, err.message);
    free(b1);
    free(b2);
    return s;
}

/* A grant per month costs its amount for each calendar month its period touches, one
 * month without a period or with an open end (services/means/simulate.h). */
static int64_t gs_cost(const rules_decision *g)
{
    if (g->outcome != RULES_GRANTED || !g->has_amount)
        return 0;
    assert_int_equal(g->per, RULES_PER_MONTH);
    if (g->period.from == AT_DATE_NONE || g->period.to == AT_DATE_NONE)
        return g->amount;
    int y1, m1, d1, y2, m2, d2;
    at_date_to_ymd(g->period.from, &y1, &m1, &d1);
    at_date_to_ymd(g->period.to, &y2, &m2, &d2);
    return g->amount * ((int64_t)(y2 - y1) * 12 + (m2 - m1) + 1);
}

static int gs_by_application(const void *x, const void *y)
{
    const gs_row *a = x, *b = y;
    int c = strcmp(a->d->application_id, b->d->application_id);
    return c ? c : a->d->ask_index - b->d->ask_index;
}

/* d as a proto Date in *p; NULL for AT_DATE_NONE (not given). */
static Atb__V1__Date *gs_date(Atb__V1__Date *p, at_date d)
{
    if (d == AT_DATE_NONE)
        return NULL;
    int y, m, dd;
    at_date_to_ymd(d, &y, &m, &dd);
    atb__v1__date__init(p);
    p->year = y;
    p->month = m;
    p->day = dd;
    return p;
}

/* Decide one recorded input under `set`, the facts of the application's earlier asks
 * replaced by what `set` decided for them (earlier[k], status NONE when refused). */
static const rules_decision *gs_decide(const rules_set *set, Atb__V1__DecisionInput *in,
                                       const rules_decision earlier[8], at_arena *a, rules_result **r)
{
    char mine[64];
    snprintf(mine, sizeof mine, "decision-%s/", in->application_id);
    Atb__V1__HouseholdHistory none = ATB__V1__HOUSEHOLD_HISTORY__INIT, *hist = in->history ? in->history : &none;
    for (size_t i = 0; i < hist->n_grants; i++)
        if (strncmp(hist->grants[i]->source, mine, strlen(mine)) == 0)
            fail_msg("a grant of an earlier ask in %s's history: not handled here", in->application_id);
    Atb__V1__StatusFact *kept[16], fresh[8];
    Atb__V1__Date dates[16];
    size_t n = 0;
    assert_true(hist->n_statuses <= 8);
    for (size_t i = 0; i < hist->n_statuses; i++)
        if (strncmp(hist->statuses[i]->source, mine, strlen(mine)) != 0)
            kept[n++] = hist->statuses[i];
    for (int k = 1; k < in->ask_index && k < 8; k++) {
        const rules_decision *e = &earlier[k];
        if (e->outcome != RULES_GRANTED || e->status == RULES_STATUS_NONE)
            continue;
        Atb__V1__StatusFact *f = &fresh[k];
        atb__v1__status_fact__init(f);
        f->status = e->status == RULES_STATUS_NEEDY ? ATB__V1__MEANS_STATUS__MEANS_STATUS_NEEDY
                                                    : ATB__V1__MEANS_STATUS__MEANS_STATUS_LOW_INCOME;
        f->from = gs_date(&dates[2 * k], e->period.from);
        f->to = gs_date(&dates[2 * k + 1], e->period.to);
        f->source = mine;
        kept[n++] = f;
    }
    Atb__V1__HouseholdHistory h = *hist, *recorded = in->history;
    h.statuses = kept;
    h.n_statuses = n;
    in->history = &h;
    decision_rules dr;
    at_error err;
    if (decision_to_rules(in, "application", a, &dr, &err) != AT_OK)
        fail_msg("input of %s/%d: %s", in->application_id, in->ask_index, err.message);
    in->history = recorded;
    if (rules_decide(set, &dr.h, &dr.a, &dr.hist, r, &err) != AT_OK)
        fail_msg("decide %s/%d: %s", in->application_id, in->ask_index, err.message);
    return rules_result_decision(*r);
}

static void gs_expected(const char *pg, const rules_set *sets[2], gs_expect *e)
{
    memset(e, 0, sizeof *e);
    PGconn *c = PQconnectdb(pg);
    assert_int_equal(PQstatus(c), CONNECTION_OK);
    /* The decisions of the year, without those a person later replaced (an appeal's
     * override): the simulation leaves those out. */
    PGresult *q = PQexecParams(c,
                               "SELECT e.payload FROM atb.events e WHERE e.tenant = 'tervete' AND e.type IN "
                               "('StatusGranted','StatusRefused','BenefitGranted','BenefitRefused') "
                               "ORDER BY e.position",
                               0, NULL, NULL, NULL, NULL, 1);
    assert_int_equal(PQresultStatus(q), PGRES_TUPLES_OK);
    PGresult *o = PQexecParams(c, "SELECT payload FROM atb.events WHERE tenant = 'tervete' AND type = "
                                  "'DecisionOverridden'", 0, NULL, NULL, NULL, NULL, 1);
    assert_int_equal(PQresultStatus(o), PGRES_TUPLES_OK);
    at_arena *a = at_arena_new(1 << 20);
    size_t n = (size_t)PQntuples(q), kept = 0;
    gs_row *rows = calloc(n ? n : 1, sizeof *rows);
    assert_non_null(rows);
    for (size_t i = 0; i < n; i++) {
        Atb__V1__StatusGranted *m = atb__v1__status_granted__unpack(
            at_arena_pbc(a), (size_t)PQgetlength(q, (int)i, 0), (const uint8_t *)PQgetvalue(q, (int)i, 0));
        assert_non_null(m);
        assert_non_null(m->decision);
        bool replaced = false;
        for (int k = 0; k < PQntuples(o) && !replaced; k++) {
            Atb__V1__DecisionOverridden *ov = atb__v1__decision_overridden__unpack(
                at_arena_pbc(a), (size_t)PQgetlength(o, k, 0), (const uint8_t *)PQgetvalue(o, k, 0));
            assert_non_null(ov);
            replaced = strcmp(ov->application_id, m->decision->application_id) == 0 &&
                       ov->ask_index == m->decision->ask_index;
        }
        if (!replaced)
            rows[kept++].d = m->decision;
    }
    qsort(rows, kept, sizeof *rows, gs_by_application);
    for (size_t i = 0; i < kept;) {
        size_t end = i;
        while (end < kept && strcmp(rows[end].d->application_id, rows[i].d->application_id) == 0)
            end++;
        for (int s = 0; s < 2; s++) {
            rules_decision earlier[8];
            memset(earlier, 0, sizeof earlier);
            rules_result *held[8] = {0};
            for (size_t j = i; j < end; j++) {
                gs_row *w = &rows[j];
                assert_true(w->d->ask_index >= 1 && w->d->ask_index < 8);
                rules_result *r = NULL;
                const rules_decision *g = gs_decide(sets[s], w->d->input, earlier, a, &r);
                earlier[w->d->ask_index] = *g;
                held[w->d->ask_index] = r;
                w->gmi = g->ask == RULES_ASK_GMI;
                w->granted[s] = g->outcome == RULES_GRANTED;
                w->cost[s] = gs_cost(g);
                /* under the current set the recorded result comes out again */
                if (s == 0) {
                    const Atb__V1__DecisionResult *rec = w->d->result;
                    assert_int_equal(w->granted[0],
                                     rec->outcome == ATB__V1__DECISION_OUTCOME__DECISION_OUTCOME_GRANTED);
                    if (w->granted[0] && g->has_amount)
                        assert_int_equal(g->amount, rec->amount_cents);
                }
            }
            for (int k = 0; k < 8; k++)
                rules_result_free(held[k]);
        }
        i = end;
    }
    /* Per household: GMI granted at all before / after, and the sums of its GMI costs. */
    for (size_t i = 0; i < kept; i++) {
        if (!rows[i].gmi)
            continue;
        e->decisions++;
        e->before += rows[i].cost[0];
        e->after += rows[i].cost[1];
        const char *hh = rows[i].d->input->household->id;
        bool first = true;
        for (size_t j = 0; j < i; j++)
            first = first && !(rows[j].gmi && strcmp(rows[j].d->input->household->id, hh) == 0);
        if (!first)
            continue;
        bool gb = false, ga = false;
        int64_t b = 0, af = 0;
        for (size_t j = i; j < kept; j++)
            if (rows[j].gmi && strcmp(rows[j].d->input->household->id, hh) == 0) {
                gb = gb || rows[j].granted[0];
                ga = ga || rows[j].granted[1];
                b += rows[j].cost[0];
                af += rows[j].cost[1];
            }
        if (gb && ga && af > b)
            e->gain++;
        else if (gb && ga && af < b)
            e->lose++;
        else if (!gb && ga)
            e->fresh++;
        else if (gb && !ga)
            e->drop++;
    }
    free(rows);
    at_arena_free(a);
    PQclear(q);
    PQclear(o);
    PQfinish(c);
}

static const json_t *gs_line(const json_t *report, const char *benefit)
{
    const json_t *lines = json_object_get(report, "lines");
    for (size_t i = 0; i < json_array_size(lines); i++) {
        const json_t *l = json_array_get(lines, i);
        if (strcmp(json_string_value(json_object_get(l, "benefit")), benefit) == 0)
            return l;
    }
    fail_msg("no %s line", benefit);
    return NULL;
}

static void a_draft_raising_gmi_costs_exactly_the_sum_of_household_differences(void **state)
{
    (void)state;
    char dir[256], log[300], draft[300], pg[600];
    snprintf(dir, sizeof dir, "%s/gen%d-sim", TEST_TMP_DIR, (int)getpid());
    snprintf(log, sizeof log, "%s/commands.txt", dir);
    snprintf(draft, sizeof draft, "%s/draft-national.yaml", dir);
    mkdir(dir, 0755);
    start_platform();
    json_t *y = year_at(SIM_SCALE, dir, log);
    assert_true(jint(y, "year.gmi_granted") > 0);
    t_db_conninfo(&sk.db, NULL, pg, sizeof pg);

    /* The generated year is 2020 (docs/generate.md): Tērvete sets no GMI level of its own,
     * so its decisions read the national per-person gmi.level, 64.00; the draft raises it
     * by 10 %. */
    mh_copy_changed(RULESETS_DIR "/national.yaml", draft, "value: \"64.00\"", "value: \"70.40\"");
    const rules_set *sets[2] = {gs_load(RULESETS_DIR "/national.yaml"), gs_load(draft)};
    gs_expect e;
    gs_expected(pg, sets, &e);

    int64_t head = sk_sql_int("SELECT max(position) FROM atb.events");
    json_t *j = NULL;
    assert_int_equal(CLI(&j, "--tenant", "tervete", "simulate", "--draft", draft, "--rulesets", RULESETS_DIR, "--pg",
                         pg, "--from", "2020-01-01", "--to", "2020-12-31", "--json"),
                     0);
    assert_non_null(j);
    assert_int_equal(sk_sql_int("SELECT max(position) FROM atb.events"), head);
    const json_t *g = gs_line(j, "GMI"), *h = json_object_get(g, "households");
    if (getenv("ATB_TEST_VERBOSE"))
        fprintf(stderr, "GMI: %ld decisions, %lld -> %lld; gain %ld lose %ld new %ld drop %ld; %lld overridden\n",
                e.decisions, (long long)e.before, (long long)e.after, e.gain, e.lose, e.fresh, e.drop,
                (long long)jint(j, "overridden"));
    assert_int_equal(jint(j, "undecidable"), 0);
    assert_int_equal(jint(g, "decisions"), e.decisions);
    assert_int_equal(jint(g, "cost_before_cents"), e.before);
    assert_int_equal(jint(g, "cost_after_cents"), e.after);
    assert_int_equal(jint(g, "change_cents"), e.after - e.before);
    assert_true(e.after - e.before > 0);
    assert_int_equal(jint(h, sim_group_name(SIM_GAIN)), e.gain);
    assert_int_equal(jint(h, sim_group_name(SIM_LOSE)), e.lose);
    assert_int_equal(jint(h, sim_group_name(SIM_NEW)), e.fresh);
    assert_int_equal(jint(h, sim_group_name(SIM_DROP)), e.drop);
    assert_true(e.gain > 0);
    assert_true(e.fresh > 0);   /* at this scale the seed has households between 64.00 and 70.40 */
    json_decref(j);
    json_decref(y);
    rules_set_free((rules_set *)sets[0]);
    rules_set_free((rules_set *)sets[1]);
    unlink(draft);
}

/* The platform stops even when an assertion ended the case early. */
static int gs_teardown(void **state)
{
    (void)state;
    stop_platform();
    return 0;
}

/* No argument: the shape and the year. "simulate": a council's draft over a generated
 * year (its own ctest entry, test_cli_generate_simulate). */
int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "simulate") == 0) {
        t_require_servers(1);
        const struct CMUnitTest sim[] = {
            cmocka_unit_test_teardown(a_draft_raising_gmi_costs_exactly_the_sum_of_household_differences, gs_teardown),
        };
        return cmocka_run_group_tests_name("generate_simulate", sim, NULL, NULL);
    }
    const struct CMUnitTest shape[] = {
        cmocka_unit_test(daugavpils_has_the_documents_shape),
        cmocka_unit_test(scale_and_seed_shape_the_plan),
        cmocka_unit_test(bad_options_are_usage_errors),
    };
    int failed = cmocka_run_group_tests_name("generate_shape", shape, NULL, NULL);
    t_require_servers(1);
    const struct CMUnitTest run[] = {
        cmocka_unit_test_teardown(a_year_runs_through_and_repeats_exactly, gs_teardown),
    };
    return failed | cmocka_run_group_tests_name("generate_year", run, NULL, NULL);
}
