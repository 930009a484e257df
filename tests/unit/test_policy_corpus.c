/*
 * Broken policies: every tests/policy_corpus/NAME.yaml is checked and must
 * produce exactly the diagnostics listed in NAME.expect ("LINE:COLUMN
 * message" per line, '#' lines are comments), in any order.  So every
 * error keeps its position and sentence, every error in a file is found,
 * and no spurious one appears.
 */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "fileio.h"
#include "policy.h"

#define CORPUS "tests/policy_corpus"
#define MAX_DIAGS 32

typedef struct diag {
    int line, col;
    char msg[512];
    bool matched;
} diag;

typedef struct diags {
    diag d[MAX_DIAGS];
    size_t n, overflow;
} diags;

static void collect(void *ctx, const char *source, int line, int column, const char *msg)
{
    (void)source;
    diags *ds = ctx;
    if (ds->n == MAX_DIAGS) {
        ds->overflow++;
        return;
    }
    diag *d = &ds->d[ds->n++];
    d->line = line;
    d->col = column;
    snprintf(d->msg, sizeof d->msg, "%s", msg);
    d->matched = false;
}

/* Match one expectation line against the collected diagnostics. */
static bool expect_line(diags *ds, const char *line, const char *file)
{
    int l = 0, c = 0, off = 0;
    if (sscanf(line, "%d:%d %n", &l, &c, &off) != 2 || off == 0) {
        printf("#   %s: malformed expectation: %s\n", file, line);
        return false;
    }
    for (size_t i = 0; i < ds->n; i++) {
        diag *d = &ds->d[i];
        if (!d->matched && d->line == l && d->col == c && strstr(d->msg, line + off)) {
            d->matched = true;
            return true;
        }
    }
    printf("#   %s: expected %d:%d %s\n", file, l, c, line + off);
    return false;
}

static bool check_file(const char *name)
{
    char ypath[512], epath[512];
    snprintf(ypath, sizeof ypath, "%s/%s", CORPUS, name);
    snprintf(epath, sizeof epath, "%s/%.*s.expect", CORPUS, (int)(strlen(name) - 5), name);
    uint8_t *text = NULL, *expect = NULL;
    size_t len = 0, elen = 0;
    fp_error err = { 0 };
    if (fileio_read_all(ypath, 1 << 20, &text, &len, &err) != FP_OK ||
        fileio_read_all(epath, 1 << 20, &expect, &elen, &err) != FP_OK) {
        printf("#   %s\n", err.message);
        free(text);
        return false;
    }
    diags ds = { .n = 0 };
    policy *p = NULL;
    int rc = policy_parse_report(&p, (const char *)text, len, name, collect, &ds, &err);
    bool ok = rc == FP_ERR_INPUT && p == NULL && ds.overflow == 0;
    /* The summary error names the first problem with its position. */
    char prefix[600];
    snprintf(prefix, sizeof prefix, "%s:%d:%d: ", name, ds.d[0].line, ds.d[0].col);
    ok = ok && ds.n > 0 && (ds.d[0].line == 0 || strncmp(err.message, prefix, strlen(prefix)) == 0);
    size_t expected = 0;
    for (char *save = NULL, *ln = strtok_r((char *)expect, "\n", &save); ln != NULL;
         ln = strtok_r(NULL, "\n", &save)) {
        if (ln[0] == '#' || ln[0] == '\0')
            continue;
        expected++;
        ok = expect_line(&ds, ln, name) && ok;
    }
    if (expected != ds.n) {
        printf("#   %s: %zu diagnostics, %zu expected:\n", name, ds.n, expected);
        for (size_t i = 0; i < ds.n; i++)
            printf("#     %d:%d %s\n", ds.d[i].line, ds.d[i].col, ds.d[i].msg);
        ok = false;
    }
    policy_free(p);
    free(text);
    free(expect);
    return ok;
}

static void test_corpus(void)
{
    DIR *dir = opendir(CORPUS);
    CHECK(dir != NULL);
    if (dir == NULL)
        return;
    size_t files = 0;
    struct dirent *e;
    while ((e = readdir(dir)) != NULL) {
        size_t n = strlen(e->d_name);
        if (n < 6 || strcmp(e->d_name + n - 5, ".yaml") != 0)
            continue;
        files++;
        bool ok = check_file(e->d_name);
        if (!ok)
            printf("#   %s failed\n", e->d_name);
        CHECK(ok);
    }
    closedir(dir);
    CHECK(files >= 25);
}

static void test_example_is_clean(void)
{
    diags ds = { .n = 0 };
    uint8_t *text = NULL;
    size_t len = 0;
    fp_error err = { 0 };
    CHECK_EQ_INT(fileio_read_all("policy/examples/tri-borough.yaml", 1 << 22, &text, &len, &err),
                 FP_OK);
    policy *p = NULL;
    CHECK_EQ_INT(policy_parse_report(&p, (const char *)text, len, "example", collect, &ds, &err),
                 FP_OK);
    CHECK_EQ_INT(ds.n, 0);
    CHECK(p != NULL);
    CHECK_EQ_STR(policy_name(p), "tri-borough-vawg-isa");
    policy_free(p);
    free(text);
}

int main(void)
{
    RUN(test_corpus);
    RUN(test_example_is_clean);
    return check_summary();
}
