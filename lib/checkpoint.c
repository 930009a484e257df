/*
 * checkpoint: signing, verifying and chaining broker checkpoints.  See
 * checkpoint.h.
 *
 * The signature covers a domain string and the exact Checkpoint bytes that
 * travel, never a re-serialisation, so a checkpoint signature can never be
 * replayed as a certificate or envelope signature (those use other domain
 * strings) and field order or unknown fields cannot change what was
 * signed.  Decoding happens only after the signature verified: protobuf-c
 * never sees bytes an attacker chose freely.
 */
#include "checkpoint.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flagpost.pb-c.h"

#define DOMAIN_LEN (sizeof CHECKPOINT_DOMAIN - 1)

void checkpoint_root_hex(const unsigned char root[32], char out[65])
{
    sodium_bin2hex(out, 65, root, 32);
}

/* Ed25519 message: domain || checkpoint bytes, in a fresh buffer. */
static unsigned char *signed_message(const uint8_t *cp, size_t len, size_t *msg_len)
{
    unsigned char *msg = malloc(DOMAIN_LEN + len + 1);
    if (msg == NULL)
        return NULL;
    memcpy(msg, CHECKPOINT_DOMAIN, DOMAIN_LEN);
    if (len > 0)
        memcpy(msg + DOMAIN_LEN, cp, len);
    *msg_len = DOMAIN_LEN + len;
    return msg;
}

static int id_valid(const char *id)
{
    size_t n = strlen(id);
    if (n >= CHECKPOINT_ID_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)id[i];
        if (c < 0x20 || c > 0x7e)
            return 0;
    }
    return 1;
}

int checkpoint_sign(const checkpoint_info *cp, const unsigned char secret[64], uint8_t **out,
                    size_t *out_len, fp_error *err)
{
    *out = NULL;
    *out_len = 0;
    if (!id_valid(cp->broker_id))
        return fp_error_set(err, FP_ERR_INPUT,
                            "checkpoint broker id must be printable and under %d characters",
                            CHECKPOINT_ID_MAX);
    char broker_id[CHECKPOINT_ID_MAX];
    unsigned char root[MERKLE_HASH_LEN];
    memcpy(broker_id, cp->broker_id, sizeof broker_id);
    memcpy(root, cp->root, sizeof root);

    Flagpost__Checkpoint c;
    flagpost__checkpoint__init(&c);
    c.tree_size = cp->tree_size;
    c.root.data = root;
    c.root.len = sizeof root;
    c.time_ms = cp->time_ms;
    c.broker_id = broker_id;
    size_t cp_len = flagpost__checkpoint__get_packed_size(&c);
    uint8_t cp_bytes[128 + CHECKPOINT_ID_MAX];
    if (cp_len > sizeof cp_bytes)
        return fp_error_set(err, FP_ERR_INTERNAL, "checkpoint larger than expected");
    flagpost__checkpoint__pack(&c, cp_bytes);

    size_t msg_len;
    unsigned char *msg = signed_message(cp_bytes, cp_len, &msg_len);
    if (msg == NULL)
        return fp_error_set(err, FP_ERR_IO, "out of memory signing a checkpoint");
    unsigned char sig[CHECKPOINT_SIG_LEN];
    crypto_sign_detached(sig, NULL, msg, msg_len, secret);
    free(msg);

    Flagpost__SignedCheckpoint sc;
    flagpost__signed_checkpoint__init(&sc);
    sc.checkpoint.data = cp_bytes;
    sc.checkpoint.len = cp_len;
    sc.signature.data = sig;
    sc.signature.len = sizeof sig;
    size_t len = flagpost__signed_checkpoint__get_packed_size(&sc);
    uint8_t *buf = malloc(len);
    if (buf == NULL)
        return fp_error_set(err, FP_ERR_IO, "out of memory signing a checkpoint");
    flagpost__signed_checkpoint__pack(&sc, buf);
    *out = buf;
    *out_len = len;
    return FP_OK;
}

