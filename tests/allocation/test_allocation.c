/*
 * test_allocation.c -- the allocation service over NATS against real PostgreSQL: the
 * winter queue for short-term care, a Tērvete resident in Dobele's crisis centre under a
 * purchase agreement and the charge it causes, a municipality refused at a provider it
 * has no agreement with, and eligibility refusals that append nothing.
 *
 * The catalogue is the source tree's (services/allocation/catalogue): Daugavpils' ĪSAN
 * has 20 places, Tērvete buys 2 places at Dobele's crisis centre, Kandava buys none.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libpq-fe.h>

#include "at_uuid.h"
#include "alhelp.h"

static ah h;

static int setup(void **state)
{
    ah_start(&h);
    return 0;
}

static int teardown(void **state)
{
    return ah_stop(&h);   /* a service that does not exit cleanly fails the group */
}

/* Sum the amount_cents of every event of `type` of `tenant` (payloads decoded here). */
static int64_t sum_amounts(const char *type, const char *tenant, int64_t *n_out)
{
    PGconn *c = PQconnectdb(h.sv.db.admin);
    assert_int_equal(PQstatus(c), CONNECTION_OK);
    const char *p[2] = {type, tenant};
    PGresult *r = PQexecParams(c, "SELECT payload FROM atb.events WHERE type = $1 AND tenant = $2 ORDER BY position",
                               2, NULL, p, NULL, NULL, 1);
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    int64_t sum = 0;
    *n_out = PQntuples(r);
    for (int i = 0; i < PQntuples(r); i++) {
        const uint8_t *b = (const uint8_t *)PQgetvalue(r, i, 0);
        size_t len = (size_t)PQgetlength(r, i, 0);
        if (strcmp(type, "InterMunicipalCharge") == 0) {
            Atb__V1__InterMunicipalCharge *m = atb__v1__inter_municipal_charge__unpack(NULL, len, b);
            assert_non_null(m);
            assert_string_equal(m->buyer, tenant);
            assert_string_equal(m->seller, "dobele");
            assert_string_equal(m->agreement, "tervete_dobele_crisis");
            sum += m->amount_cents;
            atb__v1__inter_municipal_charge__free_unpacked(m, NULL);
        } else {
            Atb__V1__ChargeRecorded *m = atb__v1__charge_recorded__unpack(NULL, len, b);
            assert_non_null(m);
            sum += m->amount_cents;
            atb__v1__charge_recorded__free_unpacked(m, NULL);
        }
    }
    PQclear(r);
    PQfinish(c);
    return sum;
}

/* The client's share among the ChargeRecorded events after log position `after`. */
static int64_t client_share_after(int64_t after)
{
    PGconn *c = PQconnectdb(h.sv.db.admin);
    assert_int_equal(PQstatus(c), CONNECTION_OK);
    char pos[24];
    snprintf(pos, sizeof pos, "%lld", (long long)after);
    const char *p[1] = {pos};
    PGresult *r = PQexecParams(c, "SELECT payload FROM atb.events WHERE type = 'ChargeRecorded' AND position > $1",
                               1, NULL, p, NULL, NULL, 1);
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    int64_t sum = 0;
    for (int i = 0; i < PQntuples(r); i++) {
        Atb__V1__ChargeRecorded *m = atb__v1__charge_recorded__unpack(NULL, (size_t)PQgetlength(r, i, 0),
                                                                      (const uint8_t *)PQgetvalue(r, i, 0));
        assert_non_null(m);
        if (strcmp(m->payer, "client") == 0) {
            assert_string_equal(m->payee, "provider:daugavpils.aprupes_birojs");
            sum += m->amount_cents;
        } else {
            assert_string_equal(m->payer, "municipality:daugavpils");
        }
        atb__v1__charge_recorded__free_unpacked(m, NULL);
    }
    PQclear(r);
    PQfinish(c);
    return sum;
}

#define EXPECT_REFUSED(reply, code_, field_, msg_part)                                                    \
    do {                                                                                                  \
        Atb__V1__CommandReply *r_ = (reply);                                                              \
        assert_non_null(r_->error);                                                                       \
        if (r_->error->code != (code_) || strstr(r_->error->message, (msg_part)) == NULL)                 \
            fail_msg("expected %d \"%s\", got %d \"%s\" (%s)", (int)(code_), (msg_part), (int)r_->error->code, \
                     r_->error->message, r_->error->detail);                                              \
        assert_string_equal(r_->error->field, (field_));                                                  \
        atb__v1__command_reply__free_unpacked(r_, NULL);                                                  \
    } while (0)

