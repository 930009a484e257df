/*
 * local_api: the agent's JSON interface for its agency's own systems, on a
 * local ZeroMQ socket (ipc://PATH, created mode 0660 so only the agent's
 * user and group can connect).  Speaks request/reply: a REQ or DEALER peer
 * sends one JSON object and gets one JSON object back.
 *
 *   {"op": "publish", "flag": {...}}          -> message id, decisions
 *   {"op": "lookup", "nhs": "..."}            -> {"flags": [...]} (and views)
 *   {"op": "inbox", "limit": 50}              -> {"flags": [...]} (metadata only)
 *   {"op": "inbox", "open": true}             -> with field values (and views)
 *   {"op": "result", "message_id": "<hex>"}   -> the publish's decisions
 *   {"op": "status"}                          -> connection, queues, policy
 *
 * A publish is answered when the broker has decided, or after
 * publish_wait_ms with status "pending" (the flag is safe in the outbox
 * either way; "result" fetches the decisions later).  Errors are
 * {"error": "sentence naming the field", "code": "input"}.
 */
#ifndef FLAGPOST_LOCAL_API_H
#define FLAGPOST_LOCAL_API_H

#include <jansson.h>

#include "agent.h"

int local_api_bind(agent *a, fp_error *err);
void local_api_handle(agent *a);
/* Whether a caller waits on the record with this message id. */
bool local_api_is_waiting(const agent *a, const unsigned char id[16]);
void local_api_publish_settled(agent *a, const Flagpost__OutboxRecord *rec);
void local_api_expire_waiters(agent *a, int64_t now_ms);

/* A publish answer as the API gives it (message id, status, decisions);
 * also the spool's NAME.result.json.  The caller owns the reference. */
json_t *local_api_record_json(const Flagpost__OutboxRecord *rec);

#endif
