/*
 * marac_print: tables and CSV for `flagpost marac`.  See marac_print.h.
 *
 * Tables size their columns to the widest cell so they line up in a
 * terminal and in a fixed-width email; cells never carry a field value
 * the command was not asked for (the status table shows who answered,
 * never what they said).
 */
#include "marac_print.h"

#include <stdbool.h>
#include <string.h>

static const char *str(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static const char *or_dash(const char *s)
{
    return s != NULL && s[0] ? s : "-";
}

void marac_time_left(int64_t s, char *out, size_t n)
{
    bool past = s < 0;
    int64_t a = past ? -s : s;
    char body[48];
    if (a >= 86400)
        snprintf(body, sizeof body, "%lldd %lldh", (long long)(a / 86400),
                 (long long)(a % 86400 / 3600));
    else if (a >= 3600)
        snprintf(body, sizeof body, "%lldh %lldm", (long long)(a / 3600),
                 (long long)(a % 3600 / 60));
    else if (a >= 60)
        snprintf(body, sizeof body, "%lldm %llds", (long long)(a / 60), (long long)(a % 60));
    else
        snprintf(body, sizeof body, "%llds", (long long)a);
    snprintf(out, n, past ? "overdue by %s" : "%s left", body);
}

/* ---------------------------------------------------------------- request */

void marac_print_request(FILE *out, json_t *reply)
{
    json_t *cases = json_object_get(reply, "cases");
    fprintf(out, "Conference %s (%s, %s): %zu case%s; research due %s\n",
            or_dash(str(reply, "conference")), or_dash(str(reply, "date")),
            or_dash(str(reply, "area")), json_array_size(cases),
            json_array_size(cases) == 1 ? "" : "s", or_dash(str(reply, "deadline")));
    fprintf(out, "%-24s %-13s %-7s %s\n", "CASE", "STATUS", "REPEAT", "ASKED");
    size_t i;
    json_t *c;
    json_array_foreach(cases, i, c) {
        json_t *rep = json_object_get(c, "repeat_of");
        const char *repeat = json_is_true(json_object_get(c, "repeat")) ? "repeat"
                             : rep != NULL                               ? "address?"
                                                                         : "-";
        fprintf(out, "%-24s %-13s %-7s", or_dash(str(c, "case_reference")),
                or_dash(str(c, "status")), repeat);
        size_t j;
        json_t *a;
        json_array_foreach(json_object_get(c, "agencies"), j, a) {
            fprintf(out, "%s%s", j ? "," : " ", json_string_value(a));
        }
        fputc('\n', out);
    }
}

/* ---------------------------------------------------------------- status */

static size_t widest(json_t *agencies, size_t floor)
{
    size_t w = floor, i;
    json_t *a;
    json_array_foreach(agencies, i, a) {
        if (json_string_length(a) > w)
            w = json_string_length(a);
    }
    return w;
}

static void status_header(FILE *out, json_t *status)
{
    json_t *c = json_object_get(status, "conference"), *s = json_object_get(status, "summary");
    char left[64];
    marac_time_left(json_integer_value(json_object_get(c, "time_left_s")), left, sizeof left);
    fprintf(out, "Conference %s  %s  %s\n", or_dash(str(c, "id")), or_dash(str(c, "date")),
            or_dash(str(c, "area")));
    fprintf(out, "Research deadline %s (%s)\n", or_dash(str(c, "deadline")), left);
    if (str(c, "reminded_at") != NULL) {
        fprintf(out, "Reminder sent %s to:", str(c, "reminded_at"));
        size_t i;
        json_t *a;
        json_array_foreach(json_object_get(c, "reminded"), i, a) {
            fprintf(out, " %s", json_string_value(a));
        }
        if (json_array_size(json_object_get(c, "reminded")) == 0)
            fputs(" nobody (every agency had answered)", out);
        fputc('\n', out);
    } else if (str(c, "reminder_at") != NULL) {
        fprintf(out, "Reminder due %s\n", str(c, "reminder_at"));
    }
    fprintf(out, "Answers received %lld of %lld\n\n",
            (long long)json_integer_value(json_object_get(s, "answers_received")),
            (long long)json_integer_value(json_object_get(s, "answers_expected")));
}

static void status_actions(FILE *out, json_t *status)
{
    json_t *acts = json_object_get(status, "actions"), *s = json_object_get(status, "summary");
    if (json_array_size(acts) == 0)
        return;
    fprintf(out, "\nActions: %lld open, %lld overdue\n",
            (long long)json_integer_value(json_object_get(s, "actions_open")),
            (long long)json_integer_value(json_object_get(s, "actions_overdue")));
    fprintf(out, "%-20s %3s  %-20s %-26s %-12s %s\n", "CASE", "#", "OWNER", "DUE", "STATE",
            "ACTION ID");
    size_t i;
    json_t *a;
    json_array_foreach(acts, i, a) {
        fprintf(out, "%-20s %3lld  %-20s %-26s %-12s %s\n", or_dash(str(a, "case_reference")),
                (long long)json_integer_value(json_object_get(a, "seq")),
                or_dash(str(a, "owner")), or_dash(str(a, "due")), or_dash(str(a, "state")),
                or_dash(str(a, "action_id")));
    }
}

void marac_print_status(FILE *out, json_t *status)
{
    json_t *agencies = json_object_get(status, "agencies");
    status_header(out, status);
    int w = (int)widest(agencies, 11);
    fprintf(out, "%-20s %-8s", "CASE", "REPEAT");
    size_t i, j;
    json_t *a, *c;
    json_array_foreach(agencies, i, a) fprintf(out, " %-*s", w, json_string_value(a));
    fputc('\n', out);
    json_array_foreach(json_object_get(status, "cases"), i, c) {
        json_t *rep = json_object_get(c, "repeat_of");
        fprintf(out, "%-20s %-8s", or_dash(str(c, "case_reference")),
                json_is_true(json_object_get(c, "repeat")) ? "repeat"
                : rep != NULL                               ? "address?"
                                                            : "-");
        json_t *cells = json_object_get(c, "answers");
        json_array_foreach(agencies, j, a) {
            fprintf(out, " %-*s", w, or_dash(str(cells, json_string_value(a))));
        }
        fputc('\n', out);
    }
    status_actions(out, status);
}

void marac_print_conferences(FILE *out, json_t *reply)
{
    fprintf(out, "%-32s %-10s %-26s %5s  %s\n", "CONFERENCE", "DATE", "DEADLINE", "CASES",
            "AREA");
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(reply, "conferences"), i, c) {
        fprintf(out, "%-32s %-10s %-26s %5lld  %s\n", or_dash(str(c, "id")),
                or_dash(str(c, "date")), or_dash(str(c, "deadline")),
                (long long)json_integer_value(json_object_get(c, "cases")),
                or_dash(str(c, "area")));
    }
}

