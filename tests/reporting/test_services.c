/*
 * test_services.c -- the placements, requests, payments and appeals projections and the
 * reports read from them (ServicesReport, BudgetExecutionReport, IndicatorsReport,
 * MinistryReport) end to end: a scripted month (March 2026) of allocation's, payments' and
 * intake's events appended to the log (real protobuf bytes), published by atbalsts-relay,
 * projected by atbalsts-reporting's durable consumers and asked over NATS and through the
 * atbalsts command line. The figures are known by construction (below). A late discharge,
 * a late cancellation and an appeal's annulment are recorded: the current reports move by
 * exactly them, the reports "as known" before them do not. Last, the projections are
 * rebuilt from the log (by replay here and by `atbalsts report rebuild`) and are identical.
 *
 * Services (P = person, R = request; ended = first day out of the place):
 *   kandava  R1 P1 home_care requested 02-10; PL1 kandava.aprupe (hour) from 03-02, 10 h a
 *                week, 20 h from 03-16: 14 days x 10 + 16 days x 20 = 460 / 7 = 65 hours
 *            R2 P2 day_centre requested 03-05, waiting (26 days on 03-31)
 *            R3 P3 day_centre requested 01-20, waiting (70 days on 03-31)
 *            R4 P4 day_centre requested 02-01; PL2 kandava.centrs (day) from 02-15,
 *                suspended 03-10, resumed 03-20, ended 03-25: 9 + 5 = 14 days, discharged
 *            PL3, PL4 P5, P6 crisis_centre dobele.krizes_centrs (place), an emergency
 *                admission of the family on 03-28: 4 days each
 *   tervete  R5 P7 home_care requested 02-20; PL5 tervete.soc_dienests (hour) from 03-01,
 *                7 h a week, ended 03-08: 7 days x 7 / 7 = 7 hours, waited 9 days
 *   later    PL1 discharged, ended 03-20: 14 x 10 + 4 x 20 = 220 / 7 = 31 hours
 *
 * Payments (EKK / funding, euros):
 *   kandava  O1 300.00 6200/municipal due 03-05, batch B1 executed 03-06, paid
 *            O2 300.00 6200/municipal due 04-05 (outside the period)
 *            O3 150.00 6400/state due 03-10, paid in cash 03-12
 *            O4 250.00 6200/municipal due 03-20; later cancelled
 *            recovery claim 50.00 6200/municipal on 03-25
 *   tervete  O5 100.00 6200/municipal due 03-15, batch B2 executed 04-02, paid (in April)
 *   later    kandava O6 100.00 6200/municipal due 03-28, batch B3 executed 03-30 keeps back
 *            20.00 for the claim, paid; O7 50.00 due 03-29, batch B4 executed 03-31 keeps back
 *            10.00, rejected by the bank: recovered by offset in March 20.00
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
#include <unistd.h>
#include <libpq-fe.h>

#include "at_date.h"
#include "at_uuid.h"
#include "es.h"
#include "reporting.h"
#include "skeleton.h"
#include "atb/v1/allocation.pb-c.h"
#include "atb/v1/intake.pb-c.h"
#include "atb/v1/means.pb-c.h"
#include "atb/v1/payments.pb-c.h"
#include "atb/v1/reporting.pb-c.h"

static es_store *writer;   /* appends as allocation and payments would */
static es_store *es;       /* atb_reporting: the rebuild */
static int64_t last_placement, last_request, last_payment;

static Atb__V1__Date day(int y, int m, int d)
{
    Atb__V1__Date x = ATB__V1__DATE__INIT;
    x.year = y, x.month = m, x.day = d;
    return x;
}

/* March 2026 */
static Atb__V1__Date mar(int d)
{
    return day(2026, 3, d);
}

static int64_t append_at(const char *tenant, const char *stream, const char *type, const ProtobufCMessage *m,
                         int64_t occurred_at_us)
{
    uint8_t buf[4096];
    assert_true(protobuf_c_message_get_packed_size(m) <= sizeof buf);
    size_t n = protobuf_c_message_pack(m, buf);
    es_event_in ev = {.type = type, .payload = buf, .payload_len = n, .occurred_at_us = occurred_at_us};
    es_append_req req = {.tenant = tenant, .stream_id = stream, .expected_version = ES_VERSION_ANY,
                         .events = &ev, .n_events = 1};
    es_append_res res;
    at_error err;
    if (es_append(writer, &req, &res, &err) != ES_OK)
        fail_msg("es_append %s: %s: %s", type, err.message, err.detail);
    if (strncmp(stream, "placement-", 10) == 0)
        last_placement = res.first_position;
    else if (strncmp(stream, "request-", 8) == 0)
        last_request = res.first_position;
    else if (strncmp(stream, "pay", 3) == 0)
        last_payment = res.first_position;
    return res.first_position;
}

static int64_t append(const char *tenant, const char *stream, const char *type, const ProtobufCMessage *m)
{
    return append_at(tenant, stream, type, m, 0);
}

static void requested(const char *tenant, const char *key, const char *person, const char *service,
                      Atb__V1__Date on)
{
    Atb__V1__ServiceRequested r = ATB__V1__SERVICE_REQUESTED__INIT;
    char stream[80];
    r.request_key = (char *)key;
    r.person_key = (char *)person;
    r.service = (char *)service;
    r.requested_on = &on;
    r.load = 1;
    snprintf(stream, sizeof stream, "request-%s", key);
    append(tenant, stream, "ServiceRequested", &r.base);
}

static void started(const char *tenant, const char *key, const char *request, const char *person,
                    const char *service, const char *owner, const char *provider, const char *unit,
                    Atb__V1__Date on, int load, bool emergency)
{
    Atb__V1__PlacementStarted p = ATB__V1__PLACEMENT_STARTED__INIT;
    char stream[80];
    p.placement_key = (char *)key;
    p.request_key = (char *)request;
    p.person_key = (char *)person;
    p.service = (char *)service;
    p.owner = (char *)owner;
    p.provider = (char *)provider;
    p.unit = (char *)unit;
    p.start_on = &on;
    p.load = load;
    p.emergency = emergency;
    p.reason = emergency ? "crisis" : "";
    snprintf(stream, sizeof stream, "placement-%s", key);
    append(tenant, stream, "PlacementStarted", &p.base);
}

static void changed(const char *tenant, const char *key, Atb__V1__Date from, int load, bool suspended)
{
    Atb__V1__PlacementChanged c = ATB__V1__PLACEMENT_CHANGED__INIT;
    char stream[80];
    c.placement_key = (char *)key;
    c.from_on = &from;
    c.load = load;
    c.suspended = suspended;
    snprintf(stream, sizeof stream, "placement-%s", key);
    append(tenant, stream, "PlacementChanged", &c.base);
}

static int64_t ended(const char *tenant, const char *key, Atb__V1__Date on)
{
    Atb__V1__PlacementEnded e = ATB__V1__PLACEMENT_ENDED__INIT;
    char stream[80];
    e.placement_key = (char *)key;
    e.ended_on = &on;
    e.reason = "discharged";
    snprintf(stream, sizeof stream, "placement-%s", key);
    return append(tenant, stream, "PlacementEnded", &e.base);
}

static void scheduled(const char *tenant, const char *grant, const char *order, int64_t cents, Atb__V1__Date due,
                      const char *ekk, Atb__V1__FundingSource funding)
{
    Atb__V1__PaymentOrder o = ATB__V1__PAYMENT_ORDER__INIT, *po = &o;
    Atb__V1__PaymentsScheduled s = ATB__V1__PAYMENTS_SCHEDULED__INIT;
    char stream[96];
    o.order_id = (char *)order;
    o.grant = (char *)grant;
    o.amount_cents = cents;
    o.due = &due;
    o.budget_code = (char *)ekk;
    o.funding = funding;
    o.benefit = "GMI";
    o.channel = ATB__V1__PAYMENT_CHANNEL__PAYMENT_CHANNEL_ACCOUNT;
    s.grant = (char *)grant;
    s.orders = &po;
    s.n_orders = 1;
    s.granted_cents = cents;
    snprintf(stream, sizeof stream, "paygrant-%s", grant);
    append(tenant, stream, "PaymentsScheduled", &s.base);
}

static void batch_paid(const char *tenant, const char *batch, const char *order, Atb__V1__Date exec)
{
    char stream[96], *ids[1] = {(char *)order};
    snprintf(stream, sizeof stream, "paybatch-%s", batch);
    Atb__V1__BatchCreated c = ATB__V1__BATCH_CREATED__INIT;
    c.batch_id = (char *)batch;
    c.execution_date = &exec;
    c.order_ids = ids;
    c.n_order_ids = 1;
    c.count = 1;
    append(tenant, stream, "BatchCreated", &c.base);
    Atb__V1__BatchConfirmed f = ATB__V1__BATCH_CONFIRMED__INIT;
    f.batch_id = (char *)batch;
    f.paid = ids;
    f.n_paid = 1;
    append(tenant, stream, "BatchConfirmed", &f.base);
}

