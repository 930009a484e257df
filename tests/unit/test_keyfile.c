/*
 * Unit tests for lib/keyfile.c: the two-line key file format, the kind
 * check, and the refusal of secret files others can read.
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "check.h"
#include "fileio.h"
#include "keyfile.h"
#include "tmpdir.h"

static bool write_text(const char *path, const char *text, mode_t mode)
{
    return fileio_write_atomic(path, text, strlen(text), mode, NULL) == FP_OK;
}

static void test_secret_round_trip_and_mode(void)
{
    tmpdir t;
    CHECK(tmpdir_make(&t, "keyfile"));
    char path[600];
    tmpdir_file(&t, "box.key", path, sizeof path);
    unsigned char key[32];
    randombytes_buf(key, sizeof key);
    fp_error err = {0};
    CHECK_EQ_INT(keyfile_write_secret(path, "box-secret", key, sizeof key, &err), FP_OK);
    struct stat st;
    CHECK_EQ_INT(stat(path, &st), 0);
    CHECK_EQ_INT(st.st_mode & 07777, 0600);
    unsigned char *back = NULL;
    CHECK_EQ_INT(keyfile_read_secret(path, "box-secret", &back, sizeof key, &err), FP_OK);
    CHECK(back != NULL && memcmp(back, key, sizeof key) == 0);
    keyfile_free_secret(back, sizeof key);
    keyfile_free_secret(NULL, 0);
    /* The file is the documented text format. */
    uint8_t *text = NULL;
    size_t len = 0;
    CHECK_EQ_INT(fileio_read_all(path, 4096, &text, &len, NULL), FP_OK);
    char b64[64];
    sodium_bin2base64(b64, sizeof b64, key, sizeof key, sodium_base64_VARIANT_ORIGINAL);
    char want[128];
    snprintf(want, sizeof want, "flagpost-box-secret-v1\n%s\n", b64);
    CHECK_EQ_STR((char *)text, want);
    free(text);
    tmpdir_remove(&t);
}

static void test_public_round_trip_and_mode(void)
{
    tmpdir t;
    CHECK(tmpdir_make(&t, "keyfile"));
    char path[600];
    tmpdir_file(&t, "sign.pub", path, sizeof path);
    unsigned char key[32], back[32] = {0};
    randombytes_buf(key, sizeof key);
    CHECK_EQ_INT(keyfile_write_public(path, "sign-public", key, sizeof key, NULL), FP_OK);
    struct stat st;
    CHECK_EQ_INT(stat(path, &st), 0);
    CHECK_EQ_INT(st.st_mode & 07777, 0644);
    CHECK_EQ_INT(keyfile_read_public(path, "sign-public", back, sizeof back, NULL), FP_OK);
    CHECK(memcmp(back, key, sizeof key) == 0);
    /* A 64-byte key (Ed25519 secret) round-trips too. */
    unsigned char sk[64], *skback = NULL;
    randombytes_buf(sk, sizeof sk);
    tmpdir_file(&t, "sign.key", path, sizeof path);
    CHECK_EQ_INT(keyfile_write_secret(path, "sign-secret", sk, sizeof sk, NULL), FP_OK);
    CHECK_EQ_INT(keyfile_read_secret(path, "sign-secret", &skback, sizeof sk, NULL), FP_OK);
    CHECK(skback != NULL && memcmp(skback, sk, sizeof sk) == 0);
    keyfile_free_secret(skback, sizeof sk);
    tmpdir_remove(&t);
}

static void test_overwrite_replaces_key(void)
{
    tmpdir t;
    CHECK(tmpdir_make(&t, "keyfile"));
    char path[600];
    tmpdir_file(&t, "k", path, sizeof path);
    unsigned char k1[32], k2[32], *back = NULL;
    memset(k1, 1, 32);
    memset(k2, 2, 32);
    CHECK_EQ_INT(keyfile_write_secret(path, "box-secret", k1, 32, NULL), FP_OK);
    CHECK_EQ_INT(keyfile_write_secret(path, "box-secret", k2, 32, NULL), FP_OK);
    CHECK_EQ_INT(keyfile_read_secret(path, "box-secret", &back, 32, NULL), FP_OK);
    CHECK(back != NULL && memcmp(back, k2, 32) == 0);
    keyfile_free_secret(back, 32);
    tmpdir_remove(&t);
}

static void test_wrong_kind_refused(void)
{
    tmpdir t;
    CHECK(tmpdir_make(&t, "keyfile"));
    char path[600];
    tmpdir_file(&t, "k", path, sizeof path);
    unsigned char key[32] = {0}, out[32];
    CHECK_EQ_INT(keyfile_write_secret(path, "box-secret", key, 32, NULL), FP_OK);
    unsigned char *back = (unsigned char *)(uintptr_t)1;
    fp_error err = {0};
    CHECK_EQ_INT(keyfile_read_secret(path, "sign-secret", &back, 32, &err), FP_ERR_INPUT);
    CHECK(back == NULL);
    CHECK(strstr(err.message, "flagpost-sign-secret-v1") != NULL);
    /* A kind that is a prefix of the real one is not it either. */
    CHECK_EQ_INT(keyfile_read_secret(path, "box", &back, 32, &err), FP_ERR_INPUT);
    CHECK_EQ_INT(keyfile_read_public(path, "box-secre", out, 32, &err), FP_ERR_INPUT);
    tmpdir_file(&t, "p", path, sizeof path);
    CHECK_EQ_INT(keyfile_write_public(path, "box-public", key, 32, NULL), FP_OK);
    CHECK_EQ_INT(keyfile_read_public(path, "sign-public", out, 32, &err), FP_ERR_INPUT);
    tmpdir_remove(&t);
}

