/*
 * agency_limit: per-agency token buckets.  See agency_limit.h.
 *
 * A partnership has tens of agencies and a national broker a few
 * hundred, so the table is a flat array searched in order: smaller and
 * faster at that size than a hash, and it grows (by doubling) only when a
 * new authenticated agency speaks.
 */
#include "agency_limit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tbucket.h"

typedef struct agency_slot {
    char agency[64];
    tbucket bucket;
    uint64_t refused;     /* since the last report */
} agency_slot;

struct agency_limit {
    double rate, burst;
    agency_slot *slots;
    size_t count, cap;
};

agency_limit *agency_limit_new(double rate_per_s, double burst)
{
    agency_limit *l = calloc(1, sizeof *l);
    if (l == NULL)
        return NULL;
    l->rate = rate_per_s;
    l->burst = burst < 1 ? 1 : burst;
    return l;
}

void agency_limit_free(agency_limit *l)
{
    if (l == NULL)
        return;
    free(l->slots);
    free(l);
}

static agency_slot *slot_for(agency_limit *l, const char *agency)
{
    for (size_t i = 0; i < l->count; i++)
        if (strcmp(l->slots[i].agency, agency) == 0)
            return &l->slots[i];
    if (l->count == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 16;
        agency_slot *s = realloc(l->slots, cap * sizeof *s);
        if (s == NULL)
            return NULL;
        l->slots = s;
        l->cap = cap;
    }
    agency_slot *s = &l->slots[l->count++];
    memset(s, 0, sizeof *s);
    snprintf(s->agency, sizeof s->agency, "%s", agency);
    return s;
}

bool agency_limit_take(agency_limit *l, const char *agency, int64_t now_ms)
{
    if (l == NULL || l->rate <= 0)
        return true;
    agency_slot *s = slot_for(l, agency);
    if (s == NULL)
        return true;   /* out of memory: fail open, the message is still verified */
    if (tbucket_take(&s->bucket, l->rate, l->burst, now_ms))
        return true;
    s->refused++;
    return false;
}

void agency_limit_describe(const agency_limit *l, char *out, size_t outsz)
{
    snprintf(out, outsz,
             "%s: this agency sent more than %.0f messages a second (bursts up to %.0f); "
             "the message was not stored and will be resent",
             AGENCY_LIMIT_REASON, l ? l->rate : 0.0, l ? l->burst : 0.0);
}

bool agency_limit_pending(const agency_limit *l)
{
    for (size_t i = 0; l != NULL && i < l->count; i++)
        if (l->slots[i].refused > 0)
            return true;
    return false;
}

size_t agency_limit_report(agency_limit *l, agency_limit_report_fn fn, void *ctx)
{
    size_t n = 0;
    for (size_t i = 0; l != NULL && i < l->count; i++) {
        if (l->slots[i].refused == 0)
            continue;
        fn(ctx, l->slots[i].agency, l->slots[i].refused);
        l->slots[i].refused = 0;
        n++;
    }
    return n;
}
