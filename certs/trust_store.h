/*
 * trust_store: the partnership's public trust bundle, loaded into memory,
 * and the answer to "may this key or agency take part right now?".
 *
 * A bundle directory holds:
 *     ca.pub          the CA's Ed25519 public key (keyfile kind "ca-public")
 *     ca.name         the CA's display name (one line)
 *     certs/ID-SERIAL.cert  every certificate the CA issued (SignedCertificate)
 *     revoked.crl     the CA-signed revocation list (optional until the
 *                     first revocation)
 * It never contains a secret; trust_store_load() never opens ca.key, so the
 * CA directory itself and an exported bundle load the same way.
 *
 * Certificates that fail the CA signature are skipped and counted (a
 * foreign certificate dropped into certs/ grants nothing).  Revocation and
 * validity are evaluated at lookup time against the caller's clock, so a
 * certificate that expires while the broker runs stops working without a
 * reload.  An agency may hold several valid certificates at once (key
 * rotation with an overlap period).
 *
 * The store is immutable after loading; reload by loading a new one and
 * swapping the pointer.
 */
#ifndef FLAGPOST_TRUST_STORE_H
#define FLAGPOST_TRUST_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "cert.h"
#include "fp_error.h"

typedef struct trust_store trust_store;

int trust_store_load(trust_store **out, const char *bundle_dir, fp_error *err);
void trust_store_free(trust_store *ts);

const unsigned char *trust_store_ca_public(const trust_store *ts);
const char *trust_store_ca_name(const trust_store *ts);

/* The valid, unrevoked certificate holding this CURVE public key, or NULL
 * with err saying why (unknown key, revoked, expired, not yet valid). */
const cert_info *trust_store_by_curve_key(const trust_store *ts,
                                          const unsigned char curve_public[32],
                                          int64_t now, fp_error *err);

/* The newest (highest serial) valid, unrevoked certificate of agency_id. */
const cert_info *trust_store_by_agency(const trust_store *ts, const char *agency_id,
                                       int64_t now, fp_error *err);

/* The same for a signing key: which certificate of agency_id holds
 * sign_public, and is it valid now?  Used to verify envelopes signed during
 * a key rotation overlap. */
const cert_info *trust_store_by_sign_key(const trust_store *ts, const char *agency_id,
                                         const unsigned char sign_public[32], int64_t now,
                                         fp_error *err);

/* The newest valid broker certificate (sector "broker"). */
const cert_info *trust_store_broker(const trust_store *ts, int64_t now, fp_error *err);

/* Iterate every loaded certificate (valid or not). */
size_t trust_store_count(const trust_store *ts);
const cert_info *trust_store_at(const trust_store *ts, size_t i);
/* FP_OK if certificate i is valid and unrevoked at now. */
int trust_store_check(const trust_store *ts, const cert_info *cert, int64_t now,
                      fp_error *err);

/* How many files in certs/ were skipped (bad signature, unreadable). */
size_t trust_store_skipped(const trust_store *ts);
/* Why the first skipped file was skipped (NULL when none was). */
const char *trust_store_skipped_reason(const trust_store *ts);

/* A certificate's standing at a given time; revocation outranks dates. */
typedef enum trust_status {
    TRUST_VALID,
    TRUST_REVOKED,
    TRUST_EXPIRED,
    TRUST_NOT_YET_VALID
} trust_status;

trust_status trust_store_status(const trust_store *ts, const cert_info *cert, int64_t now);
const char *trust_status_name(trust_status s);   /* "valid", "revoked", ... */

/* The verified revocation list (empty when the bundle has none). */
struct crl;
const struct crl *trust_store_revocations(const trust_store *ts);

/* The revocation list's number (0 when there is none).  Deleting
 * revoked.crl cannot be detected from the bundle alone, so a long-running
 * reader should refuse a reload whose number went backwards. */
uint64_t trust_store_crl_number(const trust_store *ts);

#endif
