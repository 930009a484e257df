/*
 * fuzz_broker_intake: libFuzzer target for what the broker does with what
 * a partner agency sends once its signature verifies.  A compromised agency
 * holds a genuine signing key and CURVE certificate and can sign anything,
 * so this drives the real intake (broker/intake.c, decide.c, lifecycle.c,
 * events.c, marac_events.c), delivery acknowledgements (delivery.c) and the
 * deadline timers against a real LMDB store and audit log.
 *
 * Fixture (broker_intake_fixture.h), built once and kept in a static (a
 * fuzz harness's fixture is the one place this project allows mutable
 * state outside main): a temporary directory (in $TMPDIR, else in
 * /dev/shm when there is one, so commits cost no disk flushes:
 * fuzz_tmpdir.h) holding a real CA, identities for
 * thirteen agencies of the tri-borough partnership (one expired, one
 * revoked as a whole, one the broker), policy/examples/tri-borough.yaml
 * signed by that CA, and the broker's own trust store, identity and policy.  Signatures are checked
 * through a verify pool without workers, as the loop does on one core.
 * Whatever the broker sends (answers, deliveries) goes to a ROUTER socket
 * bound to inproc:// with ROUTER_MANDATORY and no peers, so every send
 * fails at once and nothing can block.  Each input gets a fresh store and
 * an empty peer table, so its outcome depends on it alone and the store
 * never grows; run the target from the repository root (it reads the
 * policy file by its relative path).
 *
 * Input: a settings byte (bit 0: --max-message-kb 1 instead of the
 * default, so oversize refusals are reachable; bit 1: a 96 KB store, which
 * a few flags fill, so the storage-full retry is too), then records:
 *     op who fix when len_lo len_hi payload[len]
 * who % 13 is the agency whose connection it arrives on; op & 7 the kind:
 *   0 FLAG   payload: u16 body length, FlagBody, then parts (u16 length,
 *            RecipientPart) - wrapped in an envelope, signed, published
 *   1 VIEW   ViewBody          2 ACK  ActionAckBody   (signed events)
 *   3 MARAC  MaracBody, or (fix & 1) a MaracReminder wrapped as "reminder"
 *   4 EVENT  any body under envelope type fix & 0x7f, as an event (or, fix
 *            & 0x80, as a publish without parts)
 *   5 DELIVERY_ACK  DeliveryAck; fix & 1: its items' seqs become the
 *            agency's queued seqs in order (if it has no items, one per
 *            queued entry, marked rejected when fix & 2;
 *            broker_intake_acks.h)
 *   6 RAW    the ToBroker frame as-is (forgeries, hellos, garbage)
 *   7 TIMERS end the batch, then run the stall check, session sweep and
 *            deadlines (escalation, expiry) with the clock (when as u8)^2
 *            hours ahead; fix & 1 also reconnects the agency.  With op &
 *            0x08, PRUNE instead: end the batch; fix & 1 restarts the
 *            replay table's sweep with the options payload[0..2] give
 *            (fix & 2: a retention the rule forbids); the broker's clock
 *            moves when * 30 s, back when negative, for good; then 1 + fix
 *            >> 4 sweep steps; fix & 8 then sends the latest remembered
 *            frames again, byte for byte (broker_intake_prune.h)
 * Otherwise op & 0x08 reuses the previous message id (retransmission or
 * replay), 0x10 signs with the next agency's key (bad signature), 0x20
 * claims the next agency as sender (forged sender), 0x40 writes wire
 * version 2, 0x80 ends the batch after the record (one write transaction
 * and commit per batch, as the loop's group commit).  The broker's clock
 * starts at the real time and moves only by PRUNE records; when * 5 s is
 * the envelope's clock offset from it (the skew allowed is 300 s unless a
 * PRUNE restart changed it), except that when -128 and 127 sign the
 * envelope at INT64_MIN and INT64_MAX ms, the ends envelope_check_time
 * must compare without overflowing.  Fix-ups for FLAG, VIEW, ACK and
 * MARAC, which let the fuzzer reach what follows a check it could never
 * satisfy by mutation: fix & 1 (FLAG) part digests become the SHA-256 of
 * the parts; & 2 the flag id becomes that of an earlier flag of the input
 * (fix >> 5 counts back; a reminder's item i goes i further back); & 4
 * the version becomes one past that flag's (FLAG) or that flag's (VIEW,
 * ACK); & 8 (FLAG) the body goes verbatim, unparsed and unchanged.
 *
 * What the loop does that this replays rather than calls: batch.c's
 * stage_one, stage_batch, finish and answer_batch are static and read from
 * the ZeroMQ socket, so their dispatch (presence, admission, size limit,
 * publish / event / acknowledgement, malformed frame, and on a full store
 * the retry without intake and RETRY answers) is repeated here in a few
 * lines.  The per-agency rate limit, presence timeouts, checkpoint signing
 * and the refusal summaries are not driven.
 *
 * Held to: no crash, leak or undefined behaviour; staging never fails on
 * what an agency sends except by filling the store (intake refuses bad
 * input, it does not fail on it); every publish and event of a committed
 * batch is answered with a PublishResult for its message; the audit log
 * verifies after every input; and the replay table's pruning keeps what
 * broker_intake_prune.h lists: a remembered message is never taken again,
 * whatever the sweeps, clock steps and restarts between (its id stays or
 * it is below the floor), nothing below the floor is taken, the floor
 * never moves back, a sweep deletes only what expired and what it says.
 *
 * Built and run by scripts/fuzz; seeds in fuzz/corpus/broker_intake were
 * made by this file built with -DFUZZ_BROKER_INTAKE_WRITE_SEEDS (the
 * seed writer is fuzz/broker_intake_seeds.h, which says how to build it):
 *     fuzz_broker_intake_seeds DIR
 */
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit_entry.h"
#include "batch.h"
#include "broker_intake_acks.h"
#include "broker_intake_fixture.h"
#include "broker_intake_prune.h"
#include "delivery.h"
#include "envelope.h"
#include "intake.h"
#include "lifecycle.h"
#include "sessions.h"
#include "verify.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { FBI_FLAG, FBI_VIEW, FBI_ACK, FBI_MARAC, FBI_EVENT, FBI_DELIVERY_ACK, FBI_RAW, FBI_TIMERS };
#define FBI_OP_REPLAY 0x08
#define FBI_OP_PRUNE 0x08   /* on TIMERS */
#define FBI_OP_BAD_SIGNATURE 0x10
#define FBI_OP_FORGED 0x20
#define FBI_OP_WIRE2 0x40
#define FBI_OP_END_BATCH 0x80
#define FBI_FIX_DIGESTS 0x01
#define FBI_FIX_REMINDER 0x01
#define FBI_FIX_RECONNECT 0x01
#define FBI_FIX_FLAG_ID 0x02
#define FBI_FIX_VERSION 0x04
#define FBI_FIX_VERBATIM 0x08

