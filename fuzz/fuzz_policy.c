/*
 * libFuzzer target for the policy parser: any bytes go to policy_parse();
 * whatever loads is then asked a few decisions and validations, so the
 * evaluator runs on every odd policy the fuzzer invents.  It must never
 * crash, leak, or trip a sanitizer.
 *
 * Build with clang -fsanitize=fuzzer,address,undefined, compiling this
 * file together with every .c file of policy/ and lib/fp_error.c,
 * lib/fileio.c and lib/keyfile.c (so the parser is coverage-instrumented),
 * with -std=c11 -D_GNU_SOURCE -Ilib -Ipolicy and the pkg-config flags of
 * libsodium and yaml-0.1; then run it on a copy of fuzz/corpus/policy:
 *   build/fuzz/fuzz_policy -max_total_time=60 -max_len=20000 CORPUS_COPY
 */
#include <stddef.h>
#include <stdint.h>

#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void ask(const policy *p, const char *category, const char *purpose, const char *basis,
                const char *from_sector, const char *to_sector, unsigned flags)
{
    static const char *const named[] = { "met-police", "idva", "housing-hf" };
    policy_request r = { .from = { "met-police", from_sector }, .to = { "idva", to_sector },
                         .category = category, .purpose = purpose, .lawful_basis = basis,
                         .consent = (flags & 1) ? "given" : NULL, .risk = "high",
                         .subject_role = "victim", .restricted = flags & 2,
                         .named_agencies = named, .named_count = 3,
                         .break_glass = flags & 4, .recipient_holds_perpetrator = flags & 8 };
    policy_decision d;
    policy_decide(p, &r, &d);
    fp_error err;
    (void)policy_validate_request(p, &r, &err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    policy *p = NULL;
    fp_error err;
    if (policy_parse(&p, (const char *)data, size, "fuzz", &err) != FP_OK)
        return 0;
    /* Names from the policy itself, so decisions reach its rules. */
    const char *rule = policy_rule_id(p, 0);
    for (unsigned flags = 0; flags < 16; flags++) {
        ask(p, "da_victim", "safeguarding", "public_task_safeguarding", "police", "idva", flags);
        ask(p, rule, rule, rule, NULL, NULL, flags);
    }
    (void)policy_field_count(p, "da_victim");
    (void)policy_field_name(p, "da_victim", 0);
    (void)policy_field_sensitivity(p, "da_victim", 0);
    (void)policy_agency_sector(p, "met-police");
    policy_free(p);
    return 0;
}
