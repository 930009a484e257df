/*
 * receiver: verify, check and store deliveries.  See receiver.h.
 *
 * Checks run in the order that keeps untrusted bytes furthest from
 * anything that matters: signature first (over the raw envelope bytes),
 * then the digest binding the part to the signed body, then policy, and
 * only then decryption.
 */
#include "receiver.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"
#include "flag_limits.h"
#include "keyring.h"
#include "flagpost.pb-c.h"
#include "marac.h"
#include "spool.h"
#include "store.h"
#include "sha256.h"
#include "timefmt.h"
#include "utf8.h"

typedef enum verdict_action {
    ACTION_REJECT = 0,        /* refused: nothing stored, reported */
    ACTION_STORE,             /* a new flag or a newer version */
    ACTION_WITHDRAW,          /* the sender withdrew a flag we hold */
    ACTION_NOTHING,           /* already held, or older than what we hold */
    ACTION_HOLD               /* cannot be handled yet: do not acknowledge */
} verdict_action;

typedef struct verdict {
    bool stored;
    const char *reason;       /* stable, short, never a field value */
    verdict_action action;
} verdict;

/* Every valid certificate of the sender gets a chance: during a key
 * rotation both old and new signing keys are legitimate. */
static const cert_info *verify_sender(agent *a, const Flagpost__SignedEnvelope *se,
                                      const char *sender, int64_t signed_at_s)
{
    for (size_t i = 0; i < trust_store_count(a->trust); i++) {
        const cert_info *c = trust_store_at(a->trust, i);
        if (strcmp(c->agency_id, sender) != 0)
            continue;
        if (trust_store_check(a->trust, c, signed_at_s, NULL) != FP_OK)
            continue;
        if (envelope_verify(se, c->sign_public, NULL) == FP_OK)
            return c;
    }
    return NULL;
}

bool receiver_part_committed(const Flagpost__FlagBody *body, const ProtobufCBinaryData *part)
{
    unsigned char d[32];
    sha256_digest(d, part->data, part->len);
    for (size_t i = 0; i < body->n_part_digests; i++)
        if (body->part_digests[i].len == 32 && sodium_memcmp(body->part_digests[i].data, d, 32) == 0)
            return true;
    return false;
}

static bool fields_within(agent *a, const char *category, const Flagpost__RecipientPart *part,
                          uint64_t granted)
{
    for (size_t i = 0; i < part->n_fields; i++) {
        int bit = policy_field_index(a->policy, category, part->fields[i]);
        if (bit < 0 || !(granted & ((uint64_t)1 << bit)))
            return false;
    }
    return true;
}

static bool payload_matches(const Flagpost__Payload *p, const Flagpost__Envelope *env,
                            const Flagpost__RecipientPart *part, const char *me)
{
    if (p->message_id.len != 16 || memcmp(p->message_id.data, env->message_id.data, 16) != 0)
        return false;
    if (strcmp(p->recipient, me) != 0)
        return false;
    for (size_t i = 0; i < p->n_fields; i++) {
        bool declared = false;
        for (size_t j = 0; j < part->n_fields && !declared; j++)
            declared = strcmp(p->fields[i]->name, part->fields[j]) == 0;
        for (size_t k = 0; k < i && declared; k++)
            declared = strcmp(p->fields[i]->name, p->fields[k]->name) != 0;
        if (!declared)
            return false;
    }
    return true;
}

/* Field values are sealed, so the broker could not check them as it checks
 * every other text; one that is not UTF-8 could not be shown (JSON cannot
 * carry it) and would silently vanish from every lookup. */
static bool payload_values_utf8(const Flagpost__Payload *p)
{
    for (size_t i = 0; i < p->n_fields; i++)
        if (!utf8_valid(p->fields[i]->value))
            return false;
    return true;
}

static void request_from_body(const agent *a, const cert_info *from,
                              const Flagpost__FlagBody *b, policy_request *pr)
{
    memset(pr, 0, sizeof *pr);
    pr->from.agency_id = from->agency_id;
    pr->from.sector = from->sector;
    pr->to.agency_id = a->id.cert.agency_id;
    pr->to.sector = a->id.cert.sector;
    pr->category = b->category;
    pr->subcategory = b->subcategory[0] ? b->subcategory : NULL;
    pr->purpose = b->purpose;
    pr->lawful_basis = b->lawful_basis;
    pr->consent = b->consent;
    pr->risk = b->risk;
    pr->subject_role = b->subject_role;
    pr->restricted = b->restricted;
    pr->named_agencies = (const char *const *)b->named_agencies;
    pr->named_count = b->n_named_agencies;
    pr->break_glass = b->break_glass;
}

