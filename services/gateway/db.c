/*
 * db.c -- the gateway's PostgreSQL: a fixed pool of connections (one per worker thread,
 * so a worker never waits for another) and the migrations of schema `gateway`.
 *
 * The schema holds what the gateway alone owns: users and their grants per municipality,
 * sessions (only the SHA-256 of each token, so a copy of the table opens no session) and
 * the access log. The gateway's role may add to the access log but never change or delete
 * a row of it: who read whose file must stay provable.
 */
#include <stdlib.h>
#include <string.h>

#include "gateway.h"

struct gw_db {
    char *url;
    PGconn **conns;
    bool *lent;
    int n;
    pthread_mutex_t mu;
    pthread_cond_t cv;
};

at_code gw_db_open(gw_db **out, const char *url, int n, at_error *err)
{
    *out = NULL;
    gw_db *db = calloc(1, sizeof *db);
    if (!db)
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    db->url = strdup(url ? url : "");
    db->conns = calloc((size_t)n, sizeof *db->conns);
    db->lent = calloc((size_t)n, sizeof *db->lent);
    db->n = n;
    pthread_mutex_init(&db->mu, NULL);
    pthread_cond_init(&db->cv, NULL);
    if (!db->url || !db->conns || !db->lent) {
        gw_db_close(db);
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    }
    for (int i = 0; i < n; i++) {
        db->conns[i] = PQconnectdb(db->url);
        if (PQstatus(db->conns[i]) != CONNECTION_OK) {
            at_error_set(err, AT_UNAVAILABLE, "pg_url", "could not connect to PostgreSQL");
            at_error_detail(err, "%s", PQerrorMessage(db->conns[i]));
            at_error_hint(err, "Check ATB_PG_URL and that PostgreSQL is running.");
            gw_db_close(db);
            return AT_UNAVAILABLE;
        }
    }
    *out = db;
    return AT_OK;
}

void gw_db_close(gw_db *db)
{
    if (!db)
        return;
    for (int i = 0; db->conns && i < db->n; i++)
        PQfinish(db->conns[i]);
    free(db->conns);
    free(db->lent);
    free(db->url);
    pthread_mutex_destroy(&db->mu);
    pthread_cond_destroy(&db->cv);
    free(db);
}

PGconn *gw_db_get(gw_db *db)
{
    pthread_mutex_lock(&db->mu);
    for (;;) {
        for (int i = 0; i < db->n; i++) {
            if (!db->lent[i]) {
                db->lent[i] = true;
                PGconn *c = db->conns[i];
                pthread_mutex_unlock(&db->mu);
                if (PQstatus(c) != CONNECTION_OK)
                    PQreset(c);   /* after a PostgreSQL restart; a failure shows in the query */
                return c;
            }
        }
        pthread_cond_wait(&db->cv, &db->mu);
    }
}

void gw_db_put(gw_db *db, PGconn *c)
{
    pthread_mutex_lock(&db->mu);
    for (int i = 0; i < db->n; i++)
        if (db->conns[i] == c)
            db->lent[i] = false;
    pthread_cond_signal(&db->cv);
    pthread_mutex_unlock(&db->mu);
}

