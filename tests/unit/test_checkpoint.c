/*
 * test_checkpoint: signed checkpoints and the witness's consistency check.
 */
#include <sodium.h>
#include <stdlib.h>

#include "check.h"
#include "checkpoint.h"
#include "flagpost.pb-c.h"
#include "merkle_ref.h"
#include "store.h"

struct keys {
    unsigned char pk[32];
    unsigned char sk[64];
};

static void make_keys(struct keys *k)
{
    crypto_sign_keypair(k->pk, k->sk);
}

static checkpoint_info sample(uint64_t size)
{
    checkpoint_info cp;
    memset(&cp, 0, sizeof cp);
    cp.tree_size = size;
    for (int i = 0; i < 32; i++)
        cp.root[i] = (unsigned char)(i * 7 + size);
    cp.time_ms = 1718000000123;
    snprintf(cp.broker_id, sizeof cp.broker_id, "broker");
    return cp;
}

static void test_sign_verify_roundtrip(void)
{
    struct keys k;
    make_keys(&k);
    checkpoint_info cp = sample(42), got;
    uint8_t *buf;
    size_t len;
    fp_error err;
    CHECK_EQ_INT(checkpoint_sign(&cp, k.sk, &buf, &len, &err), FP_OK);
    memset(&got, 0xaa, sizeof got);
    CHECK_EQ_INT(checkpoint_verify(buf, len, k.pk, &got, &err), FP_OK);
    CHECK_EQ_INT(got.tree_size, 42);
    CHECK(memcmp(got.root, cp.root, 32) == 0);
    CHECK_EQ_INT(got.time_ms, cp.time_ms);
    CHECK_EQ_STR(got.broker_id, "broker");
    free(buf);
}

static void test_every_flipped_bit_is_refused(void)
{
    struct keys k;
    make_keys(&k);
    checkpoint_info cp = sample(9), got;
    uint8_t *buf;
    size_t len;
    CHECK_EQ_INT(checkpoint_sign(&cp, k.sk, &buf, &len, NULL), FP_OK);
    int accepted = 0;
    for (size_t i = 0; i < len; i++) {
        for (int bit = 0; bit < 8; bit++) {
            buf[i] ^= (uint8_t)(1 << bit);
            accepted += checkpoint_verify(buf, len, k.pk, &got, NULL) == FP_OK;
            buf[i] ^= (uint8_t)(1 << bit);
        }
    }
    CHECK_EQ_INT(accepted, 0);
    CHECK_EQ_INT(checkpoint_verify(buf, len, k.pk, &got, NULL), FP_OK);
    CHECK(checkpoint_verify(buf, len - 1, k.pk, &got, NULL) != FP_OK);
    free(buf);
}

static void test_wrong_key_and_rotation(void)
{
    struct keys a, b, c;
    make_keys(&a);
    make_keys(&b);
    make_keys(&c);
    checkpoint_info cp = sample(3), got;
    uint8_t *buf;
    size_t len;
    fp_error err;
    CHECK_EQ_INT(checkpoint_sign(&cp, b.sk, &buf, &len, &err), FP_OK);
    CHECK_EQ_INT(checkpoint_verify(buf, len, a.pk, &got, &err), FP_ERR_CRYPTO);
    CHECK(strstr(err.message, "does not verify") != NULL);
    unsigned char ring[3][32];
    memcpy(ring[0], a.pk, 32);
    memcpy(ring[1], b.pk, 32);
    memcpy(ring[2], c.pk, 32);
    size_t which = 99;
    CHECK_EQ_INT(checkpoint_verify_any(buf, len, (const unsigned char(*)[32])ring, 3, &got,
                                       &which, &err),
                 FP_OK);
    CHECK_EQ_INT(which, 1);
    CHECK_EQ_INT(checkpoint_verify_any(buf, len, (const unsigned char(*)[32])ring, 1, &got,
                                       &which, &err),
                 FP_ERR_CRYPTO);
    CHECK_EQ_INT(checkpoint_verify_any(buf, len, (const unsigned char(*)[32])ring, 0, &got,
                                       &which, &err),
                 FP_ERR_CRYPTO);
    free(buf);
}

/* A signature over the same bytes under another domain (or none) must not
 * pass as a checkpoint signature. */
