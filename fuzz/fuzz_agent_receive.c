/*
 * fuzz_agent_receive: libFuzzer target for what an agent DOES with the
 * messages a broker sends it, past decoding: receiver_handle_batch
 * (signature under the trust store, part digest binding, policy, payload
 * open and binding, store, withdrawal, duplicates, notices, the MARAC
 * hooks, acknowledgements, the spool's received/ files), the witness
 * (witness_on_checkpoint, witness_on_proof) and the broker's publish
 * answers (outbox_handle_results), routed as agent.c's handle_broker
 * routes them.  A compromised broker, or a partner whose signature is
 * genuine, can send any of it.
 *
 * A fuzzer cannot forge Ed25519, so the harness signs: at start-up it makes
 * a real CA in a temporary directory (in $TMPDIR, else on /dev/shm when
 * there is one, so LMDB's fsyncs cost nothing: fuzz_tmpdir.h), issues real agency identities (met-police
 * twice, a key rotation; idva; marac; specialist-bfs, then revoked;
 * housing-hf, already expired; the broker), signs
 * policy/examples/tri-borough.yaml with the CA key, and assembles two real
 * agents with LMDB stores and spools: idva (a MARAC member) and marac (the
 * coordinator).  Not agent_open: it enters the sandbox, whose seccomp
 * filter (TSYNC, whole process) refuses execve, so ASan could not run its
 * symbolizer, and whose Landlock rules would stop libFuzzer writing crash
 * files; it also binds the local API.  The harness loads the same parts in
 * the same order and gives the agent a DEALER broker socket with no peer:
 * agent_send_to_broker sends with ZMQ_DONTWAIT, so an acknowledgement or a
 * consistency request fails at once (EAGAIN) and is dropped, never blocks.
 *
 * Input: byte 0 bit 0 picks the receiving agent (0 idva, 1 marac), and
 * bit 1 has marac first record a research round for case TRI-2026-0042
 * asked of idva (fa_marac_round, through marac_api); then
 * items, each a kind byte and a 16-bit little-endian length (clamped to
 * what is left) framing its bytes:
 *   0 RAW        ToAgent bytes, decoded and routed as they are (a Deliver
 *                here never verifies: the keys are made afresh each run)
 *   1 FLAG       signer, fix-up bits, pool, time offset, type, then FlagBody,
 *                RecipientPart and Payload bytes (16-bit length each): the
 *                harness applies the chosen fix-ups (flag and message ids
 *                from small pools so versions, duplicates and withdrawals
 *                meet; the payload bound to the envelope and recipient and
 *                sealed to the receiver; the part's digest added to the
 *                body), signs the envelope with the signer's real key and
 *                wraps it in a Deliver
 *   2 NOTICE     fix-up bits, selector, Notice bytes (flag id, agency, kind
 *                and category optionally from lists the code compares with)
 *   3 CHECKPOINT fix-up bits, tree size, time offset: a checkpoint over
 *                real leaves (or a wrong root) signed with the broker's key
 *                (or a partner's)
 *   4 PROOF      fix-up bits, ConsistencyProof bytes: sizes and path
 *                optionally those of the last two checkpoints, honestly
 *   5 BATCH      hand what has accumulated to the agent now, so a later
 *                batch meets what an earlier one stored
 * Everything left is handed over at the end.  Each input starts from an
 * empty store (every database in the environment emptied in one
 * transaction), a fresh witness, no alert file and an empty received/ spool,
 * so an input does the same on its own as in a run, and the store stays
 * the size of one input's work.
 *
 * Besides no crash, leak or UB: after each input every flag in the store
 * must keep receiver.h's promise (fa_check_flag): a valid signature of its
 * recorded sender, a body naming it and within flag_limits (every text
 * UTF-8, so a lookup can show it), a state reason in UTF-8, and, while
 * active, a committed part within flag_limits, addressed to this agency,
 * that opens; withdrawn or expired, no part.
 *
 * The fixture (agent_receive_fixture.h) is process-wide static state (FX),
 * built once in LLVMFuzzerInitialize and removed at exit: a fuzz
 * harness's fixture, not product state.  FUZZ_AGENT_LOG=debug shows the
 * agents' log lines (the verdicts); by default they are dropped.
 *
 * Built and run by scripts/fuzz; seeds in fuzz/corpus/agent_receive were
 * made by this file built with -DFUZZ_AGENT_RECEIVE_WRITE_SEEDS (no
 * -fsanitize=fuzzer, see agent_receive_seeds.h): fuzz_agent_receive_seeds
 * DIR.  crash-* seeds are inputs that once crashed it.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_receive_fixture.h"
#include "checkpoint.h"
#include "envelope.h"
#include "flag_limits.h"
#include "outbox.h"
#include "receiver.h"
#include "sha256.h"
#include "utf8.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FA_MAX_ITEMS 64

enum { ITEM_RAW, ITEM_FLAG, ITEM_NOTICE, ITEM_CHECKPOINT, ITEM_PROOF, ITEM_BATCH, ITEM_KINDS };

/* FLAG fix-up bits. */
#define FIX_FLAG_ID 0x01     /* flag id from the pool */
#define FIX_MSG_ID 0x02      /* message id from the pool (else a hash of the item) */
#define FIX_BIND 0x04        /* payload's message id and recipient are the real ones */
#define FIX_SEAL 0x08        /* seal the payload to the receiver (else keep the part's) */
#define FIX_DIGEST 0x10      /* add the part's digest to the body */
#define FIX_TO_ME 0x20       /* the part is addressed to the receiver */
#define FIX_TYPE 0x40        /* envelope type MESSAGE_FLAG (else the input's) */
#define FIX_NOW 0x80         /* signed now (else now + the input's offset) */

