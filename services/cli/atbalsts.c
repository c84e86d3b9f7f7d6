/*
 * atbalsts.c -- the caseworker's command line: global options, the command table, and
 * the helpers every command shares (connect, call a service, print errors and JSON).
 *
 * To add a command group: 3 things to do.
 *  1. A file cli_<group>.c with int cli_<group>(cli *, int, char **) and its --help.
 *  2. Its declaration in cli.h and a row in `commands` below.
 *  3. Its section in docs/cli.md.
 */
#include "cli.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "at_uuid.h"

static const struct {
    const char *name;
    int (*fn)(cli *, int, char **);
    const char *help;
} commands[] = {
    {"person", cli_person, "register and show persons"},
    {"demo", cli_demo, "drive a realistic demo workload through the command API"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: atbalsts [--nats URL] [--tenant T] [--json] <command> [args]\n\n"
               "global options (flags win over the environment):\n"
               "  --nats URL     NATS server (ATB_NATS_URL, default nats://127.0.0.1:4222;\n"
               "                 ATB_NATS_USER and ATB_NATS_PASSWORD when it asks for them)\n"
               "  --tenant T     municipality code (ATB_TENANT, default daugavpils)\n"
               "  --prefix P     subject prefix (ATB_PREFIX, default atb)\n"
               "  --actor A      who gives the commands (ATB_ACTOR, default user:$USER)\n"
               "  --json         machine-readable output, one JSON object per line\n"
               "  --help         this text\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].help);
    fprintf(f, "\n'atbalsts <command> --help' describes each command.\n"
               "exit codes: 0 done, 1 usage error, 2 refused by a service, 3 a service or NATS\n"
               "could not be reached.\n");
}

static const char *env_or(const char *name, const char *def)
{
    const char *v = getenv(name);
    return v && *v ? v : def;
}

int cli_connect(cli *c)
{
    if (c->bus)
        return CLI_OK;
    bus_config cfg = {.url = c->nats_url, .name = "atbalsts-cli", .prefix = c->prefix,
                      .user = getenv("ATB_NATS_USER"), .password = getenv("ATB_NATS_PASSWORD")};
    at_error err;
    at_error_clear(&err);
    if (bus_connect(&c->bus, &cfg, &err) != AT_OK) {
        /* the bus's message names the URL already */
        fprintf(stderr, "ERROR:  %s\n", err.message[0] ? err.message : "could not connect to NATS");
        if (err.detail[0])
            fprintf(stderr, "DETAIL:  %s\n", err.detail);
        fprintf(stderr, "HINT:  Start the platform (scripts/run.sh) or check --nats / ATB_NATS_URL.\n");
        return CLI_UNREACHABLE;
    }
    return CLI_OK;
}

int cli_call(cli *c, const char *kind, const char *tenant, const char *service, const char *name,
             const ProtobufCMessage *msg, const ProtobufCMessageDescriptor *reply_type,
             ProtobufCMessage **out)
{
    *out = NULL;
    int rc = cli_connect(c);
    if (rc != CLI_OK)
        return rc;
    char subject[256];
    snprintf(subject, sizeof subject, "%s.%s.%s.%s.%s", c->prefix, kind, tenant, service, name);
    at_error err;
    at_error_clear(&err);
    natsMsg *m = NULL;
    if (bus_request(c->bus, subject, msg, 10000, &m, &err) != AT_OK) {
        fprintf(stderr, "ERROR:  could not get an answer from the %s service: %s\n", service, err.message);
        if (err.detail[0])
            fprintf(stderr, "DETAIL:  %s\n", err.detail);
        fprintf(stderr, "HINT:  Is atbalsts-%s running? (scripts/platform.sh status)\n", service);
        return CLI_UNREACHABLE;
    }
    *out = protobuf_c_message_unpack(reply_type, NULL, (size_t)natsMsg_GetDataLength(m),
                                     (const uint8_t *)natsMsg_GetData(m));
    natsMsg_Destroy(m);
    if (!*out) {
        fprintf(stderr, "ERROR:  the %s service sent a reply that is not a %s\n", service, reply_type->name);
        fprintf(stderr, "HINT:  Check that atbalsts and atbalsts-%s are the same version.\n", service);
        return CLI_UNREACHABLE;
    }
    return CLI_OK;
}

bool cli_refused(const Atb__V1__Error *e)
{
    return e && e->code != ATB__V1__ERROR_CODE__ERROR_CODE_UNSPECIFIED;
}

void cli_print_json(json_t *j)
{
    if (!j) {
        /* only a string that is not UTF-8 makes jansson refuse, and replies are checked */
        fprintf(stderr, "atbalsts: could not format the JSON output\n");
        return;
    }
    json_dumpf(j, stdout, JSON_COMPACT);
    fputc('\n', stdout);
    json_decref(j);
}

int cli_print_error(const cli *c, const Atb__V1__Error *e, const char *key)
{
    const char *code = at_code_name((at_code)e->code);
    fprintf(stderr, "ERROR:  %s: %s\n", code, e->message ? e->message : "");
    if (e->detail && *e->detail)
        fprintf(stderr, "DETAIL:  %s\n", e->detail);
    if (e->hint && *e->hint)
        fprintf(stderr, "HINT:  %s\n", e->hint);
    if (e->field && *e->field)
        fprintf(stderr, "FIELD:  %s\n", e->field);
    if (key && *key)
        fprintf(stderr, "KEY:  %s\n", key);
    if (c->json) {
        json_t *err = json_pack("{s:s, s:s?, s:s?, s:s?, s:s?}", "code", code, "message", e->message, "detail",
                                e->detail, "hint", e->hint, "field", e->field);
        if (err && key && *key)
            json_object_set_new(err, "key", json_string(key));
        cli_print_json(err ? json_pack("{s:o}", "error", err) : NULL);
    }
    return CLI_REFUSED;
}

void cli_meta(const cli *c, Atb__V1__CommandMeta *meta, char id[37])
{
    at_uuid_v4(id);
    meta->command_id = id;
    meta->actor = (char *)c->actor;
}

int main(int argc, char **argv)
{
    static char actor[128];
    snprintf(actor, sizeof actor, "user:%s", env_or("USER", "unknown"));
    cli c = {.nats_url = env_or("ATB_NATS_URL", "nats://127.0.0.1:4222"),
             .tenant = env_or("ATB_TENANT", "daugavpils"),
             .prefix = env_or("ATB_PREFIX", "atb"),
             .actor = env_or("ATB_ACTOR", actor)};
    static const struct option opts[] = {
        {"nats", required_argument, 0, 'n'}, {"tenant", required_argument, 0, 't'},
        {"prefix", required_argument, 0, 'p'}, {"actor", required_argument, 0, 'a'},
        {"json", no_argument, 0, 'j'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    int o;
    /* '+': stop at the first non-option, which is the command. */
    while ((o = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
        switch (o) {
        case 'n': c.nats_url = optarg; break;
        case 't': c.tenant = optarg; break;
        case 'p': c.prefix = optarg; break;
        case 'a': c.actor = optarg; break;
        case 'j': c.json = true; break;
        case 'h': usage(stdout); return CLI_OK;
        default: usage(stderr); return CLI_USAGE;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return CLI_USAGE;
    }
    if (!bus_token_valid(c.tenant)) {
        fprintf(stderr, "atbalsts: --tenant \"%s\" is not a municipality code (letters and digits, no dots "
                        "or spaces)\n", c.tenant);
        return CLI_USAGE;
    }
    const char *name = argv[optind];
    if (strcmp(name, "help") == 0) {
        usage(stdout);
        return CLI_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(commands[i].name, name) == 0) {
            int rc = commands[i].fn(&c, argc - optind, argv + optind);
            bus_close(c.bus);
            nats_Close();
            return rc;
        }
    }
    fprintf(stderr, "atbalsts: unknown command \"%s\"\n\n", name);
    usage(stderr);
    return CLI_USAGE;
}
