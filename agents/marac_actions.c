/*
 * marac_actions: the coordinator sends the conference's actions.
 *
 * Each action is its own marac_case flag to the agency that owns it, so
 * the owner acknowledges and completes each one separately (the existing
 * acknowledgement with an outcome: "received" acknowledges, any other
 * outcome completes) and the broker's acknowledgement clock and audit
 * trail cover every action.  The due date stays with the coordinator,
 * which marks an action overdue; the owner reads it in the action's text.
 * A closed case travels as a restricted flag naming only the agencies
 * with actions in it, so nobody else can receive it whatever the rules
 * say.
 *
 * Actions are numbered per case in the order written; sending the file
 * again sends only the actions not sent before, and refuses one whose
 * owner or text changed (send a new action instead: what was sent stays
 * as it was, in the audit trail too).
 */
#include "marac_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"

#define MAX_ACTIONS_PER_CASE 50

static const char *const FILE_KEYS[] = {"conference", "coordinator_contact", "cases", NULL};
static const char *const CASE_KEYS[] = {"case_reference", "closed", "risk_summary", "actions",
                                        NULL};
static const char *const ACTION_KEYS[] = {"agency", "action", "due", NULL};

typedef struct action_plan {
    json_t *kase;                 /* the case record */
    const char *owner, *text, *due_text, *risk_summary;
    int64_t due_ms;
    unsigned seq;
    bool closed, send;
    json_t *named;                /* owners of the case's actions (closed cases) */
} action_plan;

typedef struct plans {
    action_plan *p;
    size_t n, cap;
} plans;

static void plans_free(plans *ps)
{
    for (size_t i = 0; i < ps->n; i++) {
        json_decref(ps->p[i].kase);
        json_decref(ps->p[i].named);
    }
    free(ps->p);
}

static action_plan *plans_add(plans *ps)
{
    if (ps->n == ps->cap) {
        size_t cap = ps->cap ? ps->cap * 2 : 32;
        action_plan *p = realloc(ps->p, cap * sizeof *p);
        if (p == NULL)
            return NULL;
        ps->p = p;
        ps->cap = cap;
    }
    action_plan *a = &ps->p[ps->n++];
    memset(a, 0, sizeof *a);
    return a;
}

/* An action already sent must be the same action. */
static int check_sent(marac_tx *tx, action_plan *p, const char *where, fp_error *err)
{
    char key[2 * MARAC_ID_MAX + 2];
    const char *ref = mj_str(p->kase, "case_reference");
    size_t kl = marac_key_seq(key, sizeof key, ref, p->seq);
    json_t *held = NULL;
    int rc = marac_get(&tx->db, MARAC_ACTION, key, kl, &held, err);
    if (rc == FP_ERR_NOT_FOUND) {
        p->send = true;
        return FP_OK;
    }
    if (rc != FP_OK)
        return rc;
    bool same = strcmp(mj_str(held, "owner"), p->owner) == 0 &&
                strcmp(mj_str(held, "action"), p->text) == 0;
    json_decref(held);
    return same ? FP_OK : fp_error_set(err, FP_ERR_INPUT, "%s: action %u of case %s was sent "
                                       "before with another owner or text; add a new action at "
                                       "the end instead", where, p->seq, ref);
}

/* ---------------------------------------------------------------- checking */

static int check_action(json_t *act, const char *where, fp_error *err)
{
    const char *owner, *text, *due;
    int64_t due_ms;
    if (!json_is_object(act))
        return fp_error_set(err, FP_ERR_INPUT, "%s: an object (agency, action, due)", where);
    int rc = marac_known_keys(act, ACTION_KEYS, where, err);
    if (rc == FP_OK)
        rc = marac_text(act, "agency", where, 63, true, &owner, err);
    if (rc == FP_OK)
        rc = marac_text(act, "action", where, 4000, true, &text, err);
    if (rc == FP_OK)
        rc = marac_text(act, "due", where, 32, true, &due, err);
    if (rc == FP_OK && marac_parse_due(due, &due_ms) != FP_OK)
        rc = fp_error_set(err, FP_ERR_INPUT, "%s.due: YYYY-MM-DD (the end of that day) or "
                          "YYYY-MM-DDTHH:MM:SSZ", where);
    return rc;
}

