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

#include "fp_limits.h"

#define DECIDE_MAX_RECIPIENTS FP_MAX_RECIPIENTS

/* Stable refusal reasons for a flag over a size limit (fp_limits.h). */
#define DECIDE_TOO_MANY_RECIPIENTS "too-many-recipients"
#define DECIDE_TOO_MANY_PSEUDONYMS "too-many-pseudonyms"
#define DECIDE_TOO_MANY_FIELDS "too-many-fields"
#define DECIDE_TOO_MANY_NAMED "too-many-named-agencies"
#define DECIDE_TEXT_TOO_LONG "text-too-long"
#define DECIDE_TEXT_NOT_UTF8 "text-not-utf8"

typedef struct recipient_verdict {
    Flagpost__RecipientPart *part;     /* decoded part (owned), NULL if malformed */
    const ProtobufCBinaryData *bytes;  /* the part as received */
    unsigned char digest[32];
    policy_decision decision;
    bool allowed;
    const char *rule_id;
    const char *reason;                /* stable refusal reason */
} recipient_verdict;

/* NULL when text (from the wire, NUL-terminated) is at most max bytes and
 * valid UTF-8; else DECIDE_TEXT_TOO_LONG or DECIDE_TEXT_NOT_UTF8, with why
 * naming the field (what).  Every text an agent sends ends up in audit
 * entries, logs and JSON. */
const char *decide_text_unfit(fp_error *why, const char *what, const char *text, size_t max);

/* Checks every count and length limit of a flag (publish, update or
 * withdrawal) before anything else looks at it: recipients, refused-at-
 * sender entries, pseudonyms, named agencies, declared fields per part,
 * and the length and UTF-8 validity of every text.  Returns NULL when within limits, else a
 * stable reason, with why naming the field and the limit. */
const char *decide_check_limits(const Flagpost__FlagBody *body, const Flagpost__Publish *pub,
                                fp_error *why);

/* Checks the body's shape (ids, metadata, subject, dates within
 * timefmt's range) and that parts and digests correspond one to one, in
 * order.  Returns NULL when sound, else a stable reason. */
const char *decide_flag_shape(const Flagpost__FlagBody *body, const Flagpost__Publish *pub);

/* Fills out[0..n) (n = pub->n_parts).  Call decide_release afterwards.
 * Only after decide_flag_shape returned NULL for the same body and pub:
 * each verdict's digest is the body's, which that check compared with the
 * part's own hash. */
void decide_recipients(broker *b, MDB_txn *txn, const cert_info *sender,
                       const Flagpost__FlagBody *body, const Flagpost__Publish *pub,
                       recipient_verdict *out);
void decide_release(recipient_verdict *v, size_t n);

#endif
