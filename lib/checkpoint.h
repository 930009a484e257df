/*
 * checkpoint: the broker's signed statement "my audit tree had this many
 * entries and this root at this time", and the checks a witness makes on
 * a sequence of them.
 *
 * On disk and on the wire a checkpoint is a SignedCheckpoint protobuf: the
 * Checkpoint bytes and the broker's Ed25519 signature over
 * "flagpost-checkpoint-v1" || those bytes.  The only way from bytes to a
 * checkpoint_info is through a signature check (checkpoint_verify*), so an
 * unverified checkpoint can never be mistaken for a verified one.
 *
 * Witnesses (the agents) keep the last checkpoint they accepted; for each
 * newer one they ask the broker for a consistency proof and call
 * checkpoint_check_consistency(): anything but FP_OK means the broker has
 * shown two histories that cannot both be true, and is an alarm.
 */
#ifndef FLAGPOST_CHECKPOINT_H
#define FLAGPOST_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "audit_log.h"
#include "fp_error.h"
#include "merkle.h"

#define CHECKPOINT_DOMAIN "flagpost-checkpoint-v1"
#define CHECKPOINT_ID_MAX 64
#define CHECKPOINT_SIG_LEN 64

typedef struct checkpoint_info {
    uint64_t tree_size;
    unsigned char root[MERKLE_HASH_LEN];
    int64_t time_ms;                    /* broker clock, unix milliseconds */
    char broker_id[CHECKPOINT_ID_MAX];
} checkpoint_info;

struct Flagpost__ConsistencyProof;

/* Serialise cp, sign it with the broker's Ed25519 secret key (64 bytes, as
 * libsodium keeps it) and return SignedCheckpoint bytes in *out (malloc'd,
 * the caller frees). */
int checkpoint_sign(const checkpoint_info *cp, const unsigned char secret[64], uint8_t **out,
                    size_t *out_len, fp_error *err);

/* The broker's periodic step: sign the audit log's current tree (size and
 * root read in txn, the caller's write transaction) and store the signed
 * checkpoint there, so it commits with the entries it covers.  Fills *out
 * (may be NULL) and, when bytes is not NULL, a malloc'd copy of the
 * SignedCheckpoint bytes to send to the agents.  Signing a size again
 * replaces its stored checkpoint (same root, newer time); a broker that
 * wants one per size compares with audit_log_latest_checkpoint() first. */
int checkpoint_issue(audit_log *log, MDB_txn *txn, const char *broker_id, int64_t time_ms,
                     const unsigned char secret[64], checkpoint_info *out, uint8_t **bytes,
                     size_t *len, fp_error *err);

/* Verify SignedCheckpoint bytes with the broker's public key, then decode.
 * FP_ERR_CRYPTO when the signature does not verify, FP_ERR_INPUT when the
 * bytes are not a (well-formed) checkpoint. */
int checkpoint_verify(const uint8_t *buf, size_t len, const unsigned char public_key[32],
                      checkpoint_info *out, fp_error *err);

/* The same for a checkpoint already split into its parts (as an agent has
 * it inside a ToAgent message: SignedCheckpoint.checkpoint and .signature). */
int checkpoint_verify_parts(const uint8_t *checkpoint, size_t checkpoint_len,
                            const uint8_t *signature, size_t signature_len,
                            const unsigned char public_key[32], checkpoint_info *out,
                            fp_error *err);

/* Verify with the first of several keys that works (broker key rotation);
 * *which (may be NULL) is the index of that key. */
int checkpoint_verify_any(const uint8_t *buf, size_t len, const unsigned char (*keys)[32],
                          size_t nkeys, checkpoint_info *out, size_t *which, fp_error *err);

/* FP_OK when `newer` extends `older` according to the proof path (RFC 6962
 * consistency).  FP_ERR_CRYPTO, with a sentence saying what the broker did,
 * when the tree shrank, when equal sizes have different roots, or when the
 * proof does not hold.  Both checkpoints must already be verified. */
int checkpoint_check_consistency(const checkpoint_info *older, const checkpoint_info *newer,
                                 const unsigned char (*path)[32], size_t path_len,
                                 fp_error *err);

/* The same from the broker's ConsistencyProof message: checks that its
 * sizes are the two checkpoints', that every path element is 32 bytes and
 * that the broker did not report an error (FP_ERR_UNAVAILABLE if it did),
 * then checks the proof. */
int checkpoint_check_consistency_message(const checkpoint_info *older,
                                         const checkpoint_info *newer,
                                         const struct Flagpost__ConsistencyProof *proof,
                                         fp_error *err);

/* Lower-case hex of a root (65 bytes with NUL). */
void checkpoint_root_hex(const unsigned char root[32], char out[65]);

#endif