#define EXPECT_OK(reply)                                                                                  \
    do {                                                                                                  \
        Atb__V1__CommandReply *r_ = (reply);                                                              \
        if (r_->error && r_->error->code)                                                                 \
            fail_msg("refused: %s (%s)", r_->error->message, r_->error->detail);                           \
        atb__v1__command_reply__free_unpacked(r_, NULL);                                                  \
    } while (0)

static Atb__V1__CommandReply *ok(Atb__V1__CommandReply *r)
{
    if (r->error && r->error->code)
        fail_msg("refused: %s (%s)", r->error->message, r->error->detail);
    return r;
}

/* ---- (1) the winter queue ---- */

#define QN 24

static void winter_queue_offers_in_priority_order_never_twice_and_decline_moves_on(void **state)
{
    char person[QN][37], request[QN][37];
    ah_req rq = {.service = "short_term_care", .y = 2019, .m = 11, .d = 4, .by = 1938, .bm = 5, .bd = 2,
                 .status = ATB__V1__NEED_STATUS__NEED_STATUS_NEEDY, .resident = true};
    for (int i = 0; i < QN; i++) {
        at_uuid_v4(person[i]);
        EXPECT_OK(ah_assess(&h, "daugavpils", person[i], 25));   /* care level 3 */
        rq.urgency = (i == 5 || i == 17)            ? ATB__V1__URGENCY__URGENCY_VIOLENCE
                     : (i == 3 || i == 9 || i == 20) ? ATB__V1__URGENCY__URGENCY_HOMELESS
                                                     : ATB__V1__URGENCY__URGENCY_NONE;
        rq.d = 4 + i;
        Atb__V1__CommandReply *r = ok(ah_request(&h, "daugavpils", person[i], &rq));
        snprintf(request[i], sizeof request[i], "%s", r->key);
        atb__v1__command_reply__free_unpacked(r, NULL);
    }
    /* Person 0's new assessment gives care level 2: no longer eligible, skipped at offer. */
    EXPECT_OK(ah_assess(&h, "daugavpils", person[0], 15));

    /* In winter the homeless go ahead of ordinary requests; in summer they do not. */
    Atb__V1__WaitingListReply *w = ah_list(&h, "daugavpils", "short_term_care", 2019, 12, 20);
    assert_null(w->error);
    assert_int_equal(w->n_entries, QN);
    assert_string_equal(w->entries[0]->request_key, request[5]);
    assert_string_equal(w->entries[1]->request_key, request[17]);
    assert_string_equal(w->entries[2]->request_key, request[3]);
    assert_int_equal(w->entries[2]->priority, 2);
    assert_string_equal(w->entries[5]->request_key, request[0]);
    assert_int_equal(w->entries[5]->position, 6);
    assert_int_equal(w->entries[5]->waited_days, 46);   /* 2019-11-04 .. 2019-12-20 */
    atb__v1__waiting_list_reply__free_unpacked(w, NULL);
    w = ah_list(&h, "daugavpils", "short_term_care", 2019, 7, 1);
    assert_string_equal(w->entries[2]->request_key, request[0]);
    assert_int_equal(w->entries[2]->priority, 3);
    atb__v1__waiting_list_reply__free_unpacked(w, NULL);

    /* ĪSAN has 20 places: 20 offers, in priority order, the ineligible person skipped. */
    static const int order[] = {5, 17, 3, 9, 20, 1, 2, 4, 6, 7, 8, 10, 11, 12, 13, 14, 15, 16, 18, 19, 21, 22, 23};
    char offer[QN][37];
    for (int k = 0; k < 20; k++) {
        Atb__V1__CommandReply *r = ok(ah_allocate(&h, "daugavpils", "daugavpils", "isan", "short_term_care", 2019,
                                                  12, 20));
        assert_string_equal(ah_stream_key(r->stream_id), request[order[k]]);
        snprintf(offer[order[k]], sizeof offer[0], "%s", r->key);
        atb__v1__command_reply__free_unpacked(r, NULL);
    }
    int64_t head = ah_head(&h);
    EXPECT_REFUSED(ah_allocate(&h, "daugavpils", "daugavpils", "isan", "short_term_care", 2019, 12, 20),
                   ATB__V1__ERROR_CODE__CONFLICT, "provider", "no free place");
    assert_int_equal(ah_head(&h), head);

    /* A declined offer goes to the next eligible person (21; 0 is skipped again). */
    Atb__V1__CommandReply *r = ok(ah_answer(&h, "daugavpils", offer[5], false, "prefers_other_provider", 0, 0, 0));
    assert_string_equal(ah_stream_key(r->stream_id), request[5]);
    assert_true(r->key && *r->key);
    atb__v1__command_reply__free_unpacked(r, NULL);
    assert_int_equal(sh_sql(&h.sv, "SELECT count(*) FROM allocation.offers WHERE state = 'open'"), 20);
    char sql[256], got[64];
    snprintf(sql, sizeof sql, "SELECT state FROM allocation.requests WHERE request_key = '%s'", request[order[20]]);
    sh_sql_text(&h.sv, sql, got, sizeof got);
    assert_string_equal(got, "offered");
    snprintf(sql, sizeof sql, "SELECT state FROM allocation.requests WHERE request_key = '%s'", request[0]);
    sh_sql_text(&h.sv, sql, got, sizeof got);
    assert_string_equal(got, "waiting");
    EXPECT_REFUSED(ah_answer(&h, "daugavpils", offer[5], true, NULL, 2019, 12, 21), ATB__V1__ERROR_CODE__CONFLICT,
                   "offer_key", "the offer is declined");
    EXPECT_REFUSED(ah_allocate(&h, "daugavpils", "daugavpils", "isan", "short_term_care", 2019, 12, 20),
                   ATB__V1__ERROR_CODE__CONFLICT, "provider", "no free place");

    /* Accepting makes a placement; the log tells the occupancy of any date. */
    r = ok(ah_answer(&h, "daugavpils", offer[17], true, NULL, 2019, 12, 21));
    assert_true(strncmp(r->stream_id, "placement-", 10) == 0);
    atb__v1__command_reply__free_unpacked(r, NULL);
    Atb__V1__OccupancyReply *o = ah_occupancy(&h, "daugavpils", "daugavpils", "isan", "short_term_care", 2019, 12, 21);
    assert_null(o->error);
    assert_int_equal(o->capacity, 20);
    assert_int_equal(o->occupied, 1);
    assert_int_equal(o->n_occupants, 1);
    assert_string_equal(o->occupants[0]->person_key, person[17]);
    atb__v1__occupancy_reply__free_unpacked(o, NULL);
    o = ah_occupancy(&h, "daugavpils", "daugavpils", "isan", "short_term_care", 2019, 12, 20);
    assert_int_equal(o->occupied, 0);
    atb__v1__occupancy_reply__free_unpacked(o, NULL);

    assert_int_equal(ah_count(&h, "OfferMade", "daugavpils"), 21);
    assert_int_equal(ah_count(&h, "OfferDeclined", "daugavpils"), 1);
    assert_int_equal(ah_count(&h, "OfferAccepted", "daugavpils"), 1);
    assert_int_equal(ah_count(&h, "PlacementStarted", "daugavpils"), 1);

    /* December: 11 days (21..31) at 25.00 EUR, all owed by the municipality (needy client). */
    Atb__V1__RecordCharges rc = ATB__V1__RECORD_CHARGES__INIT;
    Atb__V1__CommandMeta meta = ATB__V1__COMMAND_META__INIT;
    Atb__V1__Date f, t;
    ah_date(&f, 2019, 12, 1);
    ah_date(&t, 2019, 12, 31);
    rc.meta = &meta, rc.period_from = &f, rc.period_to = &t;
    EXPECT_OK(ah_cmd(&h, "daugavpils", "RecordCharges", &rc.base, &meta));
    int64_t n = 0;
    assert_int_equal(sum_amounts("ChargeRecorded", "daugavpils", &n), 11 * 2500);
    assert_int_equal(n, 1);
}

