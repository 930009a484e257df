/*
 * broker_store: the broker's durable state, in one LMDB environment (the
 * --data directory):
 *
 *   seen       message id -> SeenRecord        every message accepted, so a
 *                                              retransmission gets its first
 *                                              answer and a replay is refused;
 *                                              pruned after --seen-retention
 *                                              (seen_prune.h)
 *   queue      agency NUL u64 seq -> ToAgent    one durable queue per
 *                                              recipient: deliveries and
 *                                              notices, released only on the
 *                                              recipient's acknowledgement
 *   queue_seq  agency -> (u64 last seq, u64 depth)
 *   flags      flag id -> BrokerFlag           who received each flag, under
 *                                              which rule (lifecycle, views,
 *                                              acknowledgement deadlines)
 *   clients    agency NUL kind pseudonym -> ""  people an agency holds as its
 *                                              own client (as perpetrator)
 *   deadlines  u64 due ms, kind, flag id, agency -> ""
 *                                              acknowledgement deadlines ('A')
 *                                              and expiries ('E'), in due order
 *   meta       name -> bytes
 *   audit_*    the audit trail (audit_log.h)
 *
 * All writes happen inside one transaction per batch (broker_store_begin /
 * commit), so a batch's queue entries and audit entries commit together
 * with one fsync or not at all.
 */
#ifndef FLAGPOST_BROKER_STORE_H
#define FLAGPOST_BROKER_STORE_H

#include <lmdb.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "audit_log.h"
#include "flagpost.pb-c.h"
#include "fp_error.h"

typedef struct broker_store broker_store;

int broker_store_open(broker_store **out, const char *dir, size_t map_size, fp_error *err);
/* For tools that look while the broker runs (`flagpost broker-status`):
 * opens existing databases only, never creates or writes anything, and
 * FP_ERR_NOT_FOUND when dir holds no broker store.  Only read
 * transactions may be begun on it. */
int broker_store_open_readonly(broker_store **out, const char *dir, fp_error *err);
void broker_store_close(broker_store *s);
audit_log *broker_store_audit(broker_store *s);

int broker_store_begin(broker_store *s, bool write, MDB_txn **txn, fp_error *err);
int broker_store_commit(MDB_txn *txn, fp_error *err);   /* always ends txn */
void broker_store_abort(MDB_txn *txn);                   /* any transaction */

/* A write transaction whose commit does not wait for its meta page to reach
 * the disk (see store.h, "lazy"): safe against a process crash, intact
 * through a power failure, durable at the next ordinary commit (every
 * checkpoint is one, so nothing a signed checkpoint covers can be undone).
 * Only for batches that acknowledge nothing to a sender - recipients'
 * delivery acknowledgements, whose loss means a redelivery the recipient
 * drops as a duplicate. */
int broker_store_begin_lazy(broker_store *s, MDB_txn **txn, fp_error *err);

/* ---- replay protection ---- */
/* FP_ERR_NOT_FOUND if never seen; *out freed with flagpost__seen_record__free_unpacked. */
int broker_store_seen_get(broker_store *s, MDB_txn *txn, const uint8_t id[16],
                          Flagpost__SeenRecord **out, fp_error *err);
int broker_store_seen_put(broker_store *s, MDB_txn *txn, const uint8_t id[16],
                          const Flagpost__SeenRecord *rec, fp_error *err);
/* For pruning (seen_prune.h).  Visit up to max records in key order,
 * starting after the id `after` (from the first record when NULL); fn
 * gets each record's id and time_ms, and damaged = true (time_ms 0) for a
 * record that does not decode.  *visited is how many were visited (a key
 * that is not 16 bytes, which seen_put never writes, counts but is not
 * shown to fn) and *at_end whether the table has no record beyond them. */
typedef void (*broker_store_seen_fn)(void *ctx, const uint8_t id[16], int64_t time_ms,
                                     bool damaged);
int broker_store_seen_scan(broker_store *s, MDB_txn *txn, const uint8_t *after, size_t max,
                           broker_store_seen_fn fn, void *ctx, size_t *visited, bool *at_end,
                           fp_error *err);
/* FP_ERR_NOT_FOUND if there is no record for id. */
int broker_store_seen_del(broker_store *s, MDB_txn *txn, const uint8_t id[16], fp_error *err);

