/*
 * simulate.h -- This file is private to services/means (library atb_means_core): what-if
 * simulation of a council's draft rule set over the decisions recorded in the log, and the
 * three replays of a decision side by side. `atbalsts simulate` and `atbalsts replay`
 * (services/cli) link it; tests/means and bench/ call it directly.
 *
 * Both only read. sim_open_readonly() opens the log with every connection in read-only
 * mode (default_transaction_read_only = on), so not even a bug here can append.
 *
 * Re-deciding a recorded decision: its recorded input (DecisionInput) is decided again
 * with another rule set. The facts an application's earlier asks added to a later ask's
 * history (a needy status granted by ask 1 counts for the GMI of ask 2) are replaced by
 * what the other rule set decided for those asks, so a draft that changes a status carries
 * through to the benefits that need it. Facts from other applications stay as recorded.
 *
 * Cost of a decision (cents, exact; the same counting as the reporting service's
 * benefits[].amount_cents, without the clip to a report period): a grant per MONTH costs
 * its amount for each calendar month its period touches (one month when it has no period
 * or an open end); per YEAR, its amount for each calendar year its period touches (one
 * when none); per ONCE, its amount; a refusal, a status, an in-kind grant cost 0.
 *
 * Nothing here logs or exits; errors fill the caller's at_error. Not thread-safe: one
 * simulation per thread.
 */
#ifndef SIMULATE_H
#define SIMULATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "means_core.h"

/* Open the log read-only: conninfo (a URL or key=value words) with the option
 * "-c default_transaction_read_only=on" added for every connection of the store.
 * Errors: AT_VALIDATION (conninfo does not parse), AT_UNAVAILABLE (PostgreSQL). */
at_code sim_open_readonly(const char *conninfo, const char *application_name, es_store **out, at_error *err);

/* ------------------------------------------------------------------------------------ */
/* The draft                                                                              */

typedef struct sim_draft sim_draft;

/* Load a draft: the YAML file at `path` (a copy of national.yaml or of a municipality's
 * <scope>.yaml with changed values; its `scope:` says which) replaces the file of its
 * scope in the rule-set directory `dir`. Each municipality's draft set (national with its
 * own file) is loaded with the same strict loader as the service's (rules_set_load), here
 * for every municipality of dir, so a bad draft is refused before anything is read: the
 * loader's message names the draft's file name and line. Errors: AT_VALIDATION (bad draft,
 * no scope line, a scope dir has no file for), AT_NOT_FOUND (no such file or directory),
 * AT_INTERNAL. Free with sim_draft_free. */
at_code sim_draft_open(const char *dir, const char *path, sim_draft **out, at_error *err);
void sim_draft_free(sim_draft *d);                   /* NULL is a no-op */
/* "national" or the municipality the draft changes. */
const char *sim_draft_scope(const sim_draft *d);
/* The draft set a decision of `tenant` is re-decided with, or NULL when the draft does not
 * touch the tenant (a municipality's draft, another municipality). Owned by d. */
const rules_set *sim_draft_set(const sim_draft *d, const char *tenant);
/* The draft's version id for `tenant` ("" when untouched). */
const char *sim_draft_version(const sim_draft *d, const char *tenant);

/* ------------------------------------------------------------------------------------ */
/* One decision's result, as recorded or re-decided                                       */

typedef struct sim_result {
    bool decided;             /* false: the rule set could not decide it (error below) */
    bool granted;
    int status;               /* rules_status of a status ask */
    at_period period;         /* from = AT_DATE_NONE when none */
    bool has_amount;
    int64_t amount;           /* cents per `per` */
    int per;                  /* rules_per */
    int64_t units;
    char benefit[MEANS_MAX_KEY + 1];
    char component[MEANS_MAX_KEY + 1];
    int64_t cost;             /* cents, as defined above */
    char error[200];          /* why it could not be decided */
} sim_result;

/* The cost of a result, as defined at the top. */
int64_t sim_cost(const sim_result *r);

/* ------------------------------------------------------------------------------------ */
/* Simulation                                                                             */

#define SIM_MAX_EXAMPLES 10

typedef enum sim_group {
    SIM_GAIN = 0,        /* granted before and after, more after */
    SIM_LOSE,            /* granted before and after, less after */
    SIM_NEW,             /* newly qualify: nothing granted before, granted after */
    SIM_DROP,            /* drop out: granted before, nothing after */
    SIM_SAME,            /* granted before and after, the same cost */
    SIM_NEITHER,         /* refused before and after */
    SIM_N_GROUPS
} sim_group;

/* "gain", "lose", "new", "drop", "same", "neither". */
const char *sim_group_name(sim_group g);

typedef struct sim_example {
    char household[37];       /* household key */
    char application[37];     /* an application of it in the group */
    int64_t before, after;    /* its cost under the recorded and the draft rule set */
} sim_example;

/* One line of the report. A household is counted once per line, from the sum of its
 * decisions on the line; on "total" once over every line, where only benefits (not a
 * status alone) make it "granted". */
typedef struct sim_line {
    char benefit[MEANS_MAX_KEY + 8];   /* "GMI", "HOUSING", a catalogue code, "status:needy",
                                          "status:low_income", or "total" */
    long decisions;
    int64_t before, after;             /* cost in cents */
    long households[SIM_N_GROUPS];
    sim_example examples[SIM_N_GROUPS][SIM_MAX_EXAMPLES];
    size_t n_examples[SIM_N_GROUPS];
} sim_line;

