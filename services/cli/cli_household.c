/*
 * cli_household.c -- atbalsts household create | add | remove | show: CreateHousehold,
 * AddHouseholdMember, RemoveHouseholdMember and GetHousehold of the intake service.
 *
 * A member is written KEY:RELATIONSHIP:JOINED (cli_member_parse); the relationship is to
 * the household's applicant. Which members a household may have (one applicant, a person
 * in one household at a time) is the service's to judge.
 */
#include "cli.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int household_create(cli *c, const cli_sub *s, int argc, char **argv);
static int household_add(cli *c, const cli_sub *s, int argc, char **argv);
static int household_remove(cli *c, const cli_sub *s, int argc, char **argv);
static int household_show(cli *c, const cli_sub *s, int argc, char **argv);

static const cli_sub subs[] = {
    {"create", household_create, "household create --member KEY:RELATIONSHIP:JOINED...",
     "Creates a household with its members: the person key, the relationship to the\n"
     "applicant (applicant|spouse|child|parent|relative|other; exactly one applicant) and\n"
     "the date the person joined (YYYY-MM-DD). Give --member once per member, or several\n"
     "members after one --member. Prints the household key.\n"},
    {"add", household_add, "household add HKEY --member KEY:RELATIONSHIP:JOINED [--expect-version N]",
     "Adds a member to the household. --expect-version N refuses the change (CONFLICT) when\n"
     "someone changed the household since you saw version N (household show prints it).\n"},
    {"remove", household_remove, "household remove HKEY PKEY --left YYYY-MM-DD [--expect-version N]",
     "Records that a member left: --left is the first day the person is no longer a member.\n"},
    {"show", household_show, "household show (HKEY | --person PKEY) [--as-of YYYY-MM-DD] [--at-position N]",
     "Prints the household as it stood on --as-of (default today): its members on that day,\n"
     "then the members before or after it with their dates. --person finds the household\n"
     "the person belonged to on that day. --at-position N shows it as the log knew it at\n"
     "log position N (an audit: what a decision made then could see).\n"},
};

int cli_household(cli *c, int argc, char **argv)
{
    return cli_dispatch(c, "household", "Households: who lives together, from when to when.", subs,
                        sizeof subs / sizeof subs[0], argc, argv);
}

/* The members of list l, parsed into ms[] and pointed to by ins[] (each of n). */
typedef struct members {
    cli_member *ms;
    Atb__V1__MemberIn *in;
    Atb__V1__MemberIn **ptr;
    size_t n;
} members;

static void members_free(members *m)
{
    free(m->ms);
    free(m->in);
    free(m->ptr);
}

static int members_parse(const cli_sub *s, const cli_list *l, members *m)
{
    m->n = l->n;
    m->ms = calloc(l->n ? l->n : 1, sizeof *m->ms);
    m->in = calloc(l->n ? l->n : 1, sizeof *m->in);
    m->ptr = calloc(l->n ? l->n : 1, sizeof *m->ptr);
    if (!m->ms || !m->in || !m->ptr) {
        fprintf(stderr, "atbalsts: out of memory\n");
        return CLI_USAGE;
    }
    for (size_t i = 0; i < l->n; i++) {
        at_error err;
        at_error_clear(&err);
        if (cli_member_parse(l->items[i], &m->ms[i], &err) != AT_OK)
            return cli_usage_error(s, "--member: %s%s%s", err.message, *err.detail ? "\n  " : "", err.detail);
        atb__v1__member_in__init(&m->in[i]);
        m->in[i].person_key = m->ms[i].key;
        m->in[i].relationship = (Atb__V1__Relationship)m->ms[i].relationship;
        m->in[i].joined = &m->ms[i].joined;
        m->ptr[i] = &m->in[i];
    }
    return CLI_NEXT;
}

