/*
 * seen_prune: the retention rule, the floor and the bounded sweep of the
 * replay table.  See seen_prune.h for why pruning is safe.
 *
 * The sweep reads first and writes only if it must: the read transaction
 * takes no lock, so a sweep that finds nothing expired costs the intake
 * nothing but the time of the scan.  Nothing runs between the two
 * transactions (the broker's loop is one thread), so the ids found expired
 * are still there, unchanged, when they are deleted.
 */
#include "seen_prune.h"

#include <string.h>

#include "store.h"

#define META_FLOOR "seen_floor_ms"
#define META_SKEW_MAX "seen_skew_max_ms"
#define SEEN_PRUNE_RETRY_MS (60 * 1000)

int seen_prune_check(int64_t retention_ms, int64_t skew_ms, int64_t skew_max_ms,
                     fp_error *err)
{
    int64_t least = skew_max_ms + skew_ms + SEEN_PRUNE_MARGIN_MS;
    if (retention_ms >= least)
        return FP_OK;
    if (skew_max_ms <= skew_ms)
        return fp_error_set(err, FP_ERR_INPUT,
                            "--seen-retention %lld is too short for --skew %lld: a message id "
                            "must be kept at least twice the skew plus 60 s, or a replay of a "
                            "forgotten message could pass the clock check; give "
                            "--seen-retention %lld or more (or a smaller --skew)",
                            (long long)(retention_ms / 1000), (long long)(skew_ms / 1000),
                            (long long)((least + 999) / 1000));
    return fp_error_set(err, FP_ERR_INPUT,
                        "--seen-retention %lld is too short: this data directory was served "
                        "with --skew up to %lld, so message ids accepted then must be kept at "
                        "least that plus the --skew of %lld plus 60 s; give --seen-retention "
                        "%lld or more",
                        (long long)(retention_ms / 1000), (long long)(skew_max_ms / 1000),
                        (long long)(skew_ms / 1000), (long long)((least + 999) / 1000));
}

static bool meta_i64(broker_store *s, MDB_txn *txn, const char *name, int64_t *out)
{
    uint8_t buf[8];
    size_t len = sizeof buf;
    if (broker_store_meta_get(s, txn, name, buf, &len) != FP_OK || len != 8)
        return false;
    *out = (int64_t)store_get_u64(buf);
    return true;
}

static int put_i64(broker_store *s, MDB_txn *txn, const char *name, int64_t v, fp_error *err)
{
    uint8_t buf[8];
    store_put_u64(buf, (uint64_t)v);
    return broker_store_meta_put(s, txn, name, buf, sizeof buf, err);
}

static int record_skew_max(broker_store *s, int64_t skew_max_ms, fp_error *err)
{
    MDB_txn *txn;
    int rc = broker_store_begin(s, true, &txn, err);
    if (rc != FP_OK)
        return rc;
    if ((rc = put_i64(s, txn, META_SKEW_MAX, skew_max_ms, err)) != FP_OK) {
        broker_store_abort(txn);
        return rc;
    }
    return broker_store_commit(txn, err);
}

int seen_prune_open(seen_prune *p, broker_store *s, int64_t retention_ms, int64_t skew_ms,
                    size_t chunk, fp_error *err)
{
    memset(p, 0, sizeof *p);
    p->retention_ms = retention_ms;
    p->chunk = chunk < 1 ? 1 : chunk > SEEN_PRUNE_CHUNK ? SEEN_PRUNE_CHUNK : chunk;
    p->floor_ms = INT64_MIN;
    int64_t stored = 0;
    MDB_txn *txn;
    int rc = broker_store_begin(s, false, &txn, err);
    if (rc != FP_OK)
        return rc;
    bool known = meta_i64(s, txn, META_SKEW_MAX, &stored);
    meta_i64(s, txn, META_FLOOR, &p->floor_ms);
    broker_store_abort(txn);
    p->skew_max_ms = known && stored > skew_ms ? stored : skew_ms;
    if ((rc = seen_prune_check(retention_ms, skew_ms, p->skew_max_ms, err)) != FP_OK)
        return rc;
    return known && stored >= skew_ms ? FP_OK : record_skew_max(s, skew_ms, err);
}

/* What one sweep found: the ids to delete and what the pass learnt. */
typedef struct sweep_ctx {
    const seen_prune *p;
    int64_t now_ms;
    uint8_t expired[SEEN_PRUNE_CHUNK][16];
    size_t n_expired;
    int64_t newest_expired_ms;
    int64_t oldest_kept_ms;
    uint8_t last[16];
    bool have_last;
} sweep_ctx;

