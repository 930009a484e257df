/*
 * Unit tests for broker/seen_prune.c on a real broker store (LMDB in a
 * temporary directory): the retention rule and its history, the expiry
 * boundary, the bound on records examined per sweep, resuming after the
 * last id examined (kept, pruned, or with new ids around it) and
 * wrapping round to the first, the idle wait after a pass, the floor and
 * its persistence, nothing written when nothing expired, and a damaged
 * record left alone.  Times are fixed numbers, never the clock.
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "broker_store_fixture.h"
#include "check.h"
#include "seen_prune.h"
#include "store.h"

#define NOW 1800000000000LL                 /* a fixed "broker clock", ms */
#define SKEW (300 * 1000LL)
#define RETENTION (2 * SKEW + SEEN_PRUNE_MARGIN_MS)

static bool fx_reopen(fixture *f)
{
    broker_store_close(f->s);
    fp_error err = {0};
    return broker_store_open(&f->s, f->path, BSF_MAP_SIZE, &err) == FP_OK;
}

static void make_id(uint8_t id[16], int n)
{
    memset(id, 'x', 16);
    id[0] = (uint8_t)(n >> 8);   /* big-endian first: key order is n's order */
    id[1] = (uint8_t)n;
}

static void put_seen(fixture *f, int n, int64_t time_ms)
{
    uint8_t id[16], hash[32];
    make_id(id, n);
    memset(hash, n, sizeof hash);
    Flagpost__SeenRecord rec;
    flagpost__seen_record__init(&rec);
    rec.sender = (char *)"met-police";
    rec.body_hash.data = hash;
    rec.body_hash.len = 32;
    rec.time_ms = time_ms;
    MDB_txn *txn = NULL;
    fp_error err = {0};
    CHECK_EQ_INT(broker_store_begin(f->s, true, &txn, &err), FP_OK);
    CHECK_EQ_INT(broker_store_seen_put(f->s, txn, id, &rec, &err), FP_OK);
    CHECK_EQ_INT(broker_store_commit(txn, &err), FP_OK);
}

static bool has_seen(fixture *f, int n)
{
    uint8_t id[16];
    make_id(id, n);
    MDB_txn *txn = NULL;
    if (broker_store_begin(f->s, false, &txn, NULL) != FP_OK)
        return false;
    Flagpost__SeenRecord *rec = NULL;
    int rc = broker_store_seen_get(f->s, txn, id, &rec, NULL);
    flagpost__seen_record__free_unpacked(rec, NULL);
    broker_store_abort(txn);
    return rc == FP_OK;
}

static int count_seen(fixture *f, int upto)
{
    int n = 0;
    for (int i = 0; i < upto; i++)
        n += has_seen(f, i);
    return n;
}

static bool meta_present(fixture *f, const char *name)
{
    uint8_t buf[8];
    size_t len = sizeof buf;
    MDB_txn *txn = NULL;
    if (broker_store_begin(f->s, false, &txn, NULL) != FP_OK)
        return false;
    int rc = broker_store_meta_get(f->s, txn, name, buf, &len);
    broker_store_abort(txn);
    return rc == FP_OK;
}

static bool open_prune(fixture *f, seen_prune *p, int64_t retention, int64_t skew, size_t chunk)
{
    fp_error err = {0};
    int rc = seen_prune_open(p, f->s, retention, skew, chunk, &err);
    if (rc != FP_OK)
        printf("#   seen_prune_open: %s\n", err.message);
    return rc == FP_OK;
}

static seen_prune_report sweep(fixture *f, seen_prune *p, int64_t now)
{
    seen_prune_report rep;
    fp_error err = {0};
    CHECK_EQ_INT(seen_prune_sweep(p, f->s, now, &rep, &err), FP_OK);
    return rep;
}

/* ---------------------------------------------------------------- the rule */

static void test_retention_rule(void)
{
    fp_error err = {0};
    CHECK_EQ_INT(seen_prune_check(RETENTION, SKEW, SKEW, &err), FP_OK);
    CHECK_EQ_INT(seen_prune_check(RETENTION - 1, SKEW, SKEW, &err), FP_ERR_INPUT);
    CHECK(strstr(err.message, "--seen-retention") != NULL);
    CHECK(strstr(err.message, "--skew 300") != NULL);
    CHECK(strstr(err.message, "660 or more") != NULL);
    /* The same skew everywhere, one second: 62 s is the least. */
    CHECK_EQ_INT(seen_prune_check(62000, 1000, 1000, NULL), FP_OK);
    CHECK_EQ_INT(seen_prune_check(61000, 1000, 1000, NULL), FP_ERR_INPUT);
    /* A store once served with a larger skew needs that plus today's. */
    CHECK_EQ_INT(seen_prune_check(3600000 + SKEW + 60000, SKEW, 3600000, &err), FP_OK);
    CHECK_EQ_INT(seen_prune_check(3600000 + SKEW + 59999, SKEW, 3600000, &err), FP_ERR_INPUT);
    CHECK(strstr(err.message, "up to 3600") != NULL);
    CHECK(strstr(err.message, "3960 or more") != NULL);
}

