/*
 * broker_store: the broker's LMDB databases.  See broker_store.h.
 *
 * Queue keys are "agency\0" followed by a big-endian sequence number, so
 * one agency's entries are contiguous and in order, and a delivery cursor
 * is a single MDB_SET_RANGE away from where it left off.  Agency ids never
 * contain NUL (cert_agency_id_valid), so the separator is unambiguous.
 */
#include "broker_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "store.h"

#define QKEY_MAX 80

struct broker_store {
    MDB_env *env;
    MDB_dbi seen, queue, queue_seq, flags, clients, meta, deadlines;
    audit_log *audit;
};

static int open_dbis(broker_store *s, fp_error *err)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(s->env, NULL, 0, &txn);
    if (rc != 0)
        return store_fail(err, rc, "opening the broker store");
    if ((rc = store_dbi_open(txn, "seen", MDB_CREATE, &s->seen, err)) != FP_OK ||
        (rc = store_dbi_open(txn, "queue", MDB_CREATE, &s->queue, err)) != FP_OK ||
        (rc = store_dbi_open(txn, "queue_seq", MDB_CREATE, &s->queue_seq, err)) != FP_OK ||
        (rc = store_dbi_open(txn, "flags", MDB_CREATE, &s->flags, err)) != FP_OK ||
        (rc = store_dbi_open(txn, "clients", MDB_CREATE, &s->clients, err)) != FP_OK ||
        (rc = store_dbi_open(txn, "meta", MDB_CREATE, &s->meta, err)) != FP_OK ||
        (rc = store_dbi_open(txn, "deadlines", MDB_CREATE, &s->deadlines, err)) != FP_OK) {
        mdb_txn_abort(txn);
        return rc;
    }
    rc = mdb_txn_commit(txn);
    return rc == 0 ? FP_OK : store_fail(err, rc, "creating the broker store");
}

int broker_store_open(broker_store **out, const char *dir, size_t map_size, fp_error *err)
{
    *out = NULL;
    broker_store *s = calloc(1, sizeof *s);
    if (s == NULL)
        return fp_error_set(err, FP_ERR_IO, "out of memory");
    int rc = store_env_open(&s->env, dir, map_size, 32, 0, err);
    if (rc == FP_OK)
        rc = store_writer_attach(s->env, err);
    if (rc == FP_OK)
        rc = open_dbis(s, err);
    if (rc == FP_OK)
        rc = audit_log_open(&s->audit, s->env, err);
    if (rc != FP_OK) {
        broker_store_close(s);
        return rc;
    }
    *out = s;
    return FP_OK;
}

static int open_dbis_readonly(broker_store *s, const char *dir, fp_error *err)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
    if (rc != 0)
        return store_fail(err, rc, "reading the broker store");
    const char *names[] = {"seen", "queue", "queue_seq", "flags", "clients", "meta"};
    MDB_dbi *dbis[] = {&s->seen, &s->queue, &s->queue_seq, &s->flags, &s->clients, &s->meta};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if ((rc = mdb_dbi_open(txn, names[i], 0, dbis[i])) != 0) {
            mdb_txn_abort(txn);
            if (rc == MDB_NOTFOUND)
                return fp_error_set(err, FP_ERR_NOT_FOUND,
                                    "%s holds no broker store (no '%s' database); is it an "
                                    "agent's data directory?", dir, names[i]);
            return store_fail(err, rc, "opening the broker store");
        }
    }
    /* Committing a read transaction keeps its handles for later ones. */
    rc = mdb_txn_commit(txn);
    return rc == 0 ? FP_OK : store_fail(err, rc, "opening the broker store");
}

int broker_store_open_readonly(broker_store **out, const char *dir, fp_error *err)
{
    *out = NULL;
    char path[4096];
    struct stat sb;
    if (snprintf(path, sizeof path, "%s/data.mdb", dir) >= (int)sizeof path ||
        stat(path, &sb) != 0)
        return fp_error_set(err, FP_ERR_NOT_FOUND,
                            "no flagpost data in %s; give the broker's --data directory", dir);
    broker_store *s = calloc(1, sizeof *s);
    if (s == NULL)
        return fp_error_set(err, FP_ERR_IO, "out of memory");
    int rc = store_env_open(&s->env, dir, 0, 32, MDB_RDONLY, err);
    if (rc == FP_OK)
        rc = open_dbis_readonly(s, dir, err);
    if (rc == FP_OK)
        rc = audit_log_open_readonly(&s->audit, s->env, err);
    if (rc != FP_OK) {
        broker_store_close(s);
        return rc;
    }
    *out = s;
    return FP_OK;
}

