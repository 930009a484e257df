/*
 * audit_damage.h: what an attacker with the disk could do to an audit
 * store, done directly to the LMDB databases (never through audit_log's
 * API), for the verification tests and tests/tools/audit_damage.
 * Header-only so a unit test and the tool share it.
 *
 * Every function takes an open environment and the audit_log whose DBI
 * handles to use, runs one write transaction and returns 0 on success.
 */
#ifndef FLAGPOST_TEST_AUDIT_DAMAGE_H
#define FLAGPOST_TEST_AUDIT_DAMAGE_H

#include <lmdb.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "audit_log.h"
#include "merkle.h"
#include "store.h"

static inline int damage_begin(MDB_env *env, audit_log *log, MDB_txn **txn, MDB_dbi *e,
                               MDB_dbi *n, MDB_dbi *c)
{
    audit_log_dbis(log, e, n, c);
    return mdb_txn_begin(env, NULL, 0, txn);
}

static inline int damage_end(MDB_txn *txn, int rc)
{
    if (rc != 0) {
        mdb_txn_abort(txn);
        return rc;
    }
    return mdb_txn_commit(txn);
}

/* Flip the lowest bit of byte `offset` of entry i (the middle if offset is
 * past the end). */
static inline int damage_change_byte(MDB_env *env, audit_log *log, uint64_t i, size_t offset)
{
    MDB_txn *txn;
    MDB_dbi e, n, c;
    if (damage_begin(env, log, &txn, &e, &n, &c) != 0)
        return -1;
    unsigned char key[8];
    store_put_u64(key, i);
    MDB_val k = {8, key}, v;
    int rc = mdb_get(txn, e, &k, &v);
    if (rc == 0) {
        unsigned char *copy = malloc(v.mv_size);
        if (copy == NULL)
            return damage_end(txn, -1);
        memcpy(copy, v.mv_data, v.mv_size);
        copy[offset < v.mv_size ? offset : v.mv_size / 2] ^= 1;
        MDB_val nv = {v.mv_size, copy};
        rc = mdb_put(txn, e, &k, &nv, 0);
        free(copy);
    }
    return damage_end(txn, rc);
}

static inline int damage_delete_entry(MDB_env *env, audit_log *log, uint64_t i)
{
    MDB_txn *txn;
    MDB_dbi e, n, c;
    if (damage_begin(env, log, &txn, &e, &n, &c) != 0)
        return -1;
    unsigned char key[8];
    store_put_u64(key, i);
    MDB_val k = {8, key};
    return damage_end(txn, mdb_del(txn, e, &k, NULL));
}

/* Remove the last `count` entries (their hashes stay behind). */
static inline int damage_truncate(MDB_env *env, audit_log *log, uint64_t count)
{
    MDB_txn *txn;
    MDB_dbi e, n, c;
    if (damage_begin(env, log, &txn, &e, &n, &c) != 0)
        return -1;
    MDB_stat st;
    int rc = mdb_stat(txn, e, &st);
    for (uint64_t i = 0; rc == 0 && i < count && i < st.ms_entries; i++) {
        unsigned char key[8];
        store_put_u64(key, st.ms_entries - 1 - i);
        MDB_val k = {8, key};
        rc = mdb_del(txn, e, &k, NULL);
    }
    return damage_end(txn, rc);
}

/* Exchange the stored bytes of entries i and j. */
static inline int damage_swap(MDB_env *env, audit_log *log, uint64_t i, uint64_t j)
{
    MDB_txn *txn;
    MDB_dbi e, n, c;
    if (damage_begin(env, log, &txn, &e, &n, &c) != 0)
        return -1;
    unsigned char ki[8], kj[8];
    store_put_u64(ki, i);
    store_put_u64(kj, j);
    MDB_val a = {8, ki}, b = {8, kj}, va, vb;
    int rc = mdb_get(txn, e, &a, &va);
    if (rc == 0)
        rc = mdb_get(txn, e, &b, &vb);
    if (rc != 0)
        return damage_end(txn, rc);
    unsigned char *ca = malloc(va.mv_size + 1), *cb = malloc(vb.mv_size + 1);
    if (ca != NULL && cb != NULL) {
        memcpy(ca, va.mv_data, va.mv_size);
        memcpy(cb, vb.mv_data, vb.mv_size);
        MDB_val na = {vb.mv_size, cb}, nb = {va.mv_size, ca};
        rc = mdb_put(txn, e, &a, &na, 0);
        if (rc == 0)
            rc = mdb_put(txn, e, &b, &nb, 0);
    } else {
        rc = -1;
    }
    free(ca);
    free(cb);
    return damage_end(txn, rc);
}

