/*
 * fuzz_spool_name: libFuzzer target for the spool file-name rules
 * (agents/spool_name.c): which names a case system drops into DIR/in are
 * read as flags, and the names the agent derives from them for done/,
 * failed/ and the answers written beside them.
 *
 * The input, up to its first NUL (as a name from readdir would be), is a
 * file name.  A wanted name must not be hidden, must end in ".json" after
 * a non-empty stem and hold no '/'; every numbered name derived from it
 * (the 1st, 2nd and last try) must succeed, fit SPOOL_NAME_MAX, end in
 * ".json", keep the stem, never start with '.', never repeat; and the
 * ".error" and ".result.json" names beside any of them must fit and keep
 * the stem.  A name that is not wanted must be refused by the numbering,
 * with a reason.
 *
 * Built and run by scripts/fuzz; seeds in fuzz/corpus/spool_name are
 * names a case system writes, or is told not to (temporaries, hidden).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "spool_name.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void need(int cond)
{
    if (!cond)
        abort();
}

static void check_beside(const char *name, size_t stem)
{
    static const char *const suffixes[] = {".error", ".result.json"};
    for (size_t i = 0; i < 2; i++) {
        char out[SPOOL_NAME_MAX + 32];
        need(spool_name_beside(name, suffixes[i], out, sizeof out, NULL) == FP_OK);
        need(strncmp(out, name, stem) == 0 && strcmp(out + stem, suffixes[i]) == 0);
    }
}

static void check_wanted(const char *name)
{
    size_t len = strlen(name), stem = len - 5;
    need(name[0] != '.' && len > 5 && strcmp(name + stem, ".json") == 0);
    need(strchr(name, '/') == NULL);
    static const int tries[] = {1, 2, 17, SPOOL_NAME_TRIES - 1};
    char prev[4][SPOOL_NAME_MAX];
    for (size_t i = 0; i < 4; i++) {
        char *out = prev[i];
        need(spool_name_numbered(name, tries[i], out, NULL) == FP_OK);
        size_t n = strlen(out);
        need(n < SPOOL_NAME_MAX && n > 5 && strcmp(out + n - 5, ".json") == 0);
        need(strncmp(out, name, stem) == 0 && out[0] != '.');
        need(i == 0 ? strcmp(out, name) == 0 : out[stem] == '-');
        for (size_t j = 0; j < i; j++)
            need(strcmp(prev[j], out) != 0);
        check_beside(out, n - 5);
    }
    char out[SPOOL_NAME_MAX];
    need(spool_name_numbered(name, 0, out, NULL) == FP_ERR_INPUT);
    need(spool_name_numbered(name, SPOOL_NAME_TRIES, out, NULL) == FP_ERR_INPUT);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char name[1024];
    if (size >= sizeof name)
        size = sizeof name - 1;
    memcpy(name, data, size);
    name[size] = '\0';
    if (spool_name_wanted(name)) {
        check_wanted(name);
    } else {
        char out[SPOOL_NAME_MAX];
        fp_error err;
        err.message[0] = '\0';
        need(spool_name_numbered(name, 1, out, &err) == FP_ERR_INPUT);
        need(err.code == FP_ERR_INPUT && err.message[0] != '\0');
    }
    return 0;
}
