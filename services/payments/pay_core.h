/*
 * pay_core.h -- the pure parts of payments, linkable without the service runtime (tests,
 * benchmarks, the command line): payment schedules from a grant's terms, the ISO 20022
 * pain.001.001.03 credit-transfer file with its structural check, and the bank's
 * pain.002.001.03 status report.
 *
 * Everything here is pure and thread-safe; nothing touches the database or the clock.
 */
#ifndef PAY_CORE_H
#define PAY_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "at_buf.h"
#include "at_date.h"
#include "at_error.h"
#include "at_money.h"

/* ---- schedules ---------------------------------------------------------------------- */

typedef enum pay_per { PAY_PER_ONCE = 1, PAY_PER_MONTH = 2, PAY_PER_YEAR = 3 } pay_per;  /* = atb.v1.AmountPer */

typedef struct pay_terms {
    at_cents amount;     /* per `per`; 0 = nothing is due (a revoked grant) */
    pay_per per;
    at_date from;        /* the benefit period; for ONCE `to` may be AT_DATE_NONE */
    at_date to;
    at_date decided_on;  /* no order is due before it */
} pay_terms;

/* One period an order pays for; slots of one grant never share `from`. */
typedef struct pay_slot {
    at_date from, to;
    at_date due;
    at_cents amount;
} pay_slot;

#define PAY_MAX_SLOTS 120   /* ten years of months: more is refused as a bad period */

/* The slots of terms:
 *   ONCE  one slot [from, to] (to = from when not given), the whole amount;
 *   MONTH one slot per calendar month of [from, to]; a month the period covers only in part
 *         is paid pro rata by calendar days, amount * days / days_in_month, rounded half up
 *         (the rule and its source: docs/payments.md, "Pro-rating");
 *   YEAR  one slot per twelve months from `from` (a season or a calendar year is one slot),
 *         the whole amount each, never pro-rated.
 * Each slot is due on the later of its first day and decided_on. Amount 0 gives no slots.
 * Errors: AT_VALIDATION (no `from`, a monthly or yearly period without an end, to < from,
 * more than PAY_MAX_SLOTS slots, an amount below 0, per unknown). */
at_code pay_slots(const pay_terms *t, pay_slot *out, size_t max, size_t *n, at_error *err);

/* ---- pain.001.001.03 ------------------------------------------------------------------ */

typedef struct pay_xfer {
    const char *end_to_end_id;   /* the order id (dashes dropped in the file: 32 characters) */
    at_cents amount;             /* > 0 */
    const char *creditor_name;
    const char *creditor_iban;
    const char *creditor_bic;    /* "" or NULL: not sent */
    const char *remittance;      /* unstructured remittance text, at most 140 bytes used */
} pay_xfer;

typedef struct pay_batch_file {
    const char *batch_id;        /* UUID: MsgId and PmtInfId are derived from it */
    const char *created_at;      /* "YYYY-MM-DDThh:mm:ss" */
    at_date execution_date;
    const char *debtor_name;
    const char *debtor_iban;
    const char *debtor_bic;      /* "" or NULL: NOTPROVIDED */
    const pay_xfer *xfers;
    size_t n_xfers;              /* >= 1 */
} pay_batch_file;

/* Render the file (UTF-8, one PmtInf of SEPA credit transfers, control sums in the group
 * header and the payment information) into out. Text is XML-escaped and cut to the
 * schema's lengths. Errors: AT_VALIDATION (no transfers, an amount <= 0, a missing
 * account), AT_INTERNAL (out of memory). */
at_code pay_pain001_render(const pay_batch_file *f, at_buf *out, at_error *err);

/* Check a file's structure without the schema: the elements a bank needs are there
 * (GrpHdr MsgId, NbOfTxs, CtrlSum; PmtInf with debtor account; every CdtTrfTxInf with an
 * EndToEndId, an amount > 0, a creditor name and an IBAN that validates), and NbOfTxs and
 * CtrlSum equal the count and sum of the transactions, in the group header and in each
 * PmtInf. *count and *sum (may be NULL) get the totals. Parsed with libxml2 (no network,
 * no entities). Errors: AT_VALIDATION naming the element (field = its path). */
at_code pay_pain001_check(const char *xml, size_t len, int64_t *count, at_cents *sum, at_error *err);

/* ---- pain.002.001.03 (the bank's Customer Payment Status Report) ---------------------- */

#define PAY_ID_MAX 35   /* Max35Text: MsgId, OrgnlMsgId, OrgnlEndToEndId */

typedef struct pay_status_tx {
    char end_to_end_id[PAY_ID_MAX + 1];   /* OrgnlEndToEndId as the report writes it */
    bool rejected;                        /* TxSts RJCT */
    char reason[5];                       /* StsRsnInf/Rsn/Cd (or Prtry) of a rejection */
} pay_status_tx;

typedef struct pay_status_report {
    char msg_id[PAY_ID_MAX + 1];          /* GrpHdr/MsgId: the report's own id */
    char orig_msg_id[PAY_ID_MAX + 1];     /* OrgnlGrpInfAndSts/OrgnlMsgId: the file it is about */
    char group_status[5];                 /* GrpSts, "" when the report gives none */
    bool reject_all;                      /* GrpSts RJCT, or a PmtInfSts RJCT without transactions */
    char reject_all_reason[5];
    pay_status_tx *txs;                   /* malloc'd: pay_pain002_free */
    size_t n_txs;
} pay_status_report;

/* Read a pain.002.001.03 report: GrpHdr/MsgId, OrgnlGrpInfAndSts (OrgnlMsgId, OrgnlMsgNmId,
 * GrpSts, StsRsnInf) and each OrgnlPmtInfAndSts/TxInfAndSts (OrgnlEndToEndId, TxSts,
 * StsRsnInf/Rsn/Cd). A transaction without TxSts has its payment information's or group's
 * status. Executed: ACSC, ACCP, ACSP, ACWC. Rejected: RJCT, with its reason code, NARR when
 * the bank gives none. A status that is not final (RCVD, PDNG, ACTC) is refused: the bank
 * sends a final report later. Parsed with libxml2 (no network, no entities).
 * Errors, all AT_VALIDATION with the element's path as the field: not well-formed XML,
 * another namespace or message version, a report on another message than pain.001.001.03,
 * a missing or too long id, an unknown or not final status, an end-to-end id twice,
 * an accepted transaction in a rejected group. On error *out is empty. */
at_code pay_pain002_parse(const char *xml, size_t len, pay_status_report *out, at_error *err);
void pay_pain002_free(pay_status_report *r);

/* The batch id a pain.001 MsgId of this system names ("ATB" + its 32 hex digits) into
 * out[37]; false for any other id. */
bool pay_batch_of_msg_id(const char *msg_id, char out[37]);
/* The MsgId of a batch's pain.001 file into out[36]. */
void pay_msg_id_of_batch(const char *batch_id, char out[36]);

#endif
