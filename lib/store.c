/*
 * store: LMDB environment handling and error translation.  See store.h.
 */
#include "store.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "fileio.h"

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
