/* Tests of libs/core/src/uuid.c: SHA-1 against the FIPS 180 vectors, name-based UUIDs
 * against the published python.org example, random UUIDs' shape. */
#include "t.h"
#include <stdio.h>
#include "at_uuid.h"
#include "sha1.h"

static void hex(const uint8_t *b, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", b[i]);
}

static void sha1_matches_the_fips_vectors(void **state)
{
    (void)state;
    const char *in[] = {"abc", "", "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"};
    const char *want[] = {"a9993e364706816aba3e25717850c26c9cd0d89d", "da39a3ee5e6b4b0d3255bfef95601890afd80709",
                          "84983e441c3bd26ebaae4aa1f95129e5e54670f1"};
    for (int i = 0; i < 3; i++) {
        at__sha1 s;
        uint8_t h[20];
        char x[41];
        at__sha1_init(&s);
        at__sha1_update(&s, in[i], strlen(in[i]));
        at__sha1_final(&s, h);
        hex(h, 20, x);
        assert_string_equal(x, want[i]);
    }
    /* a million 'a', fed in uneven pieces */
    at__sha1 s;
    uint8_t h[20];
    char x[41], a[997];
    memset(a, 'a', sizeof a);
    at__sha1_init(&s);
    size_t left = 1000000;
    while (left) {
        size_t n = left < sizeof a ? left : sizeof a;
        at__sha1_update(&s, a, n);
        left -= n;
    }
    at__sha1_final(&s, h);
    hex(h, 20, x);
    assert_string_equal(x, "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
}

static void derive_gives_the_rfc_4122_name_based_uuid(void **state)
{
    (void)state;
    char u[AT_UUID_LEN + 1], v[AT_UUID_LEN + 1];
    at_uuid_derive("6ba7b810-9dad-11d1-80b4-00c04fd430c8", "python.org", u);
    assert_string_equal(u, "886313e1-3b8a-5372-9b90-0c9aee199e5d");
    at_uuid_derive("6ba7b810-9dad-11d1-80b4-00c04fd430c8", "python.org", v);
    assert_string_equal(u, v);
    at_uuid_derive("6ba7b810-9dad-11d1-80b4-00c04fd430c8", "python.org.", v);
    assert_string_not_equal(u, v);
}

static void v4_has_version_and_variant_bits(void **state)
{
    (void)state;
    char a[AT_UUID_LEN + 1], b[AT_UUID_LEN + 1];
    for (int i = 0; i < 100; i++) {
        at_uuid_v4(a);
        at_uuid_v4(b);
        assert_true(at_uuid_valid(a));
        assert_int_equal(a[14], '4');
        assert_true(strchr("89ab", a[19]) != NULL);
        assert_string_not_equal(a, b);
    }
}

static void valid_checks_the_shape(void **state)
{
    (void)state;
    assert_true(at_uuid_valid("886313E1-3B8A-5372-9B90-0C9AEE199E5D"));
    assert_false(at_uuid_valid("886313e1-3b8a-5372-9b90-0c9aee199e5"));
    assert_false(at_uuid_valid("886313e1x3b8a-5372-9b90-0c9aee199e5d"));
    assert_false(at_uuid_valid("886313g1-3b8a-5372-9b90-0c9aee199e5d"));
    assert_false(at_uuid_valid(NULL));
    assert_false(at_uuid_valid(""));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sha1_matches_the_fips_vectors),
        cmocka_unit_test(derive_gives_the_rfc_4122_name_based_uuid),
        cmocka_unit_test(v4_has_version_and_variant_bits),
        cmocka_unit_test(valid_checks_the_shape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