static void test_open_keeps_the_largest_skew(void)
{
    fixture f;
    CHECK(fx_open(&f, "seen-prune"));
    if (f.s == NULL)
        return;
    seen_prune p;
    CHECK(open_prune(&f, &p, RETENTION, SKEW, 16));
    CHECK_EQ_INT(p.skew_max_ms, SKEW);
    CHECK(p.floor_ms == INT64_MIN);
    CHECK(fx_reopen(&f));
    /* Lowered to 100 s: 300 s is remembered, so 2 * 100 + 60 is not enough. */
    fp_error err = {0};
    CHECK_EQ_INT(seen_prune_open(&p, f.s, 260000, 100000, 16, &err), FP_ERR_INPUT);
    CHECK(strstr(err.message, "up to 300") != NULL);
    CHECK(open_prune(&f, &p, 460000, 100000, 16));
    CHECK_EQ_INT(p.skew_max_ms, SKEW);
    /* Raised to 400 s: recorded, and the rule follows it. */
    CHECK(open_prune(&f, &p, 2 * 400000 + 60000, 400000, 16));
    CHECK(fx_reopen(&f));
    CHECK_EQ_INT(seen_prune_open(&p, f.s, RETENTION, SKEW, 16, &err), FP_ERR_INPUT);
    CHECK(strstr(err.message, "up to 400") != NULL);
    fx_close(&f);
}

/* ---------------------------------------------------------------- the sweep */

static void test_expiry_boundary(void)
{
    fixture f;
    CHECK(fx_open(&f, "seen-prune"));
    if (f.s == NULL)
        return;
    put_seen(&f, 0, NOW - RETENTION - 1);   /* older than the retention: pruned */
    put_seen(&f, 1, NOW - RETENTION);       /* exactly the retention: kept */
    put_seen(&f, 2, NOW - RETENTION + 1);
    put_seen(&f, 3, NOW);
    seen_prune p;
    CHECK(open_prune(&f, &p, RETENTION, SKEW, 16));
    seen_prune_report rep = sweep(&f, &p, NOW);
    CHECK_EQ_INT(rep.examined, 4);
    CHECK_EQ_INT(rep.pruned, 1);
    CHECK(rep.pass_done);
    CHECK(!has_seen(&f, 0));
    CHECK(has_seen(&f, 1) && has_seen(&f, 2) && has_seen(&f, 3));
    fx_close(&f);
}

static void test_chunk_bound_and_resume(void)
{
    fixture f;
    CHECK(fx_open(&f, "seen-prune"));
    if (f.s == NULL)
        return;
    for (int i = 0; i < 10; i++)
        put_seen(&f, i, NOW - RETENTION - 1000 - i);
    seen_prune p;
    CHECK(open_prune(&f, &p, RETENTION, SKEW, 4));
    seen_prune_report rep = sweep(&f, &p, NOW);
    CHECK_EQ_INT(rep.examined, 4);
    CHECK_EQ_INT(rep.pruned, 4);
    CHECK(!rep.pass_done);
    CHECK(!has_seen(&f, 3) && has_seen(&f, 4));   /* the first four, in key order */
    /* The id it resumes after was pruned: the next one is found anyway. */
    rep = sweep(&f, &p, NOW);
    CHECK_EQ_INT(rep.examined, 4);
    CHECK_EQ_INT(rep.pruned, 4);
    CHECK(!has_seen(&f, 7) && has_seen(&f, 8));
    rep = sweep(&f, &p, NOW);
    CHECK_EQ_INT(rep.examined, 2);
    CHECK_EQ_INT(rep.pruned, 2);
    CHECK(rep.pass_done);
    CHECK_EQ_INT(count_seen(&f, 10), 0);
    fx_close(&f);
}

/* Resuming after an id that was kept steps over it: each record is
 * examined once a pass. */
static void test_resume_after_a_kept_id(void)
{
    fixture f;
    CHECK(fx_open(&f, "seen-prune"));
    if (f.s == NULL)
        return;
    for (int i = 0; i < 5; i++)
        put_seen(&f, i, NOW - 1000);
    seen_prune p;
    CHECK(open_prune(&f, &p, RETENTION, SKEW, 2));
    seen_prune_report rep = sweep(&f, &p, NOW);
    CHECK_EQ_INT(rep.examined, 2);
    rep = sweep(&f, &p, NOW);
    CHECK_EQ_INT(rep.examined, 2);
    CHECK(!rep.pass_done);
    rep = sweep(&f, &p, NOW);
    CHECK_EQ_INT(rep.examined, 1);
    CHECK(rep.pass_done);
    CHECK_EQ_INT(rep.pruned, 0);
    CHECK_EQ_INT(count_seen(&f, 5), 5);
    fx_close(&f);
}

