/*
 * fp_error: how flagpost tells a person what went wrong.
 *
 * Every fallible function returns an int status (FP_OK or a negative
 * FP_ERR_* code) and, when given a non-NULL fp_error, fills in a sentence
 * that names the field or file, what was wrong, and what to do.  Callers
 * return the code upward; only main() decides whether to print and exit.
 *
 *     if (thing_load(path, &t, err) != FP_OK)
 *         return err->code;
 *
 * fp_error_set() returns the code it stored so a failure can be reported
 * and returned in one statement.  The message never holds a secret or a
 * field value: callers describe data by its name, never by its content.
 */
#ifndef FLAGPOST_FP_ERROR_H
#define FLAGPOST_FP_ERROR_H

#include <stddef.h>

enum fp_status {
    FP_OK = 0,
    FP_ERR_INPUT = -1,        /* malformed or invalid input from a person or file */
    FP_ERR_IO = -2,           /* filesystem, database or socket failure */
    FP_ERR_CRYPTO = -3,       /* a signature, MAC or key did not verify */
    FP_ERR_DENIED = -4,       /* the policy or a certificate check said no */
    FP_ERR_NOT_FOUND = -5,
    FP_ERR_FULL = -6,         /* storage full: retry after space is freed */
    FP_ERR_PERMISSIONS = -7,  /* a secret file is readable by others */
    FP_ERR_VERSION = -8,      /* a format version this build does not know */
    FP_ERR_REPLAY = -9,
    FP_ERR_TIME = -10,        /* outside the allowed clock skew, or expired */
    FP_ERR_UNAVAILABLE = -11, /* a peer did not answer in time */
    FP_ERR_INTERNAL = -12     /* a bug: please report it */
};

typedef struct fp_error {
    int code;
    char message[768];
} fp_error;

/* Record code and a printf-style message in err (if non-NULL); returns code. */
int fp_error_set(fp_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefix an existing message with context, e.g. the file being read. */
int fp_error_wrap(fp_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

void fp_error_clear(fp_error *err);

/* Short stable name for a status, e.g. "input", "crypto". */
const char *fp_status_name(int code);

#endif
