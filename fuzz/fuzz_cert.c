/*
 * fuzz_cert: libFuzzer target for the certificate and revocation-list
 * decoders (certs/cert.c, certs/crl.c).
 *
 * The first input byte picks what the rest is:
 *   0  a SignedCertificate, verified against a fixed CA key
 *   1  Certificate bytes, which the harness signs with that CA key first,
 *      so the decoder behind the signature check is reached too
 *   2  a SignedRevocationList, verified against the fixed key
 *   3  RevocationList bytes, signed by the harness first
 * Modes 0 and 2 test that forged input never passes; modes 1 and 3 test
 * that anything the CA signed is either refused cleanly or decodes to
 * something that re-encodes and decodes to the same thing.
 *
 * Build (from the repository root, after `make`):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -std=c11 -D_GNU_SOURCE \
 *     -Ilib -Icerts -Ibuild/gen $(pkg-config --cflags libsodium libprotobuf-c) \
 *     fuzz/fuzz_cert.c certs/cert.c certs/crl.c certs/casig.c lib/fileio.c \
 *     lib/fp_error.c build/gen/flagpost.pb-c.c \
 *     $(pkg-config --libs libsodium libprotobuf-c) -o build/fuzz/fuzz_cert
 *   build/fuzz/fuzz_cert -max_total_time=60 fuzz/corpus/cert
 * The seeds in fuzz/corpus/cert were written by the same file built with
 * -DFUZZ_CERT_WRITE_SEEDS (no -fsanitize=fuzzer): `fuzz_cert_seeds DIR`.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "casig.h"
#include "cert.h"
#include "crl.h"
#include "flagpost.pb-c.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Fixed so that seeds signed once stay valid across runs. */
static const unsigned char fuzz_seed[32] = "flagpost-fuzz-cert-fixed-ca-seed";

static void fuzz_ca(unsigned char pk[32], unsigned char sk[64])
{
    static int ready;
    static unsigned char cpk[32], csk[64];
    if (!ready) {
        if (sodium_init() < 0)
            abort();
        crypto_sign_seed_keypair(cpk, csk, fuzz_seed);
        ready = 1;
    }
    memcpy(pk, cpk, 32);
    memcpy(sk, csk, 64);
}

/* Wrap body in the outer signed message of the given kind. */
static uint8_t *fuzz_wrap(const uint8_t *body, size_t len, int crl_kind,
                          const unsigned char sk[64], size_t *out_len)
{
    unsigned char sig[64];
    if (casig_sign(crl_kind ? CASIG_CONTEXT_CRL : CASIG_CONTEXT_CERT, body, len, sk, sig,
                   NULL) != FP_OK)
        abort();
    ProtobufCBinaryData b = {len, (uint8_t *)(uintptr_t)body}, s = {64, sig};
    uint8_t *out;
    if (crl_kind) {
        Flagpost__SignedRevocationList m = FLAGPOST__SIGNED_REVOCATION_LIST__INIT;
        m.list = b;
        m.signature = s;
        *out_len = flagpost__signed_revocation_list__get_packed_size(&m);
        out = malloc(*out_len + 1);
        flagpost__signed_revocation_list__pack(&m, out);
    } else {
        Flagpost__SignedCertificate m = FLAGPOST__SIGNED_CERTIFICATE__INIT;
        m.certificate = b;
        m.signature = s;
        *out_len = flagpost__signed_certificate__get_packed_size(&m);
        out = malloc(*out_len + 1);
        flagpost__signed_certificate__pack(&m, out);
    }
    return out;
}

static void fuzz_cert_round_trip(const cert_info *c, const unsigned char pk[32],
                                 const unsigned char sk[64])
{
    uint8_t *buf = NULL;
    size_t len = 0;
    cert_info again;
    if (cert_encode_signed(c, sk, &buf, &len, NULL) != FP_OK ||
        cert_decode_verified(buf, len, pk, &again, NULL) != FP_OK ||
        memcmp(c, &again, sizeof again) != 0)
        abort();   /* a certificate we accepted must survive a round trip */
    free(buf);
}

