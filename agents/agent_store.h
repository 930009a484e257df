/*
 * agent_store: everything an agent keeps on disk, in one LMDB environment.
 *
 *   outbox     message id -> OutboxRecord   what this agency published, from
 *                                           the moment the publish call
 *                                           returned, with the broker's answer
 *   pending    message id -> ""             the outbox records still waiting
 *                                           for the broker, so resending
 *                                           never scans the whole history
 *   flags      flag id -> StoredFlag        flags received (latest version)
 *   subjects   kind||pseudonym -> flag id   (dupsort) the lookup index
 *   inbox      u64 arrival seq -> flag id   arrival order, for `inbox`
 *   received   message id -> u64 time       every delivery already stored,
 *                                           so a redelivery is a no-op
 *   published  flag id -> PublishedFlag     this agency's own flags, for
 *                                           updates and withdrawals
 *   notices    u64 broker seq -> Notice      views, acknowledgements,
 *                                           escalations and lifecycle
 *                                           notices from the broker
 *   meta       name -> value                counters, last witnessed checkpoint
 *   checkpoints u64 tree size -> SignedCheckpoint  what this agent witnessed
 *
 * Callers group work into transactions (agent_store_begin/commit) so a
 * batch of deliveries costs one fsync and a flag, its index entries and its
 * dedupe record commit together or not at all.
 */
#ifndef FLAGPOST_AGENT_STORE_H
#define FLAGPOST_AGENT_STORE_H

#include <lmdb.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "flagpost.pb-c.h"
#include "fp_error.h"
#include "pseudonym.h"

typedef struct agent_store agent_store;

int agent_store_open(agent_store **out, const char *dir, size_t map_size, fp_error *err);
void agent_store_close(agent_store *s);

/* The environment, for modules that keep databases of their own in it
 * (e.g. MARAC); at most 32 named databases in all. */
MDB_env *agent_store_env(agent_store *s);

int agent_store_begin(agent_store *s, bool write, MDB_txn **txn, fp_error *err);
int agent_store_commit(MDB_txn *txn, fp_error *err);   /* always ends txn */

/* A write transaction whose commit does not wait for its meta page to reach
 * the disk (see store.h, "lazy"): it survives a process crash and becomes
 * durable with the next ordinary commit; a power failure before then may
 * undo it (never corrupt the store).  Only for state that is redone harmlessly if lost: settling
 * the broker's answers (a lost one means a resend the broker answers as a
 * duplicate) and the witness's last checkpoint. */
int agent_store_begin_lazy(agent_store *s, MDB_txn **txn, fp_error *err);
void agent_store_abort(MDB_txn *txn);

/* ---- outbox ---- */
/* Writes the record and keeps the pending index in step with its state. */
int agent_store_outbox_put(agent_store *s, MDB_txn *txn, const Flagpost__OutboxRecord *rec,
                           fp_error *err);
/* *out must be freed with flagpost__outbox_record__free_unpacked. */
int agent_store_outbox_get(agent_store *s, MDB_txn *txn, const uint8_t id[16],
                           Flagpost__OutboxRecord **out, fp_error *err);
typedef int (*agent_store_outbox_fn)(void *ctx, const Flagpost__OutboxRecord *rec);
/* Visit the records still pending in id order, starting after the record
 * `after` (NULL: from the first); fn returns non-zero to stop the visit
 * after that record. */
int agent_store_outbox_pending(agent_store *s, MDB_txn *txn, const uint8_t after[16],
                               agent_store_outbox_fn fn, void *ctx, fp_error *err);
int agent_store_outbox_count(agent_store *s, MDB_txn *txn, size_t *pending, size_t *total);

/* ---- received flags ---- */
bool agent_store_seen(agent_store *s, MDB_txn *txn, const uint8_t msg_id[16]);
/* Store a verified delivery: the flag record, its subject index entries,
 * its inbox position and the dedupe record. */
int agent_store_flag_put(agent_store *s, MDB_txn *txn, const Flagpost__StoredFlag *flag,
                         const Flagpost__FlagBody *body, fp_error *err);
/* Record a delivery that was rejected so a redelivery is not re-examined. */
int agent_store_mark_seen(agent_store *s, MDB_txn *txn, const uint8_t msg_id[16],
                          fp_error *err);
int agent_store_flag_get(agent_store *s, MDB_txn *txn, const uint8_t flag_id[16],
                         Flagpost__StoredFlag **out, fp_error *err);

/* Visit each distinct flag indexed under any of the pseudonyms. */
typedef int (*agent_store_flag_fn)(void *ctx, const Flagpost__StoredFlag *flag);
int agent_store_lookup(agent_store *s, MDB_txn *txn, const pseudonym *ps, size_t count,
                       agent_store_flag_fn fn, void *ctx, fp_error *err);
/* Newest first, at most limit flags. */
int agent_store_inbox(agent_store *s, MDB_txn *txn, size_t limit, agent_store_flag_fn fn,
                      void *ctx, fp_error *err);
int agent_store_flag_count(agent_store *s, MDB_txn *txn, size_t *count);

/* Rewrite a stored flag in place (state changes); its index entries and
 * inbox position stay.  A withdrawn or expired flag loses its sealed part:
 * its field values are gone from this agency. */
int agent_store_flag_set_state(agent_store *s, MDB_txn *txn, const uint8_t flag_id[16],
                               Flagpost__FlagState state, const char *reason, int64_t now_ms,
                               fp_error *err);

/* ---- this agency's own flags ---- */
int agent_store_published_get(agent_store *s, MDB_txn *txn, const uint8_t flag_id[16],
                              Flagpost__PublishedFlag **out, fp_error *err);
int agent_store_published_put(agent_store *s, MDB_txn *txn, const uint8_t flag_id[16],
                              const Flagpost__PublishedFlag *rec, fp_error *err);

/* ---- small named values (meta) and witnessed checkpoints ---- */
/* *len is the buffer size on entry, the value size on return. */
int agent_store_meta_get(agent_store *s, MDB_txn *txn, const char *name, uint8_t *out,
                         size_t *len);
int agent_store_meta_put(agent_store *s, MDB_txn *txn, const char *name, const uint8_t *v,
                         size_t len, fp_error *err);
/* Keep a checkpoint by tree size, dropping the oldest beyond keep. */
int agent_store_checkpoint_put(agent_store *s, MDB_txn *txn, uint64_t tree_size,
                               const uint8_t *bytes, size_t len, size_t keep, fp_error *err);

/* ---- notices from the broker ---- */
/* Returns FP_OK whether new or already held (a redelivery). */
int agent_store_notice_put(agent_store *s, MDB_txn *txn, const Flagpost__Notice *n,
                           fp_error *err);
typedef int (*agent_store_notice_fn)(void *ctx, const Flagpost__Notice *n);
/* Newest first, at most limit. */
int agent_store_notices(agent_store *s, MDB_txn *txn, size_t limit, agent_store_notice_fn fn,
                        void *ctx, fp_error *err);

#endif
