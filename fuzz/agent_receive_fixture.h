/*
 * agent_receive_fixture.h: the fixture of fuzz_agent_receive (header-only,
 * like tests/unit/ca_fixture.h, so the target stays one program and each
 * file stays readable): a real CA and agency identities, the real signed
 * agreement, and two agents assembled from real parts, in a temporary
 * directory removed by fa_fixture_free; and the reset between inputs.
 * fuzz_agent_receive.c says why the agents are not opened with agent_open.
 */
#ifndef FLAGPOST_FUZZ_AGENT_RECEIVE_FIXTURE_H
#define FLAGPOST_FUZZ_AGENT_RECEIVE_FIXTURE_H

#include <dirent.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "../tests/unit/merkle_ref.h"
#include "agent.h"
#include "ca.h"
#include "fileio.h"
#include "fuzz_tmpdir.h"
#include "keyfile.h"
#include "keyring.h"
#include "marac.h"
#include "outbox_tracker.h"
#include "spool.h"
#include "witness.h"

#define FA_LEAVES 64
#define FA_MAP_SIZE ((size_t)64 << 20)
#define FA_PATH 512

enum { RX_MEMBER, RX_COORD, RX_COUNT };
enum { ID_POLICE_OLD, ID_POLICE, ID_IDVA, ID_MARAC, ID_REVOKED, ID_EXPIRED, ID_BROKER, ID_COUNT };

/* The identities the CA issues, in this order (met-police twice: a key
 * rotation; specialist-bfs is revoked once issued; housing-hf's
 * certificate expired long ago). */
typedef struct fa_issue {
    const char *agency, *sector, *dir;
    int64_t days_ago;        /* not_before this many days back (0: now) */
    int64_t valid_days;
} fa_issue;
static const fa_issue ISSUES[ID_COUNT] = {
    [ID_POLICE_OLD] = {"met-police", "police", "id-police-1", 0, 0},
    [ID_POLICE] = {"met-police", "police", "id-police-2", 0, 0},
    [ID_IDVA] = {"idva", "idva", "id-idva", 0, 0},
    [ID_MARAC] = {"marac", "marac", "id-marac", 0, 0},
    [ID_REVOKED] = {"specialist-bfs", "specialist", "id-revoked", 0, 0},
    [ID_EXPIRED] = {"housing-hf", "housing", "id-expired", 30, 2},
    [ID_BROKER] = {"broker", "broker", "id-broker", 0, 0},
};

typedef struct fa_fixture {
    char root[FA_PATH];
    identity ids[ID_COUNT];
    box_cache *boxes[ID_COUNT];
    agent agents[RX_COUNT];
    char dirs[RX_COUNT][5][FA_PATH];   /* identity, data, ca, policy, spool */
    unsigned char leaves[FA_LEAVES][32];
    unsigned char flag_ids[4][16], msg_ids[4][16];
} fa_fixture;

__attribute__((noreturn)) static void fa_die(const char *what, const fp_error *err)
{
    fprintf(stderr, "fuzz_agent_receive: %s: %s\n", what, err ? err->message : "failed");
    abort();
}


