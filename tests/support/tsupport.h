/*
 * tsupport.h -- what integration tests share: real servers, a fresh database per test
 * program, unique NATS names.
 *
 * Environment (scripts/services.sh exports the same names):
 *   ATB_PG_HOST (127.0.0.1), ATB_PG_PORT (54329), ATB_PG_SUPERUSER (postgres)
 *   ATB_NATS_URL (nats://127.0.0.1:4229)
 *   ATB_REQUIRE_SERVICES=1: a server that cannot be reached fails the test; otherwise the
 *   test exits 77, which ctest reports as skipped.
 */
#ifndef TSUPPORT_H
#define TSUPPORT_H

#include <stddef.h>

#define T_SKIP 77

/* Exit 77 (or fail with a message when ATB_REQUIRE_SERVICES=1) unless PostgreSQL
 * (and NATS, if need_nats) answer. */
void t_require_servers(int need_nats);

typedef struct t_db {
    char name[64];        /* atb_t_<pid>_<n> */
    char admin[512];      /* superuser conninfo for this database */
} t_db;

/* CREATE DATABASE a fresh one and run es_migrate() on it. Aborts the program on failure. */
void t_db_create(t_db *db);
/* The conninfo for `role` (NULL = the superuser) in db. */
void t_db_conninfo(const t_db *db, const char *role, char *buf, size_t n);
/* DROP DATABASE (forcing out other sessions). */
void t_db_drop(t_db *db);

/* A name unique to this process and call: "<stem><pid>x<counter><random>", letters and
 * digits only, usable as a NATS subject token or stream name. */
void t_unique(char *buf, size_t n, const char *stem);

const char *t_nats_url(void);
const char *t_pg_host(void);
const char *t_pg_port(void);

/* Run a shell command and return its exit status (for tests that drive binaries). */
int t_system(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
