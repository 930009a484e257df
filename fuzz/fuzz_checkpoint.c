/*
 * fuzz_checkpoint: libFuzzer target for what an agent decodes when the
 * broker speaks for its audit tree: the SignedCheckpoint inside a ToAgent
 * (lib/checkpoint.c) and the ConsistencyProof that must link it to the
 * last checkpoint the agent witnessed.
 *
 * A witness only ever decodes a checkpoint whose signature verified, so a
 * fuzzer that had to forge Ed25519 would never reach the decoder; as in
 * fuzz_envelope, some modes sign the fuzzer's bytes first.  The first
 * input byte picks what the rest is:
 *
 *   0  SignedCheckpoint bytes, verified with a fixed broker key.  Forged
 *      input must never verify (only the seeds carry real signatures).
 *   1  Checkpoint bytes, signed by the harness, then checkpoint_verify_parts
 *      as the witness calls it.  Whatever is accepted has a printable broker
 *      id under CHECKPOINT_ID_MAX and survives sign -> verify unchanged; a
 *      refusal says why.
 *   2  Checkpoint bytes signed by the harness with the second of two keys,
 *      through checkpoint_verify_any (broker key rotation): an accepted
 *      checkpoint names key 1; a refusal is never a signature failure.
 *   3  Two tree sizes (one byte each, at most 64) and ConsistencyProof bytes,
 *      checked against real trees of that many leaves.  The honest proof
 *      for those sizes must be accepted; a proof for a newer root that is
 *      not the real one must never be (that would let a broker rewrite its
 *      history); and a refusal names a reason.
 *
 * Built and run by scripts/fuzz; seeds in fuzz/corpus/checkpoint were made
 * by this file built with -DFUZZ_CHECKPOINT_WRITE_SEEDS (no
 * -fsanitize=fuzzer): fuzz_checkpoint_seeds DIR
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tests/unit/merkle_ref.h"
#include "checkpoint.h"
#include "flagpost.pb-c.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_LEAVES 64

typedef struct fuzz_keys {
    unsigned char pk[2][32], sk[2][64];
    unsigned char leaves[FUZZ_LEAVES][32];
} fuzz_keys;

static const fuzz_keys *keys(void)
{
    static int ready;
    static fuzz_keys k;
    if (!ready) {
        if (sodium_init() < 0)
            abort();
        crypto_sign_seed_keypair(k.pk[0], k.sk[0],
                                 (const unsigned char *)"flagpost-fuzz-checkpoint-key-one");
        crypto_sign_seed_keypair(k.pk[1], k.sk[1],
                                 (const unsigned char *)"flagpost-fuzz-checkpoint-key-two");
        for (int i = 0; i < FUZZ_LEAVES; i++) {
            unsigned char entry[2] = {'e', (unsigned char)i};
            merkle_leaf_hash(entry, sizeof entry, k.leaves[i]);
        }
        ready = 1;
    }
    return &k;
}

static void need(int cond)
{
    if (!cond)
        abort();
}

static void need_refusal(int rc, const fp_error *err)
{
    need(rc != FP_OK && err->code == rc && err->message[0] != '\0');
}

static void check_accepted(const checkpoint_info *cp, const unsigned char pk[32],
                           const unsigned char sk[64])
{
    size_t n = strnlen(cp->broker_id, sizeof cp->broker_id);
    need(n < sizeof cp->broker_id);
    for (size_t i = 0; i < n; i++)
        need(cp->broker_id[i] >= 0x20 && cp->broker_id[i] <= 0x7e);
    uint8_t *buf = NULL;
    size_t len = 0;
    checkpoint_info again;
    need(checkpoint_sign(cp, sk, &buf, &len, NULL) == FP_OK);
    need(checkpoint_verify(buf, len, pk, &again, NULL) == FP_OK);
    need(memcmp(cp, &again, sizeof again) == 0);
    free(buf);
}

/* "flagpost-checkpoint-v1" || bytes, signed with sk. */
static void sign_raw(const uint8_t *b, size_t len, const unsigned char sk[64],
                     unsigned char sig[64])
{
    size_t dl = strlen(CHECKPOINT_DOMAIN);
    unsigned char *msg = malloc(dl + len + 1);
    memcpy(msg, CHECKPOINT_DOMAIN, dl);
    if (len > 0)
        memcpy(msg + dl, b, len);
    crypto_sign_detached(sig, NULL, msg, dl + len, sk);
    free(msg);
}

