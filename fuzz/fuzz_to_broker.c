/*
 * fuzz_to_broker: libFuzzer target for the wire messages that cross the
 * network: ToBroker (agent -> broker), ToAgent (broker -> agent), and what
 * they carry inside (FlagBody, RecipientPart, Payload).
 *
 * The first input byte picks the message type; the rest is its bytes:
 *   0 ToBroker   1 ToAgent   2 FlagBody   3 RecipientPart   4 Payload
 *   5 Payload plaintext, sealed by the harness with fixed keys and opened
 *     with payload_open (so the wiping allocator's unpack path is fuzzed)
 * Each decoded message is walked field by field through its protobuf-c
 * descriptor (every string, byte, number, oneof member and nested message
 * is read), packed again, and the repacked bytes must decode and repack
 * to themselves.  The signed envelope and parts inside a Publish or a
 * Deliver are opened as the broker and the agent would: envelope_decode
 * (as if verified), then the FlagBody and each RecipientPart, or the
 * ViewBody, ActionAckBody or MaracBody (and the MaracReminder in it) of
 * an event.
 *
 * Built and run by scripts/fuzz; seeds in fuzz/corpus/to_broker were made
 * by this file built with -DFUZZ_TO_BROKER_WRITE_SEEDS (no
 * -fsanitize=fuzzer): fuzz_to_broker_seeds DIR
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"
#include "flagpost.pb-c.h"
#include "payload.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What a walk saw: a hash of every value, and how many unknown fields
 * (kept by protobuf-c and written back out on pack). */
typedef struct walk_state {
    uint64_t h;
    size_t unknown;
} walk_state;

static void walk_message(const ProtobufCMessage *m, walk_state *w);

static size_t value_size(ProtobufCType type)
{
    switch (type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_FLOAT:
    case PROTOBUF_C_TYPE_ENUM:
        return 4;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_DOUBLE:
        return 8;
    case PROTOBUF_C_TYPE_BOOL:
        return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_STRING:
        return sizeof(char *);
    case PROTOBUF_C_TYPE_BYTES:
        return sizeof(ProtobufCBinaryData);
    case PROTOBUF_C_TYPE_MESSAGE:
        return sizeof(ProtobufCMessage *);
    }
    abort();
}

/* Read one value of the field's type at p; returns something derived from
 * every byte so nothing can be skipped. */
static uint64_t walk_value(const ProtobufCFieldDescriptor *f, const void *p, walk_state *w)
{
    uint64_t h = 0;
    switch (f->type) {
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = *(char *const *)p;
        if (s != NULL)
            for (const char *c = s; *c; c++)
                h = h * 31 + (unsigned char)*c;
        return h;
    }
    case PROTOBUF_C_TYPE_BYTES: {
        const ProtobufCBinaryData *b = p;
        for (size_t i = 0; i < b->len; i++)
            h = h * 31 + b->data[i];
        return h + b->len;
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
        const ProtobufCMessage *sub = *(ProtobufCMessage *const *)p;
        if (sub != NULL)
            walk_message(sub, w);
        return 0;
    }
    case PROTOBUF_C_TYPE_ENUM: {
        int v = *(const int *)p;
        const ProtobufCEnumDescriptor *ed = f->descriptor;
        const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(ed, v);
        return (uint64_t)v + (ev != NULL ? strlen(ev->name) : 0);
    }
    case PROTOBUF_C_TYPE_BOOL:
        return *(const protobuf_c_boolean *)p ? 1 : 0;
    case PROTOBUF_C_TYPE_FLOAT:
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32: {
        uint32_t v;
        memcpy(&v, p, 4);
        return v;
    }
    default: {
        uint64_t v;
        memcpy(&v, p, 8);
        return v;
    }
    }
}