static int64_t published(const char *municipality, const char *version, const char *yaml)
{
    Atb__V1__CataloguePublished c = ATB__V1__CATALOGUE_PUBLISHED__INIT;
    char stream[80];
    c.municipality = (char *)municipality;
    c.version = (char *)version;
    c.file = "test.yaml";
    c.document.data = (uint8_t *)yaml;
    c.document.len = strlen(yaml);
    snprintf(stream, sizeof stream, "catalogue-%s", municipality);
    return append(municipality, stream, "CataloguePublished", &c.base);
}

static char p1[37], p2[37], p3[37], p4[37], p5[37], p6[37], p7[37];
static char r1[37], r2[37], r3[37], r4[37], r5[37];
static char pl1[37], pl2[37], pl3[37], pl4[37], pl5[37];
static char g1[37], g2[37], g3[37], o1[37], o2[37], o3[37], o4[37], o5[37];
static int64_t before_corrections;
static char claim[37];   /* kandava's recovery claim of 50.00 on g1 */

static void wait_consumer(const char *consumer, const char *categories);

static void wait_projected(void)
{
    assert_int_equal(sk_wait_sql(last_placement, 30000,
                                 "SELECT position FROM atb.checkpoints WHERE consumer = '" PLACEMENTS_CONSUMER "'"),
                     last_placement);
    assert_int_equal(sk_wait_sql(last_request, 30000,
                                 "SELECT position FROM atb.checkpoints WHERE consumer = '" REQUESTS_CONSUMER "'"),
                     last_request);
    assert_int_equal(sk_wait_sql(last_payment, 30000,
                                 "SELECT position FROM atb.checkpoints WHERE consumer = '" PAYMENTS_CONSUMER "'"),
                     last_payment);
}

static void script_the_month(void)
{
    char *keys[] = {p1, p2, p3, p4, p5, p6, p7, r1, r2, r3, r4, r5, pl1, pl2, pl3, pl4, pl5,
                    g1, g2, g3, o1, o2, o3, o4, o5};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        at_uuid_v4(keys[i]);

    published("kandava", "k1",
              "municipality: kandava\n"
              "providers:\n"
              "  - code: aprupe\n"
              "    units:\n"
              "      - {service: home_care, capacity: 40, from: 2026-01-01}\n"
              "  - code: centrs\n"
              "    units:\n"
              "      - {service: day_centre, capacity: 10, from: 2026-01-01, to: 2026-12-31}\n");
    published("dobele", "d1",
              "municipality: dobele\nproviders:\n  - code: krizes_centrs\n    units:\n"
              "      - {service: crisis_centre, capacity: 6, from: 2025-01-01}\n");
    published("tervete", "t1",
              "municipality: tervete\nproviders:\n  - code: soc_dienests\n    units:\n"
              "      - {service: home_care, capacity: 20, from: 2026-01-01}\n");
    requested("kandava", r1, p1, "home_care", day(2026, 2, 10));
    started("kandava", pl1, r1, p1, "home_care", "kandava", "aprupe", "hour", mar(2), 10, false);
    changed("kandava", pl1, mar(16), 20, false);
    requested("kandava", r2, p2, "day_centre", mar(5));
    requested("kandava", r3, p3, "day_centre", day(2026, 1, 20));
    requested("kandava", r4, p4, "day_centre", day(2026, 2, 1));
    started("kandava", pl2, r4, p4, "day_centre", "kandava", "centrs", "day", day(2026, 2, 15), 1, false);
    changed("kandava", pl2, mar(10), 1, true);
    changed("kandava", pl2, mar(20), 1, false);
    ended("kandava", pl2, mar(25));
    started("kandava", pl3, "", p5, "crisis_centre", "dobele", "krizes_centrs", "place", mar(28), 1, true);
    started("kandava", pl4, "", p6, "crisis_centre", "dobele", "krizes_centrs", "place", mar(28), 1, true);
    requested("tervete", r5, p7, "home_care", day(2026, 2, 20));
    started("tervete", pl5, r5, p7, "home_care", "tervete", "soc_dienests", "hour", mar(1), 7, false);
    ended("tervete", pl5, mar(8));

    const Atb__V1__FundingSource mun = ATB__V1__FUNDING_SOURCE__FUNDING_SOURCE_MUNICIPAL;
    scheduled("kandava", g1, o1, 30000, mar(5), "6200", mun);
    scheduled("kandava", g1, o2, 30000, day(2026, 4, 5), "6200", mun);
    scheduled("kandava", g2, o3, 15000, mar(10), "6400", ATB__V1__FUNDING_SOURCE__FUNDING_SOURCE_STATE);
    scheduled("kandava", g2, o4, 25000, mar(20), "6200", mun);
    char b1[37], b2[37], stream[96];
    at_uuid_v4(b1), at_uuid_v4(b2);
    batch_paid("kandava", b1, o1, mar(6));
    Atb__V1__CashPaid cash = ATB__V1__CASH_PAID__INIT;
    Atb__V1__Date on = mar(12);
    cash.order_id = o3;
    cash.paid_on = &on;
    snprintf(stream, sizeof stream, "paycash-%s", o3);
    append("kandava", stream, "CashPaid", &cash.base);
    Atb__V1__RecoveryClaimed rc = ATB__V1__RECOVERY_CLAIMED__INIT;
    at_uuid_v4(claim);
    rc.claim_id = claim;
    rc.grant = g1;
    rc.amount_cents = 5000;
    rc.budget_code = "6200";
    rc.funding = mun;
    snprintf(stream, sizeof stream, "paygrant-%s", g1);
    at_date d25;
    at_date_from_ymd(2026, 3, 25, &d25);
    /* occurred at noon UTC on 03-25 (at_date counts days from 1970-01-01) */
    append_at("kandava", stream, "RecoveryClaimed", &rc.base, ((int64_t)d25 * 86400 + 12 * 3600) * INT64_C(1000000));
    scheduled("tervete", g3, o5, 10000, mar(15), "6200", mun);
    batch_paid("tervete", b2, o5, day(2026, 4, 2));
}

static const char *const both[] = {"kandava", "tervete"};

static Atb__V1__ServicesReportReply *services(Atb__V1__Date *known_on, int64_t position)
{
    Atb__V1__ServicesReport q = ATB__V1__SERVICES_REPORT__INIT;
    Atb__V1__Date from = mar(1), to = mar(31);
    q.tenants = (char **)both;
    q.n_tenants = 2;
    q.from = &from;
    q.to = &to;
    q.as_known_on = known_on;
    q.as_of_position = position;
    Atb__V1__ServicesReportReply *r = (Atb__V1__ServicesReportReply *)sk_call(
        "qry", "kandava", "reporting", "ServicesReport", &q.base, &atb__v1__services_report_reply__descriptor);
    if (r->error)
        fail_msg("ServicesReport: %s: %s", r->error->message, r->error->detail);
    return r;
}

static Atb__V1__BudgetExecutionReply *budget(Atb__V1__Date *known_on, int64_t position)
{
    Atb__V1__BudgetExecutionReport q = ATB__V1__BUDGET_EXECUTION_REPORT__INIT;
    Atb__V1__Date from = mar(1), to = mar(31);
    q.tenants = (char **)both;
    q.n_tenants = 2;
    q.from = &from;
    q.to = &to;
    q.as_known_on = known_on;
    q.as_of_position = position;
    Atb__V1__BudgetExecutionReply *r = (Atb__V1__BudgetExecutionReply *)sk_call(
        "qry", "kandava", "reporting", "BudgetExecutionReport", &q.base, &atb__v1__budget_execution_reply__descriptor);
    if (r->error)
        fail_msg("BudgetExecutionReport: %s: %s", r->error->message, r->error->detail);
    return r;
}

