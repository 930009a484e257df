/*
 * test_receiver: agents/receiver's handling of a flag's lifecycle when
 * deliveries do not arrive in version order.
 *
 * The fixture is fuzz_agent_receive's (a real CA, real identities, the
 * signed tri-borough agreement and a real idva agent with its LMDB store);
 * the tests sign and seal met-police flags to idva as a partner's agent
 * would and hand them to receiver_handle_batch.
 *
 * Out-of-order arrival is what an honest broker produces when the agent
 * holds a delivery back (receiver.c, ACTION_HOLD: a flag sealed to a newer
 * certificate of ours than the identity we run is left queued at the
 * broker and redelivered after the identity is installed), while a
 * withdrawal, which carries no sealed part, is never held and is taken at
 * once.
 *
 * Also: a held flag past its expiry date is never opened by lookup.c, nor
 * by the MARAC research paths (marac_common.c), even before the broker's
 * notice to drop it arrives.
 */
#include "agent_fixture.h"

#include <sodium.h>

#include "check.h"
#include "envelope.h"
#include "lookup.h"
#include "marac_internal.h"
#include "receiver.h"
#include "sha256.h"
#include "utf8.h"

static fa_fixture *FX;

static const char *const NAMES[] = {"name", "safe_contact_phone", "risk_summary"};
static const char *const VALUES[] = {"Jane Doe", "07700 900123", "strangulation"};

/* A met-police flag (police-victim-to-idva) or its withdrawal, signed with
 * the key of identity `signer`, its part sealed to idva with the box key of
 * identity `sealer`, delivered at seq. */
