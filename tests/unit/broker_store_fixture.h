/*
 * broker_store_fixture.h: a real broker store (LMDB) in a scratch
 * directory, for the unit tests of broker_store and of the modules that
 * keep their state in it (header-only, like ca_fixture.h).
 */
#ifndef FLAGPOST_TEST_BROKER_STORE_FIXTURE_H
#define FLAGPOST_TEST_BROKER_STORE_FIXTURE_H

#include <stdio.h>

#include "broker_store.h"
#include "tmpdir.h"

#define BSF_MAP_SIZE ((size_t)32 << 20)

typedef struct fixture {
    tmpdir dir;
    char path[600];
    broker_store *s;
} fixture;

/* name labels the scratch directory. */
static bool fx_open(fixture *f, const char *name)
{
    f->s = NULL;
    if (!tmpdir_make(&f->dir, name))
        return false;
    tmpdir_file(&f->dir, "data", f->path, sizeof f->path);
    fp_error err = {0};
    if (broker_store_open(&f->s, f->path, BSF_MAP_SIZE, &err) != FP_OK) {
        printf("#   broker_store_open: %s\n", err.message);
        tmpdir_remove(&f->dir);
        return false;
    }
    return true;
}

static void fx_close(fixture *f)
{
    broker_store_close(f->s);
    f->s = NULL;
    tmpdir_remove(&f->dir);
}

#endif
