/*
 * Unit tests for lib/envelope.c: signatures over the exact envelope bytes
 * with the "flagpost-env-v1" context, the shape checks envelope_decode
 * makes, the clock-skew check and message-id hex.
 */
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "envelope.h"

typedef struct keys {
    unsigned char pk[crypto_sign_PUBLICKEYBYTES];
    unsigned char sk[crypto_sign_SECRETKEYBYTES];
} keys;

static const unsigned char ID16[16] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
                                       0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};
static unsigned char hash32[32];
static unsigned char body[] = {0x0a, 0x03, 'a', 'b', 'c'};

/* A well-formed envelope; tests then break one thing at a time. */
static void good_envelope(Flagpost__Envelope *e)
{
    flagpost__envelope__init(e);
    e->wire_version = ENVELOPE_WIRE_VERSION;
    e->message_id.data = (uint8_t *)(uintptr_t)ID16;
    e->message_id.len = sizeof ID16;
    e->type = FLAGPOST__MESSAGE_TYPE__MESSAGE_FLAG;
    e->sender = (char *)"police-met";
    e->created_ms = 1700000000123;
    memset(hash32, 0x5a, sizeof hash32);
    e->policy_hash.data = hash32;
    e->policy_hash.len = sizeof hash32;
    e->body.data = body;
    e->body.len = sizeof body;
}

/* Pack e into s without signing: envelope_decode only reads the bytes. */
static void pack_unsigned(const Flagpost__Envelope *e, Flagpost__SignedEnvelope *s)
{
    flagpost__signed_envelope__init(s);
    s->envelope.len = flagpost__envelope__get_packed_size(e);
    s->envelope.data = malloc(s->envelope.len + 1);
    flagpost__envelope__pack(e, s->envelope.data);
}

static int decode_code(const Flagpost__Envelope *e, fp_error *err)
{
    Flagpost__SignedEnvelope s;
    pack_unsigned(e, &s);
    Flagpost__Envelope *out = (Flagpost__Envelope *)(uintptr_t)1;
    int rc = envelope_decode(&s, &out, err);
    if (rc != FP_OK && out != NULL) {
        printf("#   envelope_decode failed but left *out set\n");
        rc = FP_ERR_INTERNAL;
    }
    if (out != NULL && rc == FP_OK)
        flagpost__envelope__free_unpacked(out, NULL);
    free(s.envelope.data);
    return rc;
}

static void test_sign_verify_decode_round_trip(void)
{
    keys k;
    crypto_sign_keypair(k.pk, k.sk);
    Flagpost__Envelope e;
    good_envelope(&e);
    Flagpost__SignedEnvelope s;
    fp_error err = {0};
    CHECK_EQ_INT(envelope_sign(&e, k.sk, &s, &err), FP_OK);
    CHECK_EQ_INT(s.signature.len, crypto_sign_BYTES);
    CHECK_EQ_INT(s.envelope.len, flagpost__envelope__get_packed_size(&e));
    CHECK_EQ_INT(envelope_verify(&s, k.pk, &err), FP_OK);
    Flagpost__Envelope *d = NULL;
    CHECK_EQ_INT(envelope_decode(&s, &d, &err), FP_OK);
    CHECK(d != NULL);
    if (d != NULL) {
        CHECK_EQ_INT(d->wire_version, 1);
        CHECK(d->message_id.len == 16 && memcmp(d->message_id.data, ID16, 16) == 0);
        CHECK_EQ_STR(d->sender, "police-met");
        CHECK_EQ_INT(d->created_ms, 1700000000123);
        CHECK_EQ_INT(d->type, FLAGPOST__MESSAGE_TYPE__MESSAGE_FLAG);
        CHECK(d->body.len == sizeof body && memcmp(d->body.data, body, sizeof body) == 0);
        CHECK(d->policy_hash.len == 32 && memcmp(d->policy_hash.data, hash32, 32) == 0);
        flagpost__envelope__free_unpacked(d, NULL);
    }
    envelope_signed_release(&s);
    CHECK(s.envelope.data == NULL && s.signature.data == NULL);
    CHECK_EQ_INT(s.envelope.len, 0);
}

/* The signature is Ed25519 over context || bytes, checked independently
 * of envelope_verify, so a signature for one purpose cannot serve another. */
