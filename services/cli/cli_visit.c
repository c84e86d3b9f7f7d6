/*
 * cli_visit.c -- atbalsts visit record (RecordHomeVisit) and atbalsts agreement make |
 * outcome (MakeAgreement, RecordDutyOutcome): what a social worker records about a
 * household outside the application itself.
 *
 * Free text (findings, duty texts, notes) is sent as it is; the service keeps it in its
 * erasable note store, never in an event.
 */
#include "cli.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int visit_record(cli *c, const cli_sub *s, int argc, char **argv);
static int agreement_make(cli *c, const cli_sub *s, int argc, char **argv);
static int agreement_outcome(cli *c, const cli_sub *s, int argc, char **argv);

static const cli_sub visit_subs[] = {
    {"record", visit_record,
     "visit record --household HKEY [--application ID] --on YYYY-MM-DD --found PKEY... [--others N]\n"
     "        --condition CODE... --findings TEXT --worker W",
     "Records a home visit (apsekošana dzīvesvietā): the registered persons found living\n"
     "there (--found, person keys), how many others live there (--others), the conditions\n"
     "(--condition: adequate, no_heating, no_water, unsanitary, overcrowded, needs_repair,\n"
     "no_bath, children_neglected, unsafe), the findings in words and the worker\n"
     "(\"user:<login>\"). Several values may follow one --found or --condition, or be\n"
     "comma-separated. Prints the visit key.\n"},
};

static const cli_sub agreement_subs[] = {
    {"make", agreement_make,
     "agreement make --person PKEY [--application ID] --signed YYYY-MM-DD --duty KIND:DUE[:TEXT]...",
     "Makes a co-operation agreement (līdzdarbība) with a member: each --duty is its kind\n"
     "(register_unemployed, seek_work, attend_programme, apply_disability_assessment,\n"
     "meet_social_worker, other), the date it is due and what it is in words (the text may\n"
     "hold colons). Duties are numbered from 1 in the order given. Prints the agreement key.\n"},
    {"outcome", agreement_outcome,
     "agreement outcome AKEY DUTY (--fulfilled | --failed) --on YYYY-MM-DD [--note TEXT]",
     "Records whether duty number DUTY of the agreement was fulfilled. A failure counts for\n"
     "means testing (member flag cooperation_failed) from --on until the duty is recorded\n"
     "as fulfilled.\n"},
};

int cli_visit(cli *c, int argc, char **argv)
{
    return cli_dispatch(c, "visit", "Home visits.", visit_subs, sizeof visit_subs / sizeof visit_subs[0], argc,
                        argv);
}

int cli_agreement(cli *c, int argc, char **argv)
{
    return cli_dispatch(c, "agreement", "Co-operation agreements and their duties.", agreement_subs,
                        sizeof agreement_subs / sizeof agreement_subs[0], argc, argv);
}

