/*
 * payments.h -- This file is private to services/payments: what the files of the service
 * binary share. The linkable part (schedules, the pain.001 file) is in pay_core.h.
 */
#ifndef PAYMENTS_H
#define PAYMENTS_H

#include <libpq-fe.h>

#include "pay_core.h"
#include "svc.h"
#include "atb/v1/common.pb-c.h"
#include "atb/v1/means.pb-c.h"
#include "atb/v1/payments.pb-c.h"

/* handlers.c */
extern const svc_command pay_commands[];
extern const size_t pay_n_commands;
extern const svc_consumer pay_consumers[];
extern const size_t pay_n_consumers;
extern const char *const pay_migrations[];
extern const size_t pay_n_migrations;

/* common.c: SQL inside a transaction, dates, events. */

/* Run sql with text params on the transaction's connection. *out (may be NULL) gets the
 * result of a query (PQclear it). A failed statement is AT_UNAVAILABLE when the connection
 * is gone, AT_INTERNAL otherwise, with PostgreSQL's message in the detail. */
at_code pay_sql(es_txn *t, const char *sql, int n, const char *const *params, PGresult **out, at_error *err);
/* Begin a transaction for a request (AT_UNAVAILABLE when none can be had). */
at_code pay_begin(es_store *es, es_txn **t, at_error *err);
/* Commit; ES_IO and friends become their at_code. */
at_code pay_commit(es_txn *t, at_error *err);

/* "YYYY-MM-DD" into buf[11], or NULL for AT_DATE_NONE (a SQL NULL parameter). */
const char *pay_date_sql(at_date d, char *buf);
at_date pay_date_parse(const char *s);                         /* "" -> AT_DATE_NONE */

/* Append inside t. A duplicate command id sets res->duplicate (the caller rolls back). */
at_code pay_append(es_txn *t, const char *tenant, const char *stream, int64_t expected, const char *command_id,
                   const char *causation_id, const char *correlation_id, const char *actor, es_event_in *evs,
                   size_t n, es_append_res *res, at_error *err);

at_code pay_check_key(char *s, const char *field, at_error *err);   /* UUID, lowered */
const char *pay_channel_name(Atb__V1__PaymentChannel c);
const char *pay_funding_name(Atb__V1__FundingSource f);
Atb__V1__FundingSource pay_funding_of(const char *name);
Atb__V1__PaymentChannel pay_channel_of(const char *name);
Atb__V1__OrderStatus pay_status_of(const char *name);

/* ledger.c: grants, their terms, and the reconciliation that turns terms into orders. */

/* What one grant is paid under from a date on. */
typedef struct pay_terms_in {
    const char *grant;          /* "<application id>/<ask>" or "charge/<key>" */
    const char *tenant;
    const char *person;         /* "" for inter-municipal charges */
    const char *payee;          /* NULL: person for account/cash; provider resolved later */
    const char *benefit;
    const char *budget_code;    /* "" = the schema's table payments.ekk */
    Atb__V1__FundingSource funding;   /* 0 = from payments.ekk */
    Atb__V1__PaymentChannel channel;
    at_date effective_after;    /* AT_DATE_NONE: from the start (the first decision) */
    pay_terms terms;            /* amount, per, period, decided_on; amount 0 = revoked */
} pay_terms_in;

/* Record the terms and reconcile the grant inside t: cancel orders that no longer fit,
 * schedule what is missing, claim what was paid beyond the grant, and append the events
 * (PaymentsScheduled / PaymentsCancelled / RecoveryClaimed) to paygrant-<grant> with
 * command ids derived from source_event_id. *changed tells whether anything was written.
 * Errors: AT_VALIDATION (terms that cannot be scheduled), AT_UNAVAILABLE, AT_INTERNAL. */
at_code ledger_apply(es_txn *t, const pay_terms_in *in, const es_event *source, at_arena *a, bool *changed,
                     at_error *err);
/* True if the grant has a row (it was granted with money once). */
at_code ledger_grant_exists(es_txn *t, const char *grant, bool *exists, at_error *err);

/* offset.c: recovery claims collected from the orders of a new batch. */

typedef struct pay_batch_order {
    const char *order_id, *payee, *benefit;
    at_cents amount;    /* what the order pays (the ledger's figure) */
    at_cents offset;    /* in: kept back when first batched; out: also what was kept now */
} pay_batch_order;

/* Inside the transaction that makes batch batch_id: keep back, from each order that has
 * kept nothing yet, at most the benefit's share (payments.offset_share) for the open
 * recovery claims against the same payee under the same benefit, oldest claim first;
 * record each collection and set the orders' offset_cents. *evs (n_evs) get one
 * RecoveryCollected each, for the append of BatchCreated (at most ES_MAX_EVENTS - 1: the
 * rest waits for a later batch). Errors: AT_UNAVAILABLE, AT_INTERNAL. */
at_code offset_collect(es_txn *t, const char *tenant, const char *batch_id, at_date on, pay_batch_order *orders,
                       size_t n, at_arena *a, Atb__V1__RecoveryCollected ***evs, size_t *n_evs, at_error *err);

/* consume.c */
at_code consume_decision(void *ctx, es_txn *t, const es_event *ev, at_error *err);
at_code consume_charge(void *ctx, es_txn *t, const es_event *ev, at_error *err);

/* payee.c, batch.c, query.c: handlers */
at_code payee_set_handle(svc_request *req, ProtobufCMessage **reply, at_error *err);
at_code payee_erase_handle(svc_request *req, ProtobufCMessage **reply, at_error *err);
at_code batch_create_handle(svc_request *req, ProtobufCMessage **reply, at_error *err);
at_code batch_export_handle(svc_request *req, ProtobufCMessage **reply, at_error *err);
at_code batch_confirm_handle(svc_request *req, ProtobufCMessage **reply, at_error *err);
at_code cash_paid_handle(svc_request *req, ProtobufCMessage **reply, at_error *err);
at_code query_due_handle(svc_request *req, ProtobufCMessage **reply, at_error *err);
at_code query_history_handle(svc_request *req, ProtobufCMessage **reply, at_error *err);
at_code query_budget_handle(svc_request *req, ProtobufCMessage **reply, at_error *err);
/* batch_list.c */
at_code batch_list_handle(svc_request *req, ProtobufCMessage **reply, at_error *err);

#endif
