/*
 * cmd_audit_chronology: `flagpost audit chronology`: everything the audit
 * trail records about one person or address, in time order, by agency —
 * for a domestic homicide review panel ("what did each agency know, share
 * and receive, and when?") or a subject access request.
 *
 * The subject is found through its pseudonyms (computed here with the
 * linkage key from the identifiers given); the identifiers themselves are
 * never written out.  Entries that name the subject are included, and so
 * is every later entry about a flag that named them (deliveries,
 * acknowledgements and withdrawals need not repeat the subject).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit_chronology.h"
#include "audit_cli.h"
#include "audit_cmds.h"
#include "audit_render.h"
#include "audit_query.h"
#include "commands.h"

static void usage(FILE *out)
{
    fputs("usage: flagpost audit chronology --data DIR --linkage-key FILE\n"
          "           (--nhs N | --name NAME --dob DATE | --postcode P | --uprn U)...\n"
          "           [--from DATE] [--to DATE] [--label TEXT] [--html FILE]\n"
          "\n"
          "Everything the audit trail records about one subject, in time order, with what\n"
          "each agency shared, received, viewed and acknowledged.  Give every identifier\n"
          "you hold: an entry matches if it names the subject under any of them.\n"
          "\n"
          "  --data DIR          the broker's data directory (read only)\n"
          "  --linkage-key FILE  the partnership linkage key (keyfile kind linkage-key)\n"
          "  --nhs, --name with --dob, --postcode, --uprn\n"
          "                      the subject's identifiers\n"
          "  --from, --to        limit to a period (YYYY-MM-DD, UTC, both included)\n"
          "  --label TEXT        how to name the subject in the output, e.g. \"Adult A\"\n"
          "                      (default: \"the subject\"); identifiers are never printed\n"
          "  --html FILE         write an HTML document instead of a text table\n"
          "  --help              this text\n",
          out);
}

struct chron_opts {
    const char *data, *from, *to, *label, *html;
    audit_cli_subject subject;
};

static int parse(int argc, char **argv, struct chron_opts *o)
{
    static const struct option opts[] = {{"data", required_argument, NULL, 'd'},
                                         {"from", required_argument, NULL, 'f'},
                                         {"to", required_argument, NULL, 't'},
                                         {"label", required_argument, NULL, 'l'},
                                         {"html", required_argument, NULL, 'o'},
                                         {"help", no_argument, NULL, 'h'},
                                         AUDIT_CLI_SUBJECT_LONGOPTS,
                                         {NULL, 0, NULL, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'd': o->data = optarg; break;
        case 'f': o->from = optarg; break;
        case 't': o->to = optarg; break;
        case 'l': o->label = optarg; break;
        case 'o': o->html = optarg; break;
        case 'h': usage(stdout); return -1;
        default:
            if (!audit_cli_subject_option(&o->subject, c, optarg)) {
                usage(stderr);
                return CLI_USAGE;
            }
        }
    }
    if (o->data == NULL || optind != argc)
        return audit_cli_usage("chronology", "--data DIR is required");
    if (!audit_cli_subject_given(&o->subject) || o->subject.linkage_key == NULL)
        return audit_cli_usage("chronology",
                               "give --linkage-key FILE and at least one of --nhs, --name "
                               "with --dob, --postcode or --uprn");
    return CLI_OK;
}

int cmd_audit_chronology(int argc, char **argv)
{
    struct chron_opts o;
    memset(&o, 0, sizeof o);
    int status = parse(argc, argv, &o);
    if (status != CLI_OK)
        return status < 0 ? CLI_OK : status;
    fp_error err;
    audit_chronology ch;
    audit_chronology_init(&ch);
    if ((o.from && audit_time_parse(o.from, false, &ch.from_ms, "--from", &err)) ||
        (o.to && audit_time_parse(o.to, true, &ch.to_ms, "--to", &err)) ||
        audit_cli_subject_pseudonyms(&o.subject, ch.subjects, &ch.n_subjects, &err) != FP_OK)
        return audit_cli_fail("chronology", &err);
    audit_cli_store st;
    if (audit_cli_open(o.data, &st, &err) != FP_OK)
        return audit_cli_fail("chronology", &err);
    int rc = audit_chronology_collect(&ch, st.log, st.txn, &err);
    audit_cli_close(&st);
    const char *label = o.label != NULL ? o.label : "the subject";
    if (rc == FP_OK) {
        audit_cli_buffer buf;
        rc = audit_cli_buffer_open(&buf, &err);
        if (rc == FP_OK) {
            if (o.html != NULL)
                audit_render_chronology_html(buf.f, &ch, label);
            else
                audit_render_chronology_text(buf.f, &ch, label);
            rc = audit_cli_buffer_save(&buf, o.html != NULL ? o.html : "-", &err);
        }
    }
    audit_chronology_free(&ch);
    if (rc != FP_OK)
        return audit_cli_fail("chronology", &err);
    if (o.html != NULL && strcmp(o.html, "-") != 0)
        fprintf(stderr, "flagpost: audit chronology: wrote %s\n", o.html);
    return CLI_OK;
}