/* ---- per-recipient queues ---- */
/* Assigns the next seq for agency, writes it into msg (deliver.seq or
 * notice.seq) and stores the packed message. */
int broker_store_enqueue(broker_store *s, MDB_txn *txn, const char *agency,
                         Flagpost__ToAgent *msg, uint64_t *seq_out, fp_error *err);
typedef int (*broker_store_queue_fn)(void *ctx, uint64_t seq, const uint8_t *bytes,
                                     size_t len);
/* Visit agency's queue entries with seq > after, in order, until fn
 * returns non-zero. */
int broker_store_queue_scan(broker_store *s, MDB_txn *txn, const char *agency, uint64_t after,
                            broker_store_queue_fn fn, void *ctx, fp_error *err);
/* Shown a queue entry's bytes just before it is released.  They are
 * LMDB's own, valid only during the call, and fn must not write to the
 * transaction: the acknowledgement path (three times a flag) decodes them
 * in place instead of copying them first.  A non-OK return keeps the
 * entry and is what broker_store_dequeue returns. */
typedef int (*broker_store_release_fn)(void *ctx, const uint8_t *bytes, size_t len,
                                       fp_error *err);
/* Remove one entry, shown first to fn (may be NULL).  FP_ERR_NOT_FOUND if
 * it was already released. */
int broker_store_dequeue(broker_store *s, MDB_txn *txn, const char *agency, uint64_t seq,
                         broker_store_release_fn fn, void *ctx, fp_error *err);
int broker_store_queue_depth(broker_store *s, MDB_txn *txn, const char *agency,
                             uint64_t *depth);
typedef int (*broker_store_depth_fn)(void *ctx, const char *agency, uint64_t depth);
int broker_store_queue_depths(broker_store *s, MDB_txn *txn, broker_store_depth_fn fn,
                              void *ctx);

/* ---- flags carried ---- */
int broker_store_flag_get(broker_store *s, MDB_txn *txn, const uint8_t flag_id[16],
                          Flagpost__BrokerFlag **out, fp_error *err);
int broker_store_flag_put(broker_store *s, MDB_txn *txn, const uint8_t flag_id[16],
                          const Flagpost__BrokerFlag *rec, fp_error *err);
typedef int (*broker_store_flag_fn)(void *ctx, const uint8_t flag_id[16],
                                    const Flagpost__BrokerFlag *rec);
int broker_store_flag_scan(broker_store *s, MDB_txn *txn, broker_store_flag_fn fn, void *ctx,
                           fp_error *err);

/* ---- clients ---- */
int broker_store_client_add(broker_store *s, MDB_txn *txn, const char *agency,
                            const Flagpost__Pseudonym *p, fp_error *err);
bool broker_store_client_has(broker_store *s, MDB_txn *txn, const char *agency,
                             const Flagpost__Pseudonym *p);

/* ---- deadlines ---- */
#define DEADLINE_ACK 'A'
#define DEADLINE_EXPIRY 'E'
/* version is the version of the flag the deadline was scheduled for, so
 * a deadline of a version since superseded can be told apart (lifecycle.c);
 * fn gets it back, or 0 for a deadline stored without one. */
int broker_store_deadline_add(broker_store *s, MDB_txn *txn, int64_t due_ms, char kind,
                              const uint8_t flag_id[16], const char *agency, uint32_t version,
                              fp_error *err);
typedef int (*broker_store_deadline_fn)(void *ctx, int64_t due_ms, char kind,
                                        const uint8_t flag_id[16], const char *agency,
                                        uint32_t version);
/* Visit deadlines due at or before now, earliest first, at most max; each
 * visited deadline is deleted in txn. */
int broker_store_deadlines_due(broker_store *s, MDB_txn *txn, int64_t now_ms, size_t max,
                               broker_store_deadline_fn fn, void *ctx, fp_error *err);
bool broker_store_deadline_pending(broker_store *s, MDB_txn *txn, int64_t now_ms);

/* ---- meta ---- */
int broker_store_meta_get(broker_store *s, MDB_txn *txn, const char *name, uint8_t *out,
                          size_t *len);
int broker_store_meta_put(broker_store *s, MDB_txn *txn, const char *name, const uint8_t *v,
                          size_t len, fp_error *err);

#endif
