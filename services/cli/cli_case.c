/*
 * cli_case.c -- atbalsts case open | change | log | history: OpenCase, ChangeCase,
 * LogActivity and GetCaseHistory.
 *
 * The history prints one line per event in log order, as the service gives it. With
 * --json each entry also carries its event body decoded ("payload") when the command
 * line knows the event type (cli_event_descriptor), so scripts need no protobuf.
 */
#include "cli.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static int case_open(cli *c, const cli_sub *s, int argc, char **argv);
static int case_change(cli *c, const cli_sub *s, int argc, char **argv);
static int case_log(cli *c, const cli_sub *s, int argc, char **argv);
static int case_history(cli *c, const cli_sub *s, int argc, char **argv);

static const cli_sub subs[] = {
    {"open", case_open,
     "case open --person PKEY [--household HKEY] --sector S --worker W --opened YYYY-MM-DD",
     "Opens a case for a client. Sectors: social_assistance, family_support, elderly,\n"
     "disability, addiction, homelessness, crisis, other. The worker is \"user:<login>\".\n"
     "Prints the case key.\n"},
    {"change", case_change, "case change CKEY [--worker W] [--close | --reopen] --on YYYY-MM-DD [--reason TEXT]",
     "Gives the case to another worker, or closes or reopens it.\n"},
    {"log", case_log, "case log CKEY --kind K --on YYYY-MM-DD --text TEXT",
     "Adds a line to the case's activity log. Kinds: consultation, phone_call, referral,\n"
     "document, meeting, other.\n"},
    {"history", case_history, "case history CKEY",
     "Prints every event of the case, its client, the client's household, their\n"
     "applications and decisions, visits, agreements and appeals, in log order: one line\n"
     "each with the time the log recorded it (UTC), the event type, who gave the command\n"
     "and a summary. With --json: the case and its entries.\n"},
};

int cli_case(cli *c, int argc, char **argv)
{
    return cli_dispatch(c, "case", "Cases: a client's file with its worker and activity log.", subs,
                        sizeof subs / sizeof subs[0], argc, argv);
}

