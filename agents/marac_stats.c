/*
 * marac_stats: the counts a partnership reports on its MARAC (SafeLives
 * style): cases heard, repeats, children, referral sources, equality
 * monitoring where recorded, harmful-practice cases, and whether actions
 * were completed on time.
 *
 * Equality fields never leave the coordinator's sealed case records except
 * as these aggregate counts.  The accumulator is pure (JSON in, JSON out)
 * so it is tested without an agent.
 */
#include "marac_internal.h"

#include <stdio.h>
#include <string.h>

#include "envelope.h"
#include "flag_json.h"

const char *marac_action_state(json_t *act, int64_t now)
{
    if (json_object_get(act, "refused") != NULL)
        return "refused";
    int64_t done = mj_int(act, "done_ms"), due = mj_int(act, "due_ms");
    if (done > 0)
        return done <= due ? "done" : "done-late";
    if (now > due)
        return "overdue";
    return mj_int(act, "ack_ms") > 0 ? "acknowledged" : "sent";
}

static void bump(json_t *obj, const char *key, int64_t by)
{
    mj_set_int(obj, key, mj_int(obj, key) + by);
}

static json_t *sub(json_t *st, const char *key)
{
    json_t *o = json_object_get(st, key);
    if (o == NULL) {
        o = json_object();
        json_object_set_new(st, key, o);
    }
    return o;
}

json_t *marac_stats_new(void)
{
    json_t *st = json_object();
    static const char *const counters[] = {"conferences", "cases_heard", "repeat_cases",
                                           "possible_repeats_by_address", "children",
                                           "cases_with_children", NULL};
    for (size_t i = 0; counters[i] != NULL; i++)
        mj_set_int(st, counters[i], 0);
    json_object_set_new(st, "referral_sources", json_object());
    json_object_set_new(st, "harmful_practice", json_pack("{s:i, s:{}}", "cases", 0, "by_type"));
    json_object_set_new(st, "equality", json_object());
    json_object_set_new(st, "equality_recorded", json_object());
    json_object_set_new(st, "actions", json_pack("{s:i, s:i, s:i, s:i, s:i, s:i, s:i}", "total",
                                                 0, "completed", 0, "completed_on_time", 0,
                                                 "completed_late", 0, "overdue", 0, "open", 0,
                                                 "refused", 0));
    return st;
}

static void add_actions(json_t *st, json_t *actions, int64_t now)
{
    json_t *a = sub(st, "actions");
    size_t i;
    json_t *act;
    json_array_foreach(actions, i, act) {
        const char *s = marac_action_state(act, now);
        bump(a, "total", 1);
        if (strcmp(s, "done") == 0 || strcmp(s, "done-late") == 0) {
            bump(a, "completed", 1);
            bump(a, strcmp(s, "done") == 0 ? "completed_on_time" : "completed_late", 1);
        } else if (strcmp(s, "overdue") == 0) {
            bump(a, "overdue", 1);
        } else if (strcmp(s, "refused") == 0) {
            bump(a, "refused", 1);
        } else {
            bump(a, "open", 1);
        }
    }
}

void marac_stats_add_case(json_t *st, json_t *kase, json_t *repeat, json_t *actions, int64_t now)
{
    bump(st, "cases_heard", 1);
    if (repeat != NULL)
        bump(st, json_is_true(json_object_get(repeat, "address_only"))
                     ? "possible_repeats_by_address" : "repeat_cases", 1);
    int64_t kids = mj_int(kase, "children_count");
    bump(st, "children", kids);
    if (kids > 0)
        bump(st, "cases_with_children", 1);
    const char *src = mj_str(json_object_get(kase, "referral"), "source");
    bump(sub(st, "referral_sources"), src ? src : "not recorded", 1);
    const char *hp = mj_str(kase, "harmful_practice");
    if (hp != NULL) {
        json_t *h = sub(st, "harmful_practice");
        bump(h, "cases", 1);
        bump(sub(h, "by_type"), hp, 1);
    }
    json_t *eq = json_object_get(kase, "equality");
    for (size_t i = 0; MARAC_EQUALITY_KEYS[i] != NULL; i++) {
        const char *v = mj_str(eq, MARAC_EQUALITY_KEYS[i]);
        if (v == NULL)
            continue;
        bump(sub(sub(st, "equality"), MARAC_EQUALITY_KEYS[i]), v, 1);
        bump(sub(st, "equality_recorded"), MARAC_EQUALITY_KEYS[i], 1);
    }
    add_actions(st, actions, now);
}