#define FBI_BATCH_MAX 16
#define FBI_SLOTS 16
#define FBI_MAX_PARTS (FP_MAX_RECIPIENTS + 8)

/* One record, as read from the input. */
typedef struct fbi_record {
    uint8_t op, who, fix;
    int8_t when;
    const uint8_t *p;
    size_t len;
} fbi_record;

/* One message of the batch being built: the frame, and what the broker
 * side makes of it. */
typedef struct fbi_inbound {
    size_t agency;
    uint8_t *frame;
    size_t len;
    Flagpost__ToBroker *msg;
    intake_reply reply;
} fbi_inbound;

typedef struct fbi_slot {
    uint8_t id[16];
    uint32_t version;
} fbi_slot;

/* What one input has built so far. */
typedef struct fbi_run {
    int64_t now;
    uint32_t counter;
    uint8_t last_id[16];
    bool have_last;
    fbi_slot flags[FBI_SLOTS];
    size_t n_flags;
    uint8_t generation[FBI_N];
    fbi_inbound in[FBI_BATCH_MAX];
    size_t n;
    fbp_shadow shadow;
} fbi_run;

/* ---------------------------------------------------------------- input */

static bool fbi_u16(const uint8_t **p, size_t *n, size_t *out)
{
    if (*n < 2)
        return false;
    *out = (size_t)(*p)[0] | (size_t)(*p)[1] << 8;
    *p += 2;
    *n -= 2;
    return true;
}

static bool fbi_next(const uint8_t **p, size_t *n, fbi_record *r)
{
    if (*n < 4)
        return false;
    r->op = (*p)[0];
    r->who = (*p)[1] % FBI_N;
    r->fix = (*p)[2];
    r->when = (int8_t)(*p)[3];
    *p += 4;
    *n -= 4;
    size_t len = 0;
    fbi_u16(p, n, &len);
    r->len = len < *n ? len : *n;
    r->p = *p;
    *p += r->len;
    *n -= r->len;
    return true;
}

