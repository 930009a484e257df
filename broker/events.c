/*
 * events: signed events agents report about flags they hold: a view (a
 * lookup at the point of contact showed the flag to a practitioner) and,
 * later, acknowledgements with action.  Each is verified exactly like a
 * flag, audited, and may cause a notice to the flag's sender, queued
 * durably like any delivery.
 */
#include <string.h>

#include "audit_entry.h"
#include "decide.h"
#include "envelope.h"
#include "flag_limits.h"
#include "fp_limits.h"
#include "intake.h"
#include "lifecycle.h"
#include "marac_events.h"
#include "verify.h"

static const Flagpost__RecipientState *recipient_state(const Flagpost__BrokerFlag *f,
                                                       const char *agency)
{
    for (size_t i = 0; f != NULL && i < f->n_recipients; i++)
        if (strcmp(f->recipients[i]->agency, agency) == 0)
            return f->recipients[i];
    return NULL;
}

static int process_view(broker *b, MDB_txn *txn, const Flagpost__Envelope *env,
                        const unsigned char body_hash[32], int64_t now, intake_reply *reply,
                        fp_error *err)
{
    Flagpost__ViewBody *vb = flagpost__view_body__unpack(NULL, env->body.len, env->body.data);
    fp_error why = {0};
    const char *bad = vb == NULL || vb->flag_id.len != 16 ? "malformed-view"
                      : vb->n_subject > FP_MAX_PSEUDONYMS   ? FLAG_TOO_MANY_PSEUDONYMS
                                                            : NULL;
    if (bad == NULL)
        bad = flag_text_unfit(&why, "category", vb->category, FP_MAX_TEXT);
    if (bad == NULL)
        bad = flag_text_unfit(&why, "original_sender", vb->original_sender, FP_MAX_TEXT);
    if (bad != NULL) {
        if (vb != NULL)
            flagpost__view_body__free_unpacked(vb, NULL);
        return intake_refuse_message(b, txn, env->sender, env, bad, why.message[0] ? &why : NULL,
                                     now, reply, err);
    }
    Flagpost__BrokerFlag *flag = NULL;
    broker_store_flag_get(b->store, txn, vb->flag_id.data, &flag, NULL);
    const Flagpost__RecipientState *rs = recipient_state(flag, env->sender);

    Flagpost__AuditEntry e = FLAGPOST__AUDIT_ENTRY__INIT;
    e.event = FLAGPOST__AUDIT_EVENT__AUDIT_VIEW;
    e.sender = flag ? flag->sender : vb->original_sender;
    e.recipient = env->sender;
    e.subject = vb->subject;
    e.n_subject = vb->n_subject;
    e.category = vb->category;
    e.flag_id = vb->flag_id;
    e.version = vb->version;
    e.message_id = env->message_id;
    e.decision = (char *)(rs ? "viewed" : "viewed-unknown-flag");
    e.rule_id = rs ? rs->rule_id : (char *)"";
    e.stage = (char *)"recipient";
    e.policy_hash.data = (uint8_t *)(uintptr_t)policy_hash(b->policy);
    e.policy_hash.len = 32;
    int rc = audit_entry_append(b->store, txn, &e, now, err);
    if (rc == FP_OK && rs != NULL && rs->notify_on_view)
        rc = lifecycle_queue_notice(b, txn, flag->sender, "view", env->sender, &vb->flag_id,
                                    vb->category, "", now, err);

    Flagpost__PublishResult res = FLAGPOST__PUBLISH_RESULT__INIT;
    res.message_id = env->message_id;
    res.status = FLAGPOST__RESULT_STATUS__RESULT_ACCEPTED;
    if (rc == FP_OK)
        rc = intake_remember(b, txn, env, body_hash, &res, now, err);
    if (rc == FP_OK && intake_pack_result(&res, reply) != FP_OK)
        rc = fp_error_set(err, FP_ERR_IO, "out of memory");
    if (rc == FP_OK)
        log_event(&b->log, LOG_INFO, "flag-viewed", "viewer=%s sender=%s notify=%s", env->sender,
                  e.sender, rs && rs->notify_on_view ? "yes" : "no");
    if (flag != NULL)
        flagpost__broker_flag__free_unpacked(flag, NULL);
    flagpost__view_body__free_unpacked(vb, NULL);
    return rc;
}

