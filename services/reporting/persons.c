/*
 * persons.c -- the persons projection: one row per registered person in reporting.persons,
 * with the log position that put it there, and the CountPersons query.
 *
 * Invariants:
 *  - the row is written in the consumer's transaction, which also moves the checkpoint
 *    "reporting-persons": the table reflects exactly the events up to the checkpoint;
 *  - projecting an event twice leaves one row (ON CONFLICT DO NOTHING), so a rebuild is
 *    safe: delete the rows and the checkpoint, and the consumer replays the log into the
 *    same rows;
 *  - nothing identifying is here: the events carry none (services/intake/person.c).
 *
 * When PersonRegistered gains a field this projection needs, also change: a migration in
 * handlers.c, the INSERT below.
 */
#include "reporting.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "at_uuid.h"
#include "atb/v1/intake.pb-c.h"
#include "atb/v1/reporting.pb-c.h"

/* "YYYY-MM-DD", or NULL for a date not given (all zero). */
static const char *date_text(const Atb__V1__Date *d, char out[16])
{
    if (!d || (d->year == 0 && d->month == 0 && d->day == 0))
        return NULL;
    snprintf(out, 16, "%04d-%02d-%02d", (int)d->year, (int)d->month, (int)d->day);
    return out;
}

at_code persons_project(void *ctx, es_txn *txn, const es_event *ev, at_error *err)
{
    (void)ctx;
    if (strcmp(ev->type, "PersonRegistered") != 0)
        return AT_OK;   /* other person events do not change this projection */
    Atb__V1__PersonRegistered *pr = atb__v1__person_registered__unpack(NULL, ev->payload_len, ev->payload);
    if (!pr || !at_uuid_valid(pr->person_key)) {
        at_error_set(err, AT_MALFORMED, NULL, "cannot project PersonRegistered at position %lld",
                     (long long)ev->position);
        at_error_detail(err, "%s", pr ? "Its person_key is not a UUID." : "Its payload does not decode.");
        if (pr)
            atb__v1__person_registered__free_unpacked(pr, NULL);
        return AT_MALFORMED;
    }
    char birth[16], reg[16], sex[16], pos[24];
    snprintf(sex, sizeof sex, "%d", (int)pr->sex);
    snprintf(pos, sizeof pos, "%lld", (long long)ev->position);
    const char *params[6] = {pr->person_key, ev->tenant, date_text(pr->birth_date, birth), sex,
                             date_text(pr->registered_on, reg), pos};
    at_code code = rep_exec(txn, ev, "reporting.persons",
                            "INSERT INTO reporting.persons (person_key, tenant, birth_date, sex, "
                            "registered_on, position) VALUES ($1, $2, $3, $4, $5, $6) "
                            "ON CONFLICT (person_key) DO NOTHING",
                            6, params, err);
    atb__v1__person_registered__free_unpacked(pr, NULL);
    return code;
}

at_code persons_count(svc_request *req, ProtobufCMessage **reply, at_error *err)
{
    es_txn *t = NULL;
    es_status st = es_txn_begin(req->es, &t, err);
    if (st != ES_OK)
        return es_status_code(st);
    /* One statement, so the count and the checkpoint come from the same snapshot: the
     * count is exactly what the projection holds at that position. */
    const char *params[2] = {req->tenant, PERSONS_CONSUMER};
    PGresult *r = PQexecParams(es_txn_conn(t),
                               "SELECT (SELECT count(*) FROM reporting.persons WHERE tenant = $1), "
                               "coalesce((SELECT position FROM atb.checkpoints WHERE consumer = $2), 0)",
                               2, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        at_error_set(err, AT_UNAVAILABLE, NULL, "could not read reporting.persons");
        at_error_detail(err, "PostgreSQL said: %.300s (SQLSTATE %s).", PQresultErrorMessage(r),
                        state ? state : "none");
        PQclear(r);
        es_txn_rollback(t);
        return AT_UNAVAILABLE;
    }
    Atb__V1__PersonCount *c = at_arena_alloc(req->arena, sizeof *c);
    if (c) {
        atb__v1__person_count__init(c);
        c->persons = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        c->position = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
    }
    PQclear(r);
    es_txn_rollback(t);
    if (!c)
        return at_error_set(err, AT_INTERNAL, NULL, "could not build the reply: out of memory");
    *reply = &c->base;
    return AT_OK;
}