/* The reply as lines of text, one per figure row, to compare whole. */
static void services_text(const Atb__V1__ServicesReportReply *r, char *out, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < r->n_providers + r->n_services; i++) {
        const Atb__V1__ServiceFigures *f = i < r->n_providers ? r->providers[i] : r->services[i - r->n_providers];
        k += (size_t)snprintf(out + k, n - k, "%s %s %s.%s %s: %lld %lld %lld %lld %lld %lld %lld %lld %lld cap %lld\n",
                              f->tenant[0] ? f->tenant : "*", f->service, f->owner, f->provider, f->unit,
                              (long long)f->clients, (long long)f->in_place_on_end, (long long)f->load_on_end,
                              (long long)f->place_days, (long long)f->hours, (long long)f->trips,
                              (long long)f->admissions, (long long)f->emergency_admissions,
                              (long long)f->discharges, (long long)f->capacity);
    }
    for (size_t i = 0; i < r->n_waiting; i++) {
        const Atb__V1__WaitingFigures *w = r->waiting[i];
        k += (size_t)snprintf(out + k, n - k, "wait %s %s: %lld %lld %lld %lld %lld %lld\n",
                              w->tenant[0] ? w->tenant : "*", w->service, (long long)w->joined,
                              (long long)w->waiting_on_end, (long long)w->waiting_days_on_end,
                              (long long)w->max_waiting_days, (long long)w->admitted,
                              (long long)w->admitted_waiting_days);
    }
}

static void budget_text(const Atb__V1__BudgetExecutionReply *r, char *out, size_t n)
{
    size_t k = 0;
    out[0] = 0;
    for (size_t i = 0; i < r->n_lines; i++) {
        const Atb__V1__BudgetFigures *b = r->lines[i];
        k += (size_t)snprintf(out + k, n - k, "%s %s/%d: %lld %lld %lld %lld %lld\n", b->tenant[0] ? b->tenant : "*",
                              b->budget_code, (int)b->funding, (long long)b->scheduled_cents,
                              (long long)b->paid_cents, (long long)b->paid_orders, (long long)b->recovered_cents,
                              (long long)b->net_cents);
    }
}

/* clients, in place on 03-31, load then, place days, hours, trips, admissions, emergency,
 * discharges; wait: joined, waiting on 03-31, their days, the longest, admitted, their days */
static const char MONTH[] =
    "kandava crisis_centre dobele.krizes_centrs place: 2 2 2 8 0 0 2 2 0 cap 6\n"
    "kandava day_centre kandava.centrs day: 1 0 0 14 0 0 0 0 1 cap 10\n"
    "kandava home_care kandava.aprupe hour: 1 1 20 0 65 0 1 0 0 cap 40\n"
    "tervete home_care tervete.soc_dienests hour: 1 0 0 0 7 0 1 0 1 cap 20\n"
    "kandava crisis_centre . place: 2 2 2 8 0 0 2 2 0 cap 6\n"
    "kandava day_centre . day: 1 0 0 14 0 0 0 0 1 cap 10\n"
    "kandava home_care . hour: 1 1 20 0 65 0 1 0 0 cap 40\n"
    "tervete home_care . hour: 1 0 0 0 7 0 1 0 1 cap 20\n"
    "* crisis_centre . place: 2 2 2 8 0 0 2 2 0 cap 6\n"
    "* day_centre . day: 1 0 0 14 0 0 0 0 1 cap 10\n"
    "* home_care . hour: 2 1 20 0 72 0 2 0 1 cap 60\n"
    "wait kandava day_centre: 1 2 96 70 0 0\n"
    "wait kandava home_care: 0 0 0 0 1 20\n"
    "wait tervete home_care: 0 0 0 0 1 9\n"
    "wait * day_centre: 1 2 96 70 0 0\n"
    "wait * home_care: 0 0 0 0 2 29\n";

/* scheduled, paid, paid orders, recovered, net (cents); funding 1 municipal, 2 state */
static const char BUDGET[] =
    "kandava 6200/1: 30000 30000 1 5000 25000\n"
    "kandava 6400/2: 15000 15000 1 0 15000\n"
    "tervete 6200/1: 10000 0 0 0 0\n"
    "* 6200/1: 40000 30000 1 5000 25000\n"
    "* 6400/2: 15000 15000 1 0 15000\n";

static char month_before[4096], budget_before[1024];

static void the_scripted_month_gives_the_figures_known_by_construction(void **state)
{
    (void)state;
    script_the_month();
    /* O4 is cancelled at the end of the month; the late discharge comes in the next test */
    char stream[96];
    snprintf(stream, sizeof stream, "paygrant-%s", g2);
    Atb__V1__PaymentsCancelled c = ATB__V1__PAYMENTS_CANCELLED__INIT;
    char *ids[1] = {o4};
    c.grant = g2;
    c.order_ids = ids;
    c.n_order_ids = 1;
    before_corrections = append("kandava", stream, "PaymentsCancelled", &c.base) - 1;
    wait_projected();
    wait_consumer(UNITS_CONSUMER, "'catalogue'");
    char text[4096];
    Atb__V1__ServicesReportReply *s = services(NULL, 0);
    services_text(s, text, sizeof text);
    assert_string_equal(text, MONTH);
    assert_int_equal(s->placements_position, last_placement);
    assert_int_equal(s->requests_position, last_request);
    assert_int_equal(s->as_of_position, 0);
    protobuf_c_message_free_unpacked(&s->base, NULL);
    Atb__V1__BudgetExecutionReply *b = budget(NULL, 0);
    budget_text(b, text, sizeof text);
    assert_string_equal(text, BUDGET);
    assert_int_equal(b->payments_position, last_payment);
    protobuf_c_message_free_unpacked(&b->base, NULL);
    snprintf(month_before, sizeof month_before, "%s", MONTH);
    snprintf(budget_before, sizeof budget_before, "%s", BUDGET);
}

static void as_known_before_a_correction_the_reports_do_not_see_it(void **state)
{
    (void)state;
    /* the late discharge of PL1 (recorded after the month, effective 03-20) */
    int64_t before_discharge = ended("kandava", pl1, mar(20)) - 1;
    /* and a new catalogue version of kandava: home care grows to 50 hours a week */
    published("kandava", "k2",
              "municipality: kandava\n"
              "providers:\n"
              "  - code: aprupe\n"
              "    units:\n"
              "      - {service: home_care, capacity: 50, from: 2026-01-01}\n"
              "  - code: centrs\n"
              "    units:\n"
              "      - {service: day_centre, capacity: 10, from: 2026-01-01, to: 2026-12-31}\n");
    wait_projected();
    wait_consumer(UNITS_CONSUMER, "'catalogue'");
    char now[4096], then[4096];
    Atb__V1__ServicesReportReply *s = services(NULL, 0);
    services_text(s, now, sizeof now);
    protobuf_c_message_free_unpacked(&s->base, NULL);
    /* exactly the discharge: PL1 out on 03-31, 31 hours instead of 65, one more discharge */
    assert_string_equal(now,
                        "kandava crisis_centre dobele.krizes_centrs place: 2 2 2 8 0 0 2 2 0 cap 6\n"
                        "kandava day_centre kandava.centrs day: 1 0 0 14 0 0 0 0 1 cap 10\n"
                        "kandava home_care kandava.aprupe hour: 1 0 0 0 31 0 1 0 1 cap 50\n"
                        "tervete home_care tervete.soc_dienests hour: 1 0 0 0 7 0 1 0 1 cap 20\n"
                        "kandava crisis_centre . place: 2 2 2 8 0 0 2 2 0 cap 6\n"
                        "kandava day_centre . day: 1 0 0 14 0 0 0 0 1 cap 10\n"
                        "kandava home_care . hour: 1 0 0 0 31 0 1 0 1 cap 50\n"
                        "tervete home_care . hour: 1 0 0 0 7 0 1 0 1 cap 20\n"
                        "* crisis_centre . place: 2 2 2 8 0 0 2 2 0 cap 6\n"
                        "* day_centre . day: 1 0 0 14 0 0 0 0 1 cap 10\n"
                        "* home_care . hour: 2 0 0 0 38 0 2 0 2 cap 70\n"
                        "wait kandava day_centre: 1 2 96 70 0 0\n"
                        "wait kandava home_care: 0 0 0 0 1 20\n"
                        "wait tervete home_care: 0 0 0 0 1 9\n"
                        "wait * day_centre: 1 2 96 70 0 0\n"
                        "wait * home_care: 0 0 0 0 2 29\n");
    s = services(NULL, before_discharge);
    services_text(s, then, sizeof then);
    assert_int_equal(s->as_of_position, before_discharge);
    protobuf_c_message_free_unpacked(&s->base, NULL);
    assert_string_equal(then, month_before);

    /* the budget before the cancellation: O4 still scheduled */
    Atb__V1__BudgetExecutionReply *b = budget(NULL, before_corrections);
    budget_text(b, then, sizeof then);
    protobuf_c_message_free_unpacked(&b->base, NULL);
    assert_string_equal(then, "kandava 6200/1: 55000 30000 1 5000 25000\n"
                              "kandava 6400/2: 15000 15000 1 0 15000\n"
                              "tervete 6200/1: 10000 0 0 0 0\n"
                              "* 6200/1: 65000 30000 1 5000 25000\n"
                              "* 6400/2: 15000 15000 1 0 15000\n");

    /* by date: everything was recorded today (Riga), nothing yesterday */
    char today[16];
    sk_sql_text(today, sizeof today, "SELECT (now() AT TIME ZONE 'Europe/Riga')::date");
    int y, m, d;
    assert_int_equal(sscanf(today, "%d-%d-%d", &y, &m, &d), 3);
    Atb__V1__Date on = day(y, m, d);
    s = services(&on, 0);
    services_text(s, then, sizeof then);
    assert_true(s->as_of_position >= last_placement);
    protobuf_c_message_free_unpacked(&s->base, NULL);
    assert_string_equal(then, now);
    char yesterday[16];
    sk_sql_text(yesterday, sizeof yesterday, "SELECT (now() AT TIME ZONE 'Europe/Riga')::date - 1");
    assert_int_equal(sscanf(yesterday, "%d-%d-%d", &y, &m, &d), 3);
    on = day(y, m, d);
    b = budget(&on, 0);
    assert_int_equal(b->n_lines, 0);
    assert_true(b->as_of_position < last_payment);
    protobuf_c_message_free_unpacked(&b->base, NULL);
}

