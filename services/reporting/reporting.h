/*
 * reporting.h -- This file is private to services/reporting: what its files share.
 *
 * handlers.c  the consumer table, the query table and the schema (migrations)
 * persons.c   the persons projection: its consumer handler and CountPersons
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

#endif
