/*
 * Unit tests for agents/flag_json.c: the strict JSON flag parser.  Every
 * refusal must name the key at fault, so each case checks the start of the
 * error message as well as the status.
 *
 * Cases are built from one valid flag (BASE) with a single change made
 * through jansson, so each test breaks exactly one rule.
 */
#include <jansson.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "flag_json.h"
#include "timefmt.h"

static const char BASE[] =
    "{\"category\": \"da_victim\", \"purpose\": \"safeguarding\","
    " \"lawful_basis\": \"public_task\", \"consent\": \"given\","
    " \"subject\": {\"role\": \"victim\", \"nhs\": \"943 476 5919\"},"
    " \"fields\": {\"safe_contact\": \"mobile only\"}}";

/* BASE with key set to value (stolen), or removed when value is NULL.
 * Returns malloc'd JSON text. */
static char *variant(const char *key, json_t *value)
{
    json_t *root = json_loads(BASE, 0, NULL);
    if (value == NULL)
        json_object_del(root, key);
    else
        json_object_set_new(root, key, value);
    char *text = json_dumps(root, 0);
    json_decref(root);
    return text;
}

/* BASE with subject.key set (or removed). */
static char *subject_variant(const char *key, json_t *value)
{
    json_t *root = json_loads(BASE, 0, NULL);
    json_t *s = json_object_get(root, "subject");
    if (value == NULL)
        json_object_del(s, key);
    else
        json_object_set_new(s, key, value);
    char *text = json_dumps(root, 0);
    json_decref(root);
    return text;
}

/* BASE with fields.name set to value. */
static char *field_variant(const char *name, json_t *value)
{
    json_t *root = json_loads(BASE, 0, NULL);
    json_object_set_new(json_object_get(root, "fields"), name, value);
    char *text = json_dumps(root, 0);
    json_decref(root);
    return text;
}

static int parse(const char *text, flag_request *r, fp_error *err)
{
    return flag_json_parse(text, strlen(text), r, err);
}

/* Parse text (then free it); true if it was refused with FP_ERR_INPUT and
 * an error message starting with "<path>:". */
static bool refused_at(char *text, const char *path)
{
    flag_request r;
    fp_error err = {0};
    int rc = parse(text, &r, &err);
    size_t n = strlen(path);
    bool ok = rc == FP_ERR_INPUT && strncmp(err.message, path, n) == 0 &&
              err.message[n] == ':' && r.root == NULL;
    if (!ok)
        printf("#   expected refusal at %s; got rc %d, \"%s\"\n", path, rc, err.message);
    if (rc == FP_OK)
        flag_request_free(&r);
    free(text);
    return ok;
}

static bool accepted(char *text, flag_request *r)
{
    fp_error err = {0};
    int rc = parse(text, r, &err);
    if (rc != FP_OK)
        printf("#   expected acceptance; got rc %d, \"%s\"\n", rc, err.message);
    free(text);
    return rc == FP_OK;
}

static void test_base_flag_parses(void)
{
    flag_request r;
    fp_error err = {0};
    CHECK_EQ_INT(parse(BASE, &r, &err), FP_OK);
    CHECK_EQ_INT(r.action, FLAG_ACTION_PUBLISH);
    CHECK_EQ_STR(r.category, "da_victim");
    CHECK_EQ_STR(r.purpose, "safeguarding");
    CHECK_EQ_STR(r.lawful_basis, "public_task");
    CHECK_EQ_STR(r.consent, "given");
    CHECK(r.consent_reason == NULL);
    CHECK_EQ_STR(r.risk, "standard");   /* the default */
    CHECK_EQ_STR(r.role, "victim");
    CHECK_EQ_STR(r.subject.nhs, "943 476 5919");
    CHECK(r.subject.name == NULL && r.subject.postcode == NULL);
    CHECK(!r.recipients_given);
    CHECK_EQ_INT(r.recipient_count, 0);
    CHECK_EQ_INT(r.field_count, 1);
    CHECK_EQ_STR(r.fields[0].name, "safe_contact");
    CHECK_EQ_STR(r.fields[0].value, "mobile only");
    CHECK(!r.restricted && !r.break_glass);
    CHECK_EQ_INT(r.review_at, 0);
    CHECK_EQ_INT(r.expires_at, 0);
    CHECK(r.flag_id_hex == NULL && r.withdraw_reason == NULL);
    flag_request_free(&r);
    CHECK(r.root == NULL);
}

