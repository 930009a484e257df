/*
 * Unit tests for lib/sha256.c: the FIPS 180-2 example digests (appendix
 * B: "abc", the 448-bit two-block message, a million "a"s, fed in uneven
 * pieces) plus the empty string, and agreement with libsodium's SHA-256 on
 * random inputs of every length up to 300 bytes, so a build on OpenSSL
 * and one on libsodium produce the same audit hashes.
 */
#include <sodium.h>
#include <string.h>

#include "check.h"
#include "sha256.h"

static void hex(const unsigned char d[32], char out[65])
{
    sodium_bin2hex(out, 65, d, 32);
}

static void test_fips_180_2_examples(void)
{
    unsigned char d[32];
    char h[65];
    sha256_digest(d, "abc", 3);
    hex(d, h);
    CHECK_EQ_STR(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    sha256_digest(d, two, strlen(two));
    hex(d, h);
    CHECK_EQ_STR(h, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    sha256_digest(d, "", 0);
    hex(d, h);
    CHECK_EQ_STR(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void test_million_a_in_pieces(void)
{
    unsigned char chunk[997], d[32];
    memset(chunk, 'a', sizeof chunk);
    sha256_state st;
    sha256_init(&st);
    size_t left = 1000000;
    for (size_t n = 1; left > 0; n = (n * 7 + 37) % sizeof chunk + 1) {
        size_t take = n < left ? n : left;   /* n <= sizeof chunk */
        sha256_update(&st, chunk, take);
        left -= take;
    }
    sha256_final(&st, d);
    char h[65];
    hex(d, h);
    CHECK_EQ_STR(h, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

static void test_agrees_with_libsodium(void)
{
    unsigned char buf[300], mine[32], theirs[32];
    int differ = 0;
    for (size_t len = 0; len <= sizeof buf; len++) {
        randombytes_buf(buf, len);
        sha256_digest(mine, buf, len);
        crypto_hash_sha256(theirs, buf, len);
        differ += memcmp(mine, theirs, 32) != 0;
    }
    CHECK_EQ_INT(differ, 0);
    CHECK(strcmp(sha256_backend(), "openssl") == 0 || strcmp(sha256_backend(), "libsodium") == 0);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    RUN(test_fips_180_2_examples);
    RUN(test_million_a_in_pieces);
    RUN(test_agrees_with_libsodium);
    return check_summary();
}