static void fuzz_signed(const uint8_t *b, size_t len)
{
    const fuzz_keys *k = keys();
    checkpoint_info cp;
    fp_error err;
    int rc = checkpoint_verify(b, len, k->pk[0], &cp, &err);
    if (rc != FP_OK) {
        need_refusal(rc, &err);
        return;
    }
    /* Only the seeds are really signed: check with libsodium directly. */
    Flagpost__SignedCheckpoint *sc = flagpost__signed_checkpoint__unpack(NULL, len, b);
    need(sc != NULL && sc->signature.len == 64);
    size_t dl = strlen(CHECKPOINT_DOMAIN);
    unsigned char *msg = malloc(dl + sc->checkpoint.len + 1);
    memcpy(msg, CHECKPOINT_DOMAIN, dl);
    if (sc->checkpoint.len > 0)
        memcpy(msg + dl, sc->checkpoint.data, sc->checkpoint.len);
    need(crypto_sign_verify_detached(sc->signature.data, msg, dl + sc->checkpoint.len,
                                     k->pk[0]) == 0);
    free(msg);
    flagpost__signed_checkpoint__free_unpacked(sc, NULL);
    check_accepted(&cp, k->pk[0], k->sk[0]);
}

static void fuzz_parts(const uint8_t *b, size_t len)
{
    const fuzz_keys *k = keys();
    unsigned char sig[64];
    sign_raw(b, len, k->sk[0], sig);
    checkpoint_info cp;
    fp_error err;
    int rc = checkpoint_verify_parts(b, len, sig, sizeof sig, k->pk[0], &cp, &err);
    if (rc == FP_OK)
        check_accepted(&cp, k->pk[0], k->sk[0]);
    else
        need(rc == FP_ERR_INPUT && err.code == rc && err.message[0] != '\0');
}

static void fuzz_rotation(const uint8_t *b, size_t len)
{
    const fuzz_keys *k = keys();
    unsigned char sig[64];
    sign_raw(b, len, k->sk[1], sig);
    Flagpost__SignedCheckpoint sc = FLAGPOST__SIGNED_CHECKPOINT__INIT;
    sc.checkpoint.data = (uint8_t *)(uintptr_t)b;
    sc.checkpoint.len = len;
    sc.signature.data = sig;
    sc.signature.len = sizeof sig;
    size_t n = flagpost__signed_checkpoint__get_packed_size(&sc);
    uint8_t *buf = malloc(n);
    flagpost__signed_checkpoint__pack(&sc, buf);
    checkpoint_info cp;
    size_t which = 99;
    fp_error err;
    int rc = checkpoint_verify_any(buf, n, (const unsigned char(*)[32])k->pk, 2, &cp, &which,
                                   &err);
    if (rc == FP_OK) {
        need(which == 1);
        check_accepted(&cp, k->pk[1], k->sk[1]);
    } else {
        need(rc == FP_ERR_INPUT && err.code == rc && err.message[0] != '\0');
    }
    free(buf);
}

static void tree(uint64_t n, checkpoint_info *cp)
{
    memset(cp, 0, sizeof *cp);
    cp->tree_size = n;
    ref_mth((const unsigned char(*)[32])keys()->leaves, n, cp->root);
    snprintf(cp->broker_id, sizeof cp->broker_id, "broker");
}