static void test_signature_covers_context_and_exact_bytes(void)
{
    keys k;
    crypto_sign_keypair(k.pk, k.sk);
    Flagpost__Envelope e;
    good_envelope(&e);
    Flagpost__SignedEnvelope s;
    CHECK_EQ_INT(envelope_sign(&e, k.sk, &s, NULL), FP_OK);
    const char ctx[] = "flagpost-env-v1";
    size_t n = strlen(ctx) + s.envelope.len;
    unsigned char *msg = malloc(n);
    memcpy(msg, ctx, strlen(ctx));
    memcpy(msg + strlen(ctx), s.envelope.data, s.envelope.len);
    CHECK_EQ_INT(crypto_sign_verify_detached(s.signature.data, msg, n, k.pk), 0);
    /* Without the context, the same signature is not valid. */
    CHECK(crypto_sign_verify_detached(s.signature.data, s.envelope.data, s.envelope.len,
                                      k.pk) != 0);
    /* A different context (e.g. the certificate one) is not valid either. */
    memcpy(msg, "flagpost-crt-v1", strlen(ctx));
    CHECK(crypto_sign_verify_detached(s.signature.data, msg, n, k.pk) != 0);
    free(msg);
    envelope_signed_release(&s);
}

static void test_tampering_any_byte_fails(void)
{
    keys k;
    crypto_sign_keypair(k.pk, k.sk);
    Flagpost__Envelope e;
    good_envelope(&e);
    Flagpost__SignedEnvelope s;
    CHECK_EQ_INT(envelope_sign(&e, k.sk, &s, NULL), FP_OK);
    size_t env_accepted = 0, sig_accepted = 0;
    for (size_t i = 0; i < s.envelope.len; i++) {
        for (int bit = 0; bit < 8; bit += 7) {
            s.envelope.data[i] ^= (uint8_t)(1u << bit);
            fp_error err = {0};
            if (envelope_verify(&s, k.pk, &err) != FP_ERR_CRYPTO)
                env_accepted++;
            s.envelope.data[i] ^= (uint8_t)(1u << bit);
        }
    }
    for (size_t i = 0; i < s.signature.len; i++) {
        s.signature.data[i] ^= 0x01;
        if (envelope_verify(&s, k.pk, NULL) != FP_ERR_CRYPTO)
            sig_accepted++;
        s.signature.data[i] ^= 0x01;
    }
    CHECK_EQ_INT(env_accepted, 0);
    CHECK_EQ_INT(sig_accepted, 0);
    /* Truncated or extended envelope bytes fail too. */
    s.envelope.len--;
    CHECK_EQ_INT(envelope_verify(&s, k.pk, NULL), FP_ERR_CRYPTO);
    s.envelope.len++;
    CHECK_EQ_INT(envelope_verify(&s, k.pk, NULL), FP_OK);   /* restored: still good */
    envelope_signed_release(&s);
}

static void test_wrong_key_and_bad_signature_length(void)
{
    keys k, other;
    crypto_sign_keypair(k.pk, k.sk);
    crypto_sign_keypair(other.pk, other.sk);
    Flagpost__Envelope e;
    good_envelope(&e);
    Flagpost__SignedEnvelope s;
    CHECK_EQ_INT(envelope_sign(&e, k.sk, &s, NULL), FP_OK);
    fp_error err = {0};
    CHECK_EQ_INT(envelope_verify(&s, other.pk, &err), FP_ERR_CRYPTO);
    CHECK_EQ_INT(err.code, FP_ERR_CRYPTO);
    CHECK(strstr(err.message, "does not verify") != NULL);
    size_t real = s.signature.len;
    s.signature.len = real - 1;
    CHECK_EQ_INT(envelope_verify(&s, k.pk, &err), FP_ERR_CRYPTO);
    CHECK(strstr(err.message, "63 bytes") != NULL);
    s.signature.len = 0;
    CHECK_EQ_INT(envelope_verify(&s, k.pk, NULL), FP_ERR_CRYPTO);
    s.signature.len = real;
    envelope_signed_release(&s);
}

