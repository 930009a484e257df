/*
 * marac_coord: the coordinator's side of a research round: answers as they
 * arrive, notices about the actions it sent, the status of a conference,
 * and the reminder before the deadline.
 *
 * An answer is linked to its case by the case reference sealed inside it,
 * and checked against the case's pseudonyms: an answer that names a case
 * but a different person is kept, marked, and shown as such in the pack,
 * never silently filed under the wrong survivor.
 *
 * The reminder is a signed MESSAGE_MARAC event rather than a new version
 * of each request: the broker checks it names only the coordinator's own
 * requests and agencies that received them, audits each one as a
 * reminder (not as a changed disclosure), and turns it into a durable
 * notice, while the requests, their versions and their acknowledgement
 * clocks stay as they were.
 */
#include "marac_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"
#include "outbox.h"
#include "store.h"

/* ---------------------------------------------------------------- answers */

static bool shares_pseudonym(json_t *kase, const Flagpost__FlagBody *body)
{
    pseudonym ps[PSEUDONYM_MAX];
    size_t n = marac_case_pseudonyms(kase, ps);
    for (size_t i = 0; i < body->n_subject; i++)
        for (size_t j = 0; j < n; j++)
            if (body->subject[i]->kind == (Flagpost__PseudonymKind)ps[j].kind &&
                body->subject[i]->value.len == PSEUDONYM_LEN &&
                memcmp(body->subject[i]->value.data, ps[j].value, PSEUDONYM_LEN) == 0)
                return true;
    return false;
}

static int record_answer(marac_tx *tx, json_t *kase, const Flagpost__FlagBody *body,
                         const Flagpost__StoredFlag *flag, fp_error *err)
{
    const char *ref = mj_str(kase, "case_reference"), *conf_id = mj_str(kase, "conference");
    json_t *conf = NULL, *prev = NULL;
    int rc = marac_get(&tx->db, MARAC_CONF, conf_id, strlen(conf_id), &conf, err);
    if (rc != FP_OK)
        return rc == FP_ERR_NOT_FOUND ? FP_OK : rc;
    char key[2 * MARAC_ID_MAX + 2];
    size_t kl = marac_key_pair(key, sizeof key, ref, flag->sender);
    rc = kl ? marac_get(&tx->db, MARAC_ANSWER, key, kl, &prev, err) : FP_ERR_NOT_FOUND;
    int64_t first = prev ? mj_int(prev, "first_ms") : flag->received_ms;
    char fid[33];
    marac_hex(flag->flag_id.data, fid);
    json_t *ans = json_pack("{s:s, s:s, s:I, s:I, s:I, s:b, s:b}", "agency", flag->sender,
                            "flag_id", fid, "version", (json_int_t)flag->version, "first_ms",
                            (json_int_t)first, "received_ms", (json_int_t)flag->received_ms,
                            "late", first > mj_int(conf, "deadline_ms"), "subject_match",
                            shares_pseudonym(kase, body));
    rc = rc == FP_OK || rc == FP_ERR_NOT_FOUND ? marac_put(&tx->db, MARAC_ANSWER, key, kl, ans, err)
                                              : rc;
    if (rc == FP_OK)
        log_event(&tx->a->log, LOG_INFO, "marac-answer", "conference=%s from=%s version=%u "
                  "late=%s", conf_id, flag->sender, flag->version,
                  json_is_true(json_object_get(ans, "late")) ? "yes" : "no");
    json_decref(ans);
    json_decref(prev);
    json_decref(conf);
    return rc;
}

int marac_coord_on_flag(marac_tx *tx, const Flagpost__FlagBody *body,
                        const Flagpost__StoredFlag *flag, json_t *fields, fp_error *err)
{
    if (strcmp(body->category, MARAC_CATEGORY_RESEARCH) != 0)
        return FP_OK;   /* a referral (marac_case) is an ordinary flag: history in the pack */
    const char *ref = mj_str(fields, "case_reference");
    json_t *kase = NULL;
    int rc = ref && marac_id_valid(ref)
                 ? marac_get(&tx->db, MARAC_CASE, ref, strlen(ref), &kase, err)
                 : FP_ERR_NOT_FOUND;
    if (rc == FP_ERR_NOT_FOUND) {
        log_event(&tx->a->log, LOG_WARN, "marac-answer-unknown-case", "from=%s", flag->sender);
        return FP_OK;
    }
    if (rc == FP_OK)
        rc = record_answer(tx, kase, body, flag, err);
    json_decref(kase);
    return rc;
}

