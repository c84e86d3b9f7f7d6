/*
 * test_sha256.c -- libs/rules/src/sha256.c against the FIPS 180-4 example vectors
 * (NIST "SHA-256" examples and the long-message test of FIPS 180-2 appendix B).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "rules_int.h"

static void hex_of(const char *msg, size_t n, char out[65]) { rules__sha256_hex(msg, n, out); }

static void sha256_of_empty_message_matches_fips_180_4(void **state)
{
    (void)state;
    char h[65];
    hex_of("", 0, h);
    assert_string_equal(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void sha256_of_abc_matches_fips_180_4(void **state)
{
    (void)state;
    char h[65];
    hex_of("abc", 3, h);
    assert_string_equal(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void sha256_of_two_block_448_bit_message_matches_fips_180_4(void **state)
{
    (void)state;
    const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    char h[65];
    hex_of(m, strlen(m), h);
    assert_string_equal(h, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

static void sha256_of_896_bit_message_matches_fips_180_4(void **state)
{
    (void)state;
    const char *m = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqr"
                    "lmnopqrsmnopqrstnopqrstu";
    char h[65];
    hex_of(m, strlen(m), h);
    assert_string_equal(h, "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}

static void sha256_of_one_million_a_matches_fips_180_4(void **state)
{
    (void)state;
    rules__sha256 c;
    uint8_t d[32];
    char block[1000];
    memset(block, 'a', sizeof block);
    rules__sha256_init(&c);
    for (int i = 0; i < 1000; i++)
        rules__sha256_update(&c, block, sizeof block);
    rules__sha256_final(&c, d);
    static const uint8_t want[32] = {0xcd, 0xc7, 0x6e, 0x5c, 0x99, 0x14, 0xfb, 0x92, 0x81, 0xa1, 0xc7,
                                     0xe2, 0x84, 0xd7, 0x3e, 0x67, 0xf1, 0x80, 0x9a, 0x48, 0xa4, 0x97,
                                     0x20, 0x0e, 0x04, 0x6d, 0x39, 0xcc, 0xc7, 0x11, 0x2c, 0xd0};
    assert_memory_equal(d, want, 32);
}

static void sha256_in_odd_pieces_equals_sha256_in_one_piece(void **state)
{
    (void)state;
    char msg[300];
    for (size_t i = 0; i < sizeof msg; i++)
        msg[i] = (char)(i * 7 + 3);
    uint8_t one[32], many[32];
    rules__sha256 c;
    rules__sha256_init(&c);
    rules__sha256_update(&c, msg, sizeof msg);
    rules__sha256_final(&c, one);
    rules__sha256_init(&c);
    size_t off = 0, step = 1;
    while (off < sizeof msg) {
        size_t n = step < sizeof msg - off ? step : sizeof msg - off;
        rules__sha256_update(&c, msg + off, n);
        off += n;
        step = step * 3 % 67 + 1;
    }
    rules__sha256_final(&c, many);
    assert_memory_equal(one, many, 32);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sha256_of_empty_message_matches_fips_180_4),
        cmocka_unit_test(sha256_of_abc_matches_fips_180_4),
        cmocka_unit_test(sha256_of_two_block_448_bit_message_matches_fips_180_4),
        cmocka_unit_test(sha256_of_896_bit_message_matches_fips_180_4),
        cmocka_unit_test(sha256_of_one_million_a_matches_fips_180_4),
        cmocka_unit_test(sha256_in_odd_pieces_equals_sha256_in_one_piece),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