/* NOTICE fix-up bits. */
#define NFIX_FLAG_ID 0x01
#define NFIX_AGENCY 0x02
#define NFIX_KIND 0x04
#define NFIX_CATEGORY 0x08

/* Who signs, and whom the envelope claims as sender (the last-but-one is
 * an impostor: idva's key claiming to be met-police). */
typedef struct fa_signer {
    int key, claims;
} fa_signer;
static const fa_signer SIGNERS[] = {
    {ID_POLICE, ID_POLICE}, {ID_POLICE_OLD, ID_POLICE_OLD}, {ID_IDVA, ID_IDVA},
    {ID_MARAC, ID_MARAC},   {ID_REVOKED, ID_REVOKED},       {ID_EXPIRED, ID_EXPIRED},
    {ID_IDVA, ID_POLICE},   {ID_BROKER, ID_BROKER},
};
#define N_SIGNERS (sizeof SIGNERS / sizeof SIGNERS[0])

static const char *const NOTICE_KINDS[] = {"withdrawn",    "expired", "marac-reminder",
                                           "acknowledged", "view",    "escalation",
                                           "reminder",     ""};
static const char *const CATEGORIES[] = {"marac_research", "marac_case", "da_victim", ""};

static fa_fixture *FX;

/* One input's work in progress. */
typedef struct fa_run {
    agent *a;
    int rx;
    Flagpost__ToAgent *owned[FA_MAX_ITEMS];
    Flagpost__ToAgent *batch[FA_MAX_ITEMS];
    Flagpost__PublishResult *results[FA_MAX_ITEMS];
    size_t n_owned, n_batch, n_results;
    uint64_t cp_size[2];     /* the last two checkpoint sizes signed, newest last */
    size_t n_cp;
} fa_run;

/* ---------------------------------------------------------------- input */

typedef struct fa_cursor {
    const uint8_t *p;
    size_t n;
} fa_cursor;

static uint8_t take_u8(fa_cursor *c)
{
    if (c->n == 0)
        return 0;
    c->n--;
    return *c->p++;
}

static size_t take_u16(fa_cursor *c)
{
    size_t lo = take_u8(c);
    return lo | (size_t)take_u8(c) << 8;
}

static int32_t take_i32(fa_cursor *c)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++)
        v |= (uint32_t)take_u8(c) << (8 * i);
    return (int32_t)v;
}

