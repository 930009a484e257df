/*
 * cert: the partnership certificate, a CA-signed binding of an agency id,
 * display name and sector to its three public keys and a validity period.
 *
 * On disk and on the wire a certificate is a SignedCertificate protobuf:
 * the Certificate bytes and an Ed25519 signature by the CA over
 * "flagpost-cert-v1" || those bytes.  cert_decode_verified() is the only way
 * to turn bytes into a cert_info, so an unverified certificate can never be
 * mistaken for a verified one.
 */
#ifndef FLAGPOST_CERT_H
#define FLAGPOST_CERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fp_error.h"

#define CERT_ID_MAX 64       /* agency ids: [a-z0-9_-], 1..63 chars */
#define CERT_NAME_MAX 128
#define CERT_SECTOR_MAX 32
#define CERT_FORMAT 1        /* Certificate.format this build reads and writes */
#define CERT_FILE_MAX 4096   /* a SignedCertificate larger than this is refused */
#define CERT_TIME_MAX 32     /* buffer for cert_format_time() */

typedef struct cert_info {
    char agency_id[CERT_ID_MAX];
    char display_name[CERT_NAME_MAX];
    char sector[CERT_SECTOR_MAX];
    unsigned char curve_public[32];
    unsigned char sign_public[32];
    unsigned char box_public[32];
    uint64_t serial;
    int64_t not_before;          /* unix seconds */
    int64_t not_after;
    char ca_name[CERT_NAME_MAX];
} cert_info;

/* True if id is a well-formed agency id (lower-case letters, digits, - and _,
 * starting with a letter or digit). */
bool cert_agency_id_valid(const char *id);

/* True if sector is one the partnership knows (police, health, housing,
 * childrens_social_care, adult_social_care, idva, specialist, probation,
 * education, marac, broker, ...). */
bool cert_sector_valid(const char *sector);

/* The known sectors as one comma-separated line, for error messages. */
const char *cert_sector_list(void);

/* True if s is 1..max-1 bytes with no control characters (display names,
 * CA names, revocation reasons). */
bool cert_text_valid(const char *s, size_t max);

/* t as "YYYY-MM-DDTHH:MM:SSZ" (UTC). */
void cert_format_time(int64_t t, char out[CERT_TIME_MAX]);

/* Serialise and sign; *out is malloc'd.  Refuses an info whose fields
 * would not pass cert_decode_verified(). */
int cert_encode_signed(const cert_info *info, const unsigned char ca_secret[64],
                       uint8_t **out, size_t *out_len, fp_error *err);

/* Verify the CA signature and decode.  Does not check validity dates.
 * FP_ERR_CRYPTO: bad signature; FP_ERR_VERSION: unknown format;
 * FP_ERR_INPUT: malformed. */
int cert_decode_verified(const uint8_t *buf, size_t len, const unsigned char ca_public[32],
                         cert_info *out, fp_error *err);

/* FP_OK if now (unix seconds) is inside [not_before, not_after]. */
int cert_check_time(const cert_info *info, int64_t now, fp_error *err);

int cert_read_file(const char *path, const unsigned char ca_public[32], cert_info *out,
                   fp_error *err);

#endif
