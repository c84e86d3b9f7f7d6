/*
 * main.c -- svc_main(): start a service, run its loop, drain it on SIGTERM/SIGINT.
 *
 * Start, in order: settings (config.c; UV_THREADPOOL_SIZE from --workers before the pool
 * exists), migrations as the admin (es_migrate, then the service's own, migrate.c), the
 * event store as the service's role, the libuv default loop with its async, signal and
 * HTTP handles, bus_connect on this thread (the loop thread: the libuv adapter records it),
 * the command subscriptions (queue group <name>), the background threads (threads.c), and
 * a pool job that flushes the subscriptions to the server and then declares the service
 * ready. Then uv_run.
 *
 * Stop, a state machine on the loop thread (svc__shutdown_step moves it on):
 *   RUNNING  --signal-->  DRAINING: the subscriptions drain (no new requests reach this
 *            instance; those already delivered still run); we wait for every
 *            subscription's completion callback and for in-flight jobs to reach 0;
 *   DRAINING --------->   JOINING: a pool job stops and joins the background threads
 *            (never on the loop thread: their JetStream calls need the loop);
 *   JOINING  --------->   CLOSING: subscriptions destroyed, HTTP server, signals and the
 *            async handle closed (uv_close, memory freed in callbacks), bus_close (which
 *            closes the NATS connection on the loop thread and detaches the adapter).
 *   uv_run returns when no handle is left; uv_loop_close must return 0; then es_close and
 *   nats_CloseAndWait. A second signal exits at once with status 1.
 *
 * When adding a start step: also undo it in close_all() (or in the failure path of
 * svc_main if it comes before the loop runs).
 */
#include "svc_int.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>

#define DRAIN_TIMEOUT_MS 30000
#define FLUSH_TIMEOUT_MS 5000

static void close_all(svc *s);

static void http_closed(svc_http *h)
{
    (void)h;
}

/* ---- start job: confirm the subscriptions, then ready ---- */

static void start_work(uv_work_t *w)
{
    svc *s = w->data;
    s->start_status = natsConnection_FlushTimeout(bus_nats(s->bus), FLUSH_TIMEOUT_MS);
}

static void start_after(uv_work_t *w, int status)
{
    (void)status;
    svc *s = w->data;
    s->start_pending = false;
    s->ready = true;
    char http[16], workers[16];
    snprintf(http, sizeof http, "%lld", (long long)s->cfg.http_port);
    snprintf(workers, sizeof workers, "%lld", (long long)s->cfg.workers);
    if (s->start_status != NATS_OK)
        svc_log_kv(SVC_LOG_WARN, "could not confirm the subscriptions with the server; they are "
                                 "sent again on reconnect", "error", natsStatus_GetText(s->start_status),
                   NULL);
    svc_log_kv(SVC_LOG_INFO, "ready", "http", http, "workers", workers, "prefix", s->cfg.prefix, NULL);
    if (s->state != SVC_RUNNING)
        svc__shutdown_step(s);
}

/* ---- stop ---- */

static void join_work(uv_work_t *w)
{
    svc__threads_stop(w->data);
}

static void join_after(uv_work_t *w, int status)
{
    (void)status;
    svc *s = w->data;
    s->state = SVC_CLOSING;
    close_all(s);
}

void svc__shutdown_step(svc *s)
{
    if (s->state != SVC_DRAINING)
        return;
    pthread_mutex_lock(&s->mu);
    bool drained = s->subs_done >= s->n_subs && s->inflight == 0 && !s->start_pending;
    if (drained)
        s->accepting = false;
    pthread_mutex_unlock(&s->mu);
    if (!drained)
        return;
    svc_log(SVC_LOG_INFO, "requests drained; stopping consumers and relay");
    s->state = SVC_JOINING;
    s->join_work.data = s;
    int r = uv_queue_work(s->loop, &s->join_work, join_work, join_after);
    if (r != 0) {
        /* cannot happen with valid arguments; stopping the threads here would deadlock */
        svc_log(SVC_LOG_ERROR, "could not schedule the stop of the threads: %s; exiting", uv_strerror(r));
        _exit(1);
    }
}

static void begin_shutdown(svc *s, const char *why)
{
    svc_log_kv(SVC_LOG_INFO, "stopping: draining requests", "reason", why, NULL);
    s->state = SVC_DRAINING;
    for (int i = 0; i < 2; i++) {
        natsSubscription *sub = s->subs[i];
        if (!sub)
            continue;
        natsStatus st = natsSubscription_DrainTimeout(sub, DRAIN_TIMEOUT_MS);
        if (st != NATS_OK)
            st = natsSubscription_Unsubscribe(sub);
        if (st != NATS_OK) {
            /* no completion callback will come: count it here */
            svc_log_kv(SVC_LOG_WARN, "could not drain a subscription", "error", natsStatus_GetText(st),
                       NULL);
            pthread_mutex_lock(&s->mu);
            s->subs_done++;
            pthread_mutex_unlock(&s->mu);
        }
    }
    svc__shutdown_step(s);
}

