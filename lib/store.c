/*
 * store: LMDB environment handling and error translation.  See store.h.
 */
#include "store.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "fileio.h"

/* ---------------------------------------------------------------- writer */

struct store_writer {
    pthread_mutex_t lock;
    MDB_txn *_Atomic txn;   /* the write transaction in progress, or NULL */
    bool lazy;              /* it was begun lazy: reset the flag after it */
};

int store_writer_attach(MDB_env *env, fp_error *err)
{
    store_writer *w = calloc(1, sizeof *w);
    if (w == NULL || pthread_mutex_init(&w->lock, NULL) != 0) {
        free(w);
        return fp_error_set(err, FP_ERR_IO, "out of memory");
    }
    atomic_init(&w->txn, NULL);
    mdb_env_set_userctx(env, w);
    return FP_OK;
}

void store_writer_free(MDB_env *env)
{
    store_writer *w = env != NULL ? mdb_env_get_userctx(env) : NULL;
    if (w == NULL)
        return;
    mdb_env_set_userctx(env, NULL);
    pthread_mutex_destroy(&w->lock);
    free(w);
}

static void writer_release(store_writer *w, MDB_env *env)
{
    if (w->lazy)
        mdb_env_set_flags(env, MDB_NOMETASYNC, 0);
    w->lazy = false;
    atomic_store(&w->txn, NULL);
    pthread_mutex_unlock(&w->lock);
}

int store_begin_write(MDB_env *env, bool lazy, MDB_txn **txn, fp_error *err)
{
    *txn = NULL;
    store_writer *w = mdb_env_get_userctx(env);
    if (w == NULL)   /* a programming error, not bad input: say so plainly */
        return fp_error_set(err, FP_ERR_IO, "internal: write transaction on a store "
                            "without a writer (store_writer_attach)");
    pthread_mutex_lock(&w->lock);
    int rc = mdb_txn_begin(env, NULL, 0, txn);
    if (rc != 0) {
        pthread_mutex_unlock(&w->lock);
        return store_fail(err, rc, "starting a transaction");
    }
    if (lazy && mdb_env_set_flags(env, MDB_NOMETASYNC, 1) == 0)
        w->lazy = true;   /* if the flag cannot be set, the commit is simply durable */
    atomic_store(&w->txn, *txn);
    return FP_OK;
}

/* The writer whose transaction txn is, or NULL for a read transaction. */
static store_writer *writer_of(MDB_txn *txn)
{
    store_writer *w = mdb_env_get_userctx(mdb_txn_env(txn));
    return w != NULL && atomic_load(&w->txn) == txn ? w : NULL;
}

int store_commit(MDB_txn *txn, const char *what, fp_error *err)
{
    MDB_env *env = mdb_txn_env(txn);
    store_writer *w = writer_of(txn);
    int rc = mdb_txn_commit(txn);   /* ends txn whatever it returns */
    if (w != NULL)
        writer_release(w, env);
    return rc == 0 ? FP_OK : store_fail(err, rc, what);
}

void store_abort(MDB_txn *txn)
{
    MDB_env *env = mdb_txn_env(txn);
    store_writer *w = writer_of(txn);
    mdb_txn_abort(txn);
    if (w != NULL)
        writer_release(w, env);
}

/* ---------------------------------------------------------------- errors */

int store_fail(fp_error *err, int rc, const char *what)
{
    if (rc == MDB_MAP_FULL || rc == ENOSPC)
        return fp_error_set(err, FP_ERR_FULL,
                            "%s: the database is full (%s); free disk space or raise "
                            "the map size (--map-size), then retry",
                            what, mdb_strerror(rc));
    if (rc == MDB_NOTFOUND)
        return fp_error_set(err, FP_ERR_NOT_FOUND, "%s: not found", what);
    return fp_error_set(err, FP_ERR_IO, "%s: %s", what, mdb_strerror(rc));
}

int store_env_open(MDB_env **env, const char *dir, size_t map_size, unsigned max_dbs,
                   unsigned extra_flags, fp_error *err)
{
    *env = NULL;
    int rc = fileio_mkdirs(dir, 0700, err);
    if (rc != FP_OK)
        return rc;
    MDB_env *e = NULL;
    if ((rc = mdb_env_create(&e)) != 0)
        return store_fail(err, rc, "creating the LMDB environment");
    if ((rc = mdb_env_set_mapsize(e, map_size ? map_size : STORE_DEFAULT_MAP_SIZE)) != 0 ||
        (rc = mdb_env_set_maxdbs(e, max_dbs)) != 0 || (rc = mdb_env_set_maxreaders(e, 126)) != 0) {
        mdb_env_close(e);
        return store_fail(err, rc, "configuring the LMDB environment");
    }
    /* MDB_NOTLS: read transactions are not tied to threads, so a worker
     * pool can use them.  Durability flags are deliberately left at their
     * safe defaults. */
    rc = mdb_env_open(e, dir, MDB_NOTLS | extra_flags, 0600);
    if (rc != 0) {
        mdb_env_close(e);
        fp_error_set(err, FP_ERR_IO, "cannot open database in %s: %s", dir, mdb_strerror(rc));
        return FP_ERR_IO;
    }
    *env = e;
    return FP_OK;
}

int store_dbi_open(MDB_txn *txn, const char *name, unsigned flags, MDB_dbi *dbi, fp_error *err)
{
    int rc = mdb_dbi_open(txn, name, flags, dbi);
    if (rc != 0) {
        char what[128];
        snprintf(what, sizeof what, "opening database '%s'", name);
        return store_fail(err, rc, what);
    }
    return FP_OK;
}

void store_put_u64(unsigned char out[8], uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        out[i] = (unsigned char)(v & 0xff);
        v >>= 8;
    }
}

uint64_t store_get_u64(const unsigned char in[8])
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | in[i];
    return v;
}

int store_put_message(MDB_txn *txn, MDB_dbi dbi, MDB_val *key, const ProtobufCMessage *msg,
                      const char *what, fp_error *err)
{
    MDB_val val = {.mv_size = protobuf_c_message_get_packed_size(msg), .mv_data = NULL};
    int rc = mdb_put(txn, dbi, key, &val, MDB_RESERVE);
    if (rc != 0)
        return store_fail(err, rc, what);
    protobuf_c_message_pack(msg, val.mv_data);
    return FP_OK;
}

int store_get_named(MDB_txn *txn, MDB_dbi dbi, const char *name, uint8_t *out, size_t *len)
{
    MDB_val key = store_val(name, strlen(name)), val;
    if (mdb_get(txn, dbi, &key, &val) != 0)
        return FP_ERR_NOT_FOUND;
    if (val.mv_size > *len)
        return FP_ERR_INPUT;
    memcpy(out, val.mv_data, val.mv_size);
    *len = val.mv_size;
    return FP_OK;
}

int store_put_named(MDB_txn *txn, MDB_dbi dbi, const char *name, const uint8_t *v, size_t len,
                    fp_error *err)
{
    MDB_val key = store_val(name, strlen(name)), val = store_val(v, len);
    int rc = mdb_put(txn, dbi, &key, &val, 0);
    if (rc != 0) {
        char what[96];
        snprintf(what, sizeof what, "writing '%s'", name);
        return store_fail(err, rc, what);
    }
    return FP_OK;
}
