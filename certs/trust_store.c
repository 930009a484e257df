/*
 * trust_store: the partnership's public trust bundle in memory.  See
 * trust_store.h.
 *
 * Loading is strict about what protects people and lenient about what
 * cannot hurt them: a revocation list that fails its signature fails the
 * whole load (silently dropping it would un-revoke), while a certificate
 * that fails its signature is skipped and counted (ignoring it grants
 * nothing).  Certificates are kept sorted by serial, so "newest" is simply
 * the last match, and every lookup is a linear scan: a partnership has
 * tens of certificates, and a national deployment a few thousand, which a
 * scan of 500-byte records handles far faster than any connection arrives.
 */
#include "trust_store.h"

#include <dirent.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crl.h"
#include "fileio.h"
#include "keyfile.h"

#define TRUST_STORE_MAX_CERTS 100000
#define TRUST_STORE_PATH_MAX 4096

struct trust_store {
    unsigned char ca_public[32];
    char ca_name[CERT_NAME_MAX];
    cert_info *certs;            /* sorted by serial */
    size_t count;
    size_t capacity;
    crl revoked;
    size_t skipped;
    char skipped_reason[sizeof ((fp_error *)0)->message];    /* why the first skipped file was skipped */
};

static int trust_store_read_name(trust_store *ts, const char *dir, fp_error *err)
{
    char path[TRUST_STORE_PATH_MAX];
    int rc = fileio_join(path, sizeof path, dir, "ca.name", err);
    if (rc != FP_OK)
        return rc;
    uint8_t *buf = NULL;
    size_t len = 0;
    if ((rc = fileio_read_all(path, 1024, &buf, &len, err)) != FP_OK)
        return rc;
    buf[strcspn((char *)buf, "\r\n")] = '\0';
    if (!cert_text_valid((char *)buf, CERT_NAME_MAX)) {
        free(buf);
        return fp_error_set(err, FP_ERR_INPUT,
                            "%s: the CA name must be one line of 1-%d characters", path,
                            CERT_NAME_MAX - 1);
    }
    snprintf(ts->ca_name, sizeof ts->ca_name, "%s", (char *)buf);
    free(buf);
    return FP_OK;
}

static void trust_store_skip(trust_store *ts, const fp_error *why)
{
    if (ts->skipped++ == 0)
        snprintf(ts->skipped_reason, sizeof ts->skipped_reason, "%s", why->message);
}

/* Insert keeping serial order; an exact duplicate (the same file copied
 * twice) is dropped, a different certificate reusing a serial is skipped. */
static int trust_store_insert(trust_store *ts, const cert_info *c, fp_error *err)
{
    size_t pos = ts->count;
    while (pos > 0 && ts->certs[pos - 1].serial > c->serial)
        pos--;
    if (pos > 0 && ts->certs[pos - 1].serial == c->serial) {
        if (memcmp(&ts->certs[pos - 1], c, sizeof *c) != 0) {
            fp_error dup;
            fp_error_set(&dup, FP_ERR_INPUT,
                         "two different certificates carry serial %llu; the second was "
                         "ignored", (unsigned long long)c->serial);
            trust_store_skip(ts, &dup);
        }
        return FP_OK;
    }
    if (ts->count >= TRUST_STORE_MAX_CERTS)
        return fp_error_set(err, FP_ERR_FULL, "the bundle holds more than %d certificates",
                            TRUST_STORE_MAX_CERTS);
    if (ts->count == ts->capacity) {
        size_t cap = ts->capacity ? ts->capacity * 2 : 32;
        cert_info *grown = realloc(ts->certs, cap * sizeof *grown);
        if (grown == NULL)
            return fp_error_set(err, FP_ERR_IO, "out of memory loading certificates");
        ts->certs = grown;
        ts->capacity = cap;
    }
    memmove(&ts->certs[pos + 1], &ts->certs[pos], (ts->count - pos) * sizeof *ts->certs);
    ts->certs[pos] = *c;
    ts->count++;
    return FP_OK;
}

static bool trust_store_is_cert_name(const char *name)
{
    size_t n = strlen(name);
    return n > 5 && name[0] != '.' && strcmp(name + n - 5, ".cert") == 0;
}