static void on_signal(uv_signal_t *h, int signum)
{
    svc *s = h->data;
    const char *name = signum == SIGTERM ? "SIGTERM" : "SIGINT";
    if (s->state != SVC_RUNNING) {
        svc_log_kv(SVC_LOG_WARN, "second signal: exiting without finishing the drain", "signal", name,
                   NULL);
        _exit(1);
    }
    begin_shutdown(s, name);
}

static void on_wake(uv_async_t *h)
{
    svc *s = h->data;
    svc__dispatch_queued(s);
    if (s->state != SVC_RUNNING)
        svc__shutdown_step(s);
}

/* The handles of struct svc live as long as s, which outlives uv_run: no close callback
 * is needed to free them. A handle never initialised has no loop. */
static void close_handle(uv_handle_t *h)
{
    if (h->loop && !uv_is_closing(h))
        uv_close(h, NULL);
}

/* On the loop thread, once no job runs and no background thread is left. */
static void close_all(svc *s)
{
    for (int i = 0; i < 2; i++) {
        natsSubscription_Destroy(s->subs[i]);
        s->subs[i] = NULL;
    }
    svc__http_close(&s->http, http_closed);
    close_handle((uv_handle_t *)&s->sig_term);
    close_handle((uv_handle_t *)&s->sig_int);
    pthread_mutex_lock(&s->mu);
    s->async_closed = true;
    s->accepting = false;
    pthread_mutex_unlock(&s->mu);
    close_handle((uv_handle_t *)&s->wake);
    /* closes the NATS connection here, on the loop thread; the adapter's handles close on
     * the loop's next turns */
    bus_close(s->bus);
    s->bus = NULL;
}

/* ---- checks of the definition ---- */

static bool def_valid(const svc_def *def, at_error *err)
{
    if (!def || !def->name || !bus_token_valid(def->name)) {
        at_error_set(err, AT_VALIDATION, "name", "the service has no valid name");
        at_error_detail(err, "svc_def.name must be a subject token (letters, digits, '_').");
        return false;
    }
    for (size_t i = 0; i < def->n_commands; i++) {
        const svc_command *c = &def->commands[i];
        if (!c->name || !bus_token_valid(c->name) || !c->fn || !c->request ||
            c->request->magic != PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC) {
            at_error_set(err, AT_VALIDATION, "commands", "command %zu of service \"%s\" is incomplete",
                         i, def->name);
            at_error_detail(err, "Every command needs a name that is a subject token, a request "
                                 "descriptor and a handler.");
            return false;
        }
        for (size_t k = 0; k < i; k++)
            if (strcmp(def->commands[k].name, c->name) == 0 &&
                (def->commands[k].flags & SVC_QUERY) == (c->flags & SVC_QUERY)) {
                at_error_set(err, AT_VALIDATION, "commands", "command \"%s\" is listed twice", c->name);
                return false;
            }
    }
    for (size_t i = 0; i < def->n_consumers; i++) {
        const svc_consumer *c = &def->consumers[i];
        if (!c->durable || !bus_token_valid(c->durable) || !c->handler) {
            at_error_set(err, AT_VALIDATION, "consumers", "consumer %zu of service \"%s\" is incomplete",
                         i, def->name);
            at_error_detail(err, "Every consumer needs a durable name that is a subject token and "
                                 "a handler.");
            return false;
        }
    }
    return true;
}

/* The naming rule: service <name> connects as atb_<name>. Only a warning: tests and
 * one-off tools may connect otherwise. */
static void check_role(svc *s)
{
    es_txn *t = NULL;
    if (es_txn_begin(s->es, &t, NULL) != ES_OK)
        return;
    PGresult *r = PQexec(es_txn_conn(t), "SELECT current_user");
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1) {
        char want[80];
        snprintf(want, sizeof want, "atb_%s", s->def->name);
        const char *user = PQgetvalue(r, 0, 0);
        if (strcmp(user, want) != 0)
            svc_log_kv(SVC_LOG_WARN, "connected to PostgreSQL as another role than the service's",
                       "role", user, "expected", want, NULL);
    }
    PQclear(r);
    es_txn_rollback(t);
}

