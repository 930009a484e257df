/*
 * marac_member: a member agency's side of a research round: the requests
 * it holds, an answer drafted from what it already knows, and the answer
 * it confirms.
 *
 * The draft is built only from this agency's own records of flags: the
 * flags it received about the subject (found by the request's pseudonyms
 * in the lookup index) and the flags it published about them (the
 * pseudonym index marac_on_publish keeps).  It states what is held -
 * category, from or to whom, risk, date, state - and never copies another
 * agency's field values or invents a word of content; a practitioner
 * confirms or rewrites it, and `respond` refuses an answer still marked
 * as a draft.
 *
 * Showing a request's details (the subject's name, date of birth and
 * address) is a view like any lookup, reported to the broker and audited.
 */
#include "marac_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acknowledge.h"
#include "envelope.h"
#include "flag_json.h"

static const char *state_name(Flagpost__FlagState s)
{
    switch (s) {
    case FLAGPOST__FLAG_STATE__FLAG_ACTIVE: return "active";
    case FLAGPOST__FLAG_STATE__FLAG_SUPERSEDED: return "superseded";
    case FLAGPOST__FLAG_STATE__FLAG_WITHDRAWN: return "withdrawn";
    case FLAGPOST__FLAG_STATE__FLAG_EXPIRED: return "expired";
    default: return "unknown";
    }
}

/* ---------------------------------------------------------------- hooks */

static int index_flag(marac_tx *tx, char kind, const Flagpost__StoredFlag *flag, json_t *fields,
                      fp_error *err)
{
    unsigned char key[17];
    marac_flag_key(key, kind, flag->flag_id.data);
    json_t *rec = NULL;
    int rc = marac_get(&tx->db, MARAC_FLAGS, key, sizeof key, &rec, err);
    if (rc == FP_ERR_NOT_FOUND)
        rec = json_object();
    else if (rc != FP_OK)
        return rc;
    mj_set_str(rec, "coordinator", flag->sender);
    mj_set_str(rec, "case_reference", mj_str(fields, "case_reference"));
    mj_set_str(rec, "conference_date", mj_str(fields, "conference_date"));
    mj_set_int(rec, "received_ms", flag->received_ms);
    mj_set_int(rec, "version", flag->version);
    int64_t deadline;
    const char *d = mj_str(fields, "research_deadline");
    if (d != NULL && marac_parse_due(d, &deadline) == FP_OK)
        mj_set_int(rec, "deadline_ms", deadline);
    rc = marac_put(&tx->db, MARAC_FLAGS, key, sizeof key, rec, err);
    json_decref(rec);
    return rc;
}

int marac_member_on_flag(marac_tx *tx, const Flagpost__FlagBody *body,
                         const Flagpost__StoredFlag *flag, json_t *fields, fp_error *err)
{
    if (strcmp(body->category, MARAC_CATEGORY_RESEARCH) == 0)
        return index_flag(tx, MARAC_KIND_INBOX, flag, fields, err);
    if (json_object_get(fields, "actions_for_recipient") != NULL)
        return index_flag(tx, MARAC_KIND_TASK, flag, fields, err);
    return FP_OK;   /* a case flag without actions: an ordinary flag */
}

int marac_member_on_notice(marac_tx *tx, const Flagpost__Notice *n, fp_error *err)
{
    if (strcmp(n->kind, "marac-reminder") != 0)
        return FP_OK;
    unsigned char key[17];
    marac_flag_key(key, MARAC_KIND_INBOX, n->flag_id.data);
    json_t *rec = NULL;
    int rc = marac_get(&tx->db, MARAC_FLAGS, key, sizeof key, &rec, err);
    if (rc != FP_OK)
        return rc == FP_ERR_NOT_FOUND ? FP_OK : rc;
    mj_set_int(rec, "reminded_ms", n->time_ms);
    rc = marac_put(&tx->db, MARAC_FLAGS, key, sizeof key, rec, err);
    log_event(&tx->a->log, LOG_WARN, "marac-reminder", "coordinator=%s", n->agency);
    json_decref(rec);
    return rc;
}

/* ---------------------------------------------------------------- drafts */

