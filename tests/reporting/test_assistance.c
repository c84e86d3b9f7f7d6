/*
 * test_assistance.c -- the decisions and applications projections and AssistanceReport,
 * end to end: a scripted small month of decision and application events appended to the
 * log (real protobuf bytes), published by atbalsts-relay, projected by atbalsts-reporting's
 * durable consumers, and the report asked over NATS. Its figures are known by
 * construction (the table below). Then an appeal overrides two decisions and the figures
 * move as they must; then both projections are rebuilt from the log and are identical.
 *
 * The month, asked for 2026-03-01..2026-04-30 (H = household, its members in brackets):
 *   daugavpils A0 H4 [2]: decided 2025-12-01 (deadline 2025-12-20): NEEDY 2025-12-01..2026-05-31,
 *                         GMI 120.00/month 2025-12-01..2026-02-28 (over before the period)
 *              A1 H1 [3]: decided 2026-03-10 (deadline 2026-04-02), appealed: NEEDY
 *                         2026-03-01..2026-08-31, GMI 100.00/month 2026-03-01..2026-05-31
 *                         (2 months: 200.00), HOUSING 50.00/month 2026-03 (50.00)
 *              A2 H2 [2]: decided 2026-03-03 (deadline 2026-02-05: late): LOW_INCOME
 *                         2026-03-01..2026-08-31, BIRTH 200.00 once on 2026-03-03, SCHOOL refused
 *   kandava    A3 H3 [1]: decided 2026-03-20 (deadline 2026-04-01): NEEDY refused, GMI refused;
 *                         later appealed and overridden: NEEDY 2026-03-20..2026-09-19,
 *                         GMI 80.00/month 2026-04-01..2026-09-30 (1 month: 80.00)
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
#include <sys/wait.h>
#include <libpq-fe.h>

#include "at_uuid.h"
#include "es.h"
#include "reporting.h"
#include "rlog.h"
#include "skeleton.h"
#include "atb/v1/intake.pb-c.h"
#include "atb/v1/means.pb-c.h"
#include "atb/v1/reporting.pb-c.h"

static rl_log L;           /* appends as the means and intake services would */
static es_store *es;       /* atb_reporting: the rebuild */

static void appealed(const char *tenant, const char *app)
{
    Atb__V1__ApplicationAppealed a = ATB__V1__APPLICATION_APPEALED__INIT;
    Atb__V1__Date on = sk_date(2026, 4, 2);
    a.application_id = (char *)app;
    a.filed_on = &on;
    rl_append(&L, tenant, "application", app, "ApplicationAppealed", &a.base);
}

/* A result: granted when from is given; amount 0 = none. */
static Atb__V1__DecisionResult result(Atb__V1__AskKind ask, const char *benefit, Atb__V1__MeansStatus status,
                                      const Atb__V1__Date *from, const Atb__V1__Date *to, int64_t amount,
                                      Atb__V1__AmountPer per)
{
    Atb__V1__DecisionResult r = ATB__V1__DECISION_RESULT__INIT;
    r.outcome = from ? ATB__V1__DECISION_OUTCOME__DECISION_OUTCOME_GRANTED : ATB__V1__DECISION_OUTCOME__DECISION_OUTCOME_REFUSED;
    r.ask = ask;
    r.benefit = (char *)benefit;
    r.status = from ? status : ATB__V1__MEANS_STATUS__MEANS_STATUS_UNSPECIFIED;
    r.period_from = (Atb__V1__Date *)from;
    r.period_to = (Atb__V1__Date *)to;
    r.has_amount = amount > 0;
    r.amount_cents = amount;
    r.per = amount > 0 ? per : ATB__V1__AMOUNT_PER__AMOUNT_PER_UNSPECIFIED;
    r.budget_code = amount > 0 ? "6200" : "";
    return r;
}

static void overridden(const char *tenant, const char *app, int ask_index, Atb__V1__DecisionResult previous,
                       Atb__V1__DecisionResult r)
{
    Atb__V1__Date on = sk_date(2026, 4, 20);
    Atb__V1__DecisionOverridden o = ATB__V1__DECISION_OVERRIDDEN__INIT;
    o.application_id = (char *)app;
    o.ask_index = ask_index;
    o.kind = ATB__V1__OVERRIDE_KIND__OVERRIDE_KIND_APPEAL;
    o.decided_by = "council";
    o.decided_on = &on;
    o.previous = &previous;
    o.result = &r;
    rl_append(&L, tenant, "decision", app, "DecisionOverridden", &o.base);
}