static int decode(const uint8_t *cp, size_t len, checkpoint_info *out, fp_error *err)
{
    Flagpost__Checkpoint *c = flagpost__checkpoint__unpack(NULL, len, cp);
    if (c == NULL)
        return fp_error_set(err, FP_ERR_INPUT,
                            "the checkpoint is signed but is not a Checkpoint message");
    int rc = FP_OK;
    if (c->root.len != MERKLE_HASH_LEN)
        rc = fp_error_set(err, FP_ERR_INPUT, "the checkpoint's root is %zu bytes, not 32",
                          c->root.len);
    else if (!id_valid(c->broker_id))
        rc = fp_error_set(err, FP_ERR_INPUT, "the checkpoint's broker id is not valid");
    if (rc == FP_OK) {
        memset(out, 0, sizeof *out);
        out->tree_size = c->tree_size;
        memcpy(out->root, c->root.data, MERKLE_HASH_LEN);
        out->time_ms = c->time_ms;
        snprintf(out->broker_id, sizeof out->broker_id, "%s", c->broker_id);
    }
    flagpost__checkpoint__free_unpacked(c, NULL);
    return rc;
}

int checkpoint_verify_parts(const uint8_t *checkpoint, size_t checkpoint_len,
                            const uint8_t *signature, size_t signature_len,
                            const unsigned char public_key[32], checkpoint_info *out,
                            fp_error *err)
{
    if (signature_len != CHECKPOINT_SIG_LEN)
        return fp_error_set(err, FP_ERR_CRYPTO,
                            "the checkpoint signature is %zu bytes, not an Ed25519 signature",
                            signature_len);
    size_t msg_len;
    unsigned char *msg = signed_message(checkpoint, checkpoint_len, &msg_len);
    if (msg == NULL)
        return fp_error_set(err, FP_ERR_IO, "out of memory verifying a checkpoint");
    int ok = crypto_sign_verify_detached(signature, msg, msg_len, public_key) == 0;
    free(msg);
    if (!ok)
        return fp_error_set(err, FP_ERR_CRYPTO,
                            "the checkpoint signature does not verify with the broker's key: "
                            "it was altered or signed by someone else");
    return decode(checkpoint, checkpoint_len, out, err);
}

int checkpoint_verify_any(const uint8_t *buf, size_t len, const unsigned char (*keys)[32],
                          size_t nkeys, checkpoint_info *out, size_t *which, fp_error *err)
{
    Flagpost__SignedCheckpoint *sc = flagpost__signed_checkpoint__unpack(NULL, len, buf);
    if (sc == NULL)
        return fp_error_set(err, FP_ERR_INPUT, "the stored bytes are not a signed checkpoint");
    int rc = fp_error_set(err, FP_ERR_CRYPTO, "no broker key to check the checkpoint with");
    for (size_t i = 0; i < nkeys; i++) {
        rc = checkpoint_verify_parts(sc->checkpoint.data, sc->checkpoint.len,
                                     sc->signature.data, sc->signature.len, keys[i], out, err);
        if (rc != FP_ERR_CRYPTO) {
            if (which != NULL)
                *which = i;
            break;
        }
    }
    flagpost__signed_checkpoint__free_unpacked(sc, NULL);
    return rc;
}

int checkpoint_verify(const uint8_t *buf, size_t len, const unsigned char public_key[32],
                      checkpoint_info *out, fp_error *err)
{
    unsigned char key[1][32];
    memcpy(key[0], public_key, 32);
    return checkpoint_verify_any(buf, len, (const unsigned char(*)[32])key, 1, out, NULL, err);
}