static int check_case(json_t *c, size_t i, fp_error *err)
{
    char where[48];
    snprintf(where, sizeof where, "cases[%zu]", i);
    if (!json_is_object(c))
        return fp_error_set(err, FP_ERR_INPUT, "%s: must be an object", where);
    const char *ref, *risk;
    json_t *closed = json_object_get(c, "closed"), *acts = json_object_get(c, "actions");
    int rc = marac_known_keys(c, CASE_KEYS, where, err);
    if (rc == FP_OK)
        rc = marac_text(c, "case_reference", where, MARAC_ID_MAX, true, &ref, err);
    if (rc == FP_OK)
        rc = marac_text(c, "risk_summary", where, MARAC_MAX_TEXT, false, &risk, err);
    if (rc == FP_OK && closed != NULL && !json_is_boolean(closed))
        rc = fp_error_set(err, FP_ERR_INPUT, "%s.closed: true or false", where);
    if (rc == FP_OK && !marac_id_valid(ref))
        rc = fp_error_set(err, FP_ERR_INPUT, "%s.case_reference: not a case reference", where);
    if (rc == FP_OK && (!json_is_array(acts) || json_array_size(acts) == 0 ||
                        json_array_size(acts) > MAX_ACTIONS_PER_CASE))
        rc = fp_error_set(err, FP_ERR_INPUT, "%s.actions: a list of 1-%d actions", where,
                          MAX_ACTIONS_PER_CASE);
    size_t j;
    json_t *act;
    json_array_foreach(rc == FP_OK ? acts : NULL, j, act) {
        char aw[80];
        snprintf(aw, sizeof aw, "%s.actions[%zu]", where, j);
        if ((rc = check_action(act, aw, err)) != FP_OK)
            break;
    }
    return rc;
}

int marac_actions_check(json_t *file, fp_error *err)
{
    const char *conf_id, *contact;
    int rc = json_is_object(file) ? marac_known_keys(file, FILE_KEYS, "actions", err)
                                  : fp_error_set(err, FP_ERR_INPUT, "the actions file must be "
                                                 "a JSON object");
    if (rc == FP_OK)
        rc = marac_text(file, "conference", "actions", MARAC_ID_MAX, true, &conf_id, err);
    if (rc == FP_OK)
        rc = marac_text(file, "coordinator_contact", "actions", 500, false, &contact, err);
    json_t *cases = json_object_get(file, "cases");
    if (rc == FP_OK && (!json_is_array(cases) || json_array_size(cases) == 0))
        rc = fp_error_set(err, FP_ERR_INPUT, "actions.cases: a list of cases with their "
                          "actions");
    size_t i;
    json_t *c;
    json_array_foreach(rc == FP_OK ? cases : NULL, i, c) {
        if ((rc = check_case(c, i, err)) != FP_OK)
            break;
    }
    return rc;
}

/* ---------------------------------------------------------------- planning */

/* The store's side of an action marac_actions_check passed. */
static int plan_action(marac_tx *tx, json_t *act, const char *where, action_plan *p,
                       fp_error *err)
{
    p->owner = mj_str(act, "agency");
    p->text = mj_str(act, "action");
    p->due_text = mj_str(act, "due");
    marac_parse_due(p->due_text, &p->due_ms);
    if (agent_sector_of(tx->a, p->owner, envelope_now_ms() / 1000) == NULL ||
        strcmp(p->owner, tx->a->id.cert.agency_id) == 0)
        return fp_error_set(err, FP_ERR_INPUT, "%s.agency: no valid certificate for a member "
                            "agency '%s'", where, p->owner);
    return check_sent(tx, p, where, err);
}

static json_t *owners_of(json_t *actions)
{
    json_t *named = json_array();
    size_t i, j;
    json_t *a, *v;
    json_array_foreach(actions, i, a) {
        const char *owner = mj_str(a, "agency");
        if (owner == NULL)
            continue;
        bool seen = false;
        json_array_foreach(named, j, v) seen |= strcmp(json_string_value(v), owner) == 0;
        if (!seen)
            json_array_append_new(named, json_string(owner));
    }
    return named;
}

