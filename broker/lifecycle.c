/*
 * lifecycle: versions, withdrawals, deadlines, acknowledgements.  See
 * lifecycle.h.
 *
 * Notices (view, acknowledged, escalation, withdrawn, expired) travel in
 * the recipient's durable queue like deliveries, so an agency that is
 * offline gets them when it returns.
 */
#include "lifecycle.h"

#include <stdio.h>
#include <string.h>

#include "audit_entry.h"
#include "envelope.h"
#include "timefmt.h"

#define DEADLINE_BATCH 256

const char *lifecycle_check(broker *b, MDB_txn *txn, const Flagpost__Envelope *env,
                            const Flagpost__FlagBody *body, Flagpost__BrokerFlag **prior)
{
    *prior = NULL;
    broker_store_flag_get(b->store, txn, body->flag_id.data, prior, NULL);
    if (body->lifecycle == FLAGPOST__LIFECYCLE__LIFECYCLE_PUBLISH)
        return *prior != NULL || body->version != 1 ? "flag-id-in-use" : NULL;
    /* protobuf-c keeps an enum number it does not know; such a flag is
     * none of the three and would be handled, and audited, as the wrong one */
    if (body->lifecycle != FLAGPOST__LIFECYCLE__LIFECYCLE_UPDATE &&
        body->lifecycle != FLAGPOST__LIFECYCLE__LIFECYCLE_WITHDRAW)
        return "unknown-lifecycle";
    if (*prior == NULL)
        return "unknown-flag";
    if (strcmp((*prior)->sender, env->sender) != 0)
        return "not-the-flags-sender";
    if ((*prior)->state != FLAGPOST__FLAG_STATE__FLAG_ACTIVE)
        return "flag-no-longer-active";
    if (body->version <= (*prior)->version)
        return "version-does-not-advance";
    return NULL;
}

int lifecycle_queue_notice(broker *b, MDB_txn *txn, const char *to, const char *kind,
                           const char *about, const ProtobufCBinaryData *flag_id,
                           const char *category, const char *text, int64_t now, fp_error *err)
{
    Flagpost__Notice n = FLAGPOST__NOTICE__INIT;
    n.kind = (char *)(uintptr_t)kind;
    n.agency = (char *)(uintptr_t)about;
    n.flag_id = *flag_id;
    n.category = (char *)(uintptr_t)category;
    n.text = (char *)(uintptr_t)(text ? text : "");
    n.time_ms = now;
    Flagpost__ToAgent msg = FLAGPOST__TO_AGENT__INIT;
    msg.kind_case = FLAGPOST__TO_AGENT__KIND_NOTICE;
    msg.notice = &n;
    return broker_store_enqueue(b->store, txn, to, &msg, NULL, err);
}

/* Audit a lifecycle event for one recipient, from the flag's metadata. */
static int audit_for(broker *b, MDB_txn *txn, Flagpost__AuditEvent event, const char *sender,
                     const char *recipient, const Flagpost__FlagBody *body, const char *decision,
                     const char *rule, const char *reason, const ProtobufCBinaryData *msg_id,
                     int64_t now, fp_error *err)
{
    Flagpost__AuditEntry e = FLAGPOST__AUDIT_ENTRY__INIT;
    e.event = event;
    e.sender = (char *)(uintptr_t)sender;
    e.recipient = (char *)(uintptr_t)recipient;
    e.subject = body->subject;
    e.n_subject = body->n_subject;
    e.subject_role = body->subject_role;
    e.category = body->category;
    e.purpose = body->purpose;
    e.lawful_basis = body->lawful_basis;
    e.consent = body->consent;
    e.risk = body->risk;
    e.flag_id = body->flag_id;
    e.version = body->version;
    e.decision = (char *)(uintptr_t)decision;
    e.rule_id = (char *)(uintptr_t)(rule ? rule : "");
    e.reason = (char *)(uintptr_t)(reason ? reason : "");
    e.stage = (char *)"broker";
    if (msg_id != NULL)
        e.message_id = *msg_id;
    e.policy_hash.data = (uint8_t *)(uintptr_t)policy_hash(b->policy);
    e.policy_hash.len = 32;
    return audit_entry_append(b->store, txn, &e, now, err);
}

/* ---------------------------------------------------------------- record */

static int64_t expiry_for(const Flagpost__FlagBody *body, int64_t retention_days, int64_t now)
{
    int64_t due = 0;
    int64_t dates[] = {body->review_at, body->expires_at};
    /* decide_flag_shape has refused dates outside timefmt's range, so the
     * multiplication cannot overflow; the bound is checked again here
     * because an overflow would be undefined, not merely wrong. */
    for (size_t i = 0; i < 2; i++)
        if (dates[i] > 0 && dates[i] <= TIMEFMT_MAX_S && (due == 0 || dates[i] * 1000 < due))
            due = dates[i] * 1000;
    if (retention_days > 0 && (due == 0 || now + retention_days * 86400000LL < due))
        due = now + retention_days * 86400000LL;
    return due;
}