void marac_print_actions(FILE *out, json_t *reply)
{
    fprintf(out, "Conference %s\n%-20s %3s  %-20s %-13s %s\n", or_dash(str(reply, "conference")),
            "CASE", "#", "OWNER", "STATUS", "ACTION ID");
    size_t i;
    json_t *a;
    json_array_foreach(json_object_get(reply, "actions"), i, a) {
        fprintf(out, "%-20s %3lld  %-20s %-13s %s\n", or_dash(str(a, "case_reference")),
                (long long)json_integer_value(json_object_get(a, "seq")),
                or_dash(str(a, "owner")), or_dash(str(a, "status")), or_dash(str(a, "action_id")));
    }
}

/* ---------------------------------------------------------------- member side */

static void first_line(const char *s, char *out, size_t n)
{
    snprintf(out, n, "%s", s ? s : "-");
    char *nl = strchr(out, '\n');
    if (nl != NULL)
        *nl = '\0';
}

void marac_print_inbox(FILE *out, json_t *inbox)
{
    json_t *reqs = json_object_get(inbox, "requests"), *acts = json_object_get(inbox, "actions");
    fprintf(out, "Research requests: %zu\n", json_array_size(reqs));
    size_t i;
    json_t *r;
    json_array_foreach(reqs, i, r) {
        json_t *s = json_object_get(r, "subject"), *d = json_object_get(r, "draft");
        char left[64] = "-";
        if (json_object_get(r, "time_left_s") != NULL)
            marac_time_left(json_integer_value(json_object_get(r, "time_left_s")), left,
                            sizeof left);
        fprintf(out, "\n  case %s from %s (conference %s)\n", or_dash(str(r, "case_reference")),
                or_dash(str(r, "coordinator_name")), or_dash(str(r, "conference_date")));
        fprintf(out, "    request   %s%s\n", or_dash(str(r, "request_id")),
                json_is_true(json_object_get(r, "answered")) ? "  (answered)" : "");
        fprintf(out, "    subject   %s, born %s (%s)\n", or_dash(str(s, "name")),
                or_dash(str(s, "dob")), or_dash(str(r, "role")));
        fprintf(out, "    address   %s\n", or_dash(str(s, "address")));
        fprintf(out, "    due       %s (%s)%s\n", or_dash(str(r, "deadline")), left,
                str(r, "reminded_at") ? "  REMINDED" : "");
        fprintf(out, "    draft     record found: %s (%zu flag%s held or sent)\n",
                or_dash(str(d, "record_found")), json_array_size(json_object_get(d, "matches")),
                json_array_size(json_object_get(d, "matches")) == 1 ? "" : "s");
    }
    fprintf(out, "\nActions: %zu\n", json_array_size(acts));
    json_array_foreach(acts, i, r) {
        char line[160];
        first_line(str(r, "action"), line, sizeof line);
        fprintf(out, "  %s  case %s  %s  %s\n", or_dash(str(r, "action_id")),
                or_dash(str(r, "case_reference")), or_dash(str(r, "state")), line);
    }
}

