/*
 * es.h -- the append-only event log in PostgreSQL: the source of truth of atbalsts.
 *
 * Guarantees (each proved by a test in tests/eventstore):
 *  - Appends to one stream are atomic and checked against an expected version; a stale
 *    version is ES_CONFLICT, never a lost write.
 *  - A command id appended twice yields the first result (res.duplicate = true) and no
 *    second copy, also when both copies travel in the same group commit.
 *  - Global positions are assigned in commit order and without gaps: the append takes the
 *    log's head row lock (atb.log_head) before it numbers its events and keeps it to
 *    commit. A reader that reads "position > P" therefore never skips an event that
 *    commits later with a lower position: there is none. A rolled-back append leaves no
 *    hole either; the next append takes its positions.
 *  - The log cannot be changed: triggers refuse UPDATE, DELETE and TRUNCATE for everyone,
 *    and service roles hold no such privileges (they append only through atb.append()).
 *  - Group commit: es_append() from many threads share transactions, so single-event
 *    appends are not bounded by one fsync each.
 *
 * Threads: an es_store may be used from any number of threads at once. es_txn belongs to
 * the thread that began it. Every call here blocks (libpq); never call it on a libuv loop
 * thread.
 *
 * Errors: calls return an es_status and fill the caller's at_error (may be NULL) with the
 * message, the detail (SQLSTATE included where PostgreSQL gave one), a hint and, for a
 * bad argument, the field ("stream_id", "events.2.type"). ES_IO means the outcome is
 * unknown when it happened during an append (the commit may have happened): retry with
 * the same command id and the log answers with the first result.
 *
 * The schema (atb.*) is created by es_migrate() from the files libs/eventstore/sql/
 * NNNN_name.sql, which are built into the library. See libs/eventstore/README.md.
 */
#ifndef ES_H
#define ES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <libpq-fe.h>
#include "at_error.h"

typedef enum es_status {
    ES_OK = 0,
    ES_CONFLICT,        /* expected version does not match the stream's; also an event id
                           already in the log */
    ES_UNKNOWN_TENANT,  /* the tenant is not in atb.tenants */
    ES_INVALID,         /* a bad argument: empty stream id, no events, bad uuid, ...; or a
                           database whose schema is missing or older than this library */
    ES_NOT_FOUND,       /* no such stream / row */
    ES_IO,              /* could not reach or talk to PostgreSQL: safe to retry */
    ES_REFUSED,         /* PostgreSQL refused (privileges, immutability trigger) */
    ES_NOMEM,
    ES_CLOSED           /* the store is closing */
} es_status;

/* Static text for a status ("conflict"). Never NULL. */
const char *es_status_str(es_status s);
/* The at_code a status maps to in a reply (ES_CONFLICT -> AT_CONFLICT, ES_IO -> AT_UNAVAILABLE ...). */
at_code es_status_code(es_status s);

#define ES_VERSION_ANY  (-1)   /* append without a version check */
#define ES_VERSION_NONE   0    /* the stream must not exist yet */

/* ---- the store ---------------------------------------------------------------- */

typedef struct es_config {
    const char *conninfo;        /* libpq connection string of the service's role */
    int pool_size;               /* connections for reads and transactions; default 4, at
                                    most 256 */
    int group_max_events;        /* most events in one group commit; default 2048 (a single
                                    larger append still goes, alone) */
    int group_max_wait_us;       /* how long the committer waits for more appends once it has
                                    one; default 0 (take what is queued, never delay) */
    const char *application_name;/* shown in pg_stat_activity; default "atbalsts" */
} es_config;

typedef struct es_store es_store;

/* Connect (pool_size + 1 connections, the extra one for the group committer thread; one
 * more is opened by the first es_wait()). The config is copied. Fails with ES_IO if
 * PostgreSQL cannot be reached, ES_INVALID if the database schema is older than
 * es_schema_version() (run es_migrate() first), ES_REFUSED if the role may not use the
 * schema. Free with es_close(). */
es_status es_open(es_store **out, const es_config *cfg, at_error *err);
/* Finish queued appends, stop the committer, close connections. Every other call on the
 * store (es_wait() included) must have returned and every es_txn must have ended.
 * NULL is a no-op. */
void es_close(es_store *es);

/* Counters of the group committer since es_open(), to show how appends were grouped. */
typedef struct es_store_stats {
    uint64_t groups;        /* atb.append() calls the committer made */
    uint64_t appends;       /* es_append() requests those calls carried */
    uint64_t events;        /* events they appended (not duplicates, not rejections) */
    uint64_t max_group;     /* most requests carried by one call */
    uint64_t failed_groups; /* calls that failed as a whole (their callers got ES_IO ...) */
    uint64_t busy_us;       /* time the committer spent in calls (commit included), in us */
} es_store_stats;

/* Copy the counters into *out. ES_INVALID if an argument is NULL. Thread-safe. */
es_status es_stats(es_store *es, es_store_stats *out);

