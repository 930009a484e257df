/*
 * keyfile: reading and writing key material on disk.
 *
 * Format: a text file of two lines,
 *     flagpost-<kind>-v1
 *     <base64 of the key bytes>
 * so an operator can tell files apart and a key of one kind is never loaded
 * as another.  Secret files are written 0600 and a secret file that group
 * or others can read is refused (FP_ERR_PERMISSIONS) with the chmod to run.
 * Secret bytes are returned in sodium_malloc memory; the caller frees them
 * with keyfile_free_secret(), which wipes them.
 */
#ifndef FLAGPOST_KEYFILE_H
#define FLAGPOST_KEYFILE_H

#include <stdbool.h>
#include <stddef.h>

#include "fp_error.h"

int keyfile_write_secret(const char *path, const char *kind, const unsigned char *key,
                         size_t len, fp_error *err);
int keyfile_write_public(const char *path, const char *kind, const unsigned char *key,
                         size_t len, fp_error *err);

/* Loads exactly len bytes into a fresh sodium_malloc buffer (*out). */
int keyfile_read_secret(const char *path, const char *kind, unsigned char **out,
                        size_t len, fp_error *err);
/* Loads exactly len bytes into out (a caller buffer). */
int keyfile_read_public(const char *path, const char *kind, unsigned char *out,
                        size_t len, fp_error *err);

void keyfile_free_secret(unsigned char *key, size_t len);

#endif
