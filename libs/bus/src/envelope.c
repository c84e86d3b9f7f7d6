/*
 * envelope.c -- es_event <-> atb.v1.EventEnvelope (proto/atb/v1/envelope.proto).
 *
 * Invariant: bus__envelope_to_event(unpack(pack(ev))) gives back every field of ev, with
 * "" for a string ev left NULL (proto3 has no NULL string). The envelope is the whole body
 * of an event message, so a consumer needs nothing but the message to handle it.
 *
 * When adding a field to EventEnvelope, also add it to es_event (libs/eventstore) and to
 * both functions here.
 */
#include "bus_int.h"

#include <stdlib.h>
#include <string.h>

/* protobuf-c's generated structs hold `char *`; packing never writes through them. */
static char *cs(const char *s)
{
    return (char *)(s ? s : "");
}

static void fill(Atb__V1__EventEnvelope *env, const es_event *ev)
{
    env->position = ev->position;
    env->event_id = cs(ev->event_id);
    env->tenant = cs(ev->tenant);
    env->stream_id = cs(ev->stream_id);
    env->version = ev->version;
    env->type = cs(ev->type);
    env->occurred_at_us = ev->occurred_at_us;
    env->recorded_at_us = ev->recorded_at_us;
    env->causation_id = cs(ev->causation_id);
    env->correlation_id = cs(ev->correlation_id);
    env->command_id = cs(ev->command_id);
    env->actor = cs(ev->actor);
    env->payload.data = (uint8_t *)(ev->payload_len ? ev->payload : NULL);
    env->payload.len = ev->payload_len;
    env->category = cs(ev->category);
}

size_t bus__envelope_pack_into(const es_event *ev, uint8_t **buf, size_t *cap)
{
    Atb__V1__EventEnvelope env = ATB__V1__EVENT_ENVELOPE__INIT;
    fill(&env, ev);
    size_t need = atb__v1__event_envelope__get_packed_size(&env);
    if (need == 0)
        need = 1;   /* keep a non-NULL buffer even for an all-default envelope */
    if (!*buf || *cap < need) {
        size_t ncap = *cap ? *cap : 256;
        while (ncap < need)
            ncap *= 2;
        uint8_t *nb = realloc(*buf, ncap);
        if (!nb)
            return 0;
        *buf = nb;
        *cap = ncap;
    }
    return atb__v1__event_envelope__pack(&env, *buf);
}

size_t bus_envelope_pack(const es_event *ev, uint8_t **buf)
{
    *buf = NULL;
    size_t cap = 0;
    size_t n = bus__envelope_pack_into(ev, buf, &cap);
    if (n == 0) {
        free(*buf);
        *buf = NULL;
    }
    return n;
}

void bus__envelope_to_event(const Atb__V1__EventEnvelope *env, es_event *ev)
{
    memset(ev, 0, sizeof *ev);
    ev->position = env->position;
    ev->event_id = env->event_id;
    ev->tenant = env->tenant;
    ev->stream_id = env->stream_id;
    ev->category = env->category;
    ev->version = env->version;
    ev->type = env->type;
    ev->occurred_at_us = env->occurred_at_us;
    ev->recorded_at_us = env->recorded_at_us;
    ev->causation_id = env->causation_id;
    ev->correlation_id = env->correlation_id;
    ev->command_id = env->command_id;
    ev->actor = env->actor;
    ev->payload = env->payload.len ? env->payload.data : (const uint8_t *)"";
    ev->payload_len = env->payload.len;
}
