/*
 * This file is private to libs/core.
 *
 * sha1.h -- SHA-1 (FIPS 180-4), implemented in uuid.c for name-based UUIDs and exposed here
 * so tests/core/test_uuid.c can check it against the RFC 3174 test vectors. Not for
 * security: at_uuid_derive needs a stable, well-spread hash, nothing more.
 */
#ifndef AT_SHA1_H
#define AT_SHA1_H

#include <stddef.h>
#include <stdint.h>

typedef struct at__sha1 {
    uint32_t h[5];        /* chaining state */
    uint64_t len;         /* bytes hashed so far */
    uint8_t block[64];    /* the partial block */
    size_t fill;          /* bytes in block, always < 64 between calls */
} at__sha1;

void at__sha1_init(at__sha1 *s);
/* Hash n more bytes; any split of the input into calls gives the same digest. */
void at__sha1_update(at__sha1 *s, const void *p, size_t n);
/* Write the 20-byte digest and re-initialise s. */
void at__sha1_final(at__sha1 *s, uint8_t out[20]);

#endif
