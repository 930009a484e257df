/*
 * config_file: `--config FILE` for the long-running programs.
 *
 * A config file is a list of settings, one per line:
 *
 *     # the broker of the tri-borough partnership
 *     identity  = /etc/flagpost/broker/identity
 *     bind      = tcp://0.0.0.0:7400
 *     log-level = info            # a comment may follow after a space
 *
 * Each key is exactly one of the program's long options (the ones that take
 * a value, as --help lists them), so a file and a command line say the same
 * things in the same words.  Rather than a second configuration system, the
 * file is turned into "--key=value" arguments placed before the real
 * command-line arguments; getopt then handles both, and because the last
 * occurrence of an option wins, the command line overrides the file.
 *
 * Rules: blank lines and lines starting with '#' are ignored; "key = value"
 * with spaces around '=' optional; a value may be wrapped in double quotes
 * to keep a '#' or surrounding spaces (no escapes inside); a '#' after
 * whitespace starts a comment.  An unknown key, a key set twice, a missing
 * '=' or an empty value is an error naming FILE:LINE.
 *
 * This module owns the argument list it builds (config_args_free releases
 * it); the strings must outlive option parsing, since programs keep optarg
 * pointers in their configuration.
 */
#ifndef FLAGPOST_CONFIG_FILE_H
#define FLAGPOST_CONFIG_FILE_H

#include <getopt.h>
#include <stddef.h>

#include "fp_error.h"

#define CONFIG_FILE_MAX_BYTES (64 * 1024)

typedef struct config_args {
    int argc;
    char **argv;          /* argv[argc] == NULL, as main's */
    char **owned;         /* the strings this list allocated */
    size_t owned_count;
} config_args;

/* Turn the text of a config file (named `path` in errors) into
 * "--key=value" arguments in out->argv (no program name), checking every
 * key against opts. */
int config_file_parse(const char *path, const char *text, size_t len,
                      const struct option *opts, config_args *out, fp_error *err);

/* The argument list a program should parse: argv[0], then the settings of
 * the file named by `--config FILE` (or `--config=FILE`) in argv, then the
 * rest of argv without the --config option.  Without --config, a copy of
 * argv.  FP_ERR_INPUT for a missing file name, --config given twice, or a
 * bad file (FP_ERR_IO / FP_ERR_NOT_FOUND when it cannot be read). */
int config_file_merge(int argc, char **argv, const struct option *opts, config_args *out,
                      fp_error *err);

void config_args_free(config_args *a);

#endif
