/*
 * replay.c -- a repeated command id answered with its first result, before any check.
 *
 * Why here and not in the append: a handler checks the state before it appends (step 2
 * of CONTRIBUTING.md, "a command"). After its first try changed that state, a repeat of
 * the same command (a client's --command-id retry, or the bus resending an unanswered
 * request) would be refused by those checks (CONFLICT: "the application is complete")
 * and never reach the log's own idempotency check. So for a command marked SVC_REPLAY the
 * runtime reads atb.commands first: the log records the first result of every command id
 * that appended, and the reply is rebuilt from it. A command id that appended nothing
 * (refused, or nothing to do) is not there and the handler runs as usual.
 */
#include "svc_int.h"

#include <stdlib.h>
#include <string.h>

/* The key of an SVC_REPLAY command is its stream's id after the category
 * ("household-<key>" -> "<key>"): the contract of the flag in svc.h. */
static const char *key_of(const char *stream)
{
    const char *dash = strchr(stream, '-');
    return dash ? dash + 1 : "";
}

at_code svc__replay(svc_request *req, ProtobufCMessage **reply, bool *done, at_error *err)
{
    *done = false;
    if (!req->command_id || !*req->command_id)
        return AT_OK;
    es_txn *t = NULL;
    es_status st = es_txn_begin(req->es, &t, err);
    if (st != ES_OK)
        return es_status_code(st);
    const char *p[2] = {req->command_id, req->tenant};
    PGresult *r = PQexecParams(es_txn_conn(t),
                               "SELECT stream_id, first_position, last_position, version FROM atb.commands "
                               "WHERE command_id = $1::uuid AND tenant = $2",
                               2, NULL, p, NULL, NULL, 0);
    at_code code = AT_OK;
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        at_error_set(err, AT_UNAVAILABLE, NULL, "could not look up the command id");
        at_error_detail(err, "PostgreSQL said: %.300s (SQLSTATE %s).", PQresultErrorMessage(r),
                        state ? state : "none");
        at_error_hint(err, "retry with the same command id");
        code = AT_UNAVAILABLE;
    } else if (PQntuples(r) == 1) {
        es_append_res res = {.first_position = strtoll(PQgetvalue(r, 0, 1), NULL, 10),
                             .last_position = strtoll(PQgetvalue(r, 0, 2), NULL, 10),
                             .version = strtoll(PQgetvalue(r, 0, 3), NULL, 10),
                             .duplicate = true};
        const char *stream = PQgetvalue(r, 0, 0);
        *reply = svc_reply_appended(req, stream, key_of(stream), &res);
        if (*reply)
            *done = true;
        else
            code = at_error_set(err, AT_INTERNAL, NULL, "could not build the reply: out of memory");
    }
    PQclear(r);
    es_txn_rollback(t);
    return code;
}
