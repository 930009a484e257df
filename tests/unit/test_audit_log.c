/*
 * test_audit_log: the LMDB-backed Merkle log.
 *
 * Roots and proofs read from the store are compared with the naive RFC 6962
 * reference in merkle_ref.h (itself checked against the Certificate
 * Transparency reference vectors in test_merkle), for every index and
 * every pair of sizes of small trees; the frontier cache is exercised
 * across aborted transactions; and the store layout promises (one entry
 * per index, one node per complete subtree) are counted directly.
 */
#include <lmdb.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit_log.h"
#include "check.h"
#include "flagpost.pb-c.h"
#include "merkle_ref.h"
#include "store.h"

struct fixture {
    char dir[64];
    MDB_env *env;
    audit_log *log;
};

static int setup(struct fixture *f)
{
    snprintf(f->dir, sizeof f->dir, "/tmp/fp-audit-log.XXXXXX");
    if (mkdtemp(f->dir) == NULL)
        return -1;
    fp_error err;
    if (store_env_open(&f->env, f->dir, 64u << 20, 32, 0, &err) != FP_OK)
        return -1;
    return audit_log_open(&f->log, f->env, &err) == FP_OK ? 0 : -1;
}

static void teardown(struct fixture *f)
{
    audit_log_close(f->log);
    mdb_env_close(f->env);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", f->dir);
}

/* Append entries tagged `tag`+i in one transaction; commit or abort. */
static int append_n(struct fixture *f, int n, int tag, int commit)
{
    MDB_txn *txn;
    if (mdb_txn_begin(f->env, NULL, 0, &txn) != 0)
        return -1;
    for (int i = 0; i < n; i++) {
        Flagpost__AuditEntry e;
        flagpost__audit_entry__init(&e);
        char sender[32];
        snprintf(sender, sizeof sender, "agency-%d", tag + i);
        e.sender = sender;
        e.event = FLAGPOST__AUDIT_EVENT__AUDIT_DISCLOSURE;
        e.time_ms = 1700000000000 + tag + i;
        uint64_t idx;
        fp_error err;
        if (audit_log_append_entry(f->log, txn, &e, &idx, &err) != FP_OK) {
            printf("# append: %s\n", err.message);
            mdb_txn_abort(txn);
            return -1;
        }
    }
    if (!commit) {
        mdb_txn_abort(txn);
        return 0;
    }
    return mdb_txn_commit(txn) == 0 ? 0 : -1;
}

/* Leaf hashes of everything stored, computed from the entry bytes. */
static size_t stored_leaves(struct fixture *f, MDB_txn *txn, unsigned char (*out)[32],
                            size_t max)
{
    uint64_t n = 0;
    audit_log_size(f->log, txn, &n);
    for (uint64_t i = 0; i < n && i < max; i++) {
        const uint8_t *e;
        size_t len;
        if (audit_log_get(f->log, txn, i, &e, &len, NULL) != FP_OK)
            return 0;
        merkle_leaf_hash(e, len, out[i]);
    }
    return (size_t)n;
}

static void test_roots_match_reference(void)
{
    struct fixture f;
    CHECK(setup(&f) == 0);
    enum { N = 130 };
    static unsigned char leaves[N][32];
    int bad = 0;
    for (int i = 0; i < N; i++) {
        CHECK(append_n(&f, 1, i, 1) == 0 || (bad++, 0));
        MDB_txn *txn;
        mdb_txn_begin(f.env, NULL, MDB_RDONLY, &txn);
        size_t n = stored_leaves(&f, txn, leaves, N);
        unsigned char got[32], want[32];
        fp_error err;
        if (audit_log_root(f.log, txn, n, got, &err) != FP_OK)
            bad++;
        ref_mth((const unsigned char(*)[32])leaves, n, want);
        bad += memcmp(got, want, 32) != 0;
        bad += n != (size_t)i + 1;
        mdb_txn_abort(txn);
    }
    CHECK_EQ_INT(bad, 0);
    teardown(&f);
}