void broker_store_close(broker_store *s)
{
    if (s == NULL)
        return;
    if (s->audit != NULL)
        audit_log_close(s->audit);
    if (s->env != NULL) {
        store_writer_free(s->env);   /* none on a read-only store: a no-op */
        mdb_env_close(s->env);
    }
    free(s);
}

audit_log *broker_store_audit(broker_store *s)
{
    return s->audit;
}

int broker_store_begin(broker_store *s, bool write, MDB_txn **txn, fp_error *err)
{
    if (write)
        return store_begin_write(s->env, false, txn, err);
    int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, txn);
    return rc == 0 ? FP_OK : store_fail(err, rc, "starting a transaction");
}

int broker_store_begin_lazy(broker_store *s, MDB_txn **txn, fp_error *err)
{
    return store_begin_write(s->env, true, txn, err);
}

int broker_store_commit(MDB_txn *txn, fp_error *err)
{
    return store_commit(txn, "committing to the broker store", err);
}

void broker_store_abort(MDB_txn *txn)
{
    store_abort(txn);
}

/* ---------------------------------------------------------------- seen */

int broker_store_seen_get(broker_store *s, MDB_txn *txn, const uint8_t id[16],
                          Flagpost__SeenRecord **out, fp_error *err)
{
    MDB_val key = store_val(id, 16), val;
    *out = NULL;
    int rc = mdb_get(txn, s->seen, &key, &val);
    if (rc != 0)
        return store_fail(err, rc, "reading the replay table");
    *out = flagpost__seen_record__unpack(NULL, val.mv_size, val.mv_data);
    return *out != NULL ? FP_OK : fp_error_set(err, FP_ERR_IO, "replay record is damaged");
}

int broker_store_seen_put(broker_store *s, MDB_txn *txn, const uint8_t id[16],
                          const Flagpost__SeenRecord *rec, fp_error *err)
{
    MDB_val key = store_val(id, 16);
    return store_put_message(txn, s->seen, &key, &rec->base, "recording a message id", err);
}

/* The cursor stays on the record a scan resumes after when that record
 * still exists (MDB_SET_RANGE finds it or the next one), so a resumed scan
 * steps over it; one pruned since is simply not found. */
static int seen_scan_start(MDB_cursor *cur, const uint8_t *after, MDB_val *key, MDB_val *val)
{
    if (after == NULL)
        return mdb_cursor_get(cur, key, val, MDB_FIRST);
    *key = store_val(after, 16);
    int rc = mdb_cursor_get(cur, key, val, MDB_SET_RANGE);
    if (rc == 0 && key->mv_size == 16 && memcmp(key->mv_data, after, 16) == 0)
        rc = mdb_cursor_get(cur, key, val, MDB_NEXT);
    return rc;
}

int broker_store_seen_scan(broker_store *s, MDB_txn *txn, const uint8_t *after, size_t max,
                           broker_store_seen_fn fn, void *ctx, size_t *visited, bool *at_end,
                           fp_error *err)
{
    *visited = 0;
    *at_end = false;
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, s->seen, &cur);
    if (rc != 0)
        return store_fail(err, rc, "reading the replay table");
    MDB_val key, val;
    for (rc = seen_scan_start(cur, after, &key, &val); rc == 0 && *visited < max;
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
        (*visited)++;
        if (key.mv_size != 16)
            continue;   /* never written by seen_put; left alone */
        Flagpost__SeenRecord *rec =
            flagpost__seen_record__unpack(NULL, val.mv_size, val.mv_data);
        fn(ctx, key.mv_data, rec != NULL ? rec->time_ms : 0, rec == NULL);
        flagpost__seen_record__free_unpacked(rec, NULL);
    }
    mdb_cursor_close(cur);
    if (rc == MDB_NOTFOUND) {
        *at_end = true;
        return FP_OK;
    }
    return rc == 0 ? FP_OK : store_fail(err, rc, "reading the replay table");
}

