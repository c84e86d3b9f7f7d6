/*
 * dispatch.c -- commands and queries: NATS message -> job queue -> worker -> handler -> reply.
 *
 * The path of one request:
 *   1. svc__on_msg (a libnats delivery thread) puts the natsMsg into the job queue under
 *      s->mu and wakes the loop; it never touches the loop otherwise;
 *   2. svc__dispatch_queued (the loop thread) hands each job to the libuv pool;
 *   3. work_cb (a pool thread) checks size, subject, tenant, command, CommandMeta, decodes
 *      into the request's arena, checks UTF-8, calls the handler and publishes the reply
 *      (natsConnection_Publish is thread-safe);
 *   4. after_cb (the loop thread) recycles the job and lets a drain move on.
 *
 * Invariants:
 *  - every message taken gets exactly one reply (when it has a reply subject) and is
 *    destroyed exactly once;
 *  - nothing from the bytes reaches a handler before it decoded as the command's type with
 *    valid UTF-8 strings: bad bytes cannot crash a handler; a rejection appends nothing;
 *  - the message path allocates from the arena; the arena is reset after the reply and
 *    goes back to the pool (at most one arena per worker stays allocated);
 *  - s->inflight counts jobs from on_msg to after_cb, so a drain knows when all are answered.
 */
#include "svc_int.h"

#include <stdlib.h>
#include <string.h>

#include "at_time.h"
#include "at_uuid.h"
#include "atb/v1/common.pb-c.h"

#define ARENA_BLOCK 16384
/* Requests waiting for a worker beyond this get UNAVAILABLE at once (back pressure
 * instead of unbounded memory). */
#define QUEUE_PER_WORKER 256
#define QUEUE_MIN 1024
#define UTF8_MAX_DEPTH 32

/* CommandMeta.expected_version on the wire -> es.h terms. The wire form makes "not sent"
 * (proto3's 0) the harmless "no check"; -1 asks for a new stream. */
static int64_t expected_from_meta(int64_t wire)
{
    if (wire == 0)
        return ES_VERSION_ANY;
    if (wire == -1)
        return ES_VERSION_NONE;
    return wire;
}

static void after_cb(uv_work_t *w, int status);
static void work_cb(uv_work_t *w);

static size_t max_inflight(const svc *s)
{
    size_t n = (size_t)s->cfg.workers * QUEUE_PER_WORKER;
    return n < QUEUE_MIN ? QUEUE_MIN : n;
}

/* The command slot a parsed subject names, or def->n_commands when none. */
static size_t find_slot(const svc *s, const bus_subject *sj)
{
    bool query = strcmp(sj->kind, "qry") == 0;
    if (!query && strcmp(sj->kind, "cmd") != 0)
        return s->def->n_commands;
    if (strcmp(sj->service, s->def->name) != 0)
        return s->def->n_commands;
    for (size_t i = 0; i < s->def->n_commands; i++) {
        const svc_command *c = &s->def->commands[i];
        if (strcmp(c->name, sj->name) == 0 && ((c->flags & SVC_QUERY) != 0) == query)
            return i;
    }
    return s->def->n_commands;
}

static void count(svc *s, size_t slot, at_code code, int64_t start_ns)
{
    svc_cmd_metrics *m = &s->cmd_metrics[slot];
    atomic_fetch_add(&m->requests, 1);
    if (code != AT_OK && code >= 0 && code <= AT_UNKNOWN_COMMAND)
        atomic_fetch_add(&m->errors[code], 1);
    int64_t d = at_mono_ns() - start_ns;
    if (d > 0)
        atomic_fetch_add(&m->latency_ns, (uint_fast64_t)d);
}

