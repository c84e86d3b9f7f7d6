/*
 * helpers.h -- what the eventstore tests share: a fresh database per program, stores
 * opened as a service role, superuser queries to check what really is in the tables.
 * Every helper fails the running cmocka test on an unexpected error.
 */
#ifndef ES_TEST_HELPERS_H
#define ES_TEST_HELPERS_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <libpq-fe.h>

#include "es.h"
#include "tsupport.h"

extern t_db h_db;

/* cmocka group setup / teardown: a fresh migrated database in h_db, dropped after. */
int h_group_setup(void **state);
int h_group_teardown(void **state);

/* Open a store on h_db as `role` (NULL: the superuser). */
es_store *h_open(const char *role, int pool_size);
es_store *h_open_cfg(const char *role, es_config *cfg);
/* A superuser connection to h_db; PQfinish it. */
PGconn *h_admin(void);
/* Run SQL as the superuser and return the first column of the first row as an integer
 * (0 for no row or NULL). printf-style. */
long long h_scalar(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A random UUID. */
void h_uuid(char out[37]);
/* A stream id unique to this run: "<category>-<random>". */
void h_stream(char *out, size_t n, const char *category);

/* One event of `type` with the payload given. */
es_event_in h_event(const char *type, const void *payload, size_t len);
/* Append one event with the given expected version and command id (may be NULL). */
es_status h_append1(es_store *es, const char *tenant, const char *stream, int64_t expected,
                    const char *command_id, const char *payload, es_append_res *res,
                    at_error *err);

/* One es_append() to run on a thread of its own. */
typedef struct h_job {
    es_store *es;
    const es_append_req *req;
    es_status st;
    es_append_res res;
    at_error err;
} h_job;
/* Start one thread per job at once and wait for all. */
void h_run_jobs(h_job *jobs, size_t n);

/* Monotonic milliseconds. */
int64_t h_ms(void);

#endif
