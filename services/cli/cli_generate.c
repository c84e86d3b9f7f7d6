/*
 * cli_generate.c -- atbalsts generate: a municipality's year of social assistance, made
 * up from a seed and driven through the public command API (docs/generate.md).
 *
 * The options, the plan (cli_generate_model.c), the run (cli_generate_run.c), and the
 * summary on stdout: what the plan holds, the commands sent with their answers by kind,
 * what the year came to, and the year's report. Progress goes to stderr.
 *
 * Exit: 0 when every command was answered and none was refused; 2 when some were
 * refused; 3 when a service could not be reached; 1 on a usage error.
 */
#include "cli_generate.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f,
            "usage: atbalsts generate [--preset tervete|daugavpils|region] [--scale PCT] [--seed S]\n"
            "        [--concurrency N] [--out DIR] [--commands FILE] [--wait SECONDS]\n"
            "        [--no-services] [--no-payments] [--no-appeals] [--dry-run] [--json]\n\n"
            "Makes up a municipality's year of %d from the seed -- residents in households of\n"
            "realistic size and age, pensioners, persons with disabilities, large families,\n"
            "incomes around the thresholds -- and drives it through the command API: persons,\n"
            "households, applications with declarations, home visits, co-operation duties kept\n"
            "and failed, decisions by means testing, appeals, needs assessments and requests for\n"
            "services (more than there are places in winter), crisis admissions, payee accounts,\n"
            "twelve monthly payment batches with their SEPA files, and the year's report.\n"
            "The same seed sends the same commands with the same ids: run again, every command\n"
            "is answered as done before and nothing changes.\n"
            "  --preset P       tervete (small rural, default), daugavpils (the city),\n"
            "                   region (Tērvete and Kandava, crisis places bought from Dobele)\n"
            "  --scale PCT      percent of the preset's clients (default 100, 1..1000)\n"
            "  --seed S         default 1\n"
            "  --concurrency N  commands in flight (default 16, 1..256)\n"
            "  --out DIR        write the pain.001 files there (<tenant>-%d-MM-pain001.xml)\n"
            "  --commands FILE  write every command sent (tenant, subject, id, hash of its\n"
            "                   bytes), sorted: two runs of a seed give the same file\n"
            "  --wait SECONDS   how long to wait for decisions, orders, projections (default 600)\n"
            "  --no-services, --no-payments, --no-appeals   leave out that part\n"
            "  --dry-run        print the plan's shape only; nothing is sent\n"
            "  --json           one JSON object on stdout\n",
            GEN_YEAR, GEN_YEAR);
}

static json_t *shape_json(const gen_shape *s)
{
    return json_pack("{s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i}", "persons",
                     s->persons, "households", s->households, "children", s->children, "pensioners", s->pensioners,
                     "disabled", s->disabled, "unemployed", s->unemployed, "large_families", s->large_families,
                     "single_pensioners", s->single_pensioners, "visits", s->visits, "agreements", s->agreements,
                     "duties_failed", s->duties_failed, "appeals", s->appeals, "winter_requests", s->winter,
                     "care_requests", s->care, "crisis", s->crisis, "below_needy", s->below_needy);
}

static json_t *tally_json(const gen_tally *t)
{
    json_t *refused = json_object(), *by = json_object();
    for (int k = 1; k <= AT_UNKNOWN_COMMAND; k++)
        if (t->refused[k])
            json_object_set_new(refused, at_code_name((at_code)k), json_integer(t->refused[k]));
    for (long i = 0; i < t->by_name_n; i++)
        json_object_set_new(by, t->by_name[i].name,
                            json_pack("{s:I, s:I, s:s}", "sent", (json_int_t)t->by_name[i].sent, "refused",
                                      (json_int_t)t->by_name[i].refused, "first_refusal", t->by_name[i].first));
    return json_pack("{s:I, s:I, s:I, s:I, s:I, s:o, s:o, s:f, s:f}", "sent", (json_int_t)t->sent, "done",
                     (json_int_t)t->done, "duplicate", (json_int_t)t->duplicate, "expected", (json_int_t)t->expected,
                     "unanswered", (json_int_t)t->unanswered, "refused", refused, "by_command", by, "elapsed_seconds",
                     t->elapsed, "commands_per_second", t->elapsed > 0 ? (double)t->sent / t->elapsed : 0.0);
}