/* Answer on the libnats thread without queueing: busy, stopping or out of memory. */
static void refuse_now(svc *s, natsMsg *msg, bool stopping, int64_t start_ns)
{
    at_error e;
    if (stopping) {
        at_error_set(&e, AT_UNAVAILABLE, NULL, "could not take the request: the service is stopping");
        at_error_hint(&e, "retry with the same command id; another instance or the restarted "
                          "service answers");
    } else {
        at_error_set(&e, AT_UNAVAILABLE, NULL, "could not take the request: the service is busy");
        at_error_detail(&e, "%zu requests are waiting for a worker.", max_inflight(s));
        at_error_hint(&e, "retry with the same command id after a pause");
    }
    bus_reply_error(s->bus, msg, &e);
    bus_subject sj;
    size_t slot = s->def->n_commands;
    if (bus_subject_parse(s->bus, natsMsg_GetSubject(msg), &sj, NULL) == AT_OK)
        slot = find_slot(s, &sj);
    count(s, slot, AT_UNAVAILABLE, start_ns);
    natsMsg_Destroy(msg);
}

void svc__on_msg(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
    (void)nc;
    (void)sub;
    svc *s = closure;
    int64_t now = at_mono_ns();
    pthread_mutex_lock(&s->mu);
    if (!s->accepting || s->inflight >= max_inflight(s)) {
        bool stopping = !s->accepting;
        pthread_mutex_unlock(&s->mu);
        refuse_now(s, msg, stopping, now);
        return;
    }
    svc_job *j = s->free_jobs;
    if (j)
        s->free_jobs = j->next;
    else
        j = calloc(1, sizeof *j);
    if (!j) {
        pthread_mutex_unlock(&s->mu);
        refuse_now(s, msg, false, now);
        return;
    }
    j->next = NULL;
    j->s = s;
    j->msg = msg;
    j->received_ns = now;
    if (s->q_tail)
        s->q_tail->next = j;
    else
        s->q_head = j;
    s->q_tail = j;
    s->queued++;
    s->inflight++;
    /* under mu: the loop cannot close `wake` between this check and the send */
    if (!s->async_closed)
        uv_async_send(&s->wake);
    pthread_mutex_unlock(&s->mu);
}

void svc__on_sub_complete(void *closure)
{
    svc *s = closure;
    pthread_mutex_lock(&s->mu);
    s->subs_done++;
    if (!s->async_closed)
        uv_async_send(&s->wake);
    pthread_mutex_unlock(&s->mu);
}

void svc__dispatch_queued(svc *s)
{
    for (;;) {
        pthread_mutex_lock(&s->mu);
        svc_job *j = s->q_head;
        if (j) {
            s->q_head = j->next;
            if (!s->q_head)
                s->q_tail = NULL;
            s->queued--;
        }
        pthread_mutex_unlock(&s->mu);
        if (!j)
            return;
        j->work.data = j;
        int r = uv_queue_work(s->loop, &j->work, work_cb, after_cb);
        if (r != 0) {
            /* cannot happen with valid arguments; answer rather than lose the request */
            at_error e;
            at_error_set(&e, AT_INTERNAL, NULL, "could not schedule the request: %s", uv_strerror(r));
            bus_reply_error(s->bus, j->msg, &e);
            count(s, s->def->n_commands, AT_INTERNAL, j->received_ns);
            after_cb(&j->work, 0);
        }
    }
}

/* ---- arenas ---- */

static at_arena *arena_get(svc *s)
{
    at_arena *a = NULL;
    pthread_mutex_lock(&s->mu);
    if (s->n_arenas > 0)
        a = s->arenas[--s->n_arenas];
    pthread_mutex_unlock(&s->mu);
    return a ? a : at_arena_new(ARENA_BLOCK);
}

static void arena_put(svc *s, at_arena *a)
{
    if (!a)
        return;
    at_arena_reset(a);
    pthread_mutex_lock(&s->mu);
    if (s->n_arenas == s->cap_arenas) {
        size_t cap = s->cap_arenas ? s->cap_arenas * 2 : 16;
        at_arena **p = realloc(s->arenas, cap * sizeof *p);
        if (!p) {
            pthread_mutex_unlock(&s->mu);
            at_arena_free(a);
            return;
        }
        s->arenas = p;
        s->cap_arenas = cap;
    }
    s->arenas[s->n_arenas++] = a;
    pthread_mutex_unlock(&s->mu);
}

