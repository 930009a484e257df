/*
 * audit_verify: recompute the audit tree and compare it with everything
 * stored.  See audit_verify.h.
 *
 * Work split.  The log is cut into chunks of 2^12 entries aligned to
 * multiples of 2^12, so every subtree of up to 2^12 leaves lies inside one
 * chunk.  A worker takes a chunk, walks its entries and the stored nodes of
 * levels 0..12 for that range with two cursors (sequential reads: the
 * stored nodes sort by level, then index), recomputes all of them and
 * compares.  The calling thread takes finished chunks strictly in order,
 * pushes each chunk's root into a frontier of the levels above 12 (checking
 * those few stored nodes too), and checks every checkpoint whose size falls
 * in the chunk against the root recomputed for that size.  Checking in
 * order is what makes "the first entry that does not match" exact.
 *
 * Snapshots.  LMDB read transactions cannot be shared between threads, so
 * each worker opens its own, and a busy broker commits in between, so the
 * workers' snapshots are usually newer than the calling thread's.  That is
 * sound because of what they read: entries and nodes below the calling
 * thread's tree size, all of which audit_log writes once (MDB_NOOVERWRITE)
 * and never changes, so every later snapshot holds the same bytes for
 * them.  A worker whose snapshot is older than the caller's (impossible
 * unless LMDB misbehaves) is a fatal error.  An earlier design demanded the
 * very same snapshot and restarted when it moved; beside a broker
 * committing every few milliseconds it could fail all its restarts.
 *
 * Memory is bounded by a ring of 2 * threads + 2 chunk slots of 256 KiB
 * whatever the size of the log; workers never run further ahead than the
 * ring allows.
 */
#include "audit_verify.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "store.h"

#define CHUNK_BITS 12
#define CHUNK ((uint64_t)1 << CHUNK_BITS)
#define SLOT_HASHES (2 * CHUNK)
#define MAX_THREADS 8

enum { SLOT_FREE, SLOT_BUSY, SLOT_DONE };

struct slot {
    uint64_t chunk;
    int state;
    int code;
    uint64_t bad;
    uint64_t nodes;
    char problem[400];
    unsigned char (*hash)[32];   /* level L of the chunk starts at level_off(L) */
};

struct shared {
    MDB_env *env;
    MDB_dbi entries, nodes;
    size_t snapshot;
    uint64_t size, nchunks;
    pthread_mutex_t mu;
    pthread_cond_t work, done;
    uint64_t next, consumed;
    size_t nslots;
    struct slot *slots;
    int stop;
    int fatal;                   /* FP_OK or an FP_ERR_* code */
    char fatal_msg[400];
};

static size_t level_off(int level)
{
    return (size_t)(SLOT_HASHES - (SLOT_HASHES >> level));
}

