/*
 * spool_name: the file names of the spool directory (spool.h), kept apart
 * from the file handling so the rules can be checked on any name without
 * a directory: which names in in/ are finished flags, and the names the
 * agent derives from one when it moves the file to done/ or failed/ and
 * writes an answer beside it.
 *
 * Names come from readdir, so they are whatever a case system (or anyone
 * who can write into in/) chose: any bytes but '/' and NUL, up to 255 of
 * them.  Every derived name fits SPOOL_NAME_MAX or is refused; nothing is
 * ever truncated into a different name.
 */
#ifndef FLAGPOST_SPOOL_NAME_H
#define FLAGPOST_SPOOL_NAME_H

#include <stdbool.h>
#include <stddef.h>

#include "fp_error.h"

#define SPOOL_NAME_MAX 256
#define SPOOL_NAME_TRIES 10000   /* NAME.json, NAME-2.json ... NAME-9999.json */

/* A finished flag file: NAME.json with a non-empty NAME, not hidden (no
 * leading '.'), no '/', and short enough for every derived name. */
bool spool_name_wanted(const char *name);

/* The name to try the n-th time (1 <= n < SPOOL_NAME_TRIES) when moving a
 * wanted name into done/ or failed/: the name itself, then STEM-n.json.
 * FP_ERR_INPUT for a name that is not wanted or an n out of range. */
int spool_name_numbered(const char *name, int n, char out[SPOOL_NAME_MAX], fp_error *err);

/* STEM + suffix for a file beside a wanted name (NAME.error,
 * NAME.result.json).  FP_ERR_INPUT when it would not fit in outsz. */
int spool_name_beside(const char *name, const char *suffix, char *out, size_t outsz,
                      fp_error *err);

#endif
