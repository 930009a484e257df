/*
 * marac_html: render the research pack.  See marac_html.h.
 *
 * Written for the people at the conference table: the referral first, then
 * what each agency found in its own words under its own name, then who did
 * not answer (so the chair can ask in the room), then the flags already
 * shared about the person.  Missing values are shown as "not recorded",
 * never left blank, so a gap is visibly a gap.
 */
#include "marac_html.h"

#include <stdbool.h>
#include <string.h>

#include "audit_html.h"

static const char STYLE[] =
    "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif;"
    "color:#1a202c;background:#fff;margin:0;line-height:1.45}"
    "main{max-width:60rem;margin:0 auto;padding:1.5rem}"
    "h1{font-size:1.6rem;margin:.2rem 0}h2{font-size:1.3rem;border-bottom:2px solid #2b4c7e;"
    "padding-bottom:.2rem;margin-top:0}h3{font-size:1.05rem;margin:1.2rem 0 .4rem;"
    "color:#2b4c7e}h4{font-size:1rem;margin:0 0 .3rem}"
    ".marking{font-weight:700;letter-spacing:.05em;color:#9b2c2c}"
    ".case{border-top:1px solid #cbd5e0;padding-top:1rem;margin-top:2rem}"
    ".answer{border:1px solid #cbd5e0;border-radius:4px;padding:.6rem .8rem;margin:.5rem 0}"
    ".answer.none{background:#f7fafc}.late{color:#9b2c2c;font-weight:600}"
    ".repeat{background:#fefcbf;border-left:4px solid #d69e2e;padding:.4rem .6rem}"
    ".warn{background:#fed7d7;border-left:4px solid #c53030;padding:.4rem .6rem}"
    "dl{display:grid;grid-template-columns:12rem 1fr;gap:.2rem .8rem;margin:.3rem 0}"
    "dt{font-weight:600}dd{margin:0;white-space:pre-wrap}"
    "table{border-collapse:collapse;width:100%;margin:.3rem 0}"
    "th,td{border:1px solid #cbd5e0;padding:.25rem .45rem;text-align:left;"
    "vertical-align:top;font-size:.92rem}th{background:#edf2f7}"
    ".muted{color:#4a5568}"
    "@media print{main{max-width:none;padding:0}.case{page-break-before:always;"
    "break-before:page;border-top:none;margin-top:0}.answer{break-inside:avoid}"
    "body{font-size:10.5pt}a{color:inherit;text-decoration:none}}";

static const char *str(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static void text_or(FILE *out, const char *s, const char *missing)
{
    if (s != NULL && s[0])
        audit_html_text(out, s);
    else
        fprintf(out, "<span class=\"muted\">%s</span>", missing);
}

static void item(FILE *out, const char *label, const char *value)
{
    fprintf(out, "<dt>%s</dt><dd>", label);
    text_or(out, value, "not recorded");
    fputs("</dd>", out);
}

static void header(FILE *out, json_t *pack)
{
    json_t *conf = json_object_get(pack, "conference");
    json_t *coord = json_object_get(pack, "coordinator");
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"/>"
          "<title>MARAC research pack ",
          out);
    audit_html_text(out, str(conf, "id"));
    fprintf(out, "</title><style>%s</style></head><body><main>\n", STYLE);
    fputs("<header><p class=\"marking\">OFFICIAL-SENSITIVE: MARAC. For the conference "
          "only; do not copy or forward.</p><h1>MARAC research pack</h1><dl>",
          out);
    item(out, "Conference", str(conf, "id"));
    item(out, "Area", str(conf, "area"));
    item(out, "Date", str(conf, "date"));
    item(out, "Research deadline", str(conf, "deadline"));
    item(out, "Prepared by", str(coord, "name"));
    item(out, "Generated", str(pack, "generated_at"));
    fputs("</dl>\n", out);
}

static void case_anchor(FILE *out, json_t *c, const char *suffix)
{
    fputs("case-", out);
    audit_html_text(out, str(c, "case_reference"));
    if (suffix != NULL)
        fputs(suffix, out);
}

static void index_table(FILE *out, json_t *cases)
{
    fputs("<h2>Cases</h2><table><thead><tr><th>Case</th><th>Subject</th><th>Repeat</th>"
          "<th>Answers</th><th>Not answered</th></tr></thead><tbody>\n",
          out);
    size_t i;
    json_t *c;
    json_array_foreach(cases, i, c) {
        fputs("<tr><td><a href=\"#", out);
        case_anchor(out, c, NULL);
        fputs("\">", out);
        audit_html_text(out, str(c, "case_reference"));
        fputs("</a></td><td>", out);
        text_or(out, str(json_object_get(c, "subject"), "name"), "not recorded");
        fprintf(out, "</td><td>%s</td><td>%zu</td><td>%zu</td></tr>\n",
                json_is_true(json_object_get(c, "repeat")) ? "yes" : "no",
                json_array_size(json_object_get(c, "answers")),
                json_array_size(json_object_get(c, "not_answered")));
    }
    fputs("</tbody></table></header>\n", out);
}

