/*
 * broker: start-up, the event loop, timers, reload and shutdown.  See
 * broker.h.
 *
 * The loop waits on the ROUTER socket (agents) and the ZAP socket (their
 * CURVE handshakes).  Whatever agents sent is handed to batch.c, which
 * group-commits it and answers the senders; then deliveries are pumped
 * and, once a second, the timers run: presence, certificate expiry,
 * stalled deliveries, MARAC deadlines, the replay table's pruning,
 * checkpoints and refusal summaries.
 */
#include "broker.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "admission.h"
#include "agency_limit.h"
#include "attest.h"
#include "audit_entry.h"
#include "batch.h"
#include "delivery.h"
#include "envelope.h"
#include "lifecycle.h"
#include "refusals.h"
#include "sessions.h"
#include "sandbox.h"
#include "timefmt.h"
#include "verify_pool.h"
#include "zap.h"

#define HOUSEKEEPING_MS 1000
#define BACKLOG_LOG_MS 60000
#define STALL_MS 15000

void broker_config_defaults(broker_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->skew_ms = ENVELOPE_DEFAULT_SKEW_MS;
    cfg->seen_retention_ms = SEEN_PRUNE_DEFAULT_RETENTION_MS;
    cfg->presence_timeout_ms = 10000;
    /* Enough to cover a busy broker's acknowledgement round trip (a whole
     * batch cycle) at full rate: at 256 the deliveries fell behind the
     * intake and drained after it (docs/performance.md).  About 5 MB of
     * 1.3 KB flags in flight per agency at most; the bytes bound what
     * large flags may hold in the sockets and the agent's receive queue
     * (4,096 of the largest messages would be 16 GB). */
    cfg->delivery_window = 4096;
    cfg->delivery_window_bytes = (size_t)32 << 20;
    /* Saturated, every batch is full, and a bigger one pays its flushes
     * over more flags; below that a batch is whatever arrived during the
     * last commit, so the size never adds waiting (docs/performance.md). */
    cfg->batch_max = 1024;
    /* 1,024 flags of the usual 1.3 KB are about 1.3 MB; the bytes bound
     * what large ones may hold, the batch and its transaction's dirty pages
     * alike (four agencies sending 3.75 MB flags took the broker to 3.3 GB
     * without it; docs/performance.md). */
    cfg->batch_max_bytes = (size_t)16 << 20;
    cfg->checkpoint_ms = 2000;
    cfg->max_message_bytes = FP_MAX_MESSAGE_BYTES;
    cfg->agency_rate = BROKER_DEFAULT_AGENCY_RATE;
    cfg->agency_burst = BROKER_DEFAULT_AGENCY_BURST;
    cfg->connect_rate = BROKER_DEFAULT_CONNECT_RATE;
    cfg->connect_rate_total = BROKER_DEFAULT_CONNECT_RATE_TOTAL;
}

/* ---------------------------------------------------------------- start-up */

/* Audit the policy in force if it differs from the last one recorded
 * (at start-up and on every reload), with the old and new hashes. */
static int audit_policy_load(broker *b, fp_error *err)
{
    unsigned char old[32];
    size_t old_len = sizeof old;
    MDB_txn *txn;
    int rc = broker_store_begin(b->store, true, &txn, err);
    if (rc != FP_OK)
        return rc;
    bool had = broker_store_meta_get(b->store, txn, "policy_hash", old, &old_len) == FP_OK &&
               old_len == 32;
    if (had && memcmp(old, policy_hash(b->policy), 32) == 0) {
        broker_store_abort(txn);
        return FP_OK;
    }
    char reason[160], oldhex[65] = "none", newhex[65];
    if (had)
        sodium_bin2hex(oldhex, sizeof oldhex, old, 32);
    sodium_bin2hex(newhex, sizeof newhex, policy_hash(b->policy), 32);
    snprintf(reason, sizeof reason, "old=%s new=%s", oldhex, newhex);
    rc = audit_entry_simple(b->store, txn, FLAGPOST__AUDIT_EVENT__AUDIT_POLICY_LOADED,
                            b->id.cert.agency_id, "", reason, NULL, 0, policy_hash(b->policy),
                            envelope_now_ms(), err);
    if (rc == FP_OK)
        rc = broker_store_meta_put(b->store, txn, "policy_hash", policy_hash(b->policy), 32,
                                   err);
    if (rc != FP_OK) {
        broker_store_abort(txn);
        return rc;
    }
    log_event(&b->log, LOG_INFO, "policy-loaded", "name=%s %s", policy_name(b->policy), reason);
    return broker_store_commit(txn, err);
}

