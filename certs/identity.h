/*
 * identity: an agency's (or the broker's) own keys, loaded from the
 * identity directory that `flagpost ca issue --out DIR` wrote:
 *     agency.cert      SignedCertificate (public)
 *     curve.key        CURVE secret key          (0600, kind "curve-secret")
 *     sign.key         Ed25519 secret key, 64 B  (0600, kind "sign-secret")
 *     box.key          X25519 secret key         (0600, kind "box-secret")
 *     linkage.sealed   the partnership linkage key sealed to box.key's
 *                      public key (crypto_box_seal); absent for the broker
 *
 * identity_load() checks the certificate against the CA, that each secret
 * key matches the public key the certificate binds, and refuses any secret
 * file that group or others can read.  Secret keys (and the opened linkage
 * key) live in sodium_malloc memory and identity_free() wipes them.
 */
#ifndef FLAGPOST_IDENTITY_H
#define FLAGPOST_IDENTITY_H

#include "cert.h"
#include "fp_error.h"

/* linkage.sealed is a keyfile of this kind holding crypto_box_seal(linkage
 * key, box public key): 32 bytes plus crypto_box_SEALBYTES. */
#define IDENTITY_LINKAGE_KIND "linkage-sealed"
#define IDENTITY_LINKAGE_SEALED_LEN 80

typedef struct identity {
    cert_info cert;
    unsigned char *curve_secret;   /* 32 */
    unsigned char *sign_secret;    /* 64 */
    unsigned char *box_secret;     /* 32 */
    unsigned char *linkage_key;    /* 32, NULL when the identity has none */
} identity;

/* The certificate's dates are not checked here (the broker enforces them);
 * a broker identity must NOT hold linkage.sealed, every other must. */
int identity_load(identity *id, const char *dir, const unsigned char ca_public[32],
                  fp_error *err);
void identity_free(identity *id);

#endif
