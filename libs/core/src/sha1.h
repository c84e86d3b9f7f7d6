/*
 * sha1.h -- This file is private to libs/core. SHA-1 (FIPS 180-4) for name-based UUIDs.
 * Not for security: at_uuid_derive only needs a stable, well-spread hash.
 */
#ifndef AT_SHA1_H
#define AT_SHA1_H

#include <stddef.h>
#include <stdint.h>

typedef struct at__sha1 {
    uint32_t h[5];
    uint64_t len;
    uint8_t block[64];
    size_t fill;
} at__sha1;

void at__sha1_init(at__sha1 *s);
void at__sha1_update(at__sha1 *s, const void *p, size_t n);
void at__sha1_final(at__sha1 *s, uint8_t out[20]);

#endif
