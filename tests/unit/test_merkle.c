/*
 * test_merkle: RFC 6962 hashing and proof verification against published
 * test vectors.
 *
 * Source of every expected hash below: the Certificate Transparency
 * project's reference Merkle tree test data as carried by
 * github.com/transparency-dev/merkle (rfc6962/rfc6962_test.go for the leaf
 * and empty-tree hashes; proof/verify_test.go for the roots of the 1..8
 * leaf reference trees and the inclusion and consistency proofs).  The
 * corruption probes mirror the kinds of damage that file tries (wrong
 * index, wrong size, wrong root, extra or missing or flipped components).
 */
#include <sodium.h>
#include <stdlib.h>

#include "check.h"
#include "merkle.h"
#include "merkle_ref.h"

static const char *const ROOTS[8] = {
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};

struct vector {
    uint64_t a, b;          /* inclusion: leaf index (0-based), size; consistency: sizes */
    int len;
    const char *path[3];
};

/* verify_test.go inclusionProofs (its leaf numbers are 1-based). */
static const struct vector INCLUSION[] = {
    {0, 8, 3, {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
               "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
               "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
    {5, 8, 3, {"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
               "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
               "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
    {2, 3, 1, {"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"}},
    {1, 5, 3, {"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
               "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
               "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}},
};

/* verify_test.go consistencyProofs. */
static const struct vector CONSISTENCY[] = {
    {1, 8, 3, {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
               "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
               "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
    {6, 8, 3, {"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
               "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
               "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
    {2, 5, 2, {"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
               "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}},
    {6, 7, 3, {"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
               "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
               "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
};

static void root_of_size(uint64_t n, unsigned char out[32])
{
    ref_hash_of_hex(ROOTS[n - 1], out);
}

static void load_path(const struct vector *v, unsigned char (*path)[32])
{
    for (int i = 0; i < v->len; i++)
        ref_hash_of_hex(v->path[i], path[i]);
}

static void test_leaf_and_empty_hashes(void)
{
    unsigned char h[32], want[32];
    merkle_empty_root(h);
    ref_hash_of_hex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", want);
    CHECK(memcmp(h, want, 32) == 0);

    merkle_leaf_hash(NULL, 0, h);
    ref_hash_of_hex("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d", want);
    CHECK(memcmp(h, want, 32) == 0);

    merkle_leaf_hash((const uint8_t *)"L123456", 7, h);
    ref_hash_of_hex("395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56", want);
    CHECK(memcmp(h, want, 32) == 0);
}

static void test_node_hash_is_prefixed_and_ordered(void)
{
    unsigned char a[32], b[32], ab[32], ba[32], leaf_of_concat[32], cat[64];
    merkle_leaf_hash((const uint8_t *)"Hello", 5, a);
    merkle_leaf_hash((const uint8_t *)"World", 5, b);
    merkle_node_hash(a, b, ab);
    merkle_node_hash(b, a, ba);
    memcpy(cat, a, 32);
    memcpy(cat + 32, b, 32);
    merkle_leaf_hash(cat, 64, leaf_of_concat);
    CHECK(memcmp(ab, ba, 32) != 0);
    CHECK(memcmp(ab, leaf_of_concat, 32) != 0);
}

static void test_reference_roots(void)
{
    unsigned char leaves[8][32], root[32], want[32];
    for (int i = 0; i < 8; i++)
        ref_leaf(i, leaves[i]);
    for (uint64_t n = 1; n <= 8; n++) {
        merkle_root_from_leaves((const unsigned char(*)[32])leaves, n, root);
        root_of_size(n, want);
        CHECK(memcmp(root, want, 32) == 0);
    }
    merkle_root_from_leaves((const unsigned char(*)[32])leaves, 0, root);
    merkle_empty_root(want);
    CHECK(memcmp(root, want, 32) == 0);
}

static void test_inclusion_vectors(void)
{
    for (size_t v = 0; v < sizeof INCLUSION / sizeof INCLUSION[0]; v++) {
        const struct vector *t = &INCLUSION[v];
        unsigned char path[4][32], leaf[32], root[32], bad[4][32], other[32];
        load_path(t, path);
        ref_leaf((int)t->a, leaf);
        root_of_size(t->b, root);
        const unsigned char(*p)[32] = (const unsigned char(*)[32])path;
        size_t n = (size_t)t->len;
        CHECK(merkle_verify_inclusion(t->a, t->b, leaf, p, n, root));

        /* Probes that must all fail. */
        CHECK(!merkle_verify_inclusion(t->a + 1, t->b, leaf, p, n, root));
        CHECK(!merkle_verify_inclusion(t->a ^ 2, t->b, leaf, p, n, root));
        if (t->a > 0)
            CHECK(!merkle_verify_inclusion(t->a - 1, t->b, leaf, p, n, root));
        CHECK(!merkle_verify_inclusion(t->a, t->b * 2, leaf, p, n, root));
        CHECK(!merkle_verify_inclusion(t->a, t->b / 2, leaf, p, n, root));
        merkle_empty_root(other);
        CHECK(!merkle_verify_inclusion(t->a, t->b, leaf, p, n, other));
        CHECK(!merkle_verify_inclusion(t->a, t->b, other, p, n, root));
        CHECK(!merkle_verify_inclusion(t->a, t->b, leaf, p, n - 1, root));
        memcpy(bad, path, sizeof path);
        memcpy(bad[n], root, 32);   /* trailing root */
        CHECK(!merkle_verify_inclusion(t->a, t->b, leaf, (const unsigned char(*)[32])bad,
                                       n + 1, root));
        memcpy(bad[0], root, 32);   /* preceding root */
        memcpy(bad + 1, path, n * 32);
        CHECK(!merkle_verify_inclusion(t->a, t->b, leaf, (const unsigned char(*)[32])bad,
                                       n + 1, root));
        for (size_t i = 0; i < n; i++) {
            memcpy(bad, path, sizeof path);
            bad[i][0] ^= 8;
            CHECK(!merkle_verify_inclusion(t->a, t->b, leaf,
                                           (const unsigned char(*)[32])bad, n, root));
        }
    }
}

/* The RFC-text reference in merkle_ref.h (which test_audit_log compares the
 * store's proofs with) produces exactly the published proofs. */
static void test_reference_generates_published_proofs(void)
{
    unsigned char leaves[8][32], got[MERKLE_MAX_PROOF][32], want[4][32];
    for (int i = 0; i < 8; i++)
        ref_leaf(i, leaves[i]);
    const unsigned char(*d)[32] = (const unsigned char(*)[32])leaves;
    for (size_t v = 0; v < sizeof INCLUSION / sizeof INCLUSION[0]; v++) {
        load_path(&INCLUSION[v], want);
        size_t len = ref_path(INCLUSION[v].a, d, INCLUSION[v].b, got);
        CHECK_EQ_INT(len, INCLUSION[v].len);
        CHECK(memcmp(got, want, len * 32) == 0);
    }
    for (size_t v = 0; v < sizeof CONSISTENCY / sizeof CONSISTENCY[0]; v++) {
        load_path(&CONSISTENCY[v], want);
        size_t len = ref_consistency(CONSISTENCY[v].a, d, CONSISTENCY[v].b, got);
        CHECK_EQ_INT(len, CONSISTENCY[v].len);
        CHECK(memcmp(got, want, len * 32) == 0);
    }
}

static void test_inclusion_edge_cases(void)
{
    unsigned char h[32], empty[32];
    merkle_leaf_hash((const uint8_t *)"data", 4, h);
    merkle_empty_root(empty);
    CHECK(merkle_verify_inclusion(0, 1, h, NULL, 0, h));
    CHECK(!merkle_verify_inclusion(0, 1, h, NULL, 0, empty));
    CHECK(!merkle_verify_inclusion(0, 0, h, NULL, 0, h));
    CHECK(!merkle_verify_inclusion(1, 0, h, NULL, 0, h));
    CHECK(!merkle_verify_inclusion(2, 1, h, NULL, 0, h));
}

static void test_consistency_vectors(void)
{
    for (size_t v = 0; v < sizeof CONSISTENCY / sizeof CONSISTENCY[0]; v++) {
        const struct vector *t = &CONSISTENCY[v];
        unsigned char path[4][32], r1[32], r2[32], bad[5][32];
        load_path(t, path);
        root_of_size(t->a, r1);
        root_of_size(t->b, r2);
        const unsigned char(*p)[32] = (const unsigned char(*)[32])path;
        size_t n = (size_t)t->len;
        CHECK(merkle_verify_consistency(t->a, t->b, r1, r2, p, n));

        CHECK(!merkle_verify_consistency(t->a - 1, t->b, r1, r2, p, n));
        CHECK(!merkle_verify_consistency(t->a + 1, t->b, r1, r2, p, n));
        CHECK(!merkle_verify_consistency(t->a ^ 2, t->b, r1, r2, p, n));
        CHECK(!merkle_verify_consistency(t->a, t->b * 2, r1, r2, p, n));
        CHECK(!merkle_verify_consistency(t->a, t->b / 2, r1, r2, p, n));
        CHECK(!merkle_verify_consistency(t->a, t->b, r2, r1, p, n));
        CHECK(!merkle_verify_consistency(t->a, t->b, r1, r2, p, 0));
        CHECK(!merkle_verify_consistency(t->a, t->b, r1, r2, p, n - 1));
        memcpy(bad, path, sizeof path);
        memcpy(bad[n], r1, 32);
        CHECK(!merkle_verify_consistency(t->a, t->b, r1, r2,
                                         (const unsigned char(*)[32])bad, n + 1));
        memcpy(bad[n], r2, 32);
        CHECK(!merkle_verify_consistency(t->a, t->b, r1, r2,
                                         (const unsigned char(*)[32])bad, n + 1));
        const unsigned char *front[3] = {r1, r2, path[0]};
        for (int f = 0; f < 3; f++) {
            memcpy(bad[0], front[f], 32);
            memcpy(bad + 1, path, n * 32);
            CHECK(!merkle_verify_consistency(t->a, t->b, r1, r2,
                                             (const unsigned char(*)[32])bad, n + 1));
        }
        for (size_t i = 0; i < n; i++) {
            memcpy(bad, path, sizeof path);
            bad[i][0] ^= 16;
            CHECK(!merkle_verify_consistency(t->a, t->b, r1, r2,
                                             (const unsigned char(*)[32])bad, n));
        }
    }
}

static void test_consistency_trivial_sizes(void)
{
    unsigned char r1[32], r2[32], empty[32];
    memset(r1, 1, 32);
    memset(r2, 2, 32);
    merkle_empty_root(empty);
    const unsigned char(*one)[32] = (const unsigned char(*)[32])empty;
    CHECK(!merkle_verify_consistency(0, 0, r1, r2, NULL, 0));
    CHECK(!merkle_verify_consistency(1, 1, r1, r2, NULL, 0));
    CHECK(merkle_verify_consistency(0, 0, r1, r1, NULL, 0));
    CHECK(merkle_verify_consistency(0, 1, r1, r2, NULL, 0));
    CHECK(merkle_verify_consistency(1, 1, r2, r2, NULL, 0));
    CHECK(!merkle_verify_consistency(1, 0, r1, r2, NULL, 0));
    CHECK(!merkle_verify_consistency(2, 1, r1, r2, NULL, 0));
    CHECK(!merkle_verify_consistency(1, 2, r1, r2, NULL, 0));
    CHECK(!merkle_verify_consistency(0, 0, empty, empty, one, 1));
    CHECK(!merkle_verify_consistency(0, 1, empty, empty, one, 1));
    CHECK(!merkle_verify_consistency(1, 1, empty, empty, one, 1));
}

/* Every proof the RFC's recursive definitions give for trees of up to 70
 * leaves verifies, and moving it to a neighbouring index or size breaks
 * it. */
static void test_reference_proofs_verify(void)
{
    enum { N = 70 };
    unsigned char leaves[N][32], path[MERKLE_MAX_PROOF][32], root[32], old_root[32];
    for (int i = 0; i < N; i++) {
        uint8_t b = (uint8_t)i;
        merkle_leaf_hash(&b, 1, leaves[i]);
    }
    const unsigned char(*d)[32] = (const unsigned char(*)[32])leaves;
    const unsigned char(*p)[32] = (const unsigned char(*)[32])path;
    int good = 0, bad_accepted = 0;
    for (uint64_t n = 1; n <= N; n++) {
        ref_mth(d, n, root);
        for (uint64_t m = 0; m < n; m++) {
            size_t len = ref_path(m, d, n, path);
            good += merkle_verify_inclusion(m, n, leaves[m], p, len, root);
            if (n > 1)
                bad_accepted += merkle_verify_inclusion((m + 1) % n, n, leaves[m], p, len,
                                                        root);
        }
        for (uint64_t m = 1; m < n; m++) {
            ref_mth(d, m, old_root);
            size_t len = ref_consistency(m, d, n, path);
            good += merkle_verify_consistency(m, n, old_root, root, p, len);
            bad_accepted += merkle_verify_consistency(m, n, root, old_root, p, len);
        }
    }
    CHECK_EQ_INT(good, N * (N + 1) / 2 + N * (N - 1) / 2);
    CHECK_EQ_INT(bad_accepted, 0);
}

static void test_frontier_matches_reference(void)
{
    enum { N = 300 };
    unsigned char leaves[N][32], frontier[64][32], a[32], b[32];
    int mismatches = 0;
    for (int i = 0; i < N; i++) {
        uint8_t buf[2] = {(uint8_t)i, (uint8_t)(i >> 8)};
        merkle_leaf_hash(buf, 2, leaves[i]);
        merkle_frontier_push((uint64_t)i, frontier, leaves[i], NULL, NULL);
        merkle_fold_frontier((uint64_t)i + 1, (const unsigned char(*)[32])frontier, a);
        ref_mth((const unsigned char(*)[32])leaves, (uint64_t)i + 1, b);
        mismatches += memcmp(a, b, 32) != 0;
    }
    CHECK_EQ_INT(mismatches, 0);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    RUN(test_leaf_and_empty_hashes);
    RUN(test_node_hash_is_prefixed_and_ordered);
    RUN(test_reference_roots);
    RUN(test_inclusion_vectors);
    RUN(test_reference_generates_published_proofs);
    RUN(test_inclusion_edge_cases);
    RUN(test_consistency_vectors);
    RUN(test_consistency_trivial_sizes);
    RUN(test_reference_proofs_verify);
    RUN(test_frontier_matches_reference);
    return check_summary();
}
