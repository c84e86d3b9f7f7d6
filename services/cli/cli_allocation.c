/*
 * cli_allocation.c -- atbalsts service ...: the allocation service's commands and queries
 * (docs/allocation.md): requests and needs assessments, the waiting list, offers and their
 * answers, emergency admissions, changes and discharges, a unit's occupancy on a date, the
 * charges of a period, withdrawn requests and offers not answered in time.
 *
 * Units are written OWNER.PROVIDER (daugavpils.isan, dobele.krizes_centrs) with --service.
 */
#include "cli.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atb/v1/allocation.pb-c.h"

static int al_request(cli *c, const cli_sub *s, int argc, char **argv);
static int al_assess(cli *c, const cli_sub *s, int argc, char **argv);
static int al_list(cli *c, const cli_sub *s, int argc, char **argv);
static int al_offer(cli *c, const cli_sub *s, int argc, char **argv);
static int al_answer(cli *c, const cli_sub *s, int argc, char **argv);
static int al_admit(cli *c, const cli_sub *s, int argc, char **argv);
static int al_change(cli *c, const cli_sub *s, int argc, char **argv);
static int al_discharge(cli *c, const cli_sub *s, int argc, char **argv);
static int al_occupancy(cli *c, const cli_sub *s, int argc, char **argv);
static int al_charges(cli *c, const cli_sub *s, int argc, char **argv);
static int al_withdraw(cli *c, const cli_sub *s, int argc, char **argv);
static int al_expire(cli *c, const cli_sub *s, int argc, char **argv);

static const cli_sub subs[] = {
    {"request", al_request,
     "service request PKEY --service CODE --on YYYY-MM-DD --born YYYY-MM-DD [--hours N]\n"
     "        [--urgency none|crisis|violence|homeless] [--group 1|2|3] [--status needy|low-income]\n"
     "        [--resident] [--target CODE ...]",
     "Puts a person on the waiting list of a service, checked against the municipality's\n"
     "catalogue on the date: a person who is not eligible is refused with the reason.\n"
     "--hours is the weekly amount of an hour or trip service. Prints the request key.\n"},
    {"assess", al_assess, "service assess PKEY --on YYYY-MM-DD --scores S1,...,S10 [--recommend CODE ...]",
     "Records a needs assessment: ten scores 0..4 (mobility, self-care, eating, continence,\n"
     "household tasks, money and documents, communication, orientation, behaviour, social\n"
     "contacts). The care level follows from the total. The author is --actor.\n"},
    {"list", al_list, "service list --service CODE [--on YYYY-MM-DD]",
     "Shows the waiting list: position, priority, days waited, expected wait.\n"},
    {"offer", al_offer, "service offer OWNER.PROVIDER --service CODE --on YYYY-MM-DD",
     "Offers a free place of the unit to the first eligible person of the list.\n"
     "Prints the offer key.\n"},
    {"answer", al_answer, "service answer OFFER (--accept --start YYYY-MM-DD | --decline REASON)",
     "Records the person's answer. Accepting places the person; declining offers the place\n"
     "to the next eligible person at once.\n"},
    {"admit", al_admit, "service admit OWNER.PROVIDER --service CODE --on YYYY-MM-DD --reason CODE PKEY...",
     "Emergency admission outside the waiting list (crisis centres): the persons together\n"
     "or none. Prints the first placement key.\n"},
    {"change", al_change, "service change PLACEMENT --from YYYY-MM-DD (--hours N | --suspend | --resume) --reason CODE",
     "Changes a placement's weekly hours, or suspends or resumes it, from a date on.\n"},
    {"discharge", al_discharge, "service discharge PLACEMENT --on YYYY-MM-DD --reason CODE",
     "Ends a placement; the place is free from that day.\n"},
    {"occupancy", al_occupancy, "service occupancy OWNER.PROVIDER --service CODE --on YYYY-MM-DD",
     "Shows who is in the unit's places on the date, folded from the log.\n"},
    {"charges", al_charges, "service charges --from YYYY-MM-DD --to YYYY-MM-DD",
     "Records what the period's placements cost and who owes whom (once per period).\n"},
    {"withdraw", al_withdraw, "service withdraw REQUEST --on YYYY-MM-DD --reason CODE",
     "Takes a request off the waiting list. A place offered to the person is offered to\n"
     "the next eligible person at once; prints that offer's key.\n"},
    {"expire", al_expire, "service expire --on YYYY-MM-DD",
     "Passes every offer not answered in time (the catalogue's offer days) to the next\n"
     "eligible person. Run it daily; a day with nothing to expire records nothing.\n"},
};

