/*
 * audit_render: text and HTML chronologies.  See audit_render.h.
 *
 * Both say the same things in the same order: a line on what was matched
 * and how, the events in time order with the acting agency and a sentence
 * each, then a table of what each agency did.  The "by agency" columns are
 * the events a review asks about; anything else is counted under "other".
 */
#include "audit_render.h"

#include <inttypes.h>
#include <string.h>
#include <time.h>

#include "audit_cli.h"
#include "audit_html.h"
#include "audit_query.h"

#define DESCRIBE_MAX 1024

static const struct {
    int event;
    const char *heading;
} COLUMNS[] = {
    {FLAGPOST__AUDIT_EVENT__AUDIT_DISCLOSURE, "Shared"},
    {FLAGPOST__AUDIT_EVENT__AUDIT_REFUSAL, "Refused"},
    {FLAGPOST__AUDIT_EVENT__AUDIT_DELIVERY, "Received"},
    {FLAGPOST__AUDIT_EVENT__AUDIT_VIEW, "Viewed"},
    {FLAGPOST__AUDIT_EVENT__AUDIT_ACKNOWLEDGEMENT, "Acknowledged"},
    {FLAGPOST__AUDIT_EVENT__AUDIT_UPDATE, "Updated"},
    {FLAGPOST__AUDIT_EVENT__AUDIT_WITHDRAWAL, "Withdrew"},
    {FLAGPOST__AUDIT_EVENT__AUDIT_BREAK_GLASS, "Break-glass"},
};
#define N_COLUMNS (sizeof COLUMNS / sizeof COLUMNS[0])

static uint64_t other_events(const audit_chronology_agency *a)
{
    uint64_t total = 0;
    for (int e = 0; e < AUDIT_EVENT_MAX; e++)
        total += a->by_event[e];
    for (size_t i = 0; i < N_COLUMNS; i++)
        total -= a->by_event[COLUMNS[i].event];
    return total;
}

static void matched_by(const audit_chronology *c, char *out, size_t n)
{
    size_t k = 0;
    out[0] = '\0';
    for (size_t i = 0; i < c->n_subjects && k < n; i++)
        k += (size_t)snprintf(out + k, n - k, "%s%s", i ? ", " : "",
                              pseudonym_kind_name(c->subjects[i].kind));
}

static void span(const audit_chronology *c, char *out, size_t n)
{
    if (c->n == 0) {
        snprintf(out, n, "no events");
        return;
    }
    char a[32], b[32];
    audit_cli_time(c->items[0].entry->time_ms, a);
    audit_cli_time(c->items[c->n - 1].entry->time_ms, b);
    snprintf(out, n, "%zu event%s from %s to %s", c->n, c->n == 1 ? "" : "s", a, b);
}

void audit_render_chronology_text(FILE *out, const audit_chronology *c, const char *label)
{
    char kinds[128], when[96], text[DESCRIBE_MAX];
    matched_by(c, kinds, sizeof kinds);
    span(c, when, sizeof when);
    fprintf(out, "Chronology of %s: %s (times UTC)\n", label, when);
    fprintf(out, "Matched by the partnership pseudonyms of: %s.  Identifiers are not "
                 "recorded in the audit trail and are not shown here.\n\n",
            kinds);
    fprintf(out, "%-20s  %-7s  %-22s  %s\n", "TIME (UTC)", "ENTRY", "AGENCY", "WHAT HAPPENED");
    for (size_t i = 0; i < c->n; i++) {
        const Flagpost__AuditEntry *e = c->items[i].entry;
        char t[32];
        audit_cli_time(e->time_ms, t);
        audit_entry_describe(e, text, sizeof text);
        const char *who = audit_entry_actor(e);
        fprintf(out, "%-20s  %-7" PRIu64 "  %-22s  %s\n", t, c->items[i].index,
                who != NULL && who[0] ? who : "-", text);
    }
    fprintf(out, "\nBy agency (what each agency did):\n%-22s", "AGENCY");
    for (size_t k = 0; k < N_COLUMNS; k++)
        fprintf(out, " %12s", COLUMNS[k].heading);
    fprintf(out, " %8s\n", "Other");
    for (size_t i = 0; i < c->n_agencies; i++) {
        const audit_chronology_agency *a = &c->agencies[i];
        fprintf(out, "%-22s", a->agency);
        for (size_t k = 0; k < N_COLUMNS; k++)
            fprintf(out, " %12" PRIu64, a->by_event[COLUMNS[k].event]);
        fprintf(out, " %8" PRIu64 "\n", other_events(a));
    }
    if (c->n_agencies == 0)
        fputs("(none)\n", out);
}

