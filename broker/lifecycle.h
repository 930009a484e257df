/*
 * lifecycle: what the broker remembers about each flag after deciding it,
 * and everything that happens to a flag after its first disclosure:
 *
 *   update      a new version goes to the recipients its own decisions
 *               allow; an agency that held an earlier version and is not
 *               allowed the new one is told it is withdrawn for it
 *   withdraw    the sender's signed withdrawal goes to every agency that
 *               holds the flag, which deletes its values
 *   expiry      at the review date, the expiry date or the recipient's
 *               retention period (whichever is first) the recipient is told
 *               to drop the flag
 *   acknowledge a recipient reports "received and acted on" with an
 *               outcome; the sender is told
 *   escalate    a flag whose rule requires acknowledgement and that is not
 *               acknowledged in time is escalated to the sender
 * Every step is audited, and earlier versions stay in the audit trail.
 * Deadlines live in LMDB (broker_store deadlines), so they survive
 * restarts.
 */
#ifndef FLAGPOST_LIFECYCLE_H
#define FLAGPOST_LIFECYCLE_H

#include <lmdb.h>

#include "broker.h"
#include "decide.h"

/* Reasons an update or withdrawal does not follow on from what the broker
 * holds; NULL when it does (*prior is set when the flag exists; free it). */
const char *lifecycle_check(broker *b, MDB_txn *txn, const Flagpost__Envelope *env,
                            const Flagpost__FlagBody *body, Flagpost__BrokerFlag **prior);

/* Record a published or updated flag: its recipients, their deadlines, and
 * withdrawal notices for earlier recipients the new version leaves out. */
int lifecycle_record(broker *b, MDB_txn *txn, const Flagpost__Envelope *env,
                     const Flagpost__FlagBody *body, const recipient_verdict *v, size_t n,
                     const Flagpost__BrokerFlag *prior, int64_t now_ms, fp_error *err);

/* Queue the signed withdrawal to every holder and audit it.  Fills res's
 * decisions (one per holder; storage owned by the caller-provided arrays). */
int lifecycle_withdraw(broker *b, MDB_txn *txn, const Flagpost__Envelope *env,
                       const Flagpost__FlagBody *body, Flagpost__SignedEnvelope *signed_env,
                       const Flagpost__BrokerFlag *prior, int64_t now_ms,
                       Flagpost__Decision *decisions, Flagpost__Decision **ptrs, size_t *count,
                       fp_error *err);

/* A recipient's acknowledgement with action. */
int lifecycle_acknowledge(broker *b, MDB_txn *txn, const Flagpost__Envelope *env,
                          const Flagpost__ActionAckBody *ack, int64_t now_ms,
                          const char **refusal, fp_error *err);

/* Queue a notice for agency `to` about a flag, durably (like a delivery). */
int lifecycle_queue_notice(broker *b, MDB_txn *txn, const char *to, const char *kind,
                           const char *about, const ProtobufCBinaryData *flag_id,
                           const char *category, const char *text, int64_t now_ms,
                           fp_error *err);

/* Escalate and expire whatever is due (its own transaction). */
void lifecycle_run_deadlines(broker *b, int64_t now_ms);

#endif
