/*
 * bench/e2e: end-to-end latency of a flag through the whole partnership on
 * this machine: from the publish request on the sending agent's local API
 * until the flag is committed in the recipient agent's store.
 *
 *   e2e --agent ipc://SENDER.sock --recipient-data DIR --to AGENCY
 *       [--rate N] [--seconds S] [--warmup S]
 *
 * Publishes are sent open-loop at a steady N a second (each at its own
 * scheduled time, whether or not earlier ones have finished, so a stall
 * shows up as latency rather than as a lower rate).  The recipient's store
 * is watched through its own LMDB (read-only, as any reader may): a flag
 * counts as stored when a read transaction sees it, which LMDB allows only
 * after the recipient's commit.  With one sender agent and one recipient
 * every stage is first-in first-out (the local socket, the outbox, the
 * broker connection, the recipient's queue), so the k-th flag to appear is
 * the k-th published; the run checks that every flag arrived.
 *
 * Prints e2e_latency_p50_ms, e2e_latency_p99_ms (after the warm-up), the
 * rate achieved, and the maximum.
 */
#include <getopt.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "bench_time.h"
#include "flagmaker.h"

typedef struct watch {
    MDB_env *env;
    MDB_dbi flags;
} watch;

static int watch_open(watch *w, const char *dir)
{
    MDB_txn *txn;
    int rc = mdb_env_create(&w->env);
    if (rc == 0)
        rc = mdb_env_set_maxdbs(w->env, 32);
    if (rc == 0)
        rc = mdb_env_set_mapsize(w->env, (size_t)8 << 30);
    if (rc == 0)
        rc = mdb_env_open(w->env, dir, MDB_RDONLY, 0600);
    if (rc == 0)
        rc = mdb_txn_begin(w->env, NULL, MDB_RDONLY, &txn);
    if (rc == 0) {
        rc = mdb_dbi_open(txn, "flags", 0, &w->flags);
        if (rc == 0)
            rc = mdb_txn_commit(txn);   /* keeps the handle (an abort would close it) */
        else
            mdb_txn_abort(txn);
    }
    if (rc != 0)
        fprintf(stderr, "e2e: --recipient-data %s: %s\n", dir, mdb_strerror(rc));
    return rc;
}

static size_t watch_count(watch *w)
{
    MDB_txn *txn;
    MDB_stat st;
    if (mdb_txn_begin(w->env, NULL, MDB_RDONLY, &txn) != 0)
        return 0;
    size_t n = mdb_stat(txn, w->flags, &st) == 0 ? st.ms_entries : 0;
    mdb_txn_abort(txn);
    return n;
}

static char *flag_request(const char *to, unsigned long n)
{
    char nhs[11];
    flagmaker_nhs(n + 900000000UL, nhs);
    char *buf = malloc(1024);
    if (buf != NULL)
        snprintf(buf, 1024,
                 "{\"op\":\"publish\",\"flag\":{\"category\":\"da_victim\","
                 "\"purpose\":\"safeguarding\",\"lawful_basis\":\"public_task_safeguarding\","
                 "\"consent\":\"given\",\"risk\":\"high\",\"subject\":{\"role\":\"victim\","
                 "\"nhs\":\"%s\"},\"recipients\":[\"%s\"],\"fields\":{\"name\":\"Bench "
                 "Subject\",\"safe_contact_phone\":\"07700 900123\",\"risk_summary\":"
                 "\"Escalating; strangulation reported in the past month\"}}}",
                 nhs, to);
    return buf;
}

/* Answers come back in the order of the requests (one local socket, one
 * publisher), so the k-th answer is the k-th request's.  The agent answers
 * once the broker has decided, so its latency covers the sender's
 * validation, sealing, signing and outbox commit and the broker's checks,
 * decision and commit: everything but the recipient's share. */
static size_t drain_replies(void *sock, size_t *errors, const double *sent, double *answered,
                            size_t done, size_t total)
{
    size_t n = 0;
    char buf[8192];
    for (;;) {
        int len = zmq_recv(sock, buf, sizeof buf - 1, ZMQ_DONTWAIT);
        if (len < 0)
            return n;
        if (done + n < total)
            answered[done + n] = (bench_now_s() - sent[done + n]) * 1000.0;
        buf[len < (int)sizeof buf - 1 ? len : (int)sizeof buf - 1] = '\0';
        if (strstr(buf, "\"error\"") != NULL && (*errors)++ < 3)
            fprintf(stderr, "e2e: publish failed: %s\n", buf);
        n++;
    }
}

