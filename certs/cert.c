/*
 * cert: partnership certificates.  See cert.h.
 *
 * Decoding is done in a fixed order so that nothing an attacker wrote is
 * interpreted before the CA has vouched for it:
 *   1. bound the input length;
 *   2. unpack the outer SignedCertificate (two byte strings, nothing more);
 *   3. verify the CA signature over "flagpost-cert-v1" || the certificate
 *      bytes exactly as received (never re-serialised);
 *   4. only then unpack the Certificate, refuse an unknown format, and check
 *      every field's length and alphabet before copying it into cert_info.
 * Step 4 still distrusts a verified certificate: a bug or a careless CA
 * should produce a refusal, not an overflow.
 */
#include "cert.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "casig.h"
#include "fileio.h"
#include "flagpost.pb-c.h"

static const char *const cert_sectors[] = {
    "police", "health", "housing", "childrens_social_care", "adult_social_care",
    "idva", "specialist", "probation", "education", "marac", "broker",
    "youth_justice", "other",
};
#define CERT_N_SECTORS (sizeof cert_sectors / sizeof cert_sectors[0])

bool cert_agency_id_valid(const char *id)
{
    if (id == NULL)
        return false;
    size_t n = strlen(id);
    if (n == 0 || n >= CERT_ID_MAX)
        return false;
    /* A leading '-' or '_' would read as an option on a command line and
     * sorts oddly in file names. */
    if (!((id[0] >= 'a' && id[0] <= 'z') || (id[0] >= '0' && id[0] <= '9')))
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
            return false;
    }
    return true;
}

bool cert_sector_valid(const char *sector)
{
    if (sector == NULL)
        return false;
    for (size_t i = 0; i < CERT_N_SECTORS; i++)
        if (strcmp(sector, cert_sectors[i]) == 0)
            return true;
    return false;
}

const char *cert_sector_list(void)
{
    return "police, health, housing, childrens_social_care, adult_social_care, idva, "
           "specialist, probation, education, marac, broker, youth_justice, other";
}

bool cert_text_valid(const char *s, size_t max)
{
    if (s == NULL)
        return false;
    size_t n = strnlen(s, max);
    if (n == 0 || n >= max)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f)
            return false;
    }
    return true;
}

