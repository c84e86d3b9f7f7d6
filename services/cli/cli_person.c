/*
 * cli_person.c -- atbalsts person register | show | find | fact | correct: RegisterPerson,
 * GetPerson, FindPersons, RecordPersonFact and CorrectPerson of the intake service.
 *
 * The command line checks only what it needs to build the request (the options are
 * there, the date parses, the sex is f or m); everything else is the service's to judge,
 * so the rules live in one place and the caseworker sees the service's own words.
 */
#include "cli.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static int person_register(cli *c, const cli_sub *s, int argc, char **argv);
static int person_show(cli *c, const cli_sub *s, int argc, char **argv);
static int person_find(cli *c, const cli_sub *s, int argc, char **argv);
static int person_fact(cli *c, const cli_sub *s, int argc, char **argv);
static int person_correct(cli *c, const cli_sub *s, int argc, char **argv);
static int person_erase(cli *c, const cli_sub *s, int argc, char **argv);

static const cli_sub subs[] = {
    {"register", person_register,
     "person register --code CODE --given NAME --family NAME --sex f|m [--birth YYYY-MM-DD]",
     "Records a person. The personal code and the names go to the intake service's identity\n"
     "store; the event carries only the person key, the birth date and the sex. --birth is\n"
     "required for new-format codes (32...) and must match an old-format code if given.\n"
     "(--given-name, --family-name and --birth-date are the same options.) Prints the key.\n"},
    {"show", person_show, "person show (--key KEY | --code CODE | KEY)",
     "Prints a person, found by key or by personal code: identity, birth date, sex, the\n"
     "household the person is in today, the address of the residence in force today, and\n"
     "every fact recorded (corrected ones marked with the position that replaced them).\n"},
    {"find", person_find, "person find (--family-name X [--given-name Y] | --code CODE) [--limit N]",
     "Lists the persons whose family name starts with X (and given name with Y), ignoring\n"
     "case, or the person with exactly this personal code. One line each: key, personal\n"
     "code, name, birth date, sex. At most --limit (default 50, at most 500); a last line\n"
     "says when more matched.\n"},
    {"fact", person_fact,
     "person fact KEY --kind residence|disability|care-level|employment|flag|school --from D\n"
     "        [--to D] [--municipality M] [--address TEXT] [--level N] [--employment E]\n"
     "        [--flag F [--cleared]] [--school S]\n"
     "        [--corrects POS --reason TEXT] [--expect-version N]",
     "Records a dated fact of a person, in force from --from to --to (inclusive; no --to =\n"
     "open-ended):\n"
     "  residence   --municipality M (the municipality code) and --address TEXT (kept in the\n"
     "              identity store only)\n"
     "  disability  --level 1..3 (group I-III) or 4 (a child with disability)\n"
     "  care-level  --level 1..4\n"
     "  employment  --employment employed|self-employed|registered-unemployed|job-seeker|\n"
     "              not-working|student\n"
     "  flag        --flag NAME (a member flag of docs/rules.md), --cleared: it does not hold\n"
     "  school      --school preschool|grade-1|other (a pupil of the municipality's schools)\n"
     "--corrects POS replaces the fact recorded at log position POS (person show lists them)\n"
     "and needs --reason. Prints the log position of the new fact.\n"},
    {"correct", person_correct,
     "person correct KEY [--given-name N] [--family-name N] [--birth-date D] [--sex f|m]\n"
     "        --reason TEXT [--expect-version N]",
     "Corrects what was registered. Options not given stay as they were; the names change\n"
     "only in the identity store. --reason is required and kept as a note.\n"},
    {"erase", person_erase, "person erase KEY --basis CODE",
     "The right to erasure: blanks the person's names and personal code and the notes of\n"
     "the person's facts and agreements (addresses, reasons, duty texts). The events stay:\n"
     "they never held identifying data, so every decision still replays. --basis says why,\n"
     "as a code (data_subject_request, retention_expired, ...).\n"},
};

int cli_person(cli *c, int argc, char **argv)
{
    return cli_dispatch(c, "person", "Persons: the identity store and the dated facts of each person.", subs,
                        sizeof subs / sizeof subs[0], argc, argv);
}

