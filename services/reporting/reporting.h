/*
 * reporting.h -- This file is private to services/reporting: what its files share.
 *
 * handlers.c  the consumer table, the query table and the schema (migrations)
 * persons.c   the persons projection: its consumer handler and CountPersons
 * decisions.c the decisions and applications projections: their consumer handlers
 * report.c    AssistanceReport over those two
 * project.c   what the files below share: writing rows, checking a report's period and
 *             municipalities, "as known on" as a log position, one snapshot
 * services.c  the placements and requests projections (allocation) and ServicesReport
 * catalogue.c the units projection: capacities from allocation's published catalogues
 * budget.c    the payments projection and BudgetExecutionReport
 * indicators.c the appeals projection and IndicatorsReport (with targets/003_kurzeme.tsv)
 * ministry.c  MinistryReport: the annual report, its sections from the reports above
 * rebuild.c   the projections by name: drop and replay one from the log, its digest
 * pipeline.c  a rebuild's writes pipelined, prepared and gathered into multi-row INSERTs
 * lock.c      the advisory lock by which the running service and a rebuild exclude each other
 *
 * Consumer handlers run on the runtime's consumer threads inside the transaction that
 * moves their checkpoint; queries run on worker threads. All of them may block.
 */
#ifndef REPORTING_H
#define REPORTING_H

#include <libpq-fe.h>

#include "svc.h"
#include "atb/v1/common.pb-c.h"

extern const svc_consumer reporting_consumers[];
extern const size_t reporting_n_consumers;
extern const svc_command reporting_commands[];
extern const size_t reporting_n_commands;
extern const char *const reporting_migrations[];
extern const size_t reporting_n_migrations;

/* persons.c */
#define PERSONS_CONSUMER "reporting-persons"
/* Project a "person" event into reporting.persons (bus_handler_fn): AT_OK (also for events
 * this projection ignores and for one already projected), AT_MALFORMED for an event that
 * does not decode (the consumer dead-letters it), AT_UNAVAILABLE when PostgreSQL failed
 * (rolled back, retried). */
at_code persons_project(void *ctx, es_txn *txn, const es_event *ev, at_error *err);
/* CountPersons: the tenant's persons in the projection and the checkpoint it reflects. */
at_code persons_count(svc_request *req, ProtobufCMessage **reply, at_error *err);

/* decisions.c */
#define DECISIONS_CONSUMER "reporting-decisions"
#define APPLICATIONS_CONSUMER "reporting-applications"
/* Project a "decision" event (StatusGranted, StatusRefused, BenefitGranted, BenefitRefused:
 * a row of reporting.decisions; DecisionOverridden: replaces the row's result, the first
 * result kept in original_*). Codes as persons_project. */
at_code decisions_project(void *ctx, es_txn *txn, const es_event *ev, at_error *err);
/* Project an "application" event (ApplicationReceived, ApplicationDecided,
 * ApplicationAppealed) into reporting.applications. Codes as persons_project. */
at_code applications_project(void *ctx, es_txn *txn, const es_event *ev, at_error *err);

/* report.c */
/* AssistanceReport: the figures of docs/reporting.md per tenant and in total, with the
 * positions of both projections, all read in one snapshot. */
at_code assistance_report(svc_request *req, ProtobufCMessage **reply, at_error *err);

/* project.c */
#define REP_MAX_TENANTS 128
typedef struct rep_tenants {            /* the municipalities of a report, in order asked */
    const char *names[REP_MAX_TENANTS];
    size_t n;
} rep_tenants;
/* "YYYY-MM-DD" into out, or NULL for a date not given (all zero). */
const char *rep_date_text(const Atb__V1__Date *d, char out[16]);
/* AT_MALFORMED "cannot project <type> at position N", detail `why`. */
at_code rep_malformed(const es_event *ev, const char *why, at_error *err);
/* Run one statement of a consumer handler; AT_MALFORMED for bad data (SQLSTATE class 22),
 * AT_UNAVAILABLE for anything else that failed, both naming the table and the event. */
at_code rep_exec(es_txn *txn, const es_event *ev, const char *table, const char *sql, int n,
                 const char *const *params, at_error *err);
/* A report's period: both dates valid, from <= to (VALIDATION naming the field otherwise);
 * as "YYYY-MM-DD" into f and t. `query` names the query in the detail. */