void svc__jobs_free(svc *s)
{
    while (s->free_jobs) {
        svc_job *j = s->free_jobs;
        s->free_jobs = j->next;
        free(j);
    }
    for (size_t i = 0; i < s->n_arenas; i++)
        at_arena_free(s->arenas[i]);
    free(s->arenas);
    s->arenas = NULL;
    s->n_arenas = s->cap_arenas = 0;
}

/* ---- checks ---- */

/* Append ".name" (or "name" at the start) and, for repeated fields, ".k" to path. */
static size_t path_push(char *path, size_t n, size_t at, const char *name, long k)
{
    if (at >= n)
        return at;
    int w = k >= 0 ? snprintf(path + at, n - at, "%s%s.%ld", at ? "." : "", name, k)
                   : snprintf(path + at, n - at, "%s%s", at ? "." : "", name);
    size_t end = at + (w > 0 ? (size_t)w : 0);
    return end < n ? end : n - 1;
}

/* Every string of m (nested messages and repeated fields included) is valid UTF-8; on
 * failure path names the field, dotted ("members.2.given_name"). */
static bool strings_valid(const ProtobufCMessage *m, int depth, char *path, size_t n, size_t at)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    if (depth > UTF8_MAX_DEPTH)
        return false;
    const char *base = (const char *)m;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if (f->type != PROTOBUF_C_TYPE_STRING && f->type != PROTOBUF_C_TYPE_MESSAGE)
            continue;
        if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
            uint32_t which = *(const uint32_t *)(const void *)(base + f->quantifier_offset);
            if (which != f->id)
                continue;
        }
        bool repeated = f->label == PROTOBUF_C_LABEL_REPEATED;
        size_t cnt = 1;
        void *const *items = (void *const *)(const void *)(base + f->offset);
        if (repeated) {
            cnt = *(const size_t *)(const void *)(base + f->quantifier_offset);
            items = *(void *const *const *)(const void *)(base + f->offset);
        }
        for (size_t k = 0; k < cnt && items; k++) {
            const void *v = items[k];
            if (!v)
                continue;
            if (f->type == PROTOBUF_C_TYPE_STRING) {
                if (!svc__utf8_valid(v, strlen(v))) {
                    path_push(path, n, at, f->name, repeated ? (long)k : -1);
                    return false;
                }
            } else {
                size_t end = path_push(path, n, at, f->name, repeated ? (long)k : -1);
                if (!strings_valid(v, depth + 1, path, n, end))
                    return false;
                path[at] = 0;
            }
        }
    }
    return true;
}

/* Check and decode the request and run the handler. Returns AT_OK with *reply set, or an
 * error code with err filled. *slot gets the command's metrics slot once known. */
