/*
 * marac_events: the coordinator's research reminders.  See marac_events.h.
 *
 * Every item is checked before anything is written, so a reminder is
 * either wholly accepted (one audit entry and one notice per item) or
 * wholly refused (one refusal entry): a coordinator cannot use a reminder
 * to reach an agency it never asked, nor to poke another agency's flag.
 */
#include "marac_events.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit_entry.h"
#include "envelope.h"
#include "timefmt.h"

#define MARAC_REMINDER_MAX_ITEMS 4096

typedef struct reminder_item {
    Flagpost__BrokerFlag *flag;
    Flagpost__FlagBody *body;
    const Flagpost__RecipientState *rs;
} reminder_item;

static const Flagpost__RecipientState *holder(const Flagpost__BrokerFlag *f, const char *agency)
{
    for (size_t i = 0; i < f->n_recipients; i++)
        if (strcmp(f->recipients[i]->agency, agency) == 0 && !f->recipients[i]->expired)
            return f->recipients[i];
    return NULL;
}

/* NULL when the item may be reminded; otherwise the refusal reason. */
static const char *check_item(broker *b, MDB_txn *txn, const Flagpost__Envelope *env,
                              const Flagpost__MaracReminderItem *it, reminder_item *out)
{
    memset(out, 0, sizeof *out);
    if (it->flag_id.len != 16 ||
        broker_store_flag_get(b->store, txn, it->flag_id.data, &out->flag, NULL) != FP_OK)
        return "marac-reminder-unknown-flag";
    if (strcmp(out->flag->sender, env->sender) != 0)
        return "marac-reminder-not-own-flag";
    if (out->flag->state != FLAGPOST__FLAG_STATE__FLAG_ACTIVE)
        return "marac-reminder-flag-not-active";
    out->body = flagpost__flag_body__unpack(NULL, out->flag->body.len, out->flag->body.data);
    if (out->body == NULL || strcmp(out->body->category, "marac_research") != 0)
        return "marac-reminder-not-a-research-request";
    out->rs = holder(out->flag, it->agency);
    return out->rs == NULL ? "marac-reminder-agency-not-a-recipient" : NULL;
}

static void items_free(reminder_item *items, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (items[i].body)
            flagpost__flag_body__free_unpacked(items[i].body, NULL);
        if (items[i].flag)
            flagpost__broker_flag__free_unpacked(items[i].flag, NULL);
    }
}

static int remind_one(broker *b, MDB_txn *txn, const Flagpost__Envelope *env,
                      const reminder_item *it, const char *agency, const char *deadline,
                      int64_t now, fp_error *err)
{
    Flagpost__AuditEntry e = FLAGPOST__AUDIT_ENTRY__INIT;
    audit_entry_from_flag(&e, FLAGPOST__AUDIT_EVENT__AUDIT_MARAC_REMINDER, env, it->body,
                          policy_hash(b->policy));
    e.recipient = (char *)(uintptr_t)agency;
    e.decision = (char *)"reminded";
    e.rule_id = it->rs->rule_id;
    e.reason = (char *)"research-deadline-approaching";
    e.stage = (char *)"broker";
    int rc = audit_entry_append(b->store, txn, &e, now, err);
    if (rc != FP_OK)
        return rc;
    Flagpost__Notice n = FLAGPOST__NOTICE__INIT;
    n.kind = (char *)"marac-reminder";
    n.agency = env->sender;
    n.flag_id = it->body->flag_id;
    n.category = it->body->category;
    n.text = (char *)(uintptr_t)deadline;
    n.time_ms = now;
    Flagpost__ToAgent msg = FLAGPOST__TO_AGENT__INIT;
    msg.kind_case = FLAGPOST__TO_AGENT__KIND_NOTICE;
    msg.notice = &n;
    return broker_store_enqueue(b->store, txn, agency, &msg, NULL, err);
}

