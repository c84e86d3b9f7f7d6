/*
 * svc.h -- the runtime every service binary shares.
 *
 * A service is a table of commands (and queries) and a table of event consumers; svc_main()
 * does the rest: configuration from flags and environment, migrations, the PostgreSQL
 * event store, the NATS connection attached to a libuv loop, command dispatch to worker
 * threads, durable consumers on their own threads, JSON logs, a health and metrics
 * endpoint, and a graceful drain on SIGTERM/SIGINT.
 *
 * Dispatch: a request arrives on <prefix>.cmd.<tenant>.<service>.<Command>. The runtime
 * checks its size, that the tenant is registered, looks the command up, decodes the
 * CommandMeta (field 1; the command id must be a UUID), decodes the body into a
 * per-request arena (strings must be UTF-8), calls the handler on a worker thread, and
 * replies. Malformed, too large, unknown tenant, unknown command, bad command id: an
 * error reply and nothing appended; the service carries on. Queries arrive on
 * <prefix>.qry.<tenant>.<service>.<Query> and carry no CommandMeta.
 */
#ifndef SVC_H
#define SVC_H

#include <stdbool.h>
#include <stdint.h>
#include <protobuf-c/protobuf-c.h>
#include "at_buf.h"
#include "at_error.h"
#include "bus.h"
#include "at_date.h"
#include "es.h"
#include "atb/v1/common.pb-c.h"

typedef struct svc svc;

typedef enum svc_log_level { SVC_LOG_DEBUG, SVC_LOG_INFO, SVC_LOG_WARN, SVC_LOG_ERROR } svc_log_level;

/* One JSON line on stderr: {"ts":..,"level":..,"service":..,"msg":..}. Thread-safe. The
 * level is checked before formatting. */
