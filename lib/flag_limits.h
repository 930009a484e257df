/*
 * flag_limits: the counts and texts a flag may carry in clear (fp_limits.h
 * gives the numbers), checked where a flag arrives from someone not
 * trusted with them.
 *
 * The broker checks a publish before anything else looks at it, because
 * every text ends up in audit entries, logs and JSON, none of which can
 * carry bytes that are not UTF-8 (protobuf-c does not check).  A receiving
 * agent checks the same signed body and its own part again, because a
 * broker is not trusted with what a lookup will show: a text that is not
 * UTF-8 would make the whole flag vanish from every lookup (jansson
 * refuses such strings), so such a flag is rejected, not stored.
 *
 * Each check returns NULL when the flag is within limits, else one of the
 * stable reasons below (they appear in answers and audit entries), with
 * why (may be NULL) naming the field and the limit.
 */
#ifndef FLAGPOST_FLAG_LIMITS_H
#define FLAGPOST_FLAG_LIMITS_H

#include <stddef.h>

#include "flagpost.pb-c.h"
#include "fp_error.h"
#include "fp_limits.h"

#define FLAG_TOO_MANY_RECIPIENTS "too-many-recipients"
#define FLAG_TOO_MANY_PSEUDONYMS "too-many-pseudonyms"
#define FLAG_TOO_MANY_FIELDS "too-many-fields"
#define FLAG_TOO_MANY_NAMED "too-many-named-agencies"
#define FLAG_TEXT_TOO_LONG "text-too-long"
#define FLAG_TEXT_NOT_UTF8 "text-not-utf8"

/* NULL when text (NUL-terminated, from the wire) is at most max bytes and
 * valid UTF-8; else FLAG_TEXT_TOO_LONG or FLAG_TEXT_NOT_UTF8, with why
 * naming the field (what). */
const char *flag_text_unfit(fp_error *why, const char *what, const char *text, size_t max);

/* A count over its limit: sets why and returns reason. */
const char *flag_count_over(fp_error *why, const char *reason, const char *what, size_t n,
                            size_t max);

/* The signed body: part digests, refused-at-sender entries and their
 * fields, pseudonyms, named agencies, and the length and UTF-8 validity of
 * every text (category, purpose, reasons, justification, ...). */
const char *flag_body_unfit(const Flagpost__FlagBody *body, fp_error *why);

/* One recipient's part: the count of declared field names, and the
 * recipient and every field name as texts.  (Its values are sealed.) */
const char *flag_part_unfit(const Flagpost__RecipientPart *part, fp_error *why);

#endif
