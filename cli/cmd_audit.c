/*
 * cmd_audit: `flagpost audit SUBCOMMAND`, the IG lead's view of the
 * broker's audit trail.  This file only routes to the subcommand's own
 * file (see audit_cmds.h) and prints the overview.
 */
#include <stdio.h>
#include <string.h>

#include "audit_cmds.h"
#include "commands.h"

static void usage(FILE *out)
{
    fputs("usage: flagpost audit SUBCOMMAND [OPTIONS]\n"
          "\n"
          "Checking the trail has not been altered:\n"
          "  verify       --data DIR [--ca DIR]   recompute the whole tree, check every stored\n"
          "                                       hash and signed checkpoint\n"
          "  proof        --data DIR --entry N [--size S]\n"
          "                                       an inclusion proof anyone can check\n"
          "  consistency  --data DIR --old N --new M\n"
          "                                       proof that a later tree extends an earlier one\n"
          "  check-proof  FILE|- [--ca DIR]       check a proof printed by proof/consistency\n"
          "\n"
          "Answering questions:\n"
          "  list         --data DIR [filters]    entries as a table, JSON lines or CSV\n"
          "  report       --data DIR --html FILE  the IG report with charts (one HTML file)\n"
          "  chronology   --data DIR --linkage-key FILE --nhs N ...\n"
          "                                       everything about one subject, in time order\n"
          "\n"
          "--data is the broker's data directory; it is only read, never written, so these\n"
          "commands are safe while the broker runs.  Times are UTC.\n"
          "Run `flagpost audit SUBCOMMAND --help` for a subcommand's options.\n",
          out);
}

int cmd_audit(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return CLI_USAGE;
    }
    const char *sub = argv[1];
    static const struct {
        const char *name;
        int (*fn)(int, char **);
    } cmds[] = {
        {"verify", cmd_audit_verify},         {"proof", cmd_audit_proof},
        {"consistency", cmd_audit_consistency}, {"check-proof", cmd_audit_check_proof},
        {"list", cmd_audit_list},             {"report", cmd_audit_report},
        {"chronology", cmd_audit_chronology},
    };
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        if (strcmp(sub, cmds[i].name) == 0)
            return cmds[i].fn(argc - 1, argv + 1);
    if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0 || strcmp(sub, "help") == 0) {
        usage(stdout);
        return CLI_OK;
    }
    fprintf(stderr, "flagpost: audit: unknown subcommand '%s'\n\n", sub);
    usage(stderr);
    return CLI_USAGE;
}
