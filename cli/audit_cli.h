/*
 * audit_cli: what the `flagpost audit` subcommands share — opening the
 * broker's data directory read-only, finding the broker's checkpoint keys
 * in a CA bundle, turning --nhs/--name/--dob/--postcode/--uprn and a
 * linkage key into pseudonyms, and small output helpers.
 *
 * The audit tools never write to the broker's data: they open the LMDB
 * environment read-only inside one read transaction (a consistent snapshot
 * while the broker keeps running) and refuse a directory that holds no
 * flagpost data rather than create one there.
 */
#ifndef FLAGPOST_AUDIT_CLI_H
#define FLAGPOST_AUDIT_CLI_H

#include <lmdb.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "audit_log.h"
#include "fp_error.h"
#include "pseudonym.h"

typedef struct audit_cli_store {
    MDB_env *env;
    audit_log *log;
    MDB_txn *txn;                /* read-only snapshot */
    uint64_t size;               /* entries in the snapshot */
} audit_cli_store;

int audit_cli_open(const char *dir, audit_cli_store *st, fp_error *err);
void audit_cli_close(audit_cli_store *st);

/* The broker's Ed25519 checkpoint keys from the CA bundle in ca_dir: the
 * newest valid broker certificate's first, then every other broker
 * certificate the CA issued (checkpoints signed before a key rotation).
 * *keys is malloc'd. */
int audit_cli_broker_keys(const char *ca_dir, unsigned char (**keys)[32], size_t *nkeys,
                          fp_error *err);

typedef struct audit_cli_subject {
    const char *linkage_key;     /* path of the keyfile (kind "linkage-key") */
    subject_identifiers ids;
} audit_cli_subject;

bool audit_cli_subject_given(const audit_cli_subject *s);
/* Derive the subject's pseudonyms; the linkage key is wiped after use. */
int audit_cli_subject_pseudonyms(const audit_cli_subject *s, pseudonym out[PSEUDONYM_MAX],
                                 size_t *n, fp_error *err);

/* getopt_long ids of the subject options, so every command spells them the
 * same; audit_cli_subject_option() stores one and returns true if `id` was
 * one of them. */
enum {
    AUDIT_OPT_NHS = 1000,
    AUDIT_OPT_NAME,
    AUDIT_OPT_DOB,
    AUDIT_OPT_POSTCODE,
    AUDIT_OPT_UPRN,
    AUDIT_OPT_LINKAGE_KEY
};
bool audit_cli_subject_option(audit_cli_subject *s, int id, const char *value);
#define AUDIT_CLI_SUBJECT_LONGOPTS                                                       \
    {"nhs", required_argument, NULL, AUDIT_OPT_NHS},                                     \
        {"name", required_argument, NULL, AUDIT_OPT_NAME},                               \
        {"dob", required_argument, NULL, AUDIT_OPT_DOB},                                 \
        {"postcode", required_argument, NULL, AUDIT_OPT_POSTCODE},                       \
        {"uprn", required_argument, NULL, AUDIT_OPT_UPRN},                               \
    {                                                                                    \
        "linkage-key", required_argument, NULL, AUDIT_OPT_LINKAGE_KEY                    \
    }

/* Print "flagpost: audit CMD: message" and return the usage status. */
int audit_cli_usage(const char *cmd, const char *message);
/* Print the error and return its exit status (usage for input errors). */
int audit_cli_fail(const char *cmd, const fp_error *err);

void audit_cli_hex(const uint8_t *data, size_t len, char *out, size_t outsz);
/* "2024-05-01 09:30:00Z"-style UTC time for tables (20 chars + NUL). */
void audit_cli_time(int64_t ms, char out[32]);

/* Reports are written to memory first and then replace the file
 * atomically (mode 0600: they describe who shared what about whom), so a
 * full disk never leaves a half report behind; "-" means stdout. */
typedef struct audit_cli_buffer {
    FILE *f;
    char *data;
    size_t len;
} audit_cli_buffer;
int audit_cli_buffer_open(audit_cli_buffer *b, fp_error *err);
int audit_cli_buffer_save(audit_cli_buffer *b, const char *path, fp_error *err);

#endif