/* Policy and payload checks for a verified envelope. */
static verdict check_content(agent *a, const cert_info *from, const Flagpost__Envelope *env,
                             const Flagpost__FlagBody *body, const Flagpost__RecipientPart *part)
{
    if (strcmp(part->recipient, a->id.cert.agency_id) != 0)
        return (verdict){false, "part-not-addressed-to-us", ACTION_REJECT};
    policy_request pr;
    policy_decision d;
    request_from_body(a, from, body, &pr);
    policy_decide(a->policy, &pr, &d);
    if (!d.allowed)
        return (verdict){false, "policy-refuses-at-recipient", ACTION_REJECT};
    if (!fields_within(a, body->category, part, d.fields))
        return (verdict){false, "declared-field-not-allowed", ACTION_REJECT};
    Flagpost__Payload *payload = NULL;
    /* The signing certificate's box key first; a part sealed before the
     * sender's identity was re-issued opens with an older one. */
    if (keyring_open_from_sender(a->keys, a->trust, from->agency_id, from, part, &payload) !=
        FP_OK) {
        /* Sealed to a newer certificate of ours than the identity we run:
         * keep it queued at the broker until that identity is installed. */
        if (part->recipient_serial > a->id.cert.serial)
            return (verdict){false, "sealed-to-newer-identity", ACTION_HOLD};
        return (verdict){false, "payload-does-not-open", ACTION_REJECT};
    }
    bool declared = payload_matches(payload, env, part, a->id.cert.agency_id);
    bool readable = payload_values_utf8(payload);
    payload_free(payload);
    if (!declared)
        return (verdict){false, "payload-field-not-declared", ACTION_REJECT};
    if (!readable)
        return (verdict){false, "payload-not-utf8", ACTION_REJECT};
    return (verdict){true, "", ACTION_STORE};
}

typedef struct delivery {
    Flagpost__Envelope *env;
    Flagpost__FlagBody *body;
    Flagpost__RecipientPart *part;
    const cert_info *from;
} delivery;

static void delivery_free(delivery *d)
{
    if (d->env)
        flagpost__envelope__free_unpacked(d->env, NULL);
    if (d->body)
        flagpost__flag_body__free_unpacked(d->body, NULL);
    if (d->part)
        flagpost__recipient_part__free_unpacked(d->part, NULL);
}

/* A sender's signed withdrawal ends its flag at every version up to the
 * withdrawal's own, including versions that have not arrived yet: one held
 * back (ACTION_HOLD) and redelivered after the withdrawal, or one never
 * held at all when the withdrawal came.  Kept in meta as
 * "withdrawn/<flag id hex>/<sender>" -> version (store_put_u64), one
 * record per sender, so no other agency's withdrawal can replace it. */
#define WITHDRAWN_NAME_MAX (10 + 32 + 1 + FP_MAX_TEXT + 1)

static void withdrawn_name(const delivery *d, char name[WITHDRAWN_NAME_MAX])
{
    char hex[33];
    envelope_id_hex(d->body->flag_id.data, 16, hex);
    snprintf(name, WITHDRAWN_NAME_MAX, "withdrawn/%s/%s", hex, d->env->sender);
}

/* The version this flag's sender withdrew it at, or 0. */
static uint32_t withdrawn_version(agent *a, MDB_txn *txn, const delivery *d)
{
    char name[WITHDRAWN_NAME_MAX];
    uint8_t v[8];
    size_t len = sizeof v;
    withdrawn_name(d, name);
    if (agent_store_meta_get(a->store, txn, name, v, &len) != FP_OK || len != sizeof v)
        return 0;
    return (uint32_t)store_get_u64(v);
}

static int remember_withdrawal(agent *a, MDB_txn *txn, const delivery *d, fp_error *err)
{
    if (withdrawn_version(a, txn, d) >= d->body->version)
        return FP_OK;
    char name[WITHDRAWN_NAME_MAX];
    uint8_t v[8];
    store_put_u64(v, d->body->version);
    withdrawn_name(d, name);
    return agent_store_meta_put(a->store, txn, name, v, sizeof v, err);
}

