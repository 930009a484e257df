/*
 * Unit tests for the MARAC logic that needs no running agent: checking a
 * research request file (every error names its field), the pseudonyms a
 * case carries, durations and due dates, action states, and the counts
 * behind `marac stats` (equality fields only ever as aggregates).
 */
#include <sodium.h>
#include <string.h>

#include "check.h"
#include "marac_internal.h"

static unsigned char KEY[32];

static json_t *valid_file(void)
{
    json_error_t jerr;
    json_t *f = json_loads(
        "{\"conference\": {\"date\": \"2025-06-10\", \"area\": \"Hammersmith & Fulham\"},"
        " \"deadline\": \"2025-06-06T17:00:00Z\", \"reminder_before\": \"36h\","
        " \"cases\": ["
        "  {\"case_reference\": \"HF-25-001\","
        "   \"subject\": {\"role\": \"victim\", \"name\": \"Jane Example\", \"dob\": \"12/03/1985\","
        "                \"nhs\": \"943 476 5919\", \"postcode\": \"w6 9lz\","
        "                \"address\": \"Flat 2, 10 Example Road\"},"
        "   \"referral\": {\"source\": \"met-police\", \"risk\": \"high\", \"dash_score\": 17,"
        "                 \"summary\": \"Strangulation last month\"},"
        "   \"children\": [{\"name\": \"A\", \"age\": \"4\"}, {\"name\": \"B\"}],"
        "   \"equality\": {\"ethnicity\": \"Black British\", \"disability\": \"no\"},"
        "   \"harmful_practice\": \"forced_marriage\"},"
        "  {\"case_reference\": \"HF-25-002\","
        "   \"subject\": {\"role\": \"victim\", \"name\": \"Ann Other\", \"dob\": \"1990-01-01\"},"
        "   \"referral\": {\"source\": \"idva\"}, \"children_count\": 3}"
        " ]}",
        0, &jerr);
    return f;
}

static int parse(json_t *file, json_t **conf, json_t **cases, fp_error *err)
{
    return marac_request_parse(file, KEY, 1700000000000LL, conf, cases, err);
}

static void test_request_parses_and_normalises(void)
{
    json_t *file = valid_file(), *conf, *cases;
    fp_error err = {0};
    CHECK_EQ_INT(parse(file, &conf, &cases, &err), FP_OK);
    CHECK_EQ_STR(mj_str(conf, "id"), "2025-06-10-hammersmith-fulham");
    CHECK_EQ_INT(mj_int(conf, "deadline_ms"), 1749229200000LL);
    CHECK_EQ_INT(mj_int(conf, "reminder_ms"), 1749229200000LL - 36 * 3600 * 1000LL);
    CHECK(mj_str(conf, "questions") != NULL);
    CHECK_EQ_INT(json_array_size(cases), 2);
    json_t *c0 = json_array_get(cases, 0), *c1 = json_array_get(cases, 1);
    CHECK_EQ_STR(mj_str(c0, "consent"), "not_sought_unsafe");
    CHECK(mj_str(c0, "consent_reason") != NULL);
    CHECK_EQ_STR(mj_str(json_object_get(c0, "referral"), "risk"), "high");
    CHECK_EQ_STR(mj_str(json_object_get(c1, "referral"), "risk"), "high");   /* default */
    CHECK_EQ_INT(mj_int(c0, "children_count"), 2);
    CHECK_EQ_INT(mj_int(c1, "children_count"), 3);
    CHECK_EQ_STR(mj_str(json_object_get(c0, "equality"), "ethnicity"), "Black British");
    /* NHS, name+dob and postcode: three pseudonyms; the second case one. */
    pseudonym ps[PSEUDONYM_MAX];
    CHECK_EQ_INT(marac_case_pseudonyms(c0, ps), 3);
    CHECK_EQ_INT(ps[0].kind, PSEUDONYM_KIND_NHS);
    CHECK_EQ_INT(marac_case_pseudonyms(c1, ps), 1);
    /* The same person written differently gives the same name+dob pseudonym. */
    subject_identifiers other = {.name = "JANE  EXAMPLE", .dob = "1985-03-12"};
    pseudonym again[PSEUDONYM_MAX], first[PSEUDONYM_MAX];
    size_t n = 0;
    CHECK_EQ_INT(pseudonym_derive(KEY, &other, "x", again, &n, NULL), FP_OK);
    marac_case_pseudonyms(c0, first);
    CHECK(memcmp(again[0].value, first[1].value, PSEUDONYM_LEN) == 0);
    json_decref(file);
    json_decref(conf);
    json_decref(cases);
}

/* Apply a JSON-pointer-ish edit, parse, and expect an error mentioning
 * `needle`. */
