/*
 * log: one line per event on stderr, for journald or a terminal.
 *
 *   2026-11-22T11:20:25.123Z flagpost-broker info connect agency=met-police
 *
 * Lines are "timestamp program level event key=value...".  Control bytes
 * in what is logged (a newline in a spool file name, say) are written as
 * \xHH, so one event is always exactly one line and none can be forged
 * by a value.  Callers log
 * identifiers (agency ids, message ids, counts, rule ids) and never a
 * secret or a field value; that is a rule of every call site, not something
 * this module can check.  The fp_log struct is owned by main() and passed
 * down, so there is no global logging state.
 */
#ifndef FLAGPOST_LOG_H
#define FLAGPOST_LOG_H

enum log_level { LOG_ERROR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3 };

typedef struct fp_log {
    int level;            /* lines above this level are dropped */
    const char *program;
} fp_log;

/* Parse "error", "warn", "info", "debug"; returns -1 if unknown. */
int log_level_parse(const char *name);

void log_event(const fp_log *log, int level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
