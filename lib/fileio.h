/*
 * fileio: whole-file reads and crash-safe writes.
 *
 * fileio_write_atomic() writes to a temporary name in the same directory,
 * fsyncs it, renames it over the target and fsyncs the directory, so a
 * reader sees either the old file or the new one, never half of either.
 * Secret files are created with mode 0600 from the start (never chmod'ed
 * after the fact, which would leave a window).
 */
#ifndef FLAGPOST_FILEIO_H
#define FLAGPOST_FILEIO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "fp_error.h"

/* Read all of path into a malloc'd buffer (NUL-terminated for convenience;
 * *len excludes the NUL).  Refuses files larger than max_len. */
int fileio_read_all(const char *path, size_t max_len, uint8_t **out, size_t *len,
                    fp_error *err);

/* Atomically replace path with data, created with the given mode. */
int fileio_write_atomic(const char *path, const void *data, size_t len, mode_t mode,
                        fp_error *err);

/* mkdir -p with the given mode for directories it creates. */
int fileio_mkdirs(const char *path, mode_t mode, fp_error *err);

/* Join dir and name into out (size outsz); fails cleanly if too long. */
int fileio_join(char *out, size_t outsz, const char *dir, const char *name, fp_error *err);

#endif
