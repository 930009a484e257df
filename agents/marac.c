/*
 * marac: the entry points the rest of the agent calls.  See marac.h.
 *
 * Who may do what follows from the agency's certificate: an agency whose
 * sector is marac is the coordinator (requests, status, packs, actions,
 * counts); every other agency is a member (inbox, respond, action-done).
 * The hooks run inside the caller's transaction and never fail a delivery
 * over content: a request or answer MARAC cannot read is logged and left
 * as an ordinary flag, so the broker's queue keeps moving.
 */
#include "marac.h"

#include <string.h>

#include "marac_internal.h"

typedef json_t *(*marac_op_fn)(agent *a, json_t *req);

typedef struct marac_op {
    const char *name;
    bool coordinator;
    marac_op_fn fn;
} marac_op;

static const marac_op OPS[] = {
    {"marac_request", true, marac_request_op},
    {"marac_conferences", true, marac_conferences_op},
    {"marac_status", true, marac_status_op},
    {"marac_pack", true, marac_pack_op},
    {"marac_actions", true, marac_actions_op},
    {"marac_stats", true, marac_stats_op},
    {"marac_inbox", false, marac_inbox_op},
    {"marac_respond", false, marac_respond_op},
    {"marac_action_done", false, marac_action_done_op},
};

json_t *marac_api(agent *a, const char *op, json_t *req)
{
    fp_error err;
    for (size_t i = 0; i < sizeof OPS / sizeof OPS[0]; i++) {
        if (strcmp(op, OPS[i].name) != 0)
            continue;
        if (OPS[i].coordinator != marac_is_coordinator(a)) {
            fp_error_set(&err, FP_ERR_INPUT, "op: %s is for %s; this agent is %s (sector %s)",
                         op, OPS[i].coordinator ? "the MARAC coordinator's agent (sector marac)"
                                                : "a member agency's agent",
                         a->id.cert.agency_id, a->id.cert.sector);
            return marac_error_json(&err);
        }
        return OPS[i].fn(a, req);
    }
    fp_error_set(&err, FP_ERR_INPUT, "op: unknown MARAC operation '%.40s' (marac_request, "
                 "marac_status, marac_pack, marac_actions, marac_stats, marac_conferences, "
                 "marac_inbox, marac_respond, marac_action_done)", op);
    return marac_error_json(&err);
}

/* A full store must stop the batch (the broker redelivers once there is
 * room); anything else - a damaged record, a key that no longer opens
 * one - must not hold the agency's deliveries hostage: the flag itself is
 * stored either way, only MARAC's index of it is missing. */
static int hook_status(agent *a, int rc, fp_error *err)
{
    if (rc == FP_OK || rc == FP_ERR_FULL)
        return rc;
    log_event(&a->log, LOG_ERROR, "marac-index-failed", "error=\"%s\"", err ? err->message : "");
    return FP_OK;
}

static bool is_marac_category(const char *category)
{
    return strcmp(category, MARAC_CATEGORY_RESEARCH) == 0 ||
           strcmp(category, MARAC_CATEGORY_CASE) == 0;
}

int marac_on_flag(agent *a, MDB_txn *txn, const Flagpost__FlagBody *body,
                  const Flagpost__StoredFlag *flag, fp_error *err)
{
    if (!is_marac_category(body->category) ||
        body->lifecycle == FLAGPOST__LIFECYCLE__LIFECYCLE_WITHDRAW)
        return FP_OK;
    bool coordinator = marac_is_coordinator(a);
    bool from_coordinator = strcmp(marac_sector(a, flag->sender), "marac") == 0;
    if (coordinator == from_coordinator)
        return FP_OK;   /* not a MARAC exchange between coordinator and member */
    json_t *fields = marac_open_part(a, flag->sender, &flag->part);
    if (fields == NULL) {
        log_event(&a->log, LOG_WARN, "marac-flag-unreadable", "from=%s category=%s",
                  flag->sender, body->category);
        return FP_OK;
    }
    marac_tx tx;
    int rc = marac_tx_join(a, txn, &tx, true, err);
    if (rc == FP_OK)
        rc = coordinator ? marac_coord_on_flag(&tx, body, flag, fields, err)
                         : marac_member_on_flag(&tx, body, flag, fields, err);
    marac_tx_end(&tx);
    marac_fields_free(fields);
    return hook_status(a, rc, err);
}

int marac_on_notice(agent *a, MDB_txn *txn, const Flagpost__Notice *n, fp_error *err)
{
    if (n->flag_id.len != 16 || !is_marac_category(n->category))
        return FP_OK;
    marac_tx tx;
    int rc = marac_tx_join(a, txn, &tx, true, err);
    if (rc == FP_OK)
        rc = marac_is_coordinator(a) ? marac_coord_on_notice(&tx, n, err)
                                     : marac_member_on_notice(&tx, n, err);
    marac_tx_end(&tx);
    return hook_status(a, rc, err);
}

/* Only the pseudonym index is written here (plain, no key), so an
 * ordinary publish pays a few cursor writes for it. */
int marac_on_publish(agent *a, MDB_txn *txn, const Flagpost__OutboxRecord *rec,
                     fp_error *err)
{
    if (rec->type != FLAGPOST__MESSAGE_TYPE__MESSAGE_FLAG)
        return FP_OK;
    Flagpost__FlagBody *body = flagpost__flag_body__unpack(NULL, rec->body.len, rec->body.data);
    if (body == NULL)
        return FP_OK;
    int rc = FP_OK;
    if (!is_marac_category(body->category) && body->n_subject > 0 && body->flag_id.len == 16) {
        marac_tx tx;
        rc = marac_tx_join(a, txn, &tx, false, err);
        for (size_t i = 0; rc == FP_OK && i < body->n_subject; i++) {
            const Flagpost__Pseudonym *p = body->subject[i];
            if (p->value.len != PSEUDONYM_LEN)
                continue;
            pseudonym ps = {.kind = p->kind};
            memcpy(ps.value, p->value.data, PSEUDONYM_LEN);
            rc = marac_pub_add(&tx.db, &ps, body->flag_id.data, err);
        }
        marac_tx_end(&tx);
    }
    flagpost__flag_body__free_unpacked(body, NULL);
    return rc;
}

void marac_run_timers(agent *a, int64_t now_ms)
{
    if (marac_is_coordinator(a))
        marac_coord_timers(a, now_ms);
}
