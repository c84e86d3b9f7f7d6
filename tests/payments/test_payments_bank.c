/*
 * test_payments_bank.c -- the bank's answers: a real batch exported as pain.001, the
 * bank's pain.002 status report for it imported with `atbalsts payment confirm --file`
 * (and the reports that must be refused, recording nothing); and recovery claims
 * collected from the same payee's later payments of the same benefit.
 *
 * Real atbalsts-payments, atbalsts-relay, PostgreSQL and NATS; the command line binary.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "at_uuid.h"
#include "pay_core.h"
#include "payhelp.h"
#include "xsdcheck.h"

static ph P;

#define WAIT 20000

static int setup(void **state)
{
    (void)state;
    ph_prepare_with_debtor(&P);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return ph_cleanup(&P) == 0 ? 0 : -1;
}

/* shorthands for payhelp's formatted SQL on this file's database */
#define q(...) ph_sqlf(&P, __VA_ARGS__)
#define wait_q(want, ...) ph_wait_sqlf(&P, (want), WAIT, __VA_ARGS__)

/* ---- the command line ---- */

static struct {
    int code;
    char out[8192], err[8192];
} R;

static void slurp(FILE *f, char *buf, size_t n)
{
    rewind(f);
    size_t got = fread(buf, 1, n - 1, f);
    buf[got] = 0;
    fclose(f);
}

static void cli(const char *first, ...)
{
    const char *argv[16] = {CLI_PATH};
    int argc = 1;
    va_list ap;
    va_start(ap, first);
    for (const char *a = first; a && argc < 15; a = va_arg(ap, const char *))
        argv[argc++] = a;
    va_end(ap);
    argv[argc] = NULL;
    FILE *out = tmpfile(), *err = tmpfile();
    assert_non_null(out);
    assert_non_null(err);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fileno(out), 1);
        dup2(fileno(err), 2);
        setenv("ATB_NATS_URL", t_nats_url(), 1);
        setenv("ATB_PREFIX", P.sv.prefix, 1);
        setenv("ATB_TENANT", PH_TENANT, 1);
        execv(CLI_PATH, (char *const *)argv);
        _exit(127);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    R.code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    slurp(out, R.out, sizeof R.out);
    slurp(err, R.err, sizeof R.err);
    if (getenv("ATB_TEST_VERBOSE"))
        fprintf(stderr, "exit %d\n--- stdout\n%s--- stderr\n%s", R.code, R.out, R.err);
}

static void expect_cli(int code, const char *in_out, const char *in_err)
{
    if (R.code != code || (in_out && !strstr(R.out, in_out)) || (in_err && !strstr(R.err, in_err)))
        fail_msg("exit %d (want %d)\nstdout: %s\nstderr: %s\nwanted \"%s\" / \"%s\"", R.code, code, R.out, R.err,
                 in_out ? in_out : "", in_err ? in_err : "");
}

/* ---- the bank's report ---- */

typedef struct tx {
    const char *order;    /* order id (UUID) or an EndToEndId as written */
    const char *status;   /* ACSC, ACCP, RJCT */
    const char *reason;   /* for RJCT */
} tx;

static void hex_of(const char *uuid, char out[33])
{
    size_t k = 0;
    for (const char *c = uuid; *c && k < 32; c++)
        if (*c != '-')
            out[k++] = (char)(*c >= 'a' && *c <= 'f' ? *c - 32 : *c);
    out[k] = '\0';
}

/* Write a pain.002.001.03 report for the file of `batch` (its MsgId derived as the file's)
 * to path; ns NULL = the right namespace. */
