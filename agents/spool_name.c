/*
 * spool_name: spool file names.  See spool_name.h.
 *
 * The length limit in spool_name_wanted leaves room for the longest
 * derived name ("-9999" before ".json", or a suffix beside it), so the
 * moves that follow can never fail on a name that was accepted.
 */
#include "spool_name.h"

#include <stdio.h>
#include <string.h>

#define JSON_EXT ".json"
#define JSON_EXT_LEN 5
#define SUFFIX_ROOM 16   /* "-9999" or ".result.json" */

bool spool_name_wanted(const char *name)
{
    size_t n = strlen(name);
    return name[0] != '.' && n > JSON_EXT_LEN && n < SPOOL_NAME_MAX - SUFFIX_ROOM &&
           strcmp(name + n - JSON_EXT_LEN, JSON_EXT) == 0 && strchr(name, '/') == NULL;
}

int spool_name_numbered(const char *name, int n, char out[SPOOL_NAME_MAX], fp_error *err)
{
    if (!spool_name_wanted(name))
        return fp_error_set(err, FP_ERR_INPUT, "'%s' is not a spool flag file name", name);
    if (n < 1 || n >= SPOOL_NAME_TRIES)
        return fp_error_set(err, FP_ERR_INPUT, "no spool name number %d", n);
    int stem = (int)(strlen(name) - JSON_EXT_LEN);
    int len = n == 1 ? snprintf(out, SPOOL_NAME_MAX, "%s", name)
                     : snprintf(out, SPOOL_NAME_MAX, "%.*s-%d" JSON_EXT, stem, name, n);
    if (len < 0 || len >= SPOOL_NAME_MAX)
        return fp_error_set(err, FP_ERR_INPUT, "'%s' is too long a spool file name", name);
    return FP_OK;
}

int spool_name_beside(const char *name, const char *suffix, char *out, size_t outsz,
                      fp_error *err)
{
    size_t n = strlen(name);
    if (n < JSON_EXT_LEN || strcmp(name + n - JSON_EXT_LEN, JSON_EXT) != 0)
        return fp_error_set(err, FP_ERR_INPUT, "'%s' is not a spool flag file name", name);
    int len = snprintf(out, outsz, "%.*s%s", (int)(n - JSON_EXT_LEN), name, suffix);
    if (len < 0 || (size_t)len >= outsz)
        return fp_error_set(err, FP_ERR_INPUT, "'%s' is too long a spool file name", name);
    return FP_OK;
}
