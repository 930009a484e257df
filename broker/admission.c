/*
 * admission: rate limits on new connections.  See admission.h.
 *
 * Why a thread: the broker's loop may be busy for tens of milliseconds
 * committing a batch, and every millisecond an over-limit connection
 * waits is a millisecond in which libzmq may read its HELLO and spend the
 * CPU we meant to save.  The monitor thread does nothing but read accept
 * events, look one address up and call shutdown(2), so it answers in
 * microseconds; shutdown (not close: the descriptor belongs to libzmq)
 * makes libzmq's next read fail and drop the connection itself.
 *
 * Why two tables: known addresses must survive a flood from a million
 * others, so they never compete with unknown ones for a slot.
 *
 * A monitor event names a descriptor that libzmq may have closed (and the
 * kernel reused) by the time we read it; we only act on a TCP socket whose
 * local port is the broker's, and judge it by its own peer address, so
 * the worst a stale event does is charge one attempt twice.
 */
#include "admission.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zmq.h>

#include "envelope.h"
#include "synfilter.h"
#include "tbucket.h"

#define MONITOR_ENDPOINT "inproc://flagpost.admission"
#define PROBE 16                  /* slots searched for an address */
#define AUDIT_FIRST_CERTIFICATES 3   /* certificate refusals audited per address per report */
#define AUDIT_FIRST_TOTAL 10          /* ... and from all addresses: each costs a commit */
#define BLOCK_MS 1000             /* SYNs dropped from an address over its limit */
#define UNKNOWN_BLOCK_MS 250      /* ... from every unknown address, over the total */

typedef enum verdict { ADMIT = 0, OVER_ADDRESS, OVER_TOTAL } verdict;

typedef struct slot {
    char address[ADMISSION_ADDRESS_MAX];   /* "" = free */
    tbucket accept, zap;
    int64_t last_ms;
    int64_t known_until_ms;                /* known table only */
    uint64_t at_accept, at_zap, certificates, audited;
} slot;

struct admission {
    admission_config cfg;
    pthread_mutex_t lock;
    unsigned char hash_key[crypto_shorthash_KEYBYTES];
    slot unknown[ADMISSION_SLOTS];
    slot known[ADMISSION_KNOWN_SLOTS];
    tbucket total;
    admission_refusals evicted;            /* counts of slots evicted before a report */
    unsigned audited;                      /* certificate refusals audited since the report */
    uint64_t accepted_total, refused_total;
    uint16_t port;                         /* the broker's listening port */
    synfilter syn;                         /* kernel-side drops (synfilter.h) */
    void *router, *pair;
    pthread_t thread;
    atomic_int stop;
};

void admission_config_from_rates(admission_config *cfg, double address_rate, double total_rate)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->address_rate = address_rate;
    cfg->address_burst = 2 * address_rate;
    cfg->total_rate = total_rate;
    cfg->total_burst = 2 * total_rate;
    cfg->known_rate = 4 * address_rate;
    cfg->known_burst = 8 * address_rate;
    cfg->known_ttl_ms = 24LL * 3600 * 1000;
}

/* ---------------------------------------------------------------- table */

/* "::ffff:10.0.0.1" and "10.0.0.1" are one address. */
static void normalise(const char *in, char out[ADMISSION_ADDRESS_MAX])
{
    if (strncmp(in, "::ffff:", 7) == 0 && strchr(in + 7, '.') != NULL)
        in += 7;
    snprintf(out, ADMISSION_ADDRESS_MAX, "%s", in);
}

static size_t home(const admission *a, const char *address, size_t nslots)
{
    unsigned char h[crypto_shorthash_BYTES];
    crypto_shorthash(h, (const unsigned char *)address, strlen(address), a->hash_key);
    uint64_t v;
    memcpy(&v, h, sizeof v);
    return (size_t)(v % nslots);
}