/* ---------------------------------------------------------------- notices */

static int action_notice(marac_tx *tx, json_t *link, const Flagpost__Notice *n, fp_error *err)
{
    const char *ref = mj_str(link, "case_reference");
    char key[2 * MARAC_ID_MAX + 2];
    size_t kl = ref ? marac_key_seq(key, sizeof key, ref, (unsigned)mj_int(link, "seq")) : 0;
    json_t *act = NULL;
    int rc = kl ? marac_get(&tx->db, MARAC_ACTION, key, kl, &act, err) : FP_ERR_NOT_FOUND;
    if (rc != FP_OK)
        return rc == FP_ERR_NOT_FOUND ? FP_OK : rc;
    bool ack = strcmp(n->kind, "acknowledged") == 0;
    if (ack && mj_int(act, "ack_ms") == 0)
        mj_set_int(act, "ack_ms", n->time_ms);
    if (ack && strcmp(n->text, "received") != 0) {   /* any other outcome completes it */
        if (mj_int(act, "done_ms") == 0)
            mj_set_int(act, "done_ms", n->time_ms);
        mj_set_str(act, "outcome", n->text);
    } else if (strcmp(n->kind, "escalation") == 0) {
        mj_set_int(act, "escalated_ms", n->time_ms);
    } else if (strcmp(n->kind, "view") == 0 && mj_int(act, "viewed_ms") == 0) {
        mj_set_int(act, "viewed_ms", n->time_ms);
    }
    rc = marac_put(&tx->db, MARAC_ACTION, key, kl, act, err);
    json_decref(act);
    return rc;
}

int marac_coord_on_notice(marac_tx *tx, const Flagpost__Notice *n, fp_error *err)
{
    unsigned char key[17];
    marac_flag_key(key, MARAC_KIND_ACTION, n->flag_id.data);
    json_t *link = NULL;
    int rc = marac_get(&tx->db, MARAC_FLAGS, key, sizeof key, &link, err);
    if (rc == FP_ERR_NOT_FOUND)
        return FP_OK;   /* a notice about a request, or not MARAC's */
    if (rc == FP_OK)
        rc = action_notice(tx, link, n, err);
    json_decref(link);
    return rc;
}

/* ---------------------------------------------------------------- conferences */

typedef struct pick_ctx {
    int64_t today_s;
    json_t *next, *latest;
} pick_ctx;

static int pick_one(void *ctx, const unsigned char *key, size_t klen, json_t *conf)
{
    (void)key;
    (void)klen;
    pick_ctx *p = ctx;
    int64_t d = mj_int(conf, "date_s");
    if (d >= p->today_s && (p->next == NULL || d < mj_int(p->next, "date_s"))) {
        json_decref(p->next);
        p->next = json_incref(conf);
    }
    if (p->latest == NULL || d > mj_int(p->latest, "date_s")) {
        json_decref(p->latest);
        p->latest = json_incref(conf);
    }
    return 0;
}

int marac_pick_conference(marac_tx *tx, const char *id, json_t **conf, fp_error *err)
{
    *conf = NULL;
    if (id != NULL) {
        int rc = marac_get(&tx->db, MARAC_CONF, id, strlen(id), conf, err);
        if (rc == FP_ERR_NOT_FOUND)
            return fp_error_set(err, FP_ERR_INPUT, "conference: no conference '%.64s' (`marac "
                                "status --list` shows them)", id);
        return rc;
    }
    int64_t now_s = envelope_now_ms() / 1000;
    pick_ctx p = {.today_s = now_s - now_s % 86400, .next = NULL, .latest = NULL};
    int rc = marac_scan(&tx->db, MARAC_CONF, NULL, 0, pick_one, &p, err);
    *conf = p.next ? json_incref(p.next) : p.latest ? json_incref(p.latest) : NULL;
    json_decref(p.next);
    json_decref(p.latest);
    if (rc == FP_OK && *conf == NULL)
        rc = fp_error_set(err, FP_ERR_NOT_FOUND, "no MARAC conference yet: send a research "
                          "request first");
    return rc;
}

