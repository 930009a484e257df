/*
 * Unit tests for certs/trust_store.c, on real CA directories made with
 * ca_init/ca_issue/ca_revoke in a temporary directory.
 */
#include <sodium.h>
#include <string.h>

#include "ca_fixture.h"
#include "check.h"
#include "crl.h"
#include "identity.h"
#include "trust_store.h"

static trust_store *load(const char *dir)
{
    trust_store *ts = NULL;
    fp_error err = {0};
    if (trust_store_load(&ts, dir, &err) != FP_OK)
        printf("#   trust_store_load: %s\n", err.message);
    return ts;
}

static bool read_cert(const fx *f, const char *dir, cert_info *out)
{
    char path[800], rel[200];
    snprintf(rel, sizeof rel, "%s/agency.cert", dir);
    fx_path(f, rel, path, sizeof path);
    trust_store *ts = load(f->ca);
    bool ok = ts != NULL &&
              cert_read_file(path, trust_store_ca_public(ts), out, NULL) == FP_OK;
    trust_store_free(ts);
    return ok;
}

static void test_lookups(void)
{
    fx f;
    CHECK(fx_setup(&f));
    uint64_t s_police = 0, s_broker = 0, s_health = 0;
    CHECK_EQ_INT(fx_issue(&f, "police", "police", "police", &s_police), FP_OK);
    CHECK_EQ_INT(fx_issue(&f, "broker", "broker", "broker", &s_broker), FP_OK);
    CHECK_EQ_INT(fx_issue(&f, "health", "health", "health", &s_health), FP_OK);
    CHECK_EQ_INT(s_police, 1);
    CHECK_EQ_INT(s_broker, 2);
    CHECK_EQ_INT(s_health, 3);
    cert_info police;
    CHECK(read_cert(&f, "police", &police));
    trust_store *ts = load(f.ca);
    CHECK(ts != NULL);
    if (ts == NULL) {
        fx_teardown(&f);
        return;
    }
    int64_t now = fx_now();
    fp_error err = {0};
    CHECK_EQ_INT(trust_store_count(ts), 3);
    CHECK_EQ_INT(trust_store_skipped(ts), 0);
    CHECK_EQ_STR(trust_store_ca_name(ts), "Test Partnership CA");
    const cert_info *c = trust_store_by_curve_key(ts, police.curve_public, now, &err);
    CHECK(c != NULL && c->serial == s_police && strcmp(c->agency_id, "police") == 0);
    c = trust_store_by_agency(ts, "health", now, &err);
    CHECK(c != NULL && c->serial == s_health);
    c = trust_store_by_sign_key(ts, "police", police.sign_public, now, &err);
    CHECK(c != NULL && c->serial == s_police);
    /* the right key under the wrong agency is no match */
    CHECK(trust_store_by_sign_key(ts, "health", police.sign_public, now, &err) == NULL);
    CHECK_EQ_INT(err.code, FP_ERR_NOT_FOUND);
    c = trust_store_broker(ts, now, &err);
    CHECK(c != NULL && strcmp(c->agency_id, "broker") == 0);
    unsigned char unknown[32];
    randombytes_buf(unknown, sizeof unknown);
    CHECK(trust_store_by_curve_key(ts, unknown, now, &err) == NULL);
    CHECK_EQ_INT(err.code, FP_ERR_NOT_FOUND);
    CHECK(trust_store_by_agency(ts, "nobody", now, &err) == NULL);
    CHECK_EQ_INT(err.code, FP_ERR_NOT_FOUND);
    CHECK(trust_store_by_agency(ts, "NOT VALID", now, &err) == NULL);
    CHECK_EQ_INT(err.code, FP_ERR_INPUT);
    for (size_t i = 0; i < trust_store_count(ts); i++)
        CHECK_EQ_INT(trust_store_check(ts, trust_store_at(ts, i), now, &err), FP_OK);
    CHECK(trust_store_at(ts, 3) == NULL);
    trust_store_free(ts);
    fx_teardown(&f);
}

