/*
 * verify_pool: Ed25519 signature checks for a whole batch, spread over the
 * machine's cores, while the single-threaded decide/commit stage works on
 * the batch before it.
 *
 * Verification is the broker's largest per-message cost (about 57 us a
 * signature on the reference machine) and the only one that needs no
 * shared state, so it is the one that runs in parallel.  The pool computes
 * pure facts: "these envelope bytes carry a valid signature by this public
 * key".  Everything that depends on state (which certificates are valid
 * now, revocation, the sender check, replay) stays in verify.c on the main
 * thread, which asks for the fact instead of computing it again.
 *
 * A batch's questions and answers live in its own verify_checks table, so
 * one batch can be checked by the workers while the main thread still
 * reads the answers of the previous one:
 *
 *   verify_checks_add()   a question per (signed envelope, candidate key)
 *   verify_pool_start()   the workers begin; returns at once
 *   ... the main thread stages the previous batch ...
 *   verify_pool_finish()  the caller takes what is left, then waits
 *   verify_checks_signed() answers during staging
 *   verify_checks_clear() forgets the batch before its messages are freed
 *
 * Questions are identified by the SignedEnvelope's address and the key
 * bytes, so an answer can only ever be about the very bytes that were
 * checked.  A question the batch did not ask is answered by verifying
 * inline.  One table may be in the pool at a time.
 */
#ifndef FLAGPOST_VERIFY_POOL_H
#define FLAGPOST_VERIFY_POOL_H

#include <stdbool.h>
#include <stddef.h>

#include "flagpost.pb-c.h"

typedef struct verify_pool verify_pool;
typedef struct verify_checks verify_checks;

/* threads: worker threads besides the caller (0: verify on the caller
 * only).  NULL if out of memory or a thread cannot start. */
verify_pool *verify_pool_new(unsigned threads);
void verify_pool_free(verify_pool *p);

/* The number of workers that suits this machine (cores - 1). */
unsigned verify_pool_default_threads(void);

verify_checks *verify_checks_new(void);
void verify_checks_free(verify_checks *c);

/* Queue one question; silently ignored once the table is full (the check
 * then happens inline). */
void verify_checks_add(verify_checks *c, const Flagpost__SignedEnvelope *se,
                       const unsigned char sign_public[32]);

/* Hand c to the workers.  A table of one question, or a pool without
 * workers, is left for verify_pool_finish: at light load the thread
 * hand-off would cost more than it saves. */
void verify_pool_start(verify_pool *p, verify_checks *c);
/* Answer c's remaining questions on this thread too, and return once all
 * are answered and no worker still reads c.  Needed even without start. */
void verify_pool_finish(verify_pool *p, verify_checks *c);

/* Does se carry a valid signature by sign_public?  c may be NULL. */
bool verify_checks_signed(verify_checks *c, const Flagpost__SignedEnvelope *se,
                          const unsigned char sign_public[32]);
void verify_checks_clear(verify_checks *c);

#endif