static int list_one(void *ctx, const unsigned char *key, size_t klen, json_t *conf)
{
    (void)key;
    (void)klen;
    char deadline[32];
    marac_iso(mj_int(conf, "deadline_ms"), deadline);
    json_array_append_new(ctx, json_pack("{s:s, s:s, s:s, s:s, s:I}", "id", mj_str(conf, "id"),
                                         "date", mj_str(conf, "date"), "area",
                                         mj_str(conf, "area"), "deadline", deadline, "cases",
                                         (json_int_t)json_array_size(
                                             json_object_get(conf, "cases"))));
    return 0;
}

json_t *marac_conferences_op(agent *a, json_t *req)
{
    (void)req;
    fp_error err;
    marac_tx tx;
    json_t *list = json_array();
    int rc = marac_tx_begin(a, false, &tx, &err);
    if (rc == FP_OK) {
        rc = marac_scan(&tx.db, MARAC_CONF, NULL, 0, list_one, list, &err);
        marac_tx_end(&tx);
    }
    if (rc != FP_OK && rc != FP_ERR_NOT_FOUND) {
        json_decref(list);
        return marac_error_json(&err);
    }
    return json_pack("{s:o}", "conferences", list);
}

/* ---------------------------------------------------------------- status */

typedef struct case_view {
    json_t *answers;      /* agency -> answer record */
    json_t *actions;      /* array of action records */
} case_view;

static int answer_into(void *ctx, const unsigned char *key, size_t klen, json_t *rec)
{
    (void)key;
    (void)klen;
    json_object_set(ctx, mj_str(rec, "agency"), rec);
    return 0;
}

static int action_into(void *ctx, const unsigned char *key, size_t klen, json_t *rec)
{
    (void)key;
    (void)klen;
    json_array_append(ctx, rec);
    return 0;
}

int marac_case_records(marac_tx *tx, const char *ref, json_t **answers, json_t **actions,
                       fp_error *err)
{
    char prefix[MARAC_ID_MAX + 2];
    size_t n = strlen(ref);
    memcpy(prefix, ref, n);
    prefix[n] = '\0';
    *answers = json_object();
    *actions = json_array();
    int rc = marac_scan(&tx->db, MARAC_ANSWER, prefix, n + 1, answer_into, *answers, err);
    if (rc == FP_OK)
        rc = marac_scan(&tx->db, MARAC_ACTION, prefix, n + 1, action_into, *actions, err);
    return rc;
}

static void add_agency(json_t *agencies, const char *id)
{
    size_t i;
    json_t *v;
    json_array_foreach(agencies, i, v) {
        if (strcmp(json_string_value(v), id) == 0)
            return;
    }
    json_array_append_new(agencies, json_string(id));
}

static json_t *case_status(marac_tx *tx, json_t *kase, json_t *answers, json_t *agencies)
{
    json_t *cells = json_object();
    size_t i, answered = 0, outstanding = 0;
    json_t *v;
    json_array_foreach(json_object_get(kase, "requested"), i, v) {
        add_agency(agencies, json_string_value(v));
    }
    const char *k;
    json_object_foreach(answers, k, v) add_agency(agencies, k);
    json_array_foreach(agencies, i, v) {
        const char *ag = json_string_value(v);
        json_t *ans = json_object_get(answers, ag);
        bool asked = false;
        size_t j;
        json_t *r;
        json_array_foreach(json_object_get(kase, "requested"), j, r) {
            asked |= strcmp(json_string_value(r), ag) == 0;
        }
        const char *state = ans ? (json_is_true(json_object_get(ans, "late")) ? "late"
                                                                             : "answered")
                            : asked ? "outstanding" : "not-asked";
        if (ans)
            answered++;
        else if (asked)
            outstanding++;
        json_object_set_new(cells, ag, json_string(state));
    }
    json_t *rep = marac_repeat_of(tx, kase);
    json_t *o = json_pack("{s:s, s:o, s:I, s:I}", "case_reference",
                          mj_str(kase, "case_reference"), "answers", cells, "answered",
                          (json_int_t)answered, "outstanding", (json_int_t)outstanding);
    json_object_set_new(o, "repeat", json_boolean(rep && !json_is_true(json_object_get(
                                                             rep, "address_only"))));
    if (rep)
        json_object_set_new(o, "repeat_of", rep);
    if (mj_str(kase, "request_flag_id") == NULL)
        json_object_set_new(o, "request", json_string("not-sent"));
    return o;
}