static void test_expired_and_not_yet_valid(void)
{
    fx f;
    CHECK(fx_setup(&f));
    int64_t now = fx_now();
    CHECK_EQ_INT(fx_issue_at(&f, f.ca, "old", "housing", "old", now - 30 * FX_DAY, 10, NULL),
                 FP_OK);
    CHECK_EQ_INT(fx_issue_at(&f, f.ca, "future", "idva", "future", now + 5 * FX_DAY, 10, NULL),
                 FP_OK);
    cert_info old, future;
    CHECK(read_cert(&f, "old", &old));
    CHECK(read_cert(&f, "future", &future));
    trust_store *ts = load(f.ca);
    CHECK(ts != NULL);
    if (ts == NULL) {
        fx_teardown(&f);
        return;
    }
    fp_error err = {0};
    CHECK(trust_store_by_agency(ts, "old", now, &err) == NULL);
    CHECK_EQ_INT(err.code, FP_ERR_TIME);
    CHECK(strstr(err.message, "expired") != NULL);
    CHECK(trust_store_by_curve_key(ts, old.curve_public, now, &err) == NULL);
    CHECK_EQ_INT(err.code, FP_ERR_TIME);
    CHECK(trust_store_by_agency(ts, "future", now, &err) == NULL);
    CHECK_EQ_INT(err.code, FP_ERR_TIME);
    CHECK(strstr(err.message, "not valid until") != NULL);
    /* The clock is the caller's: the same store answers differently later. */
    CHECK(trust_store_by_agency(ts, "future", now + 6 * FX_DAY, &err) != NULL);
    CHECK(trust_store_by_agency(ts, "old", now - 25 * FX_DAY, &err) != NULL);
    CHECK_EQ_INT(trust_store_status(ts, &old, now), TRUST_EXPIRED);
    CHECK_EQ_INT(trust_store_status(ts, &future, now), TRUST_NOT_YET_VALID);
    CHECK_EQ_STR(trust_status_name(TRUST_NOT_YET_VALID), "not-yet-valid");
    trust_store_free(ts);
    fx_teardown(&f);
}

static void test_revoked_by_serial_and_by_agency(void)
{
    fx f;
    CHECK(fx_setup(&f));
    uint64_t p1 = 0, p2 = 0, h1 = 0;
    CHECK_EQ_INT(fx_issue(&f, "police", "police", "p1", &p1), FP_OK);
    CHECK_EQ_INT(fx_issue(&f, "police", "police", "p2", &p2), FP_OK);
    CHECK_EQ_INT(fx_issue(&f, "health", "health", "h1", &h1), FP_OK);
    cert_info c1, c2, h;
    CHECK(read_cert(&f, "p1", &c1));
    CHECK(read_cert(&f, "p2", &c2));
    CHECK(read_cert(&f, "h1", &h));
    fp_error err = {0};
    CHECK_EQ_INT(ca_revoke(f.ca, "police", p1, "rotated", &err), FP_OK);
    trust_store *ts = load(f.ca);
    int64_t now = fx_now();
    CHECK(ts != NULL);
    if (ts != NULL) {
        CHECK(trust_store_by_curve_key(ts, c1.curve_public, now, &err) == NULL);
        CHECK_EQ_INT(err.code, FP_ERR_DENIED);
        CHECK(strstr(err.message, "revoked") != NULL);
        CHECK(trust_store_by_curve_key(ts, c2.curve_public, now, &err) != NULL);
        const cert_info *c = trust_store_by_agency(ts, "police", now, &err);
        CHECK(c != NULL && c->serial == p2);
        CHECK(trust_store_by_sign_key(ts, "police", c1.sign_public, now, &err) == NULL);
        CHECK_EQ_INT(trust_store_status(ts, &c1, now), TRUST_REVOKED);
        CHECK_EQ_INT(trust_store_crl_number(ts), 1);
        trust_store_free(ts);
    }
    CHECK_EQ_INT(ca_revoke(f.ca, "police", 0, "left the partnership", &err), FP_OK);
    ts = load(f.ca);
    CHECK(ts != NULL);
    if (ts != NULL) {
        CHECK(trust_store_by_curve_key(ts, c2.curve_public, now, &err) == NULL);
        CHECK_EQ_INT(err.code, FP_ERR_DENIED);
        CHECK(trust_store_by_agency(ts, "police", now, &err) == NULL);
        CHECK_EQ_INT(err.code, FP_ERR_DENIED);
        /* revocation outranks dates: still revoked at any time */
        CHECK_EQ_INT(trust_store_status(ts, &c2, now + 1000 * FX_DAY), TRUST_REVOKED);
        CHECK(trust_store_by_curve_key(ts, h.curve_public, now, &err) != NULL);
        CHECK_EQ_INT(trust_store_crl_number(ts), 2);
        trust_store_free(ts);
    }
    fx_teardown(&f);
}

