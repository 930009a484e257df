/*
 * cmd_audit_report: `flagpost audit report --data DIR --html FILE`.
 *
 * One pass of audit_stats over the entries of the period, then one HTML
 * file: a summary, then a section per question an IG lead or a partnership
 * board asks, each with a plain-English heading, a few sentences saying
 * how to read it, a chart and the numbers.  Nothing in it needs JavaScript
 * or the network (see audit_html.h).
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit_cli.h"
#include "audit_cmds.h"
#include "audit_html.h"
#include "audit_query.h"
#include "audit_stats.h"
#include "commands.h"

static void usage(FILE *out)
{
    fputs("usage: flagpost audit report --data DIR --html FILE [--from DATE] [--to DATE]\n"
          "                             [--title TEXT]\n"
          "\n"
          "Write the information governance report as one self-contained HTML file: who\n"
          "shared with whom, refusals by rule, lawful bases, consent, views, time to\n"
          "acknowledge, flags withdrawn and expired, and break-glass disclosures to review.\n"
          "\n"
          "  --data DIR     the broker's data directory (read only)\n"
          "  --html FILE    where to write the report (replaced atomically, mode 0600)\n"
          "  --from DATE    first day (YYYY-MM-DD, UTC) or time to include\n"
          "  --to DATE      last day (included) or time\n"
          "  --title TEXT   heading, e.g. the partnership's name\n"
          "  --help         this text\n",
          out);
}

struct report {
    const char *data, *html, *from, *to, *title;
    audit_filter filter;
    audit_stats stats;
    uint64_t log_size;
    unsigned char root[32];
    int failed;                  /* counting ran out of memory */
};

static int count(void *ctx, uint64_t index, const Flagpost__AuditEntry *e)
{
    struct report *r = ctx;
    r->failed = audit_stats_add(&r->stats, index, e, NULL) != FP_OK;
    return r->failed;
}

static void card(FILE *out, const char *label, uint64_t v)
{
    fprintf(out, "<div class=\"card\"><b>%" PRIu64 "</b>", v);
    audit_html_text(out, label);
    fputs("</div>\n", out);
}

static void period_text(const struct report *r, char *out, size_t n)
{
    char a[32], b[32];
    if (r->from == NULL && r->to == NULL) {
        snprintf(out, n, "the whole audit trail");
        return;
    }
    snprintf(a, sizeof a, "%s", r->from != NULL ? r->from : "the start");
    snprintf(b, sizeof b, "%s", r->to != NULL ? r->to : "now");
    snprintf(out, n, "%s to %s (UTC, both days included)", a, b);
}

static void summary(FILE *out, const struct report *r)
{
    const audit_stats *s = &r->stats;
    char period[96], root[65], now[32];
    period_text(r, period, sizeof period);
    audit_cli_hex(r->root, 32, root, sizeof root);
    audit_cli_time((int64_t)time(NULL) * 1000, now);
    fputs("<h1>", out);
    audit_html_text(out, r->title != NULL ? r->title : "Information sharing audit report");
    fputs("</h1>\n<p class=\"meta\">Period: ", out);
    audit_html_text(out, period);
    fprintf(out, ". Made %s from the broker's audit trail.</p>\n", now);
    fputs("<div class=\"cards\">\n", out);
    card(out, "entries in the period", s->entries);
    card(out, "disclosures allowed", s->by_event[FLAGPOST__AUDIT_EVENT__AUDIT_DISCLOSURE]);
    card(out, "disclosures refused", s->by_event[FLAGPOST__AUDIT_EVENT__AUDIT_REFUSAL]);
    card(out, "flags viewed", s->by_event[FLAGPOST__AUDIT_EVENT__AUDIT_VIEW]);
    card(out, "acknowledgements", s->by_event[FLAGPOST__AUDIT_EVENT__AUDIT_ACKNOWLEDGEMENT]);
    card(out, "break-glass disclosures", s->n_breaks);
    fputs("</div>\n<p class=\"explain\">", out);
    fprintf(out,
            "The audit trail held %" PRIu64 " entries in all when this report was made; "
            "the hash of all of them (its root) is <code>%s</code>. To check that no entry "
            "has been changed or removed since, run <code>flagpost audit verify</code> "
            "with the partnership CA bundle.</p>\n",
            r->log_size, root);
}

static void section_tally(FILE *out, const char *id, const char *heading,
                          const char *explain, const audit_tally *t, const char *caption,
                          const char *label, const char *unit)
{
    audit_html_section(out, id, heading, explain);
    audit_html_tally_chart(out, caption, t, label, unit);
    audit_html_section_end(out);
}