/* An earlier flag of this input: fix >> 5 counts back from the latest. */
static fbi_slot *fbi_slot_pick(fbi_run *run, uint8_t fix, size_t extra)
{
    if (run->n_flags == 0)
        return NULL;
    size_t back = ((size_t)(fix >> 5) + extra) % run->n_flags;
    return &run->flags[run->n_flags - 1 - back];
}

static void fbi_slot_note(fbi_run *run, const ProtobufCBinaryData *id, uint32_t version)
{
    if (id->len != 16)
        return;
    for (size_t i = 0; i < run->n_flags; i++)
        if (memcmp(run->flags[i].id, id->data, 16) == 0) {
            run->flags[i].version = version;
            return;
        }
    if (run->n_flags == FBI_SLOTS)
        memmove(run->flags, run->flags + 1, (FBI_SLOTS - 1) * sizeof run->flags[0]);
    else
        run->n_flags++;
    memcpy(run->flags[run->n_flags - 1].id, id->data, 16);
    run->flags[run->n_flags - 1].version = version;
}

/* Envelope around body, signed as the record says; se is released by the
 * caller (envelope_signed_release). */
static void fbi_sign(fbi_run *run, const fbi_record *r, int type, const uint8_t *body,
                     size_t len, Flagpost__SignedEnvelope *se)
{
    size_t other = (r->who + 1) % FBI_N;
    uint8_t id[16] = {0xfb};
    if ((r->op & FBI_OP_REPLAY) && run->have_last) {
        memcpy(id, run->last_id, 16);
    } else {
        run->counter++;
        memcpy(id + 12, &run->counter, sizeof run->counter);
    }
    memcpy(run->last_id, id, 16);
    run->have_last = true;
    Flagpost__Envelope env = FLAGPOST__ENVELOPE__INIT;
    env.wire_version = (r->op & FBI_OP_WIRE2) ? 2 : ENVELOPE_WIRE_VERSION;
    env.message_id.data = id;
    env.message_id.len = 16;
    env.type = (Flagpost__MessageType)type;
    env.sender = fbi.ids[(r->op & FBI_OP_FORGED) ? other : r->who].cert.agency_id;
    env.created_ms = r->when == INT8_MIN   ? INT64_MIN
                     : r->when == INT8_MAX ? INT64_MAX
                                           : run->now + (int64_t)r->when * 5000;
    env.policy_hash.data = (uint8_t *)(uintptr_t)policy_hash(fbi.b.policy);
    env.policy_hash.len = 32;
    env.body.data = (uint8_t *)(uintptr_t)body;
    env.body.len = len;
    const identity *signer = &fbi.ids[(r->op & FBI_OP_BAD_SIGNATURE) ? other : r->who];
    if (envelope_sign(&env, signer->sign_secret, se, NULL) != FP_OK)
        fbi_die("envelope_sign", NULL);
}

static uint8_t *fbi_to_broker(fbi_run *run, const fbi_record *r, int type, const uint8_t *body,
                              size_t body_len, const ProtobufCBinaryData *parts, size_t n_parts,
                              bool publish, size_t *len)
{
    Flagpost__SignedEnvelope se = FLAGPOST__SIGNED_ENVELOPE__INIT;
    fbi_sign(run, r, type, body, body_len, &se);
    Flagpost__Publish pub = FLAGPOST__PUBLISH__INIT;
    Flagpost__ToBroker tb = FLAGPOST__TO_BROKER__INIT;
    if (publish) {
        pub.signed_ = &se;
        pub.parts = (ProtobufCBinaryData *)(uintptr_t)parts;
        pub.n_parts = n_parts;
        tb.kind_case = FLAGPOST__TO_BROKER__KIND_PUBLISH;
        tb.publish = &pub;
    } else {
        tb.kind_case = FLAGPOST__TO_BROKER__KIND_EVENT;
        tb.event = &se;
    }
    uint8_t *out = fbi_pack(&tb.base, len);
    envelope_signed_release(&se);
    return out;
}

/* ---------------------------------------------------------------- flags */