int cli_allocation(cli *c, int argc, char **argv)
{
    return cli_dispatch(c, "service", "Social services: waiting lists, places, charges.", subs,
                        sizeof subs / sizeof subs[0], argc, argv);
}

/* ---- talking to the service ---- */

static int command(cli *c, const char *name, ProtobufCMessage *m, Atb__V1__CommandMeta *meta, const char *done,
                   const char *key_name)
{
    char id[37];
    cli_meta(c, meta, id);
    if (c->command_id)
        meta->command_id = (char *)c->command_id;
    snprintf(c->last_id, sizeof c->last_id, "%s", meta->command_id);
    if (c->verbose)
        fprintf(stderr, "atbalsts: %s: command id %s\n", name, c->last_id);
    int rc = cli_connect(c);
    if (rc != CLI_OK)
        return rc;
    ProtobufCMessage *out = NULL;
    rc = cli_call(c, "cmd", c->tenant, "allocation", name, m, &atb__v1__command_reply__descriptor, &out);
    if (rc == CLI_UNREACHABLE)
        fprintf(stderr, "HINT:  To retry without doing it twice, repeat the command with --command-id %s\n",
                c->last_id);
    if (rc == CLI_OK)
        rc = cli_print_reply(c, (Atb__V1__CommandReply *)out, done, key_name, NULL);
    protobuf_c_message_free_unpacked(out, NULL);
    return rc;
}

static int query(cli *c, const char *name, const ProtobufCMessage *m, const ProtobufCMessageDescriptor *reply,
                 ProtobufCMessage **out)
{
    int rc = cli_connect(c);
    if (rc != CLI_OK)
        return rc;
    rc = cli_call(c, "qry", c->tenant, "allocation", name, m, reply, out);
    if (rc != CLI_OK)
        return rc;
    const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field(reply, 1);
    Atb__V1__Error *e = f ? *(Atb__V1__Error **)((char *)*out + f->offset) : NULL;
    if (cli_refused(e)) {
        rc = cli_print_error(c, e, NULL);
        protobuf_c_message_free_unpacked(*out, NULL);
        *out = NULL;
    }
    return rc;
}

/* OWNER.PROVIDER into its two parts (in a copy the caller frees). */
static int unit_of(const cli_sub *s, const char *w, char **owner, char **provider)
{
    const char *dot = w ? strchr(w, '.') : NULL;
    if (!dot || dot == w || !dot[1])
        return cli_usage_error(s, "a unit is OWNER.PROVIDER (daugavpils.isan), not \"%s\"", w ? w : "");
    *owner = strndup(w, (size_t)(dot - w));
    *provider = strdup(dot + 1);
    return *owner && *provider ? CLI_NEXT : CLI_USAGE;
}

static const cli_word urgencies[] = {{"none", ATB__V1__URGENCY__URGENCY_NONE},
                                     {"crisis", ATB__V1__URGENCY__URGENCY_CRISIS},
                                     {"violence", ATB__V1__URGENCY__URGENCY_VIOLENCE},
                                     {"homeless", ATB__V1__URGENCY__URGENCY_HOMELESS},
                                     {NULL, 0}};
static const cli_word statuses[] = {{"none", ATB__V1__NEED_STATUS__NEED_STATUS_NONE},
                                    {"needy", ATB__V1__NEED_STATUS__NEED_STATUS_NEEDY},
                                    {"low-income", ATB__V1__NEED_STATUS__NEED_STATUS_LOW_INCOME},
                                    {NULL, 0}};

static int word_opt(const cli_sub *s, const cli_word *t, const char *opt, const char *arg, int *out)
{
    at_error err;
    if (cli_word_parse(t, arg, opt, out, &err) == AT_OK)
        return CLI_NEXT;
    return cli_usage_error(s, "--%s \"%s\": %s", opt, arg, err.message);
}

/* ---- commands ---- */