static void test_full_flag_parses(void)
{
    const char *text =
        "{\"action\": \"update\", \"flag_id\": \"00112233445566778899aabbccddeeff\","
        " \"category\": \"harmful_practice\", \"subcategory\": \"forced_marriage\","
        " \"purpose\": \"safeguarding\", \"lawful_basis\": \"vital_interests\","
        " \"consent\": \"not_sought_unsafe\", \"consent_reason\": \"alerting him raises risk\","
        " \"risk\": \"high\","
        " \"subject\": {\"role\": \"victim\", \"nhs\": \"9434765919\", \"name\": \"Jane Doe\","
        "   \"dob\": \"1990-01-02\", \"postcode\": \"SW1A 1AA\", \"uprn\": \"100023336956\"},"
        " \"recipients\": [\"housing-hf\", \"idva\"],"
        " \"fields\": {\"a\": \"x\", \"b\": \"y\"},"
        " \"restricted\": true, \"named_agencies\": [\"idva\"],"
        " \"review_date\": \"2025-03-01\", \"expires\": \"2025-06-01T12:30:00Z\","
        " \"break_glass\": true, \"justification\": \"immediate risk to life tonight\"}";
    flag_request r;
    fp_error err = {0};
    CHECK_EQ_INT(parse(text, &r, &err), FP_OK);
    CHECK_EQ_INT(r.action, FLAG_ACTION_UPDATE);
    CHECK_EQ_STR(r.flag_id_hex, "00112233445566778899aabbccddeeff");
    CHECK_EQ_STR(r.subcategory, "forced_marriage");
    CHECK_EQ_STR(r.consent_reason, "alerting him raises risk");
    CHECK_EQ_STR(r.risk, "high");
    CHECK_EQ_STR(r.subject.name, "Jane Doe");
    CHECK_EQ_STR(r.subject.dob, "1990-01-02");
    CHECK_EQ_STR(r.subject.postcode, "SW1A 1AA");
    CHECK_EQ_STR(r.subject.uprn, "100023336956");
    CHECK(r.recipients_given);
    CHECK_EQ_INT(r.recipient_count, 2);
    CHECK_EQ_STR(r.recipients[1], "idva");
    CHECK_EQ_INT(r.field_count, 2);
    CHECK(r.restricted);
    CHECK_EQ_INT(r.named_count, 1);
    CHECK_EQ_STR(r.named[0], "idva");
    CHECK_EQ_INT(r.review_at, 1740787200);    /* 2025-03-01T00:00:00Z */
    CHECK_EQ_INT(r.expires_at, 1748781000);   /* 2025-06-01T12:30:00Z */
    CHECK(r.break_glass);
    CHECK_EQ_STR(r.justification, "immediate risk to life tonight");
    flag_request_free(&r);
}

static void test_required_keys_named(void)
{
    CHECK(refused_at(variant("category", NULL), "category"));
    CHECK(refused_at(variant("purpose", NULL), "purpose"));
    CHECK(refused_at(variant("lawful_basis", NULL), "lawful_basis"));
    CHECK(refused_at(variant("consent", NULL), "consent"));
    CHECK(refused_at(variant("subject", NULL), "subject"));
    CHECK(refused_at(subject_variant("role", NULL), "subject.role"));
    CHECK(refused_at(variant("category", json_string("")), "category"));
    CHECK(refused_at(variant("category", json_null()), "category"));
    CHECK(refused_at(subject_variant("role", json_string("")), "subject.role"));
}