static int fa_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void fa_fixture_free(fa_fixture *fx)
{
    if (fx == NULL)
        return;
    for (int i = 0; i < RX_COUNT; i++)
        agent_close(&fx->agents[i]);
    for (int i = 0; i < ID_COUNT; i++) {
        box_cache_free(fx->boxes[i]);
        identity_free(&fx->ids[i]);
    }
    nftw(fx->root, fa_rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(fx);
}

static void fa_path(const fa_fixture *fx, char out[FA_PATH], const char *name)
{
    if ((size_t)snprintf(out, FA_PATH, "%s/%s", fx->root, name) >= FA_PATH)
        fa_die("temporary path too long", NULL);
}

static void fa_make_ca(const fa_fixture *fx)
{
    char ca[FA_PATH], out[FA_PATH];
    fp_error err;
    fa_path(fx, ca, "ca");
    if (ca_init(ca, "Fuzz Partnership CA", &err) != FP_OK)
        fa_die("ca_init", &err);
    uint64_t revoke_serial = 0;
    for (int i = 0; i < ID_COUNT; i++) {
        const fa_issue *is = &ISSUES[i];
        fa_path(fx, out, is->dir);
        ca_issue_options opt = {.agency_id = is->agency, .display_name = "Fuzz Agency",
                                .sector = is->sector, .out_dir = out,
                                .not_before = is->days_ago ? time(NULL) - is->days_ago * 86400 : 0,
                                .valid_days = is->valid_days};
        uint64_t serial;
        if (ca_issue(ca, &opt, &serial, &err) != FP_OK)
            fa_die(is->agency, &err);
        if (i == ID_REVOKED)
            revoke_serial = serial;
    }
    if (ca_revoke(ca, ISSUES[ID_REVOKED].agency, revoke_serial, "fuzz fixture", &err) != FP_OK)
        fa_die("ca_revoke", &err);
}

/* The real agreement, signed by the CA as `flagpost policy sign` does. */
static void fa_sign_policy(const fa_fixture *fx, const char *source)
{
    char ca_key[FA_PATH], path[FA_PATH];
    uint8_t *text = NULL;
    size_t len = 0;
    unsigned char *sk = NULL;
    fp_error err;
    fa_path(fx, ca_key, "ca/ca.key");
    fa_path(fx, path, "policy.yaml");
    if (fileio_read_all(source, 1 << 20, &text, &len, &err) != FP_OK)
        fa_die("the policy (run from the source tree, or set FUZZ_AGENT_POLICY)", &err);
    if (fileio_write_atomic(path, text, len, 0644, &err) != FP_OK ||
        keyfile_read_secret(ca_key, "ca-secret", &sk, 64, &err) != FP_OK ||
        policy_sign(path, text, len, sk, &err) != FP_OK)
        fa_die("signing the policy", &err);
    keyfile_free_secret(sk, 64);
    free(text);
}

static void fa_load_identities(fa_fixture *fx)
{
    char ca[FA_PATH], dir[FA_PATH];
    trust_store *ts = NULL;
    fp_error err;
    fa_path(fx, ca, "ca");
    if (trust_store_load(&ts, ca, &err) != FP_OK)
        fa_die("trust_store_load", &err);
    for (int i = 0; i < ID_COUNT; i++) {
        fa_path(fx, dir, ISSUES[i].dir);
        if (identity_load(&fx->ids[i], dir, trust_store_ca_public(ts), &err) != FP_OK ||
            box_cache_new(&fx->boxes[i], fx->ids[i].box_secret, &err) != FP_OK)
            fa_die(dir, &err);
    }
    trust_store_free(ts);
}

/* What agent_open does, without the sandbox, the local API and the
 * deferred writer's thread (so answers are settled inline, as agent_open
 * also falls back to). */
static void fa_open_agent(fa_fixture *fx, int rx, const char *id_name, const char *data_name)
{
    agent *a = &fx->agents[rx];
    const char *level = getenv("FUZZ_AGENT_LOG");   /* e.g. debug, to see the verdicts */
    fp_log log = {.level = level ? log_level_parse(level) : -1, .program = "fuzz-agent"};
    char(*p)[FA_PATH] = fx->dirs[rx];
    fa_path(fx, p[0], id_name);
    fa_path(fx, p[1], data_name);
    fa_path(fx, p[2], "ca");
    fa_path(fx, p[3], "policy.yaml");
    snprintf(p[4], FA_PATH, "%s/spool", p[1]);
    agent_config cfg;
    agent_config_defaults(&cfg);
    cfg.identity_dir = p[0];
    cfg.data_dir = p[1];
    cfg.ca_dir = p[2];
    cfg.policy_path = p[3];
    cfg.spool_dir = p[4];
    cfg.broker_endpoint = "tcp://127.0.0.1:9";   /* named in log lines only */
    cfg.socket_endpoint = "ipc://unused";
    cfg.map_size = FA_MAP_SIZE;
    memset(a, 0, sizeof *a);
    a->cfg = cfg;
    a->log = log;
    fp_error err;
    if (trust_store_load(&a->trust, cfg.ca_dir, &err) != FP_OK ||
        identity_load(&a->id, cfg.identity_dir, trust_store_ca_public(a->trust), &err) != FP_OK ||
        policy_load(&a->policy, cfg.policy_path, trust_store_ca_public(a->trust), &err) != FP_OK ||
        box_cache_new(&a->boxes, a->id.box_secret, &err) != FP_OK ||
        agent_store_open(&a->store, cfg.data_dir, cfg.map_size, &err) != FP_OK ||
        keyring_open(&a->keys, cfg.data_dir, a->id.box_secret, &err) != FP_OK ||
        spool_prepare(cfg.spool_dir, &err) != FP_OK || witness_open(a, &a->witness, &err) != FP_OK)
        fa_die(id_name, &err);
    if (outbox_tracker_new(&a->tracker) != FP_OK || (a->zmq = zmq_ctx_new()) == NULL ||
        (a->broker = zmq_socket(a->zmq, ZMQ_DEALER)) == NULL)
        fa_die("agent sockets", NULL);
    int zero = 0, one = 1;
    zmq_setsockopt(a->broker, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(a->broker, ZMQ_IMMEDIATE, &one, sizeof one);
}

static void fa_fixture_pools(fa_fixture *fx)
{
    for (int i = 0; i < FA_LEAVES; i++) {
        uint8_t entry[2] = {'L', (uint8_t)i};
        merkle_leaf_hash(entry, sizeof entry, fx->leaves[i]);
    }
    for (int i = 0; i < 4; i++) {
        memset(fx->flag_ids[i], 0xf0 + i, 16);
        memset(fx->msg_ids[i], 0x10 + i, 16);
    }
}


/* The whole fixture, in a fresh temporary directory. */
static fa_fixture *fa_fixture_new(void)
{
    fa_fixture *fx = calloc(1, sizeof *fx);
    if (fx == NULL)
        fa_die("out of memory", NULL);
    snprintf(fx->root, sizeof fx->root, "%s/fp-fuzz-agent.XXXXXX", fuzz_tmpdir());
    if (mkdtemp(fx->root) == NULL)
        fa_die("mkdtemp", NULL);
    fa_make_ca(fx);
    const char *policy = getenv("FUZZ_AGENT_POLICY");
    fa_sign_policy(fx, policy ? policy : "policy/examples/tri-borough.yaml");
    fa_load_identities(fx);
    fa_open_agent(fx, RX_MEMBER, ISSUES[ID_IDVA].dir, "data-idva");
    fa_open_agent(fx, RX_COORD, ISSUES[ID_MARAC].dir, "data-marac");
    fa_fixture_pools(fx);
    return fx;
}

/* Empty every database of the environment (the agent store's and MARAC's)
 * in one transaction: the file keeps its size, its pages are reused. */
static void fa_clear_store(agent *a)
{
    MDB_txn *txn;
    fp_error err;
    if (agent_store_begin(a->store, true, &txn, &err) != FP_OK)
        fa_die("clearing the store", &err);
    MDB_dbi main_db;
    MDB_cursor *cur;
    MDB_val k, v;
    char names[32][64];
    size_t n = 0;
    if (mdb_dbi_open(txn, NULL, 0, &main_db) != 0 || mdb_cursor_open(txn, main_db, &cur) != 0)
        fa_die("clearing the store", NULL);
    for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 && n < 32;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size < sizeof names[0]) {
            memcpy(names[n], k.mv_data, k.mv_size);
            names[n++][k.mv_size] = '\0';
        }
    }
    mdb_cursor_close(cur);
    for (size_t i = 0; i < n; i++) {
        MDB_dbi dbi;
        if (mdb_dbi_open(txn, names[i], 0, &dbi) == 0 && mdb_drop(txn, dbi, 0) != 0)
            fa_die("emptying a database", NULL);
    }
    if (agent_store_commit(txn, &err) != FP_OK)
        fa_die("clearing the store", &err);
}

