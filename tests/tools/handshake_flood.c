/*
 * handshake_flood: a test tool that floods the broker with CURVE
 * handshakes from unauthenticated peers, as cheaply for itself as it can,
 * so that a two-core test machine spends its CPU on the broker's side.
 *
 *   handshake_flood --bundle DIR --port PORT [--seconds S] [--rate N]
 *                   [--concurrency C] [--sources K] [--greeting-only]
 *
 * Each attempt is a raw TCP connection to 127.0.0.1:PORT that sends, at
 * once, a ZMTP 3.0 greeting for the CURVE mechanism and a well-formed
 * HELLO command (RFC 26: a fresh client short-term key, its box sealed to
 * the broker's real CURVE key, so the broker cannot tell it from a real
 * client without doing the crypto).  A handful of HELLOs are made at
 * start and reused: the broker keeps no memory of them, so each costs it
 * the same work.  A broker that does the handshake answers with its
 * greeting and a WELCOME (more than 64 bytes); one whose admission
 * control refuses the attempt closes the connection first.  The tool
 * never sends INITIATE and closes with a reset, so it holds neither the
 * broker's descriptors nor its own ephemeral ports.
 *
 * --greeting-only sends the greeting and no HELLO: what a connection
 * costs the broker without any crypto, for comparison.
 *
 * --sources K spreads the attempts over source addresses 127.0.0.1 ..
 * 127.0.0.K (all loopback on Linux), to exercise the broker's total limit
 * and its address table.
 *
 * Prints "name value" lines: attempts, welcomed (the broker did the
 * handshake), refused (closed before a WELCOME), timeouts (no answer in a
 * second: the broker's kernel dropped the SYN, or it is too busy), failed
 * (connect errors), seconds.  Exit 0 when it ran.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "envelope.h"
#include "trust_store.h"

#define GREETING_LEN 64
#define HELLO_LEN 202          /* 2 bytes of framing + 200 of body */
#define HELLOS 16
#define MAX_CONC 4096
#define ATTEMPT_TIMEOUT_MS 1000   /* a SYN the broker drops is given up on, like an impatient attacker */

typedef struct options {
    const char *bundle;
    int port, seconds, rate, concurrency, sources;
    int greeting_only;    /* --greeting-only: no HELLO (what a TCP accept alone costs) */
} options;

typedef struct conn {
    int fd;
    int64_t started_ms;
    size_t received;
} conn;

typedef struct counts {
    unsigned long attempts, welcomed, refused, timeouts, failed;
} counts;

typedef struct flood {
    options o;
    unsigned char wire[HELLOS][GREETING_LEN + HELLO_LEN];
    conn conns[MAX_CONC];
    size_t open;
    int ep;
    counts c;
} flood;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ZMTP 3.0 greeting: signature, version 3.0, mechanism, as-server = 0. */
static void greeting(unsigned char *g)
{
    memset(g, 0, GREETING_LEN);
    g[0] = 0xff;
    g[9] = 0x7f;
    g[10] = 3;
    g[11] = 0;
    memcpy(g + 12, "CURVE", 5);
}

/* A HELLO command: name, version 1.0, 72 bytes of anti-amplification
 * padding, the client's short-term public key, the short nonce and the
 * box of 64 zero bytes sealed to the server's long-term key. */
static int hello(unsigned char *h, const unsigned char server_public[32])
{
    unsigned char pk[32], sk[32], nonce[24], zeros[64] = {0};
    crypto_box_keypair(pk, sk);
    memcpy(nonce, "CurveZMQHELLO---", 16);
    memset(nonce + 16, 0, 8);
    nonce[23] = 1;
    memset(h, 0, HELLO_LEN);
    h[0] = 0x04;               /* command, short size */
    h[1] = 200;
    unsigned char *b = h + 2;
    b[0] = 5;
    memcpy(b + 1, "HELLO", 5);
    b[6] = 1;
    b[7] = 0;
    memcpy(b + 80, pk, 32);
    memcpy(b + 112, nonce + 16, 8);
    int rc = crypto_box_easy(b + 120, zeros, sizeof zeros, nonce, server_public, sk);
    sodium_memzero(sk, sizeof sk);
    return rc;
}

static void drop(flood *f, size_t i)
{
    struct linger lg = {1, 0};   /* reset: no TIME_WAIT on either side */
    setsockopt(f->conns[i].fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(f->conns[i].fd);
    f->conns[i] = f->conns[--f->open];
}

static void start_one(flood *f)
{
    unsigned long n = f->c.attempts++;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        f->c.failed++;
        return;
    }
    struct sockaddr_in sa = {.sin_family = AF_INET};
    if (f->o.sources > 1) {
        sa.sin_addr.s_addr = htonl(0x7f000001u + (uint32_t)(n % (unsigned)f->o.sources));
        bind(fd, (struct sockaddr *)&sa, sizeof sa);
    }
    sa.sin_addr.s_addr = htonl(0x7f000001u);
    sa.sin_port = htons((uint16_t)f->o.port);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0 && errno != EINPROGRESS) {
        close(fd);
        f->c.failed++;
        return;
    }
    size_t i = f->open++;
    f->conns[i] = (conn){.fd = fd, .started_ms = now_ms(), .received = 0};
    struct epoll_event ev = {.events = EPOLLOUT | EPOLLIN | EPOLLRDHUP, .data.fd = fd};
    epoll_ctl(f->ep, EPOLL_CTL_ADD, fd, &ev);
}

