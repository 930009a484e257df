/*
 * cmd_ca: `flagpost ca init|issue|revoke|export|list`, the partnership
 * CA's offline operations.  See certs/ca.h for what each does to the CA
 * directory and docs/ca.md for the operator's guide.
 *
 * This file only parses options, calls certs/ca.c, and reports: library
 * code never prints.  Bad or missing options exit 2; a refused or failed
 * operation exits 1.  Times on the command line are UTC, given as
 * YYYY-MM-DD, YYYY-MM-DDTHH:MM:SSZ or unix seconds.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ca.h"
#include "cert.h"
#include "commands.h"
#include "trust_store.h"

static int ca_usage_error(const char *sub, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int ca_usage_error(const char *sub, const char *fmt, ...)
{
    fprintf(stderr, "flagpost: ca %s: ", sub);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "; see `flagpost ca %s --help`\n", sub);
    return CLI_USAGE;
}

/* getopt_long with flagpost's messages; returns '?' after reporting. */
static int ca_getopt(int argc, char **argv, const char *sub, const struct option *opts)
{
    int c = getopt_long(argc, argv, "h", opts, NULL);
    if (c == '?') {
        const char *bad = optind > 0 && optind <= argc ? argv[optind - 1] : "?";
        ca_usage_error(sub, "unknown option or missing value at '%s'", bad);
    } else if (c == ':') {
        ca_usage_error(sub, "option '%s' needs a value", argv[optind - 1]);
        c = '?';
    }
    return c;
}

static int ca_parse_u64(const char *s, uint64_t *out)
{
    if (s == NULL || s[0] < '0' || s[0] > '9')
        return -1;
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0')
        return -1;
    *out = (uint64_t)v;
    return 0;
}

static int ca_parse_time(const char *s, int64_t *out)
{
    uint64_t secs;
    if (strchr(s, '-') == NULL) {
        if (ca_parse_u64(s, &secs) != 0 || secs > INT64_C(253402300799))
            return -1;
        *out = (int64_t)secs;
        return 0;
    }
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (end == NULL || *end != '\0') {
        memset(&tm, 0, sizeof tm);
        end = strptime(s, "%Y-%m-%d", &tm);
    }
    if (end == NULL || *end != '\0' || tm.tm_year < 70)
        return -1;
    *out = (int64_t)timegm(&tm);
    return 0;
}

static int ca_need(const char *sub, const char *value, const char *option)
{
    if (value == NULL || value[0] == '\0')
        return ca_usage_error(sub, "%s is required", option);
    return CLI_OK;
}

/* ------------------------------------------------------------------ init */

