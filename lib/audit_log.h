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
 */
#ifndef FLAGPOST_AUDIT_LOG_H
#define FLAGPOST_AUDIT_LOG_H

#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>

#include "fp_error.h"
#include "merkle.h"

typedef struct audit_log audit_log;

/* Opens (creating) the three databases in a transaction of its own. */
int audit_log_open(audit_log **out, MDB_env *env, fp_error *err);
void audit_log_close(audit_log *log);

int audit_log_size(audit_log *log, MDB_txn *txn, uint64_t *size);

int audit_log_append(audit_log *log, MDB_txn *txn, const uint8_t *entry, size_t len,
                     uint64_t *index_out, fp_error *err);

/* Points into the transaction's memory map; valid until txn ends. */
int audit_log_get(audit_log *log, MDB_txn *txn, uint64_t index, const uint8_t **entry,
                  size_t *len, fp_error *err);

int audit_log_root(audit_log *log, MDB_txn *txn, uint64_t tree_size, unsigned char root[32],
                   fp_error *err);

int audit_log_inclusion_proof(audit_log *log, MDB_txn *txn, uint64_t index,
                              uint64_t tree_size, unsigned char (*path)[32],
                              size_t *path_len, fp_error *err);

int audit_log_consistency_proof(audit_log *log, MDB_txn *txn, uint64_t old_size,
                                uint64_t new_size, unsigned char (*path)[32],
                                size_t *path_len, fp_error *err);

int audit_log_put_checkpoint(audit_log *log, MDB_txn *txn, uint64_t tree_size,
                             const uint8_t *bytes, size_t len, fp_error *err);

/* Iterate entries from index `from`: calls fn until it returns non-zero or
 * the log ends. */
typedef int (*audit_log_visit_fn)(void *ctx, uint64_t index, const uint8_t *entry,
                                  size_t len);
int audit_log_scan(audit_log *log, MDB_txn *txn, uint64_t from, audit_log_visit_fn fn,
                   void *ctx, fp_error *err);

#endif