static void a_bad_cutoff_is_refused(void **state)
{
    (void)state;
    Atb__V1__ServicesReport q = ATB__V1__SERVICES_REPORT__INIT;
    Atb__V1__Date from = mar(1), to = mar(31), bad = day(2026, 2, 30);
    q.from = &from;
    q.to = &to;
    q.as_known_on = &bad;
    Atb__V1__ServicesReportReply *r = (Atb__V1__ServicesReportReply *)sk_call(
        "qry", "kandava", "reporting", "ServicesReport", &q.base, &atb__v1__services_report_reply__descriptor);
    assert_non_null(r->error);
    assert_string_equal(r->error->field, "as_known_on");
    assert_string_equal(r->error->message, "invalid date");
    protobuf_c_message_free_unpacked(&r->base, NULL);
    q.as_known_on = NULL;
    q.as_of_position = -1;
    r = (Atb__V1__ServicesReportReply *)sk_call("qry", "kandava", "reporting", "ServicesReport", &q.base,
                                                &atb__v1__services_report_reply__descriptor);
    assert_non_null(r->error);
    assert_string_equal(r->error->field, "as_of_position");
    assert_string_equal(r->error->message, "negative log position");
    protobuf_c_message_free_unpacked(&r->base, NULL);
}

/* ---- IndicatorsReport ----
 *
 * March 2026, applications (A) of applicants (X, Y, Z, W) with their social workers:
 *   kandava  X: A1 2025-06-10 (before), A2 03-03 anna (a repeat: A1 is within a year),
 *               decided 03-20 (deadline 04-03: on time), appealed, annulled
 *            Y: A0 2025-01-15 (over a year before), A3 03-05 anna (not a repeat)
 *            Z: A4 03-10 juris, decided 03-30 (deadline 03-25: late), appealed, upheld;
 *               A5 03-20 juris (a repeat: A4)
 *   tervete  W: A6 03-02 liga
 * Providers and services with clients in March: the placements of the month above.
 */

static void application(const char *tenant, const char *id, const char *applicant, const char *worker,
                        Atb__V1__Date on, Atb__V1__Date deadline)
{
    Atb__V1__ApplicationReceived a = ATB__V1__APPLICATION_RECEIVED__INIT;
    char stream[80];
    a.application_id = (char *)id;
    a.applicant = (char *)applicant;
    a.social_worker = (char *)worker;
    a.received = &on;
    a.deadline = &deadline;
    snprintf(stream, sizeof stream, "application-%s", id);
    append(tenant, stream, "ApplicationReceived", &a.base);
}

/* A refused GMI decided on `on`, and the application decided. */
static void decided(const char *tenant, const char *id, Atb__V1__Date on)
{
    Atb__V1__DecisionResult r = ATB__V1__DECISION_RESULT__INIT;
    r.outcome = ATB__V1__DECISION_OUTCOME__DECISION_OUTCOME_REFUSED;
    r.ask = ATB__V1__ASK_KIND__ASK_KIND_GMI;
    r.benefit = "GMI";
    Atb__V1__DecisionInput in = ATB__V1__DECISION_INPUT__INIT;
    in.tenant = (char *)tenant;
    in.application_id = (char *)id;
    in.decision_date = &on;
    in.ask_index = 1;
    Atb__V1__Decision d = ATB__V1__DECISION__INIT;
    d.application_id = (char *)id;
    d.ask_index = 1;
    d.input = &in;
    d.result = &r;
    Atb__V1__BenefitRefused ev = ATB__V1__BENEFIT_REFUSED__INIT;
    ev.decision = &d;
    char stream[80];
    snprintf(stream, sizeof stream, "decision-%s", id);
    append(tenant, stream, "BenefitRefused", &ev.base);
    Atb__V1__ApplicationDecided a = ATB__V1__APPLICATION_DECIDED__INIT;
    a.application_id = (char *)id;
    snprintf(stream, sizeof stream, "application-%s", id);
    append(tenant, stream, "ApplicationDecided", &a.base);
}

static void appeal(const char *tenant, const char *key, const char *id, Atb__V1__Date on)
{
    char stream[80];
    Atb__V1__AppealFiled f = ATB__V1__APPEAL_FILED__INIT;
    f.appeal_key = (char *)key;
    f.application_id = (char *)id;
    f.ask_index = 1;
    f.body = ATB__V1__APPEAL_BODY__APPEAL_BODY_COUNCIL;
    f.filed_on = &on;
    snprintf(stream, sizeof stream, "appeal-%s", key);
    append(tenant, stream, "AppealFiled", &f.base);
    Atb__V1__ApplicationAppealed a = ATB__V1__APPLICATION_APPEALED__INIT;
    a.application_id = (char *)id;
    a.appeal_key = (char *)key;
    a.filed_on = &on;
    snprintf(stream, sizeof stream, "application-%s", id);
    append(tenant, stream, "ApplicationAppealed", &a.base);
}

static int64_t appeal_decided(const char *tenant, const char *key, const char *id, Atb__V1__AppealOutcome outcome,
                              Atb__V1__Date on)
{
    char stream[80];
    Atb__V1__AppealDecided d = ATB__V1__APPEAL_DECIDED__INIT;
    d.appeal_key = (char *)key;
    d.application_id = (char *)id;
    d.ask_index = 1;
    d.outcome = outcome;
    d.decided_on = &on;
    snprintf(stream, sizeof stream, "appeal-%s", key);
    return append(tenant, stream, "AppealDecided", &d.base);
}

/* Wait until the consumer's checkpoint reaches the last event of its categories. */
static void wait_consumer(const char *consumer, const char *categories)
{
    int64_t want = sk_sql_int("SELECT max(position) FROM atb.events WHERE category IN (%s)", categories);
    assert_int_equal(sk_wait_sql(want, 30000, "SELECT position FROM atb.checkpoints WHERE consumer = '%s'", consumer),
                     want);
}

static Atb__V1__IndicatorsReportReply *indicators(int64_t position)
{
    Atb__V1__IndicatorsReport q = ATB__V1__INDICATORS_REPORT__INIT;
    Atb__V1__Date from = mar(1), to = mar(31);
    q.tenants = (char **)both;
    q.n_tenants = 2;
    q.from = &from;
    q.to = &to;
    q.as_of_position = position;
    Atb__V1__IndicatorsReportReply *r = (Atb__V1__IndicatorsReportReply *)sk_call(
        "qry", "kandava", "reporting", "IndicatorsReport", &q.base, &atb__v1__indicators_report_reply__descriptor);
    if (r->error)
        fail_msg("IndicatorsReport: %s: %s", r->error->message, r->error->detail);
    return r;
}

static void indicators_text(const Atb__V1__IndicatorsReportReply *r, char *out, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i <= r->n_rows; i++) {
        const Atb__V1__StrategyFigures *f = i < r->n_rows ? r->rows[i] : r->total;
        k += (size_t)snprintf(out + k, n - k, "%s: dec %lld ontime %lld appealed %lld overturned %lld clients %lld "
                              "workers %lld repeat %lld/%lld providers %lld services %lld\n",
                              f->tenant[0] ? f->tenant : "*", (long long)f->applications_decided,
                              (long long)f->decided_on_time, (long long)f->appealed, (long long)f->overturned,
                              (long long)f->clients, (long long)f->social_workers, (long long)f->repeat_applicants,
                              (long long)f->applicants, (long long)f->providers, (long long)f->services);
    }
    for (size_t i = 0; i < r->n_regional; i++)
        if (r->regional[i]->actual)
            k += (size_t)snprintf(out + k, n - k, "%s %s %lld/%lld\n", r->regional[i]->id, r->regional[i]->unit,
                                  (long long)r->regional[i]->actual, (long long)r->regional[i]->target_2018);
}

