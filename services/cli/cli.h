/*
 * cli.h -- This file is private to services/cli: what the command files share.
 *
 * The command line is a client of the public command API like any other: it sends
 * protobuf requests over NATS and prints the replies. It never reads the database.
 *
 * Exit codes: 0 done, 1 usage error, 2 refused by a service (its error is printed),
 * 3 NATS or the service could not be reached (or answered with bytes that do not decode).
 * Errors go to stderr as psql prints PostgreSQL's (ERROR:, DETAIL:, HINT: lines); with
 * --json the same error is also printed on stdout as one JSON object.
 *
 * The command line checks only what it needs to build a request (the options are there,
 * dates and numbers parse, words name an enum value); everything else is the service's
 * to judge, so the rules live in one place and the caseworker reads the service's words.
 *
 * Two layers. cli_args.c, cli_pbjson.c and cli_files.c are pure (no NATS, no printing on
 * their own): argument words, JSON <-> protobuf, the application file and its prompts.
 * They form the library atb_cli_core that tests/cli tests without servers. The command
 * files (cli_<group>.c) and atbalsts.c talk to the services and print.
 */
#ifndef CLI_H
#define CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <jansson.h>

#include "at_date.h"
#include "at_error.h"
#include "bus.h"
#include "atb/v1/common.pb-c.h"
#include "atb/v1/intake.pb-c.h"
#include "atb/v1/means.pb-c.h"

enum { CLI_OK = 0, CLI_USAGE = 1, CLI_REFUSED = 2, CLI_UNREACHABLE = 3 };

/* Returned by cli_option() when an option was handled and parsing goes on. */
#define CLI_NEXT (-1)

typedef struct cli {
    const char *nats_url;
    const char *tenant;
    const char *prefix;
    const char *actor;
    bool json;
    bool verbose;             /* print command ids (stderr) and reply details */
    const char *command_id;   /* --command-id: reuse this id (a retry); NULL = fresh */
    char last_id[37];         /* the id of the last command sent, "" before */
    bus *bus;                 /* connected on first use; closed by main() */
} cli;

/* A growing list of words; a comma in an argument separates words ("a,b" = "a" "b"). */
typedef struct cli_list {
    char **items;
    size_t n, cap;
} cli_list;

/* ---- talking to the services (atbalsts.c) ------------------------------------------ */

/* Connect if not yet connected; CLI_UNREACHABLE (message printed) if NATS is down. */
int cli_connect(cli *c);

/* Send msg to <prefix>.<kind>.<tenant>.<service>.<name> ("cmd" or "qry") and decode the
 * reply with `reply_type` into *out (free with protobuf_c_message_free_unpacked(*out,
 * NULL)). Returns CLI_OK or CLI_UNREACHABLE (message printed). Thread-safe for distinct
 * outputs: the demo calls it from several threads. */
int cli_call(cli *c, const char *kind, const char *tenant, const char *service, const char *name,
             const ProtobufCMessage *msg, const ProtobufCMessageDescriptor *reply_type,
             ProtobufCMessage **out);

/* Send the intake command `name` with its meta filled: the command id is --command-id's
 * or a fresh one (c->last_id holds it), expected_version is kept as the caller set it.
 * With --verbose the id is printed on stderr before sending; when no answer comes a hint
 * says how to retry with the same id. *reply is freed by the caller. */
int cli_command(cli *c, const char *name, ProtobufCMessage *msg, Atb__V1__CommandMeta *meta,
                Atb__V1__CommandReply **reply);

/* The same with an id the caller chose (a command derived from another one). */
int cli_command_id(cli *c, const char *name, ProtobufCMessage *msg, Atb__V1__CommandMeta *meta,
                   const char *id, Atb__V1__CommandReply **reply);

/* Print a command's reply. Refused: the error (returns CLI_REFUSED). Done: with --json one
 * object {key_name: key, stream_id, version, position, last_position, duplicate,
 * command_id}; otherwise "<done> <key>" and a line with the stream, version and log
 * position (and the command id with --verbose). key is the reply's key when it has one,
 * else `key`. Returns CLI_OK. */
int cli_print_reply(const cli *c, const Atb__V1__CommandReply *r, const char *done, const char *key_name,
                    const char *key);

/* Print a service's refusal on stderr (ERROR/DETAIL/HINT/FIELD lines, and KEY when the
 * reply names an existing record) and, with --json, as {"error":{...}} on stdout.
 * key may be NULL. Returns CLI_REFUSED. */
