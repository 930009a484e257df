/*
 * marac_events: MESSAGE_MARAC events, signed by the MARAC coordinator's
 * agent.  The only kind so far is "reminder": before a research deadline
 * the coordinator chases the agencies that have not answered.
 *
 * The broker accepts a reminder only from an agency whose certificate
 * names the marac sector, and only for items that name one of that
 * agency's own marac_research flags and an agency the broker delivered it
 * to; otherwise the whole event is refused and audited as refused.  Each
 * accepted item becomes an audit entry (AUDIT_MARAC_REMINDER, with the
 * request's metadata) and a durable "marac-reminder" notice in the
 * reminded agency's queue, so a reminder to an agency that is offline
 * reaches it when it returns.
 */
#ifndef FLAGPOST_MARAC_EVENTS_H
#define FLAGPOST_MARAC_EVENTS_H

#include "intake.h"

int marac_event_process(broker *b, MDB_txn *txn, const Flagpost__Envelope *env,
                        const unsigned char body_hash[32], int64_t now, intake_reply *reply,
                        fp_error *err);

#endif