int broker_store_seen_del(broker_store *s, MDB_txn *txn, const uint8_t id[16], fp_error *err)
{
    MDB_val key = store_val(id, 16);
    int rc = mdb_del(txn, s->seen, &key, NULL);
    return rc == 0 ? FP_OK : store_fail(err, rc, "pruning the replay table");
}

/* ---------------------------------------------------------------- queues */

static size_t queue_key(unsigned char out[QKEY_MAX], const char *agency, uint64_t seq)
{
    size_t n = strnlen(agency, QKEY_MAX - 9);
    memcpy(out, agency, n);
    out[n] = '\0';
    store_put_u64(out + n + 1, seq);
    return n + 9;
}

static void read_seq(broker_store *s, MDB_txn *txn, const char *agency, uint64_t *last,
                     uint64_t *depth)
{
    MDB_val key = store_val(agency, strlen(agency)), val;
    *last = *depth = 0;
    if (mdb_get(txn, s->queue_seq, &key, &val) == 0 && val.mv_size == 16) {
        *last = store_get_u64(val.mv_data);
        *depth = store_get_u64((unsigned char *)val.mv_data + 8);
    }
}

static int write_seq(broker_store *s, MDB_txn *txn, const char *agency, uint64_t last,
                     uint64_t depth, fp_error *err)
{
    unsigned char buf[16];
    store_put_u64(buf, last);
    store_put_u64(buf + 8, depth);
    MDB_val key = store_val(agency, strlen(agency)), val = store_val(buf, 16);
    int rc = mdb_put(txn, s->queue_seq, &key, &val, 0);
    return rc == 0 ? FP_OK : store_fail(err, rc, "updating a queue counter");
}

int broker_store_enqueue(broker_store *s, MDB_txn *txn, const char *agency,
                         Flagpost__ToAgent *msg, uint64_t *seq_out, fp_error *err)
{
    uint64_t last, depth;
    read_seq(s, txn, agency, &last, &depth);
    uint64_t seq = last + 1;
    if (msg->kind_case == FLAGPOST__TO_AGENT__KIND_DELIVER)
        msg->deliver->seq = seq;
    else if (msg->kind_case == FLAGPOST__TO_AGENT__KIND_NOTICE)
        msg->notice->seq = seq;
    unsigned char k[QKEY_MAX];
    MDB_val key = store_val(k, queue_key(k, agency, seq));
    int rc = store_put_message(txn, s->queue, &key, &msg->base, "queueing a delivery", err);
    if (rc == FP_OK)
        rc = write_seq(s, txn, agency, seq, depth + 1, err);
    if (rc == FP_OK && seq_out != NULL)
        *seq_out = seq;
    return rc;
}

int broker_store_queue_scan(broker_store *s, MDB_txn *txn, const char *agency, uint64_t after,
                            broker_store_queue_fn fn, void *ctx, fp_error *err)
{
    unsigned char k[QKEY_MAX];
    size_t prefix = strlen(agency) + 1;
    MDB_val key = store_val(k, queue_key(k, agency, after + 1)), val;
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, s->queue, &cur);
    if (rc != 0)
        return store_fail(err, rc, "reading a queue");
    for (rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE); rc == 0;
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
        if (key.mv_size != prefix + 8 || memcmp(key.mv_data, k, prefix) != 0)
            break;
        uint64_t seq = store_get_u64((unsigned char *)key.mv_data + prefix);
        if (fn(ctx, seq, val.mv_data, val.mv_size))
            break;
    }
    mdb_cursor_close(cur);
    return FP_OK;
}

