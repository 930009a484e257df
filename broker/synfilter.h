/*
 * synfilter: a classic BPF program on the broker's listening TCP socket
 * that makes the kernel drop connection requests (SYNs) from addresses the
 * admission control has blocked, so a flooding address costs the broker
 * nothing at all, not even an accept.
 *
 * Why: closing an over-limit connection after libzmq accepted it races
 * libzmq's I/O thread, which may already be reading the client's HELLO;
 * on a busy machine it loses that race about half the time.  A socket
 * filter needs no privilege (classic BPF on our own socket), is replaced
 * atomically with one setsockopt, and applies before anything of ours or
 * libzmq's runs.  The program is a list: drop each blocked address;
 * accept each recently authenticated ("known") address; drop everything
 * else while unknown addresses are over the total limit; accept.  Entries
 * expire, so a blocked address may try again after a short while (its
 * client's own SYN retransmission does that).
 *
 * IPv4 listeners only; on an IPv6 listener the filter stays empty and
 * admission falls back on closing connections after accept.  Not thread
 * safe: admission calls it under its lock.
 */
#ifndef FLAGPOST_SYNFILTER_H
#define FLAGPOST_SYNFILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SYNFILTER_MAX_BLOCKED 512
#define SYNFILTER_MAX_KNOWN 256

typedef struct synfilter_entry {
    uint32_t ip;          /* host byte order */
    int64_t until_ms;
} synfilter_entry;

typedef struct synfilter {
    int fd;                                   /* listening socket; -1 until known */
    synfilter_entry blocked[SYNFILTER_MAX_BLOCKED];
    size_t nblocked;
    synfilter_entry known[SYNFILTER_MAX_KNOWN];
    size_t nknown;
    int64_t unknown_until_ms;                 /* drop unknown addresses until then */
    bool dirty;                               /* program differs from the socket's */
    uint64_t installs;                        /* programs installed, for logs */
} synfilter;

void synfilter_init(synfilter *f);

/* The listening socket (from the monitor's LISTENING event); ignored
 * unless it is an IPv4 TCP socket. */
void synfilter_set_listener(synfilter *f, int fd);

/* Drop SYNs from address (IPv4 text) until until_ms.  False if the address
 * is not IPv4 or the list is full. */
bool synfilter_block(synfilter *f, const char *address, int64_t until_ms);

/* Drop SYNs from every address not known until until_ms. */
void synfilter_block_unknown(synfilter *f, int64_t until_ms);

/* An agency authenticated from address: accepted while unknown
 * addresses are dropped, until until_ms. */
void synfilter_known(synfilter *f, const char *address, int64_t until_ms);

/* Expire entries and, if the program changed, install it.  Returns 0, or
 * -1 with errno when the kernel refused it (admission then relies on
 * closing connections after accept). */
int synfilter_apply(synfilter *f, int64_t now_ms);

/* Remove the program from the socket. */
void synfilter_clear(synfilter *f);

#endif
