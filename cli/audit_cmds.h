/*
 * audit_cmds: the `flagpost audit` subcommands, one file each
 * (cli/cmd_audit_<name>.c), routed by cmd_audit().  Each takes the
 * arguments after its own name (argv[0] is the subcommand) and returns
 * the exit status as commands.h defines it.
 */
#ifndef FLAGPOST_AUDIT_CMDS_H
#define FLAGPOST_AUDIT_CMDS_H

int cmd_audit_verify(int argc, char **argv);
int cmd_audit_proof(int argc, char **argv);
int cmd_audit_consistency(int argc, char **argv);
int cmd_audit_check_proof(int argc, char **argv);
int cmd_audit_list(int argc, char **argv);
int cmd_audit_report(int argc, char **argv);
int cmd_audit_chronology(int argc, char **argv);

#endif