at_code rep_period_check(const char *query, const Atb__V1__Date *from, const Atb__V1__Date *to,
                         char f[16], char t[16], at_error *err);
/* The municipalities asked, without repeats, in order; the subject's (own) when none. The
 * names point into `asked` / `own`. VALIDATION (tenants) for too many or a bad name. */
at_code rep_tenants_check(char *const *asked, size_t n, const char *own, rep_tenants *out, at_error *err);
/* The names as a PostgreSQL array literal in the arena; NULL when out of memory. */
char *rep_tenants_array(const rep_tenants *t, at_arena *a);
/* A read that must succeed: the result (PQclear it), or NULL with err set (UNAVAILABLE). */
PGresult *rep_query(es_txn *t, const char *sql, int n, const char *const *params, at_error *err);
/* Begin a REPEATABLE READ transaction: every read of a report sees one snapshot. */
at_code rep_snapshot_begin(es_store *es, es_txn **t, at_error *err);
/* "As known on": the last log position recorded up to the end of as_known_on (Riga time)
 * and/or as_of_position, the earlier of the two; INT64_MAX when neither is given. Also as
 * decimal text. VALIDATION for a bad date or a negative position. */
at_code rep_cutoff(es_txn *t, const Atb__V1__Date *as_known_on, int64_t as_of_position, int64_t *out,
                   char text[24], at_error *err);
int64_t rep_num(PGresult *r, int row, int col);
/* A write that failed: AT_MALFORMED for bad data (SQLSTATE class 22), else AT_UNAVAILABLE,
 * err naming the table and the event's position. */
at_code rep_write_failed(PGresult *r, int64_t position, const char *table, at_error *err);

/* pipeline.c: a rebuild's batch written with few round trips. Between begin and end,
 * rep_exec on this thread and txn's connection does not wait for its statement: it is
 * pipelined, prepared once, and an INSERT ... VALUES (...) ON CONFLICT DO NOTHING is
 * gathered with the following rows of the same statement into one multi-row INSERT (AT_OK
 * then says only "queued"). end sends what is gathered, syncs, reads every reply and
 * returns the first failure, classed as rep_exec does (the event it names may be any of a
 * multi-row statement's). After a failure roll the transaction back. The handlers are the
 * ones the live consumers run, which wait for each statement. */
at_code rep_pipeline_begin(es_txn *txn, at_error *err);
at_code rep_pipeline_end(at_error *err);
bool rep_pipeline_on(PGconn *conn);
at_code rep_pipeline_exec(const es_event *ev, const char *table, const char *sql, int n,
                          const char *const *params, at_error *err);
/* SQL: the decisions of the tenants $1 as known at log position $4, each with its latest
 * result recorded by then (the first, or the last override at or before $4). */
#define REP_KNOWN_DECISIONS                                                                               \
    "(SELECT d.tenant, d.application_id, d.ask_index, d.ask, d.benefit, d.household_id, d.members, "    \
    "  d.decided_on, r.outcome, r.status, r.period_from, r.period_to, r.has_amount, r.amount_cents, r.per " \
    " FROM reporting.decisions d JOIN LATERAL (SELECT * FROM reporting.decision_results r "              \
    "  WHERE r.tenant = d.tenant AND r.application_id = d.application_id AND r.ask_index = d.ask_index "  \
    "  AND r.position <= $4 ORDER BY r.position DESC LIMIT 1) r ON true "                                \
    " WHERE d.tenant = ANY($1::text[]) AND d.position <= $4)"

/* services.c */
#define PLACEMENTS_CONSUMER "reporting-placements"
#define REQUESTS_CONSUMER "reporting-requests"
/* Project a "placement" event (PlacementStarted, PlacementChanged, PlacementEnded) into
 * reporting.placements and reporting.placement_loads. Codes as persons_project. */
at_code placements_project(void *ctx, es_txn *txn, const es_event *ev, at_error *err);
/* Project a "request" event (ServiceRequested) into reporting.requests. */
at_code requests_project(void *ctx, es_txn *txn, const es_event *ev, at_error *err);
/* ServicesReport: clients, volumes, admissions, discharges and waiting lists. */
at_code services_report(svc_request *req, ProtobufCMessage **reply, at_error *err);

/* catalogue.c */
#define UNITS_CONSUMER "reporting-catalogue"
/* Project a "catalogue" event (CataloguePublished) into reporting.catalogues and
 * reporting.units. Codes as persons_project; a document that is not YAML is MALFORMED. */
