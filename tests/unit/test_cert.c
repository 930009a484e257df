/*
 * Unit tests for certs/cert.c: encoding, verification before decoding,
 * field bounds, versions and validity dates.
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "casig.h"
#include "cert.h"
#include "check.h"
#include "flagpost.pb-c.h"

static unsigned char ca_pk[32], ca_sk[64];
static unsigned char other_pk[32], other_sk[64];

static cert_info sample(void)
{
    cert_info c;
    memset(&c, 0, sizeof c);
    snprintf(c.agency_id, sizeof c.agency_id, "met-police_01");
    snprintf(c.display_name, sizeof c.display_name, "Metropolitan Police (Tri-borough)");
    snprintf(c.sector, sizeof c.sector, "police");
    snprintf(c.ca_name, sizeof c.ca_name, "Tri-borough DA Partnership CA");
    randombytes_buf(c.curve_public, 32);
    randombytes_buf(c.sign_public, 32);
    randombytes_buf(c.box_public, 32);
    c.serial = 42;
    c.not_before = 1700000000;
    c.not_after = 1700000000 + 365 * 86400;
    return c;
}

/* Sign an arbitrary Certificate message with key sk under context. */
static uint8_t *sign_message(const Flagpost__Certificate *c, const char *context,
                             const unsigned char *sk, size_t *len)
{
    size_t clen = flagpost__certificate__get_packed_size(c);
    uint8_t *cb = malloc(clen + 1);
    flagpost__certificate__pack(c, cb);
    unsigned char sig[64];
    casig_sign(context, cb, clen, sk, sig, NULL);
    Flagpost__SignedCertificate sc = FLAGPOST__SIGNED_CERTIFICATE__INIT;
    sc.certificate.data = cb;
    sc.certificate.len = clen;
    sc.signature.data = sig;
    sc.signature.len = 64;
    *len = flagpost__signed_certificate__get_packed_size(&sc);
    uint8_t *out = malloc(*len);
    flagpost__signed_certificate__pack(&sc, out);
    free(cb);
    return out;
}

static void fill_message(Flagpost__Certificate *m, const cert_info *c, uint8_t *keys)
{
    flagpost__certificate__init(m);
    m->format = 1;
    m->agency_id = (char *)(uintptr_t)c->agency_id;
    m->display_name = (char *)(uintptr_t)c->display_name;
    m->sector = (char *)(uintptr_t)c->sector;
    m->ca_name = (char *)(uintptr_t)c->ca_name;
    m->curve_public = (ProtobufCBinaryData){32, keys};
    m->sign_public = (ProtobufCBinaryData){32, keys};
    m->box_public = (ProtobufCBinaryData){32, keys};
    m->serial = c->serial;
    m->not_before = c->not_before;
    m->not_after = c->not_after;
}

static void test_round_trip(void)
{
    cert_info in = sample(), out;
    uint8_t *buf = NULL;
    size_t len = 0;
    fp_error err = {0};
    CHECK_EQ_INT(cert_encode_signed(&in, ca_sk, &buf, &len, &err), FP_OK);
    CHECK(len > 0 && len <= CERT_FILE_MAX);
    CHECK_EQ_INT(cert_decode_verified(buf, len, ca_pk, &out, &err), FP_OK);
    CHECK_EQ_STR(out.agency_id, in.agency_id);
    CHECK_EQ_STR(out.display_name, in.display_name);
    CHECK_EQ_STR(out.sector, in.sector);
    CHECK_EQ_STR(out.ca_name, in.ca_name);
    CHECK(memcmp(out.curve_public, in.curve_public, 32) == 0);
    CHECK(memcmp(out.sign_public, in.sign_public, 32) == 0);
    CHECK(memcmp(out.box_public, in.box_public, 32) == 0);
    CHECK_EQ_INT(out.serial, 42);
    CHECK_EQ_INT(out.not_before, in.not_before);
    CHECK_EQ_INT(out.not_after, in.not_after);
    free(buf);
}

/* Every single-bit change anywhere in the file must be refused. */
static void test_every_tampered_byte_rejected(void)
{
    cert_info in = sample(), out;
    uint8_t *buf = NULL;
    size_t len = 0;
    CHECK_EQ_INT(cert_encode_signed(&in, ca_sk, &buf, &len, NULL), FP_OK);
    size_t accepted = 0;
    for (size_t i = 0; i < len; i++) {
        for (int bit = 0; bit < 8; bit += 7) {
            buf[i] ^= (uint8_t)(1u << bit);
            if (cert_decode_verified(buf, len, ca_pk, &out, NULL) == FP_OK)
                accepted++;
            buf[i] ^= (uint8_t)(1u << bit);
        }
    }
    CHECK_EQ_INT(accepted, 0);
    /* and the untouched bytes still verify, so the loop tested something */
    CHECK_EQ_INT(cert_decode_verified(buf, len, ca_pk, &out, NULL), FP_OK);
    /* truncation and extension */
    CHECK(cert_decode_verified(buf, len - 1, ca_pk, &out, NULL) != FP_OK);
    free(buf);
}