static void test_readable_secret_refused(void)
{
    tmpdir t;
    CHECK(tmpdir_make(&t, "keyfile"));
    char path[600];
    tmpdir_file(&t, "k", path, sizeof path);
    unsigned char key[32] = {9};
    CHECK_EQ_INT(keyfile_write_secret(path, "box-secret", key, 32, NULL), FP_OK);
    mode_t modes[] = {0644, 0640, 0604, 0660, 0601};
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        CHECK_EQ_INT(chmod(path, modes[i]), 0);
        unsigned char *back = (unsigned char *)(uintptr_t)1;
        fp_error err = {0};
        CHECK_EQ_INT(keyfile_read_secret(path, "box-secret", &back, 32, &err),
                     FP_ERR_PERMISSIONS);
        CHECK(back == NULL);
        CHECK_EQ_INT(err.code, FP_ERR_PERMISSIONS);
        CHECK(strstr(err.message, "chmod 600") != NULL);
        CHECK(strstr(err.message, path) != NULL);
    }
    /* 0400 is private enough; and a public file may be world-readable. */
    CHECK_EQ_INT(chmod(path, 0400), 0);
    unsigned char *back = NULL;
    CHECK_EQ_INT(keyfile_read_secret(path, "box-secret", &back, 32, NULL), FP_OK);
    keyfile_free_secret(back, 32);
    tmpdir_remove(&t);
}

static void test_damaged_files_refused(void)
{
    tmpdir t;
    CHECK(tmpdir_make(&t, "keyfile"));
    char path[600];
    tmpdir_file(&t, "k", path, sizeof path);
    unsigned char key[32];
    memset(key, 0x42, sizeof key);
    char b64[64];
    sodium_bin2base64(b64, sizeof b64, key, sizeof key, sodium_base64_VARIANT_ORIGINAL);
    char text[256];
    const char *bodies[] = {
        "!!!!not base64 at all!!!!!!!!!!!!!!!!!!!!!!",
        "QkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkI",      /* padding dropped */
        "QkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJC",             /* 27 bytes */
        "QkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkI=", /* 35 bytes */
        "",
    };
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        snprintf(text, sizeof text, "flagpost-box-secret-v1\n%s\n", bodies[i]);
        CHECK(write_text(path, text, 0600));
        unsigned char *back = (unsigned char *)(uintptr_t)1;
        fp_error err = {0};
        int rc = keyfile_read_secret(path, "box-secret", &back, 32, &err);
        if (rc != FP_ERR_INPUT)
            printf("#   body %zu gave %d\n", i, rc);
        CHECK_EQ_INT(rc, FP_ERR_INPUT);
        CHECK(back == NULL);
        CHECK(strstr(err.message, "damaged") != NULL);
    }
    /* The intact file (checked last, so the cases above prove something). */
    snprintf(text, sizeof text, "flagpost-box-secret-v1\n%s\n", b64);
    CHECK(write_text(path, text, 0600));
    unsigned char *back = NULL;
    CHECK_EQ_INT(keyfile_read_secret(path, "box-secret", &back, 32, NULL), FP_OK);
    CHECK(back != NULL && memcmp(back, key, 32) == 0);
    keyfile_free_secret(back, 32);
    /* Windows line endings are tolerated. */
    snprintf(text, sizeof text, "flagpost-box-secret-v1\n%s\r\n", b64);
    CHECK(write_text(path, text, 0600));
    CHECK_EQ_INT(keyfile_read_secret(path, "box-secret", &back, 32, NULL), FP_OK);
    keyfile_free_secret(back, 32);
    /* No header line at all. */
    snprintf(text, sizeof text, "%s\n", b64);
    CHECK(write_text(path, text, 0600));
    CHECK_EQ_INT(keyfile_read_secret(path, "box-secret", &back, 32, NULL), FP_ERR_INPUT);
    /* Oversized file. */
    char *huge = malloc(8192);
    memset(huge, 'A', 8191);
    huge[8191] = '\0';
    CHECK(write_text(path, huge, 0600));
    free(huge);
    CHECK_EQ_INT(keyfile_read_secret(path, "box-secret", &back, 32, NULL), FP_ERR_INPUT);
    tmpdir_remove(&t);
}

static void test_missing_and_non_regular(void)
{
    tmpdir t;
    CHECK(tmpdir_make(&t, "keyfile"));
    char path[600];
    tmpdir_file(&t, "absent", path, sizeof path);
    unsigned char *back = NULL, out[32];
    fp_error err = {0};
    CHECK_EQ_INT(keyfile_read_secret(path, "box-secret", &back, 32, &err), FP_ERR_NOT_FOUND);
    CHECK(strstr(err.message, path) != NULL);
    CHECK_EQ_INT(keyfile_read_public(path, "box-public", out, 32, &err), FP_ERR_NOT_FOUND);
    /* A directory is not a key file. */
    CHECK_EQ_INT(keyfile_read_public(t.path, "box-public", out, 32, &err), FP_ERR_INPUT);
    tmpdir_remove(&t);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    RUN(test_secret_round_trip_and_mode);
    RUN(test_public_round_trip_and_mode);
    RUN(test_overwrite_replaces_key);
    RUN(test_wrong_kind_refused);
    RUN(test_readable_secret_refused);
    RUN(test_damaged_files_refused);
    RUN(test_missing_and_non_regular);
    return check_summary();
}
