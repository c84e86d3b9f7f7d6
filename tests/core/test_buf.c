/* Tests of libs/core/src/buf.c: the bounded buffer's invariants (never NULL, always
 * terminated, never past max, a failed append changes nothing) and the arena, also as the
 * protobuf-c allocator of a real unpack. */
#include "t.h"
#include <stdio.h>
#include <stdlib.h>
#include "at_buf.h"
#include "atb/v1/common.pb-c.h"

/* Under AddressSanitizer, let an impossible malloc return NULL as glibc does, so the
 * out-of-memory path can be tested in both builds. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "allocator_may_return_null=1";
}

/* The invariants of at_buf.h, checked after every step. */
static void check(const at_buf *b)
{
    assert_non_null(b->ptr);
    assert_true(b->len <= b->max);
    if (b->cap) {
        assert_true(b->len < b->cap);
        assert_true(b->cap - 1 <= b->max);   /* never more memory than the ceiling can use */
    } else {
        assert_int_equal(b->len, 0);
    }
    assert_int_equal(b->ptr[b->len], '\0');
}

static void buf_starts_empty_allocates_nothing_and_is_a_string(void **state)
{
    (void)state;
    at_buf b;
    at_buf_init(&b, 100);
    check(&b);
    assert_string_equal(b.ptr, "");
    assert_int_equal(b.cap, 0);
    at_buf_reset(&b);   /* nothing to reset: still the shared empty string */
    check(&b);
    assert_true(at_buf_append(&b, NULL, 0));   /* nothing appended, nothing allocated */
    assert_int_equal(b.cap, 0);
    at_buf_free(&b);
    check(&b);
    assert_int_equal(b.max, 100);
}

static void buf_appends_until_its_ceiling_and_no_further(void **state)
{
    (void)state;
    at_buf b;
    at_buf_init(&b, 10);
    assert_true(at_buf_puts(&b, "12345"));
    check(&b);
    assert_true(at_buf_printf(&b, "%d", 6789));
    check(&b);
    assert_string_equal(b.ptr, "123456789");
    char *ptr = b.ptr;
    size_t cap = b.cap;
    assert_false(at_buf_puts(&b, "ab"));   /* 11 > 10 */
    assert_false(at_buf_append(&b, "abc", 3));
    assert_false(at_buf_printf(&b, "%s", "xy"));
    check(&b);
    assert_string_equal(b.ptr, "123456789");   /* unchanged, down to the pointer */
    assert_int_equal(b.len, 9);
    assert_ptr_equal(b.ptr, ptr);
    assert_int_equal(b.cap, cap);
    assert_true(at_buf_puts(&b, "a"));   /* exactly max */
    assert_int_equal(b.len, 10);
    check(&b);
    assert_false(at_buf_printf(&b, "%s", "x"));
    assert_false(at_buf_append(&b, "x", 1));
    assert_true(at_buf_append(&b, "x", 0));
    check(&b);
    at_buf_free(&b);
}

static void buf_with_max_zero_holds_only_the_empty_string(void **state)
{
    (void)state;
    at_buf b;
    at_buf_init(&b, 0);
    assert_false(at_buf_puts(&b, "x"));
    assert_true(at_buf_puts(&b, ""));
    assert_true(at_buf_printf(&b, "%s", ""));
    check(&b);
    assert_int_equal(b.cap, 0);
    at_buf_free(&b);
}

static void buf_keeps_embedded_nuls_and_terminates_after_them(void **state)
{
    (void)state;
    at_buf b;
    at_buf_init(&b, 64);
    assert_true(at_buf_append(&b, "a\0b", 3));
    assert_int_equal(b.len, 3);
    assert_memory_equal(b.ptr, "a\0b\0", 4);
    check(&b);
    at_buf_free(&b);
}

static void buf_grows_past_its_first_block_and_never_past_max(void **state)
{
    (void)state;
    at_buf b;
    at_buf_init(&b, 1000);
    char expect[1001] = "";
    for (int i = 0; i < 100; i++) {
        char piece[16];
        snprintf(piece, sizeof piece, "%09d,", i);
        assert_true(at_buf_puts(&b, piece));
        strcat(expect, piece);
        check(&b);
    }
    assert_int_equal(b.len, 1000);
    assert_string_equal(b.ptr, expect);
    assert_int_equal(b.cap, 1001);   /* doubling was clamped to max + 1 */
    assert_false(at_buf_puts(&b, "x"));
    check(&b);
    at_buf_reset(&b);   /* keeps the memory */
    assert_int_equal(b.cap, 1001);
    assert_string_equal(b.ptr, "");
    check(&b);
    at_buf_free(&b);
    assert_int_equal(b.cap, 0);
    check(&b);
}

