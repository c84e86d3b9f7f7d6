/*
 * test_payments.c -- atbalsts-payments against real PostgreSQL and NATS: decisions and
 * charges appended to the log as means testing and service allocation append them,
 * carried by atbalsts-relay, turned into orders, batches, pain.001 files and payments.
 *
 * Each scenario uses its own year, later than the one before: a batch collects every
 * order due by its date, and the earlier scenarios leave none open.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "at_uuid.h"
#include "pay_core.h"
#include "payhelp.h"
#include "xsdcheck.h"
#include "atb/v1/allocation.pb-c.h"

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
    /* a clean drain (exit 0; under ASan also no leak) */
    return ph_cleanup(&P) == 0 ? 0 : -1;
}

/* shorthands for payhelp's formatted SQL on this file's database */
#define q(...) ph_sqlf(&P, __VA_ARGS__)
#define wait_q(want, ...) ph_wait_sqlf(&P, (want), WAIT, __VA_ARGS__)

static Atb__V1__BatchReply *create_batch(const char *due, char *command_id)
{
    Atb__V1__CommandMeta meta;
    char id[37];
    ph_meta(&meta, id);
    if (command_id)
        meta.command_id = command_id;
    Atb__V1__Date d;
    ph_date(&d, due);
    Atb__V1__CreateBatch c = ATB__V1__CREATE_BATCH__INIT;
    c.meta = &meta;
    c.due = &d;
    return ph_batch(&P, "CreateBatch", &c.base);
}

static Atb__V1__BatchReply *confirm(const char *batch_id, const char *report, const char *reject_order,
                                    const char *reason)
{
    Atb__V1__CommandMeta meta;
    char id[37];
    ph_meta(&meta, id);
    Atb__V1__ImportConfirmation c = ATB__V1__IMPORT_CONFIRMATION__INIT;
    c.meta = &meta;
    c.batch_id = (char *)batch_id;
    c.report_id = (char *)report;
    Atb__V1__OrderResult o = ATB__V1__ORDER_RESULT__INIT;
    Atb__V1__OrderResult *op[1] = {&o};
    if (reject_order) {
        o.end_to_end_id = (char *)reject_order;
        o.rejected = true;
        o.reason = (char *)reason;
        c.results = op;
        c.n_results = 1;
    }
    return ph_batch(&P, "ImportConfirmation", &c.base);
}

/* Export, check the structure and the sums, and validate against the schema when it is
 * there. Returns the file (malloc'd). */
static char *export_checked(const char *batch_id, int64_t want_count, int64_t want_sum, bool *duplicate)
{
    size_t len;
    int code;
    char *x = ph_export(&P, batch_id, &len, duplicate, &code);
    assert_non_null(x);
    int64_t count;
    at_cents sum;
    at_error err;
    if (pay_pain001_check(x, len, &count, &sum, &err) != AT_OK)
        fail_msg("structure: %s (%s)", err.message, err.field);
    assert_int_equal(count, want_count);
    assert_int_equal(sum, want_sum);
    char msg[512];
    int v = xsd_validate(x, len, msg, sizeof msg);
    if (v == -1)
        printf("note: the pain.001.001.03 schema is not there; validated the structure only\n");
    else if (v != 1)
        fail_msg("schema: %s", msg);
    return x;
}

static int64_t events_of(const char *stream)
{
    return q("SELECT count(*) FROM atb.events WHERE stream_id = '%s'", stream);
}

/* (1) A needy household's GMI: paid monthly over its period, the first month pro rata; a
 * revocation mid-period stops the months not begun. */