static void write_report(const char *path, const char *ns, const char *report_id, const char *batch,
                         const char *grp_sts, const char *grp_reason, const tx *txs, size_t n)
{
    char msg[36];
    pay_msg_id_of_batch(batch, msg);
    size_t cap = 4096 + n * 512, k = 0;
    char *x = malloc(cap);
    assert_non_null(x);
    k += (size_t)snprintf(x + k, cap - k,
                          "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Document xmlns=\"%s\">\n<CstmrPmtStsRpt>\n"
                          "<GrpHdr><MsgId>%s</MsgId><CreDtTm>2040-03-02T09:00:00</CreDtTm></GrpHdr>\n"
                          "<OrgnlGrpInfAndSts><OrgnlMsgId>%s</OrgnlMsgId><OrgnlMsgNmId>pain.001.001.03"
                          "</OrgnlMsgNmId><GrpSts>%s</GrpSts>",
                          ns ? ns : "urn:iso:std:iso:20022:tech:xsd:pain.002.001.03", report_id, msg, grp_sts);
    if (grp_reason)
        k += (size_t)snprintf(x + k, cap - k, "<StsRsnInf><Rsn><Cd>%s</Cd></Rsn></StsRsnInf>", grp_reason);
    k += (size_t)snprintf(x + k, cap - k, "</OrgnlGrpInfAndSts>\n");
    if (n) {
        k += (size_t)snprintf(x + k, cap - k, "<OrgnlPmtInfAndSts><OrgnlPmtInfId>%s</OrgnlPmtInfId>\n", msg);
        for (size_t i = 0; i < n; i++) {
            char e2e[33];
            hex_of(txs[i].order, e2e);
            k += (size_t)snprintf(x + k, cap - k,
                                  "<TxInfAndSts><OrgnlEndToEndId>%s</OrgnlEndToEndId><TxSts>%s</TxSts>", e2e,
                                  txs[i].status);
            if (txs[i].reason)
                k += (size_t)snprintf(x + k, cap - k, "<StsRsnInf><Rsn><Cd>%s</Cd></Rsn></StsRsnInf>",
                                      txs[i].reason);
            k += (size_t)snprintf(x + k, cap - k, "</TxInfAndSts>\n");
        }
        k += (size_t)snprintf(x + k, cap - k, "</OrgnlPmtInfAndSts>\n");
    }
    k += (size_t)snprintf(x + k, cap - k, "</CstmrPmtStsRpt>\n</Document>\n");
    char err[512];
    int v = ns ? -2 : xsd_validate_pain002(x, k, err, sizeof err);
    if (v == -1)
        printf("note: the pain.002.001.03 schema is not there; the report was not validated against it\n");
    else if (v == 0)
        fail_msg("the test's report is not valid pain.002.001.03: %s", err);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fwrite(x, 1, k, f);
    fclose(f);
    free(x);
}

static Atb__V1__BatchReply *create_batch(const char *due)
{
    Atb__V1__CommandMeta meta;
    char id[37];
    ph_meta(&meta, id);
    Atb__V1__Date d;
    ph_date(&d, due);
    Atb__V1__CreateBatch c = ATB__V1__CREATE_BATCH__INIT;
    c.meta = &meta;
    c.due = &d;
    return ph_batch(&P, "CreateBatch", &c.base);
}

/* A batch of what is due by `due`, exported; its id into batch[37]; the file checked. */
static void batch_exported(const char *due, int want_count, int64_t want_sum, char batch[37])
{
    Atb__V1__BatchReply *b = create_batch(due);
    if (b->error && b->error->code)
        fail_msg("CreateBatch: %s", b->error->message);
    assert_int_equal(b->count, want_count);
    assert_int_equal(b->control_sum_cents, want_sum);
    snprintf(batch, 37, "%s", b->batch_id);
    atb__v1__batch_reply__free_unpacked(b, NULL);
    size_t len;
    int code;
    char *x = ph_export(&P, batch, &len, NULL, &code);
    assert_non_null(x);
    int64_t count;
    at_cents sum;
    at_error err;
    if (pay_pain001_check(x, len, &count, &sum, &err) != AT_OK)
        fail_msg("structure: %s (%s)", err.message, err.field);
    assert_int_equal(count, want_count);
    assert_int_equal(sum, want_sum);
    char msg[512];
    if (xsd_validate(x, len, msg, sizeof msg) == 0)
        fail_msg("schema: %s", msg);
    free(x);
}

static void order_of(const char *grant, char out[40])
{
    char sql[320];
    snprintf(sql, sizeof sql, "SELECT order_id FROM payments.orders WHERE grant_key = '%s' AND status <> 'cancelled'",
             grant);
    sh_sql_text(&P.sv, sql, out, 40);
}

/* Nothing of the report was recorded: every order of the batch still waits for the bank. */
static void nothing_recorded(const char *batch, int orders)
{
    assert_int_equal(q("SELECT count(*) FROM payments.orders WHERE batch_id = '%s' AND status = 'batched'", batch),
                     orders);
    assert_int_equal(q("SELECT count(*) FROM payments.batches WHERE batch_id = '%s' AND report_id IS NULL", batch), 1);
    assert_int_equal(q("SELECT count(*) FROM atb.events WHERE stream_id = 'paybatch-%s' AND type = "
                       "'BatchConfirmed'", batch), 0);
}

