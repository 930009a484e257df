/*
 * policy_eval: policy_decide(), the question the broker and both agents ask
 * for every recipient of every flag.
 *
 * A request's names are resolved once through the name table into small
 * integers (POL_UNKNOWN for a name the policy does not know, or none), then
 * the compiled rules are scanned in three passes, each in file order:
 *
 *   1. deny rules without a field list: the first that matches refuses;
 *   2. allow rules: the first that matches decides and grants its fields
 *      for the request's category (break-glass requests match only
 *      break-glass rules, and other requests never match them);
 *   3. deny rules with a field list: every one that matches removes its
 *      fields; if nothing is left the flag is refused by the first of them.
 *
 * Three checks come before the rules because no rule can overrule them: a
 * restricted flag goes only to agencies named on it; an agency the policy
 * lists under one sector cannot present a certificate of another; and a
 * request naming anything the policy does not know (a misspelt category, a
 * consent state from a newer agent) matches no rule at all.
 *
 * Nothing here allocates, locks or writes outside *out, so any number of
 * threads may decide against one policy at once.
 */
#include "policy_internal.h"

#include <stdio.h>
#include <string.h>

typedef struct party_ix {
    int agency;                  /* -1 when the policy does not list it */
    int sector;                  /* POL_UNKNOWN when unknown */
    bool mismatch;               /* listed under a different sector */
} party_ix;

typedef struct req_ix {
    party_ix from, to;
    int category, subcat, purpose, basis, consent, risk, role;
} req_ix;

/* Wire formats carry an absent string as "" (protobuf) or NULL (JSON);
 * both mean "not given". */
static bool given(const char *s)
{
    return s != NULL && s[0] != '\0';
}

static int find_or_unknown(const policy *p, int kind, const char *name)
{
    int i = given(name) ? pol_name_find(p, kind, 0, name) : -1;
    return i < 0 ? POL_UNKNOWN : i;
}

static void resolve_party(const policy *p, const policy_party *party, party_ix *out)
{
    out->agency = given(party->agency_id) ? pol_name_find(p, PK_AGENCY, 0, party->agency_id)
                                          : -1;
    out->sector = find_or_unknown(p, PK_SECTOR, party->sector);
    out->mismatch = false;
    if (out->agency < 0)
        return;
    int listed = p->agencies[out->agency].sector;
    if (!given(party->sector))
        out->sector = listed;
    else if (out->sector != listed)
        out->mismatch = true;
}

static void resolve(const policy *p, const policy_request *req, req_ix *ix)
{
    resolve_party(p, &req->from, &ix->from);
    resolve_party(p, &req->to, &ix->to);
    ix->category = find_or_unknown(p, PK_CATEGORY, req->category);
    ix->subcat = find_or_unknown(p, PK_SUBCATEGORY, req->subcategory);
    ix->purpose = find_or_unknown(p, PK_PURPOSE, req->purpose);
    ix->basis = find_or_unknown(p, PK_BASIS, req->lawful_basis);
    ix->consent = find_or_unknown(p, PK_CONSENT, req->consent);
    ix->risk = find_or_unknown(p, PK_RISK, req->risk);
    ix->role = find_or_unknown(p, PK_ROLE, req->subject_role);
}

/* A name was given but the policy does not know it: such a request matches
 * no rule at all, so a typo can never slip through a rule that happens not
 * to constrain that dimension.  Absent names are not unknown. */
static bool names_unknown(const policy_request *req, const req_ix *ix)
{
    return (given(req->category) && ix->category == POL_UNKNOWN) ||
           (given(req->subcategory) && ix->subcat == POL_UNKNOWN) ||
           (given(req->purpose) && ix->purpose == POL_UNKNOWN) ||
           (given(req->lawful_basis) && ix->basis == POL_UNKNOWN) ||
           (given(req->consent) && ix->consent == POL_UNKNOWN) ||
           (given(req->risk) && ix->risk == POL_UNKNOWN) ||
           (given(req->subject_role) && ix->role == POL_UNKNOWN) ||
           (given(req->from.sector) && ix->from.sector == POL_UNKNOWN) ||
           (given(req->to.sector) && ix->to.sector == POL_UNKNOWN);
}

