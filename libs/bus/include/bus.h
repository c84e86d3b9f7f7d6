/*
 * bus.h -- NATS JetStream on top of the PostgreSQL log. The bus is a cache of the log,
 * never its authority (JetStream acknowledges before fsync).
 *
 * Subjects (docs/events.md has the catalogue):
 *   <prefix>.evt.<tenant>.<category>.<EventType>   events, in JetStream stream <stream>
 *   <prefix>.cmd.<tenant>.<service>.<Command>      commands, core NATS request/reply
 *   <prefix>.qry.<tenant>.<service>.<Query>        queries, core NATS request/reply
 * prefix defaults to "atb", stream to "ATB_EVENTS". Tests use their own prefix and stream.
 * An event message's body is an atb.v1.EventEnvelope; its headers Nats-Msg-Id and
 * Atb-Position are the decimal global position.
 *
 * Relay: publishes committed events from the log in position order, resumes after a
 * restart from the last message in the stream, rebuilds a deleted stream from the log.
 * Several relays on one stream are safe: one publishes at a time (a PostgreSQL advisory
 * lock per step), the others stand by and take over when it dies.
 *
 * Consumers: several instances may open the same durable; JetStream hands each message
 * to one of them, and the checkpoint row (locked in each effect's transaction) decides
 * which instance applies an event: exactly one, in log order.
 *
 * Consumer: a durable JetStream pull consumer whose handler runs inside a PostgreSQL
 * transaction that also moves the consumer's checkpoint; redelivery of a handled event is
 * acknowledged without a second effect. The log is checked for events the stream lacks
 * (a gap between the checkpoint and the message), and those are handled first, from the
 * log: a consumer never skips an event even when the stream lost one.
 *
 * Threads: bus_connect with cfg.uv_loop set must run on that loop's thread. Every other
 * call here may block: call them on worker threads, never on the loop thread.
 */
#ifndef BUS_H
#define BUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <nats/nats.h>
#include <protobuf-c/protobuf-c.h>
#include "at_error.h"
#include "es.h"

typedef struct bus_config {
    const char *url;          /* "nats://127.0.0.1:4222"; a cluster: up to 16 URLs joined
                                 by ',' (the connection fails over between them) */
    const char *user;         /* NULL = no auth */
    const char *password;
    const char *name;         /* connection name shown by the server */
    const char *prefix;       /* subject prefix; default "atb" */
    const char *stream;       /* JetStream stream name; default "ATB_EVENTS" */
    int replicas;             /* stream replicas; default 1 */
    void *uv_loop;            /* uv_loop_t* to attach the connection to, or NULL */
} bus_config;

typedef struct bus bus;

/* Connect (and set up JetStream). The config is copied. Free with bus_close().
 * The connection reconnects by itself, forever (every 500 ms), after a lost server.
 * Errors: AT_VALIDATION (no URL, a prefix that is not dot-separated subject tokens, a
 * stream name with '.', '*', '>', '/', '\' or white space, replicas outside 0..5),
 * AT_UNAVAILABLE (server unreachable, authentication refused). *out is NULL on failure.
 * With cfg.uv_loop: call on that loop's thread (the libuv adapter records it). */
at_code bus_connect(bus **out, const bus_config *cfg, at_error *err);
/* Close the connection and free b. NULL is a no-op. Subscriptions made on bus_nats(b)
 * must be destroyed first. With a uv_loop: call on the loop thread, then let the loop run
 * so that the adapter's handles close (uv_run returns once they have). */
void bus_close(bus *b);
/* The connection and JetStream context, owned by b (never destroy them). */
natsConnection *bus_nats(bus *b);
jsCtx *bus_js(bus *b);
const char *bus_prefix(const bus *b);
const char *bus_stream_name(const bus *b);

/* ---- subjects ---- */

/* True if s is a non-empty subject token: no '.', '*', '>', white space or control byte,
 * at most 64 bytes. NULL is not a token. */
bool bus_token_valid(const char *s);
/* Write a subject into buf; return its length, or -1 if a token is invalid or buf too small. */
int bus_subject_event(const bus *b, char *buf, size_t n, const char *tenant,
                      const char *category, const char *type);
int bus_subject_command(const bus *b, char *buf, size_t n, const char *tenant,
                        const char *service, const char *command);
int bus_subject_query(const bus *b, char *buf, size_t n, const char *tenant,
                      const char *service, const char *query);

typedef struct bus_subject {
    char kind[4];        /* "evt", "cmd" or "qry" */
    char tenant[65];
    char service[65];    /* the category for "evt" */
    char name[97];
} bus_subject;
/* Split "<prefix>.<kind>.<tenant>.<service>.<name>"; AT_VALIDATION if it has another shape. */
at_code bus_subject_parse(const bus *b, const char *subject, bus_subject *out, at_error *err);