/* Apply the record's fix-ups to fb and pack it; fb is left as it was. */
static uint8_t *fbi_fix_flag(fbi_run *run, const fbi_record *r, Flagpost__FlagBody *fb,
                             const ProtobufCBinaryData *parts, size_t n_parts, size_t *len)
{
    unsigned char digests[FBI_MAX_PARTS][32];
    ProtobufCBinaryData dv[FBI_MAX_PARTS];
    ProtobufCBinaryData saved_id = fb->flag_id, *saved_digests = fb->part_digests;
    size_t saved_n = fb->n_part_digests;
    uint32_t saved_version = fb->version;
    if (r->fix & FBI_FIX_DIGESTS) {
        for (size_t i = 0; i < n_parts; i++) {
            crypto_hash_sha256(digests[i], parts[i].data, parts[i].len);
            dv[i].data = digests[i];
            dv[i].len = 32;
        }
        fb->part_digests = dv;
        fb->n_part_digests = n_parts;
    }
    fbi_slot *s = (r->fix & FBI_FIX_FLAG_ID) ? fbi_slot_pick(run, r->fix, 0) : NULL;
    if (s != NULL) {
        fb->flag_id.data = s->id;
        fb->flag_id.len = 16;
        if (r->fix & FBI_FIX_VERSION)
            fb->version = s->version + 1;
    }
    uint8_t *out = fbi_pack(&fb->base, len);
    fbi_slot_note(run, &fb->flag_id, fb->version);
    fb->flag_id = saved_id;
    fb->part_digests = saved_digests;
    fb->n_part_digests = saved_n;
    fb->version = saved_version;
    return out;
}

static uint8_t *fbi_flag(fbi_run *run, const fbi_record *r, size_t *len)
{
    const uint8_t *p = r->p;
    size_t n = r->len, body_len = 0, part_len = 0, n_parts = 0;
    ProtobufCBinaryData parts[FBI_MAX_PARTS];
    if (!fbi_u16(&p, &n, &body_len))
        return NULL;
    body_len = body_len < n ? body_len : n;
    const uint8_t *body = p;
    p += body_len;
    n -= body_len;
    while (n_parts < FBI_MAX_PARTS && fbi_u16(&p, &n, &part_len)) {
        parts[n_parts].len = part_len < n ? part_len : n;
        parts[n_parts].data = (uint8_t *)(uintptr_t)p;
        p += parts[n_parts].len;
        n -= parts[n_parts++].len;
    }
    Flagpost__FlagBody *fb = flagpost__flag_body__unpack(NULL, body_len, body);
    uint8_t *fixed = NULL;
    size_t fixed_len = 0;
    if (fb != NULL && !(r->fix & FBI_FIX_VERBATIM))
        fixed = fbi_fix_flag(run, r, fb, parts, n_parts, &fixed_len);
    else if (fb != NULL)
        fbi_slot_note(run, &fb->flag_id, fb->version);
    uint8_t *out = fbi_to_broker(run, r, FLAGPOST__MESSAGE_TYPE__MESSAGE_FLAG,
                                 fixed ? fixed : body, fixed ? fixed_len : body_len, parts,
                                 n_parts, true, len);
    free(fixed);
    if (fb != NULL)
        flagpost__flag_body__free_unpacked(fb, NULL);
    return out;
}

/* ---------------------------------------------------------------- events */

/* A view or acknowledgement about an earlier flag of the input. */
static uint8_t *fbi_view_or_ack(fbi_run *run, const fbi_record *r, int type, size_t *len)
{
    const ProtobufCMessageDescriptor *d = type == FLAGPOST__MESSAGE_TYPE__MESSAGE_VIEW
                                              ? &flagpost__view_body__descriptor
                                              : &flagpost__action_ack_body__descriptor;
    ProtobufCMessage *m = protobuf_c_message_unpack(d, NULL, r->len, r->p);
    fbi_slot *s = (r->fix & FBI_FIX_FLAG_ID) ? fbi_slot_pick(run, r->fix, 0) : NULL;
    uint8_t *fixed = NULL;
    size_t fixed_len = 0;
    if (m != NULL && s != NULL) {
        /* ViewBody and ActionAckBody both open with flag_id, version. */
        ProtobufCBinaryData *id = type == FLAGPOST__MESSAGE_TYPE__MESSAGE_VIEW
                                      ? &((Flagpost__ViewBody *)m)->flag_id
                                      : &((Flagpost__ActionAckBody *)m)->flag_id;
        uint32_t *version = type == FLAGPOST__MESSAGE_TYPE__MESSAGE_VIEW
                                ? &((Flagpost__ViewBody *)m)->version
                                : &((Flagpost__ActionAckBody *)m)->version;
        ProtobufCBinaryData saved = *id;
        uint32_t saved_version = *version;
        id->data = s->id;
        id->len = 16;
        if (r->fix & FBI_FIX_VERSION)
            *version = s->version;
        fixed = fbi_pack(m, &fixed_len);
        *id = saved;
        *version = saved_version;
    }
    if (m != NULL)
        protobuf_c_message_free_unpacked(m, NULL);
    uint8_t *out = fbi_to_broker(run, r, type, fixed ? fixed : r->p, fixed ? fixed_len : r->len,
                                 NULL, 0, false, len);
    free(fixed);
    return out;
}

