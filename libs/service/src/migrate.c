/*
 * migrate.c -- a service's own schema migrations (svc_def.migrations), run as the admin.
 *
 * Migration i (0-based) is version i + 1. Each runs in its own transaction which first
 * takes a transaction advisory lock on (atb.service_migrations, service) -- so instances
 * starting at once apply each migration exactly once -- then checks
 * atb.service_migrations, creates the schema <name> owned by atb_<name> if missing, sets
 * search_path to it, runs the SQL and records the version. A failure rolls the whole
 * migration back and stops: later ones are not tried.
 *
 * Invariant: a version in atb.service_migrations means its SQL committed, in the same
 * transaction.
 */
#include "svc_int.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <string.h>

static at_code pg_fail(at_error *err, PGconn *c, PGresult *r, const svc_def *def, int version,
                       const char *what)
{
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = r ? PQresultErrorMessage(r) : PQerrorMessage(c);
    at_error_set(err, AT_INTERNAL, "migrations", "migration %d of service \"%s\" failed: %s",
                 version, def->name, what);
    at_error_detail(err, "PostgreSQL said: %.300s (SQLSTATE %s). Nothing of this migration was "
                         "applied.", msg && *msg ? msg : "no message", state ? state : "none");
    if (state && strcmp(state, "42704") == 0)
        at_error_hint(err, "create role atb_%s first (libs/eventstore's roles migration lists "
                           "the roles of the services)", def->name);
    else
        at_error_hint(err, "fix the migration's SQL (a new migration if this one ran anywhere) "
                           "and start again");
    return AT_INTERNAL;
}

static bool name_ok(const char *n)
{
    if (!n || !(*n >= 'a' && *n <= 'z') || strlen(n) > 40)
        return false;
    for (const char *p = n; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
            return false;
    return true;
}

static PGresult *exec_params(PGconn *c, const char *sql, const char *service, const char *version)
{
    const char *params[2] = {service, version};
    return PQexecParams(c, sql, version ? 2 : 1, NULL, params, NULL, NULL, 0);
}

at_code svc__migrate(const svc_def *def, const char *admin, int *applied, at_error *err)
{
    if (applied)
        *applied = 0;
    if (def->n_migrations == 0)
        return AT_OK;
    if (!name_ok(def->name)) {
        at_error_set(err, AT_VALIDATION, "name", "cannot migrate service \"%s\": not a schema name",
                     def->name);
        at_error_detail(err, "A service name with migrations is a lower-case letter followed by "
                             "letters, digits or '_', at most 40 bytes.");
        return AT_VALIDATION;
    }
    PGconn *c = PQconnectdb(admin);
    if (PQstatus(c) != CONNECTION_OK) {
        at_error_set(err, AT_UNAVAILABLE, "pg-admin", "could not connect to PostgreSQL as the admin");
        at_error_detail(err, "libpq said: %.300s", PQerrorMessage(c));
        at_error_hint(err, "check --pg-admin / ATB_PG_ADMIN_URL and that PostgreSQL runs");
        PQfinish(c);
        return AT_UNAVAILABLE;
    }
    PQclear(PQexec(c, "SET client_min_messages = warning"));
    char setup[512];
    snprintf(setup, sizeof setup,
             "CREATE SCHEMA IF NOT EXISTS %s AUTHORIZATION atb_%s; SET LOCAL search_path TO %s",
             def->name, def->name, def->name);
    at_code rc = AT_OK;
    for (size_t i = 0; i < def->n_migrations && rc == AT_OK; i++) {
        int version = (int)i + 1;
        char vtext[16];
        snprintf(vtext, sizeof vtext, "%d", version);
        PGresult *r = PQexec(c, "BEGIN");
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            rc = pg_fail(err, c, r, def, version, "could not begin");
            PQclear(r);
            break;
        }
        PQclear(r);
        r = exec_params(c, "SELECT pg_advisory_xact_lock(hashtext('atb.service_migrations'), hashtext($1))",
                        def->name, NULL);
        if (PQresultStatus(r) != PGRES_TUPLES_OK) {
            rc = pg_fail(err, c, r, def, version, "could not take the migration lock");
            goto rollback;
        }
        PQclear(r);
        r = exec_params(c, "SELECT 1 FROM atb.service_migrations WHERE service = $1 AND version = $2::int",
                        def->name, vtext);
        if (PQresultStatus(r) != PGRES_TUPLES_OK) {
            rc = pg_fail(err, c, r, def, version, "could not read atb.service_migrations");
            goto rollback;
        }
        bool done = PQntuples(r) > 0;
        PQclear(r);
        if (done) {
            r = PQexec(c, "COMMIT");
            PQclear(r);
            continue;
        }
        r = PQexec(c, setup);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            rc = pg_fail(err, c, r, def, version, "could not create the service's schema");
            goto rollback;
        }
        PQclear(r);
        r = PQexec(c, def->migrations[i]);
        if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
            rc = pg_fail(err, c, r, def, version, "its SQL failed");
            goto rollback;
        }
        PQclear(r);
        r = exec_params(c, "INSERT INTO atb.service_migrations (service, version) VALUES ($1, $2::int)",
                        def->name, vtext);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            rc = pg_fail(err, c, r, def, version, "could not record it");
            goto rollback;
        }
        PQclear(r);
        r = PQexec(c, "COMMIT");
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            rc = pg_fail(err, c, r, def, version, "could not commit");
            PQclear(r);
            break;
        }
        PQclear(r);
        if (applied)
            (*applied)++;
        continue;
    rollback:
        PQclear(r);
        PQclear(PQexec(c, "ROLLBACK"));
    }
    PQfinish(c);
    return rc;
}