/* ---- (1) a Tērvete resident at Dobele's crisis centre ---- */

static void tervete_places_at_dobele_under_agreement_and_owes_dobele(void **state)
{
    char mother[37], child[37], third[37];
    at_uuid_v4(mother);
    at_uuid_v4(child);
    at_uuid_v4(third);
    const char *family[2] = {mother, child};
    Atb__V1__CommandReply *r =
        ok(ah_emergency(&h, "tervete", "dobele", "krizes_centrs", "crisis_centre", 2019, 2, 1, family, 2));
    assert_true(r->key && *r->key);
    atb__v1__command_reply__free_unpacked(r, NULL);

    /* The agreement buys 2 places: a third Tērvete resident is refused, nothing appended. */
    int64_t head = ah_head(&h);
    const char *one[1] = {third};
    EXPECT_REFUSED(ah_emergency(&h, "tervete", "dobele", "krizes_centrs", "crisis_centre", 2019, 2, 2, one, 1),
                   ATB__V1__ERROR_CODE__CONFLICT, "provider", "no free place");
    assert_int_equal(ah_head(&h), head);

    /* Dobele sees two places taken by Tērvete, without the persons' keys; Tērvete sees its own. */
    Atb__V1__OccupancyReply *o = ah_occupancy(&h, "dobele", "dobele", "krizes_centrs", "crisis_centre", 2019, 2, 5);
    assert_null(o->error);
    assert_int_equal(o->occupied, 2);
    assert_int_equal(o->capacity, 8);
    assert_string_equal(o->occupants[0]->placed_by, "tervete");
    assert_string_equal(o->occupants[0]->person_key, "");
    assert_true(o->occupants[0]->emergency);
    atb__v1__occupancy_reply__free_unpacked(o, NULL);
    o = ah_occupancy(&h, "tervete", "dobele", "krizes_centrs", "crisis_centre", 2019, 2, 5);
    assert_int_equal(o->occupied, 2);
    assert_string_equal(o->occupants[0]->person_key, mother);
    atb__v1__occupancy_reply__free_unpacked(o, NULL);

    char sql[256], placement[64];
    snprintf(sql, sizeof sql, "SELECT placement_key FROM allocation.placements WHERE person_key = '%s'", child);
    sh_sql_text(&h.sv, sql, placement, sizeof placement);
    EXPECT_OK(ah_discharge(&h, "tervete", placement, 2019, 2, 11));
    EXPECT_REFUSED(ah_discharge(&h, "tervete", placement, 2019, 2, 12), ATB__V1__ERROR_CODE__CONFLICT,
                   "placement_key", "the placement has ended");
    /* Dobele cannot discharge Tērvete's placement. */
    snprintf(sql, sizeof sql, "SELECT placement_key FROM allocation.placements WHERE person_key = '%s'", mother);
    sh_sql_text(&h.sv, sql, placement, sizeof placement);
    EXPECT_REFUSED(ah_discharge(&h, "dobele", placement, 2019, 2, 12), ATB__V1__ERROR_CODE__NOT_FOUND,
                   "placement_key", "placement not found");

    /* February: the mother 28 days, the child 10 (1..10; the day of discharge is free), at
     * the agreed 35.00 EUR a day, owed by Tērvete to Dobele. */
    Atb__V1__RecordCharges rc = ATB__V1__RECORD_CHARGES__INIT;
    Atb__V1__CommandMeta meta = ATB__V1__COMMAND_META__INIT;
    Atb__V1__Date f, t;
    ah_date(&f, 2019, 2, 1);
    ah_date(&t, 2019, 2, 28);
    rc.meta = &meta, rc.period_from = &f, rc.period_to = &t;
    EXPECT_OK(ah_cmd(&h, "tervete", "RecordCharges", &rc.base, &meta));
    int64_t n = 0;
    assert_int_equal(sum_amounts("InterMunicipalCharge", "tervete", &n), (28 + 10) * 3500);
    assert_int_equal(n, 2);
    assert_int_equal(ah_count(&h, "ChargeRecorded", "tervete"), 0);   /* crisis help is free for the client */
    Atb__V1__CommandMeta meta2 = ATB__V1__COMMAND_META__INIT;
    rc.meta = &meta2;
    EXPECT_REFUSED(ah_cmd(&h, "tervete", "RecordCharges", &rc.base, &meta2), ATB__V1__ERROR_CODE__CONFLICT,
                   "period_from", "is charged already");
}

