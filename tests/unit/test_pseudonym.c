/* Unit tests for lib/pseudonym.c: normalisation and keyed pseudonyms. */
#include <sodium.h>
#include <string.h>

#include "check.h"
#include "pseudonym.h"

static const unsigned char KEY[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
                                      17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30,
                                      31, 32};

static void test_nhs_check_digit(void)
{
    /* 943 476 5919 is NHS Digital's published example of a valid number. */
    CHECK(pseudonym_nhs_valid("9434765919"));
    CHECK(!pseudonym_nhs_valid("9434765918"));
    char out[11];
    fp_error err;
    CHECK_EQ_INT(pseudonym_normalise_nhs("943 476 5919", out, "nhs", &err), FP_OK);
    CHECK_EQ_STR(out, "9434765919");
    CHECK_EQ_INT(pseudonym_normalise_nhs("943-476-5919", out, "nhs", &err), FP_OK);
    CHECK_EQ_INT(pseudonym_normalise_nhs("9434765918", out, "subject.nhs", &err), FP_ERR_INPUT);
    CHECK(strstr(err.message, "subject.nhs") != NULL);
    CHECK(strstr(err.message, "check digit") != NULL);
    CHECK_EQ_INT(pseudonym_normalise_nhs("94347659", out, "nhs", &err), FP_ERR_INPUT);
    CHECK_EQ_INT(pseudonym_normalise_nhs("94347659190", out, "nhs", &err), FP_ERR_INPUT);
    CHECK_EQ_INT(pseudonym_normalise_nhs("94347a5919", out, "nhs", &err), FP_ERR_INPUT);
}

static void test_nhs_remainder_one_is_invalid(void)
{
    /* 123456789x: sum 10+18+24+28+30+30+28+24+18 = 210, 210 % 11 = 1,
     * 11 - 1 = 10: no valid check digit exists for this prefix. */
    char d[11] = "1234567890";
    for (char c = '0'; c <= '9'; c++) {
        d[9] = c;
        CHECK(!pseudonym_nhs_valid(d));
    }
}

static void test_name_folding(void)
{
    char a[64], b[64];
    fp_error err;
    CHECK_EQ_INT(pseudonym_normalise_name("  Mary-Jane  O'Brien ", a, sizeof a, "n", &err), FP_OK);
    CHECK_EQ_INT(pseudonym_normalise_name("MARY JANE OBRIEN", b, sizeof b, "n", &err), FP_OK);
    CHECK_EQ_STR(a, "mary jane obrien");
    CHECK_EQ_STR(a, b);
    CHECK_EQ_INT(pseudonym_normalise_name(" -- ", a, sizeof a, "subject.name", &err), FP_ERR_INPUT);
    CHECK(strstr(err.message, "subject.name") != NULL);
}

static void test_dob_formats(void)
{
    char out[11];
    fp_error err;
    CHECK_EQ_INT(pseudonym_normalise_dob("1985-03-12", out, "dob", &err), FP_OK);
    CHECK_EQ_STR(out, "1985-03-12");
    CHECK_EQ_INT(pseudonym_normalise_dob("12/03/1985", out, "dob", &err), FP_OK);
    CHECK_EQ_STR(out, "1985-03-12");
    CHECK_EQ_INT(pseudonym_normalise_dob("12.03.1985", out, "dob", &err), FP_OK);
    CHECK_EQ_STR(out, "1985-03-12");
    CHECK_EQ_INT(pseudonym_normalise_dob("2/3/1985", out, "dob", &err), FP_OK);
    CHECK_EQ_STR(out, "1985-03-02");
    CHECK_EQ_INT(pseudonym_normalise_dob("29/02/2001", out, "dob", &err), FP_ERR_INPUT);
    CHECK_EQ_INT(pseudonym_normalise_dob("29/02/2000", out, "dob", &err), FP_OK);
    CHECK_EQ_INT(pseudonym_normalise_dob("1985-13-01", out, "dob", &err), FP_ERR_INPUT);
    CHECK_EQ_INT(pseudonym_normalise_dob("12/03-1985", out, "dob", &err), FP_ERR_INPUT);
    CHECK_EQ_INT(pseudonym_normalise_dob("yesterday", out, "dob", &err), FP_ERR_INPUT);
    CHECK_EQ_INT(pseudonym_normalise_dob("1985-03-12x", out, "dob", &err), FP_ERR_INPUT);
}