static void section_ack(FILE *out, const audit_stats *s)
{
    audit_html_section(
        out, "acknowledgement", "How quickly flags were acknowledged",
        "Some flags need the receiving agency to confirm that it has acted on them. This is "
        "the time from a flag reaching an agency (or being shared with it, where delivery "
        "was not recorded in the period) to that agency's acknowledgement. Flags that did "
        "not need acknowledging are not counted.");
    static const struct {
        const char *label;
        int64_t upto_ms;
    } buckets[] = {{"within 1 hour", 3600000LL},        {"1 to 4 hours", 4 * 3600000LL},
                   {"4 to 24 hours", 24 * 3600000LL},   {"1 to 3 days", 72 * 3600000LL},
                   {"3 to 7 days", 168 * 3600000LL},    {"more than 7 days", INT64_MAX}};
    audit_html_bar bars[6];
    size_t k = 0;
    for (size_t b = 0; b < 6; b++) {
        bars[b].label = buckets[b].label;
        bars[b].value = 0;
        for (; k < s->n_ack && s->ack_ms[k] < buckets[b].upto_ms; k++)
            bars[b].value++;
    }
    if (s->n_ack == 0) {
        fputs("<p class=\"none\">No acknowledgements in this period.</p>\n", out);
    } else {
        char median[48], p90[48], text[256];
        audit_html_duration(audit_stats_ack_percentile(s, 50), median, sizeof median);
        audit_html_duration(audit_stats_ack_percentile(s, 90), p90, sizeof p90);
        snprintf(text, sizeof text,
                 "%zu acknowledgements. Half came within %s; nine in ten within %s.",
                 s->n_ack, median, p90);
        audit_html_para(out, text);
        audit_html_bar_chart(out, "Time from delivery to acknowledgement", bars, 6, 6,
                             "Time taken", "Acknowledgements");
    }
    audit_html_section_end(out);
}

static void section_removed(FILE *out, const audit_stats *s)
{
    audit_html_section(
        out, "removed", "Flags withdrawn and expired",
        "A withdrawn flag was taken back by the agency that sent it, for example because it "
        "was recorded in error or is no longer accurate. An expired flag reached the end of "
        "the time the agreement lets agencies keep it. Each flag counts once, under the "
        "agency that sent it; it was removed from every agency that held it, and it stays "
        "in the audit trail.");
    audit_html_tally_chart(out, "Flags withdrawn, by the agency that sent them", &s->withdrawn,
                           "Agency", "Flags withdrawn");
    audit_html_tally_chart(out, "Flags expired, by the agency that sent them", &s->expired,
                           "Agency", "Flags expired");
    audit_html_section_end(out);
}

static void section_break_glass(FILE *out, const audit_stats *s)
{
    audit_html_section(
        out, "break-glass", "Break-glass disclosures to review",
        "A break-glass disclosure is an emergency disclosure, for example to protect someone's "
        "life, that the agreement allows only with a written justification. Each one below "
        "should be reviewed by the information governance lead: was it necessary, and was "
        "only what was needed shared?");
    if (s->n_breaks == 0) {
        fputs("<p class=\"none\">None in this period.</p>\n", out);
    } else {
        const char *const head[] = {"Entry", "Time (UTC)", "From",          "To",
                                    "Category", "Lawful basis", "Justification", NULL};
        audit_html_table_begin(out, NULL, head);
        for (size_t i = 0; i < s->n_breaks; i++) {
            const audit_break_glass *b = &s->breaks[i];
            char when[32];
            audit_cli_time(b->time_ms, when);
            audit_html_row_begin(out);
            audit_html_cell_u64(out, b->index);
            audit_html_cell(out, when);
            audit_html_cell(out, b->sender);
            audit_html_cell(out, b->recipient);
            audit_html_cell(out, b->category);
            audit_html_cell(out, b->lawful_basis);
            audit_html_cell(out, b->reason[0] ? b->reason : "(none recorded)");
            audit_html_row_end(out);
        }
        audit_html_table_end(out);
    }
    audit_html_section_end(out);
}

