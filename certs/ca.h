/*
 * ca: the partnership certificate authority's offline operations, behind
 * `flagpost ca ...`.
 *
 * A CA directory holds the public bundle (see trust_store.h) plus:
 *     ca.key        the CA's Ed25519 secret key (0600)
 *     linkage.key   the partnership linkage key, 32 random bytes (0600)
 *     serial        the last serial issued
 * ca_issue() creates a fresh identity directory (see identity.h), records
 * the certificate in certs/, and seals the linkage key to the new agency's
 * X25519 key (except for the broker, which must never hold it).
 * ca_revoke() appends to and re-signs revoked.crl.
 */
#ifndef FLAGPOST_CA_H
#define FLAGPOST_CA_H

#include <stdint.h>

#include "fp_error.h"

int ca_init(const char *ca_dir, const char *name, fp_error *err);

typedef struct ca_issue_options {
    const char *agency_id;
    const char *display_name;
    const char *sector;
    const char *out_dir;
    int64_t not_before;   /* 0: now */
    int64_t valid_days;   /* 0: 365 */
} ca_issue_options;

int ca_issue(const char *ca_dir, const ca_issue_options *opt, uint64_t *serial_out,
             fp_error *err);

/* serial 0 revokes every certificate of agency_id. */
int ca_revoke(const char *ca_dir, const char *agency_id, uint64_t serial, const char *reason,
              fp_error *err);

/* Copy the public bundle (ca.pub, ca.name, certs/, revoked.crl) to out_dir. */
int ca_export_bundle(const char *ca_dir, const char *out_dir, fp_error *err);

#endif
