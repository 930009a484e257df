/*
 * Unit tests for lib/payload.c: sealing per-recipient payloads with
 * crypto_box through the shared-key cache, and everything that must stop
 * a payload from opening.
 */
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "payload.h"

typedef struct party {
    unsigned char pk[crypto_box_PUBLICKEYBYTES];
    unsigned char sk[crypto_box_SECRETKEYBYTES];
    box_cache *bc;
} party;

static int party_new(party *p)
{
    crypto_box_keypair(p->pk, p->sk);
    p->bc = NULL;
    return box_cache_new(&p->bc, p->sk, NULL);
}

static void party_free(party *p)
{
    box_cache_free(p->bc);
    p->bc = NULL;
}

static unsigned char MSG_ID[16] = "0123456789abcdef";

/* A payload with two fields; strings point at static storage. */
typedef struct sample {
    Flagpost__Payload p;
    Flagpost__FieldValue f[2];
    Flagpost__FieldValue *fp[2];
} sample;

static void sample_init(sample *s, const char *recipient)
{
    flagpost__payload__init(&s->p);
    s->p.message_id.data = MSG_ID;
    s->p.message_id.len = 16;
    s->p.recipient = (char *)(uintptr_t)recipient;
    for (int i = 0; i < 2; i++) {
        flagpost__field_value__init(&s->f[i]);
        s->fp[i] = &s->f[i];
    }
    s->f[0].name = (char *)"safe_contact";
    s->f[0].value = (char *)"call the refuge on 0000, never the home number";
    s->f[1].name = (char *)"risk_summary";
    s->f[1].value = (char *)"";
    s->p.fields = s->fp;
    s->p.n_fields = 2;
}

static void test_seal_open_round_trip(void)
{
    party a, b;
    CHECK_EQ_INT(party_new(&a), FP_OK);
    CHECK_EQ_INT(party_new(&b), FP_OK);
    sample s;
    sample_init(&s, "housing-hf");
    Flagpost__RecipientPart part;
    flagpost__recipient_part__init(&part);
    fp_error err = {0};
    CHECK_EQ_INT(payload_seal(a.bc, b.pk, &s.p, &part, &err), FP_OK);
    CHECK_EQ_INT(part.nonce.len, crypto_box_NONCEBYTES);
    CHECK_EQ_INT(part.ciphertext.len,
                 flagpost__payload__get_packed_size(&s.p) + crypto_box_MACBYTES);
    Flagpost__Payload *out = NULL;
    CHECK_EQ_INT(payload_open(b.bc, a.pk, &part, &out, &err), FP_OK);
    CHECK(out != NULL);
    if (out != NULL) {
        CHECK(out->message_id.len == 16 && memcmp(out->message_id.data, MSG_ID, 16) == 0);
        CHECK_EQ_STR(out->recipient, "housing-hf");
        CHECK_EQ_INT(out->n_fields, 2);
        if (out->n_fields == 2) {
            CHECK_EQ_STR(out->fields[0]->name, "safe_contact");
            CHECK_EQ_STR(out->fields[0]->value, s.f[0].value);
            CHECK_EQ_STR(out->fields[1]->name, "risk_summary");
            CHECK_EQ_STR(out->fields[1]->value, "");
        }
        payload_free(out);
    }
    /* The sealed part is a plain crypto_box: open it without the cache. */
    size_t mlen = part.ciphertext.len - crypto_box_MACBYTES;
    unsigned char *plain = malloc(mlen + 1);
    CHECK_EQ_INT(crypto_box_open_easy(plain, part.ciphertext.data, part.ciphertext.len,
                                      part.nonce.data, a.pk, b.sk),
                 0);
    free(plain);
    /* And the sender can open what it sealed to b, using b as "sender". */
    CHECK_EQ_INT(payload_open(a.bc, b.pk, &part, &out, &err), FP_OK);
    payload_free(out);
    payload_part_release(&part);
    CHECK(part.nonce.data == NULL && part.ciphertext.data == NULL);
    CHECK_EQ_INT(part.ciphertext.len, 0);
    payload_free(NULL);
    party_free(&a);
    party_free(&b);
}

static void test_nonce_fresh_each_seal(void)
{
    party a, b;
    party_new(&a);
    party_new(&b);
    sample s;
    sample_init(&s, "b");
    Flagpost__RecipientPart p1, p2;
    flagpost__recipient_part__init(&p1);
    flagpost__recipient_part__init(&p2);
    CHECK_EQ_INT(payload_seal(a.bc, b.pk, &s.p, &p1, NULL), FP_OK);
    CHECK_EQ_INT(payload_seal(a.bc, b.pk, &s.p, &p2, NULL), FP_OK);
    CHECK(memcmp(p1.nonce.data, p2.nonce.data, crypto_box_NONCEBYTES) != 0);
    CHECK(p1.ciphertext.len == p2.ciphertext.len &&
          memcmp(p1.ciphertext.data, p2.ciphertext.data, p1.ciphertext.len) != 0);
    payload_part_release(&p1);
    payload_part_release(&p2);
    party_free(&a);
    party_free(&b);
}