static int al_request(cli *c, const cli_sub *s, int argc, char **argv)
{
    static const struct option opts[] = {
        {"service", required_argument, 0, 's'}, {"on", required_argument, 0, 'o'},
        {"born", required_argument, 0, 'b'},    {"hours", required_argument, 0, 'H'},
        {"urgency", required_argument, 0, 'u'}, {"group", required_argument, 0, 'g'},
        {"status", required_argument, 0, 'S'},  {"resident", no_argument, 0, 'r'},
        {"target", required_argument, 0, 't'},  CLI_COMMON_OPTIONS};
    Atb__V1__RequestService cmd = ATB__V1__REQUEST_SERVICE__INIT;
    Atb__V1__CommandMeta meta = ATB__V1__COMMAND_META__INIT;
    Atb__V1__Date on = ATB__V1__DATE__INIT, born = ATB__V1__DATE__INIT;
    cli_list targets = {0};
    cli_bare b = {0};
    int o, rc = CLI_NEXT, w = 0;
    int64_t n = 0;
    optind = 0;
    while (rc == CLI_NEXT && (o = getopt_long(argc, argv, "-h", opts, NULL)) != -1) {
        cli_list *prev = b.last;
        b.last = NULL;
        switch (o) {
        case 1: rc = cli_bare_word(s, &b, prev, optarg, 1); break;
        case 's': cmd.service = optarg; break;
        case 'o':
            if ((rc = cli_opt_date(s, "on", optarg, &on)) == CLI_NEXT)
                cmd.requested_on = &on;
            break;
        case 'b':
            if ((rc = cli_opt_date(s, "born", optarg, &born)) == CLI_NEXT)
                cmd.birth_date = &born;
            break;
        case 'H':
            rc = cli_opt_int64(s, "hours", optarg, 1, 168, &n);
            cmd.hours_per_week = (int32_t)n;
            break;
        case 'u':
            if ((rc = word_opt(s, urgencies, "urgency", optarg, &w)) == CLI_NEXT)
                cmd.urgency = (Atb__V1__Urgency)w;
            break;
        case 'g':
            rc = cli_opt_int64(s, "group", optarg, 1, 3, &n);
            cmd.disability_group = (int32_t)n;
            break;
        case 'S':
            if ((rc = word_opt(s, statuses, "status", optarg, &w)) == CLI_NEXT)
                cmd.status = (Atb__V1__NeedStatus)w;
            break;
        case 'r': cmd.resident = true; break;
        case 't': rc = cli_list_opt(s, &b, &targets, optarg); break;
        default: rc = cli_option(c, s, o, optarg); break;
        }
    }
    if (rc == CLI_NEXT && (b.n != 1 || !*cmd.service || !cmd.requested_on || !cmd.birth_date))
        rc = cli_usage_error(s, "needs PKEY, --service, --on and --born");
    if (rc == CLI_NEXT) {
        cmd.meta = &meta;
        cmd.person_key = (char *)b.pos[0];
        cmd.target_groups = targets.items;
        cmd.n_target_groups = targets.n;
        rc = command(c, "RequestService", &cmd.base, &meta, "on the waiting list:", "request_key");
    }
    cli_list_free(&targets);
    return rc;
}

static int al_assess(cli *c, const cli_sub *s, int argc, char **argv)
{
    static const struct option opts[] = {{"on", required_argument, 0, 'o'},
                                         {"scores", required_argument, 0, 's'},
                                         {"recommend", required_argument, 0, 'r'},
                                         CLI_COMMON_OPTIONS};
    Atb__V1__RecordAssessment cmd = ATB__V1__RECORD_ASSESSMENT__INIT;
    Atb__V1__CommandMeta meta = ATB__V1__COMMAND_META__INIT;
    Atb__V1__Date on = ATB__V1__DATE__INIT;
    cli_list scores = {0}, rec = {0};
    cli_bare b = {0};
    int32_t sc[16];
    int o, rc = CLI_NEXT;
    optind = 0;
    while (rc == CLI_NEXT && (o = getopt_long(argc, argv, "-h", opts, NULL)) != -1) {
        cli_list *prev = b.last;
        b.last = NULL;
        switch (o) {
        case 1: rc = cli_bare_word(s, &b, prev, optarg, 1); break;
        case 'o':
            if ((rc = cli_opt_date(s, "on", optarg, &on)) == CLI_NEXT)
                cmd.assessed_on = &on;
            break;
        case 's': rc = cli_list_opt(s, &b, &scores, optarg); break;
        case 'r': rc = cli_list_opt(s, &b, &rec, optarg); break;
        default: rc = cli_option(c, s, o, optarg); break;
        }
    }
    if (rc == CLI_NEXT && (b.n != 1 || !cmd.assessed_on || scores.n == 0 || scores.n > 16))
        rc = cli_usage_error(s, "needs PKEY, --on and --scores");
    for (size_t i = 0; rc == CLI_NEXT && i < scores.n; i++) {
        int64_t v = 0;
        rc = cli_opt_int64(s, "scores", scores.items[i], 0, 4, &v);
        sc[i] = (int32_t)v;
    }
    if (rc == CLI_NEXT) {
        cmd.meta = &meta;
        cmd.person_key = (char *)b.pos[0];
        cmd.scores = sc;
        cmd.n_scores = scores.n;
        cmd.recommended = rec.items;
        cmd.n_recommended = rec.n;
        rc = command(c, "RecordAssessment", &cmd.base, &meta, "recorded assessment", "assessment_key");
    }
    cli_list_free(&scores);
    cli_list_free(&rec);
    return rc;
}

