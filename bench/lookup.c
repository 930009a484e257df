/*
 * bench/lookup: point-of-contact lookups at an agent whose store holds a
 * million flags.
 *
 *   lookup fill --bundle DIR --ids DIR --from A --to B --data DIR --flags N
 *       Writes N real flags from A into B's agent store (B's data
 *       directory, before B's agent starts): each signed by A, sealed to B,
 *       about its own subject (the n-th NHS number), stored through the
 *       same agent_store_flag_put() the receiver uses, 10,000 a transaction.
 *       Signatures are not checked on the way in: the receiver's checks are
 *       measured by the e2e and capacity runs, not here.
 *
 *   lookup measure --agent EP --flags N [--count K] [--rate R]
 *       K lookups by NHS number of random subjects among the N, one every
 *       1/R s, each waiting for its answer (the agent opens the sealed
 *       payload, builds the JSON answer, and records the view durably in
 *       its outbox after answering).  Prints lookup_p50_us and
 *       lookup_p99_us of the time from request to answer at the client.
 *
 *   lookup inproc --bundle DIR --ids DIR --to B --policy FILE --data DIR
 *                 --flags N [--count K]
 *       The same lookups called directly in this process, as B's agent
 *       (lookup_by_subject: pseudonyms, index, open, JSON), without the
 *       socket, the scheduler or the view record: what the software itself
 *       costs.  Prints lookup_inproc_p50_us and lookup_inproc_p99_us.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "bench_time.h"
#include "agent.h"
#include "agent_store.h"
#include "flagmaker.h"
#include "lookup.h"

typedef struct options {
    const char *bundle, *ids, *from, *to, *data, *agent, *policy;
    size_t flags, count;
    double rate;
} options;

static int store_flag(agent_store *s, MDB_txn *txn, const flagmaker_flag *f, const char *from)
{
    Flagpost__FlagBody *body = flagpost__flag_body__unpack(NULL, f->body_len, f->body);
    if (body == NULL)
        return -1;
    size_t len = flagpost__signed_envelope__get_packed_size(&f->se);
    uint8_t *se = malloc(len);
    if (se == NULL) {
        flagpost__flag_body__free_unpacked(body, NULL);
        return -1;
    }
    Flagpost__StoredFlag sf = FLAGPOST__STORED_FLAG__INIT;
    sf.signed_envelope.len = flagpost__signed_envelope__pack(&f->se, se);
    sf.signed_envelope.data = se;
    sf.part = f->parts[0];
    sf.received_ms = envelope_now_ms();
    sf.sender = (char *)(uintptr_t)from;
    sf.flag_id = body->flag_id;
    sf.version = body->version;
    sf.state = FLAGPOST__FLAG_STATE__FLAG_ACTIVE;
    sf.message_id.data = (uint8_t *)(uintptr_t)f->message_id;
    sf.message_id.len = 16;
    sf.category = body->category;
    fp_error err;
    int rc = agent_store_flag_put(s, txn, &sf, body, &err);
    if (rc != FP_OK)
        fprintf(stderr, "lookup: %s\n", err.message);
    free(se);
    flagpost__flag_body__free_unpacked(body, NULL);
    return rc == FP_OK ? 0 : -1;
}

static int fill(const options *o)
{
    trust_store *trust;
    identity id;
    fp_error err;
    char dir[512];
    snprintf(dir, sizeof dir, "%s/id-%s", o->ids, o->from);
    if (trust_store_load(&trust, o->bundle, &err) != FP_OK ||
        identity_load(&id, dir, trust_store_ca_public(trust), &err) != FP_OK) {
        fprintf(stderr, "lookup: %s\n", err.message);
        return 1;
    }
    flagmaker fm = {.from = &id, .n_to = 1};
    fm.to[0] = trust_store_by_agency(trust, o->to, envelope_now_ms() / 1000, NULL);
    agent_store *s;
    if (fm.to[0] == NULL || box_cache_new(&fm.boxes, id.box_secret, &err) != FP_OK ||
        agent_store_open(&s, o->data, (size_t)16 << 30, &err) != FP_OK) {
        fprintf(stderr, "lookup: cannot prepare the store\n");
        return 1;
    }
    double t0 = bench_now_s();
    int rc = 0;
    for (size_t done = 0; rc == 0 && done < o->flags;) {
        MDB_txn *txn;
        if (agent_store_begin(s, true, &txn, &err) != FP_OK)
            return 1;
        for (size_t k = 0; rc == 0 && k < 10000 && done < o->flags; k++, done++) {
            flagmaker_flag f;
            rc = flagmaker_make(&fm, done, &f);
            if (rc == 0)
                rc = store_flag(s, txn, &f, o->from);
            flagmaker_flag_free(&f);
        }
        if (rc == 0 && agent_store_commit(txn, &err) != FP_OK)
            rc = -1;
        else if (rc != 0)
            agent_store_abort(txn);
    }
    printf("# stored %zu flags in %.1f s\n", o->flags, bench_now_s() - t0);
    agent_store_close(s);
    box_cache_free(fm.boxes);
    identity_free(&id);
    trust_store_free(trust);
    return rc == 0 ? 0 : 1;
}

static int measure(const options *o)
{
    void *ctx = zmq_ctx_new();
    void *sock = zmq_socket(ctx, ZMQ_DEALER);
    int zero = 0;
    zmq_setsockopt(sock, ZMQ_LINGER, &zero, sizeof zero);
    if (zmq_connect(sock, o->agent) != 0)
        return 1;
    double *lat = calloc(o->count, sizeof *lat);
    char *reply = malloc(1 << 20);
    if (lat == NULL || reply == NULL)
        return 1;
    srand((unsigned)time(NULL));
    size_t found = 0;
    double next = bench_now_s();
    for (size_t i = 0; i < o->count; i++) {
        while (bench_now_s() < next)
            usleep(100);
        next += 1.0 / o->rate;
        char nhs[11], req[128];
        flagmaker_nhs((unsigned long)rand() % o->flags, nhs);
        int n = snprintf(req, sizeof req, "{\"op\":\"lookup\",\"nhs\":\"%s\"}", nhs);
        double t0 = bench_now_s();
        zmq_send(sock, req, (size_t)n, 0);
        int len = zmq_recv(sock, reply, (1 << 20) - 1, 0);
        lat[i] = (bench_now_s() - t0) * 1e6;
        if (len > 0) {
            reply[len < (1 << 20) - 1 ? len : (1 << 20) - 1] = '\0';
            found += strstr(reply, "\"flag_id\"") != NULL;
        }
    }
    bench_write_trace("FLAGPOST_LOOKUP_TRACE", lat, o->count);
    qsort(lat, o->count, sizeof *lat, bench_cmp_double);
    printf("lookup_p50_us %.1f\n", lat[o->count / 2]);
    printf("lookup_p99_us %.1f\n", lat[(o->count * 99) / 100]);
    printf("# %zu lookups at %.0f/s, %zu found their flag; max %.1f us\n", o->count, o->rate,
           found, lat[o->count - 1]);
    free(lat);
    free(reply);
    zmq_close(sock);
    zmq_ctx_term(ctx);
    return found == o->count ? 0 : 1;
}

static int inproc(const options *o)
{
    static agent a;
    agent_config cfg;
    agent_config_defaults(&cfg);
    char id_dir[512], sock[600];
    snprintf(id_dir, sizeof id_dir, "%s/id-%s", o->ids, o->to);
    snprintf(sock, sizeof sock, "ipc://%s/inproc-lookup.sock", o->data);
    cfg.identity_dir = id_dir;
    cfg.ca_dir = o->bundle;
    cfg.policy_path = o->policy;
    cfg.data_dir = o->data;
    cfg.broker_endpoint = "tcp://127.0.0.1:9";   /* never used: no messages are sent */
    cfg.socket_endpoint = sock;
    fp_log log = {0};
    log.level = LOG_ERROR;
    fp_error err;
    if (agent_open(&a, &cfg, &log, &err) != FP_OK) {
        fprintf(stderr, "lookup: %s\n", err.message);
        return 1;
    }
    double *lat = calloc(o->count, sizeof *lat);
    if (lat == NULL)
        return 1;
    srand((unsigned)time(NULL) ^ 0x5a5a);
    size_t found = 0;
    for (size_t i = 0; i < o->count; i++) {
        char nhs[11];
        flagmaker_nhs((unsigned long)rand() % o->flags, nhs);
        subject_identifiers ids = {.nhs = nhs};
        json_t *out = json_array();
        double t0 = bench_now_s();
        int rc = lookup_by_subject(&a, &ids, out, NULL, &err);
        char *text = rc == FP_OK ? json_dumps(out, JSON_COMPACT) : NULL;   /* as the answer is */
        lat[i] = (bench_now_s() - t0) * 1e6;
        found += rc == FP_OK && json_array_size(out) > 0;
        free(text);
        json_decref(out);
    }
    qsort(lat, o->count, sizeof *lat, bench_cmp_double);
    printf("lookup_inproc_p50_us %.1f\n", lat[o->count / 2]);
    printf("lookup_inproc_p99_us %.1f\n", lat[(o->count * 99) / 100]);
    printf("# %zu lookups in process, %zu found their flag\n", o->count, found);
    free(lat);
    agent_close(&a);
    return found == o->count ? 0 : 1;
}