static void the_indicators_of_the_month(void **state)
{
    (void)state;
    char a[7][37], x[37], y[37], z[37], w[37], ap1[37], ap2[37];
    for (int i = 0; i < 7; i++)
        at_uuid_v4(a[i]);
    at_uuid_v4(x), at_uuid_v4(y), at_uuid_v4(z), at_uuid_v4(w), at_uuid_v4(ap1), at_uuid_v4(ap2);
    application("kandava", a[1], x, "user:anna", day(2025, 6, 10), day(2025, 7, 10));
    application("kandava", a[2], x, "user:anna", mar(3), day(2026, 4, 3));
    application("kandava", a[0], y, "user:anna", day(2025, 1, 15), day(2025, 2, 15));
    application("kandava", a[3], y, "user:anna", mar(5), day(2026, 4, 5));
    application("kandava", a[4], z, "user:juris", mar(10), mar(25));
    application("kandava", a[5], z, "user:juris", mar(20), day(2026, 4, 20));
    application("tervete", a[6], w, "user:liga", mar(2), day(2026, 4, 2));
    decided("kandava", a[2], mar(20));
    decided("kandava", a[4], mar(30));
    appeal("kandava", ap1, a[2], mar(25));
    appeal("kandava", ap2, a[4], mar(31));
    appeal_decided("kandava", ap2, a[4], ATB__V1__APPEAL_OUTCOME__APPEAL_OUTCOME_UPHELD, day(2026, 4, 10));
    int64_t annulled = appeal_decided("kandava", ap1, a[2], ATB__V1__APPEAL_OUTCOME__APPEAL_OUTCOME_ANNULLED,
                                      day(2026, 4, 15));
    wait_consumer(APPLICATIONS_CONSUMER, "'application'");
    wait_consumer(DECISIONS_CONSUMER, "'decision'");
    wait_consumer(APPEALS_CONSUMER, "'appeal'");
    char now[2048], then[2048];
    Atb__V1__IndicatorsReportReply *r = indicators(0);
    indicators_text(r, now, sizeof now);
    assert_int_equal(r->on_time_target_bp, 9800);
    assert_int_equal(r->overturned_target_bp, 200);
    assert_true(r->n_regional >= 18);
    assert_string_equal(r->regional[0]->label_lv, "Reģistrētais sociālo pakalpojumu sniedzēju skaits");
    assert_true(r->regional[0]->has_base);
    assert_int_equal(r->regional[0]->base_2010, 53);
    protobuf_c_message_free_unpacked(&r->base, NULL);
    assert_string_equal(now,
                        "kandava: dec 2 ontime 1 appealed 2 overturned 1 clients 3 workers 2 repeat 2/3 "
                        "providers 3 services 3\n"
                        "tervete: dec 0 ontime 0 appealed 0 overturned 0 clients 1 workers 1 repeat 0/1 "
                        "providers 1 services 1\n"
                        "*: dec 2 ontime 1 appealed 2 overturned 1 clients 4 workers 3 repeat 2/4 "
                        "providers 4 services 3\n"
                        "1 providers 4/120\n"
                        "2 municipalities 2/20\n"
                        "6 municipalities 1/13\n"
                        "12 municipalities 1/20\n");
    /* as known before the annulment: nothing overturned yet */
    r = indicators(annulled - 1);
    indicators_text(r, then, sizeof then);
    protobuf_c_message_free_unpacked(&r->base, NULL);
    assert_string_equal(then,
                        "kandava: dec 2 ontime 1 appealed 2 overturned 0 clients 3 workers 2 repeat 2/3 "
                        "providers 3 services 3\n"
                        "tervete: dec 0 ontime 0 appealed 0 overturned 0 clients 1 workers 1 repeat 0/1 "
                        "providers 1 services 1\n"
                        "*: dec 2 ontime 1 appealed 2 overturned 0 clients 4 workers 3 repeat 2/4 "
                        "providers 4 services 3\n"
                        "1 providers 4/120\n"
                        "2 municipalities 2/20\n"
                        "6 municipalities 1/13\n"
                        "12 municipalities 1/20\n");
}

/* ---- the command line: atbalsts report services | budget ---- */

static struct {
    int code;
    char out[16384];
    char err[4096];
} run;

static void slurp(FILE *f, char *buf, size_t n)
{
    rewind(f);
    size_t got = fread(buf, 1, n - 1, f);
    buf[got] = 0;
    fclose(f);
}

/* Run atbalsts --tenant kandava report <args> against the test's services; fills run. */
static void cli(const char *const *args)
{
    const char *argv[32] = {CLI_PATH, "--tenant", "kandava", "report"};
    int argc = 4;
    for (; args[argc - 4] && argc < 31; argc++)
        argv[argc] = args[argc - 4];
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
        execv(CLI_PATH, (char *const *)argv);
        _exit(127);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    run.code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    slurp(out, run.out, sizeof run.out);
    slurp(err, run.err, sizeof run.err);
    if (run.code == -1)
        fail_msg("atbalsts died of signal %d; stderr: %s", WTERMSIG(st), run.err);
}

#define CLI(...) cli((const char *const[]){__VA_ARGS__, NULL})
#define MARCH "--tenants", "kandava,tervete", "--from", "2026-03-01", "--to", "2026-03-31"

static void the_command_line_prints_the_same_figures(void **state)
{
    (void)state;
    CLI("budget", MARCH, "--csv");
    assert_int_equal(run.code, 0);
    assert_string_equal(run.out, "municipality,ekk,funding,scheduled_eur,paid_eur,paid_orders,recovered_eur,net_eur,"
                                 "recovered_by_offset_eur\n"
                                 "kandava,6200,municipal,300.00,300.00,1,50.00,250.00,0.00\n"
                                 "kandava,6400,state,150.00,150.00,1,0.00,150.00,0.00\n"
                                 "tervete,6200,municipal,100.00,0.00,0,0.00,0.00,0.00\n"
                                 "total,6200,municipal,400.00,300.00,1,50.00,250.00,0.00\n"
                                 "total,6400,state,150.00,150.00,1,0.00,150.00,0.00\n");
    char pos[24];
    snprintf(pos, sizeof pos, "%lld", (long long)before_corrections);
    CLI("budget", MARCH, "--csv", "--as-of-position", pos);
    assert_int_equal(run.code, 0);
    assert_non_null(strstr(run.out, "kandava,6200,municipal,550.00,300.00,1,50.00,250.00,0.00\n"));
    CLI("services", MARCH);
    assert_int_equal(run.code, 0);
    assert_non_null(strstr(run.out, "Sociālie pakalpojumi 2026-03-01 .. 2026-03-31"));
    assert_non_null(strstr(run.out, "Rindas"));
    CLI("services", MARCH, "--lang", "en", "--csv");
    assert_int_equal(run.code, 0);
    assert_non_null(strstr(run.out, "kandava,home_care,kandava.aprupe,hours,31\n"));
    assert_non_null(strstr(run.out, "total,day_centre,,max_waiting_days,70\n"));
    CLI("services", MARCH, "--lang", "en");
    assert_non_null(strstr(run.out, "Social services 2026-03-01 .. 2026-03-31"));
    assert_non_null(strstr(run.out, "Waiting lists"));
    /* --html: the page, with the series month by month (February and March) */
    char path[512];
    const char *tmp = getenv("TMPDIR");
    snprintf(path, sizeof path, "%s/atb_test_report_XXXXXX", tmp && *tmp ? tmp : P_tmpdir);
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    CLI("assistance", "--tenants", "kandava,tervete", "--from", "2026-02-01", "--to", "2026-03-31", "--html", path,
        "--lang", "en");
    if (run.code != 0)
        fail_msg("report assistance --html exited %d: %s", run.code, run.err);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    static char page[1 << 20];
    size_t got = fread(page, 1, sizeof page - 1, f);
    page[got] = 0;
    fclose(f);
    unlink(path);
    assert_non_null(strstr(page, "<svg"));
    assert_non_null(strstr(page, "Decisions by month"));   /* the series came with it */
    CLI("services", MARCH, "--lang", "de");
    assert_int_equal(run.code, 1);
    assert_string_equal(run.err, "atbalsts: report services: --lang \"de\": lv or en\n");
    CLI("budget", "--from", "2026-03-31", "--to", "2026-03-01");
    assert_int_equal(run.code, 2);
    assert_non_null(strstr(run.err, "period ends before it starts"));
}