static int ca_cmd_init(int argc, char **argv)
{
    static const struct option opts[] = {
        {"ca", required_argument, NULL, 'c'},
        {"name", required_argument, NULL, 'n'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *dir = NULL, *name = NULL;
    int c;
    while ((c = ca_getopt(argc, argv, "init", opts)) != -1) {
        switch (c) {
        case 'c': dir = optarg; break;
        case 'n': name = optarg; break;
        case 'h':
            printf("usage: flagpost ca init --ca DIR --name NAME\n"
                   "\n"
                   "Create the partnership CA: its Ed25519 key (ca.key, 0600), the\n"
                   "partnership linkage key (linkage.key, 0600) and the public files, in a\n"
                   "new or empty directory created 0700.  Keep DIR offline.\n"
                   "\n"
                   "  --ca DIR      the CA directory to create\n"
                   "  --name NAME   the CA's display name, e.g. \"Tri-borough DA Partnership CA\"\n"
                   "  --help        this text\n");
            return CLI_OK;
        default: return CLI_USAGE;
        }
    }
    if (optind < argc)
        return ca_usage_error("init", "unexpected argument '%s'", argv[optind]);
    if (ca_need("init", dir, "--ca DIR") || ca_need("init", name, "--name NAME"))
        return CLI_USAGE;
    fp_error err = {0};
    if (ca_init(dir, name, &err) != FP_OK)
        return cli_report("ca init", &err);
    printf("created CA \"%s\" in %s\n"
           "keep ca.key and linkage.key offline and backed up; next: flagpost ca issue\n",
           name, dir);
    return CLI_OK;
}

/* ----------------------------------------------------------------- issue */

static void ca_issue_help(void)
{
    printf("usage: flagpost ca issue --ca DIR --id ID --name NAME --sector SECTOR --out DIR\n"
           "                         [--valid-days N] [--not-before TIME]\n"
           "\n"
           "Create an identity for an agency (or the broker, --sector broker): CURVE,\n"
           "signing and box keys (0600), a CA-signed certificate, and for every agency\n"
           "but the broker the linkage key sealed to it.  Issuing again for an existing\n"
           "ID rotates its keys: the new certificate gets a new serial and the old one\n"
           "stays valid until it expires or is revoked.\n"
           "\n"
           "  --ca DIR          the CA directory\n"
           "  --id ID           agency id: a-z, 0-9, '-' and '_', up to %d characters\n"
           "  --name NAME       display name, e.g. \"Metropolitan Police\"\n"
           "  --sector SECTOR   one of: %s\n"
           "  --out DIR         new directory for the identity (never overwritten)\n"
           "  --valid-days N    validity in days (default 365, at most 3650)\n"
           "  --not-before TIME start of validity (default: now, less 5 minutes for\n"
           "                    partners whose clocks run behind); YYYY-MM-DD,\n"
           "                    YYYY-MM-DDTHH:MM:SSZ or unix seconds, UTC\n"
           "  --help            this text\n",
           CERT_ID_MAX - 1, cert_sector_list());
}

static void ca_issue_report(const char *dir, const ca_issue_options *opt, uint64_t serial)
{
    fp_error err = {0};
    trust_store *ts = NULL;
    if (trust_store_load(&ts, dir, &err) != FP_OK) {
        printf("issued serial %" PRIu64 " to %s\n", serial, opt->agency_id);
        return;
    }
    int64_t now = (int64_t)time(NULL);
    size_t valid = 0;
    for (size_t i = 0; i < trust_store_count(ts); i++) {
        const cert_info *c = trust_store_at(ts, i);
        if (strcmp(c->agency_id, opt->agency_id) != 0)
            continue;
        if (c->serial == serial) {
            char from[CERT_TIME_MAX], to[CERT_TIME_MAX];
            cert_format_time(c->not_before, from);
            cert_format_time(c->not_after, to);
            printf("issued serial %" PRIu64 " to %s (%s, sector %s), valid %s to %s\n",
                   serial, c->agency_id, c->display_name, c->sector, from, to);
        }
        if (trust_store_status(ts, c, now) == TRUST_VALID)
            valid++;
    }
    trust_store_free(ts);
    printf("identity written to %s (secret files 0600)%s\n", opt->out_dir,
           strcmp(opt->sector, "broker") == 0 ? "; no linkage key (broker)" : "");
    if (valid > 1)
        printf("%s now has %zu valid certificates; the older ones stay valid until they "
               "expire or you run `flagpost ca revoke --serial N`\n",
               opt->agency_id, valid);
    printf("run `flagpost ca export` to give the broker and agents the new bundle\n");
}

static int ca_cmd_issue(int argc, char **argv)
{
    static const struct option opts[] = {
        {"ca", required_argument, NULL, 'c'},
        {"id", required_argument, NULL, 'i'},
        {"name", required_argument, NULL, 'n'},
        {"sector", required_argument, NULL, 's'},
        {"out", required_argument, NULL, 'o'},
        {"valid-days", required_argument, NULL, 'd'},
        {"not-before", required_argument, NULL, 'b'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *dir = NULL;
    ca_issue_options opt = {0};
    uint64_t days = 365;
    int c;
    while ((c = ca_getopt(argc, argv, "issue", opts)) != -1) {
        switch (c) {
        case 'c': dir = optarg; break;
        case 'i': opt.agency_id = optarg; break;
        case 'n': opt.display_name = optarg; break;
        case 's': opt.sector = optarg; break;
        case 'o': opt.out_dir = optarg; break;
        case 'd':
            if (ca_parse_u64(optarg, &days) != 0 || days < 1 || days > 3650)
                return ca_usage_error("issue", "--valid-days '%s' is not a number of days "
                                      "from 1 to 3650", optarg);
            break;
        case 'b':
            if (ca_parse_time(optarg, &opt.not_before) != 0)
                return ca_usage_error("issue", "--not-before '%s' is not YYYY-MM-DD, "
                                      "YYYY-MM-DDTHH:MM:SSZ or unix seconds", optarg);
            break;
        case 'h': ca_issue_help(); return CLI_OK;
        default: return CLI_USAGE;
        }
    }
    if (optind < argc)
        return ca_usage_error("issue", "unexpected argument '%s'", argv[optind]);
    if (ca_need("issue", dir, "--ca DIR") || ca_need("issue", opt.agency_id, "--id ID") ||
        ca_need("issue", opt.display_name, "--name NAME") ||
        ca_need("issue", opt.sector, "--sector SECTOR") ||
        ca_need("issue", opt.out_dir, "--out DIR"))
        return CLI_USAGE;
    if (!cert_sector_valid(opt.sector)) {
        fprintf(stderr, "flagpost: ca issue: unknown sector '%s'; valid sectors are: %s\n",
                opt.sector, cert_sector_list());
        return CLI_USAGE;
    }
    opt.valid_days = (int64_t)days;
    uint64_t serial = 0;
    fp_error err = {0};
    if (ca_issue(dir, &opt, &serial, &err) != FP_OK)
        return cli_report("ca issue", &err);
    ca_issue_report(dir, &opt, serial);
    return CLI_OK;
}

/* ---------------------------------------------------------------- revoke */

static int ca_cmd_revoke(int argc, char **argv)
{
    static const struct option opts[] = {
        {"ca", required_argument, NULL, 'c'},
        {"id", required_argument, NULL, 'i'},
        {"serial", required_argument, NULL, 'S'},
        {"reason", required_argument, NULL, 'r'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *dir = NULL, *id = NULL, *reason = NULL;
    uint64_t serial = 0;
    int c;
    while ((c = ca_getopt(argc, argv, "revoke", opts)) != -1) {
        switch (c) {
        case 'c': dir = optarg; break;
        case 'i': id = optarg; break;
        case 'r': reason = optarg; break;
        case 'S':
            if (ca_parse_u64(optarg, &serial) != 0 || serial == 0)
                return ca_usage_error("revoke", "--serial '%s' is not a certificate serial "
                                      "(a number from 1)", optarg);
            break;
        case 'h':
            printf("usage: flagpost ca revoke --ca DIR --id ID [--serial N] --reason TEXT\n"
                   "\n"
                   "Add to the CA-signed revocation list (revoked.crl).  With --serial,\n"
                   "revoke that one certificate (e.g. an old key after rotation); without\n"
                   "it, revoke every certificate of the agency, now and in future (the id\n"
                   "cannot be issued again).  Then run `flagpost ca export` and give the\n"
                   "bundle to the broker: it refuses the revoked keys at the next\n"
                   "connection and the next message.\n"
                   "\n"
                   "  --ca DIR        the CA directory\n"
                   "  --id ID         the agency id\n"
                   "  --serial N      revoke only this certificate (see `flagpost ca list`)\n"
                   "  --reason TEXT   why, for the record (e.g. \"key on stolen laptop\")\n"
                   "  --help          this text\n");
            return CLI_OK;
        default: return CLI_USAGE;
        }
    }
    if (optind < argc)
        return ca_usage_error("revoke", "unexpected argument '%s'", argv[optind]);
    if (ca_need("revoke", dir, "--ca DIR") || ca_need("revoke", id, "--id ID") ||
        ca_need("revoke", reason, "--reason TEXT"))
        return CLI_USAGE;
    fp_error err = {0};
    if (ca_revoke(dir, id, serial, reason, &err) != FP_OK)
        return cli_report("ca revoke", &err);
    if (serial != 0)
        printf("revoked certificate serial %" PRIu64 " of %s\n", serial, id);
    else
        printf("revoked every certificate of %s\n", id);
    printf("run `flagpost ca export` and give the bundle to the broker and agents\n");
    return CLI_OK;
}

/* ---------------------------------------------------------------- export */

static int ca_cmd_export(int argc, char **argv)
{
    static const struct option opts[] = {
        {"ca", required_argument, NULL, 'c'},
        {"out", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *dir = NULL, *out = NULL;
    int c;
    while ((c = ca_getopt(argc, argv, "export", opts)) != -1) {
        switch (c) {
        case 'c': dir = optarg; break;
        case 'o': out = optarg; break;
        case 'h':
            printf("usage: flagpost ca export --ca DIR --out DIR\n"
                   "\n"
                   "Write the public trust bundle (ca.pub, ca.name, certs/, revoked.crl)\n"
                   "that the broker and every agent load.  It never holds a secret.\n"
                   "Exporting again into the same directory refreshes it.\n"
                   "\n"
                   "  --ca DIR    the CA directory\n"
                   "  --out DIR   the bundle directory (new, or an earlier export)\n"
                   "  --help      this text\n");
            return CLI_OK;
        default: return CLI_USAGE;
        }
    }
    if (optind < argc)
        return ca_usage_error("export", "unexpected argument '%s'", argv[optind]);
    if (ca_need("export", dir, "--ca DIR") || ca_need("export", out, "--out DIR"))
        return CLI_USAGE;
    fp_error err = {0};
    trust_store *ts = NULL;
    if (ca_export_bundle(dir, out, &err) != FP_OK || trust_store_load(&ts, out, &err) != FP_OK)
        return cli_report("ca export", &err);
    printf("exported the bundle of \"%s\" to %s: %zu certificates\n", trust_store_ca_name(ts),
           out, trust_store_count(ts));
    trust_store_free(ts);
    return CLI_OK;
}

/* ------------------------------------------------------------------ list */

static void ca_list_print(const trust_store *ts, int64_t now)
{
    printf("%-24s %6s  %-21s %-13s %-20s %-20s %s\n", "ID", "SERIAL", "SECTOR", "STATUS",
           "NOT_BEFORE", "NOT_AFTER", "NAME");
    for (size_t i = 0; i < trust_store_count(ts); i++) {
        const cert_info *c = trust_store_at(ts, i);
        char from[CERT_TIME_MAX], to[CERT_TIME_MAX];
        cert_format_time(c->not_before, from);
        cert_format_time(c->not_after, to);
        printf("%-24s %6" PRIu64 "  %-21s %-13s %-20s %-20s %s\n", c->agency_id, c->serial,
               c->sector, trust_status_name(trust_store_status(ts, c, now)), from, to,
               c->display_name);
    }
}

static int ca_cmd_list(int argc, char **argv)
{
    static const struct option opts[] = {
        {"ca", required_argument, NULL, 'c'},
        {"at", required_argument, NULL, 'a'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *dir = NULL;
    int64_t now = (int64_t)time(NULL);
    int c;
    while ((c = ca_getopt(argc, argv, "list", opts)) != -1) {
        switch (c) {
        case 'c': dir = optarg; break;
        case 'a':
            if (ca_parse_time(optarg, &now) != 0)
                return ca_usage_error("list", "--at '%s' is not YYYY-MM-DD, "
                                      "YYYY-MM-DDTHH:MM:SSZ or unix seconds", optarg);
            break;
        case 'h':
            printf("usage: flagpost ca list --ca DIR [--at TIME]\n"
                   "\n"
                   "Print every certificate the CA issued (or a bundle holds): id, serial,\n"
                   "sector, status (valid, expired, not-yet-valid, revoked), validity and\n"
                   "name.  Works on an exported bundle too.\n"
                   "\n"
                   "  --ca DIR    the CA directory or an exported bundle\n"
                   "  --at TIME   judge status at TIME instead of now (UTC; YYYY-MM-DD,\n"
                   "              YYYY-MM-DDTHH:MM:SSZ or unix seconds)\n"
                   "  --help      this text\n");
            return CLI_OK;
        default: return CLI_USAGE;
        }
    }
    if (optind < argc)
        return ca_usage_error("list", "unexpected argument '%s'", argv[optind]);
    if (ca_need("list", dir, "--ca DIR"))
        return CLI_USAGE;
    fp_error err = {0};
    trust_store *ts = NULL;
    if (trust_store_load(&ts, dir, &err) != FP_OK)
        return cli_report("ca list", &err);
    ca_list_print(ts, now);
    if (trust_store_skipped(ts) > 0)
        fprintf(stderr, "flagpost: ca list: warning: %zu file(s) in %s/certs were ignored; "
                "the first because: %s\n", trust_store_skipped(ts), dir,
                trust_store_skipped_reason(ts));
    trust_store_free(ts);
    return CLI_OK;
}

/* ---------------------------------------------------------------- router */

static void ca_help(FILE *out)
{
    fputs("usage: flagpost ca COMMAND [OPTIONS]\n"
          "\n"
          "  init     create the partnership CA            (--ca DIR --name NAME)\n"
          "  issue    create or rotate an identity          (--ca DIR --id ID --name NAME\n"
          "                                                  --sector SECTOR --out DIR)\n"
          "  revoke   revoke a certificate or an agency     (--ca DIR --id ID [--serial N]\n"
          "                                                  --reason TEXT)\n"
          "  export   write the public trust bundle         (--ca DIR --out DIR)\n"
          "  list     show every certificate and its status (--ca DIR [--at TIME])\n"
          "\n"
          "Run `flagpost ca COMMAND --help` for a command's options.\n",
          out);
}

int cmd_ca(int argc, char **argv)
{
    if (argc < 2) {
        ca_help(stderr);
        return CLI_USAGE;
    }
    const char *sub = argv[1];
    if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0 || strcmp(sub, "help") == 0) {
        ca_help(stdout);
        return CLI_OK;
    }
    static const struct {
        const char *name;
        int (*run)(int, char **);
    } subs[] = {
        {"init", ca_cmd_init}, {"issue", ca_cmd_issue}, {"revoke", ca_cmd_revoke},
        {"export", ca_cmd_export}, {"list", ca_cmd_list},
    };
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++) {
        if (strcmp(sub, subs[i].name) == 0) {
            optind = 0;   /* GNU: fully re-initialise getopt for this argv */
            opterr = 0;
            return subs[i].run(argc - 1, argv + 1);
        }
    }
    fprintf(stderr, "flagpost: ca: unknown command '%s'; commands are init, issue, revoke, "
            "export, list\n", sub);
    return CLI_USAGE;
}
