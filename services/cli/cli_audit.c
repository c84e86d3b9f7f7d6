/*
 * cli_audit.c -- atbalsts audit: re-derive decisions from the log alone and prove each.
 *
 * An auditor's tool, so it does not ask a service: it reads the log in PostgreSQL with a
 * read-only connection (--pg, ATB_PG_URL: any role that may read atb.events, such as the
 * auditor's), takes every decision event (category "decision") in the period, rebuilds it
 * from its recorded input with the rule set of its recorded version -- loaded from that
 * version's RuleSetPublished event in the log, never from today's files -- and compares
 * every step and the result (services/means/replay.c). A human override that followed a
 * decision is reported, not replayed: it is a decision of people, with who and why.
 *
 * Output: one line per mismatch (the application, the decision, where it differs, both
 * values) and a summary; with --json one object. A progress line on stderr when it is a
 * terminal. Exit 0 when every decision is proven, 2 when any is not, 3 when the database
 * cannot be read, 1 for a usage error.
 */
#include "cli.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "at_date.h"
#include "at_time.h"
#include "es.h"
#include "means_core.h"

#define AUDIT_BATCH 2000

typedef struct audit_opts {
    const char *pg;
    const char *tenant;           /* NULL: every municipality */
    at_date from, to;             /* recorded in the log on these days (UTC); NONE: open */
    const char *application;      /* one application only */
    const char *household;        /* one household's decisions only */
} audit_opts;

typedef struct audit_tally {
    long decisions, proven, mismatched, overridden, skipped;
    int64_t last_position;
} audit_tally;

static void audit_usage(FILE *f)
{
    fprintf(f, "usage: atbalsts audit [--pg URL] [--from YYYY-MM-DD] [--to YYYY-MM-DD]\n"
               "                      [--application ID | --household KEY] [--all-tenants]\n\n"
               "Re-derives every decision recorded in the period from the log alone, with the\n"
               "rule-set version each one names (loaded from the log), and proves it equal to\n"
               "what was decided, step by step. Prints every mismatch with the differing step\n"
               "and both values, and a summary. Reads PostgreSQL directly, read-only.\n"
               "  --pg URL          the log's database (ATB_PG_URL); a role that may read atb.events\n"
               "  --from, --to      days the decisions were recorded (UTC), both inclusive\n"
               "  --application ID  the decisions of one application\n"
               "  --household KEY   the decisions of one household, its whole history\n"
               "  --all-tenants     every municipality (default: --tenant's)\n"
               "exit codes: 0 all proven, 2 a decision is not proven, 3 the database cannot be\n"
               "read, 1 usage error.\n");
}

/* Does the decision event belong to the household? Its recorded input says. */
static bool of_household(const es_event *ev, const char *household, at_arena *a)
{
    Atb__V1__StatusGranted *w = atb__v1__status_granted__unpack(at_arena_pbc(a), ev->payload_len, ev->payload);
    return w && w->decision && w->decision->input && w->decision->input->household &&
           strcasecmp(w->decision->input->household->id, household) == 0;
}

static void print_mismatch(const cli *c, const es_event *ev, const Atb__V1__ReplayedDecision *d)
{
    const Atb__V1__ReplayMismatch *m = d->mismatch;
    if (c->json)
        return;
    printf("NOT PROVEN  %s decision %d (%s, position %lld)\n", ev->stream_id + 9, (int)d->ask_index, ev->type,
           (long long)ev->position);
    if (m) {
        printf("  where     %s%s%d%s%s\n", m->where, m->step ? " " : "", (int)m->step, m->label_en[0] ? " " : "",
               m->label_en);
        if (m->field[0])
            printf("  field     %s\n", m->field);
        printf("  recorded  %s\n  replayed  %s\n", m->recorded, m->replayed);
    }
}