static void test_types_and_sizes_named(void)
{
    CHECK(refused_at(variant("category", json_integer(3)), "category"));
    CHECK(refused_at(variant("purpose", json_true()), "purpose"));
    CHECK(refused_at(variant("subject", json_string("victim")), "subject"));
    CHECK(refused_at(subject_variant("role", json_integer(1)), "subject.role"));
    CHECK(refused_at(subject_variant("nhs", json_integer(9434765919)), "subject.nhs"));
    CHECK(refused_at(subject_variant("postcode", json_string("SW1A 1AA SW1A 1AA")),
                     "subject.postcode"));
    CHECK(refused_at(variant("restricted", json_string("yes")), "restricted"));
    CHECK(refused_at(variant("break_glass", json_integer(1)), "break_glass"));
    CHECK(refused_at(variant("fields", json_array()), "fields"));
    CHECK(refused_at(variant("recipients", json_string("idva")), "recipients"));
    CHECK(refused_at(variant("named_agencies", json_object()), "named_agencies"));
    char longtext[FLAG_MAX_TEXT + 2];
    memset(longtext, 'c', sizeof longtext);
    longtext[FLAG_MAX_TEXT + 1] = '\0';
    CHECK(refused_at(variant("category", json_string(longtext)), "category"));
    longtext[FLAG_MAX_TEXT] = '\0';   /* exactly the limit is fine */
    flag_request r;
    CHECK(accepted(variant("category", json_string(longtext)), &r));
    flag_request_free(&r);
}

/* Refused through flag_json_from_object (an object a caller built, which
 * can hold NUL characters the JSON text parser already refuses). */
static bool object_refused_at(json_t *root, const char *path)
{
    flag_request r;
    fp_error err = {0};
    int rc = flag_json_from_object(root, &r, &err);
    size_t n = strlen(path);
    bool ok = rc == FP_ERR_INPUT && strncmp(err.message, path, n) == 0 &&
              err.message[n] == ':';
    if (!ok)
        printf("#   expected refusal at %s; got rc %d, \"%s\"\n", path, rc, err.message);
    if (rc == FP_OK)
        flag_request_free(&r);
    json_decref(root);
    return ok;
}

static void test_nul_characters_refused(void)
{
    /* In JSON text, \u0000 is refused by the parser itself. */
    char *text = variant("category", json_stringn("da\0victim", 9));
    flag_request r;
    fp_error err = {0};
    CHECK_EQ_INT(parse(text, &r, &err), FP_ERR_INPUT);
    CHECK(strstr(err.message, "malformed JSON") != NULL);
    free(text);
    /* In an object handed over directly, the key is named. */
    json_t *root = json_loads(BASE, 0, NULL);
    json_object_set_new(root, "category", json_stringn("da\0victim", 9));
    CHECK(object_refused_at(root, "category"));
    root = json_loads(BASE, 0, NULL);
    json_object_set_new(json_object_get(root, "subject"), "name", json_stringn("Jo\0e", 4));
    CHECK(object_refused_at(root, "subject.name"));
    root = json_loads(BASE, 0, NULL);
    json_object_set_new(json_object_get(root, "fields"), "x", json_stringn("a\0b", 3));
    CHECK(object_refused_at(root, "fields.x"));
}

static void test_unknown_keys_rejected(void)
{
    CHECK(refused_at(variant("recipient", json_array()), "recipient"));
    CHECK(refused_at(variant("Restricted", json_true()), "Restricted"));
    CHECK(refused_at(variant("field", json_object()), "field"));
    CHECK(refused_at(subject_variant("nhs_number", json_string("9434765919")),
                     "subject.nhs_number"));
    CHECK(refused_at(subject_variant("Role", json_string("victim")), "subject.Role"));
}

static void test_duplicate_keys_rejected(void)
{
    const char *dups[] = {
        "{\"category\": \"a\", \"category\": \"b\", \"purpose\": \"p\", \"lawful_basis\": "
        "\"l\", \"consent\": \"given\", \"subject\": {\"role\": \"victim\"}}",
        "{\"category\": \"a\", \"purpose\": \"p\", \"lawful_basis\": \"l\", \"consent\": "
        "\"given\", \"subject\": {\"role\": \"victim\", \"role\": \"perpetrator\"}}",
        "{\"category\": \"a\", \"purpose\": \"p\", \"lawful_basis\": \"l\", \"consent\": "
        "\"given\", \"subject\": {\"role\": \"victim\"},\n \"fields\": {\"x\": \"1\", "
        "\"x\": \"2\"}}"};
    for (size_t i = 0; i < sizeof dups / sizeof dups[0]; i++) {
        flag_request r;
        fp_error err = {0};
        CHECK_EQ_INT(parse(dups[i], &r, &err), FP_ERR_INPUT);
        CHECK(strstr(err.message, "duplicate") != NULL);
        CHECK(strstr(err.message, "line ") != NULL);
        CHECK(r.root == NULL);
    }
    /* The same document without the duplicate parses. */
    flag_request r;
    const char *once = "{\"category\": \"a\", \"purpose\": \"p\", \"lawful_basis\": \"l\", "
                       "\"consent\": \"given\", \"subject\": {\"role\": \"victim\"}}";
    CHECK_EQ_INT(parse(once, &r, NULL), FP_OK);
    flag_request_free(&r);
}

