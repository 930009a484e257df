/*
 * timefmt: the two time formats people see: ISO-8601 UTC instants
 * ("2026-11-22T11:20:25.123Z") and calendar dates ("2026-11-22"), and the
 * range of times flagpost accepts at all.
 *
 * Times arrive from the wire as bare 64-bit integers, some signed by a
 * partner and some not, so every function here is defined for every
 * int64_t: a time outside 1970-01-01T00:00:00Z .. 9999-12-31T23:59:59Z is
 * written as TIMEFMT_OUT_OF_RANGE, never as a wrapped or invented date.
 * Where a time enters (a flag's dates at the broker and the receiving
 * agent, a date typed by a person) it is checked with timefmt_in_range_s
 * and refused if outside, so arithmetic on it (seconds to milliseconds,
 * adding a retention period) cannot overflow.
 */
#ifndef FLAGPOST_TIMEFMT_H
#define FLAGPOST_TIMEFMT_H

#include <stdbool.h>
#include <stdint.h>

#define TIMEFMT_ISO_LEN 32
#define TIMEFMT_MAX_S 253402300799LL   /* 9999-12-31T23:59:59Z */
#define TIMEFMT_OUT_OF_RANGE "out-of-range"

/* 0 <= unix_s <= TIMEFMT_MAX_S. */
bool timefmt_in_range_s(int64_t unix_s);

void timefmt_iso_ms(int64_t unix_ms, char out[TIMEFMT_ISO_LEN]);
void timefmt_iso_s(int64_t unix_s, char out[TIMEFMT_ISO_LEN]);   /* no milliseconds */
void timefmt_date(int64_t unix_s, char out[TIMEFMT_ISO_LEN]);

#endif