static json_t *action_status(json_t *act, int64_t now)
{
    char due[32];
    marac_iso(mj_int(act, "due_ms"), due);
    json_t *o = json_pack("{s:s, s:I, s:s, s:s, s:s}", "case_reference",
                          mj_str(act, "case_reference"), "seq", (json_int_t)mj_int(act, "seq"),
                          "owner", mj_str(act, "owner"), "due", due, "state",
                          marac_action_state(act, now));
    mj_set_str(o, "action_id", mj_str(act, "flag_id"));
    if (mj_int(act, "done_ms") > 0) {
        char when[32];
        marac_iso(mj_int(act, "done_ms"), when);
        mj_set_str(o, "completed_at", when);
        mj_set_str(o, "outcome", mj_str(act, "outcome"));
    }
    return o;
}

static int status_of(marac_tx *tx, json_t *conf, int64_t now, json_t **out, fp_error *err)
{
    json_t *agencies = json_array(), *cases = json_array(), *actions = json_array();
    size_t i, expected = 0, received = 0, open = 0, overdue = 0;
    json_t *ref;
    int rc = FP_OK;
    json_array_foreach(json_object_get(conf, "cases"), i, ref) {
        json_t *kase = NULL, *answers = NULL, *acts = NULL;
        const char *r = json_string_value(ref);
        rc = marac_get(&tx->db, MARAC_CASE, r, strlen(r), &kase, err);
        if (rc == FP_OK)
            rc = marac_case_records(tx, r, &answers, &acts, err);
        if (rc == FP_OK) {
            json_t *cs = case_status(tx, kase, answers, agencies);
            expected += (size_t)mj_int(cs, "answered") + (size_t)mj_int(cs, "outstanding");
            received += (size_t)mj_int(cs, "answered");
            json_array_append_new(cases, cs);
            size_t j;
            json_t *act;
            json_array_foreach(acts, j, act) {
                json_t *as = action_status(act, now);
                const char *st = mj_str(as, "state");
                open += strcmp(st, "done") != 0 && strcmp(st, "done-late") != 0;
                overdue += strcmp(st, "overdue") == 0;
                json_array_append_new(actions, as);
            }
        }
        json_decref(kase);
        json_decref(answers);
        json_decref(acts);
        if (rc != FP_OK)
            break;
    }
    char deadline[32], reminder[32] = "", reminded[32] = "";
    marac_iso(mj_int(conf, "deadline_ms"), deadline);
    if (mj_int(conf, "reminder_ms") > 0)
        marac_iso(mj_int(conf, "reminder_ms"), reminder);
    if (mj_int(conf, "reminded_ms") > 0)
        marac_iso(mj_int(conf, "reminded_ms"), reminded);
    *out = json_pack("{s:{s:s, s:s, s:s, s:s, s:I}, s:o, s:o, s:o, s:{s:I, s:I, s:I, s:I}}",
                     "conference", "id", mj_str(conf, "id"), "date", mj_str(conf, "date"),
                     "area", mj_str(conf, "area"), "deadline", deadline, "time_left_s",
                     (json_int_t)((mj_int(conf, "deadline_ms") - now) / 1000), "agencies",
                     agencies, "cases", cases, "actions", actions, "summary",
                     "answers_expected", (json_int_t)expected, "answers_received",
                     (json_int_t)received, "actions_open", (json_int_t)open,
                     "actions_overdue", (json_int_t)overdue);
    json_t *c = json_object_get(*out, "conference");
    if (reminder[0])
        mj_set_str(c, "reminder_at", reminder);
    if (reminded[0]) {
        mj_set_str(c, "reminded_at", reminded);
        json_object_set(c, "reminded", json_object_get(conf, "reminded"));
    }
    return rc;
}

