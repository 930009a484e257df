/*
 * policy: loading, parsing and the small accessors.  See policy.h; the
 * language is documented in docs/policy.md.
 *
 * policy_parse_report() is the one pipeline every caller goes through:
 *
 *     YAML text --policy_yaml.c--> tree with positions
 *               --policy_schema.c--> vocabularies and categories
 *               --policy_rules.c--> bitmask rules
 *               --policy_check.c--> cross-rule problems
 *
 * Every pass reports through one sink (pol_diag) and keeps going, so
 * `policy check` lists every problem at once; any problem at all means no
 * policy is returned, so the broker can never run a policy that check
 * would reject.  The compiled policy is immutable and owns every string it
 * hands out; reload by loading a new one and swapping the pointer.
 */
#include "policy_internal.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"

int policy_parse_report(policy **out, const char *text, size_t len, const char *source_name,
                        policy_diag_fn fn, void *ctx, fp_error *err)
{
    *out = NULL;
    pol_diag d = { .source = source_name ? source_name : "policy", .fn = fn, .ctx = ctx,
                   .err = err };
    if (sodium_init() < 0)
        return fp_error_set(err, FP_ERR_INTERNAL, "libsodium failed to initialise");
    if (len > POL_MAX_TEXT) {
        pol_report(&d, 0, 0, "the policy is %zu bytes; the limit is %u", len, POL_MAX_TEXT);
        return FP_ERR_INPUT;
    }
    policy *p = calloc(1, sizeof *p);
    pol_category *cats = calloc(POL_MAX_NAMES, sizeof *cats);
    if (p == NULL || cats == NULL) {
        free(p);
        free(cats);
        return fp_error_set(err, FP_ERR_IO, "out of memory loading the policy");
    }
    p->categories = cats;
    crypto_hash_sha256(p->hash, (const unsigned char *)text, len);
    pnode *root = NULL;
    if (pyaml_load(text, len, &root, &d) == FP_OK) {
        pol_compile_schema(p, root, &d);
        pol_compile_rules(p, pyaml_get(root, "rules"), &d);
        if (d.count == 0)
            pol_check_rules(p, &d);
        pyaml_free(root);
    }
    if (d.count > 0) {
        policy_free(p);
        if (d.count > 1 && err != NULL) {
            char more[96];
            snprintf(more, sizeof more, " (and %zu more problem%s; run `flagpost policy "
                     "check` to see them all)", d.count - 1, d.count > 2 ? "s" : "");
            strncat(err->message, more, sizeof err->message - strlen(err->message) - 1);
        }
        return FP_ERR_INPUT;
    }
    *out = p;
    return FP_OK;
}

int policy_parse(policy **out, const char *text, size_t len, const char *source_name,
                 fp_error *err)
{
    return policy_parse_report(out, text, len, source_name, NULL, NULL, err);
}

int policy_load(policy **out, const char *path, const unsigned char *ca_public, fp_error *err)
{
    *out = NULL;
    uint8_t *text = NULL;
    size_t len = 0;
    int rc = fileio_read_all(path, POL_MAX_TEXT, &text, &len, err);
    if (rc != FP_OK)
        return rc;
    if (ca_public != NULL)
        rc = policy_verify_signature(path, text, len, ca_public, err);
    if (rc == FP_OK)
        rc = policy_parse(out, (const char *)text, len, path, err);
    free(text);
    return rc;
}

void policy_free(policy *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i < p->nrules; i++)
        free(p->rules[i].fields);
    free(p->rules);
    free(p->deny_idx);
    free(p->withhold_idx);
    free(p->allow_idx);
    free(p->categories);
    pol_arena_free(p);
    free(p);
}

const unsigned char *policy_hash(const policy *p)
{
    return p->hash;
}

void policy_hash_hex(const policy *p, char out[65])
{
    sodium_bin2hex(out, 65, p->hash, sizeof p->hash);
}

const char *policy_name(const policy *p)
{
    return p->name;
}

size_t policy_rule_count(const policy *p)
{
    return p->nrules;
}

const char *policy_rule_id(const policy *p, size_t index)
{
    return index < p->nrules ? p->rules[index].id : NULL;
}
