/*
 * bench/audit_verify: how fast `flagpost audit verify` checks a log.
 *
 * Builds a temporary LMDB audit store of realistic disclosure entries
 * (three pseudonyms, policy and payload hashes, ids, field names: about
 * 350 bytes each, like the broker's) with a signed checkpoint every 10,000
 * entries, through the same audit_log_append_entry() the broker uses, then
 * times audit_verify_run() over it several times and prints the median:
 *
 *     audit_verify_entries_per_s <value>
 *
 * Usage: audit_verify [ENTRIES [REPEATS [THREADS [KEEP_DIR]]]]
 * (default 1000000 entries, 5 runs, a thread per CPU, a temporary directory)
 * Also prints the append rate seen while building, for information.
 */
#include <lmdb.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "audit_log.h"
#include "audit_verify.h"
#include "bench_time.h"
#include "checkpoint.h"
#include "flagpost.pb-c.h"
#include "store.h"

#define BATCH 10000

/* CPU seconds used by the process so far, all threads. */
static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

struct sample {
    unsigned char pseudo[3][32], policy[32], payload[32], msgid[16], flagid[16];
    Flagpost__Pseudonym ps[3];
    Flagpost__Pseudonym *pp[3];
    char *fields[3];
    char sender[16], recipient[16], category[16], purpose[24], basis[32], consent[16],
        risk[8], decision[8], rule[24], role[8], stage[8], f1[16], f2[16], f3[16];
};

/* splitmix64: distinct, cheap filler bytes (the OS random source would
 * dominate the build time and says nothing about verification). */
static void filler(uint64_t *state, unsigned char *out, size_t len)
{
    for (size_t i = 0; i < len; i += 8) {
        uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        z ^= z >> 31;
        memcpy(out + i, &z, len - i < 8 ? len - i : 8);
    }
}

static void fill(struct sample *s, Flagpost__AuditEntry *e, uint64_t i)
{
    uint64_t st = i;
    flagpost__audit_entry__init(e);
    filler(&st, &s->pseudo[0][0], sizeof s->pseudo);
    filler(&st, s->payload, sizeof s->payload);
    filler(&st, s->msgid, sizeof s->msgid);
    filler(&st, s->flagid, sizeof s->flagid);
    for (int k = 0; k < 3; k++) {
        flagpost__pseudonym__init(&s->ps[k]);
        s->ps[k].kind = (Flagpost__PseudonymKind)(k + 1);
        s->ps[k].value.data = s->pseudo[k];
        s->ps[k].value.len = 32;
        s->pp[k] = &s->ps[k];
    }
    snprintf(s->sender, sizeof s->sender, "police-%llu", (unsigned long long)(i % 3));
    snprintf(s->recipient, sizeof s->recipient, "health-%llu", (unsigned long long)(i % 4));
    snprintf(s->category, sizeof s->category, "da_victim");
    snprintf(s->purpose, sizeof s->purpose, "safeguarding");
    snprintf(s->basis, sizeof s->basis, "uk_gdpr_6_1_e_public_task");
    snprintf(s->consent, sizeof s->consent, "not_sought");
    snprintf(s->risk, sizeof s->risk, "high");
    snprintf(s->decision, sizeof s->decision, "allowed");
    snprintf(s->rule, sizeof s->rule, "police-to-health-dv");
    snprintf(s->role, sizeof s->role, "victim");
    snprintf(s->stage, sizeof s->stage, "broker");
    snprintf(s->f1, sizeof s->f1, "safe_contact");
    snprintf(s->f2, sizeof s->f2, "risk_summary");
    snprintf(s->f3, sizeof s->f3, "officer_phone");
    s->fields[0] = s->f1;
    s->fields[1] = s->f2;
    s->fields[2] = s->f3;
    e->time_ms = 1718000000000 + (int64_t)i * 37;
    e->event = FLAGPOST__AUDIT_EVENT__AUDIT_DISCLOSURE;
    e->sender = s->sender;
    e->recipient = s->recipient;
    e->n_subject = 3;
    e->subject = s->pp;
    e->subject_role = s->role;
    e->category = s->category;
    e->purpose = s->purpose;
    e->lawful_basis = s->basis;
    e->consent = s->consent;
    e->risk = s->risk;
    e->decision = s->decision;
    e->rule_id = s->rule;
    e->policy_hash.data = s->policy;
    e->policy_hash.len = 32;
    e->payload_hash.data = s->payload;
    e->payload_hash.len = 32;
    e->message_id.data = s->msgid;
    e->message_id.len = 16;
    e->flag_id.data = s->flagid;
    e->flag_id.len = 16;
    e->version = 1;
    e->stage = s->stage;
    e->n_fields = 3;
    e->fields = s->fields;
}