/* The store's side of a case marac_actions_check passed. */
static int plan_case(marac_tx *tx, json_t *c, size_t i, const char *conf_id, plans *ps,
                     fp_error *err)
{
    const char *ref = mj_str(c, "case_reference"), *risk = mj_str(c, "risk_summary");
    const char *held_conf;
    json_t *kase = NULL, *acts = json_object_get(c, "actions");
    if (risk != NULL && risk[0] == '\0')
        risk = NULL;   /* as marac_text reads an empty optional text */
    int rc = marac_get(&tx->db, MARAC_CASE, ref, strlen(ref), &kase, err);
    if (rc == FP_ERR_NOT_FOUND || (rc == FP_OK && ((held_conf = mj_str(kase, "conference")) ==
                                                   NULL || strcmp(held_conf, conf_id) != 0)))
        rc = fp_error_set(err, FP_ERR_INPUT, "cases[%zu].case_reference: '%s' is not a case of "
                          "conference %s", i, ref, conf_id);
    size_t j;
    json_t *act;
    json_array_foreach(rc == FP_OK ? acts : NULL, j, act) {
        char aw[80];
        snprintf(aw, sizeof aw, "cases[%zu].actions[%zu]", i, j);
        action_plan *p = plans_add(ps);
        if (p == NULL) {
            rc = fp_error_set(err, FP_ERR_IO, "out of memory");
            break;
        }
        p->kase = json_incref(kase);
        p->seq = (unsigned)j + 1;
        p->closed = json_is_true(json_object_get(c, "closed"));
        p->risk_summary = risk;
        p->named = owners_of(acts);
        if ((rc = plan_action(tx, act, aw, p, err)) != FP_OK)
            break;
    }
    json_decref(kase);
    return rc;
}

/* ---------------------------------------------------------------- sending */

static json_t *action_flag(json_t *conf, const action_plan *p, bool repeat)
{
    json_t *s = json_object_get(p->kase, "subject");
    json_t *subject = json_object();
    static const char *const ids[] = {"role", "nhs", "name", "dob", "postcode", "uprn", NULL};
    for (size_t i = 0; ids[i] != NULL; i++)
        mj_set_str(subject, ids[i], mj_str(s, ids[i]));
    char *text = NULL;
    if (asprintf(&text, "%s\nDue: %s", p->text, p->due_text) < 0)
        text = NULL;
    json_t *fields = json_pack("{s:s, s:s, s:s, s:s, s:s}", "case_reference",
                               mj_str(p->kase, "case_reference"), "conference_date",
                               mj_str(conf, "date"), "subject_name", mj_str(s, "name"),
                               "subject_date_of_birth", mj_str(s, "dob"), "repeat_case",
                               repeat ? "yes" : "no");
    mj_set_str(fields, "actions_for_recipient", text);
    mj_set_str(fields, "risk_summary", p->risk_summary);
    mj_set_str(fields, "coordinator_contact", mj_str(conf, "coordinator_contact"));
    free(text);
    json_t *flag = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:[s], s:o}", "category",
                             MARAC_CATEGORY_CASE, "purpose", "marac", "lawful_basis",
                             "public_task_safeguarding", "consent", mj_str(p->kase, "consent"),
                             "risk", "high", "subject", subject, "recipients", p->owner,
                             "fields", fields);
    mj_set_str(flag, "consent_reason", mj_str(p->kase, "consent_reason"));
    if (p->closed) {
        json_object_set_new(flag, "restricted", json_true());
        json_object_set(flag, "named_agencies", p->named);
    }
    return flag;
}

static int record_action(agent *a, json_t *conf, const action_plan *p,
                         const Flagpost__OutboxRecord *rec, json_t *out, fp_error *err)
{
    Flagpost__FlagBody *b = flagpost__flag_body__unpack(NULL, rec->body.len, rec->body.data);
    if (b == NULL)
        return fp_error_set(err, FP_ERR_INTERNAL, "an action record has no flag body");
    char fid[33], key[2 * MARAC_ID_MAX + 2];
    unsigned char link_key[17];
    marac_hex(b->flag_id.data, fid);
    marac_flag_key(link_key, MARAC_KIND_ACTION, b->flag_id.data);
    flagpost__flag_body__free_unpacked(b, NULL);
    const char *ref = mj_str(p->kase, "case_reference");
    json_t *refused = marac_decisions(rec, false);
    json_t *act = json_pack("{s:s, s:s, s:I, s:s, s:s, s:s, s:I, s:s, s:I, s:b}",
                            "case_reference", ref, "conference", mj_str(conf, "id"), "seq",
                            (json_int_t)p->seq, "owner", p->owner, "action", p->text, "due",
                            p->due_text, "due_ms", (json_int_t)p->due_ms, "flag_id", fid,
                            "sent_ms", (json_int_t)rec->accepted_ms, "closed", p->closed);
    if (json_array_size(refused) > 0)
        json_object_set(act, "refused", json_array_get(refused, 0));
    json_t *link = json_pack("{s:s, s:I}", "case_reference", ref, "seq", (json_int_t)p->seq);
    marac_tx tx;
    size_t kl = marac_key_seq(key, sizeof key, ref, p->seq);
    int rc = marac_tx_begin(a, true, &tx, err);
    if (rc == FP_OK)
        rc = marac_put(&tx.db, MARAC_ACTION, key, kl, act, err);
    if (rc == FP_OK)
        rc = marac_put(&tx.db, MARAC_FLAGS, link_key, sizeof link_key, link, err);
    rc = rc == FP_OK ? marac_tx_commit(&tx, err) : (marac_tx_end(&tx), rc);
    json_t *o = json_pack("{s:s, s:I, s:s, s:s, s:s, s:s}", "case_reference", ref, "seq",
                          (json_int_t)p->seq, "owner", p->owner, "action_id", fid, "due",
                          p->due_text, "status", json_array_size(refused) ? "refused" : "sent");
    if (json_array_size(refused) > 0)
        json_object_set(o, "refusal", json_array_get(refused, 0));
    json_array_append_new(out, o);
    json_decref(refused);
    json_decref(act);
    json_decref(link);
    return rc;
}

