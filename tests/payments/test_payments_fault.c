/*
 * test_payments_fault.c -- atbalsts-payments killed in the middle of building a batch
 * (fault point "payments.batch_half": _exit(99) after half the orders were moved, as
 * kill -9 would) and after its commit (libs/eventstore's "txn.after_commit"), then
 * restarted: every due order ends up in exactly one batch, and a retried command finds
 * its batch instead of making a second.
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
#define ORDERS 40

static const char *const IBAN = "LV80BANK0000435195001";

static Atb__V1__CreateBatch *batch_cmd(Atb__V1__CommandMeta *meta, char *id, Atb__V1__Date *due, const char *d)
{
    static Atb__V1__CreateBatch c;
    ph_meta(meta, id);
    ph_date(due, d);
    atb__v1__create_batch__init(&c);
    c.meta = meta;
    c.due = due;
    return &c;
}

static void make_orders(const char *date, int n)
{
    for (int i = 0; i < n; i++) {
        char app[37], person[37];
        at_uuid_v4(app);
        at_uuid_v4(person);
        Atb__V1__CommandReply *r =
            ph_set_payee(&P, person, ATB__V1__PAYEE_KIND__PAYEE_KIND_PERSON, "Klients", IBAN, NULL);
        atb__v1__command_reply__free_unpacked(r, NULL);
        ph_grant(&P, app, 1, person, "BIRTH", 10000 + i, ATB__V1__AMOUNT_PER__AMOUNT_PER_ONCE,
                 ATB__V1__PAYMENT_FORM__PAYMENT_FORM_ACCOUNT, date, NULL, date);
    }
}

static void crash_mid_batch_leaves_every_order_in_exactly_one_batch(void **state)
{
    (void)state;
    make_orders("2026-05-04", ORDERS);
    assert_int_equal(ph_wait_sql(&P, ORDERS, 30000,
                                 "SELECT count(*) FROM payments.orders WHERE due = '2026-05-04'"),
                     ORDERS);
    ph_stop(&P);
    const char *env[] = {"ATB_FAULT=payments.batch_half", NULL};
    assert_true(ph_start(&P, env));
    Atb__V1__CommandMeta meta;
    Atb__V1__Date due;
    char id[37];
    Atb__V1__CreateBatch *c = batch_cmd(&meta, id, &due, "2026-05-31");
    natsMsg *m = ph_request(&P, "cmd", "CreateBatch", &c->base, 3000);
    assert_null(m);   /* the service died before it could answer */
    assert_int_equal(sh_wait_exit(P.sv.pid, 10000), 99);
    P.sv.pid = 0;
    /* nothing of the half-built batch survived */
    assert_int_equal(ph_sql(&P, "SELECT count(*) FROM payments.batches"), 0);
    assert_int_equal(ph_sql(&P, "SELECT count(*) FROM payments.orders WHERE status <> 'scheduled'"), 0);
    assert_int_equal(ph_sql(&P, "SELECT count(*) FROM atb.events WHERE type = 'BatchCreated'"), 0);

    /* restarted: the same command builds the whole batch */
    assert_true(ph_start(&P, NULL));
    Atb__V1__BatchReply *r = ph_batch(&P, "CreateBatch", &c->base);
    assert_true(!r->error || r->error->code == 0);
    assert_int_equal(r->count, ORDERS);
    atb__v1__batch_reply__free_unpacked(r, NULL);
    assert_int_equal(ph_sql(&P, "SELECT count(*) FROM payments.batch_orders"), ORDERS);
    assert_int_equal(ph_sql(&P, "SELECT count(*) FROM (SELECT order_id FROM payments.batch_orders GROUP BY "
                                "order_id HAVING count(*) > 1) d"), 0);
    assert_int_equal(ph_sql(&P, "SELECT count(*) FROM payments.orders WHERE due = '2026-05-04' AND status = "
                                "'batched'"), ORDERS);
    /* the same command again: its batch, nothing new */
    r = ph_batch(&P, "CreateBatch", &c->base);
    assert_true(r->duplicate);
    assert_int_equal(r->count, ORDERS);
    atb__v1__batch_reply__free_unpacked(r, NULL);
    assert_int_equal(ph_sql(&P, "SELECT count(*) FROM atb.events WHERE type = 'BatchCreated'"), 1);
}

static void crash_after_commit_then_retry_returns_the_same_batch(void **state)
{
    (void)state;
    make_orders("2026-06-04", 10);
    assert_int_equal(ph_wait_sql(&P, 10, 30000, "SELECT count(*) FROM payments.orders WHERE due = '2026-06-04'"),
                     10);
    ph_stop(&P);
    const char *env[] = {"ATB_FAULT=txn.after_commit", NULL};
    assert_true(ph_start(&P, env));
    Atb__V1__CommandMeta meta;
    Atb__V1__Date due;
    char id[37];
    Atb__V1__CreateBatch *c = batch_cmd(&meta, id, &due, "2026-06-30");
    assert_null(ph_request(&P, "cmd", "CreateBatch", &c->base, 3000));
    sh_wait_exit(P.sv.pid, 10000);
    P.sv.pid = 0;
    assert_true(ph_start(&P, NULL));
    Atb__V1__BatchReply *r = ph_batch(&P, "CreateBatch", &c->base);
    assert_true(!r->error || r->error->code == 0);
    assert_true(r->duplicate);   /* it had committed: the retry finds it */
    assert_int_equal(r->count, 10);
    atb__v1__batch_reply__free_unpacked(r, NULL);
    assert_int_equal(ph_sql(&P, "SELECT count(*) FROM payments.orders WHERE due = '2026-06-04' AND status = "
                                "'batched'"), 10);
    assert_int_equal(ph_sql(&P, "SELECT count(*) FROM (SELECT order_id FROM payments.batch_orders GROUP BY "
                                "order_id HAVING count(*) > 1) d"), 0);
}

static int setup(void **state)
{
    (void)state;
    t_require_servers(1);
    ph_prepare(&P);
    if (!ph_start(&P, NULL))
        fail_msg("atbalsts-payments did not start");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    /* a clean drain (exit 0; under ASan also no leak) */
    return ph_cleanup(&P) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(crash_mid_batch_leaves_every_order_in_exactly_one_batch),
        cmocka_unit_test(crash_after_commit_then_retry_returns_the_same_batch),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
