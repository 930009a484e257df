/*
 * batch: group commit, pipelined with signature checks.  See batch.h.
 *
 * Two batch slots alternate: one is read and handed to the verify pool
 * while the other (held from the previous call) is staged.  Each slot
 * owns its inbound messages, their answers and its table of signature
 * checks; b->staging_checks points at the table of the batch being staged
 * for exactly as long as it is staged.
 */
#include "batch.h"

#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "agency_limit.h"
#include "attest.h"
#include "audit_entry.h"
#include "delivery.h"
#include "envelope.h"
#include "intake.h"
#include "peers.h"
#include "sessions.h"
#include "verify.h"
#include "verify_pool.h"

typedef struct inbound {
    unsigned char routing[PEER_ROUTING_MAX];
    size_t routing_len;
    char agency[64];
    Flagpost__ToBroker *msg;
    intake_reply reply;
    bool fresh;                    /* first message on a new connection */
    int fd;                        /* the socket it arrived on (sessions.h) */
    bool limited;                  /* over the agency's rate: not processed, told RETRY */
    size_t size;                   /* bytes of the payload frame */
} inbound;

typedef struct batch {
    inbound *in;
    size_t n;
    verify_checks *checks;
} batch;

struct batches {
    batch slot[2];
    batch *held;   /* read and verified, not yet staged */
};

static bool oversize(const broker *b, const inbound *in)
{
    return in->size > (size_t)b->cfg.max_message_bytes;
}

static bool is_intake(const inbound *in)
{
    return in->msg->kind_case == FLAGPOST__TO_BROKER__KIND_PUBLISH ||
           in->msg->kind_case == FLAGPOST__TO_BROKER__KIND_EVENT;
}

/* Read one two-frame message: routing id, then the payload with the
 * ZAP-authenticated agency id attached as User-Id. */
static int read_inbound(broker *b, inbound *in)
{
    memset(in, 0, sizeof *in);
    zmq_msg_t id, body;
    zmq_msg_init(&id);
    if (zmq_msg_recv(&id, b->router, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&id);
        return -1;
    }
    in->routing_len = zmq_msg_size(&id) < PEER_ROUTING_MAX ? zmq_msg_size(&id) : 0;
    memcpy(in->routing, zmq_msg_data(&id), in->routing_len);
    bool more = zmq_msg_more(&id);
    zmq_msg_close(&id);
    if (!more)
        return 0;
    zmq_msg_init(&body);
    if (zmq_msg_recv(&body, b->router, 0) < 0) {
        zmq_msg_close(&body);
        return 0;
    }
    in->fd = zmq_msg_get(&body, ZMQ_SRCFD);
    in->size = zmq_msg_size(&body);
    const char *user = zmq_msg_gets(&body, "User-Id");
    if (user != NULL)
        snprintf(in->agency, sizeof in->agency, "%s", user);
    in->msg = flagpost__to_broker__unpack(NULL, zmq_msg_size(&body), zmq_msg_data(&body));
    while (zmq_msg_more(&body)) {   /* discard any extra frames */
        zmq_msg_close(&body);
        zmq_msg_init(&body);
        zmq_msg_recv(&body, b->router, 0);
    }
    zmq_msg_close(&body);
    return 0;
}

static int note_presence(broker *b, MDB_txn *txn, inbound *in, int64_t now, fp_error *err)
{
    bool fresh = false;
    peer *p = peers_touch(b->peers, in->agency, in->routing, in->routing_len, now, &fresh);
    if (p == NULL || !fresh)
        return FP_OK;
    in->fresh = true;
    sessions_note_socket(p, in->fd);
    log_event(&b->log, LOG_INFO, "agent-connected", "agency=%s", in->agency);
    return audit_entry_simple(b->store, txn, FLAGPOST__AUDIT_EVENT__AUDIT_AGENT_CONNECTED,
                              in->agency, "", "", NULL, 0, policy_hash(b->policy), now, err);
}

/* A frame that is not a ToBroker at all (cut short, bit-flipped framing)
 * from an authenticated agency: refused, and audited like any refusal. */
static int audit_malformed_frame(broker *b, MDB_txn *txn, const inbound *in, int64_t now,
                                 fp_error *err)
{
    b->stats_refused++;
    return audit_entry_simple(b->store, txn, FLAGPOST__AUDIT_EVENT__AUDIT_MESSAGE_REFUSED,
                              in->agency, "", "malformed-frame", NULL, 0,
                              policy_hash(b->policy), now, err);
}

