/*
 * policy_rules: the rules section compiled into bitmask rules.
 *
 * Every name in a rule is resolved against the vocabulary compiled by
 * policy_schema.c and turned into bits; a dimension the rule leaves out
 * becomes POL_ALL (any value, including an unknown one), which only deny
 * rules may do for the dimensions an allow rule must state (from, to,
 * categories, purposes, lawful bases, fields).  Problems local to one rule
 * (unknown names and keys, empty lists, a field its category does not
 * carry, options that make no sense for the rule's effect) are reported
 * here; problems between rules are policy_check.c's.
 */
#include "policy_internal.h"

#include <stdlib.h>
#include <string.h>

static const char *const reserved_ids[] = {
    POLICY_RULE_DEFAULT_DENY, POLICY_RULE_RESTRICTED, POLICY_RULE_SECTOR_MISMATCH, NULL
};

typedef struct rule_ctx {
    policy *p;
    pol_rule *r;
    const char *id;
    pol_diag *d;
} rule_ctx;

/* A list key may be written as a sequence or, for one entry, a scalar. */
static size_t list_len(const pnode *n)
{
    return n->type == PN_SEQ ? n->n : 1;
}
static const pnode *list_at(const pnode *n, size_t i)
{
    return n->type == PN_SEQ ? n->items[i] : n;
}

static bool list_ok(rule_ctx *c, const pnode *n, const char *key)
{
    if (n->type == PN_MAP) {
        pol_report_at(c->d, n, "rule '%s': '%s' must be a list", c->id, key);
        return false;
    }
    if (n->type == PN_SEQ && n->n == 0) {
        pol_report_at(c->d, n, "rule '%s' can never match: its '%s' list is empty", c->id,
                      key);
        return false;
    }
    for (size_t i = 0; i < list_len(n); i++) {
        if (!pol_is_scalar(list_at(n, i))) {
            pol_report_at(c->d, list_at(n, i), "rule '%s': each entry of '%s' must be a "
                                               "name", c->id, key);
            return false;
        }
    }
    return true;
}

/* Names of one vocabulary to a mask; absent means any. */
static uint64_t name_mask(rule_ctx *c, const pnode *n, const char *key, int kind,
                          const char *what)
{
    if (n == NULL)
        return POL_ALL;
    if (!list_ok(c, n, key))
        return 0;
    uint64_t mask = 0;
    for (size_t i = 0; i < list_len(n); i++) {
        const pnode *e = list_at(n, i);
        int idx = pol_name_find(c->p, kind, 0, e->value);
        if (idx < 0)
            pol_report_at(c->d, e, "rule '%s': unknown %s '%s'", c->id, what, e->value);
        else
            mask |= 1ULL << idx;
    }
    return mask;
}

static bool sector_held(const policy *p, int sector)
{
    for (size_t i = 0; i < p->nagencies; i++)
        if (p->agencies[i].sector == sector)
            return true;
    return false;
}

static void party_entry(rule_ctx *c, const pnode *e, pol_set *set, const char *key)
{
    const policy *p = c->p;
    if (strcmp(e->value, "any") == 0) {
        set->any = true;
        set->sectors = POL_ALL;
        return;
    }
    if (strncmp(e->value, "sector:", 7) == 0) {
        int s = pol_name_find(p, PK_SECTOR, 0, e->value + 7);
        if (s < 0)
            pol_report_at(c->d, e, "rule '%s': '%s' names a sector that is not declared "
                                   "under 'sectors'", c->id, e->value);
        else if (p->nagencies > 0 && !sector_held(p, s))
            pol_report_at(c->d, e, "rule '%s': no agency listed in this policy has sector "
                                   "'%s', so this '%s' entry can never match", c->id,
                          e->value + 7, key);
        else
            set->sectors |= 1ULL << s;
        return;
    }
    int a = pol_name_find(p, PK_AGENCY, 0, e->value);
    if (a >= 0)
        set->agencies[a >> 6] |= 1ULL << (a & 63);
    else if (pol_name_find(p, PK_SECTOR, 0, e->value) >= 0)
        pol_report_at(c->d, e, "rule '%s': '%s' is a sector, not an agency; write "
                               "'sector:%s'", c->id, e->value, e->value);
    else
        pol_report_at(c->d, e, "rule '%s': '%s' is not an agency listed in this policy "
                               "(write sector:NAME for a sector, or any)", c->id, e->value);
}