json_t *marac_status_op(agent *a, json_t *req)
{
    fp_error err;
    marac_tx tx;
    json_t *conf = NULL, *out = NULL;
    int rc = marac_tx_begin(a, false, &tx, &err);
    if (rc == FP_ERR_NOT_FOUND)
        fp_error_set(&err, FP_ERR_NOT_FOUND, "no MARAC conference yet: send a research request "
                     "first");
    if (rc == FP_OK) {
        rc = marac_pick_conference(&tx, mj_str(req, "conference"), &conf, &err);
        if (rc == FP_OK)
            rc = status_of(&tx, conf, envelope_now_ms(), &out, &err);
        marac_tx_end(&tx);
    }
    json_decref(conf);
    if (rc != FP_OK) {
        json_decref(out);
        return marac_error_json(&err);
    }
    return out;
}

/* ---------------------------------------------------------------- reminders */

typedef struct reminder_build {
    Flagpost__MaracReminderItem *items;
    uint8_t (*ids)[16];
    size_t n, cap;
    json_t *agencies;
} reminder_build;

static int reminder_add(reminder_build *b, const char *flag_hex, const char *agency)
{
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        Flagpost__MaracReminderItem *items = realloc(b->items, cap * sizeof *items);
        if (items == NULL)
            return FP_ERR_IO;
        b->items = items;
        uint8_t (*ids)[16] = realloc(b->ids, cap * 16);
        if (ids == NULL)
            return FP_ERR_IO;
        b->ids = ids;
        b->cap = cap;
    }
    if (envelope_id_parse(flag_hex, b->ids[b->n], NULL) != FP_OK)
        return FP_OK;
    flagpost__marac_reminder_item__init(&b->items[b->n]);
    b->items[b->n].agency = (char *)(uintptr_t)agency;
    b->n++;
    add_agency(b->agencies, agency);
    return FP_OK;
}

/* Who has not answered: (request flag, agency) for every case. */
static int collect_outstanding(marac_tx *tx, json_t *conf, json_t *keep, reminder_build *b,
                               fp_error *err)
{
    size_t i;
    json_t *ref;
    json_array_foreach(json_object_get(conf, "cases"), i, ref) {
        const char *r = json_string_value(ref);
        json_t *kase = NULL, *answers = NULL, *acts = NULL;
        int rc = marac_get(&tx->db, MARAC_CASE, r, strlen(r), &kase, err);
        if (rc == FP_OK)
            rc = marac_case_records(tx, r, &answers, &acts, err);
        const char *flag = rc == FP_OK ? mj_str(kase, "request_flag_id") : NULL;
        size_t j;
        json_t *ag;
        json_array_foreach(flag ? json_object_get(kase, "requested") : NULL, j, ag) {
            if (json_object_get(answers, json_string_value(ag)) == NULL)
                rc = reminder_add(b, flag, json_string_value(ag));
            if (rc != FP_OK)
                break;
        }
        json_array_append(keep, kase);   /* the items point into it */
        json_decref(kase);
        json_decref(answers);
        json_decref(acts);
        if (rc != FP_OK)
            return rc == FP_ERR_IO ? fp_error_set(err, FP_ERR_IO, "out of memory") : rc;
    }
    return FP_OK;
}

