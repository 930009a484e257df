/*
 * pseudonym: identifier normalisation and keyed pseudonyms.  See pseudonym.h.
 *
 * Normalisation is deliberately strict where a mistake would silently split
 * one person into two (an NHS number with a bad check digit, an impossible
 * date) and forgiving where agencies merely write things differently
 * (spacing, case, punctuation, date separators).  Names are folded to ASCII
 * letters, digits and single spaces; anything else (accents included) is
 * dropped rather than guessed at, so two agencies always fold alike.
 *
 * Each kind hashes under its own domain tag, so an NHS number and a UPRN
 * that happen to share digits never collide.
 */
#include "pseudonym.h"

#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#define NAME_MAX_LEN 200

bool pseudonym_nhs_valid(const char *d)
{
    int sum = 0;
    for (int i = 0; i < 9; i++)
        sum += (d[i] - '0') * (10 - i);
    int check = 11 - (sum % 11);
    if (check == 11)
        check = 0;
    return check != 10 && check == d[9] - '0';
}

int pseudonym_normalise_nhs(const char *in, char out[11], const char *field, fp_error *err)
{
    size_t n = 0;
    for (const char *p = in; *p; p++) {
        if (*p == ' ' || *p == '-')
            continue;
        if (!isdigit((unsigned char)*p) || n == 10)
            return fp_error_set(err, FP_ERR_INPUT,
                                "%s: an NHS number is 10 digits (spaces and dashes "
                                "allowed)", field);
        out[n++] = *p;
    }
    if (n != 10)
        return fp_error_set(err, FP_ERR_INPUT,
                            "%s: an NHS number is 10 digits; this has %zu", field, n);
    out[10] = '\0';
    if (!pseudonym_nhs_valid(out))
        return fp_error_set(err, FP_ERR_INPUT,
                            "%s: invalid NHS number (the check digit does not match); "
                            "check it was copied correctly", field);
    return FP_OK;
}

int pseudonym_normalise_name(const char *in, char *out, size_t outsz, const char *field,
                             fp_error *err)
{
    size_t n = 0;
    bool pending_space = false;
    for (const unsigned char *p = (const unsigned char *)in; *p; p++) {
        if (isalnum(*p) && *p < 0x80) {
            if (pending_space && n > 0) {
                if (n + 1 >= outsz)
                    break;
                out[n++] = ' ';
            }
            pending_space = false;
            if (n + 1 >= outsz)
                break;
            out[n++] = (char)tolower(*p);
        } else if (isspace(*p) || *p == '-' || *p == ',' || *p == '.') {
            /* Separators: "Mary-Jane" and "Mary Jane" are the same name. */
            pending_space = true;
        }
        /* Apostrophes and other marks vanish: "O'Brien" == "OBrien". */
    }
    out[n] = '\0';
    if (n == 0)
        return fp_error_set(err, FP_ERR_INPUT,
                            "%s: a name needs at least one letter or digit", field);
    return FP_OK;
}

static bool date_is_real(int y, int m, int d)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 1880 || y > 2200 || m < 1 || m > 12 || d < 1)
        return false;
    int max = days[m - 1];
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        max = 29;
    return d <= max;
}

int pseudonym_normalise_dob(const char *in, char out[11], const char *field, fp_error *err)
{
    int y = 0, m = 0, d = 0, used = 0;
    char sep1 = 0, sep2 = 0;
    bool parsed = false;
    if (sscanf(in, "%4d-%2d-%2d%n", &y, &m, &d, &used) == 3 && in[used] == '\0' &&
        strlen(in) == 10) {
        parsed = true;
    } else if (sscanf(in, "%2d%c%2d%c%4d%n", &d, &sep1, &m, &sep2, &y, &used) == 5 &&
               in[used] == '\0' && sep1 == sep2 &&
               (sep1 == '/' || sep1 == '-' || sep1 == '.') && used >= 8) {
        parsed = true;
    }
    if (!parsed)
        return fp_error_set(err, FP_ERR_INPUT,
                            "%s: dates are written YYYY-MM-DD or DD/MM/YYYY", field);
    if (!date_is_real(y, m, d))
        return fp_error_set(err, FP_ERR_INPUT, "%s: not a real date", field);
    char buf[40];   /* roomy: the compiler cannot see date_is_real's bounds */
    snprintf(buf, sizeof buf, "%04d-%02d-%02d", y, m, d);
    memcpy(out, buf, 11);
    return FP_OK;
}

/* UK postcode shape: an outward code of 2-4 characters that starts with a
 * letter and holds a digit, then an inward code of a digit and two letters. */
static bool postcode_shape_ok(const char *pc, size_t n)
{
    if (n < 5 || n > 7 || !isalpha((unsigned char)pc[0]))
        return false;
    bool outward_digit = false;
    for (size_t i = 1; i < n - 3; i++)
        outward_digit |= isdigit((unsigned char)pc[i]) != 0;
    const char *in = pc + n - 3;
    return outward_digit && isdigit((unsigned char)in[0]) && isalpha((unsigned char)in[1]) &&
           isalpha((unsigned char)in[2]);
}