static void test_non_string_field_values_converted(void)
{
    json_t *root = json_loads(BASE, 0, NULL);
    json_t *fields = json_object_get(root, "fields");
    json_object_set_new(fields, "count", json_integer(42));
    json_object_set_new(fields, "neg", json_integer(-7));
    json_object_set_new(fields, "ratio", json_real(1.5));
    json_object_set_new(fields, "yes", json_true());
    json_object_set_new(fields, "no", json_false());
    char *text = json_dumps(root, 0);
    json_decref(root);
    flag_request r;
    CHECK(accepted(text, &r));
    const char *want[][2] = {{"safe_contact", "mobile only"}, {"count", "42"},
                             {"neg", "-7"},  {"ratio", "1.5"},  {"yes", "true"},
                             {"no", "false"}};
    CHECK_EQ_INT(r.field_count, 6);
    size_t matched = 0;
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        for (size_t j = 0; j < r.field_count; j++)
            if (strcmp(r.fields[j].name, want[i][0]) == 0) {
                CHECK_EQ_STR(r.fields[j].value, want[i][1]);
                matched++;
            }
    CHECK_EQ_INT(matched, 6);
    flag_request_free(&r);
    CHECK(refused_at(field_variant("address", json_null()), "fields.address"));
    CHECK(refused_at(field_variant("address", json_object()), "fields.address"));
    CHECK(refused_at(field_variant("address", json_array()), "fields.address"));
}

static void test_field_size_limits(void)
{
    char *big = malloc(FLAG_MAX_FIELD_BYTES + 2);
    memset(big, 'v', FLAG_MAX_FIELD_BYTES + 1);
    big[FLAG_MAX_FIELD_BYTES] = '\0';
    flag_request r;
    CHECK(accepted(field_variant("notes", json_string(big)), &r));
    CHECK_EQ_INT(strlen(r.fields[0].value) + strlen(r.fields[1].value),
                 FLAG_MAX_FIELD_BYTES + strlen("mobile only"));
    flag_request_free(&r);
    big[FLAG_MAX_FIELD_BYTES] = 'v';
    big[FLAG_MAX_FIELD_BYTES + 1] = '\0';
    fp_error err = {0};
    char *text = field_variant("notes", json_string(big));
    CHECK_EQ_INT(parse(text, &r, &err), FP_ERR_INPUT);
    CHECK(strncmp(err.message, "fields.notes:", 13) == 0);
    CHECK(strstr(err.message, "vvvv") == NULL);   /* never the value */
    free(text);
    free(big);
    /* Field names: 1..63 characters, at most FLAG_MAX_FIELDS fields. */
    char name[65];
    memset(name, 'n', 64);
    name[64] = '\0';
    CHECK(refused_at(field_variant(name, json_string("v")), "fields"));
    name[63] = '\0';
    CHECK(accepted(field_variant(name, json_string("v")), &r));
    flag_request_free(&r);
    CHECK(refused_at(field_variant("", json_string("v")), "fields"));
    json_t *root = json_loads(BASE, 0, NULL);
    json_t *fields = json_object();
    for (int i = 0; i < FLAG_MAX_FIELDS; i++) {
        char n[16];
        snprintf(n, sizeof n, "f%d", i);
        json_object_set_new(fields, n, json_string("v"));
    }
    json_object_set(root, "fields", fields);
    CHECK(accepted(json_dumps(root, 0), &r));
    CHECK_EQ_INT(r.field_count, FLAG_MAX_FIELDS);
    flag_request_free(&r);
    json_object_set_new(fields, "one_too_many", json_string("v"));
    CHECK(refused_at(json_dumps(root, 0), "fields"));
    json_decref(fields);
    json_decref(root);
}