static void test_empty_envelope_signs_and_verifies(void)
{
    /* An all-default Envelope packs to zero bytes; sign/verify must still
     * work (decode then refuses it). */
    keys k;
    crypto_sign_keypair(k.pk, k.sk);
    Flagpost__Envelope e;
    flagpost__envelope__init(&e);
    Flagpost__SignedEnvelope s;
    CHECK_EQ_INT(envelope_sign(&e, k.sk, &s, NULL), FP_OK);
    CHECK_EQ_INT(s.envelope.len, 0);
    CHECK_EQ_INT(envelope_verify(&s, k.pk, NULL), FP_OK);
    Flagpost__Envelope *d = NULL;
    fp_error err = {0};
    CHECK_EQ_INT(envelope_decode(&s, &d, &err), FP_ERR_VERSION);
    CHECK(d == NULL);
    envelope_signed_release(&s);
}

static void test_decode_refuses_other_wire_versions(void)
{
    Flagpost__Envelope e;
    good_envelope(&e);
    fp_error err = {0};
    e.wire_version = 2;
    CHECK_EQ_INT(decode_code(&e, &err), FP_ERR_VERSION);
    CHECK(strstr(err.message, "wire_version 2") != NULL);
    e.wire_version = 0;
    CHECK_EQ_INT(decode_code(&e, &err), FP_ERR_VERSION);
    e.wire_version = UINT32_MAX;
    CHECK_EQ_INT(decode_code(&e, &err), FP_ERR_VERSION);
    e.wire_version = 1;
    CHECK_EQ_INT(decode_code(&e, &err), FP_OK);
}

static void test_decode_refuses_bad_message_id(void)
{
    Flagpost__Envelope e;
    good_envelope(&e);
    unsigned char id17[17] = {0};
    fp_error err = {0};
    size_t lens[] = {0, 1, 15, 17};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        e.message_id.data = id17;
        e.message_id.len = lens[i];
        CHECK_EQ_INT(decode_code(&e, &err), FP_ERR_INPUT);
        CHECK(strstr(err.message, "message_id") != NULL);
    }
    e.message_id.len = 16;
    CHECK_EQ_INT(decode_code(&e, &err), FP_OK);
}

static void test_decode_refuses_bad_sender(void)
{
    Flagpost__Envelope e;
    good_envelope(&e);
    char long_id[80];
    memset(long_id, 'a', sizeof long_id);
    long_id[64] = '\0';   /* 64 characters: one too many */
    char *bad[] = {(char *)"", (char *)"Police", (char *)"-police", (char *)"_x",
                   (char *)"police met", (char *)"police/met", (char *)"p\xc3\xa9", long_id};
    fp_error err = {0};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        e.sender = bad[i];
        int rc = decode_code(&e, &err);
        if (rc != FP_ERR_INPUT)
            printf("#   sender '%s' gave %d\n", bad[i], rc);
        CHECK_EQ_INT(rc, FP_ERR_INPUT);
        CHECK(strstr(err.message, "sender") != NULL);
    }
    long_id[63] = '\0';   /* 63 is the longest valid id */
    char *good[] = {(char *)"a", (char *)"0agency", (char *)"idva_north-2", long_id};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        e.sender = good[i];
        CHECK_EQ_INT(decode_code(&e, &err), FP_OK);
    }
}

/* Raw Envelope bytes: wire_version 1, a 16-byte id, type FLAG, and the
 * given sender bytes (which may hold a NUL, as the wire allows). */
static size_t raw_envelope(uint8_t *out, const char *sender, size_t sender_len)
{
    size_t n = 0;
    out[n++] = 0x08;   /* field 1, varint */
    out[n++] = 0x01;
    out[n++] = 0x12;   /* field 2, bytes */
    out[n++] = 16;
    memcpy(out + n, ID16, 16);
    n += 16;
    out[n++] = 0x18;   /* field 3, varint */
    out[n++] = 0x01;
    out[n++] = 0x22;   /* field 4, string */
    out[n++] = (uint8_t)sender_len;
    memcpy(out + n, sender, sender_len);
    return n + sender_len;
}

/* The sender on the wire must be exactly a valid agency id.  "police",
 * a NUL and more bytes reads as "police" in C, so the id the broker checks
 * against the connection and writes to the audit trail would differ from
 * the signed bytes. */
