/*
 * test_audit_verify: whole-log verification finds each kind of tampering
 * (done directly to the LMDB store by audit_damage.h) and names the first
 * entry that does not match.  Logs span several 4096-entry chunks so the
 * chunk boundaries and the levels above them are exercised.
 */
#include <lmdb.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit_damage.h"
#include "audit_log.h"
#include "audit_verify.h"
#include "check.h"
#include "checkpoint.h"
#include "flagpost.pb-c.h"
#include "store.h"

#define N_ENTRIES 10000
#define CP_EVERY 1000

struct fixture {
    char dir[64];
    MDB_env *env;
    audit_log *log;
    unsigned char pk[32], sk[64];
};

static int append_one(struct fixture *f, MDB_txn *txn, uint64_t i)
{
    Flagpost__AuditEntry e;
    flagpost__audit_entry__init(&e);
    char sender[16], recipient[16], category[] = "da_victim";
    snprintf(sender, sizeof sender, "agency%llu", (unsigned long long)(i % 7));
    snprintf(recipient, sizeof recipient, "agency%llu", (unsigned long long)(i % 5));
    e.sender = sender;
    e.recipient = recipient;
    e.category = category;
    e.event = FLAGPOST__AUDIT_EVENT__AUDIT_DISCLOSURE;
    e.time_ms = 1718000000000 + (int64_t)i * 1000;
    return audit_log_append_entry(f->log, txn, &e, NULL, NULL);
}

static int sign_checkpoint(struct fixture *f, MDB_txn *txn, uint64_t size,
                           const unsigned char sk[64], uint8_t **out, size_t *len)
{
    checkpoint_info cp;
    memset(&cp, 0, sizeof cp);
    cp.tree_size = size;
    cp.time_ms = 1718000000000 + (int64_t)size * 1000;
    snprintf(cp.broker_id, sizeof cp.broker_id, "broker");
    if (audit_log_root(f->log, txn, size, cp.root, NULL) != FP_OK)
        return -1;
    return checkpoint_sign(&cp, sk, out, len, NULL);
}

