/*
 * config_file: settings files as leading command-line arguments.  See
 * config_file.h.
 *
 * The file is parsed into "--key=value" strings (one argument each, so a
 * value that starts with '-' or holds spaces can never be taken for
 * another option), checked against the program's own option table, so
 * the set of valid keys can never drift from --help.  Everything the
 * parser allocates hangs off config_args, which main() frees last.
 */
#include "config_file.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"

#define KEY_MAX 64
#define LIST_MAX 400

/* ---------------------------------------------------------------- list */

/* Appends s; an owned string is the list's from this call on, even when
 * the call fails. */
static int args_push(config_args *a, char *s, bool owned, fp_error *err)
{
    if (owned) {
        char **o = realloc(a->owned, (a->owned_count + 1) * sizeof *o);
        if (o == NULL) {
            free(s);
            return fp_error_set(err, FP_ERR_IO, "out of memory");
        }
        a->owned = o;
        a->owned[a->owned_count++] = s;
    }
    char **argv = realloc(a->argv, (size_t)(a->argc + 2) * sizeof *argv);
    if (argv == NULL)
        return fp_error_set(err, FP_ERR_IO, "out of memory");
    a->argv = argv;
    a->argv[a->argc++] = s;
    a->argv[a->argc] = NULL;
    return FP_OK;
}

void config_args_free(config_args *a)
{
    if (a == NULL)
        return;
    for (size_t i = 0; i < a->owned_count; i++)
        free(a->owned[i]);
    free(a->owned);
    free(a->argv);
    memset(a, 0, sizeof *a);
}

/* ---------------------------------------------------------------- keys */

static bool settable(const struct option *o)
{
    return strcmp(o->name, "help") != 0 && strcmp(o->name, "config") != 0;
}

static int find_key(const struct option *opts, const char *key)
{
    for (int i = 0; opts[i].name != NULL; i++)
        if (settable(&opts[i]) && strcmp(opts[i].name, key) == 0)
            return i;
    return -1;
}

/* "identity, ca, policy, ..." for an error message. */
static void key_list(const struct option *opts, char *out, size_t outsz)
{
    size_t used = 0;
    out[0] = '\0';
    for (int i = 0; opts[i].name != NULL && used < outsz; i++) {
        if (!settable(&opts[i]))
            continue;
        int n = snprintf(out + used, outsz - used, "%s%s", used ? ", " : "", opts[i].name);
        if (n < 0)
            break;
        used += (size_t)n;
    }
}

static int unknown_key(const char *path, int line, const char *key,
                       const struct option *opts, fp_error *err)
{
    char list[LIST_MAX], alt[KEY_MAX];
    key_list(opts, list, sizeof list);
    snprintf(alt, sizeof alt, "%s", key);
    for (char *p = alt; *p; p++)
        *p = *p == '_' ? '-' : (char)tolower((unsigned char)*p);
    if (strcmp(alt, key) != 0 && find_key(opts, alt) >= 0)
        return fp_error_set(err, FP_ERR_INPUT,
                            "%s:%d: unknown setting '%s'; did you mean '%s'? (keys are the "
                            "long options, spelt as in --help)",
                            path, line, key, alt);
    return fp_error_set(err, FP_ERR_INPUT,
                        "%s:%d: unknown setting '%s'; the settings are: %s", path, line, key,
                        list);
}

/* ---------------------------------------------------------------- lines */

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        s[--n] = '\0';
    return s;
}

/* Cut a trailing " # comment" and unwrap "quoted" values.  NULL when a
 * quote is not closed. */
static char *clean_value(char *v)
{
    if (*v == '"') {
        char *close = strchr(v + 1, '"');
        if (close == NULL)
            return NULL;
        *close = '\0';
        char *rest = trim(close + 1);
        return (*rest == '\0' || *rest == '#') ? v + 1 : NULL;
    }
    for (char *p = v; *p; p++)
        if (*p == '#' && (p == v || p[-1] == ' ' || p[-1] == '\t')) {
            *p = '\0';
            break;
        }
    return trim(v);
}

static bool key_chars_ok(const char *k)
{
    if (*k == '\0' || strlen(k) >= KEY_MAX)
        return false;
    for (; *k; k++)
        if (!isalnum((unsigned char)*k) && *k != '-' && *k != '_')
            return false;
    return true;
}

static int boolean_value(const char *v)
{
    if (strcmp(v, "yes") == 0 || strcmp(v, "true") == 0 || strcmp(v, "1") == 0)
        return 1;
    if (strcmp(v, "no") == 0 || strcmp(v, "false") == 0 || strcmp(v, "0") == 0)
        return 0;
    return -1;
}

/* One setting becomes one argument ("--key=value", or "--key" for a
 * switch set to yes). */
static int emit(const struct option *o, const char *value, const char *path, int line,
                config_args *out, fp_error *err)
{
    if (o->has_arg == no_argument) {
        int b = boolean_value(value);
        if (b < 0)
            return fp_error_set(err, FP_ERR_INPUT, "%s:%d: '%s' is a switch: write yes or no",
                                path, line, o->name);
        if (b == 0)
            return FP_OK;
        value = NULL;
    }
    size_t n = strlen(o->name) + (value ? strlen(value) : 0) + 4;
    char *arg = malloc(n);
    if (arg == NULL)
        return fp_error_set(err, FP_ERR_IO, "out of memory");
    if (value != NULL)
        snprintf(arg, n, "--%s=%s", o->name, value);
    else
        snprintf(arg, n, "--%s", o->name);
    return args_push(out, arg, true, err);
}

