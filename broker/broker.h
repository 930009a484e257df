/*
 * broker: the partnership's central broker.
 *
 * One thread runs the event loop (broker_run) over two sockets: the
 * CURVE ROUTER agents connect to and the ZAP handler that admits them; a
 * second thread watches new connections (admission.h).  A message flows
 * one way through the broker's modules:
 *   admission  closes connections from addresses over their rate limit
 *              before their handshake costs CPU
 *   zap        admits only keys of valid, unrevoked certificates, and tells
 *              the ROUTER which agency each connection is
 *   agency_limit turns away (RETRY) an agency's messages over its rate
 *   verify_pool checks every signature of a batch in parallel, on all cores
 *   intake     verifies (signature, sender, replay, clock, shape), decides
 *              every recipient under the policy, and stages queue and audit
 *              writes
 *   broker_store commits a whole batch in one transaction (group commit)
 *   then the sender is answered, and delivery pumps each recipient's queue
 *   until the recipient acknowledges after its own commit.  seen_prune
 *   later forgets message ids the clock check has made redundant.
 * The struct is shared by those modules and owned by broker_main.
 */
#ifndef FLAGPOST_BROKER_H
#define FLAGPOST_BROKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "audit_log.h"
#include "broker_store.h"
#include "fp_error.h"
#include "fp_limits.h"
#include "identity.h"
#include "log.h"
#include "peers.h"
#include "policy.h"
#include "seen_prune.h"
#include "trust_store.h"

/* Limits (docs/deploy.md, "Limits").  An agency's real volume is tens of
 * flags a day; the message rate is there so that one broken or hostile
 * agency cannot take the broker from the others.  A CURVE handshake costs
 * about 0.5 ms of CPU, so the connection rates bound what unauthenticated
 * peers can cost: at most about 100 a second from unknown addresses. */
#define BROKER_DEFAULT_AGENCY_RATE 500.0
#define BROKER_DEFAULT_AGENCY_BURST 10000.0
#define BROKER_DEFAULT_CONNECT_RATE 10.0
#define BROKER_DEFAULT_CONNECT_RATE_TOTAL 100.0
#define BROKER_HANDSHAKE_MS 10000

typedef struct broker_config {
    const char *identity_dir;
    const char *ca_dir;
    const char *policy_path;
    const char *data_dir;
    const char *bind_endpoint;
    int64_t skew_ms;
    int64_t seen_retention_ms;     /* keep message ids this long (seen_prune.h) */
    int64_t presence_timeout_ms;   /* no word from an agent this long: disconnected */
    size_t delivery_window;        /* unacknowledged deliveries per agency */
    size_t delivery_window_bytes;  /* ... and their bytes (one always goes) */
    size_t batch_max;              /* messages per group commit */
    size_t batch_max_bytes;        /* ... and their bytes (the message crossing it ends it) */
    size_t map_size;
    int64_t checkpoint_ms;         /* sign a checkpoint at least this often while busy */
    int64_t max_message_bytes;     /* larger: refused; twice this: ZMQ_MAXMSGSIZE cut-off */
    double agency_rate;            /* publishes + events per agency per second; 0: unlimited */
    double agency_burst;
    double connect_rate;           /* new connections per source address per second; 0: off */
    double connect_rate_total;     /* ... from all addresses not recently authenticated */
} broker_config;

void broker_config_defaults(broker_config *cfg);

typedef struct broker {
    broker_config cfg;
    fp_log log;
    identity id;
    trust_store *trust;
    policy *policy;
    broker_store *store;
    peers *peers;
    struct verify_pool *vpool;     /* signature checks across cores (verify_pool.h) */
    struct verify_checks *staging_checks;   /* answers for the batch being staged, or NULL */
    struct batches *batches;       /* the group-commit pipeline (batch.h) */
    struct agency_limit *limits;   /* per-agency message rate (agency_limit.h) */
    struct admission *admission;   /* connection flood defence (admission.h) */
    seen_prune pruning;            /* the replay table's sweep and floor (seen_prune.h) */
    void *zmq;
    void *router;
    void *zap;
    bool storage_full;             /* last commit hit MDB_MAP_FULL / ENOSPC */
    int64_t last_checkpoint_ms;
    uint64_t stats_accepted, stats_refused, stats_delivered;
} broker;

int broker_open(broker *b, const broker_config *cfg, const fp_log *log, fp_error *err);
void broker_close(broker *b);
/* Signals, set by handlers in main and read by the loop. */
typedef struct broker_signals {
    volatile int stop;      /* SIGTERM/SIGINT: finish the batch and close */
    volatile int reload;    /* SIGHUP: reload trust bundle, revocations, policy */
} broker_signals;

int broker_run(broker *b, broker_signals *sig, fp_error *err);

/* Reload the trust bundle (certificates and revocation list), ending the
 * sessions of agencies it no longer admits (sessions.h), then the signed
 * policy.  Each is kept as before if its new version fails to load; a bad
 * policy file never holds back a new revocation list. */
void broker_reload(broker *b);

/* Send one ToAgent to a connected agency's connection.  FP_ERR_UNAVAILABLE
 * if it is not connected or its pipe is full. */
int broker_send(broker *b, const unsigned char *routing_id, size_t routing_len,
                const uint8_t *bytes, size_t len);

#endif
