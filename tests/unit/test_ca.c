/*
 * Unit tests for certs/ca*.c: creating a CA, issuing, revoking and
 * exporting, including every refusal an operator can run into.
 */
#include <dirent.h>
#include <sodium.h>
#include <string.h>

#include "ca_fixture.h"
#include "check.h"
#include "crl.h"
#include "keyfile.h"
#include "trust_store.h"

static void test_init_layout_and_modes(void)
{
    fx f;
    CHECK(fx_setup(&f));
    char p[800];
    CHECK_EQ_INT(fx_mode(f.ca), 0700);
    CHECK_EQ_INT(fx_mode(fx_path(&f, "ca/ca.key", p, sizeof p)), 0600);
    CHECK_EQ_INT(fx_mode(fx_path(&f, "ca/linkage.key", p, sizeof p)), 0600);
    CHECK_EQ_INT(fx_mode(fx_path(&f, "ca/ca.pub", p, sizeof p)), 0644);
    CHECK_EQ_INT(fx_mode(fx_path(&f, "ca/ca.name", p, sizeof p)), 0644);
    CHECK(fx_exists(fx_path(&f, "ca/serial", p, sizeof p)));
    CHECK(fx_exists(fx_path(&f, "ca/certs", p, sizeof p)));
    CHECK(!fx_exists(fx_path(&f, "ca/revoked.crl", p, sizeof p)));
    /* ca.key and ca.pub are a pair */
    unsigned char *sk = NULL, pk[32], derived[32];
    CHECK_EQ_INT(keyfile_read_secret(fx_path(&f, "ca/ca.key", p, sizeof p), "ca-secret", &sk,
                                     64, NULL), FP_OK);
    CHECK_EQ_INT(keyfile_read_public(fx_path(&f, "ca/ca.pub", p, sizeof p), "ca-public", pk,
                                     32, NULL), FP_OK);
    if (sk != NULL) {
        crypto_sign_ed25519_sk_to_pk(derived, sk);
        CHECK(memcmp(derived, pk, 32) == 0);
    }
    keyfile_free_secret(sk, 64);
    fx_teardown(&f);
}

static void test_init_refusals(void)
{
    fx f;
    CHECK(fx_setup(&f));
    fp_error err = {0};
    char before[800], after[800], p[800];
    CHECK(fx_copy(fx_path(&f, "ca/ca.pub", p, sizeof p),
                  fx_path(&f, "before.pub", before, sizeof before), 0644));
    CHECK_EQ_INT(ca_init(f.ca, "Again", &err), FP_ERR_DENIED);
    CHECK(strstr(err.message, "already holds a CA") != NULL);
    CHECK(fx_copy(p, fx_path(&f, "after.pub", after, sizeof after), 0644));
    uint8_t *a = NULL, *b = NULL;
    size_t al = 0, bl = 0;
    fileio_read_all(before, 4096, &a, &al, NULL);
    fileio_read_all(after, 4096, &b, &bl, NULL);
    CHECK(a != NULL && b != NULL && al == bl && memcmp(a, b, al) == 0);
    free(a);
    free(b);
    /* a non-empty directory is refused; an empty one is used and made private */
    char full[800], empty[800];
    fx_path(&f, "full", full, sizeof full);
    fx_path(&f, "empty", empty, sizeof empty);
    CHECK_EQ_INT(mkdir(full, 0755), 0);
    CHECK_EQ_INT(mkdir(empty, 0755), 0);
    CHECK(fileio_write_atomic(fx_path(&f, "full/x", p, sizeof p), "x", 1, 0644, NULL) == FP_OK);
    CHECK_EQ_INT(ca_init(full, "CA", &err), FP_ERR_DENIED);
    CHECK_EQ_INT(ca_init(empty, "CA", &err), FP_OK);
    CHECK_EQ_INT(fx_mode(empty), 0700);
    CHECK_EQ_INT(ca_init(fx_path(&f, "n", p, sizeof p), "bad\nname", &err), FP_ERR_INPUT);
    CHECK_EQ_INT(ca_init(fx_path(&f, "n", p, sizeof p), "", &err), FP_ERR_INPUT);
    fx_teardown(&f);
}