static char a0[37], a1[37], a2[37], a3[37];
static rl_household h1, h2, h3, h4;

static void wait_projected(void)
{
    assert_int_equal(sk_wait_sql(L.last_decision, 30000,
                                 "SELECT position FROM atb.checkpoints WHERE consumer = '" DECISIONS_CONSUMER "'"),
                     L.last_decision);
    assert_int_equal(sk_wait_sql(L.last_application, 30000,
                                 "SELECT position FROM atb.checkpoints WHERE consumer = '" APPLICATIONS_CONSUMER
                                 "'"),
                     L.last_application);
}

static Atb__V1__AssistanceReportReply *report(const char *subject_tenant, const char *const *tenants, size_t n,
                                              Atb__V1__Date from, Atb__V1__Date to)
{
    Atb__V1__AssistanceReport q = ATB__V1__ASSISTANCE_REPORT__INIT;
    q.tenants = (char **)tenants;
    q.n_tenants = n;
    q.from = &from;
    q.to = &to;
    return (Atb__V1__AssistanceReportReply *)sk_call("qry", subject_tenant, "reporting", "AssistanceReport", &q.base,
                                                     &atb__v1__assistance_report_reply__descriptor);
}

/* A row as one line: "needy H/P low H/P CODE:H/G/AMOUNT ... dec N apps N ontime N appealed N". */
static void row_text(const Atb__V1__AssistanceRow *r, char *out, size_t n)
{
    int k = snprintf(out, n, "%s needy %lld/%lld low %lld/%lld", r->tenant, (long long)r->needy->households,
                     (long long)r->needy->persons, (long long)r->low_income->households,
                     (long long)r->low_income->persons);
    for (size_t i = 0; i < r->n_benefits; i++)
        k += snprintf(out + k, n - (size_t)k, " %s:%lld/%lld/%lld", r->benefits[i]->benefit,
                      (long long)r->benefits[i]->households, (long long)r->benefits[i]->grants,
                      (long long)r->benefits[i]->amount_cents);
    snprintf(out + k, n - (size_t)k, " dec %lld apps %lld ontime %lld appealed %lld", (long long)r->decisions,
             (long long)r->applications_decided, (long long)r->decided_on_time, (long long)r->appealed);
}

static const char *const both[] = {"daugavpils", "kandava"};

static void assert_rows(const Atb__V1__AssistanceReportReply *r, const char *d, const char *k, const char *total)
{
    char line[512];
    assert_null(r->error);
    assert_int_equal(r->n_rows, 2);
    row_text(r->rows[0], line, sizeof line);
    assert_string_equal(line, d);
    row_text(r->rows[1], line, sizeof line);
    assert_string_equal(line, k);
    row_text(r->total, line, sizeof line);
    assert_string_equal(line, total);
    assert_int_equal(r->decisions_position, L.last_decision);
    assert_int_equal(r->applications_position, L.last_application);
}

