/*
 * cli_replay3.c -- atbalsts replay: three replays of recorded decisions side by side.
 *
 *   (a) as decided: the recorded result, proven by re-deriving it with the recorded
 *       rule-set version from the log (as audit does);
 *   (b) as the law stood on the decision date, with today's knowledge: decided again with
 *       the newest rule-set version published for the municipality that covers the date
 *       (it differs from (a) where a rule set was corrected after the decision);
 *   (c) what-if: decided again with a draft (--draft FILE), optional.
 *
 * A difference between (a) and (b) is labelled "possible overpayment" (the law as known
 * today gives less) or "possible underpayment" (it gives more), with the difference in cost
 * (the cost of simulate: a monthly grant for every month of its period). "Possible":
 * whether money is reclaimed or paid is a decision of people; an override that followed is
 * shown: a recalculation at a change of the GMI level (kind LEVEL_CHANGE) as such, with its
 * day and new amount, proven from the log as audit proves it (replay_override); one by
 * people as "overridden by people". Only an overridden decision costs the extra read of
 * its stream. A command of its own, not an option of audit, because it answers another
 * question (what the law says, not whether the record is intact) and audit's file is
 * another person's. Reads PostgreSQL read-only, writes nothing.
 *
 * Exit codes: 0 done (differences are findings, not failures), 2 a decision is not proven
 * as recorded or the application has no decision, 3 the database cannot be read, 1 usage
 * error or a bad draft.
 */
#include "cli.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "at_money.h"
#include "at_buf.h"
#include "es.h"
#include "simulate.h"

typedef struct r3_cli {
    const cli *c;
    es_store *es;
    ruleset_cache *rc;
    at_arena *a;                  /* the overrides of one row */
    bool differences_only;
    json_t *rows;
    long n, same, over, under, differs, not_proven;
    int64_t over_cents, under_cents;
} r3_cli;

static void r3_usage(FILE *f)
{
    fprintf(f, "usage: atbalsts replay (--application ID | [--from YYYY-MM-DD] [--to YYYY-MM-DD])\n"
               "                       [--draft FILE] [--rulesets DIR] [--all-tenants]\n"
               "                       [--differences] [--pg URL] [--json]\n\n"
               "Three replays of each recorded decision, side by side: (a) as decided, with the\n"
               "rule-set version it names (proven from the log); (b) as the law stood on the\n"
               "decision date with today's knowledge: the newest published rule-set version\n"
               "of the municipality covering that date; (c) what-if, with a draft (optional).\n"
               "Where (b) differs from (a) the difference is labelled a possible overpayment\n"
               "(today's knowledge gives less) or a possible underpayment (it gives more).\n"
               "Reads PostgreSQL directly, read-only.\n"
               "  --application ID  the decisions of one application\n"
               "  --from, --to      decision dates, both inclusive (default: all)\n"
               "  --draft FILE      the what-if rule file (as for simulate)\n"
               "  --rulesets DIR    the current rule files the draft completes (ATB_RULESETS)\n"
               "  --all-tenants     every municipality (default: --tenant's)\n"
               "  --differences     print only the decisions where (a) and (b) differ\n"
               "  --pg URL          the log's database (ATB_PG_URL)\n"
               "exit codes: 0 done, 2 a decision is not proven as recorded or the application\n"
               "has no decision, 3 the database cannot be read, 1 usage error or a bad draft.\n");
}

static const char *date_text(at_date d, char *buf)
{
    if (d == AT_DATE_NONE)
        return "-";
    at_date_format(d, buf, 16);
    return buf;
}

/* "granted 59.00 per month 2018-03-15..2018-06-14, cost 177.00" */
static const char *result_text(const sim_result *r, char *buf, size_t n)
{
    if (!r->decided) {
        snprintf(buf, n, "cannot be decided: %s", r->error);
        return buf;
    }
    char amt[32] = "", cost[32], f[16], t[16];
    if (r->has_amount)
        at_cents_format(r->amount, amt, sizeof amt);
    at_cents_format(r->cost, cost, sizeof cost);
    const char *per = rules_per_name((rules_per)r->per);
    snprintf(buf, n, "%s%s%s%s%s%s%s %s..%s, cost %s", r->granted ? "granted" : "refused",
             r->status ? " " : "", r->status ? rules_status_name((rules_status)r->status) : "",
             r->has_amount ? " " : "", amt, r->has_amount && per ? " per " : "", r->has_amount && per ? per : "",
             date_text(r->period.from, f), date_text(r->period.to, t), cost);
    return buf;
}

