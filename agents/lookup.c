/*
 * lookup: flags held on a subject, and the view reports they cause.
 * See lookup.h.
 *
 * The store keeps each flag sealed as delivered; opening it here means a
 * copied database file shows metadata but no field values without the
 * agency's box key.
 *
 * It also keeps the sender's signed envelope, so every record is checked
 * again as it is opened: the signature under one of the sender's
 * certificates, and the store's own copies of sender, flag id, version,
 * message id and category against the signed ones, and the sealed part
 * (while it is held: a withdrawn or expired flag keeps none) against the
 * digest the sender signed.  A record edited on disk is never
 * shown as the sender's flag: it is listed as failing its integrity check,
 * with no content, and logged.  (The record's local state -- withdrawn,
 * superseded -- and the lookup index are the agent's own bookkeeping and
 * are not signed; see docs/abuse-cases.md.)
 */
#include "lookup.h"

#include <sodium.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "envelope.h"
#include "keyring.h"
#include "outbox.h"
#include "receiver.h"
#include "timefmt.h"
#include "deferred_writer.h"

typedef struct opened {
    Flagpost__SignedEnvelope *se;
    Flagpost__Envelope *env;
    Flagpost__FlagBody *body;
    Flagpost__RecipientPart *part;
    Flagpost__Payload *payload;
    bool past_its_dates;   /* see lookup_past_its_dates() */
} opened;

static void opened_free(opened *o)
{
    if (o->payload)
        payload_free(o->payload);
    if (o->part)
        flagpost__recipient_part__free_unpacked(o->part, NULL);
    if (o->body)
        flagpost__flag_body__free_unpacked(o->body, NULL);
    if (o->env)
        flagpost__envelope__free_unpacked(o->env, NULL);
    if (o->se)
        flagpost__signed_envelope__free_unpacked(o->se, NULL);
}

/* Any certificate the sender ever held may have signed a stored flag
 * (it was checked as valid when the flag arrived). */
static bool signed_by_sender(agent *a, const Flagpost__SignedEnvelope *se, const char *sender)
{
    for (size_t i = 0; i < trust_store_count(a->trust); i++) {
        const cert_info *c = trust_store_at(a->trust, i);
        if (strcmp(c->agency_id, sender) == 0 &&
            envelope_verify(se, c->sign_public, NULL) == FP_OK)
            return true;
    }
    return false;
}

static bool same_bytes(const ProtobufCBinaryData *x, const ProtobufCBinaryData *y)
{
    return x->len == y->len && (x->len == 0 || memcmp(x->data, y->data, x->len) == 0);
}

static bool record_intact(agent *a, const Flagpost__StoredFlag *f, const opened *o)
{
    return strcmp(o->env->sender, f->sender) == 0 && same_bytes(&o->body->flag_id, &f->flag_id) &&
           same_bytes(&o->env->message_id, &f->message_id) && o->body->version == f->version &&
           (f->category[0] == '\0' || strcmp(o->body->category, f->category) == 0) &&
           (f->part.len == 0 || receiver_part_committed(o->body, &f->part)) &&
           signed_by_sender(a, o->se, f->sender);
}

static json_t *tampered_json(agent *a, const Flagpost__StoredFlag *f)
{
    char id[33];
    envelope_id_hex(f->flag_id.data, f->flag_id.len, id);
    log_event(&a->log, LOG_WARN, "stored-flag-integrity-failed", "flag=%s", id);
    return json_pack("{s:s, s:s, s:s}", "flag_id", id, "integrity", "failed", "error",
                     "this stored record does not match what its sender signed (edited on "
                     "disk?); it is not shown");
}

/*
 * A flag is expired at the broker from its review date or its expiry date,
 * whichever comes first (broker/lifecycle.c, expiry_for), and the broker
 * then tells each recipient to drop the sealed part.  Until that notice
 * arrives -- the broker may be away for days -- the agent still holds the
 * part, but it never opens it: the dates the sender signed are enforced
 * here too, on the agent's own clock.
 */
bool lookup_past_its_dates(const Flagpost__StoredFlag *f, const Flagpost__FlagBody *b)
{
    if (f->state != FLAGPOST__FLAG_STATE__FLAG_ACTIVE)
        return false;
    int64_t now_s = envelope_now_ms() / 1000;
    return (b->review_at > 0 && b->review_at <= now_s) ||
           (b->expires_at > 0 && b->expires_at <= now_s);
}

