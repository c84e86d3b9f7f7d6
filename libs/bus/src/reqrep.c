/*
 * reqrep.c -- protobuf request/reply over core NATS (commands and queries).
 *
 * Invariants: a reply always goes to the request's own reply subject (its inbox), never to
 * a subject the replier chooses; an error reply is an atb.v1.CommandReply whose only field
 * is `error`, which any reply type decodes because every reply has Error at field 1.
 * A request without an answer in time is sent once more (an instance that received it may
 * have died), and one answered UNAVAILABLE is sent again after a pause (its database was
 * restarting); commands are idempotent by command id, so that is always safe.
 */
#include "bus_int.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "atb/v1/common.pb-c.h"

/* Messages up to this size are packed on the stack. */
#define STACK_PACK 2048
/* How often bus_request sends a request that gets no answer (see there). */
#define REQUEST_SENDS 2
/* How often it sends again after an UNAVAILABLE reply, and the first pause (it doubles):
 * 0.25 + 0.5 + 1 + 2 + 4 s, enough for PostgreSQL to restart. */
#define UNAVAILABLE_RETRIES 5
#define UNAVAILABLE_FIRST_DELAY_MS 250

static bool varint(const uint8_t **p, const uint8_t *end, uint64_t *out)
{
    *out = 0;
    for (int shift = 0; shift < 64 && *p < end; shift += 7) {
        uint8_t byte = *(*p)++;
        *out |= (uint64_t)(byte & 0x7f) << shift;
        if (!(byte & 0x80))
            return true;
    }
    return false;
}

static void sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0)
        ;
}

static at_code publish_packed(bus *b, const char *subject, const ProtobufCMessage *msg,
                              at_error *err)
{
    uint8_t stack[STACK_PACK];
    size_t len = protobuf_c_message_get_packed_size(msg);
    uint8_t *buf = len <= sizeof stack ? stack : malloc(len);
    if (!buf)
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    protobuf_c_message_pack(msg, buf);
    natsStatus s = natsConnection_Publish(b->nc, subject, buf, (int)len);
    if (buf != stack)
        free(buf);
    if (s == NATS_MAX_PAYLOAD)
        return bus__nats_error(err, AT_TOO_LARGE, s, 0, "reply of %zu bytes exceeds the NATS payload limit",
                               len);
    if (s != NATS_OK)
        return bus__nats_error(err, AT_UNAVAILABLE, s, 0, "could not send the reply");
    return AT_OK;
}

at_code bus_reply(bus *b, natsMsg *req, const ProtobufCMessage *msg, at_error *err)
{
    const char *reply = req ? natsMsg_GetReply(req) : NULL;
    if (!reply || !*reply) {
        at_error_set(err, AT_VALIDATION, NULL, "cannot reply: the request has no reply subject");
        at_error_detail(err, "The message was published, not sent as a request, so nobody waits "
                             "for an answer.");
        return AT_VALIDATION;
    }
    return publish_packed(b, reply, msg, err);
}

at_code bus_reply_error(bus *b, natsMsg *req, const at_error *e)
{
    Atb__V1__Error er = ATB__V1__ERROR__INIT;
    Atb__V1__CommandReply rep = ATB__V1__COMMAND_REPLY__INIT;
    /* The message and detail are arrays inside *e; protobuf-c only reads them. */
    er.code = (Atb__V1__ErrorCode)(e && e->code != AT_OK ? e->code : AT_INTERNAL);
    er.message = (char *)(e ? e->message : "");
    er.detail = (char *)(e ? e->detail : "");
    er.hint = (char *)(e ? e->hint : "");
    er.field = (char *)(e ? e->field : "");
    rep.error = &er;
    return bus_reply(b, req, &rep.base, NULL);
}

/* True if the reply's field 1 (atb.v1.Error in every reply type) has code UNAVAILABLE.
 * Only field 1 is read from the wire, so any reply type works. */