int cli_print_error(const cli *c, const Atb__V1__Error *e, const char *key);

/* True if the reply carries an error (every reply has atb.v1.Error at field 1). */
bool cli_refused(const Atb__V1__Error *e);

/* Print j as one line of compact JSON on stdout and release it. */
void cli_print_json(json_t *j);

/* Fill meta with a fresh command id (written to id) and the actor. */
void cli_meta(const cli *c, Atb__V1__CommandMeta *meta, char id[37]);

/* ---- command groups: argv[0] is the group's name; each prints its own --help ------------ */

int cli_person(cli *c, int argc, char **argv);        /* cli_person.c */
int cli_household(cli *c, int argc, char **argv);     /* cli_household.c */
int cli_application(cli *c, int argc, char **argv);   /* cli_application.c */
int cli_visit(cli *c, int argc, char **argv);         /* cli_visit.c: visits and agreements */
int cli_agreement(cli *c, int argc, char **argv);     /* cli_visit.c */
int cli_appeal(cli *c, int argc, char **argv);        /* cli_appeal.c */
int cli_case(cli *c, int argc, char **argv);          /* cli_case.c */
int cli_demo(cli *c, int argc, char **argv);          /* cli_demo.c */
int cli_audit(cli *c, int argc, char **argv);         /* cli_audit.c: reads the log itself */
int cli_payments(cli *c, int argc, char **argv);      /* cli_payments.c */
int cli_allocation(cli *c, int argc, char **argv);    /* cli_allocation.c */
int cli_report(cli *c, int argc, char **argv);        /* cli_report.c */
int cli_means(cli *c, int argc, char **argv);         /* cli_means.c */
int cli_simulate(cli *c, int argc, char **argv);      /* cli_simulate.c: reads the log itself */
int cli_replay(cli *c, int argc, char **argv);        /* cli_replay3.c: reads the log itself */
/* cli_simulate.c: the rule-set directory: given, else ATB_RULESETS, else the source tree's. */
const char *cli_rulesets_dir(const char *given);
int cli_generate(cli *c, int argc, char **argv);      /* cli_generate.c: a municipality's year */

/* cli_demo_cases.c: the demo's caseload: households of the registered persons apply, are
 * visited, completed and decided. summary NULL: a text summary on stdout; else the figures
 * are added to it under "cases". *ok: every household's commands were accepted and every
 * application was decided. Returns CLI_OK or CLI_UNREACHABLE. */
typedef struct demo_person {
    char key[37];
    at_date birth;
    const char *given, *family;         /* for the payee accounts (never in an event) */
} demo_person;
int cli_demo_cases(cli *c, const demo_person *p, int n, uint64_t seed, long clients, json_t *summary, bool *ok);
/* cli_demo_pay.c: the demo's payments: accounts, a batch, its pain.001 file, the bank's
 * report, the budget execution. The same conventions as cli_demo_cases(); *ok is false
 * also when the payments service does not answer (the part is then skipped). */
int cli_demo_payments(cli *c, const demo_person *p, int n, json_t *summary, bool *ok);

/* ---- sub-commands (atbalsts.c) --------------------------------------------------------- */

typedef struct cli_sub {
    const char *name;
    int (*fn)(cli *, const struct cli_sub *, int, char **);
    const char *synopsis;      /* "household show (HKEY | --person PKEY) [--as-of D]" */
    const char *help;          /* what it does, its output; lines of at most 78 columns */
} cli_sub;

/* Run the sub-command argv[1] of a group (argv[0] is the group's name). "--help" or no
 * sub-command prints the group's usage. */
int cli_dispatch(cli *c, const char *group, const char *about, const cli_sub *subs, size_t n, int argc,
                 char **argv);

/* Print one sub-command's usage (to stdout for --help, stderr after a mistake). */
void cli_sub_usage(const cli_sub *s, FILE *f);

/* The options every sub-command takes; its own option table ends with them. */
enum { CLI_OPT_JSON = 0x101, CLI_OPT_COMMAND_ID, CLI_OPT_VERBOSE };
#define CLI_COMMON_OPTIONS                                                                   \
    {"help", no_argument, 0, 'h'}, {"json", no_argument, 0, CLI_OPT_JSON},                    \
    {"verbose", no_argument, 0, CLI_OPT_VERBOSE},                                             \
    {"command-id", required_argument, 0, CLI_OPT_COMMAND_ID}, {0, 0, 0, 0}

/* Handle a common option (or an unknown one) of sub-command s: CLI_NEXT to go on, or the
 * exit code (help printed: CLI_OK; a mistake: CLI_USAGE, message printed). */