static bool allowed_now(const recipient_verdict *v, size_t n, const char *agency)
{
    for (size_t i = 0; i < n; i++)
        if (v[i].allowed && strcmp(v[i].part->recipient, agency) == 0)
            return true;
    return false;
}

/* Earlier recipients the new version leaves out must drop the old one. */
static int withdraw_dropped(broker *b, MDB_txn *txn, const Flagpost__Envelope *env,
                            const Flagpost__FlagBody *body, const recipient_verdict *v, size_t n,
                            const Flagpost__BrokerFlag *prior, int64_t now, fp_error *err)
{
    int rc = FP_OK;
    for (size_t i = 0; prior != NULL && rc == FP_OK && i < prior->n_recipients; i++) {
        const Flagpost__RecipientState *r = prior->recipients[i];
        if (r->expired || allowed_now(v, n, r->agency))
            continue;
        rc = lifecycle_queue_notice(b, txn, r->agency, "withdrawn", env->sender, &body->flag_id,
                                    body->category, "not-shared-in-new-version", now, err);
        if (rc == FP_OK)
            rc = audit_for(b, txn, FLAGPOST__AUDIT_EVENT__AUDIT_WITHDRAWAL, env->sender, r->agency,
                           body, "withdrawn", "", "not-shared-in-new-version", &env->message_id,
                           now, err);
    }
    return rc;
}

static int schedule(broker *b, MDB_txn *txn, const Flagpost__FlagBody *body,
                    const recipient_verdict *v, int64_t now, fp_error *err)
{
    int rc = FP_OK;
    if (v->decision.ack_within_s > 0)
        rc = broker_store_deadline_add(b->store, txn, now + v->decision.ack_within_s * 1000,
                                       DEADLINE_ACK, body->flag_id.data, v->part->recipient,
                                       body->version, err);
    int64_t expiry = expiry_for(body, v->decision.retention_days, now);
    if (rc == FP_OK && expiry > 0)
        rc = broker_store_deadline_add(b->store, txn, expiry, DEADLINE_EXPIRY, body->flag_id.data,
                                       v->part->recipient, body->version, err);
    return rc;
}

int lifecycle_record(broker *b, MDB_txn *txn, const Flagpost__Envelope *env,
                     const Flagpost__FlagBody *body, const recipient_verdict *v, size_t n,
                     const Flagpost__BrokerFlag *prior, int64_t now, fp_error *err)
{
    Flagpost__RecipientState states[DECIDE_MAX_RECIPIENTS], *ptrs[DECIDE_MAX_RECIPIENTS];
    size_t k = 0;
    int rc = FP_OK;
    for (size_t i = 0; i < n && rc == FP_OK; i++) {
        if (!v[i].allowed)
            continue;
        flagpost__recipient_state__init(&states[k]);
        states[k].agency = v[i].part->recipient;
        states[k].rule_id = (char *)(uintptr_t)v[i].rule_id;
        states[k].notify_on_view = v[i].decision.notify_on_view;
        states[k].ack_within_s = v[i].decision.ack_within_s;
        states[k].queued_ms = now;
        states[k].version = body->version;
        ptrs[k] = &states[k];
        k++;
        rc = schedule(b, txn, body, &v[i], now, err);
    }
    if (rc == FP_OK)
        rc = withdraw_dropped(b, txn, env, body, v, n, prior, now, err);
    Flagpost__BrokerFlag rec = FLAGPOST__BROKER_FLAG__INIT;
    rec.sender = env->sender;
    rec.version = body->version;
    rec.latest_message_id = env->message_id;
    rec.body = env->body;
    rec.recipients = ptrs;
    rec.n_recipients = k;
    rec.state = FLAGPOST__FLAG_STATE__FLAG_ACTIVE;
    if (rc == FP_OK)
        rc = broker_store_flag_put(b->store, txn, body->flag_id.data, &rec, err);
    if (rc == FP_OK && strcmp(body->subject_role, "perpetrator") == 0)
        for (size_t i = 0; rc == FP_OK && i < body->n_subject; i++)
            rc = broker_store_client_add(b->store, txn, env->sender, body->subject[i], err);
    return rc;
}

/* ---------------------------------------------------------------- withdraw */