/* What we already hold of this flag decides what a delivery means. */
static verdict against_held(agent *a, MDB_txn *txn, const delivery *d)
{
    if (d->body->version <= withdrawn_version(a, txn, d))
        return (verdict){true, "", ACTION_NOTHING};   /* its sender withdrew it */
    Flagpost__StoredFlag *held = NULL;
    if (agent_store_flag_get(a->store, txn, d->body->flag_id.data, &held, NULL) != FP_OK) {
        if (d->body->lifecycle == FLAGPOST__LIFECYCLE__LIFECYCLE_WITHDRAW)
            return (verdict){true, "", ACTION_NOTHING};   /* never held: nothing to remove */
        return (verdict){true, "", ACTION_STORE};
    }
    verdict v = {true, "", ACTION_STORE};
    if (strcmp(held->sender, d->env->sender) != 0)
        v = (verdict){false, "flag-belongs-to-another-sender", ACTION_REJECT};
    else if (held->version >= d->body->version)
        v = (verdict){true, "", ACTION_NOTHING};
    else if (d->body->lifecycle == FLAGPOST__LIFECYCLE__LIFECYCLE_WITHDRAW)
        v = (verdict){true, "", ACTION_WITHDRAW};
    flagpost__stored_flag__free_unpacked(held, NULL);
    return v;
}

static verdict examine(agent *a, MDB_txn *txn, const Flagpost__Deliver *dv, delivery *d)
{
    memset(d, 0, sizeof *d);
    if (dv->signed_ == NULL)
        return (verdict){false, "malformed-delivery", ACTION_REJECT};
    if (envelope_decode(dv->signed_, &d->env, NULL) != FP_OK)
        return (verdict){false, "malformed-envelope", ACTION_REJECT};
    d->from = verify_sender(a, dv->signed_, d->env->sender, d->env->created_ms / 1000);
    if (d->from == NULL)
        return (verdict){false, "bad-signature-or-certificate", ACTION_REJECT};
    if (d->env->type != FLAGPOST__MESSAGE_TYPE__MESSAGE_FLAG)
        return (verdict){false, "not-a-flag", ACTION_REJECT};
    d->body = flagpost__flag_body__unpack(NULL, d->env->body.len, d->env->body.data);
    if (d->body == NULL || d->body->flag_id.len != 16)
        return (verdict){false, "malformed-flag-body", ACTION_REJECT};
    /* The broker refuses these too; checked again here because a broker
     * is not trusted with what a lookup will show. */
    if (!timefmt_in_range_s(d->body->review_at) || !timefmt_in_range_s(d->body->expires_at))
        return (verdict){false, "malformed-flag-dates", ACTION_REJECT};
    const char *unfit = flag_body_unfit(d->body, NULL);
    if (unfit != NULL)
        return (verdict){false, unfit, ACTION_REJECT};
    if (d->body->lifecycle == FLAGPOST__LIFECYCLE__LIFECYCLE_WITHDRAW)
        return against_held(a, txn, d);   /* signed by the sender; carries no part */
    if (!receiver_part_committed(d->body, &dv->part))
        return (verdict){false, "part-not-signed", ACTION_REJECT};
    d->part = flagpost__recipient_part__unpack(NULL, dv->part.len, dv->part.data);
    if (d->part == NULL)
        return (verdict){false, "malformed-part", ACTION_REJECT};
    if ((unfit = flag_part_unfit(d->part, NULL)) != NULL)
        return (verdict){false, unfit, ACTION_REJECT};
    verdict v = check_content(a, d->from, d->env, d->body, d->part);
    return v.stored ? against_held(a, txn, d) : v;
}

static int store_one(agent *a, MDB_txn *txn, const Flagpost__Deliver *dv, const delivery *d,
                     fp_error *err)
{
    Flagpost__StoredFlag f = FLAGPOST__STORED_FLAG__INIT;
    uint8_t *signed_bytes = malloc(flagpost__signed_envelope__get_packed_size(dv->signed_));
    if (signed_bytes == NULL)
        return fp_error_set(err, FP_ERR_IO, "out of memory");
    f.signed_envelope.len = flagpost__signed_envelope__pack(dv->signed_, signed_bytes);
    f.signed_envelope.data = signed_bytes;
    f.part = dv->part;
    f.received_ms = envelope_now_ms();
    f.sender = d->env->sender;
    f.flag_id = d->body->flag_id;
    f.version = d->body->version;
    f.state = FLAGPOST__FLAG_STATE__FLAG_ACTIVE;
    f.message_id = d->env->message_id;
    f.category = d->body->category;
    int rc = agent_store_flag_put(a->store, txn, &f, d->body, err);
    if (rc == FP_OK)
        rc = marac_on_flag(a, txn, d->body, &f, err);
    free(signed_bytes);
    return rc;
}

