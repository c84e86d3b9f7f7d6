/*
 * This file is private to libs/eventstore.
 *
 * es_int.h -- what the files of libs/eventstore share: the store's insides, pooled
 * connections, the wire encoders and the error mapping.
 *
 * Locks (never held while waiting on PostgreSQL, except wait_mu's owner polling):
 *   pool_mu    the free list of pooled connections;
 *   q_mu       the append queue, the closing flag and the statistics;
 *   wait_mu    the LISTEN connection and the head it last saw;
 *   tenant_mu  the tenant cache.
 * No function takes two of them at once.
 */
#ifndef ES_INT_H
#define ES_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <libpq-fe.h>

#include "es.h"

/* Type OIDs of the binary wire format (fixed in PostgreSQL's catalog). */
#define ES_OID_BYTEA        17
#define ES_OID_INT8         20
#define ES_OID_INT4         23
#define ES_OID_TEXT         25
#define ES_OID_TIMESTAMPTZ  1184
#define ES_OID_UUID         2950
#define ES_OID_BYTEA_ARRAY  1001
#define ES_OID_INT4_ARRAY   1007
#define ES_OID_TEXT_ARRAY   1009
#define ES_OID_INT8_ARRAY   1016
#define ES_OID_TS_ARRAY     1185
#define ES_OID_UUID_ARRAY   2951

/* Microseconds between the Unix epoch and PostgreSQL's (2000-01-01). */
#define ES_PG_EPOCH_US 946684800000000LL

/* SQLSTATE raised by atb.refuse_change() (0001_log.sql). */
#define ES_SQLSTATE_IMMUTABLE "ZA001"

/* The statement name atb.append is prepared under on every connection that appends. */
#define ES_APPEND_STMT "es_append"

/* Most payload bytes one group commit carries (a single larger append goes alone). */
#define ES_GROUP_MAX_BYTES (32u << 20)

/* ---- connections --------------------------------------------------------------- */

typedef struct es_conn {
    PGconn *pg;
    bool prepared;        /* ES_APPEND_STMT is prepared on pg */
} es_conn;

/* ---- the append queue ---------------------------------------------------------- */

/* One es_append() call waiting for the committer. Lives on the caller's stack. */
typedef struct es__pending {
    const es_append_req *req;
    es_append_res res;
    es_status status;
    at_error err;          /* filled by the committer, copied out by the caller */
    bool done;
    pthread_cond_t cv;
    struct es__pending *next;
} es__pending;

struct es_store {
    char *conninfo;
    char *appname;
    bool appname_given;
    int pool_size;
    int group_max_events;
    int group_max_wait_us;

    pthread_mutex_t pool_mu;
    pthread_cond_t pool_cv;
    es_conn *conns;        /* pool_size of them */
    es_conn **free_conns;  /* stack of the free ones */
    int n_free;
    bool pool_closing;

    pthread_mutex_t q_mu;
    pthread_cond_t q_cv;   /* the committer waits here for work */
    es__pending *q_head, *q_tail;
    bool closing;
    bool committer_running;
    pthread_t committer;
    es_conn commit_conn;   /* used by the committer thread only */
    es_store_stats stats;

    pthread_mutex_t wait_mu;
    pthread_cond_t wait_cv;
    PGconn *listen;        /* LISTEN atb_log; used by the polling waiter only */
    bool polling;          /* a waiter polls listen without holding wait_mu */
    int64_t seen_head;

    pthread_mutex_t tenant_mu;
    char **tenants;        /* sorted */
    size_t n_tenants;
    int64_t tenants_loaded_ns;
};

/* Connect c (or reset a broken connection). ES_OK or ES_IO. */
es_status es__conn_ensure(es_store *es, es_conn *c, at_error *err);
/* Open a new connection with the store's settings. NULL + err on failure. */
PGconn *es__connect(const es_store *es, at_error *err);
/* Take a pooled connection, connected. ES_CLOSED when closing. */
es_status es__pool_get(es_store *es, es_conn **out, at_error *err);
/* Give it back; a connection left inside a transaction is rolled back or dropped. */
void es__pool_put(es_store *es, es_conn *c);

/* Fill err from a failed result (res may be NULL: then the connection's message) and
 * return the status it maps to. `what` names the operation: "could not <what>". */
es_status es__pg_fail(at_error *err, PGconn *pg, const PGresult *res, const char *what);
/* Set err to status with a formatted message; returns status. */
es_status es__fail(at_error *err, es_status status, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* ---- appending (append.c) ------------------------------------------------------ */

/* Check one request; ES_OK or ES_INVALID with the field named. */
es_status es__validate(const es_append_req *req, at_error *err);
/* Call atb.append once for the n requests of items on conn c (autocommit, or inside the
 * caller's transaction). Each item gets its own status, result and error. Returns ES_OK
 * when the call itself succeeded; else the failure, which every item then holds too. */
es_status es__append_call(es_conn *c, es__pending *const *items, size_t n);
es_status es__committer_start(es_store *es, at_error *err);
void es__committer_stop(es_store *es);

/* ---- wire format (wire.c) ------------------------------------------------------ */

/* A PostgreSQL binary one-dimensional array being built. On allocation failure the
 * buffer is marked failed and later writes do nothing. */
typedef struct es__arr {
    uint8_t *p;
    size_t len, cap;
    int32_t n;
    bool has_null;
    bool failed;
} es__arr;

void es__arr_init(es__arr *a, uint32_t elem_oid);
void es__arr_null(es__arr *a);
void es__arr_bytes(es__arr *a, const void *p, size_t len);
void es__arr_text(es__arr *a, const char *s);       /* NULL s: a NULL element */
void es__arr_int4(es__arr *a, int32_t v);
void es__arr_int8(es__arr *a, int64_t v);
void es__arr_uuid(es__arr *a, const char *s);       /* s already validated; NULL/"": NULL */
void es__arr_finish(es__arr *a);                    /* patches count and flags */
void es__arr_free(es__arr *a);

/* Parse 8-4-4-4-12 hex (either case) into 16 bytes; false if s is not a UUID. */
bool es__uuid_parse(const char *s, uint8_t out[16]);
/* Format 16 bytes as lower-case text into out[37]. */
void es__uuid_format(const uint8_t in[16], char out[37]);
int64_t es__get_int8(const char *p);
int32_t es__get_int4(const char *p);
int64_t es__mono_ns(void);

/* ---- faults (fault.c) ---------------------------------------------------------- */

/* Arm the points named in ATB_FAULT (comma-separated) once per process. */
void es__fault_init_env(void);

/* ---- migrations (generated from sql/ at build time) ---------------------------- */

typedef struct es__migration {
    int version;
    const char *name;
    const char *sql;
} es__migration;

extern const es__migration es__migrations[];
extern const size_t es__n_migrations;

#endif