static void buf_printf_handles_long_output(void **state)
{
    (void)state;
    at_buf b;
    at_buf_init(&b, 5000);
    char big[3001];
    memset(big, 'z', 3000);
    big[3000] = '\0';
    assert_true(at_buf_printf(&b, "<%s>%d", big, 42));
    assert_int_equal(b.len, 3004);
    assert_int_equal(b.ptr[0], '<');
    assert_string_equal(b.ptr + 3001, ">42");
    check(&b);
    /* Too long for what is left: refused, nothing changed. */
    assert_false(at_buf_printf(&b, "%s", big));
    assert_int_equal(b.len, 3004);
    check(&b);
    at_buf_free(&b);
}

static void buf_may_append_from_itself_even_when_it_moves(void **state)
{
    (void)state;
    at_buf b;
    at_buf_init(&b, SIZE_MAX);   /* no ceiling */
    assert_true(at_buf_puts(&b, "abcdefgh"));
    for (int i = 0; i < 10; i++) {   /* 8 -> 8192 bytes, through several reallocs */
        size_t len = b.len;
        assert_true(at_buf_append(&b, b.ptr, b.len));
        assert_int_equal(b.len, 2 * len);
        assert_memory_equal(b.ptr, b.ptr + len, len);
        check(&b);
    }
    assert_int_equal(b.len, 8192);
    assert_true(at_buf_printf(&b, "%.4s|%s", b.ptr + 2, b.ptr + 8188));   /* arguments inside too */
    assert_string_equal(b.ptr + 8192, "cdef|efgh");
    at_buf_reset(&b);
    assert_true(at_buf_puts(&b, "xy"));
    assert_true(at_buf_printf(&b, "%s%s", b.ptr, b.ptr));
    assert_string_equal(b.ptr, "xyxyxy");
    at_buf_free(&b);
}

static void buf_is_unchanged_when_memory_runs_out(void **state)
{
    (void)state;
    at_buf b;
    at_buf_init(&b, SIZE_MAX);
    assert_true(at_buf_puts(&b, "kept"));
    char *ptr = b.ptr;
    /* No machine has this much memory: malloc fails before a byte of the source is read. */
    static const char tiny[1] = {0};
    assert_false(at_buf_append(&b, tiny, SIZE_MAX / 2));
    assert_false(at_buf_append(&b, tiny, SIZE_MAX - 4));   /* len + n + 1 would wrap */
    assert_ptr_equal(b.ptr, ptr);
    assert_string_equal(b.ptr, "kept");
    check(&b);
    at_buf_free(&b);
}

static void arena_allocations_are_aligned_distinct_and_kept(void **state)
{
    (void)state;
    at_arena *a = at_arena_new(256);
    assert_non_null(a);
    char *first = at_arena_strdup(a, "pirmais");
    assert_string_equal(first, "pirmais");
    unsigned char *prev = NULL;
    size_t asked = 8;
    for (int i = 0; i < 1000; i++) {
        size_t n = (size_t)(i % 37);   /* 0 included: still a distinct pointer */
        unsigned char *p = at_arena_alloc(a, n);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % 16, 0);
        assert_true(p != prev);
        memset(p, i & 0xff, n);
        prev = p;
        asked += n ? n : 1;
    }
    assert_string_equal(first, "pirmais");   /* earlier blocks are not touched */
    assert_true(at_arena_used(a) >= asked);
    assert_true(at_arena_used(a) <= asked + 1001 * 15);   /* padding only */
    at_arena_free(a);
    at_arena_free(NULL);
}

static void arena_serves_large_requests_without_abandoning_its_block(void **state)
{
    (void)state;
    at_arena *a = at_arena_new(1024);
    assert_non_null(a);
    unsigned char *p1 = at_arena_alloc(a, 16);
    unsigned char *big = at_arena_alloc(a, 100000);
    unsigned char *p2 = at_arena_alloc(a, 16);
    assert_non_null(big);
    assert_int_equal((uintptr_t)big % 16, 0);
    memset(big, 7, 100000);
    assert_ptr_equal(p2, p1 + 16);   /* the small block carried on */
    assert_true(at_arena_used(a) >= 100032);
    at_arena_free(a);
}

static void arena_reset_reuses_the_first_block(void **state)
{
    (void)state;
    at_arena *a = at_arena_new(0);   /* the minimum block size applies */
    assert_non_null(a);
    void *start = at_arena_alloc(a, 32);
    for (int i = 0; i < 100; i++)
        assert_non_null(at_arena_alloc(a, 200));   /* many more blocks */
    assert_non_null(at_arena_alloc(a, 10000));
    at_arena_reset(a);
    assert_int_equal(at_arena_used(a), 0);
    assert_ptr_equal(at_arena_alloc(a, 32), start);
    at_arena_reset(a);
    at_arena_reset(a);   /* twice is fine */
    at_arena_free(a);   /* the leak checker of the sanitizer build sees every block go */
}

