/*
 * merkle: RFC 6962 hashing and proof checking.  See merkle.h.
 *
 * Everything here is a pure function of its arguments, so the broker, the
 * agents (as witnesses) and `flagpost audit check-proof` share one
 * implementation and none of them needs the store.
 *
 * Trees are described by their "frontier": for a tree of n leaves, the
 * hashes of the complete subtrees that make it up, one per set bit of n
 * (bit L set: a perfect subtree of 2^L leaves).  RFC 6962's MTH of an
 * unbalanced tree is exactly those subtrees folded together from the
 * smallest (right-most) to the largest, so the root of any size needs only
 * popcount(n) stored hashes.
 *
 * The two verifiers follow the iterative algorithms of RFC 9162 (the
 * revision of RFC 6962) sections 2.1.3.2 and 2.1.4.2, which walk the
 * binary representation of the index and sizes instead of recursing.
 *
 * SHA-256 itself comes from sha256.h (OpenSSL's SHA-extension code when
 * the build found libcrypto, else libsodium's): whole-log verification is
 * nothing but SHA-256 over every entry and node.  Only public data is
 * hashed here (no keys), and the output is the same either way
 * (test_sha256 checks the one built against libsodium's and FIPS 180-2).
 */
#include "merkle.h"

#include <string.h>

#include "sha256.h"

const char *merkle_sha256_backend(void)
{
    return sha256_backend();
}

void merkle_leaf_hash(const uint8_t *entry, size_t len, unsigned char out[32])
{
    static const unsigned char prefix = 0x00;
    sha256_state st;
    sha256_init(&st);
    sha256_update(&st, &prefix, 1);
    sha256_update(&st, entry, len);
    sha256_final(&st, out);
}

void merkle_node_hash(const unsigned char left[32], const unsigned char right[32],
                      unsigned char out[32])
{
    unsigned char buf[1 + 2 * MERKLE_HASH_LEN];
    buf[0] = 0x01;
    memcpy(buf + 1, left, MERKLE_HASH_LEN);
    memcpy(buf + 1 + MERKLE_HASH_LEN, right, MERKLE_HASH_LEN);
    sha256_digest(out, buf, sizeof buf);
}

void merkle_empty_root(unsigned char out[32])
{
    sha256_digest(out, NULL, 0);
}

void merkle_fold_frontier(uint64_t size, const unsigned char (*frontier)[32],
                          unsigned char out[32])
{
    if (size == 0) {
        merkle_empty_root(out);
        return;
    }
    int level = __builtin_ctzll(size);
    unsigned char acc[32];
    memcpy(acc, frontier[level], 32);
    for (level++; level < 64; level++)
        if (size & ((uint64_t)1 << level))
            merkle_node_hash(frontier[level], acc, acc);
    memcpy(out, acc, 32);
}

void merkle_frontier_push(uint64_t size, unsigned char (*frontier)[32],
                          const unsigned char leaf_hash[32],
                          merkle_node_fn on_node, void *ctx)
{
    unsigned char carry[32];
    memcpy(carry, leaf_hash, 32);
    int level = 0;
    uint64_t index = size;   /* the new leaf's index at level 0 */
    while (size & ((uint64_t)1 << level)) {
        merkle_node_hash(frontier[level], carry, carry);
        level++;
        index >>= 1;
        if (on_node != NULL)
            on_node(ctx, level, index, carry);
    }
    memcpy(frontier[level], carry, 32);
}

void merkle_root_from_leaves(const unsigned char (*leaves)[32], size_t n,
                             unsigned char out[32])
{
    unsigned char frontier[64][32];
    for (size_t i = 0; i < n; i++)
        merkle_frontier_push(i, frontier, leaves[i], NULL, NULL);
    merkle_fold_frontier(n, (const unsigned char(*)[32])frontier, out);
}

/* Shift both numbers right until fn's lowest bit is set or fn is zero. */
static void shift_to_odd(uint64_t *fn, uint64_t *sn)
{
    while (*fn != 0 && (*fn & 1) == 0) {
        *fn >>= 1;
        *sn >>= 1;
    }
}

bool merkle_verify_inclusion(uint64_t index, uint64_t tree_size,
                             const unsigned char leaf_hash[32],
                             const unsigned char (*path)[32], size_t path_len,
                             const unsigned char root[32])
{
    if (index >= tree_size || path_len > MERKLE_MAX_PROOF)
        return false;
    uint64_t fn = index, sn = tree_size - 1;
    unsigned char r[32];
    memcpy(r, leaf_hash, 32);
    for (size_t i = 0; i < path_len; i++) {
        if (sn == 0)
            return false;
        if ((fn & 1) || fn == sn) {
            merkle_node_hash(path[i], r, r);
            if ((fn & 1) == 0)
                shift_to_odd(&fn, &sn);
        } else {
            merkle_node_hash(r, path[i], r);
        }
        fn >>= 1;
        sn >>= 1;
    }
    return sn == 0 && memcmp(r, root, 32) == 0;
}

bool merkle_verify_consistency(uint64_t old_size, uint64_t new_size,
                               const unsigned char old_root[32],
                               const unsigned char new_root[32],
                               const unsigned char (*path)[32], size_t path_len)
{
    if (old_size > new_size || path_len > MERKLE_MAX_PROOF)
        return false;
    if (old_size == new_size)
        return path_len == 0 && memcmp(old_root, new_root, 32) == 0;
    if (old_size == 0)
        return path_len == 0;   /* every tree extends the empty one */
    if (path_len == 0)
        return false;

    /* When the old tree is a perfect subtree its root is the first node
     * of the walk and the proof omits it. */
    const unsigned char *first;
    size_t next;
    if ((old_size & (old_size - 1)) == 0) {
        first = old_root;
        next = 0;
    } else {
        first = path[0];
        next = 1;
    }
    uint64_t fn = old_size - 1, sn = new_size - 1;
    while (fn & 1) {
        fn >>= 1;
        sn >>= 1;
    }
    unsigned char fr[32], sr[32];
    memcpy(fr, first, 32);
    memcpy(sr, first, 32);
    for (size_t i = next; i < path_len; i++) {
        if (sn == 0)
            return false;
        if ((fn & 1) || fn == sn) {
            merkle_node_hash(path[i], fr, fr);
            merkle_node_hash(path[i], sr, sr);
            if ((fn & 1) == 0)
                shift_to_odd(&fn, &sn);
        } else {
            merkle_node_hash(sr, path[i], sr);
        }
        fn >>= 1;
        sn >>= 1;
    }
    return sn == 0 && memcmp(fr, old_root, 32) == 0 && memcmp(sr, new_root, 32) == 0;
}