static fa_cursor take_blob(fa_cursor *c)
{
    size_t len = take_u16(c);
    if (len > c->n)
        len = c->n;
    fa_cursor b = {c->p, len};
    c->p += len;
    c->n -= len;
    return b;
}

static void fa_cleanup(void)
{
    fa_fixture_free(FX);
    FX = NULL;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (sodium_init() < 0)
        fa_die("sodium_init", NULL);
    FX = fa_fixture_new();
    atexit(fa_cleanup);
    return 0;
}

/* ---------------------------------------------------------------- routing */

/* As handle_broker: answers and deliveries wait for the end of the drain,
 * checkpoints and proofs are handled as they come. */
static void fa_flush(fa_run *r)
{
    outbox_handle_results(r->a, r->results, r->n_results);
    receiver_handle_batch(r->a, r->batch, r->n_batch);
    for (size_t i = 0; i < r->n_owned; i++)
        flagpost__to_agent__free_unpacked(r->owned[i], NULL);
    r->n_owned = r->n_batch = r->n_results = 0;
}

static void fa_route(fa_run *r, Flagpost__ToAgent *msg)
{
    if (r->n_owned == FA_MAX_ITEMS)
        fa_flush(r);
    r->owned[r->n_owned++] = msg;
    switch (msg->kind_case) {
    case FLAGPOST__TO_AGENT__KIND_DELIVER:
    case FLAGPOST__TO_AGENT__KIND_NOTICE:
        r->batch[r->n_batch++] = msg;
        break;
    case FLAGPOST__TO_AGENT__KIND_PUBLISH_RESULT:
        r->results[r->n_results++] = msg->publish_result;
        break;
    case FLAGPOST__TO_AGENT__KIND_CHECKPOINT:
        witness_on_checkpoint(r->a, msg->checkpoint);
        break;
    case FLAGPOST__TO_AGENT__KIND_CONSISTENCY_PROOF:
        witness_on_proof(r->a, msg->consistency_proof);
        break;
    default:
        break;
    }
}

static void fa_route_bytes(fa_run *r, const uint8_t *b, size_t len)
{
    Flagpost__ToAgent *msg = flagpost__to_agent__unpack(NULL, len, b);
    if (msg != NULL)
        fa_route(r, msg);
}

/* Harness-built messages go over the wire as bytes, as the broker's would. */
static void fa_route_message(fa_run *r, const Flagpost__ToAgent *msg)
{
    size_t len = flagpost__to_agent__get_packed_size(msg);
    uint8_t *b = malloc(len ? len : 1);
    if (b == NULL)
        return;
    flagpost__to_agent__pack(msg, b);
    fa_route_bytes(r, b, len);
    free(b);
}

/* ---------------------------------------------------------------- flags */

typedef struct fa_flag_in {
    const fa_signer *signer;
    uint8_t fix, pool, type, seq;
    int32_t offset_s;
    fa_cursor body, part, payload;
    unsigned char msg_id[16];
} fa_flag_in;

static uint8_t *pack_part(const Flagpost__RecipientPart *p, size_t *len)
{
    *len = flagpost__recipient_part__get_packed_size(p);
    uint8_t *b = malloc(*len ? *len : 1);
    if (b != NULL)
        flagpost__recipient_part__pack(p, b);
    return b;
}

