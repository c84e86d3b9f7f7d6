/*
 * subject.c -- building, checking and splitting the subjects of docs/events.md.
 *
 * Invariants: every subject this library publishes or subscribes to has the shape
 * "<prefix>.<kind>.<tenant>.<service or category>.<name>", each token valid for
 * bus_token_valid. Public builders refuse an invalid token (-1); the relay, which must
 * publish whatever the log holds, sanitises instead (bus__token_sanitize) and keeps the
 * exact values in the envelope, so nothing is lost.
 *
 * When adding a kind of subject, also change bus_subject_parse and docs/events.md.
 */
#include "bus_int.h"

#include <stdio.h>
#include <string.h>

/* Bytes a subject token may not hold: the separators and wildcards of NATS, and white
 * space and control bytes, which end a protocol line or split arguments. */
static bool byte_forbidden(unsigned char c)
{
    return c == '.' || c == '*' || c == '>' || c <= ' ' || c == 0x7f;
}

bool bus_token_valid(const char *s)
{
    if (!s || !*s)
        return false;
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++, n++) {
        if (n >= BUS_TOKEN_MAX || byte_forbidden(*p))
            return false;
    }
    return true;
}

void bus__token_sanitize(char *out, size_t n, const char *s)
{
    size_t max = n - 1 < BUS_TOKEN_MAX ? n - 1 : BUS_TOKEN_MAX;
    size_t i = 0;
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p && i < max; p++)
        out[i++] = byte_forbidden(*p) ? '_' : (char)*p;
    if (i == 0)
        out[i++] = '_';
    out[i] = 0;
}

static int build(const bus *b, char *buf, size_t n, const char *kind, const char *a,
                 const char *c, const char *d)
{
    if (!bus_token_valid(a) || !bus_token_valid(c) || !bus_token_valid(d))
        return -1;
    int len = snprintf(buf, n, "%s.%s.%s.%s.%s", b->prefix, kind, a, c, d);
    if (len < 0 || (size_t)len >= n)
        return -1;
    return len;
}

int bus_subject_event(const bus *b, char *buf, size_t n, const char *tenant,
                      const char *category, const char *type)
{
    return build(b, buf, n, "evt", tenant, category, type);
}

int bus_subject_command(const bus *b, char *buf, size_t n, const char *tenant,
                        const char *service, const char *command)
{
    return build(b, buf, n, "cmd", tenant, service, command);
}

int bus_subject_query(const bus *b, char *buf, size_t n, const char *tenant,
                      const char *service, const char *query)
{
    return build(b, buf, n, "qry", tenant, service, query);
}

int bus__subject_event_sanitized(const bus *b, char *buf, size_t n, const es_event *ev)
{
    char t[BUS_TOKEN_MAX + 1], c[BUS_TOKEN_MAX + 1], y[BUS_TOKEN_MAX + 1];
    bus__token_sanitize(t, sizeof t, ev->tenant);
    bus__token_sanitize(c, sizeof c, ev->category);
    bus__token_sanitize(y, sizeof y, ev->type);
    return build(b, buf, n, "evt", t, c, y);
}

/* Copy the token [s, s+len) into out (size n) if it is valid and fits. */
static bool take_token(const char *s, size_t len, char *out, size_t n)
{
    if (len == 0 || len >= n || len > BUS_TOKEN_MAX)
        return false;
    memcpy(out, s, len);
    out[len] = 0;
    return bus_token_valid(out);
}

at_code bus_subject_parse(const bus *b, const char *subject, bus_subject *out, at_error *err)
{
    memset(out, 0, sizeof *out);
    size_t plen = strlen(b->prefix);
    if (!subject || strncmp(subject, b->prefix, plen) != 0 || subject[plen] != '.') {
        at_error_set(err, AT_VALIDATION, "subject", "subject \"%s\" does not start with \"%s.\"",
                     subject ? subject : "", b->prefix);
        return AT_VALIDATION;
    }
    const char *p = subject + plen + 1;
    const char *tok[4];
    size_t len[4];
    for (int i = 0; i < 4; i++) {
        const char *dot = strchr(p, '.');
        if (i < 3 && !dot)
            goto bad;
        if (i == 3 && dot)
            goto bad;
        tok[i] = p;
        len[i] = dot ? (size_t)(dot - p) : strlen(p);
        p = dot ? dot + 1 : p + len[i];
    }
    if (!take_token(tok[0], len[0], out->kind, sizeof out->kind) ||
        (strcmp(out->kind, "evt") != 0 && strcmp(out->kind, "cmd") != 0 &&
         strcmp(out->kind, "qry") != 0))
        goto bad;
    if (!take_token(tok[1], len[1], out->tenant, sizeof out->tenant) ||
        !take_token(tok[2], len[2], out->service, sizeof out->service) ||
        !take_token(tok[3], len[3], out->name, sizeof out->name))
        goto bad;
    return AT_OK;
bad:
    memset(out, 0, sizeof *out);
    at_error_set(err, AT_VALIDATION, "subject", "subject \"%s\" is not <prefix>.<kind>.<tenant>.<service>.<name>",
                 subject);
    at_error_detail(err, "The kind is evt, cmd or qry; each of the other tokens is non-empty, at "
                         "most %d bytes, without '.', '*', '>' or white space.", BUS_TOKEN_MAX);
    return AT_VALIDATION;
}