static void log_start(svc *s)
{
    char nats[512], http[16], workers[16], max_msg[24];
    svc__redact(s->cfg.nats, nats, sizeof nats);
    snprintf(http, sizeof http, "%lld", (long long)s->cfg.http_port);
    snprintf(workers, sizeof workers, "%lld", (long long)s->cfg.workers);
    snprintf(max_msg, sizeof max_msg, "%lld", (long long)s->cfg.max_msg);
    svc_log_kv(SVC_LOG_INFO, "starting", "nats", nats, "prefix", s->cfg.prefix, "stream",
               s->cfg.stream, "http", http, "workers", workers, "max_msg", max_msg, "migrations",
               s->cfg.pg_admin[0] ? "yes" : "no", NULL);
}

static void fail(const char *what, const at_error *err)
{
    svc_log_kv(SVC_LOG_ERROR, what, "error", err->message, "detail", err->detail, "hint", err->hint,
               NULL);
}

static void svc_free(svc *s)
{
    svc__jobs_free(s);
    if (s->consumers) {
        for (size_t i = 0; i < s->def->n_consumers; i++)
            pthread_mutex_destroy(&s->consumers[i].mu);
        free(s->consumers);
    }
    free(s->cmd_metrics);
    pthread_mutex_destroy(&s->mu);
    pthread_mutex_destroy(&s->stop_mu);
    pthread_cond_destroy(&s->stop_cv);
    pthread_mutex_destroy(&s->custom_mu);
    free(s);
}

static svc *svc_new(const svc_def *def)
{
    svc *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->def = def;
    s->accepting = true;
    pthread_mutex_init(&s->mu, NULL);
    pthread_mutex_init(&s->stop_mu, NULL);
    pthread_mutex_init(&s->custom_mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);   /* svc__sleep waits on the monotonic clock */
    pthread_cond_init(&s->stop_cv, &ca);
    pthread_condattr_destroy(&ca);
    s->cmd_metrics = calloc(def->n_commands + 1, sizeof *s->cmd_metrics);
    s->consumers = def->n_consumers ? calloc(def->n_consumers, sizeof *s->consumers) : NULL;
    if (!s->cmd_metrics || (def->n_consumers && !s->consumers)) {
        free(s->consumers);
        s->consumers = NULL;
        svc_free(s);
        return NULL;
    }
    for (size_t i = 0; i < def->n_consumers; i++) {
        s->consumers[i].s = s;
        s->consumers[i].def = &def->consumers[i];
        pthread_mutex_init(&s->consumers[i].mu, NULL);
    }
    return s;
}

static at_code subscribe(svc *s, at_error *err)
{
    bool want[2] = {false, false};
    for (size_t i = 0; i < s->def->n_commands; i++)
        want[(s->def->commands[i].flags & SVC_QUERY) ? 1 : 0] = true;
    static const char *kind[2] = {"cmd", "qry"};
    for (int i = 0; i < 2; i++) {
        if (!want[i])
            continue;
        char subj[300];
        snprintf(subj, sizeof subj, "%s.%s.*.%s.>", s->cfg.prefix, kind[i], s->def->name);
        natsStatus st = natsConnection_QueueSubscribe(&s->subs[i], bus_nats(s->bus), subj,
                                                      s->def->name, svc__on_msg, s);
        if (st == NATS_OK)
            st = natsSubscription_SetOnCompleteCB(s->subs[i], svc__on_sub_complete, s);
        if (st != NATS_OK) {
            at_error_set(err, AT_UNAVAILABLE, NULL, "could not subscribe to %s", subj);
            at_error_detail(err, "libnats said: %s.", natsStatus_GetText(st));
            return AT_UNAVAILABLE;
        }
        s->n_subs++;
        svc_log_kv(SVC_LOG_DEBUG, "subscribed", "subject", subj, "queue", s->def->name, NULL);
    }
    return AT_OK;
}