static void party_set(rule_ctx *c, const pnode *n, pol_set *set, const char *key)
{
    memset(set, 0, sizeof *set);
    if (n == NULL) {   /* an allow rule without it was reported by require() */
        set->any = c->r->effect == POL_DENY;
        set->sectors = set->any ? POL_ALL : 0;
        return;
    }
    if (!list_ok(c, n, key))
        return;
    for (size_t i = 0; i < list_len(n); i++)
        party_entry(c, list_at(n, i), set, key);
}

/* Field names to a mask per category in the rule's scope. */
static void field_masks(rule_ctx *c, const pnode *n)
{
    policy *p = c->p;
    pol_rule *r = c->r;
    r->fields = calloc(p->ncategories ? p->ncategories : 1, sizeof *r->fields);
    if (r->fields == NULL) {
        pol_report_at(c->d, n, "out of memory compiling rule '%s'", c->id);
        return;
    }
    bool all = pol_is_scalar(n) && strcmp(n->value, "all") == 0;
    if (!all && !list_ok(c, n, "fields"))
        return;
    for (size_t ci = 0; ci < p->ncategories; ci++) {
        if (!pol_bit(r->categories, (int)ci))
            continue;
        if (all)
            r->fields[ci] = p->categories[ci].nfields == 64
                                ? POL_ALL : (1ULL << p->categories[ci].nfields) - 1;
    }
    if (all)
        return;
    for (size_t i = 0; i < list_len(n); i++) {
        const pnode *e = list_at(n, i);
        bool carried = false;
        for (size_t ci = 0; ci < p->ncategories; ci++) {
            if (!pol_bit(r->categories, (int)ci))
                continue;
            int f = pol_name_find(p, PK_FIELD, (int)ci, e->value);
            if (f >= 0) {
                r->fields[ci] |= 1ULL << f;
                carried = true;
            } else if (r->effect == POL_ALLOW) {
                pol_report_at(c->d, e, "rule '%s' grants field '%s', which category '%s' "
                                       "does not carry", c->id, e->value,
                              p->categories[ci].name);
                carried = true;   /* reported once per category already */
            }
        }
        if (!carried)
            pol_report_at(c->d, e, "rule '%s' withholds field '%s', which none of its "
                                   "categories carries", c->id, e->value);
    }
}

static void subcategory_mask(rule_ctx *c, const pnode *n)
{
    pol_rule *r = c->r;
    r->subcats = name_mask(c, n, "subcategories", PK_SUBCATEGORY, "subcategory");
    if (n == NULL || r->subcats == 0)
        return;
    for (size_t i = 0; i < list_len(n); i++) {
        const pnode *e = list_at(n, i);
        int s = pol_name_find(c->p, PK_SUBCATEGORY, 0, e->value);
        if (s >= 0 && !pol_bit(r->categories, c->p->subcat_category[s]))
            pol_report_at(c->d, e, "rule '%s': subcategory '%s' belongs to category '%s', "
                                   "which the rule does not cover", c->id, e->value,
                          c->p->categories[c->p->subcat_category[s]].name);
    }
}