static json_t *result_json(const sim_result *r)
{
    if (!r->decided)
        return json_pack("{s:b, s:s}", "decided", 0, "error", r->error);
    char f[16], t[16];
    return json_pack("{s:b, s:b, s:s, s:b, s:I, s:s?, s:s, s:s, s:I}", "decided", 1, "granted", r->granted, "status",
                     rules_status_name((rules_status)r->status), "has_amount", r->has_amount, "amount_cents",
                     (json_int_t)r->amount, "per", rules_per_name((rules_per)r->per), "period_from",
                     date_text(r->period.from, f), "period_to", date_text(r->period.to, t), "cost_cents",
                     (json_int_t)r->cost);
}

/* What followed one decision: its recalculations at a change of the GMI level (each proven
 * from the log) and whether people overrode it. */
typedef struct r3_after {
    bool by_people;
    size_t n;
    at_date day[8];
    bool granted[8], has_amount[8], proven[8];
    int64_t amount[8];
} r3_after;

static at_code overrides_of(r3_cli *x, const r3_row *r, r3_after *out, at_error *err)
{
    memset(out, 0, sizeof *out);
    char stream[64];
    snprintf(stream, sizeof stream, "decision-%s", r->application);
    es_batch *b = NULL;
    es_status st = es_read_stream(x->es, stream, 1, SIZE_MAX, &b, err);
    if (st != ES_OK)
        return es_status_code(st);
    at_code code = AT_OK;
    for (size_t i = 0; i < es_batch_count(b) && code == AT_OK; i++) {
        const es_event *ev = es_batch_get(b, i);
        if (strcmp(ev->type, MEANS_EV_OVERRIDDEN) != 0 || ev->position < r->position)
            continue;
        at_arena_reset(x->a);
        Atb__V1__DecisionOverridden *o =
            atb__v1__decision_overridden__unpack(at_arena_pbc(x->a), ev->payload_len, ev->payload);
        if (o && o->ask_index != r->ask_index)
            continue;
        if (o && o->kind != ATB__V1__OVERRIDE_KIND__OVERRIDE_KIND_LEVEL_CHANGE) {
            out->by_people = true;
            continue;
        }
        if (out->n == sizeof out->day / sizeof out->day[0])
            continue;
        size_t k = out->n++;
        Atb__V1__ReplayedDecision d;
        code = replay_override(x->rc, x->es, ev, x->a, &d, err);
        out->proven[k] = code == AT_OK && d.proven;
        if (o) {
            decision_date_in(o->effective_from, false, &out->day[k]);
            out->granted[k] = o->result && o->result->outcome == ATB__V1__DECISION_OUTCOME__DECISION_OUTCOME_GRANTED;
            out->has_amount[k] = o->result && o->result->has_amount;
            out->amount[k] = o->result ? o->result->amount_cents : 0;
        } else {
            out->day[k] = AT_DATE_NONE;
        }
    }
    es_batch_free(b);
    return code;
}

static json_t *after_json(const r3_after *f)
{
    json_t *arr = json_array();
    char d[16];
    for (size_t i = 0; i < f->n; i++)
        json_array_append_new(arr, json_pack("{s:s, s:b, s:I, s:b}", "effective_from", date_text(f->day[i], d),
                                             "granted", f->granted[i], "amount_cents",
                                             (json_int_t)(f->has_amount[i] ? f->amount[i] : 0), "proven",
                                             f->proven[i]));
    return arr;
}