int main(int argc, char **argv)
{
    options o = {.flags = 1000000, .count = 2000, .rate = 200};
    static const struct option opts[] = {
        {"bundle", 1, NULL, 'b'}, {"ids", 1, NULL, 'i'},   {"from", 1, NULL, 'f'},
        {"to", 1, NULL, 't'},     {"data", 1, NULL, 'd'},  {"agent", 1, NULL, 'a'},
        {"flags", 1, NULL, 'n'},  {"count", 1, NULL, 'k'}, {"rate", 1, NULL, 'r'},
        {"policy", 1, NULL, 'p'}, {NULL, 0, NULL, 0}};
    if (argc < 2 || sodium_init() < 0)
        return 2;
    const char *mode = argv[1];
    optind = 2;
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'b': o.bundle = optarg; break;
        case 'i': o.ids = optarg; break;
        case 'f': o.from = optarg; break;
        case 't': o.to = optarg; break;
        case 'd': o.data = optarg; break;
        case 'a': o.agent = optarg; break;
        case 'n': o.flags = strtoul(optarg, NULL, 10); break;
        case 'k': o.count = strtoul(optarg, NULL, 10); break;
        case 'r': o.rate = atof(optarg); break;
        case 'p': o.policy = optarg; break;
        default: return 2;
        }
    }
    if (strcmp(mode, "fill") == 0 && o.bundle && o.ids && o.from && o.to && o.data && o.flags)
        return fill(&o);
    if (strcmp(mode, "measure") == 0 && o.agent && o.flags && o.count && o.rate > 0)
        return measure(&o);
    if (strcmp(mode, "inproc") == 0 && o.bundle && o.ids && o.to && o.policy && o.data &&
        o.flags && o.count)
        return inproc(&o);
    fprintf(stderr, "usage: lookup fill --bundle DIR --ids DIR --from A --to B --data DIR "
                    "--flags N | lookup measure --agent EP --flags N [--count K] [--rate R] | "
                    "lookup inproc --bundle DIR --ids DIR --to B --policy FILE --data DIR "
                    "--flags N [--count K]\n");
    return 2;
}
