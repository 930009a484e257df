/*
 * attest: the broker's side of "prove it": signed checkpoints of the audit
 * tree, sent to every connected agent, and consistency proofs on request.
 *
 * While entries arrive the broker signs a checkpoint (tree size, root,
 * time) at least every checkpoint_ms (default 2 s, never more than 5 s) and
 * sends it to each connected agent; a newly connected agent gets the latest
 * one at once.  An agent that saw an earlier checkpoint asks for a
 * consistency proof between the two; if the broker's operator had
 * rewritten history in between, no proof can exist and the agent raises an
 * alarm.  Checkpoints are stored in the audit log itself, so `flagpost
 * audit verify` checks their signatures too.
 */
#ifndef FLAGPOST_ATTEST_H
#define FLAGPOST_ATTEST_H

#include "broker.h"

/* Sign a checkpoint if the tree grew and the interval has passed; send it
 * to every connected agent. */
void attest_tick(broker *b, int64_t now_ms);

/* Send the latest stored checkpoint to one connection. */
void attest_send_latest(broker *b, const peer *p);

/* Answer a consistency request on connection p. */
void attest_answer(broker *b, const unsigned char *routing, size_t routing_len,
                   const Flagpost__ConsistencyRequest *req);

#endif
