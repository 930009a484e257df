/*
 * delivery: queue pumping and acknowledgements.  See delivery.h.
 *
 * Queue entries are stored as the exact ToAgent bytes to send, so pumping
 * is a cursor walk and a send, with no decoding on the way out.
 */
#include "delivery.h"

#include <stdlib.h>
#include <string.h>

#include "audit_entry.h"
#include "envelope.h"

typedef struct pump_ctx {
    broker *b;
    peer *p;
    int64_t now;
    bool blocked;
} pump_ctx;

/* Whether p's window has room for one more delivery of len bytes.  The
 * first always fits, so a flag larger than the byte window still goes. */
static bool window_has_room(const broker *b, const peer *p, size_t len)
{
    if (p->inflight == 0)
        return true;
    return p->inflight < b->cfg.delivery_window &&
           p->inflight_bytes + len <= b->cfg.delivery_window_bytes;
}

static int pump_one(void *ctx, uint64_t seq, const uint8_t *bytes, size_t len)
{
    pump_ctx *c = ctx;
    if (!window_has_room(c->b, c->p, len))
        return 1;
    if (broker_send(c->b, c->p->routing, c->p->routing_len, bytes, len) != FP_OK) {
        c->blocked = true;
        return 1;
    }
    c->p->cursor = seq;
    c->p->inflight++;
    c->p->inflight_bytes += len;
    c->p->last_progress_ms = c->now;
    return 0;
}

void delivery_pump(broker *b, int64_t now)
{
    MDB_txn *txn = NULL;
    for (size_t i = 0; i < peers_count(b->peers); i++) {
        peer *p = peers_at(b->peers, i);
        if (!p->connected || p->inflight >= b->cfg.delivery_window)
            continue;
        /* A certificate revoked or expired since the agency connected:
         * hold its queue until it connects again with a valid one. */
        if (trust_store_by_agency(b->trust, p->agency, now / 1000, NULL) == NULL)
            continue;
        if (txn == NULL && broker_store_begin(b->store, false, &txn, NULL) != FP_OK)
            return;
        pump_ctx c = {.b = b, .p = p, .now = now};
        broker_store_queue_scan(b->store, txn, p->agency, p->cursor, pump_one, &c, NULL);
    }
    if (txn != NULL)
        broker_store_abort(txn);
}

/* Audit one acknowledged delivery from its stored envelope. */
static int audit_delivery(broker *b, MDB_txn *txn, const char *agency,
                          const Flagpost__Envelope *env, const Flagpost__DeliveryAckItem *item,
                          int64_t now, fp_error *err)
{
    Flagpost__FlagBody *body = flagpost__flag_body__unpack(NULL, env->body.len, env->body.data);
    if (body == NULL)
        return FP_OK;   /* nothing to audit it by; it was verified and decided at intake */
    Flagpost__AuditEntry e;
    audit_entry_from_flag(&e,
                          item->stored ? FLAGPOST__AUDIT_EVENT__AUDIT_DELIVERY
                                       : FLAGPOST__AUDIT_EVENT__AUDIT_RECIPIENT_REJECTED,
                          env, body, policy_hash(b->policy));
    e.recipient = (char *)(uintptr_t)agency;
    e.decision = (char *)(item->stored ? "delivered" : "rejected");
    e.reason = item->reason;
    e.stage = (char *)"recipient";
    int rc = audit_entry_append(b->store, txn, &e, now, err);
    if (!item->stored)
        log_event(&b->log, LOG_WARN, "delivery-rejected", "recipient=%s sender=%s reason=%s",
                  agency, env->sender, item->reason);
    flagpost__flag_body__free_unpacked(body, NULL);
    return rc;
}

/* The released entry, decoded where LMDB keeps it (no copy first). */
typedef struct released {
    const Flagpost__DeliveryAckItem *item;
    Flagpost__ToAgent *msg;
    Flagpost__Envelope *env;     /* of a delivery, when it decodes */
    size_t len;
    bool mismatch;
} released;