static void fa_clear_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return;
    char path[FA_PATH * 2];
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(d);
}

static void fa_reset(fa_fixture *fx, int rx)
{
    agent *a = &fx->agents[rx];
    char path[FA_PATH * 2];
    fp_error err;
    fa_clear_store(a);
    snprintf(path, sizeof path, "%s/%s", a->cfg.data_dir, WITNESS_ALERT_FILE);
    unlink(path);
    witness_free(a->witness);
    a->witness = NULL;
    if (witness_open(a, &a->witness, &err) != FP_OK)
        fa_die("witness_open", &err);
    snprintf(path, sizeof path, "%s/received", a->cfg.spool_dir);
    fa_clear_dir(path);
}


/* A research round the coordinator records through the local API's
 * marac_api, as `flagpost marac request` would: case TRI-2026-0042 asked of
 * idva, so that an answer from idva meets a case (record_answer) instead of
 * "unknown case".  Its flag goes to the outbox (the send fails: no peer). */
static const char FA_MARAC_ROUND[] =
    "{\"request\": {\"conference\": {\"id\": \"tri-2030-06-10\", \"date\": \"2030-06-10\","
    " \"area\": \"Tri-borough\"}, \"deadline\": \"2030-06-06T17:00:00Z\","
    " \"agencies\": [\"idva\"], \"coordinator_contact\": \"MARAC office\","
    " \"questions\": \"Do you hold a record?\", \"cases\": [{\"case_reference\":"
    " \"TRI-2026-0042\", \"subject\": {\"role\": \"victim\", \"name\": \"Jane Doe\","
    " \"dob\": \"1985-03-12\", \"nhs\": \"943 476 5919\"}, \"referral\": {\"source\":"
    " \"met-police\", \"risk\": \"high\", \"summary\": \"Strangulation.\"}}]}}";

static void fa_marac_round(agent *a)
{
    json_error_t jerr;
    json_t *req = json_loads(FA_MARAC_ROUND, 0, &jerr);
    json_t *reply = req != NULL ? marac_api(a, "marac_request", req) : NULL;
    json_t *error = reply != NULL ? json_object_get(reply, "error") : NULL;
    if (reply == NULL || error != NULL) {
        fprintf(stderr, "fuzz_agent_receive: marac_request: %s\n",
                error ? json_dumps(error, 0) : jerr.text);
        abort();
    }
    json_decref(reply);
    json_decref(req);
}

#endif
