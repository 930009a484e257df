/*
 * Unit tests for broker/delivery.c's acknowledgements on a real broker
 * store (LMDB in a temporary directory): an acknowledgement releases the
 * queue entry it numbers, with a `delivered` audit entry, only when the
 * message it names is the one queued under that number.  A stale
 * acknowledgement (one reaching a broker restored from a backup, which
 * hands the same numbers out again) must leave the entry queued and
 * unaudited, or a flag never delivered would be dropped and recorded as
 * delivered.
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "broker_world.h"
#include "check.h"
#include "delivery.h"
#include "envelope.h"

#define NOW 1800000000000LL
#define TO "housing-hf"

typedef struct world {
    fixture f;
    broker b;
    peer p;
    uint8_t queued_id[16];   /* message id of the delivery queued as seq 1 */
} world;

/* One Deliver to TO, as intake queues it: a signed envelope (the key is
 * irrelevant here; acknowledgements are not signed) around a flag body. */
static bool queue_one(world *w)
{
    uint8_t flag_id[16], pseudonym[32], sk[64], pk[32];
    memset(flag_id, 0x42, sizeof flag_id);
    memset(pseudonym, 0x17, sizeof pseudonym);
    memset(w->queued_id, 0xa1, sizeof w->queued_id);
    crypto_sign_keypair(pk, sk);

    Flagpost__Pseudonym ps = FLAGPOST__PSEUDONYM__INIT;
    ps.kind = FLAGPOST__PSEUDONYM_KIND__PSEUDONYM_NHS;
    ps.value.data = pseudonym;
    ps.value.len = sizeof pseudonym;
    Flagpost__Pseudonym *subject[1] = {&ps};
    Flagpost__FlagBody body = FLAGPOST__FLAG_BODY__INIT;
    body.flag_id.data = flag_id;
    body.flag_id.len = sizeof flag_id;
    body.version = 1;
    body.category = (char *)"da_victim";
    body.purpose = (char *)"safeguarding";
    body.lawful_basis = (char *)"public_task_safeguarding";
    body.subject = subject;
    body.n_subject = 1;
    uint8_t packed[512];
    size_t len = flagpost__flag_body__get_packed_size(&body);
    if (len > sizeof packed)
        return false;
    flagpost__flag_body__pack(&body, packed);

    Flagpost__Envelope env = FLAGPOST__ENVELOPE__INIT;
    env.wire_version = ENVELOPE_WIRE_VERSION;
    env.type = FLAGPOST__MESSAGE_TYPE__MESSAGE_FLAG;
    env.sender = (char *)"met-police";
    env.message_id.data = w->queued_id;
    env.message_id.len = sizeof w->queued_id;
    env.created_ms = NOW;
    env.body.data = packed;
    env.body.len = len;
    Flagpost__SignedEnvelope se = FLAGPOST__SIGNED_ENVELOPE__INIT;
    fp_error err = {0};
    if (envelope_sign(&env, sk, &se, &err) != FP_OK)
        return false;

    Flagpost__Deliver dv = FLAGPOST__DELIVER__INIT;
    dv.signed_ = &se;
    Flagpost__ToAgent msg = FLAGPOST__TO_AGENT__INIT;
    msg.kind_case = FLAGPOST__TO_AGENT__KIND_DELIVER;
    msg.deliver = &dv;
    MDB_txn *txn = NULL;
    uint64_t seq = 0;
    bool ok = broker_store_begin(w->b.store, true, &txn, &err) == FP_OK &&
              broker_store_enqueue(w->b.store, txn, TO, &msg, &seq, &err) == FP_OK &&
              broker_store_commit(txn, &err) == FP_OK && seq == 1;
    envelope_signed_release(&se);
    if (!ok)
        printf("#   queueing: %s\n", err.message);
    return ok;
}

static bool world_open(world *w, const char *name)
{
    memset(w, 0, sizeof *w);
    if (!bw_open(&w->f, &w->b, name, "test_delivery_ack"))
        return false;
    snprintf(w->p.agency, sizeof w->p.agency, "%s", TO);
    w->p.inflight = 1;
    return queue_one(w);
}