static at_code on_row(const r3_row *r, void *ctx)
{
    r3_cli *x = ctx;
    r3_after after = {0};
    at_error err;
    at_error_clear(&err);
    if (r->overridden && overrides_of(x, r, &after, &err) != AT_OK) {
        fprintf(stderr, "ERROR:  cannot read the overrides of %s: %s\n", r->application, err.message);
        return err.code ? err.code : AT_UNAVAILABLE;
    }
    bool recalculations_proven = true;
    for (size_t i = 0; i < after.n; i++)
        recalculations_proven = recalculations_proven && after.proven[i];
    x->n++;
    x->not_proven += !r->proven || !recalculations_proven;
    switch (r->label) {
    case R3_SAME: x->same++; break;
    case R3_OVERPAYMENT: x->over++; x->over_cents += -r->difference; break;
    case R3_UNDERPAYMENT: x->under++; x->under_cents += r->difference; break;
    case R3_DIFFERS: x->differs++; break;
    }
    if (x->differences_only && r->label == R3_SAME && r->proven && recalculations_proven)
        return AT_OK;
    char d[16], buf[400], diff[32];
    at_cents_format(r->difference < 0 ? -r->difference : r->difference, diff, sizeof diff);
    if (x->rows) {
        json_t *o = json_pack("{s:s, s:i, s:s, s:s, s:s, s:I, s:b, s:b, s:s, s:s, s:I, s:o, s:o, s:s, s:I}",
                              "application", r->application, "ask_index", r->ask_index, "household", r->household,
                              "benefit", r->benefit, "decided_on", date_text(r->decided_on, d), "position",
                              (json_int_t)r->position, "proven", r->proven, "overridden", r->overridden,
                              "version_a", r->version_a, "version_b", r->version_b, "position_b",
                              (json_int_t)r->position_b, "as_decided", result_json(&r->a), "as_law_stood",
                              result_json(&r->b), "label", r3_label_name(r->label), "difference_cents",
                              (json_int_t)r->difference);
        if (r->has_c)
            json_object_set_new(o, "what_if", result_json(&r->c));
        json_object_set_new(o, "level_changes", after_json(&after));
        json_object_set_new(o, "overridden_by_people", json_boolean(after.by_people));
        json_array_append_new(x->rows, o);
        return AT_OK;
    }
    printf("application %s ask %d %s, decided %s, household %s\n", r->application, r->ask_index, r->benefit,
           date_text(r->decided_on, d), r->household);
    printf("  (a) as decided          %s\n", result_text(&r->a, buf, sizeof buf));
    printf("      rule set %.16s (%s)%s\n", r->version_a, r->proven ? "proven from the log" : "NOT PROVEN: see audit",
           after.by_people ? "; later overridden by people" : "");
    for (size_t i = 0; i < after.n; i++) {
        char amount[32] = "";
        if (after.has_amount[i])
            at_cents_format(after.amount[i], amount, sizeof amount);
        printf("      recalculated at the GMI level change of %s: %s%s%s from that day (%s)\n",
               date_text(after.day[i], d), after.granted[i] ? "granted" : "refused", amount[0] ? " " : "", amount,
               after.proven[i] ? "proven from the log" : "NOT PROVEN: see audit");
    }
    printf("  (b) as the law stood    %s\n", result_text(&r->b, buf, sizeof buf));
    if (r->version_b[0])
        printf("      rule set %.16s, the newest published covering the date (position %" PRId64 ")\n",
               r->version_b, r->position_b);
    if (r->has_c)
        printf("  (c) what-if             %s\n", result_text(&r->c, buf, sizeof buf));
    if (r->label == R3_OVERPAYMENT || r->label == R3_UNDERPAYMENT)
        printf("  => %s of %s (cost as decided against the law as it stood)\n", r3_label_name(r->label), diff);
    else if (r->label == R3_DIFFERS)
        printf("  => (a) and (b) differ, without a difference in money\n");
    else
        printf("  => same\n");
    return AT_OK;
}

