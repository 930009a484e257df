/*
 * marac_pack: the research pack of a conference, as one JSON document the
 * CLI renders as printable HTML (cli/marac_html.c).
 *
 * Per case: the referral as the coordinator recorded it, the children in
 * the household, whether it is a repeat, each agency's answer under its
 * own name (opened from the answer flag as received), the agencies that
 * did not answer, and every other flag the coordinator holds on the
 * subject.  Opening those flags for a person to read is a view: each is
 * reported to the broker and audited, like a lookup.  Equality monitoring
 * fields are not in the pack: they exist for the counts only.
 */
#include "marac_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"

typedef struct pack_ctx {
    marac_tx *tx;
    lookup_views views;
    json_t *exclude;      /* flag ids shown as answers */
    json_t *history;
} pack_ctx;

static json_t *answer_entry(pack_ctx *c, const char *agency, json_t *ans)
{
    char when[32];
    marac_iso(mj_int(ans, "first_ms"), when);
    json_t *e = json_pack("{s:s, s:s, s:s, s:b, s:I, s:b}", "agency", agency, "agency_name",
                          marac_agency_name(c->tx->a, agency), "received_at", when, "late",
                          json_is_true(json_object_get(ans, "late")), "version",
                          (json_int_t)mj_int(ans, "version"), "subject_match",
                          json_is_true(json_object_get(ans, "subject_match")));
    unsigned char id[16];
    marac_opened o = {0};
    if (envelope_id_parse(mj_str(ans, "flag_id"), id, NULL) == FP_OK &&
        marac_open_stored(c->tx->a, c->tx->txn, id, &o, NULL) == FP_OK) {
        static const char *const keys[] = {"record_found", "agency_summary", "risk_indicators",
                                           "children_known", NULL};
        /* Shown only once its view is remembered (lookup_views_add). */
        bool shown = o.fields != NULL && lookup_views_add(&c->views, o.flag, o.body);
        for (size_t i = 0; shown && keys[i] != NULL; i++)
            mj_set_str(e, keys[i], mj_str(o.fields, keys[i]));
        if (o.fields == NULL)
            mj_set_str(e, "state", "withdrawn-or-expired");
        else if (!shown)
            mj_set_str(e, "error", "out of memory recording the view; not shown");
    }
    marac_opened_free(&o);
    json_array_append_new(c->exclude, json_string(mj_str(ans, "flag_id")));
    return e;
}

static int history_visit(void *ctx, const Flagpost__StoredFlag *f)
{
    pack_ctx *c = ctx;
    char fid[33], when[32];
    marac_hex(f->flag_id.data, fid);
    size_t i;
    json_t *v;
    json_array_foreach(c->exclude, i, v) {
        if (strcmp(json_string_value(v), fid) == 0)
            return 0;
    }
    marac_opened o = {0};
    if (marac_open_flag(c->tx->a, f, &o) != FP_OK) {
        marac_opened_free(&o);
        return 0;
    }
    marac_iso(f->received_ms, when);
    json_t *e = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "flag_id", fid, "from",
                          f->sender, "from_name", marac_agency_name(c->tx->a, f->sender),
                          "category", o.body->category, "role", o.body->subject_role, "risk",
                          o.body->risk, "received_at", when, "state",
                          o.past_its_dates                              ? "expired"
                          : f->state == FLAGPOST__FLAG_STATE__FLAG_ACTIVE ? "active"
                          : f->state == FLAGPOST__FLAG_STATE__FLAG_WITHDRAWN ? "withdrawn"
                          : f->state == FLAGPOST__FLAG_STATE__FLAG_EXPIRED ? "expired"
                                                                            : "superseded");
    if (o.body->subcategory[0])
        mj_set_str(e, "subcategory", o.body->subcategory);
    if (o.fields != NULL && lookup_views_add(&c->views, f, o.body)) {
        /* a copy: marac_opened_free wipes the opened values in place */
        json_object_set_new(e, "fields", json_deep_copy(o.fields));
    }
    json_array_append_new(c->history, e);
    marac_opened_free(&o);
    return 0;
}

static json_t *actions_of(pack_ctx *c, json_t *acts, int64_t now)
{
    json_t *out = json_array();
    size_t i;
    json_t *a;
    json_array_foreach(acts, i, a) {
        json_array_append_new(out, json_pack("{s:s, s:s, s:s, s:s, s:s}", "owner",
                                             mj_str(a, "owner"), "owner_name",
                                             marac_agency_name(c->tx->a, mj_str(a, "owner")),
                                             "action", mj_str(a, "action"), "due",
                                             mj_str(a, "due"), "state",
                                             marac_action_state(a, now)));
    }
    return out;
}

