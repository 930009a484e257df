/*
 * outbox_tracker: in memory only, when each pending outbox message was last
 * sent, so the periodic resend skips messages that are merely in flight.
 *
 * Losing it (a restart) only means one early resend: the store is the
 * truth, the tracker a courtesy to the broker.  Its size follows what is
 * in flight, not everything ever sent: an agent that runs for months keeps
 * a table the size of its busiest moment.
 */
#ifndef FLAGPOST_OUTBOX_TRACKER_H
#define FLAGPOST_OUTBOX_TRACKER_H

#include <stddef.h>
#include <stdint.h>

typedef struct outbox_tracker outbox_tracker;

int outbox_tracker_new(outbox_tracker **out);   /* FP_OK or FP_ERR_IO */
void outbox_tracker_free(outbox_tracker *t);

/* Remember (or update) when message id was sent; when > 0. */
void outbox_tracker_set(outbox_tracker *t, const unsigned char id[16], int64_t when);
/* When it was last sent, or 0 if it is not tracked. */
int64_t outbox_tracker_sent_ms(outbox_tracker *t, const unsigned char id[16]);
void outbox_tracker_forget(outbox_tracker *t, const unsigned char id[16]);

size_t outbox_tracker_count(const outbox_tracker *t);      /* messages tracked */
size_t outbox_tracker_capacity(const outbox_tracker *t);   /* slots allocated */
/* Slots examined by all lookups so far: the tests' measure of clustering. */
uint64_t outbox_tracker_probes(const outbox_tracker *t);

#endif
