/*
 * conn.c -- the bus handle: one NATS connection and its JetStream context.
 *
 * Invariants: a bus owns exactly one natsConnection and one jsCtx, both created by
 * bus_connect and destroyed by bus_close (the context first: it holds a reference to the
 * connection's subscriptions). The configuration is copied; prefix and stream are
 * validated here once, so every subject built later from them is well formed.
 *
 * Reconnection is libnats': forever, with a wait, so a restarted nats-server is picked up
 * without the caller doing anything. Publishes made while disconnected go to libnats'
 * reconnect buffer; JetStream calls fail with a timeout and callers retry.
 *
 * When adding a connection option, also say in bus.h whether it is copied or borrowed.
 */
#include "bus_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_PREFIX "atb"
#define DEFAULT_STREAM "ATB_EVENTS"

at_code bus__nats_error(at_error *err, at_code code, natsStatus s, jsErrCode jerr,
                        const char *fmt, ...)
{
    if (!err)
        return code;
    char msg[sizeof err->message];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    at_error_set(err, code, NULL, "%s", msg);
    natsStatus ls = NATS_OK;
    const char *last = nats_GetLastError(&ls);
    if (jerr != 0)
        at_error_detail(err, "libnats said: %s (%s). JetStream error code %d.",
                        natsStatus_GetText(s), (last && *last) ? last : "no more detail",
                        (int)jerr);
    else
        at_error_detail(err, "libnats said: %s (%s).", natsStatus_GetText(s),
                        (last && *last) ? last : "no more detail");
    return code;
}

/* A prefix is one or more subject tokens joined by '.'. */
static bool prefix_valid(const char *p)
{
    size_t n = strlen(p);
    if (n == 0 || n > BUS_PREFIX_MAX)
        return false;
    char tok[BUS_PREFIX_MAX + 1];
    const char *s = p;
    for (;;) {
        const char *dot = strchr(s, '.');
        size_t len = dot ? (size_t)(dot - s) : strlen(s);
        if (len == 0 || len > BUS_TOKEN_MAX)
            return false;
        memcpy(tok, s, len);
        tok[len] = 0;
        if (!bus_token_valid(tok))
            return false;
        if (!dot)
            return true;
        s = dot + 1;
    }
}

/* JetStream stream names: a token without '/' or '\\' either (they become file names). */
static bool stream_name_valid(const char *s)
{
    return bus_token_valid(s) && strlen(s) <= BUS_STREAM_MAX && !strchr(s, '/') &&
           !strchr(s, '\\');
}

natsStatus bus__js_new(bus *b, jsCtx **out, jsPubAckErrHandler err_cb, void *closure)
{
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.Wait = 5000;
    jo.PublishAsync.MaxPending = BUS_ASYNC_MAX_PENDING;
    /* A publisher that fills the window waits for acks rather than failing at once: with
     * the server alive, acks arrive in milliseconds. */
    jo.PublishAsync.StallWait = 10000;
    jo.PublishAsync.ErrHandler = err_cb;
    jo.PublishAsync.ErrHandlerClosure = closure;
    return natsConnection_JetStream(out, b->nc, &jo);
}

/* A cluster: "nats://a:4222,nats://b:4222,..." is handed to libnats as a server list
 * (natsOptions_SetURL takes one URL); the connection picks one and fails over to the others. */
static natsStatus set_servers(natsOptions *opts, const char *url)
{
    if (!strchr(url, ','))
        return natsOptions_SetURL(opts, url);
    char *copy = strdup(url);
    const char *list[16];
    int n = 0;
    if (!copy)
        return NATS_NO_MEMORY;
    for (char *save = NULL, *tok = strtok_r(copy, ",", &save); tok && n < 16;
         tok = strtok_r(NULL, ",", &save))
        if (*tok)
            list[n++] = tok;
    natsStatus s = n > 0 ? natsOptions_SetServers(opts, list, n) : NATS_INVALID_ARG;
    free(copy);
    return s;
}