static void test_domain_separation(void)
{
    struct keys k;
    make_keys(&k);
    unsigned char root[32] = {1};
    char id[] = "broker";
    Flagpost__Checkpoint c;
    flagpost__checkpoint__init(&c);
    c.tree_size = 5;
    c.root.data = root;
    c.root.len = 32;
    c.broker_id = id;
    uint8_t cpb[128], msg[160];
    size_t n = flagpost__checkpoint__pack(&c, cpb);
    unsigned char sig[64];
    checkpoint_info got;
    crypto_sign_detached(sig, NULL, cpb, n, k.sk);
    CHECK_EQ_INT(checkpoint_verify_parts(cpb, n, sig, 64, k.pk, &got, NULL), FP_ERR_CRYPTO);
    memcpy(msg, "flagpost-cert-v1", 16);
    memcpy(msg + 16, cpb, n);
    crypto_sign_detached(sig, NULL, msg, 16 + n, k.sk);
    CHECK_EQ_INT(checkpoint_verify_parts(cpb, n, sig, 64, k.pk, &got, NULL), FP_ERR_CRYPTO);
    memcpy(msg, "flagpost-checkpoint-v1", 22);
    memcpy(msg + 22, cpb, n);
    crypto_sign_detached(sig, NULL, msg, 22 + n, k.sk);
    CHECK_EQ_INT(checkpoint_verify_parts(cpb, n, sig, 64, k.pk, &got, NULL), FP_OK);
    CHECK_EQ_INT(got.tree_size, 5);
    CHECK_EQ_INT(checkpoint_verify_parts(cpb, n, sig, 63, k.pk, &got, NULL), FP_ERR_CRYPTO);
}

/* A signed message that is not a valid checkpoint is refused after the
 * signature check (a broker bug, not an attack, but never misread). */
static void test_signed_garbage_is_input_error(void)
{
    struct keys k;
    make_keys(&k);
    uint8_t msg[64] = "flagpost-checkpoint-v1";
    uint8_t cpb[2] = {0x12, 0x03};   /* root: 3 bytes promised, none given */
    memcpy(msg + 22, cpb, 2);
    unsigned char sig[64];
    crypto_sign_detached(sig, NULL, msg, 24, k.sk);
    checkpoint_info got;
    fp_error err;
    CHECK_EQ_INT(checkpoint_verify_parts(cpb, 2, sig, 64, k.pk, &got, &err), FP_ERR_INPUT);
    checkpoint_info bad = sample(1);
    snprintf(bad.broker_id, sizeof bad.broker_id, "bro\nker");   /* a control character */
    uint8_t *buf;
    size_t len;
    CHECK_EQ_INT(checkpoint_sign(&bad, k.sk, &buf, &len, &err), FP_ERR_INPUT);
}

static void tree(unsigned char (*leaves)[32], int n)
{
    for (int i = 0; i < n; i++) {
        uint8_t b = (uint8_t)(i * 3);
        merkle_leaf_hash(&b, 1, leaves[i]);
    }
}

static void test_consistency_between_checkpoints(void)
{
    unsigned char leaves[20][32], path[MERKLE_MAX_PROOF][32];
    tree(leaves, 20);
    const unsigned char(*d)[32] = (const unsigned char(*)[32])leaves;
    checkpoint_info a = sample(7), b = sample(20);
    ref_mth(d, 7, a.root);
    ref_mth(d, 20, b.root);
    size_t len = ref_consistency(7, d, 20, path);
    const unsigned char(*p)[32] = (const unsigned char(*)[32])path;
    fp_error err;
    CHECK_EQ_INT(checkpoint_check_consistency(&a, &b, p, len, &err), FP_OK);
    CHECK_EQ_INT(checkpoint_check_consistency(&a, &a, NULL, 0, &err), FP_OK);

    CHECK_EQ_INT(checkpoint_check_consistency(&b, &a, p, len, &err), FP_ERR_CRYPTO);
    CHECK(strstr(err.message, "rolled back") != NULL);

    checkpoint_info forked = b;
    forked.root[0] ^= 1;
    CHECK_EQ_INT(checkpoint_check_consistency(&a, &forked, p, len, &err), FP_ERR_CRYPTO);
    CHECK(strstr(err.message, "rewritten") != NULL);
    CHECK_EQ_INT(checkpoint_check_consistency(&b, &forked, NULL, 0, &err), FP_ERR_CRYPTO);
    CHECK(strstr(err.message, "two different") != NULL);
}

