/*
 * audit_log: the append-only Merkle log in LMDB.  See audit_log.h.
 *
 * Layout.  audit_entries maps a big-endian u64 index to the entry bytes, so
 * entries sort in log order and the log's size is the database's entry
 * count (mdb_stat, O(1), no cursor, no allocation).  audit_nodes maps
 * (level u8, index u64 BE) to the 32-byte hash of the perfect subtree of
 * 2^level leaves starting at leaf index << level; level 0 holds the leaf
 * hashes, so a proof never has to re-read and re-hash an entry.  A node is
 * written once, when its last leaf is appended, and never changes.
 *
 * Appending.  The new leaf completes one subtree per trailing one bit of
 * the old size, each the hash of the previous subtree of its level (the
 * "frontier", see merkle.h) and the new carry, so an append writes the leaf
 * plus on average one node, worst case log2(n).  The frontier is cached in
 * the struct, keyed by the tree size it describes: every append reads the
 * size from the transaction, and a cache for any other size (an aborted
 * transaction, a fresh process) is reloaded with popcount(size) reads.  So
 * an abort can never leave a stale cache in use, and in the steady state an
 * append reads no node at all.  This relies on this struct being the only
 * writer of its databases, which the broker guarantees (one audit_log per
 * environment, LMDB's single writer).
 *
 * Reading.  Roots and proofs read only stored nodes and never the cache, so
 * they are safe from any thread holding its own read transaction.  The
 * root of size s needs popcount(s) nodes; an inclusion or consistency
 * proof follows RFC 6962's recursion, where every sibling is one stored
 * node except at most two "ragged" right edges, each popcount(size) nodes:
 * O(log n) reads in all.
 */
#include "audit_log.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "flagpost.pb-c.h"
#include "store.h"

#define DB_ENTRIES "audit_entries"
#define DB_NODES "audit_nodes"
#define DB_CHECKPOINTS "audit_checkpoints"
#define NODE_KEY_LEN 9
#define PACK_STACK 4096   /* entries are metadata only, far smaller than this */

struct audit_log {
    MDB_env *env;
    MDB_dbi entries;
    MDB_dbi nodes;
    MDB_dbi checkpoints;
    bool cache_valid;
    uint64_t cache_size;                  /* tree size the frontier describes */
    unsigned char frontier[64][MERKLE_HASH_LEN];
};

void audit_log_node_key(unsigned char key[9], int level, uint64_t index)
{
    key[0] = (unsigned char)level;
    store_put_u64(key + 1, index);
}

static int open_dbs(audit_log *log, MDB_txn *txn, unsigned flags, fp_error *err)
{
    int rc = store_dbi_open(txn, DB_ENTRIES, flags, &log->entries, err);
    if (rc == FP_OK)
        rc = store_dbi_open(txn, DB_NODES, flags, &log->nodes, err);
    if (rc == FP_OK)
        rc = store_dbi_open(txn, DB_CHECKPOINTS, flags, &log->checkpoints, err);
    return rc;
}

static int open_common(audit_log **out, MDB_env *env, bool create, fp_error *err)
{
    *out = NULL;
    audit_log *log = calloc(1, sizeof *log);
    if (log == NULL)
        return fp_error_set(err, FP_ERR_IO, "out of memory opening the audit log");
    log->env = env;
    MDB_txn *txn = NULL;
    int mrc = mdb_txn_begin(env, NULL, create ? 0 : MDB_RDONLY, &txn);
    if (mrc != 0) {
        free(log);
        return store_fail(err, mrc, "starting a transaction to open the audit log");
    }
    int rc = open_dbs(log, txn, create ? MDB_CREATE : 0, err);
    if (rc == FP_ERR_NOT_FOUND)
        fp_error_set(err, FP_ERR_NOT_FOUND,
                     "there is no audit trail in this data directory (the broker has "
                     "not started here yet)");
    if (rc == FP_OK && (mrc = mdb_txn_commit(txn)) != 0)
        rc = store_fail(err, mrc, "opening the audit log");
    else if (rc != FP_OK)
        mdb_txn_abort(txn);
    if (rc != FP_OK) {
        free(log);
        return rc;
    }
    *out = log;
    return FP_OK;
}

int audit_log_open(audit_log **out, MDB_env *env, fp_error *err)
{
    return open_common(out, env, true, err);
}

int audit_log_open_readonly(audit_log **out, MDB_env *env, fp_error *err)
{
    return open_common(out, env, false, err);
}