static void add_counts(admission_refusals *to, const slot *s)
{
    to->at_accept += s->at_accept;
    to->at_zap += s->at_zap;
    to->certificates += s->certificates;
}

/* The slot for address in table t, or NULL.  With create, an empty or the
 * least recently seen slot of the probe window is taken over. */
static slot *find(admission *a, slot *t, size_t n, const char *address, bool create,
                  int64_t now)
{
    size_t h = home(a, address, n);
    slot *victim = NULL;
    for (size_t i = 0; i < PROBE; i++) {
        slot *s = &t[(h + i) % n];
        if (strcmp(s->address, address) == 0 && s->address[0] != '\0')
            return s;
        if (victim == NULL || s->address[0] == '\0' ||
            (victim->address[0] != '\0' && s->last_ms < victim->last_ms))
            victim = s;
    }
    if (!create)
        return NULL;
    add_counts(&a->evicted, victim);
    memset(victim, 0, sizeof *victim);
    snprintf(victim->address, sizeof victim->address, "%s", address);
    victim->last_ms = now;
    return victim;
}

static slot *known_slot(admission *a, const char *address, int64_t now)
{
    slot *k = find(a, a->known, ADMISSION_KNOWN_SLOTS, address, false, now);
    if (k != NULL && k->known_until_ms < now)
        k = NULL;   /* expired: treated as unknown (the slot is reused in time) */
    return k;
}

/* One attempt from address at one of the two gates. */
static verdict charge(admission *a, const char *address, bool at_zap, int64_t now)
{
    const admission_config *c = &a->cfg;
    if (c->address_rate <= 0)
        return ADMIT;
    slot *s = known_slot(a, address, now);
    verdict v = ADMIT;
    if (s != NULL) {
        if (!tbucket_take(at_zap ? &s->zap : &s->accept, c->known_rate, c->known_burst, now))
            v = OVER_ADDRESS;
    } else {
        s = find(a, a->unknown, ADMISSION_SLOTS, address, true, now);
        tbucket *own = at_zap ? &s->zap : &s->accept;
        if (tbucket_level(own, c->address_rate, c->address_burst, now) < 1.0)
            v = OVER_ADDRESS;
        else if (!at_zap && tbucket_level(&a->total, c->total_rate, c->total_burst, now) < 1.0)
            v = OVER_TOTAL;
        if (v == ADMIT) {
            tbucket_take(own, c->address_rate, c->address_burst, now);
            if (!at_zap)
                tbucket_take(&a->total, c->total_rate, c->total_burst, now);
        }
    }
    s->last_ms = now;
    if (v != ADMIT) {
        if (at_zap)
            s->at_zap++;
        else
            s->at_accept++;
        a->refused_total++;
    } else if (!at_zap) {
        a->accepted_total++;
    }
    return v;
}

/* ---------------------------------------------------------------- monitor */

static bool peer_of(admission *a, int fd, char address[ADMISSION_ADDRESS_MAX])
{
    struct sockaddr_storage local, peer;
    socklen_t ll = sizeof local, pl = sizeof peer;
    if (getsockname(fd, (struct sockaddr *)&local, &ll) != 0 ||
        getpeername(fd, (struct sockaddr *)&peer, &pl) != 0)
        return false;
    char text[INET6_ADDRSTRLEN] = "";
    uint16_t port;
    if (peer.ss_family == AF_INET) {
        port = ntohs(((struct sockaddr_in *)&local)->sin_port);
        inet_ntop(AF_INET, &((struct sockaddr_in *)&peer)->sin_addr, text, sizeof text);
    } else if (peer.ss_family == AF_INET6) {
        port = ntohs(((struct sockaddr_in6 *)&local)->sin6_port);
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&peer)->sin6_addr, text, sizeof text);
    } else {
        return false;
    }
    if (a->port != 0 && port != a->port)
        return false;
    normalise(text, address);
    return true;
}

