/*
 * audit_stats: the numbers behind the IG report, computed in one pass over
 * the audit entries of a period.
 *
 *   disclosures per agency pair      (disclosure entries, sender -> recipient)
 *   refusals by rule                 (refusal entries; no rule = default deny)
 *   lawful bases and consent states  (of disclosures)
 *   views per agency                 (view entries, by the viewing agency)
 *   time to acknowledge              (from the first disclosure or delivery of
 *                                     a flag to a recipient to that recipient's
 *                                     acknowledgement of the same flag)
 *   flags withdrawn and expired      (distinct flags, by sending agency)
 *   break-glass events               (listed one by one for review)
 *
 * A tally is a small string-keyed counter table; the stats own every string
 * they keep (copied from the entries, which are freed after each call).
 */
#ifndef FLAGPOST_AUDIT_STATS_H
#define FLAGPOST_AUDIT_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "flagpost.pb-c.h"
#include "fp_error.h"

#define AUDIT_PAIR_SEP '\x1f'   /* between sender and recipient in pair keys */
#define AUDIT_EVENT_MAX 18

typedef struct audit_tally_row {
    char *key;
    uint64_t count;
    int64_t value;               /* used by internal maps (times) */
} audit_tally_row;

typedef struct audit_tally {
    audit_tally_row *rows;       /* after audit_stats_finish: count desc, key asc */
    size_t n, cap;
    size_t *slots;               /* open-addressing index into rows (+1; 0 empty) */
    size_t nslots;
} audit_tally;

typedef struct audit_break_glass {
    uint64_t index;
    int64_t time_ms;
    char *sender, *recipient, *category, *lawful_basis, *rule_id, *reason;
} audit_break_glass;

typedef struct audit_stats {
    uint64_t entries;
    uint64_t by_event[AUDIT_EVENT_MAX];
    int64_t first_ms, last_ms;
    audit_tally pairs, refusal_rules, bases, consent, views, withdrawn, expired;
    int64_t *ack_ms;             /* each acknowledgement's delay, sorted by finish */
    size_t n_ack, cap_ack;
    audit_break_glass *breaks;
    size_t n_breaks, cap_breaks;
    audit_tally pending;         /* flag|recipient -> first sent time */
    audit_tally seen;            /* withdrawn/expired flags already counted */
} audit_stats;

void audit_stats_init(audit_stats *s);
/* Count one entry (already filtered to the period). FP_ERR_IO when out of
 * memory. */
int audit_stats_add(audit_stats *s, uint64_t index, const Flagpost__AuditEntry *e,
                    fp_error *err);
/* Sort the tallies and delays; call once after the last add. */
void audit_stats_finish(audit_stats *s);
void audit_stats_free(audit_stats *s);

/* The delay (ms) within which pct percent of acknowledgements came; -1 if
 * there were none. */
int64_t audit_stats_ack_percentile(const audit_stats *s, int pct);

/* Counter tables, usable on their own. */
int audit_tally_add(audit_tally *t, const char *key, uint64_t amount);
const audit_tally_row *audit_tally_find(const audit_tally *t, const char *key);
void audit_tally_sort(audit_tally *t);
void audit_tally_free(audit_tally *t);

#endif