static void test_proofs_match_reference(void)
{
    struct fixture f;
    CHECK(setup(&f) == 0);
    enum { N = 40 };
    CHECK(append_n(&f, N, 0, 1) == 0);
    unsigned char leaves[N][32], got[MERKLE_MAX_PROOF][32], want[MERKLE_MAX_PROOF][32];
    MDB_txn *txn;
    mdb_txn_begin(f.env, NULL, MDB_RDONLY, &txn);
    CHECK_EQ_INT(stored_leaves(&f, txn, leaves, N), N);
    const unsigned char(*d)[32] = (const unsigned char(*)[32])leaves;
    int wrong = 0, checked = 0;
    fp_error err;
    for (uint64_t n = 1; n <= N; n++) {
        for (uint64_t m = 0; m < n; m++) {
            size_t len = 99;
            if (audit_log_inclusion_proof(f.log, txn, m, n, got, &len, &err) != FP_OK)
                wrong++;
            size_t wlen = ref_path(m, d, n, want);
            wrong += len != wlen || memcmp(got, want, wlen * 32) != 0;
            checked++;
        }
        for (uint64_t m = 0; m <= n; m++) {
            size_t len = 99;
            if (audit_log_consistency_proof(f.log, txn, m, n, got, &len, &err) != FP_OK)
                wrong++;
            size_t wlen = ref_consistency(m, d, n, want);
            wrong += len != wlen || memcmp(got, want, wlen * 32) != 0;
            checked++;
        }
    }
    CHECK_EQ_INT(wrong, 0);
    CHECK(checked > 1500);
    mdb_txn_abort(txn);
    teardown(&f);
}

static void test_proof_argument_errors(void)
{
    struct fixture f;
    CHECK(setup(&f) == 0);
    CHECK(append_n(&f, 5, 0, 1) == 0);
    MDB_txn *txn;
    mdb_txn_begin(f.env, NULL, MDB_RDONLY, &txn);
    unsigned char path[MERKLE_MAX_PROOF][32], root[32];
    size_t len;
    fp_error err;
    CHECK_EQ_INT(audit_log_inclusion_proof(f.log, txn, 5, 5, path, &len, &err), FP_ERR_INPUT);
    CHECK_EQ_INT(audit_log_inclusion_proof(f.log, txn, 0, 6, path, &len, &err), FP_ERR_INPUT);
    CHECK_EQ_INT(audit_log_consistency_proof(f.log, txn, 4, 3, path, &len, &err),
                 FP_ERR_INPUT);
    CHECK_EQ_INT(audit_log_root(f.log, txn, 6, root, &err), FP_ERR_INPUT);
    CHECK_EQ_INT(audit_log_root(f.log, txn, 0, root, &err), FP_OK);
    unsigned char empty[32];
    merkle_empty_root(empty);
    CHECK(memcmp(root, empty, 32) == 0);
    mdb_txn_abort(txn);
    teardown(&f);
}

/* An aborted append must not poison the cached frontier: the entries that
 * do commit must hash exactly as a fresh reader computes them. */
static void test_abort_keeps_cache_correct(void)
{
    struct fixture f;
    CHECK(setup(&f) == 0);
    CHECK(append_n(&f, 5, 0, 1) == 0);
    CHECK(append_n(&f, 3, 100, 0) == 0);   /* aborted: cache saw size 8 */
    CHECK(append_n(&f, 3, 200, 1) == 0);   /* same size 8, different content */
    CHECK(append_n(&f, 1, 300, 0) == 0);   /* aborted at size 9 */
    CHECK(append_n(&f, 6, 400, 1) == 0);
    MDB_txn *txn;
    mdb_txn_begin(f.env, NULL, MDB_RDONLY, &txn);
    unsigned char leaves[32][32], got[32], want[32];
    size_t n = stored_leaves(&f, txn, leaves, 32);
    CHECK_EQ_INT(n, 14);
    CHECK(audit_log_root(f.log, txn, n, got, NULL) == FP_OK);
    ref_mth((const unsigned char(*)[32])leaves, n, want);
    CHECK(memcmp(got, want, 32) == 0);
    /* Every intermediate root too (they use other stored nodes). */
    int bad = 0;
    for (size_t s = 1; s <= n; s++) {
        audit_log_root(f.log, txn, s, got, NULL);
        ref_mth((const unsigned char(*)[32])leaves, s, want);
        bad += memcmp(got, want, 32) != 0;
    }
    CHECK_EQ_INT(bad, 0);
    mdb_txn_abort(txn);

    /* A second handle (a restarted broker) continues the same tree. */
    audit_log *again;
    CHECK(audit_log_open(&again, f.env, NULL) == FP_OK);
    audit_log *first = f.log;
    f.log = again;
    CHECK(append_n(&f, 3, 500, 1) == 0);
    mdb_txn_begin(f.env, NULL, MDB_RDONLY, &txn);
    n = stored_leaves(&f, txn, leaves, 32);
    CHECK(audit_log_root(f.log, txn, n, got, NULL) == FP_OK);
    ref_mth((const unsigned char(*)[32])leaves, n, want);
    CHECK(memcmp(got, want, 32) == 0);
    mdb_txn_abort(txn);
    audit_log_close(first);
    teardown(&f);
}

