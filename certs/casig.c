/*
 * casig: context-prefixed Ed25519 signatures by the CA.  See casig.h.
 *
 * libsodium's multi-part signing API is Ed25519ph (pre-hashed), a different
 * scheme, so the context and message are joined into one buffer and signed
 * with the one-shot detached API.  Objects signed here are small (a
 * certificate is a few hundred bytes, a revocation list is bounded by its
 * reader), so the copy costs nothing that matters.
 */
#include "casig.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

static uint8_t *casig_join(const char *context, const uint8_t *msg, size_t len,
                           size_t *out_len)
{
    size_t clen = strlen(context);
    if (len > SIZE_MAX - clen)
        return NULL;
    uint8_t *buf = malloc(clen + len + 1);
    if (buf == NULL)
        return NULL;
    memcpy(buf, context, clen);
    if (len > 0)
        memcpy(buf + clen, msg, len);
    *out_len = clen + len;
    return buf;
}

int casig_sign(const char *context, const uint8_t *msg, size_t len,
               const unsigned char ca_secret[64], unsigned char sig[CASIG_BYTES],
               fp_error *err)
{
    size_t jlen = 0;
    uint8_t *joined = casig_join(context, msg, len, &jlen);
    if (joined == NULL)
        return fp_error_set(err, FP_ERR_IO, "out of memory signing a %s object", context);
    int rc = crypto_sign_detached(sig, NULL, joined, jlen, ca_secret);
    free(joined);
    if (rc != 0)
        return fp_error_set(err, FP_ERR_INTERNAL, "signing a %s object failed", context);
    return FP_OK;
}

int casig_verify(const char *context, const uint8_t *msg, size_t len,
                 const uint8_t *sig, size_t sig_len, const unsigned char ca_public[32],
                 fp_error *err)
{
    if (sig == NULL || sig_len != CASIG_BYTES)
        return fp_error_set(err, FP_ERR_CRYPTO,
                            "the CA signature is missing or not %d bytes", CASIG_BYTES);
    size_t jlen = 0;
    uint8_t *joined = casig_join(context, msg, len, &jlen);
    if (joined == NULL)
        return fp_error_set(err, FP_ERR_IO, "out of memory verifying a %s object", context);
    int rc = crypto_sign_verify_detached(sig, joined, jlen, ca_public);
    free(joined);
    if (rc != 0)
        return fp_error_set(err, FP_ERR_CRYPTO,
                            "the CA signature does not verify: the data was altered or "
                            "was signed by a different CA");
    return FP_OK;
}