void audit_log_close(audit_log *log)
{
    free(log);   /* DBI handles belong to the environment */
}

void audit_log_dbis(const audit_log *log, MDB_dbi *entries, MDB_dbi *nodes,
                    MDB_dbi *checkpoints)
{
    if (entries != NULL)
        *entries = log->entries;
    if (nodes != NULL)
        *nodes = log->nodes;
    if (checkpoints != NULL)
        *checkpoints = log->checkpoints;
}

int audit_log_size(audit_log *log, MDB_txn *txn, uint64_t *size)
{
    MDB_stat st;
    int rc = mdb_stat(txn, log->entries, &st);
    if (rc != 0)
        return store_fail(NULL, rc, "");
    *size = (uint64_t)st.ms_entries;
    return FP_OK;
}

static int size_or_fail(audit_log *log, MDB_txn *txn, uint64_t *size, fp_error *err)
{
    MDB_stat st;
    int rc = mdb_stat(txn, log->entries, &st);
    if (rc != 0)
        return store_fail(err, rc, "reading the audit log size");
    *size = (uint64_t)st.ms_entries;
    return FP_OK;
}

static int get_node(const audit_log *log, MDB_txn *txn, int level, uint64_t index,
                    unsigned char out[32], fp_error *err)
{
    unsigned char key[NODE_KEY_LEN];
    audit_log_node_key(key, level, index);
    MDB_val k = {sizeof key, key}, v;
    int rc = mdb_get(txn, log->nodes, &k, &v);
    if (rc == MDB_NOTFOUND || (rc == 0 && v.mv_size != MERKLE_HASH_LEN))
        return fp_error_set(err, FP_ERR_INTERNAL,
                            "the audit log is damaged: the stored hash of level %d node "
                            "%llu is %s; run `flagpost audit verify`",
                            level, (unsigned long long)index,
                            rc == MDB_NOTFOUND ? "missing" : "the wrong length");
    if (rc != 0)
        return store_fail(err, rc, "reading the audit tree");
    memcpy(out, v.mv_data, MERKLE_HASH_LEN);
    return FP_OK;
}

static int put_node(audit_log *log, MDB_txn *txn, int level, uint64_t index,
                    const unsigned char hash[32], fp_error *err)
{
    unsigned char key[NODE_KEY_LEN];
    audit_log_node_key(key, level, index);
    MDB_val k = {sizeof key, key}, v = {MERKLE_HASH_LEN, (void *)(uintptr_t)hash};
    int rc = mdb_put(txn, log->nodes, &k, &v, MDB_NOOVERWRITE);
    if (rc == MDB_KEYEXIST)
        return fp_error_set(err, FP_ERR_INTERNAL,
                            "the audit log is damaged: a hash for level %d node %llu "
                            "already exists beyond the end of the log; run `flagpost "
                            "audit verify`",
                            level, (unsigned long long)index);
    if (rc != 0)
        return store_fail(err, rc, "writing the audit tree");
    return FP_OK;
}

/* The frontier of the tree of `size` leaves, read from the store. */
static int load_frontier(const audit_log *log, MDB_txn *txn, uint64_t size,
                         unsigned char (*frontier)[32], fp_error *err)
{
    for (int level = 0; level < 64; level++) {
        if ((size >> level & 1) == 0)
            continue;
        int rc = get_node(log, txn, level, (size >> level) - 1, frontier[level], err);
        if (rc != FP_OK)
            return rc;
    }
    return FP_OK;
}

int audit_log_entry_index(const uint8_t *entry, size_t len, uint64_t *index)
{
    /* A minimal protobuf wire walk for field 1: the hot path checks every
     * entry's index without protobuf-c's allocating unpack.  proto3 omits
     * a zero index, and a repeated scalar field's last value wins. */
    size_t i = 0;
    uint64_t found = 0;
    while (i < len) {
        uint64_t tag = 0, v = 0;
        int shift = 0;
        do {
            if (i >= len || shift > 63)
                return FP_ERR_INPUT;
            tag |= (uint64_t)(entry[i] & 0x7f) << shift;
            shift += 7;
        } while (entry[i++] & 0x80);
        unsigned type = (unsigned)(tag & 7);
        if (type == 0 || type == 2) {
            shift = 0;
            do {
                if (i >= len || shift > 63)
                    return FP_ERR_INPUT;
                v |= (uint64_t)(entry[i] & 0x7f) << shift;
                shift += 7;
            } while (entry[i++] & 0x80);
            if (type == 2) {
                if (v > len - i)
                    return FP_ERR_INPUT;
                i += (size_t)v;
            } else if ((tag >> 3) == 1) {
                found = v;
            }
        } else if (type == 1 || type == 5) {
            size_t skip = type == 1 ? 8 : 4;
            if (skip > len - i)
                return FP_ERR_INPUT;
            i += skip;
        } else {
            return FP_ERR_INPUT;
        }
    }
    *index = found;
    return FP_OK;
}