int checkpoint_check_consistency(const checkpoint_info *older, const checkpoint_info *newer,
                                 const unsigned char (*path)[32], size_t path_len,
                                 fp_error *err)
{
    unsigned long long a = older->tree_size, b = newer->tree_size;
    if (b < a)
        return fp_error_set(err, FP_ERR_CRYPTO,
                            "the broker now shows an audit tree of %llu entries after "
                            "signing one of %llu: entries were removed or the log was "
                            "rolled back",
                            b, a);
    if (a == b && memcmp(older->root, newer->root, MERKLE_HASH_LEN) != 0)
        return fp_error_set(err, FP_ERR_CRYPTO,
                            "the broker signed two different audit trees of %llu entries: "
                            "its history was rewritten",
                            a);
    if (!merkle_verify_consistency(older->tree_size, newer->tree_size, older->root,
                                   newer->root, path, path_len))
        return fp_error_set(err, FP_ERR_CRYPTO,
                            "the broker's audit tree of %llu entries does not extend the one "
                            "of %llu entries it signed before: its history was rewritten",
                            b, a);
    return FP_OK;
}

int checkpoint_check_consistency_message(const checkpoint_info *older,
                                         const checkpoint_info *newer,
                                         const struct Flagpost__ConsistencyProof *proof,
                                         fp_error *err)
{
    if (proof->error != NULL && proof->error[0] != '\0')
        return fp_error_set(err, FP_ERR_UNAVAILABLE,
                            "the broker could not give a consistency proof; ask again later");
    if (proof->old_size != older->tree_size || proof->new_size != newer->tree_size)
        return fp_error_set(err, FP_ERR_INPUT,
                            "the consistency proof is for sizes %llu..%llu, not the "
                            "checkpoints' %llu..%llu",
                            (unsigned long long)proof->old_size,
                            (unsigned long long)proof->new_size,
                            (unsigned long long)older->tree_size,
                            (unsigned long long)newer->tree_size);
    if (proof->n_path > MERKLE_MAX_PROOF)
        return fp_error_set(err, FP_ERR_CRYPTO, "the consistency proof is impossibly long");
    unsigned char path[MERKLE_MAX_PROOF][MERKLE_HASH_LEN];
    for (size_t i = 0; i < proof->n_path; i++) {
        if (proof->path[i].len != MERKLE_HASH_LEN)
            return fp_error_set(err, FP_ERR_CRYPTO,
                                "element %zu of the consistency proof is not a hash", i);
        memcpy(path[i], proof->path[i].data, MERKLE_HASH_LEN);
    }
    return checkpoint_check_consistency(older, newer, (const unsigned char(*)[32])path,
                                        proof->n_path, err);
}

int checkpoint_issue(audit_log *log, MDB_txn *txn, const char *broker_id, int64_t time_ms,
                     const unsigned char secret[64], checkpoint_info *out, uint8_t **bytes,
                     size_t *len, fp_error *err)
{
    checkpoint_info cp;
    memset(&cp, 0, sizeof cp);
    if (bytes != NULL)
        *bytes = NULL;
    if (strlen(broker_id) >= sizeof cp.broker_id)
        return fp_error_set(err, FP_ERR_INPUT, "broker id too long for a checkpoint");
    snprintf(cp.broker_id, sizeof cp.broker_id, "%s", broker_id);
    cp.time_ms = time_ms;
    int rc = audit_log_size(log, txn, &cp.tree_size);
    if (rc != FP_OK)
        return fp_error_set(err, rc, "reading the audit log size for a checkpoint");
    if ((rc = audit_log_root(log, txn, cp.tree_size, cp.root, err)) != FP_OK)
        return rc;
    uint8_t *buf;
    size_t n;
    if ((rc = checkpoint_sign(&cp, secret, &buf, &n, err)) != FP_OK)
        return rc;
    rc = audit_log_put_checkpoint(log, txn, cp.tree_size, buf, n, err);
    if (rc == FP_OK && out != NULL)
        *out = cp;
    if (rc == FP_OK && bytes != NULL) {
        *bytes = buf;
        *len = n;
    } else {
        free(buf);
    }
    return rc;
}
