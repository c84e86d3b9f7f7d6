/*
 * test_pay_xsd.c -- the pain.001 file against the official ISO 20022 schema
 * (pain.001.001.03.xsd, not part of the repository: ATB_PAIN_XSD or the shared schema
 * folder found by CMake). Without the schema this program says so and exits 77 (skipped);
 * test_pay_core's structural checks run either way.
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
#include "xsdcheck.h"

static char *render(size_t n, size_t *len)
{
    pay_xfer *x = calloc(n, sizeof *x);
    char (*ids)[37] = calloc(n, 37);
    for (size_t i = 0; i < n; i++) {
        snprintf(ids[i], 37, "0b6f3c1e-1111-4222-8333-%012u", (unsigned)(i % 1000000u));
        x[i] = (pay_xfer){ids[i], (at_cents)(100 + i), "Līga Kalniņa", "LV80BANK0000435195001",
                          i % 2 ? "HABALV22" : "", "GMI 6421 2026-03-01..2026-03-31"};
    }
    at_date exec;
    at_date_parse("2026-03-02", "d", &exec, NULL);
    pay_batch_file f = {.batch_id = "7d1c0f7e-2a0b-4c51-9f00-aa00bb00cc00",
                        .created_at = "2026-03-01T09:00:00",
                        .execution_date = exec,
                        .debtor_name = "Daugavpils pilsētas Sociālais dienests",
                        .debtor_iban = "LV80BANK0000435195001",
                        .debtor_bic = "PARXLV22",
                        .xfers = x,
                        .n_xfers = n};
    at_buf b;
    at_buf_init(&b, SIZE_MAX);
    assert_int_equal(pay_pain001_render(&f, &b, NULL), AT_OK);
    at_buf_append(&b, "", 1);
    *len = b.len - 1;
    free(x);
    free(ids);
    return b.ptr;
}

static void rendered_file_validates_against_the_schema(void **state)
{
    (void)state;
    size_t len;
    char msg[512];
    for (size_t n = 1; n <= 50; n += 49) {
        char *x = render(n, &len);
        int rc = xsd_validate(x, len, msg, sizeof msg);
        if (rc != 1)
            fail_msg("%zu transfers: %s", n, msg);
        free(x);
    }
}

static void schema_refuses_a_file_without_debtor_account(void **state)
{
    (void)state;
    size_t len;
    char msg[512];
    char *x = render(1, &len);
    char *a = strstr(x, "<DbtrAcct>"), *b = strstr(x, "</DbtrAcct>");
    assert_non_null(a);
    memmove(a, b + strlen("</DbtrAcct>"), strlen(b + strlen("</DbtrAcct>")) + 1);
    assert_int_equal(xsd_validate(x, strlen(x), msg, sizeof msg), 0);
    free(x);
}

int main(void)
{
    if (!xsd_path()) {
        printf("SKIP: the pain.001.001.03 schema is not there (set ATB_PAIN_XSD); the structural checks of "
               "test_pay_core still run\n");
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rendered_file_validates_against_the_schema),
        cmocka_unit_test(schema_refuses_a_file_without_debtor_account),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