static at_code run(svc *s, natsMsg *msg, at_arena *arena, size_t *slot,
                   ProtobufCMessage **reply, at_error *err)
{
    const svc_def *def = s->def;
    size_t len = (size_t)natsMsg_GetDataLength(msg);
    const uint8_t *data = (const uint8_t *)natsMsg_GetData(msg);
    const char *subject = natsMsg_GetSubject(msg);
    *reply = NULL;

    bus_subject sj;
    bool parsed = bus_subject_parse(s->bus, subject, &sj, NULL) == AT_OK;
    if (parsed)
        *slot = find_slot(s, &sj);

    /* size first: nothing of an oversized request is read */
    if ((int64_t)len > s->cfg.max_msg) {
        at_error_set(err, AT_TOO_LARGE, NULL, "request of %zu bytes exceeds the limit of %lld bytes",
                     len, (long long)s->cfg.max_msg);
        at_error_detail(err, "Service \"%s\" accepts requests up to %lld bytes (--max-msg).",
                        def->name, (long long)s->cfg.max_msg);
        at_error_hint(err, "send less in one command, e.g. split it");
        return AT_TOO_LARGE;
    }
    if (!parsed || strcmp(sj.service, def->name) != 0 ||
        (strcmp(sj.kind, "cmd") != 0 && strcmp(sj.kind, "qry") != 0)) {
        at_error_set(err, AT_UNKNOWN_COMMAND, NULL, "no command or query at subject \"%.100s\"", subject);
        at_error_detail(err, "Service \"%s\" answers %s.cmd.<tenant>.%s.<Command> and "
                             "%s.qry.<tenant>.%s.<Query>.",
                        def->name, s->cfg.prefix, def->name, s->cfg.prefix, def->name);
        return AT_UNKNOWN_COMMAND;
    }
    bool query = strcmp(sj.kind, "qry") == 0;
    bool known = false;
    if (es_tenant_check(s->es, sj.tenant, &known, err) != ES_OK) {
        at_error_set(err, AT_UNAVAILABLE, NULL, "could not check the municipality \"%s\"", sj.tenant);
        at_error_detail(err, "The tenant registry could not be read from PostgreSQL.");
        at_error_hint(err, "retry with the same command id");
        return AT_UNAVAILABLE;
    }
    if (!known) {
        at_error_set(err, AT_UNKNOWN_TENANT, NULL, "unknown tenant \"%s\"", sj.tenant);
        at_error_detail(err, "The municipality code in the subject is not registered in atb.tenants.");
        at_error_hint(err, "check the municipality code (the second token of the subject)");
        return AT_UNKNOWN_TENANT;
    }
    if (*slot >= def->n_commands) {
        at_error_set(err, AT_UNKNOWN_COMMAND, NULL, "unknown %s \"%s\"", query ? "query" : "command",
                     sj.name);
        at_error_detail(err, "Service \"%s\" has no %s named \"%s\".", def->name,
                        query ? "query" : "command", sj.name);
        at_error_hint(err, "check the spelling and whether it is a command (cmd) or a query (qry)");
        return AT_UNKNOWN_COMMAND;
    }
    const svc_command *cmd = &def->commands[*slot];
    ProtobufCAllocator *alloc = at_arena_pbc(arena);

    const Atb__V1__CommandMeta *meta = NULL;
    if (!query) {
        /* field 1 of every command is its CommandMeta: read it before the full type */
        Atb__V1__CommandHeader *h = atb__v1__command_header__unpack(alloc, len, data);
        if (!h) {
            at_error_set(err, AT_MALFORMED, NULL, "cannot decode the request as %s", cmd->request->name);
            at_error_detail(err, "The %zu bytes are not a protobuf message.", len);
            at_error_hint(err, "send the protobuf encoding of %s", cmd->request->name);
            return AT_MALFORMED;
        }
        meta = h->meta;
        const char *id = meta && meta->command_id ? meta->command_id : "";
        if (!*id) {
            at_error_set(err, AT_VALIDATION, "command_id", "command_id is missing");
            at_error_detail(err, "Every command carries a CommandMeta (field 1) with a command_id, "
                                 "its idempotency key.");
            at_error_hint(err, "set meta.command_id to a new UUID; reuse it only to retry the same "
                               "command");
            return AT_VALIDATION;
        }
        if (!at_uuid_valid(id)) {
            at_error_set(err, AT_VALIDATION, "command_id", "command_id is not a UUID");
            at_error_hint(err, "set meta.command_id to a UUID such as "
                               "6f1c2a4e-8b0d-4c1e-9a57-0e3b2d1f4c6a");
            return AT_VALIDATION;
        }
        if (meta->correlation_id && *meta->correlation_id && !at_uuid_valid(meta->correlation_id)) {
            at_error_set(err, AT_VALIDATION, "correlation_id", "correlation_id is not a UUID");
            at_error_hint(err, "leave meta.correlation_id empty or set it to a UUID");
            return AT_VALIDATION;
        }
        if (meta->expected_version < -1) {
            at_error_set(err, AT_VALIDATION, "expected_version", "expected_version %lld is not valid",
                         (long long)meta->expected_version);
            at_error_detail(err, "It is 0 (no check), -1 (the stream must not exist yet) or the "
                                 "stream's current version.");
            return AT_VALIDATION;
        }
    }
    ProtobufCMessage *m = protobuf_c_message_unpack(cmd->request, alloc, len, data);
    if (!m) {
        at_error_set(err, AT_MALFORMED, NULL, "cannot decode the request as %s", cmd->request->name);
        at_error_detail(err, "The %zu bytes are not a valid protobuf encoding of %s.", len,
                        cmd->request->name);
        at_error_hint(err, "send the protobuf encoding of %s", cmd->request->name);
        return AT_MALFORMED;
    }
    char path[128] = "";
    if (!strings_valid(m, 0, path, sizeof path, 0)) {
        at_error_set(err, AT_MALFORMED, path, "field \"%s\" is not valid UTF-8", path);
        at_error_detail(err, "Protobuf strings must be UTF-8.");
        return AT_MALFORMED;
    }

    svc_request req = {
        .service = s,
        .es = s->es,
        .bus = s->bus,
        .tenant = sj.tenant,
        .name = cmd->name,
        .command_id = meta ? meta->command_id : "",
        .actor = meta && meta->actor ? meta->actor : "",
        .correlation_id = meta && meta->correlation_id ? meta->correlation_id : "",
        .expected_version = meta ? expected_from_meta(meta->expected_version) : ES_VERSION_ANY,
        .msg = m,
        .arena = arena,
    };
    bool done = false;
    at_code code = AT_OK;
    if ((cmd->flags & SVC_REPLAY) && !(cmd->flags & SVC_QUERY))
        code = svc__replay(&req, reply, &done, err);
    if (code == AT_OK && !done)
        code = cmd->fn(&req, reply, err);
    if (code != AT_OK) {
        if (err->code == AT_OK || !err->message[0])
            at_error_set(err, code, NULL, "%s failed without saying why", cmd->name);
        err->code = code;
        return code;
    }
    if (!*reply) {
        at_error_set(err, AT_INTERNAL, NULL, "%s returned no reply", cmd->name);
        at_error_hint(err, "retry with the same command id");
        return AT_INTERNAL;
    }
    return AT_OK;
}