/* The recipient part: the input's, re-addressed and re-sealed as chosen. */
static uint8_t *fa_build_part(const fa_run *r, const fa_flag_in *in, size_t *len)
{
    Flagpost__RecipientPart *tp = flagpost__recipient_part__unpack(NULL, in->part.n, in->part.p);
    Flagpost__RecipientPart part = FLAGPOST__RECIPIENT_PART__INIT;
    if (tp != NULL)
        part = *tp;
    if (in->fix & FIX_TO_ME)
        part.recipient = r->a->id.cert.agency_id;
    uint8_t *out = NULL;
    if (in->fix & FIX_SEAL) {
        Flagpost__Payload *tl = flagpost__payload__unpack(NULL, in->payload.n, in->payload.p);
        Flagpost__Payload pl = FLAGPOST__PAYLOAD__INIT;
        if (tl != NULL)
            pl = *tl;
        if (in->fix & FIX_BIND) {
            pl.message_id.data = (uint8_t *)(uintptr_t)in->msg_id;
            pl.message_id.len = 16;
            pl.recipient = r->a->id.cert.agency_id;
        }
        part.nonce.len = part.ciphertext.len = 0;
        if (payload_seal(FX->boxes[in->signer->key], r->a->id.cert.box_public, &pl, &part,
                         NULL) == FP_OK) {
            out = pack_part(&part, len);
            payload_part_release(&part);
        }
        if (tl != NULL)
            flagpost__payload__free_unpacked(tl, NULL);
    } else {
        out = pack_part(&part, len);
    }
    if (tp != NULL)
        flagpost__recipient_part__free_unpacked(tp, NULL);
    return out;
}

static uint8_t *fa_build_body(const fa_flag_in *in, const uint8_t *part, size_t part_len,
                              size_t *len)
{
    Flagpost__FlagBody *tb = flagpost__flag_body__unpack(NULL, in->body.n, in->body.p);
    Flagpost__FlagBody body = FLAGPOST__FLAG_BODY__INIT;
    if (tb != NULL)
        body = *tb;
    if (in->fix & FIX_FLAG_ID) {
        body.flag_id.data = FX->flag_ids[in->pool & 3];
        body.flag_id.len = 16;
    }
    unsigned char digest[32];
    ProtobufCBinaryData *digests = NULL;
    if ((in->fix & FIX_DIGEST) && part != NULL) {
        digests = calloc(body.n_part_digests + 1, sizeof *digests);
        if (digests != NULL) {
            if (body.n_part_digests)
                memcpy(digests, body.part_digests, body.n_part_digests * sizeof *digests);
            sha256_digest(digest, part, part_len);
            digests[body.n_part_digests].data = digest;
            digests[body.n_part_digests].len = 32;
            body.part_digests = digests;
            body.n_part_digests++;
        }
    }
    *len = flagpost__flag_body__get_packed_size(&body);
    uint8_t *out = malloc(*len ? *len : 1);
    if (out != NULL)
        flagpost__flag_body__pack(&body, out);
    free(digests);
    if (tb != NULL)
        flagpost__flag_body__free_unpacked(tb, NULL);
    return out;
}

static void fa_deliver(fa_run *r, const fa_flag_in *in, uint8_t *body, size_t body_len,
                       uint8_t *part, size_t part_len)
{
    const identity *key = &FX->ids[in->signer->key];
    Flagpost__Envelope env = FLAGPOST__ENVELOPE__INIT;
    env.wire_version = ENVELOPE_WIRE_VERSION;
    env.message_id.data = (uint8_t *)(uintptr_t)in->msg_id;
    env.message_id.len = 16;
    env.type = (in->fix & FIX_TYPE) ? FLAGPOST__MESSAGE_TYPE__MESSAGE_FLAG
                                    : (Flagpost__MessageType)in->type;
    env.sender = (char *)(uintptr_t)FX->ids[in->signer->claims].cert.agency_id;
    env.created_ms = envelope_now_ms();
    if (!(in->fix & FIX_NOW))
        env.created_ms += (int64_t)in->offset_s * 1000;
    env.body.data = body;
    env.body.len = body_len;
    Flagpost__SignedEnvelope se = FLAGPOST__SIGNED_ENVELOPE__INIT;
    if (envelope_sign(&env, key->sign_secret, &se, NULL) != FP_OK)
        return;
    Flagpost__Deliver dv = FLAGPOST__DELIVER__INIT;
    dv.signed_ = &se;
    dv.part.data = part;
    dv.part.len = part ? part_len : 0;
    dv.seq = in->seq;
    Flagpost__ToAgent msg = FLAGPOST__TO_AGENT__INIT;
    msg.kind_case = FLAGPOST__TO_AGENT__KIND_DELIVER;
    msg.deliver = &dv;
    fa_route_message(r, &msg);
    envelope_signed_release(&se);
}

