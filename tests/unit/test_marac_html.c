/*
 * Unit tests for the MARAC research pack (cli/marac_html.c) and the CLI's
 * MARAC output (cli/marac_print.c): the pack is well-formed markup (checked
 * by a small XML checker here), self-contained and printable, every value
 * is escaped, each agency's answer sits under its own heading in its own
 * case, and agencies that did not answer are listed; CSV quoting; the
 * respond template keeps drafts marked as drafts.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "marac_html.h"
#include "marac_print.h"

/* ---------------------------------------------------------------- XML checker */

/* Well-formed enough to be parsed as XML: tags balance, attributes are
 * quoted, '&' starts one of the five entities or a numeric reference,
 * '<' only opens markup.  Returns NULL or what is wrong. */
static const char *xml_check(const char *s)
{
    static char why[128];
    char stack[64][32];
    int depth = 0;
    if (strncmp(s, "<!DOCTYPE html>", 15) == 0)
        s += 15;
    for (; *s; s++) {
        if (*s == '&') {
            static const char *const ents[] = {"&amp;", "&lt;", "&gt;", "&quot;", "&#39;"};
            bool ok = false;
            for (size_t i = 0; i < 5 && !ok; i++)
                ok = strncmp(s, ents[i], strlen(ents[i])) == 0;
            if (!ok)
                return "a bare '&'";
            continue;
        }
        if (*s == '>')
            return "a bare '>' in text";
        if (*s != '<')
            continue;
        bool closing = s[1] == '/';
        const char *name = s + (closing ? 2 : 1);
        size_t n = strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789");
        if (n == 0 || n >= 32)
            return "a '<' that opens no tag";
        const char *p = name + n;
        while (*p && *p != '>') {   /* attributes */
            if (*p == '/' && p[1] == '>')
                break;
            if (*p == '=') {
                if (p[1] != '"')
                    return "an unquoted attribute";
                const char *end = strchr(p + 2, '"');
                if (end == NULL || memchr(p + 2, '<', (size_t)(end - p - 2)) != NULL)
                    return "a broken attribute value";
                p = end;
            }
            p++;
        }
        if (*p == '\0')
            return "an unterminated tag";
        bool self = *p == '/';
        if (closing) {
            if (depth == 0 || strncmp(stack[depth - 1], name, n) != 0 ||
                stack[depth - 1][n] != '\0') {
                snprintf(why, sizeof why, "</%.*s> closes <%s>", (int)n, name,
                         depth ? stack[depth - 1] : "(nothing)");
                return why;
            }
            depth--;
        } else if (!self) {
            if (depth == 64)
                return "nesting too deep";
            memcpy(stack[depth], name, n);
            stack[depth++][n] = '\0';
        }
        s = self ? p + 1 : p;
    }
    return depth == 0 ? NULL : "an element left open";
}

/* ---------------------------------------------------------------- fixture */

