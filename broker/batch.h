/*
 * batch: the broker's group commit, from the messages waiting on the
 * ROUTER socket to their senders' answers.
 *
 * A batch is what is already waiting, up to batch_max messages and
 * batch_max_bytes of them (a message that crosses the bound ends the
 * batch; the first always joins), so large messages cannot make one
 * transaction, or the two batches in flight, hold gigabytes.  It runs
 * through intake inside one write transaction, commits once (one fsync
 * for the whole batch), and only then are its senders answered.  Under
 * light load a batch is one message, so latency stays low; under heavy
 * load batches grow and the fsync cost is shared.
 *
 * The stages are pipelined over two batches: while the main thread
 * stages, commits and answers one batch, the verify pool's workers check
 * the signatures of the next (verify_pool.h).  Batches are still staged
 * and answered strictly in the order their messages were read, and every
 * decision is still taken on the main thread at staging time.
 *
 * Messages over their agency's rate (agency_limit.h) or over the size
 * limit are set aside as they are read, before any signature is checked,
 * so a flooding agency costs the others little: the former are answered
 * RETRY without touching the store, the latter refused and audited.
 *
 * If a commit fails because storage is full, the batch is retried without
 * its publishes (acknowledgements and hellos only): releasing delivered
 * entries frees space, so the broker can drain while it refuses intake,
 * and every refused sender is told to retry later.  Whatever a batch
 * changed in memory while it was staged (presence, in-flight counts,
 * statistics) is put back whenever its commit fails, full or not, so the
 * retry and later batches see only what the store holds.
 */
#ifndef FLAGPOST_BATCH_H
#define FLAGPOST_BATCH_H

#include <stddef.h>

#include "broker.h"

typedef struct batches batches;

/* NULL when out of memory. */
batches *batches_new(size_t batch_max);
/* Call batch_finish_held first: a held batch's messages are dropped
 * unanswered (their senders resend them). */
void batches_free(batches *q);

/* Read what is waiting on the ROUTER socket and start checking its
 * signatures; meanwhile stage, commit and answer the batch held from the
 * last call.  The new batch is then staged at once, unless more messages
 * are already waiting: then it is held for the next call, to be staged
 * while that call's batch is verified. */
void batch_process_waiting(broker *b);

/* Stage, commit and answer a held batch now (nothing more arrived, or the
 * broker is stopping). */
void batch_finish_held(broker *b);

/* What staging changes in memory beside the store: the session table
 * (presence, each connection's in-flight count) and the statistics.  It
 * is put back when the batch's transaction does not commit, so memory
 * never claims what the store lost: a connection whose agent_connected
 * entry was not stored is still new to the retry and to the next batch,
 * an acknowledgement that released nothing leaves its delivery in flight
 * (counted once when the retry does release it), and nothing is counted
 * that the audit trail does not hold.  Public for fuzz_broker_intake,
 * which stages batches as this module does. */
typedef struct batch_memory {
    uint64_t accepted, refused, delivered;
} batch_memory;

/* Note it before staging; FP_ERR_IO (out of memory): do not stage. */
int batch_memory_mark(broker *b, batch_memory *m, fp_error *err);
/* Put it back after a batch whose transaction did not commit. */
void batch_memory_rollback(broker *b, const batch_memory *m);

#endif
