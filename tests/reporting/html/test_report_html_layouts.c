/*
 * test_report_html_layouts.c -- cli_report_html for every reply of
 * proto/atb/v1/reporting.proto: each page parses as XML, is in the language asked, has its
 * charts as SVG with the figures of the reply in their fallback tables, and a reply type or
 * a language without a layout is refused with a clear error and no file.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#include "cli_report_html.h"
#include "atb/v1/reporting.pb-c.h"

static char path[256];

/* Render, parse, and return the parsed page (caller frees). */
static xmlDocPtr render(const ProtobufCMessage *m, const char *lang)
{
    at_error err;
    unlink(path);
    if (cli_report_html(path, "x", m, lang, &err) != AT_OK)
        fail_msg("render: %s", err.message);
    xmlDocPtr x = xmlReadFile(path, "UTF-8", XML_PARSE_NONET | XML_PARSE_NOERROR);
    if (!x)
        fail_msg("%s is not well-formed", path);
    return x;
}

static int count(xmlDocPtr x, const char *xpath)
{
    xmlXPathContextPtr ctx = xmlXPathNewContext(x);
    xmlXPathRegisterNs(ctx, BAD_CAST "h", BAD_CAST "http://www.w3.org/1999/xhtml");
    xmlXPathRegisterNs(ctx, BAD_CAST "s", BAD_CAST "http://www.w3.org/2000/svg");
    xmlXPathObjectPtr r = xmlXPathEvalExpression(BAD_CAST xpath, ctx);
    if (!r)
        fail_msg("bad xpath %s", xpath);
    int n = r->nodesetval ? r->nodesetval->nodeNr : 0;
    xmlXPathFreeObject(r);
    xmlXPathFreeContext(ctx);
    return n;
}

static void services_page_has_clients_and_waiting_charts(void **state)
{
    (void)state;
    Atb__V1__ServiceFigures s1 = ATB__V1__SERVICE_FIGURES__INIT, s2 = ATB__V1__SERVICE_FIGURES__INIT;
    s1.tenant = "";
    s1.service = "HOME_CARE";
    s1.unit = "hour";
    s1.clients = 12;
    s1.hours = 340;
    s2 = s1;
    s2.tenant = "daugavpils";
    Atb__V1__ServiceFigures *svc[2] = {&s2, &s1};
    Atb__V1__WaitingFigures w = ATB__V1__WAITING_FIGURES__INIT;
    w.tenant = "";
    w.service = "HOME_CARE";
    w.waiting_on_end = 3;
    w.waiting_days_on_end = 10;   /* 3.33 days: 3 */
    Atb__V1__WaitingFigures *wp[1] = {&w};
    Atb__V1__ServicesReportReply r = ATB__V1__SERVICES_REPORT_REPLY__INIT;
    r.services = svc;
    r.n_services = 2;
    r.waiting = wp;
    r.n_waiting = 1;
    xmlDocPtr x = render(&r.base, "en");
    assert_int_equal(count(x, "/h:html[@lang='en']"), 1);
    assert_int_equal(count(x, "//s:svg"), 2);
    assert_int_equal(count(x, "//s:rect[@data-value='12']"), 1);   /* only the total row is charted */
    assert_int_equal(count(x, "//s:rect[@data-value='3']"), 1);
    assert_int_equal(count(x, "//h:td[.='340']"), 2);
    assert_int_equal(count(x, "//h:tr[h:th='Total' and h:td='3' and h:td='HOME_CARE']"), 1);
    xmlFreeDoc(x);
}

static void budget_page_sums_each_code_over_its_sources(void **state)
{
    (void)state;
    Atb__V1__BudgetFigures a = ATB__V1__BUDGET_FIGURES__INIT, b = ATB__V1__BUDGET_FIGURES__INIT;
    a.tenant = "";
    a.budget_code = "6200";
    a.funding = ATB__V1__FUNDING_SOURCE__FUNDING_SOURCE_MUNICIPAL;
    a.paid_cents = a.net_cents = 150000;
    b = a;
    b.funding = ATB__V1__FUNDING_SOURCE__FUNDING_SOURCE_STATE;
    b.paid_cents = 50000;
    b.recovered_cents = 1000;
    b.net_cents = 49000;
    b.recovered_by_offset_cents = 2345;
    Atb__V1__BudgetFigures *lines[2] = {&a, &b};
    Atb__V1__BudgetExecutionReply r = ATB__V1__BUDGET_EXECUTION_REPLY__INIT;
    r.lines = lines;
    r.n_lines = 2;
    xmlDocPtr x = render(&r.base, "lv");
    assert_int_equal(count(x, "/h:html[@lang='lv']"), 1);
    assert_int_equal(count(x, "//s:rect[@data-value='199000']"), 1);   /* 1,500.00 + 490.00 */
    assert_int_equal(count(x, "//h:td[.='valsts budžets']"), 1);
    assert_int_equal(count(x, "//h:td[.='490,00']"), 1);
    /* the last column: what the orders kept back for recovery claims */
    assert_int_equal(count(x, "//h:th[@scope='col'][last()][.='Ieturēts']"), 1);
    assert_int_equal(count(x, "//h:tr[h:td[.='valsts budžets']]/h:td[last()][.='23,45']"), 1);
    xmlFreeDoc(x);
}

