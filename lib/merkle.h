/*
 * merkle: RFC 6962 (Certificate Transparency) Merkle tree hashing and proof
 * verification.  Pure functions, no storage: used by the broker's audit log,
 * by agents checking consistency proofs, and by `flagpost audit check-proof`.
 *
 *   leaf hash  = SHA-256(0x00 || entry)
 *   node hash  = SHA-256(0x01 || left || right)
 *   empty tree = SHA-256("")
 * Proof paths are lists of 32-byte hashes in the order RFC 6962 section 2.1
 * defines them (leaf to root).
 */
#ifndef FLAGPOST_MERKLE_H
#define FLAGPOST_MERKLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MERKLE_HASH_LEN 32
#define MERKLE_MAX_PROOF 64   /* enough for 2^64 leaves */

void merkle_leaf_hash(const uint8_t *entry, size_t len, unsigned char out[32]);
void merkle_node_hash(const unsigned char left[32], const unsigned char right[32],
                      unsigned char out[32]);
/* "openssl" or "libsodium": whose SHA-256 this build uses (see merkle.c). */
const char *merkle_sha256_backend(void);
/* The root of the empty tree, SHA-256(""). */
void merkle_empty_root(unsigned char out[32]);

/* A tree of `size` leaves is the perfect subtrees named by the set bits of
 * size; its "frontier" holds their hashes, frontier[L] being the subtree of
 * 2^L leaves when bit L of size is set (other slots are ignored).
 * merkle_fold_frontier() turns a frontier into the RFC 6962 root;
 * merkle_frontier_push() appends one leaf to a frontier of `size` leaves
 * (making it one of size + 1) and reports every subtree the leaf completes
 * through on_node (may be NULL): level >= 1 and the node's index within
 * that level.  Together they are an O(log n)-memory streaming tree. */
typedef void (*merkle_node_fn)(void *ctx, int level, uint64_t index,
                               const unsigned char hash[32]);
void merkle_fold_frontier(uint64_t size, const unsigned char (*frontier)[32],
                          unsigned char out[32]);
void merkle_frontier_push(uint64_t size, unsigned char (*frontier)[32],
                          const unsigned char leaf_hash[32], merkle_node_fn on_node,
                          void *ctx);

/* Root of a tree given all its leaf hashes (O(n); tests and small trees). */
void merkle_root_from_leaves(const unsigned char (*leaves)[32], size_t n,
                             unsigned char out[32]);

/* True when path proves that leaf_hash is leaf `index` of the tree of
 * tree_size leaves whose root is `root`. */
bool merkle_verify_inclusion(uint64_t index, uint64_t tree_size,
                             const unsigned char leaf_hash[32],
                             const unsigned char (*path)[32], size_t path_len,
                             const unsigned char root[32]);

/* True when path proves that the tree of old_size leaves with old_root is
 * a prefix of the tree of new_size leaves with new_root: what a witness
 * checks before accepting a newer checkpoint.  Equal sizes need equal roots
 * and an empty path; old_size 0 is consistent with anything (empty path). */
bool merkle_verify_consistency(uint64_t old_size, uint64_t new_size,
                               const unsigned char old_root[32],
                               const unsigned char new_root[32],
                               const unsigned char (*path)[32], size_t path_len);

#endif