static int case_open(cli *c, const cli_sub *s, int argc, char **argv)
{
    static const struct option opts[] = {
        {"person", required_argument, 0, 'p'}, {"household", required_argument, 0, 'H'},
        {"sector", required_argument, 0, 's'}, {"worker", required_argument, 0, 'w'},
        {"opened", required_argument, 0, 'o'}, CLI_COMMON_OPTIONS};
    Atb__V1__OpenCase cmd = ATB__V1__OPEN_CASE__INIT;
    Atb__V1__CommandMeta meta = ATB__V1__COMMAND_META__INIT;
    Atb__V1__Date opened = ATB__V1__DATE__INIT;
    int o, rc = CLI_NEXT;
    optind = 0;
    while (rc == CLI_NEXT && (o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (o) {
        case 'p': cmd.person_key = optarg; break;
        case 'H': cmd.household_key = optarg; break;
        case 's': cmd.sector = optarg; break;
        case 'w': cmd.social_worker = optarg; break;
        case 'o':
            if ((rc = cli_opt_date(s, "opened", optarg, &opened)) == CLI_NEXT)
                cmd.opened_on = &opened;
            break;
        default: rc = cli_option(c, s, o, optarg); break;
        }
    }
    if (rc != CLI_NEXT)
        return rc;
    if (optind < argc)
        return cli_usage_error(s, "unexpected argument \"%s\"", argv[optind]);
    if (!*cmd.person_key || !*cmd.sector || !*cmd.social_worker || !cmd.opened_on)
        return cli_usage_error(s, "needs --person, --sector, --worker and --opened");
    cmd.meta = &meta;
    Atb__V1__CommandReply *r = NULL;
    rc = cli_command(c, "OpenCase", &cmd.base, &meta, &r);
    if (rc == CLI_OK)
        rc = cli_print_reply(c, r, "opened case", "case_key", NULL);
    protobuf_c_message_free_unpacked((ProtobufCMessage *)r, NULL);
    return rc;
}

static int case_change(cli *c, const cli_sub *s, int argc, char **argv)
{
    static const struct option opts[] = {
        {"worker", required_argument, 0, 'w'}, {"close", no_argument, 0, 'c'}, {"reopen", no_argument, 0, 'r'},
        {"on", required_argument, 0, 'o'}, {"reason", required_argument, 0, 'R'}, CLI_COMMON_OPTIONS};
    Atb__V1__ChangeCase cmd = ATB__V1__CHANGE_CASE__INIT;
    Atb__V1__CommandMeta meta = ATB__V1__COMMAND_META__INIT;
    Atb__V1__Date on = ATB__V1__DATE__INIT;
    cli_bare b = {0};
    int o, rc = CLI_NEXT;
    optind = 0;
    while (rc == CLI_NEXT && (o = getopt_long(argc, argv, "-h", opts, NULL)) != -1) {
        switch (o) {
        case 1: rc = cli_bare_word(s, &b, NULL, optarg, 1); break;
        case 'w': cmd.social_worker = optarg; break;
        /* ChangeCase.active: 0 unchanged, 1 reopen, 2 close */
        case 'c':
            rc = cmd.active == 1 ? cli_usage_error(s, "give --close or --reopen, not both") : CLI_NEXT;
            cmd.active = 2;
            break;
        case 'r':
            rc = cmd.active == 2 ? cli_usage_error(s, "give --close or --reopen, not both") : CLI_NEXT;
            cmd.active = 1;
            break;
        case 'o':
            if ((rc = cli_opt_date(s, "on", optarg, &on)) == CLI_NEXT)
                cmd.on = &on;
            break;
        case 'R': cmd.reason = optarg; break;
        default: rc = cli_option(c, s, o, optarg); break;
        }
    }
    if (rc != CLI_NEXT)
        return rc;
    if (b.n != 1 || !cmd.on)
        return cli_usage_error(s, "needs the case key and --on");
    if (!*cmd.social_worker && !cmd.active)
        return cli_usage_error(s, "nothing to change: give --worker, --close or --reopen");
    cmd.meta = &meta;
    cmd.case_key = (char *)b.pos[0];
    Atb__V1__CommandReply *r = NULL;
    rc = cli_command(c, "ChangeCase", &cmd.base, &meta, &r);
    if (rc == CLI_OK)
        rc = cli_print_reply(c, r, "changed case", "case_key", cmd.case_key);
    protobuf_c_message_free_unpacked((ProtobufCMessage *)r, NULL);
    return rc;
}

static int case_log(cli *c, const cli_sub *s, int argc, char **argv)
{
    static const struct option opts[] = {
        {"kind", required_argument, 0, 'k'}, {"on", required_argument, 0, 'o'},
        {"text", required_argument, 0, 't'}, CLI_COMMON_OPTIONS};
    Atb__V1__LogActivity cmd = ATB__V1__LOG_ACTIVITY__INIT;
    Atb__V1__CommandMeta meta = ATB__V1__COMMAND_META__INIT;
    Atb__V1__Date on = ATB__V1__DATE__INIT;
    cli_bare b = {0};
    int o, rc = CLI_NEXT;
    optind = 0;
    while (rc == CLI_NEXT && (o = getopt_long(argc, argv, "-h", opts, NULL)) != -1) {
        switch (o) {
        case 1: rc = cli_bare_word(s, &b, NULL, optarg, 1); break;
        case 'k': cmd.kind = optarg; break;
        case 'o':
            if ((rc = cli_opt_date(s, "on", optarg, &on)) == CLI_NEXT)
                cmd.on = &on;
            break;
        case 't': cmd.text = optarg; break;
        default: rc = cli_option(c, s, o, optarg); break;
        }
    }
    if (rc != CLI_NEXT)
        return rc;
    if (b.n != 1 || !*cmd.kind || !cmd.on || !*cmd.text)
        return cli_usage_error(s, "needs the case key, --kind, --on and --text");
    cmd.meta = &meta;
    cmd.case_key = (char *)b.pos[0];
    Atb__V1__CommandReply *r = NULL;
    rc = cli_command(c, "LogActivity", &cmd.base, &meta, &r);
    if (rc == CLI_OK)
        rc = cli_print_reply(c, r, "logged activity in case", "case_key", cmd.case_key);
    protobuf_c_message_free_unpacked((ProtobufCMessage *)r, NULL);
    return rc;
}

/* "2024-05-02 10:11:12" (UTC) of Unix microseconds into buf[20]. */
static void time_text(int64_t us, char buf[20])
{
    time_t t = (time_t)(us / 1000000);
    struct tm tm;
    if (us <= 0 || !gmtime_r(&t, &tm) || strftime(buf, 20, "%Y-%m-%d %H:%M:%S", &tm) == 0)
        snprintf(buf, 20, "-");
}

static json_t *entry_json(const Atb__V1__HistoryEntry *e)
{
    json_t *j = cli_pb_to_json(&e->base);
    char at[20];
    time_text(e->recorded_at_us, at);
    json_object_set_new(j, "recorded_at", json_string(at));
    const ProtobufCMessageDescriptor *d = cli_event_descriptor(e->type);
    ProtobufCMessage *body = d ? protobuf_c_message_unpack(d, NULL, e->payload.len, e->payload.data) : NULL;
    json_object_set_new(j, "payload", body ? cli_pb_to_json(body) : json_null());
    protobuf_c_message_free_unpacked(body, NULL);
    return j;
}

static int case_history(cli *c, const cli_sub *s, int argc, char **argv)
{
    static const struct option opts[] = {CLI_COMMON_OPTIONS};
    Atb__V1__GetCaseHistory q = ATB__V1__GET_CASE_HISTORY__INIT;
    cli_bare b = {0};
    int o, rc = CLI_NEXT;
    optind = 0;
    while (rc == CLI_NEXT && (o = getopt_long(argc, argv, "-h", opts, NULL)) != -1) {
        if (o == 1)
            rc = cli_bare_word(s, &b, NULL, optarg, 1);
        else
            rc = cli_option(c, s, o, optarg);
    }
    if (rc != CLI_NEXT)
        return rc;
    if (b.n != 1)
        return cli_usage_error(s, "needs the case key");
    q.case_key = (char *)b.pos[0];
    ProtobufCMessage *m = NULL;
    rc = cli_call(c, "qry", c->tenant, "intake", "GetCaseHistory", &q.base, &atb__v1__case_history__descriptor, &m);
    if (rc != CLI_OK)
        return rc;
    Atb__V1__CaseHistory *h = (Atb__V1__CaseHistory *)m;
    if (cli_refused(h->error)) {
        rc = cli_print_error(c, h->error, NULL);
    } else if (c->json) {
        json_t *j = cli_pb_to_json(m);
        json_object_del(j, "error");
        json_t *entries = json_array();
        for (size_t i = 0; i < h->n_entries; i++)
            json_array_append_new(entries, entry_json(h->entries[i]));
        json_object_set_new(j, "entries", entries);
        cli_print_json(j);
    } else {
        printf("case %s  %s, %s, worker %s, client %s%s%s\n", h->case_key, h->sector,
               h->active ? "open" : "closed", h->social_worker, h->person_key, *h->household_key ? ", household " : "",
               h->household_key);
        for (size_t i = 0; i < h->n_entries; i++) {
            const Atb__V1__HistoryEntry *e = h->entries[i];
            char at[20];
            time_text(e->recorded_at_us, at);
            printf("%s  %-22s %-20s %s", at, e->type, e->actor, e->summary);
            if (e->corrects_position)
                printf("  [corrects position %lld]", (long long)e->corrects_position);
            putchar('\n');
        }
    }
    protobuf_c_message_free_unpacked(m, NULL);
    return rc;
}
