/*
 * bench_time: the clock and the sort order every bench program uses for
 * its timings.  Header-only, so the peer programs, which bench/run builds
 * on their own with cc, can include it too.
 */
#ifndef FLAGPOST_BENCH_TIME_H
#define FLAGPOST_BENCH_TIME_H

#include <time.h>

/* Seconds on the monotonic clock: for intervals, never for dates. */
static inline double bench_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* qsort order for doubles (medians and percentiles). */
static inline int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

#endif
