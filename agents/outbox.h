/*
 * outbox: getting committed records to the broker, and the broker's
 * answers back into the store.
 *
 * Every send signs the record afresh (new envelope time, same message id),
 * so a record that waited out a long broker outage is still inside the
 * broker's clock-skew window, while the broker's dedupe on the message id
 * makes a resend harmless.  Resends back off from resend_min_ms to
 * resend_max_ms while the broker is silent and reset when it answers.
 */
#ifndef FLAGPOST_OUTBOX_H
#define FLAGPOST_OUTBOX_H

#include "agent.h"

/* Stage a new pending record of `type` with this body (no parts) in txn;
 * id receives its fresh message id.  Used for views, acknowledgements and
 * withdrawals; flags are built by the publisher. */
int outbox_stage(agent *a, MDB_txn *txn, Flagpost__MessageType type, const uint8_t *body,
                 size_t len, unsigned char id[16], fp_error *err);

/* Read back a committed record (free with flagpost__outbox_record__free_unpacked). */
int outbox_read(agent *a, const unsigned char id[16], Flagpost__OutboxRecord **out,
                fp_error *err);

/* Sign and send one record.  FP_ERR_UNAVAILABLE when the broker is not
 * connected (the record stays pending and is resent later). */
int outbox_send(agent *a, const Flagpost__OutboxRecord *rec, fp_error *err);

/* Wake any caller waiting on the broker's answers, and have them written
 * into their records by the writer's thread, which folds a burst of them
 * into one lazy commit (deferred_writer.h): the broker committed each answer
 * before sending it, so the loop need not wait for that commit.  Without
 * the writer's thread, all of them in one lazy transaction here, then the
 * callers.  A RETRY answer leaves its record pending.  At most
 * OUTBOX_MAX_RESULTS. */
#define OUTBOX_MAX_RESULTS 512
void outbox_handle_results(agent *a, Flagpost__PublishResult *const *res, size_t n);

/* Stage one answer in txn: a pending record takes the answer's state and
 * result; unknown or already settled records are left alone.  *rec is
 * set (caller frees) when a record was settled.  Touches only the store,
 * so the deferred writer's thread may call it too. */
int outbox_settle_stage(agent *a, MDB_txn *txn, const Flagpost__PublishResult *res,
                        Flagpost__OutboxRecord **rec, fp_error *err);

/* Start a resend round (unless one is under way): pending records not
 * sent within the current resend interval go out again, at most
 * OUTBOX_RESEND_ROUND_MAX a round.  A round goes out in short steps, each
 * taken by outbox_resend_step from the loop, so a lookup or publish that
 * arrives during a long backlog waits for one step, not the round. */
#define OUTBOX_RESEND_ROUND_MAX 512
void outbox_resend_begin(agent *a);
/* Take the next step of the round under way if it is due; true while the
 * round has more.  outbox_resend_wait_ms says how soon the next is due. */
bool outbox_resend_step(agent *a, int64_t now_ms);
long outbox_resend_wait_ms(const agent *a, int64_t now_ms, long idle_ms);

#endif