static void deliver_by(agent *a, int signer, int sealer, const unsigned char flag_id[16],
                       unsigned version, Flagpost__Lifecycle lifecycle, unsigned char msg_byte,
                       uint64_t seq, int64_t expires_at)
{
    const identity *police = &FX->ids[signer];
    unsigned char msg_id[16], subject[32], digest[32];
    memset(msg_id, msg_byte, 16);
    memset(subject, 0x33, 32);
    uint8_t *part_bytes = NULL;
    size_t part_len = 0;
    if (lifecycle != FLAGPOST__LIFECYCLE__LIFECYCLE_WITHDRAW) {
        Flagpost__FieldValue fv[3], *fvp[3];
        for (size_t i = 0; i < 3; i++) {
            flagpost__field_value__init(&fv[i]);
            fv[i].name = (char *)(uintptr_t)NAMES[i];
            fv[i].value = (char *)(uintptr_t)VALUES[i];
            fvp[i] = &fv[i];
        }
        Flagpost__Payload pl;
        flagpost__payload__init(&pl);
        pl.message_id.data = msg_id;
        pl.message_id.len = 16;
        pl.recipient = a->id.cert.agency_id;
        pl.fields = fvp;
        pl.n_fields = 3;
        Flagpost__RecipientPart part;
        flagpost__recipient_part__init(&part);
        part.recipient = a->id.cert.agency_id;
        part.fields = (char **)(uintptr_t)NAMES;
        part.n_fields = 3;
        part.recipient_serial = a->id.cert.serial;
        if (payload_seal(FX->boxes[sealer], a->id.cert.box_public, &pl, &part, NULL) != FP_OK)
            fa_die("payload_seal", NULL);
        part_len = flagpost__recipient_part__get_packed_size(&part);
        part_bytes = malloc(part_len);
        flagpost__recipient_part__pack(&part, part_bytes);
        payload_part_release(&part);
        sha256_digest(digest, part_bytes, part_len);
    }
    Flagpost__Pseudonym ps, *psp[1] = {&ps};
    flagpost__pseudonym__init(&ps);
    ps.kind = FLAGPOST__PSEUDONYM_KIND__PSEUDONYM_NHS;
    ps.value.data = subject;
    ps.value.len = 32;
    ProtobufCBinaryData digests[1] = {{.len = 32, .data = digest}};
    Flagpost__FlagBody b;
    flagpost__flag_body__init(&b);
    b.flag_id.data = (uint8_t *)(uintptr_t)flag_id;
    b.flag_id.len = 16;
    b.version = version;
    b.lifecycle = lifecycle;
    b.category = (char *)(uintptr_t)"da_victim";
    b.purpose = (char *)(uintptr_t)"safeguarding";
    b.lawful_basis = (char *)(uintptr_t)"public_task_safeguarding";
    b.consent = (char *)(uintptr_t)"given";
    b.risk = (char *)(uintptr_t)"high";
    b.subject_role = (char *)(uintptr_t)"victim";
    b.subject = psp;
    b.n_subject = 1;
    b.expires_at = expires_at;
    if (part_bytes != NULL) {
        b.part_digests = digests;
        b.n_part_digests = 1;
    } else {
        b.withdraw_reason = (char *)(uintptr_t)"case_closed";
    }
    size_t body_len = flagpost__flag_body__get_packed_size(&b);
    uint8_t *body = malloc(body_len);
    flagpost__flag_body__pack(&b, body);

    Flagpost__Envelope env;
    flagpost__envelope__init(&env);
    env.wire_version = ENVELOPE_WIRE_VERSION;
    env.message_id.data = msg_id;
    env.message_id.len = 16;
    env.type = FLAGPOST__MESSAGE_TYPE__MESSAGE_FLAG;
    env.sender = (char *)(uintptr_t)police->cert.agency_id;
    env.created_ms = envelope_now_ms();
    env.body.data = body;
    env.body.len = body_len;
    Flagpost__SignedEnvelope se;
    flagpost__signed_envelope__init(&se);
    if (envelope_sign(&env, police->sign_secret, &se, NULL) != FP_OK)
        fa_die("envelope_sign", NULL);
    Flagpost__Deliver dv;
    flagpost__deliver__init(&dv);
    dv.signed_ = &se;
    dv.part.data = part_bytes;
    dv.part.len = part_len;
    dv.seq = seq;
    Flagpost__ToAgent msg, *msgs[1] = {&msg};
    flagpost__to_agent__init(&msg);
    msg.kind_case = FLAGPOST__TO_AGENT__KIND_DELIVER;
    msg.deliver = &dv;
    receiver_handle_batch(a, msgs, 1);
    envelope_signed_release(&se);
    free(body);
    free(part_bytes);
}

/* Signed and sealed with met-police's current identity. */
static void deliver(agent *a, const unsigned char flag_id[16], unsigned version,
                    Flagpost__Lifecycle lifecycle, unsigned char msg_byte, uint64_t seq)
{
    deliver_by(a, ID_POLICE, ID_POLICE, flag_id, version, lifecycle, msg_byte, seq, 0);
}

/* The stored flag's state, or -1 when none is held. */
static int held_state(agent *a, const unsigned char flag_id[16])
{
    MDB_txn *txn;
    Flagpost__StoredFlag *f = NULL;
    int state = -1;
    if (agent_store_begin(a->store, false, &txn, NULL) != FP_OK)
        return -2;
    if (agent_store_flag_get(a->store, txn, flag_id, &f, NULL) == FP_OK) {
        state = f->state;
        flagpost__stored_flag__free_unpacked(f, NULL);
    }
    agent_store_abort(txn);
    return state;
}

static const unsigned char FLAG_A[16] = {0xa1, 0xa1, 0xa1, 0xa1, 0xa1, 0xa1, 0xa1, 0xa1,
                                         0xa1, 0xa1, 0xa1, 0xa1, 0xa1, 0xa1, 0xa1, 0xa1};
static const unsigned char FLAG_B[16] = {0xb2, 0xb2, 0xb2, 0xb2, 0xb2, 0xb2, 0xb2, 0xb2,
                                         0xb2, 0xb2, 0xb2, 0xb2, 0xb2, 0xb2, 0xb2, 0xb2};