static void test_postcode_and_uprn(void)
{
    char pc[9], u[13];
    fp_error err;
    CHECK_EQ_INT(pseudonym_normalise_postcode("w6 9lz", pc, "p", &err), FP_OK);
    CHECK_EQ_STR(pc, "W69LZ");
    CHECK_EQ_INT(pseudonym_normalise_postcode("SW1A 1AA", pc, "p", &err), FP_OK);
    CHECK_EQ_STR(pc, "SW1A1AA");
    CHECK_EQ_INT(pseudonym_normalise_postcode("W2", pc, "p", &err), FP_ERR_INPUT);
    CHECK_EQ_INT(pseudonym_normalise_postcode("123 456", pc, "p", &err), FP_ERR_INPUT);
    /* Leading zeros are padding, not digits. */
    CHECK_EQ_INT(pseudonym_normalise_uprn("00100023336956", u, "u", &err), FP_OK);
    CHECK_EQ_STR(u, "100023336956");
    CHECK_EQ_INT(pseudonym_normalise_uprn("1000233369561", u, "u", &err), FP_ERR_INPUT);
    CHECK_EQ_INT(pseudonym_normalise_uprn("100023336956", u, "u", &err), FP_OK);
    CHECK_EQ_STR(u, "100023336956");
    CHECK_EQ_INT(pseudonym_normalise_uprn("000123", u, "u", &err), FP_OK);
    CHECK_EQ_STR(u, "123");
    CHECK_EQ_INT(pseudonym_normalise_uprn("12a", u, "u", &err), FP_ERR_INPUT);
}

static void test_same_person_same_pseudonym(void)
{
    pseudonym a[PSEUDONYM_MAX], b[PSEUDONYM_MAX];
    size_t na = 0, nb = 0;
    fp_error err;
    subject_identifiers ia = {.nhs = "943 476 5919", .name = "Jane Smith", .dob = "01/02/1990"};
    subject_identifiers ib = {.nhs = "9434765919", .name = "SMITH jane", .dob = "1990-02-01"};
    CHECK_EQ_INT(pseudonym_derive(KEY, &ia, "subject", a, &na, &err), FP_OK);
    CHECK_EQ_INT(pseudonym_derive(KEY, &ib, "subject", b, &nb, &err), FP_OK);
    CHECK_EQ_INT(na, 2);
    CHECK_EQ_INT(nb, 2);
    CHECK_EQ_INT(a[0].kind, PSEUDONYM_KIND_NHS);
    CHECK(memcmp(a[0].value, b[0].value, 32) == 0);
    /* Word order is part of a name: "smith jane" is not "jane smith". */
    CHECK(memcmp(a[1].value, b[1].value, 32) != 0);
}

static void test_key_and_kind_separate(void)
{
    unsigned char other[32];
    memcpy(other, KEY, 32);
    other[0] ^= 1;
    pseudonym a[PSEUDONYM_MAX], b[PSEUDONYM_MAX];
    size_t na, nb;
    fp_error err;
    subject_identifiers ids = {.uprn = "123"};
    CHECK_EQ_INT(pseudonym_derive(KEY, &ids, "s", a, &na, &err), FP_OK);
    CHECK_EQ_INT(pseudonym_derive(other, &ids, "s", b, &nb, &err), FP_OK);
    CHECK(memcmp(a[0].value, b[0].value, 32) != 0);
    /* The same digits under another kind must not collide. */
    subject_identifiers ids2 = {.nhs = "9434765919"}, ids3 = {.uprn = "9434765919"};
    CHECK_EQ_INT(pseudonym_derive(KEY, &ids2, "s", a, &na, &err), FP_OK);
    CHECK_EQ_INT(pseudonym_derive(KEY, &ids3, "s", b, &nb, &err), FP_OK);
    CHECK(memcmp(a[0].value, b[0].value, 32) != 0);
}

static void test_derive_errors_name_field(void)
{
    pseudonym p[PSEUDONYM_MAX];
    size_t n = 99;
    fp_error err;
    subject_identifiers none = {0};
    CHECK_EQ_INT(pseudonym_derive(KEY, &none, "subject", p, &n, &err), FP_ERR_INPUT);
    CHECK_EQ_INT(n, 0);
    subject_identifiers name_only = {.name = "Jane Smith"};
    CHECK_EQ_INT(pseudonym_derive(KEY, &name_only, "subject", p, &n, &err), FP_ERR_INPUT);
    CHECK(strstr(err.message, "subject.dob") != NULL);
    subject_identifiers bad = {.postcode = "W6 9LZ", .nhs = "9434765918"};
    CHECK_EQ_INT(pseudonym_derive(KEY, &bad, "subject", p, &n, &err), FP_ERR_INPUT);
    CHECK(strstr(err.message, "subject.nhs") != NULL);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    RUN(test_nhs_check_digit);
    RUN(test_nhs_remainder_one_is_invalid);
    RUN(test_name_folding);
    RUN(test_dob_formats);
    RUN(test_postcode_and_uprn);
    RUN(test_same_person_same_pseudonym);
    RUN(test_key_and_kind_separate);
    RUN(test_derive_errors_name_field);
    return check_summary();
}
