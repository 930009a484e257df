/*
 * flag_json: JSON flags from agency systems.  See flag_json.h.
 *
 * The parser is strict by design: an unknown key is an error, not ignored,
 * because a misspelt "recipients" or "restricted" silently dropped could
 * send a flag further than its author meant.  Field values may be strings,
 * numbers or booleans; non-strings are rewritten in the document as their
 * JSON text so every value downstream is a string the root owns.
 */
#include "flag_json.h"
#include "json_wipe.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "timefmt.h"

static const char *const TOP_KEYS[] = {
    "category", "subcategory", "purpose", "lawful_basis", "consent", "consent_reason",
    "risk", "subject", "recipients", "fields", "restricted", "named_agencies",
    "review_date", "expires", "break_glass", "justification", "action", "flag_id",
    "reason", "linked_perpetrator", NULL};
static const char *const SUBJECT_KEYS[] = {"role", "nhs", "name", "dob", "postcode",
                                           "uprn", NULL};
static const char *const LINKED_KEYS[] = {"nhs", "name", "dob", "postcode", "uprn", NULL};

static bool key_known(const char *key, const char *const *keys)
{
    for (size_t i = 0; keys[i] != NULL; i++)
        if (strcmp(key, keys[i]) == 0)
            return true;
    return false;
}

static int reject_unknown_keys(json_t *obj, const char *const *keys, const char *where,
                               fp_error *err)
{
    const char *key;
    json_t *value;
    json_object_foreach(obj, key, value) {
        (void)value;
        if (!key_known(key, keys))
            return fp_error_set(err, FP_ERR_INPUT,
                                "%s%s%.60s: unknown key (check the spelling; see "
                                "docs/flags.md)", where, where[0] ? "." : "", key);
    }
    return FP_OK;
}

/* A string member: required or optional, bounded length, no NUL bytes. */
static int get_text(json_t *obj, const char *key, const char *path, bool required,
                    size_t max, const char **out, fp_error *err)
{
    *out = NULL;
    json_t *v = json_object_get(obj, key);
    if (v == NULL || json_is_null(v)) {
        if (required)
            return fp_error_set(err, FP_ERR_INPUT, "%s: missing (required)", path);
        return FP_OK;
    }
    if (!json_is_string(v))
        return fp_error_set(err, FP_ERR_INPUT, "%s: must be a string", path);
    size_t len = json_string_length(v);
    if (len == 0 && required)
        return fp_error_set(err, FP_ERR_INPUT, "%s: must not be empty", path);
    if (len > max)
        return fp_error_set(err, FP_ERR_INPUT, "%s: %zu characters; the limit is %zu", path,
                            len, max);
    if (strlen(json_string_value(v)) != len)
        return fp_error_set(err, FP_ERR_INPUT, "%s: contains a NUL character", path);
    *out = json_string_value(v);
    return FP_OK;
}

static int get_bool(json_t *obj, const char *key, bool *out, fp_error *err)
{
    json_t *v = json_object_get(obj, key);
    *out = false;
    if (v == NULL || json_is_null(v))
        return FP_OK;
    if (!json_is_boolean(v))
        return fp_error_set(err, FP_ERR_INPUT, "%s: must be true or false", key);
    *out = json_is_true(v);
    return FP_OK;
}

static int get_agency_list(json_t *obj, const char *key, const char **out, size_t *count,
                           bool *given, fp_error *err)
{
    json_t *arr = json_object_get(obj, key);
    *count = 0;
    if (given)
        *given = arr != NULL && !json_is_null(arr);
    if (arr == NULL || json_is_null(arr))
        return FP_OK;
    if (!json_is_array(arr))
        return fp_error_set(err, FP_ERR_INPUT, "%s: must be a list of agency ids", key);
    if (json_array_size(arr) > FLAG_MAX_RECIPIENTS)
        return fp_error_set(err, FP_ERR_INPUT, "%s: %zu entries; the limit is %d", key,
                            json_array_size(arr), FLAG_MAX_RECIPIENTS);
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) {
        if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > 63)
            return fp_error_set(err, FP_ERR_INPUT, "%s[%zu]: must be an agency id", key, i);
        for (size_t j = 0; j < *count; j++)
            if (strcmp(out[j], json_string_value(v)) == 0)
                return fp_error_set(err, FP_ERR_INPUT, "%s[%zu]: '%s' is listed twice", key,
                                    i, json_string_value(v));
        out[(*count)++] = json_string_value(v);
    }
    return FP_OK;
}

