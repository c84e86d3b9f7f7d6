/*
 * test_report_html.c -- the assistance report as an HTML page, from real data, opened in
 * headless Chromium.
 *
 * A scripted quarter is appended to the log (real protobuf bytes), published by
 * atbalsts-relay and projected by atbalsts-reporting; the report is asked over NATS for the
 * quarter, for each month and for the year, and rendered (Latvian) with cli_report_html_ex.
 * Chromium then takes a screenshot (kept as ARTEFACT_DIR/test_report_html.png with the page
 * next to it) and dumps the rendered DOM with console logging on stderr. The test checks
 * the screenshot is not blank and shows the bar colour, the DOM has every chart's <svg>
 * and the figures known by construction, and the console has no error.
 *
 * The quarter, asked for 2026-01-01..2026-03-31 (H = household [members]):
 *   daugavpils A1 H1 [2]: decided 2026-01-10: NEEDY 2026-01-01..2026-06-30,
 *                         GMI 100.00/month 2026-01-01..2026-03-31 (Jan, Feb, Mar: 300.00)
 *              A2 H2 [3]: decided 2026-02-05: LOW_INCOME 2026-02-01..2026-07-31, BIRTH 200.00 once
 *   kandava    A3 H3 [1]: decided 2026-03-12: NEEDY 2026-03-01..2026-08-31,
 *                         HOUSING 50.00/month 2026-03-01..2026-03-31
 * Amount granted by month: Jan 100.00, Feb 300.00, Mar 150.00; the quarter 550.00.
 *
 * Without chromium on PATH (or ATB_CHROMIUM) the test exits 77 (skipped); scripts/deps.sh
 * installs it, so CI runs it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "at_uuid.h"
#include "chromium.h"
#include "cli_report_html.h"
#include "es.h"
#include "reporting.h"
#include "rlog.h"
#include "skeleton.h"
#include "atb/v1/intake.pb-c.h"
#include "atb/v1/means.pb-c.h"
#include "atb/v1/reporting.pb-c.h"

static rl_log L;   /* appends as the means and intake services would */
static const char *chromium;

static void application(const char *tenant, const char *app, Atb__V1__Date on)
{
    Atb__V1__Date deadline = on;
    deadline.month += 1;   /* the scripted days are early in a month: one month later exists */
    rl_received(&L, tenant, app, on, deadline);
}

/* A granted decision: a status (benefit NULL) or a benefit with an amount. */
static void granted(const char *tenant, const char *app, int ask_index, const rl_household *h, Atb__V1__Date on,
                    Atb__V1__AskKind ask, Atb__V1__MeansStatus status, const char *benefit, Atb__V1__Date from,
                    Atb__V1__Date to, int64_t amount, Atb__V1__AmountPer per)
{
    Atb__V1__DecisionResult r = ATB__V1__DECISION_RESULT__INIT;
    r.outcome = ATB__V1__DECISION_OUTCOME__DECISION_OUTCOME_GRANTED;
    r.ask = ask;
    r.benefit = (char *)(benefit ? benefit : "");
    r.status = status;
    r.period_from = &from;
    r.period_to = &to;
    r.has_amount = amount > 0;
    r.amount_cents = amount;
    r.per = per;
    r.budget_code = amount > 0 ? "6200" : "";
    rl_decision(&L, tenant, app, ask_index, h, on, r);
}

static rl_household household_new(int n)
{
    rl_household h;
    rl_household_new(&h, n);
    return h;
}

