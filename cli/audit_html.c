/*
 * audit_html: self-contained HTML and inline SVG for the audit documents.
 * See audit_html.h.
 *
 * Charts are horizontal bars because their labels (agency pairs, rule ids)
 * are long and a reader compares lengths more easily than angles.  Bar
 * lengths are scaled to the largest value; every bar also carries its
 * number, and the same numbers follow in a table, so nothing depends on
 * judging a length or on colour.
 */
#include "audit_html.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define CHART_WIDTH 760
#define LABEL_WIDTH 280
#define BAR_AREA 400
#define ROW_HEIGHT 26
#define LABEL_MAX 42

void audit_html_text(FILE *out, const char *s)
{
    if (s == NULL)
        return;
    for (; *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", out); break;
        case '<': fputs("&lt;", out); break;
        case '>': fputs("&gt;", out); break;
        case '"': fputs("&quot;", out); break;
        case '\'': fputs("&#39;", out); break;
        default:
            /* Control characters have no place in a report (and are not
             * well-formed XML); show them as a visible mark. */
            if ((unsigned char)*s < 0x20 && *s != '\n' && *s != '\t')
                fputs("\xef\xbf\xbd", out);
            else
                fputc(*s, out);
        }
    }
}

static const char STYLE[] =
    "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif;"
    "color:#1a202c;background:#fff;margin:0;line-height:1.45}"
    "main{max-width:60rem;margin:0 auto;padding:1.5rem}"
    "h1{font-size:1.6rem;margin:0 0 .3rem}"
    "h2{font-size:1.25rem;margin:2rem 0 .3rem;border-bottom:2px solid #2b6cb0;"
    "padding-bottom:.2rem}"
    "p.explain{color:#2d3748;margin:.2rem 0 .8rem;max-width:48rem}"
    "p.meta{color:#4a5568;font-size:.9rem;margin:.1rem 0}"
    "table{border-collapse:collapse;margin:.6rem 0 1rem;font-size:.9rem}"
    "caption{text-align:left;font-weight:600;padding:.2rem 0}"
    "th,td{border:1px solid #cbd5e0;padding:.25rem .5rem;text-align:left;"
    "vertical-align:top}"
    "th{background:#edf2f7}td.num{text-align:right;font-variant-numeric:tabular-nums}"
    ".cards{display:flex;flex-wrap:wrap;gap:.6rem;margin:1rem 0}"
    ".card{border:1px solid #cbd5e0;border-radius:.4rem;padding:.5rem .8rem;min-width:8rem}"
    ".card b{display:block;font-size:1.4rem}"
    "svg{display:block;max-width:100%;height:auto}"
    "details{margin:.2rem 0 1rem}summary{cursor:pointer;color:#2b6cb0}"
    ".none{color:#4a5568;font-style:italic}"
    "footer{margin-top:2.5rem;color:#4a5568;font-size:.85rem}"
    "@media print{details{display:block}summary{display:none}h2{break-after:avoid}"
    "section{break-inside:avoid}}";

void audit_html_begin(FILE *out, const char *title)
{
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n"
          "<title>",
          out);
    audit_html_text(out, title);
    fprintf(out, "</title>\n<style>%s</style>\n</head>\n<body>\n<main>\n", STYLE);
}

void audit_html_end(FILE *out)
{
    fputs("</main>\n</body>\n</html>\n", out);
}

void audit_html_section(FILE *out, const char *id, const char *heading,
                        const char *explanation)
{
    fprintf(out, "<section id=\"%s\">\n<h2>", id);
    audit_html_text(out, heading);
    fputs("</h2>\n", out);
    if (explanation != NULL) {
        fputs("<p class=\"explain\">", out);
        audit_html_text(out, explanation);
        fputs("</p>\n", out);
    }
}

void audit_html_section_end(FILE *out)
{
    fputs("</section>\n", out);
}

void audit_html_para(FILE *out, const char *text)
{
    fputs("<p>", out);
    audit_html_text(out, text);
    fputs("</p>\n", out);
}

/* Copy label into buf, shortened to LABEL_MAX characters (UTF-8 aware)
 * with an ellipsis; the full text is in the table. */
static void short_label(const char *label, char *buf, size_t n)
{
    size_t chars = 0, i = 0;
    for (; label[i] && i + 4 < n; i++) {
        if (((unsigned char)label[i] & 0xc0) != 0x80 && ++chars > LABEL_MAX)
            break;
        buf[i] = label[i];
    }
    buf[i] = '\0';
    if (label[i] != '\0' && i + 4 <= n)
        strcat(buf, "\xe2\x80\xa6");
}

static void svg_row(FILE *out, size_t row, const char *label, uint64_t v, uint64_t max)
{
    char text[4 * LABEL_MAX + 8];
    short_label(label, text, sizeof text);
    unsigned y = (unsigned)(row * ROW_HEIGHT);
    unsigned w = max > 0 ? (unsigned)((double)v / (double)max * BAR_AREA) : 0;
    if (v > 0 && w < 2)
        w = 2;
    fprintf(out, "<text x=\"%d\" y=\"%u\" text-anchor=\"end\" font-size=\"12\" "
                 "fill=\"#1a202c\">",
            LABEL_WIDTH - 8, y + 17);
    audit_html_text(out, text);
    fprintf(out, "</text>\n<rect x=\"%d\" y=\"%u\" width=\"%u\" height=\"%d\" rx=\"2\" "
                 "fill=\"#2b6cb0\"/>\n",
            LABEL_WIDTH, y + 5, w, ROW_HEIGHT - 8);
    fprintf(out, "<text x=\"%u\" y=\"%u\" font-size=\"12\" fill=\"#1a202c\">%" PRIu64
                 "</text>\n",
            LABEL_WIDTH + w + 6, y + 17, v);
}