/* The payload as a MaracReminder, wrapped in a "reminder" MaracBody; with
 * FBI_FIX_FLAG_ID its items name earlier flags of the input. */
static uint8_t *fbi_reminder_body(fbi_run *run, const fbi_record *r, size_t *len)
{
    Flagpost__MaracReminder *mr = flagpost__marac_reminder__unpack(NULL, r->len, r->p);
    if (mr == NULL)
        return NULL;
    ProtobufCBinaryData *saved = calloc(mr->n_items + 1, sizeof *saved);
    if (saved == NULL)
        fbi_die("out of memory", NULL);
    for (size_t i = 0; i < mr->n_items; i++) {
        saved[i] = mr->items[i]->flag_id;
        fbi_slot *s = (r->fix & FBI_FIX_FLAG_ID) ? fbi_slot_pick(run, r->fix, i) : NULL;
        if (s != NULL)
            mr->items[i]->flag_id = (ProtobufCBinaryData){.len = 16, .data = s->id};
    }
    Flagpost__MaracBody mb = FLAGPOST__MARAC_BODY__INIT;
    mb.kind = (char *)"reminder";
    mb.data.data = fbi_pack(&mr->base, &mb.data.len);
    uint8_t *out = fbi_pack(&mb.base, len);
    free(mb.data.data);
    for (size_t i = 0; i < mr->n_items; i++)
        mr->items[i]->flag_id = saved[i];
    free(saved);
    flagpost__marac_reminder__free_unpacked(mr, NULL);
    return out;
}

static uint8_t *fbi_marac(fbi_run *run, const fbi_record *r, size_t *len)
{
    uint8_t *body = NULL;
    size_t body_len = 0;
    if ((r->fix & FBI_FIX_REMINDER) && (body = fbi_reminder_body(run, r, &body_len)) == NULL)
        return NULL;
    uint8_t *out = fbi_to_broker(run, r, FLAGPOST__MESSAGE_TYPE__MESSAGE_MARAC,
                                 body ? body : r->p, body ? body_len : r->len, NULL, 0, false,
                                 len);
    free(body);
    return out;
}

static uint8_t *fbi_frame(fbi_run *run, const fbi_record *r, size_t *len)
{
    switch (r->op & 7) {
    case FBI_FLAG:
        return fbi_flag(run, r, len);
    case FBI_VIEW:
        return fbi_view_or_ack(run, r, FLAGPOST__MESSAGE_TYPE__MESSAGE_VIEW, len);
    case FBI_ACK:
        return fbi_view_or_ack(run, r, FLAGPOST__MESSAGE_TYPE__MESSAGE_ACTION_ACK, len);
    case FBI_MARAC:
        return fbi_marac(run, r, len);
    case FBI_EVENT:
        return fbi_to_broker(run, r, r->fix & 0x7f, r->p, r->len, NULL, 0, (r->fix & 0x80) != 0,
                             len);
    case FBI_DELIVERY_ACK:
        return fbi_delivery_ack(r->who, r->fix, r->p, r->len, len);
    default: {   /* FBI_RAW */
        uint8_t *out = malloc(r->len ? r->len : 1);
        if (out == NULL)
            fbi_die("out of memory", NULL);
        memcpy(out, r->p, r->len);
        *len = r->len;
        return out;
    }
    }
}

/* ---------------------------------------------------------------- staging */

static bool fbi_is_intake(const fbi_inbound *in)
{
    return in->msg != NULL && (in->msg->kind_case == FLAGPOST__TO_BROKER__KIND_PUBLISH ||
                               in->msg->kind_case == FLAGPOST__TO_BROKER__KIND_EVENT);
}

static const Flagpost__SignedEnvelope *fbi_signed(const fbi_inbound *in)
{
    return in->msg->kind_case == FLAGPOST__TO_BROKER__KIND_PUBLISH ? in->msg->publish->signed_
                                                                    : in->msg->event;
}

