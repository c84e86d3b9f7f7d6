/*
 * metrics.c -- what /healthz and /metrics answer.
 *
 * Both run on the loop thread and must not block: they read atomics, copies made under
 * short mutexes (consumer stats), es_stats() (a copy under the store's mutex) and
 * natsConnection_Status(). The PostgreSQL state and the log head come from the monitor
 * thread (threads.c), which probes once a second.
 *
 * Prometheus text format 0.0.4. Every series carries service="<name>"; label values are
 * escaped (backslash, quote, newline). Command names come from the service's table, never
 * from a subject: a request that matches no command is counted as command="_unknown", so a
 * client cannot create series.
 *
 * When adding a metric: a # HELP and # TYPE line, the series, and its name in svc.h.
 */
#include "svc_int.h"

#include <inttypes.h>
#include <string.h>

static bool label(at_buf *b, const char *v)
{
    for (const char *p = v; *p; p++) {
        bool ok = *p == '\\'  ? at_buf_puts(b, "\\\\")
                  : *p == '"' ? at_buf_puts(b, "\\\"")
                  : *p == '\n' ? at_buf_puts(b, "\\n")
                               : at_buf_append(b, p, 1);
        if (!ok)
            return false;
    }
    return true;
}

static void head(at_buf *b, const char *name, const char *type, const char *help)
{
    at_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{service="..."[,k="v"]} value */
static void series(at_buf *b, const svc *s, const char *name, const char *k, const char *v,
                   const char *k2, const char *v2, int64_t value)
{
    at_buf_printf(b, "%s{service=\"", name);
    label(b, s->def->name);
    at_buf_puts(b, "\"");
    if (k) {
        at_buf_printf(b, ",%s=\"", k);
        label(b, v);
        at_buf_puts(b, "\"");
    }
    if (k2) {
        at_buf_printf(b, ",%s=\"", k2);
        label(b, v2);
        at_buf_puts(b, "\"");
    }
    at_buf_printf(b, "} %" PRId64 "\n", value);
}

static const char *slot_name(const svc *s, size_t i)
{
    return i < s->def->n_commands ? s->def->commands[i].name : "_unknown";
}

static void metrics(svc *s, at_buf *b)
{
    size_t n = s->def->n_commands + 1;

    head(b, "atb_requests_total", "counter", "Requests received, by command.");
    for (size_t i = 0; i < n; i++)
        series(b, s, "atb_requests_total", "command", slot_name(s, i), NULL, NULL,
               (int64_t)atomic_load(&s->cmd_metrics[i].requests));

    head(b, "atb_errors_total", "counter", "Requests answered with an error, by error code.");
    for (int code = AT_VALIDATION; code <= AT_UNKNOWN_COMMAND; code++) {
        uint64_t sum = 0;
        for (size_t i = 0; i < n; i++)
            sum += atomic_load(&s->cmd_metrics[i].errors[code]);
        series(b, s, "atb_errors_total", "code", at_code_name((at_code)code), NULL, NULL, (int64_t)sum);
    }

    head(b, "atb_request_seconds_sum", "counter",
         "Time from receipt to reply, summed, by command (seconds).");
    for (size_t i = 0; i < n; i++) {
        uint64_t ns = atomic_load(&s->cmd_metrics[i].latency_ns);
        at_buf_printf(b, "atb_request_seconds_sum{service=\"");
        label(b, s->def->name);
        at_buf_puts(b, "\",command=\"");
        label(b, slot_name(s, i));
        at_buf_printf(b, "\"} %" PRIu64 ".%09" PRIu64 "\n", ns / 1000000000u, ns % 1000000000u);
    }
    head(b, "atb_request_seconds_count", "counter", "Requests timed, by command.");
    for (size_t i = 0; i < n; i++)
        series(b, s, "atb_request_seconds_count", "command", slot_name(s, i), NULL, NULL,
               (int64_t)atomic_load(&s->cmd_metrics[i].requests));

    pthread_mutex_lock(&s->mu);
    int64_t inflight = (int64_t)s->inflight;
    pthread_mutex_unlock(&s->mu);
    head(b, "atb_requests_in_flight", "gauge", "Requests received and not yet answered.");
    series(b, s, "atb_requests_in_flight", NULL, NULL, NULL, NULL, inflight);

    es_store_stats st;
    memset(&st, 0, sizeof st);
    if (s->es)
        es_stats(s->es, &st);
    head(b, "atb_events_appended_total", "counter",
         "Events this process appended to the log through the group committer.");
    series(b, s, "atb_events_appended_total", NULL, NULL, NULL, NULL, (int64_t)st.events);

    int64_t log_head = atomic_load(&s->log_head);
    head(b, "atb_log_head", "gauge", "The highest committed log position (probed every second).");
    series(b, s, "atb_log_head", NULL, NULL, NULL, NULL, log_head);

    if (s->def->n_consumers > 0) {
        bus_consumer_stats cs[s->def->n_consumers];
        bool open[s->def->n_consumers];
        for (size_t i = 0; i < s->def->n_consumers; i++) {
            svc_consumer_slot *c = &s->consumers[i];
            pthread_mutex_lock(&c->mu);
            cs[i] = c->stats;
            open[i] = c->open;
            pthread_mutex_unlock(&c->mu);
        }
        head(b, "atb_events_handled_total", "counter", "Events a consumer's handler committed.");
        for (size_t i = 0; i < s->def->n_consumers; i++)
            series(b, s, "atb_events_handled_total", "consumer", s->def->consumers[i].durable, NULL,
                   NULL, cs[i].handled);
        head(b, "atb_consumer_lag", "gauge", "Log head minus the consumer's checkpoint.");
        for (size_t i = 0; i < s->def->n_consumers; i++) {
            int64_t lag = log_head - cs[i].checkpoint;
            series(b, s, "atb_consumer_lag", "consumer", s->def->consumers[i].durable, NULL, NULL,
                   lag > 0 ? lag : 0);
        }
        head(b, "atb_consumer_dead_letters_total", "counter",
             "Events a consumer recorded in atb.dead_letters.");
        for (size_t i = 0; i < s->def->n_consumers; i++)
            series(b, s, "atb_consumer_dead_letters_total", "consumer", s->def->consumers[i].durable,
                   NULL, NULL, cs[i].dead_letters);
        head(b, "atb_consumer_up", "gauge", "1 when the consumer is bound to its durable.");
        for (size_t i = 0; i < s->def->n_consumers; i++)
            series(b, s, "atb_consumer_up", "consumer", s->def->consumers[i].durable, NULL, NULL,
                   open[i] ? 1 : 0);
    }

    if (s->def->run_relay) {
        head(b, "atb_relay_position", "gauge", "The last log position the stream confirmed.");
        series(b, s, "atb_relay_position", NULL, NULL, NULL, NULL, atomic_load(&s->relay_position));
        head(b, "atb_relay_leader", "gauge",
             "1 if this instance's relay publishes, 0 if it stands by for another instance.");
        series(b, s, "atb_relay_leader", NULL, NULL, NULL, NULL, atomic_load(&s->relay_leader));
    }

    bool nats_up = s->bus && natsConnection_Status(bus_nats(s->bus)) == NATS_CONN_STATUS_CONNECTED;
    head(b, "atb_nats_connected", "gauge", "1 when the NATS connection is up.");
    series(b, s, "atb_nats_connected", NULL, NULL, NULL, NULL, nats_up ? 1 : 0);
    head(b, "atb_pg_up", "gauge", "1 when the last PostgreSQL probe succeeded.");
    series(b, s, "atb_pg_up", NULL, NULL, NULL, NULL, atomic_load(&s->pg_ok) ? 1 : 0);

    pthread_mutex_lock(&s->custom_mu);
    for (int i = 0; i < s->n_custom; i++) {
        char name[80];
        snprintf(name, sizeof name, "atb_%s_total", s->custom[i].name);
        head(b, name, "counter", "Counted by the service's handlers.");
        series(b, s, name, NULL, NULL, NULL, NULL, atomic_load(&s->custom[i].value));
    }
    pthread_mutex_unlock(&s->custom_mu);
}

static int healthz(svc *s, at_buf *b)
{
    bool nats_up = s->bus && natsConnection_Status(bus_nats(s->bus)) == NATS_CONN_STATUS_CONNECTED;
    bool pg_up = atomic_load(&s->pg_ok);
    const char *status = "ok";
    if (s->state != SVC_RUNNING)
        status = "stopping";
    else if (!nats_up || !pg_up)
        status = "unavailable";
    else if (!s->ready)
        status = "starting";
    at_buf_printf(b, "{\"status\":\"%s\",\"service\":\"", status);
    svc__json_escape(b, s->def->name);
    at_buf_printf(b, "\",\"pg\":\"%s\",\"nats\":\"%s\"}\n", pg_up ? "ok" : "down",
                  nats_up ? "ok" : "down");
    return strcmp(status, "ok") == 0 ? 200 : 503;
}

int svc__http_answer(void *ctx, const char *path, at_buf *body, const char **ctype)
{
    svc *s = ctx;
    if (strcmp(path, "/healthz") == 0) {
        *ctype = "application/json";
        return healthz(s, body);
    }
    if (strcmp(path, "/metrics") == 0) {
        *ctype = "text/plain; version=0.0.4; charset=utf-8";
        metrics(s, body);
        return 200;
    }
    at_buf_puts(body, "not found: try /healthz or /metrics\n");
    return 404;
}