void svc_log(svc_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void svc_log_set_level(svc_log_level level);
/* Call before other threads log (svc_main does it with def->name). */
void svc_log_set_service(const char *name);
/* The same line with extra string fields: svc_log_kv(SVC_LOG_WARN, "consumer failed",
 * "consumer", name, "error", err.message, NULL). Keys and values are escaped; a NULL value
 * is logged as "". At most 16 fields. Thread-safe. */
void svc_log_kv(svc_log_level level, const char *msg, ...) __attribute__((sentinel));
/* True if a line of this level would be written (to skip building costly fields). */
bool svc_log_enabled(svc_log_level level);

/* What a handler gets. Runs on a worker thread; everything here is valid until the handler
 * returns, except what it allocates in `arena`, which lives until the reply is sent. */
typedef struct svc_request {
    svc *service;
    es_store *es;
    bus *bus;
    const char *tenant;                 /* from the subject; registered */
    const char *name;                   /* command or query name */
    const char *command_id;             /* from CommandMeta, a checked UUID; "" for queries */
    const char *actor;                  /* from CommandMeta; "" if not given */
    const char *correlation_id;         /* "" or a checked UUID */
    int64_t expected_version;           /* from CommandMeta.expected_version, in es.h terms:
                                           ES_VERSION_ANY when the client sent 0 (or nothing)
                                           and for queries, ES_VERSION_NONE when it sent -1,
                                           else the version N it sent */
    const ProtobufCMessage *msg;        /* the decoded request, in arena */
    at_arena *arena;                    /* freed after the reply is sent */
} svc_request;

/* A handler returns AT_OK and sets *reply (allocated in req->arena or static), or returns
 * an error code with err filled (the runtime replies with an error CommandReply; the
 * handler must not have appended anything then). Runs on a worker thread; may block (it
 * calls es_append and friends). The runtime has already checked the size, the tenant, the
 * command id and that the bytes decode as `request` with valid UTF-8 in every string. */
typedef at_code (*svc_handler_fn)(svc_request *req, ProtobufCMessage **reply, at_error *err);

#define SVC_QUERY 0x1u                  /* subject kind "qry": no CommandMeta, no command id */
/* A command whose reply is svc_reply_appended(req, stream, <stream id after its category>,
 * ...) of the append made with req->command_id. A repeated command id is then answered by
 * the runtime from the log's record of its first result (atb.commands), duplicate set,
 * before the handler runs: a repeat is never refused by a state check that its first try
 * made fail. Costs one indexed read per command. */
#define SVC_REPLAY 0x2u

typedef struct svc_command {
    const char *name;                   /* "RegisterPerson" */
    const ProtobufCMessageDescriptor *request;
    svc_handler_fn fn;
    unsigned flags;
} svc_command;

typedef struct svc_consumer {
    const char *durable;                /* "reporting-persons" */
    const char *const *categories;      /* NULL = all */
    size_t n_categories;
    bus_handler_fn handler;
    void *ctx;
} svc_consumer;

/* Naming rule: a service called <name> subscribes to <prefix>.cmd.*.<name>.> and
 * <prefix>.qry.*.<name>.> (queue group <name>), connects to PostgreSQL as role atb_<name>
 * (a warning is logged otherwise), keeps its tables in schema <name> owned by that role,
 * and its binary is atbalsts-<name>. The role must exist: libs/eventstore's roles
 * migration creates the roles of the known services (add a new service there).
 *
 * Migrations: each text runs once, as the admin (--pg-admin), in one transaction with its
 * row in atb.service_migrations(service, version = index + 1), under an advisory lock, with
 * search_path = <name>, so unqualified tables land in the service's schema (created, owned
 * by atb_<name>, when missing). Tables created by the admin belong to the admin: end each
 * migration with the GRANTs the service needs, e.g.
 *   GRANT SELECT, INSERT, UPDATE, DELETE ON intake.identities TO atb_intake;
 * Never edit a migration that ran anywhere; append a new one. */
typedef struct svc_def {
    const char *name;                   /* "intake": subjects, role, logs, metrics; a subject
                                           token of letters, digits and '_' */
    const svc_command *commands;
    size_t n_commands;
    const svc_consumer *consumers;
    size_t n_consumers;
    /* The service's own schema, applied at start after the log's migrations: an ordered
     * list of SQL texts, each applied once (tracked in atb.service_migrations). */
    const char *const *migrations;
    size_t n_migrations;
    bool run_relay;                     /* this process also runs the log -> JetStream relay */
    /* Optional: called once after the migrations and the event store are ready, before
     * any command or consumer runs (means testing publishes its rule sets here, so a
     * reader of the log finds them before the first decision). A code other than AT_OK
     * stops the start (exit 1) with err logged. */
    at_code (*start)(es_store *es, at_error *err);
} svc_def;

/* Run the service until SIGTERM/SIGINT. Returns the process exit code: 0 after a graceful
 * drain, 1 when it could not start (the reason is logged), 2 for a bad setting.
 * Call it from main() on the main thread, before any other thread exists (it sets
 * UV_THREADPOOL_SIZE from --workers). The second SIGTERM/SIGINT exits at once with 1.
 * Flags and environment (flags win):
 *   --pg URL        ATB_PG_URL        the service's own role
 *   --pg-admin URL  ATB_PG_ADMIN_URL  owner/superuser for migrations (optional)
 *   --nats URL      ATB_NATS_URL      default nats://127.0.0.1:4222
 *   --nats-user U   ATB_NATS_USER     --nats-password P  ATB_NATS_PASSWORD
 *   --prefix P      ATB_PREFIX        subject prefix, default "atb"
 *   --stream S      ATB_STREAM        JetStream stream, default "ATB_EVENTS"
 *   --stream-replicas N  ATB_STREAM_REPLICAS  replicas of a stream the relay creates, 1..5,
 *                   default 1 (3 on a NATS cluster; an existing stream is never changed)
 *   --http PORT     ATB_HTTP_PORT     health/metrics on 127.0.0.1:PORT, 0 = off
 *   --workers N     ATB_WORKERS       handler threads, default 8
 *   --max-msg BYTES ATB_MAX_MSG       largest request accepted, default 65536
 *   --log-level L   ATB_LOG_LEVEL     debug|info|warn|error
 *   --pg-pool N     ATB_PG_POOL       PostgreSQL connections, 0 = workers + consumers + 2
 *   --help          prints this table
 * HTTP (when --http is not 0): GET /healthz is 200 {"status":"ok",...} when PostgreSQL and
 * NATS answer and the subscriptions are in place, 503 otherwise (and while draining);
 * GET /metrics is Prometheus text (atb_requests_total, atb_errors_total, ...).
 */
int svc_main(const svc_def *def, int argc, char **argv);

/* Metrics a handler may bump (exported at /metrics as atb_<name>_total{service=..}).
 * name: [a-z][a-z0-9_]*, at most 48 bytes; at most 32 names per service (others are
 * ignored, with one warning). Thread-safe. */
void svc_metric_add(svc *s, const char *name, int64_t n);

/* Helpers for handlers: fill an atb.v1.CommandReply in req->arena from an append result.
 * stream_id and key (may be NULL) are copied. NULL only when the arena is out of memory. */
ProtobufCMessage *svc_reply_appended(svc_request *req, const char *stream_id, const char *key,
                                     const es_append_res *res);

/* Fill the envelope of an append from the request: tenant, command id, correlation id
 * (NULL when not given), actor (NULL when not given) and expected_version. The caller sets
 * stream_id, events and n_events (and may override the rest). */
void svc_append_req_init(const svc_request *req, es_append_req *out);

/* ---- values.c: dates and events, for every service's handlers --------------------------- */

/* Today's date in Latvia (EET/EEST): what "not in the future" is checked against. */
at_date svc_today(void);
/* A proto Date: NULL or all zero is AT_DATE_NONE (true); a date that does not exist is
 * false. */
bool svc_date_in(const Atb__V1__Date *d, at_date *out);
/* An at_date as a proto Date in the arena; AT_DATE_NONE gives NULL (not given). */
Atb__V1__Date *svc_date_out(at_arena *a, at_date d);
/* Pack m into the arena as event `type` (a static string): AT_TOO_LARGE when it exceeds
 * ES_MAX_PAYLOAD, AT_INTERNAL when out of memory. */
at_code svc_pack(at_arena *a, const ProtobufCMessage *m, const char *type, es_event_in *ev, at_error *err);

#endif
