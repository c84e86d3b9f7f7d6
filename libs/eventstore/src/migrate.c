/*
 * migrate.c -- versioned migrations of the atb schema.
 *
 * The migrations are the files sql/NNNN_name.sql, embedded into the library at build time
 * (cmake/embed_sql.cmake writes es__migrations[]), so a program never reads SQL from disk.
 * es_migrate() holds a session advisory lock on MIGRATE_LOCK_KEY for its whole run, so
 * several processes may migrate one database at once: the first applies, the others wait
 * and then find nothing to do. Each migration runs in its own transaction together with
 * its row in atb.schema_migrations: it is applied completely and recorded, or not at all.
 *
 * To add a migration: add sql/NNNN_name.sql with the next number (never edit an applied
 * one); es_schema_version() follows, and es_open() then refuses databases not migrated.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "es_int.h"

/* "atb.migr" as a big-endian int8: the advisory lock of the migrations. */
#define MIGRATE_LOCK_KEY "7022345670521087858"

int es_schema_version(void)
{
    return es__n_migrations ? es__migrations[es__n_migrations - 1].version : 0;
}

static void ignore_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

static es_status exec_ok(PGconn *pg, const char *sql, const char *what, at_error *err)
{
    PGresult *r = PQexec(pg, sql);
    ExecStatusType st = PQresultStatus(r);
    es_status s = ES_OK;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        s = es__pg_fail(err, pg, r, what);
    PQclear(r);
    return s;
}

/* Apply one migration with its record, in one transaction. */
static es_status apply(PGconn *pg, const es__migration *m, at_error *err)
{
    char what[128];
    snprintf(what, sizeof what, "migrate the database to version %d (%s)", m->version, m->name);
    es_status s = exec_ok(pg, "BEGIN", what, err);
    if (s == ES_OK)
        s = exec_ok(pg, m->sql, what, err);
    if (s == ES_OK) {
        char ver[16];
        snprintf(ver, sizeof ver, "%d", m->version);
        const char *values[2] = {ver, m->name};
        PGresult *r = PQexecParams(pg, "INSERT INTO atb.schema_migrations (version, name) "
                                   "VALUES ($1::int, $2)", 2, NULL, values, NULL, NULL, 0);
        if (PQresultStatus(r) != PGRES_COMMAND_OK)
            s = es__pg_fail(err, pg, r, what);
        PQclear(r);
    }
    if (s == ES_OK)
        s = exec_ok(pg, "COMMIT", what, err);
    if (s != ES_OK && PQstatus(pg) == CONNECTION_OK) {
        PGresult *r = PQexec(pg, "ROLLBACK");
        PQclear(r);
    }
    return s;
}

static es_status migrate_locked(PGconn *pg, int *applied, at_error *err)
{
    es_status s = exec_ok(pg, "CREATE SCHEMA IF NOT EXISTS atb; "
                          "CREATE TABLE IF NOT EXISTS atb.schema_migrations ("
                          " version int PRIMARY KEY,"
                          " name text NOT NULL,"
                          " applied_at timestamptz NOT NULL DEFAULT now())",
                          "create the migrations table", err);
    if (s != ES_OK)
        return s;
    PGresult *r = PQexec(pg, "SELECT version, name FROM atb.schema_migrations ORDER BY version");
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        s = es__pg_fail(err, pg, r, "read the applied migrations");
        PQclear(r);
        return s;
    }
    int n_rows = PQntuples(r);
    for (size_t i = 0; i < es__n_migrations; i++) {
        const es__migration *m = &es__migrations[i];
        bool done = false;
        for (int row = 0; row < n_rows; row++) {
            if (atoi(PQgetvalue(r, row, 0)) != m->version)
                continue;
            if (strcmp(PQgetvalue(r, row, 1), m->name) != 0) {
                es__fail(err, ES_INVALID, NULL, "cannot migrate: version %d of the database is "
                         "\"%s\", this program's is \"%s\"", m->version, PQgetvalue(r, row, 1),
                         m->name);
                if (err)
                    at_error_hint(err, "The database was migrated by a different build; use the "
                                  "build that matches it.");
                PQclear(r);
                return ES_INVALID;
            }
            done = true;
        }
        if (done)
            continue;
        /* A migration that lost a race on a cluster-wide object (roles) or a deadlock is
         * tried again: it rolled back completely. */
        for (int attempt = 1;; attempt++) {
            s = apply(pg, m, err);
            if (s != ES_IO || attempt == 3 || PQstatus(pg) != CONNECTION_OK)
                break;
        }
        if (s != ES_OK) {
            PQclear(r);
            return s;
        }
        if (applied)
            (*applied)++;
    }
    PQclear(r);
    return ES_OK;
}

es_status es_migrate(const char *admin_conninfo, int *applied, at_error *err)
{
    if (applied)
        *applied = 0;
    const char *kw[] = {"application_name", "dbname", NULL};
    const char *val[] = {"atbalsts-migrate", admin_conninfo ? admin_conninfo : "", NULL};
    PGconn *pg = PQconnectdbParams(kw, val, 1);
    if (!pg)
        return es__fail(err, ES_NOMEM, NULL, "could not connect to PostgreSQL: out of memory");
    if (PQstatus(pg) != CONNECTION_OK) {
        char msg[256];
        snprintf(msg, sizeof msg, "%s", PQerrorMessage(pg));
        msg[strcspn(msg, "\n")] = '\0';
        es__fail(err, ES_IO, NULL, "could not connect to PostgreSQL to migrate");
        if (err) {
            at_error_detail(err, "%s", msg);
            at_error_hint(err, "Check the admin connection string and that PostgreSQL is running.");
        }
        PQfinish(pg);
        return ES_IO;
    }
    PQsetNoticeProcessor(pg, ignore_notice, NULL);
    es_status s = exec_ok(pg, "SET client_encoding = 'UTF8'", "prepare to migrate", err);
    if (s == ES_OK)
        s = exec_ok(pg, "SELECT pg_advisory_lock(" MIGRATE_LOCK_KEY ")", "take the migration lock",
                    err);
    if (s == ES_OK) {
        s = migrate_locked(pg, applied, err);
        /* Closing the session would release the lock too; unlock explicitly all the same
         * so a pooled admin connection never keeps it. */
        PGresult *r = PQexec(pg, "SELECT pg_advisory_unlock(" MIGRATE_LOCK_KEY ")");
        PQclear(r);
    }
    PQfinish(pg);
    return s;
}
