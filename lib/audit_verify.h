/*
 * audit_verify: whole-log verification of the broker's audit trail.
 *
 * Recomputes every leaf hash from the stored entries and every subtree hash
 * from those, compares each with the hash stored when the entry was written
 * (every node in audit_nodes), checks that each entry records its own
 * position, checks every stored checkpoint's signature with the broker's
 * key(s) and that its root is the root recomputed from the entries, and
 * reports the first thing that does not match in log order with a
 * sentence naming the entry (or range of entries, or checkpoint).
 *
 * Reads only, so it runs beside a live broker: the tree size and the
 * checkpoints come from one LMDB snapshot, and the entries and hashes
 * below that size, which never change once written, from any snapshot as
 * new or newer.  Work is split into aligned chunks of 4096 entries hashed
 * by worker threads, each with its own read transaction; the calling
 * thread folds chunk roots and checks checkpoints in order.
 */
#ifndef FLAGPOST_AUDIT_VERIFY_H
#define FLAGPOST_AUDIT_VERIFY_H

#include <lmdb.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "audit_log.h"
#include "checkpoint.h"
#include "fp_error.h"

#define AUDIT_VERIFY_NONE UINT64_MAX

/* Called on the calling thread after each chunk: entries checked so far. */
typedef void (*audit_verify_progress_fn)(void *ctx, uint64_t done, uint64_t total);

typedef struct audit_verify_options {
    /* The broker's Ed25519 public keys (several during a key rotation).
     * With none, checkpoints are counted but not checked. */
    const unsigned char (*keys)[32];
    size_t nkeys;
    unsigned threads;                   /* 0: one per online CPU, at most 8 */
    audit_verify_progress_fn progress;  /* may be NULL */
    void *progress_ctx;
} audit_verify_options;

typedef struct audit_verify_result {
    bool ok;
    uint64_t tree_size;                 /* entries in the log */
    uint64_t entries_checked;
    uint64_t nodes_checked;
    uint64_t checkpoints;               /* stored */
    uint64_t checkpoints_checked;       /* signature and root verified */
    unsigned char root[32];             /* recomputed root of the whole log */
    bool have_checkpoint;
    checkpoint_info latest;             /* the largest verified checkpoint */
    /* On failure: the first entry that does not match (the start of the
     * range for a tree or checkpoint mismatch), or AUDIT_VERIFY_NONE when
     * the problem is not in an entry (a checkpoint was replaced). */
    uint64_t first_bad;
    char problem[512];
} audit_verify_result;

/* FP_OK when everything verifies; FP_ERR_CRYPTO when something does not
 * (res->problem and err say what, res->first_bad where); another code when
 * verification could not run (err says why). */
int audit_verify_run(MDB_env *env, audit_log *log, const audit_verify_options *opt,
                     audit_verify_result *res, fp_error *err);

#endif
