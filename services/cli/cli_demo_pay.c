/*
 * cli_demo_pay.c -- the third part of `atbalsts demo`: the decisions become money.
 *
 * The payments service schedules orders from the GMI grants means testing made (its
 * consumer of the decision events). The demo waits until the schedule stops growing, then
 * does what the municipality's accountant does, through the payments command API only:
 * sets the clients' bank accounts (and the municipality's own, the debtor), collects the
 * orders due by the end of 2020 into a batch, exports it as an ISO 20022 pain.001.001.03
 * file, imports the bank's report (one order rejected: account closed, AC04), and reads the
 * budget execution of 2020 by EKK code and funding source from the log.
 *
 * When the payments service does not answer (a platform without it), the part is skipped
 * and says so.
 */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "at_uuid.h"
#include "atb/v1/payments.pb-c.h"

/* Namespace of the demo's own keys (the municipality's debtor account). */
#define DEMO_PAY_NS "b7a1c3e5-2d4f-4a6b-8c9d-0e1f2a3b4c5d"

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void set_date(Atb__V1__Date *d, int y, int m, int dd)
{
    atb__v1__date__init(d);
    d->year = y;
    d->month = m;
    d->day = dd;
}

/* A Latvian IBAN "LVkk BANK nnnnnnnnnnnnn" with a valid check (ISO 13616: the BBAN, then
 * "LV00", letters as 10..35, mod 97; the check is 98 minus the remainder). */
static void make_iban(uint64_t serial, char out[22])
{
    char bban[18];
    snprintf(bban, sizeof bban, "HABA%013llu", (unsigned long long)(serial % 10000000000000ULL));
    char digits[64];
    size_t n = 0;
    const char *parts[2] = {bban, "LV00"};
    for (int k = 0; k < 2; k++)
        for (const char *p = parts[k]; *p; p++)
            n += (size_t)snprintf(digits + n, sizeof digits - n, "%d", *p >= 'A' ? *p - 'A' + 10 : *p - '0');
    unsigned rem = 0;
    for (size_t i = 0; i < n; i++)
        rem = (rem * 10 + (unsigned)(digits[i] - '0')) % 97;
    snprintf(out, 22, "LV%02u%s", 98 - rem, bban);
}

static int call(cli *c, const char *kind, const char *name, const ProtobufCMessage *m,
                const ProtobufCMessageDescriptor *d, ProtobufCMessage **out)
{
    return cli_call(c, kind, c->tenant, "payments", name, m, d, out);
}

/* The scheduled orders (all, not yet batched); NULL when payments does not answer. */
static Atb__V1__OrderList *due_orders(cli *c, const Atb__V1__Date *due)
{
    Atb__V1__ListDueOrders q = ATB__V1__LIST_DUE_ORDERS__INIT;
    q.due = (Atb__V1__Date *)due;
    ProtobufCMessage *m = NULL;
    if (call(c, "qry", "ListDueOrders", &q.base, &atb__v1__order_list__descriptor, &m) != CLI_OK)
        return NULL;
    return (Atb__V1__OrderList *)m;
}

static bool set_payee(cli *c, const char *key, Atb__V1__PayeeKind kind, const char *name, const char *iban)
{
    Atb__V1__CommandMeta meta = ATB__V1__COMMAND_META__INIT;
    char id[37];
    cli_meta(c, &meta, id);
    Atb__V1__SetPayeeAccount s = ATB__V1__SET_PAYEE_ACCOUNT__INIT;
    s.meta = &meta;
    s.payee = (char *)key;
    s.kind = kind;
    s.name = (char *)name;
    s.iban = (char *)iban;
    ProtobufCMessage *m = NULL;
    if (call(c, "cmd", "SetPayeeAccount", &s.base, &atb__v1__command_reply__descriptor, &m) != CLI_OK)
        return false;
    bool ok = !cli_refused(((Atb__V1__CommandReply *)m)->error);
    if (!ok && !c->json)
        printf("  payee %s refused: %s\n", key, ((Atb__V1__CommandReply *)m)->error->message);
    protobuf_c_message_free_unpacked(m, NULL);
    return ok;
}

static const char *euros(int64_t cents, char buf[32])
{
    snprintf(buf, 32, "%lld.%02lld", (long long)(cents / 100), (long long)(cents % 100));
    return buf;
}