static int trust_store_read_certs(trust_store *ts, const char *dir, fp_error *err)
{
    char cdir[TRUST_STORE_PATH_MAX];
    int rc = fileio_join(cdir, sizeof cdir, dir, "certs", err);
    if (rc != FP_OK)
        return rc;
    DIR *d = opendir(cdir);
    if (d == NULL) {
        if (errno == ENOENT)
            return FP_OK;   /* a CA that has issued nothing yet */
        return fp_error_set(err, FP_ERR_IO, "cannot read directory %s: %s", cdir,
                            strerror(errno));
    }
    struct dirent *de;
    while (rc == FP_OK && (de = readdir(d)) != NULL) {
        if (!trust_store_is_cert_name(de->d_name))
            continue;
        char path[TRUST_STORE_PATH_MAX];
        fp_error why;
        cert_info c;
        if (fileio_join(path, sizeof path, cdir, de->d_name, &why) != FP_OK ||
            cert_read_file(path, ts->ca_public, &c, &why) != FP_OK) {
            trust_store_skip(ts, &why);
            continue;
        }
        rc = trust_store_insert(ts, &c, err);
    }
    closedir(d);
    return rc;
}

static int trust_store_read_crl(trust_store *ts, const char *dir, fp_error *err)
{
    char path[TRUST_STORE_PATH_MAX];
    int rc = fileio_join(path, sizeof path, dir, "revoked.crl", err);
    if (rc != FP_OK)
        return rc;
    fp_error local;
    rc = crl_read_file(path, ts->ca_public, &ts->revoked, &local);
    if (rc == FP_ERR_NOT_FOUND)
        return FP_OK;
    if (rc != FP_OK) {
        if (err != NULL)
            *err = local;
        fp_error_wrap(err, "refusing to load the trust bundle, because its "
                      "revocation list cannot be trusted");
        return rc;
    }
    return FP_OK;
}

int trust_store_load(trust_store **out, const char *bundle_dir, fp_error *err)
{
    *out = NULL;
    if (sodium_init() < 0)
        return fp_error_set(err, FP_ERR_INTERNAL, "libsodium failed to initialise");
    trust_store *ts = calloc(1, sizeof *ts);
    if (ts == NULL)
        return fp_error_set(err, FP_ERR_IO, "out of memory loading the trust bundle");
    char path[TRUST_STORE_PATH_MAX];
    int rc = fileio_join(path, sizeof path, bundle_dir, "ca.pub", err);
    if (rc == FP_OK)
        rc = keyfile_read_public(path, "ca-public", ts->ca_public, 32, err);
    if (rc == FP_OK)
        rc = trust_store_read_name(ts, bundle_dir, err);
    if (rc == FP_OK)
        rc = trust_store_read_crl(ts, bundle_dir, err);
    if (rc == FP_OK)
        rc = trust_store_read_certs(ts, bundle_dir, err);
    if (rc != FP_OK) {
        trust_store_free(ts);
        fp_error_wrap(err, "trust bundle %s", bundle_dir);
        return rc;
    }
    *out = ts;
    return FP_OK;
}

void trust_store_free(trust_store *ts)
{
    if (ts == NULL)
        return;
    free(ts->certs);
    crl_free(&ts->revoked);
    free(ts);
}

const unsigned char *trust_store_ca_public(const trust_store *ts)
{
    return ts->ca_public;
}

const char *trust_store_ca_name(const trust_store *ts)
{
    return ts->ca_name;
}

size_t trust_store_count(const trust_store *ts)
{
    return ts->count;
}

const cert_info *trust_store_at(const trust_store *ts, size_t i)
{
    return i < ts->count ? &ts->certs[i] : NULL;
}

size_t trust_store_skipped(const trust_store *ts)
{
    return ts->skipped;
}

const char *trust_store_skipped_reason(const trust_store *ts)
{
    return ts->skipped ? ts->skipped_reason : NULL;
}

const crl *trust_store_revocations(const trust_store *ts)
{
    return &ts->revoked;
}

uint64_t trust_store_crl_number(const trust_store *ts)
{
    return ts->revoked.number;
}

trust_status trust_store_status(const trust_store *ts, const cert_info *cert, int64_t now)
{
    if (crl_find(&ts->revoked, cert->agency_id, cert->serial) != NULL)
        return TRUST_REVOKED;
    if (now < cert->not_before)
        return TRUST_NOT_YET_VALID;
    if (now > cert->not_after)
        return TRUST_EXPIRED;
    return TRUST_VALID;
}