static json_t *case_pack(pack_ctx *c, json_t *kase, json_t *answers, json_t *acts, int64_t now)
{
    json_t *e = json_object();
    static const char *const copy[] = {"case_reference", "subject", "referral", "children",
                                       "children_count", "harmful_practice", NULL};
    for (size_t i = 0; copy[i] != NULL; i++)
        if (json_object_get(kase, copy[i]) != NULL)
            json_object_set(e, copy[i], json_object_get(kase, copy[i]));
    json_t *rep = marac_repeat_of(c->tx, kase);
    json_object_set_new(e, "repeat", json_boolean(rep && !json_is_true(json_object_get(
                                                             rep, "address_only"))));
    if (rep)
        json_object_set_new(e, "repeat_of", rep);
    json_t *list = json_array(), *missing = json_array();
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(kase, "requested"), i, v) {
        const char *ag = json_string_value(v);
        json_t *ans = json_object_get(answers, ag);
        if (ans != NULL)
            json_array_append_new(list, answer_entry(c, ag, ans));
        else
            json_array_append_new(missing, json_pack("{s:s, s:s}", "agency", ag, "agency_name",
                                                     marac_agency_name(c->tx->a, ag)));
    }
    const char *k;
    json_object_foreach(answers, k, v) {   /* answers from agencies not asked */
        bool asked = false;
        json_t *r;
        json_array_foreach(json_object_get(kase, "requested"), i, r) {
            asked |= strcmp(json_string_value(r), k) == 0;
        }
        if (!asked)
            json_array_append_new(list, answer_entry(c, k, v));
    }
    json_object_set_new(e, "answers", list);
    json_object_set_new(e, "not_answered", missing);
    json_object_set_new(e, "actions", actions_of(c, acts, now));
    pseudonym ps[PSEUDONYM_MAX];
    size_t n = marac_case_pseudonyms(kase, ps);
    c->history = json_array();
    if (n > 0)
        agent_store_lookup(c->tx->a->store, c->tx->txn, ps, n, history_visit, c, NULL);
    json_object_set_new(e, "history", c->history);
    c->history = NULL;
    return e;
}

static int build_pack(pack_ctx *c, json_t *conf, json_t *cases, fp_error *err)
{
    int64_t now = envelope_now_ms();
    size_t i;
    json_t *ref;
    json_array_foreach(json_object_get(conf, "cases"), i, ref) {
        const char *r = json_string_value(ref);
        json_t *kase = NULL, *answers = NULL, *acts = NULL;
        int rc = marac_get(&c->tx->db, MARAC_CASE, r, strlen(r), &kase, err);
        if (rc == FP_OK)
            rc = marac_case_records(c->tx, r, &answers, &acts, err);
        if (rc == FP_OK)
            json_array_append_new(cases, case_pack(c, kase, answers, acts, now));
        json_decref(kase);
        json_decref(answers);
        json_decref(acts);
        if (rc != FP_OK)
            return rc;
    }
    return FP_OK;
}

json_t *marac_pack_op(agent *a, json_t *req)
{
    fp_error err;
    marac_tx tx;
    pack_ctx c = {.tx = &tx, .exclude = json_array()};
    json_t *conf = NULL, *cases = json_array();
    int rc = marac_tx_begin(a, false, &tx, &err);
    if (rc == FP_ERR_NOT_FOUND)
        fp_error_set(&err, FP_ERR_NOT_FOUND, "no MARAC conference yet");
    if (rc == FP_OK) {
        rc = marac_pick_conference(&tx, mj_str(req, "conference"), &conf, &err);
        if (rc == FP_OK)
            rc = build_pack(&c, conf, cases, &err);
        marac_tx_end(&tx);
    }
    json_decref(c.exclude);
    if (rc != FP_OK) {
        free(c.views.items);
        json_decref(conf);
        json_decref(cases);
        return marac_error_json(&err);
    }
    char deadline[32], now[32];
    marac_iso(mj_int(conf, "deadline_ms"), deadline);
    marac_iso(envelope_now_ms(), now);
    json_t *pack = json_pack("{s:{s:s, s:s, s:s, s:s}, s:{s:s, s:s}, s:s, s:o}", "conference",
                             "id", mj_str(conf, "id"), "date", mj_str(conf, "date"), "area",
                             mj_str(conf, "area"), "deadline", deadline, "coordinator", "id",
                             a->id.cert.agency_id, "name", a->id.cert.display_name,
                             "generated_at", now, "cases", cases);
    json_decref(conf);
    lookup_report_views(a, &c.views);
    log_event(&a->log, LOG_INFO, "marac-pack", "cases=%zu", json_array_size(cases));
    return pack;
}