static const unsigned char FLAG_C[16] = {0xc3, 0xc3, 0xc3, 0xc3, 0xc3, 0xc3, 0xc3, 0xc3,
                                         0xc3, 0xc3, 0xc3, 0xc3, 0xc3, 0xc3, 0xc3, 0xc3};

/* The nearest accepted input: in order, a flag is stored, updated, then
 * withdrawn. */
static void test_in_order_lifecycle(void)
{
    agent *a = &FX->agents[RX_MEMBER];
    fa_reset(FX, RX_MEMBER);
    deliver(a, FLAG_C, 1, FLAGPOST__LIFECYCLE__LIFECYCLE_PUBLISH, 0x31, 1);
    CHECK_EQ_INT(held_state(a, FLAG_C), FLAGPOST__FLAG_STATE__FLAG_ACTIVE);
    deliver(a, FLAG_C, 2, FLAGPOST__LIFECYCLE__LIFECYCLE_UPDATE, 0x32, 2);
    CHECK_EQ_INT(held_state(a, FLAG_C), FLAGPOST__FLAG_STATE__FLAG_ACTIVE);
    deliver(a, FLAG_C, 3, FLAGPOST__LIFECYCLE__LIFECYCLE_WITHDRAW, 0x33, 3);
    CHECK_EQ_INT(held_state(a, FLAG_C), FLAGPOST__FLAG_STATE__FLAG_WITHDRAWN);
}

/* v1 held back, the sender's withdrawal (v2) taken, then v1 redelivered:
 * the sender withdrew it, so it must never become an active flag here. */
static void test_withdrawal_before_first_version(void)
{
    agent *a = &FX->agents[RX_MEMBER];
    fa_reset(FX, RX_MEMBER);
    deliver(a, FLAG_A, 2, FLAGPOST__LIFECYCLE__LIFECYCLE_WITHDRAW, 0x12, 2);
    deliver(a, FLAG_A, 1, FLAGPOST__LIFECYCLE__LIFECYCLE_PUBLISH, 0x11, 1);
    CHECK(held_state(a, FLAG_A) != FLAGPOST__FLAG_STATE__FLAG_ACTIVE);
}

/* As above, but another partner (genuinely signed, as marac) then sends a
 * withdrawal of its own naming the same flag id at a higher version: it
 * must not undo met-police's withdrawal. */
static void test_withdrawal_kept_from_other_sender(void)
{
    static const unsigned char flag_i[16] = {0x9c, 0x9c, 0x9c, 0x9c, 0x9c, 0x9c, 0x9c, 0x9c,
                                             0x9c, 0x9c, 0x9c, 0x9c, 0x9c, 0x9c, 0x9c, 0x9c};
    agent *a = &FX->agents[RX_MEMBER];
    fa_reset(FX, RX_MEMBER);
    deliver_by(a, ID_POLICE, ID_POLICE, flag_i, 2, FLAGPOST__LIFECYCLE__LIFECYCLE_WITHDRAW, 0x92,
               2, 0);
    deliver_by(a, ID_MARAC, ID_MARAC, flag_i, 9, FLAGPOST__LIFECYCLE__LIFECYCLE_WITHDRAW, 0x93, 3,
               0);
    deliver(a, flag_i, 1, FLAGPOST__LIFECYCLE__LIFECYCLE_PUBLISH, 0x91, 1);
    CHECK(held_state(a, flag_i) != FLAGPOST__FLAG_STATE__FLAG_ACTIVE);
}

/* v1 held and active, v2 held back, the withdrawal (v3) taken, then v2
 * redelivered: the flag must stay withdrawn. */
