/*
 * payhelp.h -- what the payments tests share: atbalsts-payments and atbalsts-relay as child
 * processes on a fresh database (tests/service's svchelp), a NATS client, the event store
 * as the superuser (to append the decision and charge events other services would), and
 * requests with their replies decoded.
 */
#ifndef PAYHELP_H
#define PAYHELP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bus.h"
#include "es.h"
#include "svchelp.h"
#include "atb/v1/means.pb-c.h"
#include "atb/v1/payments.pb-c.h"

#define PH_TENANT "daugavpils"

typedef struct ph {
    sh_service sv;            /* atbalsts-payments */
    sh_service relay;         /* atbalsts-relay on the same database, prefix and stream */
    bus *client;
    es_store *es;             /* the log, as the superuser */
} ph;

/* A fresh database, the client and the store; the relay started. Aborts on failure. */
void ph_prepare(ph *p);
/* Start atbalsts-payments with extra environment entries (NULL-terminated, may be NULL)
 * and wait until it is healthy; false if it did not become healthy (it may have crashed
 * on purpose: an armed fault point). */
bool ph_start(ph *p, const char *const *env);
int ph_stop(ph *p);                     /* SIGTERM and wait: its exit code (0 = clean drain) */
/* Stop everything, drop the database; the service's exit code (-1 if it was not running). */
int ph_cleanup(ph *p);

/* Request to <prefix>.<kind>.daugavpils.payments.<name>; the reply, or NULL when none
 * came within timeout_ms (once; no retry). */
natsMsg *ph_request(ph *p, const char *kind, const char *name, const ProtobufCMessage *msg, int timeout_ms);
/* The same, retried until a reply comes; fails the test otherwise. */
Atb__V1__CommandReply *ph_cmd(ph *p, const char *name, const ProtobufCMessage *msg);
Atb__V1__BatchReply *ph_batch(ph *p, const char *name, const ProtobufCMessage *msg);
Atb__V1__OrderList *ph_orders(ph *p, const char *name, const ProtobufCMessage *msg);
Atb__V1__BudgetReport *ph_budget(ph *p, int y1, int m1, int d1, int y2, int m2, int d2);

/* Append an event as another service would (es_append, a fresh command id). Returns the
 * event's position. */
int64_t ph_append(ph *p, const char *stream, const char *type, const ProtobufCMessage *body);

/* Poll `sql` (superuser) until its first value equals want, up to timeout_ms; the last
 * value (-1 for no row or an error). */
int64_t ph_wait_sql(ph *p, int64_t want, int timeout_ms, const char *sql);
int64_t ph_sql(ph *p, const char *sql);

/* A decision as means testing records it: BenefitGranted for benefit with amount per
 * `per`, payment form, period, decision date; the ask's subject `person`. Returns the
 * position. */
int64_t ph_grant(ph *p, const char *application_id, int ask, const char *person, const char *benefit,
                 int64_t amount, Atb__V1__AmountPer per, Atb__V1__PaymentForm form, const char *from, const char *to,
                 const char *decided);
/* DecisionOverridden of that decision to `result_amount` (0 = refused) on `decided`. */
int64_t ph_override(ph *p, const char *application_id, int ask, const char *benefit, int64_t result_amount,
                    Atb__V1__AmountPer per, const char *from, const char *to, const char *decided);

/* SetPayeeAccount; the reply. */
Atb__V1__CommandReply *ph_set_payee(ph *p, const char *payee, Atb__V1__PayeeKind kind, const char *name,
                                    const char *iban, const char *benefit);
/* A Latvian IBAN with correct check digits: bank code and 13 account digits. */
void ph_lv_iban(const char *bank, const char *account, char out[32]);
/* ph_prepare, atbalsts-payments started and the municipality's debtor account (PARX)
 * recorded: what a test of batches and files needs first. Fails the test otherwise. */
void ph_prepare_with_debtor(ph *p);
/* ph_sql and ph_wait_sql with the SQL formatted (up to 1023 bytes). */
int64_t ph_sqlf(ph *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int64_t ph_wait_sqlf(ph *p, int64_t want, int timeout_ms, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Date helper: "2026-03-01" into d. */
void ph_date(Atb__V1__Date *d, const char *s);
/* A fresh command meta (its id in id[37]). */
void ph_meta(Atb__V1__CommandMeta *m, char id[37]);

/* The whole file of a batch through ExportBatch (pieces joined); malloc'd, *len set. The
 * first reply's duplicate flag in *duplicate (may be NULL). NULL when an error came back:
 * its code in *code. */
char *ph_export(ph *p, const char *batch_id, size_t *len, bool *duplicate, int *code);

#endif
