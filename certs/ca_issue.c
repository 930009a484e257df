/*
 * ca_issue: issuing an identity.  See ca.h and identity.h.
 *
 * Issuing for an agency that already holds certificates is how keys are
 * rotated: the new certificate gets a new serial and fresh keys, and the
 * old one stays valid until it expires or is revoked, so an agency can
 * move its agent to the new identity without a gap.  Two things are
 * refused because they would quietly change what an id means: changing an
 * id's sector (an agency must never become a broker), and issuing for an
 * agency revoked as a whole (such a certificate would be refused anyway).
 *
 * The serial counter is advanced and saved before anything is written, so
 * a crash can waste a serial but never hand the same one out twice.  If
 * recording the certificate fails after the identity files were written,
 * they are removed again: an identity the CA has no record of is useless.
 */
#include "ca.h"

#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ca_dir.h"
#include "cert.h"
#include "crl.h"
#include "fileio.h"
#include "identity.h"
#include "keyfile.h"
#include "trust_store.h"

#define CA_MAX_VALID_DAYS 3650
#define CA_LAST_TIME INT64_C(253402300799)   /* 9999-12-31T23:59:59Z */

static const char *const ca_identity_files[] = {
    "agency.cert", "curve.key", "sign.key", "box.key", "linkage.sealed",
};
#define CA_N_IDENTITY_FILES (sizeof ca_identity_files / sizeof ca_identity_files[0])

/* Secret halves of a fresh identity, all in sodium_malloc memory. */
typedef struct ca_new_keys {
    unsigned char *curve_secret;   /* 32 */
    unsigned char *sign_secret;    /* 64 */
    unsigned char *box_secret;     /* 32 */
} ca_new_keys;

static void ca_new_keys_free(ca_new_keys *k)
{
    keyfile_free_secret(k->curve_secret, 32);
    keyfile_free_secret(k->sign_secret, 64);
    keyfile_free_secret(k->box_secret, 32);
    memset(k, 0, sizeof *k);
}

static int ca_new_keys_make(ca_new_keys *k, cert_info *info, fp_error *err)
{
    k->curve_secret = sodium_malloc(32);
    k->sign_secret = sodium_malloc(64);
    k->box_secret = sodium_malloc(32);
    if (k->curve_secret == NULL || k->sign_secret == NULL || k->box_secret == NULL)
        return fp_error_set(err, FP_ERR_IO, "out of memory generating keys");
    /* CurveZMQ's keys are X25519 keys, so libsodium makes them directly
     * (raw bytes, no Z85 round trip). */
    if (crypto_box_keypair(info->curve_public, k->curve_secret) != 0 ||
        crypto_sign_keypair(info->sign_public, k->sign_secret) != 0 ||
        crypto_box_keypair(info->box_public, k->box_secret) != 0)
        return fp_error_set(err, FP_ERR_INTERNAL, "key generation failed");
    return FP_OK;
}

static int ca_issue_check_options(const ca_issue_options *opt, fp_error *err)
{
    if (!cert_agency_id_valid(opt->agency_id))
        return fp_error_set(err, FP_ERR_INPUT,
                            "--id must be 1-%d characters of a-z, 0-9, '-' and '_', starting "
                            "with a letter or digit", CERT_ID_MAX - 1);
    if (!cert_text_valid(opt->display_name, CERT_NAME_MAX))
        return fp_error_set(err, FP_ERR_INPUT,
                            "--name must be 1-%d characters with no control characters",
                            CERT_NAME_MAX - 1);
    if (!cert_sector_valid(opt->sector))
        return fp_error_set(err, FP_ERR_INPUT, "unknown --sector; valid sectors are: %s",
                            cert_sector_list());
    if (opt->valid_days < 0 || opt->valid_days > CA_MAX_VALID_DAYS)
        return fp_error_set(err, FP_ERR_INPUT, "--valid-days must be 1-%d",
                            CA_MAX_VALID_DAYS);
    if (opt->not_before < 0 || opt->not_before > CA_LAST_TIME)
        return fp_error_set(err, FP_ERR_INPUT,
                            "the start of validity must be between 1970 and 9999");
    if (opt->out_dir == NULL || opt->out_dir[0] == '\0')
        return fp_error_set(err, FP_ERR_INPUT, "--out DIR is required");
    return FP_OK;
}

