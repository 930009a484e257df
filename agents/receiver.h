/*
 * receiver: the last enforcement point.  A delivery is stored only if the
 * sender's signature verifies under a certificate valid when it was signed
 * and not revoked; the part is one the signed body committed to and is
 * addressed to us; the agreement allows this flag from that sender to us;
 * the declared field names are within what the deciding rule grants; and
 * the sealed payload opens, is bound to this message and recipient,
 * holds no field beyond those declared, and every value in it is UTF-8
 * (the broker cannot see values to check them).  The clear texts and
 * counts of the body and part are checked again (flag_limits.h) and the
 * dates must be in timefmt's range, though the broker checked both: a
 * broker is not trusted with what a lookup will show.  Anything else is
 * rejected, kept out of the store, logged and reported to the broker for
 * the audit trail.
 *
 * A batch of deliveries is committed in one transaction and acknowledged in
 * one message, after the commit: nothing acknowledged is ever lost.
 */
#ifndef FLAGPOST_RECEIVER_H
#define FLAGPOST_RECEIVER_H

#include "agent.h"

#define RECEIVER_MAX_BATCH 256

/* Is part one of the parts the signed body committed to (its SHA-256 among
 * the body's part digests)?  Checked on receipt, and again by lookup
 * before showing a stored flag. */
bool receiver_part_committed(const Flagpost__FlagBody *body, const ProtobufCBinaryData *part);

/* msgs are deliveries and notices (other kinds are ignored by the caller). */
void receiver_handle_batch(agent *a, Flagpost__ToAgent *const *msgs, size_t n);

#endif
