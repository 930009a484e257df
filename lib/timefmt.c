/*
 * timefmt: formatting instants and dates in UTC.  See timefmt.h.
 */
#include "timefmt.h"

#include <stdio.h>
#include <time.h>

void timefmt_iso_ms(int64_t unix_ms, char out[TIMEFMT_ISO_LEN])
{
    time_t s = (time_t)(unix_ms / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    snprintf(out, TIMEFMT_ISO_LEN, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
             (tm.tm_year + 1900) % 10000, (tm.tm_mon + 1) % 100, tm.tm_mday % 100,
             tm.tm_hour % 100, tm.tm_min % 100, tm.tm_sec % 100, (int)(unix_ms % 1000));
}

void timefmt_date(int64_t unix_s, char out[TIMEFMT_ISO_LEN])
{
    time_t s = (time_t)unix_s;
    struct tm tm;
    gmtime_r(&s, &tm);
    snprintf(out, TIMEFMT_ISO_LEN, "%04d-%02d-%02d", (tm.tm_year + 1900) % 10000,
             (tm.tm_mon + 1) % 100, tm.tm_mday % 100);
}
