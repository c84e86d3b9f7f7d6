/*
 * cli_simulate.c -- atbalsts simulate: what a council's draft rule set would have changed
 * over the decisions recorded in the log for a period, per benefit and in total.
 *
 * Like audit, it reads PostgreSQL itself (--pg, ATB_PG_URL), with every connection in
 * read-only mode, and writes nothing anywhere but its output. The draft is one YAML file
 * (a copy of national.yaml or of a municipality's file with changed values) that replaces
 * the file of its scope in the current rule-set directory (--rulesets, ATB_RULESETS); it is
 * checked by the rules loader before the log is read. The work is services/means/
 * simulate.c; this file parses options and prints: a table (default), --csv, --json, or
 * --html PATH (cli_simulate_html.c: the page of libs/htmlreport, Latvian or --lang en).
 *
 * Exit codes: 0 done, 1 usage error or a bad draft, 3 the database cannot be read.
 */
#include "cli.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "at_money.h"
#include "es.h"
#include "cli_simulate_html.h"
#include "simulate.h"

#ifndef CLI_RULESETS_DIR
#define CLI_RULESETS_DIR "services/means/rulesets"
#endif

#define SIM_MAX_REGION 64

typedef struct sim_cli {
    const char *pg, *draft, *rulesets, *html, *lang;
    bool csv;
    cli_list region;
    bool all;
    at_date from, to;
    int64_t examples;
} sim_cli;

static void sim_usage(FILE *f)
{
    fprintf(f, "usage: atbalsts simulate --draft FILE [--from YYYY-MM-DD] [--to YYYY-MM-DD]\n"
               "                         [--region T1,T2,... | --all-tenants] [--rulesets DIR]\n"
               "                         [--pg URL] [--examples N] [--csv | --json | --html PATH [--lang lv|en]]\n\n"
               "What a council's draft rule set would have changed: every decision recorded in\n"
               "the log with a decision date in the period is decided again from its recorded\n"
               "input with the draft instead of the rule set it was made with. Prints per\n"
               "benefit and in total the cost before and after and its change (euro, exact),\n"
               "and how many households gain, lose, newly qualify, drop out, stay the same or\n"
               "are refused either way, with example households (keys, never names).\n"
               "Writes nothing: the log is read over a read-only connection.\n"
               "  --draft FILE      a copy of national.yaml or of a municipality's file with\n"
               "                    changed values; its scope: line says which file it replaces\n"
               "  --rulesets DIR    the current rule files (ATB_RULESETS)\n"
               "  --from, --to      decision dates, both inclusive (default: all)\n"
               "  --region T,...    these municipalities (default: --tenant's)\n"
               "  --all-tenants     every municipality\n"
               "  --pg URL          the log's database (ATB_PG_URL); a role that may read atb.events\n"
               "  --examples N      example households per group (1-%d, default 5)\n"
               "  --csv             benefit,figure,value lines; --json one object;\n"
               "  --html PATH       a self-contained HTML page with bar charts and tables\n"
               "  --lang lv|en      the page's language (default lv)\n"
               "cost: a monthly grant counts its amount for every calendar month its period\n"
               "touches, a yearly one for every calendar year, a one-off grant once.\n"
               "exit codes: 0 done, 1 usage error or a bad draft, 3 the database cannot be read.\n",
            SIM_MAX_EXAMPLES);
}

static void print_error(const at_error *e)
{
    fprintf(stderr, "ERROR:  %s\n", e->message);
    if (e->detail[0])
        fprintf(stderr, "DETAIL:  %s\n", e->detail);
    if (e->hint[0])
        fprintf(stderr, "HINT:  %s\n", e->hint);
}

static const char *money(int64_t c, char *buf, size_t n)
{
    at_cents_format(c, buf, n);
    return buf;
}

static const char *signed_money(int64_t c, char *buf, size_t n)
{
    char t[24];   /* at_cents_format's longest value and its NUL */
    at_cents_format(c, t, sizeof t);
    snprintf(buf, n, "%s%s", c > 0 ? "+" : "", t);
    return buf;
}

/* ---- the table */