static int parse_line(char *text, const char *path, int line, const struct option *opts,
                      int *first_line, config_args *out, fp_error *err)
{
    char *s = trim(text);
    if (*s == '\0' || *s == '#')
        return FP_OK;
    char *eq = strchr(s, '=');
    if (eq == NULL)
        return fp_error_set(err, FP_ERR_INPUT,
                            "%s:%d: expected 'key = value' (or a # comment)", path, line);
    *eq = '\0';
    char *key = trim(s);
    if (!key_chars_ok(key))
        return fp_error_set(err, FP_ERR_INPUT,
                            "%s:%d: '%.40s' is not a setting name (letters, digits and '-')",
                            path, line, key);
    int idx = find_key(opts, key);
    if (idx < 0)
        return unknown_key(path, line, key, opts, err);
    char *value = clean_value(trim(eq + 1));
    if (value == NULL)
        return fp_error_set(err, FP_ERR_INPUT,
                            "%s:%d: '%s': a quoted value must end with '\"' and nothing but "
                            "a comment may follow it", path, line, key);
    if (*value == '\0')
        return fp_error_set(err, FP_ERR_INPUT, "%s:%d: '%s' has no value", path, line, key);
    if (first_line[idx] != 0)
        return fp_error_set(err, FP_ERR_INPUT,
                            "%s:%d: '%s' is set again (first on line %d); keep one", path,
                            line, key, first_line[idx]);
    first_line[idx] = line;
    return emit(&opts[idx], value, path, line, out, err);
}

int config_file_parse(const char *path, const char *text, size_t len,
                      const struct option *opts, config_args *out, fp_error *err)
{
    memset(out, 0, sizeof *out);
    if (len > CONFIG_FILE_MAX_BYTES)
        return fp_error_set(err, FP_ERR_INPUT, "%s: larger than %d bytes; is it a config file?",
                            path, CONFIG_FILE_MAX_BYTES);
    if (memchr(text, '\0', len) != NULL)
        return fp_error_set(err, FP_ERR_INPUT, "%s: holds a NUL byte; is it a text file?", path);
    size_t nopts = 0;
    while (opts[nopts].name != NULL)
        nopts++;
    int *first_line = calloc(nopts + 1, sizeof *first_line);
    char *copy = malloc(len + 1);
    int rc = FP_OK;
    if (first_line == NULL || copy == NULL) {
        rc = fp_error_set(err, FP_ERR_IO, "out of memory");
    } else {
        memcpy(copy, text, len);
        copy[len] = '\0';
        char *p = copy;
        for (int line = 1; p != NULL && rc == FP_OK; line++) {
            char *nl = strchr(p, '\n');
            if (nl != NULL)
                *nl = '\0';
            rc = parse_line(p, path, line, opts, first_line, out, err);
            p = nl != NULL ? nl + 1 : NULL;
        }
    }
    free(copy);
    free(first_line);
    if (rc != FP_OK)
        config_args_free(out);
    return rc;
}

/* ---------------------------------------------------------------- merge */

/* Finds the --config argument: *at is its index in argv (-1 if none),
 * *span how many arguments it takes, *file its value. */
static int find_config(int argc, char **argv, int *at, int *span, const char **file,
                       fp_error *err)
{
    *at = -1;
    *span = 0;
    *file = NULL;
    for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
        int n;
        const char *f;
        if (strcmp(argv[i], "--config") == 0) {
            if (i + 1 >= argc)
                return fp_error_set(err, FP_ERR_INPUT, "--config needs a file name");
            f = argv[i + 1];
            n = 2;
        } else if (strncmp(argv[i], "--config=", 9) == 0) {
            f = argv[i] + 9;
            n = 1;
        } else {
            continue;
        }
        if (*at >= 0)
            return fp_error_set(err, FP_ERR_INPUT, "--config is given twice; give one file");
        if (*f == '\0')
            return fp_error_set(err, FP_ERR_INPUT, "--config needs a file name");
        *at = i;
        *span = n;
        *file = f;
        i += n - 1;
    }
    return FP_OK;
}

static int read_config(const char *file, const struct option *opts, config_args *out,
                       fp_error *err)
{
    uint8_t *text = NULL;
    size_t len = 0;
    int rc = fileio_read_all(file, CONFIG_FILE_MAX_BYTES, &text, &len, err);
    if (rc != FP_OK)
        return fp_error_wrap(err, "--config %s", file);
    rc = config_file_parse(file, (const char *)text, len, opts, out, err);
    free(text);
    return rc;
}

int config_file_merge(int argc, char **argv, const struct option *opts, config_args *out,
                      fp_error *err)
{
    memset(out, 0, sizeof *out);
    const char *file;
    int at, span;
    int rc = find_config(argc, argv, &at, &span, &file, err);
    if (rc != FP_OK)
        return rc;
    config_args settings;
    memset(&settings, 0, sizeof settings);
    if (file != NULL && (rc = read_config(file, opts, &settings, err)) != FP_OK)
        return rc;
    rc = args_push(out, argc > 0 ? argv[0] : (char *)(uintptr_t)"flagpost", false, err);
    for (int i = 0; i < settings.argc && rc == FP_OK; i++)
        rc = args_push(out, settings.argv[i], false, err);
    for (int i = 1; i < argc && rc == FP_OK; i++)
        if (at < 0 || i < at || i >= at + span)
            rc = args_push(out, argv[i], false, err);
    /* The file's strings now belong to the merged list. */
    if (rc == FP_OK) {
        out->owned = settings.owned;
        out->owned_count = settings.owned_count;
        settings.owned = NULL;
        settings.owned_count = 0;
    }
    config_args_free(&settings);
    if (rc != FP_OK)
        config_args_free(out);
    return rc;
}
