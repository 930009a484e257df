/*
 * outbox: sending, resending and settling outbox records.  See outbox.h.
 *
 * The tracker (outbox_tracker.h) remembers when each pending message was
 * last sent, so the periodic resend skips messages that are merely in
 * flight.  A resend round walks the pending index in id order in small,
 * spaced steps, remembering where it stopped, so the loop stays free for
 * lookups and publishes while a long backlog goes out.
 */
#include "outbox.h"

#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "envelope.h"
#include "local_api.h"
#include "outbox_tracker.h"
#include "deferred_writer.h"

/* A step sends at most RESEND_STEP_SENDS records and looks at most at
 * RESEND_STEP_VISITS (records sent within the interval are skipped, and
 * each look reads and unpacks one).  A round of 512 in one step held the
 * loop for 10-16 ms; steps of 32 still took 3-7 ms while the broker worked
 * on the burst (docs/performance.md), steps of 8 well under that. */
#define RESEND_STEP_SENDS 8
#define RESEND_STEP_VISITS 256
/* Steps are spaced so that a full round takes about 640 ms: the broker,
 * the writer's thread and the loop share the machine, and a round sent
 * in one burst made the broker's work on it arrive all at once. */
#define RESEND_STEP_GAP_MS 10

/* ---------------------------------------------------------------- staging */

int outbox_stage(agent *a, MDB_txn *txn, Flagpost__MessageType type, const uint8_t *body,
                 size_t len, unsigned char id[16], fp_error *err)
{
    Flagpost__OutboxRecord rec = FLAGPOST__OUTBOX_RECORD__INIT;
    envelope_new_id(id);
    rec.message_id.data = id;
    rec.message_id.len = 16;
    rec.type = type;
    rec.body.data = (uint8_t *)(uintptr_t)body;
    rec.body.len = len;
    rec.accepted_ms = envelope_now_ms();
    rec.state = FLAGPOST__OUTBOX_STATE__OUTBOX_PENDING;
    rec.policy_hash.data = (uint8_t *)(uintptr_t)policy_hash(a->policy);
    rec.policy_hash.len = 32;
    return agent_store_outbox_put(a->store, txn, &rec, err);
}

int outbox_read(agent *a, const unsigned char id[16], Flagpost__OutboxRecord **out,
                fp_error *err)
{
    MDB_txn *txn;
    int rc = agent_store_begin(a->store, false, &txn, err);
    if (rc != FP_OK)
        return rc;
    rc = agent_store_outbox_get(a->store, txn, id, out, err);
    agent_store_abort(txn);
    return rc;
}

/* ---------------------------------------------------------------- sending */

static int sign_envelope(agent *a, const Flagpost__OutboxRecord *rec,
                         Flagpost__SignedEnvelope *signed_env, fp_error *err)
{
    Flagpost__Envelope env = FLAGPOST__ENVELOPE__INIT;
    env.wire_version = ENVELOPE_WIRE_VERSION;
    env.message_id = rec->message_id;
    env.type = rec->type;
    env.sender = a->id.cert.agency_id;
    env.created_ms = envelope_now_ms();
    env.policy_hash = rec->policy_hash;
    env.body = rec->body;
    return envelope_sign(&env, a->id.sign_secret, signed_env, err);
}

int outbox_send(agent *a, const Flagpost__OutboxRecord *rec, fp_error *err)
{
    if (!a->broker_up)
        return fp_error_set(err, FP_ERR_UNAVAILABLE, "the broker is not connected");
    Flagpost__SignedEnvelope signed_env;
    int rc = sign_envelope(a, rec, &signed_env, err);
    if (rc != FP_OK)
        return rc;
    Flagpost__ToBroker msg = FLAGPOST__TO_BROKER__INIT;
    Flagpost__Publish publish = FLAGPOST__PUBLISH__INIT;
    if (rec->type == FLAGPOST__MESSAGE_TYPE__MESSAGE_FLAG) {
        publish.signed_ = &signed_env;
        publish.parts = rec->parts;
        publish.n_parts = rec->n_parts;
        msg.kind_case = FLAGPOST__TO_BROKER__KIND_PUBLISH;
        msg.publish = &publish;
    } else {
        msg.kind_case = FLAGPOST__TO_BROKER__KIND_EVENT;
        msg.event = &signed_env;
    }
    rc = agent_send_to_broker(a, &msg);
    envelope_signed_release(&signed_env);
    if (rc != FP_OK)
        return fp_error_set(err, FP_ERR_UNAVAILABLE, "the broker is not connected");
    outbox_tracker_set(a->tracker, rec->message_id.data, envelope_now_ms());
    return FP_OK;
}