/* Rewrite a scalar as its JSON text so the root owns a string for it. */
static int field_value_text(json_t *fields, const char *name, json_t *v, const char **out,
                            fp_error *err)
{
    if (json_is_string(v)) {
        *out = json_string_value(v);
        if (strlen(*out) != json_string_length(v))
            return fp_error_set(err, FP_ERR_INPUT, "fields.%s: contains a NUL character",
                                name);
        return FP_OK;
    }
    if (!json_is_number(v) && !json_is_boolean(v))
        return fp_error_set(err, FP_ERR_INPUT,
                            "fields.%s: must be a string, number or true/false", name);
    char *text = json_dumps(v, JSON_ENCODE_ANY);
    if (text == NULL)
        return fp_error_set(err, FP_ERR_IO, "fields.%s: out of memory", name);
    json_t *s = json_string(text);
    json_text_free(text);
    if (s == NULL || json_object_set_new(fields, name, s) != 0)
        return fp_error_set(err, FP_ERR_IO, "fields.%s: out of memory", name);
    *out = json_string_value(json_object_get(fields, name));
    return FP_OK;
}

static int parse_fields(json_t *root, flag_request *r, fp_error *err)
{
    json_t *fields = json_object_get(root, "fields");
    r->field_count = 0;
    if (fields == NULL || json_is_null(fields))
        return FP_OK;
    if (!json_is_object(fields))
        return fp_error_set(err, FP_ERR_INPUT, "fields: must be an object of name: value");
    if (json_object_size(fields) > FLAG_MAX_FIELDS)
        return fp_error_set(err, FP_ERR_INPUT, "fields: %zu fields; the limit is %d",
                            json_object_size(fields), FLAG_MAX_FIELDS);
    const char *name;
    json_t *v;
    void *tmp;
    json_object_foreach_safe(fields, tmp, name, v) {
        if (strlen(name) == 0 || strlen(name) > 63)
            return fp_error_set(err, FP_ERR_INPUT, "fields: a field name must be 1-63 "
                                "characters");
        const char *text = NULL;
        int rc = field_value_text(fields, name, v, &text, err);
        if (rc != FP_OK)
            return rc;
        if (strlen(text) > FLAG_MAX_FIELD_BYTES)
            return fp_error_set(err, FP_ERR_INPUT,
                                "fields.%s: %zu bytes; the limit is %d (oversized field)",
                                name, strlen(text), FLAG_MAX_FIELD_BYTES);
        r->fields[r->field_count].name = name;
        r->fields[r->field_count].value = text;
        r->field_count++;
    }
    return FP_OK;
}

static int parse_identifiers(json_t *s, const char *where, subject_identifiers *ids,
                             fp_error *err)
{
    char path[64];
    static const char *const keys[] = {"nhs", "name", "dob", "postcode", "uprn"};
    static const size_t limits[] = {32, 200, 32, 16, 16};
    const char **slots[] = {&ids->nhs, &ids->name, &ids->dob, &ids->postcode, &ids->uprn};
    for (size_t i = 0; i < 5; i++) {
        snprintf(path, sizeof path, "%s.%s", where, keys[i]);
        int rc = get_text(s, keys[i], path, false, limits[i], slots[i], err);
        if (rc != FP_OK)
            return rc;
    }
    return FP_OK;
}