static void test_withdrawal_before_update(void)
{
    agent *a = &FX->agents[RX_MEMBER];
    fa_reset(FX, RX_MEMBER);
    deliver(a, FLAG_B, 1, FLAGPOST__LIFECYCLE__LIFECYCLE_PUBLISH, 0x21, 1);
    CHECK_EQ_INT(held_state(a, FLAG_B), FLAGPOST__FLAG_STATE__FLAG_ACTIVE);
    deliver(a, FLAG_B, 3, FLAGPOST__LIFECYCLE__LIFECYCLE_WITHDRAW, 0x23, 3);
    CHECK_EQ_INT(held_state(a, FLAG_B), FLAGPOST__FLAG_STATE__FLAG_WITHDRAWN);
    deliver(a, FLAG_B, 2, FLAGPOST__LIFECYCLE__LIFECYCLE_UPDATE, 0x22, 2);
    CHECK_EQ_INT(held_state(a, FLAG_B), FLAGPOST__FLAG_STATE__FLAG_WITHDRAWN);
}

static void notice(agent *a, const unsigned char flag_id[16], const char *kind, const char *text,
                   uint64_t seq)
{
    Flagpost__Notice n;
    flagpost__notice__init(&n);
    n.kind = (char *)(uintptr_t)kind;
    n.text = (char *)(uintptr_t)text;
    n.flag_id.data = (uint8_t *)(uintptr_t)flag_id;
    n.flag_id.len = 16;
    n.agency = (char *)(uintptr_t)FX->ids[ID_POLICE].cert.agency_id;
    n.category = (char *)(uintptr_t)"da_victim";
    n.time_ms = envelope_now_ms();
    n.seq = seq;
    Flagpost__ToAgent msg, *msgs[1] = {&msg};
    flagpost__to_agent__init(&msg);
    msg.kind_case = FLAGPOST__TO_AGENT__KIND_NOTICE;
    msg.notice = &n;
    receiver_handle_batch(a, msgs, 1);
}

/* A broker's lifecycle notice whose text is not UTF-8 (protobuf-c does not
 * check) still withdraws the flag, but its text must not become the
 * flag's state reason: lookups render it as JSON, which cannot carry it
 * (the same rule flag_limits applies to a signed withdrawal's reason). */
static void test_notice_text_not_utf8(void)
{
    static const unsigned char flag_d[16] = {0xd4, 0xd4, 0xd4, 0xd4, 0xd4, 0xd4, 0xd4, 0xd4,
                                             0xd4, 0xd4, 0xd4, 0xd4, 0xd4, 0xd4, 0xd4, 0xd4};
    agent *a = &FX->agents[RX_MEMBER];
    fa_reset(FX, RX_MEMBER);
    deliver(a, flag_d, 1, FLAGPOST__LIFECYCLE__LIFECYCLE_PUBLISH, 0x41, 1);
    notice(a, flag_d, "withdrawn", "not-shared\xff\xfe", 2);
    CHECK_EQ_INT(held_state(a, flag_d), FLAGPOST__FLAG_STATE__FLAG_WITHDRAWN);
    MDB_txn *txn;
    Flagpost__StoredFlag *f = NULL;
    CHECK_EQ_INT(agent_store_begin(a->store, false, &txn, NULL), FP_OK);
    CHECK_EQ_INT(agent_store_flag_get(a->store, txn, flag_d, &f, NULL), FP_OK);
    agent_store_abort(txn);
    if (f != NULL) {
        CHECK(utf8_valid(f->state_reason));
        flagpost__stored_flag__free_unpacked(f, NULL);
    }
    /* The nearest accepted input: a UTF-8 text is kept as the reason. */
    static const unsigned char flag_e[16] = {0xe5, 0xe5, 0xe5, 0xe5, 0xe5, 0xe5, 0xe5, 0xe5,
                                             0xe5, 0xe5, 0xe5, 0xe5, 0xe5, 0xe5, 0xe5, 0xe5};
    deliver(a, flag_e, 1, FLAGPOST__LIFECYCLE__LIFECYCLE_PUBLISH, 0x51, 3);
    notice(a, flag_e, "withdrawn", "not-shared-in-new-version", 4);
    CHECK_EQ_INT(held_state(a, flag_e), FLAGPOST__FLAG_STATE__FLAG_WITHDRAWN);
    CHECK_EQ_INT(agent_store_begin(a->store, false, &txn, NULL), FP_OK);
    CHECK_EQ_INT(agent_store_flag_get(a->store, txn, flag_e, &f, NULL), FP_OK);
    agent_store_abort(txn);
    if (f != NULL) {
        CHECK_EQ_STR(f->state_reason, "not-shared-in-new-version");
        flagpost__stored_flag__free_unpacked(f, NULL);
    }
}