static void the_scripted_month_gives_the_figures_known_by_construction(void **state)
{
    (void)state;
    rl_household_new(&h1, 3);
    rl_household_new(&h2, 2);
    rl_household_new(&h3, 1);
    rl_household_new(&h4, 2);
    at_uuid_v4(a0), at_uuid_v4(a1), at_uuid_v4(a2), at_uuid_v4(a3);
    Atb__V1__Date f, t;

    rl_received(&L, "daugavpils", a0, sk_date(2025, 11, 20), sk_date(2025, 12, 20));
    f = sk_date(2025, 12, 1), t = sk_date(2026, 5, 31);
    rl_decision(&L, "daugavpils", a0, 1, &h4, sk_date(2025, 12, 1),
             result(ATB__V1__ASK_KIND__ASK_KIND_NEEDY_STATUS, "", ATB__V1__MEANS_STATUS__MEANS_STATUS_NEEDY, &f, &t, 0, 0));
    t = sk_date(2026, 2, 28);
    rl_decision(&L, "daugavpils", a0, 2, &h4, sk_date(2025, 12, 1),
             result(ATB__V1__ASK_KIND__ASK_KIND_GMI, "GMI", 0, &f, &t, 12000, ATB__V1__AMOUNT_PER__AMOUNT_PER_MONTH));
    rl_decided(&L, "daugavpils", a0);

    rl_received(&L, "daugavpils", a1, sk_date(2026, 3, 2), sk_date(2026, 4, 2));
    f = sk_date(2026, 3, 1), t = sk_date(2026, 8, 31);
    rl_decision(&L, "daugavpils", a1, 1, &h1, sk_date(2026, 3, 10),
             result(ATB__V1__ASK_KIND__ASK_KIND_NEEDY_STATUS, "", ATB__V1__MEANS_STATUS__MEANS_STATUS_NEEDY, &f, &t, 0, 0));
    t = sk_date(2026, 5, 31);
    rl_decision(&L, "daugavpils", a1, 2, &h1, sk_date(2026, 3, 10),
             result(ATB__V1__ASK_KIND__ASK_KIND_GMI, "GMI", 0, &f, &t, 10000, ATB__V1__AMOUNT_PER__AMOUNT_PER_MONTH));
    t = sk_date(2026, 3, 31);
    rl_decision(&L, "daugavpils", a1, 3, &h1, sk_date(2026, 3, 10),
             result(ATB__V1__ASK_KIND__ASK_KIND_HOUSING, "HOUSING", 0, &f, &t, 5000, ATB__V1__AMOUNT_PER__AMOUNT_PER_MONTH));
    rl_decided(&L, "daugavpils", a1);
    appealed("daugavpils", a1);

    rl_received(&L, "daugavpils", a2, sk_date(2026, 1, 5), sk_date(2026, 2, 5));
    f = sk_date(2026, 3, 1), t = sk_date(2026, 8, 31);
    rl_decision(&L, "daugavpils", a2, 1, &h2, sk_date(2026, 3, 3),
             result(ATB__V1__ASK_KIND__ASK_KIND_LOW_INCOME_STATUS, "", ATB__V1__MEANS_STATUS__MEANS_STATUS_LOW_INCOME, &f, &t, 0, 0));
    f = sk_date(2026, 3, 3), t = sk_date(2026, 3, 3);
    rl_decision(&L, "daugavpils", a2, 2, &h2, sk_date(2026, 3, 3),
             result(ATB__V1__ASK_KIND__ASK_KIND_BENEFIT, "BIRTH", 0, &f, &t, 20000, ATB__V1__AMOUNT_PER__AMOUNT_PER_ONCE));
    rl_decision(&L, "daugavpils", a2, 3, &h2, sk_date(2026, 3, 3),
             result(ATB__V1__ASK_KIND__ASK_KIND_BENEFIT, "SCHOOL", 0, NULL, NULL, 0, 0));
    rl_decided(&L, "daugavpils", a2);

    rl_received(&L, "kandava", a3, sk_date(2026, 3, 1), sk_date(2026, 4, 1));
    rl_decision(&L, "kandava", a3, 1, &h3, sk_date(2026, 3, 20),
             result(ATB__V1__ASK_KIND__ASK_KIND_NEEDY_STATUS, "", 0, NULL, NULL, 0, 0));
    rl_decision(&L, "kandava", a3, 2, &h3, sk_date(2026, 3, 20), result(ATB__V1__ASK_KIND__ASK_KIND_GMI, "GMI", 0, NULL, NULL, 0, 0));
    rl_decided(&L, "kandava", a3);

    wait_projected();
    Atb__V1__AssistanceReportReply *r = report("daugavpils", both, 2, sk_date(2026, 3, 1), sk_date(2026, 4, 30));
    assert_rows(r,
                "daugavpils needy 2/5 low 1/2 BIRTH:1/1/20000 GMI:1/1/20000 HOUSING:1/1/5000 "
                "dec 6 apps 2 ontime 1 appealed 1",
                "kandava needy 0/0 low 0/0 dec 2 apps 1 ontime 1 appealed 0",
                " needy 2/5 low 1/2 BIRTH:1/1/20000 GMI:1/1/20000 HOUSING:1/1/5000 "
                "dec 8 apps 3 ontime 2 appealed 1");
    protobuf_c_message_free_unpacked(&r->base, NULL);
}