static int al_list(cli *c, const cli_sub *s, int argc, char **argv)
{
    static const struct option opts[] = {
        {"service", required_argument, 0, 's'}, {"on", required_argument, 0, 'o'}, CLI_COMMON_OPTIONS};
    Atb__V1__GetWaitingList q = ATB__V1__GET_WAITING_LIST__INIT;
    Atb__V1__Date on = ATB__V1__DATE__INIT;
    int o, rc = CLI_NEXT;
    optind = 0;
    while (rc == CLI_NEXT && (o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (o) {
        case 's': q.service = optarg; break;
        case 'o':
            if ((rc = cli_opt_date(s, "on", optarg, &on)) == CLI_NEXT)
                q.on = &on;
            break;
        default: rc = cli_option(c, s, o, optarg); break;
        }
    }
    if (rc == CLI_NEXT && !*q.service)
        rc = cli_usage_error(s, "needs --service");
    if (rc != CLI_NEXT)
        return rc;
    ProtobufCMessage *out = NULL;
    if ((rc = query(c, "GetWaitingList", &q.base, &atb__v1__waiting_list_reply__descriptor, &out)) != CLI_OK)
        return rc;
    Atb__V1__WaitingListReply *l = (Atb__V1__WaitingListReply *)out;
    if (c->json) {
        cli_print_json(cli_pb_to_json(out));
    } else {
        for (size_t i = 0; i < l->n_entries; i++) {
            const Atb__V1__WaitingEntry *e = l->entries[i];
            char d[11];
            cli_date_text(e->requested_on, d);
            printf("%3d  %s  person %s  priority %d  %-9s %-7s since %s (%d days)  expected %s%d days\n",
                   (int)e->position, e->request_key, e->person_key, (int)e->priority,
                   cli_word_of(urgencies, e->urgency), e->state, d, (int)e->waited_days,
                   e->expected_wait_days < 0 ? "? " : "", e->expected_wait_days < 0 ? 0 : (int)e->expected_wait_days);
        }
        if (l->n_entries == 0)
            printf("nobody is waiting for %s\n", q.service);
    }
    protobuf_c_message_free_unpacked(out, NULL);
    return CLI_OK;
}

/* The options of offer, admit and occupancy: a unit, --service, --on. */
typedef struct unit_args {
    char *owner, *provider;
    const char *service;
    Atb__V1__Date on;
    bool dated;
    const char *reason;
    const char *unit;             /* the first bare word */
    cli_list words;               /* the bare words after it (admit: the persons) */
} unit_args;

static int unit_opts(cli *c, const cli_sub *s, int argc, char **argv, unit_args *u, int max_words)
{
    static const struct option opts[] = {{"service", required_argument, 0, 's'},
                                         {"on", required_argument, 0, 'o'},
                                         {"reason", required_argument, 0, 'r'},
                                         CLI_COMMON_OPTIONS};
    int o, rc = CLI_NEXT;
    atb__v1__date__init(&u->on);
    optind = 0;
    while (rc == CLI_NEXT && (o = getopt_long(argc, argv, "-h", opts, NULL)) != -1) {
        switch (o) {
        case 1:
            if (!u->unit)
                u->unit = optarg;
            else if (max_words == 1)
                rc = cli_usage_error(s, "unexpected argument \"%s\"", optarg);
            else if (!cli_list_add(&u->words, optarg))
                rc = CLI_USAGE;
            break;
        case 's': u->service = optarg; break;
        case 'o': u->dated = (rc = cli_opt_date(s, "on", optarg, &u->on)) == CLI_NEXT; break;
        case 'r': u->reason = optarg; break;
        default: rc = cli_option(c, s, o, optarg); break;
        }
    }
    if (rc == CLI_NEXT && (!u->unit || !u->service || !u->dated))
        rc = cli_usage_error(s, "needs OWNER.PROVIDER, --service and --on");
    if (rc == CLI_NEXT)
        rc = unit_of(s, u->unit, &u->owner, &u->provider);
    return rc;
}

static int al_offer(cli *c, const cli_sub *s, int argc, char **argv)
{
    unit_args u = {0};
    int rc = unit_opts(c, s, argc, argv, &u, 1);
    if (rc == CLI_NEXT) {
        Atb__V1__Allocate cmd = ATB__V1__ALLOCATE__INIT;
        Atb__V1__CommandMeta meta = ATB__V1__COMMAND_META__INIT;
        cmd.meta = &meta;
        cmd.owner = u.owner, cmd.provider = u.provider, cmd.service = (char *)u.service, cmd.on = &u.on;
        rc = command(c, "Allocate", &cmd.base, &meta, "offered:", "offer_key");
    }
    cli_list_free(&u.words);
    free(u.owner);
    free(u.provider);
    return rc;
}

static int al_admit(cli *c, const cli_sub *s, int argc, char **argv)
{
    unit_args u = {0};
    int rc = unit_opts(c, s, argc, argv, &u, 0);   /* the person keys follow the unit */
    if (rc == CLI_NEXT && (u.words.n == 0 || !u.reason))
        rc = cli_usage_error(s, "needs --reason and at least one PKEY");
    if (rc == CLI_NEXT) {
        Atb__V1__EmergencyAdmission cmd = ATB__V1__EMERGENCY_ADMISSION__INIT;
        Atb__V1__CommandMeta meta = ATB__V1__COMMAND_META__INIT;
        cmd.meta = &meta;
        cmd.owner = u.owner, cmd.provider = u.provider, cmd.service = (char *)u.service, cmd.on = &u.on;
        cmd.person_keys = u.words.items;
        cmd.n_person_keys = u.words.n;
        cmd.reason = (char *)u.reason;
        rc = command(c, "EmergencyAdmission", &cmd.base, &meta, "admitted:", "placement_key");
    }
    cli_list_free(&u.words);
    free(u.owner);
    free(u.provider);
    return rc;
}

static int al_answer(cli *c, const cli_sub *s, int argc, char **argv)
{
    static const struct option opts[] = {{"accept", no_argument, 0, 'a'},
                                         {"start", required_argument, 0, 's'},
                                         {"decline", required_argument, 0, 'd'},
                                         CLI_COMMON_OPTIONS};
    Atb__V1__AnswerOffer cmd = ATB__V1__ANSWER_OFFER__INIT;
    Atb__V1__CommandMeta meta = ATB__V1__COMMAND_META__INIT;
    Atb__V1__Date on = ATB__V1__DATE__INIT;
    cli_bare b = {0};
    bool declined = false;
    int o, rc = CLI_NEXT;
    optind = 0;
    while (rc == CLI_NEXT && (o = getopt_long(argc, argv, "-h", opts, NULL)) != -1) {
        switch (o) {
        case 1: rc = cli_bare_word(s, &b, NULL, optarg, 1); break;
        case 'a': cmd.accept = true; break;
        case 's':
            if ((rc = cli_opt_date(s, "start", optarg, &on)) == CLI_NEXT)
                cmd.on = &on;
            break;
        case 'd':
            declined = true;
            cmd.reason = optarg;
            break;
        default: rc = cli_option(c, s, o, optarg); break;
        }
    }
    if (rc == CLI_NEXT && (b.n != 1 || cmd.accept == declined || (cmd.accept && !cmd.on)))
        rc = cli_usage_error(s, "needs OFFER and either --accept --start or --decline REASON");
    if (rc == CLI_NEXT) {
        cmd.meta = &meta;
        cmd.offer_key = (char *)b.pos[0];
        rc = command(c, "AnswerOffer", &cmd.base, &meta, cmd.accept ? "placed:" : "declined; next offer:",
                     cmd.accept ? "placement_key" : "offer_key");
    }
    return rc;
}

static int al_change(cli *c, const cli_sub *s, int argc, char **argv)
{
    static const struct option opts[] = {
        {"from", required_argument, 0, 'f'}, {"hours", required_argument, 0, 'H'},
        {"suspend", no_argument, 0, 's'},    {"resume", no_argument, 0, 'r'},
        {"reason", required_argument, 0, 'R'}, CLI_COMMON_OPTIONS};
    Atb__V1__ChangePlacement cmd = ATB__V1__CHANGE_PLACEMENT__INIT;
    Atb__V1__CommandMeta meta = ATB__V1__COMMAND_META__INIT;
    Atb__V1__Date on = ATB__V1__DATE__INIT;
    cli_bare b = {0};
    int64_t n = 0;
    int o, rc = CLI_NEXT;
    optind = 0;
    while (rc == CLI_NEXT && (o = getopt_long(argc, argv, "-h", opts, NULL)) != -1) {
        switch (o) {
        case 1: rc = cli_bare_word(s, &b, NULL, optarg, 1); break;
        case 'f':
            if ((rc = cli_opt_date(s, "from", optarg, &on)) == CLI_NEXT)
                cmd.from_on = &on;
            break;
        case 'H':
            rc = cli_opt_int64(s, "hours", optarg, 1, 168, &n);
            cmd.hours_per_week = (int32_t)n;
            break;
        case 's': cmd.suspend = true; break;
        case 'r': cmd.resume = true; break;
        case 'R': cmd.reason = optarg; break;
        default: rc = cli_option(c, s, o, optarg); break;
        }
    }
    if (rc == CLI_NEXT && (b.n != 1 || !cmd.from_on || !*cmd.reason))
        rc = cli_usage_error(s, "needs PLACEMENT, --from and --reason");
    if (rc == CLI_NEXT) {
        cmd.meta = &meta;
        cmd.placement_key = (char *)b.pos[0];
        rc = command(c, "ChangePlacement", &cmd.base, &meta, "changed placement", "placement_key");
    }
    return rc;
}

static int al_discharge(cli *c, const cli_sub *s, int argc, char **argv)
{
    cli_ending e;
    int rc = cli_ending_args(c, s, argc, argv, "needs PLACEMENT, --on and --reason", &e);
    if (rc == CLI_NEXT) {
        Atb__V1__Discharge cmd = ATB__V1__DISCHARGE__INIT;
        Atb__V1__CommandMeta meta = ATB__V1__COMMAND_META__INIT;
        cmd.meta = &meta;
        cmd.placement_key = (char *)e.key;
        cmd.on = &e.on;
        cmd.reason = (char *)e.reason;
        rc = command(c, "Discharge", &cmd.base, &meta, "discharged", "placement_key");
    }
    return rc;
}

static int al_occupancy(cli *c, const cli_sub *s, int argc, char **argv)
{
    unit_args u = {0};
    int rc = unit_opts(c, s, argc, argv, &u, 1);
    if (rc == CLI_NEXT) {
        Atb__V1__GetOccupancy q = ATB__V1__GET_OCCUPANCY__INIT;
        q.owner = u.owner, q.provider = u.provider, q.service = (char *)u.service, q.on = &u.on;
        ProtobufCMessage *out = NULL;
        rc = query(c, "GetOccupancy", &q.base, &atb__v1__occupancy_reply__descriptor, &out);
        if (rc == CLI_OK) {
            Atb__V1__OccupancyReply *r = (Atb__V1__OccupancyReply *)out;
            if (c->json) {
                cli_print_json(cli_pb_to_json(out));
            } else {
                const char *what = strcmp(r->unit, "hour") == 0   ? "hours a week"
                                   : strcmp(r->unit, "trip") == 0 ? "trips a week"
                                                                  : "places";
                printf("%s.%s %s: %d of %d %s taken, %d free (log position %lld)\n", u.owner, u.provider,
                       u.service, (int)r->occupied, (int)r->capacity, what, (int)r->free, (long long)r->log_position);
                for (size_t i = 0; i < r->n_occupants; i++) {
                    const Atb__V1__OccupantView *v = r->occupants[i];
                    char d[11];
                    cli_date_text(v->start_on, d);
                    printf("  %s  %s  placed by %s since %s, %d%s\n", v->placement_key,
                           *v->person_key ? v->person_key : "(another municipality's resident)", v->placed_by, d,
                           (int)v->load, v->emergency ? ", emergency" : "");
                }
            }
            protobuf_c_message_free_unpacked(out, NULL);
        }
    }
    cli_list_free(&u.words);
    free(u.owner);
    free(u.provider);
    return rc;
}

static int al_charges(cli *c, const cli_sub *s, int argc, char **argv)
{
    static const struct option opts[] = {
        {"from", required_argument, 0, 'f'}, {"to", required_argument, 0, 't'}, CLI_COMMON_OPTIONS};
    Atb__V1__RecordCharges cmd = ATB__V1__RECORD_CHARGES__INIT;
    Atb__V1__CommandMeta meta = ATB__V1__COMMAND_META__INIT;
    Atb__V1__Date from = ATB__V1__DATE__INIT, to = ATB__V1__DATE__INIT;
    int o, rc = CLI_NEXT;
    optind = 0;
    while (rc == CLI_NEXT && (o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (o) {
        case 'f':
            if ((rc = cli_opt_date(s, "from", optarg, &from)) == CLI_NEXT)
                cmd.period_from = &from;
            break;
        case 't':
            if ((rc = cli_opt_date(s, "to", optarg, &to)) == CLI_NEXT)
                cmd.period_to = &to;
            break;
        default: rc = cli_option(c, s, o, optarg); break;
        }
    }
    if (rc == CLI_NEXT && (!cmd.period_from || !cmd.period_to))
        rc = cli_usage_error(s, "needs --from and --to");
    if (rc == CLI_NEXT) {
        cmd.meta = &meta;
        rc = command(c, "RecordCharges", &cmd.base, &meta, "recorded the period's charges", "key");
    }
    return rc;
}

static int al_withdraw(cli *c, const cli_sub *s, int argc, char **argv)
{
    cli_ending e;
    int rc = cli_ending_args(c, s, argc, argv, "needs REQUEST, --on and --reason", &e);
    if (rc == CLI_NEXT) {
        Atb__V1__WithdrawServiceRequest cmd = ATB__V1__WITHDRAW_SERVICE_REQUEST__INIT;
        Atb__V1__CommandMeta meta = ATB__V1__COMMAND_META__INIT;
        cmd.meta = &meta;
        cmd.request_key = (char *)e.key;
        cmd.on = &e.on;
        cmd.reason = (char *)e.reason;
        rc = command(c, "WithdrawServiceRequest", &cmd.base, &meta, "withdrawn", "offer_key");
    }
    return rc;
}

static int al_expire(cli *c, const cli_sub *s, int argc, char **argv)
{
    static const struct option opts[] = {{"on", required_argument, 0, 'o'}, CLI_COMMON_OPTIONS};
    Atb__V1__ExpireOffers cmd = ATB__V1__EXPIRE_OFFERS__INIT;
    Atb__V1__CommandMeta meta = ATB__V1__COMMAND_META__INIT;
    Atb__V1__Date on = ATB__V1__DATE__INIT;
    int o, rc = CLI_NEXT;
    optind = 0;
    while (rc == CLI_NEXT && (o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (o) {
        case 'o':
            if ((rc = cli_opt_date(s, "on", optarg, &on)) == CLI_NEXT)
                cmd.on = &on;
            break;
        default: rc = cli_option(c, s, o, optarg); break;
        }
    }
    if (rc == CLI_NEXT && !cmd.on)
        rc = cli_usage_error(s, "needs --on");
    if (rc != CLI_NEXT)
        return rc;
    cmd.meta = &meta;
    char id[37];
    cli_meta(c, &meta, id);
    if (c->command_id)
        meta.command_id = (char *)c->command_id;
    snprintf(c->last_id, sizeof c->last_id, "%s", meta.command_id);
    if ((rc = cli_connect(c)) != CLI_OK)
        return rc;
    ProtobufCMessage *out = NULL;
    rc = cli_call(c, "cmd", c->tenant, "allocation", "ExpireOffers", &cmd.base, &atb__v1__command_reply__descriptor,
                  &out);
    if (rc == CLI_OK) {
        const Atb__V1__CommandReply *r = (const Atb__V1__CommandReply *)out;
        if (!cli_refused(r->error) && !c->json && !*r->stream_id)
            printf("no offer had expired\n");   /* a normal day: nothing appended */
        else
            rc = cli_print_reply(c, r, "expired offers passed on", "key", NULL);
    }
    protobuf_c_message_free_unpacked(out, NULL);
    return rc;
}
