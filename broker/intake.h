/*
 * intake: what the broker does with each message an agent sends, staged
 * into the batch's write transaction: verify, decide, queue, audit, and
 * prepare the answer.  The answer is sent only after the batch commits.
 *
 * Return values separate the two kinds of "no": a message the broker
 * refuses is still processed (its refusal is audited, the answer says
 * REFUSED) and intake returns FP_OK; only a storage failure returns an
 * error, and then the whole batch is rolled back and every sender in it is
 * told to retry.
 */
#ifndef FLAGPOST_INTAKE_H
#define FLAGPOST_INTAKE_H

#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>

#include "broker.h"

/* A packed ToAgent answer for the sender (malloc'd, owned by caller). */
typedef struct intake_reply {
    uint8_t *bytes;
    size_t len;
} intake_reply;

int intake_publish(broker *b, MDB_txn *txn, const char *agency, const Flagpost__Publish *pub,
                   int64_t now_ms, intake_reply *reply, fp_error *err);

/* A signed event (view, acknowledgement with action). */
int intake_event(broker *b, MDB_txn *txn, const char *agency,
                 const Flagpost__SignedEnvelope *se, int64_t now_ms, intake_reply *reply,
                 fp_error *err);

/* Shared by the event handlers (events.c). */
int intake_pack_result(const Flagpost__PublishResult *res, intake_reply *reply);
int intake_refuse_message(broker *b, MDB_txn *txn, const char *agency,
                          const Flagpost__Envelope *env, const char *reason,
                          const fp_error *why, int64_t now, intake_reply *reply, fp_error *err);
int intake_answer_again(broker *b, MDB_txn *txn, const char *agency,
                        const Flagpost__Envelope *env, Flagpost__SeenRecord *seen, int64_t now,
                        intake_reply *reply, fp_error *err);
int intake_remember(broker *b, MDB_txn *txn, const Flagpost__Envelope *env,
                    const unsigned char body_hash[32], const Flagpost__PublishResult *res,
                    int64_t now, fp_error *err);

/* A publish or event larger than the broker's --max-message-kb (but
 * within what the socket lets through, twice that): refused, audited as
 * message_refused "message-too-large", never verified or decided. */
#define INTAKE_TOO_LARGE "message-too-large"
int intake_refuse_oversize(broker *b, MDB_txn *txn, const char *agency,
                           const Flagpost__ToBroker *msg, size_t size, int64_t now_ms,
                           intake_reply *reply, fp_error *err);

/* The RETRY answer for a message whose batch could not be committed. */
int intake_retry_reply(const Flagpost__ToBroker *msg, const char *why, intake_reply *reply);

#endif