int broker_store_dequeue(broker_store *s, MDB_txn *txn, const char *agency, uint64_t seq,
                         broker_store_release_fn fn, void *ctx, fp_error *err)
{
    unsigned char k[QKEY_MAX];
    MDB_val key = store_val(k, queue_key(k, agency, seq)), val;
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, s->queue, &cur);
    if (rc != 0)
        return store_fail(err, rc, "releasing a queue entry");
    rc = mdb_cursor_get(cur, &key, &val, MDB_SET_KEY);
    int frc = FP_OK;
    if (rc == 0 && fn != NULL)
        frc = fn(ctx, val.mv_data, val.mv_size, err);
    if (rc == 0 && frc == FP_OK)
        rc = mdb_cursor_del(cur, 0);
    mdb_cursor_close(cur);
    if (frc != FP_OK)
        return frc;
    if (rc != 0)
        return store_fail(err, rc, "releasing a queue entry");
    uint64_t last, depth;
    read_seq(s, txn, agency, &last, &depth);
    return write_seq(s, txn, agency, last, depth ? depth - 1 : 0, err);
}

int broker_store_queue_depth(broker_store *s, MDB_txn *txn, const char *agency,
                             uint64_t *depth)
{
    uint64_t last;
    read_seq(s, txn, agency, &last, depth);
    return FP_OK;
}

int broker_store_queue_depths(broker_store *s, MDB_txn *txn, broker_store_depth_fn fn,
                              void *ctx)
{
    MDB_cursor *cur;
    if (mdb_cursor_open(txn, s->queue_seq, &cur) != 0)
        return FP_ERR_IO;
    MDB_val key, val;
    char agency[QKEY_MAX];
    for (int rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
        if (val.mv_size != 16 || key.mv_size >= sizeof agency)
            continue;
        memcpy(agency, key.mv_data, key.mv_size);
        agency[key.mv_size] = '\0';
        if (fn(ctx, agency, store_get_u64((unsigned char *)val.mv_data + 8)))
            break;
    }
    mdb_cursor_close(cur);
    return FP_OK;
}

/* ---------------------------------------------------------------- flags */

int broker_store_flag_get(broker_store *s, MDB_txn *txn, const uint8_t flag_id[16],
                          Flagpost__BrokerFlag **out, fp_error *err)
{
    MDB_val key = store_val(flag_id, 16), val;
    *out = NULL;
    int rc = mdb_get(txn, s->flags, &key, &val);
    if (rc != 0)
        return store_fail(err, rc, "reading a flag record");
    *out = flagpost__broker_flag__unpack(NULL, val.mv_size, val.mv_data);
    return *out != NULL ? FP_OK : fp_error_set(err, FP_ERR_IO, "flag record is damaged");
}

int broker_store_flag_put(broker_store *s, MDB_txn *txn, const uint8_t flag_id[16],
                          const Flagpost__BrokerFlag *rec, fp_error *err)
{
    MDB_val key = store_val(flag_id, 16);
    return store_put_message(txn, s->flags, &key, &rec->base, "recording a flag", err);
}

int broker_store_flag_scan(broker_store *s, MDB_txn *txn, broker_store_flag_fn fn, void *ctx,
                           fp_error *err)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, s->flags, &cur);
    if (rc != 0)
        return store_fail(err, rc, "scanning flags");
    MDB_val key, val;
    for (rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
        if (key.mv_size != 16)
            continue;
        Flagpost__BrokerFlag *f = flagpost__broker_flag__unpack(NULL, val.mv_size, val.mv_data);
        if (f == NULL)
            continue;
        int stop = fn(ctx, key.mv_data, f);
        flagpost__broker_flag__free_unpacked(f, NULL);
        if (stop)
            break;
    }
    mdb_cursor_close(cur);
    return FP_OK;
}

/* ---------------------------------------------------------------- clients */

static size_t client_key(unsigned char out[QKEY_MAX + 40], const char *agency,
                         const Flagpost__Pseudonym *p)
{
    size_t n = strnlen(agency, QKEY_MAX - 1);
    memcpy(out, agency, n);
    out[n] = '\0';
    out[n + 1] = (unsigned char)p->kind;
    size_t vlen = p->value.len < 32 ? p->value.len : 32;
    if (vlen > 0)   /* an empty value decodes as NULL (decide refuses it first) */
        memcpy(out + n + 2, p->value.data, vlen);
    return n + 2 + vlen;
}

int broker_store_client_add(broker_store *s, MDB_txn *txn, const char *agency,
                            const Flagpost__Pseudonym *p, fp_error *err)
{
    unsigned char k[QKEY_MAX + 40];
    MDB_val key = store_val(k, client_key(k, agency, p)), val = store_val("", 0);
    int rc = mdb_put(txn, s->clients, &key, &val, 0);
    return rc == 0 ? FP_OK : store_fail(err, rc, "recording a client");
}

