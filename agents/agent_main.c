/* SCAFFOLD: replaced by the real program before landing. */
#include <stdio.h>
int main(void)
{
    fputs("not built yet\n", stderr);
    return 1;
}