static void on_record(void *ctx, const uint8_t id[16], int64_t time_ms, bool damaged)
{
    sweep_ctx *c = ctx;
    memcpy(c->last, id, 16);
    c->have_last = true;
    if (damaged)
        return;   /* no time to judge it by; verify_replay cannot match it either */
    /* time_ms comes from disk: compared, not subtracted, so no value overflows. */
    if (time_ms < c->now_ms - c->p->retention_ms && c->n_expired < SEEN_PRUNE_CHUNK) {
        memcpy(c->expired[c->n_expired++], id, 16);
        if (time_ms > c->newest_expired_ms)
            c->newest_expired_ms = time_ms;
    } else if (time_ms < c->oldest_kept_ms) {
        c->oldest_kept_ms = time_ms;
    }
}

static int scan_chunk(seen_prune *p, broker_store *s, sweep_ctx *c, seen_prune_report *rep,
                      fp_error *err)
{
    MDB_txn *txn;
    int rc = broker_store_begin(s, false, &txn, err);
    if (rc != FP_OK)
        return rc;
    rc = broker_store_seen_scan(s, txn, p->resuming ? p->resume : NULL, p->chunk, on_record, c,
                                &rep->examined, &rep->pass_done, err);
    broker_store_abort(txn);
    return rc;
}

/* The floor every pruned message lies below: it was created at most the
 * largest skew ever allowed after the newest pruned time_ms. */
static int64_t floor_after(const seen_prune *p, const sweep_ctx *c)
{
    int64_t f = c->newest_expired_ms + p->skew_max_ms + 1;
    return f > p->floor_ms ? f : p->floor_ms;
}

static int delete_expired(seen_prune *p, broker_store *s, const sweep_ctx *c, fp_error *err)
{
    MDB_txn *txn;
    int rc = broker_store_begin_lazy(s, &txn, err);
    if (rc != FP_OK)
        return rc;
    int64_t floor = floor_after(p, c);
    for (size_t i = 0; rc == FP_OK && i < c->n_expired; i++) {
        rc = broker_store_seen_del(s, txn, c->expired[i], err);
        if (rc == FP_ERR_NOT_FOUND)
            rc = FP_OK;   /* gone already: what pruning wanted */
    }
    if (rc == FP_OK)
        rc = put_i64(s, txn, META_FLOOR, floor, err);
    if (rc != FP_OK) {
        broker_store_abort(txn);
        return rc;
    }
    if ((rc = broker_store_commit(txn, err)) == FP_OK)
        p->floor_ms = floor;
    return rc;
}

/* At the end of a pass: every record left is at least as new as the
 * oldest kept, or was written after the pass began (the clock then was
 * later, unless it stepped back, which only delays the next pass). */
static void end_pass(seen_prune *p)
{
    int64_t oldest = p->pass_oldest_ms < p->pass_started_ms ? p->pass_oldest_ms
                                                            : p->pass_started_ms;
    p->resuming = false;
    p->idle_until_ms = oldest + p->retention_ms + 1;
}

int seen_prune_sweep(seen_prune *p, broker_store *s, int64_t now_ms, seen_prune_report *rep,
                     fp_error *err)
{
    memset(rep, 0, sizeof *rep);
    if (now_ms < p->idle_until_ms)
        return FP_OK;
    if (!p->resuming) {
        p->pass_started_ms = now_ms;
        p->pass_oldest_ms = INT64_MAX;
    }
    sweep_ctx c = {.p = p, .now_ms = now_ms, .newest_expired_ms = INT64_MIN,
                   .oldest_kept_ms = INT64_MAX};
    int rc = scan_chunk(p, s, &c, rep, err);
    if (rc == FP_OK && c.n_expired > 0)
        rc = delete_expired(p, s, &c, err);
    if (rc != FP_OK) {
        /* Start the pass again, after a pause: a store that cannot be
         * read or written now is not helped by asking every second. */
        p->resuming = false;
        p->idle_until_ms = now_ms + SEEN_PRUNE_RETRY_MS;
        rep->examined = 0;
        rep->pass_done = false;
        return rc;
    }
    rep->pruned = c.n_expired;
    if (c.have_last) {
        memcpy(p->resume, c.last, 16);
        p->resuming = true;
    }
    if (c.oldest_kept_ms < p->pass_oldest_ms)
        p->pass_oldest_ms = c.oldest_kept_ms;
    if (rep->pass_done)
        end_pass(p);
    return FP_OK;
}
