/*
 * Unit tests for certs/identity.c: loading an issued identity, and every
 * way a damaged, mixed-up or exposed identity must be refused.
 */
#include <sodium.h>
#include <string.h>

#include "ca_fixture.h"
#include "check.h"
#include "identity.h"
#include "keyfile.h"
#include "trust_store.h"

static bool ca_public(const fx *f, const char *ca_dir, unsigned char out[32])
{
    trust_store *ts = NULL;
    if (trust_store_load(&ts, ca_dir, NULL) != FP_OK)
        return false;
    memcpy(out, trust_store_ca_public(ts), 32);
    trust_store_free(ts);
    (void)f;
    return true;
}

static int load_id(const fx *f, const char *name, const unsigned char pk[32], identity *id,
                   fp_error *err)
{
    char dir[800];
    fx_path(f, name, dir, sizeof dir);
    return identity_load(id, dir, pk, err);
}

static void test_round_trip(void)
{
    fx f;
    CHECK(fx_setup(&f));
    unsigned char pk[32];
    uint64_t serial = 0;
    CHECK_EQ_INT(fx_issue(&f, "police", "police", "police", &serial), FP_OK);
    CHECK(ca_public(&f, f.ca, pk));
    identity id;
    fp_error err = {0};
    CHECK_EQ_INT(load_id(&f, "police", pk, &id, &err), FP_OK);
    CHECK_EQ_STR(id.cert.agency_id, "police");
    CHECK_EQ_STR(id.cert.sector, "police");
    CHECK_EQ_STR(id.cert.ca_name, "Test Partnership CA");
    CHECK_EQ_INT(id.cert.serial, serial);
    CHECK(id.curve_secret != NULL && id.sign_secret != NULL && id.box_secret != NULL);
    CHECK(id.linkage_key != NULL);
    /* the loaded keys work: sign and verify against the certificate */
    unsigned char sig[64];
    const unsigned char msg[] = "envelope";
    if (id.sign_secret != NULL) {
        crypto_sign_detached(sig, NULL, msg, sizeof msg, id.sign_secret);
        CHECK_EQ_INT(crypto_sign_verify_detached(sig, msg, sizeof msg, id.cert.sign_public), 0);
    }
    identity_free(&id);
    CHECK(id.curve_secret == NULL && id.linkage_key == NULL);
    identity_free(&id);   /* twice is harmless */
    fx_teardown(&f);
}

static void test_file_modes(void)
{
    fx f;
    CHECK(fx_setup(&f));
    CHECK_EQ_INT(fx_issue(&f, "police", "police", "police", NULL), FP_OK);
    const char *secret[] = {"curve.key", "sign.key", "box.key", "linkage.sealed"};
    char path[800], rel[200];
    for (size_t i = 0; i < 4; i++) {
        snprintf(rel, sizeof rel, "police/%s", secret[i]);
        CHECK_EQ_INT(fx_mode(fx_path(&f, rel, path, sizeof path)), 0600);
    }
    CHECK_EQ_INT(fx_mode(fx_path(&f, "police/agency.cert", path, sizeof path)), 0644);
    CHECK_EQ_INT(fx_mode(fx_path(&f, "police", path, sizeof path)), 0700);
    fx_teardown(&f);
}

static void test_readable_secret_refused(void)
{
    fx f;
    CHECK(fx_setup(&f));
    unsigned char pk[32];
    CHECK_EQ_INT(fx_issue(&f, "police", "police", "police", NULL), FP_OK);
    CHECK(ca_public(&f, f.ca, pk));
    const char *secret[] = {"curve.key", "sign.key", "box.key", "linkage.sealed"};
    const mode_t bad[] = {0644, 0640, 0604};
    char path[800], rel[200];
    for (size_t i = 0; i < 4; i++) {
        snprintf(rel, sizeof rel, "police/%s", secret[i]);
        fx_path(&f, rel, path, sizeof path);
        for (size_t m = 0; m < 3; m++) {
            CHECK_EQ_INT(chmod(path, bad[m]), 0);
            identity id;
            fp_error err = {0};
            CHECK_EQ_INT(load_id(&f, "police", pk, &id, &err), FP_ERR_PERMISSIONS);
            CHECK(strstr(err.message, "chmod 600") != NULL);
            CHECK(strstr(err.message, secret[i]) != NULL);
            CHECK(id.curve_secret == NULL && id.sign_secret == NULL);
        }
        CHECK_EQ_INT(chmod(path, 0600), 0);
    }
    identity id;
    CHECK_EQ_INT(load_id(&f, "police", pk, &id, NULL), FP_OK);
    identity_free(&id);
    fx_teardown(&f);
}

