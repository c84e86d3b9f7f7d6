/*
 * bustest.h -- what the bus tests share: appending test events, reading a stream back,
 * running this test program again as a child process.
 */
#ifndef BUSTEST_H
#define BUSTEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "bus.h"
#include "es.h"
#include "tsupport.h"

/* Append n events of `type` to streams "<category>-<stem><k>" of tenant, `per_append`
 * events per es_append (each call one stream). Payload: the 8-byte little-endian index.
 * Aborts the test program on failure. Returns the last position. */
int64_t h_append(es_store *es, const char *tenant, const char *category, const char *type,
                 size_t n, size_t per_append);

/* One message of a stream, as read back. */
typedef struct h_msg {
    uint64_t seq;
    char subject[256];
    char msg_id[32];
    char position[32];
    char type[96];
    char tenant[96];
    uint8_t *data;
    size_t len;
} h_msg;

/* Read every message of the stream in sequence order (an ordered consumer). *out is
 * malloc'd; free with h_msgs_free. Returns the count; aborts on failure. */
size_t h_read_stream(bus *b, h_msg **out);
void h_msgs_free(h_msg *m, size_t n);

/* Open an es_store on conninfo (pool 4); aborts on failure. */
es_store *h_es_open(const char *conninfo);
/* Connect a bus with this prefix and stream; aborts on failure. */
bus *h_bus_connect(const char *prefix, const char *stream);

/* Run this program again with the given arguments (NULL-terminated), with extra
 * environment "NAME=value" (may be NULL). Returns the child's pid. */
pid_t h_spawn_self(const char *fault_env, const char *const *args);
/* Wait for pid; returns its exit code, or 128 + signal. */
int h_wait(pid_t pid);

/* Run the relay until it is caught up with the log (a step publishes nothing). */
void h_relay_drain(es_store *es, bus *b);

/* Execute SQL on conninfo (superuser); aborts on failure. Returns the first value of the
 * first row as int64, or 0. */
int64_t h_sql(const char *conninfo, const char *sql);

/* Stream info: message count and last sequence. */
void h_stream_state(bus *b, uint64_t *msgs, uint64_t *last_seq);

#endif