static void walk_message(const ProtobufCMessage *m, walk_state *w)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    const char *base = (const char *)m;
    uint64_t h = d->n_fields;
    w->unknown += m->n_unknown_fields;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *)(base + f->quantifier_offset);
            const char *arr = *(char *const *)(base + f->offset);
            if (n > 0 && arr == NULL)
                abort();
            for (size_t j = 0; j < n; j++)
                h += walk_value(f, arr + j * value_size(f->type), w);
        } else if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
            uint32_t which = *(const uint32_t *)(base + f->quantifier_offset);
            if (which == f->id)
                h += walk_value(f, base + f->offset, w);
        } else {
            h += walk_value(f, base + f->offset, w);
        }
    }
    w->h = w->h * 1099511628211u + h;
}

/* Walk, repack, and check the repacked bytes are a fixed point.  Messages
 * carrying unknown fields are walked and packed but not held to the round
 * trip: protobuf-c keeps an unknown field even when its tag is one it
 * refuses to read back (field number 0 written as a two-byte varint), and
 * flagpost never re-serialises a received message (signatures cover the
 * bytes as they travelled). */
static void walk_and_repack(const ProtobufCMessage *m)
{
    walk_state w = {0, 0};
    walk_message(m, &w);
    volatile uint64_t sink = w.h;
    (void)sink;
    if (!protobuf_c_message_check(m))
        abort();
    size_t len = protobuf_c_message_get_packed_size(m);
    uint8_t *buf = malloc(len ? len : 1);
    if (protobuf_c_message_pack(m, buf) != len)
        abort();
    if (w.unknown > 0) {
        free(buf);
        return;
    }
    ProtobufCMessage *again = protobuf_c_message_unpack(m->descriptor, NULL, len, buf);
    if (again == NULL)
        abort();   /* what we packed must decode */
    size_t len2 = protobuf_c_message_get_packed_size(again);
    uint8_t *buf2 = malloc(len2 ? len2 : 1);
    protobuf_c_message_pack(again, buf2);
    if (len2 != len || memcmp(buf, buf2, len) != 0)
        abort();
    protobuf_c_message_free_unpacked(again, NULL);
    free(buf);
    free(buf2);
}

static void open_message(const ProtobufCMessageDescriptor *d, const uint8_t *b, size_t len)
{
    ProtobufCMessage *m = protobuf_c_message_unpack(d, NULL, len, b);
    if (m == NULL)
        return;
    walk_and_repack(m);
    protobuf_c_message_free_unpacked(m, NULL);
}

/* A MARAC event: the MaracBody, and the reminder it carries. */
static void open_marac(const uint8_t *b, size_t len)
{
    Flagpost__MaracBody *mb = flagpost__marac_body__unpack(NULL, len, b);
    if (mb == NULL)
        return;
    walk_and_repack(&mb->base);
    if (strcmp(mb->kind, "reminder") == 0)
        open_message(&flagpost__marac_reminder__descriptor, mb->data.data, mb->data.len);
    flagpost__marac_body__free_unpacked(mb, NULL);
}

/* What a receiver does with a signed envelope it has verified. */
static void open_signed(const Flagpost__SignedEnvelope *s)
{
    if (s == NULL)
        return;
    Flagpost__Envelope *e = NULL;
    if (envelope_decode(s, &e, NULL) != FP_OK)
        return;
    walk_and_repack(&e->base);
    switch (e->type) {
    case FLAGPOST__MESSAGE_TYPE__MESSAGE_FLAG:
        open_message(&flagpost__flag_body__descriptor, e->body.data, e->body.len);
        break;
    case FLAGPOST__MESSAGE_TYPE__MESSAGE_VIEW:
        open_message(&flagpost__view_body__descriptor, e->body.data, e->body.len);
        break;
    case FLAGPOST__MESSAGE_TYPE__MESSAGE_ACTION_ACK:
        open_message(&flagpost__action_ack_body__descriptor, e->body.data, e->body.len);
        break;
    case FLAGPOST__MESSAGE_TYPE__MESSAGE_MARAC:
        open_marac(e->body.data, e->body.len);
        break;
    default:
        break;
    }
    flagpost__envelope__free_unpacked(e, NULL);
}

