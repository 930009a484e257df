/*
 * cmd_audit_proof: `flagpost audit proof`, `consistency` and `check-proof`.
 *
 * A proof is printed as one JSON object that carries everything needed to
 * check it without the broker's store: the hashes, the path, the entry
 * itself (so the checker recomputes its leaf hash) and, when the broker
 * signed a checkpoint at that tree size, the signed checkpoint bytes.  The
 * checkpoint is printed only as its signed bytes: its contents are read
 * after the signature verifies (check-proof --ca), never before.
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
#include "cli_options.h"
#include "cli_output.h"
#include "commands.h"
#include "timefmt.h"


static json_t *hex_json(const unsigned char *h, size_t len)
{
    char buf[2 * 4096 + 1];
    audit_cli_hex(h, len, buf, sizeof buf);
    return json_string(buf);
}

static json_t *b64_json(const uint8_t *data, size_t len)
{
    size_t cap = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
    char *buf = malloc(cap);
    if (buf == NULL)
        return NULL;
    sodium_bin2base64(buf, cap, data, len, sodium_base64_VARIANT_ORIGINAL);
    json_t *s = json_string(buf);
    free(buf);
    return s;
}

static json_t *path_json(unsigned char (*path)[32], size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, hex_json(path[i], 32));
    return a;
}

/* {"signed": base64} for the checkpoint stored at size, or NULL. */
static json_t *checkpoint_json(audit_cli_store *st, uint64_t size)
{
    const uint8_t *bytes;
    size_t len;
    if (audit_log_get_checkpoint(st->log, st->txn, size, &bytes, &len, NULL) != FP_OK)
        return NULL;
    return json_pack("{s:o}", "signed", b64_json(bytes, len));
}

/* Print obj (consumed) for a person to read, keys in the order built.  The
 * commands print after building, not inside make_*, so a failure here is
 * reported once, by cli_output_json, and not again as the proof's error. */