static void work_cb(uv_work_t *w)
{
    svc_job *j = w->data;
    svc *s = j->s;
    size_t slot = s->def->n_commands;
    at_error err;
    at_error_clear(&err);
    at_arena *arena = arena_get(s);
    ProtobufCMessage *reply = NULL;
    at_code code;
    if (!arena) {
        code = at_error_set(&err, AT_INTERNAL, NULL, "could not handle the request: out of memory");
        at_error_hint(&err, "retry with the same command id");
    } else {
        code = run(s, j->msg, arena, &slot, &reply, &err);
    }
    const char *has_reply = natsMsg_GetReply(j->msg);
    if (code == AT_OK) {
        at_error rerr;
        at_error_clear(&rerr);
        at_code rc = has_reply ? bus_reply(s->bus, j->msg, reply, &rerr) : AT_OK;
        if (rc == AT_TOO_LARGE) {
            /* the handler's effects stand; the client learns the reply did not fit */
            bus_reply_error(s->bus, j->msg, &rerr);
            code = rc;
            err = rerr;
        } else if (rc != AT_OK) {
            svc_log_kv(SVC_LOG_WARN, "could not send the reply", "subject",
                       natsMsg_GetSubject(j->msg), "error", rerr.message, "detail", rerr.detail, NULL);
        }
    } else if (has_reply) {
        bus_reply_error(s->bus, j->msg, &err);
    }
    count(s, slot, code, j->received_ns);
    if (code == AT_INTERNAL || code == AT_UNAVAILABLE) {
        svc_log_kv(SVC_LOG_WARN, "request failed", "subject", natsMsg_GetSubject(j->msg), "code",
                   at_code_name(code), "error", err.message, "detail", err.detail, NULL);
    } else if (svc_log_enabled(SVC_LOG_DEBUG)) {
        svc_log_kv(SVC_LOG_DEBUG, "request", "subject", natsMsg_GetSubject(j->msg), "code",
                   code == AT_OK ? "OK" : at_code_name(code), "error", err.message, NULL);
    }
    natsMsg_Destroy(j->msg);
    j->msg = NULL;
    arena_put(s, arena);
}