at_code bus_connect(bus **out, const bus_config *cfg, at_error *err)
{
    *out = NULL;
    if (!cfg || !cfg->url || !*cfg->url)
        return at_error_set(err, AT_VALIDATION, "url", "cannot connect to NATS without a URL");
    const char *prefix = (cfg->prefix && *cfg->prefix) ? cfg->prefix : DEFAULT_PREFIX;
    const char *stream = (cfg->stream && *cfg->stream) ? cfg->stream : DEFAULT_STREAM;
    if (!prefix_valid(prefix)) {
        at_error_set(err, AT_VALIDATION, "prefix", "invalid subject prefix \"%s\"", prefix);
        at_error_detail(err, "A prefix is one or more tokens joined by '.', each token without "
                             "'*', '>' or white space and at most %d bytes.", BUS_TOKEN_MAX);
        return AT_VALIDATION;
    }
    if (!stream_name_valid(stream)) {
        at_error_set(err, AT_VALIDATION, "stream", "invalid stream name \"%s\"", stream);
        at_error_detail(err, "A stream name may not contain '.', '*', '>', '/', '\\' or white "
                             "space and has at most %d bytes.", BUS_STREAM_MAX);
        return AT_VALIDATION;
    }
    if (cfg->replicas < 0 || cfg->replicas > 5)
        return at_error_set(err, AT_VALIDATION, "replicas",
                            "stream replicas must be between 1 and 5 (0 for 1), not %d", cfg->replicas);

    bus *b = calloc(1, sizeof *b);
    if (!b)
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    snprintf(b->prefix, sizeof b->prefix, "%s", prefix);
    snprintf(b->stream, sizeof b->stream, "%s", stream);
    b->replicas = cfg->replicas > 0 ? cfg->replicas : 1;
    b->on_uv = cfg->uv_loop != NULL;

    natsOptions *opts = NULL;
    natsStatus s = natsOptions_Create(&opts);
    if (s == NATS_OK)
        s = set_servers(opts, cfg->url);
    if (s == NATS_OK && cfg->user && *cfg->user)
        s = natsOptions_SetUserInfo(opts, cfg->user, cfg->password ? cfg->password : "");
    if (s == NATS_OK && cfg->name && *cfg->name)
        s = natsOptions_SetName(opts, cfg->name);
    if (s == NATS_OK)
        s = natsOptions_SetTimeout(opts, 5000);
    if (s == NATS_OK)
        s = natsOptions_SetAllowReconnect(opts, true);
    if (s == NATS_OK)
        s = natsOptions_SetMaxReconnect(opts, -1);          /* forever */
    if (s == NATS_OK)
        s = natsOptions_SetReconnectWait(opts, 500);
    /* Consumers fetch batches of hundreds and services receive bursts of requests: the
     * default pending limit (65536 messages) would drop a slow subscriber's messages. */
    if (s == NATS_OK)
        s = natsOptions_SetMaxPendingMsgs(opts, 1 << 20);
    if (s == NATS_OK && cfg->uv_loop)
        s = bus__uv_attach(opts, cfg->uv_loop);
    if (s != NATS_OK) {
        bus__nats_error(err, AT_INTERNAL, s, 0, "could not prepare the NATS connection options");
        natsOptions_Destroy(opts);
        free(b);
        return AT_INTERNAL;
    }
    s = natsConnection_Connect(&b->nc, opts);
    natsOptions_Destroy(opts);
    if (s != NATS_OK) {
        bus__nats_error(err, AT_UNAVAILABLE, s, 0, "could not connect to NATS at %s", cfg->url);
        if (s == NATS_CONNECTION_AUTH_FAILED || s == NATS_NOT_PERMITTED)
            at_error_hint(err, "check the NATS user and password of this service");
        else
            at_error_hint(err, "check that nats-server is running with JetStream (-js) and "
                               "listens at that address");
        free(b);
        return AT_UNAVAILABLE;
    }
    s = bus__js_new(b, &b->js, NULL, NULL);
    if (s != NATS_OK) {
        bus__nats_error(err, AT_INTERNAL, s, 0, "could not create the JetStream context");
        bus_close(b);
        return AT_INTERNAL;
    }
    *out = b;
    return AT_OK;
}

void bus_close(bus *b)
{
    if (!b)
        return;
    jsCtx_Destroy(b->js);
    if (b->nc) {
        /* Close first: with a libuv loop this detaches the adapter (its handles are closed
         * on the loop's next turn); Destroy then frees what is left. */
        natsConnection_Close(b->nc);
        natsConnection_Destroy(b->nc);
    }
    free(b);
}

natsConnection *bus_nats(bus *b) { return b->nc; }
jsCtx *bus_js(bus *b) { return b->js; }
const char *bus_prefix(const bus *b) { return b->prefix; }
const char *bus_stream_name(const bus *b) { return b->stream; }
