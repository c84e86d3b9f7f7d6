/*
 * threads.c -- the runtime's background threads: one per consumer, one for the relay, one
 * monitor.
 *
 * They block in libpq and JetStream calls whose replies the loop thread reads, so they
 * never run on the loop thread and are never joined there (svc__threads_stop runs on a
 * pool thread). Each loops "step, check stop" and finishes the step it is in before it
 * stops; a failing step is logged (a warning at the third failure in a row, then at most
 * every 30 s) and
 * retried after a backoff that doubles from 100 ms to 5 s and ends at the first success.
 *
 * Invariants: s->stop only goes from false to true, under stop_mu, with a broadcast, so
 * svc__sleep never misses it; a consumer's or the relay's handle is opened, stepped and
 * closed by its own thread only.
 */
#include "svc_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "at_time.h"

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define LOG_EVERY_NS (30LL * 1000000000LL)
#define QUIET_FAILURES 3
#define CONSUMER_WAIT_MS 500
#define RELAY_WAIT_MS 200
#define MONITOR_EVERY_MS 1000

bool svc__sleep(svc *s, int ms)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&s->stop_mu);
    while (!s->stop) {
        if (pthread_cond_timedwait(&s->stop_cv, &s->stop_mu, &until) == ETIMEDOUT)
            break;
    }
    bool go_on = !s->stop;
    pthread_mutex_unlock(&s->stop_mu);
    return go_on;
}

static bool stopping(svc *s)
{
    pthread_mutex_lock(&s->stop_mu);
    bool st = s->stop;
    pthread_mutex_unlock(&s->stop_mu);
    return st;
}

/* Failure bookkeeping of one thread: backoff and log rate. */
typedef struct retry {
    int backoff_ms;
    int64_t last_log_ns;
    int failures;              /* since the last success */
} retry;

static int failed(retry *r, const char *what, const char *name, const at_error *err)
{
    int64_t now = at_mono_ns();
    r->failures++;
    /* the first two failures are usually a start race (the stream is being created by
     * the relay): debug only; the third and then one every 30 s are warnings */
    if (r->failures < QUIET_FAILURES) {
        svc_log_kv(SVC_LOG_DEBUG, what, "name", name, "error", err->message, NULL);
    } else if (r->failures == QUIET_FAILURES || now - r->last_log_ns >= LOG_EVERY_NS) {
        char n[16];
        snprintf(n, sizeof n, "%d", r->failures);
        svc_log_kv(SVC_LOG_WARN, what, "name", name, "error", err->message, "detail", err->detail,
                   "failures", n, NULL);
        r->last_log_ns = now;
    }
    r->backoff_ms = r->backoff_ms ? r->backoff_ms * 2 : BACKOFF_MIN_MS;
    if (r->backoff_ms > BACKOFF_MAX_MS)
        r->backoff_ms = BACKOFF_MAX_MS;
    return r->backoff_ms;
}

static void succeeded(retry *r, const char *what, const char *name)
{
    if (r->failures >= QUIET_FAILURES)
        svc_log_kv(SVC_LOG_INFO, what, "name", name, NULL);
    r->failures = 0;
    r->backoff_ms = 0;
}

/* ---- consumers ---- */

static void *consumer_main(void *arg)
{
    svc_consumer_slot *slot = arg;
    svc *s = slot->s;
    const svc_consumer *d = slot->def;
    bus_consumer_config cc = {
        .durable = d->durable,
        .tenant = NULL,
        .categories = d->categories,
        .n_categories = d->n_categories,
        .handler = d->handler,
        .ctx = d->ctx,
    };
    retry r = {0};
    bus_consumer *c = NULL;
    while (!stopping(s)) {
        at_error err;
        at_error_clear(&err);
        if (!c) {
            if (bus_consumer_open(&c, s->bus, s->es, &cc, &err) != AT_OK) {
                c = NULL;
                svc__sleep(s, failed(&r, "could not open the consumer", d->durable, &err));
                continue;
            }
            r.failures = 0;
            r.backoff_ms = 0;
            svc_log_kv(SVC_LOG_INFO, "consumer open", "name", d->durable, NULL);
            pthread_mutex_lock(&slot->mu);
            slot->open = true;
            pthread_mutex_unlock(&slot->mu);
        }
        size_t handled = 0;
        at_code rc = bus_consumer_step(c, CONSUMER_WAIT_MS, &handled, &err);
        bus_consumer_stats st;
        bus_consumer_stats_get(c, &st);
        pthread_mutex_lock(&slot->mu);
        slot->stats = st;
        pthread_mutex_unlock(&slot->mu);
        if (rc != AT_OK)
            svc__sleep(s, failed(&r, "consumer step failed", d->durable, &err));
        else
            succeeded(&r, "consumer recovered", d->durable);
    }
    if (c) {
        bus_consumer_close(c);
        pthread_mutex_lock(&slot->mu);
        slot->open = false;
        pthread_mutex_unlock(&slot->mu);
    }
    return NULL;
}