static void after_cb(uv_work_t *w, int status)
{
    (void)status;
    svc_job *j = w->data;
    svc *s = j->s;
    pthread_mutex_lock(&s->mu);
    s->inflight--;
    j->next = s->free_jobs;
    s->free_jobs = j;
    pthread_mutex_unlock(&s->mu);
    if (s->state != SVC_RUNNING)
        svc__shutdown_step(s);
}

/* ---- helpers for handlers ---- */

ProtobufCMessage *svc_reply_appended(svc_request *req, const char *stream_id, const char *key,
                                     const es_append_res *res)
{
    Atb__V1__CommandReply *r = at_arena_alloc(req->arena, sizeof *r);
    if (!r)
        return NULL;
    atb__v1__command_reply__init(r);
    r->stream_id = at_arena_strdup(req->arena, stream_id ? stream_id : "");
    r->key = at_arena_strdup(req->arena, key ? key : "");
    if (!r->stream_id || !r->key)
        return NULL;
    if (res) {
        r->version = res->version;
        r->first_position = res->first_position;
        r->last_position = res->last_position;
        r->duplicate = res->duplicate;
    }
    return &r->base;
}

void svc_append_req_init(const svc_request *req, es_append_req *out)
{
    memset(out, 0, sizeof *out);
    out->tenant = req->tenant;
    out->command_id = req->command_id && *req->command_id ? req->command_id : NULL;
    out->correlation_id = req->correlation_id && *req->correlation_id ? req->correlation_id : NULL;
    out->actor = req->actor && *req->actor ? req->actor : NULL;
    out->expected_version = req->expected_version;
}

void svc_metric_add(svc *s, const char *name, int64_t n)
{
    if (!s || !name)
        return;
    size_t len = strlen(name);
    bool ok = len > 0 && len < sizeof s->custom[0].name && name[0] >= 'a' && name[0] <= 'z';
    for (size_t i = 0; ok && i < len; i++)
        ok = (name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') || name[i] == '_';
    if (!ok) {
        svc_log_kv(SVC_LOG_WARN, "metric name refused", "metric", name, "rule",
                   "[a-z][a-z0-9_]*, at most 48 bytes", NULL);
        return;
    }
    pthread_mutex_lock(&s->custom_mu);
    int i;
    for (i = 0; i < s->n_custom; i++)
        if (strcmp(s->custom[i].name, name) == 0)
            break;
    if (i == s->n_custom) {
        if (s->n_custom == SVC_MAX_CUSTOM) {
            static atomic_bool warned;
            pthread_mutex_unlock(&s->custom_mu);
            if (!atomic_exchange(&warned, true))
                svc_log_kv(SVC_LOG_WARN, "too many metric names; ignoring the new ones", "metric",
                           name, NULL);
            return;
        }
        snprintf(s->custom[i].name, sizeof s->custom[i].name, "%s", name);
        atomic_store(&s->custom[i].value, 0);
        s->n_custom++;
    }
    atomic_fetch_add(&s->custom[i].value, n);
    pthread_mutex_unlock(&s->custom_mu);
}
