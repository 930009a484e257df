/*
 * agent: start-up, the event loop and shutdown.  See agent.h.
 *
 * Connection state comes from a ZeroMQ socket monitor on the broker
 * socket: a completed CURVE handshake means the broker accepted our
 * certificate, and only then do we send (ZMQ_IMMEDIATE keeps messages from
 * piling up in a socket that has no live connection; the outbox is the
 * only queue).  A failed authentication is logged as such, because "the
 * broker refused our certificate" is something an operator must see.
 */
#include "agent.h"

#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <zmq.h>

#include "envelope.h"
#include "keyring.h"
#include "local_api.h"
#include "marac.h"
#include "outbox.h"
#include "outbox_tracker.h"
#include "receiver.h"
#include "sandbox.h"
#include "deferred_writer.h"
#include "spool.h"
#include "witness.h"

#define MONITOR_ENDPOINT "inproc://agent-broker-monitor-%u"
#define DRAIN_MAX 512

void agent_config_defaults(agent_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->publish_wait_ms = 3000;
    cfg->heartbeat_ms = 2000;
    cfg->resend_min_ms = 1000;
    cfg->resend_max_ms = 30000;
}

const char *agent_sector_of(const agent *a, const char *agency_id, int64_t now)
{
    const cert_info *c = trust_store_by_agency(a->trust, agency_id, now, NULL);
    return c != NULL ? c->sector : NULL;
}

static int setopt_int(void *sock, int opt, int value)
{
    return zmq_setsockopt(sock, opt, &value, sizeof value);
}

static int connect_broker(agent *a, fp_error *err)
{
    const cert_info *broker = trust_store_broker(a->trust, envelope_now_ms() / 1000, err);
    if (broker == NULL)
        return fp_error_wrap(err, "--ca %s: no valid broker certificate", a->cfg.ca_dir);
    a->broker = zmq_socket(a->zmq, ZMQ_DEALER);
    if (a->broker == NULL)
        return fp_error_set(err, FP_ERR_IO, "cannot create the broker socket");
    setopt_int(a->broker, ZMQ_LINGER, 0);
    setopt_int(a->broker, ZMQ_IMMEDIATE, 1);
    setopt_int(a->broker, ZMQ_SNDHWM, 10000);
    setopt_int(a->broker, ZMQ_RCVHWM, 10000);
    setopt_int(a->broker, ZMQ_RECONNECT_IVL, 200);
    setopt_int(a->broker, ZMQ_RECONNECT_IVL_MAX, 5000);
    setopt_int(a->broker, ZMQ_HEARTBEAT_IVL, 2000);
    setopt_int(a->broker, ZMQ_HEARTBEAT_TIMEOUT, 6000);
    zmq_setsockopt(a->broker, ZMQ_CURVE_SERVERKEY, broker->curve_public, 32);
    zmq_setsockopt(a->broker, ZMQ_CURVE_PUBLICKEY, a->id.cert.curve_public, 32);
    zmq_setsockopt(a->broker, ZMQ_CURVE_SECRETKEY, a->id.curve_secret, 32);
    /* A fresh monitor endpoint per connection: an inproc name is released
     * asynchronously after the old socket closes. */
    char monitor[64];
    snprintf(monitor, sizeof monitor, MONITOR_ENDPOINT, ++a->connections);
    if (zmq_socket_monitor(a->broker, monitor,
                           ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
                               ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                               ZMQ_EVENT_DISCONNECTED) != 0)
        return fp_error_set(err, FP_ERR_IO, "cannot monitor the broker socket");
    a->monitor = zmq_socket(a->zmq, ZMQ_PAIR);
    if (a->monitor == NULL || zmq_connect(a->monitor, monitor) != 0)
        return fp_error_set(err, FP_ERR_IO, "cannot monitor the broker socket");
    if (zmq_connect(a->broker, a->cfg.broker_endpoint) != 0)
        return fp_error_set(err, FP_ERR_INPUT, "--broker %s: %s", a->cfg.broker_endpoint,
                            zmq_strerror(zmq_errno()));
    return FP_OK;
}

