/*
 * test_batch_list.c -- ListBatches through the atbalsts-payments binary (services/payments/
 * batch_list.c): the batches newest first with their counts, sums and what became of them
 * (exported, confirmed, paid, rejected); the period filter; a period that ends before it
 * begins refused by field.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "at_uuid.h"
#include "payhelp.h"

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

static void create_batch(const char *due, char out[37])
{
    Atb__V1__CommandMeta meta;
    char id[37];
    ph_meta(&meta, id);
    Atb__V1__Date d;
    ph_date(&d, due);
    Atb__V1__CreateBatch c = ATB__V1__CREATE_BATCH__INIT;
    c.meta = &meta;
    c.due = &d;
    Atb__V1__BatchReply *b = ph_batch(&P, "CreateBatch", &c.base);
    if (b->error && b->error->code)
        fail_msg("CreateBatch: %s", b->error->message);
    snprintf(out, 37, "%s", b->batch_id);
    atb__v1__batch_reply__free_unpacked(b, NULL);
}

static Atb__V1__BatchList *list(const char *from, const char *to)
{
    Atb__V1__Date f, t;
    Atb__V1__ListBatches q = ATB__V1__LIST_BATCHES__INIT;
    if (from) {
        ph_date(&f, from);
        q.from = &f;
    }
    if (to) {
        ph_date(&t, to);
        q.to = &t;
    }
    natsMsg *m = ph_request(&P, "qry", "ListBatches", &q.base, WAIT);
    assert_non_null(m);
    Atb__V1__BatchList *l = atb__v1__batch_list__unpack(NULL, (size_t)natsMsg_GetDataLength(m),
                                                        (const uint8_t *)natsMsg_GetData(m));
    natsMsg_Destroy(m);
    assert_non_null(l);
    return l;
}

static void batches_are_listed_with_what_became_of_them(void **state)
{
    (void)state;
    Atb__V1__BatchList *l = list(NULL, NULL);
    assert_null(l->error);
    assert_int_equal(l->n_batches, 0);
    atb__v1__batch_list__free_unpacked(l, NULL);

    char app[37], person[37], iban[32], first[37], second[37];
    at_uuid_v4(app);
    at_uuid_v4(person);
    ph_grant(&P, app, 2, person, "GMI", 10000, ATB__V1__AMOUNT_PER__AMOUNT_PER_MONTH,
             ATB__V1__PAYMENT_FORM__PAYMENT_FORM_ACCOUNT, "2026-01-15", "2026-06-30", "2026-01-20");
    assert_int_equal(ph_wait_sql(&P, 6, WAIT, "SELECT count(*) FROM payments.orders"), 6);
    ph_lv_iban("HABA", "0000000000101", iban);
    atb__v1__command_reply__free_unpacked(ph_set_payee(&P, person, ATB__V1__PAYEE_KIND__PAYEE_KIND_PERSON,
                                                       "Līga Kalniņa", iban, NULL), NULL);
    /* January to March (54.84 + 2 x 100.00), exported and confirmed */
    create_batch("2026-03-01", first);
    size_t len;
    bool dup;
    int code;
    free(ph_export(&P, first, &len, &dup, &code));
    Atb__V1__CommandMeta meta;
    char id[37];
    ph_meta(&meta, id);
    Atb__V1__ImportConfirmation c = ATB__V1__IMPORT_CONFIRMATION__INIT;
    c.meta = &meta;
    c.batch_id = first;
    c.report_id = "BANKREPORT-7";
    Atb__V1__BatchReply *b = ph_batch(&P, "ImportConfirmation", &c.base);
    if (b->error && b->error->code)
        fail_msg("ImportConfirmation: %s", b->error->message);
    atb__v1__batch_reply__free_unpacked(b, NULL);
    /* April and May, left unexported */
    create_batch("2026-05-01", second);

    l = list(NULL, NULL);
    assert_null(l->error);
    assert_int_equal(l->n_batches, 2);
    assert_int_equal(l->total_cents, 25484 + 20000);
    Atb__V1__BatchSummary *n = l->batches[0], *o = l->batches[1];
    if (strcmp(n->batch_id, second) != 0) {   /* created in the same microsecond: by id */
        assert_string_equal(o->batch_id, second);
        Atb__V1__BatchSummary *tmp = n;
        n = o;
        o = tmp;
    }
    assert_string_equal(o->batch_id, first);
    assert_int_equal(o->count, 3);
    assert_int_equal(o->total_cents, 25484);
    assert_true(o->exported);
    assert_int_equal(strlen(o->sha256), 64);
    assert_true(o->confirmed);
    assert_string_equal(o->report_id, "BANKREPORT-7");
    assert_int_equal(o->paid, 3);
    assert_int_equal(o->rejected, 0);
    assert_int_equal(o->execution_date->year, 2026);
    int64_t today = ph_sql(&P, "SELECT to_char((now() AT TIME ZONE 'Europe/Riga')::date, 'YYYYMMDD')::bigint");
    assert_int_equal(o->created->year * 10000 + o->created->month * 100 + o->created->day, today);
    assert_int_equal(n->count, 2);
    assert_int_equal(n->total_cents, 20000);
    assert_false(n->exported);
    assert_string_equal(n->sha256, "");
    assert_false(n->confirmed);
    assert_int_equal(n->paid, 0);
    atb__v1__batch_list__free_unpacked(l, NULL);

    /* the period: created today, so a period of the past holds none */
    l = list("2020-01-01", "2020-12-31");
    assert_null(l->error);
    assert_int_equal(l->n_batches, 0);
    atb__v1__batch_list__free_unpacked(l, NULL);
    l = list("2020-01-01", NULL);
    assert_int_equal(l->n_batches, 2);
    atb__v1__batch_list__free_unpacked(l, NULL);

    l = list("2026-03-01", "2026-02-01");
    assert_non_null(l->error);
    assert_int_equal(l->error->code, ATB__V1__ERROR_CODE__VALIDATION);
    assert_string_equal(l->error->field, "to");
    assert_string_equal(l->error->message, "to is before from");
    atb__v1__batch_list__free_unpacked(l, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(batches_are_listed_with_what_became_of_them),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
