/*
 * This file is private to libs/service.
 *
 * The runtime's state (struct svc) and what the files of the library share (svc__ prefix).
 *
 * Threads, and what each may touch:
 *  - the loop thread (the thread of svc_main) owns every uv handle, the HTTP server, the
 *    command subscriptions and the shutdown state machine;
 *  - libnats delivery threads run on_msg(): they only push into the job queue (under
 *    s->mu) and wake the loop with uv_async_send, also under s->mu, so the async handle is
 *    never closed between the check and the send;
 *  - libuv pool threads run the request jobs (dispatch.c) and two internal jobs (the start
 *    flush and the shutdown join);
 *  - one thread per consumer, one for the relay, one monitor (threads.c): they block in
 *    libpq and JetStream calls, which the loop must keep serving, so they are never joined
 *    on the loop thread.
 * Counters read by /metrics are atomics or are copied under a mutex of their own.
 */
#ifndef SVC_INT_H
#define SVC_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "svc.h"
#include "svc_config.h"

/* ---- HTTP server (http.c) ---- */

typedef struct svc_http svc_http;
/* Answer one request on the loop thread, without blocking: fill body and return the
 * status; *ctype is a static string. */
typedef int (*svc_http_fn)(void *ctx, const char *path, at_buf *body, const char **ctype);
typedef void (*svc_http_close_cb)(svc_http *h);

struct svc_http {
    uv_loop_t *loop;
    uv_tcp_t listener;
    bool listening;               /* listener initialised (so it must be closed) */
    bool closing;
    int n_conns;                  /* connections open, each freed in its close callback */
    struct http_conn *conns;      /* doubly linked, for closing them all at shutdown */
    svc_http_fn fn;
    void *ctx;
    svc_http_close_cb close_cb;
};

/* Listen on 127.0.0.1:port. AT_UNAVAILABLE when the port cannot be bound. Call on the loop
 * thread; h is the caller's memory and must stay valid until close_cb ran. */
at_code svc__http_start(svc_http *h, uv_loop_t *loop, int port, svc_http_fn fn, void *ctx,
                        at_error *err);
/* Stop listening and close every connection; cb runs (on the loop) once all are closed.
 * Also fine when svc__http_start was never called or failed. */
void svc__http_close(svc_http *h, svc_http_close_cb cb);

/* ---- logging helpers (log.c) ---- */

/* Append s to b as the inside of a JSON string: quotes, backslashes and control bytes
 * escaped, invalid UTF-8 replaced by U+FFFD. False if b reached its ceiling. */
bool svc__json_escape(at_buf *b, const char *s);
/* True if s[0..len) is valid UTF-8 (no overlong forms, surrogates or values past U+10FFFF). */
bool svc__utf8_valid(const char *s, size_t len);
/* A connection string or URL with any password replaced by "***", into out. */
void svc__redact(const char *in, char *out, size_t n);

/* ---- the runtime ---- */

typedef struct svc_job {
    struct svc_job *next;         /* in the queue or the free list */
    svc *s;
    natsMsg *msg;                 /* owned until the reply is sent */
    uv_work_t work;
    int64_t received_ns;
} svc_job;

/* Per-command counters; slot n_commands counts requests that matched no command. */
typedef struct svc_cmd_metrics {
    atomic_uint_fast64_t requests;
    atomic_uint_fast64_t errors[AT_UNKNOWN_COMMAND + 1];
    atomic_uint_fast64_t latency_ns;
} svc_cmd_metrics;

#define SVC_MAX_CUSTOM 32

typedef struct svc_custom_metric {
    char name[49];
    atomic_int_fast64_t value;
} svc_custom_metric;

typedef struct svc_consumer_slot {
    svc *s;
    const svc_consumer *def;
    pthread_t thread;
    bool started;
    pthread_mutex_t mu;           /* guards stats and open */
    bus_consumer_stats stats;
    bool open;
} svc_consumer_slot;

typedef enum svc_state {
    SVC_RUNNING,                  /* taking requests */
    SVC_DRAINING,                 /* subscriptions draining, in-flight jobs finishing */
    SVC_JOINING,                  /* background threads being stopped (on a pool thread) */
    SVC_CLOSING                   /* handles closing; the loop ends when they are closed */
} svc_state;

struct svc {
    const svc_def *def;
    svc_config cfg;
    uv_loop_t *loop;
    es_store *es;
    bus *bus;

    /* command subscriptions: [0] commands, [1] queries; NULL when not needed */
    natsSubscription *subs[2];
    int n_subs;

    /* the job queue between libnats threads and the loop; everything below mu */
    pthread_mutex_t mu;
    svc_job *q_head, *q_tail;
    svc_job *free_jobs;
    size_t queued;                /* in the queue, not yet handed to the pool */
    size_t inflight;              /* queued + running in the pool */
    int subs_done;                /* subscriptions whose completion callback ran */
    bool accepting;               /* false once the loop will take no more jobs */
    bool async_closed;            /* wake is closing: nobody may uv_async_send */
    at_arena **arenas;            /* idle request arenas */
    size_t n_arenas, cap_arenas;

    uv_async_t wake;
    uv_signal_t sig_term, sig_int;
    uv_work_t start_work, join_work;
    svc_http http;
    svc_state state;
    bool ready;                   /* subscriptions confirmed by the server */
    bool start_pending;           /* the start job (flush) has not returned yet */
    natsStatus start_status;      /* its result (written on the pool thread, read after) */
    int exit_code;

    /* background threads */
    pthread_mutex_t stop_mu;
    pthread_cond_t stop_cv;
    bool stop;
    svc_consumer_slot *consumers;
    pthread_t relay_thread, monitor_thread;
    bool relay_started, monitor_started;
    atomic_int_fast64_t relay_position;
    atomic_int_fast64_t relay_leader;    /* 1 while this instance's relay publishes */
    atomic_int_fast64_t log_head;
    atomic_bool pg_ok;

    /* metrics */
    svc_cmd_metrics *cmd_metrics; /* def->n_commands + 1 */
    pthread_mutex_t custom_mu;
    svc_custom_metric custom[SVC_MAX_CUSTOM];
    int n_custom;
};

/* dispatch.c */
void svc__on_msg(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure);
void svc__on_sub_complete(void *closure);
/* On the loop thread: hand queued jobs to the pool. */
void svc__dispatch_queued(svc *s);
/* replay.c: for an SVC_REPLAY command whose command id appended before, *reply is its first
 * result (duplicate set) and *done true; otherwise *done false and nothing is touched. */
at_code svc__replay(svc_request *req, ProtobufCMessage **reply, bool *done, at_error *err);
void svc__jobs_free(svc *s);

/* main.c: on the loop thread, move the shutdown along when what it waits for is done
 * (called when a job ends, a subscription completes, the join job returns). */
void svc__shutdown_step(svc *s);

/* threads.c: start the monitor, relay and consumer threads; stop and join them (blocks:
 * call on a pool thread, never on the loop thread). */
int svc__threads_start(svc *s);
void svc__threads_stop(svc *s);
/* Sleep up to ms, waking early when the service stops; false once it stops. */
bool svc__sleep(svc *s, int ms);

/* metrics.c */
int svc__http_answer(void *ctx, const char *path, at_buf *body, const char **ctype);

/* migrate.c: the service's own migrations, as the admin. */
at_code svc__migrate(const svc_def *def, const char *admin_conninfo, int *applied, at_error *err);

#endif
