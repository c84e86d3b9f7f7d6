/*
 * alhelp.h -- what the allocation tests share: atbalsts-allocation as a child process on
 * a fresh database (role atb_allocation, its own subject prefix and stream, the catalogue
 * of the source tree), a NATS client, commands and queries with their replies decoded,
 * and looks at the log as the superuser.
 *
 * Built on tests/service's svchelp (sh_prepare, sh_start, sh_sql, ...).
 */
#ifndef ALHELP_H
#define ALHELP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bus.h"
#include "svchelp.h"
#include "atb/v1/allocation.pb-c.h"

typedef struct ah {
    sh_service sv;
    sh_service relay;            /* atbalsts-relay when ah_relay_start() ran (pid 0 otherwise) */
    bus *client;
    const char *catalogue;       /* catalogue directory; NULL = the source tree's */
} ah;

/* A fresh database, the service started and healthy, the client connected. Aborts on
 * failure. The same as ah_prepare() then ah_launch(). */
void ah_start(ah *h);
/* A fresh database only (set h->catalogue after it, before ah_launch()). */
void ah_prepare(ah *h);
/* atbalsts-relay on the database (the consumers need the stream it fills). */
void ah_relay_start(ah *h);
/* Start the service and wait until it is healthy; connect the client the first time. */
void ah_launch(ah *h);
/* Stop the service only (SIGTERM): its exit code; ah_launch() starts it again. */
int ah_halt(ah *h);
/* Stop the service (SIGTERM) and the relay, close the client, drop the database. The
 * service's exit code: 0 after a clean drain (under ASan, also no leak). */
int ah_stop(ah *h);
/* Poll a one-value SQL query as the superuser until it gives want or timeout_ms passes:
 * the last value (-1 when none). */
int64_t ah_wait_sql(ah *h, int64_t want, int timeout_ms, const char *sql);

/* A command to <prefix>.cmd.<tenant>.allocation.<name>. `meta` (field 1 of msg) gets a
 * fresh command id and actor "user:test" when its command_id is empty. The reply decoded
 * (free with atb__v1__command_reply__free_unpacked(r, NULL)). Fails the test when there
 * is no reply. */
Atb__V1__CommandReply *ah_cmd(ah *h, const char *tenant, const char *name, ProtobufCMessage *msg,
                              Atb__V1__CommandMeta *meta);
Atb__V1__WaitingListReply *ah_list(ah *h, const char *tenant, const char *service, int y, int m, int d);
Atb__V1__OccupancyReply *ah_occupancy(ah *h, const char *tenant, const char *owner, const char *provider,
                                      const char *service, int y, int m, int d);

/* The log's head as the superuser sees it (events of every tenant). */
int64_t ah_head(ah *h);
/* The number of events of a type (and tenant, NULL = all) in the log. */
int64_t ah_count(ah *h, const char *type, const char *tenant);

/* A Date in static storage of the caller. */
void ah_date(Atb__V1__Date *out, int y, int m, int d);

/* Convenience commands; each returns the reply (caller frees). */
Atb__V1__CommandReply *ah_assess(ah *h, const char *tenant, const char *person, int level_points);
typedef struct ah_req {
    const char *service;
    int y, m, d;                 /* requested_on */
    int by, bm, bd;              /* birth date */
    int urgency, hours, group, status;
    bool resident;
    const char *target;          /* one target group or NULL */
} ah_req;
Atb__V1__CommandReply *ah_request(ah *h, const char *tenant, const char *person, const ah_req *r);
Atb__V1__CommandReply *ah_allocate(ah *h, const char *tenant, const char *owner, const char *provider,
                                   const char *service, int y, int m, int d);
Atb__V1__CommandReply *ah_answer(ah *h, const char *tenant, const char *offer, bool accept, const char *reason,
                                 int y, int m, int d);
Atb__V1__CommandReply *ah_emergency(ah *h, const char *tenant, const char *owner, const char *provider,
                                    const char *service, int y, int m, int d, const char *const *persons, size_t n);
Atb__V1__CommandReply *ah_discharge(ah *h, const char *tenant, const char *placement, int y, int m, int d);

/* The key part of "request-<key>" / "placement-<key>" (a pointer into s). */
const char *ah_stream_key(const char *s);

#endif
