/*
 * pseudonym: how an agency names a person or address without revealing it.
 *
 * Identifiers are normalised first, so the same person written differently
 * by two agencies gives the same pseudonym:
 *   NHS number  10 digits, spaces/dashes removed, modulus-11 check digit
 *               validated (an invalid number is an error, never hashed)
 *   name + dob  letters and digits lower-cased, punctuation dropped, runs of
 *               spaces collapsed; date of birth as YYYY-MM-DD, accepted as
 *               YYYY-MM-DD, DD/MM/YYYY, DD-MM-YYYY or DD.MM.YYYY and checked
 *               to be a real date
 *   postcode    upper-cased, spaces removed, checked for UK postcode shape
 *   UPRN        1-12 digits, leading zeros dropped
 * Each is then hashed with BLAKE2b-256 keyed by the partnership linkage key,
 * with a per-kind domain tag, so a pseudonym cannot be reversed and cannot
 * be computed by anyone without the key (the broker never has it).
 */
#ifndef FLAGPOST_PSEUDONYM_H
#define FLAGPOST_PSEUDONYM_H

#include <stdbool.h>
#include <stddef.h>

#include "fp_error.h"

#define PSEUDONYM_LEN 32
#define PSEUDONYM_KEY_LEN 32
#define PSEUDONYM_MAX 4

/* Values match the PseudonymKind enum in proto/flagpost.proto. */
enum pseudonym_kind {
    PSEUDONYM_KIND_NHS = 1,
    PSEUDONYM_KIND_NAME_DOB = 2,
    PSEUDONYM_KIND_POSTCODE = 3,
    PSEUDONYM_KIND_UPRN = 4
};

typedef struct pseudonym {
    int kind;
    unsigned char value[PSEUDONYM_LEN];
} pseudonym;

/* Any may be NULL or "".  name requires dob and dob requires name. */
typedef struct subject_identifiers {
    const char *nhs;
    const char *name;
    const char *dob;
    const char *postcode;
    const char *uprn;
} subject_identifiers;

bool pseudonym_nhs_valid(const char *digits10);

/* Normalisers: write the canonical form into out; err names `field`. */
int pseudonym_normalise_nhs(const char *in, char out[11], const char *field, fp_error *err);
int pseudonym_normalise_name(const char *in, char *out, size_t outsz, const char *field,
                             fp_error *err);
int pseudonym_normalise_dob(const char *in, char out[11], const char *field, fp_error *err);
int pseudonym_normalise_postcode(const char *in, char out[9], const char *field,
                                 fp_error *err);
int pseudonym_normalise_uprn(const char *in, char out[13], const char *field, fp_error *err);

/* Derive every pseudonym the identifiers allow (at most PSEUDONYM_MAX).
 * field_prefix (e.g. "subject") is used to name fields in errors.  Fails if
 * an identifier is invalid or if there is none at all. */
int pseudonym_derive(const unsigned char key[PSEUDONYM_KEY_LEN],
                     const subject_identifiers *ids, const char *field_prefix,
                     pseudonym out[PSEUDONYM_MAX], size_t *count, fp_error *err);

/* Lower-case hex of a pseudonym value (65 bytes with NUL). */
void pseudonym_to_hex(const pseudonym *p, char out[2 * PSEUDONYM_LEN + 1]);
const char *pseudonym_kind_name(int kind);

#endif