static int sex_option(const cli_sub *s, const char *arg, Atb__V1__Sex *out)
{
    int v;
    if (cli_word_parse(cli_sexes, arg, "sex", &v, NULL) != AT_OK) {
        /* the message the first version of the command line printed */
        fprintf(stderr, "atbalsts: --sex must be f or m, not \"%s\"\n", arg);
        (void)s;
        return CLI_USAGE;
    }
    *out = (Atb__V1__Sex)v;
    return CLI_NEXT;
}

static int person_register(cli *c, const cli_sub *s, int argc, char **argv)
{
    static const struct option opts[] = {
        {"code", required_argument, 0, 'c'}, {"given", required_argument, 0, 'g'},
        {"given-name", required_argument, 0, 'g'}, {"family", required_argument, 0, 'f'},
        {"family-name", required_argument, 0, 'f'}, {"birth", required_argument, 0, 'b'},
        {"birth-date", required_argument, 0, 'b'}, {"sex", required_argument, 0, 's'}, CLI_COMMON_OPTIONS};
    Atb__V1__RegisterPerson rp = ATB__V1__REGISTER_PERSON__INIT;
    Atb__V1__CommandMeta meta = ATB__V1__COMMAND_META__INIT;
    Atb__V1__Date birth = ATB__V1__DATE__INIT;
    bool have_code = false, have_given = false, have_family = false;
    int o, rc = CLI_NEXT;
    optind = 0;
    while (rc == CLI_NEXT && (o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (o) {
        case 'c': rp.personal_code = optarg; have_code = true; break;
        case 'g': rp.given_name = optarg; have_given = true; break;
        case 'f': rp.family_name = optarg; have_family = true; break;
        case 'b':
            if ((rc = cli_opt_date(s, "birth", optarg, &birth)) == CLI_NEXT)
                rp.birth_date = &birth;
            break;
        case 's': rc = sex_option(s, optarg, &rp.sex); break;
        default: rc = cli_option(c, s, o, optarg); break;
        }
    }
    if (rc != CLI_NEXT)
        return rc;
    if (optind < argc)
        return cli_usage_error(s, "unexpected argument \"%s\"", argv[optind]);
    if (!have_code || !have_given || !have_family || rp.sex == ATB__V1__SEX__SEX_UNSPECIFIED) {
        fprintf(stderr, "atbalsts: person register needs --code, --given, --family and --sex\n");
        cli_sub_usage(s, stderr);
        return CLI_USAGE;
    }
    rp.meta = &meta;
    Atb__V1__CommandReply *r = NULL;
    rc = cli_command(c, "RegisterPerson", &rp.base, &meta, &r);
    if (rc == CLI_OK)
        rc = cli_print_reply(c, r, "registered person", "person_key", NULL);
    protobuf_c_message_free_unpacked((ProtobufCMessage *)r, NULL);
    return rc;
}

static const char *sex_text(Atb__V1__Sex sex)
{
    return sex == ATB__V1__SEX__FEMALE ? "f" : sex == ATB__V1__SEX__MALE ? "m" : "";
}

/* "residence daugavpils", "disability group 2", "flag lonely (cleared)", ... */
static void fact_text(const Atb__V1__PersonFact *f, char *buf, size_t n)
{
    const char *kind = cli_word_of(cli_fact_kinds, f->kind);
    switch (f->kind) {
    case ATB__V1__PERSON_FACT_KIND__PERSON_FACT_KIND_RESIDENCE:
        snprintf(buf, n, "%s %s", kind, f->municipality);
        break;
    case ATB__V1__PERSON_FACT_KIND__PERSON_FACT_KIND_DISABILITY:
        if (f->level == 4)
            snprintf(buf, n, "%s (a child with disability)", kind);
        else
            snprintf(buf, n, "%s group %d", kind, (int)f->level);
        break;
    case ATB__V1__PERSON_FACT_KIND__PERSON_FACT_KIND_CARE_LEVEL:
        snprintf(buf, n, "%s %d", kind, (int)f->level);
        break;
    case ATB__V1__PERSON_FACT_KIND__PERSON_FACT_KIND_EMPLOYMENT:
        snprintf(buf, n, "%s %s", kind, cli_word_of(cli_employments, f->employment));
        break;
    case ATB__V1__PERSON_FACT_KIND__PERSON_FACT_KIND_FLAG:
        snprintf(buf, n, "%s %s%s", kind, f->flag, f->cleared ? " (cleared: does not hold)" : "");
        break;
    case ATB__V1__PERSON_FACT_KIND__PERSON_FACT_KIND_SCHOOL:
        snprintf(buf, n, "%s %s", kind, cli_word_of(cli_schools, f->level));
        break;
    default:
        snprintf(buf, n, "fact of kind %d", (int)f->kind);
        break;
    }
}

/* The person as one JSON object: the fields the first version printed, then the rest. */
static json_t *person_json(const Atb__V1__PersonView *v)
{
    char birth[11], reg[11];
    cli_date_text(v->birth_date, birth);
    cli_date_text(v->registered_on, reg);
    json_t *facts = json_array();
    for (size_t i = 0; facts && i < v->n_facts; i++)
        json_array_append_new(facts, cli_pb_to_json(&v->facts[i]->base));
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:s, s:o}", "person_key", v->person_key,
                     "personal_code", v->personal_code, "given_name", v->given_name, "family_name",
                     v->family_name, "birth_date", birth, "sex", sex_text(v->sex), "registered_on", reg, "version",
                     (json_int_t)v->version, "household_key", v->household_key, "address", v->address, "facts",
                     facts ? facts : json_array());
}

