/*
 * fp_error: status codes plus a sentence for a person.  See fp_error.h.
 *
 * Messages are truncated rather than allocated: an error path must never
 * fail for lack of memory.
 */
#include "fp_error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int fp_error_set(fp_error *err, int code, const char *fmt, ...)
{
    if (err == NULL)
        return code;
    err->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    return code;
}

int fp_error_wrap(fp_error *err, const char *fmt, ...)
{
    if (err == NULL)
        return FP_ERR_INTERNAL;
    char prefix[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);

    /* Shift the old message right and put the prefix in front; whatever
     * no longer fits falls off the end. */
    size_t plen = strlen(prefix);
    size_t cap = sizeof err->message;
    if (plen + 2 >= cap)
        plen = cap - 3;
    size_t mlen = strnlen(err->message, cap - 1);
    if (plen + 2 + mlen >= cap)
        mlen = cap - 1 - plen - 2;
    memmove(err->message + plen + 2, err->message, mlen);
    memcpy(err->message, prefix, plen);
    err->message[plen] = ':';
    err->message[plen + 1] = ' ';
    err->message[plen + 2 + mlen] = '\0';
    return err->code;
}

void fp_error_clear(fp_error *err)
{
    if (err == NULL)
        return;
    err->code = FP_OK;
    err->message[0] = '\0';
}

const char *fp_status_name(int code)
{
    switch (code) {
    case FP_OK: return "ok";
    case FP_ERR_INPUT: return "input";
    case FP_ERR_IO: return "io";
    case FP_ERR_CRYPTO: return "crypto";
    case FP_ERR_DENIED: return "denied";
    case FP_ERR_NOT_FOUND: return "not-found";
    case FP_ERR_FULL: return "full";
    case FP_ERR_PERMISSIONS: return "permissions";
    case FP_ERR_VERSION: return "version";
    case FP_ERR_REPLAY: return "replay";
    case FP_ERR_TIME: return "time";
    case FP_ERR_UNAVAILABLE: return "unavailable";
    case FP_ERR_INTERNAL: return "internal";
    default: return "unknown";
    }
}