static void fuzz_crl_round_trip(const crl *l, const unsigned char pk[32],
                                const unsigned char sk[64])
{
    uint8_t *buf = NULL;
    size_t len = 0;
    crl again;
    if (crl_encode_signed(l, sk, &buf, &len, NULL) != FP_OK ||
        crl_decode_verified(buf, len, pk, &again, NULL) != FP_OK ||
        again.count != l->count || again.number != l->number)
        abort();
    for (size_t i = 0; i < l->count; i++)
        if (memcmp(&again.entries[i], &l->entries[i], sizeof l->entries[i]) != 0)
            abort();
    crl_free(&again);
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned char pk[32], sk[64];
    fuzz_ca(pk, sk);
    const uint8_t *body = data + 1;
    size_t len = size - 1;
    fp_error err;
    cert_info c;
    crl l;
    uint8_t *wrapped = NULL;
    size_t wlen = 0;
    switch (data[0] & 3) {
    case 0:
        if (cert_decode_verified(body, len, pk, &c, &err) == FP_OK)
            fuzz_cert_round_trip(&c, pk, sk);
        break;
    case 1:
        wrapped = fuzz_wrap(body, len, 0, sk, &wlen);
        if (cert_decode_verified(wrapped, wlen, pk, &c, &err) == FP_OK) {
            cert_check_time(&c, 1700000000, &err);
            fuzz_cert_round_trip(&c, pk, sk);
        }
        break;
    case 2:
        if (crl_decode_verified(body, len, pk, &l, &err) == FP_OK) {
            fuzz_crl_round_trip(&l, pk, sk);
            crl_free(&l);
        }
        break;
    case 3:
        wrapped = fuzz_wrap(body, len, 1, sk, &wlen);
        if (crl_decode_verified(wrapped, wlen, pk, &l, &err) == FP_OK) {
            crl_find(&l, "police", 1);
            fuzz_crl_round_trip(&l, pk, sk);
            crl_free(&l);
        }
        break;
    }
    free(wrapped);
    return 0;
}

#ifdef FUZZ_CERT_WRITE_SEEDS
/* Writes one seed per mode (and a few variants) into argv[1]. */
static void seed_write(const char *dir, const char *name, uint8_t mode, const uint8_t *b,
                       size_t len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (f == NULL || fputc(mode, f) == EOF || fwrite(b, 1, len, f) != len || fclose(f) != 0)
        abort();
}

/* The unsigned inner bytes of a signed object (field 1 of either message). */
static void seed_inner(const uint8_t *signed_buf, size_t len, int crl_kind, uint8_t **out,
                       size_t *out_len)
{
    ProtobufCBinaryData inner;
    if (crl_kind) {
        Flagpost__SignedRevocationList *m =
            flagpost__signed_revocation_list__unpack(NULL, len, signed_buf);
        inner = m->list;
        *out = malloc(inner.len + 1);
        memcpy(*out, inner.data, inner.len);
        flagpost__signed_revocation_list__free_unpacked(m, NULL);
    } else {
        Flagpost__SignedCertificate *m =
            flagpost__signed_certificate__unpack(NULL, len, signed_buf);
        inner = m->certificate;
        *out = malloc(inner.len + 1);
        memcpy(*out, inner.data, inner.len);
        flagpost__signed_certificate__free_unpacked(m, NULL);
    }
    *out_len = inner.len;
}

int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    unsigned char pk[32], sk[64];
    fuzz_ca(pk, sk);
    const char *sectors[] = {"police", "broker", "childrens_social_care"};
    for (int i = 0; i < 3; i++) {
        cert_info c;
        memset(&c, 0, sizeof c);
        snprintf(c.agency_id, sizeof c.agency_id, "agency-%d", i);
        snprintf(c.display_name, sizeof c.display_name, "Agency number %d", i);
        snprintf(c.sector, sizeof c.sector, "%s", sectors[i]);
        snprintf(c.ca_name, sizeof c.ca_name, "Fuzz CA");
        memset(c.curve_public, 0x11 * (i + 1), 32);
        memset(c.sign_public, 0x22, 32);
        memset(c.box_public, 0x33, 32);
        c.serial = (uint64_t)i + 1;
        c.not_before = 1700000000;
        c.not_after = 1700000000 + 86400 * 365;
        uint8_t *buf, *inner;
        size_t len, ilen;
        if (cert_encode_signed(&c, sk, &buf, &len, NULL) != FP_OK)
            return 1;
        char name[64];
        snprintf(name, sizeof name, "signed-cert-%d", i);
        seed_write(argv[1], name, 0, buf, len);
        seed_inner(buf, len, 0, &inner, &ilen);
        snprintf(name, sizeof name, "cert-%d", i);
        seed_write(argv[1], name, 1, inner, ilen);
        free(buf);
        free(inner);
    }
    crl l = {0};
    l.number = 3;
    l.issued_at = 1700000000;
    crl_append(&l, "police", 2, "rotated", 1700000000, NULL);
    crl_append(&l, "old-idva", 0, "left the partnership", 1700000500, NULL);
    uint8_t *buf, *inner;
    size_t len, ilen;
    if (crl_encode_signed(&l, sk, &buf, &len, NULL) != FP_OK)
        return 1;
    seed_write(argv[1], "signed-crl", 2, buf, len);
    seed_inner(buf, len, 1, &inner, &ilen);
    seed_write(argv[1], "crl", 3, inner, ilen);
    free(buf);
    free(inner);
    crl_free(&l);
    return 0;
}
#endif
