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
extern const svc_consumer means_consumers[];
extern const size_t means_n_consumers;
extern const char *const means_migrations[];
extern const size_t means_n_migrations;

/* assess.c: AssessApplication, and what the consumer of intake's ApplicationCompleted
 * (consume.c) calls: both decide through assess_decide(). */

typedef struct assess_cmd {
    const char *tenant;
    const char *command_id;        /* UUID; the idempotency key */
    const char *causation_id;      /* NULL or the event that caused it */
    const char *correlation_id;    /* NULL or a UUID */
    const char *actor;             /* NULL or "user:..." / "service:..." */
    Atb__V1__Application *app;     /* the command's; history sources are rewritten */
    Atb__V1__Household *household;
    Atb__V1__HouseholdHistory *history;     /* may be NULL */
    bool skip_services;            /* skip asks of kind ASK_KIND_SERVICE (their index stays
                                      unused) instead of refusing the application */
} assess_cmd;

typedef struct assess_out {
    es_append_res res;             /* res.duplicate: the decisions are the first result's */
    int64_t existing;              /* with AT_CONFLICT from the check under the locks: the
                                      events another command put on decision-<id> */
    bool written;                  /* the transaction holds writes of this call (grants, the
                                      decision events, a rule set): commit or roll back */
    size_t n;                      /* decisions, in ask order */
    Atb__V1__Decision **decisions; /* NULL on a duplicate: read them back from the log */
    const char **types;
} assess_out;

/* Keys and ids in one case before anything compares them (NULLs are skipped). */
void assess_lower_keys(Atb__V1__Application *app, Atb__V1__Household *hh, Atb__V1__HouseholdHistory *h);

/* Check a command without touching the database: the application's fields, no service ask
 * (unless cmd->skip_services), every ask's input converts, and at least one ask is left
 * to decide. Errors: AT_VALIDATION (field named), AT_INTERNAL (out of memory). */
at_code assess_validate(const assess_cmd *cmd, at_arena *a, at_error *err);

/* Publish the rule sets of every municipality through es (once per process; later calls
 * return at once). Errors: AT_UNAVAILABLE, AT_INTERNAL. Blocks. */
at_code assess_publish(es_store *es, at_error *err);

/* Decide an application inside the caller's transaction t; the one way both the command
 * and the consumer decide. assess_validate() first (nothing touched on an error), then
 * lock the application, the household and its members, read the facts the log holds
 * about them (means.grants, means.members), take the tenant's rule set (published inside
 * t if this process has not published it), decide every ask in order, record the grants,
 * and append the decision events in one append to decision-<application id> (expected
 * ES_VERSION_NONE). The caller commits on AT_OK unless out->res.duplicate; on anything
 * else it rolls back. out->res.duplicate with out->written false: this command id decided
 * the application before (found under the locks); out->res holds its positions and
 * nothing was written. out->res.duplicate with out->written: the log refused the append
 * as a duplicate after our writes (roll back).
 * Errors: AT_VALIDATION (the input, or no rule set for the tenant), AT_CONFLICT (decided
 * by another command: out->existing > 0 and nothing written when found under the locks),
 * AT_UNAVAILABLE, AT_INTERNAL. */
at_code assess_decide(es_txn *t, const assess_cmd *cmd, at_arena *a, assess_out *out, at_error *err);

at_code assess_handle(svc_request *req, ProtobufCMessage **reply, at_error *err);

/* Record a granted result in the projection of grants (nothing for a refusal), and
 * forget what an application's ask recorded. Both in the caller's transaction. */
at_code projection_record(PGconn *pg, const char *tenant, const Atb__V1__DecisionInput *in,
                          const Atb__V1__DecisionResult *r, at_date decided_on, at_error *err);
at_code projection_forget(PGconn *pg, const char *application_id, int ask_index, at_error *err);

/* override.c: OverrideDecision, and what the consumer of intake's AppealDecided calls. */

typedef struct override_cmd {
    const char *tenant;
    const char *command_id;        /* UUID; the idempotency key */
    const char *causation_id;      /* NULL or the event that caused it */
    const char *correlation_id;    /* NULL or a UUID */
    const char *actor;             /* NULL or who recorded it; also DecisionOverridden.actor */
    int64_t expected_version;      /* the version of decision-<id> the decider saw, or
                                      ES_VERSION_ANY: the version the transaction reads */
    Atb__V1__OverrideDecision *o;  /* its meta is not read; application_id is lower-cased
                                      and result completed in place */
} override_cmd;

typedef struct override_out {
    es_append_res res;             /* res.duplicate: this command id overrode before */
    bool written;                  /* the transaction holds writes of this call */
} override_out;

/* Inside the caller's transaction t: check the override, read decision-<application id>
 * (a command id already on it is answered with its first result in out->res, duplicate,
 * nothing written), move the projection of grants to the new result and append
 * DecisionOverridden. The caller commits on AT_OK unless out->res.duplicate, and rolls
 * back otherwise. Errors: AT_VALIDATION (field named), AT_NOT_FOUND (no such decision of
 * the tenant), AT_CONFLICT (the stream is not at the expected version), AT_UNAVAILABLE,
 * AT_INTERNAL. */
at_code override_in_txn(es_txn *t, const override_cmd *c, at_arena *a, override_out *out, at_error *err);

at_code override_handle(svc_request *req, ProtobufCMessage **reply, at_error *err);

/* consume.c: the durable consumers of intake's events (handlers.c lists them). */
at_code consume_application(void *ctx, es_txn *t, const es_event *ev, at_error *err);
at_code consume_appeal(void *ctx, es_txn *t, const es_event *ev, at_error *err);

/* levelchange.c: RecalculateAtLevelChange (docs/rules.md §9.3). */
at_code levelchange_handle(svc_request *req, ProtobufCMessage **reply, at_error *err);

/* query.c */
at_code replay_handle(svc_request *req, ProtobufCMessage **reply, at_error *err);
at_code explain_handle(svc_request *req, ProtobufCMessage **reply, at_error *err);

/* person_query.c */
at_code person_statuses_handle(svc_request *req, ProtobufCMessage **reply, at_error *err);

#endif
