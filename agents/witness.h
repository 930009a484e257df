/*
 * witness: the agent as a witness of the broker's audit history.
 *
 * The agent keeps the last checkpoint it accepted (signed by a valid broker
 * certificate) and, for each newer checkpoint the broker sends, asks for a
 * consistency proof and checks it.  If the broker ever shows a history
 * that cannot extend the one this agent saw - a tree that shrank, two
 * roots for one size, a proof that does not hold - the agent raises an
 * alarm that does not depend on the broker or its audit trail: an ERROR
 * log line, a file DATA/AUDIT-ALERT (written once, kept until an operator
 * has investigated and removed it), and a non-zero `flagpost status`.
 *
 * The first checkpoint an agent ever sees is trusted as given (there is
 * nothing earlier to check it against); every later one must be proved.
 * Accepted checkpoints are kept in the agent's store (the most recent
 * WITNESS_KEEP of them).
 */
#ifndef FLAGPOST_WITNESS_H
#define FLAGPOST_WITNESS_H

#include "agent.h"

#define WITNESS_KEEP 10000
#define WITNESS_ALERT_FILE "AUDIT-ALERT"

typedef struct witness witness;

int witness_open(agent *a, witness **out, fp_error *err);
void witness_free(witness *w);

void witness_on_checkpoint(agent *a, const Flagpost__SignedCheckpoint *sc);
void witness_on_proof(agent *a, const Flagpost__ConsistencyProof *proof);
void witness_tick(agent *a, int64_t now_ms);

/* The last accepted checkpoint (size 0 when none) and the alarm text
 * (NULL when there is no alarm). */
uint64_t witness_last_size(const witness *w, char root_hex[65], int64_t *time_ms);
const char *witness_alarm(const witness *w);

#endif
