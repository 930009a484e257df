/*
 * timefmt: the two time formats people see: ISO-8601 UTC instants
 * ("2026-11-22T11:20:25.123Z") and calendar dates ("2026-11-22").
 */
#ifndef FLAGPOST_TIMEFMT_H
#define FLAGPOST_TIMEFMT_H

#include <stdint.h>

#define TIMEFMT_ISO_LEN 32

void timefmt_iso_ms(int64_t unix_ms, char out[TIMEFMT_ISO_LEN]);
void timefmt_date(int64_t unix_s, char out[TIMEFMT_ISO_LEN]);

#endif
