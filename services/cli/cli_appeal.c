/*
 * cli_appeal.c -- atbalsts appeal file | decide: FileAppeal and DecideAppeal.
 *
 * An appeal that changes the decision carries the new DecisionResult, read from a JSON
 * file (--result-file) in the conventions of cli_json_fill; the means service records it
 * as an override of the decision (the decision itself is never edited).
 */
#include "cli.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int appeal_file(cli *c, const cli_sub *s, int argc, char **argv);
static int appeal_decide(cli *c, const cli_sub *s, int argc, char **argv);

static const cli_sub subs[] = {
    {"file", appeal_file,
     "appeal file --application ID --ask N --body council|court --filed YYYY-MM-DD --grounds TEXT\n"
     "        [--follows AKEY]",
     "Files an appeal against the decision on ask N (from 1) of a decided application, to\n"
     "the council (dome) or the administrative court. A court appeal names the decided\n"
     "council appeal it follows (--follows). Prints the appeal key.\n"},
    {"decide", appeal_decide,
     "appeal decide AKEY --outcome upheld|changed|annulled|withdrawn --on YYYY-MM-DD\n"
     "        [--reference R] [--reasoning TEXT] [--result-file result.json]",
     "Records the body's decision on the appeal: its number and date (--reference) and\n"
     "reasoning. `changed` needs --result-file: the new decision result as JSON (a\n"
     "DecisionResult, see docs/cli.md), which replaces the decision's result.\n"},
};

int cli_appeal(cli *c, int argc, char **argv)
{
    return cli_dispatch(c, "appeal", "Appeals against decisions: the council, then the administrative court.", subs,
                        sizeof subs / sizeof subs[0], argc, argv);
}