typedef struct draft_ctx {
    marac_tx *tx;
    const uint8_t *request_id;
    json_t *matches;
} draft_ctx;

static Flagpost__FlagBody *stored_body(const Flagpost__StoredFlag *f)
{
    Flagpost__SignedEnvelope *se =
        flagpost__signed_envelope__unpack(NULL, f->signed_envelope.len, f->signed_envelope.data);
    Flagpost__Envelope *env =
        se ? flagpost__envelope__unpack(NULL, se->envelope.len, se->envelope.data) : NULL;
    Flagpost__FlagBody *b =
        env ? flagpost__flag_body__unpack(NULL, env->body.len, env->body.data) : NULL;
    if (env)
        flagpost__envelope__free_unpacked(env, NULL);
    if (se)
        flagpost__signed_envelope__free_unpacked(se, NULL);
    return b;
}

static int received_match(void *ctx, const Flagpost__StoredFlag *f)
{
    draft_ctx *c = ctx;
    if (memcmp(f->flag_id.data, c->request_id, 16) == 0 ||
        strcmp(f->category, MARAC_CATEGORY_RESEARCH) == 0)
        return 0;
    Flagpost__FlagBody *b = stored_body(f);
    char fid[33], when[32];
    marac_hex(f->flag_id.data, fid);
    marac_date(f->received_ms / 1000, when);
    json_t *m = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "source", "received", "flag_id", fid,
                          "category", f->category, "agency", f->sender, "agency_name",
                          marac_agency_name(c->tx->a, f->sender), "date", when);
    mj_set_str(m, "state", state_name(f->state));
    if (b != NULL) {
        mj_set_str(m, "risk", b->risk);
        mj_set_str(m, "role", b->subject_role);
        flagpost__flag_body__free_unpacked(b, NULL);
    }
    json_array_append_new(c->matches, m);
    return 0;
}

/* What a published flag was: its first body (risk, role) and recipients. */
static void describe_published(marac_tx *tx, const Flagpost__PublishedFlag *pf, json_t *m)
{
    Flagpost__OutboxRecord *rec = NULL;
    if (pf->last_message_id.len != 16 ||
        agent_store_outbox_get(tx->a->store, tx->txn, pf->last_message_id.data, &rec, NULL) !=
            FP_OK)
        return;
    Flagpost__FlagBody *b = flagpost__flag_body__unpack(NULL, rec->body.len, rec->body.data);
    if (b != NULL && b->lifecycle != FLAGPOST__LIFECYCLE__LIFECYCLE_WITHDRAW) {
        mj_set_str(m, "risk", b->risk);
        mj_set_str(m, "role", b->subject_role);
        json_object_set_new(m, "to", marac_decisions(rec, true));
    }
    if (b != NULL)
        flagpost__flag_body__free_unpacked(b, NULL);
    flagpost__outbox_record__free_unpacked(rec, NULL);
}

static int published_match(void *ctx, const uint8_t flag_id[16])
{
    draft_ctx *c = ctx;
    Flagpost__PublishedFlag *pf = NULL;
    if (agent_store_published_get(c->tx->a->store, c->tx->txn, flag_id, &pf, NULL) != FP_OK)
        return 0;
    char fid[33], when[32];
    marac_hex(flag_id, fid);
    marac_date(pf->published_ms / 1000, when);
    json_t *m = json_pack("{s:s, s:s, s:s, s:s, s:s}", "source", "sent", "flag_id", fid,
                          "category", pf->category, "date", when, "state",
                          state_name(pf->state));
    describe_published(c->tx, pf, m);
    json_array_append_new(c->matches, m);
    flagpost__published_flag__free_unpacked(pf, NULL);
    return 0;
}

static void append_line(char **text, const char *line)
{
    char *next = NULL;
    if (asprintf(&next, "%s%s%s", *text ? *text : "", *text ? "\n" : "", line) >= 0) {
        free(*text);
        *text = next;
    }
}