static int print_proof(json_t *obj)
{
    int rc = cli_output_json(obj, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(obj);
    return rc;
}

static int built(json_t *o, json_t **out, const char *what, fp_error *err)
{
    *out = o;
    return o != NULL ? FP_OK : fp_error_set(err, FP_ERR_IO, "out of memory building the %s", what);
}

static int parse_u64(const char *name, const char *text, uint64_t *out, fp_error *err)
{
    int64_t v;
    int rc = cli_parse_int(name, text, 0, INT64_MAX, &v, err);
    *out = (uint64_t)v;
    return rc;
}

/* --------------------------------------------------------------- proof */

static void proof_usage(FILE *out)
{
    fputs("usage: flagpost audit proof --data DIR --entry N [--size S]\n"
          "\n"
          "Print, as JSON, a proof that audit entry N is part of the audit tree of the\n"
          "first S entries: the entry, its leaf hash, the path of sibling hashes, the\n"
          "root, and the broker's signed checkpoint for that size when there is one.\n"
          "Anyone can check it with `flagpost audit check-proof`.\n"
          "\n"
          "  --data DIR   the broker's data directory (read only)\n"
          "  --entry N    the entry's index (as `audit list` shows it)\n"
          "  --size S     the tree size to prove against (default: the latest signed\n"
          "               checkpoint that includes the entry, else the whole log)\n"
          "  --help       this text\n",
          out);
}

static uint64_t default_size(audit_cli_store *st, uint64_t index)
{
    uint64_t size;
    const uint8_t *bytes;
    size_t len;
    if (audit_log_latest_checkpoint(st->log, st->txn, &size, &bytes, &len, NULL) == FP_OK &&
        size > index && size <= st->size)
        return size;
    return st->size;
}

static int make_proof(audit_cli_store *st, uint64_t index, uint64_t size, json_t **out,
                      fp_error *err)
{
    unsigned char path[MERKLE_MAX_PROOF][32], root[32], leaf[32];
    size_t n;
    const uint8_t *entry;
    size_t len;
    int rc = audit_log_inclusion_proof(st->log, st->txn, index, size, path, &n, err);
    if (rc == FP_OK)
        rc = audit_log_root(st->log, st->txn, size, root, err);
    if (rc == FP_OK)
        rc = audit_log_get(st->log, st->txn, index, &entry, &len, err);
    if (rc != FP_OK)
        return rc;
    merkle_leaf_hash(entry, len, leaf);
    json_t *o = json_pack("{s:s, s:I, s:I, s:o, s:o, s:o, s:o}", "type", "inclusion", "index",
                          (json_int_t)index, "tree_size", (json_int_t)size, "leaf_hash",
                          hex_json(leaf, 32), "entry", b64_json(entry, len), "path",
                          path_json(path, n), "root", hex_json(root, 32));
    json_t *cp = o != NULL ? checkpoint_json(st, size) : NULL;
    if (cp != NULL)
        json_object_set_new(o, "checkpoint", cp);
    return built(o, out, "proof", err);
}

int cmd_audit_proof(int argc, char **argv)
{
    static const struct option opts[] = {{"data", required_argument, NULL, 'd'},
                                         {"entry", required_argument, NULL, 'e'},
                                         {"size", required_argument, NULL, 's'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *data = NULL, *entry = NULL, *size_text = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'd')
            data = optarg;
        else if (c == 'e')
            entry = optarg;
        else if (c == 's')
            size_text = optarg;
        else if (c == 'h') {
            proof_usage(stdout);
            return CLI_OK;
        } else {
            proof_usage(stderr);
            return CLI_USAGE;
        }
    }
    if (data == NULL || entry == NULL || optind != argc)
        return audit_cli_usage("proof", "--data DIR and --entry N are required");
    fp_error err;
    uint64_t index, size = 0;
    if (parse_u64("--entry", entry, &index, &err) != FP_OK ||
        (size_text != NULL && parse_u64("--size", size_text, &size, &err) != FP_OK))
        return audit_cli_fail("proof", &err);
    audit_cli_store st;
    if (audit_cli_open(data, &st, &err) != FP_OK)
        return audit_cli_fail("proof", &err);
    if (size_text == NULL)
        size = default_size(&st, index);
    json_t *proof = NULL;
    int rc = make_proof(&st, index, size, &proof, &err);
    audit_cli_close(&st);
    return rc == FP_OK ? print_proof(proof) : audit_cli_fail("proof", &err);
}

/* --------------------------------------------------------- consistency */

static void consistency_usage(FILE *out)
{
    fputs("usage: flagpost audit consistency --data DIR --old N --new M\n"
          "\n"
          "Print, as JSON, a proof that the audit tree of the first M entries extends the\n"
          "tree of the first N entries unchanged (RFC 6962 consistency proof), with both\n"
          "roots and the broker's signed checkpoints for those sizes when they exist.\n"
          "Check it with `flagpost audit check-proof`.\n"
          "\n"
          "  --data DIR   the broker's data directory (read only)\n"
          "  --old N      the earlier tree size\n"
          "  --new M      the later tree size (at most the log's size)\n"
          "  --help       this text\n",
          out);
}

static int make_consistency(audit_cli_store *st, uint64_t old_size, uint64_t new_size,
                            json_t **out, fp_error *err)
{
    unsigned char path[MERKLE_MAX_PROOF][32], r1[32], r2[32];
    size_t n;
    int rc = audit_log_consistency_proof(st->log, st->txn, old_size, new_size, path, &n, err);
    if (rc == FP_OK)
        rc = audit_log_root(st->log, st->txn, old_size, r1, err);
    if (rc == FP_OK)
        rc = audit_log_root(st->log, st->txn, new_size, r2, err);
    if (rc != FP_OK)
        return rc;
    json_t *o = json_pack("{s:s, s:I, s:I, s:o, s:o, s:o}", "type", "consistency", "old_size",
                          (json_int_t)old_size, "new_size", (json_int_t)new_size, "old_root",
                          hex_json(r1, 32), "new_root", hex_json(r2, 32), "path",
                          path_json(path, n));
    if (o != NULL) {
        json_t *c1 = checkpoint_json(st, old_size), *c2 = checkpoint_json(st, new_size);
        if (c1 != NULL)
            json_object_set_new(o, "old_checkpoint", c1);
        if (c2 != NULL)
            json_object_set_new(o, "new_checkpoint", c2);
    }
    return built(o, out, "consistency proof", err);
}

int cmd_audit_consistency(int argc, char **argv)
{
    static const struct option opts[] = {{"data", required_argument, NULL, 'd'},
                                         {"old", required_argument, NULL, 'o'},
                                         {"new", required_argument, NULL, 'n'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *data = NULL, *old_text = NULL, *new_text = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'd')
            data = optarg;
        else if (c == 'o')
            old_text = optarg;
        else if (c == 'n')
            new_text = optarg;
        else if (c == 'h') {
            consistency_usage(stdout);
            return CLI_OK;
        } else {
            consistency_usage(stderr);
            return CLI_USAGE;
        }
    }
    if (data == NULL || old_text == NULL || new_text == NULL || optind != argc)
        return audit_cli_usage("consistency", "--data DIR, --old N and --new M are required");
    fp_error err;
    uint64_t old_size, new_size;
    if (parse_u64("--old", old_text, &old_size, &err) != FP_OK ||
        parse_u64("--new", new_text, &new_size, &err) != FP_OK)
        return audit_cli_fail("consistency", &err);
    audit_cli_store st;
    if (audit_cli_open(data, &st, &err) != FP_OK)
        return audit_cli_fail("consistency", &err);
    json_t *proof = NULL;
    int rc = make_consistency(&st, old_size, new_size, &proof, &err);
    audit_cli_close(&st);
    return rc == FP_OK ? print_proof(proof) : audit_cli_fail("consistency", &err);
}
