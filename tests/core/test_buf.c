/* Tests of libs/core/src/buf.c: the bounded buffer's invariants and the arena, also as a
 * protobuf-c allocator. */
#include "t.h"
#include "at_buf.h"
#include "atb/v1/common.pb-c.h"

static void buf_starts_empty_and_usable_as_a_string(void **state)
{
    (void)state;
    at_buf b;
    at_buf_init(&b, 100);
    assert_non_null(b.ptr);
    assert_string_equal(b.ptr, "");
    assert_int_equal(b.len, 0);
    at_buf_free(&b);
    assert_non_null(b.ptr);
}

static void buf_appends_until_its_ceiling_and_no_further(void **state)
{
    (void)state;
    at_buf b;
    at_buf_init(&b, 10);
    assert_true(at_buf_puts(&b, "12345"));
    assert_true(at_buf_printf(&b, "%d", 6789));
    assert_string_equal(b.ptr, "123456789");
    assert_false(at_buf_puts(&b, "ab"));          /* would be 11 > 10 */
    assert_string_equal(b.ptr, "123456789");      /* unchanged */
    assert_int_equal(b.len, 9);
    assert_true(at_buf_puts(&b, "a"));
    assert_int_equal(b.len, 10);
    assert_false(at_buf_printf(&b, "%s", "x"));
    at_buf_reset(&b);
    assert_string_equal(b.ptr, "");
    assert_true(at_buf_append(&b, "\0x", 2));
    assert_int_equal(b.len, 2);
    at_buf_free(&b);
}

static void arena_allocations_are_aligned_and_survive_block_changes(void **state)
{
    (void)state;
    at_arena *a = at_arena_new(256);
    assert_non_null(a);
    char *first = at_arena_strdup(a, "pirmais");
    for (int i = 0; i < 1000; i++) {
        void *p = at_arena_alloc(a, (size_t)(i % 37) + 1);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % 16, 0);
        memset(p, 0xab, (size_t)(i % 37) + 1);
    }
    void *big = at_arena_alloc(a, 10000);
    assert_non_null(big);
    memset(big, 1, 10000);
    assert_string_equal(first, "pirmais");
    assert_true(at_arena_used(a) >= 10000);
    at_arena_reset(a);
    assert_int_equal(at_arena_used(a), 0);
    assert_non_null(at_arena_alloc(a, 8));
    at_arena_free(a);
    at_arena_free(NULL);
}

static void arena_serves_protobuf_unpack(void **state)
{
    (void)state;
    Atb__V1__CommandReply r = ATB__V1__COMMAND_REPLY__INIT;
    Atb__V1__Error e = ATB__V1__ERROR__INIT;
    e.code = ATB__V1__ERROR_CODE__CONFLICT;
    e.message = "stale version";
    r.error = &e;
    r.stream_id = "person-1";
    r.version = 7;
    uint8_t buf[256];
    size_t n = atb__v1__command_reply__pack(&r, buf);
    at_arena *a = at_arena_new(1024);
    Atb__V1__CommandReply *u = atb__v1__command_reply__unpack(at_arena_pbc(a), n, buf);
    assert_non_null(u);
    assert_int_equal(u->version, 7);
    assert_string_equal(u->stream_id, "person-1");
    assert_string_equal(u->error->message, "stale version");
    assert_true(at_arena_used(a) > 0);
    atb__v1__command_reply__free_unpacked(u, at_arena_pbc(a));   /* a no-op on the arena */
    at_arena_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(buf_starts_empty_and_usable_as_a_string),
        cmocka_unit_test(buf_appends_until_its_ceiling_and_no_further),
        cmocka_unit_test(arena_allocations_are_aligned_and_survive_block_changes),
        cmocka_unit_test(arena_serves_protobuf_unpack),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