void audit_html_bar_chart(FILE *out, const char *caption, const audit_html_bar *bars,
                          size_t n, size_t max_rows, const char *label_heading,
                          const char *unit)
{
    if (n == 0) {
        fputs("<p class=\"none\">None in this period.</p>\n", out);
        return;
    }
    size_t shown = n > max_rows ? max_rows : n;
    uint64_t others = 0, max = 0;
    for (size_t i = 0; i < n; i++) {
        if (i < shown && bars[i].value > max)
            max = bars[i].value;
        if (i >= shown)
            others += bars[i].value;
    }
    if (others > max)
        max = others;
    size_t rows = shown + (others > 0);
    fprintf(out, "<svg role=\"img\" width=\"%d\" "
                 "height=\"%zu\" viewBox=\"0 0 %d %zu\">\n<title>",
            CHART_WIDTH, rows * ROW_HEIGHT + 4, CHART_WIDTH, rows * ROW_HEIGHT + 4);
    audit_html_text(out, caption);
    fputs("</title>\n", out);
    for (size_t i = 0; i < shown; i++)
        svg_row(out, i, bars[i].label, bars[i].value, max);
    if (others > 0)
        svg_row(out, shown, "all others", others, max);
    fputs("</svg>\n<details>\n<summary>The numbers</summary>\n", out);
    const char *const head[] = {label_heading, unit, NULL};
    audit_html_table_begin(out, caption, head);
    for (size_t i = 0; i < n; i++) {
        audit_html_row_begin(out);
        audit_html_cell(out, bars[i].label);
        audit_html_cell_u64(out, bars[i].value);
        audit_html_row_end(out);
    }
    audit_html_table_end(out);
    fputs("</details>\n", out);
}

void audit_html_tally_chart(FILE *out, const char *caption, const audit_tally *t,
                            const char *label_heading, const char *unit)
{
    audit_html_bar *bars = t->n ? calloc(t->n, sizeof *bars) : NULL;
    char **labels = t->n ? calloc(t->n, sizeof *labels) : NULL;
    if (t->n > 0 && (bars == NULL || labels == NULL)) {
        free(bars);
        free(labels);
        fputs("<p class=\"none\">(out of memory drawing this chart)</p>\n", out);
        return;
    }
    for (size_t i = 0; i < t->n; i++) {
        const char *key = t->rows[i].key, *sep = strchr(key, AUDIT_PAIR_SEP);
        if (sep != NULL) {
            size_t len = strlen(key) + 8;
            labels[i] = malloc(len);
            if (labels[i] != NULL)
                snprintf(labels[i], len, "%.*s \xe2\x86\x92 %s", (int)(sep - key), key,
                         sep + 1);
        }
        bars[i].label = labels[i] != NULL ? labels[i] : key;
        bars[i].value = t->rows[i].count;
    }
    audit_html_bar_chart(out, caption, bars, t->n, 15, label_heading, unit);
    for (size_t i = 0; i < t->n; i++)
        free(labels[i]);
    free(labels);
    free(bars);
}

void audit_html_table_begin(FILE *out, const char *caption, const char *const *headings)
{
    fputs("<table>\n", out);
    if (caption != NULL) {
        fputs("<caption>", out);
        audit_html_text(out, caption);
        fputs("</caption>\n", out);
    }
    fputs("<thead><tr>", out);
    for (size_t i = 0; headings[i] != NULL; i++) {
        fputs("<th scope=\"col\">", out);
        audit_html_text(out, headings[i]);
        fputs("</th>", out);
    }
    fputs("</tr></thead>\n<tbody>\n", out);
}

void audit_html_row_begin(FILE *out)
{
    fputs("<tr>", out);
}

void audit_html_cell(FILE *out, const char *text)
{
    fputs("<td>", out);
    audit_html_text(out, text);
    fputs("</td>", out);
}

void audit_html_cell_u64(FILE *out, uint64_t v)
{
    fprintf(out, "<td class=\"num\">%" PRIu64 "</td>", v);
}

void audit_html_row_end(FILE *out)
{
    fputs("</tr>\n", out);
}

void audit_html_table_end(FILE *out)
{
    fputs("</tbody>\n</table>\n", out);
}

void audit_html_duration(int64_t ms, char *out, size_t n)
{
    int64_t s = ms / 1000;
    if (s < 60)
        snprintf(out, n, "%lld s", (long long)s);
    else if (s < 3600)
        snprintf(out, n, "%lld min", (long long)(s / 60));
    else if (s < 86400)
        snprintf(out, n, "%lld h %lld min", (long long)(s / 3600),
                 (long long)(s % 3600 / 60));
    else
        snprintf(out, n, "%lld day%s %lld h", (long long)(s / 86400),
                 s / 86400 == 1 ? "" : "s", (long long)(s % 86400 / 3600));
}
