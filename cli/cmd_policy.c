/* SCAFFOLD: replaced by the module's real implementation before landing. */
#include <stdio.h>
#include "commands.h"
int cmd_policy(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "flagpost: 'policy' is not built yet\n");
    return CLI_FAILED;
}