static void conditions(rule_ctx *c, const pnode *when)
{
    static const char *const keys[] = { "risk_at_least", "consent", "consent_not", "roles",
                                        "restricted", "recipient_holds_perpetrator", NULL };
    pol_rule *r = c->r;
    r->consent = r->risk = r->roles = POL_ALL;
    r->restricted = r->holds_perpetrator = -1;
    if (when == NULL)
        return;
    if (when->type != PN_MAP) {
        pol_report_at(c->d, when, "rule '%s': 'when' must be a mapping of conditions", c->id);
        return;
    }
    pol_check_keys(when, keys, "a rule's 'when'", c->d);
    const pnode *risk = pyaml_get(when, "risk_at_least");
    if (risk != NULL) {
        int lv = pol_is_scalar(risk) ? pol_name_find(c->p, PK_RISK, 0, risk->value) : -1;
        if (lv < 0)
            pol_report_at(c->d, risk, "rule '%s': risk_at_least must be standard, medium or "
                                      "high", c->id);
        else
            r->risk = ((1ULL << POL_RISK_COUNT) - 1) & ~((1ULL << lv) - 1);
    }
    const pnode *cons = pyaml_get(when, "consent"), *cnot = pyaml_get(when, "consent_not");
    if (cons != NULL && cnot != NULL)
        pol_report_at(c->d, cnot, "rule '%s': use either 'consent' or 'consent_not', not "
                                  "both", c->id);
    else if (cons != NULL)
        r->consent = name_mask(c, cons, "consent", PK_CONSENT, "consent state");
    else if (cnot != NULL)
        r->consent = ~name_mask(c, cnot, "consent_not", PK_CONSENT, "consent state");
    r->roles = name_mask(c, pyaml_get(when, "roles"), "roles", PK_ROLE, "subject role");
    const pnode *b;
    bool v;
    if ((b = pyaml_get(when, "restricted")) != NULL &&
        pol_parse_bool(b, &v, c->d, "restricted") == FP_OK)
        r->restricted = v;
    if ((b = pyaml_get(when, "recipient_holds_perpetrator")) != NULL &&
        pol_parse_bool(b, &v, c->d, "recipient_holds_perpetrator") == FP_OK)
        r->holds_perpetrator = v;
}

/* Options that only make sense on an allow rule. */
static void allow_options(rule_ctx *c, const pnode *rn)
{
    pol_rule *r = c->r;
    static const char *const opts[] = { "acknowledge_within", "notify_on_view",
                                        "retention_days", "break_glass", NULL };
    if (r->effect == POL_DENY) {
        for (const char *const *o = opts; *o != NULL; o++)
            if (pyaml_get(rn, *o) != NULL)
                pol_report_at(c->d, pyaml_get(rn, *o), "rule '%s': '%s' applies only to "
                                                       "allow rules", c->id, *o);
        return;
    }
    const pnode *n;
    if ((n = pyaml_get(rn, "acknowledge_within")) != NULL)
        pol_parse_duration(n, &r->ack_within_s, c->d, "acknowledge_within");
    if ((n = pyaml_get(rn, "notify_on_view")) != NULL)
        pol_parse_bool(n, &r->notify_on_view, c->d, "notify_on_view");
    if ((n = pyaml_get(rn, "retention_days")) != NULL)
        pol_parse_count(n, &r->retention_days, c->d, "retention_days");
    if ((n = pyaml_get(rn, "break_glass")) != NULL)
        pol_parse_bool(n, &r->break_glass, c->d, "break_glass");
}

static bool rule_id(rule_ctx *c, const pnode *rn)
{
    const pnode *id = pyaml_get(rn, "id");
    if (!pol_is_scalar(id) || !pol_name_ok(id->value, true)) {
        pol_report_at(c->d, id ? id : rn, "every rule needs an 'id' of lower case letters, "
                                          "digits, '-' and '_'");
        return false;
    }
    for (const char *const *rid = reserved_ids; *rid != NULL; rid++)
        if (strcmp(*rid, id->value) == 0) {
            pol_report_at(c->d, id, "rule id '%s' is reserved for decisions the policy "
                                    "makes itself; choose another", id->value);
            return false;
        }
    c->id = pol_strdup(c->p, id->value, id->len);
    if (c->id == NULL || pol_name_add(c->p, PK_RULE, 0, c->id, (int)c->p->nrules) != FP_OK) {
        pol_report_at(c->d, id, "rule id '%s' is used twice; every rule needs its own id",
                      id->value);
        return false;
    }
    c->r->id = c->id;
    return true;
}

static bool rule_effect(rule_ctx *c, const pnode *rn)
{
    const pnode *e = pyaml_get(rn, "effect");
    if (pol_is_scalar(e) && strcmp(e->value, "allow") == 0)
        c->r->effect = POL_ALLOW;
    else if (pol_is_scalar(e) && strcmp(e->value, "deny") == 0)
        c->r->effect = POL_DENY;
    else {
        pol_report_at(c->d, e ? e : rn, "rule '%s' needs 'effect: allow' or 'effect: deny'",
                      c->id);
        return false;
    }
    return true;
}

