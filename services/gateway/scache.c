/*
 * scache.c -- live sessions remembered in memory for a few seconds, so a request does not
 * cost a PostgreSQL round trip to learn who sent it.
 *
 * A fixed table of slots (bounded memory), each slot chosen by the token's SHA-256; a new
 * session in a taken slot replaces the old one, which is then simply read from PostgreSQL
 * again. An entry is used for at most ttl seconds after it was read from PostgreSQL, and
 * never past the session's own expiry. The table keys on the SHA-256, as the database does,
 * so the table holds no token a memory dump would hand out.
 *
 * What the cache means (docs/gateway.md, "Session cache"): a session ended, a user
 * disabled or a grant changed anywhere but through this process is still honoured here for
 * at most ttl seconds. Sign-out and lockout through this process forget at once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gateway.h"

typedef struct slot {
    char digest[65];             /* "" = empty */
    gw_user user;
    int64_t read_at;             /* monotonic seconds when read from PostgreSQL */
    int64_t expires_at;          /* the session's expiry, Unix seconds */
} slot;

struct gw_scache {
    pthread_mutex_t mu;
    slot *slots;
    size_t n;
    int ttl;
};

static int64_t mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec;
}

gw_scache *gw_scache_new(size_t slots, int ttl_seconds)
{
    if (slots == 0 || ttl_seconds <= 0)
        return NULL;
    gw_scache *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->slots = calloc(slots, sizeof *c->slots);
    if (!c->slots) {
        free(c);
        return NULL;
    }
    c->n = slots;
    c->ttl = ttl_seconds;
    pthread_mutex_init(&c->mu, NULL);
    return c;
}

void gw_scache_free(gw_scache *c)
{
    if (!c)
        return;
    pthread_mutex_destroy(&c->mu);
    free(c->slots);
    free(c);
}

/* The digest is uniformly random hex: its first 15 digits pick the slot. */
static slot *slot_of(gw_scache *c, const char *digest)
{
    char head[16];
    memcpy(head, digest, 15);
    head[15] = 0;
    return &c->slots[strtoull(head, NULL, 16) % c->n];
}

bool gw_scache_get(gw_scache *c, const char *digest, gw_user *u)
{
    if (!c)
        return false;
    bool hit = false;
    pthread_mutex_lock(&c->mu);
    slot *s = slot_of(c, digest);
    if (s->digest[0] && strcmp(s->digest, digest) == 0) {
        if (mono_now() - s->read_at < c->ttl && (int64_t)time(NULL) < s->expires_at) {
            *u = s->user;
            hit = true;
        } else {
            s->digest[0] = 0;
        }
    }
    pthread_mutex_unlock(&c->mu);
    return hit;
}

void gw_scache_put(gw_scache *c, const char *digest, const gw_user *u, int64_t expires_at)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->mu);
    slot *s = slot_of(c, digest);
    snprintf(s->digest, sizeof s->digest, "%s", digest);
    s->user = *u;
    s->read_at = mono_now();
    s->expires_at = expires_at;
    pthread_mutex_unlock(&c->mu);
}

void gw_scache_forget(gw_scache *c, const char *digest)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->mu);
    slot *s = slot_of(c, digest);
    if (strcmp(s->digest, digest) == 0)
        s->digest[0] = 0;
    pthread_mutex_unlock(&c->mu);
}

void gw_scache_forget_login(gw_scache *c, const char *login)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->mu);
    for (size_t i = 0; i < c->n; i++)
        if (c->slots[i].digest[0] && strcmp(c->slots[i].user.login, login) == 0)
            c->slots[i].digest[0] = 0;
    pthread_mutex_unlock(&c->mu);
}