PGresult *gw_sql(PGconn *c, at_error *err, const char *sql, int n, const char *const *params)
{
    PGresult *r = PQexecParams(c, sql, n, NULL, params, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(r);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
        return r;
    const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    if (state && strcmp(state, "23505") == 0)
        at_error_set(err, AT_CONFLICT, NULL, "already exists");
    else if (state && strncmp(state, "23", 2) == 0)
        at_error_set(err, AT_VALIDATION, NULL, "refused by a constraint");
    else
        at_error_set(err, AT_UNAVAILABLE, NULL, "could not query PostgreSQL");
    at_error_detail(err, "%s", PQresultErrorMessage(r));
    PQclear(r);
    return NULL;
}

/* Never edit a migration that ran anywhere; append a new one. */
static const char *const migrations[] = {
    "CREATE TABLE users (\n"
    "    login         text PRIMARY KEY CHECK (login ~ '^[a-z0-9][a-z0-9._-]{0,63}$'),\n"
    "    display_name  text NOT NULL DEFAULT '',\n"
    "    password_hash text NOT NULL,\n"
    "    failed_count  int  NOT NULL DEFAULT 0,\n"
    "    locked_until  timestamptz,\n"
    "    disabled      boolean NOT NULL DEFAULT false,\n"
    "    created_at    timestamptz NOT NULL DEFAULT now());\n"
    "CREATE TABLE grants (\n"
    "    login  text NOT NULL REFERENCES users ON DELETE CASCADE,\n"
    "    tenant text NOT NULL REFERENCES atb.tenants (code),\n"
    "    role   text NOT NULL CHECK (role IN ('social_worker', 'assistance_officer', 'head_of_service',\n"
    "                                         'accountant', 'auditor', 'administrator')),\n"
    "    PRIMARY KEY (login, tenant));\n"
    "CREATE TABLE sessions (\n"
    "    token_sha256 text PRIMARY KEY,\n"
    "    login        text NOT NULL REFERENCES users ON DELETE CASCADE,\n"
    "    csrf_token   text NOT NULL,\n"
    "    created_at   timestamptz NOT NULL DEFAULT now(),\n"
    "    last_seen    timestamptz NOT NULL DEFAULT now(),\n"
    "    expires_at   timestamptz NOT NULL);\n"
    "CREATE INDEX ON sessions (expires_at);\n"
    "CREATE TABLE access_log (\n"
    "    id           bigserial PRIMARY KEY,\n"
    "    at           timestamptz NOT NULL DEFAULT now(),\n"
    "    login        text NOT NULL,\n"
    "    tenant       text NOT NULL,\n"
    "    action       text NOT NULL,\n"
    "    subject_kind text NOT NULL,\n"
    "    subject_key  text NOT NULL,\n"
    "    outcome      text NOT NULL CHECK (outcome IN ('read', 'denied', 'signed_in', 'sign_in_refused')),\n"
    "    status       int  NOT NULL);\n"
    "CREATE INDEX ON access_log (tenant, subject_key);\n"
    "CREATE INDEX ON access_log (login, at);\n"
    "GRANT USAGE ON SCHEMA gateway TO atb_gateway;\n"
    "GRANT SELECT, INSERT, UPDATE ON users, grants TO atb_gateway;\n"
    "GRANT SELECT, INSERT, UPDATE, DELETE ON sessions TO atb_gateway;\n"
    "GRANT SELECT, INSERT ON access_log TO atb_gateway;\n"
    "GRANT USAGE ON SEQUENCE access_log_id_seq TO atb_gateway;\n"
    "GRANT SELECT ON access_log TO atb_auditor;\n",
};

/* Several statements in one text (a migration): the simple query protocol. */
static at_code exec(PGconn *c, const char *sql, at_error *err)
{
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        at_error_set(err, AT_UNAVAILABLE, NULL, "could not apply a migration of the gateway");
        at_error_detail(err, "%s", PQresultErrorMessage(r));
        PQclear(r);
        return AT_UNAVAILABLE;
    }
    PQclear(r);
    return AT_OK;
}

at_code gw_db_migrate(const char *admin_url, at_error *err)
{
    PGconn *c = PQconnectdb(admin_url);
    if (PQstatus(c) != CONNECTION_OK) {
        at_error_set(err, AT_UNAVAILABLE, "pg_admin_url", "could not connect to PostgreSQL as the admin");
        at_error_detail(err, "%s", PQerrorMessage(c));
        PQfinish(c);
        return AT_UNAVAILABLE;
    }
    /* one transaction: a migration and its row in atb.service_migrations commit together */
    at_code rc = exec(c, "SET client_min_messages = warning; BEGIN;"
                         "SELECT pg_advisory_xact_lock(hashtext('atb.gateway.migrate'));"
                         "CREATE SCHEMA IF NOT EXISTS gateway AUTHORIZATION atb_gateway;"
                         "SET LOCAL search_path = gateway", err);
    for (size_t i = 0; rc == AT_OK && i < sizeof migrations / sizeof migrations[0]; i++) {
        char v[16];
        snprintf(v, sizeof v, "%zu", i + 1);
        const char *p[] = {v};
        PGresult *r = gw_sql(c, err, "SELECT 1 FROM atb.service_migrations WHERE service = 'gateway' AND version = $1",
                             1, p);
        if (!r) {
            rc = err->code;
            break;
        }
        bool done = PQntuples(r) > 0;
        PQclear(r);
        if (done)
            continue;
        rc = exec(c, migrations[i], err);
        if (rc == AT_OK) {
            r = gw_sql(c, err, "INSERT INTO atb.service_migrations (service, version) VALUES ('gateway', $1)", 1, p);
            rc = r ? AT_OK : err->code;
            PQclear(r);
        }
    }
    if (rc == AT_OK)
        rc = exec(c, "COMMIT", err);
    PQfinish(c);
    return rc;
}