static void print_table(const sim_cli *o, const sim_draft *d, const sim_report *r)
{
    char b1[32], b2[32], b3[32];
    char when[96] = "decisions of every date";
    if (o->from != AT_DATE_NONE || o->to != AT_DATE_NONE)
        snprintf(when, sizeof when, "decisions dated %s to %s",
                 o->from == AT_DATE_NONE ? "the first" : (at_date_format(o->from, b1, 32), b1),
                 o->to == AT_DATE_NONE ? "the last" : (at_date_format(o->to, b2, 32), b2));
    printf("draft %s (scope %s), %s; log read up to position %" PRId64 ", nothing written\n\n", o->draft,
           sim_draft_scope(d), when, r->head);
    printf("%-18s %9s %14s %14s %14s %6s %6s %6s %6s %6s %8s\n", "benefit", "decisions", "cost before", "cost draft",
           "change", "gain", "lose", "new", "drop", "same", "neither");
    for (size_t i = 0; i < r->n_lines; i++) {
        const sim_line *l = &r->lines[i];
        if (i + 1 == r->n_lines)
            printf("%.*s\n", 126, "------------------------------------------------------------------------------"
                                  "------------------------------------------------");
        printf("%-18s %9ld %14s %14s %14s %6ld %6ld %6ld %6ld %6ld %8ld\n", l->benefit, l->decisions,
               money(l->before, b1, 32), money(l->after, b2, 32), signed_money(l->after - l->before, b3, 32),
               l->households[SIM_GAIN], l->households[SIM_LOSE], l->households[SIM_NEW], l->households[SIM_DROP],
               l->households[SIM_SAME], l->households[SIM_NEITHER]);
    }
    printf("\nhouseholds are counted once per line; the total line counts each household once, and there only\n"
           "benefits (not a status alone) make it granted.\n");
    printf("%ld decisions re-decided; %ld overridden by people (left out); %ld decisions of municipalities the "
           "draft does not change; %ld the draft cannot decide (left out)%s%s\n",
           r->decisions, r->overridden, r->untouched, r->undecidable, r->undecidable ? ": first: " : "",
           r->first_error);
    printf("\nexamples (household key / application id: cost before -> with the draft):\n");
    for (size_t i = 0; i < r->n_lines; i++) {
        const sim_line *l = &r->lines[i];
        for (int g = 0; g < SIM_N_GROUPS; g++) {
            if (g == SIM_SAME || g == SIM_NEITHER)
                continue;
            for (size_t k = 0; k < l->n_examples[g]; k++) {
                const sim_example *e = &l->examples[g][k];
                printf("  %-18s %-5s %s / %s: %s -> %s\n", l->benefit, sim_group_name((sim_group)g), e->household,
                       e->application, money(e->before, b1, 32), money(e->after, b2, 32));
            }
        }
    }
}

/* ---- CSV: benefit,figure,value */

static void print_csv(const sim_report *r)
{
    printf("benefit,figure,value\n");
    for (size_t i = 0; i < r->n_lines; i++) {
        const sim_line *l = &r->lines[i];
        printf("%s,decisions,%ld\n", l->benefit, l->decisions);
        printf("%s,cost_before_cents,%" PRId64 "\n", l->benefit, l->before);
        printf("%s,cost_after_cents,%" PRId64 "\n", l->benefit, l->after);
        printf("%s,change_cents,%" PRId64 "\n", l->benefit, l->after - l->before);
        for (int g = 0; g < SIM_N_GROUPS; g++)
            printf("%s,households_%s,%ld\n", l->benefit, sim_group_name((sim_group)g), l->households[g]);
        for (int g = 0; g < SIM_N_GROUPS; g++)
            for (size_t k = 0; k < l->n_examples[g]; k++)
                printf("%s,example_%s,%s/%s\n", l->benefit, sim_group_name((sim_group)g),
                       l->examples[g][k].household, l->examples[g][k].application);
    }
    printf("all,decisions_resimulated,%ld\nall,overridden,%ld\nall,untouched,%ld\nall,undecidable,%ld\n",
           r->decisions, r->overridden, r->untouched, r->undecidable);
}

/* ---- JSON */