static void fmt_time(int64_t ms, char out[32])
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    if (gmtime_r(&t, &tm) == NULL || strftime(out, 32, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
        snprintf(out, 32, "%lld ms", (long long)ms);
}

static int slot_fail(struct slot *s, uint64_t bad, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int slot_fail(struct slot *s, uint64_t bad, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->problem, sizeof s->problem, fmt, ap);
    va_end(ap);
    s->code = FP_ERR_CRYPTO;
    s->bad = bad;
    return FP_ERR_CRYPTO;
}

static int node_key_is(const MDB_val *k, int level, uint64_t index)
{
    unsigned char want[9];
    audit_log_node_key(want, level, index);
    return k->mv_size == 9 && memcmp(k->mv_data, want, 9) == 0;
}

static int seek_node(MDB_cursor *nc, int level, uint64_t index, MDB_val *k, MDB_val *v)
{
    unsigned char key[9];
    audit_log_node_key(key, level, index);
    k->mv_size = sizeof key;
    k->mv_data = key;
    int rc = mdb_cursor_get(nc, k, v, MDB_SET_RANGE);
    return rc;   /* k now points into the map, not at the local key */
}

static int io_fail(struct slot *s, int rc)
{
    snprintf(s->problem, sizeof s->problem, "reading the audit store: %s", mdb_strerror(rc));
    s->code = FP_ERR_IO;
    return FP_ERR_IO;
}

/* Entry i did not hash to its stored leaf hash: say whether it was edited
 * in place or is another entry moved here. */
static int leaf_mismatch(struct slot *s, uint64_t i, const MDB_val *entry)
{
    uint64_t recorded;
    if (audit_log_entry_index(entry->mv_data, entry->mv_size, &recorded) != FP_OK)
        return slot_fail(s, i,
                         "entry %llu is no longer a valid audit entry: it was altered after "
                         "it was written",
                         (unsigned long long)i);
    if (recorded != i)
        return slot_fail(s, i,
                         "entry %llu does not match the hash stored when it was written: it "
                         "holds what was written as entry %llu (entries were moved or "
                         "reordered)",
                         (unsigned long long)i, (unsigned long long)recorded);
    return slot_fail(s, i,
                     "entry %llu does not match the hash stored when it was written: it was "
                     "altered after it was written",
                     (unsigned long long)i);
}

static int check_leaves(MDB_cursor *ec, MDB_cursor *nc, uint64_t a, uint64_t b,
                        struct slot *s)
{
    unsigned char key[8];
    store_put_u64(key, a);
    MDB_val ek = {sizeof key, key}, ev, nk, nv;
    int erc = mdb_cursor_get(ec, &ek, &ev, MDB_SET_RANGE);
    int nrc = seek_node(nc, 0, a, &nk, &nv);
    for (uint64_t i = a; i < b; i++) {
        if (erc != 0 && erc != MDB_NOTFOUND)
            return io_fail(s, erc);
        if (erc == MDB_NOTFOUND || ek.mv_size != 8 || store_get_u64(ek.mv_data) != i)
            return slot_fail(s, i, "entry %llu is missing: it was deleted from the store",
                             (unsigned long long)i);
        unsigned char *h = s->hash[i - a];
        merkle_leaf_hash(ev.mv_data, ev.mv_size, h);
        if (nrc != 0 && nrc != MDB_NOTFOUND)
            return io_fail(s, nrc);
        if (nrc == MDB_NOTFOUND || !node_key_is(&nk, 0, i) || nv.mv_size != 32)
            return slot_fail(s, i,
                             "the hash stored for entry %llu is missing: the tree store "
                             "was altered",
                             (unsigned long long)i);
        if (memcmp(nv.mv_data, h, 32) != 0)
            return leaf_mismatch(s, i, &ev);
        uint64_t recorded;
        if (audit_log_entry_index(ev.mv_data, ev.mv_size, &recorded) != FP_OK ||
            recorded != i)
            return slot_fail(s, i,
                             "entry %llu records that it was written as entry %llu: entries "
                             "were moved and the stored hashes rebuilt to hide it",
                             (unsigned long long)i, (unsigned long long)recorded);
        s->nodes++;
        erc = mdb_cursor_get(ec, &ek, &ev, MDB_NEXT);
        nrc = mdb_cursor_get(nc, &nk, &nv, MDB_NEXT);
    }
    return FP_OK;
}

static int check_levels(MDB_cursor *nc, uint64_t a, uint64_t b, struct slot *s)
{
    for (int level = 1; level <= CHUNK_BITS; level++) {
        uint64_t lo = a >> level, hi = b >> level;
        if (hi == lo)
            break;
        const unsigned char(*below)[32] =
            (const unsigned char(*)[32])(s->hash + level_off(level - 1));
        unsigned char(*here)[32] = s->hash + level_off(level);
        MDB_val nk, nv;
        int nrc = seek_node(nc, level, lo, &nk, &nv);
        for (uint64_t k = 0; k < hi - lo; k++) {
            merkle_node_hash(below[2 * k], below[2 * k + 1], here[k]);
            if (nrc != 0 && nrc != MDB_NOTFOUND)
                return io_fail(s, nrc);
            uint64_t first = (lo + k) << level, last = ((lo + k + 1) << level) - 1;
            if (nrc == MDB_NOTFOUND || !node_key_is(&nk, level, lo + k) || nv.mv_size != 32)
                return slot_fail(s, first,
                                 "the hash stored over entries %llu..%llu is missing: the "
                                 "tree store was altered",
                                 (unsigned long long)first, (unsigned long long)last);
            if (memcmp(nv.mv_data, here[k], 32) != 0)
                return slot_fail(s, first,
                                 "the hash stored over entries %llu..%llu does not match "
                                 "those entries (which match their own hashes): the tree "
                                 "store was altered",
                                 (unsigned long long)first, (unsigned long long)last);
            s->nodes++;
            nrc = mdb_cursor_get(nc, &nk, &nv, MDB_NEXT);
        }
    }
    return FP_OK;
}

static void check_chunk(struct shared *sh, MDB_cursor *ec, MDB_cursor *nc, uint64_t j,
                        struct slot *s)
{
    uint64_t a = j << CHUNK_BITS;
    uint64_t b = a + CHUNK < sh->size ? a + CHUNK : sh->size;
    s->code = FP_OK;
    s->nodes = 0;
    s->bad = AUDIT_VERIFY_NONE;
    if (check_leaves(ec, nc, a, b, s) == FP_OK)
        check_levels(nc, a, b, s);
}

static void set_fatal(struct shared *sh, int code, const char *msg)
{
    pthread_mutex_lock(&sh->mu);
    if (sh->fatal == FP_OK) {
        sh->fatal = code;
        snprintf(sh->fatal_msg, sizeof sh->fatal_msg, "%s", msg);
    }
    sh->stop = 1;
    pthread_cond_broadcast(&sh->done);
    pthread_cond_broadcast(&sh->work);
    pthread_mutex_unlock(&sh->mu);
}

static void *worker(void *arg)
{
    struct shared *sh = arg;
    MDB_txn *txn;
    MDB_cursor *ec = NULL, *nc = NULL;
    int rc = mdb_txn_begin(sh->env, NULL, MDB_RDONLY, &txn);
    if (rc != 0) {
        set_fatal(sh, FP_ERR_IO, mdb_strerror(rc));
        return NULL;
    }
    if (mdb_txn_id(txn) < sh->snapshot) {
        mdb_txn_abort(txn);
        set_fatal(sh, FP_ERR_IO, "a worker's read snapshot is older than the one it extends");
        return NULL;
    }
    if ((rc = mdb_cursor_open(txn, sh->entries, &ec)) != 0 ||
        (rc = mdb_cursor_open(txn, sh->nodes, &nc)) != 0) {
        if (ec != NULL)
            mdb_cursor_close(ec);
        mdb_txn_abort(txn);
        set_fatal(sh, FP_ERR_IO, mdb_strerror(rc));
        return NULL;
    }
    for (;;) {
        pthread_mutex_lock(&sh->mu);
        while (!sh->stop && sh->next < sh->nchunks && sh->next >= sh->consumed + sh->nslots)
            pthread_cond_wait(&sh->work, &sh->mu);
        if (sh->stop || sh->next >= sh->nchunks) {
            pthread_mutex_unlock(&sh->mu);
            break;
        }
        uint64_t j = sh->next++;
        struct slot *s = &sh->slots[j % sh->nslots];
        s->chunk = j;
        s->state = SLOT_BUSY;
        pthread_mutex_unlock(&sh->mu);

        check_chunk(sh, ec, nc, j, s);

        pthread_mutex_lock(&sh->mu);
        s->state = SLOT_DONE;
        pthread_cond_broadcast(&sh->done);
        pthread_mutex_unlock(&sh->mu);
    }
    mdb_cursor_close(ec);
    mdb_cursor_close(nc);
    mdb_txn_abort(txn);
    return NULL;
}

/* ------------------------------------------------------------ main thread */

struct run {
    struct shared sh;
    const audit_verify_options *opt;
    audit_verify_result *res;
    MDB_txn *txn;                 /* the calling thread's snapshot */
    MDB_cursor *cc;               /* checkpoints, in size order */
    int cc_rc;
    MDB_val ck, cv;
    unsigned char hi[64][32];     /* frontier of levels >= CHUNK_BITS */
    uint64_t chunks_pushed;
    uint64_t last_good_cp;
};

static int run_fail(struct run *r, uint64_t bad, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int run_fail(struct run *r, uint64_t bad, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->res->problem, sizeof r->res->problem, fmt, ap);
    va_end(ap);
    r->res->first_bad = bad;
    r->res->ok = false;
    return FP_ERR_CRYPTO;
}

/* Root of the first `size` entries: levels >= CHUNK_BITS from the main
 * frontier, lower ones from the slot of the chunk holding entry size-1. */
static void root_at(const struct run *r, uint64_t size, const struct slot *s,
                    unsigned char out[32])
{
    unsigned char f[64][32];
    for (int level = 0; level < 64; level++) {
        if ((size >> level & 1) == 0)
            continue;
        if (level >= CHUNK_BITS) {
            memcpy(f[level], r->hi[level], 32);
        } else {
            uint64_t a = s->chunk << CHUNK_BITS;
            uint64_t idx = ((size >> level) - 1) - (a >> level);
            memcpy(f[level], s->hash[level_off(level) + idx], 32);
        }
    }
    merkle_fold_frontier(size, (const unsigned char(*)[32])f, out);
}

static int check_checkpoint(struct run *r, uint64_t size, const unsigned char root[32])
{
    if (r->opt->nkeys == 0)
        return FP_OK;
    checkpoint_info cp;
    fp_error e;
    int rc = checkpoint_verify_any(r->cv.mv_data, r->cv.mv_size, r->opt->keys,
                                   r->opt->nkeys, &cp, NULL, &e);
    if (rc != FP_OK)
        return run_fail(r, AUDIT_VERIFY_NONE,
                        "the checkpoint stored for the first %llu entries was replaced or "
                        "altered: %s",
                        (unsigned long long)size, e.message);
    if (cp.tree_size != size)
        return run_fail(r, AUDIT_VERIFY_NONE,
                        "the checkpoint stored for the first %llu entries is the broker's "
                        "checkpoint for %llu entries: it was moved",
                        (unsigned long long)size, (unsigned long long)cp.tree_size);
    if (memcmp(cp.root, root, 32) != 0) {
        char when[32];
        fmt_time(cp.time_ms, when);
        return run_fail(r, r->last_good_cp,
                        "entries %llu..%llu do not match the broker's checkpoint for the "
                        "first %llu entries (signed %s): at least one of them was changed, "
                        "removed or reordered and the stored hashes rebuilt to hide it",
                        (unsigned long long)r->last_good_cp, (unsigned long long)size - 1,
                        (unsigned long long)size, when);
    }
    r->last_good_cp = size;
    r->res->latest = cp;
    r->res->have_checkpoint = true;
    r->res->checkpoints_checked++;
    return FP_OK;
}

static uint64_t cp_size(const struct run *r)
{
    return r->cv.mv_size > 0 && r->ck.mv_size == 8 ? store_get_u64(r->ck.mv_data)
                                                    : UINT64_MAX;
}

/* Check every stored checkpoint of size <= limit (the caller guarantees
 * each such size's root can be formed from hi and s). */
static int checkpoints_upto(struct run *r, uint64_t limit, const struct slot *s)
{
    while (r->cc_rc == 0 && cp_size(r) <= limit) {
        uint64_t size = cp_size(r);
        unsigned char root[32];
        if (size == 0)
            merkle_empty_root(root);
        else
            root_at(r, size, s, root);
        int rc = check_checkpoint(r, size, root);
        if (rc != FP_OK)
            return rc;
        r->cc_rc = mdb_cursor_get(r->cc, &r->ck, &r->cv, MDB_NEXT);
    }
    if (r->cc_rc != 0 && r->cc_rc != MDB_NOTFOUND)
        return store_fail(NULL, r->cc_rc, "");
    return FP_OK;
}

/* Push a full chunk's root into the high frontier, checking the stored
 * nodes it completes above the chunk level. */
static int push_chunk(struct run *r, const struct slot *s)
{
    unsigned char carry[32];
    memcpy(carry, s->hash[level_off(CHUNK_BITS)], 32);
    int level = CHUNK_BITS;
    uint64_t count = r->chunks_pushed, index = s->chunk;
    while (count & 1) {
        merkle_node_hash(r->hi[level], carry, carry);
        level++;
        index >>= 1;
        count >>= 1;
        unsigned char key[9];
        audit_log_node_key(key, level, index);
        MDB_val k = {sizeof key, key}, v;
        int rc = mdb_get(r->txn, r->sh.nodes, &k, &v);
        uint64_t first = index << level, last = ((index + 1) << level) - 1;
        if (rc != 0 && rc != MDB_NOTFOUND)
            return store_fail(NULL, rc, "");
        if (rc == MDB_NOTFOUND || v.mv_size != 32)
            return run_fail(r, first,
                            "the hash stored over entries %llu..%llu is missing: the tree "
                            "store was altered",
                            (unsigned long long)first, (unsigned long long)last);
        if (memcmp(v.mv_data, carry, 32) != 0)
            return run_fail(r, first,
                            "the hash stored over entries %llu..%llu does not match those "
                            "entries (which match their own hashes): the tree store was "
                            "altered",
                            (unsigned long long)first, (unsigned long long)last);
        r->res->nodes_checked++;
    }
    memcpy(r->hi[level], carry, 32);
    r->chunks_pushed++;
    return FP_OK;
}

static int fold_chunk(struct run *r, const struct slot *s)
{
    uint64_t a = s->chunk << CHUNK_BITS;
    uint64_t b = a + CHUNK < r->sh.size ? a + CHUNK : r->sh.size;
    int rc = checkpoints_upto(r, b < a + CHUNK ? b : a + CHUNK - 1, s);
    if (rc == FP_OK && b == a + CHUNK) {
        rc = push_chunk(r, s);
        if (rc == FP_OK)
            rc = checkpoints_upto(r, b, s);
    }
    if (rc == FP_OK && b == r->sh.size)
        root_at(r, b, s, r->res->root);
    return rc;
}

/* Wait for chunk j, fold it, and free its slot for the workers. */
static int take_chunk(struct run *r, uint64_t j)
{
    struct shared *sh = &r->sh;
    struct slot *s = &sh->slots[j % sh->nslots];
    pthread_mutex_lock(&sh->mu);
    while (!(s->state == SLOT_DONE && s->chunk == j) && sh->fatal == FP_OK)
        pthread_cond_wait(&sh->done, &sh->mu);
    int fatal = sh->fatal;
    pthread_mutex_unlock(&sh->mu);
    if (fatal != FP_OK)
        return fatal;
    if (s->code == FP_ERR_CRYPTO) {
        r->res->first_bad = s->bad;
        r->res->ok = false;
        snprintf(r->res->problem, sizeof r->res->problem, "%s", s->problem);
        return FP_ERR_CRYPTO;
    }
    if (s->code != FP_OK) {
        snprintf(sh->fatal_msg, sizeof sh->fatal_msg, "%s", s->problem);
        return s->code;
    }
    r->res->nodes_checked += s->nodes;
    int rc = fold_chunk(r, s);
    if (rc != FP_OK)
        return rc;
    uint64_t end = (j + 1) << CHUNK_BITS;
    r->res->entries_checked = end < sh->size ? end : sh->size;
    pthread_mutex_lock(&sh->mu);
    s->state = SLOT_FREE;
    sh->consumed++;
    pthread_cond_broadcast(&sh->work);
    pthread_mutex_unlock(&sh->mu);
    if (r->opt->progress != NULL)
        r->opt->progress(r->opt->progress_ctx, r->res->entries_checked, sh->size);
    return FP_OK;
}

/* After the last chunk: nothing may be stored beyond the end. */
static int check_tail(struct run *r)
{
    uint64_t n = r->sh.size;
    if (n == 0)
        merkle_empty_root(r->res->root);
    int rc = checkpoints_upto(r, n, NULL);
    if (rc != FP_OK)
        return rc;
    if (r->cc_rc == 0)
        return run_fail(r, n,
                        "%s for the first %llu entries but the log now holds only %llu: "
                        "entries from %llu on were removed",
                        r->opt->nkeys > 0 ? "the broker signed a checkpoint"
                                          : "a checkpoint is stored",
                        (unsigned long long)cp_size(r), (unsigned long long)n,
                        (unsigned long long)n);
    MDB_stat st;
    if ((rc = mdb_stat(r->txn, r->sh.nodes, &st)) != 0)
        return store_fail(NULL, rc, "");
    uint64_t want = 0;
    for (int level = 0; level < 64; level++)
        want += n >> level;
    if ((uint64_t)st.ms_entries > want)
        return run_fail(r, n,
                        "hashes are stored for entries after the last one (%llu): entries "
                        "were removed from the end of the log",
                        (unsigned long long)n);
    return FP_OK;
}

static int log_size(struct run *r, uint64_t *size)
{
    MDB_cursor *c;
    int rc = mdb_cursor_open(r->txn, r->sh.entries, &c);
    if (rc != 0)
        return rc;
    MDB_val k, v;
    rc = mdb_cursor_get(c, &k, &v, MDB_LAST);
    mdb_cursor_close(c);
    if (rc == MDB_NOTFOUND) {
        *size = 0;
        return 0;
    }
    if (rc == 0)
        *size = k.mv_size == 8 ? store_get_u64(k.mv_data) + 1 : 0;
    return rc;
}

static unsigned thread_count(const audit_verify_options *opt, uint64_t nchunks)
{
    long n = opt->threads > 0 ? (long)opt->threads : sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1)
        n = 1;
    if (n > MAX_THREADS)
        n = MAX_THREADS;
    if ((uint64_t)n > nchunks)
        n = nchunks > 0 ? (long)nchunks : 1;
    return (unsigned)n;
}