static void the_command_line_prints_the_indicators(void **state)
{
    (void)state;
    CLI("indicators", MARCH, "--csv");
    assert_int_equal(run.code, 0);
    assert_non_null(strstr(run.out, "section,key,figure,value\nstrategy,kandava,applications_decided,2\n"));
    assert_non_null(strstr(run.out, "strategy,total,overturned,1\n"));
    assert_non_null(strstr(run.out, "regional,1,actual_providers,4\nregional,1,target_2018,120\n"));
    CLI("indicators", MARCH, "--lang", "en");
    assert_int_equal(run.code, 0);
    assert_non_null(strstr(run.out, "Regional result indicators (document 003)"));
    assert_non_null(strstr(run.out, "Home care"));
    CLI("indicators", MARCH);
    assert_int_equal(run.code, 0);
    assert_non_null(strstr(run.out, "Aprūpes mājās pakalpojumi"));
    if (getenv("ATB_TEST_VERBOSE")) {
        fprintf(stderr, "%s", run.out);
        CLI("services", MARCH);
        fprintf(stderr, "%s", run.out);
        CLI("budget", MARCH, "--lang", "en");
        fprintf(stderr, "%s", run.out);
        CLI("assistance", MARCH);
        fprintf(stderr, "%s", run.out);
    }
}

/* ---- MinistryReport ----
 *
 * Year 2026 of both municipalities: the sections are the year's reports at one position;
 * a needy household of kandava (2026-03-01..2026-08-31) has a girl born 2010, a man born
 * 1950 and a member intake never registered (age and sex unknown).
 */

static void registered(const char *tenant, const char *key, Atb__V1__Date birth, Atb__V1__Sex sex)
{
    Atb__V1__PersonRegistered p = ATB__V1__PERSON_REGISTERED__INIT;
    Atb__V1__Date on = day(2026, 1, 5);
    char stream[80];
    p.person_key = (char *)key;
    p.birth_date = &birth;
    p.sex = sex;
    p.registered_on = &on;
    snprintf(stream, sizeof stream, "person-%s", key);
    append(tenant, stream, "PersonRegistered", &p.base);
}

static void needy(const char *tenant, const char *app, char keys[][37], int n, Atb__V1__Date from, Atb__V1__Date to)
{
    Atb__V1__HouseholdMember mem[3], *pm[3];
    for (int i = 0; i < n; i++) {
        atb__v1__household_member__init(&mem[i]);
        mem[i].key = keys[i];
        pm[i] = &mem[i];
    }
    char hid[37];
    at_uuid_v4(hid);
    Atb__V1__Household hh = ATB__V1__HOUSEHOLD__INIT;
    hh.id = hid;
    hh.members = pm;
    hh.n_members = (size_t)n;
    Atb__V1__DecisionResult r = ATB__V1__DECISION_RESULT__INIT;
    r.outcome = ATB__V1__DECISION_OUTCOME__DECISION_OUTCOME_GRANTED;
    r.ask = ATB__V1__ASK_KIND__ASK_KIND_NEEDY_STATUS;
    r.status = ATB__V1__MEANS_STATUS__MEANS_STATUS_NEEDY;
    r.period_from = &from;
    r.period_to = &to;
    Atb__V1__DecisionInput in = ATB__V1__DECISION_INPUT__INIT;
    in.tenant = (char *)tenant;
    in.application_id = (char *)app;
    in.decision_date = &from;
    in.ask_index = 1;
    in.household = &hh;
    Atb__V1__Decision d = ATB__V1__DECISION__INIT;
    d.application_id = (char *)app;
    d.ask_index = 1;
    d.input = &in;
    d.result = &r;
    Atb__V1__StatusGranted ev = ATB__V1__STATUS_GRANTED__INIT;
    ev.decision = &d;
    char stream[80];
    snprintf(stream, sizeof stream, "decision-%s", app);
    append(tenant, stream, "StatusGranted", &ev.base);
}

static void the_ministry_report_has_its_sections_at_one_position(void **state)
{
    (void)state;
    char keys[3][37], app[37];
    for (int i = 0; i < 3; i++)
        at_uuid_v4(keys[i]);
    at_uuid_v4(app);
    registered("kandava", keys[0], day(2010, 5, 1), ATB__V1__SEX__FEMALE);
    registered("kandava", keys[1], day(1950, 1, 1), ATB__V1__SEX__MALE);
    needy("kandava", app, keys, 3, mar(1), day(2026, 8, 31));
    wait_consumer(DECISIONS_CONSUMER, "'decision'");
    wait_consumer("reporting-persons", "'person'");
    int64_t head = sk_sql_int("SELECT position FROM atb.log_head");

    Atb__V1__MinistryReport q = ATB__V1__MINISTRY_REPORT__INIT;
    q.tenants = (char **)both;
    q.n_tenants = 2;
    q.year = 2026;
    Atb__V1__MinistryReportReply *r = (Atb__V1__MinistryReportReply *)sk_call(
        "qry", "kandava", "reporting", "MinistryReport", &q.base, &atb__v1__ministry_report_reply__descriptor);
    if (r->error)
        fail_msg("MinistryReport: %s: %s", r->error->message, r->error->detail);
    assert_int_equal(r->year, 2026);
    assert_int_equal(r->as_of_position, head);
    assert_int_equal(r->services->as_of_position, head);
    assert_int_equal(r->budget->as_of_position, head);
    char line[256] = "", *p = line;
    for (size_t i = 0; i < r->n_persons_by_age; i++) {
        const Atb__V1__PersonsByAge *x = r->persons_by_age[i];
        p += snprintf(p, sizeof line - (size_t)(p - line), "%s %d: %lld %lld %lld %lld f%lld m%lld\n",
                      x->tenant[0] ? x->tenant : "*", (int)x->status, (long long)x->children,
                      (long long)x->working_age, (long long)x->pension_age, (long long)x->age_unknown,
                      (long long)x->women, (long long)x->men);
    }
    assert_string_equal(line, "kandava 1: 1 0 1 1 f1 m1\n* 1: 1 0 1 1 f1 m1\n");
    assert_int_equal(r->assistance->total->needy->households, 1);
    assert_int_equal(r->assistance->total->needy->persons, 3);

    /* each section is that report for the year at the same position */
    char year_text[4096], direct[4096];
    services_text(r->services, year_text, sizeof year_text);
    Atb__V1__ServicesReport sq = ATB__V1__SERVICES_REPORT__INIT;
    Atb__V1__Date from = day(2026, 1, 1), to = day(2026, 12, 31);
    sq.tenants = (char **)both;
    sq.n_tenants = 2;
    sq.from = &from;
    sq.to = &to;
    sq.as_of_position = head;
    Atb__V1__ServicesReportReply *s = (Atb__V1__ServicesReportReply *)sk_call(
        "qry", "kandava", "reporting", "ServicesReport", &sq.base, &atb__v1__services_report_reply__descriptor);
    services_text(s, direct, sizeof direct);
    assert_string_equal(year_text, direct);
    assert_true(strstr(year_text, "kandava home_care kandava.aprupe hour: 1 0 0 0 31 0 1 0 1 cap 50\n") != NULL);
    protobuf_c_message_free_unpacked(&s->base, NULL);
    budget_text(r->budget, year_text, sizeof year_text);
    /* the year: O2 (due in April) is scheduled too, and B2 (paid in April) paid */
    assert_string_equal(year_text, "kandava 6200/1: 60000 30000 1 5000 25000\n"
                                   "kandava 6400/2: 15000 15000 1 0 15000\n"
                                   "tervete 6200/1: 10000 10000 1 0 10000\n"
                                   "* 6200/1: 70000 40000 2 5000 35000\n"
                                   "* 6400/2: 15000 15000 1 0 15000\n");
    protobuf_c_message_free_unpacked(&r->base, NULL);

    /* as known on yesterday (everything was recorded today): every section empty */
    char yesterday[16];
    int y, mo, d;
    sk_sql_text(yesterday, sizeof yesterday, "SELECT (now() AT TIME ZONE 'Europe/Riga')::date - 1");
    assert_int_equal(sscanf(yesterday, "%d-%d-%d", &y, &mo, &d), 3);
    Atb__V1__Date known = day(y, mo, d);
    q.as_known_on = &known;
    r = (Atb__V1__MinistryReportReply *)sk_call("qry", "kandava", "reporting", "MinistryReport", &q.base,
                                                &atb__v1__ministry_report_reply__descriptor);
    assert_null(r->error);
    assert_int_equal(r->as_of_position, 0);
    assert_int_equal(r->n_persons_by_age, 0);
    assert_int_equal(r->services->n_providers, 0);
    assert_int_equal(r->budget->n_lines, 0);
    assert_int_equal(r->assistance->total->needy->households, 0);
    protobuf_c_message_free_unpacked(&r->base, NULL);

    CLI("ministry", "--tenants", "kandava,tervete", "--year", "2026", "--csv");
    assert_int_equal(run.code, 0);
    assert_non_null(strstr(run.out, "## persons_by_age\nmunicipality,status,children,working_age,pension_age,"
                                    "age_unknown,women,men\nkandava,needy,1,0,1,1,1,1\n"));
    CLI("ministry", "--year", "2026", "--lang", "en");
    assert_int_equal(run.code, 0);
    assert_non_null(strstr(run.out, "Report on social services and social assistance 2026"));
    CLI("ministry", "--from", "2026-01-01", "--to", "2026-12-31");
    assert_int_equal(run.code, 1);
    assert_string_equal(run.err, "atbalsts: report ministry: needs --year\n");
}

