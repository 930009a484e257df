/*
 * intake: verify -> decide -> stage writes -> answer.  See intake.h.
 *
 * For a flag, one audit entry is written per recipient decision
 * (disclosure or refusal, plus a break-glass entry for IG review), one per
 * refusal the sending agent made itself, and the queue entry for each
 * allowed recipient holds exactly the signed envelope and that
 * recipient's own sealed part.
 */
#include "intake.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit_entry.h"
#include "decide.h"
#include "lifecycle.h"
#include "envelope.h"
#include "verify.h"

int intake_pack_result(const Flagpost__PublishResult *res, intake_reply *reply)
{
    Flagpost__ToAgent msg = FLAGPOST__TO_AGENT__INIT;
    msg.kind_case = FLAGPOST__TO_AGENT__KIND_PUBLISH_RESULT;
    msg.publish_result = (Flagpost__PublishResult *)(uintptr_t)res;
    reply->len = flagpost__to_agent__get_packed_size(&msg);
    reply->bytes = malloc(reply->len ? reply->len : 1);
    if (reply->bytes == NULL)
        return FP_ERR_IO;
    flagpost__to_agent__pack(&msg, reply->bytes);
    return FP_OK;
}

static int refused_reply(const uint8_t *id, size_t id_len, const char *error,
                         intake_reply *reply)
{
    Flagpost__PublishResult res = FLAGPOST__PUBLISH_RESULT__INIT;
    res.message_id.data = (uint8_t *)(uintptr_t)id;
    res.message_id.len = id_len;
    res.status = FLAGPOST__RESULT_STATUS__RESULT_REFUSED;
    res.error = (char *)(uintptr_t)error;
    return intake_pack_result(&res, reply);
}

int intake_retry_reply(const Flagpost__ToBroker *msg, const char *why, intake_reply *reply)
{
    Flagpost__Envelope *env = NULL;
    const Flagpost__SignedEnvelope *se = msg->kind_case == FLAGPOST__TO_BROKER__KIND_PUBLISH
                                             ? msg->publish->signed_
                                             : msg->event;
    reply->bytes = NULL;
    if (se == NULL || envelope_decode(se, &env, NULL) != FP_OK)
        return FP_ERR_INPUT;
    Flagpost__PublishResult res = FLAGPOST__PUBLISH_RESULT__INIT;
    res.message_id = env->message_id;
    res.status = FLAGPOST__RESULT_STATUS__RESULT_RETRY;
    res.error = (char *)(uintptr_t)why;
    int rc = intake_pack_result(&res, reply);
    flagpost__envelope__free_unpacked(env, NULL);
    return rc;
}

/* Audit a refused message and prepare the REFUSED answer. */
int intake_refuse_message(broker *b, MDB_txn *txn, const char *agency,
                          const Flagpost__Envelope *env, const char *reason,
                          const fp_error *why, int64_t now, intake_reply *reply, fp_error *err)
{
    const uint8_t *id = env ? env->message_id.data : NULL;
    size_t id_len = env ? env->message_id.len : 0;
    int rc = audit_entry_simple(b->store, txn, FLAGPOST__AUDIT_EVENT__AUDIT_MESSAGE_REFUSED,
                                agency, "", reason, id, id_len, policy_hash(b->policy), now,
                                err);
    if (rc != FP_OK)
        return rc;
    char hex[33];
    envelope_id_hex(id, id_len, hex);
    log_event(&b->log, LOG_WARN, "message-refused", "agency=%s message=%s reason=%s", agency,
              hex, reason);
    b->stats_refused++;
    char text[sizeof why->message + 64];
    snprintf(text, sizeof text, "refused (%s): %.700s", reason, why ? why->message : reason);
    return refused_reply(id, id_len, text, reply) == FP_OK ? FP_OK
                                                           : fp_error_set(err, FP_ERR_IO, "oom");
}