/* ---- (1) no agreement, no place ---- */

static void kandava_without_agreement_is_refused_at_dobele(void **state)
{
    char p[37];
    at_uuid_v4(p);
    const char *one[1] = {p};
    int64_t head = ah_head(&h);
    EXPECT_REFUSED(ah_emergency(&h, "kandava", "dobele", "krizes_centrs", "crisis_centre", 2019, 3, 1, one, 1),
                   ATB__V1__ERROR_CODE__UNAUTHORISED, "provider", "kandava has no purchase agreement");
    EXPECT_REFUSED(ah_allocate(&h, "kandava", "dobele", "krizes_centrs", "crisis_centre", 2019, 3, 1),
                   ATB__V1__ERROR_CODE__UNAUTHORISED, "provider", "kandava has no purchase agreement");
    Atb__V1__OccupancyReply *o = ah_occupancy(&h, "kandava", "dobele", "krizes_centrs", "crisis_centre", 2019, 3, 1);
    assert_non_null(o->error);
    assert_int_equal(o->error->code, ATB__V1__ERROR_CODE__UNAUTHORISED);
    atb__v1__occupancy_reply__free_unpacked(o, NULL);
    /* Tērvete's agreement does not reach Daugavpils' own units either. */
    EXPECT_REFUSED(ah_emergency(&h, "tervete", "daugavpils", "saura26", "crisis_centre", 2019, 3, 1, one, 1),
                   ATB__V1__ERROR_CODE__UNAUTHORISED, "provider", "tervete has no purchase agreement");
    assert_int_equal(ah_head(&h), head);
}

