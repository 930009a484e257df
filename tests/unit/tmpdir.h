/*
 * tmpdir.h: a scratch directory per test, removed afterwards.
 *
 * Store and file tests work on real files (LMDB environments, key files)
 * rather than mocks, so each gets its own mkdtemp directory under $TMPDIR
 * and removes it, whatever the test left inside, when it ends.
 */
#ifndef FLAGPOST_TEST_TMPDIR_H
#define FLAGPOST_TEST_TMPDIR_H

#include <ftw.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

typedef struct tmpdir {
    char path[512];
} tmpdir;

static inline bool tmpdir_make(tmpdir *t, const char *tag)
{
    const char *base = getenv("TMPDIR");
    snprintf(t->path, sizeof t->path, "%s/fp-%s.XXXXXX", base && *base ? base : "/tmp", tag);
    if (mkdtemp(t->path) == NULL) {
        printf("#   mkdtemp %s failed\n", t->path);
        t->path[0] = '\0';
        return false;
    }
    return true;
}

/* dir/name into buf; returns buf. */
static inline const char *tmpdir_file(const tmpdir *t, const char *name, char *buf, size_t n)
{
    snprintf(buf, n, "%s/%s", t->path, name);
    return buf;
}

static inline int tmpdir_rm_one_(const char *path, const struct stat *st, int flag,
                                 struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static inline void tmpdir_remove(tmpdir *t)
{
    if (t->path[0] != '\0')
        nftw(t->path, tmpdir_rm_one_, 16, FTW_DEPTH | FTW_PHYS);
    t->path[0] = '\0';
}

#endif