int cli_replay(cli *c, int argc, char **argv)
{
    enum { O_PG = 0x200, O_APP, O_FROM, O_TO, O_DRAFT, O_RULES, O_ALL, O_DIFF };
    static const struct option opts[] = {{"pg", required_argument, 0, O_PG},
                                         {"application", required_argument, 0, O_APP},
                                         {"from", required_argument, 0, O_FROM},
                                         {"to", required_argument, 0, O_TO},
                                         {"draft", required_argument, 0, O_DRAFT},
                                         {"rulesets", required_argument, 0, O_RULES},
                                         {"all-tenants", no_argument, 0, O_ALL},
                                         {"differences", no_argument, 0, O_DIFF},
                                         {"json", no_argument, 0, 'j'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *pg = getenv("ATB_PG_URL"), *draft_path = NULL, *rulesets = NULL;
    r3_opts o = {.tenant = c->tenant, .from = AT_DATE_NONE, .to = AT_DATE_NONE};
    r3_cli x = {.c = c};
    at_error err;
    at_error_clear(&err);
    int opt;
    optind = 0;
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (opt) {
        case O_PG: pg = optarg; break;
        case O_APP: o.application = optarg; break;
        case O_FROM:
        case O_TO:
            if (at_date_parse(optarg, opt == O_FROM ? "--from" : "--to", opt == O_FROM ? &o.from : &o.to, &err) !=
                AT_OK) {
                fprintf(stderr, "atbalsts: replay: %s\n", err.message);
                return CLI_USAGE;
            }
            break;
        case O_DRAFT: draft_path = optarg; break;
        case O_RULES: rulesets = optarg; break;
        case O_ALL: o.tenant = NULL; break;
        case O_DIFF: x.differences_only = true; break;
        case 'j': c->json = true; break;
        case 'h': r3_usage(stdout); return CLI_OK;
        default: r3_usage(stderr); return CLI_USAGE;
        }
    }
    const char *why = optind < argc ? "unexpected argument"
                      : !pg || !*pg ? "give the database with --pg URL or ATB_PG_URL"
                      : o.application && (o.from != AT_DATE_NONE || o.to != AT_DATE_NONE)
                          ? "give --application or a period (--from, --to), not both"
                          : NULL;
    if (why) {
        fprintf(stderr, "atbalsts: replay: %s\n", why);
        r3_usage(stderr);
        return CLI_USAGE;
    }
    sim_draft *d = NULL;
    if (draft_path && sim_draft_open(cli_rulesets_dir(rulesets), draft_path, &d, &err) != AT_OK) {
        fprintf(stderr, "ERROR:  %s\n", err.message);
        if (err.detail[0])
            fprintf(stderr, "DETAIL:  %s\n", err.detail);
        if (err.hint[0])
            fprintf(stderr, "HINT:  %s\n", err.hint);
        return CLI_USAGE;
    }
    o.draft = d;
    es_store *es = NULL;
    ruleset_cache *rc = NULL;
    int code = CLI_OK;
    if (sim_open_readonly(pg, "atbalsts-replay", &es, &err) != AT_OK || ruleset_cache_open(NULL, &rc, &err) != AT_OK) {
        fprintf(stderr, "ERROR:  cannot read the log: %s\n", err.message);
        if (err.detail[0])
            fprintf(stderr, "DETAIL:  %s\n", err.detail);
        fprintf(stderr, "HINT:  Give the database with --pg or ATB_PG_URL.\n");
        code = CLI_UNREACHABLE;
    }
    if (code == CLI_OK && !(x.a = at_arena_new(64 * 1024))) {
        fprintf(stderr, "ERROR:  out of memory\n");
        code = CLI_UNREACHABLE;
    }
    if (code == CLI_OK) {
        x.es = es;
        x.rc = rc;
        x.rows = c->json ? json_array() : NULL;
        at_code ac = r3_run(es, rc, &o, on_row, &x, &err);
        if (ac != AT_OK) {
            fprintf(stderr, "ERROR:  %s\n", err.message);
            if (err.detail[0])
                fprintf(stderr, "DETAIL:  %s\n", err.detail);
            code = ac == AT_VALIDATION || ac == AT_NOT_FOUND ? CLI_REFUSED : CLI_UNREACHABLE;
            json_decref(x.rows);
        } else {
            char o1[32], u1[32];
            at_cents_format(x.over_cents, o1, sizeof o1);
            at_cents_format(x.under_cents, u1, sizeof u1);
            if (c->json)
                cli_print_json(json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o}", "decisions",
                                         (json_int_t)x.n, "same", (json_int_t)x.same, "possible_overpayments",
                                         (json_int_t)x.over, "overpaid_cents", (json_int_t)x.over_cents,
                                         "possible_underpayments", (json_int_t)x.under, "underpaid_cents",
                                         (json_int_t)x.under_cents, "not_proven", (json_int_t)x.not_proven,
                                         "differs", (json_int_t)x.differs, "rows", x.rows));
            else
                printf("\nreplay: %ld decisions; %ld the same as the law stood; %ld possible overpayments "
                       "(%s); %ld possible underpayments (%s); %ld differ without money; %ld not proven as "
                       "recorded\n",
                       x.n, x.same, x.over, o1, x.under, u1, x.differs, x.not_proven);
            code = x.not_proven ? CLI_REFUSED : CLI_OK;
        }
    }
    at_arena_free(x.a);
    ruleset_cache_free(rc);
    es_close(es);
    sim_draft_free(d);
    return code;
}