static void gmi_paid_monthly_and_stopped_when_revoked(void **state)
{
    (void)state;
    char app[37], person[37], iban[32];
    at_uuid_v4(app);
    at_uuid_v4(person);
    ph_grant(&P, app, 2, person, "GMI", 10000, ATB__V1__AMOUNT_PER__AMOUNT_PER_MONTH,
             ATB__V1__PAYMENT_FORM__PAYMENT_FORM_ACCOUNT, "2026-01-15", "2026-06-30", "2026-01-20");
    assert_int_equal(wait_q(6, "SELECT count(*) FROM payments.orders WHERE grant_key = '%s/2'", app), 6);
    /* 17 of January's 31 days: 54.84, due on the decision's day */
    assert_int_equal(q("SELECT amount_cents FROM payments.orders WHERE grant_key = '%s/2' AND slot_from = "
                       "'2026-01-15' AND due = '2026-01-20'", app), 5484);
    assert_int_equal(q("SELECT sum(amount_cents) FROM payments.orders WHERE grant_key = '%s/2'", app), 55484);
    assert_int_equal(q("SELECT granted_cents FROM payments.grants WHERE grant_key = '%s/2'", app), 55484);
    assert_int_equal(q("SELECT count(*) FROM payments.orders WHERE grant_key = '%s/2' AND budget_code = '6421' "
                       "AND funding = 'municipal' AND payee = '%s'", app, person), 6);

    /* the person's account; a batch of what is due by 1 March: January to March */
    ph_lv_iban("HABA", "0000000000101", iban);
    atb__v1__command_reply__free_unpacked(ph_set_payee(&P, person, ATB__V1__PAYEE_KIND__PAYEE_KIND_PERSON,
                                                       "Līga Kalniņa", iban, NULL), NULL);
    Atb__V1__BatchReply *b = create_batch("2026-03-01", NULL);
    assert_true(!b->error || b->error->code == 0);
    assert_int_equal(b->count, 3);
    assert_int_equal(b->control_sum_cents, 25484);
    char batch[37];
    snprintf(batch, sizeof batch, "%s", b->batch_id);
    atb__v1__batch_reply__free_unpacked(b, NULL);
    bool dup = true;
    char *x = export_checked(batch, 3, 25484, &dup);
    assert_false(dup);
    assert_non_null(strstr(x, iban));
    assert_null(strstr(x, person));   /* the file names the account, never the person key */

    /* exported twice: the same bytes, nothing appended */
    char stream[80];
    snprintf(stream, sizeof stream, "paybatch-%s", batch);
    int64_t before = events_of(stream);
    char *y = export_checked(batch, 3, 25484, &dup);
    assert_true(dup);
    assert_string_equal(x, y);
    assert_int_equal(events_of(stream), before);
    free(x);
    free(y);

    /* the bank confirms; the same report again changes nothing; another report is refused */
    b = confirm(batch, "BANKREPORT-1", NULL, NULL);
    assert_true(!b->error || b->error->code == 0);
    assert_int_equal(b->paid, 3);
    atb__v1__batch_reply__free_unpacked(b, NULL);
    before = events_of(stream);
    b = confirm(batch, "BANKREPORT-1", NULL, NULL);
    assert_true(b->duplicate);
    atb__v1__batch_reply__free_unpacked(b, NULL);
    b = confirm(batch, "BANKREPORT-2", NULL, NULL);
    assert_non_null(b->error);
    assert_int_equal(b->error->code, ATB__V1__ERROR_CODE__CONFLICT);
    atb__v1__batch_reply__free_unpacked(b, NULL);
    assert_int_equal(events_of(stream), before);
    assert_int_equal(q("SELECT count(*) FROM payments.orders WHERE grant_key = '%s/2' AND status = 'paid'", app), 3);

    /* revoked on 15 March: April to June stop, March (begun) stays paid, nothing to recover */
    ph_override(&P, app, 2, "GMI", 0, 0, NULL, NULL, "2026-03-15");
    assert_int_equal(wait_q(3, "SELECT count(*) FROM payments.orders WHERE grant_key = '%s/2' AND status = "
                               "'cancelled'", app), 3);
    assert_int_equal(q("SELECT count(*) FROM payments.orders WHERE grant_key = '%s/2' AND status = 'scheduled'", app),
                     0);
    assert_int_equal(q("SELECT granted_cents FROM payments.grants WHERE grant_key = '%s/2'", app), 25484);
    assert_int_equal(q("SELECT count(*) FROM payments.recoveries WHERE grant_key = '%s/2'", app), 0);

    /* the history shows every order, the cancelled ones too */
    Atb__V1__PaymentHistory h = ATB__V1__PAYMENT_HISTORY__INIT;
    h.person = person;
    Atb__V1__OrderList *l = ph_orders(&P, "PaymentHistory", &h.base);
    assert_int_equal(l->n_orders, 6);
    assert_int_equal(l->total_cents, 25484);
    atb__v1__order_list__free_unpacked(l, NULL);
}

/* Revoked after the months were paid: the excess is a recovery claim, the paid orders
 * stay as they are. A changed amount replaces the months not begun. */