int main(int argc, char **argv)
{
    const char *agent = NULL, *data = NULL, *to = NULL;
    double rate = 1000, seconds = 10, warmup = 1;
    static const struct option opts[] = {
        {"agent", 1, NULL, 'a'}, {"recipient-data", 1, NULL, 'd'}, {"to", 1, NULL, 't'},
        {"rate", 1, NULL, 'r'},  {"seconds", 1, NULL, 's'},        {"warmup", 1, NULL, 'w'},
        {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'a': agent = optarg; break;
        case 'd': data = optarg; break;
        case 't': to = optarg; break;
        case 'r': rate = atof(optarg); break;
        case 's': seconds = atof(optarg); break;
        case 'w': warmup = atof(optarg); break;
        default: return 2;
        }
    }
    if (!agent || !data || !to || rate <= 0 || seconds <= 0 || warmup < 0) {
        fprintf(stderr, "usage: e2e --agent EP --recipient-data DIR --to AGENCY [--rate N] "
                        "[--seconds S] [--warmup S]\n");
        return 2;
    }
    size_t total = (size_t)(rate * (seconds + warmup)), skip = (size_t)(rate * warmup);
    char **reqs = calloc(total, sizeof *reqs);
    double *sent = calloc(total, sizeof *sent), *lat = calloc(total, sizeof *lat);
    double *answered = calloc(total, sizeof *answered);
    if (reqs == NULL || sent == NULL || lat == NULL || answered == NULL)
        return 1;
    for (size_t i = 0; i < total; i++)
        if ((reqs[i] = flag_request(to, i + (unsigned long)time(NULL) % 100000 * 1000)) == NULL)
            return 1;
    watch w;
    if (watch_open(&w, data) != 0)
        return 1;
    void *ctx = zmq_ctx_new();
    void *sock = zmq_socket(ctx, ZMQ_DEALER);
    int zero = 0;
    zmq_setsockopt(sock, ZMQ_LINGER, &zero, sizeof zero);
    if (zmq_connect(sock, agent) != 0) {
        fprintf(stderr, "e2e: --agent %s: %s\n", agent, zmq_strerror(zmq_errno()));
        return 1;
    }
    size_t base = watch_count(&w), next = 0, stored = 0, replies = 0, errors = 0;
    double t0 = bench_now_s() + 0.05, deadline = t0 + seconds + warmup + 15;
    while (stored < total && bench_now_s() < deadline) {
        double t = bench_now_s();
        while (next < total && t >= t0 + (double)next / rate) {
            sent[next] = t0 + (double)next / rate;   /* its scheduled time: no coordinated omission */
            zmq_send(sock, reqs[next], strlen(reqs[next]), 0);
            next++;
        }
        replies += drain_replies(sock, &errors, sent, answered, replies, total);
        size_t n = watch_count(&w) - base;
        double seen = bench_now_s();
        if (n > next) {   /* the FIFO mapping would be wrong: refuse to guess */
            fprintf(stderr, "e2e: the recipient stored flags this run did not send; give it "
                            "a recipient nobody else is sending to\n");
            return 1;
        }
        for (; stored < n && stored < next; stored++)
            lat[stored] = (seen - sent[stored]) * 1000.0;
        usleep(250);   /* 0.25 ms resolution; polling harder steals a core from what is measured */
    }
    replies += drain_replies(sock, &errors, sent, answered, replies, total);
    if (stored < total) {
        fprintf(stderr, "e2e: only %zu of %zu flags reached the recipient\n", stored, total);
        return 1;
    }
    size_t m = total - skip;
    const char *trace = getenv("FLAGPOST_E2E_TRACE");   /* per flag: scheduled s, answer ms, stored ms */
    FILE *tf = trace != NULL ? fopen(trace, "w") : NULL;
    for (size_t i = 0; tf != NULL && i < total; i++)
        fprintf(tf, "%.6f %.3f %.3f\n", sent[i] - t0, answered[i], lat[i]);
    if (tf != NULL)
        fclose(tf);
    qsort(lat + skip, m, sizeof *lat, bench_cmp_double);
    printf("e2e_latency_p50_ms %.3f\n", lat[skip + m / 2]);
    printf("e2e_latency_p99_ms %.3f\n", lat[skip + (m * 99) / 100]);
    printf("# %zu flags at %.0f/s (first %zu not counted); max %.3f ms; %zu answers, %zu errors\n",
           total, rate, skip, lat[total - 1], replies, errors);
    if (replies >= total) {
        qsort(answered + skip, m, sizeof *answered, bench_cmp_double);
        printf("# the publisher's answer (sender and broker committed): p50 %.3f ms, p99 %.3f ms\n",
               answered[skip + m / 2], answered[skip + (m * 99) / 100]);
    }
    for (size_t i = 0; i < total; i++)
        free(reqs[i]);
    free(reqs);
    free(sent);
    free(lat);
    free(answered);
    zmq_close(sock);
    zmq_ctx_term(ctx);
    mdb_env_close(w.env);
    return errors == 0 ? 0 : 1;
}
