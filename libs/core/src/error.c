/*
 * error.c -- at_error: one error shape for every library (see at_error.h).
 *
 * Invariants: every string of an at_error is NUL-terminated inside its fixed buffer and is
 * valid UTF-8. The second matters because the strings travel in protobuf `string` fields,
 * which other languages' decoders refuse when they are not UTF-8; a message that quotes a
 * caller's bytes ("%.40s" can cut "ā" in half) or that is truncated to its buffer would
 * otherwise break the reply that carries it. Bytes that are not UTF-8 become '?'.
 *
 * Every function formats into a scratch buffer first and copies afterwards, so the
 * arguments may point into the same at_error (wrapping: "could not save: %s", err->message).
 * A NULL err makes every call a no-op.
 *
 * When adding a code: add it last in at_error.h and in atb.v1.ErrorCode, and give it a
 * name in `names` below (tests/core/test_error.c checks that both enums agree).
 */
#include "at_error.h"

#include <stdio.h>
#include <string.h>

static const char *const names[] = {
    [AT_OK] = "OK",
    [AT_VALIDATION] = "VALIDATION",
    [AT_CONFLICT] = "CONFLICT",
    [AT_NOT_FOUND] = "NOT_FOUND",
    [AT_UNAUTHORISED] = "UNAUTHORISED",
    [AT_UNKNOWN_TENANT] = "UNKNOWN_TENANT",
    [AT_TOO_LARGE] = "TOO_LARGE",
    [AT_MALFORMED] = "MALFORMED",
    [AT_INTERNAL] = "INTERNAL",
    [AT_UNAVAILABLE] = "UNAVAILABLE",
    [AT_UNKNOWN_COMMAND] = "UNKNOWN_COMMAND",
};

/* Length of the UTF-8 sequence that starts at s (at most `left` bytes are readable), or 0
 * if the bytes there are not a well-formed sequence (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF). */
static size_t utf8_seq_len(const unsigned char *s, size_t left)
{
    unsigned char c = s[0];
    size_t n;
    unsigned char lo = 0x80, hi = 0xBF;   /* allowed range of the second byte */
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0)
            lo = 0xA0;   /* overlong */
        if (c == 0xED)
            hi = 0x9F;   /* surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0)
            lo = 0x90;   /* overlong */
        if (c == 0xF4)
            hi = 0x8F;   /* above U+10FFFF */
    } else {
        return 0;
    }
    if (n > left || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 0;
    return n;
}

/* Make s valid UTF-8 in place. A sequence cut off at the end (by truncation) is dropped so
 * the text does not end in '?'; any other bad byte becomes '?'. */
static void utf8_repair(char *s)
{
    unsigned char *p = (unsigned char *)s;
    size_t len = strlen(s);
    size_t i = 0;
    while (i < len) {
        size_t n = utf8_seq_len(p + i, len - i);
        if (n > 0) {
            i += n;
            continue;
        }
        /* A lead byte whose sequence runs past the end is a cut, not a bad byte. */
        if (p[i] >= 0xC2 && p[i] <= 0xF4 && len - i < 4) {
            size_t j = i + 1;
            while (j < len && p[j] >= 0x80 && p[j] <= 0xBF)
                j++;
            if (j == len) {
                p[i] = '\0';
                return;
            }
        }
        p[i++] = '?';
    }
}

/* Format into dst (of size n), truncating safely, via a scratch copy so that the
 * arguments may alias dst. */
static void vput(char *dst, size_t n, const char *fmt, va_list ap)
{
    char tmp[sizeof ((at_error *)0)->detail];   /* the largest field */
    if (n > sizeof tmp)
        n = sizeof tmp;
    if (!fmt || vsnprintf(tmp, n, fmt, ap) < 0)
        tmp[0] = '\0';
    utf8_repair(tmp);
    memcpy(dst, tmp, strlen(tmp) + 1);
}

static void put(char *dst, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void put(char *dst, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vput(dst, n, fmt, ap);
    va_end(ap);
}

void at_error_clear(at_error *err)
{
    if (!err)
        return;
    memset(err, 0, sizeof *err);
}

at_code at_error_set(at_error *err, at_code code, const char *field, const char *fmt, ...)
{
    if (!err)
        return code;
    /* Built aside and copied at the end: field and the arguments may point into *err. */
    at_error e;
    memset(&e, 0, sizeof e);
    e.code = code;
    if (field)
        put(e.field, sizeof e.field, "%s", field);
    va_list ap;
    va_start(ap, fmt);
    vput(e.message, sizeof e.message, fmt, ap);
    va_end(ap);
    *err = e;
    return code;
}

void at_error_detail(at_error *err, const char *fmt, ...)
{
    if (!err)
        return;
    va_list ap;
    va_start(ap, fmt);
    vput(err->detail, sizeof err->detail, fmt, ap);
    va_end(ap);
}

void at_error_hint(at_error *err, const char *fmt, ...)
{
    if (!err)
        return;
    va_list ap;
    va_start(ap, fmt);
    vput(err->hint, sizeof err->hint, fmt, ap);
    va_end(ap);
}

const char *at_code_name(at_code code)
{
    /* The enum's range is whatever the caller cast into it, so check before indexing. */
    if ((unsigned)code < sizeof names / sizeof names[0] && names[code])
        return names[code];
    return "UNKNOWN";
}
