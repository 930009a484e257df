/*
 * marac_common: helpers every MARAC module uses.  See marac_internal.h.
 *
 * Opening a flag here mirrors lookup.c: the part was sealed with one of
 * the sender's box keys (after a rotation, maybe an older certificate's)
 * to one of ours (the keyring), so each of the sender's certificates gets
 * a try.  Publishing goes through flag_json and publisher_accept, exactly
 * as a case system's flag does, so a MARAC flag gets every check any flag
 * gets.
 *
 * The MARAC records' sealing key is random, made on first use, and kept in
 * marac_meta sealed to the agency itself like a payload (a box from its
 * own key to its own key), together with the public key it was sealed
 * under.  The keyring opens it after the agency's identity is rotated, and
 * the next write transaction seals it again under the new key, so the
 * records survive rotations however many there are.
 */
#include "marac_internal.h"

#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "envelope.h"
#include "flag_json.h"
#include "keyring.h"
#include "outbox.h"
#include "publisher.h"
#include "timefmt.h"

/* ---------------------------------------------------------------- transactions */

#define SEAL_KEY_NAME "seal-key"
#define SEAL_KEY_FIELD "marac-seal-key"

static int wrap_key(marac_tx *tx, const unsigned char key[32], fp_error *err)
{
    agent *a = tx->a;
    char hex[2 * MARAC_SEAL_KEY_LEN + 1];
    sodium_bin2hex(hex, sizeof hex, key, MARAC_SEAL_KEY_LEN);
    Flagpost__FieldValue fv = FLAGPOST__FIELD_VALUE__INIT, *fvp = &fv;
    fv.name = (char *)SEAL_KEY_FIELD;
    fv.value = hex;
    unsigned char zero[16] = {0};
    Flagpost__Payload payload = FLAGPOST__PAYLOAD__INIT;
    payload.message_id.data = zero;
    payload.message_id.len = sizeof zero;
    payload.recipient = a->id.cert.agency_id;
    payload.fields = &fvp;
    payload.n_fields = 1;
    Flagpost__RecipientPart part = FLAGPOST__RECIPIENT_PART__INIT;
    part.recipient = payload.recipient;
    int rc = payload_seal(a->boxes, a->id.cert.box_public, &payload, &part, err);
    sodium_memzero(hex, sizeof hex);
    if (rc != FP_OK)
        return rc;
    size_t len = 32 + flagpost__recipient_part__get_packed_size(&part);
    unsigned char *buf = malloc(len);
    if (buf == NULL) {
        payload_part_release(&part);
        return fp_error_set(err, FP_ERR_IO, "out of memory");
    }
    memcpy(buf, a->id.cert.box_public, 32);
    flagpost__recipient_part__pack(&part, buf + 32);
    payload_part_release(&part);
    rc = marac_meta_put(&tx->db, SEAL_KEY_NAME, buf, len, err);
    free(buf);
    return rc;
}

static int unwrap_key(marac_tx *tx, const unsigned char *data, size_t len, unsigned char key[32],
                      fp_error *err)
{
    Flagpost__RecipientPart *part =
        len > 32 ? flagpost__recipient_part__unpack(NULL, len - 32, data + 32) : NULL;
    Flagpost__Payload *p = NULL;
    int rc = part ? keyring_open_payload(tx->a->keys, data, part, &p, err)
                  : fp_error_set(err, FP_ERR_IO, "the MARAC sealing key record is damaged");
    if (part)
        flagpost__recipient_part__free_unpacked(part, NULL);
    if (rc != FP_OK)
        return fp_error_set(err, FP_ERR_CRYPTO, "no key this agency holds opens its MARAC "
                            "records (was DATA/keyring lost?)");
    size_t got = 0;
    rc = p->n_fields == 1 && strcmp(p->fields[0]->name, SEAL_KEY_FIELD) == 0 &&
                 sodium_hex2bin(key, MARAC_SEAL_KEY_LEN, p->fields[0]->value,
                                strlen(p->fields[0]->value), NULL, &got, NULL) == 0 &&
                 got == MARAC_SEAL_KEY_LEN
             ? FP_OK
             : fp_error_set(err, FP_ERR_IO, "the MARAC sealing key record is damaged");
    payload_free(p);
    return rc;
}

/* The records' key: made on first write; sealed again under the current
 * box key whenever it was last sealed under an earlier one. */
