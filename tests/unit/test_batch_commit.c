/*
 * Unit tests for broker/batch.c when a batch's write transaction does not
 * commit: what staging changed in memory (the session table, each
 * connection's in-flight count, the statistics) must be put back, so that
 * memory never claims what the store does not hold.
 *
 * The batch loop is driven as the broker runs it, through
 * batch_process_waiting on a real ROUTER socket (ipc://, NULL mechanism;
 * this test answers ZAP itself and names the agency, as zap.c does after
 * CURVE), over a real broker store and a trust store with a real
 * certificate.  The commit fails for real: RLIMIT_FSIZE below the data
 * file's size (SIGXFSZ ignored) makes LMDB's write of the transaction's
 * pages fail with EFBIG, as a disk error would, and the batch's retry
 * without intake fails the same way.
 */
#include <signal.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <zmq.h>

#include "agency_limit.h"
#include "batch.h"
#include "broker_world.h"
#include "ca_fixture.h"
#include "check.h"
#include "delivery.h"
#include "envelope.h"
#include "verify_pool.h"

#define AGENCY "housing-hf"
#define WAIT_MS 5000

typedef struct world {
    fixture f;      /* the broker store */
    fx ca;          /* the CA, whose directory is also the trust bundle */
    broker b;
    void *zap;      /* this test's ZAP handler */
    void *agent;    /* the agency's DEALER */
} world;

static bool world_trust(world *w)
{
    fp_error err = {0};
    if (!fx_setup(&w->ca) || fx_issue(&w->ca, AGENCY, "housing", "housing", NULL) != FP_OK)
        return false;
    if (trust_store_load(&w->b.trust, w->ca.ca, &err) != FP_OK) {
        printf("#   trust_store_load: %s\n", err.message);
        return false;
    }
    return true;
}

static bool world_parts(broker *b)
{
    broker_config_defaults(&b->cfg);
    b->cfg.agency_rate = 0;   /* unlimited */
    return peers_new(&b->peers) == 0 && (b->limits = agency_limit_new(0, 0)) != NULL &&
           (b->vpool = verify_pool_new(0)) != NULL &&
           (b->batches = batches_new(b->cfg.batch_max)) != NULL;
}

