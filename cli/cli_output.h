/*
 * cli_output: a JSON value a `flagpost` command prints on standard output
 * (an agent's answer, an audit proof, a broker's status): the text and a
 * newline, or a message for the person when the text cannot be made.
 *
 * The text is made and freed by jansson, whose allocator `flagpost`'s main
 * replaces with json_wipe's (answers carry flags in clear), so it is wiped
 * once printed.
 */
#ifndef FLAGPOST_CLI_OUTPUT_H
#define FLAGPOST_CLI_OUTPUT_H

#include <jansson.h>
#include <stddef.h>

/* v encoded with jansson's flags (any value, not only an object or an
 * array), then a newline.  CLI_OK, or CLI_FAILED with "flagpost: out of
 * memory" on stderr when it cannot be encoded; v stays the caller's. */
int cli_output_json(const json_t *v, size_t flags);

#endif
