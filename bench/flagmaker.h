/*
 * flagmaker: real flags for the benchmarks, built exactly as an agent
 * builds them (pseudonyms under the linkage key, a payload sealed to each
 * recipient's box key, part digests in the signed body, an Ed25519
 * signature over the envelope), but without the agent's outbox, so a load
 * generator can make them ahead of time and send them as fast as the
 * broker takes them.
 *
 * Header-only (static inline) because each bench/NAME.c file is its own
 * program.  Owns nothing across calls: each function returns malloc'd
 * bytes its caller frees.
 */
#ifndef FLAGPOST_BENCH_FLAGMAKER_H
#define FLAGPOST_BENCH_FLAGMAKER_H

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"
#include "flagpost.pb-c.h"
#include "identity.h"
#include "payload.h"
#include "pseudonym.h"
#include "trust_store.h"

#define FLAGMAKER_MAX_TO 8

/* The n-th valid NHS number (modulus 11 check digit; numbers whose check
 * would be 10 are skipped, as the NHS skips them). */
static inline void flagmaker_nhs(unsigned long n, char out[11])
{
    for (;; n++) {
        unsigned long base = 400000000UL + (n % 599999999UL);
        char d[10];
        snprintf(d, sizeof d, "%09lu", base);
        int sum = 0;
        for (int i = 0; i < 9; i++)
            sum += (d[i] - '0') * (10 - i);
        int check = 11 - sum % 11;
        if (check == 11)
            check = 0;
        if (check == 10)
            continue;
        memcpy(out, d, 9);
        out[9] = (char)('0' + check);
        out[10] = '\0';
        return;
    }
}

typedef struct flagmaker {
    identity *from;
    box_cache *boxes;
    const cert_info *to[FLAGMAKER_MAX_TO];
    size_t n_to;
    size_t pad;          /* extra bytes of risk_summary, to reach the target size */
} flagmaker;

/* One sealed, signed flag.  Every pointer is malloc'd and owned here. */
typedef struct flagmaker_flag {
    Flagpost__SignedEnvelope se;
    uint8_t *body;
    size_t body_len;
    ProtobufCBinaryData parts[FLAGMAKER_MAX_TO];
    size_t n_parts;
    unsigned char flag_id[16], message_id[16];
} flagmaker_flag;

static inline void flagmaker_flag_free(flagmaker_flag *f)
{
    envelope_signed_release(&f->se);
    free(f->body);
    for (size_t i = 0; i < f->n_parts; i++)
        free(f->parts[i].data);
    memset(f, 0, sizeof *f);
}

static inline uint8_t *flagmaker_part(flagmaker *fm, const cert_info *to,
                                      const unsigned char msg_id[16], const char *nhs,
                                      size_t *len)
{
    static const char *const names[] = {"name", "safe_contact_phone", "risk_summary"};
    char risk[1024];
    size_t pad = fm->pad < sizeof risk - 64 ? fm->pad : sizeof risk - 64;
    int k = snprintf(risk, sizeof risk, "Escalating; strangulation (%s). ", nhs);
    memset(risk + k, 'r', pad);
    risk[k + pad] = '\0';
    const char *values[] = {"Bench Subject", "07700 900123", risk};
    Flagpost__FieldValue fv[3], *fvp[3];
    for (int i = 0; i < 3; i++) {
        flagpost__field_value__init(&fv[i]);
        fv[i].name = (char *)(uintptr_t)names[i];
        fv[i].value = (char *)(uintptr_t)values[i];
        fvp[i] = &fv[i];
    }
    Flagpost__Payload p = FLAGPOST__PAYLOAD__INIT;
    p.message_id.data = (uint8_t *)(uintptr_t)msg_id;
    p.message_id.len = 16;
    p.recipient = (char *)(uintptr_t)to->agency_id;
    p.fields = fvp;
    p.n_fields = 3;
    Flagpost__RecipientPart part = FLAGPOST__RECIPIENT_PART__INIT;
    part.recipient = (char *)(uintptr_t)to->agency_id;
    part.fields = (char **)(uintptr_t)names;
    part.n_fields = 3;
    if (payload_seal(fm->boxes, to->box_public, &p, &part, NULL) != FP_OK)
        return NULL;
    *len = flagpost__recipient_part__get_packed_size(&part);
    uint8_t *out = malloc(*len);
    if (out != NULL)
        flagpost__recipient_part__pack(&part, out);
    payload_part_release(&part);
    return out;
}