static void world_close(world *w)
{
    bw_close(&w->f, &w->b);
}

/* Acknowledge seq 1 as stored, naming id (NULL: no message named). */
static bool acknowledge(world *w, const uint8_t *id)
{
    Flagpost__DeliveryAckItem item = FLAGPOST__DELIVERY_ACK_ITEM__INIT, *items[1] = {&item};
    item.seq = 1;
    item.stored = true;
    item.reason = (char *)"";
    if (id != NULL) {
        item.message_id.data = (uint8_t *)(uintptr_t)id;
        item.message_id.len = 16;
    }
    Flagpost__DeliveryAck ack = FLAGPOST__DELIVERY_ACK__INIT;
    ack.items = items;
    ack.n_items = 1;
    fp_error err = {0};
    MDB_txn *txn = NULL;
    bool ok = broker_store_begin(w->b.store, true, &txn, &err) == FP_OK &&
              delivery_ack(&w->b, txn, &w->p, &ack, NOW, &err) == FP_OK &&
              broker_store_commit(txn, &err) == FP_OK;
    if (!ok)
        printf("#   delivery_ack: %s\n", err.message);
    return ok;
}

static void queue_and_audit(world *w, uint64_t *depth, uint64_t *audited)
{
    MDB_txn *txn = NULL;
    *depth = *audited = UINT64_MAX;
    if (broker_store_begin(w->b.store, false, &txn, NULL) != FP_OK)
        return;
    broker_store_queue_depth(w->b.store, txn, TO, depth);
    audit_log_size(broker_store_audit(w->b.store), txn, audited);
    broker_store_abort(txn);
}

static void test_ack_naming_another_message_keeps_the_entry(void)
{
    world w;
    CHECK(world_open(&w, "delivery-ack-stale"));
    uint8_t other[16];
    memset(other, 0xb2, sizeof other);
    CHECK(acknowledge(&w, other));
    uint64_t depth, audited;
    queue_and_audit(&w, &depth, &audited);
    CHECK_EQ_INT(depth, 1);     /* kept, to be sent again */
    CHECK_EQ_INT(audited, 0);   /* and not recorded as delivered */
    CHECK_EQ_INT(w.p.inflight, 1);
    /* The right acknowledgement still releases it. */
    CHECK(acknowledge(&w, w.queued_id));
    queue_and_audit(&w, &depth, &audited);
    CHECK_EQ_INT(depth, 0);
    CHECK_EQ_INT(audited, 1);
    CHECK_EQ_INT(w.p.inflight, 0);
    world_close(&w);
}

static void test_ack_naming_the_queued_message_releases_it(void)
{
    world w;
    CHECK(world_open(&w, "delivery-ack-match"));
    CHECK(acknowledge(&w, w.queued_id));
    uint64_t depth, audited;
    queue_and_audit(&w, &depth, &audited);
    CHECK_EQ_INT(depth, 0);
    CHECK_EQ_INT(audited, 1);
    CHECK_EQ_INT(w.b.stats_delivered, 1);
    /* Repeated: nothing more. */
    CHECK(acknowledge(&w, w.queued_id));
    queue_and_audit(&w, &depth, &audited);
    CHECK_EQ_INT(audited, 1);
    world_close(&w);
}

/* An agent that cannot decode a delivery acknowledges it, as rejected,
 * without a message id; that still releases it. */
static void test_ack_naming_no_message_releases_it(void)
{
    world w;
    CHECK(world_open(&w, "delivery-ack-unnamed"));
    CHECK(acknowledge(&w, NULL));
    uint64_t depth, audited;
    queue_and_audit(&w, &depth, &audited);
    CHECK_EQ_INT(depth, 0);
    CHECK_EQ_INT(audited, 1);
    world_close(&w);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    RUN(test_ack_naming_another_message_keeps_the_entry);
    RUN(test_ack_naming_the_queued_message_releases_it);
    RUN(test_ack_naming_no_message_releases_it);
    return check_summary();
}