int lifecycle_withdraw(broker *b, MDB_txn *txn, const Flagpost__Envelope *env,
                       const Flagpost__FlagBody *body, Flagpost__SignedEnvelope *signed_env,
                       const Flagpost__BrokerFlag *prior, int64_t now,
                       Flagpost__Decision *decisions, Flagpost__Decision **ptrs, size_t *count,
                       fp_error *err)
{
    /* The audit entries describe the flag as it was last disclosed. */
    Flagpost__FlagBody *last = flagpost__flag_body__unpack(NULL, prior->body.len, prior->body.data);
    if (last == NULL)
        return fp_error_set(err, FP_ERR_IO, "stored flag record is damaged");
    last->version = body->version;
    int rc = FP_OK;
    *count = 0;
    for (size_t i = 0; rc == FP_OK && i < prior->n_recipients; i++) {
        const Flagpost__RecipientState *r = prior->recipients[i];
        if (r->expired)
            continue;
        Flagpost__Deliver dv = FLAGPOST__DELIVER__INIT;
        dv.signed_ = signed_env; /* sender-signed; no part: nothing to read */
        Flagpost__ToAgent msg = FLAGPOST__TO_AGENT__INIT;
        msg.kind_case = FLAGPOST__TO_AGENT__KIND_DELIVER;
        msg.deliver = &dv;
        rc = broker_store_enqueue(b->store, txn, r->agency, &msg, NULL, err);
        if (rc == FP_OK)
            rc = audit_for(b, txn, FLAGPOST__AUDIT_EVENT__AUDIT_WITHDRAWAL, env->sender, r->agency,
                           last, "withdrawn", r->rule_id, body->withdraw_reason, &env->message_id,
                           now, err);
        flagpost__decision__init(&decisions[*count]);
        decisions[*count].recipient = r->agency;
        decisions[*count].allowed = true;
        decisions[*count].rule_id = (char *)"withdrawal";
        ptrs[*count] = &decisions[*count];
        (*count)++;
    }
    Flagpost__BrokerFlag rec = *prior;
    rec.version = body->version;
    rec.latest_message_id = env->message_id;
    rec.state = FLAGPOST__FLAG_STATE__FLAG_WITHDRAWN;
    if (rc == FP_OK)
        rc = broker_store_flag_put(b->store, txn, body->flag_id.data, &rec, err);
    flagpost__flag_body__free_unpacked(last, NULL);
    return rc;
}

/* ---------------------------------------------------------------- acknowledge */

static Flagpost__RecipientState *state_of(Flagpost__BrokerFlag *f, const char *agency)
{
    for (size_t i = 0; i < f->n_recipients; i++)
        if (strcmp(f->recipients[i]->agency, agency) == 0)
            return f->recipients[i];
    return NULL;
}

int lifecycle_acknowledge(broker *b, MDB_txn *txn, const Flagpost__Envelope *env,
                          const Flagpost__ActionAckBody *ack, int64_t now, const char **refusal,
                          fp_error *err)
{
    *refusal = NULL;
    Flagpost__BrokerFlag *f = NULL;
    if (ack->flag_id.len != 16 ||
        broker_store_flag_get(b->store, txn, ack->flag_id.data, &f, NULL) != FP_OK) {
        *refusal = "unknown-flag";
        return FP_OK;
    }
    Flagpost__RecipientState *r = state_of(f, env->sender);
    Flagpost__FlagBody *body = flagpost__flag_body__unpack(NULL, f->body.len, f->body.data);
    int rc = FP_OK;
    if (r == NULL || body == NULL) {
        *refusal = "not-a-recipient-of-this-flag";
    } else {
        bool first = r->acknowledged_ms == 0;
        if (first)
            r->acknowledged_ms = now;
        char *old_outcome = r->outcome;
        r->outcome = ack->outcome;
        rc = audit_for(b, txn, FLAGPOST__AUDIT_EVENT__AUDIT_ACKNOWLEDGEMENT, f->sender, env->sender,
                       body, "acknowledged", r->rule_id, ack->outcome, &env->message_id, now, err);
        if (rc == FP_OK)
            rc = broker_store_flag_put(b->store, txn, ack->flag_id.data, f, err);
        r->outcome = old_outcome;
        if (rc == FP_OK)
            rc = lifecycle_queue_notice(b, txn, f->sender, "acknowledged", env->sender,
                                        &ack->flag_id, body->category, ack->outcome, now, err);
    }
    if (body != NULL)
        flagpost__flag_body__free_unpacked(body, NULL);
    flagpost__broker_flag__free_unpacked(f, NULL);
    return rc;
}

/* ---------------------------------------------------------------- deadlines */

typedef struct deadline_ctx {
    broker *b;
    MDB_txn *txn;
    int64_t now;
    fp_error *err;
    size_t escalated, expired;
} deadline_ctx;

