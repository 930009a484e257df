/*
 * audit_html: the building blocks of the audit HTML documents (the IG
 * report and the subject chronology): one self-contained page with its
 * CSS inline, no scripts, no fonts, no images or links that leave the
 * file, and bar charts drawn as inline SVG, so the file opens the same in
 * any browser, offline, years later.
 *
 * Every string that comes from the audit trail goes through
 * audit_html_text(), which escapes & < > " and '.  The markup is also
 * well-formed XML (every element closed, attributes quoted, only the five
 * XML entities), so it can be checked mechanically.
 */
#ifndef FLAGPOST_AUDIT_HTML_H
#define FLAGPOST_AUDIT_HTML_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "audit_stats.h"

void audit_html_text(FILE *out, const char *s);
void audit_html_begin(FILE *out, const char *title);
void audit_html_end(FILE *out);

/* <section> with a heading and the plain-English explanation under it;
 * close with audit_html_section_end(). */
void audit_html_section(FILE *out, const char *id, const char *heading,
                        const char *explanation);
void audit_html_section_end(FILE *out);
/* A paragraph of plain text (escaped). */
void audit_html_para(FILE *out, const char *text);

typedef struct audit_html_bar {
    const char *label;
    uint64_t value;
} audit_html_bar;

/* A horizontal bar chart (inline SVG) of up to `max_rows` bars, the rest
 * summed into "all others"; followed by the same numbers as a table for
 * screen readers and for copying.  `unit` names what is counted. */
void audit_html_bar_chart(FILE *out, const char *caption, const audit_html_bar *bars,
                          size_t n, size_t max_rows, const char *label_heading,
                          const char *unit);
/* The same from a sorted tally; pair keys (sender SEP recipient) are shown
 * as "sender → recipient". */
void audit_html_tally_chart(FILE *out, const char *caption, const audit_tally *t,
                            const char *label_heading, const char *unit);

/* Simple tables: begin with the column headings (NULL-terminated), then
 * rows of cells. */
void audit_html_table_begin(FILE *out, const char *caption, const char *const *headings);
void audit_html_row_begin(FILE *out);
void audit_html_cell(FILE *out, const char *text);
void audit_html_cell_u64(FILE *out, uint64_t v);
void audit_html_row_end(FILE *out);
void audit_html_table_end(FILE *out);

/* "3 h 20 min", "2 days 4 h", "45 s": a delay for people. */
void audit_html_duration(int64_t ms, char *out, size_t n);

#endif
