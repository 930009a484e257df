/*
 * agency_limit: the per-agency message rate limit.
 *
 * Owns one token bucket per authenticated agency (tbucket.h) for the
 * messages that cost the broker a signature check, a policy decision and
 * a durable commit with audit entries: publishes and signed events.
 * Control messages (hello, delivery acknowledgements, consistency
 * requests) are not counted: refusing an acknowledgement would only make
 * the broker send the delivery again.
 *
 * Promises: a message over the limit is never verified, decided or
 * stored; its sender is told RETRY ("rate-limited"), which an agent's
 * outbox treats like a full disk at the broker: the flag stays pending and
 * is resent.  Refusals are not audited one by one (a flood would turn
 * into a flood of audit entries and fsyncs); they are counted per agency
 * and agency_limit_audit writes one message_refused entry per agency per
 * second with the count.  Other agencies' buckets are untouched, so they
 * keep their service.  The table grows only with authenticated agencies,
 * which the partnership's certificates bound.
 */
#ifndef FLAGPOST_AGENCY_LIMIT_H
#define FLAGPOST_AGENCY_LIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AGENCY_LIMIT_REASON "rate-limited"

typedef struct agency_limit agency_limit;

/* rate_per_s <= 0: unlimited.  NULL when out of memory. */
agency_limit *agency_limit_new(double rate_per_s, double burst);
void agency_limit_free(agency_limit *l);

/* May agency send one more message at now_ms?  When not, the refusal is
 * counted for the next report. */
bool agency_limit_take(agency_limit *l, const char *agency, int64_t now_ms);

/* The RETRY text a refused sender gets. */
void agency_limit_describe(const agency_limit *l, char *out, size_t outsz);

/* Any refusals counted since the last report? */
bool agency_limit_pending(const agency_limit *l);

/* Call fn once for each agency refused since the last report, with how
 * many, and reset the counts.  Returns how many agencies were reported. */
typedef void (*agency_limit_report_fn)(void *ctx, const char *agency, uint64_t refused);
size_t agency_limit_report(agency_limit *l, agency_limit_report_fn fn, void *ctx);

#endif