int intake_refuse_oversize(broker *b, MDB_txn *txn, const char *agency,
                           const Flagpost__ToBroker *msg, size_t size, int64_t now,
                           intake_reply *reply, fp_error *err)
{
    const Flagpost__SignedEnvelope *se = msg->kind_case == FLAGPOST__TO_BROKER__KIND_PUBLISH
                                             ? msg->publish->signed_
                                             : msg->event;
    Flagpost__Envelope *env = NULL;
    if (se != NULL)
        envelope_decode(se, &env, NULL);   /* unverified: only for the id to answer to */
    fp_error why;
    fp_error_set(&why, FP_ERR_INPUT, "the message is %zu KB and the broker accepts at most "
                 "%lld KB; send shorter fields or fewer recipients per flag", size / 1024,
                 (long long)(b->cfg.max_message_bytes / 1024));
    int rc = intake_refuse_message(b, txn, agency, env, INTAKE_TOO_LARGE, &why, now, reply, err);
    if (env != NULL)
        flagpost__envelope__free_unpacked(env, NULL);
    return rc;
}

/* A retransmission gets the answer it got the first time. */
int intake_answer_again(broker *b, MDB_txn *txn, const char *agency,
                        const Flagpost__Envelope *env, Flagpost__SeenRecord *seen, int64_t now,
                        intake_reply *reply, fp_error *err)
{
    int rc = audit_entry_simple(b->store, txn, FLAGPOST__AUDIT_EVENT__AUDIT_MESSAGE_REFUSED,
                                agency, "", VERIFY_DUPLICATE, env->message_id.data, 16,
                                policy_hash(b->policy), now, err);
    if (rc == FP_OK && seen->result != NULL && intake_pack_result(seen->result, reply) != FP_OK)
        rc = fp_error_set(err, FP_ERR_IO, "out of memory");
    flagpost__seen_record__free_unpacked(seen, NULL);
    return rc;
}

int intake_remember(broker *b, MDB_txn *txn, const Flagpost__Envelope *env,
                    const unsigned char body_hash[32], const Flagpost__PublishResult *res,
                    int64_t now, fp_error *err)
{
    Flagpost__SeenRecord rec = FLAGPOST__SEEN_RECORD__INIT;
    rec.sender = env->sender;
    rec.body_hash.data = (uint8_t *)(uintptr_t)body_hash;
    rec.body_hash.len = 32;
    rec.time_ms = now;
    rec.result = (Flagpost__PublishResult *)(uintptr_t)res;
    return broker_store_seen_put(b->store, txn, env->message_id.data, &rec, err);
}

/* ---------------------------------------------------------------- flags */

static int queue_delivery(broker *b, MDB_txn *txn, const Flagpost__Publish *pub,
                          const recipient_verdict *v, fp_error *err)
{
    Flagpost__Deliver dv = FLAGPOST__DELIVER__INIT;
    dv.signed_ = pub->signed_;
    dv.part = *v->bytes;
    Flagpost__ToAgent msg = FLAGPOST__TO_AGENT__INIT;
    msg.kind_case = FLAGPOST__TO_AGENT__KIND_DELIVER;
    msg.deliver = &dv;
    return broker_store_enqueue(b->store, txn, v->part->recipient, &msg, NULL, err);
}

