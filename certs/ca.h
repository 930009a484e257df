/*
 * ca: the partnership certificate authority's offline operations, behind
 * `flagpost ca ...`.
 *
 * A CA directory holds the public bundle (see trust_store.h) plus:
 *     ca.key        the CA's Ed25519 secret key (0600)
 *     linkage.key   the partnership linkage key, 32 random bytes (0600)
 *     serial        the last serial issued
 *     lock          flock'ed while a command runs (two never interleave)
 * ca_issue() creates a fresh identity directory (see identity.h), records
 * the certificate in certs/ID-SERIAL.cert, and seals the linkage key to the
 * new agency's X25519 key (except for the broker, which must never hold
 * it).  Issuing again for an existing id rotates its keys: a new serial,
 * and the older certificates stay valid until they expire or are revoked.
 * It never overwrites an identity directory, and refuses to change an id's
 * sector or to issue for an agency revoked as a whole.
 * ca_revoke() appends to and re-signs revoked.crl; it refuses an unknown or
 * already-revoked target.  Errors in the caller's options are FP_ERR_INPUT;
 * refusals FP_ERR_DENIED; a missing CA FP_ERR_NOT_FOUND.
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
    int64_t not_before;   /* 0: now, less CA_CLOCK_LEEWAY_S */
    int64_t valid_days;   /* 0: 365; days count from not_before if given, else now */
} ca_issue_options;

/* Without a start of validity, a certificate is valid from this many
 * seconds before it is issued.  The partners' machines keep their own
 * clocks; a broker or agent whose clock runs a few minutes behind the CA's
 * would otherwise refuse a certificate just issued as not yet valid until
 * its clock caught up.  The end of validity is not moved. */
#define CA_CLOCK_LEEWAY_S 300

int ca_issue(const char *ca_dir, const ca_issue_options *opt, uint64_t *serial_out,
             fp_error *err);

/* serial 0 revokes every certificate of agency_id, including any issued
 * later (so ca_issue then refuses that id). */
int ca_revoke(const char *ca_dir, const char *agency_id, uint64_t serial, const char *reason,
              fp_error *err);

/* Copy the public bundle (ca.pub, ca.name, certs/, revoked.crl) to out_dir:
 * only those names, only certificates this CA signed; never opens ca.key.
 * out_dir may be new, empty or an earlier export of the same CA. */
int ca_export_bundle(const char *ca_dir, const char *out_dir, fp_error *err);

#endif