int audit_log_append(audit_log *log, MDB_txn *txn, const uint8_t *entry, size_t len,
                     uint64_t *index_out, fp_error *err)
{
    uint64_t size = 0, recorded = 0;
    int rc = size_or_fail(log, txn, &size, err);
    if (rc != FP_OK)
        return rc;
    if (audit_log_entry_index(entry, len, &recorded) != FP_OK)
        return fp_error_set(err, FP_ERR_INTERNAL,
                            "refusing to append an audit entry that is not an AuditEntry "
                            "message");
    if (recorded != size)
        return fp_error_set(err, FP_ERR_INTERNAL,
                            "audit entry records index %llu but would be entry %llu; set "
                            "its index from audit_log_size() in the same transaction",
                            (unsigned long long)recorded, (unsigned long long)size);
    if (!log->cache_valid || log->cache_size != size) {
        log->cache_valid = false;
        if ((rc = load_frontier(log, txn, size, log->frontier, err)) != FP_OK)
            return rc;
        log->cache_size = size;
        log->cache_valid = true;
    }

    unsigned char key[8];
    store_put_u64(key, size);
    MDB_val k = {sizeof key, key}, v = {len, (void *)(uintptr_t)entry};
    int mrc = mdb_put(txn, log->entries, &k, &v, MDB_NOOVERWRITE | MDB_APPEND);
    if (mrc == MDB_KEYEXIST)
        return fp_error_set(err, FP_ERR_INTERNAL,
                            "the audit log is damaged: entries are missing before entry "
                            "%llu; run `flagpost audit verify`",
                            (unsigned long long)size);
    if (mrc != 0)
        return store_fail(err, mrc, "writing an audit entry");

    /* From here on a failure leaves the transaction half-written: the
     * caller aborts it, and the cache must not claim the new size. */
    log->cache_valid = false;
    unsigned char carry[MERKLE_HASH_LEN];
    merkle_leaf_hash(entry, len, carry);
    if ((rc = put_node(log, txn, 0, size, carry, err)) != FP_OK)
        return rc;
    int level = 0;
    uint64_t index = size;
    while (size >> level & 1) {
        merkle_node_hash(log->frontier[level], carry, carry);
        level++;
        index >>= 1;
        if ((rc = put_node(log, txn, level, index, carry, err)) != FP_OK)
            return rc;
    }
    memcpy(log->frontier[level], carry, MERKLE_HASH_LEN);
    log->cache_size = size + 1;
    log->cache_valid = true;
    if (index_out != NULL)
        *index_out = size;
    return FP_OK;
}

int audit_log_append_entry(audit_log *log, MDB_txn *txn, struct Flagpost__AuditEntry *entry,
                           uint64_t *index_out, fp_error *err)
{
    uint64_t size = 0;
    int rc = size_or_fail(log, txn, &size, err);
    if (rc != FP_OK)
        return rc;
    entry->index = size;
    size_t len = flagpost__audit_entry__get_packed_size(entry);
    uint8_t stack[PACK_STACK];
    uint8_t *buf = len <= sizeof stack ? stack : malloc(len);
    if (buf == NULL)
        return fp_error_set(err, FP_ERR_IO, "out of memory encoding an audit entry");
    flagpost__audit_entry__pack(entry, buf);
    rc = audit_log_append(log, txn, buf, len, index_out, err);
    if (buf != stack)
        free(buf);
    return rc;
}

int audit_log_get(audit_log *log, MDB_txn *txn, uint64_t index, const uint8_t **entry,
                  size_t *len, fp_error *err)
{
    unsigned char key[8];
    store_put_u64(key, index);
    MDB_val k = {sizeof key, key}, v;
    int rc = mdb_get(txn, log->entries, &k, &v);
    if (rc == MDB_NOTFOUND)
        return fp_error_set(err, FP_ERR_NOT_FOUND, "there is no audit entry %llu",
                            (unsigned long long)index);
    if (rc != 0)
        return store_fail(err, rc, "reading an audit entry");
    *entry = v.mv_data;
    *len = v.mv_size;
    return FP_OK;
}