static int escalate(deadline_ctx *c, Flagpost__BrokerFlag *f, Flagpost__RecipientState *r,
                    const Flagpost__FlagBody *body, const uint8_t flag_id[16])
{
    if (r->acknowledged_ms != 0 || r->escalated || f->state != FLAGPOST__FLAG_STATE__FLAG_ACTIVE)
        return FP_OK;
    r->escalated = true;
    char reason[96];
    snprintf(reason, sizeof reason, "not-acknowledged-within-%llds", (long long)r->ack_within_s);
    ProtobufCBinaryData id = {.len = 16, .data = (uint8_t *)(uintptr_t)flag_id};
    int rc = audit_for(c->b, c->txn, FLAGPOST__AUDIT_EVENT__AUDIT_ESCALATION, f->sender, r->agency,
                       body, "escalated", r->rule_id, reason, NULL, c->now, c->err);
    if (rc == FP_OK)
        rc = lifecycle_queue_notice(c->b, c->txn, f->sender, "escalation", r->agency, &id,
                                    body->category, reason, c->now, c->err);
    if (rc == FP_OK) {
        c->escalated++;
        log_event(&c->b->log, LOG_WARN, "escalation", "sender=%s recipient=%s rule=%s", f->sender,
                  r->agency, r->rule_id);
    }
    return rc;
}

static int expire(deadline_ctx *c, Flagpost__BrokerFlag *f, Flagpost__RecipientState *r,
                  const Flagpost__FlagBody *body, const uint8_t flag_id[16])
{
    if (r->expired || f->state != FLAGPOST__FLAG_STATE__FLAG_ACTIVE)
        return FP_OK;
    r->expired = true;
    ProtobufCBinaryData id = {.len = 16, .data = (uint8_t *)(uintptr_t)flag_id};
    int rc =
        audit_for(c->b, c->txn, FLAGPOST__AUDIT_EVENT__AUDIT_EXPIRY, f->sender, r->agency, body,
                  "expired", r->rule_id, "review-date-or-retention", NULL, c->now, c->err);
    if (rc == FP_OK)
        rc = lifecycle_queue_notice(c->b, c->txn, r->agency, "expired", f->sender, &id,
                                    body->category, "review-date-or-retention", c->now, c->err);
    bool all = true;
    for (size_t i = 0; i < f->n_recipients; i++)
        all = all && f->recipients[i]->expired;
    if (all)
        f->state = FLAGPOST__FLAG_STATE__FLAG_EXPIRED;
    c->expired++;
    return rc;
}

static int on_deadline(void *ctx, int64_t due, char kind, const uint8_t flag_id[16],
                       const char *agency, uint32_t version)
{
    deadline_ctx *c = ctx;
    (void)due;
    Flagpost__BrokerFlag *f = NULL;
    if (broker_store_flag_get(c->b->store, c->txn, flag_id, &f, NULL) != FP_OK)
        return FP_OK; /* a deadline for a flag we no longer know: nothing to do */
    Flagpost__RecipientState *r = state_of(f, agency);
    Flagpost__FlagBody *body = flagpost__flag_body__unpack(NULL, f->body.len, f->body.data);
    int rc = FP_OK;
    /* A deadline of a version the agency no longer holds was replaced by
     * the new version's own (lifecycle_record); it must not expire or
     * escalate the new one early.  Version 0: stored before deadlines
     * carried one. */
    if (r != NULL && version != 0 && version != r->version)
        r = NULL;
    if (r != NULL && body != NULL) {
        rc = kind == DEADLINE_ACK ? escalate(c, f, r, body, flag_id)
                                  : expire(c, f, r, body, flag_id);
        if (rc == FP_OK)
            rc = broker_store_flag_put(c->b->store, c->txn, flag_id, f, c->err);
    }
    if (body != NULL)
        flagpost__flag_body__free_unpacked(body, NULL);
    flagpost__broker_flag__free_unpacked(f, NULL);
    return rc;
}

void lifecycle_run_deadlines(broker *b, int64_t now)
{
    MDB_txn *txn;
    fp_error err;
    if (broker_store_begin(b->store, false, &txn, &err) != FP_OK)
        return;
    bool due = broker_store_deadline_pending(b->store, txn, now);
    broker_store_abort(txn);
    if (!due || broker_store_begin(b->store, true, &txn, &err) != FP_OK)
        return;
    deadline_ctx c = {.b = b, .txn = txn, .now = now, .err = &err};
    int rc = broker_store_deadlines_due(b->store, txn, now, DEADLINE_BATCH, on_deadline, &c, &err);
    if (rc == FP_OK)
        rc = broker_store_commit(txn, &err);
    else
        broker_store_abort(txn);
    if (rc != FP_OK)
        log_event(&b->log, LOG_ERROR, "deadlines-failed", "error=\"%s\"", err.message);
    else if (c.expired > 0)
        log_event(&b->log, LOG_INFO, "flags-expired", "count=%zu", c.expired);
}