at_code units_project(void *ctx, es_txn *txn, const es_event *ev, at_error *err);

/* budget.c */
#define PAYMENTS_CONSUMER "reporting-payments"
/* Project a "paygrant", "paybatch" or "paycash" event into reporting.payment_orders,
 * reporting.payment_batches and reporting.recoveries. Codes as persons_project. */
at_code payments_project(void *ctx, es_txn *txn, const es_event *ev, at_error *err);
/* BudgetExecutionReport: scheduled, paid and recovered by EKK code and funding source. */
at_code budget_report(svc_request *req, ProtobufCMessage **reply, at_error *err);

/* indicators.c */
#define APPEALS_CONSUMER "reporting-appeals"
/* Project an "appeal" event (AppealFiled, AppealDecided) into reporting.appeals. */
at_code appeals_project(void *ctx, es_txn *txn, const es_event *ev, at_error *err);
/* IndicatorsReport: the strategy indicators and the regional result indicators of document
 * 003 against their targets (read from ATB_REPORTING_TARGETS, default the source tree's
 * services/reporting/targets/003_kurzeme.tsv). */
at_code indicators_report(svc_request *req, ProtobufCMessage **reply, at_error *err);

/* ministry.c */
/* MinistryReport: the year's AssistanceReport, ServicesReport, BudgetExecutionReport and
 * IndicatorsReport, all as known at one log position, and the persons of needy and
 * low-income households by age and sex. */
at_code ministry_report(svc_request *req, ProtobufCMessage **reply, at_error *err);

/* lock.c: the service and a rebuild exclude each other (an advisory lock). */
/* The service's start hook (svc_def.start): take the lock shared on a connection of its
 * own, held until the process ends; AT_CONFLICT (err with a hint) while a rebuild runs. */
at_code rep_service_lock(es_store *es, at_error *err);
/* Release it (its connection closed); the process's end does the same. */
void rep_service_unlock(void);
/* In a rebuild's transaction: take projection i's lock exclusive until it ends;
 * AT_CONFLICT (err with a hint) while the service runs. */
at_code rep_rebuild_guard(es_txn *t, size_t projection, at_error *err);

/* rebuild.c: for `atbalsts report rebuild`, with atbalsts-reporting stopped. es must be
 * able to write the reporting schema and atb.checkpoints (role atb_reporting). */
typedef struct rep_rebuild_result {
    int64_t events;      /* events of the projection's categories replayed */
    int64_t malformed;   /* of those, events that do not decode (the consumer dead-lettered them) */
    int64_t position;    /* the log position the rebuilt projection reflects (its checkpoint) */
} rep_rebuild_result;
/* The projections: persons, decisions, applications, placements, requests, payments,
 * appeals, catalogue; NULL past the end. */
size_t rep_projections_count(void);
const char *rep_projection_name(size_t i);
/* Projection i's digest: the md5 of each table's rows in a unique order, space-separated
 * ("empty" for an empty table), and its checkpoint. */
at_code rep_projection_digest(es_store *es, size_t i, char *out, size_t n, int64_t *position, at_error *err);
/* Drop projection i (rows and checkpoint, one transaction) and replay the log into it up
 * to the head when it started. AT_UNAVAILABLE and the like from PostgreSQL; what was
 * replayed stays (the checkpoint says how far). */
at_code rep_projection_rebuild(es_store *es, size_t i, rep_rebuild_result *res, at_error *err);

/* One projection's rebuild for rep_rebuild_run. */
#define REP_REBUILD_MAX_JOBS 16
typedef struct rep_rebuild_task {
    size_t projection;          /* in: its number */
    bool digests;               /* in: also its digest before and after */
    at_code code;               /* out: AT_OK, or what failed with err */
    at_error err;
    rep_rebuild_result res;
    char before[512], after[512];
    int64_t position_before;
    double seconds;             /* the time it took, digests included */
} rep_rebuild_task;
/* Rebuild the tasks' projections, each on its own, up to `jobs` at once (threads; es needs
 * a connection each: its pool_size at least jobs). The projections do not read each other,
 * so they run side by side; a failure ends only its task. Returns when all are done. */
void rep_rebuild_run(es_store *es, rep_rebuild_task *tasks, size_t n, int jobs);

#endif