static void log_verdict(agent *a, const Flagpost__Deliver *dv, const delivery *d, verdict v)
{
    char hex[33] = "-";
    if (d->env != NULL)
        envelope_id_hex(d->env->message_id.data, d->env->message_id.len, hex);
    switch (v.action) {
    case ACTION_STORE:
        log_event(&a->log, LOG_INFO, "flag-received", "message=%s from=%s category=%s version=%u",
                  hex, d->env->sender, d->body->category, d->body->version);
        break;
    case ACTION_WITHDRAW:
        log_event(&a->log, LOG_INFO, "flag-withdrawn", "message=%s from=%s reason=%s", hex,
                  d->env->sender, d->body->withdraw_reason);
        break;
    case ACTION_NOTHING:
        log_event(&a->log, LOG_DEBUG, "delivery-unchanged", "message=%s", hex);
        break;
    default:
        log_event(&a->log, LOG_WARN, "delivery-rejected", "message=%s from=%s seq=%llu reason=%s",
                  hex, d->env ? d->env->sender : "-", (unsigned long long)dv->seq, v.reason);
    }
}

static void send_acks(agent *a, Flagpost__DeliveryAckItem *items, size_t n)
{
    Flagpost__DeliveryAckItem *ptrs[RECEIVER_MAX_BATCH];
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (items[i].seq != 0)   /* seq 0: held back on purpose */
            ptrs[k++] = &items[i];
    if (k == 0)
        return;
    Flagpost__DeliveryAck ack = FLAGPOST__DELIVERY_ACK__INIT;
    ack.items = ptrs;
    ack.n_items = k;
    Flagpost__ToBroker msg = FLAGPOST__TO_BROKER__INIT;
    msg.kind_case = FLAGPOST__TO_BROKER__KIND_DELIVERY_ACK;
    msg.delivery_ack = &ack;
    agent_send_to_broker(a, &msg);
}

/* Apply a verdict inside the batch transaction. */
static int apply(agent *a, MDB_txn *txn, const Flagpost__Deliver *dv, const delivery *d,
                 verdict v, fp_error *err)
{
    switch (v.action) {
    case ACTION_STORE:
        return store_one(a, txn, dv, d, err);
    case ACTION_WITHDRAW: {
        int rc = agent_store_flag_set_state(a->store, txn, d->body->flag_id.data,
                                            FLAGPOST__FLAG_STATE__FLAG_WITHDRAWN,
                                            d->body->withdraw_reason, envelope_now_ms(), err);
        if (rc == FP_OK)
            rc = remember_withdrawal(a, txn, d, err);
        return rc == FP_OK ? agent_store_mark_seen(a->store, txn, d->env->message_id.data, err)
                           : rc;
    }
    default: {
        int rc = FP_OK;
        if (v.action == ACTION_NOTHING && d->body != NULL &&
            d->body->lifecycle == FLAGPOST__LIFECYCLE__LIFECYCLE_WITHDRAW)
            rc = remember_withdrawal(a, txn, d, err);   /* e.g. never held: nothing to remove yet */
        return rc == FP_OK && d->env != NULL
                   ? agent_store_mark_seen(a->store, txn, d->env->message_id.data, err)
                   : rc;
    }
    }
}

/* True when this delivery newly stored or withdrew a flag. */
static bool handle_deliver(agent *a, MDB_txn *txn, const Flagpost__Deliver *dv,
                           Flagpost__DeliveryAckItem *item, unsigned char id[16], int *failed)
{
    bool stored_now = false;
    fp_error err;
    delivery d;
    verdict v = examine(a, txn, dv, &d);
    if (d.env != NULL) {
        memcpy(id, d.env->message_id.data, 16);
        item->message_id.data = id;
        item->message_id.len = 16;
    }
    bool dup = d.env != NULL && agent_store_seen(a->store, txn, d.env->message_id.data);
    if (!dup && v.action == ACTION_HOLD) {
        log_event(&a->log, LOG_WARN, "delivery-held",
                  "seq=%llu reason=%s hint=\"install the re-issued identity and reload\"",
                  (unsigned long long)dv->seq, v.reason);
        item->seq = 0;   /* not acknowledged: the broker keeps it and sends it again */
        delivery_free(&d);
        return false;
    }
    if (dup) {
        v = (verdict){true, "", ACTION_NOTHING};   /* handled before: ack again, change nothing */
    } else if (apply(a, txn, dv, &d, v, &err) != FP_OK) {
        log_event(&a->log, LOG_ERROR, "store-failed", "error=\"%s\"", err.message);
        *failed = 1;
    } else {
        log_verdict(a, dv, &d, v);
        stored_now = v.action == ACTION_STORE || v.action == ACTION_WITHDRAW;
        if (v.action == ACTION_STORE)
            a->stats_received++;
        else if (v.action == ACTION_REJECT)
            a->stats_rejected++;
    }
    item->stored = v.stored;
    item->reason = (char *)(uintptr_t)v.reason;
    delivery_free(&d);
    return stored_now;
}