static void on_accepted(admission *a, int fd)
{
    char address[ADMISSION_ADDRESS_MAX];
    if (fd < 0 || !peer_of(a, fd, address))
        return;
    int64_t now = envelope_now_ms();
    pthread_mutex_lock(&a->lock);
    verdict v = charge(a, address, false, now);
    if (v == OVER_ADDRESS)
        synfilter_block(&a->syn, address, now + BLOCK_MS);
    else if (v == OVER_TOTAL)
        synfilter_block_unknown(&a->syn, now + UNKNOWN_BLOCK_MS);
    if (v != ADMIT)
        synfilter_apply(&a->syn, now);   /* at once: the next SYN is already on its way */
    pthread_mutex_unlock(&a->lock);
    if (v != ADMIT)
        shutdown(fd, SHUT_RDWR);
}

static void on_listening(admission *a, int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    pthread_mutex_lock(&a->lock);
    if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0) {
        if (ss.ss_family == AF_INET)
            a->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
        else if (ss.ss_family == AF_INET6)
            a->port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
        synfilter_set_listener(&a->syn, fd);
    }
    pthread_mutex_unlock(&a->lock);
}

static void read_events(admission *a)
{
    for (;;) {
        zmq_msg_t ev, where;
        zmq_msg_init(&ev);
        if (zmq_msg_recv(&ev, a->pair, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&ev);
            return;
        }
        zmq_msg_init(&where);
        if (zmq_msg_more(&ev))
            zmq_msg_recv(&where, a->pair, 0);
        uint16_t event = 0;
        uint32_t value = 0;
        if (zmq_msg_size(&ev) >= 6) {
            memcpy(&event, zmq_msg_data(&ev), 2);
            memcpy(&value, (const char *)zmq_msg_data(&ev) + 2, 4);
        }
        if (event == ZMQ_EVENT_ACCEPTED)
            on_accepted(a, (int)value);
        else if (event == ZMQ_EVENT_LISTENING)
            on_listening(a, (int)value);
        zmq_msg_close(&ev);
        zmq_msg_close(&where);
    }
}

static void *monitor_main(void *arg)
{
    admission *a = arg;
    while (!atomic_load(&a->stop)) {
        zmq_pollitem_t item = {a->pair, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&item, 1, 50) > 0)
            read_events(a);
        pthread_mutex_lock(&a->lock);
        synfilter_apply(&a->syn, envelope_now_ms());   /* expiries */
        pthread_mutex_unlock(&a->lock);
    }
    return NULL;
}

int admission_start(admission **out, void *zmq_ctx, void *router, const admission_config *cfg,
                    fp_error *err)
{
    *out = NULL;
    admission *a = calloc(1, sizeof *a);
    if (a == NULL)
        return fp_error_set(err, FP_ERR_IO, "out of memory");
    a->cfg = *cfg;
    a->router = router;
    synfilter_init(&a->syn);
    crypto_shorthash_keygen(a->hash_key);
    pthread_mutex_init(&a->lock, NULL);
    a->pair = zmq_socket(zmq_ctx, ZMQ_PAIR);
    if (zmq_socket_monitor(router, MONITOR_ENDPOINT,
                           ZMQ_EVENT_LISTENING | ZMQ_EVENT_ACCEPTED) != 0 ||
        a->pair == NULL || zmq_connect(a->pair, MONITOR_ENDPOINT) != 0 ||
        pthread_create(&a->thread, NULL, monitor_main, a) != 0) {
        int e = zmq_errno();
        if (a->pair != NULL)
            zmq_close(a->pair);
        zmq_socket_monitor(router, NULL, 0);
        pthread_mutex_destroy(&a->lock);
        free(a);
        return fp_error_set(err, FP_ERR_IO, "cannot watch new connections: %s",
                            zmq_strerror(e));
    }
    *out = a;
    return FP_OK;
}