static char *summary_of(marac_tx *tx, json_t *matches)
{
    char *text = NULL;
    size_t i;
    json_t *m;
    json_array_foreach(matches, i, m) {
        char line[512], to[256] = "", risk[48];
        if (mj_str(m, "risk") != NULL)
            snprintf(risk, sizeof risk, "%s risk", mj_str(m, "risk"));
        else
            snprintf(risk, sizeof risk, "risk not recorded");
        if (strcmp(mj_str(m, "source"), "received") == 0) {
            snprintf(line, sizeof line, "Held: %s flag from %s (%s, received %s, %s).",
                     mj_str(m, "category"), mj_str(m, "agency_name"), risk, mj_str(m, "date"),
                     mj_str(m, "state"));
        } else {
            size_t j, n = 0;
            json_t *r;
            json_array_foreach(json_object_get(m, "to"), j, r) {
                const char *name = marac_agency_name(tx->a, json_string_value(r));
                int k = snprintf(to + n, sizeof to - n, "%s%s", j ? ", " : "", name);
                if (k < 0 || (size_t)k >= sizeof to - n)
                    break;
                n += (size_t)k;
            }
            snprintf(line, sizeof line, "Sent: %s flag%s%s (%s, %s, %s).", mj_str(m, "category"),
                     to[0] ? " to " : "", to, risk, mj_str(m, "date"), mj_str(m, "state"));
        }
        append_line(&text, line);
    }
    return text;
}

static json_t *draft_for(marac_tx *tx, const Flagpost__FlagBody *body, const uint8_t *request_id)
{
    pseudonym ps[PSEUDONYM_MAX];
    size_t n = 0;
    for (size_t i = 0; i < body->n_subject && n < PSEUDONYM_MAX; i++) {
        if (body->subject[i]->value.len != PSEUDONYM_LEN)
            continue;
        ps[n].kind = body->subject[i]->kind;
        memcpy(ps[n++].value, body->subject[i]->value.data, PSEUDONYM_LEN);
    }
    draft_ctx c = {.tx = tx, .request_id = request_id, .matches = json_array()};
    if (n > 0) {
        agent_store_lookup(tx->a->store, tx->txn, ps, n, received_match, &c, NULL);
        marac_pub_find(&tx->db, ps, n, published_match, &c, NULL);
    }
    char *summary = summary_of(tx, c.matches);
    json_t *d = json_pack("{s:s, s:s, s:o}", "record_found",
                          json_array_size(c.matches) ? "yes" : "no", "agency_summary",
                          summary ? summary : "", "matches", c.matches);
    free(summary);
    return d;
}

/* ---------------------------------------------------------------- inbox */

typedef struct inbox_ctx {
    marac_tx *tx;
    bool all;
    int64_t now;
    json_t *requests, *actions;
    lookup_views views;
} inbox_ctx;

static json_t *request_entry(inbox_ctx *c, json_t *rec, const marac_opened *o, const char *id)
{
    char deadline[32] = "", reminded[32] = "";
    int64_t due = mj_int(rec, "deadline_ms");
    if (due > 0)
        marac_iso(due, deadline);
    json_t *e = json_pack("{s:s, s:s, s:s, s:s}", "request_id", id, "coordinator",
                          mj_str(rec, "coordinator"), "coordinator_name",
                          marac_agency_name(c->tx->a, mj_str(rec, "coordinator")), "state",
                          state_name(o->flag->state));
    mj_set_str(e, "case_reference", mj_str(rec, "case_reference"));
    mj_set_str(e, "conference_date", mj_str(rec, "conference_date"));
    if (deadline[0]) {
        mj_set_str(e, "deadline", deadline);
        mj_set_int(e, "time_left_s", (due - c->now) / 1000);
    }
    if (mj_int(rec, "reminded_ms") > 0) {
        marac_iso(mj_int(rec, "reminded_ms"), reminded);
        mj_set_str(e, "reminded_at", reminded);
    }
    json_object_set_new(e, "answered", json_boolean(mj_str(rec, "answer_flag_id") != NULL));
    mj_set_str(e, "answer_id", mj_str(rec, "answer_flag_id"));
    mj_set_str(e, "role", o->body->subject_role);
    /* Shown only once its view is remembered (lookup_views_add). */
    if (o->fields != NULL && lookup_views_add(&c->views, o->flag, o->body)) {
        json_t *s = json_object();
        mj_set_str(s, "name", mj_str(o->fields, "subject_name"));
        mj_set_str(s, "dob", mj_str(o->fields, "subject_date_of_birth"));
        mj_set_str(s, "address", mj_str(o->fields, "subject_address"));
        json_object_set_new(e, "subject", s);
        mj_set_str(e, "questions", mj_str(o->fields, "research_questions"));
        json_object_set_new(e, "draft", draft_for(c->tx, o->body, o->flag->flag_id.data));
    }
    return e;
}