static void expect_error(const char *label, void (*edit)(json_t *), const char *needle)
{
    json_t *file = valid_file(), *conf, *cases;
    edit(file);
    fp_error err = {0};
    int rc = parse(file, &conf, &cases, &err);
    if (rc != FP_ERR_INPUT || strstr(err.message, needle) == NULL)
        printf("#   %s: rc %d, message \"%s\" (wanted \"%s\")\n", label, rc, err.message,
               needle);
    CHECK_EQ_INT(rc, FP_ERR_INPUT);
    CHECK(strstr(err.message, needle) != NULL);
    CHECK(strstr(err.message, "Jane") == NULL);   /* never a value in a message */
    json_decref(file);
    json_decref(conf);
    json_decref(cases);
}

static json_t *case0(json_t *f)
{
    return json_array_get(json_object_get(f, "cases"), 0);
}

static void bad_nhs(json_t *f)
{
    json_object_set_new(json_object_get(case0(f), "subject"), "nhs", json_string("9434765918"));
}
static void no_source(json_t *f)
{
    json_object_del(json_object_get(case0(f), "referral"), "source");
}
static void dup_ref(json_t *f)
{
    json_object_set_new(json_array_get(json_object_get(f, "cases"), 1), "case_reference",
                        json_string("HF-25-001"));
}
static void unknown_key(json_t *f)
{
    json_object_set_new(case0(f), "recipients", json_string("everyone"));
}
static void late_deadline(json_t *f)
{
    json_object_set_new(f, "deadline", json_string("2025-06-12"));
}
static void equality_extra(json_t *f)
{
    json_object_set_new(json_object_get(case0(f), "equality"), "immigration_status",
                        json_string("x"));
}
static void bad_practice(json_t *f)
{
    json_object_set_new(case0(f), "harmful_practice", json_string("breast_ironing_typo"));
}
static void no_dob(json_t *f)
{
    json_object_del(json_object_get(case0(f), "subject"), "dob");
}
static void bad_role(json_t *f)
{
    json_object_set_new(json_object_get(case0(f), "subject"), "role", json_string("address"));
}
static void bad_dash(json_t *f)
{
    json_object_set_new(json_object_get(case0(f), "referral"), "dash_score", json_integer(28));
}
static void bad_duration(json_t *f)
{
    json_object_set_new(f, "reminder_before", json_string("a day"));
}
static void bad_ref(json_t *f)
{
    json_object_set_new(case0(f), "case_reference", json_string("HF 25"));
}

static void test_request_errors_name_the_field(void)
{
    expect_error("nhs", bad_nhs, "cases[0].subject.nhs");
    expect_error("source", no_source, "cases[0].referral.source");
    expect_error("duplicate", dup_ref, "cases[1].case_reference");
    expect_error("unknown", unknown_key, "recipients");
    expect_error("deadline", late_deadline, "deadline");
    expect_error("equality", equality_extra, "immigration_status");
    expect_error("practice", bad_practice, "cases[0].harmful_practice");
    expect_error("dob", no_dob, "cases[0].subject.dob");
    expect_error("role", bad_role, "cases[0].subject.role");
    expect_error("dash", bad_dash, "dash_score");
    expect_error("duration", bad_duration, "reminder_before");
    expect_error("ref", bad_ref, "cases[0].case_reference");
}

static void test_durations_and_due_dates(void)
{
    int64_t ms = 0;
    CHECK_EQ_INT(marac_parse_duration("90s", &ms), FP_OK);
    CHECK_EQ_INT(ms, 90000);
    CHECK_EQ_INT(marac_parse_duration("24h", &ms), FP_OK);
    CHECK_EQ_INT(ms, 86400000);
    CHECK_EQ_INT(marac_parse_duration("2d", &ms), FP_OK);
    CHECK_EQ_INT(ms, 172800000);
    CHECK_EQ_INT(marac_parse_duration("0s", &ms), FP_OK);
    CHECK_EQ_INT(ms, 0);
    CHECK(marac_parse_duration("24", &ms) != FP_OK);
    CHECK(marac_parse_duration("-1h", &ms) != FP_OK);
    CHECK(marac_parse_duration("1hx", &ms) != FP_OK);
    /* A date means the end of that day; an instant is exact, with or
     * without milliseconds. */
    CHECK_EQ_INT(marac_parse_due("2025-06-17", &ms), FP_OK);
    CHECK_EQ_INT(ms, 1750204799999LL);
    CHECK_EQ_INT(marac_parse_due("2025-06-17T09:30:00Z", &ms), FP_OK);
    CHECK_EQ_INT(ms, 1750152600000LL);
    CHECK_EQ_INT(marac_parse_due("2025-06-17T09:30:00.250Z", &ms), FP_OK);
    CHECK_EQ_INT(ms, 1750152600000LL);
    CHECK(marac_parse_due("17/06/2025", &ms) != FP_OK);
    CHECK(marac_parse_due("2025-02-30", &ms) != FP_OK);
}

