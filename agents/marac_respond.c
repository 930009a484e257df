/*
 * marac_respond: a member agency answers research requests and completes
 * the actions it was given.
 *
 * An answer is a marac_research flag back to the coordinator that sent the
 * request, about the same subject (the name and date of birth the request
 * carried, so its pseudonym matches the case), with only the answer
 * fields the agreement grants.  Answering again publishes a new version of
 * the same answer.  The first answer also acknowledges the request with
 * the outcome acted_on, which stops the broker's acknowledgement clock.
 *
 * Every answer in the file is checked before the first is sent: an error
 * in the twentieth leaves nothing half-answered.
 */
#include "marac_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acknowledge.h"
#include "envelope.h"

static const char *const ANSWER_KEYS[] = {"case_reference", "request_id", "record_found",
                                          "agency_summary", "risk_indicators",
                                          "children_known", "draft", "subject", "questions",
                                          NULL};

typedef struct answer_plan {
    marac_answer ans;             /* what the answer says (checked) */
    unsigned char request_id[16];
    json_t *rec;                  /* the inbox record of the request */
} answer_plan;

typedef struct find_ctx {
    const char *case_ref;
    unsigned char id[16];
    json_t *rec;
} find_ctx;

static int find_case(void *ctx, const unsigned char *key, size_t klen, json_t *rec)
{
    find_ctx *f = ctx;
    const char *ref = mj_str(rec, "case_reference");
    if (klen != 17 || ref == NULL || strcmp(ref, f->case_ref) != 0)
        return 0;
    if (f->rec == NULL || mj_int(rec, "received_ms") > mj_int(f->rec, "received_ms")) {
        json_decref(f->rec);
        f->rec = json_incref(rec);
        memcpy(f->id, key + 1, 16);
    }
    return 0;
}

/* The request an answer is for, by id or (the latest) by case reference. */
static int locate(marac_tx *tx, size_t i, answer_plan *p, fp_error *err)
{
    if (p->ans.have_id) {
        unsigned char key[17];
        memcpy(p->request_id, p->ans.request_id, 16);
        marac_flag_key(key, MARAC_KIND_INBOX, p->request_id);
        int rc = marac_get(&tx->db, MARAC_FLAGS, key, sizeof key, &p->rec, err);
        if (rc == FP_ERR_NOT_FOUND)
            return fp_error_set(err, FP_ERR_INPUT, "answers[%zu].request_id: this agency holds "
                                "no MARAC research request with that id", i);
        return rc;
    }
    find_ctx f = {.case_ref = p->ans.case_ref, .rec = NULL};
    unsigned char kind = MARAC_KIND_INBOX;
    int rc = marac_scan(&tx->db, MARAC_FLAGS, &kind, 1, find_case, &f, err);
    if (rc == FP_OK && f.rec == NULL)
        rc = fp_error_set(err, FP_ERR_INPUT, "answers[%zu].case_reference: no research request "
                          "for case '%s' has reached this agency", i, p->ans.case_ref);
    p->rec = f.rec;
    memcpy(p->request_id, f.id, 16);
    return rc;
}

static int record_found_of(json_t *ans, const char *where, const char **out, fp_error *err)
{
    json_t *v = json_object_get(ans, "record_found");
    const char *s = json_string_value(v);
    if (json_is_true(v) || (s && strcmp(s, "yes") == 0))
        *out = "yes";
    else if (json_is_false(v) || (s && (strcmp(s, "no") == 0 || strcmp(s, "no record") == 0)))
        *out = "no";
    else
        return fp_error_set(err, FP_ERR_INPUT, "%s.record_found: \"yes\" or \"no\" (\"no "
                            "record\" is an answer)", where);
    return FP_OK;
}

/* case_reference and request_id: which request is answered. */
static int answer_target(json_t *ans, const char *where, marac_answer *out, fp_error *err)
{
    const char *hex;
    int rc = marac_text(ans, "case_reference", where, MARAC_ID_MAX, false, &out->case_ref, err);
    if (rc == FP_OK)
        rc = marac_text(ans, "request_id", where, 32, false, &hex, err);
    if (rc != FP_OK)
        return rc;
    if (hex != NULL) {
        if (envelope_id_parse(hex, out->request_id, NULL) != FP_OK)
            return fp_error_set(err, FP_ERR_INPUT, "%s.request_id: 32 hex digits, as `marac "
                                "inbox` prints", where);
        out->have_id = true;
    } else if (out->case_ref == NULL) {
        return fp_error_set(err, FP_ERR_INPUT, "%s: give case_reference (or request_id)", where);
    }
    return FP_OK;
}