/* ---- migrations -------------------------------------------------------------- */

/* Create or upgrade the schema (atb.*), the roles and their privileges, using a connection
 * string of a superuser (roles are created, and each service's schema is owned by its
 * role). Versioned, idempotent, safe to run from several processes at once (an advisory
 * lock serialises them); each migration commits with its row in atb.schema_migrations.
 * Run by every service at start when it is given an admin connection string. *applied
 * (may be NULL) gets the number of migrations applied now. ES_INVALID if the database
 * was migrated by a build whose migration of the same number differs. */
es_status es_migrate(const char *admin_conninfo, int *applied, at_error *err);
/* The newest schema version this library knows. */
int es_schema_version(void);

/* ---- appending --------------------------------------------------------------- */

/* Limits checked before a request reaches PostgreSQL; beyond them es_append() and
 * es_txn_append() return ES_INVALID. A payload must fit, inside its envelope, into one
 * NATS message (1 MiB by default), so the relay can always publish it. */
#define ES_MAX_PAYLOAD    (512u * 1024u)  /* bytes of one event's payload */
#define ES_MAX_EVENTS     10000           /* events in one append */
#define ES_MAX_STREAM_ID  200             /* bytes of a stream id */
#define ES_MAX_TYPE       100             /* bytes of an event type name */
#define ES_MAX_ACTOR      200             /* bytes of an actor */

typedef struct es_event_in {
    const char *type;            /* event type name, e.g. "PersonRegistered": a letter, then
                                    letters, digits, '_' (it becomes a NATS subject token) */
    const uint8_t *payload;      /* protobuf bytes of the event body; may be empty */
    size_t payload_len;
    int64_t occurred_at_us;      /* 0 = the time of the append */
    const char *event_id;        /* UUID text or NULL (then a random one is made); unique
                                    in the whole log */
} es_event_in;

typedef struct es_append_req {
    const char *tenant;          /* municipality code; must be in atb.tenants */
    const char *stream_id;       /* "<category>-<id>"; the category is the part before '-':
                                    1..63 letters, digits, '_'; no spaces or control bytes.
                                    A stream belongs to the tenant of its first append. */
    int64_t expected_version;    /* ES_VERSION_ANY, ES_VERSION_NONE or the current version */
    const char *command_id;      /* UUID text or NULL: the idempotency key */
    const char *causation_id;    /* UUID text or NULL */
    const char *correlation_id;  /* UUID text or NULL */
    const char *actor;           /* may be NULL */
    const es_event_in *events;   /* borrowed for the duration of the call */
    size_t n_events;             /* >= 1 */
} es_append_req;

typedef struct es_append_res {
    int64_t first_position;      /* global positions of the appended events */
    int64_t last_position;
    int64_t version;             /* the stream's version after the append */
    int64_t actual_version;      /* on ES_CONFLICT: the stream's version found */
    bool duplicate;              /* the command id was appended before: its first result */
} es_append_res;

/* Append atomically through the group committer (thread-safe, blocks until committed).
 * res (may be NULL) is zeroed first. Returns ES_OK (also for a duplicate command id:
 * res->duplicate), ES_CONFLICT (res->actual_version; nothing appended), ES_UNKNOWN_TENANT,
 * ES_INVALID (err->field names the argument; nothing reached the database, or atb.append()
 * refused it, e.g. a stream of another tenant), ES_IO (retry with the same command id),
 * ES_REFUSED, ES_CLOSED. One request's rejection never fails the others of its group. */
es_status es_append(es_store *es, const es_append_req *req, es_append_res *res, at_error *err);

/* ---- reading ----------------------------------------------------------------- */

typedef struct es_event {        /* a recorded event; its strings live in the batch */
    int64_t position;
    const char *event_id;
    const char *tenant;
    const char *stream_id;
    const char *category;
    int64_t version;
    const char *type;
    int64_t occurred_at_us;
    int64_t recorded_at_us;
    const char *causation_id;    /* "" when none */
    const char *correlation_id;
    const char *command_id;
    const char *actor;
    const uint8_t *payload;      /* never NULL, also when payload_len is 0 */
    size_t payload_len;
} es_event;

/* A batch owns the events it hands out: pointers from es_batch_get() are valid until
 * es_batch_free(). A batch may be used from any thread, one at a time. */
typedef struct es_batch es_batch;

size_t es_batch_count(const es_batch *b);
/* The i-th event, or NULL when i >= count. */
const es_event *es_batch_get(const es_batch *b, size_t i);
void es_batch_free(es_batch *b);   /* NULL is a no-op */

/* Events of one stream with version >= from_version, in version order, at most max
 * (max 0 is ES_INVALID; SIZE_MAX for all). A stream that does not exist gives an empty
 * batch and ES_OK. Free *out with es_batch_free(). */
es_status es_read_stream(es_store *es, const char *stream_id, int64_t from_version, size_t max,
                         es_batch **out, at_error *err);