static void repeat_note(FILE *out, json_t *c)
{
    json_t *r = json_object_get(c, "repeat_of");
    if (r == NULL)
        return;
    bool address = json_is_true(json_object_get(r, "address_only"));
    fprintf(out, "<p class=\"repeat\"><strong>%s</strong> ",
            address ? "Possible repeat (same postcode only): check." : "Repeat case:");
    fputs("heard as case ", out);
    audit_html_text(out, str(r, "case_reference"));
    fputs(" at conference ", out);
    audit_html_text(out, str(r, "conference"));
    fputs(" on ", out);
    audit_html_text(out, str(r, "date"));
    fputs(" (matched by ", out);
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(r, "matched_by"), i, v) {
        if (i)
            fputs(", ", out);
        audit_html_text(out, json_string_value(v));
    }
    fputs(").</p>\n", out);
}

static void referral(FILE *out, json_t *c)
{
    json_t *s = json_object_get(c, "subject"), *r = json_object_get(c, "referral");
    fputs("<h3>Subject</h3><dl>", out);
    item(out, "Name", str(s, "name"));
    item(out, "Date of birth", str(s, "dob"));
    item(out, "Role", str(s, "role"));
    item(out, "NHS number", str(s, "nhs"));
    item(out, "Address", str(s, "address"));
    item(out, "Postcode", str(s, "postcode"));
    fputs("</dl><h3>Referral</h3><dl>", out);
    item(out, "Referred by", str(r, "source"));
    item(out, "Referral date", str(r, "date"));
    item(out, "Risk", str(r, "risk"));
    char dash[16] = "";
    if (json_is_integer(json_object_get(r, "dash_score")))
        snprintf(dash, sizeof dash, "%lld",
                 (long long)json_integer_value(json_object_get(r, "dash_score")));
    item(out, "DASH score", dash);
    item(out, "Referral criteria", str(r, "criteria"));
    item(out, "Harmful practice", str(c, "harmful_practice"));
    item(out, "Referrer's summary", str(r, "summary"));
    fputs("</dl>\n", out);
}

static void children(FILE *out, json_t *c)
{
    json_t *kids = json_object_get(c, "children");
    long long count = (long long)json_integer_value(json_object_get(c, "children_count"));
    fprintf(out, "<h3>Children in the household (%lld)</h3>", count);
    if (json_array_size(kids) == 0) {
        fputs(count ? "<p class=\"muted\">Details not recorded.</p>\n"
                    : "<p class=\"muted\">None recorded in the referral.</p>\n",
              out);
        return;
    }
    fputs("<table><thead><tr><th>Name</th><th>Date of birth</th><th>Age</th>"
          "<th>Relationship</th></tr></thead><tbody>",
          out);
    size_t i;
    json_t *k;
    json_array_foreach(kids, i, k) {
        static const char *const cols[] = {"name", "dob", "age", "relationship"};
        fputs("<tr>", out);
        for (size_t j = 0; j < 4; j++) {
            fputs("<td>", out);
            text_or(out, str(k, cols[j]), "-");
            fputs("</td>", out);
        }
        fputs("</tr>", out);
    }
    fputs("</tbody></table>\n", out);
}

static void answer(FILE *out, json_t *c, json_t *a)
{
    const char *found = str(a, "record_found");
    bool none = found != NULL && strcmp(found, "no") == 0;
    fprintf(out, "<article class=\"answer%s\" id=\"", none ? " none" : "");
    case_anchor(out, c, "-answer-");
    audit_html_text(out, str(a, "agency"));
    fputs("\"><h4>", out);
    audit_html_text(out, str(a, "agency_name"));
    fputs(" <span class=\"muted\">(", out);
    audit_html_text(out, str(a, "agency"));
    fputs(")</span></h4><p class=\"muted\">Answered ", out);
    audit_html_text(out, str(a, "received_at"));
    if (json_is_true(json_object_get(a, "late")))
        fputs(" <span class=\"late\">after the deadline</span>", out);
    fputs("</p>", out);
    if (!json_is_true(json_object_get(a, "subject_match")))
        fputs("<p class=\"warn\">This answer names this case but not the same person "
              "(no identifier matches): check with the agency before relying on it.</p>",
              out);
    fputs("<dl>", out);
    item(out, "Record found", found == NULL ? NULL : none ? "No record" : "Yes");
    if (!none || str(a, "agency_summary") != NULL)
        item(out, "Summary", str(a, "agency_summary"));
    if (!none || str(a, "risk_indicators") != NULL)
        item(out, "Risk indicators", str(a, "risk_indicators"));
    if (!none || str(a, "children_known") != NULL)
        item(out, "Children known", str(a, "children_known"));
    fputs("</dl></article>\n", out);
}

