/*
 * test_allocation_race.c -- many commands racing for the last place of a provider: exactly
 * one wins, every run, and the log never shows the unit over its capacity.
 *
 * Dobele's crisis centre has 8 places. 7 are taken by Dobele residents first. Each run then
 * sends, at the same moment from 8 threads, emergency admissions from Dobele and from
 * Tērvete (which buys 2 places there) and Allocate commands of Dobele (whose list holds
 * waiting requests): exactly one of them gets the place, the others are refused with "no
 * free place". The winner is then freed (an offer accepted, then every new placement
 * discharged) for the next run.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libpq-fe.h>

#include "at_uuid.h"
#include "alhelp.h"

#define RUNS 300
#define RACERS 8

static ah h;

typedef struct racer {
    pthread_barrier_t *go;
    int kind;                  /* 0 Dobele admission, 1 Tērvete admission, 2 Dobele Allocate */
    char person[37];
    int code;                  /* ErrorCode of the reply, 0 = ok */
    char message[160];
    char stream[80], key[40];
} racer;

static void *race(void *arg)
{
    racer *r = arg;
    pthread_barrier_wait(r->go);
    const char *one[1] = {r->person};
    Atb__V1__CommandReply *rep =
        r->kind == 2 ? ah_allocate(&h, "dobele", "dobele", "krizes_centrs", "crisis_centre", 2019, 3, 1)
                     : ah_emergency(&h, r->kind == 0 ? "dobele" : "tervete", "dobele", "krizes_centrs",
                                    "crisis_centre", 2019, 3, 1, one, 1);
    r->code = rep->error ? (int)rep->error->code : 0;
    snprintf(r->message, sizeof r->message, "%s", rep->error ? rep->error->message : "");
    snprintf(r->stream, sizeof r->stream, "%s", rep->stream_id ? rep->stream_id : "");
    snprintf(r->key, sizeof r->key, "%s", rep->key ? rep->key : "");
    atb__v1__command_reply__free_unpacked(rep, NULL);
    return NULL;
}

/* Fold the unit's placement events in log order; the most in place at once (same date). */
static int64_t most_in_place(void)
{
    PGconn *c = PQconnectdb(h.sv.db.admin);
    assert_int_equal(PQstatus(c), CONNECTION_OK);
    PGresult *r = PQexecParams(c, "SELECT type, payload FROM atb.events WHERE category = 'placement' ORDER BY position",
                               0, NULL, NULL, NULL, NULL, 1);
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    int64_t now = 0, most = 0;
    for (int i = 0; i < PQntuples(r); i++) {
        const char *type = PQgetvalue(r, i, 0);
        const uint8_t *b = (const uint8_t *)PQgetvalue(r, i, 1);
        size_t len = (size_t)PQgetlength(r, i, 1);
        if (strcmp(type, "PlacementStarted") == 0) {
            Atb__V1__PlacementStarted *m = atb__v1__placement_started__unpack(NULL, len, b);
            assert_non_null(m);
            if (strcmp(m->provider, "krizes_centrs") == 0)
                now += m->load;
            atb__v1__placement_started__free_unpacked(m, NULL);
        } else if (strcmp(type, "PlacementEnded") == 0) {
            Atb__V1__PlacementEnded *m = atb__v1__placement_ended__unpack(NULL, len, b);
            assert_non_null(m);
            if (strcmp(m->provider, "krizes_centrs") == 0)
                now -= 1;
            atb__v1__placement_ended__free_unpacked(m, NULL);
        }
        if (now > most)
            most = now;
    }
    PQclear(r);
    PQfinish(c);
    return most;
}

static int setup(void **state)
{
    ah_start(&h);
    return 0;
}

static int teardown(void **state)
{
    return ah_stop(&h);   /* a service that does not exit cleanly fails the group */
}

