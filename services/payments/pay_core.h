/*
 * pay_core.h -- the pure parts of payments, linkable without the service runtime (tests,
 * benchmarks): payment schedules from a grant's terms, and the ISO 20022 pain.001.001.03
 * credit-transfer file with its structural check.
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

#endif
