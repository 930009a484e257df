/*
 * Unit tests for lib/fileio.c: atomic replacement, exact modes whatever
 * the umask, the read limit, mkdir -p and path joining.
 */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "fileio.h"
#include "tmpdir.h"

static mode_t mode_of(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (st.st_mode & 07777) : (mode_t)-1;
}

/* Entries in dir other than . and .. (a leftover temp file would show). */
static int entries(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

static void test_write_then_read(void)
{
    tmpdir t;
    CHECK(tmpdir_make(&t, "fileio"));
    char path[600];
    tmpdir_file(&t, "a.txt", path, sizeof path);
    const char data[] = "first\0with a NUL inside";
    fp_error err = {0};
    CHECK_EQ_INT(fileio_write_atomic(path, data, sizeof data, 0644, &err), FP_OK);
    uint8_t *buf = NULL;
    size_t len = 0;
    CHECK_EQ_INT(fileio_read_all(path, 1024, &buf, &len, &err), FP_OK);
    CHECK_EQ_INT(len, sizeof data);
    CHECK(buf != NULL && memcmp(buf, data, sizeof data) == 0);
    CHECK(buf != NULL && buf[len] == '\0');   /* NUL-terminated for convenience */
    free(buf);
    CHECK_EQ_INT(entries(t.path), 1);   /* no temporary file left behind */
    tmpdir_remove(&t);
}

static void test_atomic_write_replaces_content(void)
{
    tmpdir t;
    CHECK(tmpdir_make(&t, "fileio"));
    char path[600];
    tmpdir_file(&t, "cfg", path, sizeof path);
    const char *long_text = "a much longer first version of the file";
    CHECK_EQ_INT(fileio_write_atomic(path, long_text, strlen(long_text), 0644, NULL), FP_OK);
    struct stat before;
    CHECK_EQ_INT(stat(path, &before), 0);
    CHECK_EQ_INT(fileio_write_atomic(path, "short", 5, 0644, NULL), FP_OK);
    uint8_t *buf = NULL;
    size_t len = 0;
    CHECK_EQ_INT(fileio_read_all(path, 1024, &buf, &len, NULL), FP_OK);
    CHECK_EQ_INT(len, 5);   /* nothing of the longer old content remains */
    CHECK_EQ_STR((char *)buf, "short");
    free(buf);
    /* Replaced by rename: a new inode, so a reader holding the old file
     * keeps seeing the whole old version. */
    struct stat after;
    CHECK_EQ_INT(stat(path, &after), 0);
    CHECK(after.st_ino != before.st_ino);
    /* Empty content is a valid file. */
    CHECK_EQ_INT(fileio_write_atomic(path, "", 0, 0644, NULL), FP_OK);
    CHECK_EQ_INT(fileio_read_all(path, 1024, &buf, &len, NULL), FP_OK);
    CHECK_EQ_INT(len, 0);
    free(buf);
    CHECK_EQ_INT(entries(t.path), 1);
    tmpdir_remove(&t);
}

static void test_mode_honoured_despite_umask(void)
{
    tmpdir t;
    CHECK(tmpdir_make(&t, "fileio"));
    char path[600];
    mode_t old = umask(0);   /* a permissive umask must not widen 0600 */
    tmpdir_file(&t, "secret", path, sizeof path);
    CHECK_EQ_INT(fileio_write_atomic(path, "s", 1, 0600, NULL), FP_OK);
    CHECK_EQ_INT(mode_of(path), 0600);
    umask(077);              /* a strict one must not narrow 0644 */
    tmpdir_file(&t, "public", path, sizeof path);
    CHECK_EQ_INT(fileio_write_atomic(path, "p", 1, 0644, NULL), FP_OK);
    CHECK_EQ_INT(mode_of(path), 0644);
    umask(old);
    /* Replacing a 0644 file with a 0600 one gives 0600. */
    CHECK_EQ_INT(fileio_write_atomic(path, "q", 1, 0600, NULL), FP_OK);
    CHECK_EQ_INT(mode_of(path), 0600);
    tmpdir_remove(&t);
}

static void test_write_into_missing_directory_fails(void)
{
    tmpdir t;
    CHECK(tmpdir_make(&t, "fileio"));
    char path[600];
    tmpdir_file(&t, "no/such/dir/file", path, sizeof path);
    fp_error err = {0};
    CHECK_EQ_INT(fileio_write_atomic(path, "x", 1, 0644, &err), FP_ERR_IO);
    CHECK(err.message[0] != '\0');
    /* A symlink at the temporary name is never followed. */
    char target[600], tmpname[700];
    tmpdir_file(&t, "target", target, sizeof target);
    tmpdir_file(&t, "f", path, sizeof path);
    snprintf(tmpname, sizeof tmpname, "%s.tmp.%ld", path, (long)getpid());
    CHECK_EQ_INT(symlink(target, tmpname), 0);
    CHECK(fileio_write_atomic(path, "x", 1, 0600, &err) != FP_OK);
    CHECK(access(target, F_OK) != 0);   /* nothing written through the link */
    tmpdir_remove(&t);
}

static void test_read_all_limit(void)
{
    tmpdir t;
    CHECK(tmpdir_make(&t, "fileio"));
    char path[600];
    tmpdir_file(&t, "ten", path, sizeof path);
    CHECK_EQ_INT(fileio_write_atomic(path, "0123456789", 10, 0644, NULL), FP_OK);
    uint8_t *buf = (uint8_t *)(uintptr_t)1;
    size_t len = 99;
    fp_error err = {0};
    CHECK_EQ_INT(fileio_read_all(path, 10, &buf, &len, &err), FP_OK);   /* exactly */
    CHECK_EQ_INT(len, 10);
    free(buf);
    buf = (uint8_t *)(uintptr_t)1;
    CHECK_EQ_INT(fileio_read_all(path, 9, &buf, &len, &err), FP_ERR_INPUT);
    CHECK(buf == NULL);
    CHECK_EQ_INT(len, 0);
    CHECK(strstr(err.message, "limit is 9") != NULL);
    CHECK_EQ_INT(fileio_read_all(path, 0, &buf, &len, &err), FP_ERR_INPUT);
    tmpdir_file(&t, "absent", path, sizeof path);
    CHECK_EQ_INT(fileio_read_all(path, 10, &buf, &len, &err), FP_ERR_NOT_FOUND);
    CHECK(strstr(err.message, path) != NULL);
    CHECK_EQ_INT(fileio_read_all(t.path, 10, &buf, &len, &err), FP_ERR_IO);   /* a dir */
    tmpdir_remove(&t);
}

static void test_mkdirs(void)
{
    tmpdir t;
    CHECK(tmpdir_make(&t, "fileio"));
    char path[600];
    tmpdir_file(&t, "a/b/c", path, sizeof path);
    mode_t old = umask(0);
    fp_error err = {0};
    CHECK_EQ_INT(fileio_mkdirs(path, 0700, &err), FP_OK);
    umask(old);
    struct stat st;
    CHECK(stat(path, &st) == 0 && S_ISDIR(st.st_mode));
    CHECK_EQ_INT(mode_of(path), 0700);
    char mid[600];
    tmpdir_file(&t, "a/b", mid, sizeof mid);
    CHECK_EQ_INT(mode_of(mid), 0700);
    /* Existing directories are fine, trailing slash too. */
    CHECK_EQ_INT(fileio_mkdirs(path, 0700, &err), FP_OK);
    tmpdir_file(&t, "a/b/c/d/", path, sizeof path);
    CHECK_EQ_INT(fileio_mkdirs(path, 0700, &err), FP_OK);
    tmpdir_file(&t, "a/b/c/d", path, sizeof path);
    CHECK(stat(path, &st) == 0 && S_ISDIR(st.st_mode));
    /* Below a regular file it fails with the path named. */
    char file[600];
    tmpdir_file(&t, "plain", file, sizeof file);
    CHECK_EQ_INT(fileio_write_atomic(file, "x", 1, 0644, NULL), FP_OK);
    tmpdir_file(&t, "plain/sub", path, sizeof path);
    CHECK_EQ_INT(fileio_mkdirs(path, 0700, &err), FP_ERR_IO);
    CHECK(strstr(err.message, "plain") != NULL);
    tmpdir_remove(&t);
}

static void test_join(void)
{
    char out[16];
    fp_error err = {0};
    CHECK_EQ_INT(fileio_join(out, sizeof out, "/etc", "fp.yaml", &err), FP_OK);
    CHECK_EQ_STR(out, "/etc/fp.yaml");
    CHECK_EQ_INT(fileio_join(out, sizeof out, "/etc", "12345678901", &err), FP_ERR_INPUT);
    CHECK(strstr(err.message, "too long") != NULL);
    /* 15 characters fit in 16 bytes; 16 do not. */
    CHECK_EQ_INT(fileio_join(out, sizeof out, "/etc", "1234567890", NULL), FP_OK);
    CHECK_EQ_INT(strlen(out), 15);
}

int main(void)
{
    RUN(test_write_then_read);
    RUN(test_atomic_write_replaces_content);
    RUN(test_mode_honoured_despite_umask);
    RUN(test_write_into_missing_directory_fails);
    RUN(test_read_all_limit);
    RUN(test_mkdirs);
    RUN(test_join);
    return check_summary();
}
