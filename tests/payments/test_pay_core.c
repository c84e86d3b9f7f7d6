/*
 * test_pay_core.c -- the pure parts of payments (services/payments/pay_core.h), no
 * servers: schedules with pro-rating, and the pain.001 file with its structural check,
 * which must catch a broken file (no creditor account, a wrong control sum).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pay_core.h"

static at_date D(const char *s)
{
    at_date d;
    assert_int_equal(at_date_parse(s, "d", &d, NULL), AT_OK);
    return d;
}

static void monthly_schedule_prorates_partial_first_and_last_month(void **state)
{
    (void)state;
    pay_terms t = {.amount = 10000, .per = PAY_PER_MONTH, .from = D("2026-01-15"), .to = D("2026-04-10"),
                   .decided_on = D("2026-01-20")};
    pay_slot s[PAY_MAX_SLOTS];
    size_t n;
    assert_int_equal(pay_slots(&t, s, PAY_MAX_SLOTS, &n, NULL), AT_OK);
    assert_int_equal(n, 4);
    assert_int_equal(s[0].amount, 5484);    /* 17 of 31 days: 5483.87 rounded half up */
    assert_int_equal(s[0].from, D("2026-01-15"));
    assert_int_equal(s[0].to, D("2026-01-31"));
    assert_int_equal(s[0].due, D("2026-01-20"));   /* not before the decision */
    assert_int_equal(s[1].amount, 10000);
    assert_int_equal(s[1].due, D("2026-02-01"));
    assert_int_equal(s[2].amount, 10000);
    assert_int_equal(s[3].amount, 3333);    /* 10 of 30 days */
    assert_int_equal(s[3].to, D("2026-04-10"));
}

static void yearly_and_once_schedules_are_one_slot_each(void **state)
{
    (void)state;
    pay_terms season = {.amount = 15000, .per = PAY_PER_YEAR, .from = D("2026-10-01"), .to = D("2027-04-30"),
                        .decided_on = D("2026-09-20")};
    pay_slot s[PAY_MAX_SLOTS];
    size_t n;
    assert_int_equal(pay_slots(&season, s, PAY_MAX_SLOTS, &n, NULL), AT_OK);
    assert_int_equal(n, 1);
    assert_int_equal(s[0].amount, 15000);
    assert_int_equal(s[0].due, D("2026-10-01"));
    pay_terms once = {.amount = 7000, .per = PAY_PER_ONCE, .from = D("2026-05-05"), .to = AT_DATE_NONE,
                      .decided_on = D("2026-05-07")};
    assert_int_equal(pay_slots(&once, s, PAY_MAX_SLOTS, &n, NULL), AT_OK);
    assert_int_equal(n, 1);
    assert_int_equal(s[0].due, D("2026-05-07"));
}

static void schedules_refuse_open_periods_and_negative_amounts(void **state)
{
    (void)state;
    pay_slot s[PAY_MAX_SLOTS];
    size_t n;
    at_error err;
    pay_terms open = {.amount = 100, .per = PAY_PER_MONTH, .from = D("2026-01-01"), .to = AT_DATE_NONE};
    assert_int_equal(pay_slots(&open, s, PAY_MAX_SLOTS, &n, &err), AT_VALIDATION);
    assert_string_equal(err.field, "period_to");
    pay_terms neg = {.amount = -1, .per = PAY_PER_ONCE, .from = D("2026-01-01")};
    assert_int_equal(pay_slots(&neg, s, PAY_MAX_SLOTS, &n, &err), AT_VALIDATION);
    pay_terms none = {.amount = 0, .per = PAY_PER_MONTH, .from = D("2026-01-01"), .to = D("2026-12-31")};
    assert_int_equal(pay_slots(&none, s, PAY_MAX_SLOTS, &n, &err), AT_OK);
    assert_int_equal(n, 0);
}

static const pay_xfer xfers[] = {
    {"0b6f3c1e-1111-4222-8333-944455556666", 12345, "Jānis Bērziņš & Co", "LV80BANK0000435195001", "", "GMI 6421"},
    {"0b6f3c1e-1111-4222-8333-944455556667", 1, "Ēdnīca <Saule>", "DE89370400440532013000", "COBADEFFXXX", ""},
};

static char *render(size_t *len)
{
    pay_batch_file f = {.batch_id = "7d1c0f7e-2a0b-4c51-9f00-aa00bb00cc00",
                        .created_at = "2026-03-01T09:00:00",
                        .execution_date = D("2026-03-02"),
                        .debtor_name = "Daugavpils pilsētas Sociālais dienests",
                        .debtor_iban = "LV80BANK0000435195001",
                        .debtor_bic = "",
                        .xfers = xfers,
                        .n_xfers = 2};
    at_buf b;
    at_buf_init(&b, SIZE_MAX);
    at_error err;
    assert_int_equal(pay_pain001_render(&f, &b, &err), AT_OK);
    assert_true(at_buf_append(&b, "", 1));
    *len = b.len - 1;
    return b.ptr;
}

