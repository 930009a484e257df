/*
 * cmd_audit_check_proof: `flagpost audit check-proof FILE|- [--ca DIR]`.
 *
 * Checks a proof printed by `audit proof` or `audit consistency` using
 * nothing but the proof itself and, with --ca, the partnership CA bundle:
 * recomputes the leaf hash from the entry, the root from the path (or both
 * roots for a consistency proof), and verifies that the broker signed a
 * checkpoint with that root.  Without --ca the arithmetic is still checked
 * but the root is not tied to the broker, and the output says so.
 */
#include <getopt.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit_cli.h"
#include "audit_cmds.h"
#include "checkpoint.h"
#include "commands.h"
#include "json_input.h"
#include "timefmt.h"

#define PROOF_MAX_JSON (1 << 20)
#define ENTRY_MAX (1 << 16)

static void usage(FILE *out)
{
    fputs("usage: flagpost audit check-proof FILE|- [--ca DIR]\n"
          "\n"
          "Check a proof printed by `flagpost audit proof` (an entry is in the audit tree)\n"
          "or `flagpost audit consistency` (a later tree extends an earlier one).  Needs no\n"
          "access to the broker.  Exit status 0 when the proof holds, 1 when it does not.\n"
          "\n"
          "  FILE|-     the proof (JSON); - reads standard input\n"
          "  --ca DIR   the partnership CA bundle: also check that the broker signed the\n"
          "             root(s) in a checkpoint\n"
          "  --help     this text\n",
          out);
}

struct ctx {
    json_t *root;
    unsigned char (*keys)[32];
    size_t nkeys;
    fp_error err;
};

static int bad(struct ctx *c, const char *field, const char *what)
{
    return fp_error_set(&c->err, FP_ERR_INPUT, "the proof's \"%s\" %s", field, what);
}

static int get_u64(struct ctx *c, const char *key, uint64_t *out)
{
    json_t *v = json_object_get(c->root, key);
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return bad(c, key, "is missing or not a whole number");
    *out = (uint64_t)json_integer_value(v);
    return FP_OK;
}

static int hex32(struct ctx *c, json_t *v, const char *field, unsigned char out[32])
{
    size_t len = 0;
    const char *s = json_string_value(v);
    if (s == NULL || strlen(s) != 64 ||
        sodium_hex2bin(out, 32, s, 64, NULL, &len, NULL) != 0 || len != 32)
        return bad(c, field, "is missing or not a 64-digit hex hash");
    return FP_OK;
}

static int get_hash(struct ctx *c, const char *key, unsigned char out[32])
{
    return hex32(c, json_object_get(c->root, key), key, out);
}

static int get_path(struct ctx *c, unsigned char (*path)[32], size_t *n)
{
    json_t *a = json_object_get(c->root, "path");
    if (!json_is_array(a) || json_array_size(a) > MERKLE_MAX_PROOF)
        return bad(c, "path", "is missing or not a list of at most 64 hashes");
    *n = json_array_size(a);
    for (size_t i = 0; i < *n; i++)
        if (hex32(c, json_array_get(a, i), "path", path[i]) != FP_OK)
            return c->err.code;
    return FP_OK;
}