static void fa_item_flag(fa_run *r, fa_cursor c)
{
    const uint8_t *whole = c.p;
    size_t whole_len = c.n;
    fa_flag_in in;
    in.signer = &SIGNERS[take_u8(&c) % N_SIGNERS];
    in.fix = take_u8(&c);
    in.pool = take_u8(&c);
    in.type = take_u8(&c);
    in.seq = take_u8(&c);
    in.offset_s = take_i32(&c);
    in.body = take_blob(&c);
    in.part = take_blob(&c);
    in.payload = take_blob(&c);
    if (in.fix & FIX_MSG_ID) {
        memcpy(in.msg_id, FX->msg_ids[(in.pool >> 2) & 3], 16);
    } else {
        unsigned char h[32];
        sha256_digest(h, whole, whole_len);
        memcpy(in.msg_id, h, 16);
    }
    size_t part_len = 0, body_len = 0;
    uint8_t *part = fa_build_part(r, &in, &part_len);
    uint8_t *body = fa_build_body(&in, part, part_len, &body_len);
    if (body != NULL)
        fa_deliver(r, &in, body, body_len, part, part_len);
    free(body);
    free(part);
}

/* ---------------------------------------------------------------- notices */

static void fa_item_notice(fa_run *r, fa_cursor c)
{
    uint8_t fix = take_u8(&c), sel = take_u8(&c);
    Flagpost__Notice *tn = flagpost__notice__unpack(NULL, c.n, c.p);
    Flagpost__Notice n = FLAGPOST__NOTICE__INIT;
    if (tn != NULL)
        n = *tn;
    if (fix & NFIX_FLAG_ID) {
        n.flag_id.data = FX->flag_ids[sel & 3];
        n.flag_id.len = 16;
    }
    if (fix & NFIX_AGENCY)
        n.agency = FX->ids[SIGNERS[(sel >> 2) % N_SIGNERS].claims].cert.agency_id;
    if (fix & NFIX_KIND)
        n.kind = (char *)(uintptr_t)NOTICE_KINDS[(fix >> 4) & 7];
    if (fix & NFIX_CATEGORY)
        n.category = (char *)(uintptr_t)CATEGORIES[(sel >> 5) & 3];
    Flagpost__ToAgent msg = FLAGPOST__TO_AGENT__INIT;
    msg.kind_case = FLAGPOST__TO_AGENT__KIND_NOTICE;
    msg.notice = &n;
    fa_route_message(r, &msg);
    if (tn != NULL)
        flagpost__notice__free_unpacked(tn, NULL);
}

/* ---------------------------------------------------------------- witness */

static void fa_tree_root(uint64_t size, unsigned char out[32])
{
    ref_mth((const unsigned char(*)[32])FX->leaves, size, out);
}

static void fa_item_checkpoint(fa_run *r, fa_cursor c)
{
    uint8_t fix = take_u8(&c);
    checkpoint_info cp;
    memset(&cp, 0, sizeof cp);
    cp.tree_size = take_u8(&c) % (FA_LEAVES + 1);
    cp.time_ms = envelope_now_ms() + (int64_t)take_i32(&c) * 1000;
    fa_tree_root(cp.tree_size, cp.root);
    if (fix & 1)
        cp.root[take_u8(&c) % 32] ^= 1 + (fix >> 4);   /* a root that is not the tree's */
    int key = (fix & 2) ? ID_POLICE : ID_BROKER;
    snprintf(cp.broker_id, sizeof cp.broker_id, "%s", FX->ids[key].cert.agency_id);
    uint8_t *bytes = NULL;
    size_t len = 0;
    if (checkpoint_sign(&cp, FX->ids[key].sign_secret, &bytes, &len, NULL) != FP_OK)
        return;
    r->cp_size[0] = r->cp_size[1];
    r->cp_size[1] = cp.tree_size;
    r->n_cp++;
    Flagpost__SignedCheckpoint *sc = flagpost__signed_checkpoint__unpack(NULL, len, bytes);
    free(bytes);
    if (sc == NULL)
        return;
    Flagpost__ToAgent msg = FLAGPOST__TO_AGENT__INIT;
    msg.kind_case = FLAGPOST__TO_AGENT__KIND_CHECKPOINT;
    msg.checkpoint = sc;
    fa_route_message(r, &msg);
    flagpost__signed_checkpoint__free_unpacked(sc, NULL);
}

