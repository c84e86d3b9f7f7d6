/*
 * cli_person.c -- atbalsts person register | show.
 */
#include "cli.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "at_date.h"
#include "atb/v1/intake.pb-c.h"

static void person_usage(FILE *f)
{
    fprintf(f, "usage: atbalsts person register --code CODE --given NAME --family NAME [--birth YYYY-MM-DD] --sex f|m\n"
               "       atbalsts person show (--key KEY | --code CODE)\n\n"
               "register  records a person: the personal code and names go to the identity store,\n"
               "          the event carries only the person key, birth date and sex.\n"
               "          --birth is required for new-format codes (32...).\n"
               "show      prints a person by key or personal code.\n");
}

static Atb__V1__Date *parse_date(const char *s, Atb__V1__Date *d)
{
    at_date x;
    at_error err;
    if (at_date_parse(s, "birth", &x, &err) != AT_OK) {
        fprintf(stderr, "atbalsts: --birth: %s\n", err.message);
        return NULL;
    }
    int y, m, dd;
    at_date_to_ymd(x, &y, &m, &dd);
    d->year = y;
    d->month = m;
    d->day = dd;
    return d;
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
    int o;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 'c': rp.personal_code = optarg; break;
        case 'g': rp.given_name = optarg; break;
        case 'f': rp.family_name = optarg; break;
        case 'b':
            if (!(rp.birth_date = parse_date(optarg, &birth)))
                return CLI_USAGE;
            break;
        case 's':
            if (strcmp(optarg, "f") == 0)
                rp.sex = ATB__V1__SEX__FEMALE;
            else if (strcmp(optarg, "m") == 0)
                rp.sex = ATB__V1__SEX__MALE;
            else {
                fprintf(stderr, "atbalsts: --sex: must be f or m, not \"%s\"\n", optarg);
                return CLI_USAGE;
            }
            break;
        case 'h': person_usage(stdout); return CLI_OK;
        default: person_usage(stderr); return CLI_USAGE;
        }
    }
    if (!*rp.personal_code || !*rp.given_name || !*rp.family_name) {   /* unset = "" */
        fprintf(stderr, "atbalsts: person register needs --code, --given and --family\n");
        return CLI_USAGE;
    }
    char id[37];
    cli_meta(c, &meta, id);
    rp.meta = &meta;
    natsMsg *m = NULL;
    int rc = cli_request(c, "cmd", "intake", "RegisterPerson", &rp.base, &m);
    if (rc != CLI_OK)
        return rc;
    Atb__V1__CommandReply *r =
        atb__v1__command_reply__unpack(NULL, (size_t)natsMsg_GetDataLength(m), (const uint8_t *)natsMsg_GetData(m));
    natsMsg_Destroy(m);
    if (!r) {
        fprintf(stderr, "atbalsts: the intake service sent a reply that does not decode\n");
        return CLI_UNREACHABLE;
    }
    if (r->error && r->error->code) {
        rc = cli_print_error(c, r->error);
    } else if (c->json) {
        printf("{\"person_key\":\"%s\",\"stream_id\":\"%s\",\"version\":%lld,\"position\":%lld,\"duplicate\":%s}\n",
               r->key, r->stream_id, (long long)r->version, (long long)r->first_position,
               r->duplicate ? "true" : "false");
    } else {
        printf("registered person %s (stream %s, log position %lld)\n", r->key, r->stream_id,
               (long long)r->first_position);
    }
    atb__v1__command_reply__free_unpacked(r, NULL);
    return rc;
}

static int person_show(cli *c, int argc, char **argv)
{
    static const struct option opts[] = {
        {"key", required_argument, 0, 'k'}, {"code", required_argument, 0, 'c'},
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    Atb__V1__GetPerson q = ATB__V1__GET_PERSON__INIT;
    int o;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 'k': q.person_key = optarg; break;
        case 'c': q.personal_code = optarg; break;
        case 'h': person_usage(stdout); return CLI_OK;
        default: person_usage(stderr); return CLI_USAGE;
        }
    }
    if (!*q.person_key == !*q.personal_code) {   /* protobuf-c strings default to "" */
        fprintf(stderr, "atbalsts: person show needs --key or --code\n");
        return CLI_USAGE;
    }
    natsMsg *m = NULL;
    int rc = cli_request(c, "qry", "intake", "GetPerson", &q.base, &m);
    if (rc != CLI_OK)
        return rc;
    Atb__V1__PersonView *v =
        atb__v1__person_view__unpack(NULL, (size_t)natsMsg_GetDataLength(m), (const uint8_t *)natsMsg_GetData(m));
    natsMsg_Destroy(m);
    if (!v) {
        fprintf(stderr, "atbalsts: the intake service sent a reply that does not decode\n");
        return CLI_UNREACHABLE;
    }
    if (v->error && v->error->code) {
        rc = cli_print_error(c, v->error);
    } else {
        char birth[16] = "";
        if (v->birth_date)
            snprintf(birth, sizeof birth, "%04d-%02d-%02d", (int)v->birth_date->year,
                     (int)v->birth_date->month, (int)v->birth_date->day);
        const char *sex = v->sex == ATB__V1__SEX__FEMALE ? "f" : v->sex == ATB__V1__SEX__MALE ? "m" : "";
        if (c->json) {
            bool first = true;
            printf("{");
            cli_json_str("person_key", v->person_key, &first);
            cli_json_str("personal_code", v->personal_code, &first);
            cli_json_str("given_name", v->given_name, &first);
            cli_json_str("family_name", v->family_name, &first);
            cli_json_str("birth_date", birth, &first);
            cli_json_str("sex", sex, &first);
            printf(",\"version\":%lld}\n", (long long)v->version);
        }
        else
            printf("person key     %s\npersonal code  %s\nname           %s %s\nbirth date     %s\nsex            %s\n"
                   "version        %lld\n",
                   v->person_key, v->personal_code, v->given_name, v->family_name, birth, sex,
                   (long long)v->version);
    }
    atb__v1__person_view__free_unpacked(v, NULL);
    return rc;
}

int cli_person(cli *c, int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        person_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_USAGE : CLI_OK;
    }
    if (strcmp(argv[1], "register") == 0)
        return person_register(c, argc - 1, argv + 1);
    if (strcmp(argv[1], "show") == 0)
        return person_show(c, argc - 1, argv + 1);
    fprintf(stderr, "atbalsts: unknown person command \"%s\"\n", argv[1]);
    person_usage(stderr);
    return CLI_USAGE;
}
