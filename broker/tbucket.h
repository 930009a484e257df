/*
 * tbucket: a token bucket, the one rate-limiting primitive the broker
 * uses (per agency for messages, per address and in total for connection
 * attempts).
 *
 * A bucket holds up to `burst` tokens and refills at `rate` tokens a
 * second; each event takes one, and an event that finds the bucket empty
 * is over the limit.  So a client may send `burst` at once after a quiet
 * spell, and `rate` a second for ever, and nothing more.  The bucket is a
 * plain value with no clock of its own: callers pass the time, which keeps
 * it testable and lets one clock reading serve a whole batch.
 */
#ifndef FLAGPOST_TBUCKET_H
#define FLAGPOST_TBUCKET_H

#include <stdbool.h>
#include <stdint.h>

typedef struct tbucket {
    double tokens;
    int64_t last_ms;     /* 0: never used (starts full) */
} tbucket;

/* Take one token at now_ms; false when the bucket is empty (over the
 * limit).  rate <= 0 means unlimited: always true. */
bool tbucket_take(tbucket *t, double rate_per_s, double burst, int64_t now_ms);

/* Tokens the bucket would hold at now_ms, without taking any. */
double tbucket_level(const tbucket *t, double rate_per_s, double burst, int64_t now_ms);

#endif