static int visit_record(cli *c, const cli_sub *s, int argc, char **argv)
{
    static const struct option opts[] = {
        {"household", required_argument, 0, 'H'}, {"application", required_argument, 0, 'a'},
        {"on", required_argument, 0, 'o'}, {"found", required_argument, 0, 'f'},
        {"others", required_argument, 0, 'n'}, {"condition", required_argument, 0, 'c'},
        {"findings", required_argument, 0, 'F'}, {"worker", required_argument, 0, 'w'}, CLI_COMMON_OPTIONS};
    Atb__V1__RecordHomeVisit cmd = ATB__V1__RECORD_HOME_VISIT__INIT;
    Atb__V1__CommandMeta meta = ATB__V1__COMMAND_META__INIT;
    Atb__V1__Date on = ATB__V1__DATE__INIT;
    cli_list found = {0}, conditions = {0};
    cli_bare b = {0};
    int o, rc = CLI_NEXT;
    int64_t n = 0;
    optind = 0;
    while (rc == CLI_NEXT && (o = getopt_long(argc, argv, "-h", opts, NULL)) != -1) {
        cli_list *prev = b.last;
        b.last = NULL;
        switch (o) {
        case 1: rc = cli_bare_word(s, &b, prev, optarg, 0); break;
        case 'H': cmd.household_key = optarg; break;
        case 'a': cmd.application_id = optarg; break;
        case 'o':
            if ((rc = cli_opt_date(s, "on", optarg, &on)) == CLI_NEXT)
                cmd.visited_on = &on;
            break;
        case 'f': rc = cli_list_opt(s, &b, &found, optarg); break;
        case 'n':
            rc = cli_opt_int64(s, "others", optarg, 0, 1000, &n);
            cmd.others_found = (int32_t)n;
            break;
        case 'c': rc = cli_list_opt(s, &b, &conditions, optarg); break;
        case 'F': cmd.findings = optarg; break;
        case 'w': cmd.social_worker = optarg; break;
        default: rc = cli_option(c, s, o, optarg); break;
        }
    }
    if (rc == CLI_NEXT && (!*cmd.household_key || !cmd.visited_on || conditions.n == 0 || !*cmd.findings ||
                           !*cmd.social_worker))
        rc = cli_usage_error(s, "needs --household, --on, --condition, --findings and --worker");
    if (rc == CLI_NEXT) {
        cmd.meta = &meta;
        cmd.found = found.items;
        cmd.n_found = found.n;
        cmd.conditions = conditions.items;
        cmd.n_conditions = conditions.n;
        Atb__V1__CommandReply *r = NULL;
        rc = cli_command(c, "RecordHomeVisit", &cmd.base, &meta, &r);
        if (rc == CLI_OK)
            rc = cli_print_reply(c, r, "recorded home visit", "visit_key", NULL);
        protobuf_c_message_free_unpacked((ProtobufCMessage *)r, NULL);
    }
    cli_list_free(&found);
    cli_list_free(&conditions);
    return rc;
}

static int agreement_make(cli *c, const cli_sub *s, int argc, char **argv)
{
    static const struct option opts[] = {
        {"person", required_argument, 0, 'p'}, {"application", required_argument, 0, 'a'},
        {"signed", required_argument, 0, 's'}, {"duty", required_argument, 0, 'd'}, CLI_COMMON_OPTIONS};
    Atb__V1__MakeAgreement cmd = ATB__V1__MAKE_AGREEMENT__INIT;
    Atb__V1__CommandMeta meta = ATB__V1__COMMAND_META__INIT;
    Atb__V1__Date signed_on = ATB__V1__DATE__INIT;
    /* a duty's text may hold commas: --duty values are not split like other lists */
    const char **specs = calloc((size_t)argc + 1, sizeof *specs);
    size_t n_specs = 0;
    bool after_duty = false;
    int o, rc = specs ? CLI_NEXT : CLI_USAGE;
    optind = 0;
    while (rc == CLI_NEXT && (o = getopt_long(argc, argv, "-h", opts, NULL)) != -1) {
        bool prev = after_duty;
        after_duty = false;
        switch (o) {
        case 1:
            if (prev) {
                specs[n_specs++] = optarg;
                after_duty = true;
            } else {
                rc = cli_usage_error(s, "unexpected argument \"%s\"", optarg);
            }
            break;
        case 'p': cmd.person_key = optarg; break;
        case 'a': cmd.application_id = optarg; break;
        case 's':
            if ((rc = cli_opt_date(s, "signed", optarg, &signed_on)) == CLI_NEXT)
                cmd.signed_on = &signed_on;
            break;
        case 'd':
            specs[n_specs++] = optarg;
            after_duty = true;
            break;
        default: rc = cli_option(c, s, o, optarg); break;
        }
    }
    if (rc == CLI_NEXT && (!*cmd.person_key || !cmd.signed_on || n_specs == 0))
        rc = cli_usage_error(s, "needs --person, --signed and at least one --duty KIND:DUE[:TEXT]");
    cli_duty *duties = rc == CLI_NEXT ? calloc(n_specs, sizeof *duties) : NULL;
    Atb__V1__Duty *pd = rc == CLI_NEXT ? calloc(n_specs, sizeof *pd) : NULL;
    Atb__V1__Duty **pp = rc == CLI_NEXT ? calloc(n_specs, sizeof *pp) : NULL;
    if (rc == CLI_NEXT && (!duties || !pd || !pp))
        rc = CLI_USAGE;
    size_t parsed = 0;
    for (; rc == CLI_NEXT && parsed < n_specs; parsed++) {
        at_error err;
        at_error_clear(&err);
        if (cli_duty_parse(specs[parsed], &duties[parsed], &err) != AT_OK) {
            rc = cli_usage_error(s, "--duty: %s%s%s", err.message, *err.detail ? "\n  " : "", err.detail);
            break;
        }
        atb__v1__duty__init(&pd[parsed]);
        pd[parsed].kind = duties[parsed].kind;
        pd[parsed].due = &duties[parsed].due;
        pd[parsed].text = duties[parsed].text;
        pp[parsed] = &pd[parsed];
    }
    if (rc == CLI_NEXT) {
        cmd.meta = &meta;
        cmd.duties = pp;
        cmd.n_duties = n_specs;
        Atb__V1__CommandReply *r = NULL;
        rc = cli_command(c, "MakeAgreement", &cmd.base, &meta, &r);
        if (rc == CLI_OK)
            rc = cli_print_reply(c, r, "made agreement", "agreement_key", NULL);
        if (rc == CLI_OK && !c->json)
            for (size_t i = 0; i < n_specs; i++) {
                char due[11];
                cli_date_text(&duties[i].due, due);
                printf("  duty %zu: %s, due %s%s%s\n", i + 1, duties[i].kind, due, *duties[i].text ? ": " : "",
                       duties[i].text);
            }
        protobuf_c_message_free_unpacked((ProtobufCMessage *)r, NULL);
    }
    for (size_t i = 0; duties && i < n_specs; i++)
        cli_duty_free(&duties[i]);
    free(duties);
    free(pd);
    free(pp);
    free(specs);
    return rc;
}

