/*
 * json_input: see json_input.h.
 *
 * Standard input is read with read(2) into a buffer that doubles, the old
 * copy wiped before it is freed (realloc could leave one behind), rather
 * than through stdio and json_loadf, which would leave the text in stdio's
 * buffer and read without a limit.
 */
#include "json_input.h"

#include <errno.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fileio.h"

#define STDIN_FIRST 4096

static void wipe_free(uint8_t *buf, size_t len)
{
    if (buf != NULL)
        sodium_memzero(buf, len);
    free(buf);
}

/* Double the buffer, moving what it holds and wiping the old copy; on
 * failure the old buffer is wiped and freed too. */
static uint8_t *grow(uint8_t *buf, size_t used, size_t *cap)
{
    uint8_t *bigger = malloc(*cap * 2);
    if (bigger != NULL)
        memcpy(bigger, buf, used);
    wipe_free(buf, used);
    *cap *= 2;
    return bigger;
}

static int read_stdin(size_t max_bytes, uint8_t **out, size_t *len, fp_error *err)
{
    size_t cap = STDIN_FIRST, used = 0;
    uint8_t *buf = malloc(cap);
    for (;;) {
        if (buf == NULL)
            return fp_error_set(err, FP_ERR_IO, "out of memory reading standard input");
        if (used > max_bytes) {
            wipe_free(buf, used);
            return fp_error_set(err, FP_ERR_INPUT,
                                "standard input holds more than %zu bytes, the limit",
                                max_bytes);
        }
        if (used == cap) {
            buf = grow(buf, used, &cap);
            continue;
        }
        ssize_t n = read(STDIN_FILENO, buf + used, cap - used);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            wipe_free(buf, used);
            return fp_error_set(err, FP_ERR_IO, "cannot read standard input: %s", strerror(e));
        }
        if (n == 0) {
            *out = buf;
            *len = used;
            return FP_OK;
        }
        used += (size_t)n;
    }
}

int json_input_read(const char *path, size_t max_bytes, json_t **out, fp_error *err)
{
    *out = NULL;
    bool from_stdin = strcmp(path, "-") == 0;
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = from_stdin ? read_stdin(max_bytes, &buf, &len, err)
                        : fileio_read_all(path, max_bytes, &buf, &len, err);
    if (rc != FP_OK)
        return rc;
    json_error_t jerr;
    *out = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, &jerr);
    wipe_free(buf, len);
    if (*out == NULL)
        return fp_error_set(err, FP_ERR_INPUT, "%s: malformed JSON at line %d, column %d: %s",
                            from_stdin ? "standard input" : path, jerr.line, jerr.column,
                            jerr.text);
    return FP_OK;
}