static bool party_match(const pol_set *s, const party_ix *x)
{
    return s->any || pol_bit(s->sectors, x->sector) ||
           (x->agency >= 0 && pol_agency_bit(s->agencies, x->agency));
}

static bool tri_match(int8_t cond, bool value)
{
    return cond < 0 || (cond != 0) == value;
}

static bool rule_match(const pol_rule *r, const req_ix *ix, const policy_request *req)
{
    return pol_bit(r->categories, ix->category) && pol_bit(r->purposes, ix->purpose) &&
           pol_bit(r->bases, ix->basis) && pol_bit(r->consent, ix->consent) &&
           pol_bit(r->risk, ix->risk) && pol_bit(r->roles, ix->role) &&
           pol_bit(r->subcats, ix->subcat) && party_match(&r->to, &ix->to) &&
           party_match(&r->from, &ix->from) && tri_match(r->restricted, req->restricted) &&
           tri_match(r->holds_perpetrator, req->recipient_holds_perpetrator);
}

static bool named_on_flag(const policy_request *req)
{
    if (req->to.agency_id == NULL || req->named_agencies == NULL)
        return false;
    for (size_t i = 0; i < req->named_count; i++)
        if (req->named_agencies[i] != NULL &&
            strcmp(req->named_agencies[i], req->to.agency_id) == 0)
            return true;
    return false;
}

static void deny(policy_decision *out, const char *rule_id, const char *reason)
{
    memset(out, 0, sizeof *out);
    out->rule_id = rule_id;
    out->reason = reason;
}

static void grant(policy_decision *out, const pol_rule *r, int category)
{
    memset(out, 0, sizeof *out);
    out->allowed = true;
    out->rule_id = r->id;
    out->reason = r->break_glass ? "allowed by a break-glass rule; marked for IG review"
                                 : "allowed by rule";
    out->fields = r->fields[category];
    out->ack_within_s = r->ack_within_s;
    out->notify_on_view = r->notify_on_view;
    out->retention_days = r->retention_days;
    out->break_glass = r->break_glass;
}

/* Pass 3: deny rules that withhold fields from an allowed flag. */
static void withhold(const policy *p, const req_ix *ix, const policy_request *req,
                     policy_decision *out)
{
    const char *first = NULL;
    uint64_t removed = 0;
    if ((size_t)ix->category >= p->ncategories)   /* cannot happen: an allow rule matched */
        return;
    for (size_t i = 0; i < p->nwithhold; i++) {
        const pol_rule *r = &p->rules[p->withhold_idx[i]];
        if (!rule_match(r, ix, req))
            continue;
        uint64_t hit = out->fields & r->fields[ix->category];
        if (hit == 0)
            continue;
        removed |= hit;
        out->fields &= ~hit;
        if (first == NULL)
            first = r->id;
    }
    if (first == NULL)
        return;
    if (out->fields == 0) {
        deny(out, first, "every field the rule allows is withheld by a deny rule");
        out->withheld = removed;
        out->withheld_by = first;
        return;
    }
    out->withheld = removed;
    out->withheld_by = first;
    out->reason = "allowed; some fields withheld by a deny rule";
}

void policy_decide(const policy *p, const policy_request *req, policy_decision *out)
{
    deny(out, POLICY_RULE_DEFAULT_DENY, "no rule allows this (default deny)");
    if (p == NULL || req == NULL)
        return;
    if (req->restricted && !named_on_flag(req)) {
        deny(out, POLICY_RULE_RESTRICTED, "restricted flag: the recipient is not named on it");
        return;
    }
    req_ix ix;
    resolve(p, req, &ix);
    if (ix.from.mismatch || ix.to.mismatch) {
        deny(out, POLICY_RULE_SECTOR_MISMATCH,
             "an agency's certificate names a different sector from the policy");
        return;
    }
    if (names_unknown(req, &ix)) {
        out->reason = "the request names something this policy does not know";
        return;
    }
    for (size_t i = 0; i < p->ndeny; i++) {
        const pol_rule *r = &p->rules[p->deny_idx[i]];
        if (rule_match(r, &ix, req)) {
            deny(out, r->id, "denied by rule");
            return;
        }
    }
    for (size_t i = 0; i < p->nallow; i++) {
        const pol_rule *r = &p->rules[p->allow_idx[i]];
        if (r->break_glass == req->break_glass && rule_match(r, &ix, req)) {
            grant(out, r, ix.category);
            withhold(p, &ix, req, out);
            return;
        }
    }
}