/* (2) The bank's pain.002 for a real batch: two executed, one rejected for a closed account
 * (AC04); the rejected order goes to the next batch after the IBAN is corrected. Reports
 * that are malformed, of another version, name an order the file did not carry, or answer
 * another file are refused and change nothing. */
static void bank_status_report_file_closes_the_batch(void **state)
{
    (void)state;
    char app[3][37], person[3][37], iban[3][32], grant[3][48], order[3][40];
    static const char *const names[3] = {"Inese Kalniņa", "Jānis Bērziņš", "Olga Ivanova"};
    for (int i = 0; i < 3; i++) {
        at_uuid_v4(app[i]);
        at_uuid_v4(person[i]);
        char acc[16];
        snprintf(acc, sizeof acc, "00000000007%02d", i);
        ph_lv_iban("HABA", acc, iban[i]);
        atb__v1__command_reply__free_unpacked(ph_set_payee(&P, person[i], ATB__V1__PAYEE_KIND__PAYEE_KIND_PERSON,
                                                           names[i], iban[i], NULL), NULL);
        ph_grant(&P, app[i], 1, person[i], "BIRTH", 15000 + 1000 * i, ATB__V1__AMOUNT_PER__AMOUNT_PER_ONCE,
                 ATB__V1__PAYMENT_FORM__PAYMENT_FORM_ACCOUNT, "2040-03-10", NULL, "2040-03-10");
        snprintf(grant[i], sizeof grant[i], "%s/1", app[i]);
        assert_int_equal(wait_q(1, "SELECT count(*) FROM payments.orders WHERE grant_key = '%s'", grant[i]), 1);
        order_of(grant[i], order[i]);
    }
    char batch[37], other[37], path[512];
    batch_exported("2040-03-31", 3, 15000 + 16000 + 17000, batch);
    snprintf(path, sizeof path, "%s/pain002-%d.xml", TEST_TMP_DIR, (int)getpid());
    tx ok[3] = {{order[0], "ACSC", NULL}, {order[1], "RJCT", "AC04"}, {order[2], "ACCP", NULL}};

    /* not well-formed: cut in half */
    write_report(path, NULL, "BANK-2040-03-01", batch, "PART", NULL, ok, 3);
    FILE *f = fopen(path, "r+");
    fseek(f, 0, SEEK_END);
    assert_int_equal(ftruncate(fileno(f), ftell(f) / 2), 0);
    fclose(f);
    cli("payment", "confirm", "--file", path, NULL);
    expect_cli(1, NULL, "not well-formed");
    nothing_recorded(batch, 3);
    /* another version of the message */
    write_report(path, "urn:iso:std:iso:20022:tech:xsd:pain.002.001.10", "BANK-2040-03-01", batch, "PART", NULL,
                 ok, 3);
    cli("payment", "confirm", "--file", path, NULL);
    expect_cli(1, NULL, "namespace is not pain.002.001.03");
    nothing_recorded(batch, 3);
    /* an order the file did not carry: refused by the service, nothing recorded */
    char stranger[37];
    at_uuid_v4(stranger);
    tx unknown[2] = {{order[0], "ACSC", NULL}, {stranger, "RJCT", "AC01"}};
    write_report(path, NULL, "BANK-2040-03-01", batch, "PART", NULL, unknown, 2);
    cli("payment", "confirm", "--file", path, NULL);
    expect_cli(2, NULL, "is not in batch");
    nothing_recorded(batch, 3);
    /* the report answers another file than the batch named on the command line */
    at_uuid_v4(other);
    write_report(path, NULL, "BANK-2040-03-01", other, "PART", NULL, ok, 3);
    cli("payment", "confirm", batch, "--file", path, NULL);
    expect_cli(1, NULL, "the report is about batch");
    nothing_recorded(batch, 3);
    /* and the service itself refuses a report whose original message is another file */
    Atb__V1__CommandMeta meta;
    char id[37], wrong_msg[36];
    ph_meta(&meta, id);
    pay_msg_id_of_batch(other, wrong_msg);
    Atb__V1__ImportConfirmation ic = ATB__V1__IMPORT_CONFIRMATION__INIT;
    ic.meta = &meta;
    ic.batch_id = batch;
    ic.report_id = "BANK-2040-03-01";
    ic.original_message_id = wrong_msg;
    Atb__V1__BatchReply *b = ph_batch(&P, "ImportConfirmation", &ic.base);
    assert_non_null(b->error);
    assert_int_equal(b->error->code, ATB__V1__ERROR_CODE__VALIDATION);
    assert_string_equal(b->error->field, "original_message_id");
    atb__v1__batch_reply__free_unpacked(b, NULL);
    nothing_recorded(batch, 3);
    /* a report that is not final yet */
    write_report(path, NULL, "BANK-2040-03-00", batch, "PDNG", NULL, NULL, 0);
    cli("payment", "confirm", "--file", path, NULL);
    expect_cli(1, NULL, "not final");
    nothing_recorded(batch, 3);

    /* the real report */
    write_report(path, NULL, "BANK-2040-03-01", batch, "PART", NULL, ok, 3);
    cli("payment", "confirm", "--file", path, NULL);
    expect_cli(0, "2 paid, 1 rejected", NULL);
    assert_int_equal(q("SELECT count(*) FROM payments.orders WHERE order_id IN ('%s', '%s') AND status = 'paid' "
                       "AND paid_on = '2040-03-31'", order[0], order[2]), 2);
    assert_int_equal(q("SELECT count(*) FROM payments.orders WHERE order_id = '%s' AND status = 'rejected' AND "
                       "reject_reason = 'AC04'", order[1]), 1);
    assert_int_equal(q("SELECT count(*) FROM payments.batches WHERE batch_id = '%s' AND report_id = "
                       "'BANK-2040-03-01'", batch), 1);
    /* the same file again changes nothing */
    int64_t events = q("SELECT count(*) FROM atb.events WHERE stream_id = 'paybatch-%s'", batch);
    cli("payment", "confirm", "--file", path, NULL);
    expect_cli(0, NULL, NULL);
    assert_int_equal(q("SELECT count(*) FROM atb.events WHERE stream_id = 'paybatch-%s'", batch), events);

    /* the closed account is replaced: the rejected order, same id, goes to the next batch */
    char iban2[32];
    ph_lv_iban("UNLA", "0000000000799", iban2);
    atb__v1__command_reply__free_unpacked(ph_set_payee(&P, person[1], ATB__V1__PAYEE_KIND__PAYEE_KIND_PERSON,
                                                       names[1], iban2, NULL), NULL);
    assert_int_equal(q("SELECT count(*) FROM payments.orders WHERE order_id = '%s' AND status = 'scheduled'",
                       order[1]), 1);
    char batch2[37];
    batch_exported("2040-04-01", 1, 16000, batch2);
    write_report(path, NULL, "BANK-2040-04-01", batch2, "ACSC", NULL, NULL, 0);
    cli("payment", "confirm", batch2, "--file", path, NULL);
    expect_cli(0, "1 paid, 0 rejected", NULL);
    assert_int_equal(q("SELECT count(*) FROM payments.orders WHERE order_id = '%s' AND status = 'paid' AND "
                       "batch_id = '%s'", order[1], batch2), 1);
    unlink(path);
}