/* Stop the monitor before closing its reader: libzmq's I/O thread sends
 * monitor events with a blocking send while holding the monitor lock, so
 * an event raised after the reader is gone would block it forever, and
 * zmq_socket_monitor(NULL) would then wait on that lock (seen as a hang at
 * shutdown). */
static void disconnect_broker(agent *a)
{
    if (a->broker)
        zmq_socket_monitor(a->broker, NULL, 0);
    if (a->monitor)
        zmq_close(a->monitor);
    if (a->broker)
        zmq_close(a->broker);
    a->monitor = a->broker = NULL;
    a->broker_up = false;
}

static int load_trust(agent *a, const agent_config *cfg, fp_error *err)
{
    int rc = trust_store_load(&a->trust, cfg->ca_dir, err);
    if (rc != FP_OK)
        return fp_error_wrap(err, "--ca %s", cfg->ca_dir);
    rc = identity_load(&a->id, cfg->identity_dir, trust_store_ca_public(a->trust), err);
    if (rc != FP_OK)
        return fp_error_wrap(err, "--identity %s", cfg->identity_dir);
    if (trust_store_check(a->trust, &a->id.cert, envelope_now_ms() / 1000, err) != FP_OK)
        return fp_error_wrap(err, "--identity %s: our own certificate", cfg->identity_dir);
    if (a->id.linkage_key == NULL)
        return fp_error_set(err, FP_ERR_INPUT,
                            "--identity %s: no linkage key (linkage.sealed); an agency "
                            "identity is issued with one, a broker identity without",
                            cfg->identity_dir);
    rc = policy_load(&a->policy, cfg->policy_path, trust_store_ca_public(a->trust), err);
    if (rc != FP_OK)
        return fp_error_wrap(err, "--policy %s", cfg->policy_path);
    return box_cache_new(&a->boxes, a->id.box_secret, err);
}

/* Before the first thread (the deferred writer, ZeroMQ's I/O threads): see
 * sandbox.h.  The data directory, the local socket's directory and the
 * spool stay writable. */
static int confine(agent *a, fp_error *err)
{
    char ipc_dir[4096];
    const char *writable[] = {
        a->cfg.data_dir, sandbox_ipc_dir(a->cfg.socket_endpoint, ipc_dir, sizeof ipc_dir),
        a->cfg.spool_dir};
    sandbox_report rep;
    int rc = sandbox_enter(writable, 3, &rep, err);
    if (rc == FP_OK)
        log_event(&a->log, LOG_INFO, "sandbox", "%s", rep.summary);
    return rc;
}

int agent_open(agent *a, const agent_config *cfg, const fp_log *log, fp_error *err)
{
    memset(a, 0, sizeof *a);
    a->cfg = *cfg;
    a->log = *log;
    a->resend_interval_ms = cfg->resend_min_ms;
    if (!cfg->identity_dir || !cfg->ca_dir || !cfg->policy_path || !cfg->data_dir ||
        !cfg->broker_endpoint || !cfg->socket_endpoint)
        return fp_error_set(err, FP_ERR_INPUT,
                            "--identity, --ca, --policy, --data, --broker and --socket are "
                            "all required (see --help)");
    int rc = load_trust(a, cfg, err);
    if (rc != FP_OK)
        return rc;
    rc = agent_store_open(&a->store, cfg->data_dir, cfg->map_size, err);
    if (rc != FP_OK)
        return fp_error_wrap(err, "--data %s", cfg->data_dir);
    if ((rc = keyring_open(&a->keys, cfg->data_dir, a->id.box_secret, err)) != FP_OK)
        return fp_error_wrap(err, "--data %s", cfg->data_dir);
    if ((rc = confine(a, err)) != FP_OK)
        return rc;
    if (outbox_tracker_new(&a->tracker) != FP_OK)
        return fp_error_set(err, FP_ERR_IO, "out of memory");
    a->deferred = deferred_writer_start(a);   /* NULL: views and answers written inline */
    if ((rc = witness_open(a, &a->witness, err)) != FP_OK)
        return rc;
    a->zmq = zmq_ctx_new();
    if (a->zmq == NULL)
        return fp_error_set(err, FP_ERR_IO, "cannot start ZeroMQ");
    rc = connect_broker(a, err);
    if (rc == FP_OK)
        rc = local_api_bind(a, err);
    return rc;
}