static void overpayment_becomes_a_recovery_claim_and_a_new_amount_replaces_open_months(void **state)
{
    (void)state;
    char app[37], app2[37], person[37], iban[32];
    at_uuid_v4(app);
    at_uuid_v4(app2);
    at_uuid_v4(person);
    ph_lv_iban("HABA", "0000000000202", iban);
    atb__v1__command_reply__free_unpacked(ph_set_payee(&P, person, ATB__V1__PAYEE_KIND__PAYEE_KIND_PERSON,
                                                       "Pēteris Ozols", iban, NULL), NULL);
    ph_grant(&P, app, 2, person, "GMI", 10000, ATB__V1__AMOUNT_PER__AMOUNT_PER_MONTH,
             ATB__V1__PAYMENT_FORM__PAYMENT_FORM_ACCOUNT, "2030-01-01", "2030-04-30", "2030-01-01");
    ph_grant(&P, app2, 2, person, "HOUSING", 4000, ATB__V1__AMOUNT_PER__AMOUNT_PER_MONTH,
             ATB__V1__PAYMENT_FORM__PAYMENT_FORM_ACCOUNT, "2030-05-01", "2030-08-31", "2030-05-01");
    assert_int_equal(wait_q(8, "SELECT count(*) FROM payments.orders WHERE grant_key IN ('%s/2', '%s/2')", app, app2),
                     8);
    Atb__V1__BatchReply *b = create_batch("2030-04-01", NULL);
    assert_int_equal(b->count, 4);
    char batch[37];
    snprintf(batch, sizeof batch, "%s", b->batch_id);
    atb__v1__batch_reply__free_unpacked(b, NULL);
    free(export_checked(batch, 4, 40000, NULL));
    atb__v1__batch_reply__free_unpacked(confirm(batch, "R-2030-04", NULL, NULL), NULL);

    /* a correction on 10 February: March and April were paid and are not owed */
    ph_override(&P, app, 2, "GMI", 0, 0, NULL, NULL, "2030-02-10");
    assert_int_equal(wait_q(2, "SELECT count(*) FROM payments.recoveries WHERE grant_key = '%s/2'", app), 2);
    assert_int_equal(q("SELECT sum(amount_cents) FROM payments.recoveries WHERE grant_key = '%s/2'", app), 20000);
    assert_int_equal(q("SELECT count(*) FROM payments.orders WHERE grant_key = '%s/2' AND status = 'paid'", app), 4);
    assert_int_equal(q("SELECT granted_cents FROM payments.grants WHERE grant_key = '%s/2'", app), 20000);

    /* housing changed to 25.00 on 20 June: July and August at the new amount */
    ph_override(&P, app2, 2, "HOUSING", 2500, ATB__V1__AMOUNT_PER__AMOUNT_PER_MONTH, "2030-05-01", "2030-08-31",
                "2030-06-20");
    assert_int_equal(wait_q(2, "SELECT count(*) FROM payments.orders WHERE grant_key = '%s/2' AND status = "
                               "'cancelled'", app2), 2);
    assert_int_equal(q("SELECT count(*) FROM payments.orders WHERE grant_key = '%s/2' AND status = 'scheduled' "
                       "AND amount_cents = 2500 AND due >= '2030-07-01'", app2), 2);
    assert_int_equal(q("SELECT granted_cents FROM payments.grants WHERE grant_key = '%s/2'", app2), 13000);

    Atb__V1__PaymentHistory h = ATB__V1__PAYMENT_HISTORY__INIT;
    h.person = person;
    Atb__V1__OrderList *l = ph_orders(&P, "PaymentHistory", &h.base);
    assert_int_equal(l->n_recoveries, 2);
    atb__v1__order_list__free_unpacked(l, NULL);
}

/* (1) Crisis meals are paid to the canteen the social service names, not to the client. */
static void canteen_paid_directly_for_crisis_meals(void **state)
{
    (void)state;
    char app[37], person[37], canteen[37], iban[32];
    at_uuid_v4(app);
    at_uuid_v4(person);
    at_uuid_v4(canteen);
    ph_lv_iban("UNLA", "0000000000303", iban);
    atb__v1__command_reply__free_unpacked(ph_set_payee(&P, canteen, ATB__V1__PAYEE_KIND__PAYEE_KIND_PROVIDER,
                                                       "SIA Ēdnīca Saule", iban, "CRISIS_MEALS"), NULL);
    /* 60 lunches at 2.50 for the calendar year */
    ph_grant(&P, app, 1, person, "CRISIS_MEALS", 15000, ATB__V1__AMOUNT_PER__AMOUNT_PER_YEAR,
             ATB__V1__PAYMENT_FORM__PAYMENT_FORM_PROVIDER, "2027-01-01", "2027-12-31", "2027-02-03");
    assert_int_equal(wait_q(1, "SELECT count(*) FROM payments.orders WHERE grant_key = '%s/1' AND payee = '%s' AND "
                               "channel = 'provider' AND due = '2027-02-03'", app, canteen), 1);
    Atb__V1__BatchReply *b = create_batch("2027-02-28", NULL);
    assert_int_equal(b->count, 1);
    char batch[37];
    snprintf(batch, sizeof batch, "%s", b->batch_id);
    atb__v1__batch_reply__free_unpacked(b, NULL);
    char *x = export_checked(batch, 1, 15000, NULL);
    assert_non_null(strstr(x, iban));
    assert_non_null(strstr(x, "SIA Ēdnīca Saule"));
    free(x);
    b = confirm(batch, "R-2027-02", NULL, NULL);
    assert_int_equal(b->paid, 1);
    atb__v1__batch_reply__free_unpacked(b, NULL);
}

