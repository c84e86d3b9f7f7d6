/*
 * This file is private to libs/bus.
 *
 * The bus handle and the functions the files of the library share (bus__ prefix).
 */
#ifndef BUS_INT_H
#define BUS_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <nats/nats.h>

#include "bus.h"
#include "atb/v1/envelope.pb-c.h"

#define BUS_TOKEN_MAX 64          /* bytes in one subject token (bus_token_valid) */
#define BUS_PREFIX_MAX 128        /* bytes in the subject prefix */
#define BUS_STREAM_MAX 64         /* bytes in a stream name */
#define BUS_SUBJECT_MAX 512       /* bytes in any subject this library builds */

/* Publish-async window of every JetStream context the library creates. */
#define BUS_ASYNC_MAX_PENDING 4096

struct bus {
    natsConnection *nc;           /* owned; closed and destroyed by bus_close */
    jsCtx *js;                    /* owned */
    char prefix[BUS_PREFIX_MAX + 1];
    char stream[BUS_STREAM_MAX + 1];
    int replicas;
    bool on_uv;                   /* the connection is driven by a libuv loop */
};

/* conn.c: fill err from a libnats failure; the detail carries libnats' text and the
 * JetStream error code when there is one. Returns code. */
at_code bus__nats_error(at_error *err, at_code code, natsStatus s, jsErrCode jerr,
                        const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* conn.c: a JetStream context on b's connection with the library's publish-async
 * settings; err_cb (may be NULL) gets failed asynchronous publishes. */
natsStatus bus__js_new(bus *b, jsCtx **out, jsPubAckErrHandler err_cb, void *closure);

/* uvadapter.c: attach opts to a libuv loop (the only file that includes the adapter). */
natsStatus bus__uv_attach(natsOptions *opts, void *uv_loop);

/* subject.c: copy s into out (n >= 2) as a valid subject token, replacing what a token
 * may not hold by '_' and cutting it at BUS_TOKEN_MAX bytes. Never fails. */
void bus__token_sanitize(char *out, size_t n, const char *s);
/* subject.c: "<prefix>.evt.<tenant>.<category>.<type>" with every token sanitised;
 * the length, or -1 if buf is too small. */
int bus__subject_event_sanitized(const bus *b, char *buf, size_t n, const es_event *ev);

/* envelope.c: pack ev into *buf (grown with realloc, *cap its size); returns the length
 * or 0 when out of memory. */
size_t bus__envelope_pack_into(const es_event *ev, uint8_t **buf, size_t *cap);
/* envelope.c: the es_event view of an unpacked envelope (strings point into env). */
void bus__envelope_to_event(const Atb__V1__EventEnvelope *env, es_event *ev);

/* stream.c: decimal int64 > 0 from a header value; false if it is not one. */
bool bus__parse_position(const char *s, int64_t *out);

#endif
