/*
 * ca: creating a partnership CA and the plumbing every CA operation shares
 * (locking, loading the key).  Issuing is in ca_issue.c, revoking and
 * exporting in ca_revoke.c.  See ca.h for the directory layout.
 *
 * The CA directory is created 0700 and every secret in it 0600 from the
 * moment the file exists (fileio_write_atomic creates with the final
 * mode).  ca_init() refuses a directory that already holds anything, so a
 * typo can never replace a partnership's CA key: every certificate ever
 * issued would stop verifying.
 */
#include "ca.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ca_dir.h"
#include "fileio.h"
#include "keyfile.h"

int64_t ca_dir_now(void)
{
    return (int64_t)time(NULL);
}

int ca_dir_path(char out[CA_PATH_MAX], const char *dir, const char *name, fp_error *err)
{
    return fileio_join(out, CA_PATH_MAX, dir, name, err);
}

bool ca_dir_has(const char *dir, const char *name)
{
    char path[CA_PATH_MAX];
    struct stat st;
    return ca_dir_path(path, dir, name, NULL) == FP_OK && lstat(path, &st) == 0;
}

int ca_dir_copy_public(const char *from, const char *to, size_t max, fp_error *err)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = fileio_read_all(from, max, &buf, &len, err);
    if (rc != FP_OK)
        return rc;
    rc = fileio_write_atomic(to, buf, len, 0644, err);
    free(buf);
    return rc;
}

/* A read-only operation on read-only media (the CA kept offline on a
 * write-protected stick) goes ahead unlocked: it cannot race a writer that
 * cannot exist. */