static int seal_key(marac_tx *tx, bool write, unsigned char key[32], fp_error *err)
{
    const unsigned char *data = NULL;
    size_t len = 0;
    int rc = marac_meta_get(&tx->db, SEAL_KEY_NAME, &data, &len, err);
    if (rc == FP_ERR_NOT_FOUND) {
        randombytes_buf(key, MARAC_SEAL_KEY_LEN);   /* nothing was sealed yet */
        return write ? wrap_key(tx, key, err) : FP_OK;
    }
    if (rc == FP_OK)
        rc = unwrap_key(tx, data, len, key, err);
    if (rc == FP_OK && write && sodium_memcmp(data, tx->a->id.cert.box_public, 32) != 0)
        rc = wrap_key(tx, key, err);
    return rc;
}

static int tx_open_db(marac_tx *tx, bool create, bool sealed, fp_error *err)
{
    int rc = marac_db_open(&tx->db, tx->txn, create, NULL, err);
    if (rc != FP_OK || !sealed)
        return rc;
    unsigned char *key = sodium_malloc(MARAC_SEAL_KEY_LEN);
    if (key == NULL)
        return fp_error_set(err, FP_ERR_IO, "out of memory");
    rc = seal_key(tx, create, key, err);
    if (rc == FP_OK)
        rc = marac_db_set_key(&tx->db, key, err);
    sodium_free(key);
    return rc;
}

int marac_tx_begin(agent *a, bool write, marac_tx *tx, fp_error *err)
{
    memset(tx, 0, sizeof *tx);
    tx->a = a;
    tx->own = true;
    int rc = agent_store_begin(a->store, write, &tx->txn, err);
    if (rc != FP_OK)
        return rc;
    rc = tx_open_db(tx, write, true, err);
    if (rc != FP_OK) {
        agent_store_abort(tx->txn);
        tx->txn = NULL;
    }
    return rc;
}

int marac_tx_join(agent *a, MDB_txn *txn, marac_tx *tx, bool sealed, fp_error *err)
{
    memset(tx, 0, sizeof *tx);
    tx->a = a;
    tx->txn = txn;
    tx->own = false;
    return tx_open_db(tx, true, sealed, err);
}

int marac_tx_commit(marac_tx *tx, fp_error *err)
{
    marac_db_close(&tx->db);
    int rc = FP_OK;
    if (tx->own && tx->txn != NULL)
        rc = agent_store_commit(tx->txn, err);
    tx->txn = NULL;
    return rc;
}

void marac_tx_end(marac_tx *tx)
{
    marac_db_close(&tx->db);
    if (tx->own && tx->txn != NULL)
        agent_store_abort(tx->txn);
    tx->txn = NULL;
}

void marac_flag_key(unsigned char out[17], char kind, const uint8_t flag_id[16])
{
    out[0] = (unsigned char)kind;
    memcpy(out + 1, flag_id, 16);
}

/* ---------------------------------------------------------------- agencies */

bool marac_is_coordinator(const agent *a)
{
    return strcmp(a->id.cert.sector, "marac") == 0;
}

static const cert_info *any_cert(const agent *a, const char *agency_id)
{
    for (size_t i = 0; i < trust_store_count(a->trust); i++)
        if (strcmp(trust_store_at(a->trust, i)->agency_id, agency_id) == 0)
            return trust_store_at(a->trust, i);
    return NULL;
}

const char *marac_agency_name(const agent *a, const char *agency_id)
{
    const cert_info *c = any_cert(a, agency_id);
    return c != NULL ? c->display_name : agency_id;
}

const char *marac_sector(const agent *a, const char *agency_id)
{
    const cert_info *c = any_cert(a, agency_id);
    return c != NULL ? c->sector : "";
}

/* ---------------------------------------------------------------- opening flags */

json_t *marac_open_part(agent *a, const char *sender, const ProtobufCBinaryData *bytes)
{
    Flagpost__RecipientPart *part = flagpost__recipient_part__unpack(NULL, bytes->len,
                                                                     bytes->data);
    if (part == NULL)
        return NULL;
    Flagpost__Payload *p = NULL;
    for (size_t i = 0; i < trust_store_count(a->trust) && p == NULL; i++) {
        const cert_info *c = trust_store_at(a->trust, i);
        if (strcmp(c->agency_id, sender) == 0)
            keyring_open_payload(a->keys, c->box_public, part, &p, NULL);
    }
    flagpost__recipient_part__free_unpacked(part, NULL);
    if (p == NULL)
        return NULL;
    json_t *fields = json_object();
    for (size_t i = 0; i < p->n_fields; i++)
        json_object_set_new(fields, p->fields[i]->name, json_string(p->fields[i]->value));
    payload_free(p);
    return fields;
}

