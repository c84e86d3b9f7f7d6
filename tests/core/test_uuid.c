/* Tests of libs/core/src/uuid.c: SHA-1 against the RFC 3174 test vectors and the padding
 * boundaries, name-based UUIDs against values from an independent implementation (Python's
 * uuid.uuid5, as published in its documentation for python.org), random UUIDs' shape,
 * spread and uniqueness across threads. */
#include "t.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include "at_uuid.h"
#include "sha1.h"

static void hex(const uint8_t *b, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", b[i]);
}

/* SHA-1 of `repeat` copies of s, fed in pieces of `piece` bytes (0 = one call per copy). */
static void sha1_hex(const char *s, long repeat, size_t piece, char out[41])
{
    at__sha1 h;
    uint8_t d[20];
    at__sha1_init(&h);
    size_t n = strlen(s);
    for (long r = 0; r < repeat; r++) {
        if (piece == 0) {
            at__sha1_update(&h, s, n);
            continue;
        }
        for (size_t at = 0; at < n; at += piece)
            at__sha1_update(&h, s + at, n - at < piece ? n - at : piece);
    }
    at__sha1_final(&h, d);
    hex(d, 20, out);
}

static void sha1_matches_the_rfc_3174_vectors(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        long repeat;
        const char *digest;
    } v[] = {
        {"abc", 1, "a9993e364706816aba3e25717850c26c9cd0d89d"},
        {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 1, "84983e441c3bd26ebaae4aa1f95129e5e54670f1"},
        {"a", 1000000, "34aa973cd4c4daa4f61eeb2bdbad27316534016f"},
        {"0123456701234567012345670123456701234567012345670123456701234567", 10,
         "dea356a2cddd90c7a7ecedc5ebb563934f460452"},
        {"", 1, "da39a3ee5e6b4b0d3255bfef95601890afd80709"},   /* FIPS 180 empty message */
    };
    static const size_t pieces[] = {0, 1, 3, 63, 64, 65};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        for (size_t p = 0; p < sizeof pieces / sizeof pieces[0]; p++) {
            if (v[i].repeat > 1000 && pieces[p] != 0)
                continue;   /* a million one-byte calls already */
            char x[41];
            sha1_hex(v[i].in, v[i].repeat, pieces[p], x);
            assert_string_equal(x, v[i].digest);
        }
}

static void sha1_pads_correctly_around_the_block_boundaries(void **state)
{
    (void)state;
    /* Messages of 'a' whose padding fits, just fits, or spills into another block; the
     * digests come from the system's sha1sum. */
    static const struct {
        long n;
        const char *digest;
    } v[] = {
        {55, "c1c8bbdc22796e28c0e15163d20899b65621d65a"},  {56, "c2db330f6083854c99d4b5bfb6e8f29f201be699"},
        {57, "f08f24908d682555111be7ff6f004e78283d989a"},  {63, "03f09f5b158a7a8cdad920bddc29b81c18a551f5"},
        {64, "0098ba824b5c16427bd7a1122a5a442a25ec644d"},  {65, "11655326c708d70319be2610e8a57d9a5b959d3b"},
        {119, "ee971065aaa017e0632a8ca6c77bb3bf8b1dfc56"}, {120, "f34c1488385346a55709ba056ddd08280dd4c6d6"},
        {128, "ad5b3fdbcb526778c2839d2f151ea753995e26a0"},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        char x[41];
        sha1_hex("a", v[i].n, 0, x);
        assert_string_equal(x, v[i].digest);
    }
}

static void sha1_final_leaves_the_state_ready_for_reuse(void **state)
{
    (void)state;
    at__sha1 h;
    uint8_t d[20];
    char x[41];
    at__sha1_init(&h);
    at__sha1_update(&h, "something else", 14);
    at__sha1_final(&h, d);
    at__sha1_update(&h, "abc", 3);
    at__sha1_final(&h, d);
    hex(d, 20, x);
    assert_string_equal(x, "a9993e364706816aba3e25717850c26c9cd0d89d");
}

#define NS_DNS "6ba7b810-9dad-11d1-80b4-00c04fd430c8"