/* ---- request validation and vocabulary queries ---- */

static int unknown(fp_error *err, const char *what, const char *kind, const char *name)
{
    return fp_error_set(err, FP_ERR_INPUT, "%s: unknown %s '%s'", what, kind, name);
}

static int check_name(const policy *p, int kind, const char *name, const char *what,
                      const char *label, bool required, fp_error *err)
{
    if (!given(name))
        return required ? fp_error_set(err, FP_ERR_INPUT, "%s: missing", what) : FP_OK;
    return pol_name_find(p, kind, 0, name) < 0 ? unknown(err, what, label, name) : FP_OK;
}

int policy_validate_request(const policy *p, const policy_request *req, fp_error *err)
{
    int rc;
    if ((rc = check_name(p, PK_CATEGORY, req->category, "category", "category", true,
                         err)) != FP_OK ||
        (rc = check_name(p, PK_PURPOSE, req->purpose, "purpose", "purpose", true, err)) ||
        (rc = check_name(p, PK_BASIS, req->lawful_basis, "lawful_basis", "lawful basis",
                         true, err)) ||
        (rc = check_name(p, PK_CONSENT, req->consent, "consent", "consent state", false,
                         err)) ||
        (rc = check_name(p, PK_RISK, req->risk, "risk", "risk level", false, err)) ||
        (rc = check_name(p, PK_ROLE, req->subject_role, "subject_role", "subject role",
                         false, err)))
        return rc;
    int c = pol_name_find(p, PK_CATEGORY, 0, req->category);
    const pol_category *cat = &p->categories[c];
    int role = given(req->subject_role) ? pol_name_find(p, PK_ROLE, 0, req->subject_role) : -1;
    if (role >= 0 && !pol_bit(cat->roles, role))
        return fp_error_set(err, FP_ERR_INPUT, "subject_role: a '%s' flag is not about a %s",
                            cat->name, req->subject_role);
    if (given(req->subcategory)) {
        int s = pol_name_find(p, PK_SUBCATEGORY, 0, req->subcategory);
        if (s < 0)
            return unknown(err, "subcategory", "subcategory", req->subcategory);
        if (p->subcat_category[s] != c)
            return fp_error_set(err, FP_ERR_INPUT, "subcategory: '%s' is not a subcategory "
                                "of '%s'", req->subcategory, cat->name);
    }
    return FP_OK;
}

int policy_field_index(const policy *p, const char *category, const char *field)
{
    int c = pol_name_find(p, PK_CATEGORY, 0, category);
    return c < 0 || field == NULL ? -1 : pol_name_find(p, PK_FIELD, c, field);
}

size_t policy_field_count(const policy *p, const char *category)
{
    int c = pol_name_find(p, PK_CATEGORY, 0, category);
    return c < 0 ? 0 : p->categories[c].nfields;
}

const char *policy_field_name(const policy *p, const char *category, size_t index)
{
    int c = pol_name_find(p, PK_CATEGORY, 0, category);
    return c < 0 || index >= p->categories[c].nfields ? NULL
                                                     : p->categories[c].fields[index].name;
}

const char *policy_field_sensitivity(const policy *p, const char *category, size_t index)
{
    int c = pol_name_find(p, PK_CATEGORY, 0, category);
    if (c < 0 || index >= p->categories[c].nfields)
        return NULL;
    int s = p->categories[c].fields[index].sensitivity;
    return s < 0 ? NULL : p->sensitivity[s];
}

const char *policy_agency_sector(const policy *p, const char *agency_id)
{
    int a = pol_name_find(p, PK_AGENCY, 0, agency_id);
    return a < 0 || p->agencies[a].sector < 0 ? NULL : p->sectors[p->agencies[a].sector];
}