/* n entries, a signed checkpoint every CP_EVERY entries and at the end. */
static int setup(struct fixture *f, uint64_t n)
{
    snprintf(f->dir, sizeof f->dir, "/tmp/fp-audit-verify.XXXXXX");
    if (mkdtemp(f->dir) == NULL)
        return -1;
    crypto_sign_keypair(f->pk, f->sk);
    if (store_env_open(&f->env, f->dir, 256u << 20, 32, 0, NULL) != FP_OK ||
        audit_log_open(&f->log, f->env, NULL) != FP_OK)
        return -1;
    MDB_txn *txn;
    if (mdb_txn_begin(f->env, NULL, 0, &txn) != 0)
        return -1;
    for (uint64_t i = 0; i < n; i++) {
        if (append_one(f, txn, i) != FP_OK)
            return -1;
        uint64_t size = i + 1;
        if (size % CP_EVERY == 0 || size == n) {
            uint8_t *cp;
            size_t len;
            if (sign_checkpoint(f, txn, size, f->sk, &cp, &len) != 0 ||
                audit_log_put_checkpoint(f->log, txn, size, cp, len, NULL) != FP_OK)
                return -1;
            free(cp);
        }
    }
    return mdb_txn_commit(txn) == 0 ? 0 : -1;
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

static int verify(struct fixture *f, audit_verify_result *res, unsigned threads)
{
    unsigned char keys[1][32];
    memcpy(keys[0], f->pk, 32);
    audit_verify_options opt = {0};
    opt.keys = (const unsigned char(*)[32])keys;
    opt.nkeys = 1;
    opt.threads = threads;
    fp_error err;
    int rc = audit_verify_run(f->env, f->log, &opt, res, &err);
    if (rc != FP_OK)
        printf("#   verify: %s\n", err.message);
    return rc;
}

static void test_clean_log_verifies(void)
{
    struct fixture f;
    CHECK(setup(&f, N_ENTRIES) == 0);
    audit_verify_result res;
    CHECK_EQ_INT(verify(&f, &res, 0), FP_OK);
    CHECK(res.ok);
    CHECK_EQ_INT(res.tree_size, N_ENTRIES);
    CHECK_EQ_INT(res.entries_checked, N_ENTRIES);
    CHECK_EQ_INT(res.nodes_checked, 2 * N_ENTRIES - __builtin_popcount(N_ENTRIES));
    CHECK_EQ_INT(res.checkpoints, N_ENTRIES / CP_EVERY);
    CHECK_EQ_INT(res.checkpoints_checked, N_ENTRIES / CP_EVERY);
    CHECK(res.have_checkpoint && res.latest.tree_size == N_ENTRIES);
    MDB_txn *txn;
    unsigned char root[32];
    mdb_txn_begin(f.env, NULL, MDB_RDONLY, &txn);
    CHECK(audit_log_root(f.log, txn, N_ENTRIES, root, NULL) == FP_OK);
    mdb_txn_abort(txn);
    CHECK(memcmp(root, res.root, 32) == 0);
    for (unsigned t = 1; t <= 3; t++) {
        audit_verify_result again;
        CHECK_EQ_INT(verify(&f, &again, t), FP_OK);
        CHECK(memcmp(again.root, res.root, 32) == 0);
    }
    teardown(&f);
}

static void test_small_and_empty_logs(void)
{
    for (uint64_t n = 0; n <= 9; n += 3) {
        struct fixture f;
        CHECK(setup(&f, n) == 0);
        audit_verify_result res;
        CHECK_EQ_INT(verify(&f, &res, 0), FP_OK);
        CHECK_EQ_INT(res.tree_size, n);
        unsigned char root[32];
        MDB_txn *txn;
        mdb_txn_begin(f.env, NULL, MDB_RDONLY, &txn);
        CHECK(audit_log_root(f.log, txn, n, root, NULL) == FP_OK);
        mdb_txn_abort(txn);
        CHECK(memcmp(root, res.root, 32) == 0);
        teardown(&f);
    }
}

static void expect_bad(struct fixture *f, uint64_t first_bad, const char *phrase)
{
    audit_verify_result res;
    CHECK_EQ_INT(verify(f, &res, 0), FP_ERR_CRYPTO);
    CHECK(!res.ok);
    CHECK_EQ_INT(res.first_bad, first_bad);
    if (strstr(res.problem, phrase) == NULL) {
        printf("#   expected \"%s\" in: %s\n", phrase, res.problem);
        CHECK(0);
    }
}

static void test_changed_byte(void)
{
    struct fixture f;
    CHECK(setup(&f, N_ENTRIES) == 0);
    CHECK(damage_change_byte(f.env, f.log, 5000, 9999) == 0);
    expect_bad(&f, 5000, "entry 5000 does not match");
    teardown(&f);
}

static void test_deleted_entry(void)
{
    struct fixture f;
    CHECK(setup(&f, N_ENTRIES) == 0);
    CHECK(damage_delete_entry(f.env, f.log, 777) == 0);
    expect_bad(&f, 777, "entry 777 is missing");
    teardown(&f);
}

static void test_reordered_pair_across_chunks(void)
{
    struct fixture f;
    CHECK(setup(&f, N_ENTRIES) == 0);
    CHECK(damage_swap(f.env, f.log, 4095, 4096) == 0);
    expect_bad(&f, 4095, "written as entry 4096");
    teardown(&f);
}

static void test_reordered_pair_with_rebuilt_tree(void)
{
    struct fixture f;
    CHECK(setup(&f, N_ENTRIES) == 0);
    CHECK(damage_swap(f.env, f.log, 20, 21) == 0);
    CHECK(damage_rebuild_tree(f.env, f.log) == 0);
    expect_bad(&f, 20, "entry 20 records that it was written as entry 21");
    teardown(&f);
}

static void test_changed_entry_with_rebuilt_tree(void)
{
    struct fixture f;
    CHECK(setup(&f, N_ENTRIES) == 0);
    CHECK(damage_change_byte(f.env, f.log, 6543, 9999) == 0);
    CHECK(damage_rebuild_tree(f.env, f.log) == 0);
    /* Only the checkpoints know: the range between the last good one and
     * the first bad one is named. */
    expect_bad(&f, 6000, "entries 6000..6999 do not match the broker's checkpoint");
    teardown(&f);
}

static void test_replaced_checkpoint(void)
{
    struct fixture f;
    CHECK(setup(&f, N_ENTRIES) == 0);
    unsigned char other_pk[32], other_sk[64];
    crypto_sign_keypair(other_pk, other_sk);
    MDB_txn *txn;
    uint8_t *forged = NULL, *older = NULL;
    size_t flen = 0, olen = 0;
    mdb_txn_begin(f.env, NULL, MDB_RDONLY, &txn);
    CHECK(sign_checkpoint(&f, txn, 3000, other_sk, &forged, &flen) == 0);
    CHECK(sign_checkpoint(&f, txn, 2000, f.sk, &older, &olen) == 0);
    mdb_txn_abort(txn);

    CHECK(damage_put_checkpoint(f.env, f.log, 3000, forged, flen) == 0);
    expect_bad(&f, AUDIT_VERIFY_NONE, "checkpoint stored for the first 3000 entries was "
                                      "replaced");
    CHECK(damage_put_checkpoint(f.env, f.log, 3000, older, olen) == 0);
    expect_bad(&f, AUDIT_VERIFY_NONE, "is the broker's checkpoint for 2000 entries");
    free(forged);
    free(older);
    teardown(&f);
}

static void test_truncated_tail(void)
{
    struct fixture f;
    CHECK(setup(&f, N_ENTRIES) == 0);
    CHECK(damage_truncate(f.env, f.log, 3) == 0);
    expect_bad(&f, N_ENTRIES - 3, "from 9997 on were removed");
    teardown(&f);
}

static void test_altered_nodes(void)
{
    struct fixture f;
    CHECK(setup(&f, N_ENTRIES) == 0);
    CHECK(damage_node(f.env, f.log, 3, 100) == 0);   /* entries 800..807 */
    expect_bad(&f, 800, "entries 800..807 does not match");
    teardown(&f);
    CHECK(setup(&f, N_ENTRIES) == 0);
    CHECK(damage_node(f.env, f.log, 13, 0) == 0);    /* above the chunk level */
    expect_bad(&f, 0, "entries 0..8191 does not match");
    teardown(&f);
    CHECK(setup(&f, N_ENTRIES) == 0);
    CHECK(damage_node(f.env, f.log, 0, 42) == 0);    /* a leaf hash */
    expect_bad(&f, 42, "entry 42 does not match");
    teardown(&f);
}

static void test_without_keys_checkpoints_are_not_checked(void)
{
    struct fixture f;
    CHECK(setup(&f, 2500) == 0);
    audit_verify_result res;
    fp_error err;
    CHECK_EQ_INT(audit_verify_run(f.env, f.log, NULL, &res, &err), FP_OK);
    CHECK_EQ_INT(res.checkpoints, 3);
    CHECK_EQ_INT(res.checkpoints_checked, 0);
    teardown(&f);
}

struct progress {
    uint64_t last, total;
    int calls;
    int backwards;
};

static void on_progress(void *ctx, uint64_t done, uint64_t total)
{
    struct progress *p = ctx;
    p->backwards += done < p->last;
    p->last = done;
    p->total = total;
    p->calls++;
}

static void test_progress_reports(void)
{
    struct fixture f;
    CHECK(setup(&f, N_ENTRIES) == 0);
    struct progress p = {0, 0, 0, 0};
    audit_verify_options opt = {0};
    opt.progress = on_progress;
    opt.progress_ctx = &p;
    audit_verify_result res;
    CHECK_EQ_INT(audit_verify_run(f.env, f.log, &opt, &res, NULL), FP_OK);
    CHECK_EQ_INT(p.calls, 3);
    CHECK_EQ_INT(p.last, N_ENTRIES);
    CHECK_EQ_INT(p.total, N_ENTRIES);
    CHECK_EQ_INT(p.backwards, 0);
    teardown(&f);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    RUN(test_clean_log_verifies);
    RUN(test_small_and_empty_logs);
    RUN(test_changed_byte);
    RUN(test_deleted_entry);
    RUN(test_reordered_pair_across_chunks);
    RUN(test_reordered_pair_with_rebuilt_tree);
    RUN(test_changed_entry_with_rebuilt_tree);
    RUN(test_replaced_checkpoint);
    RUN(test_truncated_tail);
    RUN(test_altered_nodes);
    RUN(test_without_keys_checkpoints_are_not_checked);
    RUN(test_progress_reports);
    return check_summary();
}