static int checkpoint(audit_log *log, MDB_txn *txn, uint64_t size, const unsigned char sk[64])
{
    checkpoint_info cp;
    memset(&cp, 0, sizeof cp);
    cp.tree_size = size;
    cp.time_ms = 1718000000000 + (int64_t)size;
    snprintf(cp.broker_id, sizeof cp.broker_id, "broker");
    uint8_t *buf;
    size_t len;
    fp_error err;
    if (audit_log_root(log, txn, size, cp.root, &err) != FP_OK ||
        checkpoint_sign(&cp, sk, &buf, &len, &err) != FP_OK)
        return -1;
    int rc = audit_log_put_checkpoint(log, txn, size, buf, len, &err);
    free(buf);
    return rc;
}

static int build(MDB_env *env, audit_log *log, uint64_t n, const unsigned char sk[64],
                 size_t *entry_len)
{
    struct sample s;
    memset(&s, 0, sizeof s);
    randombytes_buf(s.policy, sizeof s.policy);
    double t0 = bench_now_s();
    for (uint64_t done = 0; done < n;) {
        MDB_txn *txn;
        if (mdb_txn_begin(env, NULL, 0, &txn) != 0)
            return -1;
        for (int k = 0; k < BATCH && done < n; k++, done++) {
            Flagpost__AuditEntry e;
            fill(&s, &e, done);
            fp_error err;
            if (audit_log_append_entry(log, txn, &e, NULL, &err) != FP_OK) {
                fprintf(stderr, "audit_verify: %s\n", err.message);
                mdb_txn_abort(txn);
                return -1;
            }
            *entry_len = flagpost__audit_entry__get_packed_size(&e);
        }
        if (checkpoint(log, txn, done, sk) != FP_OK || mdb_txn_commit(txn) != 0)
            return -1;
    }
    double t = bench_now_s() - t0;
    printf("# built %llu entries of %zu bytes in %.2f s (%.0f appends/s, %d per commit)\n",
           (unsigned long long)n, *entry_len, t, (double)n / t, BATCH);
    return 0;
}

int main(int argc, char **argv)
{
    uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000;
    int repeats = argc > 2 ? atoi(argv[2]) : 5;
    unsigned threads = argc > 3 ? (unsigned)atoi(argv[3]) : 0;
    if (n == 0 || repeats < 1 || repeats > 100 || sodium_init() < 0) {
        fprintf(stderr, "usage: audit_verify [ENTRIES [REPEATS]]\n");
        return 2;
    }
    /* KEEP_DIR (optional, for looking at the store afterwards, e.g. with
     * `flagpost audit verify --data KEEP_DIR`): build there and keep it. */
    const char *keep = argc > 4 ? argv[4] : NULL;
    char tmp[] = "/tmp/fp-bench-audit.XXXXXX";
    const char *dir = keep != NULL ? keep : mkdtemp(tmp);
    if (dir == NULL)
        return 1;
    MDB_env *env;
    audit_log *log;
    fp_error err;
    unsigned char pk[32], sk[64];
    crypto_sign_keypair(pk, sk);
    size_t entry_len = 0;
    int rc = 1;
    if (store_env_open(&env, dir, (size_t)4 << 30, 32, 0, &err) != FP_OK) {
        fprintf(stderr, "audit_verify: %s\n", err.message);
        return 1;
    }
    if (audit_log_open(&log, env, &err) == FP_OK && build(env, log, n, sk, &entry_len) == 0) {
        double times[100];
        unsigned char keys[1][32];
        memcpy(keys[0], pk, 32);
        audit_verify_options opt = {0};
        opt.keys = (const unsigned char(*)[32])keys;
        opt.nkeys = 1;
        opt.threads = threads;
        rc = 0;
        for (int r = 0; r < repeats && rc == 0; r++) {
            audit_verify_result res;
            double t0 = bench_now_s(), c0 = cpu_s();
            if (audit_verify_run(env, log, &opt, &res, &err) != FP_OK) {
                fprintf(stderr, "audit_verify: %s\n", err.message);
                rc = 1;
            }
            times[r] = bench_now_s() - t0;
            printf("# run %d: %.3f s (%.3f s of CPU), %llu entries, %llu nodes, %llu "
                   "checkpoints\n",
                   r + 1, times[r], cpu_s() - c0, (unsigned long long)res.entries_checked,
                   (unsigned long long)res.nodes_checked,
                   (unsigned long long)res.checkpoints_checked);
        }
        if (rc == 0) {
            printf("# SHA-256 from %s; %ld CPUs online\n", merkle_sha256_backend(),
                   sysconf(_SC_NPROCESSORS_ONLN));
            qsort(times, (size_t)repeats, sizeof times[0], bench_cmp_double);
            printf("audit_verify_entries_per_s %.0f\n", (double)n / times[repeats / 2]);
        }
        audit_log_close(log);
    }
    mdb_env_close(env);
    if (keep == NULL) {
        char path[64];
        snprintf(path, sizeof path, "%s/data.mdb", dir);
        unlink(path);
        snprintf(path, sizeof path, "%s/lock.mdb", dir);
        unlink(path);
        rmdir(dir);
    }
    return rc;
}
