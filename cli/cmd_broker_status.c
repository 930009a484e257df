/*
 * cmd_broker_status: `flagpost broker-status --data DIR [--ca DIR] [--json]`.
 *
 * What an operator asks of a running broker: how much is waiting for each
 * agency, how large the audit trail is and when it was last checkpointed,
 * and which agreement is in force.  It reads the broker's LMDB store in
 * one read transaction (a consistent snapshot; LMDB lets readers run
 * beside the broker's writer without blocking it) and never writes.
 *
 * A checkpoint is believed only through its signature, so without --ca the
 * last checkpoint is reported by its tree size alone; with the partnership
 * bundle its root and time are shown, verified against the broker's
 * certified key.
 */
#include <getopt.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit_cli.h"
#include "broker_store.h"
#include "checkpoint.h"
#include "cli_output.h"
#include "commands.h"
#include "timefmt.h"

#define STATUS_MAX_AGENCIES 4096

static void usage(FILE *out)
{
    fputs("usage: flagpost broker-status --data DIR [--ca DIR] [--json]\n"
          "\n"
          "Show a broker's state from its data directory, while it runs: the backlog\n"
          "queued for each agency, the audit trail's size and last signed checkpoint,\n"
          "and the hash of the agreement in force.  Reads only; run it as the broker's\n"
          "user (LMDB readers need write access to lock.mdb).\n"
          "\n"
          "  --data DIR   the broker's data directory (its --data setting)\n"
          "  --ca DIR     the partnership CA bundle: verify the last checkpoint's\n"
          "               signature and show its root and time\n"
          "  --json       one JSON object instead of the table\n"
          "  --help       this text\n",
          out);
}

typedef struct backlog {
    char agency[64];
    uint64_t depth;
} backlog;

typedef struct status {
    backlog *queues;
    size_t nqueues;
    uint64_t total;
    bool has_policy;
    char policy_hex[65];
    uint64_t audit_size;
    bool has_checkpoint;
    uint64_t cp_size;
    bool cp_verified;
    checkpoint_info cp;
} status;

static int add_depth(void *ctx, const char *agency, uint64_t depth)
{
    status *st = ctx;
    if (st->nqueues == STATUS_MAX_AGENCIES)
        return 1;
    backlog *b = &st->queues[st->nqueues++];
    snprintf(b->agency, sizeof b->agency, "%s", agency);
    b->depth = depth;
    st->total += depth;
    return 0;
}

static int verify_checkpoint(const uint8_t *bytes, size_t len, const char *ca_dir, status *st,
                             fp_error *err)
{
    unsigned char(*keys)[32] = NULL;
    size_t nkeys = 0;
    int rc = audit_cli_broker_keys(ca_dir, &keys, &nkeys, err);
    if (rc != FP_OK)
        return rc;
    rc = checkpoint_verify_any(bytes, len, (const unsigned char(*)[32])keys, nkeys, &st->cp,
                               NULL, err);
    free(keys);
    if (rc != FP_OK)
        return fp_error_wrap(err, "the last checkpoint (tree size %llu)",
                             (unsigned long long)st->cp_size);
    st->cp_verified = true;
    return FP_OK;
}

static int gather(broker_store *s, const char *ca_dir, status *st, fp_error *err)
{
    MDB_txn *txn;
    int rc = broker_store_begin(s, false, &txn, err);
    if (rc != FP_OK)
        return rc;
    broker_store_queue_depths(s, txn, add_depth, st);
    uint8_t hash[64];
    size_t hlen = sizeof hash;
    if (broker_store_meta_get(s, txn, "policy_hash", hash, &hlen) == FP_OK && hlen == 32) {
        sodium_bin2hex(st->policy_hex, sizeof st->policy_hex, hash, 32);
        st->has_policy = true;
    }
    audit_log *log = broker_store_audit(s);
    rc = audit_log_size(log, txn, &st->audit_size);
    const uint8_t *bytes = NULL;
    size_t len = 0;
    if (rc == FP_OK &&
        audit_log_latest_checkpoint(log, txn, &st->cp_size, &bytes, &len, NULL) == FP_OK) {
        st->has_checkpoint = true;
        if (ca_dir != NULL)
            rc = verify_checkpoint(bytes, len, ca_dir, st, err);
    }
    mdb_txn_abort(txn);
    return rc;
}

