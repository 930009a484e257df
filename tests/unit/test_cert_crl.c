/*
 * Unit tests for certs/crl.c: the signed revocation list.
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "casig.h"
#include "check.h"
#include "crl.h"
#include "flagpost.pb-c.h"

static unsigned char ca_pk[32], ca_sk[64];
static unsigned char other_pk[32], other_sk[64];

static void make_list(crl *l)
{
    memset(l, 0, sizeof *l);
    l->number = 7;
    l->issued_at = 1700000000;
    crl_append(l, "police", 3, "key on a stolen laptop", 1700000000, NULL);
    crl_append(l, "old-idva", 0, "service closed", 1700000100, NULL);
}

static uint8_t *sign_list(const Flagpost__RevocationList *rl, const unsigned char *sk,
                          size_t *len)
{
    size_t llen = flagpost__revocation_list__get_packed_size(rl);
    uint8_t *lb = malloc(llen + 1);
    flagpost__revocation_list__pack(rl, lb);
    unsigned char sig[64];
    casig_sign(CASIG_CONTEXT_CRL, lb, llen, sk, sig, NULL);
    Flagpost__SignedRevocationList s = FLAGPOST__SIGNED_REVOCATION_LIST__INIT;
    s.list = (ProtobufCBinaryData){llen, lb};
    s.signature = (ProtobufCBinaryData){64, sig};
    *len = flagpost__signed_revocation_list__get_packed_size(&s);
    uint8_t *out = malloc(*len);
    flagpost__signed_revocation_list__pack(&s, out);
    free(lb);
    return out;
}

static void test_round_trip(void)
{
    crl in, out;
    make_list(&in);
    uint8_t *buf = NULL;
    size_t len = 0;
    fp_error err = {0};
    CHECK_EQ_INT(crl_encode_signed(&in, ca_sk, &buf, &len, &err), FP_OK);
    CHECK_EQ_INT(crl_decode_verified(buf, len, ca_pk, &out, &err), FP_OK);
    CHECK_EQ_INT(out.number, 7);
    CHECK_EQ_INT(out.issued_at, 1700000000);
    CHECK_EQ_INT(out.count, 2);
    if (out.count == 2) {
        CHECK_EQ_STR(out.entries[0].agency_id, "police");
        CHECK_EQ_INT(out.entries[0].serial, 3);
        CHECK_EQ_STR(out.entries[0].reason, "key on a stolen laptop");
        CHECK_EQ_STR(out.entries[1].agency_id, "old-idva");
        CHECK_EQ_INT(out.entries[1].serial, 0);
        CHECK_EQ_INT(out.entries[1].revoked_at, 1700000100);
    }
    crl_free(&in);
    crl_free(&out);
    free(buf);
}

static void test_empty_list_round_trip(void)
{
    crl in = {0}, out;
    in.number = 1;
    uint8_t *buf = NULL;
    size_t len = 0;
    CHECK_EQ_INT(crl_encode_signed(&in, ca_sk, &buf, &len, NULL), FP_OK);
    CHECK_EQ_INT(crl_decode_verified(buf, len, ca_pk, &out, NULL), FP_OK);
    CHECK_EQ_INT(out.count, 0);
    CHECK_EQ_INT(out.number, 1);
    crl_free(&out);
    free(buf);
}

static void test_find(void)
{
    crl l;
    make_list(&l);
    CHECK(crl_find(&l, "police", 3) != NULL);
    CHECK(crl_find(&l, "police", 4) == NULL);
    CHECK(crl_find(&l, "health", 3) == NULL);
    CHECK(crl_find(&l, "old-idva", 1) != NULL);    /* serial 0 covers all */
    CHECK(crl_find(&l, "old-idva", 999) != NULL);
    CHECK(crl_find(&l, "old-idv", 1) == NULL);     /* exact id match only */
    crl_free(&l);
}

