/*
 * cli_options: option value parsing.  See cli_options.h.
 */
#include "cli_options.h"

#include <errno.h>
#include <stdlib.h>

int cli_parse_int(const char *name, const char *text, int64_t min, int64_t max, int64_t *out,
                  fp_error *err)
{
    char *end = NULL;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || v < min || v > max)
        return fp_error_set(err, FP_ERR_INPUT, "%s: '%s' is not a number from %lld to %lld",
                            name, text, (long long)min, (long long)max);
    *out = v;
    return FP_OK;
}