/* Build flag number n (its subject is the n-th NHS number).  0 on success. */
static inline int flagmaker_make(flagmaker *fm, unsigned long n, flagmaker_flag *f)
{
    memset(f, 0, sizeof *f);
    char nhs[11];
    flagmaker_nhs(n, nhs);
    envelope_new_id(f->message_id);
    envelope_new_id(f->flag_id);
    pseudonym ps[PSEUDONYM_MAX];
    size_t nps = 0;
    char name[32] = "Bench ";   /* distinct per subject, letters only */
    for (unsigned long v = n, k = 6; k < 20; v /= 26, k++)
        name[k] = (char)('a' + v % 26);
    subject_identifiers ids = {.nhs = nhs, .name = name, .dob = "1985-03-12"};
    if (pseudonym_derive(fm->from->linkage_key, &ids, "subject", ps, &nps, NULL) != FP_OK)
        return -1;
    Flagpost__Pseudonym pv[PSEUDONYM_MAX], *pvp[PSEUDONYM_MAX];
    for (size_t i = 0; i < nps; i++) {
        flagpost__pseudonym__init(&pv[i]);
        pv[i].kind = (Flagpost__PseudonymKind)ps[i].kind;
        pv[i].value.data = ps[i].value;
        pv[i].value.len = 32;
        pvp[i] = &pv[i];
    }
    unsigned char digests[FLAGMAKER_MAX_TO][32];
    ProtobufCBinaryData dv[FLAGMAKER_MAX_TO];
    for (size_t i = 0; i < fm->n_to; i++) {
        f->parts[i].data = flagmaker_part(fm, fm->to[i], f->message_id, nhs, &f->parts[i].len);
        if (f->parts[i].data == NULL)
            return -1;
        f->n_parts++;
        crypto_hash_sha256(digests[i], f->parts[i].data, f->parts[i].len);
        dv[i].data = digests[i];
        dv[i].len = 32;
    }
    Flagpost__FlagBody b = FLAGPOST__FLAG_BODY__INIT;
    b.flag_id.data = f->flag_id;
    b.flag_id.len = 16;
    b.version = 1;
    b.category = (char *)"da_victim";
    b.purpose = (char *)"safeguarding";
    b.lawful_basis = (char *)"public_task_safeguarding";
    b.consent = (char *)"given";
    b.risk = (char *)"high";
    b.subject_role = (char *)"victim";
    b.subject = pvp;
    b.n_subject = nps;
    b.part_digests = dv;
    b.n_part_digests = fm->n_to;
    f->body_len = flagpost__flag_body__get_packed_size(&b);
    f->body = malloc(f->body_len);
    if (f->body == NULL)
        return -1;
    flagpost__flag_body__pack(&b, f->body);
    Flagpost__Envelope env = FLAGPOST__ENVELOPE__INIT;
    env.wire_version = ENVELOPE_WIRE_VERSION;
    env.message_id.data = f->message_id;
    env.message_id.len = 16;
    env.type = FLAGPOST__MESSAGE_TYPE__MESSAGE_FLAG;
    env.sender = fm->from->cert.agency_id;
    env.created_ms = envelope_now_ms();
    env.body.data = f->body;
    env.body.len = f->body_len;
    return envelope_sign(&env, fm->from->sign_secret, &f->se, NULL) == FP_OK ? 0 : -1;
}

/* The packed ToBroker publish for f (malloc'd). */
static inline uint8_t *flagmaker_publish_bytes(const flagmaker_flag *f, size_t *len)
{
    Flagpost__Publish pub = FLAGPOST__PUBLISH__INIT;
    pub.signed_ = (Flagpost__SignedEnvelope *)(uintptr_t)&f->se;
    pub.parts = (ProtobufCBinaryData *)(uintptr_t)f->parts;
    pub.n_parts = f->n_parts;
    Flagpost__ToBroker msg = FLAGPOST__TO_BROKER__INIT;
    msg.kind_case = FLAGPOST__TO_BROKER__KIND_PUBLISH;
    msg.publish = &pub;
    *len = flagpost__to_broker__get_packed_size(&msg);
    uint8_t *buf = malloc(*len);
    if (buf != NULL)
        flagpost__to_broker__pack(&msg, buf);
    return buf;
}

#endif