static int audit_verdict(broker *b, MDB_txn *txn, const Flagpost__Envelope *env,
                         const Flagpost__FlagBody *body, const recipient_verdict *v,
                         int64_t now, fp_error *err)
{
    Flagpost__AuditEntry e;
    Flagpost__AuditEvent event = !v->allowed ? FLAGPOST__AUDIT_EVENT__AUDIT_REFUSAL
                                 : body->lifecycle == FLAGPOST__LIFECYCLE__LIFECYCLE_UPDATE
                                     ? FLAGPOST__AUDIT_EVENT__AUDIT_UPDATE
                                     : FLAGPOST__AUDIT_EVENT__AUDIT_DISCLOSURE;
    audit_entry_from_flag(&e, event, env, body, policy_hash(b->policy));
    e.recipient = v->part ? v->part->recipient : (char *)"";
    e.decision = (char *)(v->allowed ? "allowed" : "refused");
    e.rule_id = (char *)(uintptr_t)(v->rule_id ? v->rule_id : "");
    e.reason = (char *)(uintptr_t)v->reason;
    e.payload_hash.data = (uint8_t *)(uintptr_t)v->digest;
    e.payload_hash.len = 32;
    if (v->allowed) {
        e.fields = v->part->fields;
        e.n_fields = v->part->n_fields;
    }
    int rc = audit_entry_append(b->store, txn, &e, now, err);
    if (rc == FP_OK && v->allowed && v->decision.break_glass) {
        e.event = FLAGPOST__AUDIT_EVENT__AUDIT_BREAK_GLASS;
        e.reason = body->justification;
        rc = audit_entry_append(b->store, txn, &e, now, err);
    }
    return rc;
}

static int audit_sender_refusals(broker *b, MDB_txn *txn, const Flagpost__Envelope *env,
                                 const Flagpost__FlagBody *body, int64_t now, fp_error *err)
{
    for (size_t i = 0; i < body->n_refused_at_sender; i++) {
        const Flagpost__SenderRefusal *r = body->refused_at_sender[i];
        Flagpost__AuditEntry e;
        audit_entry_from_flag(&e, FLAGPOST__AUDIT_EVENT__AUDIT_REFUSAL, env, body,
                              policy_hash(b->policy));
        e.recipient = r->recipient;
        e.decision = (char *)(r->n_fields ? "withheld" : "refused");
        e.rule_id = r->rule_id;
        e.reason = r->reason;
        e.fields = r->fields;   /* names of withheld fields, never values */
        e.n_fields = r->n_fields;
        e.stage = (char *)"sender";
        int rc = audit_entry_append(b->store, txn, &e, now, err);
        if (rc != FP_OK)
            return rc;
    }
    return FP_OK;
}

static int stage_flag(broker *b, MDB_txn *txn, const Flagpost__Envelope *env,
                      const Flagpost__FlagBody *body, const Flagpost__Publish *pub,
                      recipient_verdict *v, const Flagpost__BrokerFlag *prior, int64_t now,
                      fp_error *err)
{
    int rc = FP_OK;
    for (size_t i = 0; rc == FP_OK && i < pub->n_parts; i++) {
        if (v[i].allowed)
            rc = queue_delivery(b, txn, pub, &v[i], err);
        if (rc == FP_OK)
            rc = audit_verdict(b, txn, env, body, &v[i], now, err);
    }
    if (rc == FP_OK)
        rc = audit_sender_refusals(b, txn, env, body, now, err);
    if (rc == FP_OK)
        rc = lifecycle_record(b, txn, env, body, v, pub->n_parts, prior, now, err);
    return rc;
}

static const Flagpost__SenderRefusal *withheld_for(const Flagpost__FlagBody *body,
                                                   const char *recipient)
{
    for (size_t i = 0; i < body->n_refused_at_sender; i++)
        if (body->refused_at_sender[i]->n_fields > 0 &&
            strcmp(body->refused_at_sender[i]->recipient, recipient) == 0)
            return body->refused_at_sender[i];
    return NULL;
}