static size_t index_of(const flood *f, int fd)
{
    for (size_t i = 0; i < f->open; i++)
        if (f->conns[i].fd == fd)
            return i;
    return f->open;
}

/* Writable for the first time: send greeting and HELLO in one go. */
static void on_event(flood *f, const struct epoll_event *ev)
{
    size_t i = index_of(f, ev->data.fd);
    if (i == f->open)
        return;
    conn *c = &f->conns[i];
    if (ev->events & EPOLLOUT) {
        const unsigned char *w = f->wire[f->c.attempts % HELLOS];
        size_t len = GREETING_LEN + (f->o.greeting_only ? 0 : HELLO_LEN);
        if (send(c->fd, w, len, MSG_NOSIGNAL) < 0) {
            f->c.refused++;
            drop(f, i);
            return;
        }
        struct epoll_event in = {.events = EPOLLIN | EPOLLRDHUP, .data.fd = c->fd};
        epoll_ctl(f->ep, EPOLL_CTL_MOD, c->fd, &in);
        return;
    }
    unsigned char buf[512];
    ssize_t n = recv(c->fd, buf, sizeof buf, 0);
    if (n > 0)
        c->received += (size_t)n;
    if (c->received > GREETING_LEN || (f->o.greeting_only && c->received == GREETING_LEN)) {
        f->c.welcomed++;
        drop(f, i);
    } else if (n == 0 || (n < 0 && errno != EAGAIN) || (ev->events & (EPOLLHUP | EPOLLERR))) {
        f->c.refused++;
        drop(f, i);
    }
}

static void expire(flood *f, int64_t now)
{
    for (size_t i = 0; i < f->open;) {
        if (now - f->conns[i].started_ms > ATTEMPT_TIMEOUT_MS) {
            f->c.timeouts++;
            drop(f, i);
        } else {
            i++;
        }
    }
}

static void run(flood *f)
{
    int64_t start = now_ms(), end = start + (int64_t)f->o.seconds * 1000;
    struct epoll_event evs[256];
    for (int64_t t = start; t < end || f->open > 0; t = now_ms()) {
        if (t < end) {
            unsigned long due = (unsigned long)((double)(t - start) * f->o.rate / 1000.0) + 1;
            while (f->c.attempts < due && f->open < (size_t)f->o.concurrency)
                start_one(f);
        } else if (t > end + ATTEMPT_TIMEOUT_MS) {
            break;
        }
        int n = epoll_wait(f->ep, evs, 256, 1);
        for (int k = 0; k < n; k++)
            on_event(f, &evs[k]);
        expire(f, t);
    }
    while (f->open > 0) {
        f->c.timeouts++;
        drop(f, 0);
    }
    printf("attempts %lu\nwelcomed %lu\nrefused %lu\ntimeouts %lu\nfailed %lu\nseconds %.2f\n",
           f->c.attempts, f->c.welcomed, f->c.refused, f->c.timeouts, f->c.failed,
           (double)(now_ms() - start) / 1000.0);
}

static int parse(int argc, char **argv, options *o)
{
    static const struct option opts[] = {
        {"bundle", 1, NULL, 'b'},      {"port", 1, NULL, 'p'},   {"seconds", 1, NULL, 's'},
        {"rate", 1, NULL, 'r'},        {"concurrency", 1, NULL, 'c'},
        {"sources", 1, NULL, 'k'},     {"greeting-only", 0, NULL, 'g'},
        {NULL, 0, NULL, 0}};
    *o = (options){.seconds = 3, .rate = 3000, .concurrency = 1024, .sources = 1};
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'b': o->bundle = optarg; break;
        case 'p': o->port = atoi(optarg); break;
        case 's': o->seconds = atoi(optarg); break;
        case 'r': o->rate = atoi(optarg); break;
        case 'c': o->concurrency = atoi(optarg); break;
        case 'k': o->sources = atoi(optarg); break;
        case 'g': o->greeting_only = 1; break;
        default: return -1;
        }
    }
    if (o->bundle == NULL || o->port <= 0 || o->seconds <= 0 || o->rate <= 0 ||
        o->concurrency <= 0 || o->concurrency > MAX_CONC || o->sources <= 0 ||
        o->sources > 250)
        return -1;
    return 0;
}

int main(int argc, char **argv)
{
    flood *f = calloc(1, sizeof *f);
    if (f == NULL || parse(argc, argv, &f->o) != 0 || sodium_init() < 0) {
        fprintf(stderr, "usage: handshake_flood --bundle DIR --port PORT [--seconds S] "
                        "[--rate N] [--concurrency C] [--sources K]\n");
        return 2;
    }
    trust_store *trust = NULL;
    fp_error err;
    if (trust_store_load(&trust, f->o.bundle, &err) != FP_OK) {
        fprintf(stderr, "handshake_flood: %s\n", err.message);
        return 1;
    }
    const cert_info *broker = trust_store_broker(trust, envelope_now_ms() / 1000, &err);
    if (broker == NULL) {
        fprintf(stderr, "handshake_flood: %s\n", err.message);
        return 1;
    }
    for (size_t i = 0; i < HELLOS; i++) {
        greeting(f->wire[i]);
        if (hello(f->wire[i] + GREETING_LEN, broker->curve_public) != 0)
            return 1;
    }
    trust_store_free(trust);
    f->ep = epoll_create1(0);
    run(f);
    close(f->ep);
    free(f);
    return 0;
}
