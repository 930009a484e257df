/*
 * crl: the CA-signed revocation list (revoked.crl in a bundle).
 *
 * On disk a SignedRevocationList protobuf: the RevocationList bytes and an
 * Ed25519 signature by the CA over "flagpost-crl-v1" || those bytes.
 * crl_decode_verified() is the only way to get a crl from bytes, and a list
 * whose signature fails is an error, never an empty list: a tampered list
 * must not silently un-revoke anyone.
 *
 * An entry with serial 0 revokes every certificate of its agency, including
 * any issued later (ca_issue refuses to issue for such an agency).
 */
#ifndef FLAGPOST_CRL_H
#define FLAGPOST_CRL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cert.h"
#include "fp_error.h"

#define CRL_FORMAT 1
#define CRL_REASON_MAX 256
#define CRL_MAX_ENTRIES 100000
#define CRL_FILE_MAX ((size_t)64 << 20)

typedef struct crl_entry {
    char agency_id[CERT_ID_MAX];
    uint64_t serial;              /* 0: every certificate of agency_id */
    char reason[CRL_REASON_MAX];
    int64_t revoked_at;
} crl_entry;

typedef struct crl {
    uint64_t number;              /* increases with every list the CA signs */
    int64_t issued_at;
    size_t count;
    crl_entry *entries;           /* malloc'd, owned by the crl */
    size_t capacity;              /* allocated entries */
} crl;

/* Serialise and sign; *out is malloc'd. */
int crl_encode_signed(const crl *list, const unsigned char ca_secret[64], uint8_t **out,
                      size_t *out_len, fp_error *err);

/* Verify, then decode into *out (free with crl_free). */
int crl_decode_verified(const uint8_t *buf, size_t len, const unsigned char ca_public[32],
                        crl *out, fp_error *err);

/* FP_ERR_NOT_FOUND if path does not exist (no revocation yet). */
int crl_read_file(const char *path, const unsigned char ca_public[32], crl *out,
                  fp_error *err);

/* Append one entry (grows the array). */
int crl_append(crl *list, const char *agency_id, uint64_t serial, const char *reason,
               int64_t revoked_at, fp_error *err);

/* The entry revoking (agency_id, serial), or NULL. */
const crl_entry *crl_find(const crl *list, const char *agency_id, uint64_t serial);

void crl_free(crl *list);

#endif
