/*
 * pingsvc.c -- a small service built on libs/service, run by the tests as a child process.
 *
 * Command Ping appends one Pinged event to ping-<id>; query Count counts the events of
 * ping-<id>. It also runs the relay and one consumer, pingsvc_notes, which writes the
 * position of every ping event into its own table pingsvc.notes (created by its one
 * migration), so the tests see the whole path: command -> log -> stream -> consumer.
 * It connects as role atb_pingsvc, which the tests create (the naming rule atb_<name>).
 */
#include <libpq-fe.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "at_uuid.h"
#include "svc.h"
#include "svctest.pb-c.h"

static at_code ping(svc_request *req, ProtobufCMessage **reply, at_error *err)
{
    const Atb__Svctest__Ping *p = (const Atb__Svctest__Ping *)req->msg;
    if (!at_uuid_valid(p->id))
        return at_error_set(err, AT_VALIDATION, "id", "id is not a UUID");
    if (p->sleep_ms < 0 || p->sleep_ms > 10000)
        return at_error_set(err, AT_VALIDATION, "sleep_ms", "sleep_ms must be 0..10000, not %d",
                            (int)p->sleep_ms);
    if (p->sleep_ms > 0) {
        struct timespec ts = {p->sleep_ms / 1000, (long)(p->sleep_ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
    Atb__Svctest__Pinged ev = ATB__SVCTEST__PINGED__INIT;
    ev.id = p->id;
    ev.note = p->note;
    size_t n = atb__svctest__pinged__get_packed_size(&ev);
    uint8_t *buf = at_arena_alloc(req->arena, n + 1);
    if (!buf)
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    atb__svctest__pinged__pack(&ev, buf);

    char stream[64];
    snprintf(stream, sizeof stream, "ping-%s", p->id);
    es_event_in e = {.type = "Pinged", .payload = buf, .payload_len = n};
    es_append_req ar;
    svc_append_req_init(req, &ar);
    ar.stream_id = stream;
    ar.events = &e;
    ar.n_events = 1;
    es_append_res res;
    es_status st = es_append(req->es, &ar, &res, err);
    if (st != ES_OK)
        return es_status_code(st);
    svc_metric_add(req->service, "pings", 1);
    *reply = svc_reply_appended(req, stream, p->id, &res);
    return *reply ? AT_OK : at_error_set(err, AT_INTERNAL, NULL, "out of memory");
}

static at_code count(svc_request *req, ProtobufCMessage **reply, at_error *err)
{
    const Atb__Svctest__Count *q = (const Atb__Svctest__Count *)req->msg;
    if (!at_uuid_valid(q->id))
        return at_error_set(err, AT_VALIDATION, "id", "id is not a UUID");
    char stream[64];
    snprintf(stream, sizeof stream, "ping-%s", q->id);
    es_batch *b = NULL;
    es_status st = es_read_stream(req->es, stream, 1, SIZE_MAX, &b, err);
    if (st != ES_OK)
        return es_status_code(st);
    Atb__Svctest__CountReply *r = at_arena_alloc(req->arena, sizeof *r);
    if (!r) {
        es_batch_free(b);
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    }
    atb__svctest__count_reply__init(r);
    r->count = (int64_t)es_batch_count(b);
    if (r->count > 0)
        r->version = es_batch_get(b, (size_t)r->count - 1)->version;
    es_batch_free(b);
    *reply = &r->base;
    return AT_OK;
}

static at_code note(void *ctx, es_txn *txn, const es_event *ev, at_error *err)
{
    (void)ctx;
    char pos[24];
    snprintf(pos, sizeof pos, "%lld", (long long)ev->position);
    const char *params[2] = {pos, ev->stream_id};
    PGresult *r = PQexecParams(es_txn_conn(txn),
                               "INSERT INTO pingsvc.notes (position, stream_id) VALUES ($1, $2)", 2,
                               NULL, params, NULL, NULL, 0);
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok)
        at_error_set(err, AT_UNAVAILABLE, NULL, "could not record the note: %.100s",
                     PQresultErrorMessage(r));
    PQclear(r);
    return ok ? AT_OK : AT_UNAVAILABLE;
}

static const svc_command commands[] = {
    {"Ping", &atb__svctest__ping__descriptor, ping, 0},
    {"Count", &atb__svctest__count__descriptor, count, SVC_QUERY},
};

static const char *const ping_categories[] = {"ping"};

static const svc_consumer consumers[] = {
    {"pingsvc_notes", ping_categories, 1, note, NULL},
};

static const char *const migrations[] = {
    "CREATE TABLE notes (position bigint PRIMARY KEY, stream_id text NOT NULL);\n"
    "GRANT SELECT, INSERT ON notes TO atb_pingsvc;\n",
};

static const svc_def def = {
    .name = "pingsvc",
    .commands = commands,
    .n_commands = sizeof commands / sizeof commands[0],
    .consumers = consumers,
    .n_consumers = 1,
    .migrations = migrations,
    .n_migrations = 1,
    .run_relay = true,
};

int main(int argc, char **argv)
{
    return svc_main(&def, argc, argv);
}