static void fill_decisions(const Flagpost__FlagBody *body, const recipient_verdict *v, size_t n,
                           Flagpost__Decision *d, Flagpost__Decision **ptrs, size_t *count)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        flagpost__decision__init(&d[k]);
        d[k].recipient = v[i].part ? v[i].part->recipient : (char *)"";
        d[k].allowed = v[i].allowed;
        d[k].rule_id = (char *)(uintptr_t)(v[i].rule_id ? v[i].rule_id : "");
        d[k].reason = (char *)(uintptr_t)v[i].reason;
        const Flagpost__SenderRefusal *w = v[i].allowed ? withheld_for(body, d[k].recipient) : NULL;
        if (w != NULL) {
            d[k].withheld = w->fields;
            d[k].n_withheld = w->n_fields;
            d[k].withheld_by = w->rule_id;
        }
        ptrs[k] = &d[k];
        k++;
    }
    for (size_t i = 0; i < body->n_refused_at_sender && k < 2 * DECIDE_MAX_RECIPIENTS; i++) {
        if (body->refused_at_sender[i]->n_fields > 0)
            continue;   /* reported with the recipient's allowed decision */
        flagpost__decision__init(&d[k]);
        d[k].recipient = body->refused_at_sender[i]->recipient;
        d[k].allowed = false;
        d[k].rule_id = body->refused_at_sender[i]->rule_id;
        d[k].reason = body->refused_at_sender[i]->reason;
        ptrs[k] = &d[k];
        k++;
    }
    *count = k;
}

static int finish(broker *b, MDB_txn *txn, const Flagpost__Envelope *env,
                  const unsigned char body_hash[32], const Flagpost__PublishResult *res,
                  int64_t now, intake_reply *reply, fp_error *err)
{
    int rc = intake_remember(b, txn, env, body_hash, res, now, err);
    if (rc == FP_OK && intake_pack_result(res, reply) != FP_OK)
        rc = fp_error_set(err, FP_ERR_IO, "out of memory");
    if (rc == FP_OK)
        b->stats_accepted++;
    return rc;
}

static int process_withdraw(broker *b, MDB_txn *txn, const Flagpost__Envelope *env,
                            const Flagpost__FlagBody *body, const Flagpost__Publish *pub,
                            const Flagpost__BrokerFlag *prior, const unsigned char body_hash[32],
                            int64_t now, intake_reply *reply, fp_error *err)
{
    Flagpost__PublishResult res = FLAGPOST__PUBLISH_RESULT__INIT;
    Flagpost__Decision d[DECIDE_MAX_RECIPIENTS], *dp[DECIDE_MAX_RECIPIENTS];
    res.message_id = env->message_id;
    res.status = FLAGPOST__RESULT_STATUS__RESULT_ACCEPTED;
    res.decisions = dp;
    int rc = lifecycle_withdraw(b, txn, env, body, pub->signed_, prior, now, d, dp,
                                &res.n_decisions, err);
    if (rc == FP_OK)
        rc = finish(b, txn, env, body_hash, &res, now, reply, err);
    if (rc == FP_OK)
        log_event(&b->log, LOG_INFO, "flag-withdrawn", "sender=%s holders=%zu reason=%s",
                  env->sender, res.n_decisions, body->withdraw_reason);
    return rc;
}

static int process_disclosure(broker *b, MDB_txn *txn, const cert_info *sender,
                              const Flagpost__Envelope *env, const Flagpost__FlagBody *body,
                              const Flagpost__Publish *pub, const decide_parts *parts,
                              const Flagpost__BrokerFlag *prior,
                              const unsigned char body_hash[32], int64_t now,
                              intake_reply *reply, fp_error *err)
{
    recipient_verdict v[DECIDE_MAX_RECIPIENTS];
    decide_recipients(b, txn, sender, body, pub, parts, v);
    Flagpost__PublishResult res = FLAGPOST__PUBLISH_RESULT__INIT;
    Flagpost__Decision d[2 * DECIDE_MAX_RECIPIENTS], *dp[2 * DECIDE_MAX_RECIPIENTS];
    res.message_id = env->message_id;
    res.status = FLAGPOST__RESULT_STATUS__RESULT_ACCEPTED;
    fill_decisions(body, v, pub->n_parts, d, dp, &res.n_decisions);
    res.decisions = dp;
    int rc = stage_flag(b, txn, env, body, pub, v, prior, now, err);
    if (rc == FP_OK)
        rc = finish(b, txn, env, body_hash, &res, now, reply, err);
    return rc;
}