static void on_a_date_and_for_the_subjects_own_tenant(void **state)
{
    (void)state;
    /* from = to: in force on that day. No tenants: the subject's. A0's GMI is in force,
     * H1's status not yet; A0 was decided in December, outside. */
    Atb__V1__AssistanceReportReply *r = report("daugavpils", NULL, 0, sk_date(2026, 2, 15), sk_date(2026, 2, 15));
    char line[512];
    assert_null(r->error);
    assert_int_equal(r->n_rows, 1);
    row_text(r->rows[0], line, sizeof line);
    assert_string_equal(line, "daugavpils needy 1/2 low 0/0 GMI:1/1/12000 dec 0 apps 0 ontime 0 appealed 0");
    protobuf_c_message_free_unpacked(&r->base, NULL);
}

static void a_period_that_ends_before_it_starts_is_refused(void **state)
{
    (void)state;
    Atb__V1__AssistanceReportReply *r = report("daugavpils", NULL, 0, sk_date(2026, 3, 2), sk_date(2026, 3, 1));
    assert_non_null(r->error);
    assert_string_equal(r->error->field, "to");
    assert_string_equal(r->error->message, "period ends before it starts");
    protobuf_c_message_free_unpacked(&r->base, NULL);
}

static int64_t before_override;   /* the log's head before the appeal and the overrides */

static void an_override_changes_the_figures_and_keeps_the_original(void **state)
{
    (void)state;
    before_override = L.last_decision > L.last_application ? L.last_decision : L.last_application;
    appealed("kandava", a3);
    Atb__V1__Date f = sk_date(2026, 3, 20), t = sk_date(2026, 9, 19);
    overridden("kandava", a3, 1, result(ATB__V1__ASK_KIND__ASK_KIND_NEEDY_STATUS, "", 0, NULL, NULL, 0, 0),
               result(ATB__V1__ASK_KIND__ASK_KIND_NEEDY_STATUS, "", ATB__V1__MEANS_STATUS__MEANS_STATUS_NEEDY, &f, &t, 0, 0));
    f = sk_date(2026, 4, 1), t = sk_date(2026, 9, 30);
    overridden("kandava", a3, 2, result(ATB__V1__ASK_KIND__ASK_KIND_GMI, "GMI", 0, NULL, NULL, 0, 0),
               result(ATB__V1__ASK_KIND__ASK_KIND_GMI, "GMI", 0, &f, &t, 8000, ATB__V1__AMOUNT_PER__AMOUNT_PER_MONTH));
    wait_projected();
    Atb__V1__AssistanceReportReply *r = report("kandava", both, 2, sk_date(2026, 3, 1), sk_date(2026, 4, 30));
    assert_rows(r,
                "daugavpils needy 2/5 low 1/2 BIRTH:1/1/20000 GMI:1/1/20000 HOUSING:1/1/5000 "
                "dec 6 apps 2 ontime 1 appealed 1",
                "kandava needy 1/1 low 0/0 GMI:1/1/8000 dec 2 apps 1 ontime 1 appealed 1",
                " needy 3/6 low 1/2 BIRTH:1/1/20000 GMI:2/2/28000 HOUSING:1/1/5000 "
                "dec 8 apps 3 ontime 2 appealed 2");
    protobuf_c_message_free_unpacked(&r->base, NULL);
    char row[256];
    sk_sql_text(row, sizeof row,
                "SELECT outcome || '|' || status || '|' || period_from || '|' || original_outcome || '|' || "
                "original_status || '|' || coalesce(original_period_from::text, '-') || '|' || event_type "
                "FROM reporting.decisions WHERE application_id = '%s' AND ask_index = 1",
                a3);
    assert_string_equal(row, "1|1|2026-03-20|2|0|-|StatusRefused");
}