static json_t *result_json(const gen_result *r)
{
    json_t *files = json_array();
    for (int i = 0; i < r->n_files; i++)
        json_array_append_new(files, json_string(r->files[i / 12][i % 12]));
    json_t *j = json_pack("{s:i, s:i, s:i, s:i, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o}",
                     "completed", r->completed, "decided", r->decided, "returned", r->returned, "appeals", r->appeals,
                     "needy_granted", (json_int_t)r->needy, "low_income_granted", (json_int_t)r->low_income,
                     "gmi_granted", (json_int_t)r->gmi, "gmi_cents_per_month", (json_int_t)r->gmi_cents,
                     "refused_asks", (json_int_t)r->refused_asks, "service_requests", (json_int_t)r->requests,
                     "placements", (json_int_t)r->placements, "crisis_admissions", (json_int_t)r->admissions,
                     "orders_scheduled", (json_int_t)r->orders, "payee_accounts", (json_int_t)r->payees,
                     "batches", (json_int_t)r->batches, "orders_batched", (json_int_t)r->batched, "orders_paid",
                     (json_int_t)r->paid, "offers", (json_int_t)r->offers, "sepa_files", files);
    return j;
}

/* Timings vary from run to run: kept apart from "year", which a second run repeats. */
static json_t *timing_json(const gen_result *r)
{
    return json_pack("{s:f, s:f, s:f, s:f}", "intake_answered", r->t_intake, "all_decided", r->t_decided,
                     "report_caught_up", r->t_report, "end", r->t_end);
}

static void print_text(const gen_plan *pl, const gen_shape *s, const gen_tally *t, const gen_result *r,
                       const char *out_dir)
{
    printf("generate: preset %s at %d %%, seed %llu, year %d (", pl->preset->name, pl->scale,
           (unsigned long long)pl->seed, GEN_YEAR);
    for (int i = 0; i < pl->preset->n_towns; i++)
        printf("%s%s", i ? ", " : "", pl->preset->towns[i].tenant);
    printf(")\n");
    printf("  plan        %d persons in %d households: %d children, %d pensioners (%d living alone),\n"
           "              %d with a disability, %d unemployed, %d large families\n"
           "              %d home visits, %d agreements (%d duties failed), %d appeals,\n"
           "              %d winter requests, %d care requests, %d crisis admissions planned\n",
           s->persons, s->households, s->children, s->pensioners, s->single_pensioners, s->disabled, s->unemployed,
           s->large_families, s->visits, s->agreements, s->duties_failed, s->appeals, s->winter, s->care, s->crisis);
    if (!t)
        return;
    printf("  commands    %ld sent in %.1f s (%.0f a second): %ld done (%ld of them done before), %ld expected\n"
           "              refusals, %ld unanswered\n",
           t->sent, t->elapsed, t->elapsed > 0 ? (double)t->sent / t->elapsed : 0.0, t->done, t->duplicate,
           t->expected, t->unanswered);
    printf("  refused    ");
    long refused = 0;
    for (int k = 1; k <= AT_UNKNOWN_COMMAND; k++)
        if (t->refused[k]) {
            printf(" %s %ld", at_code_name((at_code)k), t->refused[k]);
            refused += t->refused[k];
        }
    printf("%s\n", refused ? "" : " none");
    for (long i = 0; i < t->by_name_n; i++)
        printf("    %-20s %8ld sent %6ld refused%s%s\n", t->by_name[i].name, t->by_name[i].sent, t->by_name[i].refused,
               t->by_name[i].first[0] ? ", first: " : "", t->by_name[i].first);
    printf("  decisions   %d applications completed, %d decided, %d returned; %d appeals decided\n", r->completed,
           r->decided, r->returned, r->appeals);
    printf("              needy status %ld, low-income status %ld, GMI %ld (%lld.%02lld EUR a month), %ld asks "
           "refused\n",
           r->needy, r->low_income, r->gmi, (long long)(r->gmi_cents / 100), (long long)(r->gmi_cents % 100),
           r->refused_asks);
    printf("  services    %ld requests, %ld placed from the waiting lists, %ld crisis admissions\n", r->requests,
           r->placements, r->admissions);
    printf("  payments    %ld orders scheduled, %ld payee accounts, %ld batches of %ld orders, %ld paid\n", r->orders,
           r->payees, r->batches, r->batched, r->paid);
    if (r->n_files)
        printf("  SEPA files  %d pain.001.001.03 files in %s\n", r->n_files, out_dir);
}

