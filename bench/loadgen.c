/*
 * bench/loadgen: flags per second through a real broker.
 *
 *   loadgen --bundle DIR --ids DIR --broker EP --from A,B,C,D --to X,Y,Z
 *           [--flags N] [--window W] [--absent] [--pad BYTES]
 *
 * Each --from agency gets its own CURVE connection (its own identity from
 * IDS/id-AGENCY) and sends N flags, each addressed to every --to agency,
 * keeping at most W unanswered.  The flags are real (pseudonyms, sealed
 * parts, digests, signatures: see flagmaker.h) and are all built before
 * the clock starts, so the generator spends its time sending, not signing.
 *
 * Each --to agency is a fast consumer on its own CURVE connection: it
 * acknowledges every delivery as stored at once, without verifying or
 * storing it (that is the recipient agent's cost, measured elsewhere).  A
 * flag counts only when the broker has accepted it (verified, decided,
 * committed with its audit entries, answered) and every recipient has
 * received and acknowledged it; the broker releases a queue entry and
 * writes its delivery audit entry only on that acknowledgement, and its
 * delivery window (unacknowledged deliveries per agency) keeps the
 * acknowledgements from falling behind.
 *
 * --absent: the --to agencies never connect; flags are built as they are
 * sent, and the run ends when the broker has accepted them all (they stay
 * queued).  Used to fill a broker with a million queued flags.
 *
 * Prints "broker_capacity_flags_per_s VALUE" (or, with --absent,
 * "queued_flags_per_s VALUE") and comment lines with the details.
 */
#include <getopt.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "../tests/tools/tool_hello.h"
#include "bench_time.h"
#include "flagmaker.h"

#define MAX_CONN 16
#define DRAIN 1024

typedef struct sender {
    identity id;
    void *sock;
    flagmaker fm;
    uint8_t **msgs;      /* pre-built (capacity mode) */
    size_t *lens;
    size_t next, answered, outstanding;
} sender;

typedef struct consumer {
    identity id;
    void *sock;
    uint64_t max_seq;
    size_t received;
} consumer;

typedef struct loadgen {
    const char *bundle, *ids, *broker;
    char *from[MAX_CONN], *to[MAX_CONN];
    size_t n_from, n_to, flags, window, pad;
    bool absent;
    trust_store *trust;
    void *ctx;
    sender s[MAX_CONN];
    consumer c[MAX_CONN];
    size_t refused, bytes_sent, msgs_sent;
} loadgen;

static size_t split(char *list, char **out)
{
    size_t n = 0;
    for (char *tok = strtok(list, ","); tok && n < MAX_CONN; tok = strtok(NULL, ","))
        out[n++] = tok;
    return n;
}

static void *connect_as(loadgen *g, identity *id, const char *agency)
{
    char dir[512];
    fp_error err;
    snprintf(dir, sizeof dir, "%s/id-%s", g->ids, agency);
    if (identity_load(id, dir, trust_store_ca_public(g->trust), &err) != FP_OK) {
        fprintf(stderr, "loadgen: %s\n", err.message);
        return NULL;
    }
    const cert_info *bc = trust_store_broker(g->trust, envelope_now_ms() / 1000, &err);
    if (bc == NULL) {
        fprintf(stderr, "loadgen: %s\n", err.message);
        return NULL;
    }
    void *sock = zmq_socket(g->ctx, ZMQ_DEALER);
    /* Linger, so the last acknowledgements still reach the broker after the
     * run (else it would redeliver them to whoever connects as us next). */
    int linger = 3000, hwm = 200000;
    zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(sock, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(sock, ZMQ_RCVHWM, &hwm, sizeof hwm);
    zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, bc->curve_public, 32);
    zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, id->cert.curve_public, 32);
    zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, id->curve_secret, 32);
    if (zmq_connect(sock, g->broker) != 0) {
        fprintf(stderr, "loadgen: --broker %s: %s\n", g->broker, zmq_strerror(zmq_errno()));
        zmq_close(sock);
        return NULL;
    }
    return sock;
}

