/*
 * marac_request: the coordinator's research request (docs/marac.md).
 *
 * The whole file is checked before anything is stored or sent: every
 * case's identifiers are turned into pseudonyms (so an invalid NHS number
 * names its case), every case reference is new or already belongs to this
 * conference.  Then the conference and its cases are committed, marked
 * as heard (for repeat detection), and each case's request flag is
 * published.  Running the same file again sends only what was not sent:
 * a case whose flag was committed keeps it, so a crash between cases
 * costs nothing and adding a late case to a conference is the same
 * command with the case added.
 */
#include "marac_internal.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"
#include "flag_json.h"

#define MAX_CASES 200
#define MAX_CHILDREN 20
#define DEFAULT_REMINDER_MS (24LL * 3600 * 1000)

static const char *const FILE_KEYS[] = {"conference", "deadline", "reminder_before",
                                        "questions", "agencies", "coordinator_contact",
                                        "cases", NULL};
static const char *const CONF_KEYS[] = {"id", "date", "area", NULL};
static const char *const CASE_KEYS[] = {"case_reference", "subject", "referral", "children",
                                        "children_count", "harmful_practice", "equality",
                                        "questions", "consent", "consent_reason", NULL};
static const char *const SUBJECT_KEYS[] = {"role", "name", "dob", "nhs", "postcode", "uprn",
                                           "address", NULL};
static const char *const REFERRAL_KEYS[] = {"source", "date", "risk", "dash_score",
                                            "criteria", "summary", NULL};
static const char *const CHILD_KEYS[] = {"name", "dob", "age", "relationship", NULL};
const char *const MARAC_EQUALITY_KEYS[] = {"ethnicity", "disability", "age_band", "sex",
                                           "sexual_orientation", "gender_identity",
                                           "religion", "language", NULL};
const char *const MARAC_HARMFUL_PRACTICES[] = {"hba", "forced_marriage", "fgm",
                                               "faith_based_abuse", "dowry", "caste", NULL};

#define DEFAULT_QUESTIONS                                                                    \
    "Please search your records for the person named and tell us: whether you hold a "      \
    "record; your contact with them and your concerns; any risk indicators; and the "       \
    "children you know of in the household."

static bool in_list(const char *v, const char *const *list)
{
    for (size_t i = 0; list[i] != NULL; i++)
        if (strcmp(v, list[i]) == 0)
            return true;
    return false;
}

/* ---------------------------------------------------------------- parsing */

