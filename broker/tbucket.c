/*
 * tbucket: token buckets.  See tbucket.h.
 *
 * Refill is computed lazily from the elapsed time at each take, so an
 * idle bucket costs nothing and a table of thousands of them needs no
 * timer.  A clock that steps backwards refills nothing rather than
 * draining the bucket.
 */
#include "tbucket.h"

double tbucket_level(const tbucket *t, double rate_per_s, double burst, int64_t now_ms)
{
    if (t->last_ms == 0)
        return burst;
    double elapsed = now_ms > t->last_ms ? (double)(now_ms - t->last_ms) / 1000.0 : 0.0;
    double level = t->tokens + elapsed * rate_per_s;
    return level > burst ? burst : level;
}

bool tbucket_take(tbucket *t, double rate_per_s, double burst, int64_t now_ms)
{
    if (rate_per_s <= 0)
        return true;
    double level = tbucket_level(t, rate_per_s, burst, now_ms);
    if (now_ms > t->last_ms || t->last_ms == 0)
        t->last_ms = now_ms;
    if (level < 1.0) {
        t->tokens = level;
        return false;
    }
    t->tokens = level - 1.0;
    return true;
}