static int check_size(audit_log *log, MDB_txn *txn, uint64_t tree_size, fp_error *err)
{
    uint64_t size = 0;
    int rc = size_or_fail(log, txn, &size, err);
    if (rc != FP_OK)
        return rc;
    if (tree_size > size)
        return fp_error_set(err, FP_ERR_INPUT,
                            "the audit log holds %llu entries, so it has no tree of size "
                            "%llu",
                            (unsigned long long)size, (unsigned long long)tree_size);
    return FP_OK;
}

/* MTH of the `count` leaves starting at `start`, where start is a multiple
 * of the largest power of two not above count (true of every range RFC
 * 6962's recursion produces): the perfect subtrees named by count's bits,
 * folded. */
static int range_hash(const audit_log *log, MDB_txn *txn, uint64_t start, uint64_t count,
                      unsigned char out[32], fp_error *err)
{
    unsigned char frontier[64][MERKLE_HASH_LEN];
    uint64_t offset = start;
    for (int level = 63; level >= 0; level--) {
        if ((count >> level & 1) == 0)
            continue;
        int rc = get_node(log, txn, level, offset >> level, frontier[level], err);
        if (rc != FP_OK)
            return rc;
        offset += (uint64_t)1 << level;
    }
    merkle_fold_frontier(count, (const unsigned char(*)[32])frontier, out);
    return FP_OK;
}

int audit_log_root(audit_log *log, MDB_txn *txn, uint64_t tree_size, unsigned char root[32],
                   fp_error *err)
{
    int rc = check_size(log, txn, tree_size, err);
    if (rc != FP_OK)
        return rc;
    return range_hash(log, txn, 0, tree_size, root, err);
}

/* The largest power of two strictly below n (n >= 2). */
static uint64_t split_point(uint64_t n)
{
    return (uint64_t)1 << (63 - __builtin_clzll(n - 1));
}

struct proof_out {
    unsigned char (*path)[32];
    size_t len;
};

static int emit(const audit_log *log, MDB_txn *txn, struct proof_out *out, uint64_t start,
                uint64_t count, fp_error *err)
{
    if (out->len >= MERKLE_MAX_PROOF)
        return fp_error_set(err, FP_ERR_INTERNAL, "audit proof longer than possible");
    return range_hash(log, txn, start, count, out->path[out->len++], err);
}

/* RFC 6962 PATH(m, D[start : start + n]). */
static int inclusion(const audit_log *log, MDB_txn *txn, uint64_t m, uint64_t start,
                     uint64_t n, struct proof_out *out, fp_error *err)
{
    if (n <= 1)
        return FP_OK;
    uint64_t k = split_point(n);
    int rc;
    if (m < k) {
        if ((rc = inclusion(log, txn, m, start, k, out, err)) != FP_OK)
            return rc;
        return emit(log, txn, out, start + k, n - k, err);
    }
    if ((rc = inclusion(log, txn, m - k, start + k, n - k, out, err)) != FP_OK)
        return rc;
    return emit(log, txn, out, start, k, err);
}

int audit_log_inclusion_proof(audit_log *log, MDB_txn *txn, uint64_t index,
                              uint64_t tree_size, unsigned char (*path)[32],
                              size_t *path_len, fp_error *err)
{
    *path_len = 0;
    int rc = check_size(log, txn, tree_size, err);
    if (rc != FP_OK)
        return rc;
    if (index >= tree_size)
        return fp_error_set(err, FP_ERR_INPUT,
                            "entry %llu is not in the tree of the first %llu entries",
                            (unsigned long long)index, (unsigned long long)tree_size);
    struct proof_out out = {path, 0};
    rc = inclusion(log, txn, index, 0, tree_size, &out, err);
    *path_len = out.len;
    return rc;
}

/* RFC 6962 SUBPROOF(m, D[start : start + n], whole). */
static int subproof(const audit_log *log, MDB_txn *txn, uint64_t m, uint64_t start,
                    uint64_t n, bool whole, struct proof_out *out, fp_error *err)
{
    if (m == n)
        return whole ? FP_OK : emit(log, txn, out, start, n, err);
    uint64_t k = split_point(n);
    int rc;
    if (m <= k) {
        if ((rc = subproof(log, txn, m, start, k, whole, out, err)) != FP_OK)
            return rc;
        return emit(log, txn, out, start + k, n - k, err);
    }
    if ((rc = subproof(log, txn, m - k, start + k, n - k, false, out, err)) != FP_OK)
        return rc;
    return emit(log, txn, out, start, k, err);
}

