/*
 * fp_limits: the size limits of the wire format, shared by the agent that
 * builds messages and the broker that refuses what exceeds them.
 *
 * The agent checks them first so an agency's case system gets a clear
 * error naming the field before anything is stored; the broker checks
 * them again because a hostile or broken agent need not run our agent at
 * all.  Each limit is far above what a real flag needs (a flag names a
 * handful of recipients and a dozen short fields) and low enough that one
 * message can never make the broker allocate, decide or audit without
 * bound: every refused-at-sender entry and every recipient becomes an
 * audit entry, so their counts are capped, not just the message's bytes.
 */
#ifndef FLAGPOST_FP_LIMITS_H
#define FLAGPOST_FP_LIMITS_H

/* One message on the broker's socket (ZMQ_MAXMSGSIZE), unless the broker
 * is configured otherwise (--max-message-kb).  An agent refuses to queue a
 * flag whose message would be larger. */
#define FP_MAX_MESSAGE_BYTES (4 << 20)

#define FP_MAX_RECIPIENTS 128      /* parts, refused-at-sender entries per flag */
#define FP_MAX_NAMED_AGENCIES 64   /* named_agencies of a restricted flag */
#define FP_MAX_FIELDS 64           /* field names declared in one part */
#define FP_MAX_PSEUDONYMS 4        /* per subject (PSEUDONYM_MAX) */
#define FP_MAX_TEXT 256            /* category, purpose, reasons, field names, ids */
#define FP_MAX_JUSTIFICATION 2000  /* break-glass justification */
#define FP_MAX_FIELD_BYTES 16384   /* one field value (checked by the agent only:
                                      the broker never sees values) */

#endif