static void test_issue_refusals(void)
{
    fx f;
    CHECK(fx_setup(&f));
    char out[800], p[800];
    fx_path(&f, "police", out, sizeof out);
    ca_issue_options opt = {.agency_id = "police", .display_name = "Police",
                            .sector = "police", .out_dir = out};
    fp_error err = {0};
    uint64_t serial = 0;
    CHECK_EQ_INT(ca_issue(f.ca, &opt, &serial, &err), FP_OK);
    CHECK_EQ_INT(serial, 1);
    /* never overwrite an identity */
    CHECK_EQ_INT(ca_issue(f.ca, &opt, &serial, &err), FP_ERR_DENIED);
    CHECK(strstr(err.message, "already holds an identity") != NULL);
    /* nor write into the CA directory */
    opt.out_dir = f.ca;
    CHECK_EQ_INT(ca_issue(f.ca, &opt, &serial, &err), FP_ERR_DENIED);
    opt.out_dir = fx_path(&f, "p2", p, sizeof p);
    /* an id keeps its sector */
    opt.sector = "broker";
    CHECK_EQ_INT(ca_issue(f.ca, &opt, &serial, &err), FP_ERR_DENIED);
    CHECK(strstr(err.message, "sector") != NULL);
    CHECK(!fx_exists(p));
    opt.sector = "policing";
    CHECK_EQ_INT(ca_issue(f.ca, &opt, &serial, &err), FP_ERR_INPUT);
    CHECK(strstr(err.message, "childrens_social_care") != NULL);
    opt.sector = "police";
    opt.agency_id = "Police";
    CHECK_EQ_INT(ca_issue(f.ca, &opt, &serial, &err), FP_ERR_INPUT);
    opt.agency_id = "police";
    opt.display_name = "";
    CHECK_EQ_INT(ca_issue(f.ca, &opt, &serial, &err), FP_ERR_INPUT);
    opt.display_name = "Police";
    opt.valid_days = 5000;
    CHECK_EQ_INT(ca_issue(f.ca, &opt, &serial, &err), FP_ERR_INPUT);
    opt.valid_days = -1;
    CHECK_EQ_INT(ca_issue(f.ca, &opt, &serial, &err), FP_ERR_INPUT);
    opt.valid_days = 0;
    /* no CA there */
    CHECK_EQ_INT(ca_issue(fx_path(&f, "no-ca", out, sizeof out), &opt, &serial, &err),
                 FP_ERR_NOT_FOUND);
    CHECK(strstr(err.message, "ca init") != NULL);
    /* refusals consumed no serial */
    CHECK_EQ_INT(ca_issue(f.ca, &opt, &serial, &err), FP_OK);
    CHECK_EQ_INT(serial, 2);
    fx_teardown(&f);
}

static void test_issue_validity_defaults(void)
{
    fx f;
    CHECK(fx_setup(&f));
    int64_t t0 = fx_now();
    CHECK_EQ_INT(fx_issue(&f, "police", "police", "a", NULL), FP_OK);
    CHECK_EQ_INT(fx_issue_at(&f, f.ca, "health", "health", "b", 1800000000, 30, NULL), FP_OK);
    trust_store *ts = NULL;
    CHECK_EQ_INT(trust_store_load(&ts, f.ca, NULL), FP_OK);
    if (ts != NULL && trust_store_count(ts) == 2) {
        const cert_info *a = trust_store_at(ts, 0), *b = trust_store_at(ts, 1);
        /* Valid from a few minutes before issue (a partner's clock may run
         * behind the CA's), for 365 days from issue. */
        CHECK(a->not_before >= t0 - CA_CLOCK_LEEWAY_S &&
              a->not_before <= fx_now() - CA_CLOCK_LEEWAY_S);
        CHECK_EQ_INT(a->not_after - a->not_before, 365 * FX_DAY + CA_CLOCK_LEEWAY_S);
        CHECK_EQ_INT(trust_store_status(ts, a, t0 - 60), TRUST_VALID);
        CHECK_EQ_INT(trust_store_status(ts, a, t0 - CA_CLOCK_LEEWAY_S - 60),
                     TRUST_NOT_YET_VALID);
        CHECK_EQ_INT(b->not_before, 1800000000);
        CHECK_EQ_INT(b->not_after, 1800000000 + 30 * FX_DAY);
        CHECK_EQ_STR(a->ca_name, "Test Partnership CA");
        CHECK_EQ_STR(a->display_name, "Test Agency");
    }
    CHECK(ts != NULL && trust_store_count(ts) == 2);
    trust_store_free(ts);
    fx_teardown(&f);
}

