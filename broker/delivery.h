/*
 * delivery: moving each recipient's durable queue to its agent, and
 * releasing entries only when the agent acknowledges them after its own
 * commit (with a `delivered` audit entry, or `recipient_rejected` when the
 * agent's own checks refused it).  An acknowledgement that names another
 * message than the one queued under its number releases nothing.
 *
 * At most delivery_window entries, and delivery_window_bytes of them, are
 * unacknowledged per connection, so a slow or absent agency costs disk
 * (LMDB holds its backlog), never broker or agent memory; the first entry
 * always goes, so a flag larger than the byte window is not stuck.  A
 * connection that stops acknowledging is rewound and resent from the
 * front of its queue; the agent drops what it already stored.
 */
#ifndef FLAGPOST_DELIVERY_H
#define FLAGPOST_DELIVERY_H

#include <lmdb.h>

#include "broker.h"

void delivery_pump(broker *b, int64_t now_ms);

/* Items of one DeliveryAck read at most (fp_limits.h's spirit: one
 * message must not buy unbounded work); the rest are delivered again. */
#define DELIVERY_ACK_MAX_ITEMS 4096

int delivery_ack(broker *b, MDB_txn *txn, peer *p, const Flagpost__DeliveryAck *ack,
                 int64_t now_ms, fp_error *err);

/* Rewind connections with unacknowledged deliveries and no progress for
 * stall_ms. */
void delivery_check_stalls(broker *b, int64_t now_ms, int64_t stall_ms);

#endif