/* (1) A place bought from a neighbouring municipality, charged by service allocation
 * (InterMunicipalCharge); a provider's hours, the municipality's share of them
 * (ChargeRecorded); the client's own share is no payment of ours. The events are the
 * ones allocation appends (allocation.proto), on its stream charges-<t>.<from>.<to>. */
static void inter_municipal_charge_paid(void **state)
{
    (void)state;
    char charge[37], charge2[37], charge3[37], person[37], iban[32], iban2[32];
    at_uuid_v4(charge);
    at_uuid_v4(charge2);
    at_uuid_v4(charge3);
    at_uuid_v4(person);
    ph_lv_iban("TREL", "0000000000404", iban);
    ph_lv_iban("HABA", "0000000000405", iban2);
    atb__v1__command_reply__free_unpacked(ph_set_payee(&P, "municipality:augsdaugava",
                                                       ATB__V1__PAYEE_KIND__PAYEE_KIND_MUNICIPALITY,
                                                       "Augšdaugavas novada pašvaldība", iban, NULL), NULL);
    atb__v1__command_reply__free_unpacked(ph_set_payee(&P, "provider:daugavpils.aprupe_majas",
                                                       ATB__V1__PAYEE_KIND__PAYEE_KIND_PROVIDER,
                                                       "SIA Aprūpe mājās", iban2, NULL), NULL);
    Atb__V1__Date f, t;
    ph_date(&f, "2028-01-01");
    ph_date(&t, "2028-01-31");
    Atb__V1__InterMunicipalCharge imc = ATB__V1__INTER_MUNICIPAL_CHARGE__INIT;
    imc.charge_key = charge;
    imc.agreement = "daugavpils-augsdaugava-2028";
    imc.buyer = PH_TENANT;
    imc.seller = "augsdaugava";
    imc.provider = "krizes_centrs";
    imc.person_key = person;
    imc.units = 31;
    imc.unit_price_cents = 2500;
    imc.amount_cents = 77500;
    imc.period_from = &f;
    imc.period_to = &t;
    imc.ekk_code = "7210";
    imc.funding_source = "municipality";
    imc.service = "crisis_centre";
    Atb__V1__ChargeRecorded own = ATB__V1__CHARGE_RECORDED__INIT;
    own.charge_key = charge2;
    own.person_key = person;
    own.payer = "state";
    own.payee = "provider:daugavpils.aprupe_majas";
    own.amount_cents = 12320;
    own.period_from = &f;
    own.period_to = &t;
    own.units = 20;
    own.unit_price_cents = 616;
    own.ekk_code = "2279";
    own.funding_source = "state";
    own.service = "home_care";
    Atb__V1__ChargeRecorded client = own;
    client.charge_key = charge3;
    client.payer = "client";
    client.funding_source = "client";
    client.amount_cents = 1000;
    ph_append(&P, "charges-daugavpils.2028-01-01.2028-01-31", "InterMunicipalCharge", &imc.base);
    ph_append(&P, "charges-daugavpils.2028-01-01.2028-01-31", "ChargeRecorded", &own.base);
    int64_t last = ph_append(&P, "charges-daugavpils.2028-01-01.2028-01-31", "ChargeRecorded", &client.base);
    assert_int_equal(wait_q(1, "SELECT count(*) FROM payments.orders WHERE grant_key = 'charge/%s' AND channel = "
                               "'municipality' AND payee = 'municipality:augsdaugava' AND budget_code = '7210' AND "
                               "funding = 'municipal' AND due = '2028-02-01'", charge), 1);
    assert_int_equal(wait_q(1, "SELECT count(*) FROM payments.orders WHERE grant_key = 'charge/%s' AND channel = "
                               "'provider' AND funding = 'state' AND amount_cents = 12320", charge2), 1);
    assert_int_equal(wait_q(1, "SELECT count(*) FROM payments.sources WHERE position = %lld", (long long)last), 1);
    assert_int_equal(q("SELECT count(*) FROM payments.orders WHERE grant_key = 'charge/%s'", charge3), 0);
    Atb__V1__BatchReply *b = create_batch("2028-02-01", NULL);
    assert_int_equal(b->count, 2);
    char batch[37];
    snprintf(batch, sizeof batch, "%s", b->batch_id);
    atb__v1__batch_reply__free_unpacked(b, NULL);
    free(export_checked(batch, 2, 89820, NULL));
    atb__v1__batch_reply__free_unpacked(confirm(batch, "R-2028-02", NULL, NULL), NULL);

    /* budget execution for February 2028, from the log: by EKK code and funding source */
    Atb__V1__BudgetReport *r = ph_budget(&P, 2028, 2, 1, 2028, 2, 29);
    assert_true(!r->error || r->error->code == 0);
    assert_int_equal(r->n_lines, 2);
    for (size_t i = 0; i < r->n_lines; i++) {
        if (strcmp(r->lines[i]->budget_code, "7210") == 0) {
            assert_int_equal(r->lines[i]->funding, ATB__V1__FUNDING_SOURCE__FUNDING_SOURCE_MUNICIPAL);
            assert_int_equal(r->lines[i]->paid_cents, 77500);
        } else {
            assert_string_equal(r->lines[i]->budget_code, "2279");
            assert_int_equal(r->lines[i]->funding, ATB__V1__FUNDING_SOURCE__FUNDING_SOURCE_STATE);
            assert_int_equal(r->lines[i]->paid_cents, 12320);
        }
    }
    assert_int_equal(r->paid_cents, 89820);
    atb__v1__budget_report__free_unpacked(r, NULL);
}