/* Overwrite the stored hash of one tree node with a different value. */
static inline int damage_node(MDB_env *env, audit_log *log, int level, uint64_t index)
{
    MDB_txn *txn;
    MDB_dbi e, n, c;
    if (damage_begin(env, log, &txn, &e, &n, &c) != 0)
        return -1;
    unsigned char key[9], h[32];
    audit_log_node_key(key, level, index);
    MDB_val k = {9, key}, v;
    int rc = mdb_get(txn, n, &k, &v);
    if (rc == 0 && v.mv_size == 32) {
        memcpy(h, v.mv_data, 32);
        h[31] ^= 0x80;
        MDB_val nv = {32, h};
        rc = mdb_put(txn, n, &k, &nv, 0);
    }
    return damage_end(txn, rc);
}

/* Store `bytes` as the checkpoint for `size` (replacing what was there). */
static inline int damage_put_checkpoint(MDB_env *env, audit_log *log, uint64_t size,
                                        const uint8_t *bytes, size_t len)
{
    MDB_txn *txn;
    MDB_dbi e, n, c;
    if (damage_begin(env, log, &txn, &e, &n, &c) != 0)
        return -1;
    unsigned char key[8];
    store_put_u64(key, size);
    unsigned char *copy = malloc(len + 1);
    if (copy == NULL)
        return damage_end(txn, -1);
    memcpy(copy, bytes, len);
    MDB_val k = {8, key}, v = {len, copy};
    int rc = mdb_put(txn, c, &k, &v, 0);
    free(copy);
    return damage_end(txn, rc);
}

struct damage_rebuild_ctx {
    MDB_txn *txn;
    MDB_dbi nodes;
    int rc;
};

static inline void damage_rebuild_node(void *ctx, int level, uint64_t index,
                                       const unsigned char hash[32])
{
    struct damage_rebuild_ctx *r = ctx;
    unsigned char key[9], h[32];
    audit_log_node_key(key, level, index);
    memcpy(h, hash, 32);
    MDB_val k = {9, key}, v = {32, h};
    if (r->rc == 0)
        r->rc = mdb_put(r->txn, r->nodes, &k, &v, 0);
}

/* What a careful attacker does after editing entries: throw the stored
 * hashes away and recompute them all from the entries as they now are,
 * so only the signed checkpoints still remember the truth. */
static inline int damage_rebuild_tree(MDB_env *env, audit_log *log)
{
    MDB_txn *txn;
    MDB_dbi e, n, c;
    if (damage_begin(env, log, &txn, &e, &n, &c) != 0)
        return -1;
    struct damage_rebuild_ctx r = {txn, n, mdb_drop(txn, n, 0)};
    MDB_cursor *cur;
    if (r.rc == 0)
        r.rc = mdb_cursor_open(txn, e, &cur);
    if (r.rc != 0)
        return damage_end(txn, r.rc);
    unsigned char frontier[64][32], leaf[32];
    uint64_t size = 0;
    MDB_val k, v;
    int crc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    while (crc == 0 && r.rc == 0) {
        merkle_leaf_hash(v.mv_data, v.mv_size, leaf);
        damage_rebuild_node(&r, 0, size, leaf);
        merkle_frontier_push(size, frontier, leaf, damage_rebuild_node, &r);
        size++;
        crc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    return damage_end(txn, r.rc);
}

#endif
