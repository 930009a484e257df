/*
 * timefmt: formatting instants and dates in UTC.  See timefmt.h.
 *
 * The range check comes before gmtime_r: past year 9999 the text would
 * need more digits than the formats have, and far enough out gmtime_r
 * fails and leaves its struct unset.
 */
#include "timefmt.h"

#include <stdio.h>
#include <time.h>

bool timefmt_in_range_s(int64_t unix_s)
{
    return unix_s >= 0 && unix_s <= TIMEFMT_MAX_S;
}

/* Fills tm (tm_year as the year, tm_mon from 1), or writes
 * TIMEFMT_OUT_OF_RANGE to out and returns false. */
static bool utc_fields(int64_t unix_s, struct tm *tm, char out[TIMEFMT_ISO_LEN])
{
    time_t s = (time_t)unix_s;
    if (!timefmt_in_range_s(unix_s) || gmtime_r(&s, tm) == NULL) {
        snprintf(out, TIMEFMT_ISO_LEN, "%s", TIMEFMT_OUT_OF_RANGE);
        return false;
    }
    /* No-ops after the range check; they show the compiler each field's
     * width, so it can see the text fits. */
    tm->tm_year = (tm->tm_year + 1900) % 10000;
    tm->tm_mon = (tm->tm_mon + 1) % 100;
    tm->tm_mday %= 100;
    tm->tm_hour %= 100;
    tm->tm_min %= 100;
    tm->tm_sec %= 100;
    return true;
}

void timefmt_iso_ms(int64_t unix_ms, char out[TIMEFMT_ISO_LEN])
{
    struct tm tm;
    /* -1: before 1970 (and a negative millisecond field) is out of range */
    if (!utc_fields(unix_ms < 0 ? -1 : unix_ms / 1000, &tm, out))
        return;
    snprintf(out, TIMEFMT_ISO_LEN, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year, tm.tm_mon,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(unix_ms % 1000));
}

void timefmt_iso_s(int64_t unix_s, char out[TIMEFMT_ISO_LEN])
{
    struct tm tm;
    if (utc_fields(unix_s, &tm, out))
        snprintf(out, TIMEFMT_ISO_LEN, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year, tm.tm_mon,
                 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

void timefmt_date(int64_t unix_s, char out[TIMEFMT_ISO_LEN])
{
    struct tm tm;
    if (utc_fields(unix_s, &tm, out))
        snprintf(out, TIMEFMT_ISO_LEN, "%04d-%02d-%02d", tm.tm_year, tm.tm_mon, tm.tm_mday);
}