static int process_ack(broker *b, MDB_txn *txn, const Flagpost__Envelope *env,
                       const unsigned char body_hash[32], int64_t now, intake_reply *reply,
                       fp_error *err)
{
    Flagpost__ActionAckBody *ack =
        flagpost__action_ack_body__unpack(NULL, env->body.len, env->body.data);
    fp_error why = {0};
    const char *bad = ack == NULL ? "malformed-acknowledgement"
                                  : flag_text_unfit(&why, "outcome", ack->outcome, FP_MAX_TEXT);
    if (bad != NULL) {
        if (ack != NULL)
            flagpost__action_ack_body__free_unpacked(ack, NULL);
        return intake_refuse_message(b, txn, env->sender, env, bad, ack ? &why : NULL, now,
                                     reply, err);
    }
    const char *refusal = NULL;
    int rc = lifecycle_acknowledge(b, txn, env, ack, now, &refusal, err);
    if (rc == FP_OK && refusal != NULL) {
        rc = intake_refuse_message(b, txn, env->sender, env, refusal, NULL, now, reply, err);
    } else if (rc == FP_OK) {
        Flagpost__PublishResult res = FLAGPOST__PUBLISH_RESULT__INIT;
        res.message_id = env->message_id;
        res.status = FLAGPOST__RESULT_STATUS__RESULT_ACCEPTED;
        rc = intake_remember(b, txn, env, body_hash, &res, now, err);
        if (rc == FP_OK && intake_pack_result(&res, reply) != FP_OK)
            rc = fp_error_set(err, FP_ERR_IO, "out of memory");
        if (rc == FP_OK)
            log_event(&b->log, LOG_INFO, "flag-acknowledged", "recipient=%s outcome=%s",
                      env->sender, ack->outcome);
    }
    flagpost__action_ack_body__free_unpacked(ack, NULL);
    return rc;
}

int intake_event(broker *b, MDB_txn *txn, const char *agency, const Flagpost__SignedEnvelope *se,
                 int64_t now, intake_reply *reply, fp_error *err)
{
    reply->bytes = NULL;
    Flagpost__Envelope *env = NULL;
    const char *reason = NULL;
    fp_error why;
    int rc;
    if (verify_envelope(b, agency, se, now, &env, &reason, &why) != FP_OK) {
        rc = intake_refuse_message(b, txn, agency, env, reason, &why, now, reply, err);
    } else {
        unsigned char body_hash[32];
        Flagpost__SeenRecord *seen = NULL;
        verify_replay_result r = verify_replay(b, txn, env, body_hash, &seen);
        if (r == VERIFY_RETRANSMISSION)
            rc = intake_answer_again(b, txn, agency, env, seen, now, reply, err);
        else if (r == VERIFY_REPLAYED)
            rc = intake_refuse_message(b, txn, agency, env, VERIFY_REPLAY, NULL, now, reply, err);
        else if (env->type == FLAGPOST__MESSAGE_TYPE__MESSAGE_VIEW)
            rc = process_view(b, txn, env, body_hash, now, reply, err);
        else if (env->type == FLAGPOST__MESSAGE_TYPE__MESSAGE_ACTION_ACK)
            rc = process_ack(b, txn, env, body_hash, now, reply, err);
        else if (env->type == FLAGPOST__MESSAGE_TYPE__MESSAGE_MARAC)
            rc = marac_event_process(b, txn, env, body_hash, now, reply, err);
        else
            rc = intake_refuse_message(b, txn, agency, env, "unsupported-event", NULL, now, reply,
                                       err);
    }
    if (env != NULL)
        flagpost__envelope__free_unpacked(env, NULL);
    return rc;
}
