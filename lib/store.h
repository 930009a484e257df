/*
 * store: the thin layer every flagpost database goes through to LMDB.
 *
 * One LMDB environment per data directory, opened with full durability
 * (no MDB_NOSYNC: a committed transaction is on disk when commit returns).
 * store_fail() turns an LMDB return code into an fp_error a person can act
 * on: MDB_MAP_FULL becomes FP_ERR_FULL with the option to raise, so callers
 * can stop intake rather than corrupt anything.
 */
#ifndef FLAGPOST_STORE_H
#define FLAGPOST_STORE_H

#include <lmdb.h>
#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fp_error.h"

#define STORE_DEFAULT_MAP_SIZE ((size_t)8 << 30)   /* 8 GiB of address space */

/* Create dir (0700) if needed and open an environment in it. */
int store_env_open(MDB_env **env, const char *dir, size_t map_size, unsigned max_dbs,
                   unsigned extra_flags, fp_error *err);

/* Open (creating if allowed) a named database inside txn. */
int store_dbi_open(MDB_txn *txn, const char *name, unsigned flags, MDB_dbi *dbi,
                   fp_error *err);

/*
 * Write transactions, ordinary and lazy.
 *
 * A lazy commit (MDB_NOMETASYNC) flushes the transaction's pages but not
 * the meta page that makes it current: it survives a process crash (the
 * kernel has the page), keeps the database intact through a power failure
 * (LMDB's documented promise for that flag), and becomes durable with the
 * next ordinary commit; only a power failure before then can undo it.
 *
 * LMDB 0.9 ignores sync flags given to mdb_txn_begin; only the
 * environment's flag works, and it is shared by every thread.  So every
 * write transaction of an environment goes through one store_writer: it
 * holds the writer's mutex from begin until the flag is reset after the
 * commit, and no other thread's commit can ever see the lazy flag.
 */
typedef struct store_writer store_writer;

/* Attach a writer to env (its user context); store_writer_free it just
 * before closing the environment, with no transaction open. */
int store_writer_attach(MDB_env *env, fp_error *err);
void store_writer_free(MDB_env *env);

/* Begin a write transaction of an environment with a writer attached. */
int store_begin_write(MDB_env *env, bool lazy, MDB_txn **txn, fp_error *err);

/* End any transaction (read or write); a write transaction's writer is
 * released.  `what` names the operation in errors. */
int store_commit(MDB_txn *txn, const char *what, fp_error *err);
void store_abort(MDB_txn *txn);

/* Record an LMDB failure rc while doing `what`; returns the fp status. */
int store_fail(fp_error *err, int rc, const char *what);

/* An MDB_val over caller memory.  LMDB's MDB_val is not const-qualified,
 * but LMDB never writes through a key or a value it is given to store. */
static inline MDB_val store_val(const void *data, size_t len)
{
    MDB_val v = {.mv_size = len, .mv_data = (void *)(uintptr_t)data};
    return v;
}

/* Store a protobuf message as the value of key, packed straight into
 * LMDB's page (MDB_RESERVE): no intermediate copy.  `what` names the
 * operation in errors. */
int store_put_message(MDB_txn *txn, MDB_dbi dbi, MDB_val *key, const ProtobufCMessage *msg,
                      const char *what, fp_error *err);

/* Small named values (a "meta" database): copy into out; *len is the
 * buffer size on entry and the value size on return.  FP_ERR_NOT_FOUND if
 * absent, FP_ERR_INPUT if it does not fit. */
int store_get_named(MDB_txn *txn, MDB_dbi dbi, const char *name, uint8_t *out, size_t *len);
int store_put_named(MDB_txn *txn, MDB_dbi dbi, const char *name, const uint8_t *v, size_t len,
                    fp_error *err);

/* Big-endian u64 keys sort numerically under LMDB's default memcmp order. */
void store_put_u64(unsigned char out[8], uint64_t v);
uint64_t store_get_u64(const unsigned char in[8]);

#endif