static void test_other_recipient_or_wrong_sender_cannot_open(void)
{
    party a, b, c;
    party_new(&a);
    party_new(&b);
    party_new(&c);
    sample s;
    sample_init(&s, "b");
    Flagpost__RecipientPart part;
    flagpost__recipient_part__init(&part);
    CHECK_EQ_INT(payload_seal(a.bc, b.pk, &s.p, &part, NULL), FP_OK);
    Flagpost__Payload *out = (Flagpost__Payload *)(uintptr_t)1;
    fp_error err = {0};
    /* c is not the recipient. */
    CHECK_EQ_INT(payload_open(c.bc, a.pk, &part, &out, &err), FP_ERR_CRYPTO);
    CHECK(out == NULL);
    CHECK(strstr(err.message, "does not decrypt") != NULL);
    /* b is, but c did not write it. */
    CHECK_EQ_INT(payload_open(b.bc, c.pk, &part, &out, &err), FP_ERR_CRYPTO);
    CHECK(out == NULL);
    /* Nor did b itself. */
    CHECK_EQ_INT(payload_open(b.bc, b.pk, &part, &out, &err), FP_ERR_CRYPTO);
    /* The right pair still opens it after those failures. */
    CHECK_EQ_INT(payload_open(b.bc, a.pk, &part, &out, &err), FP_OK);
    payload_free(out);
    payload_part_release(&part);
    party_free(&a);
    party_free(&b);
    party_free(&c);
}

static void test_tampered_ciphertext_or_nonce_fails(void)
{
    party a, b;
    party_new(&a);
    party_new(&b);
    sample s;
    sample_init(&s, "b");
    Flagpost__RecipientPart part;
    flagpost__recipient_part__init(&part);
    CHECK_EQ_INT(payload_seal(a.bc, b.pk, &s.p, &part, NULL), FP_OK);
    size_t opened = 0;
    for (size_t i = 0; i < part.ciphertext.len; i++) {
        part.ciphertext.data[i] ^= 0x80;
        Flagpost__Payload *out = NULL;
        if (payload_open(b.bc, a.pk, &part, &out, NULL) != FP_ERR_CRYPTO)
            opened++;
        payload_free(out);
        part.ciphertext.data[i] ^= 0x80;
    }
    for (size_t i = 0; i < part.nonce.len; i++) {
        part.nonce.data[i] ^= 0x01;
        Flagpost__Payload *out = NULL;
        if (payload_open(b.bc, a.pk, &part, &out, NULL) != FP_ERR_CRYPTO)
            opened++;
        payload_free(out);
        part.nonce.data[i] ^= 0x01;
    }
    CHECK_EQ_INT(opened, 0);
    /* Dropping the last byte breaks the MAC too. */
    part.ciphertext.len--;
    Flagpost__Payload *out = NULL;
    CHECK_EQ_INT(payload_open(b.bc, a.pk, &part, &out, NULL), FP_ERR_CRYPTO);
    part.ciphertext.len++;
    CHECK_EQ_INT(payload_open(b.bc, a.pk, &part, &out, NULL), FP_OK);
    payload_free(out);
    payload_part_release(&part);
    party_free(&a);
    party_free(&b);
}

static void test_shape_checks(void)
{
    party a, b;
    party_new(&a);
    party_new(&b);
    unsigned char *big = calloc(1, PAYLOAD_MAX_BYTES + crypto_box_MACBYTES + 1);
    unsigned char nonce[crypto_box_NONCEBYTES + 1] = {0};
    Flagpost__RecipientPart part;
    flagpost__recipient_part__init(&part);
    Flagpost__Payload *out = (Flagpost__Payload *)(uintptr_t)1;
    fp_error err = {0};
    part.nonce.data = nonce;
    part.ciphertext.data = big;
    struct {
        size_t nonce_len, cipher_len;
    } bad[] = {{0, 64}, {23, 64}, {25, 64}, {24, 0}, {24, crypto_box_MACBYTES - 1},
               {24, PAYLOAD_MAX_BYTES + crypto_box_MACBYTES + 1}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        part.nonce.len = bad[i].nonce_len;
        part.ciphertext.len = bad[i].cipher_len;
        out = (Flagpost__Payload *)(uintptr_t)1;
        CHECK_EQ_INT(payload_open(b.bc, a.pk, &part, &out, &err), FP_ERR_INPUT);
        CHECK(out == NULL);
        CHECK(strstr(err.message, "wrong shape") != NULL);
    }
    /* The largest allowed shape gets as far as the MAC check. */
    part.nonce.len = 24;
    part.ciphertext.len = PAYLOAD_MAX_BYTES + crypto_box_MACBYTES;
    CHECK_EQ_INT(payload_open(b.bc, a.pk, &part, &out, &err), FP_ERR_CRYPTO);
    part.ciphertext.len = crypto_box_MACBYTES;
    CHECK_EQ_INT(payload_open(b.bc, a.pk, &part, &out, &err), FP_ERR_CRYPTO);
    free(big);
    party_free(&a);
    party_free(&b);
}