bool broker_store_client_has(broker_store *s, MDB_txn *txn, const char *agency,
                             const Flagpost__Pseudonym *p)
{
    unsigned char k[QKEY_MAX + 40];
    MDB_val key = store_val(k, client_key(k, agency, p)), val;
    return mdb_get(txn, s->clients, &key, &val) == 0;
}

/* ---------------------------------------------------------------- deadlines */

static size_t deadline_key(unsigned char out[QKEY_MAX + 32], int64_t due, char kind,
                           const uint8_t flag_id[16], const char *agency)
{
    store_put_u64(out, (uint64_t)(due < 0 ? 0 : due));
    out[8] = (unsigned char)kind;
    memcpy(out + 9, flag_id, 16);
    size_t n = strnlen(agency, QKEY_MAX - 1);
    memcpy(out + 25, agency, n);
    return 25 + n;
}

int broker_store_deadline_add(broker_store *s, MDB_txn *txn, int64_t due_ms, char kind,
                              const uint8_t flag_id[16], const char *agency, uint32_t version,
                              fp_error *err)
{
    unsigned char k[QKEY_MAX + 32], v[8];
    MDB_val key = store_val(k, deadline_key(k, due_ms, kind, flag_id, agency));
    store_put_u64(v, version);
    MDB_val val = store_val(v, sizeof v);
    int rc = mdb_put(txn, s->deadlines, &key, &val, 0);
    return rc == 0 ? FP_OK : store_fail(err, rc, "recording a deadline");
}

int broker_store_deadlines_due(broker_store *s, MDB_txn *txn, int64_t now_ms, size_t max,
                               broker_store_deadline_fn fn, void *ctx, fp_error *err)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, s->deadlines, &cur);
    if (rc != 0)
        return store_fail(err, rc, "reading deadlines");
    MDB_val key, val;
    size_t done = 0;
    int result = FP_OK;
    while (done < max && mdb_cursor_get(cur, &key, &val, MDB_FIRST) == 0) {
        const unsigned char *k = key.mv_data;
        if (key.mv_size < 26 || (int64_t)store_get_u64(k) > now_ms)
            break;
        char agency[QKEY_MAX];
        size_t alen = key.mv_size - 25 < sizeof agency - 1 ? key.mv_size - 25 : sizeof agency - 1;
        memcpy(agency, k + 25, alen);
        agency[alen] = '\0';
        uint8_t flag_id[16];
        memcpy(flag_id, k + 9, 16);
        int64_t due = (int64_t)store_get_u64(k);
        char kind = (char)k[8];
        uint32_t version = val.mv_size == 8 ? (uint32_t)store_get_u64(val.mv_data) : 0;
        if ((rc = mdb_cursor_del(cur, 0)) != 0) {
            result = store_fail(err, rc, "clearing a deadline");
            break;
        }
        if ((result = fn(ctx, due, kind, flag_id, agency, version)) != FP_OK)
            break;
        done++;
    }
    mdb_cursor_close(cur);
    return result;
}

bool broker_store_deadline_pending(broker_store *s, MDB_txn *txn, int64_t now_ms)
{
    MDB_cursor *cur;
    if (mdb_cursor_open(txn, s->deadlines, &cur) != 0)
        return false;
    MDB_val key, val;
    bool due = mdb_cursor_get(cur, &key, &val, MDB_FIRST) == 0 && key.mv_size >= 8 &&
               (int64_t)store_get_u64(key.mv_data) <= now_ms;
    mdb_cursor_close(cur);
    return due;
}

/* ---------------------------------------------------------------- meta */

int broker_store_meta_get(broker_store *s, MDB_txn *txn, const char *name, uint8_t *out,
                          size_t *len)
{
    return store_get_named(txn, s->meta, name, out, len);
}

int broker_store_meta_put(broker_store *s, MDB_txn *txn, const char *name, const uint8_t *v,
                          size_t len, fp_error *err)
{
    return store_put_named(txn, s->meta, name, v, len, err);
}