static int run_chunks(struct run *r)
{
    struct shared *sh = &r->sh;
    unsigned nthreads = thread_count(r->opt, sh->nchunks);
    sh->nslots = 2 * (size_t)nthreads + 2;
    sh->slots = calloc(sh->nslots, sizeof *sh->slots);
    unsigned char(*hashes)[32] = malloc(sh->nslots * SLOT_HASHES * 32);
    pthread_t threads[MAX_THREADS];
    unsigned started = 0;
    int rc = FP_OK;
    if (sh->slots == NULL || hashes == NULL) {
        rc = FP_ERR_IO;
        snprintf(sh->fatal_msg, sizeof sh->fatal_msg, "out of memory");
    }
    for (size_t i = 0; rc == FP_OK && i < sh->nslots; i++)
        sh->slots[i].hash = hashes + i * SLOT_HASHES;
    for (; rc == FP_OK && sh->nchunks > 0 && started < nthreads; started++)
        if (pthread_create(&threads[started], NULL, worker, sh) != 0) {
            rc = FP_ERR_IO;
            snprintf(sh->fatal_msg, sizeof sh->fatal_msg, "cannot start a thread");
            break;
        }
    for (uint64_t j = 0; rc == FP_OK && j < sh->nchunks; j++)
        rc = take_chunk(r, j);
    pthread_mutex_lock(&sh->mu);
    sh->stop = 1;
    pthread_cond_broadcast(&sh->work);
    pthread_mutex_unlock(&sh->mu);
    for (unsigned i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
    if (rc == FP_OK && sh->fatal != FP_OK)
        rc = sh->fatal;
    free(hashes);
    free(sh->slots);
    sh->slots = NULL;
    return rc;
}

static int verify_once(MDB_env *env, audit_log *log, const audit_verify_options *opt,
                       audit_verify_result *res, fp_error *err)
{
    struct run *r = calloc(1, sizeof *r);
    if (r == NULL)
        return fp_error_set(err, FP_ERR_IO, "out of memory verifying the audit log");
    r->opt = opt;
    r->res = res;
    r->sh.env = env;
    audit_log_dbis(log, &r->sh.entries, &r->sh.nodes, NULL);
    MDB_dbi cps;
    audit_log_dbis(log, NULL, NULL, &cps);
    pthread_mutex_init(&r->sh.mu, NULL);
    pthread_cond_init(&r->sh.work, NULL);
    pthread_cond_init(&r->sh.done, NULL);

    int rc = FP_OK, mrc = mdb_txn_begin(env, NULL, MDB_RDONLY, &r->txn);
    MDB_stat st;
    if (mrc == 0 && (mrc = log_size(r, &r->sh.size)) == 0 &&
        (mrc = mdb_stat(r->txn, cps, &st)) == 0 &&
        (mrc = mdb_cursor_open(r->txn, cps, &r->cc)) == 0) {
        r->sh.snapshot = mdb_txn_id(r->txn);
        r->sh.nchunks = (r->sh.size + CHUNK - 1) >> CHUNK_BITS;
        res->tree_size = r->sh.size;
        res->checkpoints = (uint64_t)st.ms_entries;
        r->cc_rc = mdb_cursor_get(r->cc, &r->ck, &r->cv, MDB_FIRST);
        rc = run_chunks(r);
        if (rc == FP_OK)
            rc = check_tail(r);
    } else {
        rc = FP_ERR_IO;
        snprintf(r->sh.fatal_msg, sizeof r->sh.fatal_msg, "%s", mdb_strerror(mrc));
    }
    if (rc == FP_ERR_CRYPTO)
        fp_error_set(err, rc, "the audit trail does not verify: %s", res->problem);
    else if (rc != FP_OK)
        fp_error_set(err, rc, "cannot verify the audit trail: %s",
                     r->sh.fatal_msg[0] ? r->sh.fatal_msg : "database error");
    if (r->cc != NULL)
        mdb_cursor_close(r->cc);
    if (r->txn != NULL)
        mdb_txn_abort(r->txn);
    pthread_cond_destroy(&r->sh.work);
    pthread_cond_destroy(&r->sh.done);
    pthread_mutex_destroy(&r->sh.mu);
    free(r);
    return rc;
}

int audit_verify_run(MDB_env *env, audit_log *log, const audit_verify_options *opt,
                     audit_verify_result *res, fp_error *err)
{
    audit_verify_options none = {0};
    if (opt == NULL)
        opt = &none;
    memset(res, 0, sizeof *res);
    res->ok = true;
    res->first_bad = AUDIT_VERIFY_NONE;
    int rc = verify_once(env, log, opt, res, err);
    if (rc != FP_OK)
        res->ok = false;
    return rc;
}