static void test_action_states(void)
{
    json_t *a = json_pack("{s:I}", "due_ms", (json_int_t)1000);
    CHECK_EQ_STR(marac_action_state(a, 500), "sent");
    mj_set_int(a, "ack_ms", 600);
    CHECK_EQ_STR(marac_action_state(a, 700), "acknowledged");
    CHECK_EQ_STR(marac_action_state(a, 1001), "overdue");
    mj_set_int(a, "done_ms", 900);
    CHECK_EQ_STR(marac_action_state(a, 5000), "done");
    mj_set_int(a, "done_ms", 1500);
    CHECK_EQ_STR(marac_action_state(a, 5000), "done-late");
    json_object_set_new(a, "refused", json_object());
    CHECK_EQ_STR(marac_action_state(a, 5000), "refused");
    json_decref(a);
}

static void test_stats_count_cases_and_actions(void)
{
    json_t *file = valid_file(), *conf, *cases;
    CHECK_EQ_INT(parse(file, &conf, &cases, NULL), FP_OK);
    json_t *st = marac_stats_new();
    json_t *repeat = json_pack("{s:s, s:b}", "case_reference", "OLD-1", "address_only", 0);
    json_t *acts = json_pack("[{s:I, s:I}, {s:I, s:I}, {s:I}, {s:I, s:{}}]", "due_ms",
                             (json_int_t)1000, "done_ms", (json_int_t)900, "due_ms",
                             (json_int_t)1000, "done_ms", (json_int_t)1200, "due_ms",
                             (json_int_t)1000, "due_ms", (json_int_t)1000, "refused");
    marac_stats_add_case(st, json_array_get(cases, 0), repeat, acts, 2000);
    marac_stats_add_case(st, json_array_get(cases, 1), NULL, NULL, 2000);
    marac_stats_finish(st);
    CHECK_EQ_INT(mj_int(st, "cases_heard"), 2);
    CHECK_EQ_INT(mj_int(st, "repeat_cases"), 1);
    CHECK(json_real_value(json_object_get(st, "repeat_rate_percent")) == 50.0);
    CHECK_EQ_INT(mj_int(st, "children"), 5);
    CHECK_EQ_INT(mj_int(st, "cases_with_children"), 2);
    json_t *src = json_object_get(st, "referral_sources");
    CHECK_EQ_INT(mj_int(src, "met-police"), 1);
    CHECK_EQ_INT(mj_int(src, "idva"), 1);
    json_t *hp = json_object_get(st, "harmful_practice");
    CHECK_EQ_INT(mj_int(hp, "cases"), 1);
    CHECK_EQ_INT(mj_int(json_object_get(hp, "by_type"), "forced_marriage"), 1);
    json_t *eq = json_object_get(st, "equality");
    CHECK_EQ_INT(mj_int(json_object_get(eq, "ethnicity"), "Black British"), 1);
    CHECK_EQ_INT(mj_int(json_object_get(st, "equality_recorded"), "ethnicity"), 1);
    CHECK(json_object_get(eq, "religion") == NULL);
    json_t *a = json_object_get(st, "actions");
    CHECK_EQ_INT(mj_int(a, "total"), 4);
    CHECK_EQ_INT(mj_int(a, "completed"), 2);
    CHECK_EQ_INT(mj_int(a, "completed_on_time"), 1);
    CHECK_EQ_INT(mj_int(a, "completed_late"), 1);
    CHECK_EQ_INT(mj_int(a, "overdue"), 1);
    CHECK_EQ_INT(mj_int(a, "refused"), 1);
    /* on time out of the three that were really sent */
    CHECK(json_real_value(json_object_get(a, "on_time_rate_percent")) == 33.3);
    /* An address-only link is a possible repeat, not a repeat. */
    json_t *st2 = marac_stats_new();
    json_t *maybe = json_pack("{s:b}", "address_only", 1);
    marac_stats_add_case(st2, json_array_get(cases, 1), maybe, NULL, 0);
    CHECK_EQ_INT(mj_int(st2, "repeat_cases"), 0);
    CHECK_EQ_INT(mj_int(st2, "possible_repeats_by_address"), 1);
    /* No names or identifiers anywhere in the counts. */
    char *text = json_dumps(st, 0);
    CHECK(strstr(text, "Jane") == NULL && strstr(text, "9434765919") == NULL);
    free(text);
    json_decref(maybe);
    json_decref(st2);
    json_decref(acts);
    json_decref(repeat);
    json_decref(st);
    json_decref(file);
    json_decref(conf);
    json_decref(cases);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    memset(KEY, 0x42, sizeof KEY);
    RUN(test_request_parses_and_normalises);
    RUN(test_request_errors_name_the_field);
    RUN(test_durations_and_due_dates);
    RUN(test_action_states);
    RUN(test_stats_count_cases_and_actions);
    return check_summary();
}