static int parse_conference(json_t *file, int64_t now_ms, json_t *conf, fp_error *err)
{
    json_t *c = json_object_get(file, "conference");
    if (!json_is_object(c))
        return fp_error_set(err, FP_ERR_INPUT, "conference: missing (an object with date, "
                            "area and optionally id)");
    const char *id, *date, *area, *deadline, *before, *questions, *contact;
    int64_t date_s, deadline_ms, before_ms = DEFAULT_REMINDER_MS;
    int rc = marac_known_keys(c, CONF_KEYS, "conference", err);
    if (rc == FP_OK)
        rc = marac_text(c, "date", "conference", 32, true, &date, err);
    if (rc == FP_OK)
        rc = marac_text(c, "area", "conference", 200, true, &area, err);
    if (rc == FP_OK)
        rc = marac_text(c, "id", "conference", MARAC_ID_MAX, false, &id, err);
    if (rc == FP_OK)
        rc = marac_text(file, "deadline", "request", 32, true, &deadline, err);
    if (rc == FP_OK)
        rc = marac_text(file, "reminder_before", "request", 16, false, &before, err);
    if (rc == FP_OK)
        rc = marac_text(file, "questions", "request", MARAC_MAX_TEXT, false, &questions, err);
    if (rc == FP_OK)
        rc = marac_text(file, "coordinator_contact", "request", 500, false, &contact, err);
    if (rc != FP_OK)
        return rc;
    if (flag_json_parse_date(date, &date_s) != FP_OK || strchr(date, 'T') != NULL)
        return fp_error_set(err, FP_ERR_INPUT, "conference.date: write it YYYY-MM-DD");
    if (marac_parse_due(deadline, &deadline_ms) != FP_OK)
        return fp_error_set(err, FP_ERR_INPUT, "deadline: write it YYYY-MM-DD or as a UTC time "
                            "YYYY-MM-DDTHH:MM:SSZ");
    if (deadline_ms > (date_s + 86400) * 1000)
        return fp_error_set(err, FP_ERR_INPUT, "deadline: it is after the conference; research "
                            "is due before the conference sits");
    if (before != NULL && marac_parse_duration(before, &before_ms) != FP_OK)
        return fp_error_set(err, FP_ERR_INPUT, "reminder_before: a duration such as 24h, 2d, "
                            "30m or 90s (0s for no reminder)");
    char made[MARAC_ID_MAX + 1];
    if (id == NULL) {   /* date and area, e.g. 2025-06-10-hammersmith-fulham */
        size_t n = (size_t)snprintf(made, sizeof made, "%s-", date);
        for (const char *p = area; *p && n < MARAC_ID_MAX; p++)
            if ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9'))
                made[n++] = *p;
            else if (*p >= 'A' && *p <= 'Z')
                made[n++] = (char)(*p - 'A' + 'a');
            else if (made[n - 1] != '-')
                made[n++] = '-';
        while (n > 0 && made[n - 1] == '-')
            n--;
        made[n] = '\0';
        id = made;
    }
    if (!marac_id_valid(id))
        return fp_error_set(err, FP_ERR_INPUT, "conference.id: 1-64 letters, digits, '.', '_', "
                            "'/' or '-'");
    mj_set_str(conf, "id", id);
    mj_set_str(conf, "date", date);
    mj_set_int(conf, "date_s", date_s);
    mj_set_str(conf, "area", area);
    mj_set_int(conf, "deadline_ms", deadline_ms);
    mj_set_int(conf, "reminder_ms", before_ms > 0 ? deadline_ms - before_ms : 0);
    mj_set_str(conf, "questions", questions ? questions : DEFAULT_QUESTIONS);
    mj_set_str(conf, "coordinator_contact", contact);
    mj_set_int(conf, "created_ms", now_ms);
    return FP_OK;
}

static int parse_agencies(json_t *file, json_t *conf, fp_error *err)
{
    json_t *list = json_object_get(file, "agencies");
    if (list == NULL || json_is_null(list))
        return FP_OK;
    if (!json_is_array(list) || json_array_size(list) == 0 || json_array_size(list) > 64)
        return fp_error_set(err, FP_ERR_INPUT, "agencies: a list of 1-64 agency ids (leave it "
                            "out to ask every agency the agreement allows)");
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v) {
        if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > 63)
            return fp_error_set(err, FP_ERR_INPUT, "agencies[%zu]: must be an agency id", i);
    }
    json_object_set(conf, "agencies", list);
    return FP_OK;
}

static int parse_subject(json_t *c, const char *where, json_t *out, fp_error *err)
{
    json_t *s = json_object_get(c, "subject");
    char path[96];
    snprintf(path, sizeof path, "%s.subject", where);
    if (!json_is_object(s))
        return fp_error_set(err, FP_ERR_INPUT, "%s: missing (role, name, dob and any of nhs, "
                            "postcode, uprn, address)", path);
    static const size_t limits[] = {16, 200, 32, 32, 16, 16, 500};
    int rc = marac_known_keys(s, SUBJECT_KEYS, path, err);
    json_t *subject = json_object();
    for (size_t i = 0; rc == FP_OK && SUBJECT_KEYS[i] != NULL; i++) {
        const char *v;
        rc = marac_text(s, SUBJECT_KEYS[i], path, limits[i], i <= 2, &v, err);
        mj_set_str(subject, SUBJECT_KEYS[i], v);
    }
    const char *role = mj_str(subject, "role");
    if (rc == FP_OK && strcmp(role, "victim") != 0 && strcmp(role, "perpetrator") != 0 &&
        strcmp(role, "child") != 0)
        rc = fp_error_set(err, FP_ERR_INPUT, "%s.role: victim, perpetrator or child", path);
    json_object_set_new(out, "subject", subject);
    return rc;
}

