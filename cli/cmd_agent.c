/* SCAFFOLD: replaced by the module's real implementation before landing. */
#include <stdio.h>
#include "commands.h"
int cmd_agent(const char *endpoint, const char *command, int argc, char **argv)
{
    (void)endpoint;
    (void)argc;
    (void)argv;
    fprintf(stderr, "flagpost: unknown command '%s' (try flagpost --help)\n", command);
    return CLI_USAGE;
}
