/*
 * policy_sign: the CA's detached signature on a policy file.
 *
 * The signature is Ed25519 over the 18 bytes "flagpost-policy-v1" (no NUL)
 * followed by the exact file bytes, stored next to the file as FILE.sig in
 * the keyfile format (kind "policy-signature").  The domain prefix means a
 * signature the CA made over a certificate or a revocation list can never
 * be replayed as a policy signature.  Signing and verifying both work on
 * bytes the caller already read, so the bytes verified are the bytes parsed
 * and hashed (no second read that could see a different file).
 */
#include "policy_internal.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keyfile.h"

#define POLICY_SIG_DOMAIN "flagpost-policy-v1"
#define POLICY_SIG_KIND "policy-signature"

static int sig_path(char *out, size_t outsz, const char *path, fp_error *err)
{
    int n = snprintf(out, outsz, "%s.sig", path);
    if (n < 0 || (size_t)n >= outsz)
        return fp_error_set(err, FP_ERR_INPUT, "policy path %s is too long", path);
    return FP_OK;
}

/* "flagpost-policy-v1" || text, malloc'd. */
static unsigned char *signed_message(const uint8_t *text, size_t len, size_t *mlen,
                                     fp_error *err)
{
    size_t dlen = strlen(POLICY_SIG_DOMAIN);
    unsigned char *m = malloc(dlen + len + 1);
    if (m == NULL) {
        fp_error_set(err, FP_ERR_IO, "out of memory checking the policy signature");
        return NULL;
    }
    memcpy(m, POLICY_SIG_DOMAIN, dlen);
    if (len > 0)
        memcpy(m + dlen, text, len);
    *mlen = dlen + len;
    return m;
}

int policy_verify_signature(const char *path, const uint8_t *text, size_t len,
                            const unsigned char ca_public[32], fp_error *err)
{
    if (sodium_init() < 0)
        return fp_error_set(err, FP_ERR_INTERNAL, "libsodium failed to initialise");
    char spath[4096];
    int rc = sig_path(spath, sizeof spath, path, err);
    if (rc != FP_OK)
        return rc;
    unsigned char sig[crypto_sign_BYTES];
    rc = keyfile_read_public(spath, POLICY_SIG_KIND, sig, sizeof sig, err);
    if (rc == FP_ERR_NOT_FOUND)
        return fp_error_set(err, FP_ERR_CRYPTO, "policy %s is not signed (no %s); the "
                            "partnership's governance lead signs it with `flagpost policy "
                            "sign --ca DIR %s`", path, spath, path);
    if (rc != FP_OK)
        return fp_error_wrap(err, "policy signature");
    size_t mlen = 0;
    unsigned char *m = signed_message(text, len, &mlen, err);
    if (m == NULL)
        return FP_ERR_IO;
    rc = crypto_sign_verify_detached(sig, m, mlen, ca_public);
    free(m);
    if (rc != 0)
        return fp_error_set(err, FP_ERR_CRYPTO, "policy %s does not match its signature %s: "
                            "the file was changed after signing, or signed by a different "
                            "CA; refusing it. Review the changes and have it re-signed",
                            path, spath);
    return FP_OK;
}

int policy_sign(const char *path, const uint8_t *text, size_t len,
                const unsigned char ca_secret[64], fp_error *err)
{
    if (sodium_init() < 0)
        return fp_error_set(err, FP_ERR_INTERNAL, "libsodium failed to initialise");
    char spath[4096];
    int rc = sig_path(spath, sizeof spath, path, err);
    if (rc != FP_OK)
        return rc;
    size_t mlen = 0;
    unsigned char *m = signed_message(text, len, &mlen, err);
    if (m == NULL)
        return FP_ERR_IO;
    unsigned char sig[crypto_sign_BYTES];
    crypto_sign_detached(sig, NULL, m, mlen, ca_secret);
    free(m);
    return keyfile_write_public(spath, POLICY_SIG_KIND, sig, sizeof sig, err);
}
