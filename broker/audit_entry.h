/*
 * audit_entry: building the broker's audit entries and appending them to
 * the trail inside the batch transaction.
 *
 * Entries carry metadata only (SPEC 8): who, to whom, about which
 * pseudonyms, what category, purpose, lawful basis and consent, the
 * decision with its rule and policy hash, and the SHA-256 of the sealed
 * part.  There is deliberately no way to put a field value into one: the
 * broker never has any.
 */
#ifndef FLAGPOST_AUDIT_ENTRY_H
#define FLAGPOST_AUDIT_ENTRY_H

#include <lmdb.h>
#include <stdint.h>

#include "broker_store.h"
#include "flagpost.pb-c.h"
#include "fp_error.h"

/* Fill e with the flag's metadata (pointers into env and body, which must
 * outlive e). */
void audit_entry_from_flag(Flagpost__AuditEntry *e, Flagpost__AuditEvent event,
                           const Flagpost__Envelope *env, const Flagpost__FlagBody *body,
                           const unsigned char policy_hash[32]);

/* Stamp index and time, pack, append.  LMDB failures come back as
 * FP_ERR_FULL / FP_ERR_IO so the batch can be aborted. */
int audit_entry_append(broker_store *s, MDB_txn *txn, Flagpost__AuditEntry *e,
                       int64_t now_ms, fp_error *err);

/* Shorthand for events that are not about a flag (connections, refused
 * certificates, refused messages, policy loads). */
int audit_entry_simple(broker_store *s, MDB_txn *txn, Flagpost__AuditEvent event,
                       const char *sender, const char *recipient, const char *reason,
                       const uint8_t *message_id, size_t id_len,
                       const unsigned char policy_hash[32], int64_t now_ms, fp_error *err);

#endif