static int stage_one(broker *b, MDB_txn *txn, inbound *in, bool with_intake, int64_t now,
                     fp_error *err)
{
    /* An agency whose certificate stopped being valid has no presence and
     * releases nothing; intake refuses (and audits) what it publishes. */
    bool admitted = sessions_admitted(b, in->agency, now);
    int rc = admitted ? note_presence(b, txn, in, now, err) : FP_OK;
    if (rc != FP_OK || (!admitted && !is_intake(in)))
        return rc;
    if (in->limited)
        return FP_OK;
    if (oversize(b, in))
        return with_intake && is_intake(in) ? intake_refuse_oversize(b, txn, in->agency, in->msg,
                                                                     in->size, now, &in->reply,
                                                                     err)
                                            : FP_OK;
    switch (in->msg->kind_case) {
    case FLAGPOST__TO_BROKER__KIND_PUBLISH:
        return with_intake ? intake_publish(b, txn, in->agency, in->msg->publish, now,
                                            &in->reply, err)
                           : FP_OK;
    case FLAGPOST__TO_BROKER__KIND_EVENT:
        return with_intake ? intake_event(b, txn, in->agency, in->msg->event, now, &in->reply,
                                          err)
                           : FP_OK;
    case FLAGPOST__TO_BROKER__KIND_DELIVERY_ACK: {
        /* No peer only if note_presence could not allocate one: release
         * nothing; what was delivered is sent again and acknowledged then. */
        peer *p = peers_find(b->peers, in->agency);
        return p != NULL ? delivery_ack(b, txn, p, in->msg->delivery_ack, now, err) : FP_OK;
    }
    default:
        return FP_OK;   /* hello: presence is all it carries */
    }
}

static void drop_replies(inbound *in, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(in[i].reply.bytes);
        in[i].reply.bytes = NULL;
    }
}

int batch_memory_mark(broker *b, batch_memory *m, fp_error *err)
{
    m->accepted = b->stats_accepted;
    m->refused = b->stats_refused;
    m->delivered = b->stats_delivered;
    if (peers_mark(b->peers) != 0)
        return fp_error_set(err, FP_ERR_IO, "out of memory staging a batch");
    return FP_OK;
}

void batch_memory_rollback(broker *b, const batch_memory *m)
{
    b->stats_accepted = m->accepted;
    b->stats_refused = m->refused;
    b->stats_delivered = m->delivered;
    peers_rollback(b->peers);
}

static int stage_and_commit(broker *b, inbound *in, size_t n, bool with_intake, fp_error *err)
{
    MDB_txn *txn = NULL;
    int64_t now = envelope_now_ms();
    /* A batch that answers no sender (only recipients' acknowledgements
     * and hellos) need not wait for the disk; see broker_store_begin_lazy. */
    bool answers = false;
    for (size_t i = 0; i < n && !answers; i++)
        answers = with_intake && in[i].msg != NULL && is_intake(&in[i]) && !in[i].limited;
    int rc = answers ? broker_store_begin(b->store, true, &txn, err)
                     : broker_store_begin_lazy(b->store, &txn, err);
    for (size_t i = 0; rc == FP_OK && i < n; i++) {
        if (in[i].msg != NULL && in[i].agency[0] != '\0')
            rc = stage_one(b, txn, &in[i], with_intake, now, err);
        else if (with_intake && in[i].agency[0] != '\0' && !in[i].limited)
            rc = audit_malformed_frame(b, txn, &in[i], now, err);   /* over the rate: counted
                                                                   * in refusals.h's entry */
    }
    if (rc == FP_OK)
        return broker_store_commit(txn, err);
    if (txn != NULL)
        broker_store_abort(txn);
    return rc;
}

static int stage_batch(broker *b, inbound *in, size_t n, bool with_intake, fp_error *err)
{
    batch_memory m;
    int rc = batch_memory_mark(b, &m, err);
    if (rc != FP_OK)
        return rc;
    rc = stage_and_commit(b, in, n, with_intake, err);
    if (rc != FP_OK)
        batch_memory_rollback(b, &m);
    return rc;
}

static void answer_batch(broker *b, inbound *in, size_t n, bool intake_committed,
                         const char *why)
{
    for (size_t i = 0; i < n; i++) {
        if (in[i].msg == NULL)
            continue;
        if (in[i].fresh) {
            const peer *p = peers_find(b->peers, in[i].agency);
            if (p != NULL)
                attest_send_latest(b, p);
        }
        if (in[i].msg->kind_case == FLAGPOST__TO_BROKER__KIND_CONSISTENCY_REQUEST &&
            sessions_admitted(b, in[i].agency, envelope_now_ms()))
            attest_answer(b, in[i].routing, in[i].routing_len, in[i].msg->consistency_request);
        if (!is_intake(&in[i]))
            continue;
        if (in[i].limited) {
            char text[256];
            agency_limit_describe(b->limits, text, sizeof text);
            intake_retry_reply(in[i].msg, text, &in[i].reply);
        } else if (!intake_committed) {
            free(in[i].reply.bytes);
            intake_retry_reply(in[i].msg, why, &in[i].reply);
        }
        if (in[i].reply.bytes != NULL)
            broker_send(b, in[i].routing, in[i].routing_len, in[i].reply.bytes,
                        in[i].reply.len);
    }
}

/* Ask the verify pool, in the background, about every signature the
 * batch carries; staging then only looks the answers up (verify.c). */
