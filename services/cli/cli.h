/*
 * cli.h -- This file is private to services/cli: what the command files share.
 *
 * Exit codes: 0 done, 1 usage error, 2 refused by a service (its error is printed),
 * 3 a service or NATS could not be reached.
 */
#ifndef CLI_H
#define CLI_H

#include <stdbool.h>
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
    bus *bus;            /* connected on first use */
} cli;

/* Connect if not yet connected; CLI_UNREACHABLE (message printed) if NATS is down. */
int cli_connect(cli *c);
/* Send msg to <prefix>.<kind>.<tenant>.<service>.<name>; *reply is the reply message
 * (destroy with natsMsg_Destroy). Returns CLI_OK or CLI_UNREACHABLE (printed). */
int cli_request(cli *c, const char *kind, const char *service, const char *name,
                const ProtobufCMessage *msg, natsMsg **reply);
/* Print a service's error the way psql prints PostgreSQL's: code and message, then DETAIL,
 * HINT and FIELD lines. Returns CLI_REFUSED. With --json, one JSON object instead. */
int cli_print_error(const cli *c, const Atb__V1__Error *e);
/* Print "k":"v" with JSON escaping, preceded by a comma unless *first (then cleared). */
void cli_json_str(const char *k, const char *v, bool *first);
/* Fill meta with a fresh command id and the actor. */
void cli_meta(const cli *c, Atb__V1__CommandMeta *meta, char id[37]);

int cli_person(cli *c, int argc, char **argv);
int cli_demo(cli *c, int argc, char **argv);

#endif