static void arena_refuses_impossible_sizes_and_stays_usable(void **state)
{
    (void)state;
    at_arena *a = at_arena_new(512);
    assert_non_null(a);
    size_t before = at_arena_used(a);
    assert_null(at_arena_alloc(a, SIZE_MAX));
    assert_null(at_arena_alloc(a, SIZE_MAX - 16));
    assert_null(at_arena_alloc(a, SIZE_MAX / 2));
    assert_int_equal(at_arena_used(a), before);
    char *s = at_arena_strdup(a, "vēl strādā");
    assert_string_equal(s, "vēl strādā");
    at_arena_free(a);
}

static size_t pack_reply(uint8_t *buf, size_t n, const char *stream, int64_t version, const char *message)
{
    Atb__V1__CommandReply r = ATB__V1__COMMAND_REPLY__INIT;
    Atb__V1__Error e = ATB__V1__ERROR__INIT;
    e.code = ATB__V1__ERROR_CODE__CONFLICT;
    e.message = (char *)message;
    e.field = "expected_version";
    r.error = &e;
    r.stream_id = (char *)stream;
    r.version = version;
    r.first_position = 1001;
    r.last_position = 1003;
    r.key = "person-key";
    assert_true(atb__v1__command_reply__get_packed_size(&r) <= n);
    return atb__v1__command_reply__pack(&r, buf);
}

static void arena_serves_protobuf_unpack(void **state)
{
    (void)state;
    uint8_t buf[512];
    size_t n = pack_reply(buf, sizeof buf, "household-7", 7, "stream version is stale");
    at_arena *a = at_arena_new(1024);
    assert_non_null(a);
    Atb__V1__CommandReply *u = atb__v1__command_reply__unpack(at_arena_pbc(a), n, buf);
    assert_non_null(u);
    assert_int_equal(u->version, 7);
    assert_int_equal(u->first_position, 1001);
    assert_int_equal(u->last_position, 1003);
    assert_string_equal(u->stream_id, "household-7");
    assert_string_equal(u->key, "person-key");
    assert_non_null(u->error);
    assert_int_equal(u->error->code, ATB__V1__ERROR_CODE__CONFLICT);
    assert_string_equal(u->error->message, "stream version is stale");
    assert_string_equal(u->error->field, "expected_version");
    /* The message lives in the arena. */
    assert_true(at_arena_used(a) > 0);
    atb__v1__command_reply__free_unpacked(u, at_arena_pbc(a));   /* a no-op on the arena */
    at_arena_free(a);
}

static void arena_unpacks_message_after_message_with_resets(void **state)
{
    (void)state;
    at_arena *a = at_arena_new(256);   /* small blocks: large strings need their own */
    assert_non_null(a);
    char big[2000];
    memset(big, 'm', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    uint8_t buf[4096];
    for (int i = 0; i < 500; i++) {
        char stream[32];
        snprintf(stream, sizeof stream, "person-%d", i);
        size_t n = pack_reply(buf, sizeof buf, stream, i, i % 2 ? big : "short");
        Atb__V1__CommandReply *u = atb__v1__command_reply__unpack(at_arena_pbc(a), n, buf);
        assert_non_null(u);
        assert_string_equal(u->stream_id, stream);
        assert_int_equal(u->version, i);
        assert_int_equal(strlen(u->error->message), i % 2 ? sizeof big - 1 : 5);
        /* Truncated bytes fail cleanly; whatever was allocated goes with the reset. */
        assert_null(atb__v1__command_reply__unpack(at_arena_pbc(a), n - 3, buf));
        at_arena_reset(a);
        assert_int_equal(at_arena_used(a), 0);
    }
    at_arena_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(buf_starts_empty_allocates_nothing_and_is_a_string),
        cmocka_unit_test(buf_appends_until_its_ceiling_and_no_further),
        cmocka_unit_test(buf_with_max_zero_holds_only_the_empty_string),
        cmocka_unit_test(buf_keeps_embedded_nuls_and_terminates_after_them),
        cmocka_unit_test(buf_grows_past_its_first_block_and_never_past_max),
        cmocka_unit_test(buf_printf_handles_long_output),
        cmocka_unit_test(buf_may_append_from_itself_even_when_it_moves),
        cmocka_unit_test(buf_is_unchanged_when_memory_runs_out),
        cmocka_unit_test(arena_allocations_are_aligned_distinct_and_kept),
        cmocka_unit_test(arena_serves_large_requests_without_abandoning_its_block),
        cmocka_unit_test(arena_reset_reuses_the_first_block),
        cmocka_unit_test(arena_refuses_impossible_sizes_and_stays_usable),
        cmocka_unit_test(arena_serves_protobuf_unpack),
        cmocka_unit_test(arena_unpacks_message_after_message_with_resets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