/* ---- (3) eligibility ---- */

static void eligibility_refusals_name_the_reason_and_append_nothing(void **state)
{
    char p[37];
    ah_req rq = {.service = "short_term_care", .y = 2019, .m = 3, .d = 1, .by = 2005, .bm = 1, .bd = 1,
                 .resident = true};
    int64_t head;

    at_uuid_v4(p);
    EXPECT_OK(ah_assess(&h, "daugavpils", p, 30));
    head = ah_head(&h);
    EXPECT_REFUSED(ah_request(&h, "daugavpils", p, &rq), ATB__V1__ERROR_CODE__VALIDATION, "birth_date",
                   "not eligible: age 14 is outside 18..130");
    assert_int_equal(ah_head(&h), head);

    rq.by = 1940;
    at_uuid_v4(p);
    EXPECT_REFUSED(ah_request(&h, "daugavpils", p, &rq), ATB__V1__ERROR_CODE__VALIDATION, "care_level",
                   "not eligible: no needs assessment");
    EXPECT_OK(ah_assess(&h, "daugavpils", p, 15));   /* care level 2 */
    head = ah_head(&h);
    EXPECT_REFUSED(ah_request(&h, "daugavpils", p, &rq), ATB__V1__ERROR_CODE__VALIDATION, "care_level",
                   "not eligible: care level 2 is below 3");
    assert_int_equal(ah_head(&h), head);

    rq.service = "personal_assistant";
    rq.by = 1980;
    rq.group = 3;
    rq.hours = 20;
    EXPECT_REFUSED(ah_request(&h, "daugavpils", p, &rq), ATB__V1__ERROR_CODE__VALIDATION, "disability_group",
                   "not eligible: disability group 3");
    rq.group = 1;
    rq.hours = 41;
    EXPECT_REFUSED(ah_request(&h, "daugavpils", p, &rq), ATB__V1__ERROR_CODE__VALIDATION, "hours_per_week",
                   "over the weekly limit: 41 > 40");
    assert_int_equal(ah_head(&h), head);
    rq.hours = 40;
    EXPECT_OK(ah_request(&h, "daugavpils", p, &rq));
    assert_int_equal(ah_head(&h), head + 1);
    head = ah_head(&h);
    EXPECT_REFUSED(ah_request(&h, "daugavpils", p, &rq), ATB__V1__ERROR_CODE__CONFLICT, "person_key",
                   "already on the list");

    /* Childcare for a child with impairments: 50 h a week under 5, 10 h aged 5-17. */
    rq.service = "child_care_impaired";
    rq.group = 0;
    rq.target = "functional_impairment";
    rq.by = 2012;   /* 7 */
    rq.hours = 11;
    at_uuid_v4(p);
    EXPECT_REFUSED(ah_request(&h, "daugavpils", p, &rq), ATB__V1__ERROR_CODE__VALIDATION, "hours_per_week",
                   "over the weekly limit: 11 > 10");
    rq.by = 2016;   /* 3 */
    rq.hours = 51;
    EXPECT_REFUSED(ah_request(&h, "daugavpils", p, &rq), ATB__V1__ERROR_CODE__VALIDATION, "hours_per_week",
                   "over the weekly limit: 51 > 50");
    rq.target = NULL;
    rq.hours = 50;
    EXPECT_REFUSED(ah_request(&h, "daugavpils", p, &rq), ATB__V1__ERROR_CODE__VALIDATION, "target_groups",
                   "not eligible: not in a target group");
    assert_int_equal(ah_head(&h), head);
    rq.target = "functional_impairment";
    EXPECT_OK(ah_request(&h, "daugavpils", p, &rq));

    /* A service the municipality does not have on that date. */
    rq.service = "respite_care";
    rq.y = 2018;
    head = ah_head(&h);
    EXPECT_REFUSED(ah_request(&h, "daugavpils", p, &rq), ATB__V1__ERROR_CODE__NOT_FOUND, "service",
                   "no service respite_care in daugavpils");
    assert_int_equal(ah_head(&h), head);
}

