/*
 * cli_output: see cli_output.h.
 */
#include "cli_output.h"

#include <stdio.h>

#include "commands.h"
#include "json_wipe.h"

int cli_output_json(const json_t *v, size_t flags)
{
    /* JSON_ENCODE_ANY: a command may print one element of an answer
     * (a flag of `lookup`, a notice), which need not be an object. */
    char *text = json_dumps(v, flags | JSON_ENCODE_ANY);
    if (text == NULL) {
        fputs("flagpost: out of memory\n", stderr);
        return CLI_FAILED;
    }
    puts(text);
    json_text_free(text);
    return CLI_OK;
}