static void html_events(FILE *out, const audit_chronology *c)
{
    const char *const head[] = {"Time (UTC)", "Entry", "Agency", "What happened", NULL};
    audit_html_table_begin(out, NULL, head);
    char text[DESCRIBE_MAX], t[32];
    for (size_t i = 0; i < c->n; i++) {
        const Flagpost__AuditEntry *e = c->items[i].entry;
        audit_cli_time(e->time_ms, t);
        audit_entry_describe(e, text, sizeof text);
        audit_html_row_begin(out);
        audit_html_cell(out, t);
        audit_html_cell_u64(out, c->items[i].index);
        audit_html_cell(out, audit_entry_actor(e));
        audit_html_cell(out, text);
        audit_html_row_end(out);
    }
    audit_html_table_end(out);
}

static void html_agencies(FILE *out, const audit_chronology *c)
{
    const char *head[N_COLUMNS + 3];
    head[0] = "Agency";
    for (size_t k = 0; k < N_COLUMNS; k++)
        head[k + 1] = COLUMNS[k].heading;
    head[N_COLUMNS + 1] = "Other";
    head[N_COLUMNS + 2] = NULL;
    audit_html_table_begin(out, NULL, head);
    for (size_t i = 0; i < c->n_agencies; i++) {
        const audit_chronology_agency *a = &c->agencies[i];
        audit_html_row_begin(out);
        audit_html_cell(out, a->agency);
        for (size_t k = 0; k < N_COLUMNS; k++)
            audit_html_cell_u64(out, a->by_event[COLUMNS[k].event]);
        audit_html_cell_u64(out, other_events(a));
        audit_html_row_end(out);
    }
    audit_html_table_end(out);
}

void audit_render_chronology_html(FILE *out, const audit_chronology *c, const char *label)
{
    char kinds[128], when[96], title[256], now[32];
    matched_by(c, kinds, sizeof kinds);
    span(c, when, sizeof when);
    snprintf(title, sizeof title, "Chronology of %s", label);
    audit_cli_time((int64_t)time(NULL) * 1000, now);
    audit_html_begin(out, title);
    fputs("<h1>", out);
    audit_html_text(out, title);
    fputs("</h1>\n<p class=\"meta\">", out);
    audit_html_text(out, when);
    fprintf(out, ". Made %s from the broker's audit trail; all times UTC.</p>\n", now);
    fputs("<p class=\"explain\">Everything the partnership's audit trail records about ", out);
    audit_html_text(out, label);
    fputs(": each flag an agency shared or was refused permission to share, each time "
          "another agency received, viewed or acknowledged it, and its updates, "
          "withdrawal or expiry. The person was found through the partnership's "
          "pseudonyms for their ",
          out);
    audit_html_text(out, kinds);
    fputs(" (the identifiers themselves are never recorded). What was written inside "
          "the flags is not in the audit trail and is not shown.</p>\n",
          out);
    audit_html_section(out, "events", "What happened, in time order",
                       "One row per event. The agency is the one that acted: the sender "
                       "for a disclosure, the receiving agency for a delivery, view or "
                       "acknowledgement.");
    if (c->n == 0)
        fputs("<p class=\"none\">The audit trail records nothing about this subject in "
              "this period.</p>\n",
              out);
    else
        html_events(out, c);
    audit_html_section_end(out);
    audit_html_section(out, "agencies", "What each agency did",
                       "How many times each agency shared, was refused, received, viewed, "
                       "acknowledged, updated or withdrew a flag about this subject.");
    html_agencies(out, c);
    audit_html_section_end(out);
    fputs("<footer><p>Made by <code>flagpost audit chronology</code>. This file is "
          "self-contained: it loads nothing from the network and runs no "
          "scripts.</p></footer>\n",
          out);
    audit_html_end(out);
}