/* What the CA's own records say about issuing for this id. */
static int ca_issue_check_history(const char *ca_dir_name, const ca_issue_options *opt,
                                  fp_error *err)
{
    trust_store *ts = NULL;
    int rc = trust_store_load(&ts, ca_dir_name, err);
    if (rc != FP_OK)
        return rc;
    const crl_entry *all = crl_find(trust_store_revocations(ts), opt->agency_id, 0);
    if (all != NULL && all->serial == 0)
        rc = fp_error_set(err, FP_ERR_DENIED,
                          "agency %s was revoked as a whole, so a new certificate for it "
                          "would be refused; issue under a new --id instead",
                          opt->agency_id);
    for (size_t i = 0; rc == FP_OK && i < trust_store_count(ts); i++) {
        const cert_info *c = trust_store_at(ts, i);
        if (strcmp(c->agency_id, opt->agency_id) == 0 && strcmp(c->sector, opt->sector) != 0)
            rc = fp_error_set(err, FP_ERR_DENIED,
                              "%s already holds certificates in sector %s; an id keeps its "
                              "sector for life, so use --sector %s or a new --id",
                              opt->agency_id, c->sector, c->sector);
    }
    trust_store_free(ts);
    return rc;
}

static int ca_issue_prepare_out(const char *out_dir, fp_error *err)
{
    if (ca_dir_has(out_dir, "ca.key"))
        return fp_error_set(err, FP_ERR_DENIED,
                            "--out %s is a CA directory; give a separate directory for the "
                            "identity", out_dir);
    for (size_t i = 0; i < CA_N_IDENTITY_FILES; i++)
        if (ca_dir_has(out_dir, ca_identity_files[i]))
            return fp_error_set(err, FP_ERR_DENIED,
                                "--out %s already holds an identity (%s); refusing to "
                                "overwrite it. Give a new directory, or move the old one "
                                "away first", out_dir, ca_identity_files[i]);
    return fileio_mkdirs(out_dir, 0700, err);
}

static int ca_next_serial(const char *dir, uint64_t *serial, fp_error *err)
{
    char path[CA_PATH_MAX];
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = ca_dir_path(path, dir, "serial", err);
    if (rc == FP_OK)
        rc = fileio_read_all(path, 64, &buf, &len, err);
    if (rc != FP_OK)
        return rc;
    char *end = NULL;
    errno = 0;
    unsigned long long last = strtoull((char *)buf, &end, 10);
    bool ok = errno == 0 && end != (char *)buf && (*end == '\n' || *end == '\0') &&
              buf[0] >= '0' && buf[0] <= '9' && last < UINT64_MAX;
    free(buf);
    if (!ok)
        return fp_error_set(err, FP_ERR_INPUT,
                            "%s is damaged (it should hold the last serial issued, as one "
                            "number); restore it from backup", path);
    char line[32];
    int n = snprintf(line, sizeof line, "%llu\n", last + 1);
    rc = fileio_write_atomic(path, line, (size_t)n, 0644, err);
    if (rc == FP_OK)
        *serial = (uint64_t)last + 1;
    return rc;
}

/* The linkage key, loaded before any serial is spent; NULL for the broker,
 * which routes and audits on metadata only and must never hold it. */
static int ca_load_linkage(const char *ca_dir_name, const char *sector, unsigned char **out,
                           fp_error *err)
{
    *out = NULL;
    if (strcmp(sector, "broker") == 0)
        return FP_OK;
    char path[CA_PATH_MAX];
    int rc = ca_dir_path(path, ca_dir_name, "linkage.key", err);
    if (rc == FP_OK)
        rc = keyfile_read_secret(path, "linkage-key", out, 32, err);
    return rc;
}

static int ca_write_linkage(const unsigned char *linkage, const char *out_dir,
                            const unsigned char box_public[32], fp_error *err)
{
    char path[CA_PATH_MAX];
    int rc = FP_OK;
    /* The sealed form is safe to handle, but it is kept 0600 like any key. */
    unsigned char *sealed = sodium_malloc(IDENTITY_LINKAGE_SEALED_LEN);
    if (sealed == NULL)
        rc = fp_error_set(err, FP_ERR_IO, "out of memory sealing the linkage key");
    else if (crypto_box_seal(sealed, linkage, 32, box_public) != 0)
        rc = fp_error_set(err, FP_ERR_INTERNAL, "sealing the linkage key failed");
    if (rc == FP_OK)
        rc = ca_dir_path(path, out_dir, "linkage.sealed", err);
    if (rc == FP_OK)
        rc = keyfile_write_secret(path, IDENTITY_LINKAGE_KIND, sealed,
                                  IDENTITY_LINKAGE_SEALED_LEN, err);
    if (sealed != NULL)
        sodium_free(sealed);
    return rc;
}

