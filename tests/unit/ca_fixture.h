/*
 * ca_fixture.h: shared helpers for the certs/ unit tests (test_cert*,
 * test_trust*, test_identity*, test_ca*): a private temporary directory, a
 * CA in it, identities issued with chosen dates, and small file surgery
 * (flip a byte, copy, chmod) for the tampering tests.  Header-only so each
 * test stays one program.
 */
#ifndef FLAGPOST_CA_FIXTURE_H
#define FLAGPOST_CA_FIXTURE_H

#include <ftw.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ca.h"
#include "fileio.h"
#include "fp_error.h"

#define FX_DAY INT64_C(86400)

typedef struct fx {
    char root[512];
    char ca[600];
} fx;

static inline int fx_rm_one(const char *path, const struct stat *st, int flag,
                            struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* A fresh temporary root with a CA in root/ca; false if that failed. */
static inline bool fx_setup(fx *f)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(f->root, sizeof f->root, "%s/fp-certs.XXXXXX", tmp ? tmp : "/tmp");
    if (mkdtemp(f->root) == NULL)
        return false;
    snprintf(f->ca, sizeof f->ca, "%s/ca", f->root);
    fp_error err = {0};
    if (ca_init(f->ca, "Test Partnership CA", &err) != FP_OK) {
        printf("#   ca_init: %s\n", err.message);
        return false;
    }
    return true;
}

static inline void fx_teardown(fx *f)
{
    if (f->root[0] != '\0')
        nftw(f->root, fx_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static inline const char *fx_path(const fx *f, const char *name, char *buf, size_t n)
{
    snprintf(buf, n, "%s/%s", f->root, name);
    return buf;
}

/* Issue id into root/out; not_before 0 means now, days 0 means 365. */
static inline int fx_issue_at(const fx *f, const char *ca_dir, const char *id,
                              const char *sector, const char *out, int64_t not_before,
                              int64_t days, uint64_t *serial)
{
    char out_path[700];
    fx_path(f, out, out_path, sizeof out_path);
    ca_issue_options opt = {
        .agency_id = id,
        .display_name = "Test Agency",
        .sector = sector,
        .out_dir = out_path,
        .not_before = not_before,
        .valid_days = days,
    };
    fp_error err = {0};
    int rc = ca_issue(ca_dir, &opt, serial, &err);
    if (rc != FP_OK)
        printf("#   ca_issue %s: %s\n", id, err.message);
    return rc;
}

static inline int fx_issue(const fx *f, const char *id, const char *sector, const char *out,
                           uint64_t *serial)
{
    return fx_issue_at(f, f->ca, id, sector, out, 0, 0, serial);
}

static inline bool fx_flip_byte(const char *path, size_t offset)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    if (fileio_read_all(path, 1 << 20, &buf, &len, NULL) != FP_OK)
        return false;
    bool ok = offset < len;
    if (ok) {
        buf[offset] ^= 0x01;
        ok = fileio_write_atomic(path, buf, len, 0644, NULL) == FP_OK;
    }
    free(buf);
    return ok;
}

static inline bool fx_copy(const char *from, const char *to, mode_t mode)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    if (fileio_read_all(from, 1 << 20, &buf, &len, NULL) != FP_OK)
        return false;
    bool ok = fileio_write_atomic(to, buf, len, mode, NULL) == FP_OK;
    free(buf);
    return ok;
}

static inline int fx_mode(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (int)(st.st_mode & 07777) : -1;
}

static inline bool fx_exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

static inline int64_t fx_now(void)
{
    return (int64_t)time(NULL);
}

#endif
