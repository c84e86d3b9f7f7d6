/*
 * common.c -- the write path every allocation command shares, after services/intake's:
 *   1. check the fields (nothing touched yet);
 *   2. al_begin(), lock what the command decides on (a unit's row, a request's row, an
 *      offer's row: SELECT ... FOR UPDATE in schema allocation), read the state under the
 *      lock and check the rules against it;
 *   3. write the projection rows (allocation.*) in the same transaction;
 *   4. al_append() last (it takes the log's head lock), al_finish() commits.
 * Locks are always taken in that order (row locks, then the log head), so two commands
 * never wait on each other in a cycle. A refused command leaves nothing behind.
 */
#include "allocation.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "at_uuid.h"

/* Namespace of keys derived from command ids. Never change it: a retried command would
 * create a second record. */
#define AL_KEY_NS "9a4c1e57-3f2b-4d8a-b6e0-71c5d2a8f394"




const char *al_date_text(at_date d, char buf[11])
{
    if (d == AT_DATE_NONE)
        return strcpy(buf, "-");
    at_date_format(d, buf, 11);
    return buf;
}

at_code al_check_date(const Atb__V1__Date *d, const char *field, bool required, at_date *out, at_error *err)
{
    if (!svc_date_in(d, out)) {
        at_error_set(err, AT_VALIDATION, field, "%s does not exist", field);
        at_error_detail(err, "%04d-%02d-%02d is not a date between 1800 and 2199.", (int)d->year, (int)d->month,
                        (int)d->day);
        return AT_VALIDATION;
    }
    if (*out == AT_DATE_NONE && required)
        return at_error_set(err, AT_VALIDATION, field, "%s is required", field);
    return AT_OK;
}

at_code al_check_key(const char *s, const char *field, at_error *err)
{
    if (!s || !*s)
        return at_error_set(err, AT_VALIDATION, field, "%s is required", field);
    if (!at_uuid_valid(s)) {
        at_error_set(err, AT_VALIDATION, field, "%s is not a UUID", field);
        at_error_detail(err, "Keys are UUIDs; the value sent was \"%.64s\".", s);
        return AT_VALIDATION;
    }
    for (char *p = (char *)s; *p; p++)   /* the request's own copy: stream ids use one case */
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    return AT_OK;
}

at_code al_check_code(const char *s, const char *field, bool required, at_error *err)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0)
        return required ? at_error_set(err, AT_VALIDATION, field, "%s is required", field) : AT_OK;
    bool ok = n <= AL_CODE_MAX;
    for (size_t i = 0; ok && i < n; i++)
        ok = (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_';
    if (!ok) {
        at_error_set(err, AT_VALIDATION, field, "%s is not a code", field);
        at_error_detail(err, "Codes are lower-case letters, digits and '_', at most %d bytes: \"%.64s\".",
                        AL_CODE_MAX, s);
        return AT_VALIDATION;
    }
    return AT_OK;
}


void al_key(const svc_request *req, const char *what, char out[37])
{
    char name[160];
    snprintf(name, sizeof name, "%s/%s", req->command_id, what);
    at_uuid_derive(AL_KEY_NS, name, out);
}

at_code al_begin(svc_request *req, es_txn **t, at_error *err)
{
    es_status st = es_txn_begin(req->es, t, err);
    return st == ES_OK ? AT_OK : es_status_code(st);
}

at_code al_append(svc_request *req, es_txn *t, const char *stream, int64_t expected, es_event_in *evs, size_t n,
                  int part, es_append_res *res, at_error *err)
{
    return al_append_caused(req, t, stream, expected, evs, n, part, NULL, res, err);
}

at_code al_append_caused(svc_request *req, es_txn *t, const char *stream, int64_t expected, es_event_in *evs,
                         size_t n, int part, const char *causation_id, es_append_res *res, at_error *err)
{
    es_append_req ar;
    svc_append_req_init(req, &ar);
    ar.causation_id = causation_id;
    char derived[37];
    if (part > 0) {
        char name[64];
        snprintf(name, sizeof name, "%s/part%d", req->command_id, part);
        at_uuid_derive(AL_KEY_NS, name, derived);
        ar.command_id = derived;
    }
    ar.stream_id = stream;
    ar.expected_version = expected;
    ar.events = evs;
    ar.n_events = n;
    es_status st = es_txn_append(t, &ar, res, err);
    if (st != ES_OK) {
        es_txn_rollback(t);
        return es_status_code(st);
    }
    return AT_OK;
}