int pseudonym_normalise_postcode(const char *in, char out[9], const char *field,
                                 fp_error *err)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)in; *p; p++) {
        if (isspace(*p))
            continue;
        if (!isalnum(*p) || *p >= 0x80 || n == 8)
            return fp_error_set(err, FP_ERR_INPUT,
                                "%s: not a UK postcode (expected e.g. W6 9LZ)", field);
        out[n++] = (char)toupper(*p);
    }
    out[n] = '\0';
    if (!postcode_shape_ok(out, n))
        return fp_error_set(err, FP_ERR_INPUT,
                            "%s: not a UK postcode (expected e.g. W6 9LZ)", field);
    return FP_OK;
}

int pseudonym_normalise_uprn(const char *in, char out[13], const char *field, fp_error *err)
{
    const char *p = in;
    while (*p == ' ')
        p++;
    while (*p == '0' && p[1] != '\0')
        p++;
    size_t n = 0;
    for (; *p && *p != ' '; p++) {
        if (!isdigit((unsigned char)*p) || n == 12)
            return fp_error_set(err, FP_ERR_INPUT, "%s: a UPRN is 1 to 12 digits", field);
        out[n++] = *p;
    }
    while (*p == ' ')
        p++;
    if (n == 0 || *p != '\0')
        return fp_error_set(err, FP_ERR_INPUT, "%s: a UPRN is 1 to 12 digits", field);
    out[n] = '\0';
    return FP_OK;
}

static void keyed_hash(const unsigned char key[PSEUDONYM_KEY_LEN], int kind,
                       const char *canonical, pseudonym *out)
{
    static const char *const tags[] = {"", "flagpost-nhs-v1", "flagpost-name-dob-v1",
                                       "flagpost-postcode-v1", "flagpost-uprn-v1"};
    crypto_generichash_state st;
    crypto_generichash_init(&st, key, PSEUDONYM_KEY_LEN, PSEUDONYM_LEN);
    crypto_generichash_update(&st, (const unsigned char *)tags[kind], strlen(tags[kind]) + 1);
    crypto_generichash_update(&st, (const unsigned char *)canonical, strlen(canonical));
    crypto_generichash_final(&st, out->value, PSEUDONYM_LEN);
    sodium_memzero(&st, sizeof st);
    out->kind = kind;
}

static bool present(const char *s)
{
    return s != NULL && s[0] != '\0';
}

int pseudonym_derive(const unsigned char key[PSEUDONYM_KEY_LEN],
                     const subject_identifiers *ids, const char *prefix,
                     pseudonym out[PSEUDONYM_MAX], size_t *count, fp_error *err)
{
    char field[64];
    char canon[NAME_MAX_LEN + 16];
    size_t n = 0;
    int rc;
    *count = 0;

    if (present(ids->nhs)) {
        snprintf(field, sizeof field, "%s.nhs", prefix);
        if ((rc = pseudonym_normalise_nhs(ids->nhs, canon, field, err)) != FP_OK)
            return rc;
        keyed_hash(key, PSEUDONYM_KIND_NHS, canon, &out[n++]);
    }
    if (present(ids->name) != present(ids->dob))
        return fp_error_set(err, FP_ERR_INPUT,
                            "%s.%s: a name is matched only together with a date of "
                            "birth; give both %s.name and %s.dob", prefix,
                            present(ids->name) ? "dob" : "name", prefix, prefix);
    if (present(ids->name)) {
        char name[NAME_MAX_LEN + 1], dob[11];
        snprintf(field, sizeof field, "%s.name", prefix);
        if ((rc = pseudonym_normalise_name(ids->name, name, sizeof name, field, err)) != FP_OK)
            return rc;
        snprintf(field, sizeof field, "%s.dob", prefix);
        if ((rc = pseudonym_normalise_dob(ids->dob, dob, field, err)) != FP_OK)
            return rc;
        snprintf(canon, sizeof canon, "%s|%s", name, dob);
        keyed_hash(key, PSEUDONYM_KIND_NAME_DOB, canon, &out[n++]);
        sodium_memzero(name, sizeof name);
    }
    if (present(ids->postcode)) {
        snprintf(field, sizeof field, "%s.postcode", prefix);
        if ((rc = pseudonym_normalise_postcode(ids->postcode, canon, field, err)) != FP_OK)
            return rc;
        keyed_hash(key, PSEUDONYM_KIND_POSTCODE, canon, &out[n++]);
    }
    if (present(ids->uprn)) {
        snprintf(field, sizeof field, "%s.uprn", prefix);
        if ((rc = pseudonym_normalise_uprn(ids->uprn, canon, field, err)) != FP_OK)
            return rc;
        keyed_hash(key, PSEUDONYM_KIND_UPRN, canon, &out[n++]);
    }
    sodium_memzero(canon, sizeof canon);
    if (n == 0)
        return fp_error_set(err, FP_ERR_INPUT,
                            "%s: no identifier; give at least one of nhs, name with dob, "
                            "postcode or uprn", prefix);
    *count = n;
    return FP_OK;
}

void pseudonym_to_hex(const pseudonym *p, char out[2 * PSEUDONYM_LEN + 1])
{
    sodium_bin2hex(out, 2 * PSEUDONYM_LEN + 1, p->value, PSEUDONYM_LEN);
}

const char *pseudonym_kind_name(int kind)
{
    switch (kind) {
    case PSEUDONYM_KIND_NHS: return "nhs";
    case PSEUDONYM_KIND_NAME_DOB: return "name_dob";
    case PSEUDONYM_KIND_POSTCODE: return "postcode";
    case PSEUDONYM_KIND_UPRN: return "uprn";
    default: return "unknown";
    }
}