static int parse_pseudonyms(json_t *kase, const char *where, const unsigned char *linkage_key,
                            fp_error *err)
{
    json_t *s = json_object_get(kase, "subject");
    subject_identifiers ids = {.nhs = mj_str(s, "nhs"), .name = mj_str(s, "name"),
                               .dob = mj_str(s, "dob"), .postcode = mj_str(s, "postcode"),
                               .uprn = mj_str(s, "uprn")};
    pseudonym ps[PSEUDONYM_MAX];
    size_t n = 0;
    char path[96];
    snprintf(path, sizeof path, "%s.subject", where);
    int rc = pseudonym_derive(linkage_key, &ids, path, ps, &n, err);
    if (rc != FP_OK)
        return rc;
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        char hex[2 * PSEUDONYM_LEN + 1], item[2 * PSEUDONYM_LEN + 8];
        pseudonym_to_hex(&ps[i], hex);
        snprintf(item, sizeof item, "%d:%s", ps[i].kind, hex);
        json_array_append_new(arr, json_string(item));
    }
    json_object_set_new(kase, "pseudonyms", arr);
    return FP_OK;
}

static int parse_referral(json_t *c, const char *where, json_t *out, fp_error *err)
{
    json_t *r = json_object_get(c, "referral");
    char path[96];
    snprintf(path, sizeof path, "%s.referral", where);
    if (!json_is_object(r))
        return fp_error_set(err, FP_ERR_INPUT, "%s: missing (source, risk, summary...)", path);
    const char *source, *date, *risk, *criteria, *summary;
    int64_t when;
    int rc = marac_known_keys(r, REFERRAL_KEYS, path, err);
    if (rc == FP_OK)
        rc = marac_text(r, "source", path, 64, true, &source, err);
    if (rc == FP_OK)
        rc = marac_text(r, "date", path, 32, false, &date, err);
    if (rc == FP_OK)
        rc = marac_text(r, "risk", path, 16, false, &risk, err);
    if (rc == FP_OK)
        rc = marac_text(r, "criteria", path, 64, false, &criteria, err);
    if (rc == FP_OK)
        rc = marac_text(r, "summary", path, MARAC_MAX_TEXT, false, &summary, err);
    if (rc != FP_OK)
        return rc;
    if (date != NULL && flag_json_parse_date(date, &when) != FP_OK)
        return fp_error_set(err, FP_ERR_INPUT, "%s.date: write it YYYY-MM-DD", path);
    if (risk != NULL && !in_list(risk, (const char *const[]){"standard", "medium", "high", NULL}))
        return fp_error_set(err, FP_ERR_INPUT, "%s.risk: standard, medium or high", path);
    json_t *dash = json_object_get(r, "dash_score");
    if (dash != NULL && (!json_is_integer(dash) || json_integer_value(dash) < 0 ||
                         json_integer_value(dash) > 27))
        return fp_error_set(err, FP_ERR_INPUT, "%s.dash_score: a whole number 0-27", path);
    json_t *ref = json_pack("{s:s, s:s}", "source", source, "risk", risk ? risk : "high");
    mj_set_str(ref, "date", date);
    mj_set_str(ref, "criteria", criteria);
    mj_set_str(ref, "summary", summary);
    if (dash != NULL)
        json_object_set(ref, "dash_score", dash);
    json_object_set_new(out, "referral", ref);
    return FP_OK;
}

static int parse_children(json_t *c, const char *where, json_t *out, fp_error *err)
{
    json_t *list = json_object_get(c, "children"), *count = json_object_get(c, "children_count");
    json_t *kids = json_array();
    json_object_set_new(out, "children", kids);
    if (list != NULL && (!json_is_array(list) || json_array_size(list) > MAX_CHILDREN))
        return fp_error_set(err, FP_ERR_INPUT, "%s.children: a list of at most %d children",
                            where, MAX_CHILDREN);
    size_t i;
    json_t *k;
    json_array_foreach(list, i, k) {
        char path[112];
        snprintf(path, sizeof path, "%s.children[%zu]", where, i);
        if (!json_is_object(k))
            return fp_error_set(err, FP_ERR_INPUT, "%s: an object (name, dob, age, "
                                "relationship)", path);
        int rc = marac_known_keys(k, CHILD_KEYS, path, err);
        json_t *child = json_object();
        json_array_append_new(kids, child);
        static const size_t limits[] = {200, 32, 32, 64};
        for (size_t f = 0; rc == FP_OK && CHILD_KEYS[f] != NULL; f++) {
            const char *v;
            rc = marac_text(k, CHILD_KEYS[f], path, limits[f], false, &v, err);
            mj_set_str(child, CHILD_KEYS[f], v);
        }
        if (rc != FP_OK)
            return rc;
    }
    if (count != NULL && (!json_is_integer(count) || json_integer_value(count) < 0 ||
                          json_integer_value(count) > 30))
        return fp_error_set(err, FP_ERR_INPUT, "%s.children_count: a whole number 0-30", where);
    int64_t n = count ? (int64_t)json_integer_value(count) : 0;
    mj_set_int(out, "children_count", n > (int64_t)json_array_size(kids)
                                          ? n : (int64_t)json_array_size(kids));
    return FP_OK;
}