static bool world_sockets(world *w)
{
    broker *b = &w->b;
    char sock[600], endpoint[700];
    snprintf(endpoint, sizeof endpoint, "ipc://%s",
             tmpdir_file(&w->f.dir, "sock", sock, sizeof sock));
    int zero = 0, one = 1;
    b->zmq = zmq_ctx_new();
    w->zap = zmq_socket(b->zmq, ZMQ_REP);
    b->router = zmq_socket(b->zmq, ZMQ_ROUTER);
    w->agent = zmq_socket(b->zmq, ZMQ_DEALER);
    if (w->zap == NULL || b->router == NULL || w->agent == NULL)
        return false;
    zmq_setsockopt(w->zap, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(b->router, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(w->agent, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(b->router, ZMQ_ZAP_DOMAIN, "flagpost", 8);   /* ZAP even for NULL */
    zmq_setsockopt(b->router, ZMQ_ROUTER_MANDATORY, &one, sizeof one);
    return zmq_bind(w->zap, "inproc://zeromq.zap.01") == 0 &&
           zmq_bind(b->router, endpoint) == 0 && zmq_connect(w->agent, endpoint) == 0;
}

static bool world_open(world *w, const char *name)
{
    memset(w, 0, sizeof *w);
    if (!bw_open(&w->f, &w->b, name, "test_batch_commit"))
        return false;
    return world_trust(w) && world_parts(&w->b) && world_sockets(w);
}

static void world_close(world *w)
{
    broker *b = &w->b;
    batch_finish_held(b);
    batches_free(b->batches);
    zmq_close(w->agent);
    zmq_close(b->router);
    zmq_close(w->zap);
    zmq_ctx_term(b->zmq);
    verify_pool_free(b->vpool);
    agency_limit_free(b->limits);
    peers_free(b->peers);
    trust_store_free(b->trust);
    fx_teardown(&w->ca);
    bw_close(&w->f, b);
}

/* Answer one ZAP request: admitted, as AGENCY (the User-Id batch.c reads). */
static bool serve_zap(world *w)
{
    zmq_pollitem_t it = {.socket = w->zap, .events = ZMQ_POLLIN};
    if (zmq_poll(&it, 1, WAIT_MS) != 1)
        return false;
    char request_id[256] = "";
    int id_len = 0, more = 1;
    for (int frame = 0; more; frame++) {
        char buf[256];
        int n = zmq_recv(w->zap, buf, sizeof buf, 0);
        if (n < 0)
            return false;
        if (frame == 1) {
            id_len = n < (int)sizeof request_id ? n : (int)sizeof request_id;
            memcpy(request_id, buf, (size_t)id_len);
        }
        size_t len = sizeof more;
        zmq_getsockopt(w->zap, ZMQ_RCVMORE, &more, &len);
    }
    zmq_send(w->zap, "1.0", 3, ZMQ_SNDMORE);
    zmq_send(w->zap, request_id, (size_t)id_len, ZMQ_SNDMORE);
    zmq_send(w->zap, "200", 3, ZMQ_SNDMORE);
    zmq_send(w->zap, "OK", 2, ZMQ_SNDMORE);
    zmq_send(w->zap, AGENCY, strlen(AGENCY), ZMQ_SNDMORE);
    return zmq_send(w->zap, "", 0, 0) == 0;
}

static bool agent_send(world *w, const Flagpost__ToBroker *msg)
{
    uint8_t buf[512];
    size_t len = flagpost__to_broker__get_packed_size(msg);
    if (len > sizeof buf)
        return false;
    flagpost__to_broker__pack(msg, buf);
    return zmq_send(w->agent, buf, len, 0) == (int)len;
}

static bool agent_hello(world *w)
{
    Flagpost__Hello hello;
    flagpost__hello__init(&hello);
    Flagpost__ToBroker msg;
    flagpost__to_broker__init(&msg);
    msg.kind_case = FLAGPOST__TO_BROKER__KIND_HELLO;
    msg.hello = &hello;
    return agent_send(w, &msg);
}

static bool agent_ack(world *w, uint64_t seq)
{
    Flagpost__DeliveryAckItem item, *items[1] = {&item};
    flagpost__delivery_ack_item__init(&item);
    item.seq = seq;
    item.stored = true;
    Flagpost__DeliveryAck ack;
    flagpost__delivery_ack__init(&ack);
    ack.items = items;
    ack.n_items = 1;
    Flagpost__ToBroker msg;
    flagpost__to_broker__init(&msg);
    msg.kind_case = FLAGPOST__TO_BROKER__KIND_DELIVERY_ACK;
    msg.delivery_ack = &ack;
    return agent_send(w, &msg);
}

/* Run the broker's batch loop once over what the agent sent. */
static bool broker_turn(world *w)
{
    zmq_pollitem_t it = {.socket = w->b.router, .events = ZMQ_POLLIN};
    if (zmq_poll(&it, 1, WAIT_MS) != 1)
        return false;
    batch_process_waiting(&w->b);
    batch_finish_held(&w->b);
    return true;
}

/* The same, with every write to a file beyond its first page refused
 * (EFBIG): LMDB cannot write the transaction, so the commit fails. */
static bool broker_turn_commit_fails(world *w)
{
    struct rlimit old, tight;
    if (getrlimit(RLIMIT_FSIZE, &old) != 0)
        return false;
    tight = old;
    tight.rlim_cur = 4096;
    signal(SIGXFSZ, SIG_IGN);
    if (setrlimit(RLIMIT_FSIZE, &tight) != 0)
        return false;
    bool ok = broker_turn(w);
    setrlimit(RLIMIT_FSIZE, &old);
    return ok;
}

/* The first turn: the connection's handshake (ZAP) and its hello. */
static bool connect_agent(world *w)
{
    return agent_hello(w) && serve_zap(w) && broker_turn(w);
}

static uint64_t audit_size(world *w)
{
    MDB_txn *txn = NULL;
    uint64_t size = UINT64_MAX;
    if (broker_store_begin(w->b.store, false, &txn, NULL) == FP_OK) {
        audit_log_size(broker_store_audit(w->b.store), txn, &size);
        broker_store_abort(txn);
    }
    return size;
}

static int audit_event(world *w, uint64_t index)
{
    MDB_txn *txn = NULL;
    int event = -1;
    const uint8_t *bytes = NULL;
    size_t len = 0;
    if (broker_store_begin(w->b.store, false, &txn, NULL) != FP_OK)
        return -1;
    if (audit_log_get(broker_store_audit(w->b.store), txn, index, &bytes, &len, NULL) ==
        FP_OK) {
        Flagpost__AuditEntry *e = flagpost__audit_entry__unpack(NULL, len, bytes);
        if (e != NULL && strcmp(e->sender, AGENCY) == 0)
            event = (int)e->event;
        if (e != NULL)
            flagpost__audit_entry__free_unpacked(e, NULL);
    }
    broker_store_abort(txn);
    return event;
}

/* Queue n notices for AGENCY (any ToAgent will do: acknowledgements
 * release by number). */
static bool queue_notices(world *w, int n)
{
    MDB_txn *txn = NULL;
    fp_error err = {0};
    int rc = broker_store_begin(w->b.store, true, &txn, &err);
    for (int i = 0; rc == FP_OK && i < n; i++) {
        Flagpost__Notice notice;
        flagpost__notice__init(&notice);
        notice.kind = (char *)"view";
        notice.text = (char *)"seen";
        notice.agency = (char *)AGENCY;
        Flagpost__ToAgent msg;
        flagpost__to_agent__init(&msg);
        msg.kind_case = FLAGPOST__TO_AGENT__KIND_NOTICE;
        msg.notice = &notice;
        uint64_t seq = 0;
        rc = broker_store_enqueue(w->b.store, txn, AGENCY, &msg, &seq, &err);
    }
    if (rc == FP_OK)
        rc = broker_store_commit(txn, &err);
    else if (txn != NULL)
        broker_store_abort(txn);
    if (rc != FP_OK)
        printf("#   queueing: %s\n", err.message);
    return rc == FP_OK;
}

static uint64_t queue_depth(world *w)
{
    MDB_txn *txn = NULL;
    uint64_t depth = UINT64_MAX;
    if (broker_store_begin(w->b.store, false, &txn, NULL) == FP_OK) {
        broker_store_queue_depth(w->b.store, txn, AGENCY, &depth);
        broker_store_abort(txn);
    }
    return depth;
}

/* Suspicion 1: a new connection's agent_connected entry, staged in a
 * batch that did not commit, is written by a later batch that does. */
static void test_connect_audited_after_a_failed_commit(void)
{
    world w;
    CHECK(world_open(&w, "batch-commit-connect"));
    CHECK(agent_hello(&w));
    CHECK(serve_zap(&w));
    CHECK(broker_turn_commit_fails(&w));
    CHECK_EQ_INT(audit_size(&w), 0);   /* the commit did fail */
    CHECK(agent_hello(&w));            /* the same connection speaks again */
    CHECK(broker_turn(&w));
    CHECK_EQ_INT(audit_size(&w), 1);
    CHECK_EQ_INT(audit_event(&w, 0), FLAGPOST__AUDIT_EVENT__AUDIT_AGENT_CONNECTED);
    peer *p = peers_find(w.b.peers, AGENCY);
    CHECK(p != NULL && p->connected);
    world_close(&w);
}

/* Suspicion 2: an acknowledgement in a batch that did not commit released
 * nothing, so the connection still has both deliveries in flight; the
 * stall check then sends them again (with the count at 0 it never would,
 * and the entry would wait for the next connection). */
static void test_inflight_kept_after_a_failed_commit(void)
{
    world w;
    CHECK(world_open(&w, "batch-commit-inflight"));
    CHECK(queue_notices(&w, 2));
    CHECK(connect_agent(&w));
    int64_t now = envelope_now_ms();
    delivery_pump(&w.b, now);
    peer *p = peers_find(w.b.peers, AGENCY);
    CHECK(p != NULL);
    if (p == NULL) {
        world_close(&w);
        return;
    }
    CHECK_EQ_INT(p->inflight, 2);
    CHECK(agent_ack(&w, 1));
    CHECK(broker_turn_commit_fails(&w));
    CHECK_EQ_INT(queue_depth(&w), 2);   /* nothing was released */
    CHECK_EQ_INT(p->inflight, 2);
    delivery_check_stalls(&w.b, p->last_progress_ms + 1001, 1000);
    CHECK_EQ_INT(p->cursor, 0);         /* rewound: both are sent again */
    world_close(&w);
}

/* Suspicion 3: a refusal staged in a batch that did not commit is not
 * counted (the statistics say what the audit trail holds). */
static void test_stats_unchanged_by_a_failed_commit(void)
{
    world w;
    CHECK(world_open(&w, "batch-commit-stats"));
    CHECK(connect_agent(&w));
    uint64_t refused = w.b.stats_refused, audited = audit_size(&w);
    const uint8_t garbage[] = {0xff, 0xff, 0xff, 0xff};   /* not a ToBroker */
    CHECK(zmq_send(w.agent, garbage, sizeof garbage, 0) == (int)sizeof garbage);
    CHECK(broker_turn_commit_fails(&w));
    CHECK_EQ_INT(audit_size(&w), audited);
    CHECK_EQ_INT(w.b.stats_refused, refused);
    /* The nearest committed case is counted. */
    CHECK(zmq_send(w.agent, garbage, sizeof garbage, 0) == (int)sizeof garbage);
    CHECK(broker_turn(&w));
    CHECK_EQ_INT(audit_size(&w), audited + 1);
    CHECK_EQ_INT(w.b.stats_refused, refused + 1);
    world_close(&w);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    RUN(test_connect_audited_after_a_failed_commit);
    RUN(test_inflight_kept_after_a_failed_commit);
    RUN(test_stats_unchanged_by_a_failed_commit);
    return check_summary();
}