static void fuzz_consistency(const uint8_t *b, size_t len)
{
    if (len < 2)
        return;
    const fuzz_keys *k = keys();
    uint64_t m = b[0] % (FUZZ_LEAVES + 1), n = b[1] % (FUZZ_LEAVES + 1);
    Flagpost__ConsistencyProof *p = flagpost__consistency_proof__unpack(NULL, len - 2, b + 2);
    if (p == NULL)
        return;
    checkpoint_info older, newer, forged;
    tree(m, &older);
    tree(n, &newer);
    forged = newer;
    forged.root[b[1] % 32] ^= 0x01;
    fp_error err;
    int rc = checkpoint_check_consistency_message(&older, &newer, p, &err);
    if (rc != FP_OK)
        need_refusal(rc, &err);
    rc = checkpoint_check_consistency_message(&older, &forged, p, &err);
    if (rc == FP_OK)
        need(m == 0 && n > 0);   /* nothing to extend: any newer root will do */
    else
        need_refusal(rc, &err);
    /* The honest proof for these sizes always holds. */
    if (m <= n) {
        unsigned char path[MERKLE_MAX_PROOF][32];
        size_t pl = ref_consistency(m, (const unsigned char(*)[32])k->leaves, n, path);
        need(checkpoint_check_consistency(&older, &newer, (const unsigned char(*)[32])path,
                                          pl, &err) == FP_OK);
    }
    flagpost__consistency_proof__free_unpacked(p, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const uint8_t *b = data + 1;
    size_t len = size - 1;
    switch (data[0] & 3) {
    case 0:
        fuzz_signed(b, len);
        break;
    case 1:
        fuzz_parts(b, len);
        break;
    case 2:
        fuzz_rotation(b, len);
        break;
    case 3:
        fuzz_consistency(b, len);
        break;
    }
    return 0;
}

#ifdef FUZZ_CHECKPOINT_WRITE_SEEDS
static void seed_write(const char *dir, const char *name, const uint8_t *head, size_t hlen,
                       const uint8_t *b, size_t len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(head, 1, hlen, f) != hlen || (len && fwrite(b, 1, len, f) != len) ||
        fclose(f) != 0)
        abort();
}

int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    const fuzz_keys *k = keys();
    const uint64_t sizes[] = {0, 1, 7, 64};
    for (int i = 0; i < 4; i++) {
        checkpoint_info cp;
        tree(sizes[i], &cp);
        cp.time_ms = 1700000000000 + i;
        uint8_t *buf;
        size_t len;
        if (checkpoint_sign(&cp, k->sk[0], &buf, &len, NULL) != FP_OK)
            return 1;
        char name[64];
        uint8_t mode = 0;
        snprintf(name, sizeof name, "signed-%llu", (unsigned long long)sizes[i]);
        seed_write(argv[1], name, &mode, 1, buf, len);
        Flagpost__SignedCheckpoint *sc = flagpost__signed_checkpoint__unpack(NULL, len, buf);
        mode = 1;
        snprintf(name, sizeof name, "checkpoint-%llu", (unsigned long long)sizes[i]);
        seed_write(argv[1], name, &mode, 1, sc->checkpoint.data, sc->checkpoint.len);
        mode = 2;
        snprintf(name, sizeof name, "rotated-%llu", (unsigned long long)sizes[i]);
        seed_write(argv[1], name, &mode, 1, sc->checkpoint.data, sc->checkpoint.len);
        flagpost__signed_checkpoint__free_unpacked(sc, NULL);
        free(buf);
    }
    /* Honest proofs, one refused for a broker error, one for wrong sizes. */
    const uint64_t pairs[][2] = {{1, 2}, {3, 7}, {6, 8}, {7, 64}, {5, 5}, {0, 9}};
    for (int i = 0; i < 6; i++) {
        unsigned char path[MERKLE_MAX_PROOF][32];
        uint64_t m = pairs[i][0], n = pairs[i][1];
        size_t pl = ref_consistency(m, (const unsigned char(*)[32])k->leaves, n, path);
        ProtobufCBinaryData items[MERKLE_MAX_PROOF];
        for (size_t j = 0; j < pl; j++) {
            items[j].data = path[j];
            items[j].len = 32;
        }
        Flagpost__ConsistencyProof p = FLAGPOST__CONSISTENCY_PROOF__INIT;
        p.old_size = m;
        p.new_size = n;
        p.path = items;
        p.n_path = pl;
        if (i == 4)
            p.error = (char *)"tree not yet that large";
        if (i == 5)
            p.new_size = 10;
        size_t len = flagpost__consistency_proof__get_packed_size(&p);
        uint8_t *buf = malloc(len + 1);
        flagpost__consistency_proof__pack(&p, buf);
        uint8_t head[3] = {3, (uint8_t)m, (uint8_t)n};
        char name[64];
        snprintf(name, sizeof name, "proof-%llu-%llu", (unsigned long long)m,
                 (unsigned long long)n);
        seed_write(argv[1], name, head, 3, buf, len);
        free(buf);
    }
    return 0;
}
#endif