static int parse_equality(json_t *c, const char *where, json_t *out, fp_error *err)
{
    json_t *e = json_object_get(c, "equality");
    const char *hp;
    char path[96];
    int rc = marac_text(c, "harmful_practice", where, 32, false, &hp, err);
    if (rc != FP_OK)
        return rc;
    if (hp != NULL && !in_list(hp, MARAC_HARMFUL_PRACTICES))
        return fp_error_set(err, FP_ERR_INPUT, "%s.harmful_practice: one of hba, "
                            "forced_marriage, fgm, faith_based_abuse, dowry, caste", where);
    mj_set_str(out, "harmful_practice", hp);
    json_t *eq = json_object();
    json_object_set_new(out, "equality", eq);
    if (e == NULL || json_is_null(e))
        return FP_OK;
    snprintf(path, sizeof path, "%s.equality", where);
    if (!json_is_object(e))
        return fp_error_set(err, FP_ERR_INPUT, "%s: an object of monitoring fields", path);
    rc = marac_known_keys(e, MARAC_EQUALITY_KEYS, path, err);
    for (size_t i = 0; rc == FP_OK && MARAC_EQUALITY_KEYS[i] != NULL; i++) {
        const char *v;
        rc = marac_text(e, MARAC_EQUALITY_KEYS[i], path, 64, false, &v, err);
        mj_set_str(eq, MARAC_EQUALITY_KEYS[i], v);
    }
    return rc;
}

static int parse_consent(json_t *c, const char *where, json_t *out, fp_error *err)
{
    const char *consent, *reason;
    int rc = marac_text(c, "consent", where, 32, false, &consent, err);
    if (rc == FP_OK)
        rc = marac_text(c, "consent_reason", where, 500, false, &reason, err);
    if (rc != FP_OK)
        return rc;
    if (consent == NULL) {
        consent = "not_sought_unsafe";
        if (reason == NULL)
            reason = "High-risk MARAC case: research goes ahead without consent";
    }
    if (strcmp(consent, "given") != 0 && reason == NULL)
        return fp_error_set(err, FP_ERR_INPUT, "%s.consent_reason: required unless consent is "
                            "given", where);
    mj_set_str(out, "consent", consent);
    mj_set_str(out, "consent_reason", reason);
    return FP_OK;
}

static int parse_case(json_t *c, size_t i, const unsigned char *linkage_key, json_t **out,
                      fp_error *err)
{
    char where[32];
    snprintf(where, sizeof where, "cases[%zu]", i);
    *out = json_object();
    if (!json_is_object(c))
        return fp_error_set(err, FP_ERR_INPUT, "%s: must be an object", where);
    const char *ref, *questions;
    int rc = marac_known_keys(c, CASE_KEYS, where, err);
    if (rc == FP_OK)
        rc = marac_text(c, "case_reference", where, MARAC_ID_MAX, true, &ref, err);
    if (rc == FP_OK && !marac_id_valid(ref))
        rc = fp_error_set(err, FP_ERR_INPUT, "%s.case_reference: 1-64 letters, digits, '.', "
                          "'_', '/' or '-'", where);
    if (rc == FP_OK)
        rc = marac_text(c, "questions", where, MARAC_MAX_TEXT, false, &questions, err);
    if (rc != FP_OK)
        return rc;
    mj_set_str(*out, "case_reference", ref);
    mj_set_str(*out, "questions", questions);
    mj_set_int(*out, "position", (int64_t)i);
    if ((rc = parse_subject(c, where, *out, err)) != FP_OK ||
        (rc = parse_pseudonyms(*out, where, linkage_key, err)) != FP_OK ||
        (rc = parse_referral(c, where, *out, err)) != FP_OK ||
        (rc = parse_children(c, where, *out, err)) != FP_OK ||
        (rc = parse_equality(c, where, *out, err)) != FP_OK)
        return rc;
    return parse_consent(c, where, *out, err);
}