/* (1) The bank rejects one order; the client gives a corrected IBAN; the same order goes
 * into the next batch and is paid once. */
static void bank_rejection_requeued_after_corrected_iban(void **state)
{
    (void)state;
    char app[37], person[37], iban[32], iban2[32];
    at_uuid_v4(app);
    at_uuid_v4(person);
    ph_lv_iban("HABA", "0000000000505", iban);
    ph_lv_iban("HABA", "0000000000506", iban2);
    atb__v1__command_reply__free_unpacked(ph_set_payee(&P, person, ATB__V1__PAYEE_KIND__PAYEE_KIND_PERSON,
                                                       "Anna Liepa", iban, NULL), NULL);
    ph_grant(&P, app, 1, person, "BIRTH", 15000, ATB__V1__AMOUNT_PER__AMOUNT_PER_ONCE,
             ATB__V1__PAYMENT_FORM__PAYMENT_FORM_ACCOUNT, "2029-03-10", NULL, "2029-03-10");
    assert_int_equal(wait_q(1, "SELECT count(*) FROM payments.orders WHERE grant_key = '%s/1'", app), 1);
    char order[40], sq[200];
    snprintf(sq, sizeof sq, "SELECT order_id FROM payments.orders WHERE grant_key = '%s/1'", app);
    sh_sql_text(&P.sv, sq, order, sizeof order);
    Atb__V1__BatchReply *b = create_batch("2029-03-31", NULL);
    assert_int_equal(b->count, 1);
    char batch[37];
    snprintf(batch, sizeof batch, "%s", b->batch_id);
    atb__v1__batch_reply__free_unpacked(b, NULL);
    free(export_checked(batch, 1, 15000, NULL));
    /* the bank's report names the order as the file did: 32 hex digits */
    char e2e[33];
    size_t k = 0;
    for (const char *c = order; *c; c++)
        if (*c != '-')
            e2e[k++] = (char)(*c >= 'a' ? *c - 32 : *c);
    e2e[k] = '\0';
    b = confirm(batch, "R-2029-03", e2e, "AC04");
    assert_int_equal(b->rejected, 1);
    assert_int_equal(b->paid, 0);
    atb__v1__batch_reply__free_unpacked(b, NULL);
    assert_int_equal(q("SELECT count(*) FROM payments.orders WHERE order_id = '%s' AND status = 'rejected' AND "
                       "reject_reason = 'AC04'", order), 1);
    /* nothing is due while the account is wrong */
    b = create_batch("2029-03-31", NULL);
    assert_int_equal(b->error->code, ATB__V1__ERROR_CODE__NOT_FOUND);
    atb__v1__batch_reply__free_unpacked(b, NULL);

    Atb__V1__CommandReply *r = ph_set_payee(&P, person, ATB__V1__PAYEE_KIND__PAYEE_KIND_PERSON, "Anna Liepa", iban2,
                                            NULL);
    assert_true(!r->error || r->error->code == 0);
    atb__v1__command_reply__free_unpacked(r, NULL);
    assert_int_equal(q("SELECT count(*) FROM payments.orders WHERE order_id = '%s' AND status = 'scheduled'", order),
                     1);
    b = create_batch("2029-04-01", NULL);
    assert_int_equal(b->count, 1);
    snprintf(batch, sizeof batch, "%s", b->batch_id);
    atb__v1__batch_reply__free_unpacked(b, NULL);
    char *x = export_checked(batch, 1, 15000, NULL);
    assert_non_null(strstr(x, iban2));
    assert_null(strstr(x, iban));
    free(x);
    b = confirm(batch, "R-2029-04", NULL, NULL);
    assert_int_equal(b->paid, 1);
    atb__v1__batch_reply__free_unpacked(b, NULL);
    assert_int_equal(q("SELECT count(*) FROM payments.orders WHERE order_id = '%s' AND status = 'paid'", order), 1);
    assert_int_equal(q("SELECT count(*) FROM payments.batch_orders WHERE order_id = '%s'", order), 2);
    /* no IBAN ever reaches the log */
    assert_int_equal(q("SELECT count(*) FROM atb.events WHERE position(convert_to('%s', 'UTF8') in payload) > 0 OR "
                       "position(convert_to('%s', 'UTF8') in payload) > 0", iban, iban2), 0);
}

