/*
 * means.h -- This file is private to services/means: what the files of the service binary
 * share (handlers, the projection of grants). The linkable part is in means_core.h.
 */
#ifndef MEANS_H
#define MEANS_H

#include <libpq-fe.h>

#include "means_core.h"
#include "svc.h"

/* The rule sets of this process, loaded from the directory by main() before svc_main and
 * published on the first request that needs them. Read-only after main() set it. */
extern ruleset_cache *means_rulesets;

/* handlers.c */
extern const svc_command means_commands[];
extern const size_t means_n_commands;
extern const char *const means_migrations[];
extern const size_t means_n_migrations;

/* assess.c: AssessApplication, and what a future intake-event consumer calls. */

typedef struct assess_cmd {
    const char *tenant;
    const char *command_id;        /* UUID; the idempotency key */
    const char *causation_id;      /* NULL or the event that caused it */
    const char *correlation_id;    /* NULL or a UUID */
    const char *actor;             /* NULL or "user:..." / "service:..." */
    Atb__V1__Application *app;     /* the command's; history sources are rewritten */
    Atb__V1__Household *household;
    Atb__V1__HouseholdHistory *history;     /* may be NULL */
} assess_cmd;

typedef struct assess_out {
    es_append_res res;             /* res.duplicate: the decisions are the first result's */
    size_t n;                      /* decisions, in ask order */
    Atb__V1__Decision **decisions; /* NULL on a duplicate: read them back from the log */
    const char **types;
} assess_out;

/* Check a command without touching the database: the rule set of the tenant is published
 * and every ask's input converts. Errors: AT_VALIDATION (field named), AT_UNAVAILABLE or
 * AT_INTERNAL (the rule sets could not be published). Fills *rs. */
at_code assess_check(es_store *es, const assess_cmd *cmd, at_arena *a, ruleset_info *rs, at_error *err);

/* Inside the caller's transaction t: lock the application, the household and its members,
 * read the facts the log holds about them (means.grants, means.members), decide every ask
 * in order, record the grants, and append the decision events in one append to
 * decision-<application id> (expected ES_VERSION_NONE). The caller commits, or rolls
 * back on an error or a duplicate: out->res.duplicate means a twin of this command
 * decided first (found under the locks, or reported by the append); out->res holds its
 * positions and nothing of ours may be committed.
 * Errors: AT_VALIDATION (the rules refused an input), AT_CONFLICT (the application was
 * decided by another command), AT_UNAVAILABLE, AT_INTERNAL. */
at_code assess_in_txn(es_txn *t, const ruleset_info *rs, const assess_cmd *cmd, at_arena *a, assess_out *out,
                      at_error *err);

at_code assess_handle(svc_request *req, ProtobufCMessage **reply, at_error *err);

/* Record a granted result in the projection of grants (nothing for a refusal), and
 * forget what an application's ask recorded. Both in the caller's transaction. */
at_code projection_record(PGconn *pg, const char *tenant, const Atb__V1__DecisionInput *in,
                          const Atb__V1__DecisionResult *r, at_date decided_on, at_error *err);
at_code projection_forget(PGconn *pg, const char *application_id, int ask_index, at_error *err);

/* override.c */
at_code override_handle(svc_request *req, ProtobufCMessage **reply, at_error *err);

/* query.c */
at_code replay_handle(svc_request *req, ProtobufCMessage **reply, at_error *err);
at_code explain_handle(svc_request *req, ProtobufCMessage **reply, at_error *err);

#endif