void agent_close(agent *a)
{
    deferred_writer_stop(a->deferred);   /* commits what is still queued */
    disconnect_broker(a);
    if (a->api)
        zmq_close(a->api);
    if (a->zmq)
        zmq_ctx_term(a->zmq);
    outbox_tracker_free(a->tracker);
    witness_free(a->witness);
    agent_store_close(a->store);
    box_cache_free(a->boxes);
    keyring_free(a->keys);
    policy_free(a->policy);
    trust_store_free(a->trust);
    identity_free(&a->id);
    memset(a, 0, sizeof *a);
}

int agent_send_to_broker(agent *a, const Flagpost__ToBroker *msg)
{
    if (a->broker == NULL)
        return FP_ERR_UNAVAILABLE;
    size_t len = flagpost__to_broker__get_packed_size(msg);
    zmq_msg_t m;
    if (zmq_msg_init_size(&m, len) != 0)
        return FP_ERR_IO;
    flagpost__to_broker__pack(msg, zmq_msg_data(&m));
    if (zmq_msg_send(&m, a->broker, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&m);
        if (a->broker_up)
            log_event(&a->log, LOG_WARN, "broker-unreachable", "endpoint=%s",
                      a->cfg.broker_endpoint);
        a->broker_up = false;
        return FP_ERR_UNAVAILABLE;
    }
    return FP_OK;
}

static void send_hello(agent *a)
{
    Flagpost__Hello hello = FLAGPOST__HELLO__INIT;
    Flagpost__ToBroker msg = FLAGPOST__TO_BROKER__INIT;
    msg.kind_case = FLAGPOST__TO_BROKER__KIND_HELLO;
    msg.hello = &hello;
    agent_send_to_broker(a, &msg);
}

/* ---------------------------------------------------------------- events */

static void handle_monitor(agent *a)
{
    for (;;) {
        zmq_msg_t ev, addr;
        zmq_msg_init(&ev);
        zmq_msg_init(&addr);
        if (zmq_msg_recv(&ev, a->monitor, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&ev);
            zmq_msg_close(&addr);
            return;
        }
        zmq_msg_recv(&addr, a->monitor, 0);
        uint16_t event = 0;
        if (zmq_msg_size(&ev) >= 2)
            memcpy(&event, zmq_msg_data(&ev), 2);
        if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
            log_event(&a->log, LOG_INFO, "broker-connected", "endpoint=%s",
                      a->cfg.broker_endpoint);
            a->broker_up = true;
            a->resend_interval_ms = a->cfg.resend_min_ms;
            a->next_hello_ms = 0;
            a->next_resend_ms = 0;
        } else if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) {
            log_event(&a->log, LOG_ERROR, "broker-refused-certificate",
                      "endpoint=%s hint=\"our certificate is unknown to the broker, revoked "
                      "or expired; ask the partnership CA\"", a->cfg.broker_endpoint);
            a->broker_up = false;
        } else if (event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL) {
            log_event(&a->log, LOG_ERROR, "broker-handshake-failed", "endpoint=%s",
                      a->cfg.broker_endpoint);
            a->broker_up = false;
        } else if (event == ZMQ_EVENT_DISCONNECTED) {
            if (a->broker_up)
                log_event(&a->log, LOG_WARN, "broker-disconnected", "endpoint=%s",
                          a->cfg.broker_endpoint);
            a->broker_up = false;
        }
        zmq_msg_close(&ev);
        zmq_msg_close(&addr);
    }
}

