/*
 * bustest.c -- see bustest.h.
 */
#include "bustest.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <libpq-fe.h>
#include <nats/nats.h>

extern char **environ;

static void die(const char *what, const at_error *err)
{
    fprintf(stderr, "FATAL: %s: %s (%s) %s\n", what, err ? err->message : "", err ? err->detail : "",
            err ? err->hint : "");
    exit(1);
}

int64_t h_append(es_store *es, const char *tenant, const char *category, const char *type,
                 size_t n, size_t per_append)
{
    static unsigned stream_no;
    es_event_in *evs = calloc(per_append, sizeof *evs);
    uint64_t *payloads = calloc(per_append, sizeof *payloads);
    int64_t last = 0;
    size_t done = 0;
    char stem[48];
    t_unique(stem, sizeof stem, "s");
    while (done < n) {
        size_t k = n - done < per_append ? n - done : per_append;
        for (size_t i = 0; i < k; i++) {
            payloads[i] = (uint64_t)(done + i);
            evs[i].type = type;
            evs[i].payload = (const uint8_t *)&payloads[i];
            evs[i].payload_len = sizeof payloads[i];
        }
        char sid[128];
        snprintf(sid, sizeof sid, "%s-%s%u", category, stem, stream_no++);
        es_append_req req = { 0 };
        req.tenant = tenant;
        req.stream_id = sid;
        req.expected_version = ES_VERSION_ANY;
        req.actor = "service:test";
        req.events = evs;
        req.n_events = k;
        es_append_res res;
        at_error err;
        at_error_clear(&err);
        es_status st = es_append(es, &req, &res, &err);
        if (st != ES_OK)
            die("es_append", &err);
        last = res.last_position;
        done += k;
    }
    free(evs);
    free(payloads);
    return last;
}

void h_stream_state(bus *b, uint64_t *msgs, uint64_t *last_seq)
{
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    natsStatus s = js_GetStreamInfo(&si, bus_js(b), bus_stream_name(b), NULL, &jerr);
    if (s == NATS_NOT_FOUND) {
        *msgs = 0;
        *last_seq = 0;
        return;
    }
    if (s != NATS_OK) {
        fprintf(stderr, "FATAL: stream info: %s (%d)\n", natsStatus_GetText(s), (int)jerr);
        exit(1);
    }
    *msgs = si->State.Msgs;
    *last_seq = si->State.LastSeq;
    jsStreamInfo_Destroy(si);
}

static void copy_header(natsMsg *m, const char *key, char *out, size_t n)
{
    const char *v = NULL;
    out[0] = 0;
    if (natsMsgHeader_Get(m, key, &v) == NATS_OK && v)
        snprintf(out, n, "%s", v);
}

size_t h_read_stream(bus *b, h_msg **out)
{
    uint64_t msgs = 0, last = 0;
    h_stream_state(b, &msgs, &last);
    *out = calloc(msgs ? msgs : 1, sizeof **out);
    if (msgs == 0)
        return 0;
    char subject[256];
    snprintf(subject, sizeof subject, "%s.>", bus_prefix(b));
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = bus_stream_name(b);
    so.Ordered = true;
    natsSubscription *sub = NULL;
    jsErrCode jerr = 0;
    natsStatus s = js_SubscribeSync(&sub, bus_js(b), subject, NULL, &so, &jerr);
    if (s != NATS_OK) {
        fprintf(stderr, "FATAL: ordered consumer: %s (%d) %s\n", natsStatus_GetText(s), (int)jerr,
                nats_GetLastError(NULL));
        exit(1);
    }
    size_t n = 0;
    while (n < msgs) {
        natsMsg *m = NULL;
        s = natsSubscription_NextMsg(&m, sub, 10000);
        if (s != NATS_OK) {
            fprintf(stderr, "FATAL: reading the stream back: %s after %zu of %" PRIu64 " messages\n",
                    natsStatus_GetText(s), n, msgs);
            exit(1);
        }
        jsMsgMetaData *meta = NULL;
        if (natsMsg_GetMetaData(&meta, m) != NATS_OK) {
            fprintf(stderr, "FATAL: message without JetStream metadata\n");
            exit(1);
        }
        h_msg *h = &(*out)[n++];
        h->seq = meta->Sequence.Stream;
        jsMsgMetaData_Destroy(meta);
        snprintf(h->subject, sizeof h->subject, "%s", natsMsg_GetSubject(m));
        copy_header(m, "Nats-Msg-Id", h->msg_id, sizeof h->msg_id);
        copy_header(m, "Atb-Position", h->position, sizeof h->position);
        copy_header(m, "Atb-Type", h->type, sizeof h->type);
        copy_header(m, "Atb-Tenant", h->tenant, sizeof h->tenant);
        h->len = (size_t)natsMsg_GetDataLength(m);
        h->data = malloc(h->len ? h->len : 1);
        memcpy(h->data, natsMsg_GetData(m), h->len);
        natsMsg_Destroy(m);
    }
    /* An ephemeral consumer: unsubscribing deletes it, which is what we want here. */
    natsSubscription_Unsubscribe(sub);
    natsSubscription_Destroy(sub);
    return n;
}