static int ca_write_identity(const unsigned char *linkage, const char *out_dir,
                             const cert_info *info, const ca_new_keys *k,
                             const uint8_t *cert, size_t cert_len, fp_error *err)
{
    char path[CA_PATH_MAX];
    int rc;
    if ((rc = ca_dir_path(path, out_dir, "curve.key", err)) != FP_OK ||
        (rc = keyfile_write_secret(path, "curve-secret", k->curve_secret, 32, err)) != FP_OK ||
        (rc = ca_dir_path(path, out_dir, "sign.key", err)) != FP_OK ||
        (rc = keyfile_write_secret(path, "sign-secret", k->sign_secret, 64, err)) != FP_OK ||
        (rc = ca_dir_path(path, out_dir, "box.key", err)) != FP_OK ||
        (rc = keyfile_write_secret(path, "box-secret", k->box_secret, 32, err)) != FP_OK)
        return rc;
    if (linkage != NULL &&
        (rc = ca_write_linkage(linkage, out_dir, info->box_public, err)) != FP_OK)
        return rc;
    if ((rc = ca_dir_path(path, out_dir, "agency.cert", err)) != FP_OK)
        return rc;
    return fileio_write_atomic(path, cert, cert_len, 0644, err);
}

static void ca_remove_identity(const char *out_dir)
{
    char path[CA_PATH_MAX];
    for (size_t i = 0; i < CA_N_IDENTITY_FILES; i++)
        if (ca_dir_path(path, out_dir, ca_identity_files[i], NULL) == FP_OK)
            unlink(path);
}

static int ca_record_cert(const char *ca_dir_name, const cert_info *info, const uint8_t *cert,
                          size_t cert_len, fp_error *err)
{
    char name[CERT_ID_MAX + 32];
    snprintf(name, sizeof name, "certs/%s-%" PRIu64 ".cert", info->agency_id, info->serial);
    char path[CA_PATH_MAX];
    int rc = ca_dir_path(path, ca_dir_name, name, err);
    if (rc != FP_OK)
        return rc;
    return fileio_write_atomic(path, cert, cert_len, 0644, err);
}

/* Everything after the CA is open, the options are known good and the
 * linkage key (if any) is loaded. */
static int ca_issue_locked(const ca_dir *ca, const ca_issue_options *opt,
                           const unsigned char *linkage, uint64_t *serial_out, fp_error *err)
{
    int rc = ca_issue_check_history(ca->dir, opt, err);
    if (rc == FP_OK)
        rc = ca_issue_prepare_out(opt->out_dir, err);
    cert_info info;
    memset(&info, 0, sizeof info);
    if (rc == FP_OK)
        rc = ca_next_serial(ca->dir, &info.serial, err);
    if (rc != FP_OK)
        return rc;
    snprintf(info.agency_id, sizeof info.agency_id, "%s", opt->agency_id);
    snprintf(info.display_name, sizeof info.display_name, "%s", opt->display_name);
    snprintf(info.sector, sizeof info.sector, "%s", opt->sector);
    snprintf(info.ca_name, sizeof info.ca_name, "%s", ca->name);
    int64_t start = opt->not_before ? opt->not_before : ca_dir_now();
    info.not_before = opt->not_before ? start : start - CA_CLOCK_LEEWAY_S;
    info.not_after = start + (opt->valid_days ? opt->valid_days : 365) * 86400;

    ca_new_keys keys = {0};
    uint8_t *cert = NULL;
    size_t cert_len = 0;
    rc = ca_new_keys_make(&keys, &info, err);
    if (rc == FP_OK)
        rc = cert_encode_signed(&info, ca->secret, &cert, &cert_len, err);
    if (rc == FP_OK) {
        rc = ca_write_identity(linkage, opt->out_dir, &info, &keys, cert, cert_len, err);
        if (rc == FP_OK)
            rc = ca_record_cert(ca->dir, &info, cert, cert_len, err);
        if (rc != FP_OK)
            ca_remove_identity(opt->out_dir);
    }
    ca_new_keys_free(&keys);
    free(cert);
    if (rc == FP_OK && serial_out != NULL)
        *serial_out = info.serial;
    return rc;
}

int ca_issue(const char *ca_dir_name, const ca_issue_options *opt, uint64_t *serial_out,
             fp_error *err)
{
    int rc = ca_issue_check_options(opt, err);
    if (rc != FP_OK)
        return rc;
    ca_dir ca;
    if ((rc = ca_dir_open(&ca, ca_dir_name, true, err)) != FP_OK)
        return rc;
    unsigned char *linkage = NULL;
    rc = ca_load_linkage(ca_dir_name, opt->sector, &linkage, err);
    if (rc == FP_OK)
        rc = ca_issue_locked(&ca, opt, linkage, serial_out, err);
    keyfile_free_secret(linkage, 32);
    ca_dir_close(&ca);
    return rc;
}