/* Checks the record against what its sender signed and, when open_fields,
 * opens its sealed part (o->payload), unless it is past its dates. */
static int open_flag(agent *a, const Flagpost__StoredFlag *f, bool open_fields, opened *o)
{
    memset(o, 0, sizeof *o);
    o->se = flagpost__signed_envelope__unpack(NULL, f->signed_envelope.len,
                                              f->signed_envelope.data);
    if (o->se)
        o->env = flagpost__envelope__unpack(NULL, o->se->envelope.len, o->se->envelope.data);
    if (o->env)
        o->body = flagpost__flag_body__unpack(NULL, o->env->body.len, o->env->body.data);
    o->part = flagpost__recipient_part__unpack(NULL, f->part.len, f->part.data);
    if (o->body == NULL || o->part == NULL)
        return FP_ERR_IO;
    if (!record_intact(a, f, o))
        return FP_ERR_CRYPTO;
    /* Written with one of the sender's box keys; after a rotation that
     * may be an older certificate's.  o->payload stays NULL if none opens it. */
    o->past_its_dates = lookup_past_its_dates(f, o->body);
    if (open_fields && !o->past_its_dates)
        keyring_open_from_sender(a->keys, a->trust, f->sender, NULL, o->part, &o->payload);
    return FP_OK;
}

static const char *state_name(Flagpost__FlagState s)
{
    switch (s) {
    case FLAGPOST__FLAG_STATE__FLAG_ACTIVE: return "active";
    case FLAGPOST__FLAG_STATE__FLAG_SUPERSEDED: return "superseded";
    case FLAGPOST__FLAG_STATE__FLAG_WITHDRAWN: return "withdrawn";
    case FLAGPOST__FLAG_STATE__FLAG_EXPIRED: return "expired";
    default: return "unknown";
    }
}

static void set_date(json_t *obj, const char *key, int64_t unix_s)
{
    if (unix_s == 0)
        return;
    char buf[TIMEFMT_ISO_LEN];
    timefmt_date(unix_s, buf);
    json_object_set_new(obj, key, json_string(buf));
}

/* with_fields false: the metadata only, and no "fields" key at all. */
static json_t *flag_json(agent *a, const Flagpost__StoredFlag *f, const opened *o,
                         bool with_fields)
{
    char id[33], msg[33], when[TIMEFMT_ISO_LEN];
    envelope_id_hex(f->flag_id.data, f->flag_id.len, id);
    envelope_id_hex(f->message_id.data, f->message_id.len, msg);
    timefmt_iso_ms(f->received_ms, when);
    const cert_info *from = NULL;   /* any certificate of the sender names it, even expired */
    for (size_t i = 0; i < trust_store_count(a->trust) && from == NULL; i++)
        if (strcmp(trust_store_at(a->trust, i)->agency_id, f->sender) == 0)
            from = trust_store_at(a->trust, i);
    const Flagpost__FlagBody *b = o->body;
    json_t *j = json_object();
    json_object_set_new(j, "flag_id", json_string(id));
    json_object_set_new(j, "version", json_integer(f->version));
    json_object_set_new(j, "message_id", json_string(msg));
    json_object_set_new(j, "from", json_string(f->sender));
    if (from != NULL)
        json_object_set_new(j, "from_name", json_string(from->display_name));
    json_object_set_new(j, "category", json_string(b->category));
    if (b->subcategory[0])
        json_object_set_new(j, "subcategory", json_string(b->subcategory));
    json_object_set_new(j, "purpose", json_string(b->purpose));
    json_object_set_new(j, "lawful_basis", json_string(b->lawful_basis));
    json_object_set_new(j, "consent", json_string(b->consent));
    json_object_set_new(j, "risk", json_string(b->risk));
    json_object_set_new(j, "role", json_string(b->subject_role));
    json_object_set_new(j, "restricted", json_boolean(b->restricted));
    if (b->break_glass)
        json_object_set_new(j, "break_glass", json_true());
    json_object_set_new(j, "received_at", json_string(when));
    set_date(j, "review_date", b->review_at);
    set_date(j, "expires", b->expires_at);
    if (o->past_its_dates) {
        json_object_set_new(j, "state", json_string("expired"));
        json_object_set_new(j, "state_reason", json_string("past-review-or-expiry-date"));
    } else {
        json_object_set_new(j, "state", json_string(state_name(f->state)));
        if (f->state_reason[0])
            json_object_set_new(j, "state_reason", json_string(f->state_reason));
    }
    if (!with_fields)
        return j;
    json_t *fields = json_object();
    if (o->payload != NULL)
        for (size_t i = 0; i < o->payload->n_fields; i++)
            json_object_set_new(fields, o->payload->fields[i]->name,
                                json_string(o->payload->fields[i]->value));
    else if (f->state == FLAGPOST__FLAG_STATE__FLAG_ACTIVE && !o->past_its_dates)
        json_object_set_new(j, "error", json_string("payload could not be opened"));
    json_object_set_new(j, "fields", fields);
    return j;
}