static void fa_item_proof(fa_run *r, fa_cursor c)
{
    uint8_t fix = take_u8(&c);
    Flagpost__ConsistencyProof *tp = flagpost__consistency_proof__unpack(NULL, c.n, c.p);
    Flagpost__ConsistencyProof p = FLAGPOST__CONSISTENCY_PROOF__INIT;
    if (tp != NULL)
        p = *tp;
    unsigned char path[MERKLE_MAX_PROOF][32];
    ProtobufCBinaryData hashes[MERKLE_MAX_PROOF];
    if ((fix & 1) && r->n_cp >= 2) {
        p.old_size = r->cp_size[0];
        p.new_size = r->cp_size[1];
    }
    if ((fix & 2) && p.old_size <= FA_LEAVES && p.new_size <= FA_LEAVES) {
        size_t n = ref_consistency(p.old_size, (const unsigned char(*)[32])FX->leaves,
                                   p.new_size, path);
        for (size_t i = 0; i < n; i++) {
            hashes[i].data = path[i];
            hashes[i].len = 32;
        }
        p.path = hashes;
        p.n_path = n;
        p.error = (char *)"";
    }
    Flagpost__ToAgent msg = FLAGPOST__TO_AGENT__INIT;
    msg.kind_case = FLAGPOST__TO_AGENT__KIND_CONSISTENCY_PROOF;
    msg.consistency_proof = &p;
    fa_route_message(r, &msg);
    if (tp != NULL)
        flagpost__consistency_proof__free_unpacked(tp, NULL);
}

/* ---------------------------------------------------------------- promises */

/* Which certificate of the sender, valid when it signed, verifies it. */
static const cert_info *fa_signed_by(agent *a, const Flagpost__SignedEnvelope *se,
                                     const Flagpost__Envelope *env)
{
    for (size_t i = 0; i < trust_store_count(a->trust); i++) {
        const cert_info *c = trust_store_at(a->trust, i);
        if (strcmp(c->agency_id, env->sender) == 0 &&
            trust_store_check(a->trust, c, env->created_ms / 1000, NULL) == FP_OK &&
            envelope_verify(se, c->sign_public, NULL) == FP_OK)
            return c;
    }
    return NULL;
}

/* receiver.h's promise, checked on what the store holds after each input:
 * a flag is there only with a signature of its recorded sender under a
 * certificate valid when it was signed, as a MESSAGE_FLAG whose body
 * names it; an active one with a part the body committed to, addressed to
 * this agency, that opens; a withdrawn or expired one with no part left. */
