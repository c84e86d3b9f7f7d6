/*
 * skeleton.h -- what the walking-skeleton tests share: atbalsts-intake, atbalsts-relay and
 * atbalsts-reporting as child processes on a fresh database, each as its own PostgreSQL
 * role, on a unique subject prefix and JetStream stream; a NATS client to talk to them.
 *
 * The binaries' paths come from CMake (INTAKE_PATH, RELAY_PATH, REPORTING_PATH).
 */
#ifndef SKELETON_H
#define SKELETON_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "bus.h"
#include "tsupport.h"
#include "atb/v1/common.pb-c.h"

typedef struct skeleton {
    t_db db;
    char prefix[48];
    char stream[48];
    pid_t pids[5];            /* intake, relay, reporting, means, payments; 0 once reaped */
    bus *client;
} skeleton;

extern skeleton sk;

/* Create the database, start the three services, connect the client. 0 or -1 (cmocka
 * group setup shape). */
int sk_start(void);
/* Start atbalsts-means too (tests compiled with MEANS_PATH): after sk_start(). 0 or -1. */
int sk_start_means(void);
/* Start atbalsts-payments too (tests compiled with PAYMENTS_PATH): after sk_start(). */
int sk_start_payments(void);
/* Wait until intake and reporting answer queries (each sk_call retries up to 10 s). */
void sk_wait_ready(void);
/* SIGTERM every service still running and wait (up to 20 s each, then SIGKILL). Returns
 * how many did not exit with 0. */
int sk_stop_services(void);
/* sk_stop_services, delete the stream, close the client, drop the database. */
int sk_teardown(void);

/* Request <prefix>.<kind>.<tenant>.<service>.<name>, retrying while the services start
 * (no responders yet, up to 10 s), and decode the reply as `type`. Fails the test when no
 * reply comes or it does not decode. Free with protobuf_c_message_free_unpacked(.., NULL). */
ProtobufCMessage *sk_call(const char *kind, const char *tenant, const char *service, const char *name,
                          const ProtobufCMessage *msg, const ProtobufCMessageDescriptor *type);

/* Run SQL as the superuser in the test database; the first value of the first row as
 * int64 (0 when there is none or it is NULL). Fails the test on an SQL error. */
int64_t sk_sql_int(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The same, as text into out ("" when none). */
void sk_sql_text(char *out, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Poll sk_sql_int(sql) every 50 ms until it equals want or timeout_ms passes; the last
 * value seen. */
int64_t sk_wait_sql(int64_t want, int timeout_ms, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

void sk_sleep_ms(int ms);

/* The cmocka group set-up of an intake test: servers required, the services started and
 * answering; with ruleset_tenant (not NULL) atbalsts-means too, and its rule set for that
 * tenant published (declarations read limits from it). 0 or -1. */
int sk_group_setup(const char *ruleset_tenant);
/* The group tear-down: the services must drain and exit 0 (under the sanitizers an error
 * found in a service makes its exit code non-zero), then sk_teardown. 0 or -1. */
int sk_group_teardown(void);

/* A date message by value. */
Atb__V1__Date sk_date(int y, int m, int d);
/* A fresh CommandMeta (random command id) of actor, from a ring of 8 static slots: valid
 * until eight more are made. */
Atb__V1__CommandMeta *sk_meta(const char *actor);

#endif