void h_msgs_free(h_msg *m, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(m[i].data);
    free(m);
}

es_store *h_es_open(const char *conninfo)
{
    es_config cfg = { 0 };
    cfg.conninfo = conninfo;
    cfg.pool_size = 4;
    cfg.application_name = "test_bus";
    es_store *es = NULL;
    at_error err;
    at_error_clear(&err);
    if (es_open(&es, &cfg, &err) != ES_OK)
        die("es_open", &err);
    return es;
}

bus *h_bus_connect(const char *prefix, const char *stream)
{
    bus_config cfg = { 0 };
    cfg.url = t_nats_url();
    cfg.name = "test_bus";
    cfg.prefix = prefix;
    cfg.stream = stream;
    bus *b = NULL;
    at_error err;
    at_error_clear(&err);
    if (bus_connect(&b, &cfg, &err) != AT_OK)
        die("bus_connect", &err);
    return b;
}

pid_t h_spawn_self(const char *fault_env, const char *const *args)
{
    char self[4096];
    ssize_t k = readlink("/proc/self/exe", self, sizeof self - 1);
    if (k <= 0) {
        perror("readlink /proc/self/exe");
        exit(1);
    }
    self[k] = 0;
    const char *argv[32];
    size_t n = 0;
    argv[n++] = self;
    for (; args[n - 1] && n < 31; n++)
        argv[n] = args[n - 1];
    argv[n] = NULL;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        exit(1);
    }
    if (pid == 0) {
        if (fault_env)
            putenv((char *)fault_env);
        else
            unsetenv("ATB_FAULT");
        execv(self, (char *const *)argv);
        perror("execv");
        _exit(127);
    }
    return pid;
}

int h_wait(pid_t pid)
{
    int st = 0;
    if (waitpid(pid, &st, 0) != pid)
        return -1;
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    return 128 + WTERMSIG(st);
}

void h_relay_drain(es_store *es, bus *b)
{
    bus_relay *r = NULL;
    at_error err;
    at_error_clear(&err);
    if (bus_relay_open(&r, es, b, 1000, &err) != AT_OK)
        die("bus_relay_open", &err);
    for (;;) {
        size_t n = 0;
        if (bus_relay_step(r, 0, &n, &err) != AT_OK)
            die("bus_relay_step", &err);
        if (n == 0)
            break;
    }
    bus_relay_close(r);
}

int64_t h_sql(const char *conninfo, const char *sql)
{
    PGconn *c = PQconnectdb(conninfo);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "FATAL: connect: %s", PQerrorMessage(c));
        exit(1);
    }
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        fprintf(stderr, "FATAL: %s: %s", sql, PQerrorMessage(c));
        exit(1);
    }
    int64_t v = 0;
    if (st == PGRES_TUPLES_OK && PQntuples(r) > 0 && !PQgetisnull(r, 0, 0))
        v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    PQfinish(c);
    return v;
}