typedef struct sim_opts {
    const char *const *tenants;   /* the region; n_tenants 0 = every tenant */
    size_t n_tenants;
    at_date from, to;             /* decision dates, inclusive; AT_DATE_NONE = open */
    size_t examples;              /* per group and line, at most SIM_MAX_EXAMPLES; 0 = 5 */
} sim_opts;

typedef struct sim_report {
    sim_line *lines;              /* benefits in code order, then "total" last */
    size_t n_lines;
    long decisions;               /* recorded decisions in the period, re-decided */
    long untouched;               /* of a municipality the draft does not change */
    long overridden;              /* replaced by a human decision: not simulated */
    long undecidable;             /* the draft cannot decide them: not in the sums */
    char first_error[300];        /* the first of those, with its application */
    int64_t head;                 /* the log's position when the simulation began */
} sim_report;

/* Re-decide every decision recorded in the period for the tenants with the draft and
 * compare each with its recorded result (the baseline is what was decided, from the log).
 * A decision later overridden by people is left out and counted. *out is filled (free
 * with sim_report_free). Errors: AT_UNAVAILABLE (the log cannot be read), AT_INTERNAL. */
at_code sim_run(es_store *es, const sim_draft *draft, const sim_opts *o, sim_report *out, at_error *err);
void sim_report_free(sim_report *r);

/* ------------------------------------------------------------------------------------ */
/* Three replays                                                                          */

typedef enum r3_label {
    R3_SAME = 0,              /* (a) and (b) agree */
    R3_OVERPAYMENT,           /* today's knowledge of the law gives less: possible overpayment */
    R3_UNDERPAYMENT,          /* it gives more: possible underpayment */
    R3_DIFFERS                /* a status or an in-kind grant differs (no money) */
} r3_label;
/* "same", "possible overpayment", "possible underpayment", "differs". */
const char *r3_label_name(r3_label l);

typedef struct r3_row {
    char application[37];
    int ask_index;
    char household[37];
    char benefit[MEANS_MAX_KEY + 8];
    at_date decided_on;           /* the decision date of the input */
    int64_t position;             /* of the decision event */
    bool proven;                  /* (a) re-derived equal to the record (replay_event) */
    bool overridden;              /* a human decision replaced it later */
    char version_a[65];           /* the recorded rule-set version */
    char version_b[65];           /* the newest published version covering the date */
    int64_t position_b;
    sim_result a, b, c;           /* as decided, as the law stood, what-if */
    bool has_c;                   /* a draft was given and touches the tenant */
    r3_label label;               /* (a) against (b) */
    int64_t difference;           /* b.cost - a.cost, cents */
} r3_row;

typedef struct r3_opts {
    const char *tenant;           /* NULL = every tenant */
    const char *application;      /* one application, or NULL */
    at_date from, to;             /* decision dates, inclusive; AT_DATE_NONE = open */
    const sim_draft *draft;       /* NULL = no what-if */
} r3_opts;

/* Called once per decision, in log order; a non-AT_OK return stops the run with it. */
typedef at_code (*r3_row_fn)(const r3_row *row, void *ctx);

/* The three replays of every decision the options select. Errors: AT_VALIDATION (the
 * application is not a UUID), AT_NOT_FOUND (an application with no decision),
 * AT_UNAVAILABLE, AT_INTERNAL, or what fn returned. */
at_code r3_run(es_store *es, ruleset_cache *rc, const r3_opts *o, r3_row_fn fn, void *ctx, at_error *err);

/* ------------------------------------------------------------------------------------ */
/* Shared by simulate.c, simulate_draft.c and simulate_replay3.c only                     */

/* What one rule set decided for the earlier asks of the application being re-decided. The
 * pointers point into the arena the inputs were unpacked into. */
typedef struct sim_chain {
    char app[37];
    bool have[MEANS_MAX_ASKS + 1];
    bool status_ask[MEANS_MAX_ASKS + 1];
    sim_result res[MEANS_MAX_ASKS + 1];
    Atb__V1__Date *decided_on[MEANS_MAX_ASKS + 1];
    Atb__V1__Date *event[MEANS_MAX_ASKS + 1];
    char *member[MEANS_MAX_ASKS + 1];
} sim_chain;

/* Start the chain of `application` (kept as it is when it is the chain's already). */
void sim__chain_start(sim_chain *ch, const char *application);
/* Record r as the result of `in`'s ask for the asks after it. */
void sim__chain_put(sim_chain *ch, const Atb__V1__DecisionInput *in, const sim_result *r);
/* Decide the recorded input `in` with `set` (see the top); the result goes into *out and
 * the chain. A decision the set cannot make is out->decided false with the reason, not an
 * error. Errors: AT_INTERNAL only. */
at_code sim__redecide(const rules_set *set, const Atb__V1__DecisionInput *in, sim_chain *ch, at_arena *a,
                      sim_result *out, at_error *err);
/* The recorded result as a sim_result (cost included). */
void sim__from_recorded(const Atb__V1__DecisionResult *r, sim_result *out);
/* The line an input's ask is counted in ("GMI", "status:needy", ...). */
void sim__benefit_key(const Atb__V1__DecisionInput *in, char *buf, size_t n);
/* Is the input's decision date in [from, to] (AT_DATE_NONE = open)? *on = the date. */
bool sim__in_period(const Atb__V1__DecisionInput *in, at_date from, at_date to, at_date *on);

#endif