int svc_main(const svc_def *def, int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);   /* a health client that hangs up must not kill the service */
    at_error err;
    at_error_clear(&err);
    if (!def_valid(def, &err)) {
        fail("cannot start: the service definition is wrong", &err);
        return 1;
    }
    svc_log_set_service(def->name);
    svc *s = svc_new(def);
    if (!s) {
        svc_log(SVC_LOG_ERROR, "cannot start: out of memory");
        return 1;
    }
    if (svc__config_load(&s->cfg, argc, argv, &err) != AT_OK) {
        svc_log_kv(SVC_LOG_ERROR, err.message, "setting", err.field, "hint", err.hint, NULL);
        svc_free(s);
        return 2;
    }
    if (s->cfg.help) {
        char prog[96];
        snprintf(prog, sizeof prog, "atbalsts-%s", def->name);
        svc__config_help(stdout, prog);
        svc_free(s);
        return 0;
    }
    /* libuv sizes its pool from this when the first job is queued: set it before */
    char nworkers[16];
    snprintf(nworkers, sizeof nworkers, "%lld", (long long)s->cfg.workers);
    setenv("UV_THREADPOOL_SIZE", nworkers, 1);
    svc_log_set_level(s->cfg.log_level);
    log_start(s);

    int exit_code = 1;
    nats_Open(-1);

    if (s->cfg.pg_admin[0]) {
        int applied = 0, own = 0;
        es_status es = es_migrate(s->cfg.pg_admin, &applied, &err);
        if (es != ES_OK) {
            fail("cannot start: the log's migrations failed", &err);
            goto out;
        }
        if (svc__migrate(def, s->cfg.pg_admin, &own, &err) != AT_OK) {
            fail("cannot start: the service's migrations failed", &err);
            goto out;
        }
        char a[16], b[16];
        snprintf(a, sizeof a, "%d", applied);
        snprintf(b, sizeof b, "%d", own);
        svc_log_kv(SVC_LOG_INFO, "migrations done", "log_applied", a, "service_applied", b, NULL);
    }

    int64_t pool = s->cfg.pg_pool;
    if (pool == 0)
        pool = s->cfg.workers + (int64_t)def->n_consumers + 2;
    if (pool > 256)
        pool = 256;
    char appname[80];
    snprintf(appname, sizeof appname, "atbalsts-%s", def->name);
    es_config ec = {.conninfo = s->cfg.pg, .pool_size = (int)pool, .application_name = appname};
    es_status est = es_open(&s->es, &ec, &err);
    if (est != ES_OK) {
        fail("cannot start: could not open the event store", &err);
        goto out;
    }
    atomic_store(&s->pg_ok, true);
    check_role(s);
    if (def->start && def->start(s->es, &err) != AT_OK) {
        fail("cannot start: the service's start step failed", &err);
        goto out;
    }

    s->loop = uv_default_loop();
    uv_async_init(s->loop, &s->wake, on_wake);
    s->wake.data = s;
    uv_signal_init(s->loop, &s->sig_term);
    uv_signal_init(s->loop, &s->sig_int);
    s->sig_term.data = s;
    s->sig_int.data = s;
    uv_signal_start(&s->sig_term, on_signal, SIGTERM);
    uv_signal_start(&s->sig_int, on_signal, SIGINT);

    if (s->cfg.http_port > 0 &&
        svc__http_start(&s->http, s->loop, (int)s->cfg.http_port, svc__http_answer, s, &err) != AT_OK) {
        fail("cannot start: no health and metrics endpoint", &err);
        goto close_loop;
    }

    bus_config bc = {
        .url = s->cfg.nats,
        .user = s->cfg.nats_user[0] ? s->cfg.nats_user : NULL,
        .password = s->cfg.nats_password,
        .name = appname,
        .prefix = s->cfg.prefix,
        .stream = s->cfg.stream,
        .replicas = (int)s->cfg.stream_replicas,
        .uv_loop = s->loop,       /* this is the loop thread: the adapter records it */
    };
    if (bus_connect(&s->bus, &bc, &err) != AT_OK) {
        fail("cannot start: could not connect to NATS", &err);
        goto close_loop;
    }
    if (subscribe(s, &err) != AT_OK) {
        fail("cannot start", &err);
        goto close_loop;
    }
    int tr = svc__threads_start(s);
    if (tr != 0) {
        svc_log(SVC_LOG_ERROR, "cannot start: could not create a thread: %s", strerror(tr));
        s->exit_code = 1;
        begin_shutdown(s, "start failed");
    } else {
        s->start_pending = true;
        s->start_work.data = s;
        uv_queue_work(s->loop, &s->start_work, start_work, start_after);
    }
    uv_run(s->loop, UV_RUN_DEFAULT);
    exit_code = s->exit_code;
    goto loop_done;

close_loop:
    /* nothing runs on other threads yet: close what exists and let the loop finish */
    s->state = SVC_CLOSING;
    close_all(s);
    uv_run(s->loop, UV_RUN_DEFAULT);
    exit_code = 1;
loop_done: {
    int r = uv_loop_close(s->loop);
    if (r != 0) {
        svc_log(SVC_LOG_ERROR, "the loop still has open handles at exit: %s", uv_strerror(r));
        exit_code = 1;
    }
}
out:
    es_close(s->es);
    s->es = NULL;
    svc_free(s);
    nats_CloseAndWait(5000);
    if (exit_code == 0)
        svc_log(SVC_LOG_INFO, "stopped");
    return exit_code;
}
