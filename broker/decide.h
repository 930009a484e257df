/*
 * decide: the broker's own evaluation of a flag, recipient by recipient,
 * from the signed metadata and each part's declared field names alone
 * (it never sees a value).
 *
 * The sending agent has already filtered, but the broker trusts no agent:
 * it re-checks that each part is committed to by the signed body, that the
 * recipient holds a valid certificate, that the policy allows this flag to
 * that recipient, and that every declared field is one the deciding rule
 * grants.  A part that fails any check is refused and never queued.
 */
#ifndef FLAGPOST_DECIDE_H
#define FLAGPOST_DECIDE_H

#include <lmdb.h>

#include "broker.h"

#include "flag_limits.h"
#include "fp_limits.h"

#define DECIDE_MAX_RECIPIENTS FP_MAX_RECIPIENTS

/* A flag's recipient parts, each decoded once: the limits are checked on
 * them and the verdicts borrow them.  part[i] is NULL for a part that does
 * not decode, which is refused for its recipient alone (malformed-part). */
typedef struct decide_parts {
    Flagpost__RecipientPart *part[DECIDE_MAX_RECIPIENTS];
    size_t n;
} decide_parts;

typedef struct recipient_verdict {
    Flagpost__RecipientPart *part;     /* decoded part (borrowed from decide_parts), or NULL */
    const ProtobufCBinaryData *bytes;  /* the part as received */
    unsigned char digest[32];
    policy_decision decision;
    bool allowed;
    const char *rule_id;
    const char *reason;                /* stable refusal reason */
} recipient_verdict;

/* Decodes pub's parts into out, the first thing done with them.  Returns
 * NULL, or FLAG_TOO_MANY_RECIPIENTS (with why) and decodes none when there
 * are more than the limit.  Call decide_parts_release on out either way. */
const char *decide_unpack_parts(const Flagpost__Publish *pub, decide_parts *out, fp_error *why);
void decide_parts_release(decide_parts *parts);

/* Checks every count and length limit of a flag (publish, update or
 * withdrawal) before anything else looks at it: refused-at-sender
 * entries, pseudonyms, named agencies, declared fields per part, and the
 * length and UTF-8 validity of every text (flag_limits.h); the number of
 * recipients was checked by decide_unpack_parts.  Returns NULL when within
 * limits, else a stable FLAG_* reason, with why naming the field and the
 * limit. */
const char *decide_check_limits(const Flagpost__FlagBody *body, const decide_parts *parts,
                                fp_error *why);

/* Checks the body's shape (ids, metadata, a break-glass flag's
 * justification, subject, dates within timefmt's range) and that parts and digests correspond one to one, in
 * order.  Returns NULL when sound, else a stable reason. */
const char *decide_flag_shape(const Flagpost__FlagBody *body, const Flagpost__Publish *pub);

/* Fills out[0..n) (n = pub->n_parts), each verdict borrowing its part from
 * parts (decoded from the same pub), so out lives no longer than parts.
 * Only after decide_flag_shape returned NULL for the same body and pub:
 * each verdict's digest is the body's, which that check compared with the
 * part's own hash. */
void decide_recipients(broker *b, MDB_txn *txn, const cert_info *sender,
                       const Flagpost__FlagBody *body, const Flagpost__Publish *pub,
                       const decide_parts *parts, recipient_verdict *out);

#endif
