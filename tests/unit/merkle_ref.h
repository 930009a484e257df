/*
 * merkle_ref.h: a deliberately naive RFC 6962 reference for the tests.
 *
 * MTH, PATH and PROOF/SUBPROOF written straight from the recursive
 * definitions in RFC 6962 section 2.1 over an in-memory array of leaf
 * hashes, so the optimised store and verifiers can be compared with the
 * text of the standard.  Also the Certificate Transparency reference leaves
 * and hex helpers.  Header-only: each test is one program.
 */
#ifndef FLAGPOST_TEST_MERKLE_REF_H
#define FLAGPOST_TEST_MERKLE_REF_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "merkle.h"

/* The eight leaf inputs of the Certificate Transparency reference tree, as
 * published in transparency-dev/merkle testonly/constants.go and
 * proof/verify_test.go (originally certificate-transparency's
 * merkle_tree_test.cc), hex encoded. */
static const char *const ref_leaf_hex[8] = {
    "", "00", "10", "2021", "3031", "40414243", "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
};

static inline int ref_unhex(const char *hex, unsigned char *out, size_t max)
{
    size_t n = strlen(hex) / 2;
    if (n > max)
        return -1;
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1)
            return -1;
        out[i] = (unsigned char)v;
    }
    return (int)n;
}

static inline void ref_tohex(const unsigned char *in, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", in[i]);
    out[2 * n] = '\0';
}

static inline void ref_hash_of_hex(const char *hex, unsigned char out[32])
{
    if (ref_unhex(hex, out, 32) != 32)
        memset(out, 0xee, 32);
}

/* The CT reference leaf i's hash. */
static inline void ref_leaf(int i, unsigned char out[32])
{
    unsigned char buf[16];
    int n = ref_unhex(ref_leaf_hex[i], buf, sizeof buf);
    merkle_leaf_hash(buf, (size_t)(n < 0 ? 0 : n), out);
}

static inline uint64_t ref_split(uint64_t n)   /* largest power of two < n */
{
    uint64_t k = 1;
    while (k << 1 < n)
        k <<= 1;
    return k;
}

/* MTH(D[n]) over leaf hashes. */
static inline void ref_mth(const unsigned char (*d)[32], uint64_t n, unsigned char out[32])
{
    if (n == 0) {
        merkle_empty_root(out);
        return;
    }
    if (n == 1) {
        memcpy(out, d[0], 32);
        return;
    }
    uint64_t k = ref_split(n);
    unsigned char l[32], r[32];
    ref_mth(d, k, l);
    ref_mth(d + k, n - k, r);
    merkle_node_hash(l, r, out);
}

/* PATH(m, D[n]); returns the number of hashes written. */
static inline size_t ref_path(uint64_t m, const unsigned char (*d)[32], uint64_t n,
                       unsigned char (*out)[32])
{
    if (n <= 1)
        return 0;
    uint64_t k = ref_split(n);
    size_t len;
    if (m < k) {
        len = ref_path(m, d, k, out);
        ref_mth(d + k, n - k, out[len]);
    } else {
        len = ref_path(m - k, d + k, n - k, out);
        ref_mth(d, k, out[len]);
    }
    return len + 1;
}

static inline size_t ref_subproof(uint64_t m, const unsigned char (*d)[32], uint64_t n, int b,
                           unsigned char (*out)[32])
{
    if (m == n) {
        if (b)
            return 0;
        ref_mth(d, m, out[0]);
        return 1;
    }
    uint64_t k = ref_split(n);
    size_t len;
    if (m <= k) {
        len = ref_subproof(m, d, k, b, out);
        ref_mth(d + k, n - k, out[len]);
    } else {
        len = ref_subproof(m - k, d + k, n - k, 0, out);
        ref_mth(d, k, out[len]);
    }
    return len + 1;
}

/* PROOF(m, D[n]) for 0 < m < n. */
static inline size_t ref_consistency(uint64_t m, const unsigned char (*d)[32], uint64_t n,
                              unsigned char (*out)[32])
{
    if (m == 0 || m >= n)
        return 0;
    return ref_subproof(m, d, n, 1, out);
}

#endif