/* ---------------------------------------------------------------- output */

static void print_table(const char *dir, const status *st)
{
    printf("broker data     %s\n", dir);
    printf("policy hash     %s\n", st->has_policy ? st->policy_hex : "(none recorded yet)");
    printf("audit trail     %llu entries\n", (unsigned long long)st->audit_size);
    if (!st->has_checkpoint) {
        printf("last checkpoint (none yet)\n");
    } else if (st->cp_verified) {
        char root[65], when[TIMEFMT_ISO_LEN];
        checkpoint_root_hex(st->cp.root, root);
        timefmt_iso_ms(st->cp.time_ms, when);
        long long age = (long long)time(NULL) - st->cp.time_ms / 1000;
        printf("last checkpoint tree size %llu, signed %s (%lld s ago), signature verified\n"
               "                root %s\n",
               (unsigned long long)st->cp_size, when, age, root);
    } else {
        printf("last checkpoint tree size %llu (give --ca to verify it and see its time)\n",
               (unsigned long long)st->cp_size);
    }
    printf("\n%-40s %12s\n", "backlog for agency", "queued");
    for (size_t i = 0; i < st->nqueues; i++)
        printf("%-40s %12llu\n", st->queues[i].agency, (unsigned long long)st->queues[i].depth);
    printf("%-40s %12llu\n", "total", (unsigned long long)st->total);
}

static json_t *checkpoint_json(const status *st)
{
    if (!st->has_checkpoint)
        return json_null();
    json_t *o = json_pack("{s:I, s:b}", "tree_size", (json_int_t)st->cp_size, "verified",
                          st->cp_verified);
    if (st->cp_verified) {
        char root[65], when[TIMEFMT_ISO_LEN];
        checkpoint_root_hex(st->cp.root, root);
        timefmt_iso_ms(st->cp.time_ms, when);
        json_object_set_new(o, "root", json_string(root));
        json_object_set_new(o, "time", json_string(when));
        json_object_set_new(o, "broker", json_string(st->cp.broker_id));
    }
    return o;
}

static int print_json(const char *dir, const status *st)
{
    json_t *queues = json_object();
    for (size_t i = 0; i < st->nqueues; i++)
        json_object_set_new(queues, st->queues[i].agency,
                            json_integer((json_int_t)st->queues[i].depth));
    json_t *o = json_pack("{s:s, s:o, s:{s:I, s:o}, s:o, s:I}", "data", dir, "policy_hash",
                          st->has_policy ? json_string(st->policy_hex) : json_null(), "audit",
                          "entries", (json_int_t)st->audit_size, "last_checkpoint",
                          checkpoint_json(st), "backlog", queues, "backlog_total",
                          (json_int_t)st->total);
    int rc = cli_output_json(o, JSON_INDENT(2));
    json_decref(o);
    return rc;
}

/* ---------------------------------------------------------------- command */

int cmd_broker_status(int argc, char **argv)
{
    static const struct option opts[] = {{"data", required_argument, NULL, 'd'},
                                         {"ca", required_argument, NULL, 'c'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *dir = NULL, *ca = NULL;
    bool json = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': dir = optarg; break;
        case 'c': ca = optarg; break;
        case 'j': json = true; break;
        case 'h': usage(stdout); return CLI_OK;
        default: usage(stderr); return CLI_USAGE;
        }
    }
    if (dir == NULL || optind < argc) {
        fputs("flagpost: broker-status: give --data DIR (and nothing else; see --help)\n",
              stderr);
        return CLI_USAGE;
    }
    fp_error err;
    fp_error_clear(&err);
    status st;
    memset(&st, 0, sizeof st);
    st.queues = calloc(STATUS_MAX_AGENCIES, sizeof *st.queues);
    broker_store *s = NULL;
    int rc = st.queues == NULL ? fp_error_set(&err, FP_ERR_IO, "out of memory")
                               : broker_store_open_readonly(&s, dir, &err);
    if (rc == FP_OK)
        rc = gather(s, ca, &st, &err);
    broker_store_close(s);
    int out = CLI_OK;
    if (rc == FP_OK && json)
        out = print_json(dir, &st);
    else if (rc == FP_OK)
        print_table(dir, &st);
    free(st.queues);
    return rc == FP_OK ? out : cli_report("broker-status", &err);
}