int cli_demo_payments(cli *c, const demo_person *p, int n, json_t *summary, bool *ok)
{
    *ok = true;
    /* Wait until the schedule stops growing: the consumer is behind the decisions. */
    Atb__V1__OrderList *l = NULL;
    size_t last = (size_t)-1;
    int stable = 0;
    for (int i = 0; i < 100 && stable < 3; i++) {
        if (l)
            protobuf_c_message_free_unpacked(&l->base, NULL);
        if (!(l = due_orders(c, NULL))) {
            if (!c->json)
                printf("\ndemo payments: the payments service does not answer; skipped\n");
            *ok = false;
            return CLI_OK;
        }
        stable = l->n_orders > 0 && l->n_orders == last ? stable + 1 : 0;
        last = l->n_orders;
        sleep_ms(300);
    }
    size_t scheduled = l->n_orders;
    int64_t scheduled_cents = l->total_cents;

    /* The clients' accounts: every person an order pays to an account. */
    int payees = 0;
    for (size_t i = 0; i < l->n_orders; i++) {
        const Atb__V1__PaymentOrder *o = l->orders[i];
        if (o->channel != ATB__V1__PAYMENT_CHANNEL__PAYMENT_CHANNEL_ACCOUNT || !o->person[0])
            continue;
        bool seen = false;
        for (size_t k = 0; k < i && !seen; k++)
            seen = strcmp(l->orders[k]->person, o->person) == 0;
        if (seen)
            continue;
        int who = -1;
        for (int k = 0; k < n && who < 0; k++)
            if (strcmp(p[k].key, o->person) == 0)
                who = k;
        char name[160], iban[22];
        snprintf(name, sizeof name, "%s %s", who >= 0 ? p[who].given : "Klients", who >= 0 ? p[who].family : "");
        make_iban(1000003ULL * (uint64_t)(i + 1), iban);
        payees += set_payee(c, o->person, ATB__V1__PAYEE_KIND__PAYEE_KIND_PERSON, name, iban);
    }
    protobuf_c_message_free_unpacked(&l->base, NULL);
    char debtor[37], name[120], iban[22];
    at_uuid_derive(DEMO_PAY_NS, c->tenant, debtor);
    snprintf(name, sizeof name, "Sociālais dienests (%s)", c->tenant);
    make_iban(4351950010ULL, iban);
    *ok = set_payee(c, debtor, ATB__V1__PAYEE_KIND__PAYEE_KIND_DEBTOR, name, iban) && *ok;

    /* The batch of everything due by the end of 2020, its file, the bank's report. */
    Atb__V1__CommandMeta meta = ATB__V1__COMMAND_META__INIT;
    char id[37];
    cli_meta(c, &meta, id);
    Atb__V1__Date due, from, to;
    set_date(&due, 2020, 12, 31);
    Atb__V1__CreateBatch cb = ATB__V1__CREATE_BATCH__INIT;
    cb.meta = &meta;
    cb.due = &due;
    ProtobufCMessage *m = NULL;
    if (call(c, "cmd", "CreateBatch", &cb.base, &atb__v1__batch_reply__descriptor, &m) != CLI_OK)
        return CLI_UNREACHABLE;
    Atb__V1__BatchReply *b = (Atb__V1__BatchReply *)m;
    if (cli_refused(b->error)) {
        if (!c->json)
            printf("\ndemo payments: the batch was refused: %s\n", b->error->message);
        protobuf_c_message_free_unpacked(m, NULL);
        *ok = false;
        return CLI_OK;
    }
    char batch[64];
    snprintf(batch, sizeof batch, "%s", b->batch_id);
    int count = b->count;
    int64_t control = b->control_sum_cents;
    protobuf_c_message_free_unpacked(m, NULL);

    int64_t size = 0, total = -1;
    char sha[65] = "";
    while (total < 0 || size < total) {
        Atb__V1__ExportBatch eb = ATB__V1__EXPORT_BATCH__INIT;
        cli_meta(c, &meta, id);
        eb.meta = &meta;
        eb.batch_id = batch;
        eb.offset = size;
        if (call(c, "cmd", "ExportBatch", &eb.base, &atb__v1__batch_reply__descriptor, &m) != CLI_OK)
            return CLI_UNREACHABLE;
        b = (Atb__V1__BatchReply *)m;
        bool refused = cli_refused(b->error) || b->xml.len == 0;
        if (!refused) {
            size += (int64_t)b->xml.len;
            total = b->xml_total;
            snprintf(sha, sizeof sha, "%s", b->xml_sha256);
        }
        protobuf_c_message_free_unpacked(m, NULL);
        if (refused) {
            *ok = false;
            break;
        }
    }

    /* The bank executes all but the first order: its account was closed (AC04). */
    Atb__V1__OrderResult rejected = ATB__V1__ORDER_RESULT__INIT, *results[1] = {&rejected};
    char first_order[64] = "";
    /* An order of the batch: the first client whose history names the batch. */
    for (int k = 0; k < n && !first_order[0]; k++) {
        Atb__V1__PaymentHistory q = ATB__V1__PAYMENT_HISTORY__INIT;
        q.person = (char *)p[k].key;
        if (call(c, "qry", "PaymentHistory", &q.base, &atb__v1__order_list__descriptor, &m) != CLI_OK)
            return CLI_UNREACHABLE;
        Atb__V1__OrderList *h = (Atb__V1__OrderList *)m;
        for (size_t i = 0; i < h->n_orders && !first_order[0]; i++)
            if (strcmp(h->orders[i]->batch_id, batch) == 0)
                snprintf(first_order, sizeof first_order, "%s", h->orders[i]->order_id);
        protobuf_c_message_free_unpacked(m, NULL);
    }
    rejected.end_to_end_id = first_order;
    rejected.rejected = true;
    rejected.reason = "AC04";
    Atb__V1__ImportConfirmation ic = ATB__V1__IMPORT_CONFIRMATION__INIT;
    cli_meta(c, &meta, id);
    ic.meta = &meta;
    ic.batch_id = batch;
    char report[36];   /* a pain.002 message id is at most 35 characters */
    snprintf(report, sizeof report, "DEMO-%.8s%.4s%.4s", id, id + 9, id + 14);
    ic.report_id = report;
    ic.n_results = first_order[0] ? 1 : 0;
    ic.results = results;
    if (call(c, "cmd", "ImportConfirmation", &ic.base, &atb__v1__batch_reply__descriptor, &m) != CLI_OK)
        return CLI_UNREACHABLE;
    b = (Atb__V1__BatchReply *)m;
    int paid = b->paid, bank_rejected = b->rejected;
    if (cli_refused(b->error)) {
        *ok = false;
        if (!c->json)
            printf("\ndemo payments: the bank report was refused: %s\n", b->error->message);
    }
    protobuf_c_message_free_unpacked(m, NULL);

    /* Budget execution of 2020, from the log. */
    Atb__V1__BudgetExecution be = ATB__V1__BUDGET_EXECUTION__INIT;
    set_date(&from, 2020, 1, 1);
    set_date(&to, 2020, 12, 31);
    be.from = &from;
    be.to = &to;
    if (call(c, "qry", "BudgetExecution", &be.base, &atb__v1__budget_report__descriptor, &m) != CLI_OK)
        return CLI_UNREACHABLE;
    Atb__V1__BudgetReport *r = (Atb__V1__BudgetReport *)m;
    int64_t budget_paid = r->paid_cents;
    char e1[32], e2[32];
    if (summary) {
        json_object_set_new(summary, "payments",
                            json_pack("{s:I, s:I, s:i, s:s, s:i, s:I, s:I, s:s, s:i, s:i, s:I}", "scheduled",
                                      (json_int_t)scheduled, "scheduled_cents", (json_int_t)scheduled_cents,
                                      "payee_accounts", payees, "batch", batch, "batched", count,
                                      "control_sum_cents", (json_int_t)control, "file_bytes", (json_int_t)size,
                                      "file_sha256", sha, "paid", paid, "rejected", bank_rejected,
                                      "budget_paid_cents", (json_int_t)budget_paid));
    } else {
        printf("\ndemo payments (%s)\n", c->tenant);
        printf("  orders scheduled        %zu, %s EUR, from the GMI grants\n", scheduled, euros(scheduled_cents, e1));
        printf("  payee accounts set      %d clients and the municipality's own\n", payees);
        printf("  batch                   %s: %d orders due by 2020-12-31, control sum %s EUR\n", batch, count,
               euros(control, e2));
        printf("  pain.001.001.03 file    %lld bytes, SHA-256 %.16s...\n", (long long)size, sha);
        printf("  bank report             %d paid, %d rejected (AC04, account closed: re-queued when the "
               "account is corrected)\n", paid, bank_rejected);
        printf("  budget execution 2020   %s EUR paid, by EKK code and funding source:\n", euros(budget_paid, e1));
        for (size_t i = 0; i < r->n_lines; i++)
            printf("    EKK %-6s %-10s %12s EUR in %d orders\n", r->lines[i]->budget_code,
                   cli_enum_word(&atb__v1__funding_source__descriptor, r->lines[i]->funding),
                   euros(r->lines[i]->paid_cents, e2), (int)r->lines[i]->orders);
    }
    protobuf_c_message_free_unpacked(m, NULL);
    *ok = *ok && count > 0 && size > 0 && paid + bank_rejected == count;
    return CLI_OK;
}