static json_t *percent(int64_t part, int64_t whole)
{
    return whole > 0 ? json_real((double)(part * 1000 / whole) / 10.0) : json_null();
}

void marac_stats_finish(json_t *st)
{
    json_object_set_new(st, "repeat_rate_percent",
                        percent(mj_int(st, "repeat_cases"), mj_int(st, "cases_heard")));
    json_t *a = json_object_get(st, "actions");
    json_object_set_new(a, "on_time_rate_percent",
                        percent(mj_int(a, "completed_on_time"),
                                mj_int(a, "total") - mj_int(a, "refused")));
}

/* ---------------------------------------------------------------- the op */

typedef struct stats_ctx {
    marac_tx *tx;
    int64_t from_s, to_s, now;
    json_t *st;
    int rc;
    fp_error *err;
} stats_ctx;

static int stats_conference(void *ctx, const unsigned char *key, size_t klen, json_t *conf)
{
    (void)key;
    (void)klen;
    stats_ctx *c = ctx;
    int64_t d = mj_int(conf, "date_s");
    if (d < c->from_s || d > c->to_s)
        return 0;
    bump(c->st, "conferences", 1);
    size_t i;
    json_t *ref;
    json_array_foreach(json_object_get(conf, "cases"), i, ref) {
        const char *r = json_string_value(ref);
        json_t *kase = NULL, *answers = NULL, *acts = NULL;
        c->rc = marac_get(&c->tx->db, MARAC_CASE, r, strlen(r), &kase, c->err);
        if (c->rc == FP_OK)
            c->rc = marac_case_records(c->tx, r, &answers, &acts, c->err);
        if (c->rc == FP_OK) {
            json_t *rep = marac_repeat_of(c->tx, kase);
            marac_stats_add_case(c->st, kase, rep, acts, c->now);
            json_decref(rep);
        }
        json_decref(kase);
        json_decref(answers);
        json_decref(acts);
        if (c->rc != FP_OK)
            return 1;
    }
    return 0;
}

static int parse_bound(json_t *req, const char *key, int64_t dflt, int64_t *out, fp_error *err)
{
    const char *s = mj_str(req, key);
    *out = dflt;
    if (s == NULL)
        return FP_OK;
    if (flag_json_parse_date(s, out) != FP_OK)
        return fp_error_set(err, FP_ERR_INPUT, "%s: write it YYYY-MM-DD", key);
    return FP_OK;
}

json_t *marac_stats_op(agent *a, json_t *req)
{
    fp_error err;
    stats_ctx c = {.now = envelope_now_ms(), .st = marac_stats_new(), .rc = FP_OK, .err = &err};
    int rc = parse_bound(req, "from", 0, &c.from_s, &err);
    if (rc == FP_OK)
        rc = parse_bound(req, "to", INT64_MAX / 2, &c.to_s, &err);
    marac_tx tx;
    c.tx = &tx;
    if (rc == FP_OK) {
        rc = marac_tx_begin(a, false, &tx, &err);
        if (rc == FP_OK) {
            rc = marac_scan(&tx.db, MARAC_CONF, NULL, 0, stats_conference, &c, &err);
            if (rc == FP_OK)
                rc = c.rc;
            marac_tx_end(&tx);
        } else if (rc == FP_ERR_NOT_FOUND) {
            rc = FP_OK;   /* nothing recorded: every count is zero */
        }
    }
    if (rc != FP_OK) {
        json_decref(c.st);
        return marac_error_json(&err);
    }
    marac_stats_finish(c.st);
    mj_set_str(c.st, "from", mj_str(req, "from"));
    mj_set_str(c.st, "to", mj_str(req, "to"));
    return c.st;
}