static json_t *task_entry(inbox_ctx *c, json_t *rec, const marac_opened *o, const char *id)
{
    json_t *e = json_pack("{s:s, s:s, s:s}", "action_id", id, "coordinator",
                          mj_str(rec, "coordinator"), "state",
                          mj_int(rec, "done_ms") ? "done"
                          : mj_int(rec, "ack_ms") ? "acknowledged"
                          : o->flag->state == FLAGPOST__FLAG_STATE__FLAG_ACTIVE
                              ? "open" : state_name(o->flag->state));
    mj_set_str(e, "case_reference", mj_str(rec, "case_reference"));
    mj_set_str(e, "conference_date", mj_str(rec, "conference_date"));
    mj_set_str(e, "outcome", mj_str(rec, "outcome"));
    json_object_set_new(e, "restricted", json_boolean(o->body->restricted));
    if (o->fields != NULL && lookup_views_add(&c->views, o->flag, o->body)) {
        mj_set_str(e, "action", mj_str(o->fields, "actions_for_recipient"));
        mj_set_str(e, "subject_name", mj_str(o->fields, "subject_name"));
        mj_set_str(e, "subject_dob", mj_str(o->fields, "subject_date_of_birth"));
        mj_set_str(e, "risk_summary", mj_str(o->fields, "risk_summary"));
        mj_set_str(e, "coordinator_contact", mj_str(o->fields, "coordinator_contact"));
    }
    return e;
}

static int inbox_visit(void *ctx, const unsigned char *key, size_t klen, json_t *rec)
{
    inbox_ctx *c = ctx;
    if (klen != 17)
        return 0;
    marac_opened o;
    if (marac_open_stored(c->tx->a, c->tx->txn, key + 1, &o, NULL) != FP_OK) {
        marac_opened_free(&o);
        return 0;
    }
    bool request = key[0] == MARAC_KIND_INBOX;
    bool open = o.flag->state == FLAGPOST__FLAG_STATE__FLAG_ACTIVE &&
                (request ? mj_str(rec, "answer_flag_id") == NULL : mj_int(rec, "done_ms") == 0);
    char id[33];
    marac_hex(key + 1, id);
    if (c->all || open)
        json_array_append_new(request ? c->requests : c->actions,
                              request ? request_entry(c, rec, &o, id) : task_entry(c, rec, &o, id));
    marac_opened_free(&o);
    return 0;
}

json_t *marac_inbox_op(agent *a, json_t *req)
{
    fp_error err;
    marac_tx tx;
    inbox_ctx c = {.tx = &tx, .all = json_is_true(json_object_get(req, "all")),
                   .now = envelope_now_ms(), .requests = json_array(),
                   .actions = json_array()};
    int rc = marac_tx_begin(a, false, &tx, &err);
    if (rc == FP_OK) {
        unsigned char kind = MARAC_KIND_INBOX;
        rc = marac_scan(&tx.db, MARAC_FLAGS, &kind, 1, inbox_visit, &c, &err);
        kind = MARAC_KIND_TASK;
        if (rc == FP_OK)
            rc = marac_scan(&tx.db, MARAC_FLAGS, &kind, 1, inbox_visit, &c, &err);
        marac_tx_end(&tx);
    }
    if (rc != FP_OK && rc != FP_ERR_NOT_FOUND) {
        free(c.views.items);
        json_decref(c.requests);
        json_decref(c.actions);
        return marac_error_json(&err);
    }
    lookup_report_views(a, &c.views);
    return json_pack("{s:o, s:o}", "requests", c.requests, "actions", c.actions);
}