void admission_stop(admission *a)
{
    if (a == NULL)
        return;
    atomic_store(&a->stop, 1);
    pthread_join(a->thread, NULL);
    synfilter_clear(&a->syn);
    zmq_socket_monitor(a->router, NULL, 0);
    zmq_close(a->pair);
    pthread_mutex_destroy(&a->lock);
    free(a);
}

/* ---------------------------------------------------------------- ZAP */

bool admission_zap_allows(admission *a, const char *address, int64_t now_ms)
{
    if (a == NULL)
        return true;
    char key[ADMISSION_ADDRESS_MAX];
    normalise(address, key);
    pthread_mutex_lock(&a->lock);
    bool ok = charge(a, key, true, now_ms) == ADMIT;
    pthread_mutex_unlock(&a->lock);
    return ok;
}

void admission_authenticated(admission *a, const char *address, int64_t now_ms)
{
    if (a == NULL)
        return;
    char key[ADMISSION_ADDRESS_MAX];
    normalise(address, key);
    pthread_mutex_lock(&a->lock);
    slot *k = find(a, a->known, ADMISSION_KNOWN_SLOTS, key, true, now_ms);
    k->known_until_ms = now_ms + a->cfg.known_ttl_ms;
    k->last_ms = now_ms;
    synfilter_known(&a->syn, key, k->known_until_ms);
    pthread_mutex_unlock(&a->lock);
}

bool admission_certificate_refused(admission *a, const char *address)
{
    if (a == NULL)
        return true;
    char key[ADMISSION_ADDRESS_MAX];
    normalise(address, key);
    int64_t now = envelope_now_ms();
    pthread_mutex_lock(&a->lock);
    slot *s = known_slot(a, key, now);
    if (s == NULL)
        s = find(a, a->unknown, ADMISSION_SLOTS, key, true, now);
    bool news = s->audited < AUDIT_FIRST_CERTIFICATES && a->audited < AUDIT_FIRST_TOTAL;
    if (news) {
        s->audited++;
        a->audited++;
    } else {
        s->certificates++;
    }
    pthread_mutex_unlock(&a->lock);
    return news;
}

/* ---------------------------------------------------------------- reports */

static void collect(slot *t, size_t n, admission_refusals *out, size_t *count,
                    admission_refusals *rest)
{
    for (size_t i = 0; i < n; i++) {
        slot *s = &t[i];
        s->audited = 0;
        if (s->at_accept + s->at_zap + s->certificates == 0)
            continue;
        if (*count < ADMISSION_REPORT_MAX) {
            admission_refusals *r = &out[(*count)++];
            memset(r, 0, sizeof *r);
            snprintf(r->address, sizeof r->address, "%s", s->address);
            add_counts(r, s);
        } else {
            add_counts(rest, s);
        }
        s->at_accept = s->at_zap = s->certificates = 0;
    }
}

size_t admission_report(admission *a, admission_refusals *out, uint64_t *accepted_total,
                        uint64_t *refused_total)
{
    if (a == NULL)
        return 0;
    size_t count = 0;
    pthread_mutex_lock(&a->lock);
    admission_refusals rest = a->evicted;
    memset(&a->evicted, 0, sizeof a->evicted);
    a->audited = 0;
    collect(a->known, ADMISSION_KNOWN_SLOTS, out, &count, &rest);
    collect(a->unknown, ADMISSION_SLOTS, out, &count, &rest);
    if (rest.at_accept + rest.at_zap + rest.certificates > 0) {
        snprintf(rest.address, sizeof rest.address, "*");
        out[count++] = rest;
    }
    if (accepted_total)
        *accepted_total = a->accepted_total;
    if (refused_total)
        *refused_total = a->refused_total;
    pthread_mutex_unlock(&a->lock);
    return count;
}

void admission_describe(const admission *a, char *out, size_t outsz)
{
    snprintf(out, outsz, "limit %.0f/s per address, %.0f/s in total from unknown addresses, "
             "%.0f/s per address an agency recently authenticated from",
             a->cfg.address_rate, a->cfg.total_rate, a->cfg.known_rate);
}
