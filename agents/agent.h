/*
 * agent: one agency's flagpost agent.  It holds the agency's keys, its
 * durable outbox, its store of received flags, and serves the agency's own
 * systems on a local socket.
 *
 * One thread, one event loop (agent_run): it polls the broker connection
 * and the local socket, and runs timers for heartbeats and resends.  (The
 * one other thread, deferred_writer, only commits the view records lookups
 * cause and writes the broker's answers into their records, so neither a
 * lookup nor a publish waits behind those fsyncs.)  A flag
 * moves through the agent in one direction per path:
 *   publishing:  local_api -> flag_json -> publisher (policy, pseudonyms,
 *                seal) -> agent_store outbox (commit) -> outbox (sign, send)
 *                -> broker's PublishResult -> outbox (answer caller) ->
 *                deferred_writer (record the answer, lazily)
 *   receiving:   broker Deliver -> receiver (verify, policy, open, check
 *                fields) -> agent_store (commit) -> DeliveryAck
 *   looking up:  local_api -> lookup (pseudonyms, store, open) -> reply,
 *                then a signed view report through the outbox
 * The struct is shared by those modules (they are the agent's parts), and
 * owned by agent_main.
 */
#ifndef FLAGPOST_AGENT_H
#define FLAGPOST_AGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent_store.h"
#include "fp_error.h"
#include "identity.h"
#include "log.h"
#include "payload.h"
#include "policy.h"
#include "trust_store.h"

typedef struct agent_config {
    const char *identity_dir;
    const char *ca_dir;
    const char *policy_path;
    const char *data_dir;
    const char *broker_endpoint;    /* tcp://host:port */
    const char *socket_endpoint;    /* ipc://PATH for the agency's systems */
    const char *spool_dir;          /* --spool: file-drop integration (spool.h), or NULL */
    int64_t publish_wait_ms;        /* wait this long for the broker before answering "pending" */
    int64_t heartbeat_ms;
    int64_t resend_min_ms;
    int64_t resend_max_ms;
    size_t map_size;
} agent_config;

void agent_config_defaults(agent_config *cfg);

/* A publish call waiting for the broker's answer. */
typedef struct agent_waiter {
    unsigned char message_id[16];
    unsigned char client[256];      /* local API routing frames */
    size_t client_len;
    int64_t deadline_ms;
    bool used;
} agent_waiter;

#define AGENT_MAX_WAITERS 256

typedef struct outbox_tracker outbox_tracker;
typedef struct witness witness;
typedef struct keyring keyring;

/* A resend round goes through the pending records in steps, so that the
 * loop serves its sockets between them (outbox_resend_step). */
typedef struct outbox_round {
    bool active;
    bool resume;                  /* after holds the last record visited */
    unsigned char after[16];
    size_t sent;
    int64_t interval_ms;          /* records sent within it are skipped */
    int64_t next_step_ms;
} outbox_round;

typedef struct agent {
    agent_config cfg;
    fp_log log;
    identity id;
    trust_store *trust;
    policy *policy;
    box_cache *boxes;               /* sealing, with the current box key */
    keyring *keys;                  /* opening, with every box key we have held */
    agent_store *store;
    void *zmq;
    void *broker;                   /* DEALER, CURVE client */
    void *api;                      /* ROUTER on the local socket */
    void *monitor;                  /* PAIR: broker socket events */
    agent_waiter waiters[AGENT_MAX_WAITERS];
    outbox_tracker *tracker;
    struct deferred_writer *deferred;   /* view records and answers, written off the loop (deferred_writer.h) */
    witness *witness;
    int64_t last_heard_ms;          /* last message from the broker */
    int64_t next_hello_ms;
    int64_t next_resend_ms;
    int64_t resend_interval_ms;
    outbox_round resend;            /* the resend round in progress (outbox.h) */
    int64_t next_spool_ms;          /* next look into the spool's in/ */
    bool broker_up;
    unsigned connections;           /* broker sockets opened so far */
    uint64_t stats_published, stats_received, stats_rejected, stats_views;
} agent;

/* Load keys, trust, policy and store; bind and connect.  Errors name the
 * file or option at fault. */
int agent_open(agent *a, const agent_config *cfg, const fp_log *log, fp_error *err);
void agent_close(agent *a);

/* Signals, set by handlers in main and read by the loop. */
typedef struct agent_signals {
    volatile int stop;      /* SIGTERM/SIGINT */
    volatile int reload;    /* SIGHUP: trust bundle, revocations, policy, identity */
} agent_signals;

int agent_run(agent *a, agent_signals *sig, fp_error *err);

/* Reload the trust bundle, the signed policy and the identity directory; a
 * re-issued identity (key rotation) or a new broker certificate reconnects
 * the broker socket.  Nothing queued is lost: the outbox and the broker's
 * queues are durable.  On any error the agent keeps what it had. */
void agent_reload(agent *a);

/* Send a protobuf ToBroker (no-op with a log line if the broker is away). */
int agent_send_to_broker(agent *a, const Flagpost__ToBroker *msg);

/* The sector of an agency from its certificate (NULL if unknown/invalid). */
const char *agent_sector_of(const agent *a, const char *agency_id, int64_t now);

#endif
