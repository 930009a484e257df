/*
 * seen_prune: forgetting message ids the broker no longer needs, so the
 * replay table (broker_store "seen") stops growing by one record per
 * message for ever.
 *
 * Why a record can go.  verify_envelope refuses an envelope whose signed
 * created_ms is more than --skew from the broker's clock before the
 * replay table is ever consulted, and a record's time_ms is the broker's
 * clock when it accepted the message, when created_ms was within the skew
 * of it.  So once the clock is past time_ms + 2 * skew, every frame
 * carrying that signed body is refused by the clock check anyway and the
 * record decides nothing.  A record is pruned when
 * now_ms - time_ms > --seen-retention, and the retention must be at least
 * 2 * skew + 60 s: the minute is for a broker clock that steps backwards.
 *
 * Why a floor as well.  That argument holds for the --skew in force when a
 * record was accepted and when it was pruned.  Raise --skew after records
 * were pruned (or step the clock back by more than the minute) and a
 * pruned message could pass the clock check again and be taken as new.
 * So each prune also raises a floor, kept in the store's meta table in the
 * same transaction as the deletes: no envelope created before it is
 * accepted (verify_envelope, refused "clock-skew").  Every pruned message
 * was created before the floor (time_ms + the largest skew the store was
 * ever served with, also kept in meta), and the retention rule keeps the
 * floor at least skew + 60 s behind the clock, so it refuses nothing the
 * clock check would let through unless the clock stepped back.  Because
 * the largest skew ever used counts, a store once served with a larger
 * --skew needs retention >= that skew + the current one + 60 s.  A store
 * from before pruning existed is assumed to have run with today's --skew.
 *
 * Cost.  Nothing on the per-message path but one comparison with the
 * floor.  The sweep runs in the broker's once-a-second housekeeping, never
 * while a batch's transaction is open (batch.c commits or aborts each one
 * before the loop moves on; a held batch holds no transaction), and
 * examines at most `chunk` records per call in a read transaction,
 * resuming after the last id it examined (ids are random, so there is no
 * cheaper order).  Only when something expired does it open a write
 * transaction, a lazy one (store.h): a power failure can only bring
 * records back, together with the floor they raised.  When a whole pass
 * finds its oldest kept record, nothing can expire before that record's
 * time + retention, so the sweep stays idle until then.  Pruning is not a
 * disclosure and is not audited; the broker logs how many it pruned.
 */
#ifndef FLAGPOST_SEEN_PRUNE_H
#define FLAGPOST_SEEN_PRUNE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "broker_store.h"
#include "fp_error.h"

#define SEEN_PRUNE_DEFAULT_RETENTION_MS (7LL * 86400 * 1000)
#define SEEN_PRUNE_MARGIN_MS (60 * 1000)   /* for the clock stepping backwards */
#define SEEN_PRUNE_CHUNK 1024              /* records examined per sweep, at most */

typedef struct seen_prune {
    int64_t retention_ms;
    int64_t skew_max_ms;      /* the largest --skew this store was ever served with */
    int64_t floor_ms;         /* envelopes created before this are refused */
    size_t chunk;
    uint8_t resume[16];       /* the last id examined, when resuming is set */
    bool resuming;            /* false: the next sweep starts a pass at the first id */
    int64_t pass_started_ms;
    int64_t pass_oldest_ms;   /* the oldest time_ms kept so far in this pass */
    int64_t idle_until_ms;    /* no record can expire before this */
} seen_prune;

typedef struct seen_prune_report {
    size_t examined;
    size_t pruned;
    bool pass_done;           /* this sweep reached the last record */
} seen_prune_report;

/* The retention rule (after every option, and any config file, is read):
 * FP_ERR_INPUT, naming both options and the least allowed value, when
 * retention_ms < skew_max_ms + skew_ms + SEEN_PRUNE_MARGIN_MS.  Give
 * skew_max_ms = skew_ms when no history is known. */
int seen_prune_check(int64_t retention_ms, int64_t skew_ms, int64_t skew_max_ms,
                     fp_error *err);

/* At start-up, on the store the broker will serve: reads the floor and the
 * largest skew ever used, checks the rule against them and records skew_ms
 * if it is the largest yet (durably, before any message is accepted under
 * it).  chunk is clamped to 1 .. SEEN_PRUNE_CHUNK. */
int seen_prune_open(seen_prune *p, broker_store *s, int64_t retention_ms, int64_t skew_ms,
                    size_t chunk, fp_error *err);

/* One bounded step: examine up to p->chunk records after the last one
 * examined (wrapping to the first after the last), delete those with
 * now_ms - time_ms > retention and raise the floor, in one transaction.
 * No transaction may be open on s.  On an error nothing was deleted. */
int seen_prune_sweep(seen_prune *p, broker_store *s, int64_t now_ms, seen_prune_report *rep,
                     fp_error *err);

/* Envelopes whose created_ms is below this are refused (INT64_MIN: none). */
static inline int64_t seen_prune_floor(const seen_prune *p)
{
    return p->floor_ms;
}

#endif