/* Broker notices: kept for `flagpost notices`; lifecycle notices also
 * change the flag they name (only if it came from the agency named). */
static void handle_notice(agent *a, MDB_txn *txn, const Flagpost__Notice *n,
                          Flagpost__DeliveryAckItem *item, int *failed)
{
    fp_error err;
    item->stored = true;
    item->reason = (char *)"";
    Flagpost__FlagState to = strcmp(n->kind, "withdrawn") == 0 ? FLAGPOST__FLAG_STATE__FLAG_WITHDRAWN
                             : strcmp(n->kind, "expired") == 0 ? FLAGPOST__FLAG_STATE__FLAG_EXPIRED
                                                               : FLAGPOST__FLAG_STATE__FLAG_ACTIVE;
    if (to != FLAGPOST__FLAG_STATE__FLAG_ACTIVE && n->flag_id.len == 16) {
        /* The broker's text becomes the flag's state reason, which lookups
         * show: held to the limits a signed withdrawal's reason is. */
        const char *reason = flag_text_unfit(NULL, "text", n->text, FP_MAX_TEXT) == NULL
                                 ? n->text : "";
        Flagpost__StoredFlag *held = NULL;
        if (agent_store_flag_get(a->store, txn, n->flag_id.data, &held, NULL) == FP_OK) {
            if (strcmp(held->sender, n->agency) == 0 &&
                held->state == FLAGPOST__FLAG_STATE__FLAG_ACTIVE &&
                agent_store_flag_set_state(a->store, txn, n->flag_id.data, to, reason,
                                           envelope_now_ms(), &err) != FP_OK)
                *failed = 1;
            flagpost__stored_flag__free_unpacked(held, NULL);
        }
    }
    if (!*failed && agent_store_notice_put(a->store, txn, n, &err) != FP_OK)
        *failed = 1;
    if (!*failed && marac_on_notice(a, txn, n, &err) != FP_OK)
        *failed = 1;
    log_event(&a->log, strcmp(n->kind, "escalation") == 0 ? LOG_WARN : LOG_INFO, "notice",
              "kind=%s agency=%s category=%s", n->kind, n->agency, n->category);
}

void receiver_handle_batch(agent *a, Flagpost__ToAgent *const *msgs, size_t n)
{
    if (n == 0)
        return;
    if (n > RECEIVER_MAX_BATCH)
        n = RECEIVER_MAX_BATCH;
    Flagpost__DeliveryAckItem items[RECEIVER_MAX_BATCH];
    unsigned char ids[RECEIVER_MAX_BATCH][16];
    bool fresh[RECEIVER_MAX_BATCH];
    fp_error err;
    MDB_txn *txn;
    if (agent_store_begin(a->store, true, &txn, &err) != FP_OK) {
        log_event(&a->log, LOG_ERROR, "store-failed", "error=\"%s\"", err.message);
        return;   /* no ack: the broker will redeliver */
    }
    int failed = 0;
    for (size_t i = 0; i < n && !failed; i++) {
        flagpost__delivery_ack_item__init(&items[i]);
        fresh[i] = false;
        if (msgs[i]->kind_case == FLAGPOST__TO_AGENT__KIND_DELIVER) {
            items[i].seq = msgs[i]->deliver->seq;
            fresh[i] = handle_deliver(a, txn, msgs[i]->deliver, &items[i], ids[i], &failed);
        } else {
            items[i].seq = msgs[i]->notice->seq;
            handle_notice(a, txn, msgs[i]->notice, &items[i], &failed);
        }
    }
    if (failed) {
        agent_store_abort(txn);
        return;   /* nothing acknowledged: all will be redelivered */
    }
    if (agent_store_commit(txn, &err) != FP_OK) {
        log_event(&a->log, LOG_ERROR, "store-failed", "error=\"%s\"", err.message);
        return;
    }
    send_acks(a, items, n);
    spool_write_received(a, msgs, fresh, n);
}
