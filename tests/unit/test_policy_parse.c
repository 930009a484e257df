/*
 * Parsing and the policy's smaller promises: accessors, request
 * validation, policies that take sectors only from certificates, hostile
 * YAML (aliases, deep nesting, NUL bytes, several documents) and a few
 * thousand random mutations of the example, none of which may crash, leak
 * or load silently wrong.
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "fileio.h"
#include "policy.h"

static const char *small =
    "flagpost_policy: 1\n"
    "name: small\n"
    "sensitivity_classes: { identifying: x, location: y }\n"
    "sectors: { police: x, housing: y, health: z }\n"
    "purposes: { safeguarding: x }\n"
    "lawful_bases: { public_task: x }\n"
    "categories:\n"
    "  da_victim:\n"
    "    roles: [victim]\n"
    "    fields:\n"
    "      name: { sensitivity: identifying }\n"
    "      current_address: { sensitivity: location }\n"
    "  harmful_practice:\n"
    "    roles: [victim, child]\n"
    "    subcategories: { fgm: x, hba: y }\n"
    "    fields:\n"
    "      name: { sensitivity: identifying }\n"
    "rules:\n"
    "  - id: no-consent-no-address\n"
    "    effect: deny\n"
    "    fields: [current_address]\n"
    "    when: { consent_not: [given] }\n"
    "  - id: police-to-housing\n"
    "    effect: allow\n"
    "    from: [sector:police]\n"
    "    to: [sector:housing]\n"
    "    categories: [da_victim]\n"
    "    purposes: [safeguarding]\n"
    "    lawful_bases: [public_task]\n"
    "    fields: all\n"
    "  - id: anyone-to-health\n"
    "    effect: allow\n"
    "    from: any\n"
    "    to: [sector:health]\n"
    "    categories: [harmful_practice]\n"
    "    subcategories: [fgm]\n"
    "    purposes: [safeguarding]\n"
    "    lawful_bases: [public_task]\n"
    "    fields: [name]\n";

static policy *parse(const char *text, fp_error *err)
{
    policy *p = NULL;
    policy_parse(&p, text, strlen(text), "small.yaml", err);
    return p;
}

static void test_accessors(void)
{
    fp_error err = { 0 };
    policy *p = parse(small, &err);
    CHECK(p != NULL);
    if (p == NULL) {
        printf("#   %s\n", err.message);
        return;
    }
    CHECK_EQ_STR(policy_name(p), "small");
    CHECK_EQ_INT(policy_rule_count(p), 3);
    CHECK_EQ_STR(policy_rule_id(p, 1), "police-to-housing");
    CHECK(policy_rule_id(p, 3) == NULL);
    CHECK_EQ_INT(policy_field_count(p, "da_victim"), 2);
    CHECK_EQ_INT(policy_field_index(p, "da_victim", "current_address"), 1);
    CHECK_EQ_INT(policy_field_index(p, "da_victim", "nhs_number"), -1);
    CHECK_EQ_INT(policy_field_index(p, "no_such", "name"), -1);
    CHECK_EQ_STR(policy_field_name(p, "da_victim", 0), "name");
    CHECK(policy_field_name(p, "da_victim", 2) == NULL);
    CHECK_EQ_STR(policy_field_sensitivity(p, "da_victim", 1), "location");
    CHECK(policy_agency_sector(p, "met-police") == NULL);   /* no agencies listed */
    unsigned char h[32];
    crypto_hash_sha256(h, (const unsigned char *)small, strlen(small));
    CHECK(memcmp(policy_hash(p), h, 32) == 0);
    char hex[65];
    policy_hash_hex(p, hex);
    CHECK_EQ_INT(strlen(hex), 64);
    policy_free(p);
}

/* Without an agencies list, sectors come from the certificates. */
static void test_sectors_from_certificates(void)
{
    fp_error err = { 0 };
    policy *p = parse(small, &err);
    CHECK(p != NULL);
    if (p == NULL)
        return;
    policy_request r = { .from = { "any-force", "police" }, .to = { "any-council", "housing" },
                         .category = "da_victim", .purpose = "safeguarding",
                         .lawful_basis = "public_task", .consent = "given" };
    policy_decision d;
    policy_decide(p, &r, &d);
    CHECK(d.allowed);
    CHECK_EQ_STR(d.rule_id, "police-to-housing");
    CHECK_EQ_INT(d.fields, 3);
    /* consent_not: [given] also catches a flag that records no consent. */
    r.consent = NULL;
    policy_decide(p, &r, &d);
    CHECK(d.allowed);
    CHECK_EQ_INT(d.fields, 1);
    CHECK_EQ_STR(d.withheld_by, "no-consent-no-address");
    /* An empty string (protobuf's absent value) is the same as NULL. */
    r.consent = "";
    policy_decide(p, &r, &d);
    CHECK(d.allowed);
    CHECK_EQ_INT(d.fields, 1);
    r.consent = "given";
    r.risk = "";
    r.subject_role = "";
    policy_decide(p, &r, &d);
    CHECK(d.allowed);
    CHECK_EQ_INT(d.fields, 3);
    /* from: any matches a party of any sector, even an unlisted one. */
    policy_request h = { .from = { "a-school", "housing" }, .to = { "a-trust", "health" },
                         .category = "harmful_practice", .subcategory = "fgm",
                         .purpose = "safeguarding", .lawful_basis = "public_task" };
    policy_decide(p, &h, &d);
    CHECK(d.allowed);
    CHECK_EQ_STR(d.rule_id, "anyone-to-health");
    h.subcategory = "hba";
    policy_decide(p, &h, &d);
    CHECK(!d.allowed);
    h.subcategory = NULL;   /* the rule names subcategories: a flag without one misses */
    policy_decide(p, &h, &d);
    CHECK(!d.allowed);
    policy_free(p);
}

