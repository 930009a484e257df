/*
 * audit_log: the broker's append-only audit trail, stored in LMDB as the
 * leaves of an RFC 6962 Merkle tree (see merkle.h for the hashing).
 *
 * Storage (named databases in the broker's environment):
 *   audit_entries      u64 index -> AuditEntry bytes (the leaf data)
 *   audit_nodes        (level u8, index u64) -> 32-byte hash of every
 *                      complete subtree, so appending writes O(log n) nodes
 *                      at most (amortised O(1)) and a root, inclusion or
 *                      consistency proof needs O(log n) reads
 *   audit_checkpoints  u64 tree size -> signed checkpoint bytes
 *
 * Appends happen inside the caller's write transaction, so an entry commits
 * atomically with the queue change it records: no acknowledged message
 * without its audit entry, and no audit entry for a message that was not
 * stored.
 *
 * Every entry records its own position (AuditEntry.index), so a moved entry
 * is caught even where the tree was rebuilt around it; audit_log_append()
 * refuses an entry whose index is not the next position, and
 * audit_log_append_entry() fills the index in for you.
 *
 * Threads: appends come from the single writer (LMDB allows one write
 * transaction at a time) and use a cached right-edge frontier keyed by tree
 * size, so an aborted transaction never leaves it stale.  Every other
 * function reads only the store and may be called from any thread with its
 * own read transaction.  If any call fails inside a write transaction, abort
 * that transaction.
 */
#ifndef FLAGPOST_AUDIT_LOG_H
#define FLAGPOST_AUDIT_LOG_H

#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>

#include "fp_error.h"
#include "merkle.h"

typedef struct audit_log audit_log;

struct Flagpost__AuditEntry;

/* Opens (creating) the three databases in a transaction of its own. */
int audit_log_open(audit_log **out, MDB_env *env, fp_error *err);
/* Opens existing databases only, in a read transaction (for tools that
 * must never write, such as `flagpost audit`); FP_ERR_NOT_FOUND when the
 * environment has no audit trail. */
int audit_log_open_readonly(audit_log **out, MDB_env *env, fp_error *err);
void audit_log_close(audit_log *log);

int audit_log_size(audit_log *log, MDB_txn *txn, uint64_t *size);

/* Appends serialised AuditEntry bytes whose index field equals the current
 * size.  O(log n), no allocation, amortised two node writes. */
int audit_log_append(audit_log *log, MDB_txn *txn, const uint8_t *entry, size_t len,
                     uint64_t *index_out, fp_error *err);
/* Sets entry->index to the next position, serialises and appends it (the
 * broker's usual way in; allocates only for entries over 4 KiB). */
int audit_log_append_entry(audit_log *log, MDB_txn *txn, struct Flagpost__AuditEntry *entry,
                           uint64_t *index_out, fp_error *err);

/* Points into the transaction's memory map; valid until txn ends. */
int audit_log_get(audit_log *log, MDB_txn *txn, uint64_t index, const uint8_t **entry,
                  size_t *len, fp_error *err);

int audit_log_root(audit_log *log, MDB_txn *txn, uint64_t tree_size, unsigned char root[32],
                   fp_error *err);

/* Proofs: path must hold MERKLE_MAX_PROOF hashes.  tree_size may be any
 * size up to the current one, so a proof can be given against an older
 * signed checkpoint.  A consistency proof from size 0 or to the same size
 * is empty. */
int audit_log_inclusion_proof(audit_log *log, MDB_txn *txn, uint64_t index,
                              uint64_t tree_size, unsigned char (*path)[32],
                              size_t *path_len, fp_error *err);

int audit_log_consistency_proof(audit_log *log, MDB_txn *txn, uint64_t old_size,
                                uint64_t new_size, unsigned char (*path)[32],
                                size_t *path_len, fp_error *err);

/* Stores signed checkpoint bytes (see checkpoint.h) for a size the log has
 * reached; a later checkpoint for the same size replaces the earlier. */
int audit_log_put_checkpoint(audit_log *log, MDB_txn *txn, uint64_t tree_size,
                             const uint8_t *bytes, size_t len, fp_error *err);
/* The stored checkpoint bytes for one size, or the one for the largest
 * size; FP_ERR_NOT_FOUND when there is none.  Point into the map. */
int audit_log_get_checkpoint(audit_log *log, MDB_txn *txn, uint64_t tree_size,
                             const uint8_t **bytes, size_t *len, fp_error *err);
int audit_log_latest_checkpoint(audit_log *log, MDB_txn *txn, uint64_t *tree_size,
                                const uint8_t **bytes, size_t *len, fp_error *err);

/* Iterate entries from index `from`: calls fn until it returns non-zero or
 * the log ends. */
typedef int (*audit_log_visit_fn)(void *ctx, uint64_t index, const uint8_t *entry,
                                  size_t len);
int audit_log_scan(audit_log *log, MDB_txn *txn, uint64_t from, audit_log_visit_fn fn,
                   void *ctx, fp_error *err);

/* For verification and test tools that walk the databases directly. */
void audit_log_dbis(const audit_log *log, MDB_dbi *entries, MDB_dbi *nodes,
                    MDB_dbi *checkpoints);
void audit_log_node_key(unsigned char key[9], int level, uint64_t index);
/* The index field of serialised AuditEntry bytes (0 when absent), found by
 * a non-allocating walk of the protobuf wire format; FP_ERR_INPUT when the
 * bytes are not well-formed protobuf. */
int audit_log_entry_index(const uint8_t *entry, size_t len, uint64_t *index);

#endif