static void person_print(const Atb__V1__PersonView *v)
{
    char birth[11], reg[11];
    cli_date_text(v->birth_date, birth);
    cli_date_text(v->registered_on, reg);
    printf("person key     %s\npersonal code  %s\nname           %s %s\nbirth date     %s\n"
           "sex            %s\nregistered on  %s\nversion        %lld\n",
           v->person_key, v->personal_code, v->given_name, v->family_name, birth, sex_text(v->sex), reg,
           (long long)v->version);
    printf("household      %s\naddress        %s\n", *v->household_key ? v->household_key : "(none today)",
           *v->address ? v->address : "(none today)");
    if (v->n_facts == 0) {
        printf("facts          (none)\n");
        return;
    }
    printf("facts          (log position, period, fact)\n");
    for (size_t i = 0; i < v->n_facts; i++) {
        const Atb__V1__PersonFactView *fv = v->facts[i];
        char from[11] = "", to[11] = "", what[160] = "?";
        if (fv->fact) {
            cli_date_text(fv->fact->from, from);
            cli_date_text(fv->fact->to, to);
            fact_text(fv->fact, what, sizeof what);
        }
        printf("  %-8lld %s .. %-10s  %s", (long long)fv->position, from, *to ? to : "", what);
        if (*fv->address)
            printf("  at %s", fv->address);
        if (fv->corrected_by)
            printf("  [corrected by %lld]", (long long)fv->corrected_by);
        if (*fv->reason)
            printf("  reason: %s", fv->reason);
        putchar('\n');
    }
}