static void test_readable_ca_key_refused(void)
{
    fx f;
    CHECK(fx_setup(&f));
    char p[800];
    fx_path(&f, "ca/ca.key", p, sizeof p);
    CHECK_EQ_INT(chmod(p, 0640), 0);
    fp_error err = {0};
    CHECK_EQ_INT(fx_issue(&f, "police", "police", "a", NULL), FP_ERR_PERMISSIONS);
    CHECK_EQ_INT(ca_revoke(f.ca, "police", 0, "x", &err), FP_ERR_PERMISSIONS);
    CHECK(strstr(err.message, "chmod 600") != NULL);
    CHECK_EQ_INT(chmod(p, 0600), 0);
    fx_path(&f, "ca/linkage.key", p, sizeof p);
    CHECK_EQ_INT(chmod(p, 0644), 0);
    CHECK_EQ_INT(fx_issue(&f, "police", "police", "b", NULL), FP_ERR_PERMISSIONS);
    /* the failed issue left no identity behind and spent no serial */
    CHECK(!fx_exists(fx_path(&f, "b", p, sizeof p)));
    /* the broker needs no linkage key, so it can still be issued */
    uint64_t serial = 0;
    CHECK_EQ_INT(fx_issue(&f, "broker", "broker", "c", &serial), FP_OK);
    CHECK_EQ_INT(serial, 1);
    fx_teardown(&f);
}

static void test_revoke_rules(void)
{
    fx f;
    CHECK(fx_setup(&f));
    fp_error err = {0};
    CHECK_EQ_INT(fx_issue(&f, "police", "police", "a", NULL), FP_OK);
    CHECK_EQ_INT(fx_issue(&f, "health", "health", "b", NULL), FP_OK);
    CHECK_EQ_INT(ca_revoke(f.ca, "police", 2, "typo", &err), FP_ERR_NOT_FOUND);
    CHECK_EQ_INT(ca_revoke(f.ca, "nobody", 0, "typo", &err), FP_ERR_NOT_FOUND);
    CHECK_EQ_INT(ca_revoke(f.ca, "police", 1, "", &err), FP_ERR_INPUT);
    CHECK_EQ_INT(ca_revoke(f.ca, "police", 1, "bad\treason", &err), FP_ERR_INPUT);
    char p[800];
    CHECK(!fx_exists(fx_path(&f, "ca/revoked.crl", p, sizeof p)));
    CHECK_EQ_INT(ca_revoke(f.ca, "police", 1, "rotated", &err), FP_OK);
    CHECK_EQ_INT(ca_revoke(f.ca, "police", 1, "again", &err), FP_ERR_DENIED);
    CHECK_EQ_INT(ca_revoke(f.ca, "health", 0, "left", &err), FP_OK);
    CHECK_EQ_INT(ca_revoke(f.ca, "health", 0, "again", &err), FP_ERR_DENIED);
    CHECK_EQ_INT(ca_revoke(f.ca, "health", 2, "again", &err), FP_ERR_DENIED);
    CHECK_EQ_INT(fx_mode(p), 0644);
    trust_store *ts = NULL;
    CHECK_EQ_INT(trust_store_load(&ts, f.ca, &err), FP_OK);
    if (ts != NULL) {
        const crl *l = trust_store_revocations(ts);
        CHECK_EQ_INT(l->count, 2);
        CHECK_EQ_INT(l->number, 2);
        if (l->count == 2) {
            CHECK_EQ_STR(l->entries[0].reason, "rotated");
            CHECK_EQ_INT(l->entries[1].serial, 0);
        }
    }
    trust_store_free(ts);
    /* a wholly revoked agency cannot be issued again; a serial-revoked one can */
    CHECK_EQ_INT(fx_issue(&f, "health", "health", "b2", NULL), FP_ERR_DENIED);
    CHECK_EQ_INT(fx_issue(&f, "police", "police", "a2", NULL), FP_OK);
    fx_teardown(&f);
}