/* ---------------------------------------------------------------- results */

static Flagpost__OutboxState state_for(Flagpost__ResultStatus status)
{
    return status == FLAGPOST__RESULT_STATUS__RESULT_ACCEPTED
               ? FLAGPOST__OUTBOX_STATE__OUTBOX_DONE
               : FLAGPOST__OUTBOX_STATE__OUTBOX_REFUSED;
}

int outbox_settle_stage(agent *a, MDB_txn *txn, const Flagpost__PublishResult *res,
                        Flagpost__OutboxRecord **rec, fp_error *err)
{
    *rec = NULL;
    Flagpost__OutboxRecord *r = NULL;
    int rc = agent_store_outbox_get(a->store, txn, res->message_id.data, &r, err);
    if (rc != FP_OK || r->state != FLAGPOST__OUTBOX_STATE__OUTBOX_PENDING) {
        /* Unknown, or already settled by an earlier answer: nothing to do. */
        if (r != NULL)
            flagpost__outbox_record__free_unpacked(r, NULL);
        return FP_OK;
    }
    /* Swap in the broker's answer; the unpacked record owns the old one,
     * which settle_release puts back before freeing. */
    Flagpost__PublishResult *old = r->result;
    r->result = (Flagpost__PublishResult *)(uintptr_t)res;
    r->state = state_for(res->status);
    rc = agent_store_outbox_put(a->store, txn, r, err);
    r->result = old;
    if (rc != FP_OK) {
        flagpost__outbox_record__free_unpacked(r, NULL);
        return rc;
    }
    *rec = r;
    return FP_OK;
}

static bool settles(const Flagpost__PublishResult *res)
{
    return res->message_id.len == 16 && res->status != FLAGPOST__RESULT_STATUS__RESULT_RETRY;
}

/* After the commit: wake the callers, forget the send times. */
static void settled(agent *a, const Flagpost__PublishResult *res, Flagpost__OutboxRecord *rec)
{
    char hex[33];
    envelope_id_hex(res->message_id.data, 16, hex);
    if (rec != NULL) {
        Flagpost__PublishResult *old = rec->result;
        rec->result = (Flagpost__PublishResult *)(uintptr_t)res;
        local_api_publish_settled(a, rec);
        rec->result = old;
    }
    outbox_tracker_forget(a->tracker, res->message_id.data);
    log_event(&a->log, LOG_DEBUG, "publish-settled", "message=%s status=%s", hex,
              res->status == FLAGPOST__RESULT_STATUS__RESULT_ACCEPTED ? "accepted" : "refused");
}

/* Wake the callers waiting on res's record with the answer, before the
 * record itself is settled: it is the broker's durable decision already. */
static void answer_waiters(agent *a, const Flagpost__PublishResult *res)
{
    if (!local_api_is_waiting(a, res->message_id.data))
        return;
    Flagpost__OutboxRecord *rec = NULL;
    if (outbox_read(a, res->message_id.data, &rec, NULL) != FP_OK)
        return;
    Flagpost__PublishResult *old = rec->result;
    Flagpost__OutboxState was = rec->state;
    if (was == FLAGPOST__OUTBOX_STATE__OUTBOX_PENDING) {
        rec->result = (Flagpost__PublishResult *)(uintptr_t)res;
        rec->state = state_for(res->status);
    }
    local_api_publish_settled(a, rec);
    rec->result = old;
    rec->state = was;
    flagpost__outbox_record__free_unpacked(rec, NULL);
}

/* Settling an answer into its record is left to the writer's thread, which
 * folds a burst of answers into one lazy commit (deferred_writer.h), so the
 * loop never waits for that commit and a steady stream of publishes pays
 * no fsync for it.  Nothing depends on the record being settled first:
 * the broker committed the answer before sending it, and a record still
 * pending after a crash is resent and answered again as a duplicate.  The
 * tracker keeps the record from being resent meanwhile; the writer reports
 * it settled (deferred_writer_collect) and the tracker then forgets it. */
static bool handed_to_writer(agent *a, const Flagpost__PublishResult *res, int64_t now)
{
    if (a->deferred == NULL || !deferred_writer_settle(a->deferred, res))
        return false;
    outbox_tracker_set(a->tracker, res->message_id.data, now);
    answer_waiters(a, res);
    return true;
}