static void test_empty_payload(void)
{
    party a, b;
    party_new(&a);
    party_new(&b);
    Flagpost__Payload p;
    flagpost__payload__init(&p);
    Flagpost__RecipientPart part;
    flagpost__recipient_part__init(&part);
    CHECK_EQ_INT(payload_seal(a.bc, b.pk, &p, &part, NULL), FP_OK);
    CHECK_EQ_INT(part.ciphertext.len, crypto_box_MACBYTES);
    Flagpost__Payload *out = NULL;
    CHECK_EQ_INT(payload_open(b.bc, a.pk, &part, &out, NULL), FP_OK);
    CHECK(out != NULL && out->n_fields == 0 && out->message_id.len == 0);
    payload_free(out);
    payload_part_release(&part);
    party_free(&a);
    party_free(&b);
}

/* Decrypts fine (it was sealed with the right keys) but is not a Payload. */
static void test_authentic_garbage_is_input_error(void)
{
    party a, b;
    party_new(&a);
    party_new(&b);
    unsigned char junk[] = {0x1a, 0x7f, 0x00};   /* field 3, length past the end */
    unsigned char nonce[crypto_box_NONCEBYTES];
    unsigned char cipher[sizeof junk + crypto_box_MACBYTES];
    randombytes_buf(nonce, sizeof nonce);
    CHECK_EQ_INT(crypto_box_easy(cipher, junk, sizeof junk, nonce, b.pk, a.sk), 0);
    Flagpost__RecipientPart part;
    flagpost__recipient_part__init(&part);
    part.nonce.data = nonce;
    part.nonce.len = sizeof nonce;
    part.ciphertext.data = cipher;
    part.ciphertext.len = sizeof cipher;
    Flagpost__Payload *out = (Flagpost__Payload *)(uintptr_t)1;
    fp_error err = {0};
    CHECK_EQ_INT(payload_open(b.bc, a.pk, &part, &out, &err), FP_ERR_INPUT);
    CHECK(out == NULL);
    CHECK(strstr(err.message, "not a valid Payload") != NULL);
    party_free(&a);
    party_free(&b);
}

/* A single field whose value makes the packed payload exactly `target`
 * bytes (the value is grown until it is). */
static size_t fit_value(Flagpost__Payload *p, char *value, size_t cap, size_t target)
{
    size_t n = 0;
    for (n = target > 64 ? target - 64 : 0; n < cap; n++) {
        memset(value, 'x', n);
        value[n] = '\0';
        size_t got = flagpost__payload__get_packed_size(p);
        if (got >= target)
            return got;
    }
    return 0;
}

static void test_size_limit(void)
{
    party a, b;
    party_new(&a);
    party_new(&b);
    size_t cap = PAYLOAD_MAX_BYTES + 64;
    char *value = malloc(cap + 1);
    Flagpost__FieldValue f;
    flagpost__field_value__init(&f);
    Flagpost__FieldValue *fp[1] = {&f};
    f.name = (char *)"notes";
    f.value = value;
    Flagpost__Payload p;
    flagpost__payload__init(&p);
    p.fields = fp;
    p.n_fields = 1;
    Flagpost__RecipientPart part;
    flagpost__recipient_part__init(&part);
    fp_error err = {0};

    CHECK_EQ_INT(fit_value(&p, value, cap, PAYLOAD_MAX_BYTES), PAYLOAD_MAX_BYTES);
    CHECK_EQ_INT(payload_seal(a.bc, b.pk, &p, &part, &err), FP_OK);
    Flagpost__Payload *out = NULL;
    CHECK_EQ_INT(payload_open(b.bc, a.pk, &part, &out, &err), FP_OK);
    CHECK(out != NULL && out->n_fields == 1 && strlen(out->fields[0]->value) == strlen(value));
    payload_free(out);
    payload_part_release(&part);

    CHECK_EQ_INT(fit_value(&p, value, cap, PAYLOAD_MAX_BYTES + 1), PAYLOAD_MAX_BYTES + 1);
    CHECK_EQ_INT(payload_seal(a.bc, b.pk, &p, &part, &err), FP_ERR_INPUT);
    CHECK(strstr(err.message, "fields") != NULL);
    CHECK(strstr(err.message, "262144") != NULL);
    CHECK(strstr(err.message, "xxxxxxxx") == NULL);   /* never the value */
    CHECK(part.ciphertext.data == NULL && part.nonce.data == NULL);
    free(value);
    party_free(&a);
    party_free(&b);
}