/* Project every event of the categories from the log, as the consumer does (one
 * transaction per event with the checkpoint). */
static void replay(const char *const *cats, size_t n, bus_handler_fn fn, const char *consumer)
{
    es_filter f = {.categories = cats, .n_categories = n};
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
    "SELECT (SELECT md5(string_agg(x::text, ',' ORDER BY placement_key)) FROM reporting.placements x) || ' ' || "
    "(SELECT md5(string_agg(x::text, ',' ORDER BY placement_key, position)) "
    " FROM reporting.placement_loads x) || ' ' || "
    "(SELECT md5(string_agg(x::text, ',' ORDER BY request_key)) FROM reporting.requests x) || ' ' || "
    "(SELECT md5(string_agg(x::text, ',' ORDER BY order_id)) FROM reporting.payment_orders x) || ' ' || "
    "(SELECT md5(string_agg(x::text, ',' ORDER BY batch_id)) FROM reporting.payment_batches x) || ' ' || "
    "(SELECT md5(string_agg(x::text, ',' ORDER BY claim_id)) FROM reporting.recoveries x) || ' ' || "
    "(SELECT md5(string_agg(x::text, ',' ORDER BY claim_id, order_id)) FROM reporting.recovery_collections x) || ' ' || "
    "(SELECT md5(string_agg(x::text, ',' ORDER BY appeal_key)) FROM reporting.appeals x) || ' ' || "
    "(SELECT md5(string_agg(x::text, ',' ORDER BY owner, position)) FROM reporting.catalogues x) || ' ' || "
    "(SELECT md5(string_agg(x::text, ',' ORDER BY owner, position, provider, service, valid_from)) "
    " FROM reporting.units x) || ' ' || "
    "(SELECT string_agg(consumer || '=' || position, ',' ORDER BY consumer) FROM atb.checkpoints "
    " WHERE consumer IN ('" PLACEMENTS_CONSUMER "', '" REQUESTS_CONSUMER "', '" PAYMENTS_CONSUMER "', '"
    APPEALS_CONSUMER "', '" UNITS_CONSUMER "'))";

/* A batch as payments' CreateBatch appends it: BatchCreated and, in the same append, a
 * RecoveryCollected for what the order keeps back for the claim; then the bank's answer. */
static int64_t batch_collecting(const char *batch, const char *order, Atb__V1__Date exec, int64_t take,
                                int64_t balance, bool paid)
{
    char stream[96], *ids[1] = {(char *)order};
    snprintf(stream, sizeof stream, "paybatch-%s", batch);
    Atb__V1__BatchCreated c = ATB__V1__BATCH_CREATED__INIT;
    c.batch_id = (char *)batch;
    c.execution_date = &exec;
    c.order_ids = ids;
    c.n_order_ids = 1;
    c.count = 1;
    Atb__V1__RecoveryCollected rc = ATB__V1__RECOVERY_COLLECTED__INIT;
    rc.claim_id = claim;
    rc.order_id = (char *)order;
    rc.batch_id = (char *)batch;
    rc.amount_cents = take;
    rc.balance_cents = balance;
    rc.grant = g1;
    rc.collected_on = &exec;
    rc.budget_code = "6200";
    rc.funding = ATB__V1__FUNDING_SOURCE__FUNDING_SOURCE_MUNICIPAL;
    uint8_t b1[1024], b2[1024];
    assert_true(protobuf_c_message_get_packed_size(&c.base) <= sizeof b1);
    assert_true(protobuf_c_message_get_packed_size(&rc.base) <= sizeof b2);
    es_event_in evs[2] = {{.type = "BatchCreated", .payload = b1, .payload_len = protobuf_c_message_pack(&c.base, b1)},
                          {.type = "RecoveryCollected", .payload = b2,
                           .payload_len = protobuf_c_message_pack(&rc.base, b2)}};
    es_append_req req = {.tenant = "kandava", .stream_id = stream, .expected_version = ES_VERSION_NONE,
                         .events = evs, .n_events = 2};
    es_append_res res;
    at_error err;
    if (es_append(writer, &req, &res, &err) != ES_OK)
        fail_msg("es_append BatchCreated: %s: %s", err.message, err.detail);
    int64_t created = res.first_position;
    Atb__V1__BatchConfirmed f = ATB__V1__BATCH_CONFIRMED__INIT;
    f.batch_id = (char *)batch;
    char *reasons[1] = {"AC04"};
    if (paid) {
        f.paid = ids;
        f.n_paid = 1;
    } else {
        f.rejected = ids;
        f.n_rejected = 1;
        f.reasons = reasons;
        f.n_reasons = 1;
    }
    append("kandava", stream, "BatchConfirmed", &f.base);
    return created;
}

/* per line: recovered by offset (cents) */
static void offset_text(const Atb__V1__BudgetExecutionReply *r, char *out, size_t n)
{
    size_t k = 0;
    out[0] = 0;
    for (size_t i = 0; i < r->n_lines; i++)
        k += (size_t)snprintf(out + k, n - k, "%s %s/%d: %lld\n", r->lines[i]->tenant[0] ? r->lines[i]->tenant : "*",
                              r->lines[i]->budget_code, (int)r->lines[i]->funding,
                              (long long)r->lines[i]->recovered_by_offset_cents);
}

/* Two more March orders of g1: O6 100.00 keeps back 20.00 of the claim and is paid on 03-30;
 * O7 50.00 keeps back 10.00 but the bank rejects it (03-31): only O6's 20.00 is recovered,
 * on the claim's line; paid and net move by O6 alone, as known after its confirmation. */
static void a_claim_collected_by_a_paid_order_is_recovered_by_offset(void **state)
{
    (void)state;
    char o6[37], o7[37], b3[37], b4[37];
    at_uuid_v4(o6), at_uuid_v4(o7), at_uuid_v4(b3), at_uuid_v4(b4);
    const Atb__V1__FundingSource mun = ATB__V1__FUNDING_SOURCE__FUNDING_SOURCE_MUNICIPAL;
    scheduled("kandava", g1, o6, 10000, mar(28), "6200", mun);
    scheduled("kandava", g1, o7, 5000, mar(29), "6200", mun);
    int64_t collected = batch_collecting(b3, o6, mar(30), 2000, 3000, true);
    batch_collecting(b4, o7, mar(31), 1000, 2000, false);
    wait_projected();
    char text[2048];
    Atb__V1__BudgetExecutionReply *b = budget(NULL, 0);
    budget_text(b, text, sizeof text);
    assert_string_equal(text, "kandava 6200/1: 45000 40000 2 5000 35000\n"
                              "kandava 6400/2: 15000 15000 1 0 15000\n"
                              "tervete 6200/1: 10000 0 0 0 0\n"
                              "* 6200/1: 55000 40000 2 5000 35000\n"
                              "* 6400/2: 15000 15000 1 0 15000\n");
    offset_text(b, text, sizeof text);
    assert_string_equal(text, "kandava 6200/1: 2000\n"
                              "kandava 6400/2: 0\n"
                              "tervete 6200/1: 0\n"
                              "* 6200/1: 2000\n"
                              "* 6400/2: 0\n");
    protobuf_c_message_free_unpacked(&b->base, NULL);
    /* as known when B3 was created, before the bank paid O6: nothing recovered yet */
    b = budget(NULL, collected + 1);
    offset_text(b, text, sizeof text);
    assert_string_equal(text, "kandava 6200/1: 0\n"
                              "kandava 6400/2: 0\n"
                              "tervete 6200/1: 0\n"
                              "* 6200/1: 0\n"
                              "* 6400/2: 0\n");
    protobuf_c_message_free_unpacked(&b->base, NULL);
    assert_int_equal(sk_sql_int("SELECT count(*) FROM reporting.recovery_collections"), 2);
    CLI("budget", MARCH, "--csv");
    assert_int_equal(run.code, 0);
    assert_non_null(strstr(run.out, "\nkandava,6200,municipal,450.00,400.00,2,50.00,350.00,20.00\n"));
    assert_non_null(strstr(run.out, "\ntotal,6200,municipal,550.00,400.00,2,50.00,350.00,20.00\n"));
}

static void a_rebuild_from_the_log_gives_identical_tables(void **state)
{
    (void)state;
    char before[1024], after[1024];
    sk_sql_text(before, sizeof before, "%s", SNAPSHOT);
    assert_true(strlen(before) > 9 * 33);
    /* while the service runs, the operator's rebuild refuses and changes nothing */
    char ci[600];
    t_db_conninfo(&sk.db, "atb_reporting", ci, sizeof ci);
    CLI("rebuild", "--pg", ci);
    assert_int_equal(run.code, 2);
    assert_non_null(strstr(run.err, "ERROR:  persons: atbalsts-reporting is running"));
    assert_non_null(strstr(run.err, "HINT:  Stop atbalsts-reporting"));
    assert_string_equal(run.out, "");
    sk_sql_text(after, sizeof after, "%s", SNAPSHOT);
    assert_string_equal(after, before);
    /* stop the service so that its consumers do not race the replay (docs/reporting.md) */
    kill(sk.pids[2], SIGTERM);
    waitpid(sk.pids[2], NULL, 0);
    sk.pids[2] = 0;
    assert_int_equal(sk_sql_int("WITH a AS (DELETE FROM reporting.placements RETURNING 1), "
                                "b AS (DELETE FROM reporting.placement_loads RETURNING 1), "
                                "c AS (DELETE FROM reporting.requests RETURNING 1), "
                                "d AS (DELETE FROM reporting.payment_orders RETURNING 1), "
                                "e AS (DELETE FROM reporting.payment_batches RETURNING 1), "
                                "f AS (DELETE FROM reporting.recoveries RETURNING 1), "
                                "g AS (DELETE FROM atb.checkpoints WHERE consumer IN ('" PLACEMENTS_CONSUMER
                                "', '" REQUESTS_CONSUMER "', '" PAYMENTS_CONSUMER "', '" APPEALS_CONSUMER
                                "', '" UNITS_CONSUMER "') RETURNING 1), "
                                "h AS (DELETE FROM reporting.appeals RETURNING 1), "
                                "i AS (DELETE FROM reporting.catalogues RETURNING 1), "
                                "j AS (DELETE FROM reporting.units RETURNING 1), "
                                "k AS (DELETE FROM reporting.recovery_collections RETURNING 1) "
                                "SELECT (SELECT count(*) FROM a) + (SELECT count(*) FROM b) + (SELECT count(*) FROM c) "
                                "+ (SELECT count(*) FROM d) + (SELECT count(*) FROM e) + (SELECT count(*) FROM f) "
                                "+ (SELECT count(*) FROM g) + (SELECT count(*) FROM h) + (SELECT count(*) FROM i) "
                                "+ (SELECT count(*) FROM j) + (SELECT count(*) FROM k)"),
                     /* 5 placements, 8 loads, 5 requests, 7 orders, 4 batches, 1 claim, 2 appeals,
                      * 4 catalogues, 6 units, 5 checkpoints, 2 collections */
                     49);
    static const char *const placement[] = {"placement"}, *const request[] = {"request"},
                             *const payments[] = {"paygrant", "paybatch", "paycash"}, *const appeal[] = {"appeal"},
                             *const catalogue[] = {"catalogue"};
    for (int round = 0; round < 2; round++) {
        replay(placement, 1, placements_project, PLACEMENTS_CONSUMER);
        replay(request, 1, requests_project, REQUESTS_CONSUMER);
        replay(payments, 3, payments_project, PAYMENTS_CONSUMER);
        replay(appeal, 1, appeals_project, APPEALS_CONSUMER);
        replay(catalogue, 1, units_project, UNITS_CONSUMER);
        sk_sql_text(after, sizeof after, "%s", SNAPSHOT);
        assert_string_equal(after, before);   /* and a second replay changes nothing */
    }

    /* the operator's command: every projection dropped and replayed, rows identical */
    CLI("rebuild", "--pg", ci);
    if (run.code != 0)
        fail_msg("report rebuild exited %d: %s", run.code, run.err);
    const char *names[] = {"persons",  "decisions", "applications", "placements",
                           "requests", "payments",  "appeals",      "catalogue"};
    char *line = run.out;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        assert_memory_equal(line, names[i], strlen(names[i]));
        char *end = strchr(line, '\n');
        assert_non_null(end);
        *end = 0;
        assert_non_null(strstr(line, "; rows identical"));
        line = end + 1;
    }
    assert_string_equal(line, "");
    sk_sql_text(after, sizeof after, "%s", SNAPSHOT);
    assert_string_equal(after, before);
    CLI("rebuild", "--pg", ci, "--projection", "placements", "--json");
    assert_int_equal(run.code, 0);
    char want[128];
    snprintf(want, sizeof want, "\"position\":%lld", (long long)last_placement);
    assert_non_null(strstr(run.out, want));
    assert_non_null(strstr(run.out, "\"events\":11"));   /* 5 started, 3 changed, 3 ended */
    CLI("rebuild", "--pg", ci, "--projection", "nosuch");
    assert_int_equal(run.code, 1);
    assert_non_null(strstr(run.err, "unknown projection \"nosuch\""));

    /* an event that does not decode, between two that do: the batch is replayed one event
     * at a time, the bad one skipped as the consumer dead-letters it, the rest as before */
    es_event_in junk = {.type = "PlacementStarted", .payload = (const uint8_t *)"\xff\xff\xff", .payload_len = 3};
    es_append_req jr = {.tenant = "kandava", .stream_id = "placement-junk", .expected_version = ES_VERSION_ANY,
                        .events = &junk, .n_events = 1};
    es_append_res jres;
    at_error err;
    if (es_append(writer, &jr, &jres, &err) != ES_OK)
        fail_msg("es_append: %s", err.message);
    changed("kandava", pl4, mar(30), 2, false);
    CLI("rebuild", "--pg", ci, "--projection", "placements", "--json");
    assert_int_equal(run.code, 0);
    snprintf(want, sizeof want, "\"position\":%lld", (long long)last_placement);
    assert_non_null(strstr(run.out, want));
    assert_true(last_placement > jres.first_position);
    assert_non_null(strstr(run.out, "\"events\":13"));
    assert_non_null(strstr(run.out, "\"malformed\":1"));
    assert_non_null(strstr(run.out, "\"identical\":false"));   /* pl4's new load is in */
    CLI("rebuild", "--pg", ci, "--projection", "placements", "--json");
    assert_non_null(strstr(run.out, "\"identical\":true"));
}

