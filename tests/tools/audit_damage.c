/*
 * audit_damage: does to a broker's audit store what someone with the disk
 * could do, directly in LMDB (never through audit_log's API), so the tests
 * can show that `flagpost audit verify` notices.
 *
 *   audit_damage --data DIR --change-byte N     flip a bit in entry N
 *   audit_damage --data DIR --delete N          remove entry N
 *   audit_damage --data DIR --swap N            exchange entries N and N+1
 *   audit_damage --data DIR --truncate K        remove the last K entries
 *   audit_damage --data DIR --node L:I          alter the stored hash of a node
 *   audit_damage --data DIR --rebuild           recompute every stored hash from
 *                                               the entries as they now are
 *   audit_damage --data DIR --move-checkpoint S:T
 *                          store the checkpoint for size T as the one for S
 *   audit_damage --data DIR --forge-checkpoint S
 *                          replace the checkpoint for S with one signed by a
 *                          key the CA never certified
 * Options apply in the order given.
 */
#include <getopt.h>
#include <lmdb.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/audit_damage.h"
#include "audit_log.h"
#include "checkpoint.h"
#include "store.h"

static int forge(MDB_env *env, audit_log *log, uint64_t size)
{
    MDB_txn *txn;
    if (mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) != 0)
        return -1;
    checkpoint_info cp;
    memset(&cp, 0, sizeof cp);
    cp.tree_size = size;
    snprintf(cp.broker_id, sizeof cp.broker_id, "broker");
    int rc = audit_log_root(log, txn, size, cp.root, NULL);
    mdb_txn_abort(txn);
    if (rc != FP_OK)
        return -1;
    unsigned char pk[32], sk[64];
    crypto_sign_keypair(pk, sk);
    uint8_t *buf;
    size_t len;
    if (checkpoint_sign(&cp, sk, &buf, &len, NULL) != FP_OK)
        return -1;
    rc = damage_put_checkpoint(env, log, size, buf, len);
    free(buf);
    return rc;
}

static int move_checkpoint(MDB_env *env, audit_log *log, uint64_t to, uint64_t from)
{
    MDB_txn *txn;
    if (mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) != 0)
        return -1;
    const uint8_t *bytes;
    size_t len;
    int rc = audit_log_get_checkpoint(log, txn, from, &bytes, &len, NULL);
    uint8_t *copy = rc == FP_OK ? malloc(len + 1) : NULL;
    if (copy != NULL)
        memcpy(copy, bytes, len);
    mdb_txn_abort(txn);
    if (copy == NULL)
        return -1;
    rc = damage_put_checkpoint(env, log, to, copy, len);
    free(copy);
    return rc;
}

static int apply(MDB_env *env, audit_log *log, int opt, const char *arg)
{
    unsigned long long a = 0, b = 0;
    switch (opt) {
    case 'c': return damage_change_byte(env, log, strtoull(arg, NULL, 10), (size_t)-1);
    case 'x': return damage_delete_entry(env, log, strtoull(arg, NULL, 10));
    case 's':
        a = strtoull(arg, NULL, 10);
        return damage_swap(env, log, a, a + 1);
    case 't': return damage_truncate(env, log, strtoull(arg, NULL, 10));
    case 'n':
        if (sscanf(arg, "%llu:%llu", &a, &b) != 2)
            return -1;
        return damage_node(env, log, (int)a, b);
    case 'r': return damage_rebuild_tree(env, log);
    case 'm':
        if (sscanf(arg, "%llu:%llu", &a, &b) != 2)
            return -1;
        return move_checkpoint(env, log, a, b);
    case 'f': return forge(env, log, strtoull(arg, NULL, 10));
    default: return -1;
    }
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"data", required_argument, NULL, 'd'},
                                         {"change-byte", required_argument, NULL, 'c'},
                                         {"delete", required_argument, NULL, 'x'},
                                         {"swap", required_argument, NULL, 's'},
                                         {"truncate", required_argument, NULL, 't'},
                                         {"node", required_argument, NULL, 'n'},
                                         {"rebuild", no_argument, NULL, 'r'},
                                         {"move-checkpoint", required_argument, NULL, 'm'},
                                         {"forge-checkpoint", required_argument, NULL, 'f'},
                                         {NULL, 0, NULL, 0}};
    if (sodium_init() < 0)
        return 1;
    const char *data = NULL;
    int c;
    /* First pass: find --data. */
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1)
        if (c == 'd')
            data = optarg;
        else if (c == '?')
            return 2;
    if (data == NULL || optind != argc) {
        fprintf(stderr, "usage: audit_damage --data DIR --change-byte N | --delete N | ...\n");
        return 2;
    }
    MDB_env *env;
    audit_log *log;
    fp_error err;
    if (store_env_open(&env, data, 0, 32, 0, &err) != FP_OK ||
        audit_log_open_readonly(&log, env, &err) != FP_OK) {
        fprintf(stderr, "audit_damage: %s\n", err.message);
        return 1;
    }
    int rc = 0;
    optind = 1;
    while (rc == 0 && (c = getopt_long(argc, argv, "", opts, NULL)) != -1)
        if (c != 'd' && (rc = apply(env, log, c, optarg)) != 0)
            fprintf(stderr, "audit_damage: --%s failed (%d)\n", argv[optind - 1] + 2, rc);
    audit_log_close(log);
    mdb_env_close(env);
    return rc == 0 ? 0 : 1;
}
