/*
 * buf.c -- bounded buffers and the arena (see at_buf.h for the invariants).
 *
 * at_buf: until the first append that needs memory, ptr points at a shared read-only
 * empty string and cap is 0; cap > 0 means ptr is ours to free. Nothing is ever written
 * through ptr while cap is 0. Every check that could fail (ceiling, overflow, malloc)
 * runs before the first byte changes, which is what makes a failed append a no-op.
 * Appending a piece of the buffer to itself is allowed (the source is re-found after a
 * realloc).
 *
 * at_arena: a chain of blocks; allocation bumps an offset in the newest block. A request
 * larger than a block gets a block of its own on a separate list, so the current block
 * keeps serving small requests. Reset keeps the first block, so a per-message arena stops
 * calling malloc once it has warmed up. Alignment is computed on the real address, so it
 * does not depend on what malloc guarantees. An arena is not thread-safe: one owner at
 * a time (libs/service gives each handler its own).
 */
#include "at_buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <protobuf-c/protobuf-c.h>

/* Never written: cap == 0 guards every store (see above). */
static char empty_string[1];

#define FIRST_CAP 64

void at_buf_init(at_buf *b, size_t max)
{
    b->ptr = empty_string;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

/* Make room for `extra` more bytes plus the NUL. False, and nothing changed, when the
 * ceiling would be passed or memory is short. */
static bool reserve(at_buf *b, size_t extra)
{
    if (extra > b->max - b->len)
        return false;
    size_t need = b->len + extra + 1;   /* len + extra <= max, so +1 can wrap only at SIZE_MAX */
    if (need == 0)
        return false;
    if (need <= b->cap)
        return true;
    /* Double, but never past what the ceiling can use (max + 1 with the NUL). */
    size_t ceiling = b->max < SIZE_MAX ? b->max + 1 : SIZE_MAX;
    size_t cap = b->cap ? b->cap : FIRST_CAP;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? SIZE_MAX : cap * 2;
    if (cap > ceiling)
        cap = ceiling;
    char *p = b->cap ? realloc(b->ptr, cap) : malloc(cap);
    if (!p)
        return false;
    if (!b->cap)
        p[0] = '\0';
    b->ptr = p;
    b->cap = cap;
    return true;
}

bool at_buf_append(at_buf *b, const void *p, size_t n)
{
    if (n == 0)
        return true;
    /* A source inside our own memory moves with a realloc: remember it as an offset. */
    uintptr_t src = (uintptr_t)p, base = (uintptr_t)b->ptr;
    bool inside = b->cap && src >= base && src - base < b->cap;
    size_t off = (size_t)(src - base);
    if (!reserve(b, n))
        return false;
    memmove(b->ptr + b->len, inside ? b->ptr + off : p, n);
    b->len += n;
    b->ptr[b->len] = '\0';
    return true;
}

bool at_buf_puts(at_buf *b, const char *s)
{
    return at_buf_append(b, s, strlen(s));
}

bool at_buf_printf(at_buf *b, const char *fmt, ...)
{
    /* Format aside, then append: the arguments may point into the buffer itself, and a
     * failure must leave it unchanged. Most lines fit the stack; longer ones take one
     * malloc after the ceiling check. */
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return false;
    if ((size_t)n < sizeof small)
        return at_buf_append(b, small, (size_t)n);
    if ((size_t)n > b->max - b->len)
        return false;
    char *big = malloc((size_t)n + 1);
    if (!big)
        return false;
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    bool ok = at_buf_append(b, big, (size_t)n);
    free(big);
    return ok;
}

void at_buf_reset(at_buf *b)
{
    b->len = 0;
    if (b->cap)
        b->ptr[0] = '\0';
}

void at_buf_free(at_buf *b)
{
    if (b->cap)
        free(b->ptr);
    at_buf_init(b, b->max);
}

#define ALIGN 16
#define MIN_BLOCK 256

typedef struct block {
    struct block *next;
    size_t size;    /* bytes in data */
    size_t used;    /* bytes of data handed out, padding included */
    _Alignas(ALIGN) unsigned char data[];   /* aligned when malloc is; bump() copes if not */
} block;

struct at_arena {
    block *head;    /* the block small requests come from; the chain ends at first */
    block *first;   /* kept by reset */
    block *large;   /* blocks of one large request each */
    size_t block_size;
    size_t used;
    ProtobufCAllocator pbc;
};

/* A block that can serve a request of `size` bytes at any alignment: ALIGN - 1 bytes of
 * slack cover the padding the first request may need. */
static block *block_new(size_t size)
{
    if (size > SIZE_MAX - sizeof(block) - (ALIGN - 1))
        return NULL;
    block *b = malloc(sizeof(block) + size + (ALIGN - 1));
    if (!b)
        return NULL;
    b->next = NULL;
    b->size = size + (ALIGN - 1);
    b->used = 0;
    return b;
}

/* n aligned bytes from b, or NULL if they do not fit. Adds what it took to *used. */
static void *bump(block *b, size_t n, size_t *used)
{
    uintptr_t at = (uintptr_t)(b->data + b->used);
    size_t pad = (size_t)(-at & (ALIGN - 1));
    size_t left = b->size - b->used;
    if (pad > left || n > left - pad)
        return NULL;
    b->used += pad + n;
    *used += pad + n;
    return b->data + (b->used - n);
}

static void free_chain(block *b, const block *stop)
{
    while (b != stop) {
        block *next = b->next;
        free(b);
        b = next;
    }
}

static void *pbc_alloc(void *data, size_t size)
{
    return at_arena_alloc(data, size);
}

static void pbc_free(void *data, void *p)
{
    /* Everything goes at once with the arena; protobuf-c's free_unpacked is a no-op. */
    (void)data;
    (void)p;
}

at_arena *at_arena_new(size_t block_size)
{
    at_arena *a = malloc(sizeof *a);
    if (!a)
        return NULL;
    a->block_size = block_size < MIN_BLOCK ? MIN_BLOCK : block_size;
    a->first = a->head = block_new(a->block_size);
    if (!a->first) {
        free(a);
        return NULL;
    }
    a->large = NULL;
    a->used = 0;
    a->pbc.alloc = pbc_alloc;
    a->pbc.free = pbc_free;
    a->pbc.allocator_data = a;
    return a;
}

void *at_arena_alloc(at_arena *a, size_t n)
{
    if (n == 0)
        n = 1;   /* distinct non-NULL pointers even for empty requests, as malloc gives */
    void *p = bump(a->head, n, &a->used);
    if (p)
        return p;
    if (n > a->block_size) {
        block *big = block_new(n);
        if (!big)
            return NULL;
        big->next = a->large;
        a->large = big;
        return bump(big, n, &a->used);
    }
    block *nb = block_new(a->block_size);
    if (!nb)
        return NULL;
    nb->next = a->head;
    a->head = nb;
    return bump(nb, n, &a->used);
}

char *at_arena_strdup(at_arena *a, const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = at_arena_alloc(a, n);
    if (p)
        memcpy(p, s, n);
    return p;
}

void at_arena_reset(at_arena *a)
{
    free_chain(a->head, a->first);
    free_chain(a->large, NULL);
    a->head = a->first;
    a->large = NULL;
    a->first->used = 0;
    a->used = 0;
}

void at_arena_free(at_arena *a)
{
    if (!a)
        return;
    at_arena_reset(a);
    free(a->first);
    free(a);
}

size_t at_arena_used(const at_arena *a)
{
    return a->used;
}

struct ProtobufCAllocator *at_arena_pbc(at_arena *a)
{
    return &a->pbc;
}
