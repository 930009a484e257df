/*
 * acknowledge: a recipient's "received and acted on", with an outcome, for
 * a flag it holds.  The acknowledgement is signed and sent through the
 * outbox like any event; the broker records it, stops any escalation
 * clock, audits it and tells the sender.
 *
 * Outcomes are codes, not free text, so an acknowledgement can never carry
 * a personal detail into the audit trail: received, acted_on,
 * safety_plan_updated, referred_on, no_further_action, unable_to_contact.
 */
#ifndef FLAGPOST_ACKNOWLEDGE_H
#define FLAGPOST_ACKNOWLEDGE_H

#include "agent.h"

int acknowledge_flag(agent *a, const char *flag_id_hex, const char *outcome,
                     Flagpost__OutboxRecord **out, fp_error *err);

#endif
