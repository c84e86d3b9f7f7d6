/*
 * stream.c -- the JetStream stream that caches the log.
 *
 * Invariants: the stream captures exactly "<prefix>.evt.>", stores on file, keeps
 * everything (no age, size or count limit: it is a copy of the whole log) and remembers
 * message ids for 2 minutes, so an event the relay publishes twice (after a failed or
 * unconfirmed batch) is stored once. Its last message's Atb-Position header is where the
 * relay resumes.
 *
 * When changing the stream configuration, also change docs/events.md and the check in
 * bus_stream_ensure that accepts an existing stream.
 */
#include "bus_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The duplicate window, in nanoseconds as JetStream wants it. */
#define DUPLICATE_WINDOW_NS (2LL * 60 * 1000 * 1000 * 1000)
/* How many deleted sequences at the tail of the stream bus_stream_last_position steps over
 * before it gives up (each is one request). */
#define LAST_POSITION_MAX_PROBES 10000

bool bus__parse_position(const char *s, int64_t *out)
{
    if (!s || *s < '1' || *s > '9')
        return false;
    errno = 0;
    char *end = NULL;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || !end || *end != 0 || v <= 0)
        return false;
    *out = v;
    return true;
}

at_code bus_stream_ensure(bus *b, at_error *err)
{
    char subject[BUS_SUBJECT_MAX];
    snprintf(subject, sizeof subject, "%s.evt.>", b->prefix);

    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    natsStatus s = js_GetStreamInfo(&si, b->js, b->stream, NULL, &jerr);
    if (s == NATS_OK) {
        bool ok = si->Config && si->Config->SubjectsLen == 1 &&
                  strcmp(si->Config->Subjects[0], subject) == 0;
        jsStreamInfo_Destroy(si);
        if (ok)
            return AT_OK;
        at_error_set(err, AT_CONFLICT, "stream", "stream %s exists with other subjects", b->stream);
        at_error_detail(err, "The events stream must capture exactly \"%s\" and nothing else.",
                        subject);
        at_error_hint(err, "delete the stream (the relay rebuilds it from the log) or configure "
                           "another stream name");
        return AT_CONFLICT;
    }
    if (s != NATS_NOT_FOUND)
        return bus__nats_error(err, AT_UNAVAILABLE, s, jerr, "could not look up stream %s",
                               b->stream);

    jsStreamConfig cfg;
    jsStreamConfig_Init(&cfg);
    const char *subjects[1] = { subject };
    cfg.Name = b->stream;
    cfg.Description = "atbalsts events: a cache of the PostgreSQL log";
    cfg.Subjects = subjects;
    cfg.SubjectsLen = 1;
    cfg.Storage = js_FileStorage;
    cfg.Retention = js_LimitsPolicy;
    cfg.Replicas = b->replicas;
    cfg.Duplicates = DUPLICATE_WINDOW_NS;
    cfg.MaxMsgs = -1;
    cfg.MaxBytes = -1;
    cfg.MaxAge = 0;
    cfg.MaxMsgsPerSubject = -1;
    cfg.MaxConsumers = -1;
    cfg.Discard = js_DiscardOld;
    cfg.AllowDirect = true;
    jerr = 0;
    s = js_AddStream(NULL, b->js, &cfg, NULL, &jerr);
    if (s == NATS_OK || jerr == JSStreamNameExistErr)   /* another process made it first */
        return AT_OK;
    bus__nats_error(err, AT_UNAVAILABLE, s, jerr, "could not create stream %s", b->stream);
    if (jerr == JSStreamSubjectOverlapErr) {
        err->code = AT_CONFLICT;
        at_error_hint(err, "another stream already captures \"%s\"; delete it or use another "
                           "prefix", subject);
        return AT_CONFLICT;
    }
    return AT_UNAVAILABLE;
}

at_code bus_stream_delete(bus *b, at_error *err)
{
    jsErrCode jerr = 0;
    natsStatus s = js_DeleteStream(b->js, b->stream, NULL, &jerr);
    if (s == NATS_OK)
        return AT_OK;
    if (s == NATS_NOT_FOUND)
        return at_error_set(err, AT_NOT_FOUND, "stream", "stream %s does not exist", b->stream);
    return bus__nats_error(err, AT_UNAVAILABLE, s, jerr, "could not delete stream %s", b->stream);
}

at_code bus_stream_last_position(bus *b, int64_t *position, at_error *err)
{
    *position = 0;
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    natsStatus s = js_GetStreamInfo(&si, b->js, b->stream, NULL, &jerr);
    if (s == NATS_NOT_FOUND)
        return at_error_set(err, AT_NOT_FOUND, "stream", "stream %s does not exist", b->stream);
    if (s != NATS_OK)
        return bus__nats_error(err, AT_UNAVAILABLE, s, jerr, "could not read stream %s",
                               b->stream);
    uint64_t msgs = si->State.Msgs, first = si->State.FirstSeq, last = si->State.LastSeq;
    jsStreamInfo_Destroy(si);
    if (msgs == 0)
        return AT_OK;

    /* The last sequence may have been deleted (operations, tests): step back to the last
     * message that exists. */
    int probes = 0;
    for (uint64_t seq = last; seq >= first && seq > 0; seq--) {
        if (++probes > LAST_POSITION_MAX_PROBES) {
            at_error_set(err, AT_INTERNAL, "stream",
                         "cannot find the last message of stream %s", b->stream);
            at_error_detail(err, "The %d sequences before %llu were all deleted.",
                            LAST_POSITION_MAX_PROBES, (unsigned long long)last);
            at_error_hint(err, "delete the stream; the relay rebuilds it from the log");
            return AT_INTERNAL;
        }
        natsMsg *m = NULL;
        jerr = 0;
        s = js_GetMsg(&m, b->js, b->stream, seq, NULL, &jerr);
        if (s == NATS_NOT_FOUND)
            continue;
        if (s != NATS_OK)
            return bus__nats_error(err, AT_UNAVAILABLE, s, jerr,
                                   "could not read message %llu of stream %s",
                                   (unsigned long long)seq, b->stream);
        const char *v = NULL;
        int64_t pos = 0;
        bool ok = natsMsgHeader_Get(m, "Atb-Position", &v) == NATS_OK && bus__parse_position(v, &pos);
        natsMsg_Destroy(m);
        if (!ok) {
            at_error_set(err, AT_MALFORMED, "stream",
                         "cannot resume: message %llu of stream %s has no valid Atb-Position header",
                         (unsigned long long)seq, b->stream);
            at_error_detail(err, "Every message in the events stream carries the global log "
                                 "position of its event; this one was published by something "
                                 "other than the relay.");
            at_error_hint(err, "delete the stream; the relay rebuilds it from the log");
            return AT_MALFORMED;
        }
        *position = pos;
        return AT_OK;
    }
    return AT_OK;
}
