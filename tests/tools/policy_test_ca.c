/*
 * policy_test_ca DIR: a stand-in CA directory for policy signing tests
 * until `flagpost ca init` is available: DIR/ca.key (Ed25519 secret, kind
 * "ca-secret", 0600) and DIR/ca.pub (kind "ca-public").  Test use only.
 */
#include <sodium.h>
#include <stdio.h>

#include "fileio.h"
#include "keyfile.h"

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: policy_test_ca DIR\n");
        return 2;
    }
    if (sodium_init() < 0)
        return 1;
    unsigned char pk[crypto_sign_PUBLICKEYBYTES];
    unsigned char *sk = sodium_malloc(crypto_sign_SECRETKEYBYTES);
    char path[4096];
    fp_error err = { 0 };
    int rc = sk == NULL ? FP_ERR_IO : fileio_mkdirs(argv[1], 0700, &err);
    if (rc == FP_OK) {
        crypto_sign_keypair(pk, sk);
        rc = fileio_join(path, sizeof path, argv[1], "ca.key", &err);
    }
    if (rc == FP_OK)
        rc = keyfile_write_secret(path, "ca-secret", sk, crypto_sign_SECRETKEYBYTES, &err);
    if (rc == FP_OK)
        rc = fileio_join(path, sizeof path, argv[1], "ca.pub", &err);
    if (rc == FP_OK)
        rc = keyfile_write_public(path, "ca-public", pk, sizeof pk, &err);
    if (sk != NULL)
        sodium_free(sk);
    if (rc != FP_OK) {
        fprintf(stderr, "policy_test_ca: %s\n", err.message);
        return 1;
    }
    return 0;
}