static void script_the_quarter(void)
{
    char a1[37], a2[37], a3[37];
    at_uuid_v4(a1), at_uuid_v4(a2), at_uuid_v4(a3);
    rl_household h1 = household_new(2), h2 = household_new(3), h3 = household_new(1);
    const Atb__V1__AmountPer month = ATB__V1__AMOUNT_PER__AMOUNT_PER_MONTH;
    application("daugavpils", a1, sk_date(2026, 1, 5));
    granted("daugavpils", a1, 0, &h1, sk_date(2026, 1, 10), ATB__V1__ASK_KIND__ASK_KIND_NEEDY_STATUS,
            ATB__V1__MEANS_STATUS__MEANS_STATUS_NEEDY, NULL, sk_date(2026, 1, 1), sk_date(2026, 6, 30), 0, 0);
    granted("daugavpils", a1, 1, &h1, sk_date(2026, 1, 10), ATB__V1__ASK_KIND__ASK_KIND_GMI, 0, "GMI",
            sk_date(2026, 1, 1), sk_date(2026, 3, 31), 10000, month);
    rl_decided(&L, "daugavpils", a1);
    application("daugavpils", a2, sk_date(2026, 2, 2));
    granted("daugavpils", a2, 0, &h2, sk_date(2026, 2, 5), ATB__V1__ASK_KIND__ASK_KIND_LOW_INCOME_STATUS,
            ATB__V1__MEANS_STATUS__MEANS_STATUS_LOW_INCOME, NULL, sk_date(2026, 2, 1), sk_date(2026, 7, 31), 0, 0);
    granted("daugavpils", a2, 1, &h2, sk_date(2026, 2, 5), ATB__V1__ASK_KIND__ASK_KIND_BENEFIT, 0, "BIRTH",
            sk_date(2026, 2, 5), sk_date(2026, 2, 5), 20000, ATB__V1__AMOUNT_PER__AMOUNT_PER_ONCE);
    rl_decided(&L, "daugavpils", a2);
    application("kandava", a3, sk_date(2026, 3, 2));
    granted("kandava", a3, 0, &h3, sk_date(2026, 3, 12), ATB__V1__ASK_KIND__ASK_KIND_NEEDY_STATUS,
            ATB__V1__MEANS_STATUS__MEANS_STATUS_NEEDY, NULL, sk_date(2026, 3, 1), sk_date(2026, 8, 31), 0, 0);
    granted("kandava", a3, 1, &h3, sk_date(2026, 3, 12), ATB__V1__ASK_KIND__ASK_KIND_HOUSING, 0, "HOUSING",
            sk_date(2026, 3, 1), sk_date(2026, 3, 31), 5000, month);
    rl_decided(&L, "kandava", a3);
    assert_int_equal(sk_wait_sql(L.last_decision, 30000,
                                 "SELECT position FROM atb.checkpoints WHERE consumer = '" DECISIONS_CONSUMER "'"),
                     L.last_decision);
    assert_int_equal(sk_wait_sql(L.last_application, 30000,
                                 "SELECT position FROM atb.checkpoints WHERE consumer = '" APPLICATIONS_CONSUMER
                                 "'"),
                     L.last_application);
}

static const char *const REGION[] = {"daugavpils", "kandava"};

static Atb__V1__AssistanceReportReply *report(Atb__V1__Date from, Atb__V1__Date to)
{
    Atb__V1__AssistanceReport q = ATB__V1__ASSISTANCE_REPORT__INIT;
    q.tenants = (char **)REGION;
    q.n_tenants = 2;
    q.from = &from;
    q.to = &to;
    Atb__V1__AssistanceReportReply *r = (Atb__V1__AssistanceReportReply *)sk_call(
        "qry", "daugavpils", "reporting", "AssistanceReport", &q.base, &atb__v1__assistance_report_reply__descriptor);
    assert_true(r->error == NULL || r->error->code == 0);
    assert_non_null(r->total);
    return r;
}