static void a_placement_that_does_not_decode_is_malformed(void **state)
{
    (void)state;
    es_event junk = {.position = 1000, .tenant = "kandava", .stream_id = "placement-x", .category = "placement",
                     .version = 1, .type = "PlacementStarted", .payload = (const uint8_t *)"\xff\xff\xff",
                     .payload_len = 3};
    es_txn *t = NULL;
    at_error err;
    assert_int_equal(es_txn_begin(es, &t, &err), ES_OK);
    assert_int_equal(placements_project(NULL, t, &junk, &err), AT_MALFORMED);
    assert_string_equal(err.message, "cannot project PlacementStarted at position 1000");
    junk.type = "BatchConfirmed";
    assert_int_equal(payments_project(NULL, t, &junk, &err), AT_MALFORMED);
    junk.type = "BatchExported";   /* not one this projection reads */
    assert_int_equal(payments_project(NULL, t, &junk, &err), AT_OK);
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
    if (es_open(&writer, &wcfg, &err) != ES_OK) {
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
    es_close(writer);
    return sk_teardown();
}

int main(void)
{
    t_require_servers(1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_scripted_month_gives_the_figures_known_by_construction),
        cmocka_unit_test(as_known_before_a_correction_the_reports_do_not_see_it),
        cmocka_unit_test(a_bad_cutoff_is_refused),
        cmocka_unit_test(the_command_line_prints_the_same_figures),
        cmocka_unit_test(the_indicators_of_the_month),
        cmocka_unit_test(the_command_line_prints_the_indicators),
        cmocka_unit_test(the_ministry_report_has_its_sections_at_one_position),
        cmocka_unit_test(a_claim_collected_by_a_paid_order_is_recovered_by_offset),
        cmocka_unit_test(a_rebuild_from_the_log_gives_identical_tables),
        cmocka_unit_test(a_placement_that_does_not_decode_is_malformed),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