static int parse_subject(json_t *root, flag_request *r, fp_error *err)
{
    json_t *s = json_object_get(root, "subject");
    if (s == NULL || json_is_null(s))
        return fp_error_set(err, FP_ERR_INPUT,
                            "subject: missing (required: role and at least one identifier)");
    if (!json_is_object(s))
        return fp_error_set(err, FP_ERR_INPUT, "subject: must be an object");
    int rc = reject_unknown_keys(s, SUBJECT_KEYS, "subject", err);
    if (rc == FP_OK)
        rc = get_text(s, "role", "subject.role", true, FLAG_MAX_TEXT, &r->role, err);
    if (rc == FP_OK)
        rc = parse_identifiers(s, "subject", &r->subject, err);
    json_t *lp = json_object_get(root, "linked_perpetrator");
    if (rc != FP_OK || lp == NULL || json_is_null(lp))
        return rc;
    if (!json_is_object(lp))
        return fp_error_set(err, FP_ERR_INPUT, "linked_perpetrator: must be an object of "
                            "identifiers");
    r->has_linked_perpetrator = true;
    rc = reject_unknown_keys(lp, LINKED_KEYS, "linked_perpetrator", err);
    if (rc == FP_OK)
        rc = parse_identifiers(lp, "linked_perpetrator", &r->linked_perpetrator, err);
    return rc;
}

int flag_json_parse_date(const char *s, int64_t *out)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *end = strptime(s, "%Y-%m-%d", &tm);
    if (end == NULL)
        return FP_ERR_INPUT;
    if (*end == 'T') {
        end = strptime(end, "T%H:%M:%S", &tm);
        if (end == NULL)
            return FP_ERR_INPUT;
        if (*end == 'Z')
            end++;
    }
    if (*end != '\0')
        return FP_ERR_INPUT;
    struct tm asked = tm;
    time_t t = timegm(&tm);
    /* timegm normalises 2025-02-30 to 2025-03-02; a date that does not
     * survive the round trip was never a real date. */
    if (t == (time_t)-1 || tm.tm_mday != asked.tm_mday || tm.tm_mon != asked.tm_mon ||
        tm.tm_year != asked.tm_year)
        return FP_ERR_INPUT;
    /* The range the broker and every agent accept (timefmt.h). */
    if (!timefmt_in_range_s(t))
        return FP_ERR_INPUT;
    *out = (int64_t)t;
    return FP_OK;
}

static int get_date(json_t *root, const char *key, int64_t *out, fp_error *err)
{
    const char *text = NULL;
    *out = 0;
    int rc = get_text(root, key, key, false, 32, &text, err);
    if (rc != FP_OK || text == NULL)
        return rc;
    if (flag_json_parse_date(text, out) != FP_OK)
        return fp_error_set(err, FP_ERR_INPUT,
                            "%s: dates are written YYYY-MM-DD, from 1970-01-01 to 9999-12-31",
                            key);
    return FP_OK;
}

static int parse_action(json_t *root, flag_request *r, fp_error *err)
{
    const char *action = NULL;
    int rc = get_text(root, "action", "action", false, 16, &action, err);
    if (rc != FP_OK)
        return rc;
    if (action == NULL || strcmp(action, "publish") == 0)
        r->action = FLAG_ACTION_PUBLISH;
    else if (strcmp(action, "update") == 0)
        r->action = FLAG_ACTION_UPDATE;
    else if (strcmp(action, "withdraw") == 0)
        r->action = FLAG_ACTION_WITHDRAW;
    else
        return fp_error_set(err, FP_ERR_INPUT,
                            "action: must be publish, update or withdraw");
    rc = get_text(root, "flag_id", "flag_id", r->action != FLAG_ACTION_PUBLISH, 64,
                  &r->flag_id_hex, err);
    if (rc == FP_OK && r->action == FLAG_ACTION_PUBLISH && r->flag_id_hex != NULL)
        return fp_error_set(err, FP_ERR_INPUT,
                            "flag_id: only an update or withdraw names an existing flag");
    if (rc == FP_OK)
        rc = get_text(root, "reason", "reason", r->action == FLAG_ACTION_WITHDRAW,
                      FLAG_MAX_TEXT, &r->withdraw_reason, err);
    return rc;
}

static int check_consent(flag_request *r, fp_error *err)
{
    if (strcmp(r->consent, "given") == 0)
        return FP_OK;
    if (r->consent_reason == NULL || r->consent_reason[0] == '\0')
        return fp_error_set(err, FP_ERR_INPUT,
                            "consent_reason: required when consent is '%s' (record why the "
                            "flag is shared without consent)", r->consent);
    return FP_OK;
}