static void as_known_before_the_override_the_report_does_not_see_it(void **state)
{
    (void)state;
    Atb__V1__AssistanceReport q = ATB__V1__ASSISTANCE_REPORT__INIT;
    Atb__V1__Date from = sk_date(2026, 3, 1), to = sk_date(2026, 4, 30);
    q.tenants = (char **)both;
    q.n_tenants = 2;
    q.from = &from;
    q.to = &to;
    q.as_of_position = before_override;
    Atb__V1__AssistanceReportReply *r = (Atb__V1__AssistanceReportReply *)sk_call(
        "qry", "kandava", "reporting", "AssistanceReport", &q.base, &atb__v1__assistance_report_reply__descriptor);
    /* exactly the figures of the month before kandava's appeal and its two overrides */
    assert_rows(r,
                "daugavpils needy 2/5 low 1/2 BIRTH:1/1/20000 GMI:1/1/20000 HOUSING:1/1/5000 "
                "dec 6 apps 2 ontime 1 appealed 1",
                "kandava needy 0/0 low 0/0 dec 2 apps 1 ontime 1 appealed 0",
                " needy 2/5 low 1/2 BIRTH:1/1/20000 GMI:1/1/20000 HOUSING:1/1/5000 "
                "dec 8 apps 3 ontime 2 appealed 1");
    assert_int_equal(r->as_of_position, before_override);
    protobuf_c_message_free_unpacked(&r->base, NULL);
    /* and before anything was decided for a2 (its ApplicationDecided is later): daugavpils
     * has one application decided in the period less */
    char line[512];
    q.tenants = NULL;
    q.n_tenants = 0;
    q.as_of_position = sk_sql_int("SELECT min(position) - 1 FROM atb.events WHERE type = 'ApplicationDecided' "
                                  "AND stream_id = 'application-%s'", a2);
    r = (Atb__V1__AssistanceReportReply *)sk_call("qry", "daugavpils", "reporting", "AssistanceReport", &q.base,
                                                  &atb__v1__assistance_report_reply__descriptor);
    assert_null(r->error);
    row_text(r->rows[0], line, sizeof line);
    assert_string_equal(line, "daugavpils needy 2/5 low 1/2 BIRTH:1/1/20000 GMI:1/1/20000 HOUSING:1/1/5000 "
                              "dec 6 apps 1 ontime 1 appealed 1");
    protobuf_c_message_free_unpacked(&r->base, NULL);
}

/* Project every event of `category` from the log, as the consumer does (one transaction
 * per event with the checkpoint). */
static void replay(const char *category, bus_handler_fn fn, const char *consumer)
{
    const char *const cats[] = {category};
    es_filter f = {.categories = cats, .n_categories = 1};
    es_batch *b = NULL;
    at_error err;
    assert_int_equal(es_read_all(es, 0, 10000, &f, &b, &err), ES_OK);
    for (size_t i = 0; i < es_batch_count(b); i++) {
        const es_event *ev = es_batch_get(b, i);
        es_txn *t = NULL;
        assert_int_equal(es_txn_begin(es, &t, &err), ES_OK);
        if (fn(NULL, t, ev, &err) != AT_OK)
            fail_msg("position %lld: %s: %s", (long long)ev->position, err.message, err.detail);
        assert_int_equal(es_txn_checkpoint_set(t, consumer, ev->position, &err), ES_OK);
        assert_int_equal(es_txn_commit(t, &err), ES_OK);
    }
    es_batch_free(b);
}

static const char SNAPSHOT[] =
    "SELECT (SELECT md5(string_agg(d::text, ',' ORDER BY tenant, application_id, ask_index)) "
    "        FROM reporting.decisions d) || ' ' || "
    "       (SELECT md5(string_agg(a::text, ',' ORDER BY tenant, application_id)) FROM reporting.applications a) "
    "|| ' ' || (SELECT md5(string_agg(r::text, ',' ORDER BY tenant, application_id, ask_index, position)) "
    "           FROM reporting.decision_results r) "
    "|| ' ' || (SELECT string_agg(consumer || '=' || position, ',' ORDER BY consumer) FROM atb.checkpoints "
    "           WHERE consumer IN ('" DECISIONS_CONSUMER "', '" APPLICATIONS_CONSUMER "'))";