static void test_validate_request(void)
{
    fp_error err = { 0 };
    policy *p = parse(small, &err);
    CHECK(p != NULL);
    if (p == NULL)
        return;
    policy_request r = { .category = "da_victim", .purpose = "safeguarding",
                         .lawful_basis = "public_task", .consent = "refused_overridden",
                         .risk = "high", .subject_role = "victim" };
    CHECK_EQ_INT(policy_validate_request(p, &r, &err), FP_OK);
    r.category = "da_vctim";
    CHECK_EQ_INT(policy_validate_request(p, &r, &err), FP_ERR_INPUT);
    CHECK_EQ_STR(err.message, "category: unknown category 'da_vctim'");
    r.category = "da_victim";
    r.consent = "maybe";
    CHECK_EQ_INT(policy_validate_request(p, &r, &err), FP_ERR_INPUT);
    CHECK(strncmp(err.message, "consent:", 8) == 0);
    r.consent = "given";
    r.subject_role = "child";
    CHECK_EQ_INT(policy_validate_request(p, &r, &err), FP_ERR_INPUT);
    CHECK(strncmp(err.message, "subject_role:", 13) == 0);
    r.subject_role = "victim";
    r.subcategory = "fgm";
    CHECK_EQ_INT(policy_validate_request(p, &r, &err), FP_ERR_INPUT);
    CHECK(strstr(err.message, "not a subcategory of 'da_victim'") != NULL);
    r.subcategory = "";
    r.consent = "";
    CHECK_EQ_INT(policy_validate_request(p, &r, &err), FP_OK);
    r.lawful_basis = "";
    CHECK_EQ_INT(policy_validate_request(p, &r, &err), FP_ERR_INPUT);
    CHECK_EQ_STR(err.message, "lawful_basis: missing");
    r.lawful_basis = NULL;
    CHECK_EQ_INT(policy_validate_request(p, &r, &err), FP_ERR_INPUT);
    policy_free(p);
}

static void expect_refused(const char *text, size_t len, const char *needle)
{
    fp_error err = { 0 };
    policy *p = NULL;
    CHECK_EQ_INT(policy_parse(&p, text, len, "hostile.yaml", &err), FP_ERR_INPUT);
    CHECK(p == NULL);
    if (strstr(err.message, needle) == NULL)
        printf("#   '%s' not in: %s\n", needle, err.message);
    CHECK(strstr(err.message, needle) != NULL);
}

static void test_hostile_yaml(void)
{
    expect_refused("", 0, "empty");
    expect_refused("a: &x [1]\nb: *x\n", 16, "anchors and aliases");
    expect_refused("a: 1\n---\nb: 2\n", 14, "exactly one YAML document");
    expect_refused("a: \"x\\0y\"\n", 10, "NUL");
    expect_refused("[a, b", 5, "not valid YAML");
    char deep[400];
    size_t n = 0;
    for (int i = 0; i < 100; i++)
        deep[n++] = '[';
    deep[n] = '\0';
    expect_refused(deep, n, "nesting deeper");
    /* The summary counts the remaining problems. */
    expect_refused("flagpost_policy: 3\nname: x\n", 26, "more problems");
}

/* Random byte mutations of the example never crash or leak (run under
 * ASan by `make test`), and a mutated policy that loads still decides. */
static void test_mutations(void)
{
    uint8_t *text = NULL;
    size_t len = 0;
    fp_error err = { 0 };
    CHECK_EQ_INT(fileio_read_all("policy/examples/tri-borough.yaml", 1 << 22, &text, &len, &err),
                 FP_OK);
    if (text == NULL)
        return;
    uint8_t *copy = malloc(len);
    uint32_t seed = 12345;
    size_t loaded = 0, refused = 0;
    const char *bytes = " :-[]{},#&*!|>'\"%@`\n\tax0";
    for (int round = 0; round < 600; round++) {
        memcpy(copy, text, len);
        for (int k = 0; k < 1 + round % 4; k++) {
            seed = seed * 1103515245u + 12345u;
            size_t at = (seed >> 8) % len;
            seed = seed * 1103515245u + 12345u;
            copy[at] = (uint8_t)bytes[(seed >> 8) % strlen(bytes)];
        }
        policy *p = NULL;
        if (policy_parse(&p, (const char *)copy, len, "mutant", &err) == FP_OK) {
            policy_request r = { .from = { "met-police", "police" },
                                 .to = { "idva", "idva" }, .category = "da_victim",
                                 .purpose = "safeguarding",
                                 .lawful_basis = "public_task_safeguarding", .risk = "high" };
            policy_decision d;
            policy_decide(p, &r, &d);
            loaded++;
            policy_free(p);
        } else {
            refused += err.message[0] != '\0';
        }
    }
    printf("#   600 mutants: %zu loaded, %zu refused with a message\n", loaded, refused);
    CHECK_EQ_INT(loaded + refused, 600);
    CHECK(refused > 0);
    free(copy);
    free(text);
}

int main(void)
{
    RUN(test_accessors);
    RUN(test_sectors_from_certificates);
    RUN(test_validate_request);
    RUN(test_hostile_yaml);
    RUN(test_mutations);
    return check_summary();
}
