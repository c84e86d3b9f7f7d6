/*
 * benchlib.h -- what the benchmark programs share: their settings from the environment,
 * the clock, and PostgreSQL as the superuser, where any failure ends the run with a
 * message (a benchmark has nothing to recover).
 */
#ifndef BENCHLIB_H
#define BENCHLIB_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <libpq-fe.h>

/* The program's name in messages ("bench_log: what: why"). */
void bh_init(const char *prog);
/* Run before bh_die exits (e.g. drop the benchmark's database); NULL for none. */
void bh_on_die(void (*cleanup)(void));
/* "<prog>: what: why" on stderr, the cleanup, exit 1. */
void bh_die(const char *what, const char *why) __attribute__((noreturn));

/* The environment variable, or def when it is unset or empty. */
const char *bh_env(const char *name, const char *def);
/* Monotonic seconds. */
double bh_now_s(void);

/* The libpq conninfo of db as the superuser (ATB_PG_HOST, ATB_PG_PORT, ATB_PG_SUPERUSER). */
void bh_conninfo(const char *db, char *out, size_t n);
/* A connection to db as the superuser; bh_die when it fails. */
PGconn *bh_connect(const char *db);
/* Run sql; bh_die unless it succeeds. */
void bh_exec(PGconn *c, const char *sql);

/* PostgreSQL's binary COPY format: big-endian integers into p, and a field (its length,
 * then its bytes) of a row; each returns the bytes written. Inline: they run once a field
 * in the COPY baselines. */
static inline size_t bh_put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
    return 2;
}

static inline size_t bh_put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
    return 4;
}

static inline size_t bh_put64(uint8_t *p, uint64_t v)
{
    bh_put32(p, (uint32_t)(v >> 32));
    bh_put32(p + 4, (uint32_t)v);
    return 8;
}

static inline size_t bh_field(uint8_t *p, const void *v, size_t n)
{
    bh_put32(p, (uint32_t)n);
    memcpy(p + 4, v, n);
    return 4 + n;
}

static inline size_t bh_field8(uint8_t *p, int64_t v)
{
    bh_put32(p, 8);
    bh_put64(p + 4, (uint64_t)v);
    return 12;
}

static inline size_t bh_field_null(uint8_t *p)
{
    return bh_put32(p, 0xffffffffu);
}

#endif