static int person_show(cli *c, const cli_sub *s, int argc, char **argv)
{
    static const struct option opts[] = {
        {"key", required_argument, 0, 'k'}, {"code", required_argument, 0, 'c'}, CLI_COMMON_OPTIONS};
    Atb__V1__GetPerson q = ATB__V1__GET_PERSON__INIT;
    cli_bare b = {0};
    int o, rc = CLI_NEXT;
    optind = 0;
    while (rc == CLI_NEXT && (o = getopt_long(argc, argv, "-h", opts, NULL)) != -1) {
        switch (o) {
        case 1: rc = cli_bare_word(s, &b, NULL, optarg, 1); break;
        case 'k': q.person_key = optarg; break;
        case 'c': q.personal_code = optarg; break;
        default: rc = cli_option(c, s, o, optarg); break;
        }
    }
    if (rc != CLI_NEXT)
        return rc;
    if (b.n == 1) {
        if (*q.person_key)
            return cli_usage_error(s, "give the key once, as --key or as the argument");
        q.person_key = (char *)b.pos[0];
    }
    if (!*q.person_key == !*q.personal_code) {   /* unset strings are "" in protobuf-c */
        fprintf(stderr, "atbalsts: person show needs either --key or --code\n");
        return CLI_USAGE;
    }
    ProtobufCMessage *m = NULL;
    rc = cli_call(c, "qry", c->tenant, "intake", "GetPerson", &q.base, &atb__v1__person_view__descriptor, &m);
    if (rc != CLI_OK)
        return rc;
    Atb__V1__PersonView *v = (Atb__V1__PersonView *)m;
    if (cli_refused(v->error))
        rc = cli_print_error(c, v->error, NULL);
    else if (c->json)
        cli_print_json(person_json(v));
    else
        person_print(v);
    protobuf_c_message_free_unpacked(m, NULL);
    return rc;
}