/* Base64 field of obj into a malloc'd buffer. */
static int get_b64(struct ctx *c, json_t *obj, const char *key, uint8_t **out, size_t *len)
{
    const char *s = json_string_value(json_object_get(obj, key));
    if (s == NULL)
        return bad(c, key, "is missing");
    size_t cap = strlen(s);
    *out = malloc(cap + 1);
    if (*out == NULL)
        return fp_error_set(&c->err, FP_ERR_IO, "out of memory");
    if (cap > 4 * ENTRY_MAX ||
        sodium_base642bin(*out, cap + 1, s, cap, NULL, len, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0) {
        free(*out);
        *out = NULL;
        return bad(c, key, "is not base64");
    }
    return FP_OK;
}

/* Verify the signed checkpoint in c->root[key] (if any) and that it
 * states size and root.  Prints what it found.  FP_ERR_CRYPTO if not. */
static int check_signed(struct ctx *c, const char *key, uint64_t size,
                        const unsigned char root[32])
{
    json_t *obj = json_object_get(c->root, key);
    if (obj == NULL) {
        printf("no checkpoint for %llu entries in the proof: compare the root with one the "
               "broker signed\n",
               (unsigned long long)size);
        return FP_OK;
    }
    if (c->nkeys == 0) {
        printf("a signed checkpoint for %llu entries is included: give --ca DIR to check "
               "the broker's signature\n",
               (unsigned long long)size);
        return FP_OK;
    }
    uint8_t *bytes;
    size_t len;
    int rc = get_b64(c, obj, "signed", &bytes, &len);
    if (rc != FP_OK)
        return rc;
    checkpoint_info cp;
    rc = checkpoint_verify_any(bytes, len, (const unsigned char(*)[32])c->keys, c->nkeys, &cp,
                               NULL, &c->err);
    free(bytes);
    if (rc != FP_OK)
        return fp_error_set(&c->err, FP_ERR_CRYPTO, "the checkpoint for %llu entries: %s",
                            (unsigned long long)size, c->err.message);
    if (cp.tree_size != size || memcmp(cp.root, root, 32) != 0)
        return fp_error_set(&c->err, FP_ERR_CRYPTO,
                            "the broker's signed checkpoint is for %llu entries with another "
                            "root, not the tree in this proof",
                            (unsigned long long)cp.tree_size);
    char when[TIMEFMT_ISO_LEN];
    timefmt_iso_ms(cp.time_ms, when);
    printf("the broker (%s) signed this root for %llu entries at %s\n", cp.broker_id,
           (unsigned long long)size, when);
    return FP_OK;
}

static int check_inclusion(struct ctx *c)
{
    uint64_t index, size;
    unsigned char leaf[32], root[32], path[MERKLE_MAX_PROOF][32];
    size_t n;
    if (get_u64(c, "index", &index) || get_u64(c, "tree_size", &size) ||
        get_hash(c, "leaf_hash", leaf) || get_hash(c, "root", root) || get_path(c, path, &n))
        return c->err.code;
    if (json_object_get(c->root, "entry") != NULL) {
        uint8_t *entry;
        size_t len;
        unsigned char h[32];
        if (get_b64(c, c->root, "entry", &entry, &len) != FP_OK)
            return c->err.code;
        merkle_leaf_hash(entry, len, h);
        free(entry);
        if (memcmp(h, leaf, 32) != 0)
            return fp_error_set(&c->err, FP_ERR_CRYPTO,
                                "the entry in the proof does not hash to its leaf_hash");
    }
    if (!merkle_verify_inclusion(index, size, leaf, (const unsigned char(*)[32])path, n, root))
        return fp_error_set(&c->err, FP_ERR_CRYPTO,
                            "the path does not lead from entry %llu to the root of %llu "
                            "entries",
                            (unsigned long long)index, (unsigned long long)size);
    printf("proof holds: entry %llu is in the audit tree of the first %llu entries\n",
           (unsigned long long)index, (unsigned long long)size);
    return check_signed(c, "checkpoint", size, root);
}

static int check_consistency(struct ctx *c)
{
    uint64_t a, b;
    unsigned char r1[32], r2[32], path[MERKLE_MAX_PROOF][32];
    size_t n;
    if (get_u64(c, "old_size", &a) || get_u64(c, "new_size", &b) ||
        get_hash(c, "old_root", r1) || get_hash(c, "new_root", r2) || get_path(c, path, &n))
        return c->err.code;
    if (!merkle_verify_consistency(a, b, r1, r2, (const unsigned char(*)[32])path, n))
        return fp_error_set(&c->err, FP_ERR_CRYPTO,
                            "the tree of %llu entries does not extend the tree of %llu "
                            "entries with these roots",
                            (unsigned long long)b, (unsigned long long)a);
    printf("proof holds: the audit tree of %llu entries extends the tree of %llu entries "
           "unchanged\n",
           (unsigned long long)b, (unsigned long long)a);
    int rc = check_signed(c, "old_checkpoint", a, r1);
    return rc == FP_OK ? check_signed(c, "new_checkpoint", b, r2) : rc;
}

static int load(struct ctx *c, const char *path)
{
    if (json_input_read(path, PROOF_MAX_JSON, &c->root, &c->err) != FP_OK)
        return c->err.code;
    if (!json_is_object(c->root))
        return fp_error_set(&c->err, FP_ERR_INPUT, "%s: not a proof: expected a JSON object",
                            path);
    return FP_OK;
}

int cmd_audit_check_proof(int argc, char **argv)
{
    static const struct option opts[] = {{"ca", required_argument, NULL, 'c'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *ca = NULL;
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (opt == 'c')
            ca = optarg;
        else if (opt == 'h') {
            usage(stdout);
            return CLI_OK;
        } else {
            usage(stderr);
            return CLI_USAGE;
        }
    }
    if (optind != argc - 1)
        return audit_cli_usage("check-proof", "give one proof file, or - for stdin");
    struct ctx c;
    memset(&c, 0, sizeof c);
    int rc = FP_OK;
    if (ca != NULL)
        rc = audit_cli_broker_keys(ca, &c.keys, &c.nkeys, &c.err);
    if (rc == FP_OK)
        rc = load(&c, argv[optind]);
    if (rc == FP_OK) {
        const char *type = json_string_value(json_object_get(c.root, "type"));
        if (type != NULL && strcmp(type, "inclusion") == 0)
            rc = check_inclusion(&c);
        else if (type != NULL && strcmp(type, "consistency") == 0)
            rc = check_consistency(&c);
        else
            rc = bad(&c, "type", "must be \"inclusion\" or \"consistency\"");
    }
    json_decref(c.root);
    free(c.keys);
    if (rc == FP_ERR_CRYPTO) {
        fprintf(stderr, "flagpost: audit check-proof: the proof does NOT hold: %s\n",
                c.err.message);
        return CLI_FAILED;
    }
    return rc == FP_OK ? CLI_OK : audit_cli_fail("check-proof", &c.err);
}