int marac_request_parse(json_t *file, const unsigned char *linkage_key, int64_t now_ms,
                        json_t **conf, json_t **cases, fp_error *err)
{
    *conf = json_object();
    *cases = json_array();
    if (!json_is_object(file))
        return fp_error_set(err, FP_ERR_INPUT, "the request must be a JSON object");
    int rc = marac_known_keys(file, FILE_KEYS, "request", err);
    if (rc == FP_OK)
        rc = parse_conference(file, now_ms, *conf, err);
    if (rc == FP_OK)
        rc = parse_agencies(file, *conf, err);
    if (rc != FP_OK)
        return rc;
    json_t *list = json_object_get(file, "cases");
    if (!json_is_array(list) || json_array_size(list) == 0 || json_array_size(list) > MAX_CASES)
        return fp_error_set(err, FP_ERR_INPUT, "cases: a list of 1-%d cases", MAX_CASES);
    size_t i;
    json_t *c;
    json_array_foreach(list, i, c) {
        json_t *kase = NULL;
        rc = parse_case(c, i, linkage_key, &kase, err);
        json_array_append_new(*cases, kase);
        if (rc != FP_OK)
            return rc;
        for (size_t j = 0; j < i; j++)
            if (strcmp(mj_str(json_array_get(*cases, j), "case_reference"),
                       mj_str(kase, "case_reference")) == 0)
                return fp_error_set(err, FP_ERR_INPUT, "cases[%zu].case_reference: the same "
                                    "as cases[%zu]'s", i, j);
    }
    return FP_OK;
}

/* Pseudonyms a case record carries ("kind:hex"). */
size_t marac_case_pseudonyms(json_t *kase, pseudonym out[PSEUDONYM_MAX])
{
    size_t n = 0, i;
    json_t *v;
    json_array_foreach(json_object_get(kase, "pseudonyms"), i, v) {
        const char *s = json_string_value(v);
        if (s == NULL || n == PSEUDONYM_MAX || strlen(s) != 2 + 2 * PSEUDONYM_LEN || s[1] != ':')
            continue;
        out[n].kind = s[0] - '0';
        size_t got = 0;
        if (sodium_hex2bin(out[n].value, PSEUDONYM_LEN, s + 2, 2 * PSEUDONYM_LEN, NULL, &got,
                           NULL) == 0 && got == PSEUDONYM_LEN)
            n++;
    }
    return n;
}

/* ---------------------------------------------------------------- repeats */

static const char *kind_label(int kind)
{
    switch (kind) {
    case PSEUDONYM_KIND_NHS: return "nhs";
    case PSEUDONYM_KIND_NAME_DOB: return "name_dob";
    case PSEUDONYM_KIND_POSTCODE: return "postcode";
    case PSEUDONYM_KIND_UPRN: return "uprn";
    default: return "unknown";
    }
}

json_t *marac_repeat_of(marac_tx *tx, json_t *kase)
{
    pseudonym ps[PSEUDONYM_MAX];
    size_t n = marac_case_pseudonyms(kase, ps);
    marac_heard_hit hit;
    const char *conference = mj_str(kase, "conference");
    if (n == 0 || conference == NULL ||
        marac_heard_find(&tx->db, ps, n, mj_int(kase, "conference_date_s"), conference, &hit,
                         NULL) != FP_OK)
        return NULL;
    char date[32];
    marac_date(hit.date_s, date);
    json_t *by = json_array();
    for (int k = 1; k <= PSEUDONYM_KIND_UPRN; k++)
        if (hit.kinds & (1u << k))
            json_array_append_new(by, json_string(kind_label(k)));
    return json_pack("{s:s, s:s, s:s, s:o, s:b}", "case_reference", hit.case_ref, "conference",
                     hit.conference, "date", date, "matched_by", by, "address_only",
                     hit.address_only);
}