static int appeal_file(cli *c, const cli_sub *s, int argc, char **argv)
{
    static const struct option opts[] = {
        {"application", required_argument, 0, 'a'}, {"ask", required_argument, 0, 'n'},
        {"body", required_argument, 0, 'b'}, {"filed", required_argument, 0, 'f'},
        {"grounds", required_argument, 0, 'g'}, {"follows", required_argument, 0, 'F'}, CLI_COMMON_OPTIONS};
    Atb__V1__FileAppeal cmd = ATB__V1__FILE_APPEAL__INIT;
    Atb__V1__CommandMeta meta = ATB__V1__COMMAND_META__INIT;
    Atb__V1__Date filed = ATB__V1__DATE__INIT;
    int o, rc = CLI_NEXT;
    int64_t n = 0;
    optind = 0;
    while (rc == CLI_NEXT && (o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        int v = 0;
        at_error err;
        at_error_clear(&err);
        switch (o) {
        case 'a': cmd.application_id = optarg; break;
        case 'n':
            rc = cli_opt_int64(s, "ask", optarg, 1, 16, &n);
            cmd.ask_index = (int32_t)n;
            break;
        case 'b':
            if (cli_word_parse(cli_appeal_bodies, optarg, "body", &v, &err) != AT_OK)
                rc = cli_usage_error(s, "--body: %s (%s)", err.message, err.detail);
            cmd.body = (Atb__V1__AppealBody)v;
            break;
        case 'f':
            if ((rc = cli_opt_date(s, "filed", optarg, &filed)) == CLI_NEXT)
                cmd.filed_on = &filed;
            break;
        case 'g': cmd.grounds = optarg; break;
        case 'F': cmd.follows = optarg; break;
        default: rc = cli_option(c, s, o, optarg); break;
        }
    }
    if (rc != CLI_NEXT)
        return rc;
    if (optind < argc)
        return cli_usage_error(s, "unexpected argument \"%s\"", argv[optind]);
    if (!*cmd.application_id || !cmd.ask_index || !cmd.body || !cmd.filed_on || !*cmd.grounds)
        return cli_usage_error(s, "needs --application, --ask, --body, --filed and --grounds");
    cmd.meta = &meta;
    Atb__V1__CommandReply *r = NULL;
    rc = cli_command(c, "FileAppeal", &cmd.base, &meta, &r);
    if (rc == CLI_OK)
        rc = cli_print_reply(c, r, "filed appeal", "appeal_key", NULL);
    protobuf_c_message_free_unpacked((ProtobufCMessage *)r, NULL);
    return rc;
}

static int appeal_decide(cli *c, const cli_sub *s, int argc, char **argv)
{
    static const struct option opts[] = {
        {"outcome", required_argument, 0, 'o'}, {"on", required_argument, 0, 'd'},
        {"reference", required_argument, 0, 'r'}, {"reasoning", required_argument, 0, 'R'},
        {"result-file", required_argument, 0, 'f'}, CLI_COMMON_OPTIONS};
    Atb__V1__DecideAppeal cmd = ATB__V1__DECIDE_APPEAL__INIT;
    Atb__V1__CommandMeta meta = ATB__V1__COMMAND_META__INIT;
    Atb__V1__Date on = ATB__V1__DATE__INIT;
    const char *result_file = NULL;
    cli_bare b = {0};
    int o, rc = CLI_NEXT;
    optind = 0;
    while (rc == CLI_NEXT && (o = getopt_long(argc, argv, "-h", opts, NULL)) != -1) {
        int v = 0;
        at_error err;
        at_error_clear(&err);
        switch (o) {
        case 1: rc = cli_bare_word(s, &b, NULL, optarg, 1); break;
        case 'o':
            if (cli_word_parse(cli_appeal_outcomes, optarg, "outcome", &v, &err) != AT_OK)
                rc = cli_usage_error(s, "--outcome: %s (%s)", err.message, err.detail);
            cmd.outcome = (Atb__V1__AppealOutcome)v;
            break;
        case 'd':
            if ((rc = cli_opt_date(s, "on", optarg, &on)) == CLI_NEXT)
                cmd.decided_on = &on;
            break;
        case 'r': cmd.reference = optarg; break;
        case 'R': cmd.reasoning = optarg; break;
        case 'f': result_file = optarg; break;
        default: rc = cli_option(c, s, o, optarg); break;
        }
    }
    if (rc != CLI_NEXT)
        return rc;
    if (b.n != 1 || !cmd.outcome || !cmd.decided_on)
        return cli_usage_error(s, "needs the appeal key, --outcome and --on");
    bool changed = cmd.outcome == ATB__V1__APPEAL_OUTCOME__APPEAL_OUTCOME_CHANGED;
    if (changed && !result_file)
        return cli_usage_error(s, "--outcome changed needs --result-file: the new result of the decision");
    if (!changed && result_file)
        return cli_usage_error(s, "--result-file goes only with --outcome changed");
    ProtobufCMessage *result = NULL;
    if (result_file) {
        json_t *j = NULL;
        at_error err;
        at_error_clear(&err);
        if (cli_json_load(result_file, &j, &err) == AT_OK)
            result = cli_json_to_pb(j, &atb__v1__decision_result__descriptor, "", &err);
        json_decref(j);
        if (!result) {
            cli_usage_error(s, "%s: %s", result_file, err.message);
            if (*err.detail)
                fprintf(stderr, "DETAIL:  %s\n", err.detail);
            if (*err.field)
                fprintf(stderr, "FIELD:  %s\n", err.field);
            return CLI_USAGE;
        }
        cmd.result = (Atb__V1__DecisionResult *)result;
    }
    cmd.meta = &meta;
    cmd.appeal_key = (char *)b.pos[0];
    Atb__V1__CommandReply *r = NULL;
    rc = cli_command(c, "DecideAppeal", &cmd.base, &meta, &r);
    if (rc == CLI_OK)
        rc = cli_print_reply(c, r, "decided appeal", "appeal_key", cmd.appeal_key);
    protobuf_c_message_free_unpacked((ProtobufCMessage *)r, NULL);
    protobuf_c_message_free_unpacked(result, NULL);
    return rc;
}
