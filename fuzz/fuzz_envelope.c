/*
 * fuzz_envelope: libFuzzer target for the envelope decoder (lib/envelope.c).
 *
 * In the broker and the agents, envelope_decode only ever sees bytes whose
 * signature has verified, so a fuzzer that had to forge Ed25519 signatures
 * would never get past envelope_verify.  This harness therefore fakes the
 * verification step: it hands the decoder bytes as if they had verified.
 * The first input byte picks what the rest is:
 *
 *   0  Envelope bytes, decoded as if their signature had verified
 *   1  a SignedEnvelope: unpacked, verified against a fixed key (forged
 *      input must never verify), then decoded regardless
 *   2  text for envelope_id_parse (and envelope_id_hex on the result)
 *   3  Envelope bytes signed by the harness with the fixed key, then run
 *      through verify and decode exactly as a receiver would
 *
 * Whatever envelope_decode accepts must satisfy its promises (wire version
 * 1, a 16-byte message id, a valid sender, an empty or 32-byte policy hash)
 * and must survive sign -> verify -> decode with the same field values.
 *
 * Built and run by scripts/fuzz; seeds in fuzz/corpus/envelope were made by
 * this file built with -DFUZZ_ENVELOPE_WRITE_SEEDS (no -fsanitize=fuzzer):
 *   fuzz_envelope_seeds DIR
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cert.h"
#include "envelope.h"
#include "flagpost.pb-c.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const unsigned char fuzz_seed[32] = "flagpost-fuzz-envelope-fixed-key";

static void fuzz_keys(unsigned char pk[32], unsigned char sk[64])
{
    static int ready;
    static unsigned char kpk[32], ksk[64];
    if (!ready) {
        if (sodium_init() < 0)
            abort();
        crypto_sign_seed_keypair(kpk, ksk, fuzz_seed);
        ready = 1;
    }
    memcpy(pk, kpk, 32);
    memcpy(sk, ksk, 64);
}

static int bin_eq(ProtobufCBinaryData a, ProtobufCBinaryData b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.data, b.data, a.len) == 0);
}

/* An accepted envelope keeps every promise, re-signs and decodes again to
 * the same values. */
static void fuzz_check_accepted(const Flagpost__Envelope *e)
{
    unsigned char pk[32], sk[64];
    fuzz_keys(pk, sk);
    if (e->wire_version != ENVELOPE_WIRE_VERSION || e->message_id.len != ENVELOPE_ID_LEN ||
        !cert_agency_id_valid(e->sender) ||
        (e->policy_hash.len != 0 && e->policy_hash.len != 32))
        abort();
    char hex[2 * ENVELOPE_ID_LEN + 1];
    envelope_id_hex(e->message_id.data, e->message_id.len, hex);
    unsigned char back[ENVELOPE_ID_LEN];
    if (envelope_id_parse(hex, back, NULL) != FP_OK ||
        memcmp(back, e->message_id.data, ENVELOPE_ID_LEN) != 0)
        abort();
    envelope_check_time(e, 1700000000000, ENVELOPE_DEFAULT_SKEW_MS, NULL);

    /* protobuf-c keeps unknown fields and writes them back out, including
     * a field number 0 reached through a two-byte tag, which it then
     * refuses to read back.  Agents only sign envelopes they built
     * themselves, so the round trip is checked only without them. */
    if (e->base.n_unknown_fields > 0)
        return;
    Flagpost__SignedEnvelope s;
    if (envelope_sign(e, sk, &s, NULL) != FP_OK || envelope_verify(&s, pk, NULL) != FP_OK)
        abort();
    Flagpost__Envelope *again = NULL;
    if (envelope_decode(&s, &again, NULL) != FP_OK)
        abort();
    if (again->wire_version != e->wire_version || again->type != e->type ||
        strcmp(again->sender, e->sender) != 0 || again->created_ms != e->created_ms ||
        !bin_eq(again->message_id, e->message_id) ||
        !bin_eq(again->policy_hash, e->policy_hash) || !bin_eq(again->body, e->body))
        abort();
    flagpost__envelope__free_unpacked(again, NULL);
    envelope_signed_release(&s);
}

static void fuzz_decode(const Flagpost__SignedEnvelope *s)
{
    Flagpost__Envelope *e = NULL;
    fp_error err;
    int rc = envelope_decode(s, &e, &err);
    if (rc == FP_OK) {
        if (e == NULL)
            abort();
        fuzz_check_accepted(e);
        flagpost__envelope__free_unpacked(e, NULL);
    } else if (e != NULL || err.code != rc || err.message[0] == '\0') {
        abort();   /* a refusal leaves nothing behind and says why */
    }
}

static void fuzz_signed(const uint8_t *body, size_t len)
{
    unsigned char pk[32], sk[64];
    fuzz_keys(pk, sk);
    Flagpost__SignedEnvelope *s = flagpost__signed_envelope__unpack(NULL, len, body);
    if (s == NULL)
        return;
    if (envelope_verify(s, pk, NULL) == FP_OK) {
        /* Only the seeds carry real signatures; nothing else may verify. */
        unsigned char *msg = malloc(15 + s->envelope.len);
        memcpy(msg, "flagpost-env-v1", 15);
        if (s->envelope.len > 0)
            memcpy(msg + 15, s->envelope.data, s->envelope.len);
        int bad = crypto_sign_verify_detached(s->signature.data, msg, 15 + s->envelope.len, pk);
        free(msg);
        if (bad)
            abort();
    }
    fuzz_decode(s);
    flagpost__signed_envelope__free_unpacked(s, NULL);
}

