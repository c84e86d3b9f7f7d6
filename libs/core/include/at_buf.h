/*
 * at_buf.h -- bounded byte buffers, byte slices and a bump-pointer arena.
 *
 * at_buf invariants: `ptr` is never NULL after at_buf_init (it points at a static empty
 * string until the first growth), `len <= cap`, the bytes at ptr[len] is always NUL so the
 * content can be used as a C string, and `len` never exceeds `max` (at_buf_init's ceiling):
 * an append that would pass it fails and leaves the buffer unchanged.
 *
 * at_arena: allocations are freed all at once by at_arena_reset / at_arena_free. It
 * doubles as a ProtobufCAllocator so protobuf-c unpacks into it (at_arena_pbc).
 */
#ifndef AT_BUF_H
#define AT_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct at_bytes {
    const uint8_t *ptr;
    size_t len;
} at_bytes;

typedef struct at_buf {
    char *ptr;
    size_t len;
    size_t cap;
    size_t max;
} at_buf;

/* An at_buf belongs to one thread at a time. Appends may take their source from the buffer
 * itself (at_buf_append(b, b->ptr, b->len) doubles it). max may be SIZE_MAX: no ceiling. */
void at_buf_init(at_buf *b, size_t max);           /* cannot fail; allocates nothing */
/* Append n bytes (embedded NULs allowed); false when max would be passed or memory is
 * short, and then b is unchanged. */
bool at_buf_append(at_buf *b, const void *p, size_t n);
bool at_buf_puts(at_buf *b, const char *s);
bool at_buf_printf(at_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void at_buf_reset(at_buf *b);                      /* len = 0, keeps memory */
void at_buf_free(at_buf *b);                       /* back to the just-initialised state */

typedef struct at_arena at_arena;

/* Create an arena whose blocks are block_size bytes (at least 256; a larger request gets
 * its own block). Free with at_arena_free. Returns NULL only when out of memory. An arena
 * is not thread-safe: one owner at a time. */
at_arena *at_arena_new(size_t block_size);
void *at_arena_alloc(at_arena *a, size_t n);       /* 16-byte aligned, distinct even for n 0; NULL when out of memory */
char *at_arena_strdup(at_arena *a, const char *s);
void at_arena_reset(at_arena *a);                  /* frees everything but the first block */
void at_arena_free(at_arena *a);                   /* NULL is a no-op */
size_t at_arena_used(const at_arena *a);           /* bytes handed out since reset, alignment padding included */

/* A ProtobufCAllocator that allocates from `a` and whose free is a no-op. The returned
 * pointer lives inside the arena (valid until at_arena_free). */
struct ProtobufCAllocator;
struct ProtobufCAllocator *at_arena_pbc(at_arena *a);

#endif
