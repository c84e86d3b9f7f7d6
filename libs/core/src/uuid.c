/*
 * uuid.c -- UUIDs as text (see at_uuid.h), and the SHA-1 that name-based ids need.
 *
 * Random ids come from getrandom(2), which blocks only until the kernel's pool is first
 * seeded and then never fails. Derived ids follow RFC 4122 section 4.3 (version 5): SHA-1
 * of the 16 namespace bytes followed by the name, the first 16 bytes of the digest, the
 * version and variant bits set. They must never change for the same input: ids derived
 * this way are stored in the event log, so a change here would re-key existing records.
 *
 * SHA-1 (FIPS 180-4) is here and not in a library because it is small and used only for
 * this; at_uuid_derive needs a stable, well-spread hash, not collision resistance against
 * an attacker. sha1.h exposes it to the tests.
 */
#include "at_uuid.h"
#include "sha1.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

static uint32_t rol(uint32_t x, int n)
{
    return (x << n) | (x >> (32 - n));
}

static uint32_t load_be32(const uint8_t *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

/* One 64-byte block into the state (FIPS 180-4, 6.1.2). */
static void sha1_block(uint32_t h[5], const uint8_t *blk)
{
    uint32_t w[80];
    for (int i = 0; i < 16; i++)
        w[i] = load_be32(blk + 4 * i);
    for (int i = 16; i < 80; i++)
        w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
    for (int i = 0; i < 80; i++) {
        uint32_t f, k;
        if (i < 20) {
            f = (b & c) | (~b & d);
            k = 0x5A827999;
        } else if (i < 40) {
            f = b ^ c ^ d;
            k = 0x6ED9EBA1;
        } else if (i < 60) {
            f = (b & c) | (b & d) | (c & d);
            k = 0x8F1BBCDC;
        } else {
            f = b ^ c ^ d;
            k = 0xCA62C1D6;
        }
        uint32_t t = rol(a, 5) + f + e + k + w[i];
        e = d;
        d = c;
        c = rol(b, 30);
        b = a;
        a = t;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
}

void at__sha1_init(at__sha1 *s)
{
    static const uint32_t h0[5] = {0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0};
    memcpy(s->h, h0, sizeof h0);
    s->len = 0;
    s->fill = 0;
}

void at__sha1_update(at__sha1 *s, const void *p, size_t n)
{
    const uint8_t *b = p;
    s->len += n;
    while (n > 0) {
        size_t take = 64 - s->fill < n ? 64 - s->fill : n;
        memcpy(s->block + s->fill, b, take);
        s->fill += take;
        b += take;
        n -= take;
        if (s->fill == 64) {
            sha1_block(s->h, s->block);
            s->fill = 0;
        }
    }
}

void at__sha1_final(at__sha1 *s, uint8_t out[20])
{
    /* Padding: 0x80, zeros up to 56 mod 64, then the message length in bits, big-endian. */
    uint64_t bits = s->len * 8;
    s->block[s->fill++] = 0x80;
    if (s->fill > 56) {
        memset(s->block + s->fill, 0, 64 - s->fill);
        sha1_block(s->h, s->block);
        s->fill = 0;
    }
    memset(s->block + s->fill, 0, 56 - s->fill);
    for (int i = 0; i < 8; i++)
        s->block[56 + i] = (uint8_t)(bits >> (56 - 8 * i));
    sha1_block(s->h, s->block);
    for (int i = 0; i < 5; i++) {
        out[4 * i] = (uint8_t)(s->h[i] >> 24);
        out[4 * i + 1] = (uint8_t)(s->h[i] >> 16);
        out[4 * i + 2] = (uint8_t)(s->h[i] >> 8);
        out[4 * i + 3] = (uint8_t)s->h[i];
    }
    at__sha1_init(s);   /* the state is spent; leave it reusable rather than half-padded */
}

static void format_uuid(const uint8_t b[16], char out[AT_UUID_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[o++] = '-';
        out[o++] = hex[b[i] >> 4];
        out[o++] = hex[b[i] & 15];
    }
    out[o] = '\0';
}

/* Set the version nibble and the RFC 4122 variant bits (10xx). */
static void stamp(uint8_t b[16], unsigned version)
{
    b[6] = (uint8_t)((b[6] & 0x0f) | (version << 4));
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
}

static bool read_urandom(uint8_t *b, size_t n)
{
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, b + got, n - got);
        if (r > 0)
            got += (size_t)r;
        else if (r == 0 || errno != EINTR)
            break;
    }
    close(fd);
    return got == n;
}

/* Fill b from the kernel. getrandom is tried first (no file descriptor, works in a chroot);
 * /dev/urandom covers a kernel or seccomp filter without it. With neither there is no safe
 * id to return, and a guessable or repeated one could merge two records in the log, so the
 * process stops: at_uuid_v4 cannot report an error through its signature. */
static void random_bytes(uint8_t *b, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = getrandom(b + got, n - got, 0);
        if (r > 0)
            got += (size_t)r;
        else if (r < 0 && errno != EINTR)
            break;
    }
    if (got < n && !read_urandom(b, n))
        abort();
}

void at_uuid_v4(char out[AT_UUID_LEN + 1])
{
    uint8_t b[16];
    random_bytes(b, sizeof b);
    stamp(b, 4);
    format_uuid(b, out);
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

static bool is_dash_position(int i)
{
    return i == 8 || i == 13 || i == 18 || i == 23;
}

bool at_uuid_valid(const char *s)
{
    if (!s)
        return false;
    for (int i = 0; i < AT_UUID_LEN; i++) {
        bool ok = is_dash_position(i) ? s[i] == '-' : hexval(s[i]) >= 0;
        if (!ok)   /* also stops at a NUL before position 36 */
            return false;
    }
    return s[AT_UUID_LEN] == '\0';
}

/* The 16 bytes of a valid text UUID; the nil UUID for anything else. */
static void uuid_bytes(const char *s, uint8_t b[16])
{
    memset(b, 0, 16);
    if (!at_uuid_valid(s))
        return;
    int j = 0;
    for (int i = 0; i < AT_UUID_LEN; i += 2) {
        if (is_dash_position(i))
            i++;
        b[j++] = (uint8_t)(hexval(s[i]) << 4 | hexval(s[i + 1]));
    }
}

void at_uuid_derive(const char *ns_uuid, const char *name, char out[AT_UUID_LEN + 1])
{
    uint8_t ns[16], h[20];
    uuid_bytes(ns_uuid, ns);
    at__sha1 s;
    at__sha1_init(&s);
    at__sha1_update(&s, ns, sizeof ns);
    if (name)
        at__sha1_update(&s, name, strlen(name));
    at__sha1_final(&s, h);
    stamp(h, 5);
    format_uuid(h, out);
}