static int household_create(cli *c, const cli_sub *s, int argc, char **argv)
{
    static const struct option opts[] = {{"member", required_argument, 0, 'm'}, CLI_COMMON_OPTIONS};
    Atb__V1__CreateHousehold cmd = ATB__V1__CREATE_HOUSEHOLD__INIT;
    Atb__V1__CommandMeta meta = ATB__V1__COMMAND_META__INIT;
    cli_list list = {0};
    members m = {0};
    cli_bare b = {0};
    int o, rc = CLI_NEXT;
    optind = 0;
    while (rc == CLI_NEXT && (o = getopt_long(argc, argv, "-h", opts, NULL)) != -1) {
        cli_list *prev = b.last;
        b.last = NULL;
        switch (o) {
        case 1: rc = cli_bare_word(s, &b, prev, optarg, 0); break;
        case 'm': rc = cli_list_opt(s, &b, &list, optarg); break;
        default: rc = cli_option(c, s, o, optarg); break;
        }
    }
    if (rc == CLI_NEXT && list.n == 0)
        rc = cli_usage_error(s, "needs at least one --member KEY:RELATIONSHIP:JOINED");
    if (rc == CLI_NEXT)
        rc = members_parse(s, &list, &m);
    if (rc == CLI_NEXT) {
        cmd.meta = &meta;
        cmd.members = m.ptr;
        cmd.n_members = m.n;
        Atb__V1__CommandReply *r = NULL;
        rc = cli_command(c, "CreateHousehold", &cmd.base, &meta, &r);
        if (rc == CLI_OK)
            rc = cli_print_reply(c, r, "created household", "household_key", NULL);
        protobuf_c_message_free_unpacked((ProtobufCMessage *)r, NULL);
    }
    members_free(&m);
    cli_list_free(&list);
    return rc;
}

static int household_add(cli *c, const cli_sub *s, int argc, char **argv)
{
    static const struct option opts[] = {
        {"member", required_argument, 0, 'm'}, {"expect-version", required_argument, 0, 'x'}, CLI_COMMON_OPTIONS};
    Atb__V1__AddHouseholdMember cmd = ATB__V1__ADD_HOUSEHOLD_MEMBER__INIT;
    Atb__V1__CommandMeta meta = ATB__V1__COMMAND_META__INIT;
    cli_list list = {0};
    members m = {0};
    cli_bare b = {0};
    int o, rc = CLI_NEXT;
    int64_t n = 0;
    optind = 0;
    while (rc == CLI_NEXT && (o = getopt_long(argc, argv, "-h", opts, NULL)) != -1) {
        cli_list *prev = b.last;
        b.last = NULL;
        switch (o) {
        case 1: rc = cli_bare_word(s, &b, prev, optarg, 1); break;
        case 'm': rc = cli_list_opt(s, &b, &list, optarg); break;
        case 'x':
            rc = cli_opt_int64(s, "expect-version", optarg, -1, INT64_MAX, &n);
            meta.expected_version = n;
            break;
        default: rc = cli_option(c, s, o, optarg); break;
        }
    }
    /* the words after --member belong to it, so the household key goes first */
    if (rc == CLI_NEXT && (b.n != 1 || list.n != 1))
        rc = cli_usage_error(s, "needs the household key first, then one --member KEY:RELATIONSHIP:JOINED");
    if (rc == CLI_NEXT)
        rc = members_parse(s, &list, &m);
    if (rc == CLI_NEXT) {
        cmd.meta = &meta;
        cmd.household_key = (char *)b.pos[0];
        cmd.member = m.ptr[0];
        Atb__V1__CommandReply *r = NULL;
        rc = cli_command(c, "AddHouseholdMember", &cmd.base, &meta, &r);
        if (rc == CLI_OK)
            rc = cli_print_reply(c, r, "added a member to household", "household_key", cmd.household_key);
        protobuf_c_message_free_unpacked((ProtobufCMessage *)r, NULL);
    }
    members_free(&m);
    cli_list_free(&list);
    return rc;
}

static int household_remove(cli *c, const cli_sub *s, int argc, char **argv)
{
    static const struct option opts[] = {
        {"left", required_argument, 0, 'l'}, {"expect-version", required_argument, 0, 'x'}, CLI_COMMON_OPTIONS};
    Atb__V1__RemoveHouseholdMember cmd = ATB__V1__REMOVE_HOUSEHOLD_MEMBER__INIT;
    Atb__V1__CommandMeta meta = ATB__V1__COMMAND_META__INIT;
    Atb__V1__Date left = ATB__V1__DATE__INIT;
    cli_bare b = {0};
    int o, rc = CLI_NEXT;
    int64_t n = 0;
    optind = 0;
    while (rc == CLI_NEXT && (o = getopt_long(argc, argv, "-h", opts, NULL)) != -1) {
        switch (o) {
        case 1: rc = cli_bare_word(s, &b, NULL, optarg, 2); break;
        case 'l':
            if ((rc = cli_opt_date(s, "left", optarg, &left)) == CLI_NEXT)
                cmd.left = &left;
            break;
        case 'x':
            rc = cli_opt_int64(s, "expect-version", optarg, -1, INT64_MAX, &n);
            meta.expected_version = n;
            break;
        default: rc = cli_option(c, s, o, optarg); break;
        }
    }
    if (rc != CLI_NEXT)
        return rc;
    if (b.n != 2)
        return cli_usage_error(s, "needs the household key and the person key");
    if (!cmd.left)
        return cli_usage_error(s, "needs --left YYYY-MM-DD");
    cmd.meta = &meta;
    cmd.household_key = (char *)b.pos[0];
    cmd.person_key = (char *)b.pos[1];
    Atb__V1__CommandReply *r = NULL;
    rc = cli_command(c, "RemoveHouseholdMember", &cmd.base, &meta, &r);
    if (rc == CLI_OK)
        rc = cli_print_reply(c, r, "removed a member from household", "household_key", cmd.household_key);
    protobuf_c_message_free_unpacked((ProtobufCMessage *)r, NULL);
    return rc;
}