static int build_one(loadgen *g, sender *s, size_t n, uint8_t **bytes, size_t *len)
{
    flagmaker_flag f;
    int rc = flagmaker_make(&s->fm, (unsigned long)(s - g->s) * 100000000UL + n, &f);
    *bytes = rc == 0 ? flagmaker_publish_bytes(&f, len) : NULL;
    flagmaker_flag_free(&f);
    return *bytes != NULL ? 0 : -1;
}

static int prebuild(loadgen *g)
{
    for (size_t i = 0; i < g->n_from; i++) {
        sender *s = &g->s[i];
        s->msgs = calloc(g->flags, sizeof *s->msgs);
        s->lens = calloc(g->flags, sizeof *s->lens);
        if (s->msgs == NULL || s->lens == NULL)
            return -1;
        for (size_t n = 0; n < g->flags; n++)
            if (build_one(g, s, n, &s->msgs[n], &s->lens[n]) != 0)
                return -1;
    }
    return 0;
}

static void fill_window(loadgen *g, sender *s)
{
    while (s->next < g->flags && s->outstanding < g->window) {
        uint8_t *bytes;
        size_t len;
        if (g->absent) {
            if (build_one(g, s, s->next, &bytes, &len) != 0)
                return;
        } else {
            bytes = s->msgs[s->next];
            len = s->lens[s->next];
        }
        int rc = zmq_send(s->sock, bytes, len, ZMQ_DONTWAIT);
        if (g->absent || rc >= 0) {
            free(bytes);
            if (!g->absent)
                s->msgs[s->next] = NULL;
        }
        if (rc < 0)
            return;
        g->bytes_sent += len;
        g->msgs_sent++;
        s->next++;
        s->outstanding++;
    }
}

static void read_results(loadgen *g, sender *s)
{
    for (int k = 0; k < DRAIN; k++) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, s->sock, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&m);
            return;
        }
        Flagpost__ToAgent *a = flagpost__to_agent__unpack(NULL, zmq_msg_size(&m), zmq_msg_data(&m));
        zmq_msg_close(&m);
        if (a != NULL && a->kind_case == FLAGPOST__TO_AGENT__KIND_PUBLISH_RESULT) {
            const Flagpost__PublishResult *r = a->publish_result;
            bool ok = r->status == FLAGPOST__RESULT_STATUS__RESULT_ACCEPTED;
            for (size_t i = 0; ok && i < r->n_decisions; i++)
                ok = r->decisions[i]->allowed;
            if (r->status != FLAGPOST__RESULT_STATUS__RESULT_RETRY) {
                if (!ok && g->refused++ < 3)
                    fprintf(stderr, "loadgen: a flag was not accepted: %s %s\n", r->error,
                            r->n_decisions ? r->decisions[0]->reason : "");
                s->answered++;
                if (s->outstanding > 0)
                    s->outstanding--;
            }
        }
        if (a != NULL)
            flagpost__to_agent__free_unpacked(a, NULL);
    }
}

