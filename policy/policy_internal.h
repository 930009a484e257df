/*
 * policy_internal: the compiled form of a policy, shared by the files of the
 * policy module (and by nothing else: everyone outside uses policy.h).
 *
 * Every name a request can carry is turned into a small integer at load
 * time.  Each dimension of a rule (categories, purposes, lawful bases,
 * consent, risk, role, subcategory, sectors) is a uint64_t bitmask over
 * those integers, so matching one rule is a handful of shifts and ANDs.
 * Bit POL_UNKNOWN (63) stands for "a name the policy does not know, or
 * none": a rule that does not constrain a dimension holds every bit,
 * including it, while a rule that lists names never does.  That single
 * convention makes allow rules fail closed on unknown names and lets deny
 * rules written as "consent_not: [given]" catch a missing consent too.
 *
 * Agencies are a 256-bit set (POLICY_MAX_AGENCIES) per rule side.
 */
#ifndef FLAGPOST_POLICY_INTERNAL_H
#define FLAGPOST_POLICY_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy.h"

#define POL_UNKNOWN 63
#define POL_MAX_NAMES 63          /* per kind of name: bits 0..62 */
#define POL_ALL ((uint64_t)~0ULL)
#define POL_MAX_AGENCIES 256
#define POL_AGENCY_WORDS (POL_MAX_AGENCIES / 64)
#define POL_MAX_RULES 4096
#define POL_MAX_TEXT (4u << 20)   /* largest policy file accepted */

enum pol_kind {
    PK_SECTOR, PK_AGENCY, PK_CATEGORY, PK_SUBCATEGORY, PK_PURPOSE, PK_BASIS,
    PK_CONSENT, PK_RISK, PK_ROLE, PK_SENSITIVITY, PK_FIELD, PK_RULE, PK_COUNT
};

enum { POL_CONSENT_COUNT = 5, POL_RISK_COUNT = 3, POL_ROLE_COUNT = 4 };
extern const char *const pol_consent_names[POL_CONSENT_COUNT];
extern const char *const pol_risk_names[POL_RISK_COUNT];
extern const char *const pol_role_names[POL_ROLE_COUNT];

/* ---- YAML tree with source positions (policy_yaml.c) ---- */

enum pnode_type { PN_SCALAR, PN_SEQ, PN_MAP };

typedef struct pnode {
    int type;
    int line, col;               /* 1-based */
    char *value;                 /* scalars: NUL-terminated */
    size_t len;
    struct pnode **items;        /* seq: items; map: key, value, key, value... */
    size_t n, cap;
} pnode;

/* ---- diagnostics ---- */

typedef struct pol_diag {
    const char *source;
    policy_diag_fn fn;
    void *ctx;
    size_t count;
    fp_error *err;               /* receives the first error */
} pol_diag;

void pol_report(pol_diag *d, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void pol_report_at(pol_diag *d, const pnode *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

int pyaml_load(const char *text, size_t len, pnode **out, pol_diag *d);
void pyaml_free(pnode *n);
const pnode *pyaml_get(const pnode *map, const char *key);

/* ---- string arena and name table (policy_names.c) ---- */

typedef struct pol_chunk pol_chunk;

typedef struct pol_name {
    const char *name;
    uint32_t hash;
    uint16_t kind;
    uint16_t scope;              /* category index for fields, else 0 */
    int32_t index;
} pol_name;

typedef struct pol_names {
    pol_name *slots;
    size_t cap, count;
} pol_names;

/* ---- compiled policy ---- */

typedef struct pol_field {
    const char *name;
    const char *description;
    int sensitivity;
} pol_field;

typedef struct pol_category {
    const char *name;
    int line, col;
    uint64_t roles;              /* roles the category may be about */
    uint64_t subcats;            /* global subcategory indices it owns */
    size_t nfields;
    pol_field fields[POLICY_MAX_FIELDS];
} pol_category;

typedef struct pol_agency {
    const char *id;
    const char *display_name;
    int sector;
} pol_agency;

typedef struct pol_set {         /* one side of a rule: agencies and sectors */
    bool any;
    uint64_t sectors;
    uint64_t agencies[POL_AGENCY_WORDS];
} pol_set;

enum pol_effect { POL_ALLOW, POL_DENY };

typedef struct pol_rule {
    const char *id;
    int line, col;
    int effect;
    bool withholds;              /* deny rule with a fields list */
    bool break_glass;            /* allow rule usable only by break-glass */
    int8_t restricted;           /* -1 any, else must equal */
    int8_t holds_perpetrator;    /* -1 any, else must equal */
    pol_set from, to;
    uint64_t categories, subcats, purposes, bases, consent, risk, roles;
    uint64_t *fields;            /* per category index; NULL when no fields */
    int64_t ack_within_s;
    int64_t retention_days;
    bool notify_on_view;
} pol_rule;

struct policy {
    unsigned char hash[32];
    const char *name;
    pol_chunk *arena;
    pol_names names;

    const char *sectors[POL_MAX_NAMES];
    size_t nsectors;
    const char *purposes[POL_MAX_NAMES];
    size_t npurposes;
    const char *bases[POL_MAX_NAMES];
    size_t nbases;
    const char *sensitivity[POL_MAX_NAMES];
    size_t nsensitivity;
    const char *subcats[POL_MAX_NAMES];
    int subcat_category[POL_MAX_NAMES];
    size_t nsubcats;
    pol_agency agencies[POL_MAX_AGENCIES];
    size_t nagencies;
    pol_category *categories;    /* POL_MAX_NAMES entries */
    size_t ncategories;

    pol_rule *rules;             /* file order */
    size_t nrules;
    /* Indices into rules[], by role in evaluation, each in file order. */
    uint16_t *deny_idx, *withhold_idx, *allow_idx;
    size_t ndeny, nwithhold, nallow;
};

const char *pol_strdup(policy *p, const char *s, size_t len);
void pol_arena_free(policy *p);
int pol_name_add(policy *p, int kind, int scope, const char *name, int index);
int pol_name_find(const policy *p, int kind, int scope, const char *name);

/* Compilation passes (policy_schema.c, policy_rules.c, policy_check.c). */
void pol_compile_schema(policy *p, const pnode *root, pol_diag *d);
void pol_compile_rules(policy *p, const pnode *rules, pol_diag *d);
void pol_check_rules(const policy *p, pol_diag *d);

/* Helpers shared by the compile passes. */
bool pol_is_scalar(const pnode *n);
bool pol_check_keys(const pnode *map, const char *const *allowed, const char *what,
                    pol_diag *d);
bool pol_name_ok(const char *s, bool allow_dash);
int pol_parse_bool(const pnode *n, bool *out, pol_diag *d, const char *key);
int pol_parse_duration(const pnode *n, int64_t *out, pol_diag *d, const char *key);
int pol_parse_count(const pnode *n, int64_t *out, pol_diag *d, const char *key);

/* Evaluation helpers also used by the checker. */
static inline bool pol_bit(uint64_t mask, int idx)
{
    return (mask >> (unsigned)idx) & 1u;
}
static inline bool pol_agency_bit(const uint64_t *set, int idx)
{
    return (set[(unsigned)idx >> 6] >> ((unsigned)idx & 63u)) & 1u;
}

#endif