static void test_decode_refuses_sender_with_nul(void)
{
    uint8_t raw[64];
    Flagpost__SignedEnvelope s;
    flagpost__signed_envelope__init(&s);
    s.envelope.data = raw;
    Flagpost__Envelope *d = NULL;
    fp_error err = {0};
    s.envelope.len = raw_envelope(raw, "police", 6);
    CHECK_EQ_INT(envelope_decode(&s, &d, &err), FP_OK);   /* the control */
    if (d != NULL)
        flagpost__envelope__free_unpacked(d, NULL);
    d = NULL;
    s.envelope.len = raw_envelope(raw, "police\0health", 13);
    int rc = envelope_decode(&s, &d, &err);
    if (rc == FP_OK)
        printf("#   sender \"police\\0health\" was accepted as \"%s\"\n", d->sender);
    CHECK_EQ_INT(rc, FP_ERR_INPUT);
    if (d != NULL)
        flagpost__envelope__free_unpacked(d, NULL);
}

static void test_decode_policy_hash_is_empty_or_32(void)
{
    Flagpost__Envelope e;
    good_envelope(&e);
    unsigned char h[33] = {0};
    fp_error err = {0};
    e.policy_hash.data = h;
    e.policy_hash.len = 0;
    CHECK_EQ_INT(decode_code(&e, &err), FP_OK);
    e.policy_hash.len = 32;
    CHECK_EQ_INT(decode_code(&e, &err), FP_OK);
    e.policy_hash.len = 31;
    CHECK_EQ_INT(decode_code(&e, &err), FP_ERR_INPUT);
    CHECK(strstr(err.message, "policy_hash") != NULL);
    e.policy_hash.len = 33;
    CHECK_EQ_INT(decode_code(&e, &err), FP_ERR_INPUT);
    e.policy_hash.len = 1;
    CHECK_EQ_INT(decode_code(&e, &err), FP_ERR_INPUT);
}

static void test_decode_refuses_garbage(void)
{
    /* Field 1 as a length-delimited field with a length past the end. */
    uint8_t junk[] = {0x0a, 0x7f, 0x01};
    Flagpost__SignedEnvelope s;
    flagpost__signed_envelope__init(&s);
    s.envelope.data = junk;
    s.envelope.len = sizeof junk;
    Flagpost__Envelope *d = (Flagpost__Envelope *)(uintptr_t)1;
    fp_error err = {0};
    CHECK_EQ_INT(envelope_decode(&s, &d, &err), FP_ERR_INPUT);
    CHECK(d == NULL);
    CHECK(strstr(err.message, "not a valid protobuf") != NULL);
}

static void test_check_time_skew(void)
{
    Flagpost__Envelope e;
    good_envelope(&e);
    int64_t now = 1700000000000;
    int64_t skew = ENVELOPE_DEFAULT_SKEW_MS;
    fp_error err = {0};
    e.created_ms = now;
    CHECK_EQ_INT(envelope_check_time(&e, now, skew, &err), FP_OK);
    e.created_ms = now + skew;
    CHECK_EQ_INT(envelope_check_time(&e, now, skew, &err), FP_OK);
    e.created_ms = now - skew;
    CHECK_EQ_INT(envelope_check_time(&e, now, skew, &err), FP_OK);
    e.created_ms = now + skew + 1;
    CHECK_EQ_INT(envelope_check_time(&e, now, skew, &err), FP_ERR_TIME);
    CHECK(strstr(err.message, "ahead of") != NULL);
    e.created_ms = now - skew - 1;
    CHECK_EQ_INT(envelope_check_time(&e, now, skew, &err), FP_ERR_TIME);
    CHECK(strstr(err.message, "behind") != NULL);
    CHECK(strstr(err.message, "300 s") != NULL);
    e.created_ms = 0;   /* a sender with no clock at all */
    CHECK_EQ_INT(envelope_check_time(&e, now, skew, &err), FP_ERR_TIME);
    e.created_ms = now + 1;
    CHECK_EQ_INT(envelope_check_time(&e, now, 0, &err), FP_ERR_TIME);
}

/* created_ms is whatever the sender signed: the extremes are refused,
 * with the true distance in the message (now - INT64_MIN ms below), not
 * overflowed into a small or accepted difference. */
