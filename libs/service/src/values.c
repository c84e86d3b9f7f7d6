/*
 * values.c -- what every service's handlers need around their events: today's date in
 * Latvia, dates between protobuf and at_date, and an event packed from its message.
 * Pure but for svc_today(), which reads the clock.
 */
#include "svc.h"

#include <string.h>

#include "at_time.h"

/* EET/EEST: UTC+3 from the last Sunday of March to the last Sunday of October, 01:00 UTC
 * each; UTC+2 otherwise. A child born just after midnight in Riga must not be "born in
 * the future" because UTC is still on the day before. */
at_date svc_today(void)
{
    int64_t now = at_now_us();
    int y, m, d;
    at_date_to_ymd(at_date_of_us(now), &y, &m, &d);
    at_date mar, oct;
    at_date_from_ymd(y, 3, 31, &mar);
    at_date_from_ymd(y, 10, 31, &oct);
    mar -= (at_date_weekday(mar) + 1) % 7;   /* back to the Sunday (weekday 6) */
    oct -= (at_date_weekday(oct) + 1) % 7;
    const int64_t day_us = 86400LL * 1000000, hour_us = 3600LL * 1000000;
    bool summer = now >= (int64_t)mar * day_us + hour_us && now < (int64_t)oct * day_us + hour_us;
    return at_date_of_us(now + (summer ? 3 : 2) * hour_us);
}

bool svc_date_in(const Atb__V1__Date *d, at_date *out)
{
    if (!d || (d->year == 0 && d->month == 0 && d->day == 0)) {
        *out = AT_DATE_NONE;
        return true;
    }
    return at_date_from_ymd(d->year, d->month, d->day, out);
}

Atb__V1__Date *svc_date_out(at_arena *a, at_date d)
{
    if (d == AT_DATE_NONE)
        return NULL;
    Atb__V1__Date *p = at_arena_alloc(a, sizeof *p);
    if (!p)
        return NULL;
    atb__v1__date__init(p);
    int y, m, dd;
    at_date_to_ymd(d, &y, &m, &dd);
    p->year = y;
    p->month = m;
    p->day = dd;
    return p;
}

at_code svc_pack(at_arena *a, const ProtobufCMessage *m, const char *type, es_event_in *ev, at_error *err)
{
    size_t n = protobuf_c_message_get_packed_size(m);
    if (n > ES_MAX_PAYLOAD) {
        at_error_set(err, AT_TOO_LARGE, NULL, "the %s event is too large", type);
        at_error_detail(err, "It packs to %zu bytes; an event holds at most %u.", n, ES_MAX_PAYLOAD);
        return AT_TOO_LARGE;
    }
    uint8_t *buf = at_arena_alloc(a, n);
    if (!buf)
        return at_error_set(err, AT_INTERNAL, NULL, "could not build the %s event: out of memory", type);
    protobuf_c_message_pack(m, buf);
    memset(ev, 0, sizeof *ev);
    ev->type = type;
    ev->payload = buf;
    ev->payload_len = n;
    return AT_OK;
}