static void test_node_count_is_every_complete_subtree(void)
{
    struct fixture f;
    CHECK(setup(&f) == 0);
    CHECK(append_n(&f, 1000, 0, 1) == 0);
    MDB_txn *txn;
    mdb_txn_begin(f.env, NULL, MDB_RDONLY, &txn);
    MDB_dbi entries, nodes;
    audit_log_dbis(f.log, &entries, &nodes, NULL);
    MDB_stat st;
    mdb_stat(txn, nodes, &st);
    uint64_t want = 0;
    for (int l = 0; l < 64; l++)
        want += (uint64_t)1000 >> l;
    CHECK_EQ_INT(st.ms_entries, want);   /* 2n - popcount(n) */
    mdb_stat(txn, entries, &st);
    CHECK_EQ_INT(st.ms_entries, 1000);
    mdb_txn_abort(txn);
    teardown(&f);
}

static void test_append_refuses_wrong_index_and_garbage(void)
{
    struct fixture f;
    CHECK(setup(&f) == 0);
    CHECK(append_n(&f, 3, 0, 1) == 0);
    MDB_txn *txn;
    mdb_txn_begin(f.env, NULL, 0, &txn);
    Flagpost__AuditEntry e;
    flagpost__audit_entry__init(&e);
    e.index = 7;
    uint8_t buf[64];
    size_t len = flagpost__audit_entry__pack(&e, buf);
    fp_error err;
    CHECK_EQ_INT(audit_log_append(f.log, txn, buf, len, NULL, &err), FP_ERR_INTERNAL);
    CHECK(strstr(err.message, "index 7") != NULL);
    const uint8_t junk[] = {0x0b, 0x01};   /* a group tag: not ours */
    CHECK_EQ_INT(audit_log_append(f.log, txn, junk, sizeof junk, NULL, &err),
                 FP_ERR_INTERNAL);
    e.index = 3;
    len = flagpost__audit_entry__pack(&e, buf);
    uint64_t idx = 0;
    CHECK_EQ_INT(audit_log_append(f.log, txn, buf, len, &idx, &err), FP_OK);
    CHECK_EQ_INT(idx, 3);
    mdb_txn_abort(txn);
    teardown(&f);
}

static void test_entry_index_scan(void)
{
    Flagpost__AuditEntry e;
    flagpost__audit_entry__init(&e);
    uint8_t buf[256];
    uint64_t got = 1;
    size_t len = flagpost__audit_entry__pack(&e, buf);
    CHECK(audit_log_entry_index(buf, len, &got) == FP_OK && got == 0);
    e.index = 300000000001ull;
    char police[] = "police";
    e.sender = police;
    e.time_ms = -5;
    e.break_glass = 1;
    len = flagpost__audit_entry__pack(&e, buf);
    CHECK(audit_log_entry_index(buf, len, &got) == FP_OK);
    CHECK(got == 300000000001ull);
    CHECK_EQ_INT(audit_log_entry_index(buf, len - 1, &got), FP_ERR_INPUT);
}

static void test_gap_is_refused(void)
{
    struct fixture f;
    CHECK(setup(&f) == 0);
    CHECK(append_n(&f, 6, 0, 1) == 0);
    MDB_txn *txn;
    mdb_txn_begin(f.env, NULL, 0, &txn);
    MDB_dbi entries;
    audit_log_dbis(f.log, &entries, NULL, NULL);
    unsigned char key[8];
    store_put_u64(key, 2);
    MDB_val k = {8, key};
    CHECK(mdb_del(txn, entries, &k, NULL) == 0);
    CHECK(mdb_txn_commit(txn) == 0);
    CHECK(append_n(&f, 1, 50, 1) != 0);   /* size now 5, but key 5 exists */
    teardown(&f);
}