static json_t *pack_fixture(void)
{
    json_error_t jerr;
    json_t *p = json_loads(
        "{\"conference\": {\"id\": \"hf-2025-06\", \"date\": \"2025-06-10\","
        "                  \"area\": \"Hammersmith & Fulham\", \"deadline\": \"2025-06-06T17:00:00Z\"},"
        " \"coordinator\": {\"id\": \"marac\", \"name\": \"Tri-borough MARAC\"},"
        " \"generated_at\": \"2025-06-09T08:00:00Z\","
        " \"cases\": ["
        "  {\"case_reference\": \"HF-1\","
        "   \"subject\": {\"name\": \"Jane <Example>\", \"dob\": \"1985-03-12\", \"role\": \"victim\"},"
        "   \"referral\": {\"source\": \"met-police\", \"risk\": \"high\", \"dash_score\": 17,"
        "                 \"summary\": \"Said \\\"he'll kill me\\\" & <script>alert(1)</script>\"},"
        "   \"children\": [{\"name\": \"Kid One\", \"age\": \"4\"}], \"children_count\": 1,"
        "   \"repeat\": true, \"repeat_of\": {\"case_reference\": \"HF-0\", \"conference\": \"hf-2025-01\","
        "                \"date\": \"2025-01-14\", \"matched_by\": [\"name_dob\"], \"address_only\": false},"
        "   \"answers\": ["
        "     {\"agency\": \"met-police\", \"agency_name\": \"Metropolitan Police\", \"received_at\": \"x\","
        "      \"late\": false, \"subject_match\": true, \"record_found\": \"yes\","
        "      \"agency_summary\": \"POLICE-SUMMARY three call-outs\"},"
        "     {\"agency\": \"nhs-acute\", \"agency_name\": \"Acute trust\", \"received_at\": \"y\","
        "      \"late\": true, \"subject_match\": true, \"record_found\": \"no\"}"
        "   ],"
        "   \"not_answered\": [{\"agency\": \"idva\", \"agency_name\": \"IDVA service\"}],"
        "   \"history\": [{\"received_at\": \"z\", \"from_name\": \"Metropolitan Police\","
        "                  \"category\": \"da_victim\", \"risk\": \"high\", \"state\": \"active\","
        "                  \"fields\": {\"risk_summary\": \"HISTORY-FIELD\"}}],"
        "   \"actions\": [{\"owner_name\": \"Housing\", \"action\": \"Sanctuary scheme\","
        "                  \"due\": \"2025-06-17\", \"state\": \"sent\"}]},"
        "  {\"case_reference\": \"HF-2\","
        "   \"subject\": {\"name\": \"Ann Other\", \"dob\": \"1990-01-01\"},"
        "   \"referral\": {\"source\": \"idva\"}, \"children\": [], \"children_count\": 0,"
        "   \"repeat\": false,"
        "   \"answers\": ["
        "     {\"agency\": \"idva\", \"agency_name\": \"IDVA service\", \"received_at\": \"w\","
        "      \"late\": false, \"subject_match\": false, \"record_found\": \"yes\","
        "      \"agency_summary\": \"IDVA-SUMMARY engaged\"}"
        "   ], \"not_answered\": [], \"history\": [], \"actions\": []}"
        " ]}",
        0, &jerr);
    if (p == NULL)
        printf("#   fixture: %s at %d\n", jerr.text, jerr.column);
    return p;
}

static char *render(json_t *pack)
{
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    marac_html_pack(mem, pack);
    fclose(mem);
    return text;
}

/* The text of the element that starts at the first occurrence of `start`,
 * up to `end` after it. */
static char *between(const char *doc, const char *start, const char *end)
{
    const char *a = strstr(doc, start);
    if (a == NULL)
        return NULL;
    const char *b = strstr(a, end);
    if (b == NULL)
        return NULL;
    return strndup(a, (size_t)(b - a));
}

static void test_pack_is_well_formed_and_self_contained(void)
{
    json_t *pack = pack_fixture();
    CHECK(pack != NULL);
    char *html = render(pack);
    const char *why = xml_check(html);
    if (why != NULL)
        printf("#   not well-formed: %s\n", why);
    CHECK(why == NULL);
    CHECK(strstr(html, "<script") == NULL);
    CHECK(strstr(html, "http") == NULL);
    CHECK(strstr(html, "<link") == NULL);
    CHECK(strstr(html, "@media print") != NULL);
    CHECK(strstr(html, "page-break-before:always") != NULL);
    /* Everything escaped. */
    CHECK(strstr(html, "&lt;script&gt;alert(1)&lt;/script&gt;") != NULL);
    CHECK(strstr(html, "Jane &lt;Example&gt;") != NULL);
    CHECK(strstr(html, "Hammersmith &amp; Fulham") != NULL);
    CHECK(strstr(html, "he&#39;ll") != NULL);
    CHECK(xml_check("<p>a & b</p>") != NULL);   /* the checker can fail */
    CHECK(xml_check("<p><b>x</p></b>") != NULL);
    free(html);
    json_decref(pack);
}

