/*
 * cli_generate.h -- This file is private to services/cli: what the files of
 * `atbalsts generate` share (docs/generate.md).
 *
 *   cli_generate_model.c  the population model: preset and seed -> a plan of persons and
 *                         households with everything they will do in the year (pure: no
 *                         NATS, no printing; the same seed always gives the same plan)
 *   cli_generate_send.c   sending one command with an id derived from the seed, tallying
 *                         every answer by command and by error code; progress on stderr
 *   cli_generate_run.c    the workload driver: the year's phases with N commands in flight
 *   cli_generate_intake.c persons, households through intake, decisions, appeals
 *   cli_generate_services.c  assessments, requests, offers, crisis admissions, charges
 *   cli_generate_pay.c    payee accounts, monthly batches and their files, the report
 *   cli_generate.c        the command: options, presets, the summary
 *
 * Determinism: every command id is at_uuid_derive(GEN_NS, "<seed>/<tenant>/<what>/<n>"),
 * and the services derive their keys from command ids, so the same seed sends the same
 * commands with the same keys; a second run of a seed is answered "done before" throughout.
 */
#ifndef CLI_GENERATE_H
#define CLI_GENERATE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "cli.h"
#include "at_date.h"

#define GEN_MAX_TENANTS 4
#define GEN_YEAR 2020   /* the rule sets in services/means/rulesets end on 2020-12-31 */

/* A social service the winter workload asks for in one municipality: requests go to the
 * waiting list of `service`, places are offered from the unit owner.provider. */
typedef struct gen_service {
    const char *service;
    const char *owner, *provider;
    int hours;             /* hours a week asked for (hour services), else 0 */
    bool assess;           /* needs a needs assessment (care level) first */
} gen_service;

/* One municipality of a preset. */
typedef struct gen_town {
    const char *tenant;
    int clients;           /* persons registered at 100 % (the service's clients a year) */
    bool low_income;       /* the municipality's rule set has a low-income threshold */
    int64_t low_income_cents;  /* that threshold per person in 2020, for the income model */
    gen_service winter;    /* asked for in winter, more than it has places */
    gen_service care;      /* asked for by old or disabled persons all year */
    const char *crisis_owner, *crisis_provider;   /* emergency admissions (a purchase agreement) */
} gen_town;

typedef struct gen_preset {
    const char *name;
    const char *about;
    int n_towns;
    gen_town towns[GEN_MAX_TENANTS];
} gen_preset;

/* The presets (docs/generate.md says where each number comes from). NULL when unknown. */
const gen_preset *gen_preset_find(const char *name);
extern const char *const gen_preset_names;   /* "tervete|daugavpils|region" */

typedef struct gen_person {
    char code[13];
    const char *given, *family;   /* never in an event: the identity store keeps them */
    at_date birth;
    bool female;
    int disability;               /* 0 none, 1..3 group I..III */
    bool unemployed;              /* working age, no income, registered with the agency */
    int64_t income_cents;         /* monthly: wage or pension, 0 when none */
    char key[37];                 /* the person key, once registered */
} gen_person;

/* What a household does in the year, decided by the model. */
typedef struct gen_household {
    int town;                     /* index into the preset's towns */
    int first, n;                 /* members: persons[first .. first + n) */
    int applicant;                /* index into persons */
    at_date received, decision;
    bool visit;                   /* home visit before the decision */
    bool agreement;               /* a co-operation agreement with the applicant */
    bool duty_failed;             /* ... and its duty was not fulfilled */
    bool appeal;                  /* the applicant appeals the first decision */
    bool winter;                  /* asks for the winter service (a place) */
    bool care;                    /* asks for the care service (hours) */
    bool crisis;                  /* admitted to the crisis centre */
    int64_t housing_cents;        /* housing expenses a month */
    /* filled by the driver */
    char key[37], application[37], agreement_key[37];
    bool done;                    /* every intake command accepted */
    bool rerun;                   /* the household was there: a second run of the seed */
    int decided;                  /* 1 decided, -1 returned, 0 not (yet) */
    bool gmi;                     /* GMI was granted: the applicant is paid to an account */
} gen_household;

typedef struct gen_plan {
    const gen_preset *preset;
    int scale;                    /* percent of the preset */
    uint64_t seed;
    gen_person *p;
    int np;
    gen_household *h;
    int nh;
} gen_plan;

/* Build the plan of preset at scale percent (1..1000) from seed. false when out of memory
 * (the plan is then empty). Free with gen_plan_free. */
bool gen_plan_make(const gen_preset *preset, int scale, uint64_t seed, gen_plan *plan);
void gen_plan_free(gen_plan *plan);

/* The plan's shape, as the summary and the tests read it. */
typedef struct gen_shape {
    int persons, households, children, pensioners, disabled, unemployed;
    int large_families;           /* 3 or more children */
    int single_pensioners;
    int visits, agreements, duties_failed, appeals, winter, care, crisis;
    int below_needy, below_low_income;   /* households by income per person */
} gen_shape;
void gen_plan_shape(const gen_plan *plan, gen_shape *s);

/* ---- sending (cli_generate_send.c) ------------------------------------------------- */

typedef struct gen gen;

/* The run's state shared by the threads: the cli, tallies, the phase shown. */
gen *gen_new(cli *c, uint64_t seed, const char *commands_file);
/* Write the command log (when asked for), stop progress. Frees g. */
bool gen_free(gen *g);

