/*
 * cli_person.c -- atbalsts person register | show: RegisterPerson and GetPerson of the
 * intake service.
 *
 * The command line checks only what it needs to build the request (the options are
 * there, the date parses, the sex is f or m); everything else is the service's to judge,
 * so the rules live in one place and the caseworker sees the service's own words.
 */
#include "cli.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "at_date.h"
#include "atb/v1/intake.pb-c.h"

static void person_usage(FILE *f)
{
    fprintf(f, "usage: atbalsts person register --code CODE --given NAME --family NAME --sex f|m\n"
               "                                [--birth YYYY-MM-DD]\n"
               "       atbalsts person show (--key KEY | --code CODE)\n\n"
               "register  records a person. The personal code and the names go to the intake\n"
               "          service's identity store; the event carries only the person key, the\n"
               "          birth date and the sex. --birth is required for new-format codes\n"
               "          (32...) and must match an old-format code if given. Prints the key.\n"
               "show      prints a person, found by key or by personal code.\n");
}

static void date_text(const Atb__V1__Date *d, char out[16])
{
    out[0] = 0;
    if (d && (d->year || d->month || d->day))
        snprintf(out, 16, "%04d-%02d-%02d", (int)d->year, (int)d->month, (int)d->day);
}

static int person_register(cli *c, int argc, char **argv)
{
    static const struct option opts[] = {
        {"code", required_argument, 0, 'c'}, {"given", required_argument, 0, 'g'},
        {"family", required_argument, 0, 'f'}, {"birth", required_argument, 0, 'b'},
        {"sex", required_argument, 0, 's'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    Atb__V1__RegisterPerson rp = ATB__V1__REGISTER_PERSON__INIT;
    Atb__V1__CommandMeta meta = ATB__V1__COMMAND_META__INIT;
    Atb__V1__Date birth = ATB__V1__DATE__INIT;
    bool have_code = false, have_given = false, have_family = false;
    int o;
    optind = 0;
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (o) {
        case 'c': rp.personal_code = optarg; have_code = true; break;
        case 'g': rp.given_name = optarg; have_given = true; break;
        case 'f': rp.family_name = optarg; have_family = true; break;
        case 'b': {
            at_date d;
            at_error err;
            if (at_date_parse(optarg, "birth", &d, &err) != AT_OK) {
                fprintf(stderr, "atbalsts: --birth \"%s\": %s (expected YYYY-MM-DD)\n", optarg, err.message);
                return CLI_USAGE;
            }
            int y, m, dd;
            at_date_to_ymd(d, &y, &m, &dd);
            birth.year = y;
            birth.month = m;
            birth.day = dd;
            rp.birth_date = &birth;
            break;
        }
        case 's':
            if (strcmp(optarg, "f") == 0) {
                rp.sex = ATB__V1__SEX__FEMALE;
            } else if (strcmp(optarg, "m") == 0) {
                rp.sex = ATB__V1__SEX__MALE;
            } else {
                fprintf(stderr, "atbalsts: --sex must be f or m, not \"%s\"\n", optarg);
                return CLI_USAGE;
            }
            break;
        case 'h': person_usage(stdout); return CLI_OK;
        default: person_usage(stderr); return CLI_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "atbalsts: person register: unexpected argument \"%s\"\n", argv[optind]);
        return CLI_USAGE;
    }
    if (!have_code || !have_given || !have_family || rp.sex == ATB__V1__SEX__SEX_UNSPECIFIED) {
        fprintf(stderr, "atbalsts: person register needs --code, --given, --family and --sex\n");
        person_usage(stderr);
        return CLI_USAGE;
    }
    char id[37];
    cli_meta(c, &meta, id);
    rp.meta = &meta;
    ProtobufCMessage *m = NULL;
    int rc = cli_call(c, "cmd", c->tenant, "intake", "RegisterPerson", &rp.base,
                      &atb__v1__command_reply__descriptor, &m);
    if (rc != CLI_OK)
        return rc;
    Atb__V1__CommandReply *r = (Atb__V1__CommandReply *)m;
    if (cli_refused(r->error)) {
        rc = cli_print_error(c, r->error, r->key);
    } else if (c->json) {
        cli_print_json(json_pack("{s:s, s:s, s:I, s:I, s:b, s:s}", "person_key", r->key, "stream_id",
                                 r->stream_id, "version", (json_int_t)r->version, "position",
                                 (json_int_t)r->first_position, "duplicate", (int)r->duplicate,
                                 "command_id", id));
    } else {
        printf("registered person %s\n  stream %s, version %lld, log position %lld\n", r->key, r->stream_id,
               (long long)r->version, (long long)r->first_position);
        if (r->duplicate)
            printf("  (this command was done before: this is its first result)\n");
    }
    protobuf_c_message_free_unpacked(m, NULL);
    return rc;
}

static int person_show(cli *c, int argc, char **argv)
{
    static const struct option opts[] = {
        {"key", required_argument, 0, 'k'}, {"code", required_argument, 0, 'c'},
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    Atb__V1__GetPerson q = ATB__V1__GET_PERSON__INIT;
    int o;
    optind = 0;
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (o) {
        case 'k': q.person_key = optarg; break;
        case 'c': q.personal_code = optarg; break;
        case 'h': person_usage(stdout); return CLI_OK;
        default: person_usage(stderr); return CLI_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "atbalsts: person show: unexpected argument \"%s\"\n", argv[optind]);
        return CLI_USAGE;
    }
    if (!*q.person_key == !*q.personal_code) {   /* unset strings are "" in protobuf-c */
        fprintf(stderr, "atbalsts: person show needs either --key or --code\n");
        return CLI_USAGE;
    }
    ProtobufCMessage *m = NULL;
    int rc = cli_call(c, "qry", c->tenant, "intake", "GetPerson", &q.base, &atb__v1__person_view__descriptor, &m);
    if (rc != CLI_OK)
        return rc;
    Atb__V1__PersonView *v = (Atb__V1__PersonView *)m;
    if (cli_refused(v->error)) {
        rc = cli_print_error(c, v->error, NULL);
    } else {
        char birth[16], reg[16];
        date_text(v->birth_date, birth);
        date_text(v->registered_on, reg);
        const char *sex = v->sex == ATB__V1__SEX__FEMALE ? "f" : v->sex == ATB__V1__SEX__MALE ? "m" : "";
        if (c->json)
            cli_print_json(json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I}", "person_key", v->person_key,
                                     "personal_code", v->personal_code, "given_name", v->given_name,
                                     "family_name", v->family_name, "birth_date", birth, "sex", sex,
                                     "registered_on", reg, "version", (json_int_t)v->version));
        else
            printf("person key     %s\npersonal code  %s\nname           %s %s\nbirth date     %s\n"
                   "sex            %s\nregistered on  %s\nversion        %lld\n",
                   v->person_key, v->personal_code, v->given_name, v->family_name, birth, sex, reg,
                   (long long)v->version);
    }
    protobuf_c_message_free_unpacked(m, NULL);
    return rc;
}

int cli_person(cli *c, int argc, char **argv)
{
    if (argc < 2) {
        person_usage(stderr);
        return CLI_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        person_usage(stdout);
        return CLI_OK;
    }
    if (strcmp(argv[1], "register") == 0)
        return person_register(c, argc - 1, argv + 1);
    if (strcmp(argv[1], "show") == 0)
        return person_show(c, argc - 1, argv + 1);
    fprintf(stderr, "atbalsts: unknown person command \"%s\"\n\n", argv[1]);
    person_usage(stderr);
    return CLI_USAGE;
}