static int person_find(cli *c, const cli_sub *s, int argc, char **argv)
{
    static const struct option opts[] = {
        {"family-name", required_argument, 0, 'f'}, {"given-name", required_argument, 0, 'g'},
        {"code", required_argument, 0, 'c'}, {"limit", required_argument, 0, 'l'}, CLI_COMMON_OPTIONS};
    Atb__V1__FindPersons q = ATB__V1__FIND_PERSONS__INIT;
    int o, rc = CLI_NEXT;
    int64_t limit = 0;
    optind = 0;
    while (rc == CLI_NEXT && (o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (o) {
        case 'f': q.family_name = optarg; break;
        case 'g': q.given_name = optarg; break;
        case 'c': q.personal_code = optarg; break;
        case 'l': rc = cli_opt_int64(s, "limit", optarg, 1, 500, &limit); break;
        default: rc = cli_option(c, s, o, optarg); break;
        }
    }
    if (rc != CLI_NEXT)
        return rc;
    if (optind < argc)
        return cli_usage_error(s, "unexpected argument \"%s\"", argv[optind]);
    if (!*q.family_name == !*q.personal_code)
        return cli_usage_error(s, "give either --family-name (and perhaps --given-name) or --code");
    if (*q.given_name && !*q.family_name)
        return cli_usage_error(s, "--given-name goes with --family-name");
    q.limit = (int32_t)limit;
    ProtobufCMessage *m = NULL;
    rc = cli_call(c, "qry", c->tenant, "intake", "FindPersons", &q.base, &atb__v1__person_list__descriptor, &m);
    if (rc != CLI_OK)
        return rc;
    Atb__V1__PersonList *l = (Atb__V1__PersonList *)m;
    if (cli_refused(l->error)) {
        rc = cli_print_error(c, l->error, NULL);
    } else if (c->json) {
        json_t *a = json_array();
        for (size_t i = 0; a && i < l->n_persons; i++)
            json_array_append_new(a, person_json(l->persons[i]));
        cli_print_json(json_pack("{s:o, s:b}", "persons", a ? a : json_array(), "truncated", (int)l->truncated));
    } else {
        for (size_t i = 0; i < l->n_persons; i++) {
            const Atb__V1__PersonView *v = l->persons[i];
            char birth[11];
            cli_date_text(v->birth_date, birth);
            printf("%s  %-12s  %s %s  %s  %s\n", v->person_key, v->personal_code, v->given_name, v->family_name,
                   birth, sex_text(v->sex));
        }
        if (l->n_persons == 0)
            printf("no person matches\n");
        if (l->truncated)
            printf("(more matched than %zu: give more of the name, or --limit)\n", l->n_persons);
    }
    protobuf_c_message_free_unpacked(m, NULL);
    return rc;
}

static int person_fact(cli *c, const cli_sub *s, int argc, char **argv)
{
    static const struct option opts[] = {
        {"kind", required_argument, 0, 'k'}, {"from", required_argument, 0, 'f'},
        {"to", required_argument, 0, 't'}, {"municipality", required_argument, 0, 'm'},
        {"level", required_argument, 0, 'l'}, {"employment", required_argument, 0, 'e'},
        {"flag", required_argument, 0, 'F'}, {"cleared", no_argument, 0, 'C'},
        {"address", required_argument, 0, 'a'}, {"corrects", required_argument, 0, 'r'},
        {"reason", required_argument, 0, 'R'}, {"expect-version", required_argument, 0, 'x'},
        {"school", required_argument, 0, 'S'}, CLI_COMMON_OPTIONS};
    Atb__V1__RecordPersonFact cmd = ATB__V1__RECORD_PERSON_FACT__INIT;
    Atb__V1__CommandMeta meta = ATB__V1__COMMAND_META__INIT;
    Atb__V1__PersonFact fact = ATB__V1__PERSON_FACT__INIT;
    Atb__V1__Date from = ATB__V1__DATE__INIT, to = ATB__V1__DATE__INIT;
    cli_bare b = {0};
    int o, rc = CLI_NEXT;
    int64_t n = 0;
    at_error err;
    at_error_clear(&err);
    optind = 0;
    while (rc == CLI_NEXT && (o = getopt_long(argc, argv, "-h", opts, NULL)) != -1) {
        int v = 0;
        switch (o) {
        case 1: rc = cli_bare_word(s, &b, NULL, optarg, 1); break;
        case 'k':
            if (cli_word_parse(cli_fact_kinds, optarg, "kind", &v, &err) != AT_OK)
                rc = cli_usage_error(s, "--kind: %s (%s)", err.message, err.detail);
            fact.kind = (Atb__V1__PersonFactKind)v;
            break;
        case 'f':
            if ((rc = cli_opt_date(s, "from", optarg, &from)) == CLI_NEXT)
                fact.from = &from;
            break;
        case 't':
            if ((rc = cli_opt_date(s, "to", optarg, &to)) == CLI_NEXT)
                fact.to = &to;
            break;
        case 'm': fact.municipality = optarg; break;
        case 'l':
            rc = cli_opt_int64(s, "level", optarg, 0, 99, &n);
            fact.level = (int32_t)n;
            break;
        case 'e':
            if (cli_word_parse(cli_employments, optarg, "employment", &v, &err) != AT_OK)
                rc = cli_usage_error(s, "--employment: %s (%s)", err.message, err.detail);
            fact.employment = (Atb__V1__Employment)v;
            break;
        case 'F': fact.flag = optarg; break;
        case 'S':
            /* a SCHOOL fact's level is a School value of means.proto */
            if (cli_word_parse(cli_schools, optarg, "school", &v, &err) != AT_OK)
                rc = cli_usage_error(s, "--school: %s (%s)", err.message, err.detail);
            fact.level = v;
            break;
        case 'C': fact.cleared = true; break;
        case 'a': cmd.address = optarg; break;
        case 'r':
            rc = cli_opt_int64(s, "corrects", optarg, 1, INT64_MAX, &n);
            cmd.corrects_position = n;
            break;
        case 'R': cmd.reason = optarg; break;
        case 'x':
            rc = cli_opt_int64(s, "expect-version", optarg, -1, INT64_MAX, &n);
            meta.expected_version = n;
            break;
        default: rc = cli_option(c, s, o, optarg); break;
        }
    }
    if (rc != CLI_NEXT)
        return rc;
    if (b.n != 1)
        return cli_usage_error(s, "needs the person key");
    if (fact.kind == ATB__V1__PERSON_FACT_KIND__PERSON_FACT_KIND_UNSPECIFIED || !fact.from)
        return cli_usage_error(s, "needs --kind and --from");
    if (cmd.corrects_position && !*cmd.reason)
        return cli_usage_error(s, "--corrects needs --reason: a correction says why");
    cmd.person_key = (char *)b.pos[0];
    cmd.fact = &fact;
    cmd.meta = &meta;
    Atb__V1__CommandReply *r = NULL;
    rc = cli_command(c, "RecordPersonFact", &cmd.base, &meta, &r);
    if (rc == CLI_OK)
        rc = cli_print_reply(c, r, cmd.corrects_position ? "corrected a fact of person" : "recorded a fact of person",
                             "person_key", cmd.person_key);
    protobuf_c_message_free_unpacked((ProtobufCMessage *)r, NULL);
    return rc;
}

static int person_correct(cli *c, const cli_sub *s, int argc, char **argv)
{
    static const struct option opts[] = {
        {"given-name", required_argument, 0, 'g'}, {"family-name", required_argument, 0, 'f'},
        {"birth-date", required_argument, 0, 'b'}, {"sex", required_argument, 0, 's'},
        {"reason", required_argument, 0, 'R'}, {"expect-version", required_argument, 0, 'x'},
        CLI_COMMON_OPTIONS};
    Atb__V1__CorrectPerson cmd = ATB__V1__CORRECT_PERSON__INIT;
    Atb__V1__CommandMeta meta = ATB__V1__COMMAND_META__INIT;
    Atb__V1__Date birth = ATB__V1__DATE__INIT;
    cli_bare b = {0};
    int o, rc = CLI_NEXT;
    int64_t n = 0;
    optind = 0;
    while (rc == CLI_NEXT && (o = getopt_long(argc, argv, "-h", opts, NULL)) != -1) {
        switch (o) {
        case 1: rc = cli_bare_word(s, &b, NULL, optarg, 1); break;
        case 'g': cmd.given_name = optarg; break;
        case 'f': cmd.family_name = optarg; break;
        case 'b':
            if ((rc = cli_opt_date(s, "birth-date", optarg, &birth)) == CLI_NEXT)
                cmd.birth_date = &birth;
            break;
        case 's': rc = sex_option(s, optarg, &cmd.sex); break;
        case 'R': cmd.reason = optarg; break;
        case 'x':
            rc = cli_opt_int64(s, "expect-version", optarg, -1, INT64_MAX, &n);
            meta.expected_version = n;
            break;
        default: rc = cli_option(c, s, o, optarg); break;
        }
    }
    if (rc != CLI_NEXT)
        return rc;
    if (b.n != 1)
        return cli_usage_error(s, "needs the person key");
    if (!*cmd.reason)
        return cli_usage_error(s, "needs --reason: a correction says why");
    cmd.person_key = (char *)b.pos[0];
    cmd.meta = &meta;
    Atb__V1__CommandReply *r = NULL;
    rc = cli_command(c, "CorrectPerson", &cmd.base, &meta, &r);
    if (rc == CLI_OK)
        rc = cli_print_reply(c, r, "corrected person", "person_key", cmd.person_key);
    protobuf_c_message_free_unpacked((ProtobufCMessage *)r, NULL);
    return rc;
}

static int person_erase(cli *c, const cli_sub *s, int argc, char **argv)
{
    static const struct option opts[] = {{"basis", required_argument, 0, 'B'}, CLI_COMMON_OPTIONS};
    Atb__V1__ErasePerson cmd = ATB__V1__ERASE_PERSON__INIT;
    Atb__V1__CommandMeta meta = ATB__V1__COMMAND_META__INIT;
    cli_bare b = {0};
    int o, rc = CLI_NEXT;
    optind = 0;
    while (rc == CLI_NEXT && (o = getopt_long(argc, argv, "-h", opts, NULL)) != -1) {
        switch (o) {
        case 1: rc = cli_bare_word(s, &b, NULL, optarg, 1); break;
        case 'B': cmd.basis = optarg; break;
        default: rc = cli_option(c, s, o, optarg); break;
        }
    }
    if (rc != CLI_NEXT)
        return rc;
    if (b.n != 1)
        return cli_usage_error(s, "needs the person key");
    if (!*cmd.basis)
        return cli_usage_error(s, "needs --basis: an erasure says why");
    cmd.person_key = (char *)b.pos[0];
    cmd.meta = &meta;
    Atb__V1__CommandReply *r = NULL;
    rc = cli_command(c, "ErasePerson", &cmd.base, &meta, &r);
    if (rc == CLI_OK)
        rc = cli_print_reply(c, r, "erased person", "person_key", cmd.person_key);
    protobuf_c_message_free_unpacked((ProtobufCMessage *)r, NULL);
    return rc;
}