/* Send command `name` to <tenant>.<service> with the id derived from (what, n): meta is
 * filled. The reply decoded as reply_type into *out (caller frees) or NULL when no answer
 * came. Returns the outcome: AT_OK, the refusal's code, or -1 when unanswered. A refusal
 * with code `expected` (-1: none) is part of the workload (a month with no orders due)
 * and is tallied as `expected`, not as refused. */
int gen_send(gen *g, const char *tenant, const char *service, const char *name, ProtobufCMessage *msg,
             Atb__V1__CommandMeta *meta, const char *what, long n, const ProtobufCMessageDescriptor *reply_type,
             int expected, ProtobufCMessage **out);
/* The same for commands answered with CommandReply: the reply's key into key (may be
 * NULL). AT_OK, the refusal's code or -1. */
int gen_cmd(gen *g, const char *tenant, const char *service, const char *name, ProtobufCMessage *msg,
            Atb__V1__CommandMeta *meta, const char *what, long n, char key[37]);
/* gen_cmd with a refusal the workload expects (see gen_send). */
int gen_cmd_expect(gen *g, const char *tenant, const char *service, const char *name, ProtobufCMessage *msg,
                   Atb__V1__CommandMeta *meta, const char *what, long n, int expected, char key[37]);
/* A query: CLI_OK with *out set, or CLI_UNREACHABLE. */
int gen_query(gen *g, const char *tenant, const char *service, const char *name, const ProtobufCMessage *msg,
              const ProtobufCMessageDescriptor *reply_type, ProtobufCMessage **out);

/* Progress: the phase's name and how many of its items there are; gen_step() counts one. */
void gen_phase(gen *g, const char *name, long total);
void gen_step(gen *g);
void gen_steps_set(gen *g, long steps);

/* Tallies for the summary. */
typedef struct gen_tally {
    long sent, done, duplicate, unanswered, expected;
    long refused[AT_UNKNOWN_COMMAND + 1];   /* by at_code */
    long by_name_n;
    struct { char name[32]; long sent, refused; char first[160]; } by_name[48];   /* first: the first refusal */
    double elapsed;                          /* seconds since gen_new */
} gen_tally;
void gen_tally_get(gen *g, gen_tally *t);
cli *gen_cli(gen *g);

/* Run f(arg, i) for i in [0, n) from `threads` threads (1: in order, on this thread). */
void gen_parallel(int threads, long n, void (*f)(void *, long), void *arg);

/* ---- the driver (cli_generate_run.c) ----------------------------------------------- */

typedef struct gen_options {
    int concurrency;
    const char *out_dir;          /* SEPA files go here; NULL: not written */
    bool payments, services, appeals;
    int wait_seconds;             /* how long to wait for decisions and orders */
} gen_options;

/* What the year came to, read back from the services. */
typedef struct gen_result {
    int completed, decided, returned, appeals;
    long needy, low_income, gmi, refused_asks;
    int64_t gmi_cents;            /* GMI granted, a month, in all */
    long requests, offers, placements, admissions;
    long orders, payees, batches, batched, paid;
    int64_t paid_cents;
    char files[GEN_MAX_TENANTS][12][64];   /* SEPA files written (names only) */
    int n_files;
    json_t *report;               /* AssistanceReport of the year as JSON, or NULL */
    /* seconds from the start of the run: every intake command answered, every
     * application decided, the report projection holding every decision, the end */
    double t_intake, t_decided, t_report, t_end;
    int64_t last_decision_position;   /* the latest decision event the run saw */
} gen_result;

/* The state of one run, shared by the phase files. mu guards r's counters. */
typedef struct gen_year {
    gen *g;
    gen_plan *pl;
    const gen_options *o;
    gen_result *r;
    int64_t decided_before;   /* reporting's applications decided before the run, or -1 */
    pthread_mutex_t mu;
} gen_year;

/* The phases; those taking (void *arg, long i) run under gen_parallel with a gen_year. */
void gen_register_household(void *arg, long i);   /* cli_generate_intake.c */
void gen_intake_household(void *arg, long i);
void gen_wait_decisions(gen_year *u);
void gen_appeal(void *arg, long i);
void gen_services_town(void *arg, long town);     /* cli_generate_services.c */
void gen_payments_town(void *arg, long town);     /* cli_generate_pay.c */
/* The year's report once reporting holds every decided application (or the wait is
 * over); keep: stored as JSON in u->r->report, else only waited for. */
void gen_report(gen_year *u, bool keep);
/* Reporting's count of the year's decided applications of the preset's municipalities;
 * -1 when reporting does not answer. */
int64_t gen_decided_in_report(gen_year *u);

/* Helpers (cli_generate_run.c). */
void gen_sleep_ms(int ms);
Atb__V1__Date *gen_date(Atb__V1__Date *d, at_date x);
at_date gen_ymd(int y, int m, int d);
const char *gen_tenant_of(const gen_year *u, const gen_household *h);

/* Drive the plan's year through the command API. CLI_OK when every phase ran (refusals
 * are tallied, not fatal), CLI_UNREACHABLE when a service never answered. */
int gen_run(gen *g, gen_plan *plan, const gen_options *o, gen_result *r);

#endif
