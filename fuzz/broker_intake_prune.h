/*
 * broker_intake_prune.h: the replay table's pruning under
 * fuzz_broker_intake (seen_prune.h says why pruning is safe; the PRUNE
 * record at the top of fuzz_broker_intake.c says how an input drives it).
 * Between batches, as the loop's housekeeping does, an input moves the
 * broker's clock (either way: real clocks step back), restarts the sweep
 * with another --skew, --seen-retention and chunk (within the options'
 * ranges; or a retention the rule forbids, to see it refused) and runs
 * sweep steps.  Meanwhile a shadow of every message the broker remembered
 * (its id, the hash of its signed envelope, its created_ms and the
 * broker's clock then) holds the sweep and verify.c to what seen_prune.h
 * promises:
 *   - a message is remembered once: an exact replay of a signed envelope
 *     the broker remembered is never taken as new, however long after;
 *   - nothing created before the floor is remembered (refused as
 *     clock-skew);
 *   - a remembered id gone from the table was created before the floor,
 *     so a replay of it is refused by the floor;
 *   - a sweep deletes only records older than the retention at its clock,
 *     each (time + the largest skew ever used) below the floor it leaves,
 *     and exactly as many as it reports; after an error, none;
 *   - the floor never moves backwards, and a restart reads back the floor
 *     and the largest skew the store was served with;
 *   - a retention the rule forbids is refused and changes nothing.
 * A broken promise aborts, so libFuzzer reports it.  The shadow belongs to
 * one input's run (no global state beyond the fixture); it follows the
 * first FBP_MAX messages an input has the broker remember (more than the
 * inputs seen so far reach) and leaves later ones unchecked.  Header-only,
 * like the fixture.
 */
#ifndef FLAGPOST_FUZZ_BROKER_INTAKE_PRUNE_H
#define FLAGPOST_FUZZ_BROKER_INTAKE_PRUNE_H

#include "broker_intake_fixture.h"
#include "envelope.h"
#include "sha256.h"

#define FBP_MAX 256        /* messages followed per input */
#define FBP_PENDING 16     /* remembered in the batch being staged, at most */
#define FBP_SAVED 8        /* frames kept for exact replays */
#define FBP_STEP_MS 30000  /* the clock moves when * 30 s per PRUNE record */

/* PRUNE record fix bits (fuzz_broker_intake.c). */
#define FBP_FIX_RESTART 0x01
#define FBP_FIX_ILLEGAL 0x02
#define FBP_FIX_RESEND 0x08

typedef struct fbp_entry {
    uint8_t id[16];
    unsigned char hash[32];   /* SHA-256 of the signed envelope's bytes */
    int64_t created_ms, time_ms;
    bool was_present;         /* before the current sweep */
    int64_t table_time_ms;    /* its id's record's time then */
} fbp_entry;

typedef struct fbp_frame {
    size_t agency, len;
    uint8_t *bytes;
} fbp_frame;

typedef struct fbp_shadow {
    fbp_entry e[FBP_MAX];
    size_t n;
    fbp_entry cur;            /* the message being staged */
    bool cur_active, cur_absent;
    fbp_entry pending[FBP_PENDING];
    fbp_frame pending_frame[FBP_PENDING];
    size_t n_pending;
    fbp_frame saved[FBP_SAVED];   /* the latest remembered, oldest first */
    size_t n_saved;
} fbp_shadow;

static void fbp_fail(const char *what)
{
    fprintf(stderr, "fuzz_broker_intake: seen pruning: %s\n", what);
    abort();
}

/* ---------------------------------------------------------------- table */

static bool fbp_lookup(MDB_txn *txn, const uint8_t id[16], int64_t *time_ms)
{
    Flagpost__SeenRecord *rec = NULL;
    if (broker_store_seen_get(fbi.b.store, txn, id, &rec, NULL) != FP_OK)
        return false;
    if (time_ms != NULL)
        *time_ms = rec->time_ms;
    flagpost__seen_record__free_unpacked(rec, NULL);
    return true;
}

static void fbp_ignore(void *ctx, const uint8_t id[16], int64_t time_ms, bool damaged)
{
    (void)ctx;
    (void)id;
    (void)time_ms;
    (void)damaged;
}

/* A read transaction on the store, and how many records the table holds. */
static MDB_txn *fbp_read(size_t *records)
{
    MDB_txn *txn = NULL;
    bool end = false;
    if (broker_store_begin(fbi.b.store, false, &txn, NULL) != FP_OK ||
        broker_store_seen_scan(fbi.b.store, txn, NULL, SIZE_MAX, fbp_ignore, NULL, records,
                               &end, NULL) != FP_OK)
        fbp_fail("cannot read the replay table");
    return txn;
}