static void require(rule_ctx *c, const pnode *rn, const char *key)
{
    if (pyaml_get(rn, key) == NULL)
        pol_report_at(c->d, rn, "allow rule '%s' needs '%s' (allow rules state it "
                                "explicitly)", c->id, key);
}

static void compile_rule(policy *p, const pnode *rn, pol_diag *d)
{
    static const char *const keys[] = { "id", "description", "effect", "from", "to",
                                        "categories", "subcategories", "purposes",
                                        "lawful_bases", "fields", "when",
                                        "acknowledge_within", "notify_on_view",
                                        "retention_days", "break_glass", NULL };
    if (rn->type != PN_MAP) {
        pol_report_at(d, rn, "each rule must be a mapping starting with 'id'");
        return;
    }
    pol_rule *r = &p->rules[p->nrules];
    memset(r, 0, sizeof *r);
    r->line = rn->line;
    r->col = rn->col;
    rule_ctx c = { .p = p, .r = r, .id = "?", .d = d };
    bool named = rule_id(&c, rn);
    pol_check_keys(rn, keys, "a rule", d);
    if (!rule_effect(&c, rn) || !named)
        return;
    if (r->effect == POL_ALLOW) {
        static const char *const req[] = { "from", "to", "categories", "purposes",
                                           "lawful_bases", "fields", NULL };
        for (const char *const *k = req; *k != NULL; k++)
            require(&c, rn, *k);
    }
    party_set(&c, pyaml_get(rn, "from"), &r->from, "from");
    party_set(&c, pyaml_get(rn, "to"), &r->to, "to");
    r->categories = name_mask(&c, pyaml_get(rn, "categories"), "categories", PK_CATEGORY,
                              "category");
    subcategory_mask(&c, pyaml_get(rn, "subcategories"));
    r->purposes = name_mask(&c, pyaml_get(rn, "purposes"), "purposes", PK_PURPOSE, "purpose");
    r->bases = name_mask(&c, pyaml_get(rn, "lawful_bases"), "lawful_bases", PK_BASIS,
                         "lawful basis");
    const pnode *fields = pyaml_get(rn, "fields");
    if (fields != NULL) {
        r->withholds = r->effect == POL_DENY;
        field_masks(&c, fields);
    }
    conditions(&c, pyaml_get(rn, "when"));
    allow_options(&c, rn);
    p->nrules++;
}

static int build_index(policy *p)
{
    size_t n = p->nrules ? p->nrules : 1;
    p->deny_idx = calloc(n, sizeof *p->deny_idx);
    p->withhold_idx = calloc(n, sizeof *p->withhold_idx);
    p->allow_idx = calloc(n, sizeof *p->allow_idx);
    if (p->deny_idx == NULL || p->withhold_idx == NULL || p->allow_idx == NULL)
        return FP_ERR_IO;
    for (size_t i = 0; i < p->nrules; i++) {
        const pol_rule *r = &p->rules[i];
        if (r->effect == POL_ALLOW)
            p->allow_idx[p->nallow++] = (uint16_t)i;
        else if (r->withholds)
            p->withhold_idx[p->nwithhold++] = (uint16_t)i;
        else
            p->deny_idx[p->ndeny++] = (uint16_t)i;
    }
    return FP_OK;
}

void pol_compile_rules(policy *p, const pnode *rules, pol_diag *d)
{
    if (rules == NULL || rules->type != PN_SEQ) {
        pol_report_at(d, rules, "the policy needs a 'rules' list");
        rules = NULL;
    } else if (rules->n > POL_MAX_RULES) {
        pol_report_at(d, rules, "the policy has %zu rules; at most %d are supported",
                      rules->n, POL_MAX_RULES);
        rules = NULL;
    }
    size_t n = rules ? rules->n : 0;
    p->rules = calloc(n ? n : 1, sizeof *p->rules);
    if (p->rules == NULL) {
        pol_report(d, 0, 0, "out of memory compiling the rules");
        return;
    }
    for (size_t i = 0; i < n; i++)
        compile_rule(p, rules->items[i], d);
    if (build_index(p) != FP_OK)
        pol_report(d, 0, 0, "out of memory compiling the rules");
}