static int load_identity(broker *b, const broker_config *cfg, fp_error *err)
{
    int rc = trust_store_load(&b->trust, cfg->ca_dir, err);
    if (rc != FP_OK)
        return fp_error_wrap(err, "--ca %s", cfg->ca_dir);
    rc = identity_load(&b->id, cfg->identity_dir, trust_store_ca_public(b->trust), err);
    if (rc != FP_OK)
        return fp_error_wrap(err, "--identity %s", cfg->identity_dir);
    if (strcmp(b->id.cert.sector, "broker") != 0 || b->id.linkage_key != NULL)
        return fp_error_set(err, FP_ERR_INPUT,
                            "--identity %s: this is not a broker identity (issue one with "
                            "flagpost ca issue --sector broker); the broker must never hold "
                            "the linkage key", cfg->identity_dir);
    rc = trust_store_check(b->trust, &b->id.cert, envelope_now_ms() / 1000, err);
    if (rc != FP_OK)
        return fp_error_wrap(err, "--identity %s", cfg->identity_dir);
    rc = policy_load(&b->policy, cfg->policy_path, trust_store_ca_public(b->trust), err);
    if (rc != FP_OK)
        return fp_error_wrap(err, "--policy %s", cfg->policy_path);
    return FP_OK;
}

static int bind_router(broker *b, fp_error *err)
{
    b->router = zmq_socket(b->zmq, ZMQ_ROUTER);
    if (b->router == NULL)
        return fp_error_set(err, FP_ERR_IO, "cannot create the broker socket");
    int one = 1, zero = 0, hwm = 100000;
    zmq_setsockopt(b->router, ZMQ_CURVE_SERVER, &one, sizeof one);
    zmq_setsockopt(b->router, ZMQ_CURVE_SECRETKEY, b->id.curve_secret, 32);
    zmq_setsockopt(b->router, ZMQ_ZAP_DOMAIN, "flagpost", 8);
    zmq_setsockopt(b->router, ZMQ_ROUTER_MANDATORY, &one, sizeof one);
    zmq_setsockopt(b->router, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(b->router, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(b->router, ZMQ_RCVHWM, &hwm, sizeof hwm);
    /* Twice the limit at the socket: a message between the two gets a
     * clear, audited refusal (intake_refuse_oversize); only one beyond is
     * cut off by ZeroMQ with its connection, unanswered. */
    int64_t maxmsg = 2 * b->cfg.max_message_bytes;
    zmq_setsockopt(b->router, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg);
    /* A peer that connects and never finishes its handshake holds a
     * descriptor; libzmq's default lets it for 30 s. */
    int handshake = BROKER_HANDSHAKE_MS;
    zmq_setsockopt(b->router, ZMQ_HANDSHAKE_IVL, &handshake, sizeof handshake);
    int ivl = 2000, timeout = 6000;
    zmq_setsockopt(b->router, ZMQ_HEARTBEAT_IVL, &ivl, sizeof ivl);
    zmq_setsockopt(b->router, ZMQ_HEARTBEAT_TIMEOUT, &timeout, sizeof timeout);
    if (b->cfg.connect_rate > 0) {   /* before the bind: see admission_start */
        admission_config ac;
        admission_config_from_rates(&ac, b->cfg.connect_rate, b->cfg.connect_rate_total);
        int rc = admission_start(&b->admission, b->zmq, b->router, &ac, err);
        if (rc != FP_OK)
            return rc;
    }
    if (zmq_bind(b->router, b->cfg.bind_endpoint) != 0)
        return fp_error_set(err, FP_ERR_IO, "--bind %s: %s", b->cfg.bind_endpoint,
                            zmq_strerror(zmq_errno()));
    return FP_OK;
}

/* Before the first thread (the verify pool, ZeroMQ's I/O threads): see
 * sandbox.h.  Only the data directory, and an ipc:// bind's directory,
 * stay writable. */
static int confine(broker *b, fp_error *err)
{
    char ipc_dir[4096];
    const char *writable[] = {
        b->cfg.data_dir, sandbox_ipc_dir(b->cfg.bind_endpoint, ipc_dir, sizeof ipc_dir)};
    sandbox_report rep;
    int rc = sandbox_enter(writable, 2, &rep, err);
    if (rc == FP_OK)
        log_event(&b->log, LOG_INFO, "sandbox", "%s", rep.summary);
    return rc;
}

int broker_open(broker *b, const broker_config *cfg, const fp_log *log, fp_error *err)
{
    memset(b, 0, sizeof *b);
    b->cfg = *cfg;
    b->log = *log;
    if (!cfg->identity_dir || !cfg->ca_dir || !cfg->policy_path || !cfg->data_dir ||
        !cfg->bind_endpoint)
        return fp_error_set(err, FP_ERR_INPUT,
                            "--identity, --ca, --policy, --data and --bind are all required "
                            "(see --help)");
    /* Here, not as each option is read: --skew may come after, or from
     * the config file. */
    int rc = seen_prune_check(cfg->seen_retention_ms, cfg->skew_ms, cfg->skew_ms, err);
    if (rc != FP_OK)
        return rc;
    if ((rc = load_identity(b, cfg, err)) != FP_OK)
        return rc;
    rc = broker_store_open(&b->store, cfg->data_dir, cfg->map_size, err);
    if (rc == FP_OK)
        rc = seen_prune_open(&b->pruning, b->store, cfg->seen_retention_ms, cfg->skew_ms,
                             SEEN_PRUNE_CHUNK, err);
    if (rc != FP_OK)
        return fp_error_wrap(err, "--data %s", cfg->data_dir);
    if ((rc = confine(b, err)) != FP_OK)
        return rc;
    if (peers_new(&b->peers) != 0 ||
        (b->vpool = verify_pool_new(verify_pool_default_threads())) == NULL ||
        (b->batches = batches_new(cfg->batch_max)) == NULL)
        return fp_error_set(err, FP_ERR_IO, "out of memory");
    if ((rc = audit_policy_load(b, err)) != FP_OK)
        return rc;
    b->zmq = zmq_ctx_new();
    if (b->zmq == NULL)
        return fp_error_set(err, FP_ERR_IO, "cannot start ZeroMQ");
    if ((rc = zap_bind(b, err)) != FP_OK)
        return rc;
    if ((rc = bind_router(b, err)) != FP_OK)
        return rc;
    if ((b->limits = agency_limit_new(cfg->agency_rate, cfg->agency_burst)) == NULL)
        return fp_error_set(err, FP_ERR_IO, "out of memory");
    return FP_OK;
}

void broker_close(broker *b)
{
    admission_stop(b->admission);
    agency_limit_free(b->limits);
    if (b->router)
        zmq_close(b->router);
    if (b->zap)
        zmq_close(b->zap);
    if (b->zmq)
        zmq_ctx_term(b->zmq);
    peers_free(b->peers);
    batches_free(b->batches);
    verify_pool_free(b->vpool);
    broker_store_close(b->store);
    policy_free(b->policy);
    trust_store_free(b->trust);
    identity_free(&b->id);
    memset(b, 0, sizeof *b);
}

int broker_send(broker *b, const unsigned char *routing, size_t routing_len,
                const uint8_t *bytes, size_t len)
{
    if (zmq_send(b->router, routing, routing_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
        return FP_ERR_UNAVAILABLE;
    if (zmq_send(b->router, bytes, len, ZMQ_DONTWAIT) < 0)
        return FP_ERR_UNAVAILABLE;
    return FP_OK;
}

/* ---------------------------------------------------------------- timers */

static void check_presence(broker *b, int64_t now)
{
    for (size_t i = 0; i < peers_count(b->peers); i++) {
        peer *p = peers_at(b->peers, i);
        if (!p->connected || now - p->last_heard_ms <= b->cfg.presence_timeout_ms)
            continue;
        p->connected = false;
        peers_forget_inflight(p);
        log_event(&b->log, LOG_INFO, "agent-disconnected", "agency=%s", p->agency);
        MDB_txn *txn;
        fp_error err;
        if (broker_store_begin(b->store, true, &txn, &err) != FP_OK)
            continue;
        if (audit_entry_simple(b->store, txn, FLAGPOST__AUDIT_EVENT__AUDIT_AGENT_DISCONNECTED,
                               p->agency, "", "no heartbeat", NULL, 0, policy_hash(b->policy),
                               now, &err) == FP_OK)
            broker_store_commit(txn, &err);
        else
            broker_store_abort(txn);
    }
}

static int log_depth(void *ctx, const char *agency, uint64_t depth)
{
    broker *b = ctx;
    if (depth > 0) {
        peer *p = peers_find(b->peers, agency);
        log_event(&b->log, LOG_INFO, "backlog", "agency=%s queued=%llu connected=%s", agency,
                  (unsigned long long)depth, p && p->connected ? "yes" : "no");
    }
    return 0;
}

/* Forget message ids the clock check has made redundant (seen_prune.h):
 * a bounded step, between batches, never inside one. */
static void prune_seen(broker *b, int64_t now)
{
    seen_prune_report rep;
    fp_error err;
    if (seen_prune_sweep(&b->pruning, b->store, now, &rep, &err) != FP_OK) {
        log_event(&b->log, LOG_ERROR, "seen-prune-failed",
                  "error=\"%s\" action=\"tried again in a minute\"", err.message);
    } else if (rep.pruned > 0) {
        char floor[TIMEFMT_ISO_LEN];
        timefmt_iso_ms(seen_prune_floor(&b->pruning), floor);
        log_event(&b->log, LOG_INFO, "seen-pruned", "count=%zu examined=%zu floor=%s",
                  rep.pruned, rep.examined, floor);
    }
}

static void log_backlog(broker *b)
{
    MDB_txn *txn;
    if (broker_store_begin(b->store, false, &txn, NULL) != FP_OK)
        return;
    broker_store_queue_depths(b->store, txn, log_depth, b);
    broker_store_abort(txn);
}

/* ---------------------------------------------------------------- reload */

/* A policy file that fails its signature (or does not parse) on reload:
 * the one in force stays, and the refusal is on the audit trail, as a
 * policy_loaded entry whose decision is "refused". */
static void audit_policy_refused(broker *b, const fp_error *why)
{
    char reason[600], inforce[65];
    sodium_bin2hex(inforce, sizeof inforce, policy_hash(b->policy), 32);
    snprintf(reason, sizeof reason, "reload refused, still in force=%s: %.500s", inforce,
             why->message);
    Flagpost__AuditEntry e = FLAGPOST__AUDIT_ENTRY__INIT;
    e.event = FLAGPOST__AUDIT_EVENT__AUDIT_POLICY_LOADED;
    e.sender = b->id.cert.agency_id;
    e.decision = (char *)"refused";
    e.stage = (char *)"broker";
    e.reason = reason;
    e.policy_hash.data = (uint8_t *)(uintptr_t)policy_hash(b->policy);
    e.policy_hash.len = 32;
    MDB_txn *txn;
    fp_error err;
    if (broker_store_begin(b->store, true, &txn, &err) != FP_OK)
        return;
    if (audit_entry_append(b->store, txn, &e, envelope_now_ms(), &err) == FP_OK)
        broker_store_commit(txn, &err);
    else
        broker_store_abort(txn);
}

void broker_reload(broker *b)
{
    fp_error err;
    trust_store *trust = NULL;
    if (trust_store_load(&trust, b->cfg.ca_dir, &err) != FP_OK) {
        log_event(&b->log, LOG_ERROR, "reload-failed", "what=trust-bundle error=\"%s\"",
                  err.message);
        return;
    }
    /* The new revocation list takes effect even if the policy file turns
     * out to be bad: an altered policy must never hold back a revocation. */
    trust_store_free(b->trust);
    b->trust = trust;
    log_event(&b->log, LOG_INFO, "trust-reloaded", "certificates=%zu skipped=%zu",
              trust_store_count(trust), trust_store_skipped(trust));
    sessions_sweep(b, envelope_now_ms(), "certificate revoked or expired (trust reloaded)");
    policy *pol = NULL;
    if (policy_load(&pol, b->cfg.policy_path, trust_store_ca_public(trust), &err) != FP_OK) {
        log_event(&b->log, LOG_ERROR, "reload-failed",
                  "what=policy error=\"%s\" action=\"kept the policy in force\"", err.message);
        audit_policy_refused(b, &err);
        return;
    }
    unsigned char old[32];
    memcpy(old, policy_hash(b->policy), 32);
    policy_free(b->policy);
    b->policy = pol;
    if (memcmp(old, policy_hash(pol), 32) != 0 && audit_policy_load(b, &err) != FP_OK)
        log_event(&b->log, LOG_ERROR, "policy-audit-failed", "error=\"%s\"", err.message);
}

int broker_run(broker *b, broker_signals *sig, fp_error *err)
{
    log_event(&b->log, LOG_INFO, "broker-started", "bind=%s policy=%s", b->cfg.bind_endpoint,
              policy_name(b->policy));
    int64_t next_housekeeping = 0, next_backlog = envelope_now_ms() + 5000;
    while (!sig->stop) {
        if (sig->reload) {
            sig->reload = 0;
            broker_reload(b);
        }
        zmq_pollitem_t items[] = {{b->router, 0, ZMQ_POLLIN, 0}, {b->zap, 0, ZMQ_POLLIN, 0}};
        int n = zmq_poll(items, 2, 100);
        if (n < 0 && zmq_errno() != EINTR)
            return fp_error_set(err, FP_ERR_IO, "poll failed: %s", zmq_strerror(zmq_errno()));
        if (n > 0 && (items[1].revents & ZMQ_POLLIN))
            zap_handle(b);
        if (n > 0 && (items[0].revents & ZMQ_POLLIN))
            batch_process_waiting(b);
        else
            batch_finish_held(b);
        int64_t now = envelope_now_ms();
        delivery_pump(b, now);
        if (now >= next_housekeeping) {
            check_presence(b, now);
            sessions_sweep(b, now, "certificate no longer valid");
            delivery_check_stalls(b, now, STALL_MS);
            lifecycle_run_deadlines(b, now);
            prune_seen(b, now);
            attest_tick(b, now);
            refusals_flush(b, now);
            next_housekeeping = now + HOUSEKEEPING_MS;
        }
        if (now >= next_backlog) {
            log_backlog(b);
            next_backlog = now + BACKLOG_LOG_MS;
        }
    }
    batch_finish_held(b);
    log_event(&b->log, LOG_INFO, "broker-stopping", "accepted=%llu refused=%llu delivered=%llu",
              (unsigned long long)b->stats_accepted, (unsigned long long)b->stats_refused,
              (unsigned long long)b->stats_delivered);
    return FP_OK;
}