int marac_open_flag(agent *a, const Flagpost__StoredFlag *f, marac_opened *o)
{
    memset(o, 0, sizeof *o);
    Flagpost__SignedEnvelope *se =
        flagpost__signed_envelope__unpack(NULL, f->signed_envelope.len, f->signed_envelope.data);
    Flagpost__Envelope *env =
        se ? flagpost__envelope__unpack(NULL, se->envelope.len, se->envelope.data) : NULL;
    if (env != NULL)
        o->body = flagpost__flag_body__unpack(NULL, env->body.len, env->body.data);
    if (env)
        flagpost__envelope__free_unpacked(env, NULL);
    if (se)
        flagpost__signed_envelope__free_unpacked(se, NULL);
    if (o->body == NULL)
        return FP_ERR_IO;
    /* As lookup.c: a flag past its dates is not opened, notice or not. */
    o->past_its_dates = lookup_past_its_dates(f, o->body);
    if (f->part.len > 0 && f->state == FLAGPOST__FLAG_STATE__FLAG_ACTIVE && !o->past_its_dates)
        o->fields = marac_open_part(a, f->sender, &f->part);
    return FP_OK;
}

int marac_open_stored(agent *a, MDB_txn *txn, const uint8_t flag_id[16], marac_opened *o,
                      fp_error *err)
{
    memset(o, 0, sizeof *o);
    Flagpost__StoredFlag *f = NULL;
    int rc = agent_store_flag_get(a->store, txn, flag_id, &f, err);
    if (rc != FP_OK)
        return rc;
    rc = marac_open_flag(a, f, o);
    o->flag = f;
    if (rc != FP_OK)
        return fp_error_set(err, FP_ERR_IO, "a stored flag is damaged");
    return FP_OK;
}

void marac_fields_free(json_t *fields)
{
    if (fields == NULL)
        return;
    /* Field values are a person's details: overwrite before freeing.  Only
     * for objects nobody else holds (a shared one would be wiped under them). */
    const char *k;
    json_t *v;
    if (fields->refcount == 1)
        json_object_foreach(fields, k, v) {
            if (json_is_string(v) && v->refcount == 1)
                sodium_memzero((char *)(uintptr_t)json_string_value(v), json_string_length(v));
        }
    json_decref(fields);
}

void marac_opened_free(marac_opened *o)
{
    marac_fields_free(o->fields);
    if (o->body)
        flagpost__flag_body__free_unpacked(o->body, NULL);
    if (o->flag)
        flagpost__stored_flag__free_unpacked(o->flag, NULL);
    memset(o, 0, sizeof *o);
}

/* ---------------------------------------------------------------- publishing */

void marac_send_record(agent *a, const unsigned char id[16])
{
    Flagpost__OutboxRecord *rec = NULL;
    if (outbox_read(a, id, &rec, NULL) == FP_OK) {
        outbox_send(a, rec, NULL);   /* the resend loop covers a broker that is away */
        flagpost__outbox_record__free_unpacked(rec, NULL);
    }
}

int marac_publish(agent *a, json_t *flag, Flagpost__OutboxRecord **out, fp_error *err)
{
    if (out != NULL)
        *out = NULL;
    flag_request fr;
    int rc = flag_json_from_object(flag, &fr, err);
    if (rc != FP_OK)
        return rc;
    Flagpost__OutboxRecord *rec = NULL;
    rc = publisher_accept(a, &fr, &rec, err);
    flag_request_free(&fr);
    if (rc != FP_OK)
        return rc;
    a->stats_published++;
    outbox_send(a, rec, NULL);
    if (out != NULL)
        *out = rec;
    else
        flagpost__outbox_record__free_unpacked(rec, NULL);
    return FP_OK;
}

