/*
 * acknowledge: acknowledgements with action.  See acknowledge.h.
 */
#include "acknowledge.h"

#include <stdlib.h>
#include <string.h>

#include "envelope.h"
#include "outbox.h"

static const char *const OUTCOMES[] = {"received",          "acted_on",
                                       "safety_plan_updated", "referred_on",
                                       "no_further_action", "unable_to_contact", NULL};

static bool outcome_known(const char *o)
{
    for (size_t i = 0; OUTCOMES[i] != NULL; i++)
        if (strcmp(o, OUTCOMES[i]) == 0)
            return true;
    return false;
}

static int stage(agent *a, MDB_txn *txn, const Flagpost__StoredFlag *f, const char *outcome,
                 unsigned char id[16], fp_error *err)
{
    Flagpost__ActionAckBody body = FLAGPOST__ACTION_ACK_BODY__INIT;
    body.flag_id = f->flag_id;
    body.version = f->version;
    body.outcome = (char *)(uintptr_t)outcome;
    size_t len = flagpost__action_ack_body__get_packed_size(&body);
    uint8_t *bytes = malloc(len ? len : 1);
    if (bytes == NULL)
        return fp_error_set(err, FP_ERR_IO, "out of memory");
    flagpost__action_ack_body__pack(&body, bytes);
    int rc = outbox_stage(a, txn, FLAGPOST__MESSAGE_TYPE__MESSAGE_ACTION_ACK, bytes, len, id, err);
    free(bytes);
    return rc;
}

int acknowledge_flag(agent *a, const char *flag_id_hex, const char *outcome,
                     Flagpost__OutboxRecord **out, fp_error *err)
{
    *out = NULL;
    unsigned char flag_id[16], id[16];
    if (flag_id_hex == NULL || envelope_id_parse(flag_id_hex, flag_id, err) != FP_OK)
        return fp_error_set(err, FP_ERR_INPUT, "flag_id: give the flag_id lookup or inbox "
                            "printed (32 hex digits)");
    if (outcome == NULL || !outcome_known(outcome))
        return fp_error_set(err, FP_ERR_INPUT,
                            "outcome: one of received, acted_on, safety_plan_updated, "
                            "referred_on, no_further_action, unable_to_contact");
    MDB_txn *txn;
    int rc = agent_store_begin(a->store, true, &txn, err);
    if (rc != FP_OK)
        return rc;
    Flagpost__StoredFlag *f = NULL;
    rc = agent_store_flag_get(a->store, txn, flag_id, &f, err);
    if (rc != FP_OK)
        rc = fp_error_set(err, FP_ERR_INPUT, "flag_id: this agency holds no flag with that id");
    else if (f->state != FLAGPOST__FLAG_STATE__FLAG_ACTIVE)
        rc = fp_error_set(err, FP_ERR_INPUT, "flag_id: that flag is withdrawn or expired");
    else
        rc = stage(a, txn, f, outcome, id, err);
    if (f != NULL)
        flagpost__stored_flag__free_unpacked(f, NULL);
    rc = rc == FP_OK ? agent_store_commit(txn, err) : (agent_store_abort(txn), rc);
    return rc == FP_OK ? outbox_read(a, id, out, err) : rc;
}