/* ---------------------------------------------------------------- storing */

/* Each case is new, or already belongs to this conference. */
static int check_cases(marac_tx *tx, json_t *conf, json_t *cases, fp_error *err)
{
    size_t i;
    json_t *c;
    json_array_foreach(cases, i, c) {
        const char *ref = mj_str(c, "case_reference");
        json_t *held = NULL;
        int rc = marac_get(&tx->db, MARAC_CASE, ref, strlen(ref), &held, err);
        if (rc == FP_ERR_NOT_FOUND)
            continue;
        if (rc != FP_OK)
            return rc;
        bool same = strcmp(mj_str(held, "conference"), mj_str(conf, "id")) == 0;
        char other[MARAC_ID_MAX + 1];
        snprintf(other, sizeof other, "%s", mj_str(held, "conference"));
        json_decref(held);
        if (!same)
            return fp_error_set(err, FP_ERR_INPUT, "cases[%zu].case_reference: '%s' already "
                                "belongs to conference %s; give this hearing its own "
                                "reference", i, ref, other);
    }
    return FP_OK;
}

/* A conference seen before must be the same meeting; its deadline may move. */
static int merge_conference(marac_tx *tx, json_t *conf, json_t **merged, fp_error *err)
{
    const char *id = mj_str(conf, "id");
    json_t *held = NULL;
    int rc = marac_get(&tx->db, MARAC_CONF, id, strlen(id), &held, err);
    if (rc == FP_ERR_NOT_FOUND) {
        json_object_set_new(conf, "cases", json_array());
        *merged = json_incref(conf);
        return FP_OK;
    }
    if (rc != FP_OK)
        return rc;
    if (strcmp(mj_str(held, "date"), mj_str(conf, "date")) != 0 ||
        strcmp(mj_str(held, "area"), mj_str(conf, "area")) != 0) {
        json_decref(held);
        return fp_error_set(err, FP_ERR_INPUT, "conference.id: '%s' is already a conference "
                            "on another date or in another area", id);
    }
    int64_t old_due = mj_int(held, "reminder_ms");
    if (old_due > 0 && mj_int(held, "reminded_ms") == 0)
        marac_due_del(&tx->db, old_due, id, NULL);
    static const char *const updatable[] = {"deadline_ms", "reminder_ms", "questions",
                                            "coordinator_contact", "agencies", NULL};
    for (size_t i = 0; updatable[i] != NULL; i++)
        if (json_object_get(conf, updatable[i]) != NULL)
            json_object_set(held, updatable[i], json_object_get(conf, updatable[i]));
    *merged = held;
    return FP_OK;
}

static int store_new_case(marac_tx *tx, json_t *conf, json_t *kase, fp_error *err)
{
    const char *ref = mj_str(kase, "case_reference");
    json_object_set_new(kase, "conference", json_string(mj_str(conf, "id")));
    mj_set_int(kase, "conference_date_s", mj_int(conf, "date_s"));
    pseudonym ps[PSEUDONYM_MAX];
    size_t n = marac_case_pseudonyms(kase, ps);
    int rc = FP_OK;
    for (size_t i = 0; i < n && rc == FP_OK; i++)
        rc = marac_heard_add(&tx->db, &ps[i], mj_int(conf, "date_s"), mj_str(conf, "id"), ref,
                             err);
    if (rc == FP_OK)
        rc = marac_put(&tx->db, MARAC_CASE, ref, strlen(ref), kase, err);
    if (rc == FP_OK)
        json_array_append_new(json_object_get(conf, "cases"), json_string(ref));
    return rc;
}

/* Commit the conference and its new cases; *to_send lists the references
 * whose request flag is still to be published. */