static void member_line(const Atb__V1__MemberView *m)
{
    char birth[11], joined[11], left[11];
    cli_date_text(m->birth_date, birth);
    cli_date_text(m->joined, joined);
    cli_date_text(m->left, left);
    const char *sex = m->sex == ATB__V1__SEX__FEMALE ? "f" : m->sex == ATB__V1__SEX__MALE ? "m" : "-";
    printf("  %s  %-9s  %s %s  %s  born %s  %s  joined %s", m->person_key,
           cli_word_of(cli_relationships, m->relationship), *m->given_name ? m->given_name : "(erased)",
           m->family_name, m->personal_code, *birth ? birth : "-", sex, joined);
    if (*left)
        printf("  left %s", left);
    putchar('\n');
}

static int household_show(cli *c, const cli_sub *s, int argc, char **argv)
{
    static const struct option opts[] = {
        {"person", required_argument, 0, 'p'}, {"as-of", required_argument, 0, 'a'},
        {"at-position", required_argument, 0, 'P'}, CLI_COMMON_OPTIONS};
    Atb__V1__GetHousehold q = ATB__V1__GET_HOUSEHOLD__INIT;
    Atb__V1__Date as_of = ATB__V1__DATE__INIT;
    cli_bare b = {0};
    int o, rc = CLI_NEXT;
    int64_t n = 0;
    optind = 0;
    while (rc == CLI_NEXT && (o = getopt_long(argc, argv, "-h", opts, NULL)) != -1) {
        switch (o) {
        case 1: rc = cli_bare_word(s, &b, NULL, optarg, 1); break;
        case 'p': q.person_key = optarg; break;
        case 'a':
            if ((rc = cli_opt_date(s, "as-of", optarg, &as_of)) == CLI_NEXT)
                q.as_of = &as_of;
            break;
        case 'P':
            rc = cli_opt_int64(s, "at-position", optarg, 1, INT64_MAX, &n);
            q.at_position = n;
            break;
        default: rc = cli_option(c, s, o, optarg); break;
        }
    }
    if (rc != CLI_NEXT)
        return rc;
    if ((b.n == 1) == (*q.person_key != 0))
        return cli_usage_error(s, "give either the household key or --person PKEY");
    if (b.n == 1)
        q.household_key = (char *)b.pos[0];
    ProtobufCMessage *m = NULL;
    rc = cli_call(c, "qry", c->tenant, "intake", "GetHousehold", &q.base, &atb__v1__household_view__descriptor, &m);
    if (rc != CLI_OK)
        return rc;
    Atb__V1__HouseholdView *v = (Atb__V1__HouseholdView *)m;
    if (cli_refused(v->error)) {
        rc = cli_print_error(c, v->error, NULL);
    } else if (c->json) {
        json_t *j = cli_pb_to_json(m);
        json_object_del(j, "error");
        cli_print_json(j);
    } else {
        char day[11];
        cli_date_text(v->as_of, day);
        printf("household      %s\nas of          %s\nversion        %lld\n", v->household_key, day,
               (long long)v->version);
        if (q.at_position)
            printf("as the log knew it at position %lld\n", (long long)q.at_position);
        printf("members on %s (%zu):\n", day, v->n_members);
        for (size_t i = 0; i < v->n_members; i++)
            member_line(v->members[i]);
        if (v->n_others) {
            printf("members before or after %s (%zu):\n", day, v->n_others);
            for (size_t i = 0; i < v->n_others; i++)
                member_line(v->others[i]);
        }
    }
    protobuf_c_message_free_unpacked(m, NULL);
    return rc;
}