static void test_crl_tampering_fails_load(void)
{
    fx f;
    CHECK(fx_setup(&f));
    CHECK_EQ_INT(fx_issue(&f, "police", "police", "p1", NULL), FP_OK);
    fp_error err = {0};
    CHECK_EQ_INT(ca_revoke(f.ca, "police", 1, "compromised", &err), FP_OK);
    char crl_path[800], saved[800];
    fx_path(&f, "ca/revoked.crl", crl_path, sizeof crl_path);
    fx_path(&f, "saved.crl", saved, sizeof saved);
    CHECK(fx_copy(crl_path, saved, 0644));
    struct stat st;
    CHECK(stat(crl_path, &st) == 0);
    size_t flips = 0, refused = 0;
    for (size_t i = 0; i < (size_t)st.st_size; i++) {
        CHECK(fx_copy(saved, crl_path, 0644));
        if (!fx_flip_byte(crl_path, i))
            continue;
        flips++;
        trust_store *ts = NULL;
        if (trust_store_load(&ts, f.ca, &err) != FP_OK)
            refused++;
        trust_store_free(ts);
    }
    CHECK(flips > 50);
    CHECK_EQ_INT(refused, flips);
    CHECK(strstr(err.message, "revocation list") != NULL);

    /* a list signed by another CA is no better */
    fx other = f;
    snprintf(other.ca, sizeof other.ca, "%s/other-ca", f.root);
    CHECK_EQ_INT(ca_init(other.ca, "Other CA", &err), FP_OK);
    CHECK_EQ_INT(fx_issue_at(&f, other.ca, "police", "police", "op", 0, 0, NULL), FP_OK);
    CHECK_EQ_INT(ca_revoke(other.ca, "police", 1, "x", &err), FP_OK);
    char other_crl[800];
    fx_path(&f, "other-ca/revoked.crl", other_crl, sizeof other_crl);
    CHECK(fx_copy(other_crl, crl_path, 0644));
    trust_store *ts = NULL;
    CHECK_EQ_INT(trust_store_load(&ts, f.ca, &err), FP_ERR_CRYPTO);
    CHECK(ts == NULL);

    /* the genuine list loads again */
    CHECK(fx_copy(saved, crl_path, 0644));
    CHECK_EQ_INT(trust_store_load(&ts, f.ca, &err), FP_OK);
    trust_store_free(ts);
    fx_teardown(&f);
}

static void test_foreign_certs_skipped(void)
{
    fx f;
    CHECK(fx_setup(&f));
    fp_error err = {0};
    CHECK_EQ_INT(fx_issue(&f, "police", "police", "p1", NULL), FP_OK);
    char other_ca[800];
    fx_path(&f, "other-ca", other_ca, sizeof other_ca);
    CHECK_EQ_INT(ca_init(other_ca, "Rogue CA", &err), FP_OK);
    CHECK_EQ_INT(fx_issue_at(&f, other_ca, "intruder", "police", "intruder", 0, 0, NULL),
                 FP_OK);
    char from[800], to[800], junk[800];
    fx_path(&f, "intruder/agency.cert", from, sizeof from);
    fx_path(&f, "ca/certs/intruder-1.cert", to, sizeof to);
    fx_path(&f, "ca/certs/junk.cert", junk, sizeof junk);
    CHECK(fx_copy(from, to, 0644));
    CHECK(fileio_write_atomic(junk, "not a cert", 10, 0644, &err) == FP_OK);
    cert_info intruder;
    memset(&intruder, 0, sizeof intruder);
    trust_store *ts = load(other_ca);
    if (ts != NULL)
        CHECK_EQ_INT(cert_read_file(from, trust_store_ca_public(ts), &intruder, &err), FP_OK);
    trust_store_free(ts);

    ts = load(f.ca);
    CHECK(ts != NULL);
    if (ts != NULL) {
        CHECK_EQ_INT(trust_store_count(ts), 1);
        CHECK_EQ_INT(trust_store_skipped(ts), 2);
        CHECK(trust_store_skipped_reason(ts) != NULL);
        CHECK(trust_store_by_agency(ts, "intruder", fx_now(), &err) == NULL);
        CHECK(trust_store_by_curve_key(ts, intruder.curve_public, fx_now(), &err) == NULL);
        CHECK_EQ_INT(err.code, FP_ERR_NOT_FOUND);
        trust_store_free(ts);
    }
    fx_teardown(&f);
}