at_code al_finish(svc_request *req, es_txn *t, const char *stream, const char *key, const es_append_res *res,
                  ProtobufCMessage **reply, at_error *err)
{
    if (res->duplicate) {
        es_txn_rollback(t);   /* done before: answer as the first time, keep nothing of this try */
    } else {
        es_status st = es_txn_commit(t, err);
        if (st != ES_OK)
            return es_status_code(st);
    }
    *reply = svc_reply_appended(req, stream, key, res);
    return *reply ? AT_OK : at_error_set(err, AT_INTERNAL, NULL, "could not build the reply: out of memory");
}

at_code al_exec(es_txn *t, const char *sql, int n, const char *const *params, PGresult **out, const char *what,
                at_error *err)
{
    PGresult *r = PQexecParams(es_txn_conn(t), sql, n, NULL, params, NULL, NULL, 0);
    ExecStatusType s = PQresultStatus(r);
    if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK) {
        const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        at_error_set(err, AT_UNAVAILABLE, NULL, "could not %s", what);
        at_error_detail(err, "PostgreSQL said: %.300s (SQLSTATE %s).", PQresultErrorMessage(r),
                        state ? state : "none");
        at_error_hint(err, "Retry with the same command id.");
        PQclear(r);
        es_txn_rollback(t);
        return AT_UNAVAILABLE;
    }
    if (out)
        *out = r;
    else
        PQclear(r);
    return AT_OK;
}

at_code al_read_row(es_txn *t, const char *select, const char *key, bool lock, const char *what, PGresult **row,
                    bool *found, at_error *err)
{
    /* one text for both, so the locked read cannot drift from the unlocked one */
    char sql[1024];
    if (snprintf(sql, sizeof sql, "%s%s", select, lock ? " FOR UPDATE" : "") >= (int)sizeof sql) {
        es_txn_rollback(t);
        return at_error_set(err, AT_INTERNAL, NULL, "query too long to %s", what);
    }
    const char *p[1] = {key};
    PGresult *r = NULL;
    *row = NULL;
    *found = false;
    at_code code = al_exec(t, sql, 1, p, &r, what, err);
    if (code != AT_OK)
        return code;
    if (PQntuples(r) != 1) {
        PQclear(r);
        return AT_OK;
    }
    *found = true;
    *row = r;
    return AT_OK;
}

void al_col_text(const PGresult *row, int col, char *buf, size_t size)
{
    snprintf(buf, size, "%s", PQgetvalue(row, 0, col));
}

at_code al_seen(svc_request *req, const char *key, ProtobufCMessage **reply, bool *done, at_error *err)
{
    *done = false;
    es_txn *t = NULL;
    at_code code = al_begin(req, &t, err);
    if (code != AT_OK)
        return code;
    const char *p[2] = {req->command_id, req->tenant};
    PGresult *r = NULL;
    if ((code = al_exec(t,
                        "SELECT stream_id, first_position, last_position, version FROM atb.commands "
                        "WHERE command_id = $1::uuid AND tenant = $2",
                        2, p, &r, "read the commands", err)) != AT_OK)
        return code;
    if (PQntuples(r) == 1) {
        es_append_res res = {.first_position = strtoll(PQgetvalue(r, 0, 1), NULL, 10),
                             .last_position = strtoll(PQgetvalue(r, 0, 2), NULL, 10),
                             .version = strtoll(PQgetvalue(r, 0, 3), NULL, 10),
                             .duplicate = true};
        *reply = svc_reply_appended(req, PQgetvalue(r, 0, 0), key, &res);
        *done = true;
        if (!*reply)
            code = at_error_set(err, AT_INTERNAL, NULL, "could not build the reply: out of memory");
    }
    PQclear(r);
    es_txn_rollback(t);
    return code;
}