int marac_answers_list(json_t *req, json_t **list, fp_error *err)
{
    *list = json_object_get(json_object_get(req, "answers"), "answers");
    if (*list == NULL)
        *list = json_object_get(req, "answers");
    if (!json_is_array(*list) || json_array_size(*list) == 0 ||
        json_array_size(*list) > MARAC_MAX_ANSWERS)
        return fp_error_set(err, FP_ERR_INPUT, "answers: a list of 1-%d answers (see "
                            "docs/marac.md)", MARAC_MAX_ANSWERS);
    return FP_OK;
}

int marac_answer_check(json_t *ans, size_t i, marac_answer *out, fp_error *err)
{
    char where[32];
    snprintf(where, sizeof where, "answers[%zu]", i);
    memset(out, 0, sizeof *out);
    if (!json_is_object(ans))
        return fp_error_set(err, FP_ERR_INPUT, "%s: must be an object", where);
    int rc = marac_known_keys(ans, ANSWER_KEYS, where, err);
    if (rc == FP_OK && json_is_true(json_object_get(ans, "draft")))
        rc = fp_error_set(err, FP_ERR_INPUT, "%s: still marked as a draft; check it, correct "
                          "it and remove \"draft\" before sending", where);
    if (rc == FP_OK)
        rc = record_found_of(ans, where, &out->record_found, err);
    if (rc == FP_OK)
        rc = marac_text(ans, "agency_summary", where, MARAC_MAX_TEXT, false, &out->summary, err);
    if (rc == FP_OK)
        rc = marac_text(ans, "risk_indicators", where, MARAC_MAX_TEXT, false, &out->risk, err);
    if (rc == FP_OK)
        rc = marac_text(ans, "children_known", where, MARAC_MAX_TEXT, false, &out->children,
                        err);
    if (rc == FP_OK && strcmp(out->record_found, "yes") == 0 && out->summary == NULL)
        rc = fp_error_set(err, FP_ERR_INPUT, "%s.agency_summary: required when a record is "
                          "found (what your agency knows and its concerns)", where);
    if (rc == FP_OK)
        rc = answer_target(ans, where, out, err);
    return rc;
}

static int plan_answer(marac_tx *tx, json_t *ans, size_t i, answer_plan *p, fp_error *err)
{
    int rc = marac_answer_check(ans, i, &p->ans, err);
    return rc == FP_OK ? locate(tx, i, p, err) : rc;
}

/* ---------------------------------------------------------------- sending */

static json_t *answer_flag(const answer_plan *p, const marac_opened *req)
{
    const Flagpost__FlagBody *b = req->body;
    json_t *fields = json_pack("{s:s, s:s}", "case_reference",
                               mj_str(req->fields, "case_reference"), "record_found",
                               p->ans.record_found);
    mj_set_str(fields, "agency_summary", p->ans.summary);
    mj_set_str(fields, "risk_indicators", p->ans.risk);
    mj_set_str(fields, "children_known", p->ans.children);
    json_t *flag = json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:{s:s, s:s, s:s}, s:[s], s:o}", "category",
        MARAC_CATEGORY_RESEARCH, "purpose", b->purpose, "lawful_basis", b->lawful_basis,
        "consent", b->consent, "risk", b->risk[0] ? b->risk : "high", "subject", "role",
        b->subject_role, "name", mj_str(req->fields, "subject_name"), "dob",
        mj_str(req->fields, "subject_date_of_birth"), "recipients", req->flag->sender, "fields",
        fields);
    if (strcmp(b->consent, "given") != 0)
        mj_set_str(flag, "consent_reason", "Answer to the MARAC coordinator's research request; "
                   "consent as recorded on the request");
    if (mj_str(p->rec, "answer_flag_id") != NULL) {
        mj_set_str(flag, "action", "update");
        mj_set_str(flag, "flag_id", mj_str(p->rec, "answer_flag_id"));
    }
    return flag;
}