static void write_report(FILE *out, const struct report *r)
{
    const audit_stats *s = &r->stats;
    audit_html_begin(out, r->title != NULL ? r->title : "Information sharing audit report");
    summary(out, r);
    section_tally(out, "pairs", "Who shared with whom",
                  "Each bar is one pair of agencies: the first shared flags with the second "
                  "and the information sharing agreement allowed it. A flag shared with three "
                  "agencies counts once for each of them.",
                  &s->pairs, "Disclosures allowed, by sending and receiving agency",
                  "From \xe2\x86\x92 to", "Disclosures");
    section_tally(out, "refusals", "Disclosures refused, and the rule that refused them",
                  "When the agreement does not allow a disclosure the broker refuses it and "
                  "records the rule that decided. \"Default deny\" means that no rule allowed "
                  "it. Refusals show the agreement being enforced; many under one rule may "
                  "mean agencies need something the agreement does not yet cover.",
                  &s->refusal_rules, "Refusals by rule", "Rule", "Refusals");
    section_tally(out, "bases", "Lawful bases relied on",
                  "The legal basis the sending agency recorded for each disclosure that was "
                  "allowed, for example public task or vital interests.",
                  &s->bases, "Disclosures allowed, by lawful basis", "Lawful basis",
                  "Disclosures");
    section_tally(out, "consent", "Consent",
                  "Whether the person had consented to each allowed disclosure, had refused, "
                  "or was not asked (with the reason recorded by the sending agency).",
                  &s->consent, "Disclosures allowed, by consent state", "Consent state",
                  "Disclosures");
    section_tally(out, "views", "Who viewed flags",
                  "Each time a practitioner opened a flag that another agency had shared, "
                  "their agency recorded a view. Counted by the agency that viewed.",
                  &s->views, "Views, by the agency that viewed", "Agency", "Views");
    section_ack(out, s);
    section_removed(out, s);
    section_break_glass(out, s);
    fputs("<footer><p>Made by <code>flagpost audit report</code>. All times are UTC. This "
          "file is self-contained: it loads nothing from the network and runs no "
          "scripts.</p></footer>\n",
          out);
    audit_html_end(out);
}

static int parse(int argc, char **argv, struct report *r)
{
    static const struct option opts[] = {
        {"data", required_argument, NULL, 'd'}, {"html", required_argument, NULL, 'o'},
        {"from", required_argument, NULL, 'f'}, {"to", required_argument, NULL, 't'},
        {"title", required_argument, NULL, 'T'}, {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'd': r->data = optarg; break;
        case 'o': r->html = optarg; break;
        case 'f': r->from = optarg; break;
        case 't': r->to = optarg; break;
        case 'T': r->title = optarg; break;
        case 'h': usage(stdout); return -1;
        default: usage(stderr); return CLI_USAGE;
        }
    }
    if (r->data == NULL || r->html == NULL || optind != argc)
        return audit_cli_usage("report", "--data DIR and --html FILE are required");
    fp_error err;
    if ((r->from && audit_time_parse(r->from, false, &r->filter.from_ms, "--from", &err)) ||
        (r->to && audit_time_parse(r->to, true, &r->filter.to_ms, "--to", &err)))
        return audit_cli_fail("report", &err);
    return CLI_OK;
}

int cmd_audit_report(int argc, char **argv)
{
    struct report r;
    memset(&r, 0, sizeof r);
    audit_filter_init(&r.filter);
    int status = parse(argc, argv, &r);
    if (status != CLI_OK)
        return status < 0 ? CLI_OK : status;
    fp_error err;
    audit_cli_store st;
    if (audit_cli_open(r.data, &st, &err) != FP_OK)
        return audit_cli_fail("report", &err);
    audit_stats_init(&r.stats);
    r.log_size = st.size;
    int rc = audit_log_root(st.log, st.txn, st.size, r.root, &err);
    if (rc == FP_OK)
        rc = audit_query_run(st.log, st.txn, 0, &r.filter, count, &r, &err);
    if (rc == FP_OK && r.failed)
        rc = fp_error_set(&err, FP_ERR_IO, "out of memory counting the audit entries");
    audit_cli_close(&st);
    audit_cli_buffer buf;
    if (rc == FP_OK && (rc = audit_cli_buffer_open(&buf, &err)) == FP_OK) {
        audit_stats_finish(&r.stats);
        write_report(buf.f, &r);
        rc = audit_cli_buffer_save(&buf, r.html, &err);
    }
    audit_stats_free(&r.stats);
    if (rc != FP_OK)
        return audit_cli_fail("report", &err);
    if (strcmp(r.html, "-") != 0)
        fprintf(stderr, "flagpost: audit report: wrote %s\n", r.html);
    return CLI_OK;
}
