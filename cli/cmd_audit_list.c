/*
 * cmd_audit_list: `flagpost audit list`: the entries that answer a
 * question ("what did we disclose, to whom, under which lawful basis, this
 * month"), as a table for people, JSON lines for scripts or CSV for a
 * spreadsheet.
 *
 * Entries hold metadata only, so nothing here can print a field value;
 * subjects appear as pseudonyms.  CSV cells that a spreadsheet would run
 * as a formula (starting = + - @) are prefixed with an apostrophe.
 */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit_cli.h"
#include "audit_cmds.h"
#include "audit_list.h"
#include "audit_query.h"
#include "commands.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: flagpost audit list --data DIR [filters] [--format table|jsonl|csv]\n"
            "\n"
            "List audit entries, oldest first.  Filters combine (all must match):\n"
            "  --agency ID            entries where the agency sent or received\n"
            "  --direction D          sent or received: with --agency, only what it sent\n"
            "                         (it is the sender) or only what it received\n"
            "  --nhs N                entries about the person with this NHS number\n"
            "  --name NAME            ... with this name (needs --dob)\n"
            "  --dob DATE             ... and date of birth (YYYY-MM-DD or DD/MM/YYYY)\n"
            "  --postcode P           entries about this address\n"
            "  --uprn U               entries about this property (UPRN)\n"
            "  --linkage-key FILE     the partnership linkage key: needed with any of the\n"
            "                         five above, which all match (any one is enough)\n"
            "  --category C           flag category, e.g. da_victim\n"
            "  --decision D           e.g. allowed, refused, delivered\n"
            "  --event E              one of: %s\n"
            "  --from DATE            from this day (YYYY-MM-DD, UTC) or time\n"
            "                         (YYYY-MM-DDTHH:MM:SSZ), included\n"
            "  --to DATE              to this day or time, included\n"
            "\n"
            "  --data DIR             the broker's data directory (read only)\n"
            "  --format F             table (default), jsonl or csv\n"
            "  --help                 this text\n",
            audit_event_names());
}

struct list_opts {
    const char *data, *direction, *format, *from, *to, *event;
    audit_cli_subject subject;
    audit_filter filter;
    pseudonym subjects[PSEUDONYM_MAX];
};

static int parse(int argc, char **argv, struct list_opts *o)
{
    static const struct option opts[] = {{"data", required_argument, NULL, 'd'},
                                         {"agency", required_argument, NULL, 'a'},
                                         {"direction", required_argument, NULL, 'r'},
                                         {"category", required_argument, NULL, 'c'},
                                         {"decision", required_argument, NULL, 'D'},
                                         {"event", required_argument, NULL, 'e'},
                                         {"from", required_argument, NULL, 'f'},
                                         {"to", required_argument, NULL, 't'},
                                         {"format", required_argument, NULL, 'F'},
                                         {"help", no_argument, NULL, 'h'},
                                         AUDIT_CLI_SUBJECT_LONGOPTS,
                                         {NULL, 0, NULL, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'd': o->data = optarg; break;
        case 'a': o->filter.agency = optarg; break;
        case 'r': o->direction = optarg; break;
        case 'c': o->filter.category = optarg; break;
        case 'D': o->filter.decision = optarg; break;
        case 'e': o->event = optarg; break;
        case 'f': o->from = optarg; break;
        case 't': o->to = optarg; break;
        case 'F': o->format = optarg; break;
        case 'h': usage(stdout); return -1;
        default:
            if (!audit_cli_subject_option(&o->subject, c, optarg)) {
                usage(stderr);
                return CLI_USAGE;
            }
        }
    }
    if (o->data == NULL || optind != argc)
        return audit_cli_usage("list", o->data == NULL ? "--data DIR is required"
                                                       : "unexpected argument");
    return CLI_OK;
}

/* Turn the option strings into the filter; returns an exit status. */
static int build_filter(struct list_opts *o)
{
    fp_error err;
    audit_filter *f = &o->filter;
    if (o->direction != NULL) {
        if (f->agency == NULL)
            return audit_cli_usage("list", "--direction needs --agency");
        if (strcmp(o->direction, "sent") == 0)
            f->direction = AUDIT_DIRECTION_SENT;
        else if (strcmp(o->direction, "received") == 0)
            f->direction = AUDIT_DIRECTION_RECEIVED;
        else
            return audit_cli_usage("list", "--direction must be sent or received");
    }
    if ((o->event != NULL && audit_event_parse(o->event, &f->event, &err) != FP_OK) ||
        (o->from != NULL && audit_time_parse(o->from, false, &f->from_ms, "--from", &err)) ||
        (o->to != NULL && audit_time_parse(o->to, true, &f->to_ms, "--to", &err)))
        return audit_cli_fail("list", &err);
    if (audit_cli_subject_given(&o->subject)) {
        if (audit_cli_subject_pseudonyms(&o->subject, o->subjects, &f->n_subjects, &err) !=
            FP_OK)
            return audit_cli_fail("list", &err);
        f->subjects = o->subjects;
    } else if (o->subject.linkage_key != NULL) {
        return audit_cli_usage("list", "--linkage-key is only used with --nhs, --name and "
                                       "--dob, --postcode or --uprn");
    }
    return CLI_OK;
}

int cmd_audit_list(int argc, char **argv)
{
    struct list_opts o;
    memset(&o, 0, sizeof o);
    audit_filter_init(&o.filter);
    int status = parse(argc, argv, &o);
    if (status != CLI_OK)
        return status < 0 ? CLI_OK : status;
    int format;
    if (audit_list_format_parse(o.format != NULL ? o.format : "table", &format) != 0)
        return audit_cli_usage("list", "--format must be table, jsonl or csv");
    if ((status = build_filter(&o)) != CLI_OK)
        return status;
    fp_error err;
    audit_cli_store st;
    if (audit_cli_open(o.data, &st, &err) != FP_OK)
        return audit_cli_fail("list", &err);
    audit_list_writer w;
    audit_list_begin(&w, stdout, format);
    int rc = audit_query_run(st.log, st.txn, 0, &o.filter, audit_list_row, &w, &err);
    audit_list_end(&w);
    audit_cli_close(&st);
    if (rc == FP_OK && (ferror(stdout) || fflush(stdout) != 0))
        rc = fp_error_set(&err, FP_ERR_IO, "cannot write to standard output");
    return rc == FP_OK ? CLI_OK : audit_cli_fail("list", &err);
}