/* A key file from another identity, swapped in, is refused. */
static void test_mismatched_keys_refused(void)
{
    fx f;
    CHECK(fx_setup(&f));
    unsigned char pk[32];
    CHECK_EQ_INT(fx_issue(&f, "police", "police", "a", NULL), FP_OK);
    CHECK_EQ_INT(fx_issue(&f, "health", "health", "b", NULL), FP_OK);
    CHECK(ca_public(&f, f.ca, pk));
    const char *files[] = {"curve.key", "sign.key", "box.key", "agency.cert"};
    char from[800], to[800], saved[800], rel[200];
    for (size_t i = 0; i < 4; i++) {
        snprintf(rel, sizeof rel, "a/%s", files[i]);
        fx_path(&f, rel, to, sizeof to);
        snprintf(rel, sizeof rel, "b/%s", files[i]);
        fx_path(&f, rel, from, sizeof from);
        fx_path(&f, "saved", saved, sizeof saved);
        CHECK(fx_copy(to, saved, 0600));
        CHECK(fx_copy(from, to, i == 3 ? 0644 : 0600));
        identity id;
        fp_error err = {0};
        CHECK_EQ_INT(load_id(&f, "a", pk, &id, &err), FP_ERR_CRYPTO);
        CHECK(strstr(err.message, i == 3 ? "curve.key" : files[i]) != NULL);
        CHECK(fx_copy(saved, to, i == 3 ? 0644 : 0600));
        CHECK_EQ_INT(load_id(&f, "a", pk, &id, &err), FP_OK);
        identity_free(&id);
    }
    fx_teardown(&f);
}

/* A sign.key whose public half was replaced to match the certificate is
 * still refused: the secret seed is what is checked. */
static void test_grafted_sign_key_refused(void)
{
    fx f;
    CHECK(fx_setup(&f));
    unsigned char pk[32];
    CHECK_EQ_INT(fx_issue(&f, "police", "police", "a", NULL), FP_OK);
    CHECK(ca_public(&f, f.ca, pk));
    identity good;
    CHECK_EQ_INT(load_id(&f, "a", pk, &good, NULL), FP_OK);
    unsigned char fake[64], fake_pk[32];
    crypto_sign_keypair(fake_pk, fake);
    if (good.sign_secret != NULL)
        memcpy(fake + 32, good.cert.sign_public, 32);
    identity_free(&good);
    char path[800];
    fx_path(&f, "a/sign.key", path, sizeof path);
    CHECK_EQ_INT(keyfile_write_secret(path, "sign-secret", fake, 64, NULL), FP_OK);
    identity id;
    fp_error err = {0};
    CHECK_EQ_INT(load_id(&f, "a", pk, &id, &err), FP_ERR_CRYPTO);
    CHECK(strstr(err.message, "sign.key") != NULL);
    fx_teardown(&f);
}

static void test_other_ca_refused(void)
{
    fx f;
    CHECK(fx_setup(&f));
    char other[800];
    fx_path(&f, "other-ca", other, sizeof other);
    fp_error err = {0};
    CHECK_EQ_INT(ca_init(other, "Other", &err), FP_OK);
    CHECK_EQ_INT(fx_issue_at(&f, other, "police", "police", "a", 0, 0, NULL), FP_OK);
    unsigned char pk[32], other_pk[32];
    CHECK(ca_public(&f, f.ca, pk));
    CHECK(ca_public(&f, other, other_pk));
    identity id;
    CHECK_EQ_INT(load_id(&f, "a", pk, &id, &err), FP_ERR_CRYPTO);
    CHECK_EQ_INT(load_id(&f, "a", other_pk, &id, &err), FP_OK);
    identity_free(&id);
    fx_teardown(&f);
}

