/*
 * reqrep.c -- protobuf request/reply over core NATS (commands and queries).
 *
 * Invariants: a reply always goes to the request's own reply subject (its inbox), never to
 * a subject the replier chooses; an error reply is an atb.v1.CommandReply whose only field
 * is `error`, which any reply type decodes because every reply has Error at field 1.
 */
#include "bus_int.h"

#include <stdlib.h>
#include <string.h>

#include "atb/v1/common.pb-c.h"

/* Messages up to this size are packed on the stack. */
#define STACK_PACK 2048

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
    natsStatus s = natsConnection_Request(reply, b->nc, subject, buf, (int)len, timeout_ms);
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
        bus__nats_error(err, AT_UNAVAILABLE, s, 0, "could not get a reply on %s within %d ms",
                        subject, timeout_ms);
        at_error_hint(err, "retry with the same command id; a command that did run is not run "
                           "twice");
        return AT_UNAVAILABLE;
    }
    if (s == NATS_MAX_PAYLOAD)
        return bus__nats_error(err, AT_TOO_LARGE, s, 0, "request of %zu bytes exceeds the NATS payload limit",
                               len);
    return bus__nats_error(err, AT_UNAVAILABLE, s, 0, "could not send the request on %s", subject);
}
