/*
 * benchlib.c -- see benchlib.h.
 */
#include "benchlib.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static const char *bh_prog = "bench";
static void (*bh_cleanup)(void);

void bh_init(const char *prog)
{
    bh_prog = prog;
}

void bh_on_die(void (*cleanup)(void))
{
    bh_cleanup = cleanup;
}

void bh_die(const char *what, const char *why)
{
    fprintf(stderr, "%s: %s: %s\n", bh_prog, what, why);
    if (bh_cleanup)
        bh_cleanup();
    exit(1);
}

const char *bh_env(const char *name, const char *def)
{
    const char *v = getenv(name);
    return v && *v ? v : def;
}

double bh_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void bh_conninfo(const char *db, char *out, size_t n)
{
    snprintf(out, n, "host=%s port=%s user=%s dbname=%s", bh_env("ATB_PG_HOST", "127.0.0.1"),
             bh_env("ATB_PG_PORT", "54329"), bh_env("ATB_PG_SUPERUSER", "postgres"), db);
}

PGconn *bh_connect(const char *db)
{
    char ci[512];
    bh_conninfo(db, ci, sizeof ci);
    PGconn *c = PQconnectdb(ci);
    if (PQstatus(c) != CONNECTION_OK)
        bh_die("connect", PQerrorMessage(c));
    return c;
}

void bh_exec(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
        bh_die(sql, PQerrorMessage(c));
    PQclear(r);
}