static json_t *report_json(const sim_cli *o, const sim_draft *d, const sim_report *r)
{
    char b1[16], b2[16];
    json_t *lines = json_array();
    for (size_t i = 0; i < r->n_lines; i++) {
        const sim_line *l = &r->lines[i];
        json_t *h = json_object(), *ex = json_object();
        for (int g = 0; g < SIM_N_GROUPS; g++) {
            json_object_set_new(h, sim_group_name((sim_group)g), json_integer(l->households[g]));
            json_t *a = json_array();
            for (size_t k = 0; k < l->n_examples[g]; k++)
                json_array_append_new(a, json_pack("{s:s, s:s, s:I, s:I}", "household", l->examples[g][k].household,
                                                   "application", l->examples[g][k].application, "before_cents",
                                                   (json_int_t)l->examples[g][k].before, "after_cents",
                                                   (json_int_t)l->examples[g][k].after));
            json_object_set_new(ex, sim_group_name((sim_group)g), a);
        }
        json_array_append_new(lines, json_pack("{s:s, s:I, s:I, s:I, s:I, s:o, s:o}", "benefit", l->benefit,
                                               "decisions", (json_int_t)l->decisions, "cost_before_cents",
                                               (json_int_t)l->before, "cost_after_cents", (json_int_t)l->after,
                                               "change_cents", (json_int_t)(l->after - l->before), "households", h,
                                               "examples", ex));
    }
    json_t *tenants = json_array();
    for (size_t i = 0; i < o->region.n; i++)
        json_array_append_new(tenants, json_string(o->region.items[i]));
    if (o->from != AT_DATE_NONE)
        at_date_format(o->from, b1, sizeof b1);
    if (o->to != AT_DATE_NONE)
        at_date_format(o->to, b2, sizeof b2);
    return json_pack("{s:s, s:s, s:s?, s:s?, s:o, s:I, s:I, s:I, s:I, s:I, s:s, s:o}", "draft", o->draft, "scope",
                     sim_draft_scope(d), "from", o->from == AT_DATE_NONE ? NULL : b1, "to",
                     o->to == AT_DATE_NONE ? NULL : b2, "tenants", o->all ? json_null() : tenants, "log_position",
                     (json_int_t)r->head, "decisions", (json_int_t)r->decisions, "overridden",
                     (json_int_t)r->overridden, "untouched", (json_int_t)r->untouched, "undecidable",
                     (json_int_t)r->undecidable, "first_error", r->first_error, "lines", lines);
}

/* ---- the command */

const char *cli_rulesets_dir(const char *given)
{
    const char *env = getenv("ATB_RULESETS");
    return given ? given : env && *env ? env : CLI_RULESETS_DIR;
}

