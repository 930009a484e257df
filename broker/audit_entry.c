/*
 * audit_entry: audit entries from broker events.  See audit_entry.h.
 */
#include "audit_entry.h"

#include <stdlib.h>
#include <string.h>

void audit_entry_from_flag(Flagpost__AuditEntry *e, Flagpost__AuditEvent event,
                           const Flagpost__Envelope *env, const Flagpost__FlagBody *body,
                           const unsigned char policy_hash[32])
{
    flagpost__audit_entry__init(e);
    e->event = event;
    e->sender = env->sender;
    e->subject = body->subject;
    e->n_subject = body->n_subject;
    e->subject_role = body->subject_role;
    e->category = body->category;
    e->purpose = body->purpose;
    e->lawful_basis = body->lawful_basis;
    e->consent = body->consent;
    e->risk = body->risk;
    e->policy_hash.data = (uint8_t *)(uintptr_t)policy_hash;
    e->policy_hash.len = 32;
    e->message_id = env->message_id;
    e->flag_id = body->flag_id;
    e->version = body->version;
    e->break_glass = body->break_glass;
    e->stage = (char *)"broker";
}

int audit_entry_append(broker_store *s, MDB_txn *txn, Flagpost__AuditEntry *e,
                       int64_t now_ms, fp_error *err)
{
    audit_log *log = broker_store_audit(s);
    uint64_t size = 0;
    int rc = audit_log_size(log, txn, &size);
    if (rc != FP_OK)
        return fp_error_set(err, rc, "reading the audit trail size");
    e->index = size;
    e->time_ms = now_ms;
    size_t len = flagpost__audit_entry__get_packed_size(e);
    uint8_t stack[2048];
    uint8_t *buf = len <= sizeof stack ? stack : malloc(len);
    if (buf == NULL)
        return fp_error_set(err, FP_ERR_IO, "out of memory");
    flagpost__audit_entry__pack(e, buf);
    uint64_t index = 0;
    rc = audit_log_append(log, txn, buf, len, &index, err);
    if (buf != stack)
        free(buf);
    if (rc == FP_OK && index != size)
        return fp_error_set(err, FP_ERR_INTERNAL, "audit index moved during append");
    return rc;
}

int audit_entry_simple(broker_store *s, MDB_txn *txn, Flagpost__AuditEvent event,
                       const char *sender, const char *recipient, const char *reason,
                       const uint8_t *message_id, size_t id_len,
                       const unsigned char policy_hash[32], int64_t now_ms, fp_error *err)
{
    Flagpost__AuditEntry e = FLAGPOST__AUDIT_ENTRY__INIT;
    e.event = event;
    e.sender = (char *)(uintptr_t)(sender ? sender : "");
    e.recipient = (char *)(uintptr_t)(recipient ? recipient : "");
    e.reason = (char *)(uintptr_t)(reason ? reason : "");
    e.stage = (char *)"broker";
    if (message_id != NULL) {
        e.message_id.data = (uint8_t *)(uintptr_t)message_id;
        e.message_id.len = id_len;
    }
    if (policy_hash != NULL) {
        e.policy_hash.data = (uint8_t *)(uintptr_t)policy_hash;
        e.policy_hash.len = 32;
    }
    return audit_entry_append(s, txn, &e, now_ms, err);
}