static void test_tampered_field_is_crypto_error(void)
{
    cert_info in = sample(), out;
    uint8_t *buf = NULL;
    size_t len = 0;
    CHECK_EQ_INT(cert_encode_signed(&in, ca_sk, &buf, &len, NULL), FP_OK);
    /* Find the serial's varint (field 8 = tag 0x40, value 42) and change it:
     * the structure still parses, so only the signature can catch it. */
    uint8_t *p = memmem(buf, len, "\x40\x2a", 2);
    CHECK(p != NULL);
    if (p != NULL)
        p[1] = 0x2b;
    fp_error err = {0};
    CHECK_EQ_INT(cert_decode_verified(buf, len, ca_pk, &out, &err), FP_ERR_CRYPTO);
    CHECK(strstr(err.message, "signature") != NULL);
    CHECK_EQ_INT(out.serial, 0);   /* nothing leaks out of a refused certificate */
    free(buf);
}

static void test_other_ca_rejected(void)
{
    cert_info in = sample(), out;
    uint8_t *buf = NULL;
    size_t len = 0;
    CHECK_EQ_INT(cert_encode_signed(&in, other_sk, &buf, &len, NULL), FP_OK);
    fp_error err = {0};
    CHECK_EQ_INT(cert_decode_verified(buf, len, ca_pk, &out, &err), FP_ERR_CRYPTO);
    CHECK_EQ_INT(cert_decode_verified(buf, len, other_pk, &out, &err), FP_OK);
    free(buf);
}

/* A CA signature made for a revocation list must not pass as a certificate. */
static void test_context_separation(void)
{
    cert_info in = sample(), out;
    uint8_t keys[32] = {1};
    Flagpost__Certificate m;
    fill_message(&m, &in, keys);
    size_t len = 0;
    uint8_t *buf = sign_message(&m, CASIG_CONTEXT_CRL, ca_sk, &len);
    CHECK_EQ_INT(cert_decode_verified(buf, len, ca_pk, &out, NULL), FP_ERR_CRYPTO);
    free(buf);
    buf = sign_message(&m, CASIG_CONTEXT_CERT, ca_sk, &len);
    CHECK_EQ_INT(cert_decode_verified(buf, len, ca_pk, &out, NULL), FP_OK);
    free(buf);
}

static void test_unknown_format_is_version_error(void)
{
    cert_info in = sample(), out;
    uint8_t keys[32] = {1};
    Flagpost__Certificate m;
    fill_message(&m, &in, keys);
    m.format = 2;
    size_t len = 0;
    uint8_t *buf = sign_message(&m, CASIG_CONTEXT_CERT, ca_sk, &len);
    fp_error err = {0};
    CHECK_EQ_INT(cert_decode_verified(buf, len, ca_pk, &out, &err), FP_ERR_VERSION);
    free(buf);
    m.format = 0;   /* absent */
    buf = sign_message(&m, CASIG_CONTEXT_CERT, ca_sk, &len);
    CHECK_EQ_INT(cert_decode_verified(buf, len, ca_pk, &out, &err), FP_ERR_VERSION);
    free(buf);
}

/* Even a CA-signed certificate is refused if a field is out of bounds. */
static void test_signed_but_malformed_fields(void)
{
    cert_info in = sample(), out;
    uint8_t keys[33] = {1};
    Flagpost__Certificate m;
    size_t len = 0;
    uint8_t *buf;

    fill_message(&m, &in, keys);
    m.box_public.len = 31;
    buf = sign_message(&m, CASIG_CONTEXT_CERT, ca_sk, &len);
    CHECK_EQ_INT(cert_decode_verified(buf, len, ca_pk, &out, NULL), FP_ERR_INPUT);
    free(buf);

    fill_message(&m, &in, keys);
    m.curve_public.len = 33;
    buf = sign_message(&m, CASIG_CONTEXT_CERT, ca_sk, &len);
    CHECK_EQ_INT(cert_decode_verified(buf, len, ca_pk, &out, NULL), FP_ERR_INPUT);
    free(buf);

    fill_message(&m, &in, keys);
    m.agency_id = (char *)"Police/../x";
    buf = sign_message(&m, CASIG_CONTEXT_CERT, ca_sk, &len);
    CHECK_EQ_INT(cert_decode_verified(buf, len, ca_pk, &out, NULL), FP_ERR_INPUT);
    free(buf);

    char longname[300];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    fill_message(&m, &in, keys);
    m.display_name = longname;
    buf = sign_message(&m, CASIG_CONTEXT_CERT, ca_sk, &len);
    CHECK_EQ_INT(cert_decode_verified(buf, len, ca_pk, &out, NULL), FP_ERR_INPUT);
    free(buf);

    fill_message(&m, &in, keys);
    m.sector = (char *)"aliens";
    buf = sign_message(&m, CASIG_CONTEXT_CERT, ca_sk, &len);
    CHECK_EQ_INT(cert_decode_verified(buf, len, ca_pk, &out, NULL), FP_ERR_INPUT);
    free(buf);

    fill_message(&m, &in, keys);
    m.not_after = m.not_before - 1;
    buf = sign_message(&m, CASIG_CONTEXT_CERT, ca_sk, &len);
    CHECK_EQ_INT(cert_decode_verified(buf, len, ca_pk, &out, NULL), FP_ERR_INPUT);
    free(buf);

    fill_message(&m, &in, keys);
    m.serial = 0;
    buf = sign_message(&m, CASIG_CONTEXT_CERT, ca_sk, &len);
    CHECK_EQ_INT(cert_decode_verified(buf, len, ca_pk, &out, NULL), FP_ERR_INPUT);
    free(buf);
}