static void derive_equals_the_rfc_4122_version_5_uuid(void **state)
{
    (void)state;
    char u[AT_UUID_LEN + 1];
    at_uuid_derive(NS_DNS, "python.org", u);
    assert_string_equal(u, "886313e1-3b8a-5372-9b90-0c9aee199e5d");
    at_uuid_derive("6ba7b811-9dad-11d1-80b4-00c04fd430c8", "https://atbalsts.example/x", u);   /* URL namespace */
    assert_string_equal(u, "44caf155-9bf3-5edc-9827-e4f540e077d5");
    at_uuid_derive(NS_DNS, "pašvaldība.lv", u);   /* the name is hashed as its UTF-8 bytes */
    assert_string_equal(u, "a20605a6-4f7a-5e26-9dbc-083007f742f1");
    /* Derived ids are stored, so they must never change: pin one in intake's person-key
     * namespace. */
    at_uuid_derive("1b0d8f9e-5c2a-4f47-9a61-6c1f3e0f2a10", "7c9e6679-7425-40de-944b-e07fc1f90ae7", u);
    assert_string_equal(u, "90f27771-93ed-5b40-a689-08c8245dc15f");
}

static void derive_is_deterministic_and_sensitive_to_every_input(void **state)
{
    (void)state;
    char a[AT_UUID_LEN + 1], b[AT_UUID_LEN + 1], c[AT_UUID_LEN + 1];
    at_uuid_derive(NS_DNS, "event-1/allocation", a);
    at_uuid_derive(NS_DNS, "event-1/allocation", b);
    assert_string_equal(a, b);
    at_uuid_derive(NS_DNS, "event-1/allocation.", c);
    assert_string_not_equal(a, c);
    at_uuid_derive("6ba7b811-9dad-11d1-80b4-00c04fd430c8", "event-1/allocation", c);
    assert_string_not_equal(a, c);
    /* The namespace's case does not matter: it is read as bytes. */
    at_uuid_derive("6BA7B810-9DAD-11D1-80B4-00C04FD430C8", "event-1/allocation", c);
    assert_string_equal(a, c);
    assert_true(at_uuid_valid(a));
    assert_int_equal(a[14], '5');
    assert_non_null(strchr("89ab", a[19]));
    for (int i = 0; i < AT_UUID_LEN; i++)
        assert_true(a[i] == '-' || (a[i] >= '0' && a[i] <= '9') || (a[i] >= 'a' && a[i] <= 'f'));
}

static void derive_treats_a_bad_namespace_as_nil_and_null_name_as_empty(void **state)
{
    (void)state;
    char u[AT_UUID_LEN + 1], v[AT_UUID_LEN + 1];
    at_uuid_derive("00000000-0000-0000-0000-000000000000", "x", u);
    assert_string_equal(u, "f3e951bb-a80b-5e6c-a038-a56ee0caa25d");   /* uuid5(nil, "x") */
    at_uuid_derive("not a uuid", "x", v);
    assert_string_equal(v, u);
    at_uuid_derive(NULL, "x", v);
    assert_string_equal(v, u);
    at_uuid_derive(NS_DNS "0", "x", v);   /* one character too many */
    assert_string_equal(v, u);
    at_uuid_derive(NULL, NULL, u);
    assert_string_equal(u, "e129f27c-5103-5c5c-844b-cdf0a15e160d");   /* uuid5(nil, "") */
    at_uuid_derive(NULL, "", v);
    assert_string_equal(u, v);
}

static int compare_ids(const void *a, const void *b)
{
    return memcmp(a, b, AT_UUID_LEN + 1);
}

