/*
 * keyring: the agent's box secrets, past and present.  See keyring.h.
 *
 * The file holds the secrets concatenated, oldest first; each gets its own
 * box_cache (which holds the secret in guarded memory).
 */
#include "keyring.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "keyfile.h"

struct keyring {
    char path[4096];
    size_t count;
    box_cache *caches[KEYRING_MAX];
    unsigned char *secrets;   /* sodium_malloc, count * 32, for saving */
};

static int save(keyring *kr, fp_error *err)
{
    return keyfile_write_secret(kr->path, "box-keyring", kr->secrets, kr->count * 32, err);
}

static int load_file(keyring *kr, fp_error *err)
{
    /* The file's length tells how many keys it holds; try each size. */
    for (size_t n = KEYRING_MAX; n >= 1; n--) {
        unsigned char *buf = NULL;
        fp_error e;
        int rc = keyfile_read_secret(kr->path, "box-keyring", &buf, n * 32, &e);
        if (rc == FP_OK) {
            memcpy(kr->secrets, buf, n * 32);
            keyfile_free_secret(buf, n * 32);
            kr->count = n;
            return FP_OK;
        }
        if (rc == FP_ERR_NOT_FOUND)
            return FP_OK;
        if (rc == FP_ERR_PERMISSIONS)
            return fp_error_set(err, rc, "%s", e.message);
    }
    return fp_error_set(err, FP_ERR_INPUT, "%s is damaged; restore it from a backup", kr->path);
}

int keyring_open(keyring **out, const char *data_dir, const unsigned char current[32],
                 fp_error *err)
{
    keyring *kr = calloc(1, sizeof *kr);
    if (kr == NULL || (kr->secrets = sodium_malloc(KEYRING_MAX * 32)) == NULL) {
        free(kr);
        return fp_error_set(err, FP_ERR_IO, "out of memory for the keyring");
    }
    int rc = fileio_join(kr->path, sizeof kr->path, data_dir, "keyring", err);
    if (rc == FP_OK)
        rc = load_file(kr, err);
    bool known = false;
    for (size_t i = 0; rc == FP_OK && i < kr->count; i++)
        known |= sodium_memcmp(kr->secrets + 32 * i, current, 32) == 0;
    if (rc == FP_OK && !known) {
        if (kr->count == KEYRING_MAX) {   /* drop the oldest */
            memmove(kr->secrets, kr->secrets + 32, (KEYRING_MAX - 1) * 32);
            kr->count--;
        }
        memcpy(kr->secrets + 32 * kr->count++, current, 32);
        rc = save(kr, err);
    }
    for (size_t i = 0; rc == FP_OK && i < kr->count; i++)
        rc = box_cache_new(&kr->caches[i], kr->secrets + 32 * i, err);
    if (rc != FP_OK) {
        keyring_free(kr);
        return rc;
    }
    *out = kr;
    return FP_OK;
}

void keyring_free(keyring *kr)
{
    if (kr == NULL)
        return;
    for (size_t i = 0; i < kr->count; i++)
        box_cache_free(kr->caches[i]);
    sodium_free(kr->secrets);
    free(kr);
}

int keyring_open_payload(keyring *kr, const unsigned char sender_public[32],
                         const Flagpost__RecipientPart *part, Flagpost__Payload **out,
                         fp_error *err)
{
    int rc = fp_error_set(err, FP_ERR_CRYPTO, "no key of this agency opens the payload");
    for (size_t i = kr->count; i-- > 0;) {
        if (kr->caches[i] == NULL)
            continue;
        rc = payload_open(kr->caches[i], sender_public, part, out, err);
        if (rc == FP_OK || rc != FP_ERR_CRYPTO)
            return rc;
    }
    return rc;
}

int keyring_open_from_sender(keyring *kr, const trust_store *ts, const char *sender,
                             const cert_info *first, const Flagpost__RecipientPart *part,
                             Flagpost__Payload **out)
{
    *out = NULL;
    if (first != NULL && keyring_open_payload(kr, first->box_public, part, out, NULL) == FP_OK)
        return FP_OK;
    for (size_t i = 0; i < trust_store_count(ts); i++) {
        const cert_info *c = trust_store_at(ts, i);
        if (c != first && strcmp(c->agency_id, sender) == 0 &&
            keyring_open_payload(kr, c->box_public, part, out, NULL) == FP_OK)
            return FP_OK;
    }
    return FP_ERR_CRYPTO;
}
