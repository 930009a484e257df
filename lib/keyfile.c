/*
 * keyfile: key material on disk.  See keyfile.h.
 *
 * The permission check happens on the open descriptor (fstat), not on the
 * path, so the file checked is the file read.  Base64 decoding goes straight
 * into sodium_malloc memory; the text buffer that held the encoding is
 * wiped before it is freed.
 */
#include "keyfile.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"

#define KEYFILE_MAX 4096

static int keyfile_write(const char *path, const char *kind, const unsigned char *key,
                         size_t len, mode_t mode, fp_error *err)
{
    size_t b64len = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
    size_t cap = strlen(kind) + b64len + 32;
    char *text = sodium_malloc(cap);
    if (text == NULL)
        return fp_error_set(err, FP_ERR_IO, "out of memory writing %s", path);
    int n = snprintf(text, cap, "flagpost-%s-v1\n", kind);
    sodium_bin2base64(text + n, cap - (size_t)n, key, len, sodium_base64_VARIANT_ORIGINAL);
    size_t total = strlen(text);
    text[total++] = '\n';
    int rc = fileio_write_atomic(path, text, total, mode, err);
    sodium_free(text);
    return rc;
}

int keyfile_write_secret(const char *path, const char *kind, const unsigned char *key,
                         size_t len, fp_error *err)
{
    return keyfile_write(path, kind, key, len, 0600, err);
}

int keyfile_write_public(const char *path, const char *kind, const unsigned char *key,
                         size_t len, fp_error *err)
{
    return keyfile_write(path, kind, key, len, 0644, err);
}

/* Read the file into sodium memory, refusing group/other access when
 * must_be_private.  *text is NUL-terminated. */
static int keyfile_slurp(const char *path, bool must_be_private, char **text,
                         fp_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return fp_error_set(err, errno == ENOENT ? FP_ERR_NOT_FOUND : FP_ERR_IO,
                            "cannot open key file %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > KEYFILE_MAX) {
        close(fd);
        return fp_error_set(err, FP_ERR_INPUT, "%s is not a key file", path);
    }
    if (must_be_private && (st.st_mode & 077) != 0) {
        close(fd);
        return fp_error_set(err, FP_ERR_PERMISSIONS,
                            "secret key %s is readable by other users (mode %04o); "
                            "refusing to use it. Fix with: chmod 600 %s, and consider "
                            "the key compromised if others could have read it",
                            path, (unsigned)(st.st_mode & 07777), path);
    }
    char *buf = sodium_malloc((size_t)st.st_size + 1);
    if (buf == NULL) {
        close(fd);
        return fp_error_set(err, FP_ERR_IO, "out of memory reading %s", path);
    }
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    buf[got] = '\0';
    *text = buf;
    return FP_OK;
}

static int keyfile_decode(const char *path, const char *kind, const char *text,
                          unsigned char *out, size_t len, fp_error *err)
{
    char header[96];
    snprintf(header, sizeof header, "flagpost-%s-v1\n", kind);
    size_t hlen = strlen(header);
    if (strncmp(text, header, hlen) != 0)
        return fp_error_set(err, FP_ERR_INPUT,
                            "%s is not a '%s' key file (its first line should be "
                            "flagpost-%s-v1)", path, kind, kind);
    const char *b64 = text + hlen;
    size_t b64len = strcspn(b64, "\r\n");
    size_t bin_len = 0;
    if (sodium_base642bin(out, len, b64, b64len, NULL, &bin_len, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0 || bin_len != len)
        return fp_error_set(err, FP_ERR_INPUT,
                            "%s: key is not %zu bytes of base64; the file is damaged",
                            path, len);
    return FP_OK;
}

int keyfile_read_secret(const char *path, const char *kind, unsigned char **out, size_t len,
                        fp_error *err)
{
    *out = NULL;
    char *text = NULL;
    int rc = keyfile_slurp(path, true, &text, err);
    if (rc != FP_OK)
        return rc;
    unsigned char *key = sodium_malloc(len);
    if (key == NULL) {
        sodium_free(text);
        return fp_error_set(err, FP_ERR_IO, "out of memory reading %s", path);
    }
    rc = keyfile_decode(path, kind, text, key, len, err);
    sodium_free(text);   /* sodium_free wipes */
    if (rc != FP_OK) {
        sodium_free(key);
        return rc;
    }
    *out = key;
    return FP_OK;
}

int keyfile_read_public(const char *path, const char *kind, unsigned char *out, size_t len,
                        fp_error *err)
{
    char *text = NULL;
    int rc = keyfile_slurp(path, false, &text, err);
    if (rc != FP_OK)
        return rc;
    rc = keyfile_decode(path, kind, text, out, len, err);
    sodium_free(text);
    return rc;
}

void keyfile_free_secret(unsigned char *key, size_t len)
{
    (void)len;   /* sodium_free knows the size and wipes it */
    if (key != NULL)
        sodium_free(key);
}