static int open_request(agent *a, const answer_plan *p, size_t i, marac_opened *o,
                        fp_error *err)
{
    marac_tx tx;
    int rc = marac_tx_begin(a, false, &tx, err);
    if (rc == FP_OK) {
        rc = marac_open_stored(a, tx.txn, p->request_id, o, err);
        marac_tx_end(&tx);
    }
    if (rc == FP_OK && o->fields == NULL)
        rc = fp_error_set(err, FP_ERR_INPUT, "answers[%zu]: that request was withdrawn or has "
                          "expired; it can no longer be answered", i);
    if (rc == FP_OK && (mj_str(o->fields, "subject_name") == NULL ||
                        mj_str(o->fields, "subject_date_of_birth") == NULL ||
                        mj_str(o->fields, "case_reference") == NULL))
        rc = fp_error_set(err, FP_ERR_INPUT, "answers[%zu]: the request carries no name, date "
                          "of birth or case reference to answer against", i);
    return rc;
}

static int remember_answer(agent *a, const answer_plan *p, const char *answer_id, bool acked,
                           fp_error *err)
{
    marac_tx tx;
    int rc = marac_tx_begin(a, true, &tx, err);
    if (rc != FP_OK)
        return rc;
    unsigned char key[17];
    marac_flag_key(key, MARAC_KIND_INBOX, p->request_id);
    json_t *rec = NULL;   /* read afresh: a reminder may have been noted since */
    rc = marac_get(&tx.db, MARAC_FLAGS, key, sizeof key, &rec, err);
    if (rc == FP_OK) {
        mj_set_str(rec, "answer_flag_id", answer_id);
        mj_set_int(rec, "answered_ms", envelope_now_ms());
        if (acked && mj_int(rec, "acknowledged_ms") == 0)
            mj_set_int(rec, "acknowledged_ms", envelope_now_ms());
        rc = marac_put(&tx.db, MARAC_FLAGS, key, sizeof key, rec, err);
    }
    json_decref(rec);
    return rc == FP_OK ? marac_tx_commit(&tx, err) : (marac_tx_end(&tx), rc);
}

static int send_answer(agent *a, const answer_plan *p, size_t i, json_t *out, fp_error *err)
{
    marac_opened req = {0};
    int rc = open_request(a, p, i, &req, err);
    Flagpost__OutboxRecord *rec = NULL;
    if (rc == FP_OK) {
        json_t *flag = answer_flag(p, &req);
        rc = marac_publish(a, flag, &rec, err);
        json_decref(flag);
    }
    bool acked = false;
    char answer_id[33] = "", req_hex[33];
    marac_hex(p->request_id, req_hex);
    if (rc == FP_OK) {
        Flagpost__FlagBody *b = flagpost__flag_body__unpack(NULL, rec->body.len, rec->body.data);
        if (b != NULL)
            marac_hex(b->flag_id.data, answer_id);
        if (b != NULL)
            flagpost__flag_body__free_unpacked(b, NULL);
        Flagpost__OutboxRecord *ack = NULL;
        if (mj_int(p->rec, "acknowledged_ms") == 0 &&
            acknowledge_flag(a, req_hex, "acted_on", &ack, NULL) == FP_OK) {
            marac_send_record(a, ack->message_id.data);
            flagpost__outbox_record__free_unpacked(ack, NULL);
            acked = true;
        }
        rc = remember_answer(a, p, answer_id, acked || mj_int(p->rec, "acknowledged_ms"), err);
    }
    if (rc == FP_OK) {
        char msg[33];
        marac_hex(rec->message_id.data, msg);
        int64_t due = mj_int(p->rec, "deadline_ms");
        json_array_append_new(out, json_pack(
            "{s:s, s:s, s:s, s:s, s:s, s:b}", "case_reference",
            mj_str(req.fields, "case_reference"), "request_id", req_hex, "answer_id", answer_id,
            "message_id", msg, "status", mj_str(p->rec, "answer_flag_id") ? "updated" : "sent",
            "late", due > 0 && envelope_now_ms() > due));
    }
    if (rec != NULL)
        flagpost__outbox_record__free_unpacked(rec, NULL);
    marac_opened_free(&req);
    return rc;
}

