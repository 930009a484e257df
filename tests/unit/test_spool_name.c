/*
 * Unit tests for the spool file-name rules (agents/spool_name.c): which
 * names in DIR/in are read as flags, and the names derived from them for
 * done/, failed/ and the answers beside them.  fuzz_spool_name checks the
 * same promises on any name; these pin down the cases people rely on.
 */
#include <string.h>

#include "check.h"
#include "spool_name.h"

static void test_wanted_names(void)
{
    CHECK(spool_name_wanted("case-1234.json"));
    CHECK(spool_name_wanted("referral 2024-03-01 (urgent).json"));
    CHECK(!spool_name_wanted(".case-1234.json"));        /* hidden: being written */
    CHECK(!spool_name_wanted("case-1234.json.tmp"));
    CHECK(!spool_name_wanted("case-1234.json.part"));
    CHECK(!spool_name_wanted(".json"));
    CHECK(!spool_name_wanted("a/b.json"));
    CHECK(!spool_name_wanted(""));
    char longest[SPOOL_NAME_MAX];
    memset(longest, 'x', sizeof longest);
    strcpy(longest + 234, ".json");
    CHECK(spool_name_wanted(longest));
    memset(longest, 'x', sizeof longest);
    strcpy(longest + 235, ".json");
    CHECK(!spool_name_wanted(longest));   /* no room left for "-9999" */
}

static void test_numbered_names(void)
{
    char out[SPOOL_NAME_MAX];
    fp_error err;
    CHECK_EQ_INT(spool_name_numbered("case.json", 1, out, &err), FP_OK);
    CHECK_EQ_STR(out, "case.json");
    CHECK_EQ_INT(spool_name_numbered("case.json", 2, out, &err), FP_OK);
    CHECK_EQ_STR(out, "case-2.json");
    CHECK_EQ_INT(spool_name_numbered("case.json", SPOOL_NAME_TRIES - 1, out, &err), FP_OK);
    CHECK_EQ_STR(out, "case-9999.json");
    CHECK_EQ_INT(spool_name_numbered("case.json", SPOOL_NAME_TRIES, out, &err), FP_ERR_INPUT);
    CHECK_EQ_INT(spool_name_numbered(".case.json", 1, out, &err), FP_ERR_INPUT);
    CHECK(strstr(err.message, "not a spool flag file name") != NULL);
}

static void test_names_beside(void)
{
    char out[SPOOL_NAME_MAX + 32];
    fp_error err;
    CHECK_EQ_INT(spool_name_beside("case-2.json", ".error", out, sizeof out, &err), FP_OK);
    CHECK_EQ_STR(out, "case-2.error");
    CHECK_EQ_INT(spool_name_beside("case.json", ".result.json", out, sizeof out, &err), FP_OK);
    CHECK_EQ_STR(out, "case.result.json");
    CHECK_EQ_INT(spool_name_beside("case.json", ".result.json", out, 8, &err), FP_ERR_INPUT);
    CHECK_EQ_INT(spool_name_beside("case.txt", ".error", out, sizeof out, &err), FP_ERR_INPUT);
}

int main(void)
{
    RUN(test_wanted_names);
    RUN(test_numbered_names);
    RUN(test_names_beside);
    return check_summary();
}