json_t *lookup_flag_to_json(agent *a, const Flagpost__StoredFlag *f)
{
    opened o;
    int rc = open_flag(a, f, true, &o);
    json_t *j = rc == FP_OK             ? flag_json(a, f, &o, true)
                : rc == FP_ERR_CRYPTO ? tampered_json(a, f)
                                      : NULL;
    opened_free(&o);
    return j;
}

bool lookup_views_add(lookup_views *v, const Flagpost__StoredFlag *f,
                      const Flagpost__FlagBody *body)
{
    if (v->count == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 8;
        lookup_view *items = realloc(v->items, cap * sizeof *items);
        if (items == NULL)
            return false;
        v->items = items;
        v->cap = cap;
    }
    lookup_view *lv = &v->items[v->count++];
    memset(lv, 0, sizeof *lv);
    memcpy(lv->flag_id, f->flag_id.data, 16);
    memcpy(lv->message_id, f->message_id.data, 16);
    lv->version = f->version;
    snprintf(lv->sender, sizeof lv->sender, "%s", f->sender);
    snprintf(lv->category, sizeof lv->category, "%s", body->category);
    for (size_t i = 0; i < body->n_subject && lv->subject_count < PSEUDONYM_MAX; i++) {
        const Flagpost__Pseudonym *p = body->subject[i];
        if (p->value.len != PSEUDONYM_LEN)
            continue;
        lv->subject[lv->subject_count].kind = p->kind;
        memcpy(lv->subject[lv->subject_count++].value, p->value.data, PSEUDONYM_LEN);
    }
    return true;
}

typedef struct collect_ctx {
    agent *a;
    json_t *out;
    lookup_views *views;
    bool with_fields;
    bool out_of_memory;   /* a view could not be remembered: show nothing */
} collect_ctx;

/* A flag is shown only once its view is remembered, so none is ever shown
 * without its view record. */
static int collect(void *ctx, const Flagpost__StoredFlag *f)
{
    collect_ctx *c = ctx;
    opened o;
    int rc = open_flag(c->a, f, c->with_fields, &o);
    if (rc == FP_OK && c->views != NULL && !lookup_views_add(c->views, f, o.body))
        c->out_of_memory = true;
    else if (rc == FP_OK)
        json_array_append_new(c->out, flag_json(c->a, f, &o, c->with_fields));
    else if (rc == FP_ERR_CRYPTO)
        json_array_append_new(c->out, tampered_json(c->a, f));
    opened_free(&o);
    return c->out_of_memory;
}

/* The caller discards out on an error. */
static int collected(const collect_ctx *c, int rc, fp_error *err)
{
    if (rc == FP_OK && c->out_of_memory)
        return fp_error_set(err, FP_ERR_IO, "out of memory while recording what is shown; "
                                            "nothing was shown");
    return rc;
}

int lookup_by_subject(agent *a, const subject_identifiers *ids, json_t *out,
                      lookup_views *views, fp_error *err)
{
    pseudonym ps[PSEUDONYM_MAX];
    size_t n = 0;
    int rc = pseudonym_derive(a->id.linkage_key, ids, "lookup", ps, &n, err);
    if (rc != FP_OK)
        return rc;
    MDB_txn *txn;
    if ((rc = agent_store_begin(a->store, false, &txn, err)) != FP_OK)
        return rc;
    collect_ctx c = {.a = a, .out = out, .views = views, .with_fields = true};
    rc = agent_store_lookup(a->store, txn, ps, n, collect, &c, err);
    agent_store_abort(txn);
    return collected(&c, rc, err);
}