json_t *marac_respond_op(agent *a, json_t *req)
{
    fp_error err;
    json_t *list;
    if (marac_answers_list(req, &list, &err) != FP_OK)
        return marac_error_json(&err);
    size_t n = json_array_size(list);
    answer_plan *plans = calloc(n, sizeof *plans);
    marac_tx tx;
    int rc = plans ? marac_tx_begin(a, false, &tx, &err)
                   : fp_error_set(&err, FP_ERR_IO, "out of memory");
    if (rc == FP_ERR_NOT_FOUND)
        fp_error_set(&err, FP_ERR_INPUT, "no MARAC research request has reached this agency");
    if (rc == FP_OK) {
        for (size_t i = 0; i < n && rc == FP_OK; i++)
            rc = plan_answer(&tx, json_array_get(list, i), i, &plans[i], &err);
        for (size_t i = 0; i < n && rc == FP_OK; i++)
            for (size_t j = 0; j < i && rc == FP_OK; j++)
                if (memcmp(plans[i].request_id, plans[j].request_id, 16) == 0)
                    rc = fp_error_set(&err, FP_ERR_INPUT, "answers[%zu]: answers the same "
                                      "request as answers[%zu]", i, j);
        marac_tx_end(&tx);
    }
    json_t *out = json_array();
    for (size_t i = 0; i < n && rc == FP_OK; i++)
        rc = send_answer(a, &plans[i], i, out, &err);
    for (size_t i = 0; plans != NULL && i < n; i++)
        json_decref(plans[i].rec);
    free(plans);
    if (rc != FP_OK) {
        json_t *e = marac_error_json(&err);
        json_object_set_new(e, "sent", out);   /* what went before the failure */
        return e;
    }
    log_event(&a->log, LOG_INFO, "marac-respond", "answers=%zu", n);
    return json_pack("{s:o}", "answers", out);
}

/* ---------------------------------------------------------------- actions */

json_t *marac_action_done_op(agent *a, json_t *req)
{
    fp_error err;
    const char *hex = mj_str(req, "action_id");
    const char *outcome = mj_str(req, "outcome") ? mj_str(req, "outcome") : "acted_on";
    unsigned char id[16], key[17];
    json_t *rec = NULL;
    marac_tx tx;
    int rc = hex && envelope_id_parse(hex, id, NULL) == FP_OK
                 ? marac_tx_begin(a, false, &tx, &err)
                 : fp_error_set(&err, FP_ERR_INPUT, "action_id: 32 hex digits, as `marac inbox` "
                                "prints");
    if (rc == FP_OK) {
        marac_flag_key(key, MARAC_KIND_TASK, id);
        rc = marac_get(&tx.db, MARAC_FLAGS, key, sizeof key, &rec, &err);
        marac_tx_end(&tx);
    }
    if (rc == FP_ERR_NOT_FOUND)
        rc = fp_error_set(&err, FP_ERR_INPUT, "action_id: this agency holds no MARAC action "
                          "with that id");
    Flagpost__OutboxRecord *ack = NULL;
    if (rc == FP_OK)
        rc = acknowledge_flag(a, hex, outcome, &ack, &err);
    if (rc == FP_OK) {
        marac_send_record(a, ack->message_id.data);
        if (mj_int(rec, "ack_ms") == 0)
            mj_set_int(rec, "ack_ms", envelope_now_ms());
        if (strcmp(outcome, "received") != 0) {
            mj_set_int(rec, "done_ms", envelope_now_ms());
            mj_set_str(rec, "outcome", outcome);
        }
        rc = marac_tx_begin(a, true, &tx, &err);
        if (rc == FP_OK)
            rc = marac_put(&tx.db, MARAC_FLAGS, key, sizeof key, rec, &err);
        rc = rc == FP_OK ? marac_tx_commit(&tx, &err) : (marac_tx_end(&tx), rc);
    }
    json_t *reply = NULL;
    if (rc == FP_OK) {
        char msg[33];
        marac_hex(ack->message_id.data, msg);
        reply = json_pack("{s:s, s:s, s:s, s:s}", "action_id", hex, "outcome", outcome,
                          "state", strcmp(outcome, "received") ? "done" : "acknowledged",
                          "message_id", msg);
    } else {
        reply = marac_error_json(&err);
    }
    if (ack != NULL)
        flagpost__outbox_record__free_unpacked(ack, NULL);
    json_decref(rec);
    return reply;
}