int cli_simulate(cli *c, int argc, char **argv)
{
    enum { O_PG = 0x200, O_DRAFT, O_RULES, O_FROM, O_TO, O_REGION, O_ALL, O_CSV, O_HTML, O_EX, O_LANG };
    static const struct option opts[] = {{"pg", required_argument, 0, O_PG},
                                         {"draft", required_argument, 0, O_DRAFT},
                                         {"rulesets", required_argument, 0, O_RULES},
                                         {"from", required_argument, 0, O_FROM},
                                         {"to", required_argument, 0, O_TO},
                                         {"region", required_argument, 0, O_REGION},
                                         {"all-tenants", no_argument, 0, O_ALL},
                                         {"csv", no_argument, 0, O_CSV},
                                         {"html", required_argument, 0, O_HTML},
                                         {"lang", required_argument, 0, O_LANG},
                                         {"examples", required_argument, 0, O_EX},
                                         {"json", no_argument, 0, 'j'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    sim_cli o = {.pg = getenv("ATB_PG_URL"), .from = AT_DATE_NONE, .to = AT_DATE_NONE, .examples = 5};
    at_error err;
    at_error_clear(&err);
    int opt, rc = CLI_OK;
    optind = 0;
    while (rc == CLI_OK && (opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (opt) {
        case O_PG: o.pg = optarg; break;
        case O_DRAFT: o.draft = optarg; break;
        case O_RULES: o.rulesets = optarg; break;
        case O_FROM:
        case O_TO:
            if (at_date_parse(optarg, opt == O_FROM ? "--from" : "--to", opt == O_FROM ? &o.from : &o.to, &err) !=
                AT_OK) {
                fprintf(stderr, "atbalsts: simulate: %s\n", err.message);
                rc = CLI_USAGE;
            }
            break;
        case O_REGION:
            if (!cli_list_add(&o.region, optarg))
                rc = CLI_USAGE;
            break;
        case O_ALL: o.all = true; break;
        case O_CSV: o.csv = true; break;
        case O_HTML: o.html = optarg; break;
        case O_LANG:
            if (strcmp(optarg, "lv") != 0 && strcmp(optarg, "en") != 0) {
                fprintf(stderr, "atbalsts: simulate: --lang \"%s\": lv or en\n", optarg);
                rc = CLI_USAGE;
            }
            o.lang = optarg;
            break;
        case O_EX: {
            char *end = NULL;
            o.examples = strtoll(optarg, &end, 10);
            if (!end || *end || o.examples < 1 || o.examples > SIM_MAX_EXAMPLES) {
                fprintf(stderr, "atbalsts: simulate: --examples \"%s\": give 1 to %d\n", optarg, SIM_MAX_EXAMPLES);
                rc = CLI_USAGE;
            }
            break;
        }
        case 'j': c->json = true; break;
        case 'h': sim_usage(stdout); cli_list_free(&o.region); return CLI_OK;
        default: rc = CLI_USAGE; break;
        }
    }
    const char *why = NULL;
    if (rc != CLI_OK)
        why = "";
    else if (optind < argc)
        why = "unexpected argument";
    else if (!o.draft)
        why = "needs --draft FILE";
    else if (!o.pg || !*o.pg)
        why = "give the database with --pg URL or ATB_PG_URL";
    else if ((o.csv ? 1 : 0) + (c->json ? 1 : 0) + (o.html ? 1 : 0) > 1)
        why = "give at most one of --csv, --json and --html";
    else if (o.lang && !o.html)
        why = "--lang is for --html";
    else if (o.all && o.region.n)
        why = "give --region or --all-tenants, not both";
    else if (o.region.n > SIM_MAX_REGION)
        why = "too many municipalities in --region";
    else if (o.from != AT_DATE_NONE && o.to != AT_DATE_NONE && o.to < o.from)
        why = "--to is before --from";
    if (why) {
        if (*why)
            fprintf(stderr, "atbalsts: simulate: %s\n", why);
        sim_usage(stderr);
        cli_list_free(&o.region);
        return CLI_USAGE;
    }
    if (!o.all && !o.region.n && !cli_list_add(&o.region, c->tenant)) {
        cli_list_free(&o.region);
        return CLI_USAGE;
    }
    sim_draft *d = NULL;
    if (sim_draft_open(cli_rulesets_dir(o.rulesets), o.draft, &d, &err) != AT_OK) {
        print_error(&err);
        cli_list_free(&o.region);
        return CLI_USAGE;
    }
    bool in_region = o.all || strcmp(sim_draft_scope(d), "national") == 0;
    for (size_t i = 0; i < o.region.n && !in_region; i++)
        in_region = strcmp(o.region.items[i], sim_draft_scope(d)) == 0;
    if (!in_region) {
        fprintf(stderr, "ERROR:  the draft changes %s, which is not in the region simulated\n", sim_draft_scope(d));
        fprintf(stderr, "HINT:  Give --tenant %s, add it to --region, or give --all-tenants.\n", sim_draft_scope(d));
        sim_draft_free(d);
        cli_list_free(&o.region);
        return CLI_USAGE;
    }
    es_store *es = NULL;
    if (sim_open_readonly(o.pg, "atbalsts-simulate", &es, &err) != AT_OK) {
        fprintf(stderr, "ERROR:  cannot read the log: %s\n", err.message);
        if (err.detail[0])
            fprintf(stderr, "DETAIL:  %s\n", err.detail);
        fprintf(stderr, "HINT:  Give the database with --pg or ATB_PG_URL.\n");
        sim_draft_free(d);
        cli_list_free(&o.region);
        return CLI_UNREACHABLE;
    }
    sim_opts so = {.tenants = (const char *const *)o.region.items, .n_tenants = o.all ? 0 : o.region.n,
                   .from = o.from, .to = o.to, .examples = (size_t)o.examples};
    sim_report r;
    if (sim_run(es, d, &so, &r, &err) != AT_OK) {
        fprintf(stderr, "ERROR:  cannot simulate: %s\n", err.message);
        if (err.detail[0])
            fprintf(stderr, "DETAIL:  %s\n", err.detail);
        rc = CLI_UNREACHABLE;
    } else {
        if (c->json)
            cli_print_json(report_json(&o, d, &r));
        else if (o.csv)
            print_csv(&r);
        else if (o.html && cli_simulate_html(o.html, o.lang, o.draft, sim_draft_scope(d), &r, &err) != AT_OK) {
            print_error(&err);
            rc = err.code == AT_UNAVAILABLE ? CLI_UNREACHABLE : CLI_USAGE;
        }
        else
            print_table(&o, d, &r);
        if (o.html && rc == CLI_OK)
            fprintf(stderr, "wrote %s\n", o.html);
        sim_report_free(&r);
    }
    es_close(es);
    sim_draft_free(d);
    cli_list_free(&o.region);
    return rc;
}
