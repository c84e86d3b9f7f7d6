/*
 * buf.c -- bounded buffers and the arena (see at_buf.h for the invariants).
 *
 * The arena is a chain of blocks; allocation bumps a pointer in the newest block. A request
 * larger than a block gets a block of its own. Reset keeps the first block so a per-message
 * arena stops calling malloc once it has warmed up.
 */
#include "at_buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <protobuf-c/protobuf-c.h>

static char empty_string[1];

void at_buf_init(at_buf *b, size_t max)
{
    b->ptr = empty_string;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

static bool reserve(at_buf *b, size_t extra)
{
    if (extra > b->max - b->len)
        return false;
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    if (cap > b->max + 1)
        cap = b->max + 1;
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
    if (!reserve(b, n))
        return false;
    memcpy(b->ptr + b->len, p, n);
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
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || !reserve(b, (size_t)n))
        return false;
    va_start(ap, fmt);
    vsnprintf(b->ptr + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return true;
}

void at_buf_reset(at_buf *b)
{
    b->len = 0;
    b->ptr[0] = '\0';
}

void at_buf_free(at_buf *b)
{
    if (b->cap)
        free(b->ptr);
    at_buf_init(b, b->max);
}

typedef struct block {
    struct block *next;
    size_t size;
    size_t used;
    _Alignas(16) unsigned char data[];
} block;

struct at_arena {
    block *head;        /* newest block first */
    block *first;       /* the block reset keeps */
    size_t block_size;
    size_t used;
    ProtobufCAllocator pbc;
};

static block *block_new(size_t size)
{
    block *b = malloc(sizeof *b + size);
    if (!b)
        return NULL;
    b->next = NULL;
    b->size = size;
    b->used = 0;
    return b;
}

static void *pbc_alloc(void *data, size_t size)
{
    return at_arena_alloc(data, size);
}

static void pbc_free(void *data, void *p)
{
    (void)data;
    (void)p;
}

at_arena *at_arena_new(size_t block_size)
{
    at_arena *a = malloc(sizeof *a);
    if (!a)
        return NULL;
    a->block_size = block_size < 256 ? 256 : block_size;
    a->first = a->head = block_new(a->block_size);
    if (!a->first) {
        free(a);
        return NULL;
    }
    a->used = 0;
    a->pbc.alloc = pbc_alloc;
    a->pbc.free = pbc_free;
    a->pbc.allocator_data = a;
    return a;
}

void *at_arena_alloc(at_arena *a, size_t n)
{
    size_t need = (n + 15) & ~(size_t)15;
    if (need == 0)
        need = 16;
    block *b = a->head;
    if (b->size - b->used < need) {
        size_t size = need > a->block_size ? need : a->block_size;
        block *nb = block_new(size);
        if (!nb)
            return NULL;
        nb->next = a->head;
        a->head = nb;
        b = nb;
    }
    void *p = b->data + b->used;
    b->used += need;
    a->used += need;
    return p;
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
    block *b = a->head;
    while (b != a->first) {
        block *next = b->next;
        free(b);
        b = next;
    }
    a->first->used = 0;
    a->first->next = NULL;
    a->head = a->first;
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