/* How many records the table holds; each entry's presence, noted. */
static size_t fbp_survey(fbp_shadow *sh)
{
    size_t n = 0;
    MDB_txn *txn = fbp_read(&n);
    for (size_t i = 0; i < sh->n; i++)
        sh->e[i].was_present = fbp_lookup(txn, sh->e[i].id, &sh->e[i].table_time_ms);
    broker_store_abort(txn);
    return n;
}

/* ---------------------------------------------------------------- intake */

/* Fresh for each input, with a fresh store: the default --skew and the
 * shortest retention it allows, so a few PRUNE records reach expiry. */
static void fbp_open(fbp_shadow *sh)
{
    memset(sh, 0, sizeof *sh);
    fbi.b.cfg.skew_ms = ENVELOPE_DEFAULT_SKEW_MS;
    fp_error err = {0};
    if (seen_prune_open(&fbi.b.pruning, fbi.b.store, 2 * fbi.b.cfg.skew_ms + SEEN_PRUNE_MARGIN_MS,
                        fbi.b.cfg.skew_ms, SEEN_PRUNE_CHUNK, &err) != FP_OK)
        fbi_die("seen_prune_open on a fresh store", &err);
}

static void fbp_free(fbp_shadow *sh)
{
    for (size_t i = 0; i < sh->n_pending; i++)
        free(sh->pending_frame[i].bytes);
    for (size_t i = 0; i < sh->n_saved; i++)
        free(sh->saved[i].bytes);
    sh->n_pending = sh->n_saved = 0;
}

/* Before an intake message is staged (inside the batch's transaction):
 * what it is, and whether its id is new to the table. */
static void fbp_before_one(fbp_shadow *sh, MDB_txn *txn, const Flagpost__SignedEnvelope *se)
{
    Flagpost__Envelope *env = NULL;
    sh->cur_active = false;
    if (se == NULL || envelope_decode(se, &env, NULL) != FP_OK)
        return;
    if (env->message_id.len == 16) {
        memcpy(sh->cur.id, env->message_id.data, 16);
        sha256_digest(sh->cur.hash, se->envelope.data, se->envelope.len);
        sh->cur.created_ms = env->created_ms;
        sh->cur_absent = !fbp_lookup(txn, sh->cur.id, NULL);
        sh->cur_active = true;
    }
    flagpost__envelope__free_unpacked(env, NULL);
}

/* After it was staged: a record that appeared is this message's. */
static void fbp_after_one(fbp_shadow *sh, MDB_txn *txn, size_t agency, const uint8_t *frame,
                          size_t len)
{
    if (!sh->cur_active || !sh->cur_absent || sh->n_pending == FBP_PENDING ||
        !fbp_lookup(txn, sh->cur.id, &sh->cur.time_ms))
        return;
    fbp_frame *f = &sh->pending_frame[sh->n_pending];
    f->bytes = malloc(len ? len : 1);
    if (f->bytes == NULL)
        fbi_die("out of memory", NULL);
    memcpy(f->bytes, frame, len);
    f->len = len;
    f->agency = agency;
    sh->pending[sh->n_pending++] = sh->cur;
}

static void fbp_save(fbp_shadow *sh, fbp_frame f)
{
    if (sh->n_saved == FBP_SAVED) {
        free(sh->saved[0].bytes);
        memmove(sh->saved, sh->saved + 1, (FBP_SAVED - 1) * sizeof sh->saved[0]);
        sh->n_saved--;
    }
    sh->saved[sh->n_saved++] = f;
}

static bool fbp_known(const fbp_shadow *sh, const unsigned char hash[32])
{
    for (size_t i = 0; i < sh->n; i++)
        if (memcmp(sh->e[i].hash, hash, 32) == 0)
            return true;
    return false;
}

/* The batch committed: what it remembered is held to the floor and must
 * be new; the batch did not commit: it remembered nothing. */
static void fbp_end_batch(fbp_shadow *sh, bool committed)
{
    for (size_t i = 0; i < sh->n_pending; i++) {
        const fbp_entry *e = &sh->pending[i];
        if (!committed) {
            free(sh->pending_frame[i].bytes);
            continue;
        }
        if (e->created_ms < seen_prune_floor(&fbi.b.pruning))
            fbp_fail("remembered a message created before the floor (verify.c's check_floor)");
        if (fbp_known(sh, e->hash))
            fbp_fail("a replay of a message the broker remembered was taken as new");
        if (sh->n < FBP_MAX)
            sh->e[sh->n++] = *e;
        fbp_save(sh, sh->pending_frame[i]);
    }
    sh->n_pending = 0;
}

/* ---------------------------------------------------------------- sweeps */