static void the_report_opens_in_chromium_with_its_charts(void **state)
{
    (void)state;
    script_the_quarter();
    Atb__V1__AssistanceReportReply *q = report(sk_date(2026, 1, 1), sk_date(2026, 3, 31));
    Atb__V1__AssistanceReportReply *m[3], *y;
    y = report(sk_date(2026, 1, 1), sk_date(2026, 12, 31));
    static const int last_day[] = {31, 28, 31};
    for (int i = 0; i < 3; i++)
        m[i] = report(sk_date(2026, i + 1, 1), sk_date(2026, i + 1, last_day[i]));
    /* by construction */
    assert_int_equal(q->total->needy->households, 2);
    assert_int_equal(q->total->needy->persons, 3);
    assert_int_equal(q->total->low_income->households, 1);
    assert_int_equal(q->total->decisions, 6);
    int64_t sum = 0;
    for (size_t k = 0; k < q->total->n_benefits; k++)
        sum += q->total->benefits[k]->amount_cents;
    assert_int_equal(sum, 55000);

    cli_html_point months[3] = {{"2026-01", &m[0]->base}, {"2026-02", &m[1]->base}, {"2026-03", &m[2]->base}};
    cli_html_point years[1] = {{"2026", &y->base}};
    cli_html_ctx ctx = {.from = "2026-01-01", .to = "2026-03-31", .months = months, .n_months = 3, .years = years,
                        .n_years = 1};
    char html[600];
    snprintf(html, sizeof html, "%s/test_report_html.html", ARTEFACT_DIR);
    at_error err;
    assert_int_equal(cli_report_html_ex(html, "assistance", &q->base, &ctx, "lv", &err), AT_OK);
    protobuf_c_message_free_unpacked(&q->base, NULL);
    protobuf_c_message_free_unpacked(&y->base, NULL);
    for (int i = 0; i < 3; i++)
        protobuf_c_message_free_unpacked(&m[i]->base, NULL);

    chr_page pg;
    assert_int_equal(chr_open(chromium, html, ARTEFACT_DIR, "test_report_html", 1280, 2600, &pg), 0);

    long differ, bar, total;
    chr_png_census(pg.png, 0x1f5f8b, &differ, &bar, &total);   /* the bars' colour */
    assert_true(total >= 1280L * 600);
    assert_true(differ > total / 100);   /* text, tables and charts: not a blank page */
    assert_true(bar > 500);              /* the bars and columns were drawn */

    char *d = chr_slurp(pg.dom);
    /* 2 benefit charts, 3 by month, 2 by year */
    assert_int_equal(chr_count(d, "<svg"), 7);
    assert_true(chr_count(d, "class=\"hr-bar\"") >= 3 + 3 + 3 + 1 + 1);
    assert_int_equal(chr_count(d, "class=\"hr-line\""), 2);
    assert_non_null(strstr(d, "lang=\"lv\""));
    assert_non_null(strstr(d, "Sociālā palīdzība"));
    assert_non_null(strstr(d, "300,00"));   /* February's amount */
    assert_non_null(strstr(d, "550,00"));   /* the year's */
    free(d);
    char *l = chr_console_errors(pg.log);
    if (l)
        fail_msg("console errors:\n%s", l);
}

static int setup(void **state)
{
    (void)state;
    if (sk_start() != 0)
        return -1;
    sk_wait_ready();
    /* the script plays intake's part (ApplicationDecided), so intake must not */
    kill(sk.pids[0], SIGTERM);
    waitpid(sk.pids[0], NULL, 0);
    sk.pids[0] = 0;
    char ci[600];
    at_error err;
    t_db_conninfo(&sk.db, NULL, ci, sizeof ci);
    es_config wcfg = {.conninfo = ci, .pool_size = 1};
    if (es_open(&L.writer, &wcfg, &err) != ES_OK) {
        fprintf(stderr, "es_open: %s\n", err.message);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    es_close(L.writer);
    return sk_teardown();
}

int main(void)
{
    if (!(chromium = chr_find())) {
        fprintf(stderr, "test_report_html: chromium not found (scripts/deps.sh installs it); skipped\n");
        return T_SKIP;
    }
    t_require_servers(1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_report_opens_in_chromium_with_its_charts),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