static const char *fa_flag_broken(agent *a, const Flagpost__StoredFlag *f,
                                  const Flagpost__Envelope *env, const cert_info *by)
{
    if (by == NULL || strcmp(env->sender, f->sender) != 0)
        return "stored without a valid signature of its sender";
    if (env->type != FLAGPOST__MESSAGE_TYPE__MESSAGE_FLAG || env->message_id.len != 16 ||
        f->message_id.len != 16 || memcmp(env->message_id.data, f->message_id.data, 16) != 0)
        return "stored envelope is not the flag's message";
    Flagpost__FlagBody *b = flagpost__flag_body__unpack(NULL, env->body.len, env->body.data);
    const char *why = NULL;
    if (b == NULL || b->flag_id.len != 16 || f->flag_id.len != 16 ||
        memcmp(b->flag_id.data, f->flag_id.data, 16) != 0 || b->version != f->version)
        why = "stored body does not name the flag";
    else if (flag_body_unfit(b, NULL) != NULL)
        why = "stored body breaks flag_limits (a lookup could not show it)";
    else if (!utf8_valid(f->state_reason))
        why = "state reason is not UTF-8 (a lookup could not show it)";
    else if (f->state != FLAGPOST__FLAG_STATE__FLAG_ACTIVE && f->part.len != 0)
        why = "a withdrawn or expired flag kept its sealed part";
    else if (f->state == FLAGPOST__FLAG_STATE__FLAG_ACTIVE &&
             !receiver_part_committed(b, &f->part))
        why = "stored part was not committed to by the signed body";
    if (b != NULL)
        flagpost__flag_body__free_unpacked(b, NULL);
    if (why != NULL || f->state != FLAGPOST__FLAG_STATE__FLAG_ACTIVE)
        return why;
    Flagpost__RecipientPart *part =
        flagpost__recipient_part__unpack(NULL, f->part.len, f->part.data);
    Flagpost__Payload *pl = NULL;
    bool opens = false;   /* with a box key of the sender's (receiver.c, open_from_sender) */
    for (size_t i = 0; part != NULL && !opens && i < trust_store_count(a->trust); i++) {
        const cert_info *c = trust_store_at(a->trust, i);
        opens = strcmp(c->agency_id, by->agency_id) == 0 &&
                keyring_open_payload(a->keys, c->box_public, part, &pl, NULL) == FP_OK;
    }
    if (part == NULL || strcmp(part->recipient, a->id.cert.agency_id) != 0 ||
        flag_part_unfit(part, NULL) != NULL || !opens)
        why = "stored part is not ours or does not open";
    payload_free(pl);
    if (part != NULL)
        flagpost__recipient_part__free_unpacked(part, NULL);
    return why;
}

static int fa_check_flag(void *ctx, const Flagpost__StoredFlag *f)
{
    agent *a = ctx;
    Flagpost__SignedEnvelope *se =
        flagpost__signed_envelope__unpack(NULL, f->signed_envelope.len, f->signed_envelope.data);
    Flagpost__Envelope *env = NULL;
    const char *why = "stored signed envelope does not decode";
    if (se != NULL && envelope_decode(se, &env, NULL) == FP_OK) {
        why = fa_flag_broken(a, f, env, fa_signed_by(a, se, env));
        flagpost__envelope__free_unpacked(env, NULL);
    }
    if (se != NULL)
        flagpost__signed_envelope__free_unpacked(se, NULL);
    if (why != NULL) {
        fprintf(stderr, "fuzz_agent_receive: %s (flag from %s)\n", why, f->sender);
        abort();
    }
    return 0;
}

static void fa_check_store(agent *a)
{
    MDB_txn *txn;
    fp_error err;
    if (agent_store_begin(a->store, false, &txn, &err) != FP_OK)
        fa_die("reading the store", &err);
    agent_store_inbox(a->store, txn, 4096, fa_check_flag, a, NULL);
    agent_store_abort(txn);
}

/* ---------------------------------------------------------------- entry */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    fa_run r = {.rx = data[0] & 1};
    r.a = &FX->agents[r.rx];
    fa_reset(FX, r.rx);
    if (r.rx == RX_COORD && (data[0] & 2))
        fa_marac_round(r.a);
    fa_cursor c = {data + 1, size - 1};
    while (c.n > 0) {
        uint8_t kind = take_u8(&c) % ITEM_KINDS;
        fa_cursor item = take_blob(&c);
        switch (kind) {
        case ITEM_RAW: fa_route_bytes(&r, item.p, item.n); break;
        case ITEM_FLAG: fa_item_flag(&r, item); break;
        case ITEM_NOTICE: fa_item_notice(&r, item); break;
        case ITEM_CHECKPOINT: fa_item_checkpoint(&r, item); break;
        case ITEM_PROOF: fa_item_proof(&r, item); break;
        default: fa_flush(&r); break;
        }
    }
    fa_flush(&r);
    fa_check_store(r.a);
    return 0;
}

#ifdef FUZZ_AGENT_RECEIVE_WRITE_SEEDS
#include "agent_receive_seeds.h"
#endif
