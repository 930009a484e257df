/*
 * test_timefmt: every int64_t formats to a real time or to "out-of-range",
 * never to a wrapped year or uninitialised fields (times come off the wire
 * as bare integers).  Reference instants from `date -u -d @SECONDS`.
 */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "timefmt.h"

static void test_in_range_instants(void)
{
    char out[TIMEFMT_ISO_LEN];
    timefmt_iso_ms(0, out);
    CHECK_EQ_STR(out, "1970-01-01T00:00:00.000Z");
    timefmt_iso_ms(1763810425123LL, out);
    CHECK_EQ_STR(out, "2025-11-22T11:20:25.123Z");
    timefmt_iso_ms(TIMEFMT_MAX_S * 1000 + 999, out);
    CHECK_EQ_STR(out, "9999-12-31T23:59:59.999Z");
    timefmt_iso_s(1763810425, out);
    CHECK_EQ_STR(out, "2025-11-22T11:20:25Z");
    timefmt_date(1709164800, out);
    CHECK_EQ_STR(out, "2024-02-29");
    timefmt_date(TIMEFMT_MAX_S, out);
    CHECK_EQ_STR(out, "9999-12-31");
}

static void test_out_of_range_is_said(void)
{
    const int64_t seconds[] = {-1, INT64_MIN, TIMEFMT_MAX_S + 1, INT64_MAX, -62167219200LL};
    for (size_t i = 0; i < sizeof seconds / sizeof seconds[0]; i++) {
        char a[TIMEFMT_ISO_LEN] = "x", b[TIMEFMT_ISO_LEN] = "x";
        timefmt_date(seconds[i], a);
        timefmt_iso_s(seconds[i], b);
        CHECK_EQ_STR(a, TIMEFMT_OUT_OF_RANGE);
        CHECK_EQ_STR(b, TIMEFMT_OUT_OF_RANGE);
        CHECK(!timefmt_in_range_s(seconds[i]));
    }
    const int64_t ms[] = {-1, -999, INT64_MIN, INT64_MAX, (TIMEFMT_MAX_S + 1) * 1000};
    for (size_t i = 0; i < sizeof ms / sizeof ms[0]; i++) {
        char out[TIMEFMT_ISO_LEN] = "x";
        timefmt_iso_ms(ms[i], out);
        CHECK_EQ_STR(out, TIMEFMT_OUT_OF_RANGE);
    }
    CHECK(timefmt_in_range_s(0));
    CHECK(timefmt_in_range_s(TIMEFMT_MAX_S));
}

int main(void)
{
    RUN(test_in_range_instants);
    RUN(test_out_of_range_is_said);
    return check_summary();
}