static void test_check_time_extremes(void)
{
    Flagpost__Envelope e;
    good_envelope(&e);
    int64_t now = 1700000000000;
    fp_error err = {0};
    e.created_ms = INT64_MIN;
    CHECK_EQ_INT(envelope_check_time(&e, now, ENVELOPE_DEFAULT_SKEW_MS, &err), FP_ERR_TIME);
    CHECK(strstr(err.message, "behind") != NULL);
    CHECK(strstr(err.message, "9223373736854775 s") != NULL);
    e.created_ms = INT64_MAX;
    CHECK_EQ_INT(envelope_check_time(&e, now, ENVELOPE_DEFAULT_SKEW_MS, &err), FP_ERR_TIME);
    CHECK(strstr(err.message, "ahead of") != NULL);
    e.created_ms = -1;
    CHECK_EQ_INT(envelope_check_time(&e, now, ENVELOPE_DEFAULT_SKEW_MS, &err), FP_ERR_TIME);
}

static void test_now_ms_is_current(void)
{
    int64_t a = envelope_now_ms();
    CHECK(a > 1600000000000);   /* after 2020 */
    CHECK(envelope_now_ms() >= a);
}

static void test_id_hex_round_trip(void)
{
    char hex[33];
    envelope_id_hex(ID16, 16, hex);
    CHECK_EQ_STR(hex, "00112233445566778899aabbccddeeff");
    unsigned char back[16];
    CHECK_EQ_INT(envelope_id_parse(hex, back, NULL), FP_OK);
    CHECK(memcmp(back, ID16, 16) == 0);
    for (int i = 0; i < 50; i++) {
        unsigned char id[16], again[16];
        envelope_new_id(id);
        envelope_id_hex(id, 16, hex);
        CHECK_EQ_INT(strlen(hex), 32);
        CHECK_EQ_INT(envelope_id_parse(hex, again, NULL), FP_OK);
        CHECK(memcmp(id, again, 16) == 0);
    }
    /* Upper case is the same id. */
    CHECK_EQ_INT(envelope_id_parse("00112233445566778899AABBCCDDEEFF", back, NULL), FP_OK);
    CHECK(memcmp(back, ID16, 16) == 0);
}

static void test_id_hex_malformed_input(void)
{
    char hex[33];
    envelope_id_hex(ID16, 15, hex);
    CHECK_EQ_STR(hex, "-");
    envelope_id_hex(NULL, 16, hex);
    CHECK_EQ_STR(hex, "-");
    envelope_id_hex(ID16, 17, hex);
    CHECK_EQ_STR(hex, "-");
}

static void test_id_parse_errors(void)
{
    const char *bad[] = {"",
                         "00112233445566778899aabbccddeef",     /* 31 */
                         "00112233445566778899aabbccddeeff0",   /* 33 */
                         "00112233445566778899aabbccddeefg",    /* non-hex */
                         "0x112233445566778899aabbccddeeff",
                         "00112233445566778899aabbccddee f",
                         "00112233-4455-6677-8899-aabbccddeeff"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        unsigned char id[16];
        fp_error err = {0};
        int rc = envelope_id_parse(bad[i], id, &err);
        if (rc != FP_ERR_INPUT)
            printf("#   '%s' parsed\n", bad[i]);
        CHECK_EQ_INT(rc, FP_ERR_INPUT);
        CHECK(strstr(err.message, "32 hex digits") != NULL);
    }
}

static void test_new_ids_differ(void)
{
    unsigned char a[16], b[16];
    envelope_new_id(a);
    envelope_new_id(b);
    CHECK(memcmp(a, b, 16) != 0);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    RUN(test_sign_verify_decode_round_trip);
    RUN(test_signature_covers_context_and_exact_bytes);
    RUN(test_tampering_any_byte_fails);
    RUN(test_wrong_key_and_bad_signature_length);
    RUN(test_empty_envelope_signs_and_verifies);
    RUN(test_decode_refuses_other_wire_versions);
    RUN(test_decode_refuses_bad_message_id);
    RUN(test_decode_refuses_bad_sender);
    RUN(test_decode_refuses_sender_with_nul);
    RUN(test_decode_policy_hash_is_empty_or_32);
    RUN(test_decode_refuses_garbage);
    RUN(test_check_time_skew);
    RUN(test_check_time_extremes);
    RUN(test_now_ms_is_current);
    RUN(test_id_hex_round_trip);
    RUN(test_id_hex_malformed_input);
    RUN(test_id_parse_errors);
    RUN(test_new_ids_differ);
    return check_summary();
}
