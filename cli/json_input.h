/*
 * json_input: a JSON document a command is given, from a file or from
 * standard input ("-"), read whole with a size limit and parsed with
 * duplicate keys refused.
 *
 * The documents are flags, MARAC answers and audit proofs; the first two
 * carry personal data in clear, so the raw bytes are wiped as soon as they
 * are parsed (the parsed values belong to jansson, whose allocator
 * json_wipe wipes).  Standard input has the same limit as a file, so a
 * pipe cannot make the command grow without bound.
 */
#ifndef FLAGPOST_JSON_INPUT_H
#define FLAGPOST_JSON_INPUT_H

#include <jansson.h>
#include <stddef.h>

#include "fp_error.h"

/* FP_OK with *out a new reference, or an error naming the file (or
 * "standard input") and, for bad JSON, the line and column. */
int json_input_read(const char *path, size_t max_bytes, json_t **out, fp_error *err);

#endif