/* Home care: hours changed (within the weekly limit), a suspension, and the co-payment of
 * a low-income client for the month. */
static Atb__V1__CommandReply *change(const char *placement, int y, int m, int d, int hours, bool suspend,
                                     bool resume)
{
    Atb__V1__ChangePlacement c = ATB__V1__CHANGE_PLACEMENT__INIT;
    Atb__V1__CommandMeta meta = ATB__V1__COMMAND_META__INIT;
    Atb__V1__Date on;
    ah_date(&on, y, m, d);
    c.meta = &meta, c.placement_key = (char *)placement, c.from_on = &on, c.hours_per_week = hours;
    c.suspend = suspend, c.resume = resume, c.reason = "care_plan_review";
    return ah_cmd(&h, "daugavpils", "ChangePlacement", &c.base, &meta);
}

static void home_care_hours_change_suspension_and_copayment(void **state)
{
    char p[37];
    at_uuid_v4(p);
    EXPECT_OK(ah_assess(&h, "daugavpils", p, 5));   /* care level 1 */
    ah_req rq = {.service = "home_care", .y = 2019, .m = 3, .d = 20, .by = 1936, .bm = 8, .bd = 9, .hours = 20,
                 .status = ATB__V1__NEED_STATUS__NEED_STATUS_LOW_INCOME, .resident = true};
    EXPECT_OK(ah_request(&h, "daugavpils", p, &rq));
    Atb__V1__CommandReply *r =
        ok(ah_allocate(&h, "daugavpils", "daugavpils", "aprupes_birojs", "home_care", 2019, 3, 25));
    char offer[40], placement[40];
    snprintf(offer, sizeof offer, "%s", r->key);
    atb__v1__command_reply__free_unpacked(r, NULL);
    r = ok(ah_answer(&h, "daugavpils", offer, true, NULL, 2019, 4, 1));
    snprintf(placement, sizeof placement, "%s", r->key);
    atb__v1__command_reply__free_unpacked(r, NULL);

    int64_t head = ah_head(&h);
    EXPECT_REFUSED(change(placement, 2019, 4, 8, 41, false, false), ATB__V1__ERROR_CODE__VALIDATION,
                   "hours_per_week", "over the weekly limit: 41 > 40");
    assert_int_equal(ah_head(&h), head);
    EXPECT_OK(change(placement, 2019, 4, 8, 30, false, false));
    EXPECT_REFUSED(change(placement, 2019, 4, 7, 25, false, false), ATB__V1__ERROR_CODE__VALIDATION, "from_on",
                   "before the placement's last change");
    EXPECT_OK(change(placement, 2019, 4, 15, 0, true, false));
    EXPECT_REFUSED(change(placement, 2019, 4, 16, 0, true, false), ATB__V1__ERROR_CODE__CONFLICT, "suspend",
                   "suspended already");
    EXPECT_OK(change(placement, 2019, 4, 22, 0, false, true));

    Atb__V1__OccupancyReply *o =
        ah_occupancy(&h, "daugavpils", "daugavpils", "aprupes_birojs", "home_care", 2019, 4, 5);
    assert_int_equal(o->occupied, 20);
    assert_string_equal(o->unit, "hour");
    atb__v1__occupancy_reply__free_unpacked(o, NULL);
    o = ah_occupancy(&h, "daugavpils", "daugavpils", "aprupes_birojs", "home_care", 2019, 4, 16);
    assert_int_equal(o->occupied, 30);   /* a suspended placement keeps its hours reserved */
    atb__v1__occupancy_reply__free_unpacked(o, NULL);

    /* April: 7 days at 20 h + 7 at 30 h + 7 suspended + 9 at 30 h = 620 hour-days / 7 = 88
     * hours at 6.16 EUR = 542.08 EUR; the low-income client pays half. */
    int64_t n0 = 0, before = sum_amounts("ChargeRecorded", "daugavpils", &n0);
    Atb__V1__RecordCharges rc = ATB__V1__RECORD_CHARGES__INIT;
    Atb__V1__CommandMeta meta = ATB__V1__COMMAND_META__INIT;
    Atb__V1__Date f, t;
    ah_date(&f, 2019, 4, 1);
    ah_date(&t, 2019, 4, 30);
    rc.meta = &meta, rc.period_from = &f, rc.period_to = &t;
    EXPECT_OK(ah_cmd(&h, "daugavpils", "RecordCharges", &rc.base, &meta));
    int64_t n1 = 0, after = sum_amounts("ChargeRecorded", "daugavpils", &n1);
    assert_int_equal(n1 - n0, 2);
    assert_int_equal(after - before, 88 * 616);
    assert_int_equal(client_share_after(head), 88 * 616 / 2);
}

