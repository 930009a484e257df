/*
 * fileio: whole-file reads and crash-safe writes.  See fileio.h.
 */
#include "fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int fileio_read_all(const char *path, size_t max_len, uint8_t **out, size_t *len,
                    fp_error *err)
{
    *out = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return fp_error_set(err, errno == ENOENT ? FP_ERR_NOT_FOUND : FP_ERR_IO,
                            "cannot open %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return fp_error_set(err, FP_ERR_IO, "%s is not a regular file", path);
    }
    if ((size_t)st.st_size > max_len) {
        close(fd);
        return fp_error_set(err, FP_ERR_INPUT, "%s is %lld bytes; the limit is %zu",
                            path, (long long)st.st_size, max_len);
    }
    size_t cap = (size_t)st.st_size;
    uint8_t *buf = malloc(cap + 1);
    if (buf == NULL) {
        close(fd);
        return fp_error_set(err, FP_ERR_IO, "out of memory reading %s", path);
    }
    size_t got = 0;
    while (got < cap) {
        ssize_t n = read(fd, buf + got, cap - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int e = errno;
            free(buf);
            close(fd);
            return fp_error_set(err, FP_ERR_IO, "cannot read %s: %s", path,
                                n == 0 ? "file shrank while reading" : strerror(e));
        }
        got += (size_t)n;
    }
    close(fd);
    buf[got] = '\0';
    *out = buf;
    *len = got;
    return FP_OK;
}

static int write_fully(int fd, const uint8_t *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static void fsync_parent(const char *path)
{
    char copy[PATH_MAX];
    snprintf(copy, sizeof copy, "%s", path);
    int dfd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
}

int fileio_write_atomic(const char *path, const void *data, size_t len, mode_t mode,
                        fp_error *err)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof tmp)
        return fp_error_set(err, FP_ERR_INPUT, "path too long: %s", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
    if (fd < 0)
        return fp_error_set(err, FP_ERR_IO, "cannot create %s: %s", tmp, strerror(errno));
    /* The umask may have narrowed the mode; it must never widen it, and
     * fchmod makes the intended mode exact without a window. */
    if (fchmod(fd, mode) != 0 || write_fully(fd, data, len) != 0 || fsync(fd) != 0) {
        int e = errno;
        close(fd);
        unlink(tmp);
        return fp_error_set(err, e == ENOSPC ? FP_ERR_FULL : FP_ERR_IO,
                            "cannot write %s: %s", path, strerror(e));
    }
    close(fd);
    if (rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return fp_error_set(err, FP_ERR_IO, "cannot rename %s to %s: %s", tmp, path,
                            strerror(e));
    }
    fsync_parent(path);
    return FP_OK;
}

int fileio_mkdirs(const char *path, mode_t mode, fp_error *err)
{
    char buf[PATH_MAX];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
        return fp_error_set(err, FP_ERR_INPUT, "path too long: %s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, mode) != 0 && errno != EEXIST)
            return fp_error_set(err, FP_ERR_IO, "cannot create directory %s: %s", buf,
                                strerror(errno));
        *p = '/';
    }
    if (mkdir(buf, mode) != 0 && errno != EEXIST)
        return fp_error_set(err, FP_ERR_IO, "cannot create directory %s: %s", buf,
                            strerror(errno));
    struct stat st;
    if (stat(buf, &st) != 0 || !S_ISDIR(st.st_mode))
        return fp_error_set(err, FP_ERR_IO, "%s exists and is not a directory", buf);
    return FP_OK;
}

int fileio_join(char *out, size_t outsz, const char *dir, const char *name, fp_error *err)
{
    int n = snprintf(out, outsz, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= outsz)
        return fp_error_set(err, FP_ERR_INPUT, "path too long: %s/%s", dir, name);
    return FP_OK;
}