/* The right to erasure: the payee's name and account, and the stored files naming them,
 * go; the log never had them; the file's SHA-256 stays. */
static void erasing_a_payee_removes_its_account_and_files(void **state)
{
    (void)state;
    char app[37], person[37], iban[32], id[37], batch[37];
    at_uuid_v4(app);
    at_uuid_v4(person);
    ph_lv_iban("HABA", "0000000000707", iban);
    atb__v1__command_reply__free_unpacked(ph_set_payee(&P, person, ATB__V1__PAYEE_KIND__PAYEE_KIND_PERSON,
                                                       "Marta Egle", iban, NULL), NULL);
    ph_grant(&P, app, 1, person, "BIRTH", 42100, ATB__V1__AMOUNT_PER__AMOUNT_PER_ONCE,
             ATB__V1__PAYMENT_FORM__PAYMENT_FORM_ACCOUNT, "2029-06-10", NULL, "2029-06-10");
    assert_int_equal(wait_q(1, "SELECT count(*) FROM payments.orders WHERE grant_key = '%s/1'", app), 1);
    Atb__V1__BatchReply *b = create_batch("2029-06-30", NULL);
    assert_int_equal(b->count, 1);
    snprintf(batch, sizeof batch, "%s", b->batch_id);
    atb__v1__batch_reply__free_unpacked(b, NULL);
    free(export_checked(batch, 1, 42100, NULL));

    Atb__V1__CommandMeta meta;
    ph_meta(&meta, id);
    Atb__V1__ErasePayee e = ATB__V1__ERASE_PAYEE__INIT;
    e.meta = &meta;
    e.payee = person;
    Atb__V1__CommandReply *r = ph_cmd(&P, "ErasePayee", &e.base);
    assert_true(!r->error || r->error->code == 0);
    int64_t erased_at = r->first_position;
    atb__v1__command_reply__free_unpacked(r, NULL);
    /* the same command again (a retry): its first result, not "nothing left to erase" */
    r = ph_cmd(&P, "ErasePayee", &e.base);
    assert_true(!r->error || r->error->code == 0);
    assert_true(r->duplicate);
    assert_int_equal(r->first_position, erased_at);
    assert_string_equal(r->key, person);
    atb__v1__command_reply__free_unpacked(r, NULL);
    assert_int_equal(q("SELECT count(*) FROM payments.payees WHERE payee = '%s'", person), 0);
    assert_int_equal(q("SELECT count(*) FROM payments.batches WHERE batch_id = '%s' AND xml IS NULL AND sha256 IS "
                       "NOT NULL", batch), 1);
    size_t len;
    int code;
    assert_null(ph_export(&P, batch, &len, NULL, &code));
    assert_int_equal(code, ATB__V1__ERROR_CODE__CONFLICT);
    assert_int_equal(q("SELECT count(*) FROM atb.events WHERE position(convert_to('Marta Egle', 'UTF8') in payload) > "
                       "0 OR position(convert_to('%s', 'UTF8') in payload) > 0", iban), 0);
    /* erased twice: nothing left to erase */
    ph_meta(&meta, id);
    r = ph_cmd(&P, "ErasePayee", &e.base);
    assert_int_equal(r->error->code, ATB__V1__ERROR_CODE__NOT_FOUND);
    atb__v1__command_reply__free_unpacked(r, NULL);
}

