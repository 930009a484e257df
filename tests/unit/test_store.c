/*
 * Unit tests for lib/store.c's write transactions: a lazy commit sets
 * MDB_NOMETASYNC only for itself, however it ends, and no other thread's
 * transaction ever begins or commits while the flag is set.  Real LMDB
 * files in a scratch directory.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "store.h"
#include "tmpdir.h"

typedef struct fixture {
    tmpdir dir;
    MDB_env *env;
    MDB_dbi dbi;
} fixture;

static bool open_fixture(fixture *f)
{
    fp_error err = {0};
    memset(f, 0, sizeof *f);
    if (!tmpdir_make(&f->dir, "store"))
        return false;
    if (store_env_open(&f->env, f->dir.path, 16u << 20, 4, 0, &err) != FP_OK ||
        store_writer_attach(f->env, &err) != FP_OK) {
        printf("#   %s\n", err.message);
        return false;
    }
    MDB_txn *txn;
    if (store_begin_write(f->env, false, &txn, &err) != FP_OK ||
        store_dbi_open(txn, "t", MDB_CREATE, &f->dbi, &err) != FP_OK)
        return false;
    return store_commit(txn, "creating", &err) == FP_OK;
}

static void close_fixture(fixture *f)
{
    if (f->env != NULL) {
        store_writer_free(f->env);
        mdb_env_close(f->env);
    }
    tmpdir_remove(&f->dir);
}

static bool lazy_flag_set(MDB_env *env)
{
    unsigned flags = 0;
    mdb_env_get_flags(env, &flags);
    return (flags & MDB_NOMETASYNC) != 0;
}

static int put(MDB_txn *txn, MDB_dbi dbi, const char *k, const char *v)
{
    MDB_val key = store_val(k, strlen(k)), val = store_val(v, strlen(v));
    return mdb_put(txn, dbi, &key, &val, 0);
}

static bool has(fixture *f, const char *k)
{
    MDB_txn *txn;
    MDB_val key = store_val(k, strlen(k)), val;
    if (mdb_txn_begin(f->env, NULL, MDB_RDONLY, &txn) != 0)
        return false;
    bool found = mdb_get(txn, f->dbi, &key, &val) == 0;
    store_abort(txn);
    return found;
}

static void test_lazy_flag_only_for_its_transaction(void)
{
    fixture f;
    CHECK(open_fixture(&f));
    fp_error err = {0};
    MDB_txn *txn;
    CHECK_EQ_INT(store_begin_write(f.env, true, &txn, &err), FP_OK);
    CHECK(lazy_flag_set(f.env));
    CHECK_EQ_INT(put(txn, f.dbi, "a", "1"), 0);
    CHECK_EQ_INT(store_commit(txn, "lazy", &err), FP_OK);
    CHECK(!lazy_flag_set(f.env));
    CHECK(has(&f, "a"));   /* committed: visible to the next reader */

    CHECK_EQ_INT(store_begin_write(f.env, true, &txn, &err), FP_OK);
    CHECK_EQ_INT(put(txn, f.dbi, "b", "2"), 0);
    store_abort(txn);
    CHECK(!lazy_flag_set(f.env));
    CHECK(!has(&f, "b"));

    CHECK_EQ_INT(store_begin_write(f.env, false, &txn, &err), FP_OK);
    CHECK(!lazy_flag_set(f.env));
    CHECK_EQ_INT(put(txn, f.dbi, "c", "3"), 0);
    CHECK_EQ_INT(store_commit(txn, "durable", &err), FP_OK);
    CHECK(has(&f, "c"));
    close_fixture(&f);
}

/* Ending a read transaction must not release a writer held elsewhere. */
static void test_read_transactions_leave_the_writer_alone(void)
{
    fixture f;
    CHECK(open_fixture(&f));
    fp_error err = {0};
    MDB_txn *w, *r;
    CHECK_EQ_INT(store_begin_write(f.env, true, &w, &err), FP_OK);
    CHECK_EQ_INT(mdb_txn_begin(f.env, NULL, MDB_RDONLY, &r), 0);
    CHECK_EQ_INT(store_commit(r, "reading", &err), FP_OK);
    CHECK(lazy_flag_set(f.env));   /* still the writer's */
    CHECK_EQ_INT(mdb_txn_begin(f.env, NULL, MDB_RDONLY, &r), 0);
    store_abort(r);
    CHECK(lazy_flag_set(f.env));
    CHECK_EQ_INT(put(w, f.dbi, "d", "4"), 0);
    CHECK_EQ_INT(store_commit(w, "lazy", &err), FP_OK);
    CHECK(!lazy_flag_set(f.env));
    CHECK(has(&f, "d"));
    close_fixture(&f);
}

typedef struct other_writer {
    fixture *f;
    atomic_int began;
    bool saw_lazy_flag;
    int rc;
} other_writer;

static void *durable_writer(void *arg)
{
    other_writer *o = arg;
    fp_error err = {0};
    MDB_txn *txn;
    o->rc = store_begin_write(o->f->env, false, &txn, &err);
    atomic_store(&o->began, 1);
    if (o->rc != FP_OK)
        return NULL;
    o->saw_lazy_flag = lazy_flag_set(o->f->env);
    put(txn, o->f->dbi, "e", "5");
    o->rc = store_commit(txn, "durable", &err);
    return NULL;
}

/* A durable writer on another thread waits for the lazy one to finish,
 * flag reset included, so its own commit is never made lazy. */
static void test_other_thread_waits_for_the_lazy_writer(void)
{
    fixture f;
    CHECK(open_fixture(&f));
    fp_error err = {0};
    MDB_txn *txn;
    CHECK_EQ_INT(store_begin_write(f.env, true, &txn, &err), FP_OK);
    other_writer o = {.f = &f};
    atomic_init(&o.began, 0);
    pthread_t t;
    CHECK_EQ_INT(pthread_create(&t, NULL, durable_writer, &o), 0);
    struct timespec pause = {0, 50 * 1000 * 1000};
    nanosleep(&pause, NULL);
    CHECK_EQ_INT(atomic_load(&o.began), 0);   /* held back while the lazy one is open */
    CHECK_EQ_INT(put(txn, f.dbi, "f", "6"), 0);
    CHECK_EQ_INT(store_commit(txn, "lazy", &err), FP_OK);
    pthread_join(t, NULL);
    CHECK_EQ_INT(o.rc, FP_OK);
    CHECK(!o.saw_lazy_flag);
    CHECK(has(&f, "e") && has(&f, "f"));
    close_fixture(&f);
}

static void test_write_without_writer_is_refused(void)
{
    tmpdir d;
    CHECK(tmpdir_make(&d, "store"));
    MDB_env *env = NULL;
    fp_error err = {0};
    CHECK_EQ_INT(store_env_open(&env, d.path, 16u << 20, 4, 0, &err), FP_OK);
    MDB_txn *txn = (MDB_txn *)&err;   /* must come back NULL */
    CHECK_EQ_INT(store_begin_write(env, false, &txn, &err), FP_ERR_IO);
    CHECK(txn == NULL);
    CHECK(strstr(err.message, "store_writer_attach") != NULL);
    store_writer_free(env);   /* nothing attached: a no-op */
    mdb_env_close(env);
    tmpdir_remove(&d);
}

int main(void)
{
    RUN(test_lazy_flag_only_for_its_transaction);
    RUN(test_read_transactions_leave_the_writer_alone);
    RUN(test_other_thread_waits_for_the_lazy_writer);
    RUN(test_write_without_writer_is_refused);
    return check_summary();
}