static void a_rebuild_from_the_log_gives_identical_tables(void **state)
{
    (void)state;
    char before[512], after[512], empty[512];
    sk_sql_text(before, sizeof before, "%s", SNAPSHOT);
    assert_true(strlen(before) > 70);
    /* the projection's rows and checkpoints go in one transaction */
    sk_sql_text(empty, sizeof empty,
                "WITH a AS (DELETE FROM reporting.decisions RETURNING 1), b AS (DELETE FROM reporting.applications "
                "RETURNING 1), c AS (DELETE FROM atb.checkpoints WHERE consumer IN ('" DECISIONS_CONSUMER
                "', '" APPLICATIONS_CONSUMER "') RETURNING 1), d AS (DELETE FROM reporting.decision_results "
                "RETURNING 1) "
                "SELECT (SELECT count(*) FROM a) + (SELECT count(*) FROM b) + (SELECT count(*) FROM c) "
                "+ (SELECT count(*) FROM d)");
    /* 10 decisions, 4 applications, 2 checkpoints, 12 results (10 decided, 2 overrides) */
    assert_string_equal(empty, "28");
    replay("decision", decisions_project, DECISIONS_CONSUMER);
    replay("application", applications_project, APPLICATIONS_CONSUMER);
    sk_sql_text(after, sizeof after, "%s", SNAPSHOT);
    assert_string_equal(after, before);
    /* and a second replay over the rebuilt tables changes nothing */
    replay("decision", decisions_project, DECISIONS_CONSUMER);
    replay("application", applications_project, APPLICATIONS_CONSUMER);
    sk_sql_text(after, sizeof after, "%s", SNAPSHOT);
    assert_string_equal(after, before);
    Atb__V1__AssistanceReportReply *r = report("kandava", both, 2, sk_date(2026, 3, 1), sk_date(2026, 4, 30));
    char line[512];
    row_text(r->total, line, sizeof line);
    assert_string_equal(line, " needy 3/6 low 1/2 BIRTH:1/1/20000 GMI:2/2/28000 HOUSING:1/1/5000 "
                              "dec 8 apps 3 ontime 2 appealed 2");
    protobuf_c_message_free_unpacked(&r->base, NULL);
}

static void a_decision_that_does_not_decode_is_malformed(void **state)
{
    (void)state;
    es_event junk = {.position = 1000, .tenant = "kandava", .stream_id = "decision-x", .category = "decision",
                     .version = 1, .type = "BenefitGranted", .payload = (const uint8_t *)"\xff\xff\xff",
                     .payload_len = 3};
    es_txn *t = NULL;
    at_error err;
    assert_int_equal(es_txn_begin(es, &t, &err), ES_OK);
    assert_int_equal(decisions_project(NULL, t, &junk, &err), AT_MALFORMED);
    assert_string_equal(err.message, "cannot project BenefitGranted at position 1000");
    junk.type = "DecisionExplained";   /* not one this projection reads */
    assert_int_equal(decisions_project(NULL, t, &junk, &err), AT_OK);
    es_txn_rollback(t);
}

/* ---- setup ---- */

static int setup(void **state)
{
    (void)state;
    if (sk_start() != 0)
        return -1;
    sk_wait_ready();
    /* Intake reacts to decisions (it appends ApplicationDecided); here the script plays
     * intake's part, so intake must not. */
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
    t_db_conninfo(&sk.db, "atb_reporting", ci, sizeof ci);
    es_config cfg = {.conninfo = ci, .pool_size = 2};
    if (es_open(&es, &cfg, &err) != ES_OK) {
        fprintf(stderr, "es_open: %s\n", err.message);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    es_close(es);
    es_close(L.writer);
    return sk_teardown();
}

int main(void)
{
    t_require_servers(1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_scripted_month_gives_the_figures_known_by_construction),
        cmocka_unit_test(on_a_date_and_for_the_subjects_own_tenant),
        cmocka_unit_test(a_period_that_ends_before_it_starts_is_refused),
        cmocka_unit_test(an_override_changes_the_figures_and_keeps_the_original),
        cmocka_unit_test(as_known_before_the_override_the_report_does_not_see_it),
        cmocka_unit_test(a_rebuild_from_the_log_gives_identical_tables),
        cmocka_unit_test(a_decision_that_does_not_decode_is_malformed),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
