/*
 * test_wire.c -- the binary wire format of libs/eventstore/src/wire.c, byte for byte.
 * No server needed: the expected bytes are PostgreSQL's array_send() layout.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "es_int.h"

static void text_array_with_null_has_the_postgresql_layout(void **state)
{
    (void)state;
    es__arr a;
    es__arr_init(&a, ES_OID_TEXT);
    es__arr_text(&a, "ab");
    es__arr_text(&a, NULL);
    es__arr_text(&a, "");
    es__arr_finish(&a);
    static const uint8_t want[] = {
        0, 0, 0, 1,          /* ndim */
        0, 0, 0, 1,          /* has nulls */
        0, 0, 0, 25,         /* text */
        0, 0, 0, 3,          /* 3 elements */
        0, 0, 0, 1,          /* lower bound 1 */
        0, 0, 0, 2, 'a', 'b',
        0xff, 0xff, 0xff, 0xff,
        0, 0, 0, 0,
    };
    assert_false(a.failed);
    assert_int_equal(a.len, sizeof want);
    assert_memory_equal(a.p, want, sizeof want);
    es__arr_free(&a);
}

static void integer_and_uuid_elements_are_big_endian(void **state)
{
    (void)state;
    es__arr a;
    es__arr_init(&a, ES_OID_INT8);
    es__arr_int8(&a, -2);
    es__arr_finish(&a);
    static const uint8_t want8[] = {0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 20, 0, 0, 0, 1, 0, 0, 0, 1,
                                    0, 0, 0, 8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe};
    assert_memory_equal(a.p, want8, sizeof want8);
    es__arr_free(&a);

    es__arr_init(&a, ES_OID_UUID);
    es__arr_uuid(&a, "00112233-4455-6677-8899-AABBCCDDEEFF");
    es__arr_uuid(&a, "");
    es__arr_finish(&a);
    assert_int_equal(a.len, 20 + 4 + 16 + 4);
    static const uint8_t id[] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
                                 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};
    assert_memory_equal(a.p + 24, id, 16);
    assert_int_equal(es__get_int4((const char *)a.p + 40), -1);
    assert_int_equal(es__get_int4((const char *)a.p + 4), 1);
    es__arr_free(&a);
}

static void uuid_text_round_trips_and_bad_text_is_refused(void **state)
{
    (void)state;
    uint8_t b[16];
    char out[37];
    assert_true(es__uuid_parse("6F1C0A2B-3D4E-4F50-8a9b-0c1d2e3f4a5b", b));
    es__uuid_format(b, out);
    assert_string_equal(out, "6f1c0a2b-3d4e-4f50-8a9b-0c1d2e3f4a5b");
    const char *bad[] = {"", "6f1c0a2b3d4e4f508a9b0c1d2e3f4a5b", "6f1c0a2b-3d4e-4f50-8a9b-0c1d2e3f4a5",
                         "6f1c0a2b-3d4e-4f50-8a9b-0c1d2e3f4a5b0", "6f1c0a2b-3d4e-4f50-8a9b_0c1d2e3f4a5b",
                         "6f1c0a2b-3d4e-4f50-8a9b-0c1d2e3f4a5g"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_false(es__uuid_parse(bad[i], b));
}

static void many_elements_grow_the_buffer(void **state)
{
    (void)state;
    es__arr a;
    es__arr_init(&a, ES_OID_BYTEA);
    uint8_t payload[100];
    memset(payload, 0xab, sizeof payload);
    for (int i = 0; i < 10000; i++)
        es__arr_bytes(&a, payload, sizeof payload);
    es__arr_finish(&a);
    assert_false(a.failed);
    assert_int_equal(a.len, 20 + 10000 * 104);
    assert_int_equal(es__get_int4((const char *)a.p + 12), 10000);
    assert_int_equal(es__get_int4((const char *)a.p + 4), 0);
    es__arr_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(text_array_with_null_has_the_postgresql_layout),
        cmocka_unit_test(integer_and_uuid_elements_are_big_endian),
        cmocka_unit_test(uuid_text_round_trips_and_bad_text_is_refused),
        cmocka_unit_test(many_elements_grow_the_buffer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
