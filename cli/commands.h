/*
 * commands: the subcommands of the `flagpost` tool, one file each
 * (cli/cmd_<name>.c).  Each takes the arguments after its own name and
 * returns the process exit status:
 *     0  success
 *     1  the operation failed or was refused (the message says why)
 *     2  usage error (bad or missing options)
 */
#ifndef FLAGPOST_COMMANDS_H
#define FLAGPOST_COMMANDS_H

#include "fp_error.h"

#define CLI_OK 0
#define CLI_FAILED 1
#define CLI_USAGE 2

int cmd_ca(int argc, char **argv);        /* ca init | issue | revoke | export | list */
int cmd_policy(int argc, char **argv);    /* policy sign | check | explain | hash */
int cmd_audit(int argc, char **argv);     /* audit list | verify | proof | ... */
int cmd_broker_status(int argc, char **argv);   /* broker-status --data DIR */
int cmd_backup(int argc, char **argv);    /* backup --data DIR --out FILE */
int cmd_restore(int argc, char **argv);   /* restore --backup FILE --data DIR */
/* Commands that talk to a running agent over its local socket. */
int cmd_agent(const char *endpoint, const char *command, int argc, char **argv);
int cmd_marac(const char *endpoint, int argc, char **argv);   /* marac request | status | ... */

/* Print "flagpost: <message>" to stderr and map the status to an exit code. */
int cli_report(const char *context, const fp_error *err);

#endif