/* (2) The whole file rejected (GrpSts RJCT, AM04: the municipality's account lacked funds),
 * with no transaction listed: every order of the batch is rejected with the group's code. */
static void rejected_file_rejects_every_order(void **state)
{
    (void)state;
    char app[37], person[37], iban[32], order[40], grant[48], path[512], batch[37];
    at_uuid_v4(app);
    at_uuid_v4(person);
    ph_lv_iban("HABA", "0000000000811", iban);
    atb__v1__command_reply__free_unpacked(ph_set_payee(&P, person, ATB__V1__PAYEE_KIND__PAYEE_KIND_PERSON,
                                                       "Marta Liepa", iban, NULL), NULL);
    ph_grant(&P, app, 1, person, "BIRTH", 30000, ATB__V1__AMOUNT_PER__AMOUNT_PER_ONCE,
             ATB__V1__PAYMENT_FORM__PAYMENT_FORM_ACCOUNT, "2040-06-10", NULL, "2040-06-10");
    snprintf(grant, sizeof grant, "%s/1", app);
    assert_int_equal(wait_q(1, "SELECT count(*) FROM payments.orders WHERE grant_key = '%s'", grant), 1);
    order_of(grant, order);
    batch_exported("2040-06-30", 1, 30000, batch);
    snprintf(path, sizeof path, "%s/pain002-rjct-%d.xml", TEST_TMP_DIR, (int)getpid());
    write_report(path, NULL, "BANK-2040-06-01", batch, "RJCT", "AM04", NULL, 0);
    cli("payment", "confirm", "--file", path, NULL);
    expect_cli(0, "0 paid, 1 rejected", NULL);
    assert_int_equal(q("SELECT count(*) FROM payments.orders WHERE order_id = '%s' AND status = 'rejected' AND "
                       "reject_reason = 'AM04'", order), 1);
    unlink(path);
}

