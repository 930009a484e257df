/*
 * policy: the partnership's information sharing agreement, compiled from
 * YAML into an immutable structure that answers one question quickly:
 * may this flag, with these properties, flow from this agency to that one,
 * and which of its fields?
 *
 * Promises:
 *   - default deny: no matching allow rule means DENY ("default-deny");
 *   - a matching deny rule always wins over any allow rule;
 *   - a restricted flag reaches only agencies named on it (and allowed by a
 *     rule);
 *   - policy_decide() never allocates and never fails: unknown names simply
 *     match no rule (a request naming anything the policy does not know is
 *     "default-deny"); NULL and "" both mean a name is absent;
 *   - an agency the policy lists under one sector is refused
 *     ("agency-sector-mismatch") if its certificate names another;
 *   - among several matching allow rules the first in file order decides;
 *     break-glass requests match only break-glass rules, and break-glass
 *     rules match only break-glass requests;
 *   - deny rules with a field list withhold those fields (decision.withheld,
 *     withheld_by); when nothing is left the flag is refused by that rule;
 *   - every decision names the rule that made it (rule_id), and the policy
 *     is identified by the SHA-256 of the exact file bytes (policy_hash);
 *   - decision.fields never holds a field outside the deciding rule's list;
 *   - a policy that `flagpost policy check` rejects is never loaded: parsing
 *     runs every check and fails on any error.
 *
 * The language itself is documented in docs/policy.md.
 */
#ifndef FLAGPOST_POLICY_H
#define FLAGPOST_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fp_error.h"

#define POLICY_MAX_FIELDS 64     /* fields per category: one bit each */

typedef struct policy policy;

typedef struct policy_party {
    const char *agency_id;
    const char *sector;          /* from the party's CA-signed certificate */
} policy_party;

typedef struct policy_request {
    policy_party from;
    policy_party to;
    const char *category;
    const char *subcategory;     /* e.g. harmful practice type; NULL if none */
    const char *purpose;
    const char *lawful_basis;
    const char *consent;         /* given, refused_overridden, not_sought_unsafe, not_possible */
    const char *risk;            /* standard, medium, high */
    const char *subject_role;    /* victim, perpetrator, child, address */
    bool restricted;
    const char *const *named_agencies;
    size_t named_count;
    bool break_glass;
    /* The recipient holds, as its own client, a perpetrator linked to this
     * subject.  Computed by the caller; used by deny rules. */
    bool recipient_holds_perpetrator;
} policy_request;

typedef struct policy_decision {
    bool allowed;
    const char *rule_id;         /* owned by the policy; "default-deny" if no rule matched */
    const char *reason;          /* short, stable, never a field value */
    uint64_t fields;             /* bit i: field i of the category may flow */
    int64_t ack_within_s;        /* 0: no acknowledgement required */
    bool notify_on_view;
    int64_t retention_days;      /* 0: keep until review/expiry */
    bool break_glass;            /* allowed only by a break-glass rule: IG review */
    /* Fields a matching deny rule with a field list removed from the
     * allowed set (e.g. a new address to a recipient holding the
     * perpetrator), and the first such rule; 0 / NULL when none. */
    uint64_t withheld;
    const char *withheld_by;
} policy_decision;

/* Fixed rule ids of decisions not made by a rule in the file. */
#define POLICY_RULE_DEFAULT_DENY "default-deny"
#define POLICY_RULE_RESTRICTED "restricted-not-named"
#define POLICY_RULE_SECTOR_MISMATCH "agency-sector-mismatch"

/* Load path and verify its detached signature path.sig against ca_public.
 * ca_public NULL skips the signature check (for `policy check`/`explain`,
 * which review unsigned drafts); the broker and agents always pass it. */
int policy_load(policy **out, const char *path, const unsigned char *ca_public,
                fp_error *err);

/* Parse and compile YAML text; source_name is used in error messages.
 * On failure err holds the first problem as "source:line:column: ..." and
 * how many more there are. */
int policy_parse(policy **out, const char *text, size_t len, const char *source_name,
                 fp_error *err);

/* As policy_parse, and also calls fn (when non-NULL) once for every problem
 * found, so `policy check` can list them all.  line/column are 1-based (0
 * when a problem has no position). */
typedef void (*policy_diag_fn)(void *ctx, const char *source, int line, int column,
                               const char *message);
int policy_parse_report(policy **out, const char *text, size_t len, const char *source_name,
                        policy_diag_fn fn, void *ctx, fp_error *err);

void policy_free(policy *p);

const unsigned char *policy_hash(const policy *p);   /* 32 bytes */
const char *policy_name(const policy *p);
void policy_hash_hex(const policy *p, char out[65]);

/* Rules in file order (for reports and tooling). */
size_t policy_rule_count(const policy *p);
const char *policy_rule_id(const policy *p, size_t index);

void policy_decide(const policy *p, const policy_request *req, policy_decision *out);

/* Check that every name in req is one the policy knows (category, purpose,
 * lawful basis, consent state, risk, role, subcategory); err names the
 * offending field, e.g. "category: unknown category 'da_vctim'". */
int policy_validate_request(const policy *p, const policy_request *req, fp_error *err);

/* Fields of a category, by bit index.  policy_field_index returns -1 for a
 * field the category does not carry (or an unknown category). */
int policy_field_index(const policy *p, const char *category, const char *field);
size_t policy_field_count(const policy *p, const char *category);
const char *policy_field_name(const policy *p, const char *category, size_t index);
const char *policy_field_sensitivity(const policy *p, const char *category, size_t index);

/* Agencies listed in the policy (may be empty: then sectors come only from
 * certificates).  Returns NULL when the policy does not list agency_id. */
const char *policy_agency_sector(const policy *p, const char *agency_id);

/* Detached signature over "flagpost-policy-v1" || file bytes, in path.sig. */
int policy_verify_signature(const char *path, const uint8_t *text, size_t len,
                            const unsigned char ca_public[32], fp_error *err);

/* Write path.sig: the CA's detached signature over text (path's bytes). */
int policy_sign(const char *path, const uint8_t *text, size_t len,
                const unsigned char ca_secret[64], fp_error *err);

#endif
