/*
 * verify_pool: Ed25519 signature checks for a whole batch, spread over the
 * machine's cores, before the single-threaded decide/commit stage.
 *
 * Verification is the broker's largest per-message cost (about 57 us a
 * signature on the reference machine) and the only one that needs no
 * shared state, so it is the one that runs in parallel.  The pool computes
 * pure facts: "these envelope bytes carry a valid signature by this public
 * key".  Everything that depends on state (which certificates are valid
 * now, revocation, the sender check, replay) stays in verify.c on the main
 * thread, which asks the pool for the fact instead of computing it again.
 *
 * A batch: verify_pool_add() a job per (signed envelope, candidate key),
 * verify_pool_run() (the calling thread works too, and returns when every
 * job is done), then verify_pool_signed() answers during staging, and
 * verify_pool_clear() forgets the batch before its messages are freed.
 * Jobs are identified by the SignedEnvelope's address and the key bytes,
 * so an answer can only ever be about the very bytes that were checked.
 * A question the batch did not ask is answered by verifying inline.
 */
#ifndef FLAGPOST_VERIFY_POOL_H
#define FLAGPOST_VERIFY_POOL_H

#include <stdbool.h>
#include <stddef.h>

#include "flagpost.pb-c.h"

typedef struct verify_pool verify_pool;

/* threads: worker threads besides the caller (0: verify on the caller
 * only).  NULL if out of memory or a thread cannot start. */
verify_pool *verify_pool_new(unsigned threads);
void verify_pool_free(verify_pool *p);

/* The number of workers that suits this machine (cores - 1). */
unsigned verify_pool_default_threads(void);

/* Queue one check; silently ignored once the batch is full (the check
 * then happens inline). */
void verify_pool_add(verify_pool *p, const Flagpost__SignedEnvelope *se,
                     const unsigned char sign_public[32]);
void verify_pool_run(verify_pool *p);

/* Does se carry a valid signature by sign_public? */
bool verify_pool_signed(verify_pool *p, const Flagpost__SignedEnvelope *se,
                        const unsigned char sign_public[32]);
void verify_pool_clear(verify_pool *p);

#endif
