/*
 * bench/ceilings: the raw limits flagpost is built on, measured on this
 * machine, so every flagpost figure can be read as a fraction of what the
 * hardware and libraries allow.
 *
 *   ceilings verify SECONDS THREADS   Ed25519 verifications per second of a
 *                                     1 KB message, THREADS in parallel
 *   ceilings curve SECONDS            1 KB messages per second from a CURVE
 *                                     DEALER to a CURVE ROUTER over TCP on
 *                                     127.0.0.1 (both ends in this process,
 *                                     each with its own ZeroMQ I/O thread)
 *   ceilings lmdb SECONDS             durable records per second, 1 KB each,
 *                                     committed 100 per transaction with full
 *                                     fsync (LMDB's default, as flagpost)
 *   ceilings commit SECONDS           the latency of one durable commit of one
 *                                     1 KB record: the floor under any latency
 *                                     that needs a commit (p50 and p99, ms)
 *   ceilings rtt SECONDS              the round trip of a small request and a
 *                                     2 KB answer between two processes over
 *                                     ZeroMQ ipc://, 200 a second, each
 *                                     waiting for its answer (p50 and p99,
 *                                     us): the floor under a lookup over an
 *                                     agent's local socket
 *   ceilings unixrtt SECONDS          the same round trips over a bare Unix
 *                                     stream socket (no ZeroMQ, no I/O
 *                                     threads): the floor under a round
 *                                     trip between two processes on this
 *                                     machine by any local socket at all
 *
 * Each prints lines "NAME VALUE"; verify and curve also print the CPU time
 * (all cores, user and system) one verification or one message cost.
 * Nothing here is flagpost code: these are the libraries alone, doing the
 * least work the design must pay for.
 */
#include <lmdb.h>
#include <pthread.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "bench_time.h"

#define MSG_BYTES 1024

/* CPU seconds this process has used, all threads, user and system: with a
 * count of work done, the cores' time one unit costs, whatever the number
 * of cores it ran on. */
static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* ---------------------------------------------------------------- verify */

typedef struct verify_job {
    const unsigned char *pk, *sig, *msg;
    double until;
    unsigned long long count;
    int bad;
} verify_job;

static void *verify_loop(void *arg)
{
    verify_job *j = arg;
    while (bench_now_s() < j->until) {
        for (int i = 0; i < 64; i++)
            j->bad |= crypto_sign_verify_detached(j->sig, j->msg, MSG_BYTES, j->pk) != 0;
        j->count += 64;
    }
    return NULL;
}

static int bench_verify(double seconds, int threads)
{
    unsigned char pk[32], sk[64], sig[64], msg[MSG_BYTES];
    crypto_sign_keypair(pk, sk);
    randombytes_buf(msg, sizeof msg);
    crypto_sign_detached(sig, NULL, msg, sizeof msg, sk);
    verify_job jobs[64];
    pthread_t tid[64];
    if (threads < 1 || threads > 64)
        return 2;
    double t0 = bench_now_s(), cpu0 = cpu_seconds();
    for (int i = 0; i < threads; i++) {
        jobs[i] = (verify_job){.pk = pk, .sig = sig, .msg = msg, .until = t0 + seconds};
        pthread_create(&tid[i], NULL, verify_loop, &jobs[i]);
    }
    unsigned long long total = 0;
    int bad = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(tid[i], NULL);
        total += jobs[i].count;
        bad |= jobs[i].bad;
    }
    double t = bench_now_s() - t0, cpu = cpu_seconds() - cpu0;
    if (bad) {
        fprintf(stderr, "ceilings: a valid signature failed to verify\n");
        return 1;
    }
    printf("ceiling_ed25519_verify_%dcore %.0f\n", threads, (double)total / t);
    printf("cpu_us_per_verify %.2f\n", total ? cpu * 1e6 / (double)total : 0.0);
    return 0;
}

/* ---------------------------------------------------------------- curve */

typedef struct curve_sender {
    void *sock;
    double until;
    unsigned long long sent;
} curve_sender;

static void *curve_send_loop(void *arg)
{
    curve_sender *s = arg;
    unsigned char buf[MSG_BYTES];
    memset(buf, 0x5a, sizeof buf);
    while (bench_now_s() < s->until) {
        for (int i = 0; i < 256; i++)
            if (zmq_send(s->sock, buf, sizeof buf, 0) == (int)sizeof buf)
                s->sent++;
    }
    zmq_send(s->sock, "", 0, 0);   /* end marker */
    return NULL;
}