/* ---- the stream ---- */

/* Create the events stream if missing (file storage, subjects "<prefix>.evt.>", duplicate
 * window 2 minutes, no limits: it caches the whole log). An existing stream with other
 * subjects is AT_CONFLICT (never changed here). */
at_code bus_stream_ensure(bus *b, at_error *err);
/* Delete the stream (operations: rebuild). AT_NOT_FOUND if it does not exist. */
at_code bus_stream_delete(bus *b, at_error *err);
/* The Atb-Position of the last message in the stream (deleted messages at its end are
 * stepped over); 0 if the stream is empty. AT_NOT_FOUND if there is no stream,
 * AT_MALFORMED if the last message has no valid Atb-Position. */
at_code bus_stream_last_position(bus *b, int64_t *position, at_error *err);

/* ---- envelopes ---- */

/* Pack a recorded event as an atb.v1.EventEnvelope into buf (grown with malloc); returns
 * the length or 0 on allocation failure (then *buf is NULL). *buf is owned by the caller
 * (free()). NULL strings of ev are packed as "". */
size_t bus_envelope_pack(const es_event *ev, uint8_t **buf);

/* ---- the relay: log -> JetStream ---- */

typedef struct bus_relay bus_relay;

/* Ensure the stream and resume after the Atb-Position of its last message (0 if the
 * stream is empty or new: the whole log is published again). batch: events read and
 * published per step (0 = default 1000, at most 100000). es and b are borrowed and must
 * outlive the relay; b's connection is the one that publishes (several relays on one
 * stream take turns: see bus_relay_step).
 * Errors: AT_CONFLICT (the stream holds positions beyond this log's head, or has other
 * subjects), AT_MALFORMED (its last message has no Atb-Position), AT_UNAVAILABLE.
 * Free with bus_relay_close. */
at_code bus_relay_open(bus_relay **out, es_store *es, bus *b, int batch, at_error *err);
/* Publish the next batch after the last confirmed position, waiting up to wait_ms for new
 * events when caught up (0 = do not wait). *published (may be NULL) gets the count; the
 * stream has acknowledged every one of them before it returns AT_OK. If a publish fails or
 * is not acknowledged within 10 s, it returns AT_UNAVAILABLE and the position stays: the
 * next step publishes the same events again and the stream's 2-minute duplicate window
 * stores each once. Subject tokens that cannot be tokens (a '.' in a type, say) are
 * published with '_' in their place; the envelope keeps the exact values. */
at_code bus_relay_step(bus_relay *r, int wait_ms, size_t *published, at_error *err);
/* Several relays: a step first tries pg_try_advisory_xact_lock(hashtext('atb.relay'),
 * hashtext(<stream>)) in a transaction held until its acknowledgements are in. Without the
 * lock the step publishes nothing, returns AT_OK with 0 after min(wait_ms, 500 ms), and
 * bus_relay_leader() is false. With it, the relay first moves its position forward to the
 * stream's last Atb-Position (what another relay published), then publishes. */
int64_t bus_relay_position(const bus_relay *r);   /* last position confirmed in the stream */
/* True if the last step held the relay lock (see "Several relays" below); any thread. */
bool bus_relay_leader(const bus_relay *r);
void bus_relay_close(bus_relay *r);               /* NULL is a no-op */

/* ---- consumers: JetStream -> handler, exactly-once effects ---- */

/* A handler runs inside txn. Return AT_OK to commit (checkpoint moved with its effects).
 * AT_UNAVAILABLE or AT_INTERNAL: rolled back and retried later. Any other code: the event
 * is recorded in atb.dead_letters with the error and the checkpoint moves on (a poison event
 * must not stop the consumer); the dead letter is reported in metrics and logs. */
typedef at_code (*bus_handler_fn)(void *ctx, es_txn *txn, const es_event *ev, at_error *err);

typedef struct bus_consumer_config {
    const char *durable;             /* consumer name; also its checkpoint name */
    const char *tenant;              /* NULL = every tenant */
    const char *const *categories;   /* NULL = every category */
    size_t n_categories;
    bus_handler_fn handler;
    void *ctx;
    int batch;                       /* messages per fetch; default 256 */
    int ack_wait_ms;                 /* default 30000 */
    int retry_delay_ms;              /* redelivery delay after AT_UNAVAILABLE/AT_INTERNAL;
                                        default 1000 */
} bus_consumer_config;

