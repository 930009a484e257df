/*
 * bench_time: the clock and the sort order every bench program uses for
 * its timings.  Header-only, so the peer programs, which bench/run builds
 * on their own with cc, can include it too.
 */
#ifndef FLAGPOST_BENCH_TIME_H
#define FLAGPOST_BENCH_TIME_H

#include <stdio.h>
#include <stdlib.h>
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

/* If the environment variable env_name names a file, write the samples to
 * it in the order taken, one "index value" line each (for looking at a
 * tail in time, e.g. a period); call before sorting them. */
static inline void bench_write_trace(const char *env_name, const double *v, size_t n)
{
    const char *path = getenv(env_name);
    FILE *f = path != NULL ? fopen(path, "w") : NULL;
    for (size_t i = 0; f != NULL && i < n; i++)
        fprintf(f, "%zu %.1f\n", i, v[i]);
    if (f != NULL)
        fclose(f);
}

#endif
