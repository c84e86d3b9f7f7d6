/*
 * cli.h -- This file is private to services/cli: what the command files share.
 *
 * The command line is a client of the public command API like any other: it sends
 * protobuf requests over NATS and prints the replies. It never reads the database.
 *
 * Exit codes: 0 done, 1 usage error, 2 refused by a service (its error is printed),
 * 3 NATS or the service could not be reached (or answered with bytes that do not decode).
 * Errors go to stderr as psql prints PostgreSQL's (ERROR:, DETAIL:, HINT: lines); with
 * --json the same error is also printed on stdout as one JSON object.
 */
#ifndef CLI_H
#define CLI_H

#include <stdbool.h>
#include <jansson.h>

#include "at_error.h"
#include "bus.h"
#include "atb/v1/common.pb-c.h"

enum { CLI_OK = 0, CLI_USAGE = 1, CLI_REFUSED = 2, CLI_UNREACHABLE = 3 };

typedef struct cli {
    const char *nats_url;
    const char *tenant;
    const char *prefix;
    const char *actor;
    bool json;
    bus *bus;            /* connected on first use; closed by main() */
} cli;

/* Connect if not yet connected; CLI_UNREACHABLE (message printed) if NATS is down. */
int cli_connect(cli *c);

/* Send msg to <prefix>.<kind>.<tenant>.<service>.<name> ("cmd" or "qry") and decode the
 * reply with `reply_type` into *out (free with protobuf_c_message_free_unpacked(*out,
 * NULL)). Returns CLI_OK or CLI_UNREACHABLE (message printed). Thread-safe for distinct
 * outputs: the demo calls it from several threads. */
int cli_call(cli *c, const char *kind, const char *tenant, const char *service, const char *name,
             const ProtobufCMessage *msg, const ProtobufCMessageDescriptor *reply_type,
             ProtobufCMessage **out);

/* Print a service's refusal on stderr (ERROR/DETAIL/HINT/FIELD lines, and KEY when the
 * reply names an existing record) and, with --json, as {"error":{...}} on stdout.
 * key may be NULL. Returns CLI_REFUSED. */
int cli_print_error(const cli *c, const Atb__V1__Error *e, const char *key);

/* True if the reply carries an error (every reply has atb.v1.Error at field 1). */
bool cli_refused(const Atb__V1__Error *e);

/* Print j as one line of compact JSON on stdout and release it. */
void cli_print_json(json_t *j);

/* Fill meta with a fresh command id (written to id) and the actor. */
void cli_meta(const cli *c, Atb__V1__CommandMeta *meta, char id[37]);

/* The command groups: argv[0] is the group's name; each prints its own --help. */
int cli_person(cli *c, int argc, char **argv);
int cli_demo(cli *c, int argc, char **argv);

#endif
