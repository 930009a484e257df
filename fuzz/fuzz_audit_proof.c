/*
 * fuzz_audit_proof: libFuzzer target for `flagpost audit check-proof`
 * (cli/cmd_audit_check_proof.c) and the Merkle proof checks under it
 * (lib/merkle.c).  A proof is a JSON file that travels by e-mail to an
 * auditor or a court, so the checker must refuse anything but a proof that
 * holds, and never crash on one that was mangled or made up.
 *
 * The first input byte picks what the rest is:
 *   0  a proof file's JSON text, checked by the command as a person would
 *      run it (from a file, without --ca).  The exit status is 0 (holds),
 *      1 (does not hold or malformed) or 2 (usage), never anything else.
 *   1  an inclusion proof against a real tree of at most 64 leaves: index
 *      and tree size (a byte each), then path hashes.  A proof must never
 *      be accepted for a root other than the real one (nor for a leaf that
 *      is not the real one), and the honest path is always accepted.
 *   2  a consistency proof likewise: two sizes, then path hashes; accepted
 *      only for the real roots, and the honest proof always accepted.
 *   3  arbitrary 64-bit index and sizes with arbitrary path hashes straight
 *      into merkle_verify_inclusion and merkle_verify_consistency: they
 *      answer, without overflow or out-of-bounds reads, whatever the sizes.
 *
 * The command's output is sent to /dev/null while it runs; the proof file
 * it reads is written in fuzz_tmpdir() (fuzz_tmpdir.h says why).
 *
 * Built and run by scripts/fuzz.  The seeds in fuzz/corpus/audit_proof are
 * inclusion and consistency proofs in the JSON `audit proof` prints,
 * computed from the RFC 6962 definitions over a 12-entry log (a few with a
 * wrong root, an unknown type or a checkpoint), and one binary seed for
 * each of modes 1-3.
 */
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../tests/unit/merkle_ref.h"
#include "audit_cmds.h"
#include "fuzz_tmpdir.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_LEAVES 64

static const unsigned char (*leaves(void))[32]
{
    static int ready;
    static unsigned char l[FUZZ_LEAVES][32];
    if (!ready) {
        if (sodium_init() < 0)
            abort();
        for (int i = 0; i < FUZZ_LEAVES; i++) {
            unsigned char entry[2] = {'p', (unsigned char)i};
            merkle_leaf_hash(entry, sizeof entry, l[i]);
        }
        ready = 1;
    }
    return (const unsigned char(*)[32])l;
}

static void need(int cond)
{
    if (!cond)
        abort();
}

/* Run the command on the text, its output silenced; returns its status. */
static int run_command(const uint8_t *b, size_t len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/fuzz-audit-proof-XXXXXX", fuzz_tmpdir());
    int fd = mkstemp(path);
    need(fd >= 0);
    need(len == 0 || write(fd, b, len) == (ssize_t)len);
    close(fd);
    fflush(stdout);
    fflush(stderr);
    int null = open("/dev/null", O_WRONLY);
    int out = dup(1), err = dup(2);
    need(null >= 0 && out >= 0 && err >= 0);
    dup2(null, 1);
    dup2(null, 2);
    char *argv[] = {(char *)"check-proof", path, NULL};
    int rc = cmd_audit_check_proof(2, argv);
    fflush(stdout);
    fflush(stderr);
    dup2(out, 1);
    dup2(err, 2);
    close(null);
    close(out);
    close(err);
    unlink(path);
    return rc;
}

static size_t path_of(const uint8_t *b, size_t len, unsigned char (*path)[32])
{
    size_t n = len / 32;
    if (n > MERKLE_MAX_PROOF)
        n = MERKLE_MAX_PROOF;
    memcpy(path, b, n * 32);
    return n;
}

static void fuzz_inclusion(const uint8_t *b, size_t len)
{
    if (len < 2)
        return;
    const unsigned char(*l)[32] = leaves();
    uint64_t size = b[1] % (FUZZ_LEAVES + 1), index = size ? b[0] % size : b[0];
    unsigned char path[MERKLE_MAX_PROOF][32], root[32], other[32];
    size_t n = path_of(b + 2, len - 2, path);
    ref_mth(l, size, root);
    memcpy(other, root, 32);
    other[b[0] % 32] ^= 0x80;
    if (merkle_verify_inclusion(index, size, l[index % FUZZ_LEAVES], (const unsigned char(*)[32])
                                path, n, root))
        need(index < size);
    need(!merkle_verify_inclusion(index, size, l[index % FUZZ_LEAVES],
                                  (const unsigned char(*)[32])path, n, other));
    if (size > 0) {
        unsigned char honest[MERKLE_MAX_PROOF][32], leaf[32];
        size_t hn = ref_path(index, l, size, honest);
        need(merkle_verify_inclusion(index, size, l[index], (const unsigned char(*)[32])honest,
                                     hn, root));
        memcpy(leaf, l[index], 32);
        leaf[0] ^= 1;
        need(!merkle_verify_inclusion(index, size, leaf, (const unsigned char(*)[32])honest, hn,
                                      root));
    }
}

static void fuzz_consistency(const uint8_t *b, size_t len)
{
    if (len < 2)
        return;
    const unsigned char(*l)[32] = leaves();
    uint64_t m = b[0] % (FUZZ_LEAVES + 1), n = b[1] % (FUZZ_LEAVES + 1);
    unsigned char path[MERKLE_MAX_PROOF][32], r1[32], r2[32], forged[32];
    size_t pn = path_of(b + 2, len - 2, path);
    ref_mth(l, m, r1);
    ref_mth(l, n, r2);
    memcpy(forged, r2, 32);
    forged[b[1] % 32] ^= 0x40;
    if (merkle_verify_consistency(m, n, r1, forged, (const unsigned char(*)[32])path, pn))
        need(m == 0 && n > 0);   /* an empty tree is a prefix of any tree */
    if (merkle_verify_consistency(m, n, r1, r2, (const unsigned char(*)[32])path, pn))
        need(m <= n);
    if (m <= n) {
        unsigned char honest[MERKLE_MAX_PROOF][32];
        size_t hn = ref_consistency(m, l, n, honest);
        need(merkle_verify_consistency(m, n, r1, r2, (const unsigned char(*)[32])honest, hn));
    }
}

static uint64_t u64(const uint8_t *b)
{
    uint64_t v;
    memcpy(&v, b, 8);
    return v;
}

static void fuzz_wild(const uint8_t *b, size_t len)
{
    if (len < 24 + 64)
        return;
    uint64_t x = u64(b), y = u64(b + 8), z = u64(b + 16);
    const uint8_t *h1 = b + 24, *h2 = b + 56;
    unsigned char path[MERKLE_MAX_PROOF][32];
    size_t n = path_of(b + 88, len - 88, path);
    (void)merkle_verify_inclusion(x, y, h1, (const unsigned char(*)[32])path, n, h2);
    (void)merkle_verify_consistency(y, z, h1, h2, (const unsigned char(*)[32])path, n);
    (void)merkle_verify_consistency(x, y, h1, h2, (const unsigned char(*)[32])path, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const uint8_t *b = data + 1;
    size_t len = size - 1;
    switch (data[0] & 3) {
    case 0: {
        int rc = run_command(b, len);
        need(rc == 0 || rc == 1 || rc == 2);
        break;
    }
    case 1:
        fuzz_inclusion(b, len);
        break;
    case 2:
        fuzz_consistency(b, len);
        break;
    case 3:
        fuzz_wild(b, len);
        break;
    }
    return 0;
}