/* A flag published while the broker was away stays in the sender's outbox
 * with its parts sealed by the identity of that moment; if the sender's
 * identity is re-issued (new keys, swap_identity on SIGHUP) before the
 * broker returns, outbox_send signs it afresh with the new key.  The body
 * commits to the part's digest under that genuine signature, so the flag
 * must still be stored, not rejected as "payload-does-not-open". */
static void test_sealed_before_sender_rotation(void)
{
    static const unsigned char flag_f[16] = {0x6f, 0x6f, 0x6f, 0x6f, 0x6f, 0x6f, 0x6f, 0x6f,
                                             0x6f, 0x6f, 0x6f, 0x6f, 0x6f, 0x6f, 0x6f, 0x6f};
    static const unsigned char flag_g[16] = {0x7a, 0x7a, 0x7a, 0x7a, 0x7a, 0x7a, 0x7a, 0x7a,
                                             0x7a, 0x7a, 0x7a, 0x7a, 0x7a, 0x7a, 0x7a, 0x7a};
    agent *a = &FX->agents[RX_MEMBER];
    fa_reset(FX, RX_MEMBER);
    /* The nearest accepted input: signed and sealed by the same identity. */
    deliver_by(a, ID_POLICE, ID_POLICE, flag_g, 1, FLAGPOST__LIFECYCLE__LIFECYCLE_PUBLISH, 0x71, 1,
               0);
    CHECK_EQ_INT(held_state(a, flag_g), FLAGPOST__FLAG_STATE__FLAG_ACTIVE);
    deliver_by(a, ID_POLICE, ID_POLICE_OLD, flag_f, 1, FLAGPOST__LIFECYCLE__LIFECYCLE_PUBLISH,
               0x61, 2, 0);
    CHECK_EQ_INT(held_state(a, flag_f), FLAGPOST__FLAG_STATE__FLAG_ACTIVE);
    /* Sealed by another agency's key: still refused. */
    static const unsigned char flag_h[16] = {0x8b, 0x8b, 0x8b, 0x8b, 0x8b, 0x8b, 0x8b, 0x8b,
                                             0x8b, 0x8b, 0x8b, 0x8b, 0x8b, 0x8b, 0x8b, 0x8b};
    deliver_by(a, ID_POLICE, ID_MARAC, flag_h, 1, FLAGPOST__LIFECYCLE__LIFECYCLE_PUBLISH, 0x81, 3,
               0);
    CHECK_EQ_INT(held_state(a, flag_h), -1);
}

/* The inbox entry (opened, as `inbox --open` shows it) of flag_id. */
static json_t *opened_entry(agent *a, const unsigned char flag_id[16])
{
    char want[33];
    envelope_id_hex(flag_id, 16, want);
    json_t *all = json_array(), *found = NULL, *e;
    lookup_views views = {0};
    fp_error err;
    CHECK_EQ_INT(lookup_inbox(a, 100, all, &views, &err), FP_OK);
    free(views.items);
    size_t i;
    json_array_foreach(all, i, e)
        if (strcmp(json_string_value(json_object_get(e, "flag_id")), want) == 0)
            found = json_incref(e);
    json_decref(all);
    return found;
}

/* A flag past its expiry date is expired at the broker, which tells each
 * holder to drop it; until that notice comes, the holder keeps the sealed
 * part but never opens it (lookup.c, past_its_dates). */
/* A fresh store holding two active flags, sealed part and all, and no
 * broker notice: p (all bytes id_byte) expired yesterday, q expires
 * tomorrow.  msg_byte and msg_byte + 1 are their message ids' bytes. */