static void exactly_one_wins_the_last_place_every_run(void **state)
{
    /* Seven of eight places taken. */
    for (int i = 0; i < 7; i++) {
        char p[37];
        at_uuid_v4(p);
        const char *one[1] = {p};
        Atb__V1__CommandReply *r =
            ah_emergency(&h, "dobele", "dobele", "krizes_centrs", "crisis_centre", 2019, 2, 1, one, 1);
        assert_null(r->error);
        atb__v1__command_reply__free_unpacked(r, NULL);
    }
    /* Dobele's waiting list for Allocate to offer from. */
    for (int i = 0; i < RUNS; i++) {
        char p[37];
        at_uuid_v4(p);
        ah_req rq = {.service = "crisis_centre", .y = 2019, .m = 2, .d = 1, .by = 1985, .bm = 3, .bd = 3,
                     .urgency = ATB__V1__URGENCY__URGENCY_VIOLENCE};
        Atb__V1__CommandReply *r = ah_request(&h, "dobele", p, &rq);
        assert_null(r->error);
        atb__v1__command_reply__free_unpacked(r, NULL);
    }
    int wins[3] = {0, 0, 0};
    for (int run = 0; run < RUNS; run++) {
        pthread_barrier_t go;
        pthread_barrier_init(&go, NULL, RACERS);
        racer rs[RACERS];
        pthread_t th[RACERS];
        for (int i = 0; i < RACERS; i++) {
            memset(&rs[i], 0, sizeof rs[i]);
            rs[i].go = &go;
            rs[i].kind = i % 3;
            at_uuid_v4(rs[i].person);
            pthread_create(&th[i], NULL, race, &rs[i]);
        }
        for (int i = 0; i < RACERS; i++)
            pthread_join(th[i], NULL);
        pthread_barrier_destroy(&go);
        int winners = 0, winner = -1;
        for (int i = 0; i < RACERS; i++) {
            if (rs[i].code == 0) {
                winners++;
                winner = i;
            } else if (rs[i].code != ATB__V1__ERROR_CODE__CONFLICT || strstr(rs[i].message, "no free place") == NULL) {
                fail_msg("run %d racer %d: unexpected refusal %d \"%s\"", run, i, rs[i].code, rs[i].message);
            }
        }
        if (winners != 1)
            fail_msg("run %d: %d winners for the last place", run, winners);
        wins[rs[winner].kind]++;
        /* Free the place for the next run. */
        char placement[40];
        const char *tenant = rs[winner].kind == 1 ? "tervete" : "dobele";
        if (rs[winner].kind == 2) {
            Atb__V1__CommandReply *r = ah_answer(&h, "dobele", rs[winner].key, true, NULL, 2019, 3, 1);
            assert_null(r->error);
            snprintf(placement, sizeof placement, "%s", r->key);
            atb__v1__command_reply__free_unpacked(r, NULL);
        } else {
            snprintf(placement, sizeof placement, "%s", rs[winner].key);
        }
        Atb__V1__CommandReply *r = ah_discharge(&h, tenant, placement, 2019, 3, 1);
        assert_null(r->error);
        atb__v1__command_reply__free_unpacked(r, NULL);
    }
    fprintf(stderr, "last-place wins over %d runs: dobele admission %d, tervete admission %d, allocate %d\n", RUNS,
            wins[0], wins[1], wins[2]);
    assert_int_equal(wins[0] + wins[1] + wins[2], RUNS);
    assert_int_equal(most_in_place(), 8);
    assert_int_equal(sh_sql(&h.sv, "SELECT count(*) FROM allocation.placements WHERE provider = 'krizes_centrs' "
                                   "AND ended_on IS NULL"),
                     7);
    Atb__V1__OccupancyReply *o = ah_occupancy(&h, "dobele", "dobele", "krizes_centrs", "crisis_centre", 2019, 3, 1);
    assert_int_equal(o->occupied, 7);   /* each winner left on the day it came */
    atb__v1__occupancy_reply__free_unpacked(o, NULL);
}

int main(void)
{
    t_require_servers(1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(exactly_one_wins_the_last_place_every_run),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
