/*
 * ca_revoke: revoking certificates and exporting the public bundle.
 * See ca.h.
 *
 * A revocation is checked against the CA's records before it is signed, so
 * a mistyped id or serial is an error rather than a silent no-op entry.
 * The new list carries every old entry, a higher number, and a fresh
 * signature, and replaces revoked.crl atomically.
 *
 * Export copies only the files a bundle is made of, by name, and only
 * certificates that verify against this CA; it never opens ca.key or
 * linkage.key, so it cannot leak them whatever else the CA directory holds.
 */
#include "ca.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ca_dir.h"
#include "cert.h"
#include "crl.h"
#include "fileio.h"
#include "keyfile.h"
#include "trust_store.h"

/* Is there anything of agency_id (serial: that one; 0: any) to revoke? */
static int ca_revoke_check(const char *dir, const char *agency_id, uint64_t serial,
                           fp_error *err)
{
    trust_store *ts = NULL;
    int rc = trust_store_load(&ts, dir, err);
    if (rc != FP_OK)
        return rc;
    const cert_info *found = NULL;
    for (size_t i = 0; i < trust_store_count(ts) && found == NULL; i++) {
        const cert_info *c = trust_store_at(ts, i);
        if (strcmp(c->agency_id, agency_id) == 0 && (serial == 0 || c->serial == serial))
            found = c;
    }
    const crl_entry *prior = crl_find(trust_store_revocations(ts), agency_id, serial);
    if (found == NULL && serial != 0)
        rc = fp_error_set(err, FP_ERR_NOT_FOUND,
                          "%s has no certificate with serial %llu; see `flagpost ca list "
                          "--ca %s`", agency_id, (unsigned long long)serial, dir);
    else if (found == NULL)
        rc = fp_error_set(err, FP_ERR_NOT_FOUND,
                          "this CA has issued nothing to %s; see `flagpost ca list --ca %s`",
                          agency_id, dir);
    else if (prior != NULL && serial != 0)
        rc = fp_error_set(err, FP_ERR_DENIED,
                          "certificate serial %llu of %s is already revoked; nothing changed",
                          (unsigned long long)serial, agency_id);
    else if (prior != NULL)
        rc = fp_error_set(err, FP_ERR_DENIED,
                          "every certificate of %s is already revoked; nothing changed",
                          agency_id);
    trust_store_free(ts);
    return rc;
}

static int ca_revoke_locked(const ca_dir *ca, const char *agency_id, uint64_t serial,
                            const char *reason, fp_error *err)
{
    int rc = ca_revoke_check(ca->dir, agency_id, serial, err);
    if (rc != FP_OK)
        return rc;
    char path[CA_PATH_MAX];
    if ((rc = ca_dir_path(path, ca->dir, "revoked.crl", err)) != FP_OK)
        return rc;
    crl list;
    rc = crl_read_file(path, ca->public_key, &list, err);
    if (rc == FP_ERR_NOT_FOUND)
        rc = FP_OK;   /* the first revocation */
    if (rc != FP_OK)
        return rc;
    int64_t now = ca_dir_now();
    list.number++;
    list.issued_at = now;
    uint8_t *bytes = NULL;
    size_t len = 0;
    rc = crl_append(&list, agency_id, serial, reason, now, err);
    if (rc == FP_OK)
        rc = crl_encode_signed(&list, ca->secret, &bytes, &len, err);
    if (rc == FP_OK)
        rc = fileio_write_atomic(path, bytes, len, 0644, err);
    free(bytes);
    crl_free(&list);
    return rc;
}

int ca_revoke(const char *ca_dir_name, const char *agency_id, uint64_t serial,
              const char *reason, fp_error *err)
{
    if (!cert_agency_id_valid(agency_id))
        return fp_error_set(err, FP_ERR_INPUT, "--id is not a valid agency id");
    if (!cert_text_valid(reason, CRL_REASON_MAX))
        return fp_error_set(err, FP_ERR_INPUT,
                            "--reason must be 1-%d characters with no control characters",
                            CRL_REASON_MAX - 1);
    ca_dir ca;
    int rc = ca_dir_open(&ca, ca_dir_name, true, err);
    if (rc != FP_OK)
        return rc;
    rc = ca_revoke_locked(&ca, agency_id, serial, reason, err);
    ca_dir_close(&ca);
    return rc;
}