static void hold_past_and_due(agent *a, unsigned char p[16], unsigned char q[16],
                              unsigned char id_byte, unsigned char msg_byte)
{
    memset(p, id_byte, 16);
    memset(q, id_byte + 0x11, 16);
    fa_reset(FX, RX_MEMBER);
    int64_t now_s = envelope_now_ms() / 1000;
    deliver_by(a, ID_POLICE, ID_POLICE, p, 1, FLAGPOST__LIFECYCLE__LIFECYCLE_PUBLISH, msg_byte, 1,
               now_s - 86400);
    deliver_by(a, ID_POLICE, ID_POLICE, q, 1, FLAGPOST__LIFECYCLE__LIFECYCLE_PUBLISH,
               msg_byte + 1, 2, now_s + 86400);
    CHECK_EQ_INT(held_state(a, p), FLAGPOST__FLAG_STATE__FLAG_ACTIVE);
    CHECK_EQ_INT(held_state(a, q), FLAGPOST__FLAG_STATE__FLAG_ACTIVE);
}

static void test_past_expiry_never_opened(void)
{
    unsigned char flag_p[16], flag_q[16];
    agent *a = &FX->agents[RX_MEMBER];
    hold_past_and_due(a, flag_p, flag_q, 0x9c, 0x91);
    json_t *past = opened_entry(a, flag_p), *due = opened_entry(a, flag_q);
    CHECK(past != NULL && due != NULL);
    if (past != NULL && due != NULL) {
        /* The nearest accepted input: expiring tomorrow, opened. */
        CHECK_EQ_STR(json_string_value(json_object_get(due, "state")), "active");
        CHECK_EQ_STR(json_string_value(json_object_get(json_object_get(due, "fields"), "name")),
                     "Jane Doe");
        CHECK_EQ_STR(json_string_value(json_object_get(past, "state")), "expired");
        CHECK_EQ_STR(json_string_value(json_object_get(past, "state_reason")),
                     "past-review-or-expiry-date");
        CHECK_EQ_INT((int)json_object_size(json_object_get(past, "fields")), 0);
        CHECK(json_object_get(past, "error") == NULL);
    }
    json_decref(past);
    json_decref(due);
}

/* Whether the MARAC paths (a member's research, the coordinator's pack
 * history) open flag_id's sealed part. */
static bool marac_opens(agent *a, const unsigned char flag_id[16])
{
    MDB_txn *txn;
    marac_opened o = {0};
    if (agent_store_begin(a->store, false, &txn, NULL) != FP_OK)
        return false;
    CHECK_EQ_INT(marac_open_stored(a, txn, flag_id, &o, NULL), FP_OK);
    bool opened = o.fields != NULL;
    marac_opened_free(&o);
    agent_store_abort(txn);
    return opened;
}

/* The same rule on the MARAC paths: a research pack's history of what the
 * coordinator holds on a subject shows no field values of a flag past its
 * dates either. */
static void test_past_expiry_never_opened_for_marac(void)
{
    unsigned char flag_p[16], flag_q[16];
    agent *a = &FX->agents[RX_MEMBER];
    hold_past_and_due(a, flag_p, flag_q, 0x9e, 0x93);
    CHECK(marac_opens(a, flag_q));    /* the nearest accepted input: expiring tomorrow */
    CHECK(!marac_opens(a, flag_p));
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    FX = fa_fixture_new();
    RUN(test_in_order_lifecycle);
    RUN(test_withdrawal_before_first_version);
    RUN(test_withdrawal_before_update);
    RUN(test_withdrawal_kept_from_other_sender);
    RUN(test_notice_text_not_utf8);
    RUN(test_sealed_before_sender_rotation);
    RUN(test_past_expiry_never_opened);
    RUN(test_past_expiry_never_opened_for_marac);
    fa_fixture_free(FX);
    return check_summary();
}