static void test_broker_has_no_linkage_key(void)
{
    fx f;
    CHECK(fx_setup(&f));
    unsigned char pk[32];
    CHECK_EQ_INT(fx_issue(&f, "broker", "broker", "broker", NULL), FP_OK);
    CHECK_EQ_INT(fx_issue(&f, "police", "police", "police", NULL), FP_OK);
    CHECK(ca_public(&f, f.ca, pk));
    char path[800];
    CHECK(!fx_exists(fx_path(&f, "broker/linkage.sealed", path, sizeof path)));
    identity id;
    fp_error err = {0};
    CHECK_EQ_INT(load_id(&f, "broker", pk, &id, &err), FP_OK);
    CHECK(id.linkage_key == NULL);
    CHECK(id.curve_secret != NULL);
    identity_free(&id);
    /* a linkage key planted in a broker identity is refused outright */
    char from[800];
    CHECK(fx_copy(fx_path(&f, "police/linkage.sealed", from, sizeof from), path, 0600));
    CHECK_EQ_INT(load_id(&f, "broker", pk, &id, &err), FP_ERR_DENIED);
    CHECK(strstr(err.message, "never") != NULL);
    fx_teardown(&f);
}

static void test_linkage_key_shared_by_agencies(void)
{
    fx f;
    CHECK(fx_setup(&f));
    unsigned char pk[32];
    CHECK_EQ_INT(fx_issue(&f, "police", "police", "police", NULL), FP_OK);
    CHECK_EQ_INT(fx_issue(&f, "health", "health", "health", NULL), FP_OK);
    CHECK(ca_public(&f, f.ca, pk));
    identity a, b;
    CHECK_EQ_INT(load_id(&f, "police", pk, &a, NULL), FP_OK);
    CHECK_EQ_INT(load_id(&f, "health", pk, &b, NULL), FP_OK);
    CHECK(a.linkage_key != NULL && b.linkage_key != NULL);
    char path[800];
    unsigned char *ca_linkage = NULL;
    CHECK_EQ_INT(keyfile_read_secret(fx_path(&f, "ca/linkage.key", path, sizeof path),
                                     "linkage-key", &ca_linkage, 32, NULL), FP_OK);
    if (a.linkage_key && b.linkage_key && ca_linkage) {
        CHECK(sodium_memcmp(a.linkage_key, b.linkage_key, 32) == 0);
        CHECK(sodium_memcmp(a.linkage_key, ca_linkage, 32) == 0);
        CHECK(!sodium_is_zero(a.linkage_key, 32));
    }
    keyfile_free_secret(ca_linkage, 32);
    identity_free(&a);
    identity_free(&b);

    /* the sealed files differ (sealed to different keys) and cannot be swapped */
    char pa[800], pb[800];
    fx_path(&f, "police/linkage.sealed", pa, sizeof pa);
    fx_path(&f, "health/linkage.sealed", pb, sizeof pb);
    CHECK(fx_copy(pb, pa, 0600));
    fp_error err = {0};
    CHECK_EQ_INT(load_id(&f, "police", pk, &a, &err), FP_ERR_CRYPTO);
    CHECK(strstr(err.message, "linkage.sealed") != NULL);
    fx_teardown(&f);
}

static void test_missing_pieces(void)
{
    fx f;
    CHECK(fx_setup(&f));
    unsigned char pk[32];
    CHECK_EQ_INT(fx_issue(&f, "police", "police", "police", NULL), FP_OK);
    CHECK(ca_public(&f, f.ca, pk));
    char path[800];
    CHECK_EQ_INT(unlink(fx_path(&f, "police/linkage.sealed", path, sizeof path)), 0);
    identity id;
    fp_error err = {0};
    CHECK_EQ_INT(load_id(&f, "police", pk, &id, &err), FP_ERR_NOT_FOUND);
    CHECK(strstr(err.message, "linkage.sealed") != NULL);
    CHECK_EQ_INT(unlink(fx_path(&f, "police/box.key", path, sizeof path)), 0);
    CHECK_EQ_INT(load_id(&f, "police", pk, &id, &err), FP_ERR_NOT_FOUND);
    CHECK_EQ_INT(load_id(&f, "nowhere", pk, &id, &err), FP_ERR_NOT_FOUND);
    fx_teardown(&f);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    RUN(test_round_trip);
    RUN(test_file_modes);
    RUN(test_readable_secret_refused);
    RUN(test_mismatched_keys_refused);
    RUN(test_grafted_sign_key_refused);
    RUN(test_other_ca_refused);
    RUN(test_broker_has_no_linkage_key);
    RUN(test_linkage_key_shared_by_agencies);
    RUN(test_missing_pieces);
    return check_summary();
}
