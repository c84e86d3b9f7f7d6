/*
 * cli_means.c -- atbalsts means ...: the means-testing service's commands that are not
 * about one application (docs/cli.md). `means recalculate --on DATE` re-decides the GMI
 * grants that run across a change of the GMI level where the rule set says so
 * (RecalculateAtLevelChange, docs/rules.md §9.3).
 */
#include "cli.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int means_recalculate(cli *c, const cli_sub *s, int argc, char **argv);

static const cli_sub subs[] = {
    {"recalculate", means_recalculate, "means recalculate --on YYYY-MM-DD",
     "For a day on which the GMI level changes: re-decides, from that day, every GMI\n"
     "grant decided before it whose period runs across it, when the rule set says that\n"
     "running grants are recalculated (gmi.keep_amount_on_level_change false); payments\n"
     "then pays the new amount for the months from that day. When the rule set keeps\n"
     "amounts, only lists the grants. Prints each grant with its old and new amount.\n"
     "Running it again changes nothing.\n"},
};

int cli_means(cli *c, int argc, char **argv)
{
    return cli_dispatch(c, "means", "Means testing: runs over the recorded decisions.", subs,
                        sizeof subs / sizeof subs[0], argc, argv);
}

static void money(int64_t cents, char *buf, size_t n)
{
    int64_t m = cents < 0 ? -cents : cents;
    snprintf(buf, n, "%s%" PRId64 ".%02" PRId64, cents < 0 ? "-" : "", m / 100, m % 100);
}

static int print_level_change(const cli *c, const Atb__V1__LevelChangeReply *r)
{
    if (c->json) {
        cli_print_json(cli_pb_to_json(&r->base));
        return CLI_OK;
    }
    const Atb__V1__Date *d = r->date;
    printf("GMI level change on %04d-%02d-%02d", d ? (int)d->year : 0, d ? (int)d->month : 0, d ? (int)d->day : 0);
    for (size_t i = 0; i < r->n_reads; i++)
        printf("%s%s = %s", i ? ", " : ": ", r->reads[i]->name, r->reads[i]->value);
    printf("\n%s: %d grants run across it, %d recalculated\n",
           r->keep ? "amounts are kept (nothing recalculated)" : "amounts are recalculated", (int)r->crossing,
           (int)r->recalculated);
    for (size_t i = 0; i < r->n_grants; i++) {
        const Atb__V1__LevelChangeGrant *g = r->grants[i];
        char was[24], now[24];
        money(g->previous_cents, was, sizeof was);
        money(g->amount_cents, now, sizeof now);
        printf("  %s/%d  %-12s %10s -> %10s%s%s\n", g->application_id, (int)g->ask_index, g->outcome, was, now,
               g->detail && g->detail[0] ? "  " : "", g->detail ? g->detail : "");
    }
    if ((size_t)r->crossing > r->n_grants)
        printf("  ... and %d more\n", (int)(r->crossing - (int32_t)r->n_grants));
    return CLI_OK;
}

static int means_recalculate(cli *c, const cli_sub *s, int argc, char **argv)
{
    Atb__V1__RecalculateAtLevelChange cmd = ATB__V1__RECALCULATE_AT_LEVEL_CHANGE__INIT;
    Atb__V1__Date on = ATB__V1__DATE__INIT;
    bool dated;
    int rc = cli_date_only_args(c, s, argc, argv, "on", &on, &dated);
    if (rc != CLI_NEXT)
        return rc;
    if (!dated)
        return cli_usage_error(s, "needs --on YYYY-MM-DD");
    cmd.date = &on;
    Atb__V1__CommandMeta meta;
    char id[37];
    atb__v1__command_meta__init(&meta);
    cli_meta(c, &meta, id);
    if (c->command_id)
        meta.command_id = (char *)c->command_id;
    snprintf(c->last_id, sizeof c->last_id, "%s", meta.command_id);
    cmd.meta = &meta;
    if (c->verbose)
        fprintf(stderr, "command id %s\n", meta.command_id);
    Atb__V1__LevelChangeReply *r = NULL;
    rc = cli_call(c, "cmd", c->tenant, "means", "RecalculateAtLevelChange", &cmd.base,
                  &atb__v1__level_change_reply__descriptor, (ProtobufCMessage **)&r);
    if (rc != CLI_OK)
        return rc;
    rc = cli_refused(r->error) ? cli_print_error(c, r->error, NULL) : print_level_change(c, r);
    protobuf_c_message_free_unpacked(&r->base, NULL);
    return rc;
}
