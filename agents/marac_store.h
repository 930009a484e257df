/*
 * marac_store: the MARAC module's own databases, kept in the agent's LMDB
 * environment (agent_store_env) so a research round, the flags it rides on
 * and the outbox that sends them commit together or not at all.
 *
 *   marac_conf     conference id -> conference record             coordinator
 *   marac_case     case reference -> case record                  coordinator
 *   marac_answer   case reference \0 agency -> answer record      coordinator
 *   marac_action   case reference \0 NNN -> action record         coordinator
 *   marac_flags    flag id (16) -> what that flag is to MARAC     both sides
 *   marac_heard    pseudonym (kind byte + 32) -> (dupsort) conference date
 *                  (8, big-endian) || conference id \0 case reference:
 *                  the cases heard, for repeat detection
 *   marac_due      due ms (8, big-endian) || conference id -> ""  reminders
 *   marac_pubsubj  pseudonym (33) -> (dupsort, dupfixed) flag id (16): this
 *                  agency's own published flags, to pre-fill answers
 *   marac_meta     name -> bytes (plain): the sealing key, wrapped
 *
 * Records are JSON objects (a research round is a few hundred small
 * records a month; readable records beat a schema change on the wire
 * format), and every record is sealed at rest with crypto_secretbox under
 * a random key of the agency's MARAC records, itself kept wrapped to the
 * agency's box key (marac_common), as received flags are kept sealed in
 * agent_store: a copied data.mdb shows case references and agency ids in
 * keys, never a name, an identifier or an answer.
 *
 * A marac_db is a set of handles inside one caller-owned transaction; it
 * never begins or ends the transaction.  Databases are created on first
 * write; reading before that finds nothing (FP_ERR_NOT_FOUND from
 * marac_db_open).
 */
#ifndef FLAGPOST_MARAC_STORE_H
#define FLAGPOST_MARAC_STORE_H

#include <jansson.h>
#include <lmdb.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fp_error.h"
#include "pseudonym.h"

#define MARAC_SEAL_KEY_LEN 32
#define MARAC_ID_MAX 64              /* conference ids and case references */
#define MARAC_YEAR_S (365LL * 86400) /* the repeat window */

typedef enum marac_table {
    MARAC_CONF = 0,
    MARAC_CASE,
    MARAC_ANSWER,
    MARAC_ACTION,
    MARAC_FLAGS,
    MARAC_TABLES                     /* count of sealed-record tables */
} marac_table;

typedef struct marac_db {
    MDB_txn *txn;
    MDB_dbi tables[MARAC_TABLES];
    MDB_dbi heard, due, pubsubj, meta;
    unsigned char *key;              /* sodium_malloc'd sealing key */
} marac_db;

/* A sealing key from a secret: a keyed BLAKE2b of a fixed label (tests). */
void marac_store_derive_key(const unsigned char box_secret[32],
                            unsigned char out[MARAC_SEAL_KEY_LEN]);

/* Open every handle in txn (creating the databases when create is set,
 * which needs a write transaction).  FP_ERR_NOT_FOUND when !create and
 * nothing was ever written.  The key is copied into protected memory; with
 * a NULL key only the plain indexes (heard, due, pubsubj) may be used. */
int marac_db_open(marac_db *db, MDB_txn *txn, bool create,
                  const unsigned char key[MARAC_SEAL_KEY_LEN], fp_error *err);
/* Set (or replace) the sealing key after opening without one. */
int marac_db_set_key(marac_db *db, const unsigned char key[MARAC_SEAL_KEY_LEN], fp_error *err);
/* Wipes the key; the transaction is the caller's. */
void marac_db_close(marac_db *db);

/* Plain named values (marac_meta).  get: FP_ERR_NOT_FOUND when absent;
 * *data points into the transaction's pages. */
int marac_meta_get(marac_db *db, const char *name, const unsigned char **data, size_t *len,
                   fp_error *err);
int marac_meta_put(marac_db *db, const char *name, const void *data, size_t len,
                   fp_error *err);

/* A valid conference id or case reference: 1-64 of A-Z a-z 0-9 . _ / - */
bool marac_id_valid(const char *id);

/* Sealed JSON records.  get: FP_ERR_NOT_FOUND when absent; *out is a new
 * reference.  Keys are bytes (ids are passed with their length). */
int marac_get(marac_db *db, marac_table t, const void *key, size_t klen, json_t **out,
              fp_error *err);
int marac_put(marac_db *db, marac_table t, const void *key, size_t klen, json_t *rec,
              fp_error *err);
int marac_del(marac_db *db, marac_table t, const void *key, size_t klen, fp_error *err);

/* Visit, in key order, every record whose key starts with prefix (plen 0:
 * all).  rec is borrowed for the call; fn returns non-zero to stop. */
typedef int (*marac_visit_fn)(void *ctx, const unsigned char *key, size_t klen, json_t *rec);
int marac_scan(marac_db *db, marac_table t, const void *prefix, size_t plen,
               marac_visit_fn fn, void *ctx, fp_error *err);

/* "case\0agency" and "case\0NNN" keys; return the key length (0 if too long). */
size_t marac_key_pair(char *out, size_t cap, const char *a, const char *b);
size_t marac_key_seq(char *out, size_t cap, const char *case_ref, unsigned seq);

/* ---- cases heard, for repeat detection ---- */
int marac_heard_add(marac_db *db, const pseudonym *p, int64_t date_s, const char *conference,
                    const char *case_ref, fp_error *err);

typedef struct marac_heard_hit {
    int64_t date_s;
    char conference[MARAC_ID_MAX + 1];
    char case_ref[MARAC_ID_MAX + 1];
    unsigned kinds;                  /* bit (1 << pseudonym kind) for each kind that links */
    bool address_only;               /* linked by postcode alone: a possible repeat */
} marac_heard_hit;

/* The case heard at another conference dated within the 365 days up to
 * and including date_s that shares a pseudonym with ps: the most recent
 * linked by an NHS number, name and date of birth or UPRN, else the most
 * recent linked by postcode alone (address_only).  FP_ERR_NOT_FOUND when
 * there is none. */
int marac_heard_find(marac_db *db, const pseudonym *ps, size_t n, int64_t date_s,
                     const char *conference, marac_heard_hit *out, fp_error *err);

/* ---- reminder timers ---- */
int marac_due_add(marac_db *db, int64_t due_ms, const char *conference, fp_error *err);
int marac_due_del(marac_db *db, int64_t due_ms, const char *conference, fp_error *err);
/* The earliest timer due at or before now_ms: FP_ERR_NOT_FOUND if none. */
int marac_due_next(marac_db *db, int64_t now_ms, int64_t *due_ms,
                   char conference[MARAC_ID_MAX + 1], fp_error *err);

/* ---- this agency's published flags, by pseudonym ---- */
int marac_pub_add(marac_db *db, const pseudonym *p, const uint8_t flag_id[16], fp_error *err);
typedef int (*marac_flag_fn)(void *ctx, const uint8_t flag_id[16]);
/* Each distinct flag id indexed under any of the pseudonyms, once. */
int marac_pub_find(marac_db *db, const pseudonym *ps, size_t n, marac_flag_fn fn, void *ctx,
                   fp_error *err);

#endif