json_t *marac_decisions(const Flagpost__OutboxRecord *rec, bool allowed)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < rec->n_sender_decisions; i++) {
        const Flagpost__Decision *d = rec->sender_decisions[i];
        if (d->allowed != allowed)
            continue;
        if (allowed)
            json_array_append_new(arr, json_string(d->recipient));
        else
            json_array_append_new(arr, json_pack("{s:s, s:s, s:s}", "agency", d->recipient,
                                                 "rule", d->rule_id, "reason", d->reason));
    }
    return arr;
}

/* ---------------------------------------------------------------- JSON */

const char *mj_str(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

int64_t mj_int(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
}

void mj_set_str(json_t *o, const char *key, const char *v)
{
    if (v != NULL)
        json_object_set_new(o, key, json_string(v));
}

void mj_set_int(json_t *o, const char *key, int64_t v)
{
    json_object_set_new(o, key, json_integer((json_int_t)v));
}

void marac_hex(const uint8_t *id, char out[33])
{
    envelope_id_hex(id, 16, out);
}

void marac_iso(int64_t ms, char out[32])
{
    timefmt_iso_ms(ms, out);
}

void marac_iso_s(int64_t ms, char out[32])
{
    timefmt_iso_s(ms < 0 ? -1 : ms / 1000, out);
}

void marac_date(int64_t s, char out[32])
{
    timefmt_date(s, out);
}

json_t *marac_error_json(const fp_error *err)
{
    return json_pack("{s:s, s:s}", "error", err->message, "code", fp_status_name(err->code));
}

int marac_known_keys(json_t *o, const char *const *keys, const char *where, fp_error *err)
{
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v) {
        bool known = false;
        for (size_t i = 0; keys[i] != NULL && !known; i++)
            known = strcmp(k, keys[i]) == 0;
        if (!known)
            return fp_error_set(err, FP_ERR_INPUT, "%s: unknown key '%.64s' (see docs/marac.md)",
                                where, k);
    }
    return FP_OK;
}

int marac_text(json_t *o, const char *key, const char *where, size_t max, bool required,
               const char **out, fp_error *err)
{
    *out = NULL;
    json_t *v = json_object_get(o, key);
    if (v == NULL || json_is_null(v))
        return required ? fp_error_set(err, FP_ERR_INPUT, "%s.%s: missing (required)", where, key)
                        : FP_OK;
    if (!json_is_string(v))
        return fp_error_set(err, FP_ERR_INPUT, "%s.%s: must be a string", where, key);
    size_t n = json_string_length(v);
    if (n == 0)
        return required ? fp_error_set(err, FP_ERR_INPUT, "%s.%s: must not be empty", where, key)
                        : FP_OK;
    if (n > max)
        return fp_error_set(err, FP_ERR_INPUT, "%s.%s: %zu characters; the limit is %zu", where,
                            key, n, max);
    if (strlen(json_string_value(v)) != n)
        return fp_error_set(err, FP_ERR_INPUT, "%s.%s: contains a NUL character", where, key);
    *out = json_string_value(v);
    return FP_OK;
}

int marac_parse_duration(const char *s, int64_t *ms)
{
    if (s == NULL || !isdigit((unsigned char)s[0]))
        return FP_ERR_INPUT;
    char *end;
    long long n = strtoll(s, &end, 10);
    int64_t unit = end[0] == 's' ? 1000 : end[0] == 'm' ? 60000 : end[0] == 'h' ? 3600000
                   : end[0] == 'd' ? 86400000 : 0;
    if (unit == 0 || end[1] != '\0' || n < 0 || n > 366LL * 86400)
        return FP_ERR_INPUT;
    *ms = (int64_t)n * unit;
    return FP_OK;
}

int marac_parse_due(const char *s, int64_t *ms)
{
    int64_t t;
    char plain[32];
    /* Accept the milliseconds timefmt writes ("...:SS.mmmZ"), to the second. */
    const char *dot = s ? strchr(s, '.') : NULL;
    if (dot != NULL && (size_t)(dot - s) < sizeof plain - 2) {
        snprintf(plain, sizeof plain, "%.*sZ", (int)(dot - s), s);
        s = plain;
    }
    if (s == NULL || flag_json_parse_date(s, &t) != FP_OK)
        return FP_ERR_INPUT;
    /* A date alone means the whole of that day. */
    *ms = strchr(s, 'T') == NULL ? (t + 86400) * 1000 - 1 : t * 1000;
    return FP_OK;
}