/* After a sweep at now that left n1 records (txn reads the table then);
 * before it the floor was floor0 and the table held n0. */
static void fbp_check_sweep(const fbp_shadow *sh, MDB_txn *txn, int64_t now, int64_t floor0,
                            size_t n0, size_t n1, int rc, const seen_prune_report *rep)
{
    const seen_prune *p = &fbi.b.pruning;
    if (p->floor_ms < floor0)
        fbp_fail("the floor moved backwards");
    if (rc != FP_OK ? n1 != n0 || p->floor_ms != floor0 : n1 > n0 || n0 - n1 != rep->pruned)
        fbp_fail("a sweep deleted other than it reported (or anything, failing)");
    for (size_t i = 0; i < sh->n; i++) {
        const fbp_entry *e = &sh->e[i];
        if (fbp_lookup(txn, e->id, NULL))
            continue;
        if (e->created_ms >= p->floor_ms)
            fbp_fail("a remembered id is gone but its message is not below the floor: "
                     "a replay of it would be taken as new");
        if (e->was_present && e->table_time_ms >= now - p->retention_ms)
            fbp_fail("a sweep deleted a record inside the retention");
        if (e->was_present && e->table_time_ms + p->skew_max_ms >= p->floor_ms)
            fbp_fail("a sweep deleted a record whose messages are not all below the floor");
    }
}

static void fbp_sweep(fbp_shadow *sh, int64_t now)
{
    int64_t floor0 = fbi.b.pruning.floor_ms;
    size_t n0 = fbp_survey(sh), n1 = 0;
    seen_prune_report rep;
    fp_error err = {0};
    int rc = seen_prune_sweep(&fbi.b.pruning, fbi.b.store, now, &rep, &err);
    if (rc != FP_OK && rc != FP_ERR_FULL)   /* the small store may be full */
        fbi_die("seen_prune_sweep", &err);
    MDB_txn *txn = fbp_read(&n1);
    fbp_check_sweep(sh, txn, now, floor0, n0, n1, rc, &rep);
    broker_store_abort(txn);
}

static uint8_t fbp_byte(const uint8_t *p, size_t len, size_t i, uint8_t dflt)
{
    return i < len ? p[i] : dflt;
}

/* A restart with other options: payload [skew / 10 s (0: 1 s), retention
 * beyond the least allowed in minutes (or, ILLEGAL, below it in seconds),
 * chunk (0: SEEN_PRUNE_CHUNK)]; missing bytes are the defaults. */
static void fbp_restart(const uint8_t *p, size_t len, bool illegal)
{
    seen_prune *cur = &fbi.b.pruning;
    uint8_t s = fbp_byte(p, len, 0, 30), r = fbp_byte(p, len, 1, 0), c = fbp_byte(p, len, 2, 0);
    int64_t skew = s ? (int64_t)s * 10000 : 1000;
    int64_t least = (cur->skew_max_ms > skew ? cur->skew_max_ms : skew) + skew +
                    SEEN_PRUNE_MARGIN_MS;
    int64_t retention = illegal ? least - 1000 - (int64_t)r * 1000 : least + (int64_t)r * 60000;
    if (retention < 1000)
        retention = 1000;   /* --seen-retention is at least 1 s */
    seen_prune next;
    fp_error err = {0};
    int rc = seen_prune_open(&next, fbi.b.store, retention, skew, c ? c : SEEN_PRUNE_CHUNK, &err);
    if (illegal) {
        if (rc != FP_ERR_INPUT)
            fbp_fail("a --seen-retention below the rule was accepted");
        return;
    }
    if (rc == FP_ERR_FULL)
        return;   /* could not record the new skew: that broker would not start */
    if (rc != FP_OK)
        fbi_die("seen_prune_open", &err);
    if (next.floor_ms != cur->floor_ms)
        fbp_fail("the floor did not survive a restart");
    if (next.skew_max_ms != (cur->skew_max_ms > skew ? cur->skew_max_ms : skew))
        fbp_fail("the largest skew used did not survive a restart");
    *cur = next;
    fbi.b.cfg.skew_ms = skew;
}

/* One PRUNE record, the batch before it committed: perhaps a restart,
 * then the clock moves, then 1 + fix / 16 sweep steps. */
static void fbp_step(fbp_shadow *sh, int64_t *now, uint8_t fix, int8_t when, const uint8_t *p,
                     size_t len)
{
    if (fix & FBP_FIX_RESTART)
        fbp_restart(p, len, (fix & FBP_FIX_ILLEGAL) != 0);
    *now += (int64_t)when * FBP_STEP_MS;
    for (int i = 0; i <= fix >> 4; i++)
        fbp_sweep(sh, *now);
}

#endif
