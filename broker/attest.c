/*
 * attest: checkpoints and consistency proofs.  See attest.h.
 */
#include "attest.h"

#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"

static void send_checkpoint(broker *b, const unsigned char *routing, size_t routing_len,
                            const uint8_t *signed_bytes, size_t len)
{
    Flagpost__SignedCheckpoint *sc = flagpost__signed_checkpoint__unpack(NULL, len, signed_bytes);
    if (sc == NULL)
        return;
    Flagpost__ToAgent msg = FLAGPOST__TO_AGENT__INIT;
    msg.kind_case = FLAGPOST__TO_AGENT__KIND_CHECKPOINT;
    msg.checkpoint = sc;
    size_t n = flagpost__to_agent__get_packed_size(&msg);
    uint8_t *buf = malloc(n);
    if (buf != NULL) {
        flagpost__to_agent__pack(&msg, buf);
        broker_send(b, routing, routing_len, buf, n);
        free(buf);
    }
    flagpost__signed_checkpoint__free_unpacked(sc, NULL);
}

void attest_send_latest(broker *b, const peer *p)
{
    MDB_txn *txn;
    if (broker_store_begin(b->store, false, &txn, NULL) != FP_OK)
        return;
    uint64_t size = 0;
    const uint8_t *bytes = NULL;
    size_t len = 0;
    if (audit_log_latest_checkpoint(broker_store_audit(b->store), txn, &size, &bytes, &len,
                                    NULL) == FP_OK &&
        bytes != NULL)
        send_checkpoint(b, p->routing, p->routing_len, bytes, len);
    broker_store_abort(txn);
}

/* Is there anything new to sign? */
static bool tree_grew(broker *b, uint64_t *size)
{
    MDB_txn *txn;
    if (broker_store_begin(b->store, false, &txn, NULL) != FP_OK)
        return false;
    audit_log *log = broker_store_audit(b->store);
    uint64_t signed_size = 0;
    const uint8_t *bytes = NULL;
    size_t len = 0;
    bool have = audit_log_latest_checkpoint(log, txn, &signed_size, &bytes, &len, NULL) == FP_OK &&
                bytes != NULL;
    audit_log_size(log, txn, size);
    broker_store_abort(txn);
    return *size > 0 && (!have || *size > signed_size);
}

void attest_tick(broker *b, int64_t now)
{
    uint64_t size = 0;
    if (now - b->last_checkpoint_ms < b->cfg.checkpoint_ms || !tree_grew(b, &size))
        return;
    MDB_txn *txn;
    fp_error err;
    if (broker_store_begin(b->store, true, &txn, &err) != FP_OK)
        return;
    checkpoint_info cp;
    uint8_t *bytes = NULL;
    size_t len = 0;
    int rc = checkpoint_issue(broker_store_audit(b->store), txn, b->id.cert.agency_id, now,
                              b->id.sign_secret, &cp, &bytes, &len, &err);
    if (rc == FP_OK)
        rc = broker_store_commit(txn, &err);
    else
        broker_store_abort(txn);
    if (rc != FP_OK) {
        log_event(&b->log, LOG_ERROR, "checkpoint-failed", "error=\"%s\"", err.message);
        free(bytes);
        return;
    }
    b->last_checkpoint_ms = now;
    char root[65];
    checkpoint_root_hex(cp.root, root);
    log_event(&b->log, LOG_DEBUG, "checkpoint", "size=%llu root=%s",
              (unsigned long long)cp.tree_size, root);
    for (size_t i = 0; i < peers_count(b->peers); i++) {
        peer *p = peers_at(b->peers, i);
        if (p->connected)
            send_checkpoint(b, p->routing, p->routing_len, bytes, len);
    }
    free(bytes);
}

void attest_answer(broker *b, const unsigned char *routing, size_t routing_len,
                   const Flagpost__ConsistencyRequest *req)
{
    Flagpost__ConsistencyProof proof = FLAGPOST__CONSISTENCY_PROOF__INIT;
    proof.old_size = req->old_size;
    proof.new_size = req->new_size;
    unsigned char path[MERKLE_MAX_PROOF][32];
    ProtobufCBinaryData items[MERKLE_MAX_PROOF];
    size_t n = 0;
    fp_error err;
    MDB_txn *txn;
    int rc = broker_store_begin(b->store, false, &txn, &err);
    if (rc == FP_OK) {
        rc = audit_log_consistency_proof(broker_store_audit(b->store), txn, req->old_size,
                                         req->new_size, path, &n, &err);
        broker_store_abort(txn);
    }
    if (rc != FP_OK) {
        proof.error = err.message;
    } else {
        for (size_t i = 0; i < n; i++) {
            items[i].data = path[i];
            items[i].len = 32;
        }
        proof.path = items;
        proof.n_path = n;
    }
    Flagpost__ToAgent msg = FLAGPOST__TO_AGENT__INIT;
    msg.kind_case = FLAGPOST__TO_AGENT__KIND_CONSISTENCY_PROOF;
    msg.consistency_proof = &proof;
    size_t len = flagpost__to_agent__get_packed_size(&msg);
    uint8_t *buf = malloc(len);
    if (buf != NULL) {
        flagpost__to_agent__pack(&msg, buf);
        broker_send(b, routing, routing_len, buf, len);
        free(buf);
    }
}