int cli_generate(cli *c, int argc, char **argv)
{
    static const struct option opts[] = {
        {"preset", required_argument, 0, 'p'},   {"scale", required_argument, 0, 's'},
        {"seed", required_argument, 0, 'e'},     {"concurrency", required_argument, 0, 'c'},
        {"out", required_argument, 0, 'o'},      {"commands", required_argument, 0, 'l'},
        {"wait", required_argument, 0, 'w'},     {"no-services", no_argument, 0, 'S'},
        {"no-payments", no_argument, 0, 'P'},    {"no-appeals", no_argument, 0, 'A'},
        {"dry-run", no_argument, 0, 'n'},        {"json", no_argument, 0, 'j'},
        {"help", no_argument, 0, 'h'},           {0, 0, 0, 0}};
    const char *preset_name = "tervete", *commands = NULL;
    long scale = 100, concurrency = 16, wait = 600;
    unsigned long long seed = 1;
    bool dry = false;
    gen_options o = {.payments = true, .services = true, .appeals = true};
    char *end;
    int opt;
    optind = 0;
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (opt) {
        case 'p': preset_name = optarg; break;
        case 's': scale = strtol(optarg, &end, 10); if (*end || end == optarg) scale = -1; break;
        case 'e': seed = strtoull(optarg, &end, 10); if (*end || end == optarg || *optarg == '-') scale = -2; break;
        case 'c': concurrency = strtol(optarg, &end, 10); if (*end || end == optarg) concurrency = -1; break;
        case 'w': wait = strtol(optarg, &end, 10); if (*end || end == optarg) wait = -1; break;
        case 'o': o.out_dir = optarg; break;
        case 'l': commands = optarg; break;
        case 'S': o.services = false; break;
        case 'P': o.payments = false; break;
        case 'A': o.appeals = false; break;
        case 'n': dry = true; break;
        case 'j': c->json = true; break;
        case 'h': usage(stdout); return CLI_OK;
        default: usage(stderr); return CLI_USAGE;
        }
    }
    const gen_preset *preset = gen_preset_find(preset_name);
    if (!preset) {
        fprintf(stderr, "atbalsts: generate: unknown preset \"%s\" (%s)\n", preset_name, gen_preset_names);
        return CLI_USAGE;
    }
    if (optind < argc || scale < 1 || scale > 1000 || concurrency < 1 || concurrency > 256 || wait < 1) {
        fprintf(stderr, "atbalsts: generate: --scale is 1..1000, --concurrency 1..256, --wait at least 1, --seed "
                        "a number\n");
        return CLI_USAGE;
    }
    o.concurrency = (int)concurrency;
    o.wait_seconds = (int)wait;

    gen_plan pl;
    if (!gen_plan_make(preset, (int)scale, seed, &pl)) {
        fprintf(stderr, "atbalsts: generate: out of memory for the plan\n");
        return CLI_USAGE;
    }
    gen_shape shape;
    gen_plan_shape(&pl, &shape);
    if (dry) {
        if (c->json)
            cli_print_json(json_pack("{s:s, s:i, s:I, s:o}", "preset", preset->name, "scale", (int)scale, "seed",
                                     (json_int_t)seed, "plan", shape_json(&shape)));
        else
            print_text(&pl, &shape, NULL, NULL, NULL);
        gen_plan_free(&pl);
        return CLI_OK;
    }
    int rc = cli_connect(c);
    if (rc != CLI_OK) {
        gen_plan_free(&pl);
        return rc;
    }
    gen *g = gen_new(c, seed, commands);
    if (!g) {
        gen_plan_free(&pl);
        return CLI_USAGE;
    }
    gen_result r;
    memset(&r, 0, sizeof r);
    rc = gen_run(g, &pl, &o, &r);
    gen_tally t;
    gen_tally_get(g, &t);
    bool logged = gen_free(g);

    if (c->json) {
        json_t *j = json_pack("{s:s, s:i, s:I, s:o, s:o, s:o}", "preset", preset->name, "scale", (int)scale, "seed",
                              (json_int_t)seed, "plan", shape_json(&shape), "commands", tally_json(&t), "year",
                              result_json(&r));
        json_object_set_new(j, "seconds", timing_json(&r));
        json_object_set_new(j, "report", r.report ? r.report : json_null());
        r.report = NULL;
        if (o.out_dir)
            json_object_set_new(j, "out", json_string(o.out_dir));
        cli_print_json(j);
    } else {
        print_text(&pl, &shape, &t, &r, o.out_dir);
        if (r.report) {
            json_t *total = json_object_get(r.report, "total");
            printf("  report      %s: %lld decisions, %lld applications decided (%lld on time), %lld appealed\n",
                   "the year's totals", (long long)json_integer_value(json_object_get(total, "decisions")),
                   (long long)json_integer_value(json_object_get(total, "applications_decided")),
                   (long long)json_integer_value(json_object_get(total, "decided_on_time")),
                   (long long)json_integer_value(json_object_get(total, "appealed")));
        }
    }
    json_decref(r.report);
    gen_plan_free(&pl);
    long refused = 0;
    for (int k = 1; k <= AT_UNKNOWN_COMMAND; k++)
        refused += t.refused[k];
    if (rc != CLI_OK || t.unanswered)
        return CLI_UNREACHABLE;
    return refused || !logged ? CLI_REFUSED : CLI_OK;
}