static void fbi_routing(const fbi_run *run, size_t agency, unsigned char routing[3])
{
    routing[0] = 'r';
    routing[1] = (unsigned char)agency;
    routing[2] = run->generation[agency];
}

/* batch.c's note_presence: a new connection is audited. */
static int fbi_presence(fbi_run *run, MDB_txn *txn, const fbi_inbound *in, int64_t now,
                        fp_error *err)
{
    broker *b = &fbi.b;
    const char *agency = fbi.ids[in->agency].cert.agency_id;
    unsigned char routing[3];
    fbi_routing(run, in->agency, routing);
    bool fresh = false;
    peer *p = peers_touch(b->peers, agency, routing, sizeof routing, now, &fresh);
    if (p == NULL || !fresh)
        return FP_OK;
    sessions_note_socket(p, -1);
    return audit_entry_simple(b->store, txn, FLAGPOST__AUDIT_EVENT__AUDIT_AGENT_CONNECTED, agency,
                              "", "", NULL, 0, policy_hash(b->policy), now, err);
}

/* batch.c's stage_one, and its malformed-frame refusal.  Without intake
 * (the retry after a full store) only presence and acknowledgements. */
static int fbi_stage_one(fbi_run *run, MDB_txn *txn, fbi_inbound *in, bool with_intake,
                         int64_t now, fp_error *err)
{
    broker *b = &fbi.b;
    const char *agency = fbi.ids[in->agency].cert.agency_id;
    if (in->msg == NULL)
        return with_intake ? audit_entry_simple(b->store, txn,
                                                FLAGPOST__AUDIT_EVENT__AUDIT_MESSAGE_REFUSED,
                                                agency, "", "malformed-frame", NULL, 0,
                                                policy_hash(b->policy), now, err)
                           : FP_OK;
    bool admitted = sessions_admitted(b, agency, now);
    int rc = admitted ? fbi_presence(run, txn, in, now, err) : FP_OK;
    if (rc != FP_OK || (!admitted && !fbi_is_intake(in)))
        return rc;
    if (in->len > (size_t)b->cfg.max_message_bytes)
        return with_intake && fbi_is_intake(in)
                   ? intake_refuse_oversize(b, txn, agency, in->msg, in->len, now, &in->reply,
                                            err)
                   : FP_OK;
    switch (in->msg->kind_case) {
    case FLAGPOST__TO_BROKER__KIND_PUBLISH:
        return with_intake ? intake_publish(b, txn, agency, in->msg->publish, now, &in->reply,
                                            err)
                           : FP_OK;
    case FLAGPOST__TO_BROKER__KIND_EVENT:
        return with_intake ? intake_event(b, txn, agency, in->msg->event, now, &in->reply, err)
                           : FP_OK;
    case FLAGPOST__TO_BROKER__KIND_DELIVERY_ACK:
        return delivery_ack(b, txn, peers_find(b->peers, agency), in->msg->delivery_ack, now,
                            err);
    default:
        return FP_OK;
    }
}

/* Every intake message of a committed batch has its answer: a
 * PublishResult for the message it answers, or with no id at all when the
 * broker refused it before decoding it (a bad signature: unverified bytes
 * are not read even for their id). */
static void fbi_check_answer(const fbi_inbound *in)
{
    Flagpost__Envelope *env = NULL;
    envelope_decode(fbi_signed(in), &env, NULL);
    Flagpost__ToAgent *ta = in->reply.bytes == NULL
                                ? NULL
                                : flagpost__to_agent__unpack(NULL, in->reply.len, in->reply.bytes);
    bool ok = ta != NULL && ta->kind_case == FLAGPOST__TO_AGENT__KIND_PUBLISH_RESULT &&
              (env == NULL || env->message_id.len != 16 ||
               ta->publish_result->message_id.len == 0 ||
               (ta->publish_result->message_id.len == 16 &&
                memcmp(ta->publish_result->message_id.data, env->message_id.data, 16) == 0));
    if (ta != NULL)
        flagpost__to_agent__free_unpacked(ta, NULL);
    if (env != NULL)
        flagpost__envelope__free_unpacked(env, NULL);
    if (!ok) {
        fprintf(stderr, "fuzz_broker_intake: an intake message of a committed batch got no "
                        "PublishResult, or one naming another message\n");
        abort();
    }
}