static void test_recipients_rules(void)
{
    CHECK(refused_at(variant("recipients", json_array()), "recipients"));
    json_t *a = json_pack("[s, i]", "idva", 5);
    CHECK(refused_at(variant("recipients", a), "recipients[1]"));
    a = json_pack("[s, s, s]", "idva", "housing", "idva");
    CHECK(refused_at(variant("recipients", a), "recipients[2]"));
    a = json_pack("[s, s]", "idva", "");
    CHECK(refused_at(variant("recipients", a), "recipients[1]"));
    a = json_array();
    for (int i = 0; i <= FLAG_MAX_RECIPIENTS; i++) {
        char n[16];
        snprintf(n, sizeof n, "agency-%d", i);
        json_array_append_new(a, json_string(n));
    }
    CHECK(refused_at(variant("recipients", a), "recipients"));
    a = json_pack("[s, s]", "idva", "housing");
    flag_request r;
    CHECK(accepted(variant("recipients", a), &r));
    CHECK(r.recipients_given);
    CHECK_EQ_INT(r.recipient_count, 2);
    flag_request_free(&r);
    /* null is the same as absent: send to everyone the policy allows. */
    CHECK(accepted(variant("recipients", json_null()), &r));
    CHECK(!r.recipients_given);
    flag_request_free(&r);
}

static void test_restricted_needs_named_agencies(void)
{
    CHECK(refused_at(variant("restricted", json_true()), "named_agencies"));
    json_t *root = json_loads(BASE, 0, NULL);
    json_object_set_new(root, "restricted", json_true());
    json_object_set_new(root, "named_agencies", json_array());
    CHECK(refused_at(json_dumps(root, 0), "named_agencies"));
    json_object_set_new(root, "named_agencies", json_pack("[s, i]", "idva", 3));
    CHECK(refused_at(json_dumps(root, 0), "named_agencies[1]"));
    json_object_set_new(root, "named_agencies", json_pack("[s]", "idva"));
    flag_request r;
    CHECK(accepted(json_dumps(root, 0), &r));
    CHECK(r.restricted);
    CHECK_EQ_INT(r.named_count, 1);
    flag_request_free(&r);
    json_decref(root);
}

static void test_break_glass_needs_justification(void)
{
    CHECK(refused_at(variant("break_glass", json_true()), "justification"));
    json_t *root = json_loads(BASE, 0, NULL);
    json_object_set_new(root, "break_glass", json_true());
    json_object_set_new(root, "justification", json_string("123456789"));   /* 9 */
    CHECK(refused_at(json_dumps(root, 0), "justification"));
    json_object_set_new(root, "justification", json_string(""));
    CHECK(refused_at(json_dumps(root, 0), "justification"));
    json_object_set_new(root, "justification", json_integer(1234567890));
    CHECK(refused_at(json_dumps(root, 0), "justification"));
    json_object_set_new(root, "justification", json_string("1234567890"));   /* 10 */
    flag_request r;
    CHECK(accepted(json_dumps(root, 0), &r));
    CHECK(r.break_glass);
    CHECK_EQ_STR(r.justification, "1234567890");
    flag_request_free(&r);
    /* A justification without break glass is simply carried. */
    json_object_set_new(root, "break_glass", json_false());
    CHECK(accepted(json_dumps(root, 0), &r));
    CHECK(!r.break_glass);
    flag_request_free(&r);
    json_decref(root);
}

static void test_consent_reason_rules(void)
{
    const char *without[] = {"refused_overridden", "not_sought_unsafe", "not_possible"};
    for (size_t i = 0; i < 3; i++)
        CHECK(refused_at(variant("consent", json_string(without[i])), "consent_reason"));
    json_t *root = json_loads(BASE, 0, NULL);
    json_object_set_new(root, "consent", json_string("not_possible"));
    json_object_set_new(root, "consent_reason", json_string(""));
    CHECK(refused_at(json_dumps(root, 0), "consent_reason"));
    json_object_set_new(root, "consent_reason", json_string("unconscious in hospital"));
    flag_request r;
    CHECK(accepted(json_dumps(root, 0), &r));
    CHECK_EQ_STR(r.consent_reason, "unconscious in hospital");
    flag_request_free(&r);
    json_decref(root);
}