static void rendered_file_passes_the_structural_check_with_its_sums(void **state)
{
    (void)state;
    size_t len;
    char *x = render(&len);
    int64_t count;
    at_cents sum;
    at_error err;
    assert_int_equal(pay_pain001_check(x, len, &count, &sum, &err), AT_OK);
    assert_int_equal(count, 2);
    assert_int_equal(sum, 12346);
    assert_non_null(strstr(x, "<CtrlSum>123.46</CtrlSum>"));
    assert_non_null(strstr(x, "<EndToEndId>0B6F3C1E111142228333944455556666</EndToEndId>"));
    assert_non_null(strstr(x, "&amp; Co"));
    assert_non_null(strstr(x, "&lt;Saule&gt;"));
    free(x);
}

/* Replace the first `from` in x by `to` (x is malloc'd); the new length in *len. */
static char *replace(char *x, size_t *len, const char *from, const char *to)
{
    char *at = strstr(x, from);
    assert_non_null(at);
    size_t a = (size_t)(at - x), fl = strlen(from), tl = strlen(to);
    char *y = malloc(*len - fl + tl + 1);
    memcpy(y, x, a);
    memcpy(y + a, to, tl);
    memcpy(y + a + tl, at + fl, *len - a - fl + 1);
    *len = *len - fl + tl;
    free(x);
    return y;
}

static void check_catches_missing_creditor_account(void **state)
{
    (void)state;
    size_t len;
    char *x = render(&len);
    x = replace(x, &len, "<CdtrAcct><Id><IBAN>DE89370400440532013000</IBAN></Id></CdtrAcct>", "");
    at_error err;
    assert_int_equal(pay_pain001_check(x, len, NULL, NULL, &err), AT_VALIDATION);
    assert_string_equal(err.field, "CdtTrfTxInf[2]/CdtrAcct/Id/IBAN");
    free(x);
}

static void check_catches_wrong_control_sums(void **state)
{
    (void)state;
    size_t len;
    char *x = render(&len);
    x = replace(x, &len, "<CtrlSum>123.46</CtrlSum>", "<CtrlSum>123.45</CtrlSum>");   /* the group header's */
    at_error err;
    assert_int_equal(pay_pain001_check(x, len, NULL, NULL, &err), AT_VALIDATION);
    assert_string_equal(err.field, "GrpHdr");
    free(x);
    x = render(&len);
    x = replace(x, &len, "<NbOfTxs>2</NbOfTxs><CtrlSum>123.46</CtrlSum><PmtTpInf>",
                "<NbOfTxs>2</NbOfTxs><CtrlSum>123.56</CtrlSum><PmtTpInf>");   /* the PmtInf's */
    assert_int_equal(pay_pain001_check(x, len, NULL, NULL, &err), AT_VALIDATION);
    assert_string_equal(err.field, "PmtInf");
    free(x);
    x = render(&len);
    x = replace(x, &len, "<NbOfTxs>2</NbOfTxs>", "<NbOfTxs>3</NbOfTxs>");
    assert_int_equal(pay_pain001_check(x, len, NULL, NULL, &err), AT_VALIDATION);
    free(x);
}

static void check_catches_a_bad_creditor_iban_and_broken_xml(void **state)
{
    (void)state;
    size_t len;
    char *x = render(&len);
    x = replace(x, &len, "DE89370400440532013000", "DE89370400440532013001");
    at_error err;
    assert_int_equal(pay_pain001_check(x, len, NULL, NULL, &err), AT_VALIDATION);
    assert_string_equal(err.field, "CdtrAcct/Id/IBAN");
    free(x);
    assert_int_equal(pay_pain001_check("<Document>", 10, NULL, NULL, &err), AT_VALIDATION);
}

static void render_refuses_orders_without_amount_or_account(void **state)
{
    (void)state;
    pay_xfer bad[1] = {{"0b6f3c1e-1111-4222-8333-944455556666", 0, "A", "LV80BANK0000435195001", "", ""}};
    pay_batch_file f = {.batch_id = "7d1c0f7e-2a0b-4c51-9f00-aa00bb00cc00", .created_at = "2026-03-01T09:00:00",
                        .execution_date = D("2026-03-02"), .debtor_name = "D", .debtor_iban = "LV80BANK0000435195001",
                        .xfers = bad, .n_xfers = 1};
    at_buf b;
    at_buf_init(&b, SIZE_MAX);
    at_error err;
    assert_int_equal(pay_pain001_render(&f, &b, &err), AT_VALIDATION);
    bad[0].amount = 100;
    bad[0].creditor_iban = "";
    assert_int_equal(pay_pain001_render(&f, &b, &err), AT_VALIDATION);
    f.n_xfers = 0;
    assert_int_equal(pay_pain001_render(&f, &b, &err), AT_VALIDATION);
    at_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(monthly_schedule_prorates_partial_first_and_last_month),
        cmocka_unit_test(yearly_and_once_schedules_are_one_slot_each),
        cmocka_unit_test(schedules_refuse_open_periods_and_negative_amounts),
        cmocka_unit_test(rendered_file_passes_the_structural_check_with_its_sums),
        cmocka_unit_test(check_catches_missing_creditor_account),
        cmocka_unit_test(check_catches_wrong_control_sums),
        cmocka_unit_test(check_catches_a_bad_creditor_iban_and_broken_xml),
        cmocka_unit_test(render_refuses_orders_without_amount_or_account),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