/* (4) Bad input: clear errors, nothing appended. */
static void bad_input_is_refused_and_appends_nothing(void **state)
{
    (void)state;
    int64_t head = q("SELECT coalesce(max(position), 0) FROM atb.events");
    char payee[37];
    at_uuid_v4(payee);
    Atb__V1__CommandReply *r = ph_set_payee(&P, payee, ATB__V1__PAYEE_KIND__PAYEE_KIND_PERSON, "Ieva Zariņa",
                                            "LV80BANK0000435195002", NULL);
    assert_int_equal(r->error->code, ATB__V1__ERROR_CODE__VALIDATION);
    assert_string_equal(r->error->field, "iban");
    atb__v1__command_reply__free_unpacked(r, NULL);

    /* a confirmation for a batch that does not exist */
    char nobatch[37];
    at_uuid_v4(nobatch);
    Atb__V1__BatchReply *b = confirm(nobatch, "R-X", NULL, NULL);
    assert_int_equal(b->error->code, ATB__V1__ERROR_CODE__NOT_FOUND);
    assert_string_equal(b->error->field, "batch_id");
    atb__v1__batch_reply__free_unpacked(b, NULL);
    size_t len;
    int code;
    assert_null(ph_export(&P, nobatch, &len, NULL, &code));
    assert_int_equal(code, ATB__V1__ERROR_CODE__NOT_FOUND);
    assert_int_equal(q("SELECT coalesce(max(position), 0) FROM atb.events"), head);

    /* a charge of 0: a dead letter, no order, no payments event */
    char charge[37];
    at_uuid_v4(charge);
    Atb__V1__Date f;
    ph_date(&f, "2031-01-01");
    Atb__V1__InterMunicipalCharge s = ATB__V1__INTER_MUNICIPAL_CHARGE__INIT;
    s.charge_key = charge;
    s.buyer = PH_TENANT;
    s.seller = "augsdaugava";
    s.period_from = &f;
    s.amount_cents = 0;
    int64_t pos = ph_append(&P, "charges-daugavpils.2031-01-01.2031-01-31", "InterMunicipalCharge", &s.base);
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM atb.dead_letters WHERE position = %lld", (long long)pos);
    assert_int_equal(ph_wait_sql(&P, 1, WAIT, sql), 1);
    assert_int_equal(q("SELECT count(*) FROM payments.orders WHERE grant_key = 'charge/%s'", charge), 0);
    assert_int_equal(q("SELECT count(*) FROM atb.events WHERE position > %lld", (long long)pos), 0);

    /* an order of a revoked grant cannot be paid */
    char app[37], person[37], order[40];
    at_uuid_v4(app);
    at_uuid_v4(person);
    ph_grant(&P, app, 1, person, "FUNERAL", 27400, ATB__V1__AMOUNT_PER__AMOUNT_PER_ONCE,
             ATB__V1__PAYMENT_FORM__PAYMENT_FORM_CASH, "2031-02-01", NULL, "2031-02-01");
    assert_int_equal(wait_q(1, "SELECT count(*) FROM payments.orders WHERE grant_key = '%s/1'", app), 1);
    ph_override(&P, app, 1, "FUNERAL", 0, 0, NULL, NULL, "2031-02-02");
    assert_int_equal(wait_q(1, "SELECT count(*) FROM payments.orders WHERE grant_key = '%s/1' AND status = "
                               "'cancelled'", app), 1);
    char sq[200];
    snprintf(sq, sizeof sq, "SELECT order_id FROM payments.orders WHERE grant_key = '%s/1'", app);
    sh_sql_text(&P.sv, sq, order, sizeof order);
    head = q("SELECT coalesce(max(position), 0) FROM atb.events");
    Atb__V1__CommandMeta meta;
    char id[37];
    ph_meta(&meta, id);
    Atb__V1__Date on;
    ph_date(&on, "2031-02-03");
    Atb__V1__RecordCashPayment c = ATB__V1__RECORD_CASH_PAYMENT__INIT;
    c.meta = &meta;
    c.order_id = order;
    c.paid_on = &on;
    r = ph_cmd(&P, "RecordCashPayment", &c.base);
    assert_int_equal(r->error->code, ATB__V1__ERROR_CODE__CONFLICT);
    assert_non_null(strstr(r->error->message, "cancelled"));
    atb__v1__command_reply__free_unpacked(r, NULL);
    assert_int_equal(q("SELECT coalesce(max(position), 0) FROM atb.events"), head);
    /* a paid order is final, even for the service's own role; the ledger holds at commit */
    PGconn *pc = PQconnectdb(P.sv.pg_url);
    assert_int_equal(PQstatus(pc), CONNECTION_OK);
    PGresult *pr = PQexec(pc, "UPDATE payments.orders SET status = 'scheduled' WHERE status = 'paid'");
    assert_int_equal(PQresultStatus(pr), PGRES_FATAL_ERROR);
    assert_non_null(strstr(PQresultErrorMessage(pr), "cannot become"));
    PQclear(pr);
    pr = PQexec(pc, "UPDATE payments.orders SET amount_cents = amount_cents + 1 WHERE status = 'scheduled'");
    assert_int_equal(PQresultStatus(pr), PGRES_FATAL_ERROR);
    assert_non_null(strstr(PQresultErrorMessage(pr), "ledger"));
    PQclear(pr);
    PQfinish(pc);
}