static void test_action_rules(void)
{
    CHECK(refused_at(variant("action", json_string("delete")), "action"));
    CHECK(refused_at(variant("action", json_string("")), "action"));
    CHECK(refused_at(variant("action", json_integer(1)), "action"));
    CHECK(refused_at(variant("action", json_string("update")), "flag_id"));
    CHECK(refused_at(variant("flag_id", json_string("00112233445566778899aabbccddeeff")),
                     "flag_id"));
    json_t *root = json_loads(BASE, 0, NULL);
    json_object_set_new(root, "action", json_string("withdraw"));
    json_object_set_new(root, "flag_id", json_string("00112233445566778899aabbccddeeff"));
    CHECK(refused_at(json_dumps(root, 0), "reason"));
    json_object_set_new(root, "reason", json_string(""));
    CHECK(refused_at(json_dumps(root, 0), "reason"));
    json_object_set_new(root, "reason", json_string("shared in error"));
    flag_request r;
    CHECK(accepted(json_dumps(root, 0), &r));
    CHECK_EQ_INT(r.action, FLAG_ACTION_WITHDRAW);
    CHECK_EQ_STR(r.withdraw_reason, "shared in error");
    CHECK_EQ_STR(r.flag_id_hex, "00112233445566778899aabbccddeeff");
    flag_request_free(&r);
    json_object_set_new(root, "action", json_string("publish"));
    CHECK(refused_at(json_dumps(root, 0), "flag_id"));
    json_object_del(root, "flag_id");
    json_object_set_new(root, "action", json_string("publish"));
    CHECK(accepted(json_dumps(root, 0), &r));
    CHECK_EQ_INT(r.action, FLAG_ACTION_PUBLISH);
    flag_request_free(&r);
    json_decref(root);
}

static void test_dates(void)
{
    int64_t t = -1;
    CHECK_EQ_INT(flag_json_parse_date("1970-01-01", &t), FP_OK);
    CHECK_EQ_INT(t, 0);
    CHECK_EQ_INT(flag_json_parse_date("2024-02-29", &t), FP_OK);   /* leap day */
    CHECK_EQ_INT(t, 1709164800);
    CHECK_EQ_INT(flag_json_parse_date("2025-03-01T10:20:30Z", &t), FP_OK);
    CHECK_EQ_INT(t, 1740787200 + 10 * 3600 + 20 * 60 + 30);
    CHECK_EQ_INT(flag_json_parse_date("2025-03-01T10:20:30", &t), FP_OK);
    const char *bad[] = {"", "2025", "2025-03", "01/03/2025", "2025-13-01", "2025-00-10",
                         "2025-01-00", "2025-01-32", "2025-03-01 ", "2025-03-01T",
                         "2025-03-01T25:00:00Z", "2025-03-01T10:00:00+01:00",
                         "2025-03-01Tomorrow", "tomorrow"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = flag_json_parse_date(bad[i], &t);
        if (rc != FP_ERR_INPUT)
            printf("#   date '%s' was accepted\n", bad[i]);
        CHECK_EQ_INT(rc, FP_ERR_INPUT);
    }
    CHECK(refused_at(variant("review_date", json_string("next week")), "review_date"));
    CHECK(refused_at(variant("expires", json_string("2025-13-01")), "expires"));
    CHECK(refused_at(variant("expires", json_integer(20250301)), "expires"));
}

/* Dates outside what the broker and the agents accept are refused where
 * a person types them, with the range in the message. */
static void test_dates_out_of_range(void)
{
    int64_t t = 0;
    CHECK_EQ_INT(flag_json_parse_date("9999-12-31", &t), FP_OK);
    CHECK_EQ_INT(t, TIMEFMT_MAX_S - 86399);
    CHECK_EQ_INT(flag_json_parse_date("9999-12-31T23:59:59Z", &t), FP_OK);
    CHECK_EQ_INT(t, TIMEFMT_MAX_S);
    const char *bad[] = {"1969-12-31", "1969-12-31T23:59:59Z", "0000-01-01", "1900-03-01"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = flag_json_parse_date(bad[i], &t);
        if (rc != FP_ERR_INPUT)
            printf("#   date '%s' was accepted as %lld\n", bad[i], (long long)t);
        CHECK_EQ_INT(rc, FP_ERR_INPUT);
    }
    CHECK(refused_at(variant("review_date", json_string("1960-05-01")), "review_date"));
    CHECK(refused_at(variant("expires", json_string("1969-12-31")), "expires"));
    flag_request r;
    fp_error err = {0};
    char *text = variant("expires", json_string("1969-12-31"));
    CHECK_EQ_INT(parse(text, &r, &err), FP_ERR_INPUT);
    CHECK(strstr(err.message, "from 1970-01-01 to 9999-12-31") != NULL);
    free(text);
}