json_t *marac_inbox_template(json_t *inbox)
{
    json_t *answers = json_array();
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(inbox, "requests"), i, r) {
        if (json_is_true(json_object_get(r, "answered")))
            continue;
        json_t *d = json_object_get(r, "draft");
        json_t *a = json_pack("{s:s, s:s, s:b}", "request_id", or_dash(str(r, "request_id")),
                              "case_reference", or_dash(str(r, "case_reference")), "draft", 1);
        json_t *s = json_object_get(r, "subject");
        if (s != NULL)
            json_object_set(a, "subject", s);
        json_object_set_new(a, "record_found", json_string(str(d, "record_found") ? str(d,
                                                           "record_found") : "no"));
        json_object_set_new(a, "agency_summary",
                            json_string(str(d, "agency_summary") ? str(d, "agency_summary")
                                                                 : ""));
        json_object_set_new(a, "risk_indicators", json_string(""));
        json_object_set_new(a, "children_known", json_string(""));
        json_array_append_new(answers, a);
    }
    return json_pack("{s:o}", "answers", answers);
}

void marac_print_respond(FILE *out, json_t *reply)
{
    fprintf(out, "%-24s %-9s %-5s %s\n", "CASE", "STATUS", "LATE", "ANSWER ID");
    size_t i;
    json_t *a;
    json_array_foreach(json_object_get(reply, "answers"), i, a) {
        fprintf(out, "%-24s %-9s %-5s %s\n", or_dash(str(a, "case_reference")),
                or_dash(str(a, "status")), json_is_true(json_object_get(a, "late")) ? "yes" : "no",
                or_dash(str(a, "answer_id")));
    }
}

/* ---------------------------------------------------------------- stats */

static long long num(json_t *o, const char *key)
{
    return (long long)json_integer_value(json_object_get(o, key));
}

static void print_tally(FILE *out, const char *title, json_t *obj)
{
    fprintf(out, "%s\n", title);
    if (json_object_size(obj) == 0)
        fputs("  none recorded\n", out);
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v) fprintf(out, "  %-34s %lld\n", k,
                                           (long long)json_integer_value(v));
}