/* batch.c's answer_batch: answers go out only after the commit. */
static void fbi_answer(fbi_run *run, bool committed)
{
    for (size_t i = 0; i < run->n; i++) {
        fbi_inbound *in = &run->in[i];
        if (!fbi_is_intake(in))
            continue;
        if (committed) {
            fbi_check_answer(in);
        } else {
            free(in->reply.bytes);
            intake_retry_reply(in->msg, "broker storage error", &in->reply);
        }
        if (in->reply.bytes != NULL) {
            unsigned char routing[3];
            fbi_routing(run, in->agency, routing);
            broker_send(&fbi.b, routing, sizeof routing, in->reply.bytes, in->reply.len);
        }
    }
}

static bool fbi_batch_answers(const fbi_run *run)
{
    for (size_t i = 0; i < run->n; i++)
        if (fbi_is_intake(&run->in[i]))
            return true;
    return false;
}

static void fbi_release(fbi_run *run)
{
    for (size_t i = 0; i < run->n; i++) {
        free(run->in[i].reply.bytes);
        free(run->in[i].frame);
        if (run->in[i].msg != NULL)
            flagpost__to_broker__free_unpacked(run->in[i].msg, NULL);
    }
    memset(run->in, 0, sizeof run->in);
    run->n = 0;
}

/* batch.c's stage_batch: one write transaction, committed or aborted. */
static int fbi_stage_and_commit(fbi_run *run, bool with_intake, int64_t now, fp_error *err)
{
    broker *b = &fbi.b;
    MDB_txn *txn = NULL;
    int rc = with_intake && fbi_batch_answers(run) ? broker_store_begin(b->store, true, &txn, err)
                                                   : broker_store_begin_lazy(b->store, &txn, err);
    for (size_t i = 0; rc == FP_OK && i < run->n; i++) {
        fbi_inbound *in = &run->in[i];
        bool watch = with_intake && fbi_is_intake(in);
        if (watch)
            fbp_before_one(&run->shadow, txn, fbi_signed(in));
        rc = fbi_stage_one(run, txn, in, with_intake, now, err);
        if (watch && rc == FP_OK)
            fbp_after_one(&run->shadow, txn, in->agency, in->frame, in->len);
    }
    if (rc == FP_OK)
        return broker_store_commit(txn, err);
    if (txn != NULL)
        broker_store_abort(txn);
    return rc;
}

/* As batch.c's stage_batch: memory is put back when the commit fails. */
static int fbi_stage_batch(fbi_run *run, bool with_intake, int64_t now, fp_error *err)
{
    batch_memory m;
    int rc = batch_memory_mark(&fbi.b, &m, err);
    if (rc != FP_OK)
        return rc;
    rc = fbi_stage_and_commit(run, with_intake, now, err);
    if (rc != FP_OK)
        batch_memory_rollback(&fbi.b, &m);
    return rc;
}

/* One group commit: signatures checked for the whole batch first (the
 * verify pool's table), then staged.  The store may be small
 * (FBI_MAP_SIZE_SMALL), so an input can fill it: then, as batch.c's finish does, the batch
 * is staged again without intake and every sender is told to retry.  Any
 * other failure is a bug: intake refuses bad input, it never fails on it. */
static void fbi_flush(fbi_run *run)
{
    broker *b = &fbi.b;
    if (run->n == 0)
        return;
    int64_t now = run->now;
    for (size_t i = 0; i < run->n; i++)
        if (fbi_is_intake(&run->in[i]) && run->in[i].len <= (size_t)b->cfg.max_message_bytes)
            verify_prepare(b, fbi.checks, fbi.ids[run->in[i].agency].cert.agency_id,
                           fbi_signed(&run->in[i]), now);
    verify_pool_start(b->vpool, fbi.checks);
    verify_pool_finish(b->vpool, fbi.checks);
    b->staging_checks = fbi.checks;
    fp_error err = {0};
    int rc = fbi_stage_batch(run, true, now, &err);
    fbp_end_batch(&run->shadow, rc == FP_OK);
    if (rc == FP_ERR_FULL) {
        rc = fbi_stage_batch(run, false, now, &err);
        if (rc != FP_OK && rc != FP_ERR_FULL)
            fbi_die("staging acknowledgements after a full store failed", &err);
        fbi_answer(run, false);
    } else if (rc == FP_OK) {
        fbi_answer(run, true);
    } else {
        fbi_die("staging a batch failed", &err);
    }
    b->staging_checks = NULL;
    verify_checks_clear(fbi.checks);
    fbi_release(run);
    delivery_pump(b, now);
}