static void test_garbage_and_bounds(void)
{
    cert_info out;
    uint8_t junk[64];
    memset(junk, 0xff, sizeof junk);
    CHECK(cert_decode_verified(junk, sizeof junk, ca_pk, &out, NULL) != FP_OK);
    CHECK(cert_decode_verified(junk, 0, ca_pk, &out, NULL) != FP_OK);
    CHECK(cert_decode_verified(NULL, 10, ca_pk, &out, NULL) != FP_OK);
    uint8_t *big = calloc(1, CERT_FILE_MAX + 1);
    fp_error err = {0};
    CHECK_EQ_INT(cert_decode_verified(big, CERT_FILE_MAX + 1, ca_pk, &out, &err),
                 FP_ERR_INPUT);
    free(big);
}

static void test_encode_refuses_bad_info(void)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    cert_info c = sample();
    snprintf(c.sector, sizeof c.sector, "nope");
    CHECK_EQ_INT(cert_encode_signed(&c, ca_sk, &buf, &len, NULL), FP_ERR_INPUT);
    CHECK(buf == NULL);
    c = sample();
    c.display_name[3] = '\n';
    CHECK_EQ_INT(cert_encode_signed(&c, ca_sk, &buf, &len, NULL), FP_ERR_INPUT);
    c = sample();
    c.agency_id[0] = '\0';
    CHECK_EQ_INT(cert_encode_signed(&c, ca_sk, &buf, &len, NULL), FP_ERR_INPUT);
}

static void test_check_time(void)
{
    cert_info c = sample();
    fp_error err = {0};
    CHECK_EQ_INT(cert_check_time(&c, c.not_before, &err), FP_OK);
    CHECK_EQ_INT(cert_check_time(&c, c.not_after, &err), FP_OK);
    CHECK_EQ_INT(cert_check_time(&c, c.not_before + 1000, &err), FP_OK);
    CHECK_EQ_INT(cert_check_time(&c, c.not_before - 1, &err), FP_ERR_TIME);
    CHECK(strstr(err.message, "not valid until 2023-11-14T22:13:20Z") != NULL);
    CHECK_EQ_INT(cert_check_time(&c, c.not_after + 1, &err), FP_ERR_TIME);
    CHECK(strstr(err.message, "expired") != NULL);
}

static void test_agency_ids(void)
{
    CHECK(cert_agency_id_valid("police"));
    CHECK(cert_agency_id_valid("nhs-trust_2"));
    CHECK(cert_agency_id_valid("9"));
    CHECK(!cert_agency_id_valid(""));
    CHECK(!cert_agency_id_valid(NULL));
    CHECK(!cert_agency_id_valid("Police"));
    CHECK(!cert_agency_id_valid("-police"));
    CHECK(!cert_agency_id_valid("a b"));
    CHECK(!cert_agency_id_valid("a/b"));
    CHECK(!cert_agency_id_valid("a.b"));
    char id[CERT_ID_MAX + 1];
    memset(id, 'a', sizeof id);
    id[CERT_ID_MAX - 1] = '\0';
    CHECK(cert_agency_id_valid(id));    /* 63 characters */
    id[CERT_ID_MAX - 1] = 'a';
    id[CERT_ID_MAX] = '\0';
    CHECK(!cert_agency_id_valid(id));   /* 64 */
}

static void test_sectors(void)
{
    const char *known[] = {"police", "health", "housing", "childrens_social_care",
                           "adult_social_care", "idva", "specialist", "probation",
                           "education", "marac", "broker", "youth_justice", "other"};
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        CHECK(cert_sector_valid(known[i]));
        CHECK(strstr(cert_sector_list(), known[i]) != NULL);
    }
    CHECK(!cert_sector_valid("Police"));
    CHECK(!cert_sector_valid(""));
    CHECK(!cert_sector_valid("police "));
    CHECK(!cert_sector_valid(NULL));
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    crypto_sign_keypair(ca_pk, ca_sk);
    crypto_sign_keypair(other_pk, other_sk);
    RUN(test_round_trip);
    RUN(test_every_tampered_byte_rejected);
    RUN(test_tampered_field_is_crypto_error);
    RUN(test_other_ca_rejected);
    RUN(test_context_separation);
    RUN(test_unknown_format_is_version_error);
    RUN(test_signed_but_malformed_fields);
    RUN(test_garbage_and_bounds);
    RUN(test_encode_refuses_bad_info);
    RUN(test_check_time);
    RUN(test_agency_ids);
    RUN(test_sectors);
    return check_summary();
}
