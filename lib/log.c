/*
 * log: timestamped single-line events on stderr.  See log.h.
 *
 * Each line is formatted into a local buffer and written with one write(2)
 * so lines from several threads or processes never interleave mid-line.
 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *const level_names[] = {"error", "warn", "info", "debug"};

int log_level_parse(const char *name)
{
    for (int i = 0; i <= LOG_DEBUG; i++)
        if (strcmp(name, level_names[i]) == 0)
            return i;
    return -1;
}

/* Copy src[0..n) to dst, writing each control byte (newline, carriage
 * return, escape, ...) as \xHH, so no value can end the line early or
 * forge the next one (a spool file name, an agency's error text).
 * Returns the bytes written; dst has room for 4 * n. */
static size_t escape_controls(char *dst, const char *src, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)src[i];
        if (c < 0x20 || c == 0x7f) {
            dst[k++] = '\\';
            dst[k++] = 'x';
            dst[k++] = hex[c >> 4];
            dst[k++] = hex[c & 15];
        } else {
            dst[k++] = (char)c;
        }
    }
    return k;
}

void log_event(const fp_log *log, int level, const char *event, const char *fmt, ...)
{
    if (log == NULL || level > log->level)
        return;
    char raw[1024];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(raw, sizeof raw, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s %s %s",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                     tm.tm_sec, ts.tv_nsec / 1000000, log->program, level_names[level],
                     event);
    if (n < 0 || (size_t)n >= sizeof raw - 2)
        n = (int)sizeof raw - 2;
    if (fmt != NULL && fmt[0] != '\0') {
        raw[n++] = ' ';
        va_list ap;
        va_start(ap, fmt);
        int m = vsnprintf(raw + n, sizeof raw - (size_t)n - 1, fmt, ap);
        va_end(ap);
        if (m > 0)
            n += m < (int)(sizeof raw - (size_t)n - 1) ? m : (int)(sizeof raw - (size_t)n - 2);
    }
    char line[4 * sizeof raw + 1];
    size_t len = escape_controls(line, raw, (size_t)n);
    line[len++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w;
}