static void v4_has_version_and_variant_bits_and_random_rest(void **state)
{
    (void)state;
    enum { N = 2000 };
    char (*ids)[AT_UUID_LEN + 1] = malloc(N * sizeof *ids);
    assert_non_null(ids);
    unsigned seen_one[AT_UUID_LEN] = {0}, seen_zero[AT_UUID_LEN] = {0};
    for (int i = 0; i < N; i++) {
        at_uuid_v4(ids[i]);
        assert_true(at_uuid_valid(ids[i]));
        assert_int_equal(strlen(ids[i]), AT_UUID_LEN);
        assert_int_equal(ids[i][14], '4');
        assert_non_null(strchr("89ab", ids[i][19]));
        for (int k = 0; k < AT_UUID_LEN; k++) {
            int x = ids[i][k] == '-' ? -1 : (ids[i][k] <= '9' ? ids[i][k] - '0' : ids[i][k] - 'a' + 10);
            assert_true(ids[i][k] == '-' || (x >= 0 && x < 16));   /* lower case only */
            if (x >= 0) {
                seen_one[k] |= (unsigned)x;
                seen_zero[k] |= (unsigned)~x & 15;
            }
        }
    }
    /* Every random bit was seen both set and clear: 122 bits, 2000 draws. */
    for (int k = 0; k < AT_UUID_LEN; k++) {
        if (k == 8 || k == 13 || k == 18 || k == 23 || k == 14)
            continue;
        unsigned fixed = k == 19 ? 0xC : 0;   /* the variant's two top bits */
        assert_int_equal(seen_one[k] | fixed, 15);
        assert_int_equal((seen_zero[k] | fixed), 15);
    }
    qsort(ids, N, sizeof *ids, compare_ids);
    for (int i = 1; i < N; i++)
        assert_string_not_equal(ids[i - 1], ids[i]);
    free(ids);
}

enum { THREADS = 4, PER_THREAD = 2000 };

static void *make_ids(void *arg)
{
    char (*ids)[AT_UUID_LEN + 1] = arg;
    for (int i = 0; i < PER_THREAD; i++)
        at_uuid_v4(ids[i]);
    return NULL;
}

static void v4_is_unique_across_threads(void **state)
{
    (void)state;
    char (*ids)[AT_UUID_LEN + 1] = malloc(THREADS * PER_THREAD * sizeof *ids);
    assert_non_null(ids);
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, make_ids, ids + i * PER_THREAD), 0);
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_join(t[i], NULL), 0);
    qsort(ids, THREADS * PER_THREAD, sizeof *ids, compare_ids);
    for (int i = 1; i < THREADS * PER_THREAD; i++)
        assert_string_not_equal(ids[i - 1], ids[i]);
    free(ids);
}

static void valid_checks_the_8_4_4_4_12_shape(void **state)
{
    (void)state;
    assert_true(at_uuid_valid("886313e1-3b8a-5372-9b90-0c9aee199e5d"));
    assert_true(at_uuid_valid("886313E1-3B8A-5372-9B90-0C9AEE199E5D"));
    assert_true(at_uuid_valid("00000000-0000-0000-0000-000000000000"));
    assert_false(at_uuid_valid("886313e1-3b8a-5372-9b90-0c9aee199e5"));     /* short */
    assert_false(at_uuid_valid("886313e1-3b8a-5372-9b90-0c9aee199e5d0"));   /* long */
    assert_false(at_uuid_valid("886313e1x3b8a-5372-9b90-0c9aee199e5d"));
    assert_false(at_uuid_valid("886313e13-b8a-5372-9b90-0c9aee199e5d"));    /* dash moved */
    assert_false(at_uuid_valid("886313g1-3b8a-5372-9b90-0c9aee199e5d"));
    assert_false(at_uuid_valid("{886313e1-3b8a-5372-9b90-0c9aee199e5d}"));
    assert_false(at_uuid_valid("886313e13b8a53729b900c9aee199e5d"));
    assert_false(at_uuid_valid(" 886313e1-3b8a-5372-9b90-0c9aee199e5d"));
    assert_false(at_uuid_valid(NULL));
    assert_false(at_uuid_valid(""));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sha1_matches_the_rfc_3174_vectors),
        cmocka_unit_test(sha1_pads_correctly_around_the_block_boundaries),
        cmocka_unit_test(sha1_final_leaves_the_state_ready_for_reuse),
        cmocka_unit_test(derive_equals_the_rfc_4122_version_5_uuid),
        cmocka_unit_test(derive_is_deterministic_and_sensitive_to_every_input),
        cmocka_unit_test(derive_treats_a_bad_namespace_as_nil_and_null_name_as_empty),
        cmocka_unit_test(v4_has_version_and_variant_bits_and_random_rest),
        cmocka_unit_test(v4_is_unique_across_threads),
        cmocka_unit_test(valid_checks_the_8_4_4_4_12_shape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
