/*
 * test_allocation_withdraw.c -- services/allocation/withdraw.c over NATS against real
 * PostgreSQL, with the source tree's catalogue (Daugavpils' respite care: 4 places; offers
 * hold 14 days, the catalogue's `offers.days`):
 *  - a withdrawn request with an open offer frees the place, offered to the next person in
 *    the same transaction; a waiting one just leaves the list; a placed one cannot be
 *    withdrawn;
 *  - an acceptance after the offer's last day is refused and appends nothing;
 *  - ExpireOffers passes every overdue offer to the next person (once: a second run
 *    appends nothing), and Allocate expires its unit's overdue offers first;
 *  - the unit never holds more than its places.
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

#include "alhelp.h"
#include "at_uuid.h"

#define TENANT "daugavpils"
#define N 8

static ah h;

static int setup(void **state)
{
    (void)state;
    ah_start(&h);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return ah_stop(&h);
}

static Atb__V1__CommandReply *ok(Atb__V1__CommandReply *r)
{
    if (r->error && r->error->code)
        fail_msg("refused: %s (%s)", r->error->message, r->error->detail);
    return r;
}

static void refused(Atb__V1__CommandReply *r, Atb__V1__ErrorCode code, const char *field, const char *message)
{
    assert_non_null(r->error);
    if (r->error->code != code || strcmp(r->error->message, message) != 0)
        fail_msg("expected %d \"%s\", got %d \"%s\" (%s)", (int)code, message, (int)r->error->code, r->error->message,
                 r->error->detail);
    assert_string_equal(r->error->field, field);
    atb__v1__command_reply__free_unpacked(r, NULL);
}

static Atb__V1__CommandReply *withdraw(const char *request, int y, int m, int d, const char *reason)
{
    Atb__V1__WithdrawServiceRequest c = ATB__V1__WITHDRAW_SERVICE_REQUEST__INIT;
    Atb__V1__CommandMeta meta = ATB__V1__COMMAND_META__INIT;
    Atb__V1__Date on;
    ah_date(&on, y, m, d);
    c.meta = &meta;
    c.request_key = (char *)request;
    c.on = &on;
    c.reason = (char *)reason;
    return ah_cmd(&h, TENANT, "WithdrawServiceRequest", &c.base, &meta);
}

static Atb__V1__CommandReply *expire(int y, int m, int d)
{
    Atb__V1__ExpireOffers c = ATB__V1__EXPIRE_OFFERS__INIT;
    Atb__V1__CommandMeta meta = ATB__V1__COMMAND_META__INIT;
    Atb__V1__Date on;
    ah_date(&on, y, m, d);
    c.meta = &meta;
    c.on = &on;
    return ah_cmd(&h, TENANT, "ExpireOffers", &c.base, &meta);
}

static Atb__V1__CommandReply *allocate(int y, int m, int d)
{
    return ah_allocate(&h, TENANT, TENANT, "atelpa", "respite_care", y, m, d);
}

static int64_t sql(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int64_t sql(const char *fmt, ...)
{
    char q[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(q, sizeof q, fmt, ap);
    va_end(ap);
    return sh_sql(&h.sv, q);
}

/* The state of a request's row. */
static const char *state_of(const char *request, char out[16])
{
    PGconn *c = PQconnectdb(h.sv.db.admin);
    const char *p[1] = {request};
    PGresult *r = PQexecParams(c, "SELECT state FROM allocation.requests WHERE request_key = $1", 1, NULL, p, NULL,
                               NULL, 0);
    assert_int_equal(PQntuples(r), 1);
    snprintf(out, 16, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    PQfinish(c);
    return out;
}

/* Places held at the unit: open offers and placements not ended. */
static int64_t held(void)
{
    return sql("SELECT (SELECT count(*) FROM allocation.offers WHERE provider = 'atelpa' AND state = 'open') + "
               "(SELECT count(*) FROM allocation.placements WHERE provider = 'atelpa' AND ended_on IS NULL)");
}

static void withdrawals_and_expired_offers_pass_the_place_to_the_next_person(void **state)
{
    (void)state;
    char person[N][37], request[N][37], offer[N][37], st[16];
    ah_req rq = {.service = "respite_care", .y = 2020, .m = 3, .by = 2012, .bm = 6, .bd = 1, .resident = true,
                 .target = "functional_impairment"};
    for (int i = 0; i < 6; i++) {   /* A..F */
        at_uuid_v4(person[i]);
        rq.d = 2 + i;
        Atb__V1__CommandReply *r = ok(ah_request(&h, TENANT, person[i], &rq));
        snprintf(request[i], sizeof request[i], "%s", r->key);
        atb__v1__command_reply__free_unpacked(r, NULL);
    }
    /* 4 places: A..D are offered one on 10 March, then the unit is full. */
    for (int i = 0; i < 4; i++) {
        Atb__V1__CommandReply *r = ok(allocate(2020, 3, 10));
        assert_string_equal(ah_stream_key(r->stream_id), request[i]);
        snprintf(offer[i], sizeof offer[i], "%s", r->key);
        atb__v1__command_reply__free_unpacked(r, NULL);
    }
    refused(allocate(2020, 3, 10), ATB__V1__ERROR_CODE__CONFLICT, "provider", "no free place at daugavpils.atelpa");

    /* B withdraws on 12 March: the place goes to E in the same transaction. */
    int64_t before = ah_head(&h);
    Atb__V1__CommandReply *r = ok(withdraw(request[1], 2020, 3, 12, "no_longer_needed"));
    snprintf(offer[4], sizeof offer[4], "%s", r->key);
    atb__v1__command_reply__free_unpacked(r, NULL);
    assert_int_equal(ah_head(&h), before + 2);   /* ServiceRequestWithdrawn, OfferMade */
    assert_string_equal(state_of(request[1], st), "withdrawn");
    assert_string_equal(state_of(request[4], st), "offered");
    assert_int_equal(sql("SELECT count(*) FROM allocation.offers WHERE offer_key = '%s' AND request_key = '%s' "
                         "AND offered_on = '2020-03-12'", offer[4], request[4]),
                     1);
    refused(ah_answer(&h, TENANT, offer[1], true, NULL, 2020, 3, 13), ATB__V1__ERROR_CODE__CONFLICT, "offer_key",
            "the offer is withdrawn");
    /* F, still waiting, withdraws: it leaves the list and nothing is offered. */
    r = ok(withdraw(request[5], 2020, 3, 12, "moved"));
    assert_string_equal(r->key, "");
    atb__v1__command_reply__free_unpacked(r, NULL);
    refused(withdraw(request[5], 2020, 3, 13, "moved"), ATB__V1__ERROR_CODE__CONFLICT, "request_key",
            "the request is withdrawn");
    refused(withdraw(request[2], 2020, 3, 1, "moved"), ATB__V1__ERROR_CODE__VALIDATION, "on",
            "a request is withdrawn on or after the day it was made");
    Atb__V1__WaitingListReply *w = ah_list(&h, TENANT, "respite_care", 2020, 3, 12);
    assert_int_equal(w->n_entries, 4);   /* A, C, D, E offered */
    for (size_t i = 0; i < w->n_entries; i++) {
        assert_string_not_equal(w->entries[i]->request_key, request[1]);
        assert_string_not_equal(w->entries[i]->request_key, request[5]);
    }
    atb__v1__waiting_list_reply__free_unpacked(w, NULL);

    /* A accepts in time (the last day is 24 March); C's acceptance on the 25th is late. */
    r = ok(ah_answer(&h, TENANT, offer[0], true, NULL, 2020, 3, 20));
    atb__v1__command_reply__free_unpacked(r, NULL);
    refused(withdraw(request[0], 2020, 3, 21, "moved"), ATB__V1__ERROR_CODE__CONFLICT, "request_key",
            "the request is placed");
    before = ah_head(&h);
    refused(ah_answer(&h, TENANT, offer[2], true, NULL, 2020, 3, 25), ATB__V1__ERROR_CODE__CONFLICT, "on",
            "the offer expired after 2020-03-24");
    assert_int_equal(ah_head(&h), before);

    /* G asks on 15 March. ExpireOffers on the 25th: C's and D's offers (10 March) expire,
     * E's (12 March, last day the 26th) holds; G gets one freed place, nobody the other. */
    at_uuid_v4(person[6]);
    rq.d = 15;
    r = ok(ah_request(&h, TENANT, person[6], &rq));
    snprintf(request[6], sizeof request[6], "%s", r->key);
    atb__v1__command_reply__free_unpacked(r, NULL);
    before = ah_head(&h);
    r = ok(expire(2020, 3, 25));
    atb__v1__command_reply__free_unpacked(r, NULL);
    assert_int_equal(ah_head(&h), before + 3);   /* two OfferExpired, one OfferMade */
    assert_int_equal(ah_count(&h, "OfferExpired", TENANT), 2);
    assert_string_equal(state_of(request[2], st), "expired");
    assert_string_equal(state_of(request[3], st), "expired");
    assert_string_equal(state_of(request[4], st), "offered");
    assert_string_equal(state_of(request[6], st), "offered");
    assert_int_equal(held(), 3);   /* A placed, E and G offered */
    before = ah_head(&h);
    r = ok(expire(2020, 3, 25));
    assert_int_equal(r->first_position, 0);
    atb__v1__command_reply__free_unpacked(r, NULL);
    assert_int_equal(ah_head(&h), before);

    /* H asks on the 20th. Allocate on the 27th expires E's offer first (in the same
     * transaction) and offers H a place; one place stays free. */
    at_uuid_v4(person[7]);
    rq.d = 20;
    r = ok(ah_request(&h, TENANT, person[7], &rq));
    snprintf(request[7], sizeof request[7], "%s", r->key);
    atb__v1__command_reply__free_unpacked(r, NULL);
    r = ok(allocate(2020, 3, 27));
    assert_string_equal(ah_stream_key(r->stream_id), request[7]);
    atb__v1__command_reply__free_unpacked(r, NULL);
    assert_int_equal(ah_count(&h, "OfferExpired", TENANT), 3);
    assert_string_equal(state_of(request[4], st), "expired");
    assert_int_equal(held(), 3);   /* A placed, G and H offered */
}

int main(void)
{
    t_require_servers(1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(withdrawals_and_expired_offers_pass_the_place_to_the_next_person),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