static void handle_broker(agent *a)
{
    Flagpost__ToAgent *msgs[DRAIN_MAX];
    Flagpost__ToAgent *batch[RECEIVER_MAX_BATCH];
    Flagpost__PublishResult *results[OUTBOX_MAX_RESULTS];
    size_t nmsg = 0, ndel = 0, nres = 0;
    while (nmsg < DRAIN_MAX && ndel < RECEIVER_MAX_BATCH) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, a->broker, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&m);
            break;
        }
        Flagpost__ToAgent *msg = flagpost__to_agent__unpack(NULL, zmq_msg_size(&m),
                                                            zmq_msg_data(&m));
        zmq_msg_close(&m);
        a->last_heard_ms = envelope_now_ms();
        a->resend_interval_ms = a->cfg.resend_min_ms;
        if (msg == NULL) {
            log_event(&a->log, LOG_WARN, "broker-message-malformed", NULL);
            continue;
        }
        msgs[nmsg++] = msg;
        switch (msg->kind_case) {
        case FLAGPOST__TO_AGENT__KIND_DELIVER:
        case FLAGPOST__TO_AGENT__KIND_NOTICE:
            batch[ndel++] = msg;
            break;
        case FLAGPOST__TO_AGENT__KIND_PUBLISH_RESULT:
            if (nres < OUTBOX_MAX_RESULTS)   /* DRAIN_MAX keeps it so; a lost one is resent */
                results[nres++] = msg->publish_result;
            break;
        case FLAGPOST__TO_AGENT__KIND_CHECKPOINT:
            witness_on_checkpoint(a, msg->checkpoint);
            break;
        case FLAGPOST__TO_AGENT__KIND_CONSISTENCY_PROOF:
            witness_on_proof(a, msg->consistency_proof);
            break;
        default:
            break;
        }
    }
    outbox_handle_results(a, results, nres);
    receiver_handle_batch(a, batch, ndel);
    for (size_t i = 0; i < nmsg; i++)
        flagpost__to_agent__free_unpacked(msgs[i], NULL);
}

static void run_timers(agent *a, int64_t now)
{
    if (a->broker == NULL && now >= a->next_hello_ms) {   /* a reconnect failed: retry */
        fp_error err;
        a->next_hello_ms = now + 5000;
        if (connect_broker(a, &err) != FP_OK) {
            log_event(&a->log, LOG_ERROR, "reconnect-failed", "error=\"%s\"", err.message);
            disconnect_broker(a);
        }
        return;
    }
    if (a->broker_up && now >= a->next_hello_ms) {
        send_hello(a);
        a->next_hello_ms = now + a->cfg.heartbeat_ms;
    }
    if (now >= a->next_resend_ms) {
        outbox_resend_begin(a);
        a->next_resend_ms = now + a->resend_interval_ms;
        /* Back off while the broker stays silent; any answer resets it. */
        if (a->resend_interval_ms < a->cfg.resend_max_ms)
            a->resend_interval_ms *= 2;
        if (a->resend_interval_ms > a->cfg.resend_max_ms)
            a->resend_interval_ms = a->cfg.resend_max_ms;
    }
    outbox_resend_step(a, now);
    local_api_expire_waiters(a, now);
    if (a->deferred != NULL)
        deferred_writer_collect(a->deferred);
    spool_poll(a, now);
    witness_tick(a, now);
    marac_run_timers(a, now);
}

/* ---------------------------------------------------------------- reload */

static bool same_broker_key(const agent *a, const trust_store *before)
{
    int64_t now = envelope_now_ms() / 1000;
    const cert_info *x = trust_store_broker(before, now, NULL);
    const cert_info *y = trust_store_broker(a->trust, now, NULL);
    return x != NULL && y != NULL && memcmp(x->curve_public, y->curve_public, 32) == 0;
}

