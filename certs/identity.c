/*
 * identity: an agency's own keys.  See identity.h.
 *
 * A stolen or mixed-up key file must fail here, at start-up, rather than
 * later as a puzzling refusal from the broker: so after the certificate is
 * verified, each secret key is checked to derive exactly the public key the
 * certificate binds.  Permission checks live in keyfile (on the open
 * descriptor).  The linkage key is opened straight into sodium_malloc
 * memory and never exists anywhere else in this process.
 *
 * The certificate's validity dates are deliberately not checked: an agent
 * with an expired certificate should still start, say so, and keep its
 * outbox, rather than refuse to run.  The broker enforces the dates.
 */
#include "identity.h"

#include <sodium.h>
#include <string.h>
#include <sys/stat.h>

#include "fileio.h"
#include "keyfile.h"

#define IDENTITY_PATH_MAX 4096

_Static_assert(IDENTITY_LINKAGE_SEALED_LEN == 32 + crypto_box_SEALBYTES,
               "linkage.sealed holds one sealed 32-byte key");

static int identity_path(char out[IDENTITY_PATH_MAX], const char *dir, const char *name,
                         fp_error *err)
{
    return fileio_join(out, IDENTITY_PATH_MAX, dir, name, err);
}

static int identity_read_secret(const char *dir, const char *name, const char *kind,
                                unsigned char **out, size_t len, fp_error *err)
{
    char path[IDENTITY_PATH_MAX];
    int rc = identity_path(path, dir, name, err);
    if (rc != FP_OK)
        return rc;
    return keyfile_read_secret(path, kind, out, len, err);
}

/* derive_rc is the status of deriving pk from the secret in file. */
static int identity_key_matches(int derive_rc, const unsigned char pk[32],
                                const unsigned char bound[32], const char *file,
                                const char *dir, fp_error *err)
{
    if (derive_rc != 0 || sodium_memcmp(pk, bound, 32) != 0)
        return fp_error_set(err, FP_ERR_CRYPTO,
                            "%s/%s does not belong to the certificate in %s/agency.cert "
                            "(its public key differs); the files come from different "
                            "identities, so restore the matching set or issue a new "
                            "identity", dir, file, dir);
    return FP_OK;
}

static int identity_check_keys(const identity *id, const char *dir, fp_error *err)
{
    unsigned char pk[32];
    int d = crypto_scalarmult_base(pk, id->curve_secret);
    int rc = identity_key_matches(d, pk, id->cert.curve_public, "curve.key", dir, err);
    if (rc != FP_OK)
        return rc;
    /* The last 32 bytes of an Ed25519 secret key are its public half and
     * could be grafted on; derive from the seed so the secret itself is
     * what gets checked. */
    unsigned char seed[32], sk[64];
    d = crypto_sign_ed25519_sk_to_seed(seed, id->sign_secret) |
        crypto_sign_seed_keypair(pk, sk, seed);
    sodium_memzero(seed, sizeof seed);
    sodium_memzero(sk, sizeof sk);
    rc = identity_key_matches(d, pk, id->cert.sign_public, "sign.key", dir, err);
    if (rc == FP_OK) {
        d = crypto_sign_ed25519_sk_to_pk(pk, id->sign_secret);
        rc = identity_key_matches(d, pk, id->cert.sign_public, "sign.key", dir, err);
    }
    if (rc != FP_OK)
        return rc;
    d = crypto_scalarmult_base(pk, id->box_secret);
    return identity_key_matches(d, pk, id->cert.box_public, "box.key", dir, err);
}

/* linkage.sealed: present for every agency, absent for the broker. */
static int identity_open_linkage(identity *id, const char *dir, fp_error *err)
{
    char path[IDENTITY_PATH_MAX];
    int rc = identity_path(path, dir, "linkage.sealed", err);
    if (rc != FP_OK)
        return rc;
    struct stat st;
    bool present = lstat(path, &st) == 0;
    bool broker = strcmp(id->cert.sector, "broker") == 0;
    if (broker && present)
        return fp_error_set(err, FP_ERR_DENIED,
                            "%s is a broker identity but holds linkage.sealed; the broker "
                            "must never hold the linkage key. Delete %s", dir, path);
    if (broker)
        return FP_OK;
    if (!present)
        return fp_error_set(err, FP_ERR_NOT_FOUND,
                            "%s has no linkage.sealed, so this agency cannot compute "
                            "pseudonyms; issue the identity again with `flagpost ca issue`",
                            dir);
    unsigned char *sealed = NULL;
    rc = keyfile_read_secret(path, IDENTITY_LINKAGE_KIND, &sealed, IDENTITY_LINKAGE_SEALED_LEN,
                             err);
    if (rc != FP_OK)
        return rc;
    id->linkage_key = sodium_malloc(32);
    if (id->linkage_key == NULL) {
        keyfile_free_secret(sealed, IDENTITY_LINKAGE_SEALED_LEN);
        return fp_error_set(err, FP_ERR_IO, "out of memory opening the linkage key");
    }
    if (crypto_box_seal_open(id->linkage_key, sealed, IDENTITY_LINKAGE_SEALED_LEN,
                             id->cert.box_public, id->box_secret) != 0)
        rc = fp_error_set(err, FP_ERR_CRYPTO,
                          "%s was not sealed to this identity's box key; it belongs to "
                          "another identity or is damaged", path);
    keyfile_free_secret(sealed, IDENTITY_LINKAGE_SEALED_LEN);
    return rc;
}

int identity_load(identity *id, const char *dir, const unsigned char ca_public[32],
                  fp_error *err)
{
    memset(id, 0, sizeof *id);
    if (sodium_init() < 0)   /* sodium_malloc aborts without it */
        return fp_error_set(err, FP_ERR_INTERNAL, "libsodium failed to initialise");
    char path[IDENTITY_PATH_MAX];
    int rc = identity_path(path, dir, "agency.cert", err);
    if (rc == FP_OK)
        rc = cert_read_file(path, ca_public, &id->cert, err);
    if (rc == FP_OK)
        rc = identity_read_secret(dir, "curve.key", "curve-secret", &id->curve_secret, 32, err);
    if (rc == FP_OK)
        rc = identity_read_secret(dir, "sign.key", "sign-secret", &id->sign_secret, 64, err);
    if (rc == FP_OK)
        rc = identity_read_secret(dir, "box.key", "box-secret", &id->box_secret, 32, err);
    if (rc == FP_OK)
        rc = identity_check_keys(id, dir, err);
    if (rc == FP_OK)
        rc = identity_open_linkage(id, dir, err);
    if (rc != FP_OK)
        identity_free(id);
    return rc;
}

void identity_free(identity *id)
{
    if (id == NULL)
        return;
    keyfile_free_secret(id->curve_secret, 32);
    keyfile_free_secret(id->sign_secret, 64);
    keyfile_free_secret(id->box_secret, 32);
    keyfile_free_secret(id->linkage_key, 32);
    memset(id, 0, sizeof *id);
}