static void test_consistency_message(void)
{
    unsigned char leaves[9][32], path[MERKLE_MAX_PROOF][32];
    tree(leaves, 9);
    const unsigned char(*d)[32] = (const unsigned char(*)[32])leaves;
    checkpoint_info a = sample(3), b = sample(9);
    ref_mth(d, 3, a.root);
    ref_mth(d, 9, b.root);
    size_t len = ref_consistency(3, d, 9, path);
    ProtobufCBinaryData items[MERKLE_MAX_PROOF];
    for (size_t i = 0; i < len; i++) {
        items[i].data = path[i];
        items[i].len = 32;
    }
    Flagpost__ConsistencyProof msg;
    flagpost__consistency_proof__init(&msg);
    msg.old_size = 3;
    msg.new_size = 9;
    msg.n_path = len;
    msg.path = items;
    fp_error err;
    CHECK_EQ_INT(checkpoint_check_consistency_message(&a, &b, &msg, &err), FP_OK);
    msg.new_size = 8;
    CHECK_EQ_INT(checkpoint_check_consistency_message(&a, &b, &msg, &err), FP_ERR_INPUT);
    msg.new_size = 9;
    items[0].len = 31;
    CHECK_EQ_INT(checkpoint_check_consistency_message(&a, &b, &msg, &err), FP_ERR_CRYPTO);
    items[0].len = 32;
    path[1][5] ^= 1;
    CHECK_EQ_INT(checkpoint_check_consistency_message(&a, &b, &msg, &err), FP_ERR_CRYPTO);
    char why[] = "busy";
    msg.error = why;
    CHECK_EQ_INT(checkpoint_check_consistency_message(&a, &b, &msg, &err),
                 FP_ERR_UNAVAILABLE);
}

/* The broker's step: sign the current tree into the store, in the same
 * transaction; a witness verifies it and a later one against it. */
static void test_issue_from_the_log(void)
{
    char dir[] = "/tmp/fp-cp-issue.XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    MDB_env *env;
    audit_log *log;
    CHECK(store_env_open(&env, dir, 16u << 20, 32, 0, NULL) == FP_OK);
    CHECK(audit_log_open(&log, env, NULL) == FP_OK);
    struct keys k;
    make_keys(&k);
    checkpoint_info first, second, seen;
    uint8_t *bytes = NULL;
    size_t len = 0;
    MDB_txn *txn;
    for (int round = 0; round < 2; round++) {
        CHECK(mdb_txn_begin(env, NULL, 0, &txn) == 0);
        for (int i = 0; i < 5 + round * 6; i++) {
            Flagpost__AuditEntry e;
            flagpost__audit_entry__init(&e);
            e.time_ms = i;
            CHECK(audit_log_append_entry(log, txn, &e, NULL, NULL) == FP_OK);
        }
        checkpoint_info *out = round == 0 ? &first : &second;
        CHECK_EQ_INT(checkpoint_issue(log, txn, "broker", 1000 + round, k.sk, out,
                                      round == 1 ? &bytes : NULL, &len, NULL),
                     FP_OK);
        CHECK(mdb_txn_commit(txn) == 0);
    }
    CHECK_EQ_INT(first.tree_size, 5);
    CHECK_EQ_INT(second.tree_size, 16);
    CHECK(bytes != NULL && checkpoint_verify(bytes, len, k.pk, &seen, NULL) == FP_OK);
    CHECK(seen.tree_size == 16 && memcmp(seen.root, second.root, 32) == 0);
    free(bytes);
    unsigned char path[MERKLE_MAX_PROOF][32];
    size_t n;
    CHECK(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) == 0);
    const uint8_t *stored;
    uint64_t size;
    CHECK(audit_log_latest_checkpoint(log, txn, &size, &stored, &len, NULL) == FP_OK);
    CHECK_EQ_INT(size, 16);
    CHECK(audit_log_consistency_proof(log, txn, 5, 16, path, &n, NULL) == FP_OK);
    mdb_txn_abort(txn);
    CHECK_EQ_INT(checkpoint_check_consistency(&first, &second,
                                              (const unsigned char(*)[32])path, n, NULL),
                 FP_OK);
    audit_log_close(log);
    mdb_env_close(env);
    char cmd[64];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    RUN(test_sign_verify_roundtrip);
    RUN(test_every_flipped_bit_is_refused);
    RUN(test_wrong_key_and_rotation);
    RUN(test_domain_separation);
    RUN(test_signed_garbage_is_input_error);
    RUN(test_consistency_between_checkpoints);
    RUN(test_consistency_message);
    RUN(test_issue_from_the_log);
    return check_summary();
}
