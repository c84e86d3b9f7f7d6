/*
 * test_allocation_consume.c -- the consumers of services/allocation/consume.c through the
 * atbalsts-allocation binary and atbalsts-relay, against real PostgreSQL and NATS, with
 * the test catalogue of catalogue_test/. The events are appended as their services append
 * them (es_append as role atb_means or atb_intake, real protobuf bytes):
 *  - a StatusGranted (needy) makes a later request without a status eligible where the
 *    catalogue needs the status and free of co-payment; a typed status wins; a status
 *    granted after the request still makes the charges free;
 *  - an ApplicationCompleted with service asks puts the subjects on the waiting list with
 *    the facts of the event's household, an ineligible ask is recorded as
 *    ServiceRequestRefused, and a restart with the checkpoint moved back adds nothing;
 *  - a request that gives no birth date, disability group or residence takes them from
 *    intake's person stream (a corrected fact replaced);
 *  - an ApplicationCompleted whose service ask index is no service ask is a dead letter;
 *  - a needy status annulled on appeal (DecisionOverridden) no longer makes a request
 *    eligible or a charge free from the appeal's date, and a later appeal's low-income
 *    status halves the charge; requests and charges name the event they took it from.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <libpq-fe.h>

#include "alhelp.h"
#include "at_date.h"
#include "at_uuid.h"
#include "svc.h"
#include "es.h"
#include "atb/v1/intake.pb-c.h"
#include "atb/v1/means.pb-c.h"

#define WAIT_MS 60000
#define TENANT "daugavpils"

static ah H;
static es_store *ES_MEANS;    /* decisions are appended as means testing appends them */
static es_store *ES_INTAKE;   /* applications as intake appends them */

static es_store *open_as(const char *role)
{
    char ci[600];
    t_db_conninfo(&H.sv.db, role, ci, sizeof ci);
    es_config cfg = {.conninfo = ci, .pool_size = 2};
    at_error err;
    es_store *es = NULL;
    if (es_open(&es, &cfg, &err) != ES_OK) {
        fprintf(stderr, "es_open as %s: %s\n", role, err.message);
        exit(1);
    }
    return es;
}

static int setup(void **state)
{
    (void)state;
    ah_prepare(&H);
    H.catalogue = TEST_CATALOGUE_DIR;
    ah_relay_start(&H);
    ah_launch(&H);
    ES_MEANS = open_as("atb_means");
    ES_INTAKE = open_as("atb_intake");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    es_close(ES_MEANS);
    es_close(ES_INTAKE);
    assert_int_equal(ah_stop(&H), 0);
    return 0;
}

