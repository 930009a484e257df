/*
 * broker: start-up, the event loop, group commit and shutdown.  See
 * broker.h.
 *
 * The loop drains up to batch_max messages that are already waiting, runs
 * them all through intake inside one write transaction, commits once (one
 * fsync for the whole batch), and only then answers their senders and
 * pumps deliveries.  Under light load a batch is one message, so latency
 * stays low; under heavy load batches grow and the fsync cost is shared.
 *
 * Messages over their agency's rate (agency_limit.h) or over the size
 * limit are set aside as they are read, before any signature is checked,
 * so a flooding agency costs the others little: the former are answered
 * RETRY without touching the store, the latter refused and audited.
 *
 * If a commit fails because storage is full, the batch is retried without
 * its publishes (acknowledgements and hellos only): releasing delivered
 * entries frees space, so the broker can drain while it refuses intake,
 * and every refused sender is told to retry later.
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
#include "delivery.h"
#include "envelope.h"
#include "intake.h"
#include "lifecycle.h"
#include "refusals.h"
#include "sessions.h"
#include "verify.h"
#include "sandbox.h"
#include "verify_pool.h"
#include "zap.h"

#define HOUSEKEEPING_MS 1000
#define BACKLOG_LOG_MS 60000
#define STALL_MS 15000

void broker_config_defaults(broker_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->skew_ms = ENVELOPE_DEFAULT_SKEW_MS;
    cfg->presence_timeout_ms = 10000;
    cfg->delivery_window = 256;
    cfg->batch_max = 256;
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
    int rc = load_identity(b, cfg, err);
    if (rc != FP_OK)
        return rc;
    rc = broker_store_open(&b->store, cfg->data_dir, cfg->map_size, err);
    if (rc != FP_OK)
        return fp_error_wrap(err, "--data %s", cfg->data_dir);
    if ((rc = confine(b, err)) != FP_OK)
        return rc;
    if (peers_new(&b->peers) != 0 ||
        (b->vpool = verify_pool_new(verify_pool_default_threads())) == NULL)
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

/* ---------------------------------------------------------------- batches */

typedef struct inbound {
    unsigned char routing[PEER_ROUTING_MAX];
    size_t routing_len;
    char agency[64];
    Flagpost__ToBroker *msg;
    intake_reply reply;
    bool fresh;                    /* first message on a new connection */
    int fd;                        /* the socket it arrived on (sessions.h) */
    bool limited;                  /* over the agency's rate: not processed, told RETRY */
    size_t size;                   /* bytes of the payload frame */
} inbound;

static bool oversize(const broker *b, const inbound *in)
{
    return in->size > (size_t)b->cfg.max_message_bytes;
}

static bool is_intake(const inbound *in)
{
    return in->msg->kind_case == FLAGPOST__TO_BROKER__KIND_PUBLISH ||
           in->msg->kind_case == FLAGPOST__TO_BROKER__KIND_EVENT;
}

/* Read one two-frame message: routing id, then the payload with the
 * ZAP-authenticated agency id attached as User-Id. */
static int read_inbound(broker *b, inbound *in)
{
    memset(in, 0, sizeof *in);
    zmq_msg_t id, body;
    zmq_msg_init(&id);
    if (zmq_msg_recv(&id, b->router, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&id);
        return -1;
    }
    in->routing_len = zmq_msg_size(&id) < PEER_ROUTING_MAX ? zmq_msg_size(&id) : 0;
    memcpy(in->routing, zmq_msg_data(&id), in->routing_len);
    bool more = zmq_msg_more(&id);
    zmq_msg_close(&id);
    if (!more)
        return 0;
    zmq_msg_init(&body);
    if (zmq_msg_recv(&body, b->router, 0) < 0) {
        zmq_msg_close(&body);
        return 0;
    }
    in->fd = zmq_msg_get(&body, ZMQ_SRCFD);
    in->size = zmq_msg_size(&body);
    const char *user = zmq_msg_gets(&body, "User-Id");
    if (user != NULL)
        snprintf(in->agency, sizeof in->agency, "%s", user);
    in->msg = flagpost__to_broker__unpack(NULL, zmq_msg_size(&body), zmq_msg_data(&body));
    while (zmq_msg_more(&body)) {   /* discard any extra frames */
        zmq_msg_close(&body);
        zmq_msg_init(&body);
        zmq_msg_recv(&body, b->router, 0);
    }
    zmq_msg_close(&body);
    return 0;
}

