/*
 * tsupport.c -- see tsupport.h.
 */
#include "tsupport.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <unistd.h>
#include <libpq-fe.h>
#include <nats/nats.h>

#include "es.h"

static const char *env_or(const char *name, const char *def)
{
    const char *v = getenv(name);
    return (v && *v) ? v : def;
}

const char *t_pg_host(void) { return env_or("ATB_PG_HOST", "127.0.0.1"); }
const char *t_pg_port(void) { return env_or("ATB_PG_PORT", "54329"); }
const char *t_nats_url(void) { return env_or("ATB_NATS_URL", "nats://127.0.0.1:4229"); }
static const char *pg_super(void) { return env_or("ATB_PG_SUPERUSER", "postgres"); }

static void unreachable(const char *what)
{
    const char *req = getenv("ATB_REQUIRE_SERVICES");
    if (req && strcmp(req, "1") == 0) {
        fprintf(stderr, "FAIL: %s is not reachable and ATB_REQUIRE_SERVICES=1\n", what);
        exit(1);
    }
    fprintf(stderr, "SKIP: %s is not reachable (start it with scripts/services.sh start)\n", what);
    exit(T_SKIP);
}

void t_require_servers(int need_nats)
{
    char ci[512];
    snprintf(ci, sizeof ci, "host=%s port=%s user=%s dbname=postgres connect_timeout=5",
             t_pg_host(), t_pg_port(), pg_super());
    PGconn *c = PQconnectdb(ci);
    int ok = PQstatus(c) == CONNECTION_OK;
    PQfinish(c);
    if (!ok)
        unreachable("PostgreSQL");
    if (need_nats) {
        natsConnection *nc = NULL;
        natsStatus s = natsConnection_ConnectTo(&nc, t_nats_url());
        natsConnection_Destroy(nc);
        if (s != NATS_OK)
            unreachable("nats-server");
    }
}

void t_unique(char *buf, size_t n, const char *stem)
{
    static unsigned counter;
    unsigned r = 0;
    if (getrandom(&r, sizeof r, 0) != (ssize_t)sizeof r)
        r = (unsigned)getpid();
    snprintf(buf, n, "%s%dx%u%04x", stem, (int)getpid(), __atomic_add_fetch(&counter, 1, __ATOMIC_SEQ_CST),
             r & 0xffff);
}

static void admin_exec(const char *sql)
{
    char ci[512];
    snprintf(ci, sizeof ci, "host=%s port=%s user=%s dbname=postgres connect_timeout=5",
             t_pg_host(), t_pg_port(), pg_super());
    PGconn *c = PQconnectdb(ci);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "t_db: could not connect: %s", PQerrorMessage(c));
        exit(1);
    }
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        fprintf(stderr, "t_db: %s: %s", sql, PQerrorMessage(c));
        exit(1);
    }
    PQclear(r);
    PQfinish(c);
}

void t_db_conninfo(const t_db *db, const char *role, char *buf, size_t n)
{
    snprintf(buf, n, "host=%s port=%s user=%s dbname=%s connect_timeout=10",
             t_pg_host(), t_pg_port(), role ? role : pg_super(), db->name);
}

void t_db_create(t_db *db)
{
    char name[48], sql[256];
    t_unique(name, sizeof name, "atb_t_");
    snprintf(db->name, sizeof db->name, "%s", name);
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", db->name);
    admin_exec(sql);
    t_db_conninfo(db, NULL, db->admin, sizeof db->admin);
    at_error err;
    at_error_clear(&err);
    es_status s = es_migrate(db->admin, NULL, &err);
    if (s != ES_OK) {
        fprintf(stderr, "t_db: migrate %s: %s (%s) %s\n", db->name, es_status_str(s), err.message, err.detail);
        exit(1);
    }
}

void t_db_drop(t_db *db)
{
    char sql[256];
    if (!db->name[0])
        return;
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", db->name);
    admin_exec(sql);
    db->name[0] = 0;
}

int t_system(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    int st = system(cmd);
    if (st == -1)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
