/*
 * persons.c -- the persons projection: one row per registered person, with the log
 * position that put it there. Rebuildable: drop the table's rows and the consumer's
 * checkpoint, and the consumer replays the log into the same rows.
 */
#include "reporting.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atb/v1/intake.pb-c.h"
#include "atb/v1/reporting.pb-c.h"

static void date_text(const Atb__V1__Date *d, char out[11], bool *null)
{
    *null = !d || d->year == 0;
    if (!*null)
        snprintf(out, 11, "%04d-%02d-%02d", (int)d->year, (int)d->month, (int)d->day);
}

at_code persons_project(void *ctx, es_txn *txn, const es_event *ev, at_error *err)
{
    (void)ctx;
    if (strcmp(ev->type, "PersonRegistered") != 0)
        return AT_OK;   /* other person events do not change this projection */
    Atb__V1__PersonRegistered *pr = atb__v1__person_registered__unpack(NULL, ev->payload_len, ev->payload);
    if (!pr)
        return at_error_set(err, AT_MALFORMED, NULL, "PersonRegistered at position %lld does not decode",
                            (long long)ev->position);
    char birth[11], reg[11], sex[8], pos[24];
    bool birth_null, reg_null;
    date_text(pr->birth_date, birth, &birth_null);
    date_text(pr->registered_on, reg, &reg_null);
    snprintf(sex, sizeof sex, "%d", (int)pr->sex);
    snprintf(pos, sizeof pos, "%lld", (long long)ev->position);
    const char *params[6] = {pr->person_key, ev->tenant, birth_null ? NULL : birth, sex,
                             reg_null ? NULL : reg, pos};
    PGresult *r = PQexecParams(es_txn_conn(txn),
                               "INSERT INTO reporting.persons (person_key, tenant, birth_date, sex, "
                               "registered_on, position) VALUES ($1, $2, $3, $4, $5, $6) "
                               "ON CONFLICT (person_key) DO NOTHING",
                               6, NULL, params, NULL, NULL, 0);
    at_code code = AT_OK;
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        code = at_error_set(err, AT_UNAVAILABLE, NULL, "could not write reporting.persons");
        at_error_detail(err, "%s", PQresultErrorMessage(r));
    }
    PQclear(r);
    atb__v1__person_registered__free_unpacked(pr, NULL);
    return code;
}

at_code persons_count(svc_request *req, ProtobufCMessage **reply, at_error *err)
{
    es_txn *t = NULL;
    es_status st = es_txn_begin(req->es, &t, err);
    if (st != ES_OK)
        return es_status_code(st);
    const char *params[2] = {req->tenant, PERSONS_CONSUMER};
    PGresult *r = PQexecParams(es_txn_conn(t),
                               "SELECT (SELECT count(*) FROM reporting.persons WHERE tenant = $1), "
                               "coalesce((SELECT position FROM atb.checkpoints WHERE consumer = $2), 0)",
                               2, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        at_error_set(err, AT_UNAVAILABLE, NULL, "could not read reporting.persons");
        at_error_detail(err, "%s", PQresultErrorMessage(r));
        PQclear(r);
        es_txn_rollback(t);
        return AT_UNAVAILABLE;
    }
    Atb__V1__PersonCount *c = at_arena_alloc(req->arena, sizeof *c);
    if (!c) {
        PQclear(r);
        es_txn_rollback(t);
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    }
    atb__v1__person_count__init(c);
    c->persons = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    c->position = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
    PQclear(r);
    es_txn_rollback(t);
    *reply = &c->base;
    return AT_OK;
}
