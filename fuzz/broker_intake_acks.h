/*
 * broker_intake_acks.h: fuzz_broker_intake's DELIVERY_ACK record (see the
 * top of fuzz_broker_intake.c) made into the frame an agency sends when it
 * has stored (or rejected) what the broker delivered.  Sequence numbers a
 * fuzzer cannot guess, so FBI_FIX_SEQS takes them from the agency's queue
 * as committed so far: the fuzzer's items get them in order, or, with no
 * items, one item per queued entry is made (rejected with
 * FBI_FIX_REJECTED).  Header-only, like the fixture.
 */
#ifndef FLAGPOST_FUZZ_BROKER_INTAKE_ACKS_H
#define FLAGPOST_FUZZ_BROKER_INTAKE_ACKS_H

#include "broker_intake_fixture.h"

#define FBI_FIX_SEQS 0x01
#define FBI_FIX_REJECTED 0x02

typedef struct fbi_seqs {
    uint64_t seq[64];
    size_t n;
} fbi_seqs;

static int fbi_collect_seq(void *ctx, uint64_t seq, const uint8_t *bytes, size_t len)
{
    (void)bytes;
    (void)len;
    fbi_seqs *s = ctx;
    s->seq[s->n++] = seq;
    return s->n == sizeof s->seq / sizeof s->seq[0];
}

/* What the agency's queue holds as committed so far. */
static void fbi_queued(size_t agency, fbi_seqs *s)
{
    MDB_txn *txn = NULL;
    s->n = 0;
    if (broker_store_begin(fbi.b.store, false, &txn, NULL) != FP_OK)
        return;
    broker_store_queue_scan(fbi.b.store, txn, fbi.ids[agency].cert.agency_id, 0,
                            fbi_collect_seq, s, NULL);
    broker_store_abort(txn);
}

/* The DELIVERY_ACK record (who fix payload) as a ToBroker frame. */
static uint8_t *fbi_delivery_ack(size_t who, uint8_t fix, const uint8_t *p, size_t n,
                                 size_t *len)
{
    Flagpost__DeliveryAck *ack = flagpost__delivery_ack__unpack(NULL, n, p);
    Flagpost__DeliveryAck own = FLAGPOST__DELIVERY_ACK__INIT;
    Flagpost__DeliveryAckItem items[64], *ptrs[64];
    fbi_seqs q = {.n = 0};
    if (fix & FBI_FIX_SEQS)
        fbi_queued(who, &q);
    Flagpost__DeliveryAck *use = ack;
    if (ack == NULL || (ack->n_items == 0 && q.n > 0)) {   /* q.n may be 0: an empty ack */
        for (size_t i = 0; i < q.n; i++) {
            flagpost__delivery_ack_item__init(&items[i]);
            items[i].seq = q.seq[i];
            items[i].stored = (fix & FBI_FIX_REJECTED) == 0;
            items[i].reason = (char *)(items[i].stored ? "" : "rejected-by-fuzz");
            ptrs[i] = &items[i];
        }
        own.items = ptrs;
        own.n_items = q.n;
        use = &own;
    } else {
        for (size_t i = 0; i < ack->n_items && i < q.n; i++)
            ack->items[i]->seq = q.seq[i];
    }
    Flagpost__ToBroker tb = FLAGPOST__TO_BROKER__INIT;
    tb.kind_case = FLAGPOST__TO_BROKER__KIND_DELIVERY_ACK;
    tb.delivery_ack = use;
    uint8_t *out = fbi_pack(&tb.base, len);
    if (ack != NULL)
        flagpost__delivery_ack__free_unpacked(ack, NULL);
    return out;
}

#endif