void marac_print_stats(FILE *out, json_t *st)
{
    fprintf(out, "MARAC counts, %s to %s\n", str(st, "from") ? str(st, "from") : "the start",
            str(st, "to") ? str(st, "to") : "today");
    fprintf(out, "  %-34s %lld\n", "conferences", num(st, "conferences"));
    fprintf(out, "  %-34s %lld\n", "cases heard", num(st, "cases_heard"));
    json_t *rate = json_object_get(st, "repeat_rate_percent");
    fprintf(out, "  %-34s %lld", "repeat cases (within 12 months)", num(st, "repeat_cases"));
    if (json_is_number(rate))
        fprintf(out, " (%.1f%%)", json_number_value(rate));
    fprintf(out, "\n  %-34s %lld\n", "possible repeats (postcode only)",
            num(st, "possible_repeats_by_address"));
    fprintf(out, "  %-34s %lld (in %lld cases)\n", "children in the households",
            num(st, "children"), num(st, "cases_with_children"));
    json_t *hp = json_object_get(st, "harmful_practice");
    fprintf(out, "  %-34s %lld\n", "harmful practice cases", num(hp, "cases"));
    print_tally(out, "Referral sources", json_object_get(st, "referral_sources"));
    print_tally(out, "Harmful practice by type", json_object_get(hp, "by_type"));
    fputs("Equality monitoring (where recorded)\n", out);
    const char *field;
    json_t *tally;
    json_object_foreach(json_object_get(st, "equality"), field, tally) {
        const char *k;
        json_t *v;
        json_object_foreach(tally, k, v) fprintf(out, "  %-16s %-17s %lld\n", field, k,
                                                 (long long)json_integer_value(v));
    }
    json_t *a = json_object_get(st, "actions");
    json_t *on_time = json_object_get(a, "on_time_rate_percent");
    fprintf(out, "Actions: %lld, completed %lld (on time %lld, late %lld), overdue %lld, "
                 "open %lld, refused %lld",
            num(a, "total"), num(a, "completed"), num(a, "completed_on_time"),
            num(a, "completed_late"), num(a, "overdue"), num(a, "open"), num(a, "refused"));
    if (json_is_number(on_time))
        fprintf(out, "; %.1f%% completed on time", json_number_value(on_time));
    fputc('\n', out);
}

static void csv_field(FILE *out, const char *s)
{
    if (strpbrk(s, ",\"\r\n") == NULL) {
        fputs(s, out);
        return;
    }
    fputc('"', out);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', out);
        fputc(*s, out);
    }
    fputc('"', out);
}

static void csv_row(FILE *out, const char *metric, const char *key, json_t *v)
{
    csv_field(out, metric);
    fputc(',', out);
    csv_field(out, key);
    if (json_is_integer(v))
        fprintf(out, ",%lld\r\n", (long long)json_integer_value(v));
    else if (json_is_real(v))
        fprintf(out, ",%.1f\r\n", json_real_value(v));
    else
        fputs(",\r\n", out);
}

static void csv_tally(FILE *out, const char *metric, json_t *obj)
{
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v) csv_row(out, metric, k, v);
}

void marac_print_stats_csv(FILE *out, json_t *st)
{
    fputs("metric,key,value\r\n", out);
    static const char *const plain[] = {"conferences", "cases_heard", "repeat_cases",
                                        "repeat_rate_percent", "possible_repeats_by_address",
                                        "children", "cases_with_children", NULL};
    for (size_t i = 0; plain[i] != NULL; i++)
        csv_row(out, plain[i], "", json_object_get(st, plain[i]));
    json_t *hp = json_object_get(st, "harmful_practice");
    csv_row(out, "harmful_practice_cases", "", json_object_get(hp, "cases"));
    csv_tally(out, "harmful_practice", json_object_get(hp, "by_type"));
    csv_tally(out, "referral_source", json_object_get(st, "referral_sources"));
    const char *field;
    json_t *tally;
    json_object_foreach(json_object_get(st, "equality"), field, tally) {
        char metric[64];
        snprintf(metric, sizeof metric, "equality.%s", field);
        csv_tally(out, metric, tally);
    }
    csv_tally(out, "actions", json_object_get(st, "actions"));
}