static void fuzz_to_broker(const uint8_t *b, size_t len)
{
    Flagpost__ToBroker *m = flagpost__to_broker__unpack(NULL, len, b);
    if (m == NULL)
        return;
    walk_and_repack(&m->base);
    if (m->kind_case == FLAGPOST__TO_BROKER__KIND_PUBLISH && m->publish != NULL) {
        open_signed(m->publish->signed_);
        for (size_t i = 0; i < m->publish->n_parts; i++)
            open_message(&flagpost__recipient_part__descriptor, m->publish->parts[i].data,
                         m->publish->parts[i].len);
    } else if (m->kind_case == FLAGPOST__TO_BROKER__KIND_EVENT) {
        open_signed(m->event);
    }
    flagpost__to_broker__free_unpacked(m, NULL);
}

static void fuzz_to_agent(const uint8_t *b, size_t len)
{
    Flagpost__ToAgent *m = flagpost__to_agent__unpack(NULL, len, b);
    if (m == NULL)
        return;
    walk_and_repack(&m->base);
    if (m->kind_case == FLAGPOST__TO_AGENT__KIND_DELIVER && m->deliver != NULL) {
        open_signed(m->deliver->signed_);
        open_message(&flagpost__recipient_part__descriptor, m->deliver->part.data,
                     m->deliver->part.len);
    } else if (m->kind_case == FLAGPOST__TO_AGENT__KIND_CHECKPOINT && m->checkpoint != NULL) {
        open_message(&flagpost__checkpoint__descriptor, m->checkpoint->checkpoint.data,
                     m->checkpoint->checkpoint.len);
    }
    flagpost__to_agent__free_unpacked(m, NULL);
}

/* Fixed box keys, so seeds stay meaningful across runs. */
typedef struct fuzz_box {
    unsigned char a_pk[32], a_sk[32], b_pk[32], b_sk[32];
} fuzz_box;

static const fuzz_box *fuzz_boxes(void)
{
    static int ready;
    static fuzz_box k;
    if (!ready) {
        if (sodium_init() < 0)
            abort();
        crypto_box_seed_keypair(k.a_pk, k.a_sk,
                                (const unsigned char *)"flagpost-fuzz-box-sender-seed-01");
        crypto_box_seed_keypair(k.b_pk, k.b_sk,
                                (const unsigned char *)"flagpost-fuzz-box-recipient-seed");
        ready = 1;
    }
    return &k;
}

static void fuzz_sealed_payload(const uint8_t *b, size_t len)
{
    if (len > PAYLOAD_MAX_BYTES)
        return;
    const fuzz_box *k = fuzz_boxes();
    unsigned char nonce[crypto_box_NONCEBYTES] = {0};
    unsigned char *cipher = malloc(len + crypto_box_MACBYTES);
    if (crypto_box_easy(cipher, b, len, nonce, k->b_pk, k->a_sk) != 0)
        abort();
    Flagpost__RecipientPart part = FLAGPOST__RECIPIENT_PART__INIT;
    part.nonce.data = nonce;
    part.nonce.len = sizeof nonce;
    part.ciphertext.data = cipher;
    part.ciphertext.len = len + crypto_box_MACBYTES;
    box_cache *bc = NULL;
    if (box_cache_new(&bc, k->b_sk, NULL) != FP_OK)
        abort();
    Flagpost__Payload *p = NULL;
    int rc = payload_open(bc, k->a_pk, &part, &p, NULL);
    if (rc == FP_OK) {
        walk_and_repack(&p->base);
        payload_free(p);
    } else if (rc != FP_ERR_INPUT || p != NULL) {
        abort();   /* it decrypts, so the only refusal is "not a Payload" */
    }
    box_cache_free(bc);
    free(cipher);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const uint8_t *b = data + 1;
    size_t len = size - 1;
    switch (data[0] % 6) {
    case 0:
        fuzz_to_broker(b, len);
        break;
    case 1:
        fuzz_to_agent(b, len);
        break;
    case 2:
        open_message(&flagpost__flag_body__descriptor, b, len);
        break;
    case 3:
        open_message(&flagpost__recipient_part__descriptor, b, len);
        break;
    case 4:
        open_message(&flagpost__payload__descriptor, b, len);
        break;
    case 5:
        fuzz_sealed_payload(b, len);
        break;
    }
    return 0;
}