static void test_resume_and_wrap_round(void)
{
    fixture f;
    CHECK(fx_open(&f, "seen-prune"));
    if (f.s == NULL)
        return;
    for (int i = 0; i < 10; i++)   /* odd ids expired, even ones fresh */
        put_seen(&f, 2 * i, i % 2 ? NOW - RETENTION - 1 : NOW - 1000);
    seen_prune p;
    CHECK(open_prune(&f, &p, RETENTION, SKEW, 4));
    seen_prune_report rep = sweep(&f, &p, NOW);   /* ids 0, 2, 4, 6 */
    CHECK_EQ_INT(rep.pruned, 2);
    /* An id before the resume point waits for the next pass; one after it
     * is met in this one. */
    put_seen(&f, 1, NOW - RETENTION - 5);
    put_seen(&f, 19, NOW - RETENTION - 5);
    rep = sweep(&f, &p, NOW);   /* 8, 10, 12, 14 */
    CHECK_EQ_INT(rep.examined, 4);
    CHECK_EQ_INT(rep.pruned, 2);
    rep = sweep(&f, &p, NOW);   /* 16, 18, 19 */
    CHECK_EQ_INT(rep.examined, 3);
    CHECK_EQ_INT(rep.pruned, 2);
    CHECK(rep.pass_done);
    CHECK(has_seen(&f, 1) && !has_seen(&f, 19));
    /* The fresh records (NOW - 1000) expire at NOW - 1000 + RETENTION + 1;
     * the next pass starts there, at the first id, and wraps round. */
    int64_t later = NOW - 1000 + RETENTION + 1;
    rep = sweep(&f, &p, later);
    CHECK_EQ_INT(rep.examined, 4);   /* 0, 1, 4, 8 */
    CHECK_EQ_INT(rep.pruned, 4);
    CHECK(!has_seen(&f, 0) && !has_seen(&f, 1));
    fx_close(&f);
}

static void test_idle_after_a_pass(void)
{
    fixture f;
    CHECK(fx_open(&f, "seen-prune"));
    if (f.s == NULL)
        return;
    put_seen(&f, 0, NOW - 5000);
    put_seen(&f, 1, NOW - 2000);
    seen_prune p;
    CHECK(open_prune(&f, &p, RETENTION, SKEW, 16));
    seen_prune_report rep = sweep(&f, &p, NOW);
    CHECK_EQ_INT(rep.examined, 2);
    CHECK_EQ_INT(rep.pruned, 0);
    CHECK(rep.pass_done);
    /* Nothing can expire before the oldest kept one does: no scan at all. */
    rep = sweep(&f, &p, NOW + 1000);
    CHECK_EQ_INT(rep.examined, 0);
    rep = sweep(&f, &p, NOW - 5000 + RETENTION);
    CHECK_EQ_INT(rep.examined, 0);
    rep = sweep(&f, &p, NOW - 5000 + RETENTION + 1);
    CHECK_EQ_INT(rep.examined, 2);
    CHECK_EQ_INT(rep.pruned, 1);
    CHECK(!has_seen(&f, 0) && has_seen(&f, 1));
    fx_close(&f);
}

/* ---------------------------------------------------------------- the floor */

static void test_nothing_written_when_nothing_expired(void)
{
    fixture f;
    CHECK(fx_open(&f, "seen-prune"));
    if (f.s == NULL)
        return;
    put_seen(&f, 0, NOW - RETENTION);
    seen_prune p;
    CHECK(open_prune(&f, &p, RETENTION, SKEW, 16));
    seen_prune_report rep = sweep(&f, &p, NOW);
    CHECK_EQ_INT(rep.pruned, 0);
    CHECK(!meta_present(&f, "seen_floor_ms"));
    CHECK(p.floor_ms == INT64_MIN);
    CHECK(has_seen(&f, 0));
    fx_close(&f);
}