static int note_presence(broker *b, MDB_txn *txn, inbound *in, int64_t now, fp_error *err)
{
    bool fresh = false;
    peer *p = peers_touch(b->peers, in->agency, in->routing, in->routing_len, now, &fresh);
    if (p == NULL || !fresh)
        return FP_OK;
    in->fresh = true;
    sessions_note_socket(p, in->fd);
    log_event(&b->log, LOG_INFO, "agent-connected", "agency=%s", in->agency);
    return audit_entry_simple(b->store, txn, FLAGPOST__AUDIT_EVENT__AUDIT_AGENT_CONNECTED,
                              in->agency, "", "", NULL, 0, policy_hash(b->policy), now, err);
}

/* A frame that is not a ToBroker at all (cut short, bit-flipped framing)
 * from an authenticated agency: refused, and audited like any refusal. */
static int audit_malformed_frame(broker *b, MDB_txn *txn, const inbound *in, int64_t now,
                                 fp_error *err)
{
    b->stats_refused++;
    return audit_entry_simple(b->store, txn, FLAGPOST__AUDIT_EVENT__AUDIT_MESSAGE_REFUSED,
                              in->agency, "", "malformed-frame", NULL, 0,
                              policy_hash(b->policy), now, err);
}

static int stage_one(broker *b, MDB_txn *txn, inbound *in, bool with_intake, int64_t now,
                     fp_error *err)
{
    /* An agency whose certificate stopped being valid has no presence and
     * releases nothing; intake refuses (and audits) what it publishes. */
    bool admitted = sessions_admitted(b, in->agency, now);
    int rc = admitted ? note_presence(b, txn, in, now, err) : FP_OK;
    if (rc != FP_OK || (!admitted && !is_intake(in)))
        return rc;
    if (in->limited)
        return FP_OK;
    if (oversize(b, in))
        return with_intake && is_intake(in) ? intake_refuse_oversize(b, txn, in->agency, in->msg,
                                                                     in->size, now, &in->reply,
                                                                     err)
                                            : FP_OK;
    switch (in->msg->kind_case) {
    case FLAGPOST__TO_BROKER__KIND_PUBLISH:
        return with_intake ? intake_publish(b, txn, in->agency, in->msg->publish, now,
                                            &in->reply, err)
                           : FP_OK;
    case FLAGPOST__TO_BROKER__KIND_EVENT:
        return with_intake ? intake_event(b, txn, in->agency, in->msg->event, now, &in->reply,
                                          err)
                           : FP_OK;
    case FLAGPOST__TO_BROKER__KIND_DELIVERY_ACK:
        return delivery_ack(b, txn, peers_find(b->peers, in->agency), in->msg->delivery_ack,
                            now, err);
    default:
        return FP_OK;   /* hello: presence is all it carries */
    }
}

static void drop_replies(inbound *in, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(in[i].reply.bytes);
        in[i].reply.bytes = NULL;
    }
}

static int stage_batch(broker *b, inbound *in, size_t n, bool with_intake, fp_error *err)
{
    MDB_txn *txn = NULL;
    int64_t now = envelope_now_ms();
    /* A batch that answers no sender (only recipients' acknowledgements
     * and hellos) need not wait for the disk; see broker_store_begin_lazy. */
    bool answers = false;
    for (size_t i = 0; i < n && !answers; i++)
        answers = with_intake && in[i].msg != NULL && is_intake(&in[i]) && !in[i].limited;
    int rc = answers ? broker_store_begin(b->store, true, &txn, err)
                     : broker_store_begin_lazy(b->store, &txn, err);
    for (size_t i = 0; rc == FP_OK && i < n; i++) {
        if (in[i].msg != NULL && in[i].agency[0] != '\0')
            rc = stage_one(b, txn, &in[i], with_intake, now, err);
        else if (with_intake && in[i].agency[0] != '\0' && !in[i].limited)
            rc = audit_malformed_frame(b, txn, &in[i], now, err);   /* over the rate: counted
                                                                   * in refusals.h's entry */
    }
    if (rc == FP_OK)
        return broker_store_commit(txn, err);
    if (txn != NULL)
        broker_store_abort(txn);
    return rc;
}

static void answer_batch(broker *b, inbound *in, size_t n, bool intake_committed,
                         const char *why)
{
    for (size_t i = 0; i < n; i++) {
        if (in[i].msg == NULL)
            continue;
        if (in[i].fresh) {
            const peer *p = peers_find(b->peers, in[i].agency);
            if (p != NULL)
                attest_send_latest(b, p);
        }
        if (in[i].msg->kind_case == FLAGPOST__TO_BROKER__KIND_CONSISTENCY_REQUEST &&
            sessions_admitted(b, in[i].agency, envelope_now_ms()))
            attest_answer(b, in[i].routing, in[i].routing_len, in[i].msg->consistency_request);
        if (!is_intake(&in[i]))
            continue;
        if (in[i].limited) {
            char text[256];
            agency_limit_describe(b->limits, text, sizeof text);
            intake_retry_reply(in[i].msg, text, &in[i].reply);
        } else if (!intake_committed) {
            free(in[i].reply.bytes);
            intake_retry_reply(in[i].msg, why, &in[i].reply);
        }
        if (in[i].reply.bytes != NULL)
            broker_send(b, in[i].routing, in[i].routing_len, in[i].reply.bytes,
                        in[i].reply.len);
    }
}