static void test_each_answer_under_its_agency(void)
{
    json_t *pack = pack_fixture();
    char *html = render(pack);
    char *police = between(html, "id=\"case-HF-1-answer-met-police\"", "</article>");
    char *health = between(html, "id=\"case-HF-1-answer-nhs-acute\"", "</article>");
    char *idva = between(html, "id=\"case-HF-2-answer-idva\"", "</article>");
    CHECK(police != NULL && health != NULL && idva != NULL);
    if (police && health && idva) {
        CHECK(strstr(police, "<h4>Metropolitan Police") != NULL);
        CHECK(strstr(police, "POLICE-SUMMARY") != NULL);
        CHECK(strstr(police, "IDVA-SUMMARY") == NULL);
        CHECK(strstr(health, "<h4>Acute trust") != NULL);
        CHECK(strstr(health, "No record") != NULL);
        CHECK(strstr(health, "after the deadline") != NULL);
        CHECK(strstr(health, "POLICE-SUMMARY") == NULL);
        CHECK(strstr(idva, "<h4>IDVA service") != NULL);
        CHECK(strstr(idva, "IDVA-SUMMARY") != NULL);
        CHECK(strstr(idva, "not the same person") != NULL);   /* subject mismatch warned */
    }
    /* Case 1's section: its non-answering agency, repeat note, children,
     * history; and case 2's answers are not in case 1's section. */
    char *case1 = between(html, "<section class=\"case\" id=\"case-HF-1\"", "</section>");
    CHECK(case1 != NULL);
    if (case1) {
        char *missing = between(case1, "Agencies that did not answer", "</ul>");
        CHECK(missing != NULL && strstr(missing, "IDVA service (idva)") != NULL);
        free(missing);
        CHECK(strstr(case1, "Repeat case") != NULL);
        CHECK(strstr(case1, "HF-0") != NULL);
        CHECK(strstr(case1, "Kid One") != NULL);
        CHECK(strstr(case1, "HISTORY-FIELD") != NULL);
        CHECK(strstr(case1, "Sanctuary scheme") != NULL);
        CHECK(strstr(case1, "IDVA-SUMMARY") == NULL);
    }
    free(case1);
    free(police);
    free(health);
    free(idva);
    free(html);
    json_decref(pack);
}

static void test_stats_csv_quotes(void)
{
    json_t *st = json_pack("{s:i, s:{s:i}, s:{s:{s:i}}, s:{s:i, s:{}}}", "cases_heard", 3,
                           "referral_sources", "police, \"central\"", 2, "equality", "religion",
                           "None", 1, "harmful_practice", "cases", 0, "by_type");
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    marac_print_stats_csv(mem, st);
    fclose(mem);
    CHECK(strncmp(text, "metric,key,value\r\n", 18) == 0);
    CHECK(strstr(text, "cases_heard,,3\r\n") != NULL);
    CHECK(strstr(text, "referral_source,\"police, \"\"central\"\"\",2\r\n") != NULL);
    CHECK(strstr(text, "equality.religion,None,1\r\n") != NULL);
    free(text);
    json_decref(st);
}

static void test_template_keeps_drafts_marked(void)
{
    json_t *inbox = json_pack(
        "{s:[{s:s, s:s, s:b, s:{s:s, s:s}}, {s:s, s:s, s:b}], s:[]}", "requests", "request_id",
        "aa", "case_reference", "HF-1", "answered", 0, "draft", "record_found", "yes",
        "agency_summary", "Held: da_victim flag", "request_id", "bb", "case_reference", "HF-2",
        "answered", 1, "actions");
    json_t *t = marac_inbox_template(inbox);
    json_t *answers = json_object_get(t, "answers");
    CHECK_EQ_INT(json_array_size(answers), 1);   /* answered requests are left out */
    json_t *a = json_array_get(answers, 0);
    CHECK(json_is_true(json_object_get(a, "draft")));
    CHECK_EQ_STR(json_string_value(json_object_get(a, "record_found")), "yes");
    CHECK_EQ_STR(json_string_value(json_object_get(a, "agency_summary")), "Held: da_victim flag");
    CHECK_EQ_STR(json_string_value(json_object_get(a, "request_id")), "aa");
    char left[64];
    marac_time_left(3 * 3600 + 120, left, sizeof left);
    CHECK_EQ_STR(left, "3h 2m left");
    marac_time_left(-90, left, sizeof left);
    CHECK_EQ_STR(left, "overdue by 1m 30s");
    json_decref(t);
    json_decref(inbox);
}

int main(void)
{
    RUN(test_pack_is_well_formed_and_self_contained);
    RUN(test_each_answer_under_its_agency);
    RUN(test_stats_csv_quotes);
    RUN(test_template_keeps_drafts_marked);
    return check_summary();
}