/* A day that does not exist in its month must be refused, not rolled over
 * into the next month (2025-02-30 would silently become 2 March). */
static void test_dates_refuse_impossible_days(void)
{
    const char *bad[] = {"2025-02-29", "2025-02-30", "2025-02-31", "2025-04-31",
                         "2024-02-30"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t t = 0;
        int rc = flag_json_parse_date(bad[i], &t);
        if (rc != FP_ERR_INPUT)
            printf("#   date '%s' was accepted as %lld\n", bad[i], (long long)t);
        CHECK_EQ_INT(rc, FP_ERR_INPUT);
    }
}

static void test_document_level_errors(void)
{
    flag_request r;
    fp_error err = {0};
    CHECK_EQ_INT(parse("[]", &r, &err), FP_ERR_INPUT);
    CHECK(strstr(err.message, "JSON object") != NULL);
    CHECK_EQ_INT(parse("{\"category\": ", &r, &err), FP_ERR_INPUT);
    CHECK(strstr(err.message, "malformed JSON at line 1") != NULL);
    CHECK_EQ_INT(parse("", &r, &err), FP_ERR_INPUT);
    CHECK_EQ_INT(flag_json_parse("{}", FLAG_MAX_JSON_BYTES + 1, &r, &err), FP_ERR_INPUT);
    CHECK(strstr(err.message, "limit") != NULL);
    CHECK(r.root == NULL);
    /* Length is honoured: trailing bytes past len are not read. */
    char text[sizeof BASE + 8];
    snprintf(text, sizeof text, "%s garbage", BASE);
    CHECK_EQ_INT(flag_json_parse(text, strlen(BASE), &r, &err), FP_OK);
    flag_request_free(&r);
    CHECK_EQ_INT(parse(text, &r, &err), FP_ERR_INPUT);
}

static void test_from_object_reference_counting(void)
{
    json_t *obj = json_loads(BASE, 0, NULL);
    flag_request r;
    CHECK_EQ_INT(flag_json_from_object(obj, &r, NULL), FP_OK);
    CHECK(r.root == obj);
    CHECK_EQ_INT(obj->refcount, 2);
    flag_request_free(&r);
    CHECK_EQ_INT(obj->refcount, 1);
    json_object_del(obj, "purpose");
    fp_error err = {0};
    CHECK_EQ_INT(flag_json_from_object(obj, &r, &err), FP_ERR_INPUT);
    CHECK(r.root == NULL);
    CHECK_EQ_INT(obj->refcount, 1);   /* a refusal gives the reference back */
    json_t *arr = json_array();
    CHECK_EQ_INT(flag_json_from_object(arr, &r, &err), FP_ERR_INPUT);
    CHECK_EQ_INT(arr->refcount, 1);
    json_decref(arr);
    json_decref(obj);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    RUN(test_base_flag_parses);
    RUN(test_full_flag_parses);
    RUN(test_required_keys_named);
    RUN(test_types_and_sizes_named);
    RUN(test_nul_characters_refused);
    RUN(test_unknown_keys_rejected);
    RUN(test_duplicate_keys_rejected);
    RUN(test_non_string_field_values_converted);
    RUN(test_field_size_limits);
    RUN(test_recipients_rules);
    RUN(test_restricted_needs_named_agencies);
    RUN(test_break_glass_needs_justification);
    RUN(test_consent_reason_rules);
    RUN(test_action_rules);
    RUN(test_dates);
    RUN(test_dates_out_of_range);
    RUN(test_dates_refuse_impossible_days);
    RUN(test_document_level_errors);
    RUN(test_from_object_reference_counting);
    return check_summary();
}