static int record_round(agent *a, json_t *conf, json_t *cases, json_t **merged,
                        json_t *to_send, fp_error *err)
{
    marac_tx tx;
    int rc = marac_tx_begin(a, true, &tx, err);
    if (rc != FP_OK)
        return rc;
    rc = check_cases(&tx, conf, cases, err);
    if (rc == FP_OK)
        rc = merge_conference(&tx, conf, merged, err);
    size_t i;
    json_t *c;
    json_array_foreach(cases, i, c) {
        const char *ref = mj_str(c, "case_reference");
        json_t *held = NULL;
        if (rc != FP_OK)
            break;
        rc = marac_get(&tx.db, MARAC_CASE, ref, strlen(ref), &held, err);
        if (rc == FP_ERR_NOT_FOUND)
            rc = store_new_case(&tx, *merged, c, err);
        if (rc == FP_OK && (held == NULL || mj_str(held, "request_flag_id") == NULL))
            json_array_append_new(to_send, json_string(ref));
        json_decref(held);
    }
    int64_t due = mj_int(*merged, "reminder_ms");
    if (rc == FP_OK && due > mj_int(*merged, "created_ms") && mj_int(*merged, "reminded_ms") == 0)
        rc = marac_due_add(&tx.db, due, mj_str(*merged, "id"), err);
    if (rc == FP_OK)
        rc = marac_put(&tx.db, MARAC_CONF, mj_str(*merged, "id"), strlen(mj_str(*merged, "id")),
                       *merged, err);
    if (rc == FP_OK)
        return marac_tx_commit(&tx, err);
    marac_tx_end(&tx);
    return rc;
}

/* ---------------------------------------------------------------- publishing */

static json_t *request_flag(json_t *conf, json_t *kase)
{
    json_t *s = json_object_get(kase, "subject");
    json_t *subject = json_object();
    static const char *const ids[] = {"role", "nhs", "name", "dob", "postcode", "uprn", NULL};
    for (size_t i = 0; ids[i] != NULL; i++)
        mj_set_str(subject, ids[i], mj_str(s, ids[i]));
    char deadline[32];
    marac_iso_s(mj_int(conf, "deadline_ms"), deadline);
    const char *q = mj_str(conf, "questions"), *extra = mj_str(kase, "questions");
    char *questions = NULL;
    if (asprintf(&questions, "%s%s%s", q ? q : "", extra ? "\n\n" : "", extra ? extra : "") < 0)
        questions = NULL;
    json_t *fields = json_pack("{s:s, s:s, s:s, s:s, s:s}", "case_reference",
                               mj_str(kase, "case_reference"), "conference_date",
                               mj_str(conf, "date"), "research_deadline", deadline,
                               "subject_name", mj_str(s, "name"), "subject_date_of_birth",
                               mj_str(s, "dob"));
    mj_set_str(fields, "subject_address", mj_str(s, "address"));
    mj_set_str(fields, "research_questions", questions);
    free(questions);
    json_t *flag = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:o}", "category",
                             MARAC_CATEGORY_RESEARCH, "purpose", "marac", "lawful_basis",
                             "public_task_safeguarding", "consent", mj_str(kase, "consent"),
                             "risk", "high", "subject", subject, "fields", fields);
    mj_set_str(flag, "consent_reason", mj_str(kase, "consent_reason"));
    if (json_object_get(conf, "agencies") != NULL)
        json_object_set(flag, "recipients", json_object_get(conf, "agencies"));
    return flag;
}

static int send_case(agent *a, json_t *conf, const char *ref, fp_error *err)
{
    marac_tx tx;
    json_t *kase = NULL;
    int rc = marac_tx_begin(a, false, &tx, err);
    if (rc == FP_OK) {
        rc = marac_get(&tx.db, MARAC_CASE, ref, strlen(ref), &kase, err);
        marac_tx_end(&tx);
    }
    if (rc != FP_OK)
        return rc;
    json_t *flag = request_flag(conf, kase);
    Flagpost__OutboxRecord *rec = NULL;
    rc = marac_publish(a, flag, &rec, err);
    json_decref(flag);
    if (rc == FP_OK)
        rc = marac_tx_begin(a, true, &tx, err);
    if (rc == FP_OK) {
        Flagpost__FlagBody *b = flagpost__flag_body__unpack(NULL, rec->body.len, rec->body.data);
        char fid[33];
        marac_hex(b->flag_id.data, fid);
        unsigned char key[17];
        marac_flag_key(key, MARAC_KIND_REQUEST, b->flag_id.data);
        flagpost__flag_body__free_unpacked(b, NULL);
        json_object_set_new(kase, "request_flag_id", json_string(fid));
        json_object_set_new(kase, "requested", marac_decisions(rec, true));
        json_object_set_new(kase, "refused", marac_decisions(rec, false));
        mj_set_int(kase, "requested_ms", rec->accepted_ms);
        rc = marac_put(&tx.db, MARAC_CASE, ref, strlen(ref), kase, err);
        json_t *link = json_pack("{s:s}", "case_reference", ref);
        if (rc == FP_OK)
            rc = marac_put(&tx.db, MARAC_FLAGS, key, sizeof key, link, err);
        json_decref(link);
        rc = rc == FP_OK ? marac_tx_commit(&tx, err) : (marac_tx_end(&tx), rc);
    }
    if (rec != NULL)
        flagpost__outbox_record__free_unpacked(rec, NULL);
    json_decref(kase);
    return rc;
}