static int agreement_outcome(cli *c, const cli_sub *s, int argc, char **argv)
{
    static const struct option opts[] = {
        {"fulfilled", no_argument, 0, 'f'}, {"failed", no_argument, 0, 'F'}, {"on", required_argument, 0, 'o'},
        {"note", required_argument, 0, 'n'}, CLI_COMMON_OPTIONS};
    Atb__V1__RecordDutyOutcome cmd = ATB__V1__RECORD_DUTY_OUTCOME__INIT;
    Atb__V1__CommandMeta meta = ATB__V1__COMMAND_META__INIT;
    Atb__V1__Date on = ATB__V1__DATE__INIT;
    cli_bare b = {0};
    int o, rc = CLI_NEXT, fulfilled = 0, failed = 0;
    optind = 0;
    while (rc == CLI_NEXT && (o = getopt_long(argc, argv, "-h", opts, NULL)) != -1) {
        switch (o) {
        case 1: rc = cli_bare_word(s, &b, NULL, optarg, 2); break;
        case 'f': fulfilled = 1; break;
        case 'F': failed = 1; break;
        case 'o':
            if ((rc = cli_opt_date(s, "on", optarg, &on)) == CLI_NEXT)
                cmd.on = &on;
            break;
        case 'n': cmd.note = optarg; break;
        default: rc = cli_option(c, s, o, optarg); break;
        }
    }
    if (rc != CLI_NEXT)
        return rc;
    if (b.n != 2 || fulfilled + failed != 1 || !cmd.on)
        return cli_usage_error(s, "needs the agreement key, the duty number, --fulfilled or --failed, and --on");
    int64_t duty = 0;
    if ((rc = cli_opt_int64(s, "duty", b.pos[1], 1, 32, &duty)) != CLI_NEXT)
        return rc;
    cmd.meta = &meta;
    cmd.agreement_key = (char *)b.pos[0];
    cmd.duty = (int32_t)duty;
    cmd.fulfilled = fulfilled;
    Atb__V1__CommandReply *r = NULL;
    rc = cli_command(c, "RecordDutyOutcome", &cmd.base, &meta, &r);
    if (rc == CLI_OK)
        rc = cli_print_reply(c, r, fulfilled ? "duty fulfilled: agreement" : "duty failed: agreement",
                             "agreement_key", cmd.agreement_key);
    protobuf_c_message_free_unpacked((ProtobufCMessage *)r, NULL);
    return rc;
}