static void start_signature_checks(broker *b, batch *bt)
{
    int64_t now = envelope_now_ms();
    const inbound *in = bt->in;
    for (size_t i = 0; i < bt->n; i++) {
        if (in[i].msg == NULL || in[i].agency[0] == '\0' || in[i].limited || oversize(b, &in[i]))
            continue;
        if (in[i].msg->kind_case == FLAGPOST__TO_BROKER__KIND_PUBLISH)
            verify_prepare(b, bt->checks, in[i].agency, in[i].msg->publish->signed_, now);
        else if (in[i].msg->kind_case == FLAGPOST__TO_BROKER__KIND_EVENT)
            verify_prepare(b, bt->checks, in[i].agency, in[i].msg->event, now);
    }
    verify_pool_start(b->vpool, bt->checks);
}

batches *batches_new(size_t batch_max)
{
    batches *q = calloc(1, sizeof *q);
    if (q == NULL)
        return NULL;
    for (int i = 0; i < 2; i++) {
        q->slot[i].in = calloc(batch_max, sizeof *q->slot[i].in);
        q->slot[i].checks = verify_checks_new();
        if (q->slot[i].in == NULL || q->slot[i].checks == NULL) {
            batches_free(q);
            return NULL;
        }
    }
    return q;
}

static void release(batch *bt)
{
    for (size_t i = 0; i < bt->n; i++) {
        free(bt->in[i].reply.bytes);
        if (bt->in[i].msg != NULL)
            flagpost__to_broker__free_unpacked(bt->in[i].msg, NULL);
    }
    bt->n = 0;
    verify_checks_clear(bt->checks);
}

void batches_free(batches *q)
{
    if (q == NULL)
        return;
    for (int i = 0; i < 2; i++) {
        if (q->slot[i].in != NULL)
            release(&q->slot[i]);
        free(q->slot[i].in);
        verify_checks_free(q->slot[i].checks);
    }
    free(q);
}

static void read_batch(broker *b, batch *bt)
{
    int64_t now = envelope_now_ms();
    inbound *in = bt->in;
    size_t n = 0, bytes = 0;
    while (n < b->cfg.batch_max && bytes < b->cfg.batch_max_bytes &&
           read_inbound(b, &in[n]) == 0) {
        bytes += in[n].size;
        /* Unreadable messages count against the rate too, so a flood of
         * garbage is not a flood of log lines. */
        bool counted = in[n].agency[0] != '\0' && (in[n].msg == NULL || is_intake(&in[n]));
        in[n].limited = counted && !agency_limit_take(b->limits, in[n].agency, now);
        if (in[n].msg == NULL && in[n].agency[0] != '\0' && !in[n].limited)
            log_event(&b->log, LOG_WARN, "message-malformed", "agency=%s", in[n].agency);
        n++;
    }
    bt->n = n;
    if (n > 0)
        log_event(&b->log, LOG_DEBUG, "batch-read", "messages=%zu bytes=%zu", n, bytes);
}

/* Stage, commit and answer one batch whose signatures are checked. */
static void finish(broker *b, batch *bt)
{
    inbound *in = bt->in;
    size_t n = bt->n;
    fp_error err;
    b->staging_checks = bt->checks;
    int rc = stage_batch(b, in, n, true, &err);
    if (rc == FP_OK) {
        if (b->storage_full)
            log_event(&b->log, LOG_INFO, "intake-resumed", "reason=\"storage available\"");
        b->storage_full = false;
        answer_batch(b, in, n, true, NULL);
    } else {
        drop_replies(in, n);
        if (!b->storage_full)
            log_event(&b->log, LOG_ERROR, "intake-stopped", "error=\"%s\"", err.message);
        b->storage_full = rc == FP_ERR_FULL;
        /* Still release what recipients acknowledged: that frees space. */
        fp_error err2;
        if (stage_batch(b, in, n, false, &err2) != FP_OK)
            log_event(&b->log, LOG_ERROR, "store-failed", "error=\"%s\"", err2.message);
        answer_batch(b, in, n, false,
                     rc == FP_ERR_FULL ? "broker storage is full; the message was not stored "
                                         "and will be resent"
                                       : "broker storage error; the message was not stored "
                                         "and will be resent");
    }
    b->staging_checks = NULL;
    release(bt);
}

static bool more_waiting(broker *b)
{
    int events = 0;
    size_t len = sizeof events;
    return zmq_getsockopt(b->router, ZMQ_EVENTS, &events, &len) == 0 &&
           (events & ZMQ_POLLIN) != 0;
}

void batch_process_waiting(broker *b)
{
    batches *q = b->batches;
    batch *cur = q->held == &q->slot[0] ? &q->slot[1] : &q->slot[0];
    read_batch(b, cur);
    start_signature_checks(b, cur);
    batch_finish_held(b);
    if (cur->n == 0)
        return;
    verify_pool_finish(b->vpool, cur->checks);
    if (more_waiting(b))
        q->held = cur;
    else
        finish(b, cur);
}

void batch_finish_held(broker *b)
{
    batches *q = b->batches;
    if (q == NULL || q->held == NULL)
        return;
    batch *held = q->held;
    q->held = NULL;
    finish(b, held);
}