static void indicators_page_shows_shares_against_targets(void **state)
{
    (void)state;
    Atb__V1__StrategyFigures t = ATB__V1__STRATEGY_FIGURES__INIT;
    t.tenant = "";
    t.applications_decided = 200;
    t.decided_on_time = 197;   /* 98.5% */
    t.appealed = 5;
    t.overturned = 1;          /* 0.5% */
    t.clients = 50;
    t.social_workers = 4;      /* 12.5 */
    Atb__V1__RegionalIndicator g = ATB__V1__REGIONAL_INDICATOR__INIT;
    g.id = "3";
    g.label_en = "Municipalities with a day centre";
    g.label_lv = "Pašvaldības ar dienas centru";
    g.unit = "municipalities";
    g.target_2018 = 10;
    g.actual = 7;
    Atb__V1__RegionalIndicator *gp[1] = {&g};
    Atb__V1__IndicatorsReportReply r = ATB__V1__INDICATORS_REPORT_REPLY__INIT;
    r.total = &t;
    r.regional = gp;
    r.n_regional = 1;
    r.on_time_target_bp = 9800;
    r.overturned_target_bp = 200;
    xmlDocPtr x = render(&r.base, "en");
    assert_int_equal(count(x, "//h:td[.='98.5%']"), 1);
    assert_int_equal(count(x, "//h:td[.='0.5%']"), 1);
    assert_int_equal(count(x, "//h:td[.='12.5']"), 1);
    assert_int_equal(count(x, "//h:td[.='≥ 98%']"), 1);
    assert_int_equal(count(x, "//h:td[.='Municipalities with a day centre']"), 1);
    assert_int_equal(count(x, "//s:rect[@data-value='7']"), 1);
    xmlFreeDoc(x);
}

static void ministry_page_has_every_section(void **state)
{
    (void)state;
    Atb__V1__AssistanceRow total = ATB__V1__ASSISTANCE_ROW__INIT;
    Atb__V1__StatusFigures needy = ATB__V1__STATUS_FIGURES__INIT;
    needy.households = 4;
    total.needy = &needy;
    Atb__V1__BenefitFigures gmi = ATB__V1__BENEFIT_FIGURES__INIT, *bp[1] = {&gmi};
    gmi.benefit = "GMI";
    gmi.households = 4;
    gmi.amount_cents = 123456;
    total.benefits = bp;
    total.n_benefits = 1;
    Atb__V1__AssistanceReportReply as = ATB__V1__ASSISTANCE_REPORT_REPLY__INIT;
    as.total = &total;
    Atb__V1__PersonsByAge age = ATB__V1__PERSONS_BY_AGE__INIT, *ap[1] = {&age};
    age.tenant = "";
    age.status = 1;
    age.children = 3;
    Atb__V1__ServicesReportReply sv = ATB__V1__SERVICES_REPORT_REPLY__INIT;
    Atb__V1__BudgetExecutionReply bu = ATB__V1__BUDGET_EXECUTION_REPLY__INIT;
    Atb__V1__IndicatorsReportReply in = ATB__V1__INDICATORS_REPORT_REPLY__INIT;
    Atb__V1__MinistryReportReply r = ATB__V1__MINISTRY_REPORT_REPLY__INIT;
    r.year = 2025;
    r.assistance = &as;
    r.persons_by_age = ap;
    r.n_persons_by_age = 1;
    r.services = &sv;
    r.budget = &bu;
    r.indicators = &in;
    xmlDocPtr x = render(&r.base, "lv");
    /* assistance, persons, services, waiting, budget, indicators */
    assert_true(count(x, "//h:main/h:section") >= 6);
    assert_int_equal(count(x, "//h:td[.='1\u00a0234,56']"), 2);   /* the chart's table and the benefits table */
    assert_int_equal(count(x, "//h:td[.='trūcīga']"), 1);
    /* empty sections say so instead of drawing nothing */
    assert_true(count(x, "//s:svg/s:text[.='Nav datu']") >= 3);
    xmlFreeDoc(x);
}

static void a_reply_without_a_layout_or_a_bad_language_is_refused(void **state)
{
    (void)state;
    Atb__V1__PersonCount pc = ATB__V1__PERSON_COUNT__INIT;
    at_error err;
    unlink(path);
    assert_int_equal(cli_report_html(path, "persons", &pc.base, "lv", &err), AT_VALIDATION);
    assert_string_equal(err.message, "no HTML layout for the persons report");
    assert_int_equal(access(path, F_OK), -1);
    Atb__V1__BudgetExecutionReply r = ATB__V1__BUDGET_EXECUTION_REPLY__INIT;
    assert_int_equal(cli_report_html(path, "budget", &r.base, "de", &err), AT_VALIDATION);
    assert_string_equal(err.message, "unknown report language \"de\"");
    assert_string_equal(err.hint, "Give --lang lv or --lang en.");
    assert_int_equal(access(path, F_OK), -1);
}

int main(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(path, sizeof path, "%s/report_html_layouts_%d.html", tmp && *tmp ? tmp : P_tmpdir, (int)getpid());
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(services_page_has_clients_and_waiting_charts),
        cmocka_unit_test(budget_page_sums_each_code_over_its_sources),
        cmocka_unit_test(indicators_page_shows_shares_against_targets),
        cmocka_unit_test(ministry_page_has_every_section),
        cmocka_unit_test(a_reply_without_a_layout_or_a_bad_language_is_refused),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    unlink(path);
    xmlCleanupParser();
    return rc;
}