int audit_log_consistency_proof(audit_log *log, MDB_txn *txn, uint64_t old_size,
                                uint64_t new_size, unsigned char (*path)[32],
                                size_t *path_len, fp_error *err)
{
    *path_len = 0;
    int rc = check_size(log, txn, new_size, err);
    if (rc != FP_OK)
        return rc;
    if (old_size > new_size)
        return fp_error_set(err, FP_ERR_INPUT,
                            "a consistency proof goes from an older (smaller) tree to a "
                            "newer one, but %llu > %llu",
                            (unsigned long long)old_size, (unsigned long long)new_size);
    if (old_size == 0 || old_size == new_size)
        return FP_OK;   /* empty proof: nothing to show */
    struct proof_out out = {path, 0};
    rc = subproof(log, txn, old_size, 0, new_size, true, &out, err);
    *path_len = out.len;
    return rc;
}

int audit_log_put_checkpoint(audit_log *log, MDB_txn *txn, uint64_t tree_size,
                             const uint8_t *bytes, size_t len, fp_error *err)
{
    int rc = check_size(log, txn, tree_size, err);
    if (rc != FP_OK)
        return rc;
    unsigned char key[8];
    store_put_u64(key, tree_size);
    MDB_val k = {sizeof key, key}, v = {len, (void *)(uintptr_t)bytes};
    int mrc = mdb_put(txn, log->checkpoints, &k, &v, 0);
    if (mrc != 0)
        return store_fail(err, mrc, "storing an audit checkpoint");
    return FP_OK;
}

int audit_log_get_checkpoint(audit_log *log, MDB_txn *txn, uint64_t tree_size,
                             const uint8_t **bytes, size_t *len, fp_error *err)
{
    unsigned char key[8];
    store_put_u64(key, tree_size);
    MDB_val k = {sizeof key, key}, v;
    int rc = mdb_get(txn, log->checkpoints, &k, &v);
    if (rc == MDB_NOTFOUND)
        return fp_error_set(err, FP_ERR_NOT_FOUND, "there is no checkpoint at size %llu",
                            (unsigned long long)tree_size);
    if (rc != 0)
        return store_fail(err, rc, "reading an audit checkpoint");
    *bytes = v.mv_data;
    *len = v.mv_size;
    return FP_OK;
}

int audit_log_latest_checkpoint(audit_log *log, MDB_txn *txn, uint64_t *tree_size,
                                const uint8_t **bytes, size_t *len, fp_error *err)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, log->checkpoints, &cur);
    if (rc != 0)
        return store_fail(err, rc, "reading audit checkpoints");
    MDB_val k, v;
    rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
    mdb_cursor_close(cur);
    if (rc == MDB_NOTFOUND)
        return fp_error_set(err, FP_ERR_NOT_FOUND, "the broker has not signed a checkpoint "
                                                   "yet");
    if (rc != 0)
        return store_fail(err, rc, "reading audit checkpoints");
    if (k.mv_size != 8)
        return fp_error_set(err, FP_ERR_INTERNAL, "the audit checkpoint store is damaged");
    *tree_size = store_get_u64(k.mv_data);
    *bytes = v.mv_data;
    *len = v.mv_size;
    return FP_OK;
}

int audit_log_scan(audit_log *log, MDB_txn *txn, uint64_t from, audit_log_visit_fn fn,
                   void *ctx, fp_error *err)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, log->entries, &cur);
    if (rc != 0)
        return store_fail(err, rc, "reading the audit log");
    unsigned char key[8];
    store_put_u64(key, from);
    MDB_val k = {sizeof key, key}, v;
    rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    while (rc == 0) {
        if (k.mv_size != 8) {
            mdb_cursor_close(cur);
            return fp_error_set(err, FP_ERR_INTERNAL, "the audit log store is damaged");
        }
        if (fn(ctx, store_get_u64(k.mv_data), v.mv_data, v.mv_size) != 0)
            break;
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    if (rc != 0 && rc != MDB_NOTFOUND)
        return store_fail(err, rc, "reading the audit log");
    return FP_OK;
}
