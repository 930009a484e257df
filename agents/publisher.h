/*
 * publisher: turns a flag an agency hands over into a durable, sealed,
 * policy-filtered outbox record.
 *
 * The first enforcement point of the agreement: for each recipient the
 * policy allows, the payload holds only the fields the deciding rule grants
 * (the fields the agency supplied, intersected with the rule's list); a
 * recipient the agency named but the policy refuses gets nothing, and the
 * refusal travels in the signed body so the broker audits it.  When the
 * record is committed the publish is accepted: from then on it survives any
 * crash and is resent until the broker answers.
 *
 * Everything is validated before anything is stored, so a rejected flag
 * leaves no trace.
 */
#ifndef FLAGPOST_PUBLISHER_H
#define FLAGPOST_PUBLISHER_H

#include "agent.h"
#include "flag_json.h"

/* On success *out is the committed record (free with
 * flagpost__outbox_record__free_unpacked). */
int publisher_accept(agent *a, const flag_request *req, Flagpost__OutboxRecord **out,
                     fp_error *err);

/* Accept n flags with one commit (one fsync) between them: the agent's
 * group commit when several publish requests arrive together.  For each i,
 * status[i] is FP_OK and out[i] the committed record, or an error with
 * errs[i] naming the field.  A flag that fails validation never stops the
 * others; a store failure stores none of them.  Returns FP_OK or the store
 * failure.  Callers batch only new flags (action publish), whose ids are
 * fresh, so no two in a batch touch the same flag. */
int publisher_accept_batch(agent *a, const flag_request *const *reqs, size_t n,
                           Flagpost__OutboxRecord **out, int *status, fp_error *errs);

/* Withdraw one of this agency's own flags, for a reason code.  The signed
 * withdrawal reaches every agency that holds the flag. */
int publisher_withdraw(agent *a, const char *flag_id_hex, const char *reason,
                       Flagpost__OutboxRecord **out, fp_error *err);

#endif
