/*
 * marac: MARAC research rounds, packs, actions and counts, on top of
 * ordinary flags (docs/marac.md).
 *
 * Everything that crosses the partnership is a flag or a signed event, so
 * the broker enforces the agreement on it and audits it like any other:
 *   research request  one marac_research flag per case, coordinator ->
 *                     every member agency the agreement allows, the case's
 *                     identifiers as its subject (pseudonyms) and sealed
 *                     fields so each agency can search its own systems
 *   answer            a marac_research flag, member -> coordinator, plus an
 *                     acknowledgement (acted_on) of the request
 *   reminder          a signed MESSAGE_MARAC event the broker checks,
 *                     audits and turns into a notice to each late agency
 *   action            a marac_case flag, coordinator -> the owning agency
 *                     (restricted to the named agencies for a closed case);
 *                     done = the existing acknowledgement with an outcome
 * What only the coordinator may know (equality data, the referral as
 * written, due dates) stays in its own sealed records (marac_store).
 *
 * The rest of the agent calls in at five places, a line each:
 */
#ifndef FLAGPOST_MARAC_H
#define FLAGPOST_MARAC_H

#include <jansson.h>

#include "agent.h"

/* Local API: every op named "marac_*".  Returns the reply object (never
 * NULL; {"error": ...} on failure). */
json_t *marac_api(agent *a, const char *op, json_t *req);

/* receiver: a flag was stored in txn (index requests, answers, actions).
 * Fails only when the store does; content it cannot use is logged. */
int marac_on_flag(agent *a, MDB_txn *txn, const Flagpost__FlagBody *body,
                  const Flagpost__StoredFlag *flag, fp_error *err);
/* receiver: a notice from the broker was stored in txn. */
int marac_on_notice(agent *a, MDB_txn *txn, const Flagpost__Notice *n, fp_error *err);
/* publisher: one of our own flags was committed in txn. */
int marac_on_publish(agent *a, MDB_txn *txn, const Flagpost__OutboxRecord *rec,
                     fp_error *err);
/* agent loop: reminders that have come due (coordinator only; cheap when
 * none is due). */
void marac_run_timers(agent *a, int64_t now_ms);

#endif
