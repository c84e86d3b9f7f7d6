/*
 * atbalsts.c -- the command line's entry: global options and the command table.
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
    {"demo", cli_demo, "drive a demo workload through the command API"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: atbalsts [--nats URL] [--tenant T] [--json] <command> [args]\n\n"
               "global options (also from the environment):\n"
               "  --nats URL     NATS server (ATB_NATS_URL, default nats://127.0.0.1:4222)\n"
               "  --tenant T     municipality code (ATB_TENANT, default daugavpils)\n"
               "  --prefix P     subject prefix (ATB_PREFIX, default atb)\n"
               "  --actor A      who gives the commands (ATB_ACTOR, default user:$USER)\n"
               "  --json         machine-readable output\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].help);
    fprintf(f, "\n'atbalsts <command> --help' describes each command.\n");
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
        fprintf(stderr, "atbalsts: could not connect to NATS at %s: %s\n", c->nats_url, err.message);
        if (err.detail[0])
            fprintf(stderr, "DETAIL:  %s\n", err.detail);
        fprintf(stderr, "HINT:  Start the platform with scripts/run.sh or check --nats.\n");
        return CLI_UNREACHABLE;
    }
    return CLI_OK;
}

int cli_request(cli *c, const char *kind, const char *service, const char *name,
                const ProtobufCMessage *msg, natsMsg **reply)
{
    int rc = cli_connect(c);
    if (rc != CLI_OK)
        return rc;
    char subject[256];
    snprintf(subject, sizeof subject, "%s.%s.%s.%s.%s", c->prefix, kind, c->tenant, service, name);
    at_error err;
    at_error_clear(&err);
    if (bus_request(c->bus, subject, msg, 10000, reply, &err) != AT_OK) {
        fprintf(stderr, "atbalsts: could not get an answer from the %s service: %s\n", service, err.message);
        fprintf(stderr, "HINT:  Is atbalsts-%s running? (scripts/platform.sh status)\n", service);
        return CLI_UNREACHABLE;
    }
    return CLI_OK;
}

void cli_json_str(const char *k, const char *v, bool *first)
{
    printf("%s\"%s\":\"", *first ? "" : ",", k);
    *first = false;
    for (const char *p = v ? v : ""; *p; p++) {
        unsigned char ch = (unsigned char)*p;
        if (ch == '"' || ch == '\\')
            printf("\\%c", ch);
        else if (ch < 0x20)
            printf("\\u%04x", ch);
        else
            putchar(ch);
    }
    putchar('"');
}

int cli_print_error(const cli *c, const Atb__V1__Error *e)
{
    const char *code = at_code_name((at_code)e->code);
    if (c->json) {
        bool first = true;
        printf("{\"error\":{");
        cli_json_str("code", code, &first);
        cli_json_str("message", e->message, &first);
        cli_json_str("detail", e->detail, &first);
        cli_json_str("hint", e->hint, &first);
        cli_json_str("field", e->field, &first);
        printf("}}\n");
        return CLI_REFUSED;
    }
    fprintf(stderr, "ERROR:  %s: %s\n", code, e->message ? e->message : "");
    if (e->detail && *e->detail)
        fprintf(stderr, "DETAIL:  %s\n", e->detail);
    if (e->hint && *e->hint)
        fprintf(stderr, "HINT:  %s\n", e->hint);
    if (e->field && *e->field)
        fprintf(stderr, "FIELD:  %s\n", e->field);
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
    while ((o = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
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
    const char *name = argv[optind];
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(commands[i].name, name) == 0) {
            int sub_argc = argc - optind;
            char **sub_argv = argv + optind;
            optind = 1;   /* the command parses its own options */
            int rc = commands[i].fn(&c, sub_argc, sub_argv);
            bus_close(c.bus);
            nats_Close();
            return rc;
        }
    }
    fprintf(stderr, "atbalsts: unknown command \"%s\"\n", name);
    usage(stderr);
    return CLI_USAGE;
}