static int bench_curve(double seconds)
{
    char spub[41], ssec[41], cpub[41], csec[41];
    if (zmq_curve_keypair(spub, ssec) != 0 || zmq_curve_keypair(cpub, csec) != 0) {
        fprintf(stderr, "ceilings: this libzmq has no CURVE support\n");
        return 1;
    }
    void *ctx = zmq_ctx_new();
    zmq_ctx_set(ctx, ZMQ_IO_THREADS, 2);
    void *router = zmq_socket(ctx, ZMQ_ROUTER);
    void *dealer = zmq_socket(ctx, ZMQ_DEALER);
    int one = 1, zero = 0, hwm = 10000;
    zmq_setsockopt(router, ZMQ_CURVE_SERVER, &one, sizeof one);
    zmq_setsockopt(router, ZMQ_CURVE_SECRETKEY, ssec, 40);
    zmq_setsockopt(router, ZMQ_RCVHWM, &hwm, sizeof hwm);
    zmq_setsockopt(router, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(dealer, ZMQ_CURVE_SERVERKEY, spub, 40);
    zmq_setsockopt(dealer, ZMQ_CURVE_PUBLICKEY, cpub, 40);
    zmq_setsockopt(dealer, ZMQ_CURVE_SECRETKEY, csec, 40);
    zmq_setsockopt(dealer, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(dealer, ZMQ_LINGER, &zero, sizeof zero);
    char ep[64];
    size_t eplen = sizeof ep;
    if (zmq_bind(router, "tcp://127.0.0.1:*") != 0 ||
        zmq_getsockopt(router, ZMQ_LAST_ENDPOINT, ep, &eplen) != 0 ||
        zmq_connect(dealer, ep) != 0) {
        fprintf(stderr, "ceilings: cannot bind on 127.0.0.1: %s\n", zmq_strerror(zmq_errno()));
        return 1;
    }
    /* Handshake first, so the timed part is messages only. */
    zmq_send(dealer, "x", 1, 0);
    zmq_msg_t m;
    zmq_msg_init(&m);
    zmq_msg_recv(&m, router, 0);
    zmq_msg_recv(&m, router, 0);
    curve_sender s = {.sock = dealer, .until = bench_now_s() + seconds};
    double t0 = bench_now_s(), cpu0 = cpu_seconds();
    pthread_t tid;
    pthread_create(&tid, NULL, curve_send_loop, &s);
    unsigned long long got = 0;
    for (;;) {
        zmq_msg_recv(&m, router, 0);   /* routing id */
        zmq_msg_recv(&m, router, 0);
        if (zmq_msg_size(&m) == 0)
            break;
        got++;
    }
    double t = bench_now_s() - t0, cpu = cpu_seconds() - cpu0;
    pthread_join(tid, NULL);
    zmq_msg_close(&m);
    zmq_close(dealer);
    zmq_close(router);
    zmq_ctx_term(ctx);
    printf("ceiling_curve_msgs %.0f\n", (double)got / t);
    printf("cpu_us_per_curve_msg %.2f\n", got ? cpu * 1e6 / (double)got : 0.0);
    return 0;
}

/* ---------------------------------------------------------------- lmdb */

static int bench_lmdb(double seconds, int per_commit)
{
    char dir[] = "/tmp/fp-bench-lmdb.XXXXXX";
    if (mkdtemp(dir) == NULL)
        return 1;
    MDB_env *env;
    MDB_dbi dbi;
    MDB_txn *txn;
    int rc = mdb_env_create(&env);
    if (rc == 0)
        rc = mdb_env_set_mapsize(env, (size_t)8 << 30);
    if (rc == 0)
        rc = mdb_env_open(env, dir, 0, 0600);
    if (rc == 0)
        rc = mdb_txn_begin(env, NULL, 0, &txn);
    if (rc == 0)
        rc = mdb_dbi_open(txn, NULL, 0, &dbi);
    if (rc == 0)
        rc = mdb_txn_commit(txn);
    unsigned char val[MSG_BYTES];
    memset(val, 0x33, sizeof val);
    unsigned long long n = 0;
    size_t nlat = 0, cap = 1 << 16;
    double *lat = malloc(cap * sizeof *lat);
    double t0 = bench_now_s(), until = t0 + seconds;
    while (rc == 0 && lat != NULL && bench_now_s() < until) {
        double c0 = bench_now_s();
        rc = mdb_txn_begin(env, NULL, 0, &txn);
        for (int i = 0; rc == 0 && i < per_commit; i++, n++) {
            unsigned char k[8];
            for (int b = 0; b < 8; b++)
                k[b] = (unsigned char)(n >> (56 - 8 * b));   /* big-endian: appends */
            MDB_val key = {8, k}, v = {sizeof val, val};
            rc = mdb_put(txn, dbi, &key, &v, 0);
        }
        if (rc == 0)
            rc = mdb_txn_commit(txn);
        if (nlat < cap)
            lat[nlat++] = (bench_now_s() - c0) * 1000.0;
    }
    double t = bench_now_s() - t0;
    mdb_env_close(env);
    char path[96];
    snprintf(path, sizeof path, "%s/data.mdb", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/lock.mdb", dir);
    unlink(path);
    rmdir(dir);
    if (rc != 0 || lat == NULL || nlat == 0) {
        fprintf(stderr, "ceilings: lmdb: %s\n", rc ? mdb_strerror(rc) : "out of memory");
        free(lat);
        return 1;
    }
    if (per_commit > 1) {
        printf("ceiling_lmdb_group_commit %.0f\n", (double)n / t);
    } else {
        qsort(lat, nlat, sizeof *lat, bench_cmp_double);
        printf("floor_lmdb_commit_p50_ms %.3f\n", lat[nlat / 2]);
        printf("floor_lmdb_commit_p99_ms %.3f\n", lat[(nlat * 99) / 100]);
    }
    free(lat);
    return 0;
}

/* ---------------------------------------------------------------- rtt */

#define RTT_REQUEST "{\"op\":\"lookup\",\"nhs\":\"9434765919\"}"
#define RTT_ANSWER_LEN 2048

typedef bool (*round_trip_fn)(void *ctx);

/* Round trips at 200 a second, each waiting for its answer, the way the
 * lookup bench asks; NULL when the first fails. *n is how many were timed. */
static double *paced_round_trips(double seconds, round_trip_fn trip, void *ctx, size_t *n)
{
    size_t cap = (size_t)(seconds * 200) + 16;
    double *lat = calloc(cap, sizeof *lat), next = bench_now_s() + 0.2;
    bool ok = lat != NULL;
    *n = 0;
    for (double end = next + seconds; ok && *n < cap && next < end; next += 1.0 / 200) {
        while (bench_now_s() < next)
            usleep(100);
        double t0 = bench_now_s();
        ok = trip(ctx);
        lat[(*n)++] = (bench_now_s() - t0) * 1e6;
    }
    if (!ok) {
        free(lat);
        return NULL;
    }
    return lat;
}

static int print_round_trips(const char *transport, double *lat, size_t n)
{
    bench_write_trace("FLAGPOST_RTT_TRACE", lat, n);
    qsort(lat, n, sizeof *lat, bench_cmp_double);
    printf("floor_%s_rtt_p50_us %.1f\n", transport, lat[n / 2]);
    printf("floor_%s_rtt_p99_us %.1f\n", transport, lat[(n * 99) / 100]);
    free(lat);
    return 0;
}

static bool zmq_round_trip(void *dealer)
{
    char answer[4096];
    zmq_send(dealer, RTT_REQUEST, sizeof RTT_REQUEST - 1, 0);
    return zmq_recv(dealer, answer, sizeof answer, 0) > 0;
}

/* The answering process: echo a 2 KB answer to every request until the
 * empty request.  Forked before either side makes a ZeroMQ context. */
static int rtt_echo(const char *ep)
{
    void *ctx = zmq_ctx_new();
    void *router = zmq_socket(ctx, ZMQ_ROUTER);
    int zero = 0;
    zmq_setsockopt(router, ZMQ_LINGER, &zero, sizeof zero);
    if (zmq_bind(router, ep) != 0)
        return 1;
    unsigned char id[256], req[256], answer[RTT_ANSWER_LEN];
    memset(answer, 'a', sizeof answer);
    for (;;) {
        int idlen = zmq_recv(router, id, sizeof id, 0);
        int len = zmq_recv(router, req, sizeof req, 0);
        if (idlen < 0 || len <= 0)
            break;
        zmq_send(router, id, (size_t)idlen, ZMQ_SNDMORE);
        zmq_send(router, answer, sizeof answer, 0);
    }
    zmq_close(router);
    zmq_ctx_term(ctx);
    return 0;
}

static int bench_rtt(double seconds)
{
    char dir[] = "/tmp/fp-ceil-rtt.XXXXXX", ep[96];
    if (mkdtemp(dir) == NULL)
        return 1;
    snprintf(ep, sizeof ep, "ipc://%s/echo.sock", dir);
    pid_t pid = fork();
    if (pid == 0)
        _exit(rtt_echo(ep));
    void *ctx = zmq_ctx_new();
    void *dealer = zmq_socket(ctx, ZMQ_DEALER);
    int zero = 0;
    zmq_setsockopt(dealer, ZMQ_LINGER, &zero, sizeof zero);
    zmq_connect(dealer, ep);   /* ipc: connects once the echo has bound */
    char answer[4096];
    zmq_send(dealer, "warm", 4, 0);   /* the connection is made before timing */
    size_t n = 0;
    double *lat = NULL;
    if (zmq_recv(dealer, answer, sizeof answer, 0) > 0)
        lat = paced_round_trips(seconds, zmq_round_trip, dealer, &n);
    zmq_send(dealer, "", 0, 0);
    zmq_close(dealer);
    zmq_ctx_term(ctx);
    waitpid(pid, NULL, 0);
    char path[128];
    snprintf(path, sizeof path, "%s/echo.sock", dir);
    unlink(path);
    rmdir(dir);
    if (lat == NULL) {
        fprintf(stderr, "ceilings: rtt: no answer over %s\n", ep);
        return 1;
    }
    return print_round_trips("ipc", lat, n);
}

/* ---------------------------------------------------------------- unixrtt */

static bool full_write(int fd, const void *buf, size_t len)
{
    for (size_t done = 0; done < len;) {
        ssize_t w = write(fd, (const char *)buf + done, len - done);
        if (w <= 0)
            return false;
        done += (size_t)w;
    }
    return true;
}

static bool full_read(int fd, void *buf, size_t len)
{
    for (size_t done = 0; done < len;) {
        ssize_t r = read(fd, (char *)buf + done, len - done);
        if (r <= 0)
            return false;
        done += (size_t)r;
    }
    return true;
}

/* The answering process: a 2 KB answer to every request, until EOF. */
static int unix_echo(int fd)
{
    char req[sizeof RTT_REQUEST - 1], answer[RTT_ANSWER_LEN];
    memset(answer, 'a', sizeof answer);
    while (full_read(fd, req, sizeof req))
        if (!full_write(fd, answer, sizeof answer))
            return 1;
    return 0;
}

static bool unix_round_trip(void *ctx)
{
    int fd = *(int *)ctx;
    char answer[RTT_ANSWER_LEN];
    return full_write(fd, RTT_REQUEST, sizeof RTT_REQUEST - 1) &&
           full_read(fd, answer, sizeof answer);
}

static int bench_unix_rtt(double seconds)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) {
        perror("ceilings: unixrtt: socketpair");
        return 1;
    }
    pid_t pid = fork();
    if (pid == 0) {
        close(sv[0]);
        _exit(unix_echo(sv[1]));
    }
    close(sv[1]);
    size_t n = 0;
    double *lat = pid > 0 ? paced_round_trips(seconds, unix_round_trip, &sv[0], &n) : NULL;
    close(sv[0]);   /* EOF ends the echo */
    if (pid > 0)
        waitpid(pid, NULL, 0);
    if (lat == NULL) {
        fprintf(stderr, "ceilings: unixrtt: no answer from the echo process\n");
        return 1;
    }
    return print_round_trips("unix", lat, n);
}

int main(int argc, char **argv)
{
    if (argc < 3 || sodium_init() < 0) {
        fprintf(stderr, "usage: ceilings verify SECONDS THREADS | curve SECONDS | lmdb SECONDS | "
                        "commit SECONDS | rtt SECONDS | unixrtt SECONDS\n");
        return 2;
    }
    double seconds = atof(argv[2]);
    if (seconds <= 0)
        return 2;
    if (strcmp(argv[1], "verify") == 0)
        return bench_verify(seconds, argc > 3 ? atoi(argv[3]) : 2);
    if (strcmp(argv[1], "curve") == 0)
        return bench_curve(seconds);
    if (strcmp(argv[1], "lmdb") == 0)
        return bench_lmdb(seconds, 100);
    if (strcmp(argv[1], "commit") == 0)
        return bench_lmdb(seconds, 1);
    if (strcmp(argv[1], "rtt") == 0)
        return bench_rtt(seconds);
    if (strcmp(argv[1], "unixrtt") == 0)
        return bench_unix_rtt(seconds);
    fprintf(stderr, "ceilings: unknown mode %s\n", argv[1]);
    return 2;
}