static void not_answered(FILE *out, json_t *c)
{
    json_t *list = json_object_get(c, "not_answered");
    fputs("<h3>Agencies that did not answer</h3>", out);
    if (json_array_size(list) == 0) {
        fputs("<p class=\"muted\">Every agency asked has answered.</p>\n", out);
        return;
    }
    fputs("<ul>", out);
    size_t i;
    json_t *a;
    json_array_foreach(list, i, a) {
        fputs("<li>", out);
        audit_html_text(out, str(a, "agency_name"));
        fputs(" (", out);
        audit_html_text(out, str(a, "agency"));
        fputs(")</li>", out);
    }
    fputs("</ul>\n", out);
}

static void history(FILE *out, json_t *c)
{
    json_t *list = json_object_get(c, "history");
    fputs("<h3>Flag history held by the coordinator</h3>", out);
    if (json_array_size(list) == 0) {
        fputs("<p class=\"muted\">No other flags on this person.</p>\n", out);
        return;
    }
    fputs("<table><thead><tr><th>Received</th><th>From</th><th>Flag</th><th>Risk</th>"
          "<th>State</th><th>Details</th></tr></thead><tbody>",
          out);
    size_t i;
    json_t *f;
    json_array_foreach(list, i, f) {
        static const char *const cols[] = {"received_at", "from_name", "category", "risk",
                                           "state"};
        fputs("<tr>", out);
        for (size_t j = 0; j < 5; j++) {
            fputs("<td>", out);
            text_or(out, str(f, cols[j]), "-");
            fputs("</td>", out);
        }
        fputs("<td><dl>", out);
        const char *k;
        json_t *v;
        json_object_foreach(json_object_get(f, "fields"), k, v) {
            fputs("<dt>", out);
            audit_html_text(out, k);
            fputs("</dt><dd>", out);
            audit_html_text(out, json_string_value(v));
            fputs("</dd>", out);
        }
        fputs("</dl></td></tr>", out);
    }
    fputs("</tbody></table>\n", out);
}

static void actions(FILE *out, json_t *c)
{
    json_t *list = json_object_get(c, "actions");
    if (json_array_size(list) == 0)
        return;
    fputs("<h3>Actions</h3><table><thead><tr><th>Owner</th><th>Action</th><th>Due</th>"
          "<th>State</th></tr></thead><tbody>",
          out);
    size_t i;
    json_t *a;
    json_array_foreach(list, i, a) {
        static const char *const cols[] = {"owner_name", "action", "due", "state"};
        fputs("<tr>", out);
        for (size_t j = 0; j < 4; j++) {
            fputs("<td>", out);
            text_or(out, str(a, cols[j]), "-");
            fputs("</td>", out);
        }
        fputs("</tr>", out);
    }
    fputs("</tbody></table>\n", out);
}

static void one_case(FILE *out, json_t *c)
{
    fputs("<section class=\"case\" id=\"", out);
    case_anchor(out, c, NULL);
    fputs("\"><h2>Case ", out);
    audit_html_text(out, str(c, "case_reference"));
    fputs(": ", out);
    text_or(out, str(json_object_get(c, "subject"), "name"), "name not recorded");
    fputs("</h2>\n", out);
    repeat_note(out, c);
    referral(out, c);
    children(out, c);
    fputs("<h3>Agency research</h3>\n", out);
    size_t i;
    json_t *a;
    json_array_foreach(json_object_get(c, "answers"), i, a) answer(out, c, a);
    if (json_array_size(json_object_get(c, "answers")) == 0)
        fputs("<p class=\"muted\">No agency has answered yet.</p>\n", out);
    not_answered(out, c);
    history(out, c);
    actions(out, c);
    fputs("</section>\n", out);
}

void marac_html_pack(FILE *out, json_t *pack)
{
    json_t *cases = json_object_get(pack, "cases");
    header(out, pack);
    index_table(out, cases);
    size_t i;
    json_t *c;
    json_array_foreach(cases, i, c) one_case(out, c);
    fputs("</main></body></html>\n", out);
}
