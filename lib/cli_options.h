/*
 * cli_options: small helpers shared by the programs' option parsing, so
 * every program reports a bad number the same way.
 */
#ifndef FLAGPOST_CLI_OPTIONS_H
#define FLAGPOST_CLI_OPTIONS_H

#include <stdint.h>

#include "fp_error.h"

/* Parse a non-negative decimal integer within [min, max] for option `name`. */
int cli_parse_int(const char *name, const char *text, int64_t min, int64_t max, int64_t *out,
                  fp_error *err);

#endif