void cert_format_time(int64_t t, char out[CERT_TIME_MAX])
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (gmtime_r(&tt, &tm) == NULL ||
        strftime(out, CERT_TIME_MAX, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(out, CERT_TIME_MAX, "@%lld", (long long)t);
}

/* The checks shared by encoding (catching caller bugs) and decoding
 * (catching a bad certificate). */
static int cert_fields_valid(const char *agency_id, const char *display_name,
                             const char *sector, const char *ca_name, uint64_t serial,
                             int64_t not_before, int64_t not_after, fp_error *err)
{
    if (!cert_agency_id_valid(agency_id))
        return fp_error_set(err, FP_ERR_INPUT,
                            "certificate agency id is not 1-%d characters of a-z, 0-9, "
                            "'-' and '_'", CERT_ID_MAX - 1);
    if (!cert_text_valid(display_name, CERT_NAME_MAX))
        return fp_error_set(err, FP_ERR_INPUT,
                            "certificate for %s: display name is empty, longer than %d "
                            "bytes, or holds control characters", agency_id,
                            CERT_NAME_MAX - 1);
    if (!cert_sector_valid(sector))
        return fp_error_set(err, FP_ERR_INPUT,
                            "certificate for %s: unknown sector; known sectors are %s",
                            agency_id, cert_sector_list());
    if (!cert_text_valid(ca_name, CERT_NAME_MAX))
        return fp_error_set(err, FP_ERR_INPUT,
                            "certificate for %s: CA name is empty, too long or holds "
                            "control characters", agency_id);
    if (serial == 0)
        return fp_error_set(err, FP_ERR_INPUT, "certificate for %s: serial 0 is reserved",
                            agency_id);
    if (not_after <= not_before)
        return fp_error_set(err, FP_ERR_INPUT,
                            "certificate for %s: validity ends before it starts", agency_id);
    return FP_OK;
}

int cert_encode_signed(const cert_info *info, const unsigned char ca_secret[64],
                       uint8_t **out, size_t *out_len, fp_error *err)
{
    *out = NULL;
    *out_len = 0;
    int rc = cert_fields_valid(info->agency_id, info->display_name, info->sector,
                               info->ca_name, info->serial, info->not_before,
                               info->not_after, err);
    if (rc != FP_OK)
        return rc;

    Flagpost__Certificate c;
    flagpost__certificate__init(&c);   /* the INIT macro casts away const */
    c.format = CERT_FORMAT;
    c.agency_id = (char *)(uintptr_t)info->agency_id;
    c.display_name = (char *)(uintptr_t)info->display_name;
    c.sector = (char *)(uintptr_t)info->sector;
    c.ca_name = (char *)(uintptr_t)info->ca_name;
    c.curve_public = (ProtobufCBinaryData){32, (uint8_t *)(uintptr_t)info->curve_public};
    c.sign_public = (ProtobufCBinaryData){32, (uint8_t *)(uintptr_t)info->sign_public};
    c.box_public = (ProtobufCBinaryData){32, (uint8_t *)(uintptr_t)info->box_public};
    c.serial = info->serial;
    c.not_before = info->not_before;
    c.not_after = info->not_after;

    size_t clen = flagpost__certificate__get_packed_size(&c);
    uint8_t *cbytes = malloc(clen);
    if (cbytes == NULL)
        return fp_error_set(err, FP_ERR_IO, "out of memory encoding a certificate");
    flagpost__certificate__pack(&c, cbytes);

    unsigned char sig[CASIG_BYTES];
    rc = casig_sign(CASIG_CONTEXT_CERT, cbytes, clen, ca_secret, sig, err);
    if (rc != FP_OK) {
        free(cbytes);
        return rc;
    }
    Flagpost__SignedCertificate sc = FLAGPOST__SIGNED_CERTIFICATE__INIT;
    sc.certificate = (ProtobufCBinaryData){clen, cbytes};
    sc.signature = (ProtobufCBinaryData){sizeof sig, sig};
    size_t slen = flagpost__signed_certificate__get_packed_size(&sc);
    uint8_t *sbytes = malloc(slen);
    if (sbytes == NULL) {
        free(cbytes);
        return fp_error_set(err, FP_ERR_IO, "out of memory encoding a certificate");
    }
    flagpost__signed_certificate__pack(&sc, sbytes);
    free(cbytes);
    *out = sbytes;
    *out_len = slen;
    return FP_OK;
}

static int cert_copy_key(unsigned char dst[32], const ProtobufCBinaryData *src,
                         const char *what, const char *agency_id, fp_error *err)
{
    if (src->len != 32 || src->data == NULL)
        return fp_error_set(err, FP_ERR_INPUT,
                            "certificate for %s: %s is %zu bytes, expected 32", agency_id,
                            what, src->len);
    memcpy(dst, src->data, 32);
    return FP_OK;
}

/* Step 4 of the file comment: the signature has already been checked. */
static int cert_from_message(const Flagpost__Certificate *c, cert_info *out, fp_error *err)
{
    if (c->format != CERT_FORMAT)
        return fp_error_set(err, FP_ERR_VERSION,
                            "certificate format %u is not known to this build (it reads "
                            "format %d); upgrade flagpost", c->format, CERT_FORMAT);
    int rc = cert_fields_valid(c->agency_id, c->display_name, c->sector, c->ca_name,
                               c->serial, c->not_before, c->not_after, err);
    if (rc != FP_OK)
        return rc;
    cert_info info;
    memset(&info, 0, sizeof info);
    if ((rc = cert_copy_key(info.curve_public, &c->curve_public, "CURVE key", c->agency_id,
                            err)) != FP_OK ||
        (rc = cert_copy_key(info.sign_public, &c->sign_public, "signing key", c->agency_id,
                            err)) != FP_OK ||
        (rc = cert_copy_key(info.box_public, &c->box_public, "box key", c->agency_id,
                            err)) != FP_OK)
        return rc;
    /* Lengths were bounded by cert_fields_valid, so these cannot truncate. */
    snprintf(info.agency_id, sizeof info.agency_id, "%s", c->agency_id);
    snprintf(info.display_name, sizeof info.display_name, "%s", c->display_name);
    snprintf(info.sector, sizeof info.sector, "%s", c->sector);
    snprintf(info.ca_name, sizeof info.ca_name, "%s", c->ca_name);
    info.serial = c->serial;
    info.not_before = c->not_before;
    info.not_after = c->not_after;
    *out = info;
    return FP_OK;
}

int cert_decode_verified(const uint8_t *buf, size_t len, const unsigned char ca_public[32],
                         cert_info *out, fp_error *err)
{
    memset(out, 0, sizeof *out);
    if (buf == NULL || len == 0 || len > CERT_FILE_MAX)
        return fp_error_set(err, FP_ERR_INPUT,
                            "a certificate must be 1-%d bytes; this is %zu", CERT_FILE_MAX,
                            len);
    Flagpost__SignedCertificate *sc = flagpost__signed_certificate__unpack(NULL, len, buf);
    if (sc == NULL)
        return fp_error_set(err, FP_ERR_INPUT,
                            "not a flagpost certificate (the outer structure does not "
                            "decode)");
    int rc = casig_verify(CASIG_CONTEXT_CERT, sc->certificate.data, sc->certificate.len,
                          sc->signature.data, sc->signature.len, ca_public, err);
    if (rc != FP_OK) {
        flagpost__signed_certificate__free_unpacked(sc, NULL);
        fp_error_wrap(err, "certificate refused");
        return rc;
    }
    Flagpost__Certificate *c =
        flagpost__certificate__unpack(NULL, sc->certificate.len, sc->certificate.data);
    flagpost__signed_certificate__free_unpacked(sc, NULL);
    if (c == NULL)
        return fp_error_set(err, FP_ERR_INPUT,
                            "the certificate is signed by the CA but does not decode");
    rc = cert_from_message(c, out, err);
    flagpost__certificate__free_unpacked(c, NULL);
    if (rc != FP_OK)
        memset(out, 0, sizeof *out);
    return rc;
}

int cert_check_time(const cert_info *info, int64_t now, fp_error *err)
{
    char when[CERT_TIME_MAX];
    if (now < info->not_before) {
        cert_format_time(info->not_before, when);
        return fp_error_set(err, FP_ERR_TIME,
                            "certificate serial %llu of %s is not valid until %s",
                            (unsigned long long)info->serial, info->agency_id, when);
    }
    if (now > info->not_after) {
        cert_format_time(info->not_after, when);
        return fp_error_set(err, FP_ERR_TIME,
                            "certificate serial %llu of %s expired at %s; issue a new one "
                            "with `flagpost ca issue`",
                            (unsigned long long)info->serial, info->agency_id, when);
    }
    return FP_OK;
}

int cert_read_file(const char *path, const unsigned char ca_public[32], cert_info *out,
                   fp_error *err)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = fileio_read_all(path, CERT_FILE_MAX, &buf, &len, err);
    if (rc != FP_OK) {
        memset(out, 0, sizeof *out);
        return rc;
    }
    rc = cert_decode_verified(buf, len, ca_public, out, err);
    free(buf);
    if (rc != FP_OK)
        fp_error_wrap(err, "%s", path);
    return rc;
}
