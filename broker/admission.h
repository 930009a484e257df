/*
 * admission: who may start a CURVE handshake with the broker, and how
 * often.
 *
 * A CURVE handshake costs the broker about half a millisecond of CPU
 * (several X25519 operations) and libzmq does it in its I/O thread before
 * the ZAP handler is asked anything, so refusing a peer at ZAP is too late
 * to save that CPU: a few thousand attempts a second from unauthenticated
 * peers would starve the broker.  This module owns the defence:
 *
 *   - an address over its limit is blocked in the kernel for a second
 *     (synfilter.h: a socket filter drops its SYNs), and while unknown
 *     addresses together are over the total, all of them are for a
 *     quarter second: then the flood costs no CPU at all;
 *   - a monitor on the ROUTER reports every accepted TCP connection (with
 *     its descriptor) to a small thread of ours, which looks the source
 *     address up and, if that address or everyone together is over the
 *     limit, shuts the connection down at once, before libzmq reads the
 *     client's HELLO in the common case (it may win the race sometimes:
 *     then the next line of defence applies);
 *   - the ZAP handler asks again (admission_zap_allows), with a second
 *     bucket per address, so a connection that slipped through still gets
 *     no session if its address is over the limit;
 *   - limits are token buckets (tbucket.h): per source address, and in
 *     total for addresses that are not known; an address from which an
 *     agency authenticated recently (admission_authenticated) is "known"
 *     and has its own, larger, per-address allowance outside the total,
 *     so a flood from elsewhere cannot starve real agencies' reconnections;
 *   - the address table is fixed-size (ADMISSION_SLOTS unknown addresses,
 *     ADMISSION_KNOWN_SLOTS known ones, evicting the least recently seen),
 *     keyed with a random SipHash key, so a flood from many addresses
 *     costs no memory and cannot aim at one bucket;
 *   - refusals are counted per address and reported (admission_report) in
 *     aggregate, which the broker audits and logs once a second, instead
 *     of one audit entry and fsync per attempt.  Certificate refusals at
 *     ZAP are aggregated the same way after the first few per address
 *     (and the first ten from everyone) each second.
 *
 * Connections already established (agencies that are connected) are never
 * touched: their service and latency depend only on how little CPU the
 * flood gets.  An agency that shares a source address with an attacker
 * (NAT) can be delayed in reconnecting while the flood lasts.
 *
 * Thread safety: the table is shared by the monitor thread and the
 * broker's loop (ZAP, reports) under one mutex; nothing else is shared.
 */
#ifndef FLAGPOST_ADMISSION_H
#define FLAGPOST_ADMISSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fp_error.h"

#define ADMISSION_SLOTS 4096
#define ADMISSION_KNOWN_SLOTS 512
#define ADMISSION_ADDRESS_MAX 64
#define ADMISSION_REASON "connection-rate-limited"

typedef struct admission_config {
    double address_rate, address_burst;   /* per unknown address; rate <= 0: no limits */
    double total_rate, total_burst;       /* all unknown addresses together */
    double known_rate, known_burst;       /* per known address */
    int64_t known_ttl_ms;                 /* a ZAP success keeps an address known this long */
} admission_config;

/* Defaults from the per-address and total rates (burst = 2 x rate,
 * known addresses 4 x the per-address allowance, known for a day). */
void admission_config_from_rates(admission_config *cfg, double address_rate,
                                 double total_rate);

typedef struct admission admission;

/* Start watching `router`, before it binds (the monitor learns the
 * listening socket from the bind).  The monitor thread runs until
 * admission_stop, which must be called before the router is closed. */
int admission_start(admission **out, void *zmq_ctx, void *router, const admission_config *cfg,
                    fp_error *err);
void admission_stop(admission *a);

/* ZAP: may this address have a session now?  False when it is over its
 * limit (the refusal is counted for the report). */
bool admission_zap_allows(admission *a, const char *address, int64_t now_ms);

/* ZAP admitted a valid certificate from this address: it is now known. */
void admission_authenticated(admission *a, const char *address, int64_t now_ms);

/* ZAP refused a certificate from this address.  True when this refusal
 * should be audited on its own (the first few per address per report);
 * otherwise it is counted for the report. */
bool admission_certificate_refused(admission *a, const char *address);

/* Refusals since the last report.  address "*" sums addresses beyond the
 * report's first ADMISSION_REPORT_MAX and any evicted from the table. */
#define ADMISSION_REPORT_MAX 32
typedef struct admission_refusals {
    char address[ADMISSION_ADDRESS_MAX];
    uint64_t at_accept;       /* closed before the handshake */
    uint64_t at_zap;          /* handshake done, session refused */
    uint64_t certificates;    /* certificate refusals not audited one by one */
} admission_refusals;

/* Fill out[] (at most ADMISSION_REPORT_MAX + 1) and reset the counts;
 * returns how many.  Also the totals since start, for logs and tests. */
size_t admission_report(admission *a, admission_refusals *out, uint64_t *accepted_total,
                        uint64_t *refused_total);

void admission_describe(const admission *a, char *out, size_t outsz);

#endif