static void test_floor_is_kept_and_stays_behind_the_clock(void)
{
    fixture f;
    CHECK(fx_open(&f, "seen-prune"));
    if (f.s == NULL)
        return;
    int64_t newest = NOW - RETENTION - 1;
    put_seen(&f, 0, newest - 50000);
    put_seen(&f, 1, newest);
    put_seen(&f, 2, NOW);
    seen_prune p;
    CHECK(open_prune(&f, &p, RETENTION, SKEW, 16));
    seen_prune_report rep = sweep(&f, &p, NOW);
    CHECK_EQ_INT(rep.pruned, 2);
    /* Every pruned message was created at most SKEW after its time_ms. */
    CHECK_EQ_INT(seen_prune_floor(&p), newest + SKEW + 1);
    /* With the least retention, an envelope within the skew of the clock,
     * even 60 s stepped back, is never below the floor. */
    CHECK(seen_prune_floor(&p) <= NOW - SEEN_PRUNE_MARGIN_MS - SKEW);
    CHECK(fx_reopen(&f));
    CHECK(open_prune(&f, &p, RETENTION, SKEW, 16));
    CHECK_EQ_INT(seen_prune_floor(&p), newest + SKEW + 1);
    /* A later prune of an older record never lowers it. */
    put_seen(&f, 3, newest - 90000);
    rep = sweep(&f, &p, NOW);
    CHECK_EQ_INT(rep.pruned, 1);
    CHECK_EQ_INT(seen_prune_floor(&p), newest + SKEW + 1);
    fx_close(&f);
}

/* The largest skew the store ever served with sets the floor, so a message
 * accepted under it (created up to that much after time_ms) is below it. */
static void test_floor_uses_the_largest_skew(void)
{
    fixture f;
    CHECK(fx_open(&f, "seen-prune"));
    if (f.s == NULL)
        return;
    seen_prune p;
    int64_t big = 3600 * 1000LL, retention = big + SKEW + SEEN_PRUNE_MARGIN_MS;
    CHECK(open_prune(&f, &p, 2 * big + SEEN_PRUNE_MARGIN_MS, big, 16));
    put_seen(&f, 0, NOW - retention - 1);
    CHECK(open_prune(&f, &p, retention, SKEW, 16));
    seen_prune_report rep = sweep(&f, &p, NOW);
    CHECK_EQ_INT(rep.pruned, 1);
    CHECK_EQ_INT(seen_prune_floor(&p), NOW - retention - 1 + big + 1);
    CHECK(seen_prune_floor(&p) <= NOW - SEEN_PRUNE_MARGIN_MS - SKEW);
    fx_close(&f);
}

/* A value that does not decode has no time to judge by: kept, and the
 * sweep goes on past it. */
static void test_damaged_record_is_left_alone(void)
{
    fixture f;
    CHECK(fx_open(&f, "seen-prune"));
    if (f.s == NULL)
        return;
    put_seen(&f, 0, NOW - RETENTION - 1);
    put_seen(&f, 2, NOW - RETENTION - 1);
    broker_store_close(f.s);
    f.s = NULL;
    MDB_env *env = NULL;
    MDB_txn *txn = NULL;
    MDB_dbi dbi;
    fp_error err = {0};
    uint8_t id[16];
    make_id(id, 1);
    MDB_val key = store_val(id, 16), val = store_val("\xff\xff\xff", 3);
    CHECK_EQ_INT(store_env_open(&env, f.path, BSF_MAP_SIZE, 32, 0, &err), FP_OK);
    CHECK_EQ_INT(mdb_txn_begin(env, NULL, 0, &txn), 0);
    CHECK_EQ_INT(store_dbi_open(txn, "seen", 0, &dbi, &err), FP_OK);
    CHECK_EQ_INT(mdb_put(txn, dbi, &key, &val, 0), 0);
    CHECK_EQ_INT(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
    CHECK(fx_reopen(&f));
    seen_prune p;
    CHECK(open_prune(&f, &p, RETENTION, SKEW, 16));
    seen_prune_report rep = sweep(&f, &p, NOW);
    CHECK_EQ_INT(rep.examined, 3);
    CHECK_EQ_INT(rep.pruned, 2);
    CHECK(!has_seen(&f, 0) && !has_seen(&f, 2));
    MDB_txn *rtxn = NULL;
    Flagpost__SeenRecord *rec = NULL;
    CHECK_EQ_INT(broker_store_begin(f.s, false, &rtxn, NULL), FP_OK);
    CHECK_EQ_INT(broker_store_seen_get(f.s, rtxn, id, &rec, NULL), FP_ERR_IO);   /* still there */
    broker_store_abort(rtxn);
    fx_close(&f);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    RUN(test_retention_rule);
    RUN(test_open_keeps_the_largest_skew);
    RUN(test_expiry_boundary);
    RUN(test_chunk_bound_and_resume);
    RUN(test_resume_after_a_kept_id);
    RUN(test_resume_and_wrap_round);
    RUN(test_idle_after_a_pass);
    RUN(test_nothing_written_when_nothing_expired);
    RUN(test_floor_is_kept_and_stays_behind_the_clock);
    RUN(test_floor_uses_the_largest_skew);
    RUN(test_damaged_record_is_left_alone);
    return check_summary();
}