#ifdef FUZZ_TO_BROKER_WRITE_SEEDS
static void seed_write(const char *dir, const char *name, uint8_t mode,
                       const ProtobufCMessage *m)
{
    size_t len = protobuf_c_message_get_packed_size(m);
    uint8_t *buf = malloc(len ? len : 1);
    protobuf_c_message_pack(m, buf);
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (f == NULL || fputc(mode, f) == EOF || (len && fwrite(buf, 1, len, f) != len) ||
        fclose(f) != 0)
        abort();
    free(buf);
}

/* Packs m into a ProtobufCBinaryData (malloc'd). */
static ProtobufCBinaryData packed(const ProtobufCMessage *m)
{
    ProtobufCBinaryData b;
    b.len = protobuf_c_message_get_packed_size(m);
    b.data = malloc(b.len ? b.len : 1);
    protobuf_c_message_pack(m, b.data);
    return b;
}

int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    const char *dir = argv[1];
    const fuzz_box *k = fuzz_boxes();
    unsigned char id[16], flag_id[16], hash[32], nonce[24], sig[64];
    memset(id, 0x11, 16);
    memset(flag_id, 0x22, 16);
    memset(hash, 0x33, 32);
    memset(nonce, 0x44, 24);
    memset(sig, 0x55, 64);

    /* Payload and its sealed form. */
    Flagpost__FieldValue fv = FLAGPOST__FIELD_VALUE__INIT, *fvp[1] = {&fv};
    fv.name = (char *)"safe_contact";
    fv.value = (char *)"mobile only";
    Flagpost__Payload pl = FLAGPOST__PAYLOAD__INIT;
    pl.message_id.data = id;
    pl.message_id.len = 16;
    pl.recipient = (char *)"housing-hf";
    pl.fields = fvp;
    pl.n_fields = 1;
    seed_write(dir, "payload", 4, &pl.base);
    seed_write(dir, "payload-sealed", 5, &pl.base);

    Flagpost__RecipientPart rp = FLAGPOST__RECIPIENT_PART__INIT;
    char *names[1] = {(char *)"safe_contact"};
    rp.recipient = (char *)"housing-hf";
    rp.fields = names;
    rp.n_fields = 1;
    rp.nonce.data = nonce;
    rp.nonce.len = 24;
    rp.ciphertext.data = sig;
    rp.ciphertext.len = 64;
    seed_write(dir, "recipient-part", 3, &rp.base);

    /* FlagBody with subjects, refusals and digests. */
    Flagpost__Pseudonym ps = FLAGPOST__PSEUDONYM__INIT, *psp[1] = {&ps};
    ps.kind = FLAGPOST__PSEUDONYM_KIND__PSEUDONYM_NHS;
    ps.value.data = hash;
    ps.value.len = 32;
    Flagpost__SenderRefusal ref = FLAGPOST__SENDER_REFUSAL__INIT, *refp[1] = {&ref};
    ref.recipient = (char *)"school-1";
    ref.rule_id = (char *)"no-schools";
    ref.reason = (char *)"default-deny";
    ProtobufCBinaryData digests[1] = {{32, hash}};
    char *named[1] = {(char *)"idva"};
    Flagpost__FlagBody fb = FLAGPOST__FLAG_BODY__INIT;
    fb.flag_id.data = flag_id;
    fb.flag_id.len = 16;
    fb.version = 2;
    fb.lifecycle = FLAGPOST__LIFECYCLE__LIFECYCLE_UPDATE;
    fb.category = (char *)"da_victim";
    fb.purpose = (char *)"safeguarding";
    fb.lawful_basis = (char *)"public_task";
    fb.consent = (char *)"given";
    fb.risk = (char *)"high";
    fb.subject_role = (char *)"victim";
    fb.subject = psp;
    fb.n_subject = 1;
    fb.restricted = 1;
    fb.named_agencies = named;
    fb.n_named_agencies = 1;
    fb.review_at = 1740787200;
    fb.part_digests = digests;
    fb.n_part_digests = 1;
    fb.refused_at_sender = refp;
    fb.n_refused_at_sender = 1;
    fb.linked_perpetrator = psp;
    fb.n_linked_perpetrator = 1;
    seed_write(dir, "flag-body", 2, &fb.base);

    /* A signed envelope around the body (signature bytes arbitrary: the
     * harness decodes as if verified). */
    Flagpost__Envelope env = FLAGPOST__ENVELOPE__INIT;
    env.wire_version = 1;
    env.message_id.data = id;
    env.message_id.len = 16;
    env.type = FLAGPOST__MESSAGE_TYPE__MESSAGE_FLAG;
    env.sender = (char *)"police";
    env.created_ms = 1700000000000;
    env.policy_hash.data = hash;
    env.policy_hash.len = 32;
    env.body = packed(&fb.base);
    Flagpost__SignedEnvelope se = FLAGPOST__SIGNED_ENVELOPE__INIT;
    se.envelope = packed(&env.base);
    se.signature.data = sig;
    se.signature.len = 64;

    ProtobufCBinaryData parts[1] = {packed(&rp.base)};
    Flagpost__Publish pub = FLAGPOST__PUBLISH__INIT;
    pub.signed_ = &se;
    pub.parts = parts;
    pub.n_parts = 1;
    Flagpost__ToBroker tb = FLAGPOST__TO_BROKER__INIT;
    tb.kind_case = FLAGPOST__TO_BROKER__KIND_PUBLISH;
    tb.publish = &pub;
    seed_write(dir, "to-broker-publish", 0, &tb.base);

    Flagpost__Hello hello = FLAGPOST__HELLO__INIT;
    hello.last_checkpoint_size = 42;
    tb.kind_case = FLAGPOST__TO_BROKER__KIND_HELLO;
    tb.hello = &hello;
    seed_write(dir, "to-broker-hello", 0, &tb.base);

    Flagpost__DeliveryAckItem item = FLAGPOST__DELIVERY_ACK_ITEM__INIT, *itemp[1] = {&item};
    item.seq = 7;
    item.message_id.data = id;
    item.message_id.len = 16;
    item.stored = 1;
    Flagpost__DeliveryAck ack = FLAGPOST__DELIVERY_ACK__INIT;
    ack.items = itemp;
    ack.n_items = 1;
    tb.kind_case = FLAGPOST__TO_BROKER__KIND_DELIVERY_ACK;
    tb.delivery_ack = &ack;
    seed_write(dir, "to-broker-ack", 0, &tb.base);

    Flagpost__ViewBody vb = FLAGPOST__VIEW_BODY__INIT;
    vb.flag_id.data = flag_id;
    vb.flag_id.len = 16;
    vb.version = 1;
    vb.original_sender = (char *)"police";
    vb.category = (char *)"da_victim";
    Flagpost__Envelope venv = env;
    venv.type = FLAGPOST__MESSAGE_TYPE__MESSAGE_VIEW;
    venv.body = packed(&vb.base);
    Flagpost__SignedEnvelope vse = FLAGPOST__SIGNED_ENVELOPE__INIT;
    vse.envelope = packed(&venv.base);
    vse.signature.data = sig;
    vse.signature.len = 64;
    tb.kind_case = FLAGPOST__TO_BROKER__KIND_EVENT;
    tb.event = &vse;
    seed_write(dir, "to-broker-view", 0, &tb.base);

    /* A MARAC reminder event. */
    Flagpost__MaracReminderItem ri = FLAGPOST__MARAC_REMINDER_ITEM__INIT, *rip[1] = {&ri};
    ri.flag_id.data = flag_id;
    ri.flag_id.len = 16;
    ri.agency = (char *)"housing-hf";
    Flagpost__MaracReminder mr = FLAGPOST__MARAC_REMINDER__INIT;
    mr.deadline_ms = 1749229200000;
    mr.items = rip;
    mr.n_items = 1;
    Flagpost__MaracBody mb = FLAGPOST__MARAC_BODY__INIT;
    mb.kind = (char *)"reminder";
    mb.data = packed(&mr.base);
    Flagpost__Envelope menv = env;
    menv.type = FLAGPOST__MESSAGE_TYPE__MESSAGE_MARAC;
    menv.body = packed(&mb.base);
    Flagpost__SignedEnvelope mse = FLAGPOST__SIGNED_ENVELOPE__INIT;
    mse.envelope = packed(&menv.base);
    mse.signature.data = sig;
    mse.signature.len = 64;
    tb.event = &mse;
    seed_write(dir, "to-broker-marac-reminder", 0, &tb.base);

    /* ToAgent: deliver, result, notice, checkpoint. */
    Flagpost__Deliver del = FLAGPOST__DELIVER__INIT;
    del.signed_ = &se;
    del.part = parts[0];
    del.seq = 3;
    Flagpost__ToAgent ta = FLAGPOST__TO_AGENT__INIT;
    ta.kind_case = FLAGPOST__TO_AGENT__KIND_DELIVER;
    ta.deliver = &del;
    seed_write(dir, "to-agent-deliver", 1, &ta.base);

    Flagpost__Decision dec = FLAGPOST__DECISION__INIT, *decp[1] = {&dec};
    dec.recipient = (char *)"housing-hf";
    dec.allowed = 1;
    dec.rule_id = (char *)"victims-to-housing";
    Flagpost__PublishResult res = FLAGPOST__PUBLISH_RESULT__INIT;
    res.message_id.data = id;
    res.message_id.len = 16;
    res.status = FLAGPOST__RESULT_STATUS__RESULT_ACCEPTED;
    res.decisions = decp;
    res.n_decisions = 1;
    ta.kind_case = FLAGPOST__TO_AGENT__KIND_PUBLISH_RESULT;
    ta.publish_result = &res;
    seed_write(dir, "to-agent-result", 1, &ta.base);

    Flagpost__Notice note = FLAGPOST__NOTICE__INIT;
    note.kind = (char *)"view";
    note.text = (char *)"housing-hf viewed your flag";
    note.flag_id.data = flag_id;
    note.flag_id.len = 16;
    note.agency = (char *)"housing-hf";
    note.seq = 9;
    ta.kind_case = FLAGPOST__TO_AGENT__KIND_NOTICE;
    ta.notice = &note;
    seed_write(dir, "to-agent-notice", 1, &ta.base);

    Flagpost__Checkpoint cp = FLAGPOST__CHECKPOINT__INIT;
    cp.tree_size = 12;
    cp.root.data = hash;
    cp.root.len = 32;
    cp.broker_id = (char *)"broker";
    Flagpost__SignedCheckpoint scp = FLAGPOST__SIGNED_CHECKPOINT__INIT;
    scp.checkpoint = packed(&cp.base);
    scp.signature.data = sig;
    scp.signature.len = 64;
    ta.kind_case = FLAGPOST__TO_AGENT__KIND_CHECKPOINT;
    ta.checkpoint = &scp;
    seed_write(dir, "to-agent-checkpoint", 1, &ta.base);
    (void)k;
    return 0;
}
#endif