/* Cash at the office: paid once; the same command again is a duplicate, another is refused;
 * a cash order is never in a batch. */
static void cash_paid_once_at_the_office(void **state)
{
    (void)state;
    char app[37], person[37], order[40], sq[200], id[37];
    at_uuid_v4(app);
    at_uuid_v4(person);
    ph_grant(&P, app, 1, person, "FUNERAL", 27400, ATB__V1__AMOUNT_PER__AMOUNT_PER_ONCE,
             ATB__V1__PAYMENT_FORM__PAYMENT_FORM_CASH, "2031-03-01", NULL, "2031-03-02");
    assert_int_equal(wait_q(1, "SELECT count(*) FROM payments.orders WHERE grant_key = '%s/1' AND channel = 'cash'",
                            app), 1);
    snprintf(sq, sizeof sq, "SELECT order_id FROM payments.orders WHERE grant_key = '%s/1'", app);
    sh_sql_text(&P.sv, sq, order, sizeof order);
    /* a batch takes what else is due (the housing months of 2030), never the cash order */
    atb__v1__batch_reply__free_unpacked(create_batch("2031-03-31", NULL), NULL);
    assert_int_equal(q("SELECT count(*) FROM payments.batch_orders WHERE order_id = '%s'", order), 0);
    Atb__V1__CommandMeta meta;
    ph_meta(&meta, id);
    Atb__V1__Date on;
    ph_date(&on, "2031-03-03");
    Atb__V1__RecordCashPayment c = ATB__V1__RECORD_CASH_PAYMENT__INIT;
    c.meta = &meta;
    c.order_id = order;
    c.paid_on = &on;
    Atb__V1__CommandReply *r = ph_cmd(&P, "RecordCashPayment", &c.base);
    assert_true(!r->error || r->error->code == 0);
    assert_false(r->duplicate);
    atb__v1__command_reply__free_unpacked(r, NULL);
    r = ph_cmd(&P, "RecordCashPayment", &c.base);
    assert_true(!r->error || r->error->code == 0);
    assert_true(r->duplicate);
    atb__v1__command_reply__free_unpacked(r, NULL);
    ph_meta(&meta, id);
    r = ph_cmd(&P, "RecordCashPayment", &c.base);
    assert_int_equal(r->error->code, ATB__V1__ERROR_CODE__CONFLICT);
    atb__v1__command_reply__free_unpacked(r, NULL);
    assert_int_equal(q("SELECT count(*) FROM atb.events WHERE stream_id = 'paycash-%s'", order), 1);
    Atb__V1__BudgetReport *br = ph_budget(&P, 2031, 3, 1, 2031, 3, 31);
    assert_int_equal(br->paid_cents, 27400);
    atb__v1__budget_report__free_unpacked(br, NULL);
}

/* (5) Budget execution by EKK code and funding source comes from the log. */
static void budget_execution_by_ekk_and_funding_from_the_log(void **state)
{
    (void)state;
    Atb__V1__BudgetReport *r = ph_budget(&P, 2026, 1, 1, 2026, 12, 31);
    int64_t gmi = 0;
    for (size_t i = 0; i < r->n_lines; i++)
        if (strcmp(r->lines[i]->budget_code, "6421") == 0)
            gmi += r->lines[i]->paid_cents;
    assert_int_equal(gmi, q("SELECT coalesce(sum(amount_cents), 0) FROM payments.orders WHERE status = 'paid' AND "
                            "budget_code = '6421' AND paid_on BETWEEN '2026-01-01' AND '2026-12-31'"));
    assert_true(gmi >= 25484);
    atb__v1__budget_report__free_unpacked(r, NULL);
    r = ph_budget(&P, 2030, 1, 1, 2030, 12, 31);
    int64_t recovered = 0;
    for (size_t i = 0; i < r->n_lines; i++)
        recovered += r->lines[i]->recovered_cents;
    /* the claim is dated when it was raised (now), not in 2030 */
    assert_int_equal(recovered, 0);
    atb__v1__budget_report__free_unpacked(r, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(gmi_paid_monthly_and_stopped_when_revoked),
        cmocka_unit_test(canteen_paid_directly_for_crisis_meals),
        cmocka_unit_test(inter_municipal_charge_paid),
        cmocka_unit_test(bank_rejection_requeued_after_corrected_iban),
        cmocka_unit_test(erasing_a_payee_removes_its_account_and_files),
        cmocka_unit_test(overpayment_becomes_a_recovery_claim_and_a_new_amount_replaces_open_months),
        cmocka_unit_test(bad_input_is_refused_and_appends_nothing),
        cmocka_unit_test(cash_paid_once_at_the_office),
        cmocka_unit_test(budget_execution_by_ekk_and_funding_from_the_log),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