static void consume(consumer *c)
{
    Flagpost__DeliveryAckItem items[DRAIN], *ptrs[DRAIN];
    size_t n = 0;
    while (n < DRAIN) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, c->sock, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&m);
            break;
        }
        Flagpost__ToAgent *a = flagpost__to_agent__unpack(NULL, zmq_msg_size(&m), zmq_msg_data(&m));
        zmq_msg_close(&m);
        if (a != NULL && a->kind_case == FLAGPOST__TO_AGENT__KIND_DELIVER) {
            uint64_t seq = a->deliver->seq;
            if (seq > c->max_seq) {
                c->max_seq = seq;
                c->received++;
            }
            flagpost__delivery_ack_item__init(&items[n]);
            items[n].seq = seq;
            items[n].stored = true;
            items[n].reason = (char *)"";
            ptrs[n] = &items[n];
            n++;
        }
        if (a != NULL)
            flagpost__to_agent__free_unpacked(a, NULL);
    }
    if (n == 0)
        return;
    Flagpost__DeliveryAck ack = FLAGPOST__DELIVERY_ACK__INIT;
    ack.items = ptrs;
    ack.n_items = n;
    Flagpost__ToBroker msg = FLAGPOST__TO_BROKER__INIT;
    msg.kind_case = FLAGPOST__TO_BROKER__KIND_DELIVERY_ACK;
    msg.delivery_ack = &ack;
    size_t len = flagpost__to_broker__get_packed_size(&msg);
    uint8_t *buf = malloc(len);
    if (buf == NULL)
        return;
    flagpost__to_broker__pack(&msg, buf);
    zmq_send(c->sock, buf, len, 0);
    free(buf);
}

static bool finished(const loadgen *g)
{
    for (size_t i = 0; i < g->n_from; i++)
        if (g->s[i].answered < g->flags)
            return false;
    for (size_t i = 0; !g->absent && i < g->n_to; i++)
        if (g->c[i].received < g->flags * g->n_from)
            return false;
    return true;
}

static size_t progress(const loadgen *g)
{
    size_t p = 0;
    for (size_t i = 0; i < g->n_from; i++)
        p += g->s[i].answered;
    for (size_t i = 0; i < g->n_to; i++)
        p += g->c[i].received;
    return p;
}

static int run(loadgen *g)
{
    zmq_pollitem_t items[2 * MAX_CONN];
    size_t n = 0;
    for (size_t i = 0; i < g->n_from; i++)
        items[n++] = (zmq_pollitem_t){g->s[i].sock, 0, ZMQ_POLLIN, 0};
    for (size_t i = 0; !g->absent && i < g->n_to; i++)
        items[n++] = (zmq_pollitem_t){g->c[i].sock, 0, ZMQ_POLLIN, 0};
    double t0 = bench_now_s(), next_hello = t0 + 1, last_progress = t0;
    size_t last = 0;
    while (!finished(g)) {
        for (size_t i = 0; i < g->n_from; i++)
            fill_window(g, &g->s[i]);
        if (zmq_poll(items, (int)n, 100) < 0)
            return -1;
        for (size_t i = 0; i < g->n_from; i++)
            read_results(g, &g->s[i]);
        for (size_t i = 0; !g->absent && i < g->n_to; i++)
            consume(&g->c[i]);
        double t = bench_now_s();
        if (t >= next_hello) {   /* presence, as an agent's heartbeat */
            for (size_t i = 0; !g->absent && i < g->n_to; i++)
                tool_hello_send(g->c[i].sock);
            next_hello = t + 1;
        }
        size_t p = progress(g);
        if (p != last) {
            last = p;
            last_progress = t;
        } else if (t - last_progress > 30) {
            fprintf(stderr, "loadgen: no progress for 30 s (answered/delivered %zu)\n", p);
            return -1;
        }
    }
    double secs = bench_now_s() - t0;
    size_t total = g->flags * g->n_from;
    printf("%s %.0f\n", g->absent ? "queued_flags_per_s" : "broker_capacity_flags_per_s",
           (double)total / secs);
    printf("# %zu flags from %zu agencies to %zu recipients each in %.2f s; mean publish "
           "message %zu bytes; %zu not accepted\n",
           total, g->n_from, g->n_to, secs, g->bytes_sent / (g->msgs_sent ? g->msgs_sent : 1),
           g->refused);
    return g->refused == 0 ? 0 : 1;
}

