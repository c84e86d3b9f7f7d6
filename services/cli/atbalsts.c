/*
 * atbalsts.c -- the caseworker's command line: global options, the command table, and
 * what every command shares: connect, call a service, send a command with its id, print
 * a reply, an error or JSON, dispatch a group's sub-commands and parse their common
 * options.
 *
 * To add a command group: 3 things to do.
 *  1. A file cli_<group>.c with int cli_<group>(cli *, int, char **) calling
 *     cli_dispatch() with its table of sub-commands (name, function, synopsis, help).
 *  2. Its declaration in cli.h and a row in `commands` below.
 *  3. Its section in docs/cli.md (and its sub-commands in tests/cli/test_usage.c).
 */
#include "cli.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "at_uuid.h"

static const struct {
    const char *name;
    int (*fn)(cli *, int, char **);
    const char *help;
} commands[] = {
    {"person", cli_person, "register, find, show and correct persons; record their facts"},
    {"household", cli_household, "create households, add and remove members, show one as of a date"},
    {"application", cli_application, "submit, declare, complete, withdraw and show applications"},
    {"visit", cli_visit, "record a home visit"},
    {"agreement", cli_agreement, "make a co-operation agreement, record the outcome of a duty"},
    {"appeal", cli_appeal, "file and decide appeals against decisions"},
    {"case", cli_case, "open, change and log cases; show a case's history"},
    {"service", cli_allocation, "social services: waiting lists, offers, places, occupancy, charges"},
    {"payment", cli_payments, "payee accounts, batches and SEPA files, bank reports, budget execution"},
    {"report", cli_report, "social assistance figures for a period: table, CSV or JSON"},
    {"audit", cli_audit, "re-derive past decisions from the log and prove each"},
    {"means", cli_means, "means testing runs: recalculate GMI grants at a change of the level"},
    {"simulate", cli_simulate, "what a draft rule set would change over the recorded caseload"},
    {"replay", cli_replay, "decisions as decided, as the law stood, and what-if, side by side"},
    {"demo", cli_demo, "drive a realistic demo workload through the command API"},
    {"generate", cli_generate, "a municipality's year from a seed, through the command API"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: atbalsts [--nats URL] [--tenant T] [--json] [--verbose] <command> [args]\n\n"
               "global options (flags win over the environment):\n"
               "  --nats URL     NATS server (ATB_NATS_URL, default nats://127.0.0.1:4222;\n"
               "                 ATB_NATS_USER and ATB_NATS_PASSWORD when it asks for them)\n"
               "  --tenant T     municipality code (ATB_TENANT, default daugavpils)\n"
               "  --prefix P     subject prefix (ATB_PREFIX, default atb)\n"
               "  --actor A      who gives the commands (ATB_ACTOR, default user:$USER)\n"
               "  --json         machine-readable output, one JSON object per line\n"
               "  --verbose      print the command id of each command (on stderr) and more detail\n"
               "  --command-id U send the command with this id: a retry of a command whose answer\n"
               "                 was lost is recognised and answered with its first result\n"
               "  --help         this text\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-12s %s\n", commands[i].name, commands[i].help);
    fprintf(f, "\n'atbalsts <command> --help' describes each command.\n"
               "The options --json, --verbose and --command-id may also follow the command.\n"
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
        if (err && c->last_id[0])
            json_object_set_new(err, "command_id", json_string(c->last_id));
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

int cli_command_id(cli *c, const char *name, ProtobufCMessage *msg, Atb__V1__CommandMeta *meta, const char *id,
                   Atb__V1__CommandReply **reply)
{
    snprintf(c->last_id, sizeof c->last_id, "%s", id);
    meta->command_id = c->last_id;
    meta->actor = (char *)c->actor;
    if (c->verbose)
        fprintf(stderr, "atbalsts: %s: command id %s\n", name, c->last_id);
    ProtobufCMessage *m = NULL;
    *reply = NULL;
    int rc = cli_connect(c);
    if (rc != CLI_OK)
        return rc;   /* nothing was sent */
    rc = cli_call(c, "cmd", c->tenant, "intake", name, msg, &atb__v1__command_reply__descriptor, &m);
    *reply = (Atb__V1__CommandReply *)m;
    /* Sent, but no answer: it may have been done and only the answer lost. The same id
     * makes a retry safe (the service answers a repeated id with its first result). */
    if (rc == CLI_UNREACHABLE)
        fprintf(stderr, "HINT:  To retry without doing it twice, repeat the command with --command-id %s\n",
                c->last_id);
    return rc;
}

int cli_command(cli *c, const char *name, ProtobufCMessage *msg, Atb__V1__CommandMeta *meta,
                Atb__V1__CommandReply **reply)
{
    char id[37];
    if (c->command_id)
        snprintf(id, sizeof id, "%s", c->command_id);
    else
        at_uuid_v4(id);
    return cli_command_id(c, name, msg, meta, id, reply);
}

int cli_print_reply(const cli *c, const Atb__V1__CommandReply *r, const char *done, const char *key_name,
                    const char *key)
{
    const char *k = r->key && *r->key ? r->key : key ? key : "";
    if (cli_refused(r->error))
        return cli_print_error(c, r->error, r->key);
    if (c->json) {
        cli_print_json(json_pack("{s:s, s:s, s:I, s:I, s:I, s:b, s:s}", key_name, k, "stream_id", r->stream_id,
                                 "version", (json_int_t)r->version, "position", (json_int_t)r->first_position,
                                 "last_position", (json_int_t)r->last_position, "duplicate", (int)r->duplicate,
                                 "command_id", c->last_id));
        return CLI_OK;
    }
    printf("%s %s\n  stream %s, version %lld, log position %lld\n", done, k, r->stream_id, (long long)r->version,
           (long long)r->first_position);
    if (r->duplicate)
        printf("  (this command was done before: this is its first result)\n");
    if (c->verbose)
        printf("  command id %s\n", c->last_id);
    return CLI_OK;
}

void cli_sub_usage(const cli_sub *s, FILE *f)
{
    fprintf(f, "usage: atbalsts %s\n\n%s", s->synopsis, s->help);
    fprintf(f, "\nalso: --json (output as JSON), --verbose, --command-id UUID (retry a command), --help\n");
}

int cli_dispatch(cli *c, const char *group, const char *about, const cli_sub *subs, size_t n, int argc,
                 char **argv)
{
    bool help = argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
                              strcmp(argv[1], "help") == 0);
    if (argc >= 2 && !help) {
        for (size_t i = 0; i < n; i++)
            if (strcmp(argv[1], subs[i].name) == 0)
                return subs[i].fn(c, &subs[i], argc - 1, argv + 1);
        fprintf(stderr, "atbalsts: unknown %s command \"%s\"\n\n", group, argv[1]);
    }
    FILE *f = help ? stdout : stderr;
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%s atbalsts %s\n", i == 0 ? "usage:" : "      ", subs[i].synopsis);
    fprintf(f, "\n%s\n'atbalsts %s <command> --help' describes each command.\n", about, group);
    return help ? CLI_OK : CLI_USAGE;
}

int cli_usage_error(const cli_sub *s, const char *fmt, ...)
{
    va_list ap;
    /* the synopsis starts with "<group> <sub>": name the command by those two words */
    const char *sp = strchr(s->synopsis, ' ');
    sp = sp ? strchr(sp + 1, ' ') : NULL;
    int len = sp ? (int)(sp - s->synopsis) : (int)strlen(s->synopsis);
    fprintf(stderr, "atbalsts: %.*s: ", len, s->synopsis);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return CLI_USAGE;
}

int cli_option(cli *c, const cli_sub *s, int o, const char *arg)
{
    switch (o) {
    case 'h': cli_sub_usage(s, stdout); return CLI_OK;
    case CLI_OPT_JSON: c->json = true; return CLI_NEXT;
    case CLI_OPT_VERBOSE: c->verbose = true; return CLI_NEXT;
    case CLI_OPT_COMMAND_ID:
        if (!at_uuid_valid(arg))
            return cli_usage_error(s, "--command-id \"%s\" is not a UUID", arg);
        c->command_id = arg;
        return CLI_NEXT;
    default:
        /* getopt has said what is wrong */
        cli_sub_usage(s, stderr);
        return CLI_USAGE;
    }
}

int cli_bare_word(const cli_sub *s, cli_bare *b, cli_list *prev, const char *w, int max)
{
    if (prev) {
        b->last = prev;
        return cli_list_opt(s, b, prev, w);
    }
    if (b->n >= max || b->n >= (int)(sizeof b->pos / sizeof b->pos[0]))
        return cli_usage_error(s, "unexpected argument \"%s\"", w);
    b->pos[b->n++] = w;
    return CLI_NEXT;
}

int cli_list_opt(const cli_sub *s, cli_bare *b, cli_list *l, const char *arg)
{
    if (!cli_list_add(l, arg)) {
        fprintf(stderr, "atbalsts: out of memory\n");
        return CLI_USAGE;
    }
    b->last = l;
    (void)s;
    return CLI_NEXT;
}

int cli_opt_date(const cli_sub *s, const char *opt, const char *arg, Atb__V1__Date *out)
{
    at_error err;
    at_error_clear(&err);
    if (cli_date_parse(arg, opt, out, &err) != AT_OK)
        return cli_usage_error(s, "--%s \"%s\": %s (expected YYYY-MM-DD)", opt, arg, err.message);
    return CLI_NEXT;
}

int cli_opt_int64(const cli_sub *s, const char *opt, const char *arg, int64_t min, int64_t max, int64_t *out)
{
    at_error err;
    at_error_clear(&err);
    if (cli_int64_parse(arg, opt, min, max, out, &err) != AT_OK)
        return cli_usage_error(s, "--%s \"%s\": %s", opt, arg, err.message);
    return CLI_NEXT;
}

int cli_date_only_args(cli *c, const cli_sub *s, int argc, char **argv, const char *opt, Atb__V1__Date *out,
                       bool *given)
{
    const struct option opts[] = {{opt, required_argument, 0, 'd'}, CLI_COMMON_OPTIONS};
    int o, rc = CLI_NEXT;
    *given = false;
    optind = 0;
    while (rc == CLI_NEXT && (o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (o == 'd')
            *given = (rc = cli_opt_date(s, opt, optarg, out)) == CLI_NEXT;
        else
            rc = cli_option(c, s, o, optarg);
    }
    if (rc == CLI_NEXT && optind < argc)
        rc = cli_usage_error(s, "unexpected argument \"%s\"", argv[optind]);
    return rc;
}

int cli_ending_args(cli *c, const cli_sub *s, int argc, char **argv, const char *needs, cli_ending *e)
{
    static const struct option opts[] = {
        {"on", required_argument, 0, 'o'}, {"reason", required_argument, 0, 'r'}, CLI_COMMON_OPTIONS};
    cli_bare b = {0};
    bool dated = false;
    int o, rc = CLI_NEXT;
    atb__v1__date__init(&e->on);
    e->key = NULL;
    e->reason = "";
    optind = 0;
    while (rc == CLI_NEXT && (o = getopt_long(argc, argv, "-h", opts, NULL)) != -1) {
        switch (o) {
        case 1: rc = cli_bare_word(s, &b, NULL, optarg, 1); break;
        case 'o': dated = (rc = cli_opt_date(s, "on", optarg, &e->on)) == CLI_NEXT; break;
        case 'r': e->reason = optarg; break;
        default: rc = cli_option(c, s, o, optarg); break;
        }
    }
    if (rc == CLI_NEXT && (b.n != 1 || !dated || !*e->reason))
        rc = cli_usage_error(s, "%s", needs);
    if (rc == CLI_NEXT)
        e->key = b.pos[0];
    return rc;
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
        {"json", no_argument, 0, 'j'}, {"verbose", no_argument, 0, 'v'},
        {"command-id", required_argument, 0, 'i'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    int o;
    /* '+': stop at the first non-option, which is the command. */
    while ((o = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
        switch (o) {
        case 'n': c.nats_url = optarg; break;
        case 't': c.tenant = optarg; break;
        case 'p': c.prefix = optarg; break;
        case 'a': c.actor = optarg; break;
        case 'j': c.json = true; break;
        case 'v': c.verbose = true; break;
        case 'i':
            if (!at_uuid_valid(optarg)) {
                fprintf(stderr, "atbalsts: --command-id \"%s\" is not a UUID\n", optarg);
                return CLI_USAGE;
            }
            c.command_id = optarg;
            break;
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
