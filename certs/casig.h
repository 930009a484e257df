/*
 * casig: CA signatures with a domain-separation context.
 *
 * Everything the partnership CA signs (certificates, revocation lists) is
 * signed as context || bytes, where the context names the kind of object
 * ("flagpost-cert-v1", "flagpost-crl-v1").  A signature over one kind can
 * therefore never be replayed as a signature over another, even if the
 * bytes happened to parse as both.  Plain Ed25519 (not the pre-hashed
 * variant) over the concatenation.
 */
#ifndef FLAGPOST_CASIG_H
#define FLAGPOST_CASIG_H

#include <stddef.h>
#include <stdint.h>

#include "fp_error.h"

#define CASIG_BYTES 64
#define CASIG_CONTEXT_CERT "flagpost-cert-v1"
#define CASIG_CONTEXT_CRL "flagpost-crl-v1"

int casig_sign(const char *context, const uint8_t *msg, size_t len,
               const unsigned char ca_secret[64], unsigned char sig[CASIG_BYTES],
               fp_error *err);

/* FP_OK only if sig is a valid signature by ca_public over context || msg. */
int casig_verify(const char *context, const uint8_t *msg, size_t len,
                 const uint8_t *sig, size_t sig_len, const unsigned char ca_public[32],
                 fp_error *err);

#endif
