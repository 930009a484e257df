/*
 * broker_intake_fixture.h: the in-process broker fuzz_broker_intake drives
 * (see the comment at the top of fuzz_broker_intake.c): a real CA and
 * agency identities, the signed example policy, the broker's trust store,
 * identity, policy, verify pool and a send-nowhere ROUTER socket, built
 * once; a fresh LMDB store per input, and the audit log verified when the
 * input is done.  Header-only (static functions) like bench/flagmaker.h, so
 * the target stays one file for scripts/fuzz; the fixture is the static
 * `fbi`, the one piece of mutable state a fuzz harness is allowed.
 */
#ifndef FLAGPOST_FUZZ_BROKER_INTAKE_FIXTURE_H
#define FLAGPOST_FUZZ_BROKER_INTAKE_FIXTURE_H

#include <ftw.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "audit_verify.h"
#include "broker.h"
#include "ca.h"
#include "fileio.h"
#include "fuzz_tmpdir.h"
#include "keyfile.h"
#include "store.h"
#include "verify_pool.h"

/* No input tried filled even 256 KB, so 1 MB is room enough; the small
 * map, which an input may choose, fills after a few flags, so the
 * storage-full path runs too. */
#define FBI_MAP_SIZE ((size_t)1 << 20)
#define FBI_MAP_SIZE_SMALL ((size_t)96 << 10)

typedef struct fbi_agency {
    const char *id, *sector;
    int shape;   /* 0 valid, 1 expired, 2 revoked */
} fbi_agency;

static const fbi_agency fbi_agencies[] = {
    {"met-police", "police", 0},     {"idva", "idva", 0},
    {"housing-hf", "housing", 0},    {"nhs-acute", "health", 0},
    {"probation", "probation", 0},   {"childrens-sc", "childrens_social_care", 0},
    {"marac", "marac", 0},           {"school-hf-primary", "education", 0},
    {"specialist-bfs", "specialist", 0}, {"gp-federation", "health", 0},
    {"housing-rbkc", "housing", 1},  {"housing-wcc", "housing", 2},
    {"broker", "broker", 0},
};
#define FBI_N (sizeof fbi_agencies / sizeof fbi_agencies[0])
#define FBI_BROKER (FBI_N - 1)

typedef struct fbi_fixture {
    char root[256], ca[300], data[300];
    identity ids[FBI_N];
    broker b;
    verify_checks *checks;
} fbi_fixture;

static fbi_fixture fbi;

/* ---------------------------------------------------------------- fixture */

static void fbi_die(const char *what, const fp_error *err)
{
    fprintf(stderr, "fuzz_broker_intake: %s: %s\n", what, err ? err->message : "failed");
    abort();
}