static int parse(loadgen *g, int argc, char **argv)
{
    static const struct option opts[] = {
        {"bundle", 1, NULL, 'b'}, {"ids", 1, NULL, 'i'},    {"broker", 1, NULL, 'e'},
        {"from", 1, NULL, 'f'},   {"to", 1, NULL, 't'},     {"flags", 1, NULL, 'n'},
        {"window", 1, NULL, 'w'}, {"absent", 0, NULL, 'a'}, {"pad", 1, NULL, 'p'},
        {NULL, 0, NULL, 0}};
    g->flags = 10000;
    g->window = 1000;
    g->pad = 0;
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'b': g->bundle = optarg; break;
        case 'i': g->ids = optarg; break;
        case 'e': g->broker = optarg; break;
        case 'f': g->n_from = split(optarg, g->from); break;
        case 't': g->n_to = split(optarg, g->to); break;
        case 'n': g->flags = strtoul(optarg, NULL, 10); break;
        case 'w': g->window = strtoul(optarg, NULL, 10); break;
        case 'a': g->absent = true; break;
        case 'p': g->pad = strtoul(optarg, NULL, 10); break;
        default: return -1;
        }
    }
    return g->bundle && g->ids && g->broker && g->n_from && g->n_to &&
                   g->n_to <= FLAGMAKER_MAX_TO && g->flags && g->window
               ? 0 : -1;
}

int main(int argc, char **argv)
{
    static loadgen g;
    if (parse(&g, argc, argv) != 0 || sodium_init() < 0) {
        fprintf(stderr, "usage: loadgen --bundle DIR --ids DIR --broker EP --from A,B,.. "
                        "--to X,Y,.. [--flags N] [--window W] [--absent] [--pad BYTES]\n");
        return 2;
    }
    fp_error err;
    if (trust_store_load(&g.trust, g.bundle, &err) != FP_OK) {
        fprintf(stderr, "loadgen: %s\n", err.message);
        return 1;
    }
    g.ctx = zmq_ctx_new();
    for (size_t i = 0; i < g.n_from; i++) {
        sender *s = &g.s[i];
        if ((s->sock = connect_as(&g, &s->id, g.from[i])) == NULL ||
            box_cache_new(&s->fm.boxes, s->id.box_secret, &err) != FP_OK)
            return 1;
        s->fm.from = &s->id;
        s->fm.pad = g.pad;
        for (size_t k = 0; k < g.n_to; k++)
            if ((s->fm.to[s->fm.n_to++] = trust_store_by_agency(
                     g.trust, g.to[k], envelope_now_ms() / 1000, NULL)) == NULL) {
                fprintf(stderr, "loadgen: no valid certificate for %s\n", g.to[k]);
                return 1;
            }
    }
    for (size_t i = 0; !g.absent && i < g.n_to; i++) {
        if ((g.c[i].sock = connect_as(&g, &g.c[i].id, g.to[i])) == NULL)
            return 1;
        tool_hello_send(g.c[i].sock);
    }
    double t0 = bench_now_s();
    if (!g.absent && prebuild(&g) != 0) {
        fprintf(stderr, "loadgen: cannot build the flags\n");
        return 1;
    }
    printf("# built %zu flags in %.2f s\n", g.absent ? 0 : g.flags * g.n_from, bench_now_s() - t0);
    usleep(300000);   /* let every CURVE handshake finish before the clock starts */
    int rc = run(&g);
    for (size_t i = 0; i < g.n_from; i++) {
        if (g.s[i].msgs != NULL)
            for (size_t n = 0; n < g.flags; n++)
                free(g.s[i].msgs[n]);
        free(g.s[i].msgs);
        free(g.s[i].lens);
        box_cache_free(g.s[i].fm.boxes);
        zmq_close(g.s[i].sock);
        identity_free(&g.s[i].id);
    }
    for (size_t i = 0; !g.absent && i < g.n_to; i++) {
        zmq_close(g.c[i].sock);
        identity_free(&g.c[i].id);
    }
    zmq_ctx_term(g.ctx);
    trust_store_free(g.trust);
    return rc < 0 ? 1 : rc;
}
