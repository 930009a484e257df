/*
 * ca_dir: opening a CA directory for one operation (internal to ca_*.c).
 *
 * ca_dir_open() takes an exclusive lock on DIR/lock so two operators (or
 * two scripts) can never hand out the same serial or lose a revocation,
 * then loads the CA key (refusing a readable ca.key) and checks it against
 * ca.pub.  ca_dir_close() wipes the key and drops the lock.
 */
#ifndef FLAGPOST_CA_DIR_H
#define FLAGPOST_CA_DIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cert.h"
#include "fp_error.h"

#define CA_PATH_MAX 4096

typedef struct ca_dir {
    const char *dir;
    int lock_fd;                     /* -1 when not locked */
    unsigned char *secret;           /* 64, sodium_malloc; NULL if not loaded */
    unsigned char public_key[32];
    char name[CERT_NAME_MAX];
} ca_dir;

/* with_secret false: lock and read the public half only (export). */
int ca_dir_open(ca_dir *ca, const char *dir, bool with_secret, fp_error *err);
void ca_dir_close(ca_dir *ca);

/* DIR/name into out (CA_PATH_MAX). */
int ca_dir_path(char out[CA_PATH_MAX], const char *dir, const char *name, fp_error *err);

/* True if DIR/name exists (any kind of file). */
bool ca_dir_has(const char *dir, const char *name);

/* Copy a public file verbatim, written 0644. */
int ca_dir_copy_public(const char *from, const char *to, size_t max, fp_error *err);

int64_t ca_dir_now(void);

#endif
