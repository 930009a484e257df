/*
 * verify: the broker's first question about any signed envelope: is it
 * really from the agency whose CURVE connection it arrived on, signed
 * under a certificate valid now, well-formed, fresh, and new?
 *
 * Order matters: the signature is checked over the raw envelope bytes
 * with the authenticated agency's own keys before anything is decoded;
 * only then is the claimed sender compared with the authenticated one and
 * the clock checked (and the floor below which the replay table has been
 * pruned, seen_prune.h); the replay table is consulted last.  Each refusal has
 * a short stable reason for the audit trail.
 */
#ifndef FLAGPOST_VERIFY_H
#define FLAGPOST_VERIFY_H

#include <stdbool.h>

#include "broker.h"

#define VERIFY_BAD_SIGNATURE "bad-signature"
#define VERIFY_NO_CERTIFICATE "no-valid-certificate"
#define VERIFY_MALFORMED "malformed-envelope"
#define VERIFY_VERSION "unsupported-wire-version"
#define VERIFY_FORGED_SENDER "forged-sender"
#define VERIFY_CLOCK_SKEW "clock-skew"
#define VERIFY_REPLAY "replay"
#define VERIFY_DUPLICATE "duplicate"

/* On success *env is the decoded envelope (free with
 * flagpost__envelope__free_unpacked).  On refusal returns non-FP_OK with
 * *reason set and err holding a sentence; *env may hold the decoded
 * envelope when decoding got that far (for the audit entry's message id). */
int verify_envelope(broker *b, const char *agency, const Flagpost__SignedEnvelope *se,
                    int64_t now_ms, Flagpost__Envelope **env, const char **reason,
                    fp_error *err);

/* Queue in checks, for the batch's parallel pass (verify_pool.h), the
 * signature checks verify_envelope will ask about se: one per currently
 * valid certificate of the authenticated agency.  Pure precomputation:
 * every decision is still taken by verify_envelope, which reads the
 * answers from b->staging_checks (or verifies inline). */
void verify_prepare(broker *b, struct verify_checks *checks, const char *agency,
                    const Flagpost__SignedEnvelope *se, int64_t now_ms);

typedef enum verify_replay_result {
    VERIFY_NEW = 0,          /* never seen: process it */
    VERIFY_RETRANSMISSION,   /* same sender, same body: answer as before */
    VERIFY_REPLAYED          /* id reused with other content or sender: refuse */
} verify_replay_result;

/* *seen (freed by caller) is set for a retransmission.  body_hash receives
 * the SHA-256 of env->body for the seen record. */
verify_replay_result verify_replay(broker *b, MDB_txn *txn, const Flagpost__Envelope *env,
                                   unsigned char body_hash[32], Flagpost__SeenRecord **seen);

#endif