static Atb__V1__BatchReply *confirm_all(const char *batch, const char *report)
{
    Atb__V1__CommandMeta meta;
    char id[37];
    ph_meta(&meta, id);
    Atb__V1__ImportConfirmation c = ATB__V1__IMPORT_CONFIRMATION__INIT;
    c.meta = &meta;
    c.batch_id = (char *)batch;
    c.report_id = (char *)report;
    return ph_batch(&P, "ImportConfirmation", &c.base);
}

/* (3) A recovery claim of 50.00 (March was paid 100.00, then corrected to 50.00) is
 * collected from the same person's later GMI of 100.00 a month, at most 20% of each
 * payment: 20.00, 20.00, 10.00 over three batches; the claim's balance is in the history.
 * An order the bank rejected is sent again with what it kept back, not kept back twice. */
static void recovery_claim_collected_from_later_payments(void **state)
{
    (void)state;
    char app[37], app2[37], person[37], iban[32], batch[37];
    at_uuid_v4(app);
    at_uuid_v4(app2);
    at_uuid_v4(person);
    ph_lv_iban("HABA", "0000000000901", iban);
    atb__v1__command_reply__free_unpacked(ph_set_payee(&P, person, ATB__V1__PAYEE_KIND__PAYEE_KIND_PERSON,
                                                       "Valdis Ozoliņš", iban, NULL), NULL);
    ph_grant(&P, app, 2, person, "GMI", 10000, ATB__V1__AMOUNT_PER__AMOUNT_PER_MONTH,
             ATB__V1__PAYMENT_FORM__PAYMENT_FORM_ACCOUNT, "2041-01-01", "2041-03-31", "2041-01-01");
    assert_int_equal(wait_q(3, "SELECT count(*) FROM payments.orders WHERE grant_key = '%s/2'", app), 3);
    batch_exported("2041-03-01", 3, 30000, batch);
    atb__v1__batch_reply__free_unpacked(confirm_all(batch, "R-2041-03"), NULL);
    /* corrected on 15 February to 50.00 a month: March was overpaid by 50.00 */
    ph_override(&P, app, 2, "GMI", 5000, ATB__V1__AMOUNT_PER__AMOUNT_PER_MONTH, "2041-01-01", "2041-03-31",
                "2041-02-15");
    assert_int_equal(wait_q(5000, "SELECT coalesce(sum(amount_cents), 0) FROM payments.recoveries WHERE grant_key = "
                                  "'%s/2'", app), 5000);
    /* a new GMI decision for April to June, 100.00 a month */
    ph_grant(&P, app2, 2, person, "GMI", 10000, ATB__V1__AMOUNT_PER__AMOUNT_PER_MONTH,
             ATB__V1__PAYMENT_FORM__PAYMENT_FORM_ACCOUNT, "2041-04-01", "2041-06-30", "2041-03-20");
    assert_int_equal(wait_q(3, "SELECT count(*) FROM payments.orders WHERE grant_key = '%s/2'", app2), 3);

    static const char *const dues[3] = {"2041-04-01", "2041-05-01", "2041-06-01"};
    static const int64_t kept[3] = {2000, 2000, 1000};
    static const char *const balance[3] = {"balance 30.00", "balance 10.00", "balance 0.00"};
    for (int i = 0; i < 3; i++) {
        batch_exported(dues[i], 1, 10000 - kept[i], batch);
        assert_int_equal(q("SELECT offset_cents FROM payments.orders WHERE batch_id = '%s'", batch), kept[i]);
        assert_int_equal(q("SELECT amount_cents FROM payments.orders WHERE batch_id = '%s'", batch), 10000);
        assert_int_equal(q("SELECT count(*) FROM atb.events WHERE stream_id = 'paybatch-%s' AND type = "
                           "'RecoveryCollected'", batch), 1);
        assert_int_equal(q("SELECT c.amount_cents FROM payments.collections c JOIN payments.recoveries r USING "
                           "(claim_id) WHERE c.batch_id = '%s' AND r.grant_key = '%s/2'", batch, app), kept[i]);
        if (i == 1) {
            /* the bank rejects May's transfer; sent again after the account is corrected, it
             * goes with the same offset, and the claim is not collected twice */
            char order[40], sql[200], iban2[32];
            snprintf(sql, sizeof sql, "SELECT order_id FROM payments.orders WHERE batch_id = '%s'", batch);
            sh_sql_text(&P.sv, sql, order, sizeof order);
            Atb__V1__CommandMeta meta;
            char id[37];
            ph_meta(&meta, id);
            Atb__V1__OrderResult o = ATB__V1__ORDER_RESULT__INIT;
            Atb__V1__OrderResult *op[1] = {&o};
            o.end_to_end_id = order;
            o.rejected = true;
            o.reason = "AC04";
            Atb__V1__ImportConfirmation c = ATB__V1__IMPORT_CONFIRMATION__INIT;
            c.meta = &meta;
            c.batch_id = batch;
            c.report_id = "R-2041-05-rejected";
            c.results = op;
            c.n_results = 1;
            Atb__V1__BatchReply *b = ph_batch(&P, "ImportConfirmation", &c.base);
            assert_int_equal(b->rejected, 1);
            atb__v1__batch_reply__free_unpacked(b, NULL);
            ph_lv_iban("UNLA", "0000000000902", iban2);
            atb__v1__command_reply__free_unpacked(ph_set_payee(&P, person, ATB__V1__PAYEE_KIND__PAYEE_KIND_PERSON,
                                                               "Valdis Ozoliņš", iban2, NULL), NULL);
            batch_exported(dues[i], 1, 10000 - kept[i], batch);
            assert_int_equal(q("SELECT count(*) FROM payments.collections WHERE order_id = '%s'", order), 1);
            assert_int_equal(q("SELECT count(*) FROM atb.events WHERE stream_id = 'paybatch-%s' AND type = "
                               "'RecoveryCollected'", batch), 0);
        }
        atb__v1__batch_reply__free_unpacked(confirm_all(batch, dues[i]), NULL);
        cli("payment", "history", person, NULL);
        expect_cli(0, balance[i], NULL);
    }
    /* the event carries the claim's balance after it */
    Atb__V1__PaymentHistory h = ATB__V1__PAYMENT_HISTORY__INIT;
    h.person = person;
    Atb__V1__OrderList *l = ph_orders(&P, "PaymentHistory", &h.base);
    assert_int_equal(l->n_recoveries, 1);
    assert_int_equal(l->recoveries[0]->amount_cents, 5000);
    assert_int_equal(l->recoveries[0]->collected_cents, 5000);
    int64_t offsets = 0;
    for (size_t i = 0; i < l->n_orders; i++)
        offsets += l->orders[i]->offset_cents;
    assert_int_equal(offsets, 5000);
    atb__v1__order_list__free_unpacked(l, NULL);
    assert_int_equal(q("SELECT count(*) FROM atb.events WHERE type = 'RecoveryCollected'"), 3);
    /* the ledger did not move: each order is owed and paid in full */
    assert_int_equal(q("SELECT granted_cents FROM payments.grants WHERE grant_key = '%s/2'", app2), 30000);
    assert_int_equal(q("SELECT sum(amount_cents) FROM payments.orders WHERE grant_key = '%s/2' AND status = 'paid'",
                       app2), 30000);
    /* nothing more is kept back once the claim is collected */
    ph_grant(&P, app, 3, person, "GMI", 10000, ATB__V1__AMOUNT_PER__AMOUNT_PER_ONCE,
             ATB__V1__PAYMENT_FORM__PAYMENT_FORM_ACCOUNT, "2041-07-01", NULL, "2041-07-01");
    assert_int_equal(wait_q(1, "SELECT count(*) FROM payments.orders WHERE grant_key = '%s/3'", app), 1);
    batch_exported("2041-07-01", 1, 10000, batch);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bank_status_report_file_closes_the_batch),
        cmocka_unit_test(rejected_file_rejects_every_order),
        cmocka_unit_test(recovery_claim_collected_from_later_payments),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