static int send_action(agent *a, json_t *conf, const action_plan *p, json_t *out,
                       fp_error *err)
{
    if (!p->send) {
        json_array_append_new(out, json_pack("{s:s, s:I, s:s, s:s}", "case_reference",
                                             mj_str(p->kase, "case_reference"), "seq",
                                             (json_int_t)p->seq, "owner", p->owner, "status",
                                             "already-sent"));
        return FP_OK;
    }
    bool repeat = false;
    marac_tx tx;
    if (marac_tx_begin(a, false, &tx, NULL) == FP_OK) {
        json_t *rep = marac_repeat_of(&tx, p->kase);
        repeat = rep != NULL && !json_is_true(json_object_get(rep, "address_only"));
        json_decref(rep);
        marac_tx_end(&tx);
    }
    json_t *flag = action_flag(conf, p, repeat);
    Flagpost__OutboxRecord *rec = NULL;
    int rc = marac_publish(a, flag, &rec, err);
    json_decref(flag);
    if (rc == FP_OK)
        rc = record_action(a, conf, p, rec, out, err);
    if (rec != NULL)
        flagpost__outbox_record__free_unpacked(rec, NULL);
    return rc;
}

static int plan_all(agent *a, json_t *file, json_t **conf, plans *ps, fp_error *err)
{
    int rc = marac_actions_check(file, err);
    if (rc != FP_OK)
        return rc;
    const char *conf_id = mj_str(file, "conference");
    const char *contact = mj_str(file, "coordinator_contact");
    marac_tx tx;
    rc = marac_tx_begin(a, false, &tx, err);
    if (rc == FP_ERR_NOT_FOUND)
        return fp_error_set(err, FP_ERR_INPUT, "conference: no research round has been sent "
                            "yet");
    if (rc != FP_OK)
        return rc;
    rc = marac_pick_conference(&tx, conf_id, conf, err);
    if (rc == FP_OK && contact != NULL && contact[0] != '\0')
        mj_set_str(*conf, "coordinator_contact", contact);
    size_t i;
    json_t *c;
    json_array_foreach(rc == FP_OK ? json_object_get(file, "cases") : NULL, i, c) {
        rc = plan_case(&tx, c, i, conf_id, ps, err);
        if (rc != FP_OK)
            break;
    }
    marac_tx_end(&tx);
    return rc;
}

json_t *marac_actions_op(agent *a, json_t *req)
{
    fp_error err;
    json_t *conf = NULL, *out = json_array();
    plans ps = {0};
    int rc = plan_all(a, json_object_get(req, "actions"), &conf, &ps, &err);
    for (size_t i = 0; rc == FP_OK && i < ps.n; i++)
        rc = send_action(a, conf, &ps.p[i], out, &err);
    plans_free(&ps);
    json_t *reply;
    if (rc == FP_OK) {
        reply = json_pack("{s:s, s:o}", "conference", mj_str(conf, "id"), "actions", out);
        log_event(&a->log, LOG_INFO, "marac-actions", "conference=%s actions=%zu",
                  mj_str(conf, "id"), json_array_size(out));
    } else {
        reply = marac_error_json(&err);
        json_object_set_new(reply, "sent", out);
    }
    json_decref(conf);
    return reply;
}
