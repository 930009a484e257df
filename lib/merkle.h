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

/* Root of a tree given all its leaf hashes (O(n); tests and small trees). */
void merkle_root_from_leaves(const unsigned char (*leaves)[32], size_t n,
                             unsigned char out[32]);

bool merkle_verify_inclusion(uint64_t index, uint64_t tree_size,
                             const unsigned char leaf_hash[32],
                             const unsigned char (*path)[32], size_t path_len,
                             const unsigned char root[32]);

bool merkle_verify_consistency(uint64_t old_size, uint64_t new_size,
                               const unsigned char old_root[32],
                               const unsigned char new_root[32],
                               const unsigned char (*path)[32], size_t path_len);

#endif