/* ---- relay ---- */

static void *relay_main(void *arg)
{
    svc *s = arg;
    retry r = {0};
    bus_relay *rel = NULL;
    while (!stopping(s)) {
        at_error err;
        at_error_clear(&err);
        if (!rel) {
            if (bus_relay_open(&rel, s->es, s->bus, 0, &err) != AT_OK) {
                rel = NULL;
                svc__sleep(s, failed(&r, "could not open the relay", bus_stream_name(s->bus), &err));
                continue;
            }
            r.failures = 0;
            r.backoff_ms = 0;
            atomic_store(&s->relay_position, bus_relay_position(rel));
            char pos[24];
            snprintf(pos, sizeof pos, "%lld", (long long)bus_relay_position(rel));
            svc_log_kv(SVC_LOG_INFO, "relay open", "stream", bus_stream_name(s->bus), "position", pos,
                       NULL);
        }
        size_t published = 0;
        at_code rc = bus_relay_step(rel, RELAY_WAIT_MS, &published, &err);
        atomic_store(&s->relay_position, bus_relay_position(rel));
        /* Several relay instances: one publishes at a time, the others stand by (bus.h);
         * the lock is taken per step, so the publisher may change often: debug only, the
         * gauge atb_relay_leader shows it. */
        int64_t leader = bus_relay_leader(rel) ? 1 : 0;
        if (rc == AT_OK && atomic_exchange(&s->relay_leader, leader) != leader)
            svc_log_kv(SVC_LOG_DEBUG, leader ? "relay publishes" : "relay stands by: another instance publishes",
                       "stream", bus_stream_name(s->bus), NULL);
        if (rc == AT_CONFLICT || rc == AT_MALFORMED) {
            /* the stream disagrees with the log: reopen (resumes from the stream's state) */
            bus_relay_close(rel);
            rel = NULL;
        }
        if (rc != AT_OK)
            svc__sleep(s, failed(&r, "relay step failed", bus_stream_name(s->bus), &err));
        else
            succeeded(&r, "relay recovered", bus_stream_name(s->bus));
    }
    bus_relay_close(rel);
    return NULL;
}

/* ---- monitor: PostgreSQL state and the log head, for /healthz and /metrics ---- */

static void *monitor_main(void *arg)
{
    svc *s = arg;
    do {
        at_error err;
        at_error_clear(&err);
        int64_t head = 0;
        bool ok = es_head(s->es, &head, &err) == ES_OK;
        bool was = atomic_exchange(&s->pg_ok, ok);
        if (ok)
            atomic_store(&s->log_head, head);
        if (was && !ok)
            svc_log_kv(SVC_LOG_WARN, "PostgreSQL is down", "error", err.message, "detail", err.detail,
                       NULL);
        else if (!was && ok)
            svc_log(SVC_LOG_INFO, "PostgreSQL is up again");
    } while (svc__sleep(s, MONITOR_EVERY_MS));
    return NULL;
}

int svc__threads_start(svc *s)
{
    int r = pthread_create(&s->monitor_thread, NULL, monitor_main, s);
    if (r != 0)
        return r;
    s->monitor_started = true;
    if (s->def->run_relay) {
        r = pthread_create(&s->relay_thread, NULL, relay_main, s);
        if (r != 0)
            return r;
        s->relay_started = true;
    }
    for (size_t i = 0; i < s->def->n_consumers; i++) {
        svc_consumer_slot *c = &s->consumers[i];
        r = pthread_create(&c->thread, NULL, consumer_main, c);
        if (r != 0)
            return r;
        c->started = true;
    }
    return 0;
}

void svc__threads_stop(svc *s)
{
    pthread_mutex_lock(&s->stop_mu);
    s->stop = true;
    pthread_cond_broadcast(&s->stop_cv);
    pthread_mutex_unlock(&s->stop_mu);
    for (size_t i = 0; i < s->def->n_consumers; i++)
        if (s->consumers[i].started) {
            pthread_join(s->consumers[i].thread, NULL);
            s->consumers[i].started = false;
        }
    if (s->relay_started) {
        pthread_join(s->relay_thread, NULL);
        s->relay_started = false;
    }
    if (s->monitor_started) {
        pthread_join(s->monitor_thread, NULL);
        s->monitor_started = false;
    }
}