int lookup_inbox(agent *a, size_t limit, json_t *out, lookup_views *views, fp_error *err)
{
    MDB_txn *txn;
    int rc = agent_store_begin(a->store, false, &txn, err);
    if (rc != FP_OK)
        return rc;
    collect_ctx c = {.a = a, .out = out, .views = views, .with_fields = views != NULL};
    rc = agent_store_inbox(a->store, txn, limit, collect, &c, err);
    agent_store_abort(txn);
    return collected(&c, rc, err);
}

/* ---------------------------------------------------------------- views */

/* Pack the ViewBody for one shown flag into *out (malloc'd). */
static int view_body(const lookup_view *v, uint8_t **out, size_t *len)
{
    Flagpost__ViewBody vb = FLAGPOST__VIEW_BODY__INIT;
    Flagpost__Pseudonym subj[PSEUDONYM_MAX], *subj_ptrs[PSEUDONYM_MAX];
    for (size_t i = 0; i < v->subject_count; i++) {
        flagpost__pseudonym__init(&subj[i]);
        subj[i].kind = (Flagpost__PseudonymKind)v->subject[i].kind;
        subj[i].value.data = (uint8_t *)(uintptr_t)v->subject[i].value;
        subj[i].value.len = PSEUDONYM_LEN;
        subj_ptrs[i] = &subj[i];
    }
    vb.flag_id.data = (uint8_t *)(uintptr_t)v->flag_id;
    vb.flag_id.len = 16;
    vb.version = v->version;
    vb.original_message_id.data = (uint8_t *)(uintptr_t)v->message_id;
    vb.original_message_id.len = 16;
    vb.original_sender = (char *)(uintptr_t)v->sender;
    vb.category = (char *)(uintptr_t)v->category;
    vb.subject = subj_ptrs;
    vb.n_subject = v->subject_count;
    *len = flagpost__view_body__get_packed_size(&vb);
    *out = malloc(*len ? *len : 1);
    if (*out == NULL)
        return FP_ERR_IO;
    flagpost__view_body__pack(&vb, *out);
    return FP_OK;
}

/* With a deferred writer (the agent's normal case) the records are committed
 * on its thread and sent by the loop; without one, here and now. */
static void hand_over_views(agent *a, lookup_views *views)
{
    for (size_t i = 0; i < views->count; i++) {
        uint8_t *body = NULL;
        size_t len = 0;
        if (view_body(&views->items[i], &body, &len) == FP_OK)
            deferred_writer_submit(a->deferred, body, len);
        else
            log_event(&a->log, LOG_ERROR, "view-report-failed", "error=\"out of memory\"");
    }
    free(views->items);
    views->items = NULL;
    views->count = views->cap = 0;
}

void lookup_report_views(agent *a, lookup_views *views)
{
    if (a->deferred != NULL) {
        hand_over_views(a, views);
        return;
    }
    unsigned char (*ids)[16] = views->count ? calloc(views->count, 16) : NULL;
    fp_error err;
    MDB_txn *txn = NULL;
    int rc = views->count == 0 ? FP_ERR_NOT_FOUND
             : ids == NULL     ? fp_error_set(&err, FP_ERR_IO, "out of memory")
                               : agent_store_begin(a->store, true, &txn, &err);
    for (size_t i = 0; rc == FP_OK && i < views->count; i++) {
        uint8_t *body = NULL;
        size_t len = 0;
        rc = view_body(&views->items[i], &body, &len) == FP_OK
                 ? outbox_stage(a, txn, FLAGPOST__MESSAGE_TYPE__MESSAGE_VIEW, body, len, ids[i],
                                &err)
                 : fp_error_set(&err, FP_ERR_IO, "out of memory");
        free(body);
    }
    if (txn != NULL)
        rc = rc == FP_OK ? agent_store_commit(txn, &err) : (agent_store_abort(txn), rc);
    if (rc != FP_OK && rc != FP_ERR_NOT_FOUND)
        log_event(&a->log, LOG_ERROR, "view-report-failed", "error=\"%s\"", err.message);
    for (size_t i = 0; rc == FP_OK && i < views->count; i++) {
        Flagpost__OutboxRecord *rec = NULL;
        if (outbox_read(a, ids[i], &rec, NULL) == FP_OK) {
            outbox_send(a, rec, NULL);   /* if the broker is away, the resend loop sends it */
            flagpost__outbox_record__free_unpacked(rec, NULL);
        }
        a->stats_views++;
    }
    free(ids);
    free(views->items);
    views->items = NULL;
    views->count = views->cap = 0;
}