static bool reply_unavailable(natsMsg *m)
{
    const uint8_t *p = (const uint8_t *)natsMsg_GetData(m);
    const uint8_t *end = p + natsMsg_GetDataLength(m);
    while (p && p < end) {
        uint64_t key = 0, n = 0;
        if (!varint(&p, end, &key))
            return false;
        switch (key & 7) {
        case 0: if (!varint(&p, end, &n)) return false; break;
        case 1: p += 8; break;
        case 5: p += 4; break;
        case 2:
            if (!varint(&p, end, &n) || n > (uint64_t)(end - p))
                return false;
            if ((key >> 3) == 1) {
                Atb__V1__Error *e = atb__v1__error__unpack(NULL, (size_t)n, p);
                bool unavailable = e && (int)e->code == (int)AT_UNAVAILABLE;
                atb__v1__error__free_unpacked(e, NULL);
                return unavailable;
            }
            p += n;
            break;
        default: return false;
        }
    }
    return false;
}

at_code bus_request(bus *b, const char *subject, const ProtobufCMessage *msg, int timeout_ms,
                    natsMsg **reply, at_error *err)
{
    *reply = NULL;
    if (!subject || !*subject)
        return at_error_set(err, AT_VALIDATION, "subject", "cannot send a request without a subject");
    if (timeout_ms <= 0)
        return at_error_set(err, AT_VALIDATION, "timeout_ms", "request timeout must be positive, not %d",
                            timeout_ms);
    uint8_t stack[STACK_PACK];
    size_t len = protobuf_c_message_get_packed_size(msg);
    uint8_t *buf = len <= sizeof stack ? stack : malloc(len);
    if (!buf)
        return at_error_set(err, AT_INTERNAL, NULL, "out of memory");
    protobuf_c_message_pack(msg, buf);
    /* With several instances of a service, a request handed to one that dies (kill -9, a
     * lost connection) is never answered. It is sent once more, the same bytes: a command
     * carries its command id and runs at most once, a query only reads; the queue group
     * hands the second one to a live instance. */
    natsStatus s = NATS_TIMEOUT;
    int timeouts = 0, delay_ms = UNAVAILABLE_FIRST_DELAY_MS;
    for (int unavailable = 0;;) {
        natsMsg_Destroy(*reply);
        *reply = NULL;
        s = natsConnection_Request(reply, b->nc, subject, buf, (int)len, timeout_ms);
        if (s == NATS_TIMEOUT && ++timeouts < REQUEST_SENDS)
            continue;
        /* "Could not": the service's database (say) is restarting. The protocol says to
         * send the same command again; do it here, with a growing pause. */
        if (s == NATS_OK && ++unavailable <= UNAVAILABLE_RETRIES && reply_unavailable(*reply)) {
            sleep_ms(delay_ms);
            delay_ms *= 2;
            continue;
        }
        break;
    }
    if (buf != stack)
        free(buf);
    if (s == NATS_OK)
        return AT_OK;
    natsMsg_Destroy(*reply);
    *reply = NULL;
    if (s == NATS_NO_RESPONDERS) {
        bus__nats_error(err, AT_UNAVAILABLE, s, 0, "no service answers %s", subject);
        at_error_hint(err, "start the service that handles this subject, then retry with the "
                           "same command id");
        return AT_UNAVAILABLE;
    }
    if (s == NATS_TIMEOUT) {
        bus__nats_error(err, AT_UNAVAILABLE, s, 0, "could not get a reply on %s within %d ms, "
                        "sent %d times", subject, timeout_ms, REQUEST_SENDS);
        at_error_hint(err, "retry with the same command id; a command that did run is not run "
                           "twice");
        return AT_UNAVAILABLE;
    }
    if (s == NATS_MAX_PAYLOAD)
        return bus__nats_error(err, AT_TOO_LARGE, s, 0, "request of %zu bytes exceeds the NATS payload limit",
                               len);
    return bus__nats_error(err, AT_UNAVAILABLE, s, 0, "could not send the request on %s", subject);
}