/* A command retried with its command id answers with the first result, adds nothing. */
static void retried_command_answers_first_result(void **state)
{
    char p[37];
    at_uuid_v4(p);
    ah_req rq = {.service = "night_shelter", .y = 2019, .m = 1, .d = 7, .by = 1970, .bm = 1, .bd = 1,
                 .urgency = ATB__V1__URGENCY__URGENCY_HOMELESS};
    Atb__V1__RequestService c = ATB__V1__REQUEST_SERVICE__INIT;
    Atb__V1__CommandMeta meta = ATB__V1__COMMAND_META__INIT;
    Atb__V1__Date on, birth;
    ah_date(&on, rq.y, rq.m, rq.d);
    ah_date(&birth, rq.by, rq.bm, rq.bd);
    c.meta = &meta, c.person_key = p, c.service = (char *)rq.service, c.requested_on = &on, c.birth_date = &birth;
    char id[37];
    at_uuid_v4(id);
    meta.command_id = id;
    Atb__V1__CommandReply *a = ok(ah_cmd(&h, "daugavpils", "RequestService", &c.base, &meta));
    int64_t head = ah_head(&h);
    Atb__V1__CommandReply *b = ok(ah_cmd(&h, "daugavpils", "RequestService", &c.base, &meta));
    assert_true(b->duplicate);
    assert_string_equal(a->key, b->key);
    assert_int_equal(a->first_position, b->first_position);
    assert_int_equal(ah_head(&h), head);
    atb__v1__command_reply__free_unpacked(a, NULL);
    atb__v1__command_reply__free_unpacked(b, NULL);
}

int main(void)
{
    t_require_servers(1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(winter_queue_offers_in_priority_order_never_twice_and_decline_moves_on),
        cmocka_unit_test(tervete_places_at_dobele_under_agreement_and_owes_dobele),
        cmocka_unit_test(kandava_without_agreement_is_refused_at_dobele),
        cmocka_unit_test(eligibility_refusals_name_the_reason_and_append_nothing),
        cmocka_unit_test(home_care_hours_change_suspension_and_copayment),
        cmocka_unit_test(retried_command_answers_first_result),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