static int fbi_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void fbi_remove_root(void)
{
    nftw(fbi.root, fbi_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void fbi_issue(size_t i)
{
    const fbi_agency *a = &fbi_agencies[i];
    char out[400];
    snprintf(out, sizeof out, "%s/id-%s", fbi.root, a->id);
    int64_t now = (int64_t)time(NULL);
    ca_issue_options opt = {.agency_id = a->id, .display_name = "Fuzz Agency", .sector = a->sector,
                            .out_dir = out, .not_before = a->shape == 1 ? now - 30 * 86400 : 0,
                            .valid_days = a->shape == 1 ? 1 : 0};
    fp_error err = {0};
    if (ca_issue(fbi.ca, &opt, NULL, &err) != FP_OK)
        fbi_die(a->id, &err);
    if (a->shape == 2 && ca_revoke(fbi.ca, a->id, 0, "fuzz fixture", &err) != FP_OK)
        fbi_die(a->id, &err);
}

/* The example policy, signed by the fixture's CA. */
static void fbi_sign_policy(char *path, size_t n)
{
    fp_error err = {0};
    uint8_t *text = NULL;
    size_t len = 0;
    unsigned char *sk = NULL;
    char key[400];
    snprintf(path, n, "%s/policy.yaml", fbi.root);
    snprintf(key, sizeof key, "%s/ca.key", fbi.ca);
    if (fileio_read_all("policy/examples/tri-borough.yaml", 1 << 22, &text, &len, &err) != FP_OK)
        fbi_die("policy/examples/tri-borough.yaml (run from the repository root)", &err);
    if (fileio_write_atomic(path, text, len, 0644, &err) != FP_OK ||
        keyfile_read_secret(key, "ca-secret", &sk, 64, &err) != FP_OK ||
        policy_sign(path, text, len, sk, &err) != FP_OK)
        fbi_die("signing the policy", &err);
    keyfile_free_secret(sk, 64);
    free(text);
}

static void fbi_open_broker(const char *policy_path)
{
    broker *b = &fbi.b;
    fp_error err = {0};
    broker_config_defaults(&b->cfg);
    b->cfg.data_dir = fbi.data;
    b->cfg.map_size = FBI_MAP_SIZE;
    b->log.level = -1;   /* silent: every log line would be noise */
    b->log.program = "fuzz";
    if (trust_store_load(&b->trust, fbi.ca, &err) != FP_OK)
        fbi_die("trust store", &err);
    const unsigned char *ca_pub = trust_store_ca_public(b->trust);
    for (size_t i = 0; i < FBI_N; i++) {
        char dir[400];
        snprintf(dir, sizeof dir, "%s/id-%s", fbi.root, fbi_agencies[i].id);
        if (identity_load(&fbi.ids[i], dir, ca_pub, &err) != FP_OK)
            fbi_die(dir, &err);
    }
    b->id = fbi.ids[FBI_BROKER];
    if (policy_load(&b->policy, policy_path, ca_pub, &err) != FP_OK)
        fbi_die("policy", &err);
    b->vpool = verify_pool_new(0);
    fbi.checks = verify_checks_new();
    b->zmq = zmq_ctx_new();
    b->router = b->zmq ? zmq_socket(b->zmq, ZMQ_ROUTER) : NULL;
    int one = 1, zero = 0;
    if (b->vpool == NULL || fbi.checks == NULL || b->router == NULL ||
        zmq_setsockopt(b->router, ZMQ_ROUTER_MANDATORY, &one, sizeof one) != 0 ||
        zmq_setsockopt(b->router, ZMQ_SNDTIMEO, &zero, sizeof zero) != 0 ||
        zmq_setsockopt(b->router, ZMQ_LINGER, &zero, sizeof zero) != 0 ||
        zmq_bind(b->router, "inproc://fuzz-broker-intake") != 0)
        fbi_die("verify pool or socket", NULL);
}

static void fbi_fixture_init(void)
{
    if (sodium_init() < 0)
        fbi_die("sodium_init", NULL);
    snprintf(fbi.root, sizeof fbi.root, "%s/fp-fuzz-intake.XXXXXX", fuzz_tmpdir());
    if (mkdtemp(fbi.root) == NULL)
        fbi_die("mkdtemp", NULL);
    atexit(fbi_remove_root);
    snprintf(fbi.ca, sizeof fbi.ca, "%s/ca", fbi.root);
    snprintf(fbi.data, sizeof fbi.data, "%s/data", fbi.root);
    fp_error err = {0};
    if (ca_init(fbi.ca, "Fuzz Partnership CA", &err) != FP_OK)
        fbi_die("ca_init", &err);
    for (size_t i = 0; i < FBI_N; i++)
        fbi_issue(i);
    char policy_path[400];
    fbi_sign_policy(policy_path, sizeof policy_path);
    fbi_open_broker(policy_path);
}

/* m packed into a new buffer (the caller frees it). */
static uint8_t *fbi_pack(const ProtobufCMessage *m, size_t *len)
{
    *len = protobuf_c_message_get_packed_size(m);
    uint8_t *buf = malloc(*len ? *len : 1);
    if (buf == NULL)
        fbi_die("out of memory", NULL);
    protobuf_c_message_pack(m, buf);
    return buf;
}

/* ---------------------------------------------------------------- store */

static void fbi_unlink_store(void)
{
    char p[400];
    snprintf(p, sizeof p, "%s/data.mdb", fbi.data);
    unlink(p);
    snprintf(p, sizeof p, "%s/lock.mdb", fbi.data);
    unlink(p);
}

static void fbi_fresh_store(size_t map_size)
{
    fp_error err = {0};
    fbi_unlink_store();
    if (broker_store_open(&fbi.b.store, fbi.data, map_size, &err) != FP_OK ||
        peers_new(&fbi.b.peers) != 0)
        fbi_die("store", &err);
}

/* The audit trail is tamper-evident: whatever was staged, the entries and
 * their hash tree must agree.  Checked from a second, read-only
 * environment once the broker's is closed (LMDB allows one per process). */
static void fbi_close_and_verify_store(void)
{
    broker_store_close(fbi.b.store);
    fbi.b.store = NULL;
    peers_free(fbi.b.peers);
    fbi.b.peers = NULL;
    MDB_env *env = NULL;
    audit_log *log = NULL;
    fp_error err = {0};
    if (store_env_open(&env, fbi.data, 0, 32, MDB_RDONLY, &err) != FP_OK ||
        audit_log_open_readonly(&log, env, &err) != FP_OK)
        fbi_die("reopening the store", &err);
    audit_verify_options opt = {.threads = 1};
    audit_verify_result res;
    if (audit_verify_run(env, log, &opt, &res, &err) != FP_OK)
        fbi_die("the audit log does not verify", &err);
    audit_log_close(log);
    mdb_env_close(env);
}

#endif