static int64_t sql(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int64_t sql(const char *fmt, ...)
{
    char q[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(q, sizeof q, fmt, ap);
    va_end(ap);
    return sh_sql(&H.sv, q);
}

static int64_t wait_sql(int64_t want, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int64_t wait_sql(int64_t want, const char *fmt, ...)
{
    char q[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(q, sizeof q, fmt, ap);
    va_end(ap);
    return ah_wait_sql(&H, want, WAIT_MS, q);
}

/* Append one message as the given store's role; its event id into event_id; returns its
 * position. */
static int64_t append(es_store *es, const char *stream, const char *type, const ProtobufCMessage *m,
                      char event_id[AT_UUID_LEN + 1])
{
    size_t n = protobuf_c_message_get_packed_size(m);
    uint8_t *buf = malloc(n + 1);
    assert_non_null(buf);
    protobuf_c_message_pack(m, buf);
    char command_id[AT_UUID_LEN + 1], correlation[AT_UUID_LEN + 1];
    at_uuid_v4(event_id);
    at_uuid_v4(command_id);
    at_uuid_v4(correlation);
    es_event_in ev = {.type = type, .payload = buf, .payload_len = n, .event_id = event_id};
    es_append_req req = {.tenant = TENANT, .stream_id = stream, .expected_version = ES_VERSION_ANY,
                         .command_id = command_id, .correlation_id = correlation, .actor = "user:ilze.test",
                         .events = &ev, .n_events = 1};
    es_append_res res;
    at_error err;
    if (es_append(es, &req, &res, &err) != ES_OK)
        fail_msg("append %s to %s: %s (%s)", type, stream, err.message, err.detail);
    free(buf);
    return res.first_position;
}

/* StatusGranted of means testing: every member of the household has the status in the
 * period. Its position; the application id into app_out when not NULL. */
static int64_t grant_status_app(const char *const *members, size_t n, Atb__V1__MeansStatus status, int fy, int fm,
                                int fd, int ty, int tm, int td, char *app_out)
{
    char app[AT_UUID_LEN + 1], event_id[AT_UUID_LEN + 1], stream[64];
    at_uuid_v4(app);
    if (app_out)
        memcpy(app_out, app, sizeof app);
    Atb__V1__HouseholdMember mem[8], *mp[8];
    assert_true(n <= 8);
    for (size_t i = 0; i < n; i++) {
        atb__v1__household_member__init(&mem[i]);
        mem[i].key = (char *)members[i];
        mp[i] = &mem[i];
    }
    Atb__V1__Household hh = ATB__V1__HOUSEHOLD__INIT;
    hh.n_members = n;
    hh.members = mp;
    Atb__V1__DecisionInput in = ATB__V1__DECISION_INPUT__INIT;
    in.tenant = TENANT;
    in.application_id = app;
    in.ask_index = 1;
    in.household = &hh;
    Atb__V1__Date from, to;
    ah_date(&from, fy, fm, fd);
    ah_date(&to, ty, tm, td);
    Atb__V1__DecisionResult res = ATB__V1__DECISION_RESULT__INIT;
    res.outcome = ATB__V1__DECISION_OUTCOME__DECISION_OUTCOME_GRANTED;
    res.ask = status == ATB__V1__MEANS_STATUS__MEANS_STATUS_NEEDY ? ATB__V1__ASK_KIND__ASK_KIND_NEEDY_STATUS
                                                                  : ATB__V1__ASK_KIND__ASK_KIND_LOW_INCOME_STATUS;
    res.status = status;
    res.period_from = &from;
    res.period_to = &to;
    Atb__V1__Decision d = ATB__V1__DECISION__INIT;
    d.application_id = app;
    d.ask_index = 1;
    d.input = &in;
    d.result = &res;
    Atb__V1__StatusGranted g = ATB__V1__STATUS_GRANTED__INIT;
    g.decision = &d;
    snprintf(stream, sizeof stream, "decision-%s", app);
    int64_t pos = append(ES_MEANS, stream, "StatusGranted", &g.base, event_id);
    assert_int_equal(wait_sql(1, "SELECT count(*) FROM atb.checkpoints WHERE consumer = 'allocation-decisions' "
                                 "AND position >= %lld", (long long)pos),
                     1);
    return pos;
}

static int64_t grant_status(const char *const *members, size_t n, Atb__V1__MeansStatus status, int fy, int fm, int fd,
                            int ty, int tm, int td)
{
    return grant_status_app(members, n, status, fy, fm, fd, ty, tm, td, NULL);
}

/* The events a consumer handled since the service started (its metric). */
static int64_t handled_now(const char *consumer)
{
    char body[65536], series[160];
    if (sh_get(H.sv.http_port, "/metrics", body, sizeof body) != 200)
        return -1;
    snprintf(series, sizeof series, "atb_events_handled_total{service=\"allocation\",consumer=\"%s\"}", consumer);
    return sh_metric(body, series);
}

/* handled_now() once it is the number of events of the consumer's category in the log
 * (polled; the last value read when it never gets there). */
static int64_t handled(const char *consumer)
{
    int64_t want = sql("SELECT count(*) FROM atb.events WHERE category = '%s'",
                       strcmp(consumer, "allocation-decisions") == 0 ? "decision" : "application");
    int64_t got = -1;
    for (int i = 0; i < WAIT_MS / 50 && (got = handled_now(consumer)) != want; i++)
        nanosleep(&(struct timespec){0, 50 * 1000000L}, NULL);
    return got;
}

static Atb__V1__CommandReply *ok(Atb__V1__CommandReply *r)
{
    if (r->error && r->error->code)
        fail_msg("refused: %s (%s)", r->error->message, r->error->detail);
    return r;
}

#define EXPECT_OK_FREE(reply) atb__v1__command_reply__free_unpacked(ok(reply), NULL)

static void refused(Atb__V1__CommandReply *r, const char *field)
{
    assert_non_null(r->error);
    if (r->error->code != ATB__V1__ERROR_CODE__VALIDATION || strcmp(r->error->field, field) != 0)
        fail_msg("expected a refusal on %s, got %d %s: %s", field, (int)r->error->code, r->error->field,
                 r->error->message);
    atb__v1__command_reply__free_unpacked(r, NULL);
}

/* The payload of the only event of a stream with that type (caller frees with free()). */
static uint8_t *payload_of(const char *stream, const char *type, size_t *len)
{
    PGconn *c = PQconnectdb(H.sv.db.admin);
    const char *p[2] = {stream, type};
    PGresult *r = PQexecParams(c, "SELECT payload FROM atb.events WHERE stream_id = $1 AND type = $2", 2, NULL, p,
                               NULL, NULL, 1);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
        fail_msg("no single %s on %s", type, stream);
    *len = (size_t)PQgetlength(r, 0, 0);
    uint8_t *out = malloc(*len + 1);
    memcpy(out, PQgetvalue(r, 0, 0), *len);
    PQclear(r);
    PQfinish(c);
    return out;
}

static Atb__V1__ServiceRequested *requested(const char *stream)
{
    size_t n = 0;
    uint8_t *b = payload_of(stream, "ServiceRequested", &n);
    Atb__V1__ServiceRequested *e = atb__v1__service_requested__unpack(NULL, n, b);
    free(b);
    assert_non_null(e);
    return e;
}

static Atb__V1__CommandReply *request(const char *person, const char *service, int y, int m, int d, int status)
{
    ah_req rq = {.service = service, .y = y, .m = m, .d = d, .by = 1960, .bm = 4, .bd = 12, .status = status,
                 .resident = true};
    return ah_request(&H, TENANT, person, &rq);
}

/* ---- a status granted by means testing ---- */

static void a_granted_status_fills_requests_without_one_and_makes_them_free(void **state)
{
    (void)state;
    char p[AT_UUID_LEN + 1], q[AT_UUID_LEN + 1], r[AT_UUID_LEN + 1], s[AT_UUID_LEN + 1];
    at_uuid_v4(p), at_uuid_v4(q), at_uuid_v4(r), at_uuid_v4(s);
    const char *household[] = {p, q};
    int64_t pos = grant_status(household, 2, ATB__V1__MEANS_STATUS__MEANS_STATUS_NEEDY, 2025, 1, 1, 2025, 6, 30);
    assert_int_equal(sql("SELECT count(*) FROM allocation.statuses WHERE person_key IN ('%s', '%s') AND status = 1 "
                         "AND from_on = '2025-01-01' AND to_on = '2025-06-30' AND position = %lld",
                         p, q, (long long)pos),
                     2);

    /* The soup kitchen needs the needy status: P has it from the log, R has none. */
    Atb__V1__CommandReply *rp = ok(request(p, "meal_service", 2025, 3, 3, 0));
    Atb__V1__ServiceRequested *e = requested(rp->stream_id);
    assert_int_equal(e->status, ATB__V1__NEED_STATUS__NEED_STATUS_NEEDY);
    assert_int_equal(e->n_filled, 1);
    assert_string_equal(e->filled[0], "status");
    assert_int_equal(e->status_position, pos);
    assert_string_equal(e->application_id, "");
    atb__v1__service_requested__free_unpacked(e, NULL);
    atb__v1__command_reply__free_unpacked(rp, NULL);
    refused(request(r, "meal_service", 2025, 3, 3, 0), "status");
    /* after the period Q has no status; a typed status wins over the log's */
    refused(request(q, "meal_service", 2025, 7, 1, 0), "status");
    refused(request(q, "meal_service", 2025, 3, 3, ATB__V1__NEED_STATUS__NEED_STATUS_LOW_INCOME), "status");
    rp = ok(request(q, "day_care", 2025, 3, 3, ATB__V1__NEED_STATUS__NEED_STATUS_LOW_INCOME));
    e = requested(rp->stream_id);
    assert_int_equal(e->status, ATB__V1__NEED_STATUS__NEED_STATUS_LOW_INCOME);
    assert_int_equal(e->n_filled, 0);
    assert_int_equal(e->status_position, 0);
    atb__v1__service_requested__free_unpacked(e, NULL);
    atb__v1__command_reply__free_unpacked(rp, NULL);

    /* The day centre: P (needy from the log), R (no status), S (no status when asking;
     * needy granted later, from April). Q's low-income request goes first. */
    EXPECT_OK_FREE(request(p, "day_care", 2025, 3, 3, 0));
    EXPECT_OK_FREE(request(r, "day_care", 2025, 3, 3, 0));
    EXPECT_OK_FREE(request(s, "day_care", 2025, 3, 3, 0));
    const char *later[] = {s};
    grant_status(later, 1, ATB__V1__MEANS_STATUS__MEANS_STATUS_NEEDY, 2025, 4, 1, 2025, 9, 30);
    for (int i = 0; i < 4; i++) {
        Atb__V1__CommandReply *o = ok(ah_allocate(&H, TENANT, TENANT, "dienas_centrs", "day_care", 2025, 3, 31));
        EXPECT_OK_FREE(ah_answer(&H, TENANT, o->key, true, NULL, 2025, 4, 1));
        atb__v1__command_reply__free_unpacked(o, NULL);
    }
    Atb__V1__RecordCharges rc = ATB__V1__RECORD_CHARGES__INIT;
    Atb__V1__CommandMeta meta = ATB__V1__COMMAND_META__INIT;
    Atb__V1__Date f, t;
    ah_date(&f, 2025, 4, 1);
    ah_date(&t, 2025, 4, 30);
    rc.meta = &meta, rc.period_from = &f, rc.period_to = &t;
    EXPECT_OK_FREE(ah_cmd(&H, TENANT, "RecordCharges", &rc.base, &meta));

    /* April, 30 days at 10.00 EUR: R pays all of it, Q half, P and S nothing. */
    PGconn *c = PQconnectdb(H.sv.db.admin);
    PGresult *res = PQexecParams(c, "SELECT payload FROM atb.events WHERE type = 'ChargeRecorded' ORDER BY position",
                                 0, NULL, NULL, NULL, NULL, 1);
    assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
    int64_t client_r = 0, client_q = 0, client_other = 0, funded = 0;
    for (int i = 0; i < PQntuples(res); i++) {
        Atb__V1__ChargeRecorded *ch = atb__v1__charge_recorded__unpack(NULL, (size_t)PQgetlength(res, i, 0),
                                                                       (const uint8_t *)PQgetvalue(res, i, 0));
        assert_non_null(ch);
        if (strcmp(ch->payer, "client") != 0)
            funded += ch->amount_cents;
        else if (strcmp(ch->person_key, r) == 0)
            client_r += ch->amount_cents;
        else if (strcmp(ch->person_key, q) == 0)
            client_q += ch->amount_cents;
        else
            client_other += ch->amount_cents;
        atb__v1__charge_recorded__free_unpacked(ch, NULL);
    }
    PQclear(res);
    PQfinish(c);
    assert_int_equal(client_r, 30 * 1000);
    assert_int_equal(client_q, 30 * 500);
    assert_int_equal(client_other, 0);
    assert_int_equal(funded, 30 * 1000 * 2 + 30 * 500);
}

/* ---- a status changed by an appeal ---- */

/* DecisionOverridden of a status decision, as means testing's override_in_txn appends it:
 * the new result replaces the decision at `overridden` from decided_on. */
static int64_t override_status(const char *app, int64_t overridden, bool annul, int y, int m, int d)
{
    char event_id[AT_UUID_LEN + 1], stream[64];
    Atb__V1__Date on, from, to;
    ah_date(&on, y, m, d);
    ah_date(&from, 2026, 1, 1);
    ah_date(&to, 2026, 12, 31);
    Atb__V1__DecisionResult prev = ATB__V1__DECISION_RESULT__INIT, res = ATB__V1__DECISION_RESULT__INIT;
    prev.outcome = ATB__V1__DECISION_OUTCOME__DECISION_OUTCOME_GRANTED;
    prev.ask = ATB__V1__ASK_KIND__ASK_KIND_NEEDY_STATUS;
    prev.status = ATB__V1__MEANS_STATUS__MEANS_STATUS_NEEDY;
    prev.period_from = &from, prev.period_to = &to;
    res.ask = ATB__V1__ASK_KIND__ASK_KIND_NEEDY_STATUS;
    if (annul) {
        res.outcome = ATB__V1__DECISION_OUTCOME__DECISION_OUTCOME_REFUSED;
    } else {
        res.outcome = ATB__V1__DECISION_OUTCOME__DECISION_OUTCOME_GRANTED;
        res.status = ATB__V1__MEANS_STATUS__MEANS_STATUS_LOW_INCOME;
        res.period_from = &from, res.period_to = &to;
    }
    Atb__V1__DecisionOverridden o = ATB__V1__DECISION_OVERRIDDEN__INIT;
    o.application_id = (char *)app;
    o.ask_index = 1;
    o.kind = ATB__V1__OVERRIDE_KIND__OVERRIDE_KIND_APPEAL;
    o.decided_by = "Administratīvā komisija";
    o.reason = "test";
    o.decided_on = &on;
    o.previous = &prev;
    o.result = &res;
    o.actor = "user:ilze.test";
    o.overridden_position = overridden;
    snprintf(stream, sizeof stream, "decision-%s", app);
    int64_t pos = append(ES_MEANS, stream, "DecisionOverridden", &o.base, event_id);
    assert_int_equal(wait_sql(1, "SELECT count(*) FROM atb.checkpoints WHERE consumer = 'allocation-decisions' "
                                 "AND position >= %lld", (long long)pos),
                     1);
    return pos;
}

static void record_charges(int y, int m, int d1, int d2)
{
    Atb__V1__RecordCharges rc = ATB__V1__RECORD_CHARGES__INIT;
    Atb__V1__CommandMeta meta = ATB__V1__COMMAND_META__INIT;
    Atb__V1__Date f, t;
    ah_date(&f, y, m, d1);
    ah_date(&t, y, m, d2);
    rc.meta = &meta, rc.period_from = &f, rc.period_to = &t;
    EXPECT_OK_FREE(ah_cmd(&H, TENANT, "RecordCharges", &rc.base, &meta));
}

typedef struct charged {
    int64_t client;              /* what the client pays */
    int status;                  /* the status and its source named by the charges */
    char source[32];
    int64_t position;
    int n;                       /* ChargeRecorded events of the person */
} charged;

static charged charges_of(const char *person, int y, int m, int d1, int d2)
{
    char stream[96];
    snprintf(stream, sizeof stream, "charges-%s.%04d-%02d-%02d.%04d-%02d-%02d", TENANT, y, m, d1, y, m, d2);
    PGconn *c = PQconnectdb(H.sv.db.admin);
    const char *p[1] = {stream};
    PGresult *res = PQexecParams(c, "SELECT payload FROM atb.events WHERE stream_id = $1 AND type = 'ChargeRecorded' "
                                    "ORDER BY position", 1, NULL, p, NULL, NULL, 1);
    assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
    charged out = {0};
    for (int i = 0; i < PQntuples(res); i++) {
        Atb__V1__ChargeRecorded *ch = atb__v1__charge_recorded__unpack(NULL, (size_t)PQgetlength(res, i, 0),
                                                                       (const uint8_t *)PQgetvalue(res, i, 0));
        assert_non_null(ch);
        if (strcmp(ch->person_key, person) == 0) {
            out.n++;
            if (strcmp(ch->payer, "client") == 0)
                out.client += ch->amount_cents;
            out.status = ch->status;
            snprintf(out.source, sizeof out.source, "%s", ch->status_source);
            out.position = ch->status_position;
        }
        atb__v1__charge_recorded__free_unpacked(ch, NULL);
    }
    PQclear(res);
    PQfinish(c);
    return out;
}

static void a_needy_status_annulled_on_appeal_stops_being_free_from_its_date(void **state)
{
    (void)state;
    char x[AT_UUID_LEN + 1], app[AT_UUID_LEN + 1];
    at_uuid_v4(x);
    const char *household[] = {x};
    int64_t g = grant_status_app(household, 1, ATB__V1__MEANS_STATUS__MEANS_STATUS_NEEDY, 2026, 1, 1, 2026, 12, 31,
                                 app);

    /* X is needy from the log when placed at the day centre: free. */
    Atb__V1__CommandReply *rp = ok(request(x, "day_care", 2026, 2, 2, 0));
    Atb__V1__ServiceRequested *e = requested(rp->stream_id);
    assert_int_equal(e->status, ATB__V1__NEED_STATUS__NEED_STATUS_NEEDY);
    assert_int_equal(e->status_position, g);
    assert_string_equal(e->status_event, "StatusGranted");
    atb__v1__service_requested__free_unpacked(e, NULL);
    atb__v1__command_reply__free_unpacked(rp, NULL);
    /* requests of the earlier cases may be ahead of X's: place them all */
    for (int i = 0; i < 8 && sql("SELECT count(*) FROM allocation.placements WHERE person_key = '%s'", x) == 0; i++) {
        Atb__V1__CommandReply *o = ok(ah_allocate(&H, TENANT, TENANT, "dienas_centrs", "day_care", 2026, 2, 2));
        EXPECT_OK_FREE(ah_answer(&H, TENANT, o->key, true, NULL, 2026, 2, 2));
        atb__v1__command_reply__free_unpacked(o, NULL);
    }

    /* The appeal commission annuls the status on 15 June 2026. */
    int64_t ov = override_status(app, g, true, 2026, 6, 15);
    assert_int_equal(sql("SELECT count(*) FROM allocation.statuses WHERE person_key = '%s' AND status = 1 "
                         "AND to_on = '2026-06-14' AND position = %lld", x, (long long)g),
                     1);

    /* From the date the soup kitchen (needy only) refuses X; before it the status stands. */
    refused(request(x, "meal_service", 2026, 7, 1, 0), "status");
    rp = ok(request(x, "meal_service", 2026, 6, 1, 0));
    e = requested(rp->stream_id);
    assert_int_equal(e->status, ATB__V1__NEED_STATUS__NEED_STATUS_NEEDY);
    assert_string_equal(e->status_event, "StatusGranted");
    atb__v1__service_requested__free_unpacked(e, NULL);
    atb__v1__command_reply__free_unpacked(rp, NULL);
    /* A request that finds no status names the override as where its "none" comes from. */
    rp = ok(request(x, "day_care", 2026, 7, 1, 0));
    e = requested(rp->stream_id);
    assert_int_equal(e->status, ATB__V1__NEED_STATUS__NEED_STATUS_NONE);
    assert_int_equal(e->status_position, ov);
    assert_string_equal(e->status_event, "DecisionOverridden");
    atb__v1__service_requested__free_unpacked(e, NULL);
    atb__v1__command_reply__free_unpacked(rp, NULL);

    /* The placement's charges: May is free (needy), July is paid in full (annulled). */
    record_charges(2026, 5, 1, 31);
    charged may = charges_of(x, 2026, 5, 1, 31);
    assert_int_equal(may.n, 1);
    assert_int_equal(may.client, 0);
    assert_int_equal(may.status, ATB__V1__NEED_STATUS__NEED_STATUS_NEEDY);
    assert_string_equal(may.source, "StatusGranted");
    assert_int_equal(may.position, g);
    record_charges(2026, 7, 1, 31);
    charged july = charges_of(x, 2026, 7, 1, 31);
    assert_int_equal(july.client, 31 * 1000);
    assert_int_equal(july.status, ATB__V1__NEED_STATUS__NEED_STATUS_NONE);
    assert_string_equal(july.source, "DecisionOverridden");
    assert_int_equal(july.position, ov);

    /* A second appeal grants the low-income status from 1 August: half of the tariff. */
    int64_t ov2 = override_status(app, g, false, 2026, 8, 1);
    record_charges(2026, 8, 1, 31);
    charged aug = charges_of(x, 2026, 8, 1, 31);
    assert_int_equal(aug.client, 31 * 500);
    assert_int_equal(aug.status, ATB__V1__NEED_STATUS__NEED_STATUS_LOW_INCOME);
    assert_string_equal(aug.source, "DecisionOverridden");
    assert_int_equal(aug.position, ov2);
    /* July stays as it was: the new result is in force from its own date only. */
    assert_int_equal(sql("SELECT count(*) FROM allocation.statuses WHERE person_key = '%s' AND status = 0 "
                         "AND from_on = '2026-06-15' AND to_on = '2026-07-31'", x),
                     1);
}

/* ---- the service asks of a completed application ---- */

static Atb__V1__HouseholdMember member(const char *key, Atb__V1__Date *birth, int group, Atb__V1__Date *group_from,
                                       Atb__V1__Date *resident_since)
{
    Atb__V1__HouseholdMember m = ATB__V1__HOUSEHOLD_MEMBER__INIT;
    m.key = (char *)key;
    m.birth_date = birth;
    m.disability_group = group;
    m.disability_from = group_from;
    m.residence_since = resident_since;
    return m;
}

static void an_application_with_service_asks_joins_the_waiting_list_once(void **state)
{
    (void)state;
    char app[AT_UUID_LEN + 1], a[AT_UUID_LEN + 1], b[AT_UUID_LEN + 1], c[AT_UUID_LEN + 1], hh_key[AT_UUID_LEN + 1];
    at_uuid_v4(app), at_uuid_v4(a), at_uuid_v4(b), at_uuid_v4(c), at_uuid_v4(hh_key);
    /* The applicant's household was granted the needy status earlier this year. */
    const char *needy[] = {a, b, c};
    int64_t status_pos = grant_status(needy, 3, ATB__V1__MEANS_STATUS__MEANS_STATUS_NEEDY, 2025, 1, 1, 2025, 12, 31);

    /* Asks: 1 the needy status (means testing's), 2 an assistant for B (group II, 20 hours),
     * 3 an assistant for C (no disability group: refused), 4 the day centre for the
     * applicant (the subject left empty). */
    Atb__V1__Ask ask[4], *ap[4];
    for (int i = 0; i < 4; i++) {
        atb__v1__ask__init(&ask[i]);
        ap[i] = &ask[i];
    }
    ask[0].kind = ATB__V1__ASK_KIND__ASK_KIND_NEEDY_STATUS;
    ask[1].kind = ATB__V1__ASK_KIND__ASK_KIND_SERVICE, ask[1].benefit = "personal_assistant", ask[1].subject = b;
    ask[1].units = 20;
    ask[2].kind = ATB__V1__ASK_KIND__ASK_KIND_SERVICE, ask[2].benefit = "personal_assistant", ask[2].subject = c;
    ask[2].units = 10;
    ask[3].kind = ATB__V1__ASK_KIND__ASK_KIND_SERVICE, ask[3].benefit = "day_care";
    Atb__V1__Date received, decided;
    ah_date(&received, 2025, 5, 5);
    ah_date(&decided, 2025, 5, 20);
    Atb__V1__ApplicationReceived rcv = ATB__V1__APPLICATION_RECEIVED__INIT;
    rcv.application_id = app;
    rcv.applicant = a;
    rcv.household_key = hh_key;
    rcv.n_asks = 4;
    rcv.asks = ap;
    rcv.received = &received;
    char stream[64], ev_received[AT_UUID_LEN + 1], ev_completed[AT_UUID_LEN + 1];
    snprintf(stream, sizeof stream, "application-%s", app);
    append(ES_INTAKE, stream, "ApplicationReceived", &rcv.base, ev_received);

    Atb__V1__Date ba, bb, bc, since, group_from;
    ah_date(&ba, 1950, 2, 3);
    ah_date(&bb, 1990, 7, 8);
    ah_date(&bc, 2000, 9, 10);
    ah_date(&since, 2010, 1, 1);
    ah_date(&group_from, 2020, 1, 1);
    Atb__V1__HouseholdMember m[3] = {member(a, &ba, 0, NULL, &since), member(b, &bb, 2, &group_from, &since),
                                     member(c, &bc, 0, NULL, &since)};
    Atb__V1__HouseholdMember *mp[3] = {&m[0], &m[1], &m[2]};
    Atb__V1__Household hh = ATB__V1__HOUSEHOLD__INIT;
    hh.id = hh_key;
    hh.n_members = 3;
    hh.members = mp;
    Atb__V1__Application application = ATB__V1__APPLICATION__INIT;
    application.id = app;
    application.submitted = &received;
    application.decision_date = &decided;
    application.applicant = a;
    application.n_asks = 1;
    application.asks = ap;
    int32_t service_asks[3] = {2, 3, 4};
    Atb__V1__ApplicationCompleted ac = ATB__V1__APPLICATION_COMPLETED__INIT;
    ac.application_id = app;
    ac.application = &application;
    ac.household = &hh;
    ac.completed_on = &decided;
    ac.n_service_asks = 3;
    ac.service_asks = service_asks;
    int64_t completed = append(ES_INTAKE, stream, "ApplicationCompleted", &ac.base, ev_completed);

    assert_int_equal(wait_sql(3, "SELECT count(*) FROM atb.events WHERE causation_id = '%s'", ev_completed), 3);
    assert_int_equal(sql("SELECT count(*) FROM atb.events WHERE causation_id = '%s' AND type = 'ServiceRequested'",
                         ev_completed),
                     2);

    /* B: the assistant, with the facts of the household on the date received. */
    assert_int_equal(sql("SELECT count(*) FROM allocation.requests WHERE person_key = '%s' "
                         "AND service = 'personal_assistant' AND birth_date = '1990-07-08' AND disability_group = 2 "
                         "AND resident AND load = 20 AND requested_on = '2025-05-05' AND status = 1 "
                         "AND state = 'waiting'",
                         b),
                     1);
    char key[64];
    sh_sql_text(&H.sv, "SELECT 'request-' || request_key FROM allocation.requests WHERE service = 'personal_assistant'",
                key, sizeof key);
    Atb__V1__ServiceRequested *e = requested(key);
    assert_string_equal(e->person_key, b);
    assert_string_equal(e->application_id, app);
    assert_int_equal(e->ask_index, 2);
    assert_int_equal(e->status, ATB__V1__NEED_STATUS__NEED_STATUS_NEEDY);
    assert_int_equal(e->status_position, status_pos);
    assert_int_equal(e->disability_group, 2);
    assert_true(e->resident);
    atb__v1__service_requested__free_unpacked(e, NULL);
    /* the applicant: the day centre */
    assert_int_equal(sql("SELECT count(*) FROM allocation.requests WHERE person_key = '%s' AND service = 'day_care' "
                         "AND birth_date = '1950-02-03' AND disability_group = 0 AND status = 1",
                         a),
                     1);
    /* C: refused, recorded with the reason where the request would have been */
    sh_sql_text(&H.sv, "SELECT stream_id FROM atb.events WHERE type = 'ServiceRequestRefused'", key, sizeof key);
    size_t n = 0;
    uint8_t *buf = payload_of(key, "ServiceRequestRefused", &n);
    Atb__V1__ServiceRequestRefused *f = atb__v1__service_request_refused__unpack(NULL, n, buf);
    free(buf);
    assert_non_null(f);
    assert_string_equal(f->person_key, c);
    assert_string_equal(f->service, "personal_assistant");
    assert_string_equal(f->application_id, app);
    assert_int_equal(f->ask_index, 3);
    assert_int_equal(f->completed_position, completed);
    assert_non_null(f->error);
    assert_int_equal(f->error->code, ATB__V1__ERROR_CODE__VALIDATION);
    assert_string_equal(f->error->field, "disability_group");
    atb__v1__service_request_refused__free_unpacked(f, NULL);
    assert_int_equal(sql("SELECT count(*) FROM allocation.requests WHERE person_key = '%s'", c), 0);

    /* A restart with both checkpoints moved back: every event of both categories is
     * handed to the handlers again (from the log, once a new event shows the gap), and
     * nothing is appended twice, no status recorded twice. */
    int64_t requests = sql("SELECT count(*) FROM atb.events WHERE type IN ('ServiceRequested', "
                           "'ServiceRequestRefused')");
    int64_t statuses = sql("SELECT count(*) FROM allocation.statuses");
    assert_int_equal(ah_halt(&H), 0);
    sql("UPDATE atb.checkpoints SET position = 0 WHERE consumer LIKE 'allocation-%%' RETURNING 1");
    ah_launch(&H);
    char other[AT_UUID_LEN + 1], ev_other[AT_UUID_LEN + 1];
    at_uuid_v4(other);
    const char *others[] = {other};
    int64_t last_decision = grant_status(others, 1, ATB__V1__MEANS_STATUS__MEANS_STATUS_LOW_INCOME, 2025, 1, 1, 2025,
                                         3, 31);
    rcv.application_id = other;
    snprintf(stream, sizeof stream, "application-%s", other);
    int64_t last_application = append(ES_INTAKE, stream, "ApplicationReceived", &rcv.base, ev_other);
    assert_int_equal(wait_sql(1, "SELECT count(*) FROM atb.checkpoints WHERE consumer = 'allocation-applications' "
                                 "AND position >= %lld", (long long)last_application),
                     1);
    assert_int_equal(wait_sql(1, "SELECT count(*) FROM atb.checkpoints WHERE consumer = 'allocation-decisions' "
                                 "AND position >= %lld", (long long)last_decision),
                     1);
    assert_int_equal(handled("allocation-applications"),
                     sql("SELECT count(*) FROM atb.events WHERE category = 'application'"));
    assert_int_equal(handled("allocation-decisions"),
                     sql("SELECT count(*) FROM atb.events WHERE category = 'decision'"));
    assert_int_equal(sql("SELECT count(*) FROM atb.events WHERE causation_id = '%s'", ev_completed), 3);
    assert_int_equal(sql("SELECT count(*) FROM atb.events WHERE type IN ('ServiceRequested', "
                         "'ServiceRequestRefused')"),
                     requests);
    assert_int_equal(sql("SELECT count(*) FROM allocation.requests WHERE person_key IN ('%s', '%s')", a, b), 2);
    assert_int_equal(sql("SELECT count(*) FROM allocation.statuses"), statuses + 1);
    assert_int_equal(sql("SELECT count(*) FROM atb.dead_letters"), 0);
}

/* ---- a person recorded by intake ---- */

static int64_t person_fact(const char *person, Atb__V1__PersonFactKind kind, int level, const char *municipality,
                           int fy, int fm, int fd, int64_t corrects)
{
    Atb__V1__Date from;
    ah_date(&from, fy, fm, fd);
    Atb__V1__PersonFact f = ATB__V1__PERSON_FACT__INIT;
    f.kind = kind;
    f.from = &from;
    f.level = level;
    f.municipality = (char *)municipality;
    Atb__V1__PersonFactRecorded e = ATB__V1__PERSON_FACT_RECORDED__INIT;
    e.person_key = (char *)person;
    e.fact = &f;
    e.corrects_position = corrects;
    e.recorded_on = &from;
    char stream[64], id[AT_UUID_LEN + 1];
    snprintf(stream, sizeof stream, "person-%s", person);
    return append(ES_INTAKE, stream, "PersonFactRecorded", &e.base, id);
}

static void a_request_without_the_persons_facts_takes_them_from_intake(void **state)
{
    (void)state;
    char p[AT_UUID_LEN + 1], unknown[AT_UUID_LEN + 1], id[AT_UUID_LEN + 1], stream[64];
    at_uuid_v4(p), at_uuid_v4(unknown);
    Atb__V1__Date birth;
    ah_date(&birth, 1945, 6, 7);
    Atb__V1__PersonRegistered reg = ATB__V1__PERSON_REGISTERED__INIT;
    reg.person_key = p;
    reg.birth_date = &birth;
    snprintf(stream, sizeof stream, "person-%s", p);
    append(ES_INTAKE, stream, "PersonRegistered", &reg.base, id);
    person_fact(p, ATB__V1__PERSON_FACT_KIND__PERSON_FACT_KIND_RESIDENCE, 0, TENANT, 2001, 1, 1, 0);
    int64_t wrong = person_fact(p, ATB__V1__PERSON_FACT_KIND__PERSON_FACT_KIND_DISABILITY, 3, "", 2025, 1, 1, 0);
    int64_t last = person_fact(p, ATB__V1__PERSON_FACT_KIND__PERSON_FACT_KIND_DISABILITY, 1, "", 2024, 6, 1, wrong);
    assert_int_equal(wait_sql(1, "SELECT count(*) FROM atb.checkpoints WHERE consumer = 'allocation-persons' "
                                 "AND position >= %lld", (long long)last),
                     1);

    /* The assistant needs group I or II and residence: the command gives neither, nor the
     * birth date; the log has them (group III from 2025 corrected to group I from June
     * 2024: the replaced fact no longer counts). */
    ah_req rq = {.service = "personal_assistant", .y = 2025, .m = 5, .d = 5, .hours = 10};
    Atb__V1__CommandReply *r = ok(ah_request(&H, TENANT, p, &rq));
    Atb__V1__ServiceRequested *e = requested(r->stream_id);
    at_date b = AT_DATE_NONE;
    assert_true(svc_date_in(e->birth_date, &b));
    char text[11];
    at_date_format(b, text, sizeof text);
    assert_string_equal(text, "1945-06-07");
    assert_int_equal(e->disability_group, 1);
    assert_true(e->resident);
    assert_int_equal(e->n_filled, 3);
    assert_string_equal(e->filled[0], "birth_date");
    assert_string_equal(e->filled[1], "disability_group");
    assert_string_equal(e->filled[2], "resident");
    atb__v1__service_requested__free_unpacked(e, NULL);
    atb__v1__command_reply__free_unpacked(r, NULL);
    /* before the group was recorded: not eligible; a person intake does not know: no birth date */
    rq.y = 2024, rq.m = 3;
    refused(ah_request(&H, TENANT, p, &rq), "disability_group");
    rq.y = 2025, rq.m = 5;
    refused(ah_request(&H, TENANT, unknown, &rq), "birth_date");
}

/* ---- an application that can never be handled ---- */

static void a_service_ask_index_that_is_no_service_ask_is_a_dead_letter(void **state)
{
    (void)state;
    char app[AT_UUID_LEN + 1], applicant[AT_UUID_LEN + 1], id[AT_UUID_LEN + 1], stream[64];
    at_uuid_v4(app), at_uuid_v4(applicant);
    Atb__V1__Ask ask = ATB__V1__ASK__INIT, *ap[1] = {&ask};
    ask.kind = ATB__V1__ASK_KIND__ASK_KIND_NEEDY_STATUS;
    Atb__V1__Date received;
    ah_date(&received, 2025, 5, 5);
    Atb__V1__ApplicationReceived rcv = ATB__V1__APPLICATION_RECEIVED__INIT;
    rcv.application_id = app;
    rcv.applicant = applicant;
    rcv.n_asks = 1;
    rcv.asks = ap;
    rcv.received = &received;
    snprintf(stream, sizeof stream, "application-%s", app);
    append(ES_INTAKE, stream, "ApplicationReceived", &rcv.base, id);
    int32_t service_asks[1] = {1};
    Atb__V1__ApplicationCompleted ac = ATB__V1__APPLICATION_COMPLETED__INIT;
    ac.application_id = app;
    ac.n_service_asks = 1;
    ac.service_asks = service_asks;
    int64_t pos = append(ES_INTAKE, stream, "ApplicationCompleted", &ac.base, id);
    assert_int_equal(wait_sql(1, "SELECT count(*) FROM atb.dead_letters WHERE consumer = 'allocation-applications' "
                                 "AND position = %lld",
                              (long long)pos),
                     1);
    assert_int_equal(sql("SELECT count(*) FROM atb.events WHERE causation_id = '%s'", id), 0);
}

int main(void)
{
    t_require_servers(1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_granted_status_fills_requests_without_one_and_makes_them_free),
        cmocka_unit_test(an_application_with_service_asks_joins_the_waiting_list_once),
        cmocka_unit_test(a_request_without_the_persons_facts_takes_them_from_intake),
        cmocka_unit_test(a_service_ask_index_that_is_no_service_ask_is_a_dead_letter),
        cmocka_unit_test(a_needy_status_annulled_on_appeal_stops_being_free_from_its_date),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