static int process_flag(broker *b, MDB_txn *txn, const cert_info *sender,
                        const Flagpost__Envelope *env, const Flagpost__Publish *pub,
                        const unsigned char body_hash[32], int64_t now, intake_reply *reply,
                        fp_error *err)
{
    Flagpost__FlagBody *body = flagpost__flag_body__unpack(NULL, env->body.len, env->body.data);
    if (body == NULL || body->flag_id.len != 16) {
        if (body != NULL)
            flagpost__flag_body__free_unpacked(body, NULL);
        return intake_refuse_message(b, txn, env->sender, env, "malformed-flag-body", NULL, now,
                                     reply, err);
    }
    fp_error why;
    decide_parts parts;
    const char *over = decide_unpack_parts(pub, &parts, &why);
    if (over == NULL)
        over = decide_check_limits(body, &parts, &why);
    if (over != NULL) {
        int rc = intake_refuse_message(b, txn, env->sender, env, over, &why, now, reply, err);
        decide_parts_release(&parts);
        flagpost__flag_body__free_unpacked(body, NULL);
        return rc;
    }
    Flagpost__BrokerFlag *prior = NULL;
    const char *bad = lifecycle_check(b, txn, env, body, &prior);
    bool withdraw = body->lifecycle == FLAGPOST__LIFECYCLE__LIFECYCLE_WITHDRAW;
    if (bad == NULL && withdraw && pub->n_parts != 0)
        bad = "withdrawal-carries-parts";
    if (bad == NULL && !withdraw)
        bad = decide_flag_shape(body, pub);
    int rc;
    if (bad != NULL)
        rc = intake_refuse_message(b, txn, env->sender, env, bad, NULL, now, reply, err);
    else if (withdraw)
        rc = process_withdraw(b, txn, env, body, pub, prior, body_hash, now, reply, err);
    else
        rc = process_disclosure(b, txn, sender, env, body, pub, &parts, prior, body_hash, now,
                                reply, err);
    decide_parts_release(&parts);
    if (prior != NULL)
        flagpost__broker_flag__free_unpacked(prior, NULL);
    flagpost__flag_body__free_unpacked(body, NULL);
    return rc;
}

int intake_publish(broker *b, MDB_txn *txn, const char *agency, const Flagpost__Publish *pub,
                   int64_t now, intake_reply *reply, fp_error *err)
{
    reply->bytes = NULL;
    Flagpost__Envelope *env = NULL;
    const char *reason = NULL;
    fp_error why;
    int rc;
    if (verify_envelope(b, agency, pub->signed_, now, &env, &reason, &why) != FP_OK) {
        rc = intake_refuse_message(b, txn, agency, env, reason, &why, now, reply, err);
    } else if (env->type != FLAGPOST__MESSAGE_TYPE__MESSAGE_FLAG) {
        rc = intake_refuse_message(b, txn, agency, env, "not-a-flag", NULL, now, reply, err);
    } else {
        unsigned char body_hash[32];
        Flagpost__SeenRecord *seen = NULL;
        verify_replay_result r = verify_replay(b, txn, env, body_hash, &seen);
        const cert_info *sender = trust_store_by_agency(b->trust, agency, now / 1000, NULL);
        if (r == VERIFY_RETRANSMISSION)
            rc = intake_answer_again(b, txn, agency, env, seen, now, reply, err);
        else if (r == VERIFY_REPLAYED)
            rc = intake_refuse_message(b, txn, agency, env, VERIFY_REPLAY, NULL, now, reply, err);
        else if (sender == NULL)   /* expired between verify and here */
            rc = intake_refuse_message(b, txn, agency, env, "no-valid-certificate", NULL, now,
                                reply, err);
        else
            rc = process_flag(b, txn, sender, env, pub, body_hash, now, reply, err);
    }
    if (env != NULL)
        flagpost__envelope__free_unpacked(env, NULL);
    return rc;
}