const char *trust_status_name(trust_status s)
{
    switch (s) {
    case TRUST_VALID: return "valid";
    case TRUST_REVOKED: return "revoked";
    case TRUST_EXPIRED: return "expired";
    case TRUST_NOT_YET_VALID: return "not-yet-valid";
    }
    return "unknown";
}

int trust_store_check(const trust_store *ts, const cert_info *cert, int64_t now,
                      fp_error *err)
{
    const crl_entry *e = crl_find(&ts->revoked, cert->agency_id, cert->serial);
    if (e != NULL) {
        char when[CERT_TIME_MAX];
        cert_format_time(e->revoked_at, when);
        return fp_error_set(err, FP_ERR_DENIED,
                            "certificate serial %llu of %s was revoked at %s (%s)",
                            (unsigned long long)cert->serial, cert->agency_id, when,
                            e->reason);
    }
    return cert_check_time(cert, now, err);
}

/* What a lookup matches on; NULL fields match anything. */
typedef struct trust_query {
    const char *agency_id;
    const char *sector;
    const unsigned char *curve_public;
    const unsigned char *sign_public;
} trust_query;

static bool trust_query_matches(const trust_query *q, const cert_info *c)
{
    return (q->agency_id == NULL || strcmp(q->agency_id, c->agency_id) == 0) &&
           (q->sector == NULL || strcmp(q->sector, c->sector) == 0) &&
           (q->curve_public == NULL || memcmp(q->curve_public, c->curve_public, 32) == 0) &&
           (q->sign_public == NULL || memcmp(q->sign_public, c->sign_public, 32) == 0);
}

/* The newest valid match; failing that, err explains why the newest match
 * is not valid, or that nothing matched (`what` names the query). */
static const cert_info *trust_store_find(const trust_store *ts, const trust_query *q,
                                         int64_t now, const char *what, fp_error *err)
{
    const cert_info *newest = NULL;
    for (size_t i = ts->count; i-- > 0;) {
        const cert_info *c = &ts->certs[i];
        if (!trust_query_matches(q, c))
            continue;
        if (trust_store_status(ts, c, now) == TRUST_VALID)
            return c;
        if (newest == NULL)
            newest = c;
    }
    if (newest == NULL) {
        fp_error_set(err, FP_ERR_NOT_FOUND, "no certificate in the trust bundle matches %s",
                     what);
        return NULL;
    }
    trust_store_check(ts, newest, now, err);
    return NULL;
}

const cert_info *trust_store_by_curve_key(const trust_store *ts,
                                          const unsigned char curve_public[32],
                                          int64_t now, fp_error *err)
{
    trust_query q = {.curve_public = curve_public};
    return trust_store_find(ts, &q, now, "this CURVE key", err);
}

const cert_info *trust_store_by_agency(const trust_store *ts, const char *agency_id,
                                       int64_t now, fp_error *err)
{
    if (!cert_agency_id_valid(agency_id)) {
        fp_error_set(err, FP_ERR_INPUT, "not a valid agency id");
        return NULL;
    }
    trust_query q = {.agency_id = agency_id};
    char what[CERT_ID_MAX + 16];
    snprintf(what, sizeof what, "agency %s", agency_id);
    return trust_store_find(ts, &q, now, what, err);
}

const cert_info *trust_store_by_sign_key(const trust_store *ts, const char *agency_id,
                                         const unsigned char sign_public[32], int64_t now,
                                         fp_error *err)
{
    if (!cert_agency_id_valid(agency_id)) {
        fp_error_set(err, FP_ERR_INPUT, "not a valid agency id");
        return NULL;
    }
    trust_query q = {.agency_id = agency_id, .sign_public = sign_public};
    char what[CERT_ID_MAX + 48];
    snprintf(what, sizeof what, "this signing key for agency %s", agency_id);
    return trust_store_find(ts, &q, now, what, err);
}

const cert_info *trust_store_broker(const trust_store *ts, int64_t now, fp_error *err)
{
    trust_query q = {.sector = "broker"};
    return trust_store_find(ts, &q, now, "a broker (sector broker)", err);
}