static void test_checkpoints_and_scan(void)
{
    struct fixture f;
    CHECK(setup(&f) == 0);
    CHECK(append_n(&f, 10, 0, 1) == 0);
    MDB_txn *txn;
    mdb_txn_begin(f.env, NULL, 0, &txn);
    fp_error err;
    CHECK_EQ_INT(audit_log_put_checkpoint(f.log, txn, 4, (const uint8_t *)"four", 4, &err),
                 FP_OK);
    CHECK_EQ_INT(audit_log_put_checkpoint(f.log, txn, 10, (const uint8_t *)"ten", 3, &err),
                 FP_OK);
    CHECK_EQ_INT(audit_log_put_checkpoint(f.log, txn, 11, (const uint8_t *)"x", 1, &err),
                 FP_ERR_INPUT);
    CHECK(mdb_txn_commit(txn) == 0);
    mdb_txn_begin(f.env, NULL, MDB_RDONLY, &txn);
    const uint8_t *b;
    size_t len;
    uint64_t size;
    CHECK_EQ_INT(audit_log_get_checkpoint(f.log, txn, 4, &b, &len, &err), FP_OK);
    CHECK(len == 4 && memcmp(b, "four", 4) == 0);
    CHECK_EQ_INT(audit_log_get_checkpoint(f.log, txn, 5, &b, &len, &err), FP_ERR_NOT_FOUND);
    CHECK_EQ_INT(audit_log_latest_checkpoint(f.log, txn, &size, &b, &len, &err), FP_OK);
    CHECK(size == 10 && len == 3);
    mdb_txn_abort(txn);
    teardown(&f);
}

struct scan_ctx {
    uint64_t next;
    int bad;
    int seen;
};

static int visit(void *ctx, uint64_t index, const uint8_t *entry, size_t len)
{
    struct scan_ctx *s = ctx;
    uint64_t recorded;
    s->bad += index != s->next;
    s->bad += audit_log_entry_index(entry, len, &recorded) != FP_OK || recorded != index;
    s->next++;
    return ++s->seen == 5;   /* stop after five */
}

static void test_scan_from_and_stop(void)
{
    struct fixture f;
    CHECK(setup(&f) == 0);
    CHECK(append_n(&f, 20, 0, 1) == 0);
    MDB_txn *txn;
    mdb_txn_begin(f.env, NULL, MDB_RDONLY, &txn);
    struct scan_ctx s = {7, 0, 0};
    CHECK_EQ_INT(audit_log_scan(f.log, txn, 7, visit, &s, NULL), FP_OK);
    CHECK_EQ_INT(s.seen, 5);
    CHECK_EQ_INT(s.bad, 0);
    mdb_txn_abort(txn);
    teardown(&f);
}

static void test_readonly_open_needs_a_trail(void)
{
    char dir[] = "/tmp/fp-audit-ro.XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    MDB_env *env;
    fp_error err;
    CHECK(store_env_open(&env, dir, 1u << 20, 32, 0, &err) == FP_OK);
    audit_log *log = NULL;
    CHECK_EQ_INT(audit_log_open_readonly(&log, env, &err), FP_ERR_NOT_FOUND);
    CHECK(log == NULL);
    CHECK(strstr(err.message, "no audit trail") != NULL);
    mdb_env_close(env);
    char cmd[64];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    RUN(test_roots_match_reference);
    RUN(test_proofs_match_reference);
    RUN(test_proof_argument_errors);
    RUN(test_abort_keeps_cache_correct);
    RUN(test_node_count_is_every_complete_subtree);
    RUN(test_append_refuses_wrong_index_and_garbage);
    RUN(test_entry_index_scan);
    RUN(test_gap_is_refused);
    RUN(test_checkpoints_and_scan);
    RUN(test_scan_from_and_stop);
    RUN(test_readonly_open_needs_a_trail);
    return check_summary();
}
