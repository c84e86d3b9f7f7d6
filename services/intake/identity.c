/*
 * identity.c -- the identity store: names and personal codes, keyed by the pseudonymous
 * person key, in intake.identities (schema: handlers.c).
 *
 * Invariants:
 *  - this table is the only place identifying data lives; events carry the person key and
 *    nothing that identifies the person, so an erasure here leaves the log, and every
 *    replay of it, intact;
 *  - a row is written in the same transaction as the event that introduces its key
 *    (person.c), so there is never an identity without its event, nor the reverse;
 *  - (tenant, personal_code) is unique: one person per code in a municipality;
 *  - an erased row (erased_at set) is invisible to readers; it keeps its key so that a
 *    retried command still finds the key it derived. identity_erase() clears the names
 *    and overwrites the personal code in the same statement that sets erased_at.
 *
 * When adding a column, also change: a new migration in handlers.c, struct identity in
 * intake.h, the SELECT lists below.
 */
#include "intake.h"

#include <stdio.h>
#include <string.h>

static at_code pg_failed(PGresult *r, const char *what, at_error *err)
{
    const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    at_error_set(err, AT_UNAVAILABLE, NULL, "could not %s", what);
    at_error_detail(err, "PostgreSQL said: %.300s (SQLSTATE %s).", PQresultErrorMessage(r),
                    state ? state : "none");
    at_error_hint(err, "retry with the same command id");
    return AT_UNAVAILABLE;
}

at_code identity_insert(PGconn *c, const char *tenant, const identity *id, char existing_key[37],
                        at_error *err)
{
    const char *params[5] = {id->person_key, tenant, id->personal_code, id->given_name, id->family_name};
    /* No conflict target: a clash on the key (the same command again) and on the code
     * (another person) both land in the lookup below, which tells them apart. A concurrent
     * insert of the same code makes this wait for that transaction, then see its row. */
    PGresult *r = PQexecParams(c,
                               "INSERT INTO intake.identities (person_key, tenant, personal_code, given_name, "
                               "family_name, created_at) VALUES ($1, $2, $3, $4, $5, now()) "
                               "ON CONFLICT DO NOTHING RETURNING person_key",
                               5, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        at_code code = pg_failed(r, "store the identity", err);
        PQclear(r);
        return code;
    }
    int inserted = PQntuples(r) == 1;
    PQclear(r);
    if (inserted)
        return AT_OK;

    /* Our own key first: a retry may also have changed the code it sends. */
    r = PQexecParams(c,
                     "SELECT person_key::text, person_key = $1::uuid FROM intake.identities "
                     "WHERE person_key = $1::uuid OR (tenant = $2 AND personal_code = $3) "
                     "ORDER BY person_key = $1::uuid DESC LIMIT 1",
                     3, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        at_code code = pg_failed(r, "read the identity store", err);
        PQclear(r);
        return code;
    }
    if (PQntuples(r) == 0) {
        /* The clashing row went away between the two statements (an erasure committed in
         * between): nothing to conflict with, but this transaction has no row either. */
        PQclear(r);
        at_error_set(err, AT_UNAVAILABLE, NULL, "could not store the identity");
        at_error_detail(err, "The row that clashed with this one disappeared meanwhile.");
        at_error_hint(err, "retry with the same command id");
        return AT_UNAVAILABLE;
    }
    bool ours = strcmp(PQgetvalue(r, 0, 1), "t") == 0;
    snprintf(existing_key, 37, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    if (ours)
        return AT_OK;
    at_error_set(err, AT_CONFLICT, "personal_code", "person is already registered");
    at_error_detail(err, "The personal code %s is registered in %s with the person key %s.", id->personal_code,
                    tenant, existing_key);
    at_error_hint(err, "Open the existing person instead of registering again.");
    return AT_CONFLICT;
}

at_code identity_find(PGconn *c, const char *tenant, const char *key, const char *personal_code,
                      identity *out, at_error *err)
{
    const char *params[2] = {tenant, key ? key : personal_code};
    const char *sql = key ? "SELECT person_key, personal_code, given_name, family_name FROM intake.identities "
                            "WHERE tenant = $1 AND person_key = $2::uuid AND erased_at IS NULL"
                          : "SELECT person_key, personal_code, given_name, family_name FROM intake.identities "
                            "WHERE tenant = $1 AND personal_code = $2 AND erased_at IS NULL";
    PGresult *r = PQexecParams(c, sql, 2, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        at_code code = pg_failed(r, "read the identity store", err);
        PQclear(r);
        return code;
    }
    if (PQntuples(r) == 0) {
        PQclear(r);
        at_error_set(err, AT_NOT_FOUND, key ? "person_key" : "personal_code", "person not found");
        at_error_detail(err, "No person with the %s %s is registered in %s.", key ? "key" : "personal code",
                        key ? key : personal_code, tenant);
        return AT_NOT_FOUND;
    }
    snprintf(out->person_key, sizeof out->person_key, "%s", PQgetvalue(r, 0, 0));
    snprintf(out->personal_code, sizeof out->personal_code, "%s", PQgetvalue(r, 0, 1));
    snprintf(out->given_name, sizeof out->given_name, "%s", PQgetvalue(r, 0, 2));
    snprintf(out->family_name, sizeof out->family_name, "%s", PQgetvalue(r, 0, 3));
    PQclear(r);
    return AT_OK;
}

/* Run a statement that touches the tenant's live row of `key` ($1 tenant, $2 key, then the
 * caller's). AT_NOT_FOUND when no such row (none registered, or erased). */
static at_code one_person(PGconn *c, const char *sql, int n, const char *const *params, const char *what,
                          at_error *err)
{
    PGresult *r = PQexecParams(c, sql, n, NULL, params, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        at_code code = pg_failed(r, what, err);
        PQclear(r);
        return code;
    }
    bool found = st == PGRES_TUPLES_OK ? PQntuples(r) == 1 : strcmp(PQcmdTuples(r), "1") == 0;
    PQclear(r);
    if (found)
        return AT_OK;
    at_error_set(err, AT_NOT_FOUND, "person_key", "person not found");
    at_error_detail(err, "No person with the key %s is registered in %s (or it was erased).", params[1], params[0]);
    return AT_NOT_FOUND;
}

at_code identity_lock(PGconn *c, const char *tenant, const char *key, at_error *err)
{
    const char *params[2] = {tenant, key};
    return one_person(c,
                      "SELECT 1 FROM intake.identities WHERE tenant = $1 AND person_key = $2::uuid "
                      "AND erased_at IS NULL FOR UPDATE",
                      2, params, "lock the person", err);
}

at_code identity_rename(PGconn *c, const char *tenant, const char *key, const char *given, const char *family,
                        at_error *err)
{
    const char *params[4] = {tenant, key, given && *given ? given : NULL, family && *family ? family : NULL};
    return one_person(c,
                      "UPDATE intake.identities SET given_name = coalesce($3, given_name), "
                      "family_name = coalesce($4, family_name) "
                      "WHERE tenant = $1 AND person_key = $2::uuid AND erased_at IS NULL",
                      4, params, "correct the identity", err);
}

at_code identity_erase(PGconn *c, const char *tenant, const char *key, at_error *err)
{
    const char *params[2] = {tenant, key};
    return one_person(c,
                      "UPDATE intake.identities SET erased_at = now(), given_name = NULL, "
                      "family_name = NULL, personal_code = 'erased-' || person_key::text "
                      "WHERE tenant = $1 AND person_key = $2::uuid AND erased_at IS NULL",
                      2, params, "erase the identity", err);
}