/* An acknowledgement that names a message must name the one queued under
 * its number.  Otherwise it is not this entry's (a stale acknowledgement
 * reaching a broker restored from a backup, whose numbers were handed out
 * again, or a broken agent), and releasing the entry would drop a flag
 * never delivered and audit it as delivered.  An agent that could not
 * decode a delivery names no message; it is released, as rejected. */
static int decode_released(void *ctx, const uint8_t *bytes, size_t len, fp_error *err)
{
    (void)err;
    released *r = ctx;
    r->msg = flagpost__to_agent__unpack(NULL, len, bytes);
    r->len = len;
    if (r->msg != NULL && r->msg->kind_case == FLAGPOST__TO_AGENT__KIND_DELIVER &&
        r->msg->deliver->signed_ != NULL)
        envelope_decode(r->msg->deliver->signed_, &r->env, NULL);
    const ProtobufCBinaryData *named = &r->item->message_id;
    if (r->env != NULL && named->len != 0 &&
        (named->len != r->env->message_id.len ||
         memcmp(named->data, r->env->message_id.data, named->len) != 0)) {
        r->mismatch = true;
        return FP_ERR_NOT_FOUND;   /* kept, and sent again */
    }
    return FP_OK;   /* released even if it no longer decodes: nothing to audit then */
}

static void released_free(released *r)
{
    if (r->env != NULL)
        flagpost__envelope__free_unpacked(r->env, NULL);
    if (r->msg != NULL)
        flagpost__to_agent__free_unpacked(r->msg, NULL);
}

static int ack_one(broker *b, MDB_txn *txn, peer *p, const Flagpost__DeliveryAckItem *item,
                   int64_t now, fp_error *err)
{
    released r = {.item = item};
    int rc = broker_store_dequeue(b->store, txn, p->agency, item->seq, decode_released, &r, err);
    if (r.mismatch)
        log_event(&b->log, LOG_WARN, "ack-mismatch",
                  "agency=%s seq=%llu action=kept hint=\"the acknowledgement names another "
                  "message than the one queued under its number; the entry is sent again\"",
                  p->agency, (unsigned long long)item->seq);
    if (rc == FP_ERR_NOT_FOUND) {
        released_free(&r);
        return FP_OK;   /* released already (a repeated acknowledgement), or not this one's */
    }
    if (rc == FP_OK) {
        if (p->inflight > 0)
            p->inflight--;
        p->inflight_bytes -= r.len < p->inflight_bytes ? r.len : p->inflight_bytes;
        p->last_progress_ms = now;
    }
    if (rc == FP_OK && r.env != NULL) {
        rc = audit_delivery(b, txn, p->agency, r.env, item, now, err);
        if (rc == FP_OK && item->stored)
            b->stats_delivered++;
    }
    released_free(&r);
    return rc;
}

int delivery_ack(broker *b, MDB_txn *txn, peer *p, const Flagpost__DeliveryAck *ack,
                 int64_t now, fp_error *err)
{
    /* An agent acknowledges at most a delivery window at a time; a longer
     * list is hostile or broken, and what is not read is delivered again. */
    size_t n = ack->n_items < DELIVERY_ACK_MAX_ITEMS ? ack->n_items : DELIVERY_ACK_MAX_ITEMS;
    for (size_t i = 0; i < n; i++) {
        int rc = ack_one(b, txn, p, ack->items[i], now, err);
        if (rc != FP_OK)
            return rc;
    }
    return FP_OK;
}

void delivery_check_stalls(broker *b, int64_t now, int64_t stall_ms)
{
    for (size_t i = 0; i < peers_count(b->peers); i++) {
        peer *p = peers_at(b->peers, i);
        if (p->connected && p->inflight > 0 && now - p->last_progress_ms > stall_ms) {
            log_event(&b->log, LOG_WARN, "delivery-stalled",
                      "agency=%s unacknowledged=%zu action=resend", p->agency, p->inflight);
            p->cursor = 0;
            peers_forget_inflight(p);
            p->last_progress_ms = now;
        }
    }
}