/* Swap in a re-issued identity: new keys, new connection. */
static int swap_identity(agent *a, identity *fresh, fp_error *err)
{
    box_cache *boxes = NULL;
    keyring *keys = NULL;
    int rc = box_cache_new(&boxes, fresh->box_secret, err);
    if (rc == FP_OK)
        rc = keyring_open(&keys, a->cfg.data_dir, fresh->box_secret, err);
    if (rc != FP_OK) {
        box_cache_free(boxes);
        return rc;
    }
    identity_free(&a->id);
    a->id = *fresh;
    memset(fresh, 0, sizeof *fresh);
    box_cache_free(a->boxes);
    keyring_free(a->keys);
    a->boxes = boxes;
    a->keys = keys;
    return FP_OK;
}

void agent_reload(agent *a)
{
    fp_error err;
    trust_store *trust = NULL;
    policy *pol = NULL;
    identity fresh;
    memset(&fresh, 0, sizeof fresh);
    if (trust_store_load(&trust, a->cfg.ca_dir, &err) != FP_OK ||
        policy_load(&pol, a->cfg.policy_path, trust_store_ca_public(trust), &err) != FP_OK ||
        identity_load(&fresh, a->cfg.identity_dir, trust_store_ca_public(trust), &err) != FP_OK) {
        log_event(&a->log, LOG_ERROR, "reload-failed", "error=\"%s\" action=\"kept the loaded "
                  "configuration\"", err.message);
        policy_free(pol);
        trust_store_free(trust);
        identity_free(&fresh);
        return;
    }
    trust_store *before = a->trust;
    a->trust = trust;
    policy_free(a->policy);
    a->policy = pol;
    bool rotated = fresh.cert.serial != a->id.cert.serial;
    bool reconnect = rotated || !same_broker_key(a, before);
    trust_store_free(before);
    if (rotated && swap_identity(a, &fresh, &err) != FP_OK) {
        log_event(&a->log, LOG_ERROR, "reload-failed", "what=identity error=\"%s\"", err.message);
        reconnect = false;
    }
    identity_free(&fresh);
    log_event(&a->log, LOG_INFO, "reloaded", "certificates=%zu policy=%s serial=%llu reconnect=%s",
              trust_store_count(a->trust), policy_name(a->policy),
              (unsigned long long)a->id.cert.serial, reconnect ? "yes" : "no");
    if (reconnect) {
        disconnect_broker(a);
        if (connect_broker(a, &err) != FP_OK) {
            log_event(&a->log, LOG_ERROR, "reconnect-failed", "error=\"%s\"", err.message);
            disconnect_broker(a);   /* the timer retries */
        }
    }
}

int agent_run(agent *a, agent_signals *sig, fp_error *err)
{
    log_event(&a->log, LOG_INFO, "agent-started", "agency=%s broker=%s socket=%s",
              a->id.cert.agency_id, a->cfg.broker_endpoint, a->cfg.socket_endpoint);
    while (!sig->stop) {
        if (sig->reload) {
            sig->reload = 0;
            agent_reload(a);
        }
        zmq_pollitem_t items[] = {{a->api, 0, ZMQ_POLLIN, 0},
                                  {a->broker, 0, ZMQ_POLLIN, 0},
                                  {a->monitor, 0, ZMQ_POLLIN, 0}};
        long wait_ms = outbox_resend_wait_ms(a, envelope_now_ms(), 100);
        int n = zmq_poll(items, a->broker != NULL ? 3 : 1, wait_ms);
        if (n < 0 && zmq_errno() != EINTR)
            return fp_error_set(err, FP_ERR_IO, "poll failed: %s", zmq_strerror(zmq_errno()));
        if (n > 0 && a->broker != NULL && (items[2].revents & ZMQ_POLLIN))
            handle_monitor(a);
        if (n > 0 && a->broker != NULL && (items[1].revents & ZMQ_POLLIN))
            handle_broker(a);
        if (n > 0 && (items[0].revents & ZMQ_POLLIN))
            local_api_handle(a);
        run_timers(a, envelope_now_ms());
    }
    log_event(&a->log, LOG_INFO, "agent-stopping", "agency=%s", a->id.cert.agency_id);
    return FP_OK;
}