static void test_tampering_and_foreign_ca(void)
{
    crl in, out;
    make_list(&in);
    uint8_t *buf = NULL;
    size_t len = 0;
    CHECK_EQ_INT(crl_encode_signed(&in, ca_sk, &buf, &len, NULL), FP_OK);
    size_t accepted = 0;
    for (size_t i = 0; i < len; i++) {
        buf[i] ^= 0x01;
        if (crl_decode_verified(buf, len, ca_pk, &out, NULL) == FP_OK) {
            accepted++;
            crl_free(&out);
        }
        buf[i] ^= 0x01;
    }
    CHECK_EQ_INT(accepted, 0);
    CHECK_EQ_INT(crl_decode_verified(buf, len, other_pk, &out, NULL), FP_ERR_CRYPTO);
    CHECK_EQ_INT(crl_decode_verified(buf, len, ca_pk, &out, NULL), FP_OK);
    crl_free(&out);
    free(buf);
    crl_free(&in);
}

static void test_version_and_bad_entries(void)
{
    crl out;
    Flagpost__RevocationList rl = FLAGPOST__REVOCATION_LIST__INIT;
    Flagpost__Revocation r;
    flagpost__revocation__init(&r);
    Flagpost__Revocation *rp = &r;
    r.agency_id = (char *)"police";
    r.reason = (char *)"x";
    rl.n_entries = 1;
    rl.entries = &rp;

    rl.format = 2;
    size_t len = 0;
    uint8_t *buf = sign_list(&rl, ca_sk, &len);
    CHECK_EQ_INT(crl_decode_verified(buf, len, ca_pk, &out, NULL), FP_ERR_VERSION);
    free(buf);

    rl.format = 1;
    r.agency_id = (char *)"Bad Id";
    buf = sign_list(&rl, ca_sk, &len);
    CHECK_EQ_INT(crl_decode_verified(buf, len, ca_pk, &out, NULL), FP_ERR_INPUT);
    CHECK_EQ_INT(out.count, 0);
    free(buf);

    r.agency_id = (char *)"police";
    r.reason = (char *)"line\nbreak";
    buf = sign_list(&rl, ca_sk, &len);
    CHECK_EQ_INT(crl_decode_verified(buf, len, ca_pk, &out, NULL), FP_ERR_INPUT);
    free(buf);

    r.reason = (char *)"fine";
    buf = sign_list(&rl, ca_sk, &len);
    CHECK_EQ_INT(crl_decode_verified(buf, len, ca_pk, &out, NULL), FP_OK);
    crl_free(&out);
    free(buf);
}

static void test_append_validates(void)
{
    crl l = {0};
    CHECK_EQ_INT(crl_append(&l, "police", 1, "", 0, NULL), FP_ERR_INPUT);
    CHECK_EQ_INT(crl_append(&l, "", 1, "r", 0, NULL), FP_ERR_INPUT);
    char reason[CRL_REASON_MAX + 1];
    memset(reason, 'r', sizeof reason - 1);
    reason[sizeof reason - 1] = '\0';
    CHECK_EQ_INT(crl_append(&l, "police", 1, reason, 0, NULL), FP_ERR_INPUT);
    CHECK_EQ_INT(l.count, 0);
    for (int i = 0; i < 100; i++)
        CHECK_EQ_INT(crl_append(&l, "police", (uint64_t)i + 1, "r", 0, NULL), FP_OK);
    CHECK_EQ_INT(l.count, 100);
    CHECK(crl_find(&l, "police", 100) != NULL);
    crl_free(&l);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    crypto_sign_keypair(ca_pk, ca_sk);
    crypto_sign_keypair(other_pk, other_sk);
    RUN(test_round_trip);
    RUN(test_empty_list_round_trip);
    RUN(test_find);
    RUN(test_tampering_and_foreign_ca);
    RUN(test_version_and_bad_entries);
    RUN(test_append_validates);
    return check_summary();
}
