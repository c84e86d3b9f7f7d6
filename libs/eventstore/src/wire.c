/*
 * wire.c -- PostgreSQL's binary wire format, as far as the event store needs it.
 *
 * atb.append() takes its arguments as binary arrays so that payloads travel as raw bytes
 * (no hex or escaping) and no value is parsed as text on the server. A one-dimensional
 * binary array is:
 *     int32 ndim (1), int32 flags (1 if any element is NULL), uint32 element type oid,
 *     int32 number of elements, int32 lower bound (1),
 *     then per element: int32 length (-1 for NULL) and that many bytes.
 * All integers are big-endian. es__arr_init() writes the header with a zero count and
 * es__arr_finish() patches count and flags, so elements can be added one at a time.
 *
 * Invariant: after a failed allocation an es__arr is marked failed and stays that way;
 * callers check `failed` once, after finishing.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "es_int.h"

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void put64(uint8_t *p, uint64_t v)
{
    put32(p, (uint32_t)(v >> 32));
    put32(p + 4, (uint32_t)v);
}

/* Make room for n more bytes; false (and failed set) when that cannot be done. */
static bool reserve(es__arr *a, size_t n)
{
    if (a->failed)
        return false;
    if (a->len + n <= a->cap)
        return true;
    size_t cap = a->cap ? a->cap : 256;
    while (cap < a->len + n) {
        if (cap > SIZE_MAX / 2) {
            a->failed = true;
            return false;
        }
        cap *= 2;
    }
    uint8_t *p = realloc(a->p, cap);
    if (!p) {
        a->failed = true;
        return false;
    }
    a->p = p;
    a->cap = cap;
    return true;
}

void es__arr_init(es__arr *a, uint32_t elem_oid)
{
    memset(a, 0, sizeof *a);
    if (!reserve(a, 20))
        return;
    put32(a->p, 1);
    put32(a->p + 4, 0);
    put32(a->p + 8, elem_oid);
    put32(a->p + 12, 0);
    put32(a->p + 16, 1);
    a->len = 20;
}

void es__arr_null(es__arr *a)
{
    if (!reserve(a, 4))
        return;
    put32(a->p + a->len, 0xffffffffu);
    a->len += 4;
    a->n++;
    a->has_null = true;
}

void es__arr_bytes(es__arr *a, const void *p, size_t len)
{
    if (len > INT32_MAX) {
        a->failed = true;
        return;
    }
    if (!reserve(a, 4 + len))
        return;
    put32(a->p + a->len, (uint32_t)len);
    if (len)
        memcpy(a->p + a->len + 4, p, len);
    a->len += 4 + len;
    a->n++;
}

void es__arr_text(es__arr *a, const char *s)
{
    if (!s)
        es__arr_null(a);
    else
        es__arr_bytes(a, s, strlen(s));
}

void es__arr_int4(es__arr *a, int32_t v)
{
    if (!reserve(a, 8))
        return;
    put32(a->p + a->len, 4);
    put32(a->p + a->len + 4, (uint32_t)v);
    a->len += 8;
    a->n++;
}

void es__arr_int8(es__arr *a, int64_t v)
{
    if (!reserve(a, 12))
        return;
    put32(a->p + a->len, 8);
    put64(a->p + a->len + 4, (uint64_t)v);
    a->len += 12;
    a->n++;
}

void es__arr_uuid(es__arr *a, const char *s)
{
    uint8_t b[16];
    if (!s || !*s || !es__uuid_parse(s, b)) {
        es__arr_null(a);
        return;
    }
    es__arr_bytes(a, b, 16);
}

void es__arr_finish(es__arr *a)
{
    if (a->failed)
        return;
    put32(a->p + 4, a->has_null ? 1 : 0);
    put32(a->p + 12, (uint32_t)a->n);
}

void es__arr_free(es__arr *a)
{
    free(a->p);
    memset(a, 0, sizeof *a);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

bool es__uuid_parse(const char *s, uint8_t out[16])
{
    size_t j = 0;
    for (size_t i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-')
                return false;
            continue;
        }
        int hi = hexval(s[i]);
        if (hi < 0)
            return false;
        int lo = hexval(s[++i]);
        if (lo < 0)
            return false;
        out[j++] = (uint8_t)(hi << 4 | lo);
    }
    return s[36] == '\0';
}

void es__uuid_format(const uint8_t in[16], char out[37])
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    for (size_t i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[o++] = '-';
        out[o++] = hex[in[i] >> 4];
        out[o++] = hex[in[i] & 15];
    }
    out[o] = '\0';
}

int64_t es__get_int8(const char *p)
{
    const uint8_t *u = (const uint8_t *)p;
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | u[i];
    return (int64_t)v;
}

int32_t es__get_int4(const char *p)
{
    const uint8_t *u = (const uint8_t *)p;
    return (int32_t)((uint32_t)u[0] << 24 | (uint32_t)u[1] << 16 | (uint32_t)u[2] << 8 | u[3]);
}

int64_t es__mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}