/* The loop's once-a-second housekeeping, at a later time. */
static void fbi_timers(fbi_run *run, const fbi_record *r)
{
    fbi_flush(run);
    broker *b = &fbi.b;
    uint8_t w = (uint8_t)r->when;
    int64_t later = run->now + (int64_t)w * w * 3600000;
    if (r->fix & FBI_FIX_RECONNECT)
        run->generation[r->who]++;
    delivery_check_stalls(b, later, 15000);
    sessions_sweep(b, later, "certificate no longer valid");
    lifecycle_run_deadlines(b, later);
    delivery_pump(b, later);
}

static void fbi_push(fbi_run *run, size_t agency, uint8_t *frame, size_t len, bool end)
{
    fbi_inbound *in = &run->in[run->n++];
    in->agency = agency;
    in->frame = frame;
    in->len = len;
    in->msg = flagpost__to_broker__unpack(NULL, len, frame);   /* as batch.c reads it */
    if (run->n == FBI_BATCH_MAX || end)
        fbi_flush(run);
}

static void fbi_add(fbi_run *run, const fbi_record *r)
{
    size_t len = 0;
    uint8_t *frame = fbi_frame(run, r, &len);
    if (frame != NULL)
        fbi_push(run, r->who, frame, len, (r->op & FBI_OP_END_BATCH) != 0);
}

/* The housekeeping's prune step (broker_intake_prune.h), then perhaps the
 * latest remembered frames again, byte for byte, as one batch. */
static void fbi_prune(fbi_run *run, const fbi_record *r)
{
    fbi_flush(run);
    fbp_step(&run->shadow, &run->now, r->fix, r->when, r->p, r->len);
    for (size_t i = 0; (r->fix & FBP_FIX_RESEND) && i < run->shadow.n_saved; i++) {
        const fbp_frame *f = &run->shadow.saved[i];
        uint8_t *copy = malloc(f->len ? f->len : 1);
        if (copy == NULL)
            fbi_die("out of memory", NULL);
        memcpy(copy, f->bytes, f->len);
        fbi_push(run, f->agency, copy, f->len, false);
    }
    fbi_flush(run);
}

/*
 * For tests/integration/fuzz_smoke.sh, which checks that a crashed run
 * leaves no scratch files: with FUZZ_SMOKE_CRASH_FILE=PATH in the
 * environment, the first input run once PATH exists crashes here.  The
 * test creates PATH once it has seen the fixture on disk.  The crash is
 * raised here, in a known state, rather than sent as a signal from
 * outside: a SIGSEGV from outside can land while the allocator's lock is
 * held, and the sanitizer's crash handler, which allocates, would then
 * wait for it forever.  A CI run once hung in that test, and a signal
 * landing there is the likeliest cause, so the test no longer depends on
 * where it lands.  (libFuzzer's SIGTERM handler can allocate too; scripts/fuzz
 * follows its SIGTERM with SIGKILL.)
 */
static const char *crash_file_for_smoke_test;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fbi_fixture_init();
    crash_file_for_smoke_test = getenv("FUZZ_SMOKE_CRASH_FILE");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (crash_file_for_smoke_test != NULL && access(crash_file_for_smoke_test, F_OK) == 0)
        raise(SIGSEGV);
    if (size < 1)
        return 0;
    fbi_run run;
    memset(&run, 0, sizeof run);
    run.now = envelope_now_ms();
    fbi.b.cfg.max_message_bytes = (data[0] & 1) ? 1024 : FP_MAX_MESSAGE_BYTES;
    fbi_fresh_store((data[0] & 2) ? FBI_MAP_SIZE_SMALL : FBI_MAP_SIZE);
    fbp_open(&run.shadow);
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    fbi_record r;
    while (fbi_next(&p, &n, &r)) {
        if ((r.op & 7) == FBI_TIMERS && (r.op & FBI_OP_PRUNE))
            fbi_prune(&run, &r);
        else if ((r.op & 7) == FBI_TIMERS)
            fbi_timers(&run, &r);
        else
            fbi_add(&run, &r);
    }
    fbi_flush(&run);
    fbp_free(&run.shadow);
    fbi_close_and_verify_store();
    return 0;
}

#ifdef FUZZ_BROKER_INTAKE_WRITE_SEEDS
#include "broker_intake_seeds.h"
#endif
