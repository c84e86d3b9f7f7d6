/*
 * access.c -- the access log: who read whose file, when, and who was refused.
 *
 * Data-protection rules ask that reading a person's data is itself recorded. The gateway
 * records it here (schema gateway, append-only for its role), not as an event: a read
 * changes no case, and the access log has its own retention and its own readers (the
 * auditor), while the event log keeps the facts decisions replay.
 */
#include "gateway.h"

at_code gw_access_record(PGconn *c, const char *login, const char *tenant, const char *action,
                         const char *subject_kind, const char *key, const char *outcome, int status, at_error *err)
{
    char st[16];
    snprintf(st, sizeof st, "%d", status);
    const char *p[] = {login, tenant, action, subject_kind, key ? key : "", outcome, st};
    PGresult *r = gw_sql(c, err,
                         "INSERT INTO gateway.access_log (login, tenant, action, subject_kind, subject_key, outcome,"
                         " status) VALUES ($1, $2, $3, $4, $5, $6, $7::int)",
                         7, p);
    if (!r)
        return err->code;
    PQclear(r);
    return AT_OK;
}