typedef struct bus_consumer bus_consumer;
typedef struct bus_consumer_stats {
    int64_t handled;        /* events whose handler committed */
    int64_t duplicates;     /* redeliveries acknowledged without a second effect */
    int64_t gap_filled;     /* events handled from the log because the stream lacked them */
    int64_t dead_letters;
    int64_t checkpoint;
    int64_t malformed;      /* messages that are not an EventEnvelope: terminated (Term) */
    int64_t skipped;        /* messages outside the categories (several categories share one
                               filter subject, see below) */
} bus_consumer_stats;

/* Bind to (or create) the durable consumer. Closing never deletes the durable. The config
 * is copied; b and es are borrowed and must outlive the consumer. The stream must exist
 * (the relay creates it): AT_UNAVAILABLE "stream ... does not exist yet" otherwise.
 * A durable is created with deliver-all, explicit acks and the filter subject:
 *   one category:       <prefix>.evt.<tenant or *>.<category>.>
 *   none or several:    <prefix>.evt.<tenant>.>  or  <prefix>.evt.>
 * nats-server 2.9 allows one filter subject per consumer, so with several categories the
 * others arrive too and are acknowledged unhandled (stats.skipped). One consumer keeps one
 * checkpoint and one log order across its categories.
 * Errors: AT_VALIDATION (durable, tenant or a category not a subject token; no handler),
 * AT_CONFLICT (the durable exists with another filter subject or as a push consumer:
 * delete it, its place is kept by the checkpoint), AT_UNAVAILABLE. */
at_code bus_consumer_open(bus_consumer **out, bus *b, es_store *es,
                          const bus_consumer_config *cfg, at_error *err);
/* Fetch up to one batch (waiting up to wait_ms) and handle it, in position order; events
 * of the filter that the stream lacks between the checkpoint and a message are handled
 * first, from the log. *handled (may be NULL) gets the number of events whose handler
 * committed. A message that is not an EventEnvelope (or whose Atb-Position header
 * disagrees with it) is terminated and counted (stats.malformed).
 * AT_OK: the batch was settled (nothing to fetch is AT_OK with 0). A step that fetches
 * nothing reads the log after the checkpoint and handles what it finds there (at most a
 * batch): the last event the stream lost, or events before a checkpoint set back while the
 * service was stopped. When the handler
 * returns AT_UNAVAILABLE or AT_INTERNAL (or PostgreSQL fails), its transaction is rolled
 * back, this and the rest of the batch are handed back with a delay of retry_delay_ms,
 * and the step returns that code with err set: call step again (after a pause).
 * If the durable disappears (the stream was deleted and rebuilt by the relay), an idle
 * step notices within a second and binds to a new durable, which replays the stream; the
 * events the checkpoint covers are acknowledged as duplicates. While there is no stream,
 * an idle step returns AT_UNAVAILABLE.
 * One consumer is stepped by one thread at a time; stats may be read from any thread. */
at_code bus_consumer_step(bus_consumer *c, int wait_ms, size_t *handled, at_error *err);
void bus_consumer_stats_get(const bus_consumer *c, bus_consumer_stats *out);
void bus_consumer_close(bus_consumer *c);         /* NULL is a no-op */

/* ---- request/reply ---- */

/* Pack msg and publish it to the reply subject of req (req stays the caller's).
 * Errors: AT_VALIDATION (req has no reply subject), AT_TOO_LARGE, AT_UNAVAILABLE. */
at_code bus_reply(bus *b, natsMsg *req, const ProtobufCMessage *msg, at_error *err);
/* Reply with an atb.v1.CommandReply carrying only the error. Every reply type has its
 * atb.v1.Error at field 1, so a client decodes it whatever reply it expected. */
at_code bus_reply_error(bus *b, natsMsg *req, const at_error *e);

/* Client side: send a request (packed msg) and wait up to timeout_ms for the reply bytes.
 * A request not answered within timeout_ms is sent again, the same bytes, and waited for
 * as long once more: with several instances of a service, the one that received it may
 * have died (kill -9, a lost NATS node), and the queue group hands the second send to a
 * live one. Safe because a command carries its command id and runs at most once, and a
 * query only reads. So an unanswered request returns after 2 * timeout_ms. A reply whose
 * error (field 1 of every reply) is UNAVAILABLE -- "could not", the service's database was
 * restarting, say -- is also sent again, up to 5 times, after 0.25, 0.5, 1, 2 and 4 s; the
 * last reply is returned as it is.
 * *reply is a natsMsg the caller destroys (NULL on failure). Errors: AT_UNAVAILABLE (no
 * service subscribes to the subject, at once; no reply to either send), AT_VALIDATION,
 * AT_TOO_LARGE. */
at_code bus_request(bus *b, const char *subject, const ProtobufCMessage *msg, int timeout_ms,
                    natsMsg **reply, at_error *err);

#endif