static int ca_dir_lock(ca_dir *ca, bool read_only, fp_error *err)
{
    char path[CA_PATH_MAX];
    int rc = ca_dir_path(path, ca->dir, "lock", err);
    if (rc != FP_OK)
        return rc;
    ca->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (ca->lock_fd < 0 && read_only && (errno == EROFS || errno == EACCES))
        return FP_OK;
    if (ca->lock_fd < 0)
        return fp_error_set(err, FP_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    if (flock(ca->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        close(ca->lock_fd);
        ca->lock_fd = -1;
        return fp_error_set(err, FP_ERR_UNAVAILABLE,
                            "another `flagpost ca` command is working on %s; wait for it "
                            "to finish and try again", ca->dir);
    }
    return FP_OK;
}

static int ca_dir_read_name(ca_dir *ca, fp_error *err)
{
    char path[CA_PATH_MAX];
    int rc = ca_dir_path(path, ca->dir, "ca.name", err);
    uint8_t *buf = NULL;
    size_t len = 0;
    if (rc == FP_OK)
        rc = fileio_read_all(path, 1024, &buf, &len, err);
    if (rc != FP_OK)
        return rc;
    buf[strcspn((char *)buf, "\r\n")] = '\0';
    if (!cert_text_valid((char *)buf, CERT_NAME_MAX))
        rc = fp_error_set(err, FP_ERR_INPUT, "%s: the CA name must be one line of 1-%d "
                          "characters", path, CERT_NAME_MAX - 1);
    else
        snprintf(ca->name, sizeof ca->name, "%s", (char *)buf);
    free(buf);
    return rc;
}

static int ca_dir_read_keys(ca_dir *ca, bool with_secret, fp_error *err)
{
    char path[CA_PATH_MAX];
    int rc = ca_dir_path(path, ca->dir, "ca.pub", err);
    if (rc == FP_OK)
        rc = keyfile_read_public(path, "ca-public", ca->public_key, 32, err);
    if (rc != FP_OK || !with_secret)
        return rc;
    if ((rc = ca_dir_path(path, ca->dir, "ca.key", err)) != FP_OK ||
        (rc = keyfile_read_secret(path, "ca-secret", &ca->secret, 64, err)) != FP_OK)
        return rc;
    unsigned char pk[32];
    crypto_sign_ed25519_sk_to_pk(pk, ca->secret);
    if (sodium_memcmp(pk, ca->public_key, 32) != 0)
        return fp_error_set(err, FP_ERR_CRYPTO,
                            "%s/ca.key and %s/ca.pub are not a pair; restore both from "
                            "the same backup", ca->dir, ca->dir);
    return FP_OK;
}

int ca_dir_open(ca_dir *ca, const char *dir, bool with_secret, fp_error *err)
{
    memset(ca, 0, sizeof *ca);
    ca->dir = dir;
    ca->lock_fd = -1;
    if (sodium_init() < 0)   /* sodium_malloc aborts without it */
        return fp_error_set(err, FP_ERR_INTERNAL, "libsodium failed to initialise");
    if (!ca_dir_has(dir, "ca.pub") || (with_secret && !ca_dir_has(dir, "ca.key")))
        return fp_error_set(err, FP_ERR_NOT_FOUND,
                            "%s is not a CA directory (no %s); create one with `flagpost "
                            "ca init --ca %s --name NAME`, or give the right --ca",
                            dir, with_secret ? "ca.key" : "ca.pub", dir);
    int rc = ca_dir_lock(ca, !with_secret, err);
    if (rc == FP_OK)
        rc = ca_dir_read_keys(ca, with_secret, err);
    if (rc == FP_OK)
        rc = ca_dir_read_name(ca, err);
    if (rc != FP_OK)
        ca_dir_close(ca);
    return rc;
}

void ca_dir_close(ca_dir *ca)
{
    keyfile_free_secret(ca->secret, 64);
    ca->secret = NULL;
    if (ca->lock_fd >= 0)
        close(ca->lock_fd);   /* releases the flock */
    ca->lock_fd = -1;
}

/* An existing directory may be used only if it is empty. */
static int ca_init_prepare_dir(const char *dir, fp_error *err)
{
    DIR *d = opendir(dir);
    if (d == NULL) {
        if (errno != ENOENT)
            return fp_error_set(err, FP_ERR_IO, "cannot open %s: %s", dir, strerror(errno));
        return fileio_mkdirs(dir, 0700, err);
    }
    struct dirent *de;
    bool empty = true;
    while ((de = readdir(d)) != NULL)
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
            empty = false;
    closedir(d);
    if (ca_dir_has(dir, "ca.key"))
        return fp_error_set(err, FP_ERR_DENIED,
                            "%s already holds a CA (ca.key); refusing to replace it, since "
                            "every certificate it issued would stop verifying", dir);
    if (!empty)
        return fp_error_set(err, FP_ERR_DENIED,
                            "%s is not empty; give a new or empty directory for the CA", dir);
    if (chmod(dir, 0700) != 0)
        return fp_error_set(err, FP_ERR_IO, "cannot make %s private (chmod 700): %s", dir,
                            strerror(errno));
    return FP_OK;
}

static int ca_init_write(const char *dir, const char *name, const unsigned char *sk,
                         const unsigned char *pk, const unsigned char *linkage, fp_error *err)
{
    char path[CA_PATH_MAX];
    char line[CERT_NAME_MAX + 2];
    snprintf(line, sizeof line, "%s\n", name);
    int rc;
    if ((rc = ca_dir_path(path, dir, "ca.key", err)) != FP_OK ||
        (rc = keyfile_write_secret(path, "ca-secret", sk, 64, err)) != FP_OK ||
        (rc = ca_dir_path(path, dir, "linkage.key", err)) != FP_OK ||
        (rc = keyfile_write_secret(path, "linkage-key", linkage, 32, err)) != FP_OK ||
        (rc = ca_dir_path(path, dir, "ca.pub", err)) != FP_OK ||
        (rc = keyfile_write_public(path, "ca-public", pk, 32, err)) != FP_OK ||
        (rc = ca_dir_path(path, dir, "ca.name", err)) != FP_OK ||
        (rc = fileio_write_atomic(path, line, strlen(line), 0644, err)) != FP_OK ||
        (rc = ca_dir_path(path, dir, "serial", err)) != FP_OK ||
        (rc = fileio_write_atomic(path, "0\n", 2, 0644, err)) != FP_OK ||
        (rc = ca_dir_path(path, dir, "certs", err)) != FP_OK ||
        (rc = fileio_mkdirs(path, 0755, err)) != FP_OK)
        return rc;
    return FP_OK;
}

int ca_init(const char *ca_dir_path_arg, const char *name, fp_error *err)
{
    if (!cert_text_valid(name, CERT_NAME_MAX))
        return fp_error_set(err, FP_ERR_INPUT,
                            "--name must be 1-%d characters with no control characters",
                            CERT_NAME_MAX - 1);
    if (sodium_init() < 0)
        return fp_error_set(err, FP_ERR_INTERNAL, "libsodium failed to initialise");
    int rc = ca_init_prepare_dir(ca_dir_path_arg, err);
    if (rc != FP_OK)
        return rc;
    unsigned char pk[32];
    unsigned char *sk = sodium_malloc(64);
    unsigned char *linkage = sodium_malloc(32);
    if (sk == NULL || linkage == NULL)
        rc = fp_error_set(err, FP_ERR_IO, "out of memory creating the CA key");
    if (rc == FP_OK) {
        crypto_sign_keypair(pk, sk);
        randombytes_buf(linkage, 32);
        rc = ca_init_write(ca_dir_path_arg, name, sk, pk, linkage, err);
    }
    if (sk != NULL)
        sodium_free(sk);
    if (linkage != NULL)
        sodium_free(linkage);
    return rc;
}