static int run(cli *c, const audit_opts *o, audit_tally *t, json_t *mismatches)
{
    es_config cfg = {.conninfo = o->pg, .pool_size = 2, .application_name = "atbalsts-audit"};
    es_store *es = NULL;
    at_error err;
    if (es_open(&es, &cfg, &err) != ES_OK) {
        fprintf(stderr, "ERROR:  cannot read the log: %s\n", err.message);
        if (err.detail[0])
            fprintf(stderr, "DETAIL:  %s\n", err.detail);
        fprintf(stderr, "HINT:  Give the database with --pg or ATB_PG_URL.\n");
        return CLI_UNREACHABLE;
    }
    ruleset_cache *rc = NULL;
    if (ruleset_cache_open(NULL, &rc, &err) != AT_OK) {
        es_close(es);
        fprintf(stderr, "ERROR:  %s\n", err.message);
        return CLI_UNREACHABLE;
    }
    int64_t head = 0;
    es_head(es, &head, NULL);
    bool progress = !c->json && isatty(STDERR_FILENO);
    static const char *const categories[] = {"decision"};
    es_filter f = {.tenant = o->tenant, .categories = categories, .n_categories = 1};
    at_arena *a = at_arena_new(256 * 1024);
    int rc_out = CLI_OK;
    int64_t after = 0, from_us = 0, to_us = INT64_MAX;
    if (o->from != AT_DATE_NONE)
        from_us = (int64_t)o->from * 86400LL * 1000000;
    if (o->to != AT_DATE_NONE)
        to_us = ((int64_t)o->to + 1) * 86400LL * 1000000;
    for (;;) {
        es_batch *b = NULL;
        if (es_read_all(es, after, AUDIT_BATCH, &f, &b, &err) != ES_OK) {
            fprintf(stderr, "ERROR:  cannot read the log: %s\n", err.message);
            rc_out = CLI_UNREACHABLE;
            break;
        }
        size_t n = es_batch_count(b);
        for (size_t i = 0; i < n; i++) {
            const es_event *ev = es_batch_get(b, i);
            after = ev->position;
            if (strcmp(ev->type, "DecisionOverridden") == 0) {
                t->overridden++;
                continue;
            }
            if (ev->recorded_at_us < from_us || ev->recorded_at_us >= to_us)
                continue;
            if (o->application && strcasecmp(ev->stream_id + 9, o->application) != 0)
                continue;
            at_arena_reset(a);
            if (o->household && !of_household(ev, o->household, a))
                continue;
            Atb__V1__ReplayedDecision d;
            atb__v1__replayed_decision__init(&d);
            if (replay_event(rc, es, ev, a, &d, &err) != AT_OK) {
                fprintf(stderr, "ERROR:  cannot replay position %lld: %s\n", (long long)ev->position, err.message);
                rc_out = CLI_UNREACHABLE;
                break;
            }
            t->decisions++;
            t->last_position = ev->position;
            if (d.proven) {
                t->proven++;
            } else {
                t->mismatched++;
                print_mismatch(c, ev, &d);
                if (mismatches && json_array_size(mismatches) < 1000) {
                    const Atb__V1__ReplayMismatch *m = d.mismatch;
                    json_array_append_new(
                        mismatches,
                        json_pack("{s:s, s:i, s:s, s:I, s:s, s:i, s:s, s:s, s:s}", "application", ev->stream_id + 9,
                                  "ask_index", (int)d.ask_index, "type", ev->type, "position",
                                  (json_int_t)ev->position, "where", m ? m->where : "", "step", m ? (int)m->step : 0,
                                  "field", m ? m->field : "", "recorded", m ? m->recorded : "", "replayed",
                                  m ? m->replayed : ""));
                }
            }
        }
        es_batch_free(b);
        if (progress)
            fprintf(stderr, "\raudit: log position %lld of %lld, %ld decisions, %ld not proven", (long long)after,
                    (long long)head, t->decisions, t->mismatched);
        if (rc_out != CLI_OK || n < AUDIT_BATCH)
            break;
    }
    if (progress)
        fputc('\n', stderr);
    at_arena_free(a);
    ruleset_cache_free(rc);
    es_close(es);
    return rc_out;
}

int cli_audit(cli *c, int argc, char **argv)
{
    static const struct option opts[] = {{"pg", required_argument, 0, 'p'},
                                         {"from", required_argument, 0, 'f'},
                                         {"to", required_argument, 0, 't'},
                                         {"application", required_argument, 0, 'a'},
                                         {"household", required_argument, 0, 'H'},
                                         {"all-tenants", no_argument, 0, 'A'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    audit_opts o = {.pg = getenv("ATB_PG_URL"), .tenant = c->tenant, .from = AT_DATE_NONE, .to = AT_DATE_NONE};
    at_error err;
    int opt;
    optind = 0;
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (opt) {
        case 'p': o.pg = optarg; break;
        case 'f':
        case 't':
            if (at_date_parse(optarg, opt == 'f' ? "--from" : "--to", opt == 'f' ? &o.from : &o.to, &err) != AT_OK) {
                fprintf(stderr, "atbalsts: audit: %s\n", err.message);
                return CLI_USAGE;
            }
            break;
        case 'a': o.application = optarg; break;
        case 'H': o.household = optarg; break;
        case 'A': o.tenant = NULL; break;
        case 'h': audit_usage(stdout); return CLI_OK;
        default: audit_usage(stderr); return CLI_USAGE;
        }
    }
    if (optind < argc || (o.application && o.household) || !o.pg || !*o.pg) {
        fprintf(stderr, "atbalsts: audit: %s\n",
                !o.pg || !*o.pg ? "give the database with --pg URL or ATB_PG_URL"
                                : "give at most one of --application and --household, and no other words");
        audit_usage(stderr);
        return CLI_USAGE;
    }
    audit_tally t = {0};
    json_t *mismatches = c->json ? json_array() : NULL;
    int64_t t0 = at_mono_ns();
    int rc = run(c, &o, &t, mismatches);
    double secs = (double)(at_mono_ns() - t0) / 1e9;
    if (rc != CLI_OK) {
        json_decref(mismatches);
        return rc;
    }
    if (c->json) {
        cli_print_json(json_pack("{s:s?, s:I, s:I, s:I, s:I, s:f, s:o}", "tenant", o.tenant,
                                 "decisions", (json_int_t)t.decisions, "proven", (json_int_t)t.proven,
                                 "not_proven", (json_int_t)t.mismatched, "overrides", (json_int_t)t.overridden,
                                 "seconds", secs, "mismatches", mismatches));
    } else {
        printf("audit (%s): %ld decisions replayed from the log, %ld proven, %ld NOT proven; %ld human "
               "overrides recorded (not replayed); %.1f s\n",
               o.tenant ? o.tenant : "every municipality", t.decisions, t.proven, t.mismatched, t.overridden,
               secs);
    }
    return t.mismatched ? CLI_REFUSED : CLI_OK;
}