/* out_dir must be new, empty, or an earlier export of this same CA. */
static int ca_export_prepare(const ca_dir *ca, const char *out_dir, fp_error *err)
{
    static const char *const not_here[] = {
        "ca.key", "linkage.key", "curve.key", "sign.key", "box.key", "linkage.sealed",
    };
    for (size_t i = 0; i < sizeof not_here / sizeof not_here[0]; i++)
        if (ca_dir_has(out_dir, not_here[i]))
            return fp_error_set(err, FP_ERR_DENIED,
                                "--out %s holds %s, so it is a CA or identity directory; "
                                "export the public bundle to a directory of its own",
                                out_dir, not_here[i]);
    if (ca_dir_has(out_dir, "ca.pub")) {
        char path[CA_PATH_MAX];
        unsigned char pk[32];
        int rc = ca_dir_path(path, out_dir, "ca.pub", err);
        if (rc == FP_OK)
            rc = keyfile_read_public(path, "ca-public", pk, 32, err);
        if (rc != FP_OK || memcmp(pk, ca->public_key, 32) != 0)
            return fp_error_set(err, FP_ERR_DENIED,
                                "--out %s holds the bundle of a different CA; export to a "
                                "new directory", out_dir);
    }
    char certs[CA_PATH_MAX];
    int rc = ca_dir_path(certs, out_dir, "certs", err);
    if (rc == FP_OK)
        rc = fileio_mkdirs(certs, 0755, err);
    return rc;
}

static int ca_export_one(const ca_dir *ca, const char *name, const char *out_dir,
                         size_t max, fp_error *err)
{
    char from[CA_PATH_MAX], to[CA_PATH_MAX];
    int rc = ca_dir_path(from, ca->dir, name, err);
    if (rc == FP_OK)
        rc = ca_dir_path(to, out_dir, name, err);
    if (rc == FP_OK)
        rc = ca_dir_copy_public(from, to, max, err);
    return rc;
}

static int ca_export_certs(const ca_dir *ca, const char *out_dir, fp_error *err)
{
    char cdir[CA_PATH_MAX];
    int rc = ca_dir_path(cdir, ca->dir, "certs", err);
    if (rc != FP_OK)
        return rc;
    DIR *d = opendir(cdir);
    if (d == NULL)
        return errno == ENOENT ? FP_OK
                               : fp_error_set(err, FP_ERR_IO, "cannot read %s: %s", cdir,
                                              strerror(errno));
    struct dirent *de;
    while (rc == FP_OK && (de = readdir(d)) != NULL) {
        size_t n = strlen(de->d_name);
        if (n <= 5 || de->d_name[0] == '.' || strcmp(de->d_name + n - 5, ".cert") != 0)
            continue;
        char name[CA_PATH_MAX], path[CA_PATH_MAX];
        cert_info info;
        snprintf(name, sizeof name, "certs/%s", de->d_name);
        if (ca_dir_path(path, ca->dir, name, NULL) != FP_OK ||
            cert_read_file(path, ca->public_key, &info, NULL) != FP_OK)
            continue;   /* not this CA's: a bundle carries only what verifies */
        rc = ca_export_one(ca, name, out_dir, CERT_FILE_MAX, err);
    }
    closedir(d);
    return rc;
}

static int ca_export_locked(const ca_dir *ca, const char *out_dir, fp_error *err)
{
    /* Loading first proves the revocation list verifies: a bundle with a
     * broken list would fail on every agent. */
    trust_store *ts = NULL;
    int rc = trust_store_load(&ts, ca->dir, err);
    if (rc != FP_OK)
        return rc;
    trust_store_free(ts);
    if ((rc = ca_export_prepare(ca, out_dir, err)) != FP_OK ||
        (rc = ca_export_one(ca, "ca.pub", out_dir, 4096, err)) != FP_OK ||
        (rc = ca_export_one(ca, "ca.name", out_dir, 1024, err)) != FP_OK ||
        (rc = ca_export_certs(ca, out_dir, err)) != FP_OK)
        return rc;
    if (ca_dir_has(ca->dir, "revoked.crl"))
        rc = ca_export_one(ca, "revoked.crl", out_dir, CRL_FILE_MAX, err);
    return rc;
}

int ca_export_bundle(const char *ca_dir_name, const char *out_dir, fp_error *err)
{
    if (out_dir == NULL || out_dir[0] == '\0')
        return fp_error_set(err, FP_ERR_INPUT, "--out DIR is required");
    ca_dir ca;
    int rc = ca_dir_open(&ca, ca_dir_name, false, err);
    if (rc != FP_OK)
        return rc;
    rc = fileio_mkdirs(out_dir, 0755, err);
    if (rc == FP_OK)
        rc = ca_export_locked(&ca, out_dir, err);
    ca_dir_close(&ca);
    return rc;
}