typedef struct es_filter {
    const char *tenant;              /* NULL = every tenant */
    const char *const *categories;   /* NULL = every category */
    size_t n_categories;
} es_filter;

/* Events with position > after, in position order, at most max (max 0 is ES_INVALID),
 * matching filter (NULL = all). Safe for tailing: see the guarantees above. A batch costs
 * O(max) (O(categories x max) with a category filter) however long the log.
 * Free *out with es_batch_free(). */
es_status es_read_all(es_store *es, int64_t after, size_t max, const es_filter *filter,
                      es_batch **out, at_error *err);

/* The highest committed position (0 for an empty log). */
es_status es_head(es_store *es, int64_t *position, at_error *err);

/* Block until the head passes `after` or timeout_ms passes (LISTEN atb_log on a
 * connection of its own, the head read again after every wake-up; when LISTEN is not
 * possible, the head is read every 100 ms). *head (may be NULL) gets the head seen.
 * Returns ES_OK either way, ES_IO if the head cannot be read. Any number of threads may
 * wait at once; one of them polls for all. */
es_status es_wait(es_store *es, int64_t after, int timeout_ms, int64_t *head, at_error *err);

/* True if the tenant is registered (cached; a miss reloads the list, at most once a
 * second, so a tenant added by a migration is seen without a restart). */
bool es_tenant_known(es_store *es, const char *tenant);
/* The same, telling "unknown" from "could not check": ES_OK with *known set, or ES_IO when
 * the registry had to be read and PostgreSQL could not be reached (then *known is false). */
es_status es_tenant_check(es_store *es, const char *tenant, bool *known, at_error *err);

/* ---- transactions: a handler's effects, its appends and its checkpoint, atomically ---- */

/* A transaction holds one pooled connection, at READ COMMITTED, until es_txn_commit() or
 * es_txn_rollback(). Once a statement of the transaction failed, later calls return that
 * failure and the commit rolls back. */
typedef struct es_txn es_txn;

es_status es_txn_begin(es_store *es, es_txn **out, at_error *err);
/* The connection of the transaction, for the caller's own statements inside it (owned by
 * the transaction: no BEGIN, COMMIT or asynchronous queries on it). A failed statement
 * there makes es_txn_commit() roll back and return ES_REFUSED. */
PGconn *es_txn_conn(es_txn *t);
/* The store the transaction came from: a consumer's handler, which gets only the
 * transaction, reads other streams with it (es_read_stream sees committed events only). */
es_store *es_txn_store(es_txn *t);
/* True once a call of this library on the transaction failed: its commit will roll back.
 * (A caller's own statement that failed, on es_txn_conn(), is the caller's to know.) */
bool es_txn_failed(const es_txn *t);
/* Append inside the transaction (the same checks and results as es_append(); the
 * positions become visible at commit). Appends take the log lock until commit, so do
 * them last and commit at once: every other append waits meanwhile. */
es_status es_txn_append(es_txn *t, const es_append_req *req, es_append_res *res, at_error *err);
/* A consumer's checkpoint: the last log position it handled (0 if none). _get locks the
 * row until the transaction ends, so two instances of a consumer never both handle. */
es_status es_txn_checkpoint_get(es_txn *t, const char *consumer, int64_t *position, at_error *err);
es_status es_txn_checkpoint_set(es_txn *t, const char *consumer, int64_t position, at_error *err);
/* Commit or roll back; both free t. es_txn_commit() returns ES_OK only when PostgreSQL
 * committed; ES_IO when the connection failed during COMMIT (the outcome is unknown:
 * retry with the same command id); the earlier failure when the transaction had failed. */
es_status es_txn_commit(es_txn *t, at_error *err);
void es_txn_rollback(es_txn *t);   /* NULL is a no-op */

/* Read a checkpoint outside a transaction (0 if none). */
es_status es_checkpoint_get(es_store *es, const char *consumer, int64_t *position, at_error *err);

/* ---- fault points ------------------------------------------------------------ */

/* Fault points are compiled into every build (modelled on SQLite's sqlite3FaultSim): an
 * unarmed point costs one atomic load and a compare. es_fault_arm(name) arms a point: the
 * next thread to reach it calls _exit(99) at once, with no cleanup, as a crash would.
 * The environment variable ATB_FAULT=<name>[,<name>...] arms points too; it is read once,
 * at the first es_open() of the process. Any name works, so other libraries add their own
 * points (libs/bus: "consumer.after_commit"). The points of this library:
 *   "append.before_commit"  es_txn_commit(), after the transaction's work, before COMMIT;
 *   "txn.after_commit"      es_txn_commit(), after COMMIT returned, before the caller knows;
 *   "group.after_commit"    the group committer, after atb.append() committed, before the
 *                           waiting es_append() callers get their results.
 * At most 16 points are armed at once; arming more is ignored. Thread-safe. */
void es_fault_arm(const char *name);
/* Disarm one point, or every point when name is NULL. */
void es_fault_disarm(const char *name);
void es_fault_point(const char *name);

#endif