static int parse_core(json_t *root, flag_request *r, fp_error *err)
{
    int rc = reject_unknown_keys(root, TOP_KEYS, "", err);
    if (rc == FP_OK)
        rc = parse_action(root, r, err);
    if (rc == FP_OK)
        rc = get_text(root, "category", "category", true, FLAG_MAX_TEXT, &r->category, err);
    if (rc == FP_OK)
        rc = get_text(root, "subcategory", "subcategory", false, FLAG_MAX_TEXT,
                      &r->subcategory, err);
    if (rc == FP_OK)
        rc = get_text(root, "purpose", "purpose", true, FLAG_MAX_TEXT, &r->purpose, err);
    if (rc == FP_OK)
        rc = get_text(root, "lawful_basis", "lawful_basis", true, FLAG_MAX_TEXT,
                      &r->lawful_basis, err);
    if (rc == FP_OK)
        rc = get_text(root, "consent", "consent", true, FLAG_MAX_TEXT, &r->consent, err);
    if (rc == FP_OK)
        rc = get_text(root, "consent_reason", "consent_reason", false, 2000,
                      &r->consent_reason, err);
    if (rc == FP_OK)
        rc = get_text(root, "risk", "risk", false, FLAG_MAX_TEXT, &r->risk, err);
    if (rc == FP_OK && r->risk == NULL)
        r->risk = "standard";
    if (rc == FP_OK)
        rc = check_consent(r, err);
    return rc;
}

static int parse_routing(json_t *root, flag_request *r, fp_error *err)
{
    int rc = get_agency_list(root, "recipients", r->recipients, &r->recipient_count,
                             &r->recipients_given, err);
    if (rc == FP_OK && r->recipients_given && r->recipient_count == 0)
        return fp_error_set(err, FP_ERR_INPUT,
                            "recipients: empty list; leave it out to send to every agency "
                            "the agreement allows");
    if (rc == FP_OK)
        rc = get_bool(root, "restricted", &r->restricted, err);
    if (rc == FP_OK)
        rc = get_agency_list(root, "named_agencies", r->named, &r->named_count, NULL, err);
    if (rc == FP_OK && r->restricted && r->named_count == 0)
        return fp_error_set(err, FP_ERR_INPUT,
                            "named_agencies: a restricted flag must name the agencies "
                            "that may receive it");
    if (rc == FP_OK)
        rc = get_bool(root, "break_glass", &r->break_glass, err);
    if (rc == FP_OK)
        rc = get_text(root, "justification", "justification", r->break_glass, 2000,
                      &r->justification, err);
    if (rc == FP_OK && r->break_glass && strlen(r->justification) < 10)
        return fp_error_set(err, FP_ERR_INPUT,
                            "justification: a break-glass disclosure needs a real "
                            "justification (at least 10 characters)");
    return rc;
}

int flag_json_from_object(json_t *obj, flag_request *out, fp_error *err)
{
    memset(out, 0, sizeof *out);
    if (!json_is_object(obj))
        return fp_error_set(err, FP_ERR_INPUT, "a flag must be a JSON object");
    out->root = json_incref(obj);
    int rc = parse_core(obj, out, err);
    if (rc == FP_OK)
        rc = parse_subject(obj, out, err);
    if (rc == FP_OK)
        rc = parse_routing(obj, out, err);
    if (rc == FP_OK)
        rc = parse_fields(obj, out, err);
    if (rc == FP_OK)
        rc = get_date(obj, "review_date", &out->review_at, err);
    if (rc == FP_OK)
        rc = get_date(obj, "expires", &out->expires_at, err);
    if (rc != FP_OK)
        flag_request_free(out);
    return rc;
}

int flag_json_parse(const char *text, size_t len, flag_request *out, fp_error *err)
{
    memset(out, 0, sizeof *out);
    if (len > FLAG_MAX_JSON_BYTES)
        return fp_error_set(err, FP_ERR_INPUT, "flag is %zu bytes; the limit is %d", len,
                            FLAG_MAX_JSON_BYTES);
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL)
        return fp_error_set(err, FP_ERR_INPUT, "malformed JSON at line %d, column %d: %s",
                            jerr.line, jerr.column, jerr.text);
    int rc = flag_json_from_object(root, out, err);
    json_decref(root);
    return rc;
}

void flag_request_free(flag_request *r)
{
    if (r->root != NULL)
        json_decref(r->root);
    memset(r, 0, sizeof *r);
}