static int stage_reminder(agent *a, MDB_txn *txn, json_t *conf, reminder_build *b,
                          unsigned char id[16], fp_error *err)
{
    Flagpost__MaracReminderItem **items = calloc(b->n, sizeof *items);
    if (items == NULL)
        return fp_error_set(err, FP_ERR_IO, "out of memory");
    for (size_t i = 0; i < b->n; i++) {
        b->items[i].flag_id.data = b->ids[i];
        b->items[i].flag_id.len = 16;
        items[i] = &b->items[i];
    }
    Flagpost__MaracReminder mr = FLAGPOST__MARAC_REMINDER__INIT;
    mr.deadline_ms = mj_int(conf, "deadline_ms");
    mr.items = items;
    mr.n_items = b->n;
    Flagpost__MaracBody mb = FLAGPOST__MARAC_BODY__INIT;
    mb.kind = (char *)"reminder";
    mb.data.len = flagpost__marac_reminder__get_packed_size(&mr);
    mb.data.data = malloc(mb.data.len ? mb.data.len : 1);
    size_t len = 0;
    uint8_t *body = NULL;
    int rc = FP_ERR_IO;
    if (mb.data.data != NULL) {
        flagpost__marac_reminder__pack(&mr, mb.data.data);
        len = flagpost__marac_body__get_packed_size(&mb);
        body = malloc(len);
    }
    if (body != NULL) {
        flagpost__marac_body__pack(&mb, body);
        rc = outbox_stage(a, txn, FLAGPOST__MESSAGE_TYPE__MESSAGE_MARAC, body, len, id, err);
    } else {
        fp_error_set(err, FP_ERR_IO, "out of memory");
    }
    free(body);
    free(mb.data.data);
    free(items);
    return rc;
}

static int send_reminders(agent *a, const char *conf_id, int64_t due_ms, int64_t now,
                          fp_error *err)
{
    marac_tx tx;
    int rc = marac_tx_begin(a, true, &tx, err);
    if (rc != FP_OK)
        return rc;
    json_t *conf = NULL, *keep = json_array();
    reminder_build b = {.agencies = json_array()};
    unsigned char id[16];
    bool staged = false;
    rc = marac_get(&tx.db, MARAC_CONF, conf_id, strlen(conf_id), &conf, err);
    if (rc == FP_OK && mj_int(conf, "reminded_ms") == 0) {
        rc = collect_outstanding(&tx, conf, keep, &b, err);
        if (rc == FP_OK && b.n > 0) {
            rc = stage_reminder(a, tx.txn, conf, &b, id, err);
            staged = rc == FP_OK;
        }
        mj_set_int(conf, "reminded_ms", now);
        json_object_set(conf, "reminded", b.agencies);
        if (rc == FP_OK)
            rc = marac_put(&tx.db, MARAC_CONF, conf_id, strlen(conf_id), conf, err);
    } else if (rc == FP_ERR_NOT_FOUND) {
        rc = FP_OK;
    }
    if (rc == FP_OK)
        rc = marac_due_del(&tx.db, due_ms, conf_id, err);
    rc = rc == FP_OK ? marac_tx_commit(&tx, err) : (marac_tx_end(&tx), rc);
    if (rc == FP_OK && staged)
        marac_send_record(a, id);
    if (rc == FP_OK)
        log_event(&a->log, LOG_INFO, "marac-reminder", "conference=%s agencies=%zu requests=%zu",
                  conf_id, json_array_size(b.agencies), b.n);
    free(b.items);
    free(b.ids);
    json_decref(b.agencies);
    json_decref(keep);
    json_decref(conf);
    return rc;
}

void marac_coord_timers(agent *a, int64_t now_ms)
{
    MDB_txn *txn;
    if (agent_store_begin(a->store, false, &txn, NULL) != FP_OK)
        return;
    marac_db db;
    int64_t due = 0;
    char conf[MARAC_ID_MAX + 1];
    int rc = marac_db_open(&db, txn, false, NULL, NULL);
    if (rc == FP_OK)
        rc = marac_due_next(&db, now_ms, &due, conf, NULL);
    marac_db_close(&db);
    agent_store_abort(txn);
    if (rc != FP_OK)
        return;
    fp_error err;
    if (send_reminders(a, conf, due, now_ms, &err) != FP_OK)
        log_event(&a->log, LOG_ERROR, "marac-reminder-failed", "conference=%s error=\"%s\"",
                  conf, err.message);
}