static void test_export_bundle(void)
{
    fx f;
    CHECK(fx_setup(&f));
    fp_error err = {0};
    CHECK_EQ_INT(fx_issue(&f, "police", "police", "a", NULL), FP_OK);
    CHECK_EQ_INT(fx_issue(&f, "broker", "broker", "b", NULL), FP_OK);
    CHECK_EQ_INT(ca_revoke(f.ca, "police", 1, "rotated", &err), FP_OK);
    /* a foreign certificate in the CA's certs/ is not exported */
    char other[800], p[800], q[800];
    fx_path(&f, "other", other, sizeof other);
    CHECK_EQ_INT(ca_init(other, "Other", &err), FP_OK);
    CHECK_EQ_INT(fx_issue_at(&f, other, "x", "police", "x", 0, 0, NULL), FP_OK);
    CHECK(fx_copy(fx_path(&f, "x/agency.cert", p, sizeof p),
                  fx_path(&f, "ca/certs/x-1.cert", q, sizeof q), 0644));

    char bundle[800];
    fx_path(&f, "bundle", bundle, sizeof bundle);
    CHECK_EQ_INT(ca_export_bundle(f.ca, bundle, &err), FP_OK);
    const char *expect[] = {"ca.pub", "ca.name", "revoked.crl", "certs/police-1.cert",
                            "certs/broker-2.cert"};
    for (size_t i = 0; i < 5; i++) {
        char rel[200];
        snprintf(rel, sizeof rel, "bundle/%s", expect[i]);
        CHECK_EQ_INT(fx_mode(fx_path(&f, rel, p, sizeof p)), 0644);
    }
    CHECK(!fx_exists(fx_path(&f, "bundle/certs/x-1.cert", p, sizeof p)));
    /* nothing in the bundle is secret: only the expected names exist */
    const char *never[] = {"ca.key", "linkage.key", "serial", "lock"};
    for (size_t i = 0; i < 4; i++) {
        char rel[200];
        snprintf(rel, sizeof rel, "bundle/%s", never[i]);
        CHECK(!fx_exists(fx_path(&f, rel, p, sizeof p)));
    }
    DIR *d = opendir(bundle);
    size_t entries = 0;
    for (struct dirent *de; d != NULL && (de = readdir(d)) != NULL;)
        if (de->d_name[0] != '.')
            entries++;
    if (d != NULL)
        closedir(d);
    CHECK_EQ_INT(entries, 4);   /* ca.pub ca.name revoked.crl certs */

    trust_store *ts = NULL;
    CHECK_EQ_INT(trust_store_load(&ts, bundle, &err), FP_OK);
    if (ts != NULL) {
        CHECK_EQ_INT(trust_store_count(ts), 2);
        CHECK_EQ_INT(trust_store_skipped(ts), 0);
        CHECK_EQ_INT(trust_store_status(ts, trust_store_at(ts, 0), fx_now()), TRUST_REVOKED);
    }
    trust_store_free(ts);
    /* exporting again refreshes; into the CA itself, an identity or another
     * CA's bundle is refused */
    CHECK_EQ_INT(ca_export_bundle(f.ca, bundle, &err), FP_OK);
    CHECK_EQ_INT(ca_export_bundle(f.ca, f.ca, &err), FP_ERR_DENIED);
    CHECK_EQ_INT(ca_export_bundle(f.ca, fx_path(&f, "a", p, sizeof p), &err), FP_ERR_DENIED);
    CHECK_EQ_INT(ca_export_bundle(other, bundle, &err), FP_ERR_DENIED);
    CHECK(strstr(err.message, "different CA") != NULL);
    fx_teardown(&f);
}

/* Export needs no secret: it works with ca.key unreadable to everyone. */
static void test_export_without_ca_key(void)
{
    fx f;
    CHECK(fx_setup(&f));
    fp_error err = {0};
    CHECK_EQ_INT(fx_issue(&f, "police", "police", "a", NULL), FP_OK);
    char p[800], bundle[800];
    CHECK_EQ_INT(unlink(fx_path(&f, "ca/ca.key", p, sizeof p)), 0);
    CHECK_EQ_INT(ca_export_bundle(f.ca, fx_path(&f, "bundle", bundle, sizeof bundle), &err),
                 FP_OK);
    CHECK(fx_exists(fx_path(&f, "bundle/certs/police-1.cert", p, sizeof p)));
    CHECK_EQ_INT(fx_issue(&f, "health", "health", "b", NULL), FP_ERR_NOT_FOUND);
    fx_teardown(&f);
}

static void test_damaged_serial_file(void)
{
    fx f;
    CHECK(fx_setup(&f));
    char p[800];
    fx_path(&f, "ca/serial", p, sizeof p);
    CHECK(fileio_write_atomic(p, "12x\n", 4, 0644, NULL) == FP_OK);
    fp_error err = {0};
    CHECK_EQ_INT(fx_issue(&f, "police", "police", "a", NULL), FP_ERR_INPUT);
    CHECK(fileio_write_atomic(p, "41\n", 3, 0644, NULL) == FP_OK);
    uint64_t serial = 0;
    CHECK_EQ_INT(fx_issue(&f, "police", "police", "a", &serial), FP_OK);
    CHECK_EQ_INT(serial, 42);
    (void)err;
    fx_teardown(&f);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    RUN(test_init_layout_and_modes);
    RUN(test_init_refusals);
    RUN(test_issue_refusals);
    RUN(test_issue_validity_defaults);
    RUN(test_readable_ca_key_refused);
    RUN(test_revoke_rules);
    RUN(test_export_bundle);
    RUN(test_export_without_ca_key);
    RUN(test_damaged_serial_file);
    return check_summary();
}
