/*
 * reporting.h -- This file is private to services/reporting.
 */
#ifndef REPORTING_H
#define REPORTING_H

#include "svc.h"

/* persons.c: the persons projection and its query. */
at_code persons_project(void *ctx, es_txn *txn, const es_event *ev, at_error *err);
at_code persons_count(svc_request *req, ProtobufCMessage **reply, at_error *err);

#define PERSONS_CONSUMER "reporting-persons"

#endif