static void test_low_order_key_refused(void)
{
    party a;
    party_new(&a);
    unsigned char zero[32] = {0};
    sample s;
    sample_init(&s, "b");
    Flagpost__RecipientPart part;
    flagpost__recipient_part__init(&part);
    fp_error err = {0};
    CHECK_EQ_INT(payload_seal(a.bc, zero, &s.p, &part, &err), FP_ERR_CRYPTO);
    CHECK(strstr(err.message, "not usable") != NULL);
    CHECK(part.ciphertext.data == NULL);
    unsigned char nonce[24] = {0}, cipher[64] = {0};
    part.nonce.data = nonce;
    part.nonce.len = 24;
    part.ciphertext.data = cipher;
    part.ciphertext.len = 64;
    Flagpost__Payload *out = NULL;
    CHECK_EQ_INT(payload_open(a.bc, zero, &part, &out, &err), FP_ERR_CRYPTO);
    CHECK(out == NULL);
    party_free(&a);
}

#define MANY 300   /* more peers than the cache has slots (256) */

/* One sender talking to more peers than the cache holds: keys are evicted
 * and recomputed, and every seal still opens at its recipient, including
 * the ones whose cached keys were evicted and then re-derived. */
static void test_cache_eviction_with_many_peers(void)
{
    party a;
    party_new(&a);
    party *peers = calloc(MANY, sizeof *peers);
    Flagpost__RecipientPart *parts = calloc(MANY, sizeof *parts);
    sample s;
    sample_init(&s, "many");
    size_t sealed = 0, opened = 0, reopened = 0;
    for (int round = 0; round < 2; round++) {
        for (size_t i = 0; i < MANY; i++) {
            if (round == 0 && party_new(&peers[i]) != FP_OK)
                continue;
            flagpost__recipient_part__init(&parts[i]);
            if (payload_seal(a.bc, peers[i].pk, &s.p, &parts[i], NULL) == FP_OK)
                sealed++;
        }
        for (size_t i = 0; i < MANY; i++) {
            Flagpost__Payload *out = NULL;
            /* Recipient side, and the sender reading its own copy back
             * (which goes through the sender's evicting cache again). */
            if (payload_open(peers[i].bc, a.pk, &parts[i], &out, NULL) == FP_OK)
                opened++;
            payload_free(out);
            out = NULL;
            if (payload_open(a.bc, peers[i].pk, &parts[i], &out, NULL) == FP_OK)
                reopened++;
            payload_free(out);
            payload_part_release(&parts[i]);
        }
    }
    CHECK_EQ_INT(sealed, 2 * MANY);
    CHECK_EQ_INT(opened, 2 * MANY);
    CHECK_EQ_INT(reopened, 2 * MANY);
    /* A part sealed to peer 0 must not open for peer 1 even when both keys
     * have passed through the same cache slots. */
    Flagpost__RecipientPart p0;
    flagpost__recipient_part__init(&p0);
    CHECK_EQ_INT(payload_seal(a.bc, peers[0].pk, &s.p, &p0, NULL), FP_OK);
    Flagpost__Payload *out = NULL;
    CHECK_EQ_INT(payload_open(peers[1].bc, a.pk, &p0, &out, NULL), FP_ERR_CRYPTO);
    CHECK_EQ_INT(payload_open(a.bc, peers[1].pk, &p0, &out, NULL), FP_ERR_CRYPTO);
    CHECK_EQ_INT(payload_open(peers[0].bc, a.pk, &p0, &out, NULL), FP_OK);
    payload_free(out);
    payload_part_release(&p0);
    for (size_t i = 0; i < MANY; i++)
        party_free(&peers[i]);
    free(peers);
    free(parts);
    party_free(&a);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    RUN(test_seal_open_round_trip);
    RUN(test_nonce_fresh_each_seal);
    RUN(test_other_recipient_or_wrong_sender_cannot_open);
    RUN(test_tampered_ciphertext_or_nonce_fails);
    RUN(test_shape_checks);
    RUN(test_empty_payload);
    RUN(test_authentic_garbage_is_input_error);
    RUN(test_size_limit);
    RUN(test_low_order_key_refused);
    RUN(test_cache_eviction_with_many_peers);
    return check_summary();
}