void outbox_handle_results(agent *a, Flagpost__PublishResult *const *res, size_t n)
{
    Flagpost__OutboxRecord *recs[OUTBOX_MAX_RESULTS] = {0};
    if (n > OUTBOX_MAX_RESULTS)
        n = OUTBOX_MAX_RESULTS;
    bool mine[OUTBOX_MAX_RESULTS] = {false};   /* settled here, not by the writer's thread */
    size_t todo = 0;
    int64_t now = envelope_now_ms();
    for (size_t i = 0; i < n; i++) {
        if (res[i]->message_id.len == 16 &&
            res[i]->status == FLAGPOST__RESULT_STATUS__RESULT_RETRY) {
            char hex[33];
            envelope_id_hex(res[i]->message_id.data, 16, hex);
            log_event(&a->log, LOG_WARN, "publish-retry", "message=%s reason=\"%s\"", hex,
                      res[i]->error);   /* stays pending; the resend timer tries again */
        }
        mine[i] = settles(res[i]) && !handed_to_writer(a, res[i], now);
        todo += mine[i];
    }
    if (todo == 0)
        return;
    /* Without the writer's thread: every answer of the batch in one lazy
     * transaction, for the same reason as above. */
    fp_error err;
    MDB_txn *txn;
    int rc = agent_store_begin_lazy(a->store, &txn, &err);
    for (size_t i = 0; rc == FP_OK && i < n; i++)
        if (mine[i])
            rc = outbox_settle_stage(a, txn, res[i], &recs[i], &err);
    if (rc == FP_OK)
        rc = agent_store_commit(txn, &err);
    else if (txn != NULL)
        agent_store_abort(txn);
    for (size_t i = 0; i < n; i++) {
        if (rc == FP_OK && mine[i])
            settled(a, res[i], recs[i]);
        if (recs[i] != NULL)
            flagpost__outbox_record__free_unpacked(recs[i], NULL);
    }
    if (rc != FP_OK)   /* nothing settled: the records stay pending and are resent */
        log_event(&a->log, LOG_ERROR, "outbox-write-failed", "answers=%zu error=\"%s\"", todo,
                  err.message);
}

/* ---------------------------------------------------------------- resends */

typedef struct resend_ctx {
    agent *a;
    int64_t now;
    size_t sent, visited, max_sends;
    bool broker_gone;
} resend_ctx;

static int resend_one(void *ctx, const Flagpost__OutboxRecord *rec)
{
    resend_ctx *c = ctx;
    c->visited++;
    memcpy(c->a->resend.after, rec->message_id.data, 16);
    c->a->resend.resume = true;
    int64_t sent = outbox_tracker_sent_ms(c->a->tracker, rec->message_id.data);
    if (sent <= 0 || c->now - sent >= c->a->resend.interval_ms) {
        if (outbox_send(c->a, rec, NULL) != FP_OK) {
            c->broker_gone = true;   /* stop this round; the next one starts over */
            return 1;
        }
        c->sent++;
    }
    return c->sent >= c->max_sends || c->visited >= RESEND_STEP_VISITS;
}

void outbox_resend_begin(agent *a)
{
    if (a->broker_up && !a->resend.active)
        a->resend = (outbox_round){.active = true, .interval_ms = a->resend_interval_ms};
}

static void resend_end(agent *a)
{
    if (a->resend.sent > 0)
        log_event(&a->log, LOG_INFO, "outbox-resend", "count=%zu interval_ms=%lld",
                  a->resend.sent, (long long)a->resend.interval_ms);
    a->resend.active = false;
}

bool outbox_resend_step(agent *a, int64_t now_ms)
{
    outbox_round *r = &a->resend;
    if (!r->active || now_ms < r->next_step_ms)
        return r->active;
    r->next_step_ms = now_ms + RESEND_STEP_GAP_MS;
    size_t left = OUTBOX_RESEND_ROUND_MAX - r->sent;
    resend_ctx ctx = {.a = a, .now = now_ms,
                      .max_sends = left < RESEND_STEP_SENDS ? left : RESEND_STEP_SENDS};
    MDB_txn *txn;
    if (!a->broker_up || agent_store_begin(a->store, false, &txn, NULL) != FP_OK) {
        resend_end(a);
        return false;
    }
    agent_store_outbox_pending(a->store, txn, r->resume ? r->after : NULL, resend_one, &ctx, NULL);
    agent_store_abort(txn);
    r->sent += ctx.sent;
    bool stopped_early = ctx.sent >= ctx.max_sends || ctx.visited >= RESEND_STEP_VISITS;
    if (ctx.broker_gone || !stopped_early || r->sent >= OUTBOX_RESEND_ROUND_MAX)
        resend_end(a);
    return r->active;
}

long outbox_resend_wait_ms(const agent *a, int64_t now_ms, long idle_ms)
{
    if (!a->resend.active)
        return idle_ms;
    int64_t wait = a->resend.next_step_ms - now_ms;
    return wait <= 0 ? 0 : wait < idle_ms ? (long)wait : idle_ms;
}