static json_t *case_summary(agent *a, json_t *kase, json_t *to_send)
{
    json_t *o = json_pack("{s:s}", "case_reference", mj_str(kase, "case_reference"));
    bool send = false;
    size_t i;
    json_t *v;
    json_array_foreach(to_send, i, v) {
        send |= strcmp(json_string_value(v), mj_str(kase, "case_reference")) == 0;
    }
    json_object_set_new(o, "status", json_string(send ? "sent" : "already-sent"));
    marac_tx tx;
    if (marac_tx_begin(a, false, &tx, NULL) == FP_OK) {
        json_t *held = NULL;
        const char *ref = mj_str(kase, "case_reference");
        if (marac_get(&tx.db, MARAC_CASE, ref, strlen(ref), &held, NULL) == FP_OK) {
            json_t *rep = marac_repeat_of(&tx, held);
            json_object_set_new(o, "repeat", json_boolean(rep != NULL && !json_is_true(
                                                 json_object_get(rep, "address_only"))));
            if (rep != NULL)
                json_object_set_new(o, "repeat_of", rep);
            json_object_set(o, "request_flag_id", json_object_get(held, "request_flag_id"));
            json_object_set(o, "agencies", json_object_get(held, "requested"));
            json_object_set(o, "refused", json_object_get(held, "refused"));
        }
        json_decref(held);
        marac_tx_end(&tx);
    }
    return o;
}

json_t *marac_request_op(agent *a, json_t *req)
{
    fp_error err;
    json_t *conf = NULL, *cases = NULL, *merged = NULL, *to_send = json_array();
    json_t *reply = NULL;
    int rc = marac_request_parse(json_object_get(req, "request"), a->id.linkage_key,
                                 envelope_now_ms(), &conf, &cases, &err);
    size_t i;
    json_t *v;
    json_array_foreach(rc == FP_OK ? json_object_get(conf, "agencies") : NULL, i, v) {
        if (agent_sector_of(a, json_string_value(v), envelope_now_ms() / 1000) == NULL) {
            rc = fp_error_set(&err, FP_ERR_INPUT, "agencies[%zu]: no valid certificate for "
                              "agency '%s'", i, json_string_value(v));
            break;
        }
    }
    if (rc == FP_OK)
        rc = record_round(a, conf, cases, &merged, to_send, &err);
    json_array_foreach(to_send, i, v) {
        if (rc != FP_OK)
            break;
        rc = send_case(a, merged, json_string_value(v), &err);
    }
    if (rc == FP_OK) {
        json_t *list = json_array();
        json_array_foreach(cases, i, v) {
            json_array_append_new(list, case_summary(a, v, to_send));
        }
        char deadline[32];
        marac_iso(mj_int(merged, "deadline_ms"), deadline);
        reply = json_pack("{s:s, s:s, s:s, s:s, s:o}", "conference", mj_str(merged, "id"), "date",
                          mj_str(merged, "date"), "area", mj_str(merged, "area"), "deadline",
                          deadline, "cases", list);
        log_event(&a->log, LOG_INFO, "marac-request", "conference=%s cases=%zu sent=%zu",
                  mj_str(merged, "id"), json_array_size(cases), json_array_size(to_send));
    } else {
        reply = marac_error_json(&err);
    }
    json_decref(conf);
    json_decref(cases);
    json_decref(merged);
    json_decref(to_send);
    return reply;
}
