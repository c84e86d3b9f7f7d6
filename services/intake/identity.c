/*
 * identity.c -- the identity store: names and personal codes, keyed by the pseudonymous
 * person key. It is the only place identifying data lives; an erasure deletes the row and
 * leaves the log, and every replay of it, intact.
 */
#include "intake.h"

#include <stdio.h>
#include <string.h>

at_code identity_insert(PGconn *c, const char *tenant, const identity *id, char existing_key[37],
                        at_error *err)
{
    const char *params[5] = {id->person_key, tenant, id->personal_code, id->given_name, id->family_name};
    PGresult *r = PQexecParams(c,
                               "INSERT INTO intake.identities (person_key, tenant, personal_code, given_name, "
                               "family_name) VALUES ($1, $2, $3, $4, $5) "
                               "ON CONFLICT (tenant, personal_code) DO NOTHING RETURNING person_key",
                               5, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        at_error_set(err, AT_UNAVAILABLE, NULL, "could not store the identity");
        at_error_detail(err, "%s", PQresultErrorMessage(r));
        PQclear(r);
        return AT_UNAVAILABLE;
    }
    int inserted = PQntuples(r) == 1;
    PQclear(r);
    if (inserted)
        return AT_OK;
    identity old;
    at_code code = identity_find(c, tenant, NULL, id->personal_code, &old, err);
    if (code != AT_OK)
        return code;
    snprintf(existing_key, 37, "%s", old.person_key);
    at_error_set(err, AT_CONFLICT, "personal_code", "person is already registered");
    at_error_detail(err, "The personal code %s is registered in %s with the person key %s.",
                    id->personal_code, tenant, old.person_key);
    at_error_hint(err, "Open the existing person instead of registering again.");
    return AT_CONFLICT;
}

at_code identity_find(PGconn *c, const char *tenant, const char *key, const char *personal_code,
                      identity *out, at_error *err)
{
    const char *params[2] = {tenant, key ? key : personal_code};
    const char *sql = key ? "SELECT person_key, personal_code, given_name, family_name FROM intake.identities "
                            "WHERE tenant = $1 AND person_key = $2::uuid"
                          : "SELECT person_key, personal_code, given_name, family_name FROM intake.identities "
                            "WHERE tenant = $1 AND personal_code = $2";
    PGresult *r = PQexecParams(c, sql, 2, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        at_error_set(err, AT_UNAVAILABLE, NULL, "could not read the identity store");
        at_error_detail(err, "%s", PQresultErrorMessage(r));
        PQclear(r);
        return AT_UNAVAILABLE;
    }
    if (PQntuples(r) == 0) {
        PQclear(r);
        return at_error_set(err, AT_NOT_FOUND, key ? "person_key" : "personal_code", "person not found");
    }
    snprintf(out->person_key, sizeof out->person_key, "%s", PQgetvalue(r, 0, 0));
    snprintf(out->personal_code, sizeof out->personal_code, "%s", PQgetvalue(r, 0, 1));
    snprintf(out->given_name, sizeof out->given_name, "%s", PQgetvalue(r, 0, 2));
    snprintf(out->family_name, sizeof out->family_name, "%s", PQgetvalue(r, 0, 3));
    PQclear(r);
    return AT_OK;
}
