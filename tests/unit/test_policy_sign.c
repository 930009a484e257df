/*
 * Policy signatures: a signed policy loads; an unsigned one, one with a
 * single byte changed, one signed by another key, one signed without the
 * domain prefix and one whose signature file is of the wrong kind are all
 * refused with FP_ERR_CRYPTO (or a keyfile error) and a clear sentence.
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "fileio.h"
#include "keyfile.h"
#include "policy.h"

#define EXAMPLE "policy/examples/tri-borough.yaml"

static char dir[256];
static char path[300];
static uint8_t *text;
static size_t text_len;
static unsigned char pk[32], sk[64], other_pk[32], other_sk[64];

static bool setup(void)
{
    fp_error err = { 0 };
    snprintf(dir, sizeof dir, "%s/fp-policy-sign.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (mkdtemp(dir) == NULL || sodium_init() < 0)
        return false;
    snprintf(path, sizeof path, "%s/policy.yaml", dir);
    crypto_sign_keypair(pk, sk);
    crypto_sign_keypair(other_pk, other_sk);
    return fileio_read_all(EXAMPLE, 1 << 22, &text, &text_len, &err) == FP_OK;
}

static void write_policy(const uint8_t *bytes, size_t len)
{
    fp_error err = { 0 };
    char sig[320];
    snprintf(sig, sizeof sig, "%s.sig", path);
    unlink(sig);
    CHECK_EQ_INT(fileio_write_atomic(path, bytes, len, 0644, &err), FP_OK);
}

static void test_signed_policy_loads(void)
{
    fp_error err = { 0 };
    write_policy(text, text_len);
    CHECK_EQ_INT(policy_sign(path, text, text_len, sk, &err), FP_OK);
    policy *p = NULL;
    CHECK_EQ_INT(policy_load(&p, path, pk, &err), FP_OK);
    CHECK(p != NULL);
    if (p == NULL)
        return;
    unsigned char h[32];
    crypto_hash_sha256(h, text, text_len);
    CHECK(memcmp(policy_hash(p), h, 32) == 0);
    policy_free(p);
}

static void test_unsigned_refused(void)
{
    fp_error err = { 0 };
    write_policy(text, text_len);
    policy *p = NULL;
    CHECK_EQ_INT(policy_load(&p, path, pk, &err), FP_ERR_CRYPTO);
    CHECK(p == NULL);
    CHECK(strstr(err.message, "is not signed") != NULL);
    /* Without a CA key (policy check / explain) a draft still loads. */
    CHECK_EQ_INT(policy_load(&p, path, NULL, &err), FP_OK);
    policy_free(p);
}

static void test_altered_byte_refused(void)
{
    fp_error err = { 0 };
    write_policy(text, text_len);
    CHECK_EQ_INT(policy_sign(path, text, text_len, sk, &err), FP_OK);
    /* Change one digit of a retention period: still a valid policy. */
    uint8_t *copy = malloc(text_len);
    memcpy(copy, text, text_len);
    char *at = strstr((char *)copy, "retention_days: 365");
    CHECK(at != NULL);
    if (at != NULL)
        at[strlen("retention_days: 36")] = '6';
    CHECK_EQ_INT(fileio_write_atomic(path, copy, text_len, 0644, &err), FP_OK);
    policy *p = NULL;
    CHECK_EQ_INT(policy_parse(&p, (const char *)copy, text_len, "altered", &err), FP_OK);
    policy_free(p);
    p = NULL;
    CHECK_EQ_INT(policy_load(&p, path, pk, &err), FP_ERR_CRYPTO);
    CHECK(p == NULL);
    CHECK(strstr(err.message, "does not match its signature") != NULL);
    /* A truncated file is refused too. */
    CHECK_EQ_INT(fileio_write_atomic(path, text, text_len - 1, 0644, &err), FP_OK);
    CHECK_EQ_INT(policy_load(&p, path, pk, &err), FP_ERR_CRYPTO);
    free(copy);
}

static void test_wrong_key_refused(void)
{
    fp_error err = { 0 };
    write_policy(text, text_len);
    CHECK_EQ_INT(policy_sign(path, text, text_len, other_sk, &err), FP_OK);
    policy *p = NULL;
    CHECK_EQ_INT(policy_load(&p, path, pk, &err), FP_ERR_CRYPTO);
    CHECK(p == NULL);
    CHECK_EQ_INT(policy_load(&p, path, other_pk, &err), FP_OK);
    policy_free(p);
}

/* A CA signature over the bare bytes (as for some other purpose) is not a
 * policy signature: the domain prefix is part of what is signed. */
static void test_signature_without_domain_refused(void)
{
    fp_error err = { 0 };
    write_policy(text, text_len);
    unsigned char sig[64];
    crypto_sign_detached(sig, NULL, text, text_len, sk);
    char sig_path[320];
    snprintf(sig_path, sizeof sig_path, "%s.sig", path);
    CHECK_EQ_INT(keyfile_write_public(sig_path, "policy-signature", sig, 64, &err), FP_OK);
    policy *p = NULL;
    CHECK_EQ_INT(policy_load(&p, path, pk, &err), FP_ERR_CRYPTO);
    /* The right construction over the same bytes verifies. */
    size_t dlen = strlen("flagpost-policy-v1");
    unsigned char *m = malloc(dlen + text_len);
    memcpy(m, "flagpost-policy-v1", dlen);
    memcpy(m + dlen, text, text_len);
    crypto_sign_detached(sig, NULL, m, dlen + text_len, sk);
    free(m);
    CHECK_EQ_INT(keyfile_write_public(sig_path, "policy-signature", sig, 64, &err), FP_OK);
    CHECK_EQ_INT(policy_verify_signature(path, text, text_len, pk, &err), FP_OK);
}

static void test_wrong_kind_of_signature_file(void)
{
    fp_error err = { 0 };
    write_policy(text, text_len);
    unsigned char sig[64] = { 0 };
    char sig_path[320];
    snprintf(sig_path, sizeof sig_path, "%s.sig", path);
    CHECK_EQ_INT(keyfile_write_public(sig_path, "ca-public", sig, 64, &err), FP_OK);
    policy *p = NULL;
    int rc = policy_load(&p, path, pk, &err);
    CHECK(rc != FP_OK);
    CHECK(p == NULL);
    CHECK(strstr(err.message, "policy-signature") != NULL);
}

int main(void)
{
    if (!setup()) {
        printf("not ok setup\n");
        return 1;
    }
    RUN(test_signed_policy_loads);
    RUN(test_unsigned_refused);
    RUN(test_altered_byte_refused);
    RUN(test_wrong_key_refused);
    RUN(test_signature_without_domain_refused);
    RUN(test_wrong_kind_of_signature_file);
    char sig[320];
    snprintf(sig, sizeof sig, "%s.sig", path);
    unlink(sig);
    unlink(path);
    rmdir(dir);
    free(text);
    return check_summary();
}