static void fuzz_id_text(const uint8_t *body, size_t len)
{
    char text[80];
    if (len >= sizeof text)
        len = sizeof text - 1;
    memcpy(text, body, len);
    text[len] = '\0';
    unsigned char id[ENVELOPE_ID_LEN];
    if (envelope_id_parse(text, id, NULL) == FP_OK) {
        char hex[2 * ENVELOPE_ID_LEN + 1];
        envelope_id_hex(id, sizeof id, hex);
        if (strlen(text) != 32 || strcasecmp(hex, text) != 0)
            abort();
    }
}

static void fuzz_harness_signed(const uint8_t *body, size_t len)
{
    unsigned char pk[32], sk[64];
    fuzz_keys(pk, sk);
    unsigned char *msg = malloc(15 + len);
    memcpy(msg, "flagpost-env-v1", 15);
    if (len > 0)
        memcpy(msg + 15, body, len);
    unsigned char sig[64];
    crypto_sign_detached(sig, NULL, msg, 15 + len, sk);
    free(msg);
    Flagpost__SignedEnvelope s = FLAGPOST__SIGNED_ENVELOPE__INIT;
    s.envelope.data = (uint8_t *)(uintptr_t)body;
    s.envelope.len = len;
    s.signature.data = sig;
    s.signature.len = sizeof sig;
    if (envelope_verify(&s, pk, NULL) != FP_OK)
        abort();
    fuzz_decode(&s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned char pk[32], sk[64];
    fuzz_keys(pk, sk);
    const uint8_t *body = data + 1;
    size_t len = size - 1;
    Flagpost__SignedEnvelope s = FLAGPOST__SIGNED_ENVELOPE__INIT;
    switch (data[0] & 3) {
    case 0:
        s.envelope.data = (uint8_t *)(uintptr_t)body;
        s.envelope.len = len;
        fuzz_decode(&s);
        break;
    case 1:
        fuzz_signed(body, len);
        break;
    case 2:
        fuzz_id_text(body, len);
        break;
    case 3:
        fuzz_harness_signed(body, len);
        break;
    }
    return 0;
}

#ifdef FUZZ_ENVELOPE_WRITE_SEEDS
static void seed_write(const char *dir, const char *name, uint8_t mode, const uint8_t *b,
                       size_t len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (f == NULL || fputc(mode, f) == EOF || (len && fwrite(b, 1, len, f) != len) ||
        fclose(f) != 0)
        abort();
}

int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    unsigned char pk[32], sk[64];
    fuzz_keys(pk, sk);
    static const char *senders[] = {"police-met", "idva", "a"};
    unsigned char hash[32], body[] = {0x0a, 0x10, 1, 2, 3, 4, 5, 6, 7, 8,
                                      9, 10, 11, 12, 13, 14, 15, 16, 0x10, 0x01};
    memset(hash, 0x5a, sizeof hash);
    for (int i = 0; i < 3; i++) {
        unsigned char id[16];
        memset(id, 0x10 + i, sizeof id);
        Flagpost__Envelope e = FLAGPOST__ENVELOPE__INIT;
        e.wire_version = i == 2 ? 2 : 1;   /* the last one is refused */
        e.message_id.data = id;
        e.message_id.len = 16;
        e.type = (Flagpost__MessageType)(i + 1);
        e.sender = (char *)(uintptr_t)senders[i];
        e.created_ms = 1700000000000 + i;
        e.policy_hash.data = hash;
        e.policy_hash.len = i == 1 ? 0 : 32;
        e.body.data = body;
        e.body.len = sizeof body;
        size_t len = flagpost__envelope__get_packed_size(&e);
        uint8_t *raw = malloc(len);
        flagpost__envelope__pack(&e, raw);
        char name[64];
        snprintf(name, sizeof name, "envelope-%d", i);
        seed_write(argv[1], name, 0, raw, len);
        snprintf(name, sizeof name, "harness-signed-%d", i);
        seed_write(argv[1], name, 3, raw, len);
        free(raw);
        Flagpost__SignedEnvelope s;
        if (envelope_sign(&e, sk, &s, NULL) != FP_OK)
            return 1;
        len = flagpost__signed_envelope__get_packed_size(&s);
        uint8_t *packed = malloc(len);
        flagpost__signed_envelope__pack(&s, packed);
        snprintf(name, sizeof name, "signed-%d", i);
        seed_write(argv[1], name, 1, packed, len);
        free(packed);
        envelope_signed_release(&s);
    }
    const char *ids[] = {"00112233445566778899aabbccddeeff", "00112233445566778899AABBCCDDEEF",
                         "zz112233445566778899aabbccddeeff"};
    for (int i = 0; i < 3; i++) {
        char name[64];
        snprintf(name, sizeof name, "id-%d", i);
        seed_write(argv[1], name, 2, (const uint8_t *)ids[i], strlen(ids[i]));
    }
    return 0;
}
#endif
