/*
 * pool.c -- the allocation pool of a rule set or a decision result.
 *
 * Everything a rules_set or rules_result points to is allocated here and freed at once
 * with the owner, so the compiled structures need no per-object ownership. Invariants:
 * allocations are zeroed and 16-byte aligned; a block is never moved, so pointers stay
 * valid until rules__pool_free.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "rules_int.h"

#define BLOCK 16384u

typedef struct block {
    struct block *next;
    size_t used, cap;
    _Alignas(16) unsigned char data[];
} block;

struct rules__pool {
    block *head;
};

rules__pool *rules__pool_new(void)
{
    return calloc(1, sizeof(rules__pool));
}

void *rules__palloc(rules__pool *p, size_t n)
{
    n = (n + 15u) & ~(size_t)15u;
    if (n == 0)
        n = 16;
    block *b = p->head;
    if (!b || b->cap - b->used < n) {
        size_t cap = n > BLOCK ? n : BLOCK;
        block *nb = malloc(sizeof(block) + cap);
        if (!nb)
            return NULL;
        nb->used = 0;
        nb->cap = cap;
        /* A large one-off request gets its own block behind the current one, so the
         * current block keeps serving small requests. */
        if (b && n > BLOCK) {
            nb->next = b->next;
            b->next = nb;
        } else {
            nb->next = b;
            p->head = nb;
        }
        b = nb;
    }
    void *r = b->data + b->used;
    b->used += n;
    memset(r, 0, n);
    return r;
}

char *rules__pstrdup(rules__pool *p, const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s);
    char *r = rules__palloc(p, n + 1);
    if (r)
        memcpy(r, s, n + 1);
    return r;
}

char *rules__psprintf(rules__pool *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    char *r = rules__palloc(p, (size_t)n + 1);
    if (!r)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(r, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return r;
}

void rules__pool_free(rules__pool *p)
{
    if (!p)
        return;
    block *b = p->head;
    while (b) {
        block *n = b->next;
        free(b);
        b = n;
    }
    free(p);
}
