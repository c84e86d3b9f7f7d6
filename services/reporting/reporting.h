/*
 * reporting.h -- This file is private to services/reporting: what its files share.
 *
 * handlers.c  the consumer table, the query table and the schema (migrations)
 * persons.c   the persons projection: its consumer handler and CountPersons
 * decisions.c the decisions and applications projections: their consumer handlers
 * report.c    AssistanceReport over those two
 *
 * Consumer handlers run on the runtime's consumer threads inside the transaction that
 * moves their checkpoint; queries run on worker threads. All of them may block.
 */
#ifndef REPORTING_H
#define REPORTING_H

#include "svc.h"

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

#endif
