/*
 * flagpost: the command-line tool for people and scripts.
 *
 * This file only routes: `flagpost [--agent ENDPOINT] COMMAND ARGS...` to
 * the command's own file.  Commands that need a running agent (publish,
 * lookup, inbox, ...) get the agent's local endpoint from --agent or from
 * FLAGPOST_AGENT.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "json_wipe.h"
#include "sandbox.h"

static void usage(FILE *out)
{
    fputs(
        "usage: flagpost [--agent ENDPOINT] COMMAND [ARGS...]\n"
        "\n"
        "Partnership administration (no agent needed):\n"
        "  ca init|issue|revoke|export|list\n"
        "                                the partnership CA and agency identities\n"
        "  policy sign|check|explain|hash the information sharing agreement\n"
        "  audit list|verify|proof|...   the broker's audit trail\n"
        "\n"
        "Operating broker and agents (on their machines):\n"
        "  broker-status --data DIR      backlog per agency, audit size, last checkpoint\n"
        "  backup --data DIR --out FILE  a consistent copy of a live store\n"
        "  restore --backup FILE --data DIR\n"
        "                                put a backup into a new, empty data directory\n"
        "\n"
        "Talking to your agency's agent (--agent ipc://PATH or $FLAGPOST_AGENT):\n"
        "  publish FILE|-                publish a flag written as JSON\n"
        "  lookup --nhs N | --name N --dob D | --postcode P | --uprn U\n"
        "                                flags this agency holds on a subject\n"
        "  update FLAG_ID FILE|-         a new version of one of our flags\n"
        "  withdraw FLAG_ID --reason CODE  withdraw one of our flags everywhere\n"
        "  ack FLAG_ID --outcome CODE    acknowledge a received flag with action\n"
        "  inbox [--open]                flags received, newest first (metadata;\n"
        "                                --open shows fields, each recorded as viewed)\n"
        "  notices                       views, acknowledgements, escalations, expiries\n"
        "  result MESSAGE_ID             the decisions for an earlier publish\n"
        "  status                        the agent's connection and queues\n"
        "  marac request|status|pack|actions|stats|inbox|respond|action-done\n"
        "                                MARAC research rounds (docs/marac.md)\n"
        "\n"
        "Run `flagpost COMMAND --help` for a command's options.\n",
        out);
}

int cli_report(const char *context, const fp_error *err)
{
    if (context != NULL && context[0] != '\0')
        fprintf(stderr, "flagpost: %s: %s\n", context, err->message);
    else
        fprintf(stderr, "flagpost: %s\n", err->message);
    return err->code == FP_ERR_INPUT ? CLI_USAGE : CLI_FAILED;
}

int main(int argc, char **argv)
{
    if (sodium_init() < 0) {
        fputs("flagpost: libsodium failed to initialise\n", stderr);
        return CLI_FAILED;
    }
    json_wipe_install();   /* before any JSON: flags' field values pass through it */
    sandbox_no_core_dumps();   /* the CA's key, a flag in clear: never in a core file */
    const char *endpoint = getenv("FLAGPOST_AGENT");
    int i = 1;
    for (; i < argc; i++) {
        if (strcmp(argv[i], "--agent") == 0 && i + 1 < argc) {
            endpoint = argv[++i];
        } else if (strncmp(argv[i], "--agent=", 8) == 0) {
            endpoint = argv[i] + 8;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return CLI_OK;
        } else {
            break;
        }
    }
    if (i >= argc) {
        usage(stderr);
        return CLI_USAGE;
    }
    const char *command = argv[i];
    int sub_argc = argc - i;
    char **sub_argv = argv + i;

    if (strcmp(command, "ca") == 0)
        return cmd_ca(sub_argc, sub_argv);
    if (strcmp(command, "policy") == 0)
        return cmd_policy(sub_argc, sub_argv);
    if (strcmp(command, "audit") == 0)
        return cmd_audit(sub_argc, sub_argv);
    if (strcmp(command, "marac") == 0)
        return cmd_marac(endpoint, sub_argc, sub_argv);
    if (strcmp(command, "broker-status") == 0)
        return cmd_broker_status(sub_argc, sub_argv);
    if (strcmp(command, "backup") == 0)
        return cmd_backup(sub_argc, sub_argv);
    if (strcmp(command, "restore") == 0)
        return cmd_restore(sub_argc, sub_argv);
    if (strcmp(command, "help") == 0) {
        usage(stdout);
        return CLI_OK;
    }
    return cmd_agent(endpoint, command, sub_argc, sub_argv);
}