static int accept_reminder(broker *b, MDB_txn *txn, const Flagpost__Envelope *env,
                           const Flagpost__MaracReminder *mr, reminder_item *items,
                           const unsigned char body_hash[32], int64_t now, intake_reply *reply,
                           fp_error *err)
{
    char deadline[TIMEFMT_ISO_LEN] = "";
    if (mr->deadline_ms > 0)
        timefmt_iso_ms(mr->deadline_ms, deadline);
    int rc = FP_OK;
    for (size_t i = 0; rc == FP_OK && i < mr->n_items; i++)
        rc = remind_one(b, txn, env, &items[i], mr->items[i]->agency, deadline, now, err);
    Flagpost__PublishResult res = FLAGPOST__PUBLISH_RESULT__INIT;
    res.message_id = env->message_id;
    res.status = FLAGPOST__RESULT_STATUS__RESULT_ACCEPTED;
    if (rc == FP_OK)
        rc = intake_remember(b, txn, env, body_hash, &res, now, err);
    if (rc == FP_OK && intake_pack_result(&res, reply) != FP_OK)
        rc = fp_error_set(err, FP_ERR_IO, "out of memory");
    if (rc == FP_OK)
        log_event(&b->log, LOG_INFO, "marac-reminder", "coordinator=%s items=%zu", env->sender,
                  mr->n_items);
    return rc;
}

static int process_reminder(broker *b, MDB_txn *txn, const Flagpost__Envelope *env,
                            const Flagpost__MaracBody *mb, const unsigned char body_hash[32],
                            int64_t now, intake_reply *reply, fp_error *err)
{
    Flagpost__MaracReminder *mr =
        flagpost__marac_reminder__unpack(NULL, mb->data.len, mb->data.data);
    if (mr == NULL || mr->n_items == 0 || mr->n_items > MARAC_REMINDER_MAX_ITEMS) {
        if (mr != NULL)
            flagpost__marac_reminder__free_unpacked(mr, NULL);
        return intake_refuse_message(b, txn, env->sender, env, "malformed-marac-reminder", NULL,
                                     now, reply, err);
    }
    reminder_item *items = calloc(mr->n_items, sizeof *items);
    if (items == NULL) {
        flagpost__marac_reminder__free_unpacked(mr, NULL);
        return fp_error_set(err, FP_ERR_IO, "out of memory");
    }
    const char *bad = NULL;
    size_t checked = 0;
    for (; checked < mr->n_items && bad == NULL; checked++)
        bad = check_item(b, txn, env, mr->items[checked], &items[checked]);
    int rc = bad != NULL ? intake_refuse_message(b, txn, env->sender, env, bad, NULL, now,
                                                 reply, err)
                         : accept_reminder(b, txn, env, mr, items, body_hash, now, reply, err);
    items_free(items, checked);
    free(items);
    flagpost__marac_reminder__free_unpacked(mr, NULL);
    return rc;
}

int marac_event_process(broker *b, MDB_txn *txn, const Flagpost__Envelope *env,
                        const unsigned char body_hash[32], int64_t now, intake_reply *reply,
                        fp_error *err)
{
    const cert_info *c = trust_store_by_agency(b->trust, env->sender, now / 1000, NULL);
    if (c == NULL || strcmp(c->sector, "marac") != 0)
        return intake_refuse_message(b, txn, env->sender, env, "marac-event-not-from-marac",
                                     NULL, now, reply, err);
    Flagpost__MaracBody *mb = flagpost__marac_body__unpack(NULL, env->body.len, env->body.data);
    int rc;
    if (mb == NULL)
        rc = intake_refuse_message(b, txn, env->sender, env, "malformed-marac-event", NULL, now,
                                   reply, err);
    else if (strcmp(mb->kind, "reminder") == 0)
        rc = process_reminder(b, txn, env, mb, body_hash, now, reply, err);
    else
        rc = intake_refuse_message(b, txn, env->sender, env, "unsupported-marac-event", NULL,
                                   now, reply, err);
    if (mb != NULL)
        flagpost__marac_body__free_unpacked(mb, NULL);
    return rc;
}