/* Key rotation: both certificates of one agency valid during the overlap. */
static void test_overlapping_certs(void)
{
    fx f;
    CHECK(fx_setup(&f));
    int64_t now = fx_now();
    uint64_t s_old = 0, s_new = 0;
    CHECK_EQ_INT(fx_issue_at(&f, f.ca, "police", "police", "old", now - 300 * FX_DAY, 365,
                             &s_old), FP_OK);
    CHECK_EQ_INT(fx_issue(&f, "police", "police", "new", &s_new), FP_OK);
    /* The new certificate starts at the second it was issued; asking about
     * the second before it (the clock may have ticked) would see it unborn. */
    now = fx_now();
    cert_info o, n;
    CHECK(read_cert(&f, "old", &o));
    CHECK(read_cert(&f, "new", &n));
    CHECK(memcmp(o.sign_public, n.sign_public, 32) != 0);
    trust_store *ts = load(f.ca);
    CHECK(ts != NULL);
    if (ts == NULL) {
        fx_teardown(&f);
        return;
    }
    fp_error err = {0};
    const cert_info *c = trust_store_by_sign_key(ts, "police", o.sign_public, now, &err);
    CHECK(c != NULL && c->serial == s_old);
    c = trust_store_by_sign_key(ts, "police", n.sign_public, now, &err);
    CHECK(c != NULL && c->serial == s_new);
    c = trust_store_by_curve_key(ts, o.curve_public, now, &err);
    CHECK(c != NULL && c->serial == s_old);
    c = trust_store_by_curve_key(ts, n.curve_public, now, &err);
    CHECK(c != NULL && c->serial == s_new);
    c = trust_store_by_agency(ts, "police", now, &err);
    CHECK(c != NULL && c->serial == s_new);     /* newest */
    /* once the old one expires only the new one answers */
    int64_t later = now + 70 * FX_DAY;
    CHECK(trust_store_by_sign_key(ts, "police", o.sign_public, later, &err) == NULL);
    CHECK_EQ_INT(err.code, FP_ERR_TIME);
    CHECK(trust_store_by_sign_key(ts, "police", n.sign_public, later, &err) != NULL);
    trust_store_free(ts);
    fx_teardown(&f);
}

/* The newest valid certificate wins even if a newer one is not yet valid. */
static void test_newest_valid_preferred(void)
{
    fx f;
    CHECK(fx_setup(&f));
    int64_t now = fx_now();
    uint64_t s1 = 0, s2 = 0;
    CHECK_EQ_INT(fx_issue(&f, "broker", "broker", "b1", &s1), FP_OK);
    CHECK_EQ_INT(fx_issue_at(&f, f.ca, "broker", "broker", "b2", now + 10 * FX_DAY, 365, &s2),
                 FP_OK);
    now = fx_now(); /* b1 starts at its issue second, which may be after the first reading */
    trust_store *ts = load(f.ca);
    fp_error err = {0};
    if (ts != NULL) {
        const cert_info *c = trust_store_broker(ts, now, &err);
        CHECK(c != NULL && c->serial == s1);
        c = trust_store_broker(ts, now + 11 * FX_DAY, &err);
        CHECK(c != NULL && c->serial == s2);
    }
    CHECK(ts != NULL);
    trust_store_free(ts);
    fx_teardown(&f);
}

static void test_missing_or_bad_bundle(void)
{
    fx f;
    CHECK(fx_setup(&f));
    trust_store *ts = NULL;
    fp_error err = {0};
    char nowhere[800], capub[800];
    fx_path(&f, "nowhere", nowhere, sizeof nowhere);
    CHECK_EQ_INT(trust_store_load(&ts, nowhere, &err), FP_ERR_NOT_FOUND);
    CHECK(ts == NULL);
    /* a fresh CA with nothing issued loads, empty */
    CHECK_EQ_INT(trust_store_load(&ts, f.ca, &err), FP_OK);
    if (ts != NULL)
        CHECK_EQ_INT(trust_store_count(ts), 0);
    trust_store_free(ts);
    ts = NULL;
    fx_path(&f, "ca/ca.pub", capub, sizeof capub);
    CHECK(fileio_write_atomic(capub, "flagpost-ca-public-v1\nAAAA\n", 27, 0644, &err) ==
          FP_OK);
    CHECK(trust_store_load(&ts, f.ca, &err) != FP_OK);
    CHECK(ts == NULL);
    fx_teardown(&f);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    RUN(test_lookups);
    RUN(test_expired_and_not_yet_valid);
    RUN(test_revoked_by_serial_and_by_agency);
    RUN(test_crl_tampering_fails_load);
    RUN(test_foreign_certs_skipped);
    RUN(test_overlapping_certs);
    RUN(test_newest_valid_preferred);
    RUN(test_missing_or_bad_bundle);
    return check_summary();
}