int cli_option(cli *c, const cli_sub *s, int o, const char *arg);

/* "atbalsts: <sub>: <fmt>" on stderr; returns CLI_USAGE. */
int cli_usage_error(const cli_sub *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Bare words of a sub-command, parsed with getopt_long(argc, argv, "-h", ...) so that a
 * bare word comes in order as option 1: "--found K1 K2" gives K2 to the list option just
 * before it, other bare words are positionals. */
typedef struct cli_bare {
    const char *pos[4];   /* the positionals, in order */
    int n;
    cli_list *last;       /* the list option given last, until another option comes */
} cli_bare;
/* A bare word: one more value of `prev` (the list option just before it, or NULL), else
 * the next positional. CLI_NEXT, or CLI_USAGE (printed) when there are more than max. */
int cli_bare_word(const cli_sub *s, cli_bare *b, cli_list *prev, const char *w, int max);
/* A list option's value: added to l (commas separate words), and l remembered in b. */
int cli_list_opt(const cli_sub *s, cli_bare *b, cli_list *l, const char *arg);

/* Option parsers that print "atbalsts: --opt "value": why" and return CLI_USAGE on a bad
 * value, CLI_NEXT when it parsed. */
int cli_opt_date(const cli_sub *s, const char *opt, const char *arg, Atb__V1__Date *out);
int cli_opt_int64(const cli_sub *s, const char *opt, const char *arg, int64_t min, int64_t max, int64_t *out);

/* The arguments of a sub-command that takes only one date option, --<opt> YYYY-MM-DD, and
 * the common options: *given says whether the date came (the caller says whether it must).
 * CLI_NEXT to go on, or the exit code (a bare word is a usage error). */
int cli_date_only_args(cli *c, const cli_sub *s, int argc, char **argv, const char *opt, Atb__V1__Date *out,
                       bool *given);

/* The arguments of a sub-command that ends one thing: KEY --on YYYY-MM-DD --reason TEXT,
 * all three needed (`needs` is the usage message when one is missing). */
typedef struct cli_ending {
    const char *key;
    Atb__V1__Date on;
    const char *reason;
} cli_ending;
int cli_ending_args(cli *c, const cli_sub *s, int argc, char **argv, const char *needs, cli_ending *e);

/* ---- pure: argument words (cli_args.c) ---------------------------------------------- */

/* A word of the command line and the enum value it stands for. */
typedef struct cli_word {
    const char *word;
    int value;
} cli_word;

extern const cli_word cli_relationships[];   /* applicant spouse child parent relative other */
extern const cli_word cli_fact_kinds[];      /* residence disability care-level employment flag school */
extern const cli_word cli_schools[];         /* preschool grade-1 other (a SCHOOL fact's level) */
extern const cli_word cli_employments[];     /* employed self-employed registered-unemployed ... */
extern const cli_word cli_appeal_bodies[];   /* council court */
extern const cli_word cli_appeal_outcomes[]; /* upheld changed annulled withdrawn */
extern const cli_word cli_sexes[];           /* f m female male */

/* Look s up in t (ended by a NULL word); '-' and '_' are the same, case is ignored.
 * AT_VALIDATION ("unknown <field> "x"", detail listing the words) when it is not there. */
at_code cli_word_parse(const cli_word *t, const char *s, const char *field, int *out, at_error *err);
/* The first word of t for value, or "" when none. */
const char *cli_word_of(const cli_word *t, int value);
/* "a|b|c" of the table into buf. */
void cli_words_list(const cli_word *t, char *buf, size_t n);

/* "YYYY-MM-DD" into a protobuf Date. */
at_code cli_date_parse(const char *s, const char *field, Atb__V1__Date *out, at_error *err);
/* "YYYY-MM-DD" of d into out[11]; "" when d is NULL or not given. */
void cli_date_text(const Atb__V1__Date *d, char out[11]);
/* A whole number within [min, max] (decimal, nothing after it). */
at_code cli_int64_parse(const char *s, const char *field, int64_t min, int64_t max, int64_t *out, at_error *err);
/* Euros "12.34" / "12,34" / "12" into cents, with integer arithmetic only (at_cents_parse). */
at_code cli_cents_parse(const char *s, const char *field, int64_t *out, at_error *err);

/* A household member as the command line gives it: KEY:RELATIONSHIP:JOINED. */
typedef struct cli_member {
    char key[37];
    int relationship;            /* Atb__V1__Relationship */
    Atb__V1__Date joined;
} cli_member;
at_code cli_member_parse(const char *s, cli_member *m, at_error *err);

/* A duty of an agreement: KIND:DUE[:TEXT] (the text may hold colons). */
typedef struct cli_duty {
    char kind[64];
    Atb__V1__Date due;
    char *text;                  /* malloc'd, "" when none; cli_duty_free */
} cli_duty;
at_code cli_duty_parse(const char *s, cli_duty *d, at_error *err);
void cli_duty_free(cli_duty *d);

/* cli_list: add the comma-separated words of s (empty words are skipped). false when out of memory. */
bool cli_list_add(cli_list *l, const char *s);
void cli_list_free(cli_list *l);

/* ---- pure: JSON <-> protobuf (cli_pbjson.c) ------------------------------------------ */

/* Fill the initialised message m from the JSON object j by field name (the .proto's
 * snake_case names). Conventions (docs/cli.md, "JSON files"):
 *   - atb.v1.Date is a string "YYYY-MM-DD" ("YYYY-MM" for a field named month) or null;
 *   - an enum is a word: the value's name without the enum's prefix, in lower case
 *     ("needy_status", "office", "own_home"); '-' may stand for '_';
 *   - an int64 field <name>_cents takes an integer of cents, or instead the key <name>
 *     with a string of euros ("12.34"), converted with integer arithmetic;
 *   - other integers must be JSON integers in range, bools true/false, strings strings;
 *   - repeated fields are arrays; messages objects; null = not given;
 *   - a key the message does not have is an error (a typo must not pass silently);
 *     `skip` (NULL-ended, may be NULL) lists keys the caller handles itself.
 * path prefixes error fields ("declaration" -> "declaration.incomes.0.amount_cents",
 * indexes from 0 as the services count them). On error m may be partly filled: free it
 * with protobuf_c_message_free_unpacked (everything it holds is malloc'd). */
at_code cli_json_fill(const json_t *j, ProtobufCMessage *m, const char *path, const char *const *skip,
                      at_error *err);

/* A new message of type desc from j (as cli_json_fill); NULL with err set on error.
 * Free with protobuf_c_message_free_unpacked(m, NULL). */
ProtobufCMessage *cli_json_to_pb(const json_t *j, const ProtobufCMessageDescriptor *desc, const char *path,
                                 at_error *err);

/* The message as JSON in the same conventions: every field present (dates "" are null,
 * enums words, bytes left out, an unset message null). New reference; NULL only when out
 * of memory. */
json_t *cli_pb_to_json(const ProtobufCMessage *m);

/* An enum value as its word ("needy_status"); "" when the value is not in the enum. The
 * word points into a static per-thread buffer reused by the next call. */
const char *cli_enum_word(const ProtobufCEnumDescriptor *e, int value);

/* The descriptor of an event type the case history shows ("ApplicationReceived"), or NULL. */
const ProtobufCMessageDescriptor *cli_event_descriptor(const char *type);

/* ---- pure: the application file and its prompts (cli_files.c) ---------------------- */

/* Read a JSON file ("-" = stdin) into *out (new reference). AT_VALIDATION with the line
 * and column when it does not parse, AT_NOT_FOUND when it cannot be opened. */
at_code cli_json_load(const char *file, json_t **out, at_error *err);

/* The application file: SubmitApplication fields at the top ("household" may stand for
 * "household_key") and an optional "declaration" object with SubmitDeclaration's fields.
 * *app is always set on success, *decl is NULL when the file holds no declaration. The
 * messages have no meta and the declaration no application id yet. Free both with
 * protobuf_c_message_free_unpacked (after setting meta back to NULL). */
at_code cli_application_from_json(const json_t *j, Atb__V1__SubmitApplication **app,
                                  Atb__V1__SubmitDeclaration **decl, at_error *err);
/* A declaration file (SubmitDeclaration's fields, no meta, no application_id). path is
 * the prefix of error fields ("" for a file of its own). */
at_code cli_declaration_from_json(const json_t *j, const char *path, Atb__V1__SubmitDeclaration **decl,
                                  at_error *err);

/* Ask for an application (and optionally its declaration) on out, reading answers from
 * in, and return it as the JSON the file would hold (new reference). Each answer is
 * checked as it is given and asked again when wrong. `actor` is the default social worker,
 * `today` the default received date. NULL when the input ends or the worker says no at
 * the end (a line on out says which). */
json_t *cli_prompt_application(FILE *in, FILE *out, const char *actor, at_date today);

#endif
