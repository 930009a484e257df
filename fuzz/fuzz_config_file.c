/*
 * fuzz_config_file: libFuzzer target for the `--config FILE` parser
 * (lib/config_file.c).  A config file is written by an operator, often
 * by hand or by a configuration-management template, so the parser must
 * refuse anything odd with a message naming FILE:LINE and never crash.
 *
 * The whole input is the file's text, parsed against an option table like
 * the programs' own (options with values, a switch, and the two keys a
 * file may not set: help and config).  Whatever config_file_parse accepts
 * must be a list of at most one argument per line, each "--key=value"
 * with a non-empty value holding no newline, or "--key" for a switch; each
 * key a settable option of the table, none given twice; argv[argc] NULL.
 * A refusal must leave nothing allocated (argc 0, argv NULL) and say why,
 * naming the file.
 *
 * Built and run by scripts/fuzz; seeds in fuzz/corpus/config_file are
 * hand-written config files (valid ones and near misses).
 */
#include <getopt.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct option fuzz_opts[] = {
    {"identity", required_argument, NULL, 'i'},
    {"ca", required_argument, NULL, 'c'},
    {"bind", required_argument, NULL, 'b'},
    {"log-level", required_argument, NULL, 'l'},
    {"spool", required_argument, NULL, 's'},
    {"foreground", no_argument, NULL, 'f'},
    {"config", required_argument, NULL, 'C'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static void need(int cond)
{
    if (!cond)
        abort();
}

/* The option an argument names, or NULL. */
static const struct option *named(const char *arg, const char **value)
{
    need(strncmp(arg, "--", 2) == 0);
    const char *eq = strchr(arg, '=');
    size_t n = eq ? (size_t)(eq - arg - 2) : strlen(arg + 2);
    *value = eq ? eq + 1 : NULL;
    for (const struct option *o = fuzz_opts; o->name != NULL; o++)
        if (strlen(o->name) == n && strncmp(o->name, arg + 2, n) == 0)
            return o;
    return NULL;
}

static void check_accepted(const config_args *a, size_t lines)
{
    need(a->argc >= 0 && (size_t)a->argc <= lines);
    need(a->argc == 0 || a->argv != NULL);
    if (a->argv != NULL)
        need(a->argv[a->argc] == NULL);
    int seen[sizeof fuzz_opts / sizeof fuzz_opts[0]] = {0};
    for (int i = 0; i < a->argc; i++) {
        const char *value;
        const struct option *o = named(a->argv[i], &value);
        need(o != NULL && strcmp(o->name, "help") != 0 && strcmp(o->name, "config") != 0);
        need(seen[o - fuzz_opts]++ == 0);
        if (o->has_arg == no_argument) {
            need(value == NULL);
        } else {
            need(value != NULL && value[0] != '\0' && strchr(value, '\n') == NULL);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t lines = 1;
    for (size_t i = 0; i < size; i++)
        lines += data[i] == '\n';
    config_args a;
    fp_error err;
    err.message[0] = '\0';
    int rc = config_file_parse("fuzz.conf", (const char *)data, size, fuzz_opts, &a, &err);
    if (rc == FP_OK) {
        check_accepted(&a, lines);
    } else {
        need(rc == FP_ERR_INPUT || rc == FP_ERR_IO);
        need(err.code == rc && err.message[0] != '\0');
        need(rc != FP_ERR_INPUT || strncmp(err.message, "fuzz.conf", 9) == 0);
        need(a.argc == 0 && a.argv == NULL && a.owned == NULL);
    }
    config_args_free(&a);
    return 0;
}