/* Every signature in the batch, checked on all cores before staging
 * (which then only looks the answers up: verify.c, verify_pool.h). */
static void verify_batch_signatures(broker *b, const inbound *in, size_t n)
{
    int64_t now = envelope_now_ms();
    for (size_t i = 0; i < n; i++) {
        if (in[i].msg == NULL || in[i].agency[0] == '\0' || in[i].limited || oversize(b, &in[i]))
            continue;
        if (in[i].msg->kind_case == FLAGPOST__TO_BROKER__KIND_PUBLISH)
            verify_prepare(b, in[i].agency, in[i].msg->publish->signed_, now);
        else if (in[i].msg->kind_case == FLAGPOST__TO_BROKER__KIND_EVENT)
            verify_prepare(b, in[i].agency, in[i].msg->event, now);
    }
    verify_pool_run(b->vpool);
}

static void process_batch(broker *b)
{
    inbound *in = calloc(b->cfg.batch_max, sizeof *in);
    if (in == NULL)
        return;
    size_t n = 0;
    int64_t now = envelope_now_ms();
    while (n < b->cfg.batch_max && read_inbound(b, &in[n]) == 0) {
        /* Unreadable messages count against the rate too, so a flood of
         * garbage is not a flood of log lines. */
        bool counted = in[n].agency[0] != '\0' && (in[n].msg == NULL || is_intake(&in[n]));
        in[n].limited = counted && !agency_limit_take(b->limits, in[n].agency, now);
        if (in[n].msg == NULL && in[n].agency[0] != '\0' && !in[n].limited)
            log_event(&b->log, LOG_WARN, "message-malformed", "agency=%s", in[n].agency);
        n++;
    }
    verify_batch_signatures(b, in, n);
    fp_error err;
    int rc = stage_batch(b, in, n, true, &err);
    if (rc == FP_OK) {
        if (b->storage_full)
            log_event(&b->log, LOG_INFO, "intake-resumed", "reason=\"storage available\"");
        b->storage_full = false;
        answer_batch(b, in, n, true, NULL);
    } else {
        drop_replies(in, n);
        if (!b->storage_full)
            log_event(&b->log, LOG_ERROR, "intake-stopped", "error=\"%s\"", err.message);
        b->storage_full = rc == FP_ERR_FULL;
        /* Still release what recipients acknowledged: that frees space. */
        fp_error err2;
        if (stage_batch(b, in, n, false, &err2) != FP_OK)
            log_event(&b->log, LOG_ERROR, "store-failed", "error=\"%s\"", err2.message);
        answer_batch(b, in, n, false,
                     rc == FP_ERR_FULL ? "broker storage is full; the message was not stored "
                                         "and will be resent"
                                       : "broker storage error; the message was not stored "
                                         "and will be resent");
    }
    verify_pool_clear(b->vpool);
    for (size_t i = 0; i < n; i++) {
        free(in[i].reply.bytes);
        if (in[i].msg != NULL)
            flagpost__to_broker__free_unpacked(in[i].msg, NULL);
    }
    free(in);
}

/* ---------------------------------------------------------------- timers */

static void check_presence(broker *b, int64_t now)
{
    for (size_t i = 0; i < peers_count(b->peers); i++) {
        peer *p = peers_at(b->peers, i);
        if (!p->connected || now - p->last_heard_ms <= b->cfg.presence_timeout_ms)
            continue;
        p->connected = false;
        p->inflight = 0;
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
            process_batch(b);
        int64_t now = envelope_now_ms();
        delivery_pump(b, now);
        if (now >= next_housekeeping) {
            check_presence(b, now);
            sessions_sweep(b, now, "certificate no longer valid");
            delivery_check_stalls(b, now, STALL_MS);
            lifecycle_run_deadlines(b, now);
            attest_tick(b, now);
            refusals_flush(b, now);
            next_housekeeping = now + HOUSEKEEPING_MS;
        }
        if (now >= next_backlog) {
            log_backlog(b);
            next_backlog = now + BACKLOG_LOG_MS;
        }
    }
    log_event(&b->log, LOG_INFO, "broker-stopping", "accepted=%llu refused=%llu delivered=%llu",
              (unsigned long long)b->stats_accepted, (unsigned long long)b->stats_refused,
              (unsigned long long)b->stats_delivered);
    return FP_OK;
}
