/*
 * policy_check: problems that only show when rules are read together.
 *
 *   - an allow rule whose role condition no category of it is about;
 *   - an allow rule that can never decide because an earlier allow rule
 *     matches everything it matches (first match wins);
 *   - an allow rule that a deny rule refuses completely, or whose every
 *     field a field-withholding deny rule removes;
 *   - a deny rule that shadows nothing: no allow rule could ever send what
 *     it denies, so it changes no decision (usually a typo in a condition).
 *
 * Because rules are bitmasks, "matches everything B matches" is a subset
 * test per dimension and "could ever apply together" an intersection test.
 * Both are conservative: a problem is reported only when it is certain.
 * These checks run only on a policy that compiled without other errors, so
 * a typo in one rule is not echoed as a cascade of cross-rule complaints.
 */
#include "policy_internal.h"

static bool set_has_agency(const policy *p, const pol_set *s, int a)
{
    if (s->any || pol_agency_bit(s->agencies, a))
        return true;
    int sector = p->agencies[a].sector;
    return sector >= 0 && pol_bit(s->sectors, sector);
}

/* Every party inner matches, outer matches too. */
static bool set_subset(const policy *p, const pol_set *inner, const pol_set *outer)
{
    if (outer->any)
        return true;
    if (inner->any || (inner->sectors & ~outer->sectors) != 0)
        return false;
    for (size_t a = 0; a < p->nagencies; a++)
        if (pol_agency_bit(inner->agencies, (int)a) && !set_has_agency(p, outer, (int)a))
            return false;
    return true;
}

/* Some party matches both. */
static bool set_overlap(const policy *p, const pol_set *x, const pol_set *y)
{
    if (x->any || y->any || (x->sectors & y->sectors) != 0)
        return true;
    for (size_t a = 0; a < p->nagencies; a++) {
        bool in_x = set_has_agency(p, x, (int)a), in_y = set_has_agency(p, y, (int)a);
        if (in_x && in_y)
            return true;
    }
    return false;
}

static bool tri_subset(int8_t inner, int8_t outer)
{
    return outer < 0 || inner == outer;
}
static bool tri_overlap(int8_t x, int8_t y)
{
    return x < 0 || y < 0 || x == y;
}
static bool mask_subset(uint64_t inner, uint64_t outer)
{
    return (inner & ~outer) == 0;
}

/* Every request inner matches, outer matches too (break-glass aside). */
static bool rule_subset(const policy *p, const pol_rule *inner, const pol_rule *outer)
{
    return set_subset(p, &inner->from, &outer->from) &&
           set_subset(p, &inner->to, &outer->to) &&
           mask_subset(inner->categories, outer->categories) &&
           mask_subset(inner->subcats, outer->subcats) &&
           mask_subset(inner->purposes, outer->purposes) &&
           mask_subset(inner->bases, outer->bases) &&
           mask_subset(inner->consent, outer->consent) &&
           mask_subset(inner->risk, outer->risk) &&
           mask_subset(inner->roles, outer->roles) &&
           tri_subset(inner->restricted, outer->restricted) &&
           tri_subset(inner->holds_perpetrator, outer->holds_perpetrator);
}

/* Some request matches both. */
static bool rule_overlap(const policy *p, const pol_rule *x, const pol_rule *y)
{
    return set_overlap(p, &x->from, &y->from) && set_overlap(p, &x->to, &y->to) &&
           (x->categories & y->categories) != 0 && (x->subcats & y->subcats) != 0 &&
           (x->purposes & y->purposes) != 0 && (x->bases & y->bases) != 0 &&
           (x->consent & y->consent) != 0 && (x->risk & y->risk) != 0 &&
           (x->roles & y->roles) != 0 && tri_overlap(x->restricted, y->restricted) &&
           tri_overlap(x->holds_perpetrator, y->holds_perpetrator);
}

/* A field-withholding rule removes at least one field allow grants. */
static bool fields_overlap(const policy *p, const pol_rule *allow, const pol_rule *deny)
{
    for (size_t c = 0; c < p->ncategories; c++)
        if (pol_bit(allow->categories & deny->categories, (int)c) &&
            (allow->fields[c] & deny->fields[c]) != 0)
            return true;
    return false;
}

static bool fields_all_withheld(const policy *p, const pol_rule *allow, const pol_rule *deny)
{
    for (size_t c = 0; c < p->ncategories; c++)
        if (pol_bit(allow->categories, (int)c) && (allow->fields[c] & ~deny->fields[c]) != 0)
            return false;
    return true;
}

static void check_roles(const policy *p, const pol_rule *r, pol_diag *d)
{
    if (r->roles == POL_ALL)
        return;
    uint64_t about = 0;
    for (size_t c = 0; c < p->ncategories; c++)
        if (pol_bit(r->categories, (int)c))
            about |= p->categories[c].roles;
    if ((r->roles & about) == 0)
        pol_report(d, r->line, r->col, "rule '%s' can never match: none of its categories "
                                       "is about the subject roles its 'when: roles' lists",
                   r->id);
}

/* An allow rule that never decides or never allows anything. */
static void check_allow(const policy *p, size_t i, pol_diag *d)
{
    const pol_rule *r = &p->rules[i];
    check_roles(p, r, d);
    for (size_t j = 0; j < p->nrules; j++) {
        const pol_rule *o = &p->rules[j];
        if (j == i || !rule_subset(p, r, o))
            continue;
        if (o->effect == POL_ALLOW && j < i && o->break_glass == r->break_glass) {
            pol_report(d, r->line, r->col, "rule '%s' can never decide: the earlier allow "
                                           "rule '%s' (line %d) matches every request it "
                                           "matches, and the first matching rule wins",
                       r->id, o->id, o->line);
            return;
        }
        if (o->effect == POL_DENY && !o->withholds) {
            pol_report(d, r->line, r->col, "rule '%s' can never allow anything: deny rule "
                                           "'%s' (line %d) refuses every request it matches",
                       r->id, o->id, o->line);
            return;
        }
        if (o->effect == POL_DENY && fields_all_withheld(p, r, o)) {
            pol_report(d, r->line, r->col, "rule '%s' can never allow anything: deny rule "
                                           "'%s' (line %d) withholds every field it grants",
                       r->id, o->id, o->line);
            return;
        }
    }
}

static void check_deny(const policy *p, const pol_rule *r, pol_diag *d)
{
    for (size_t j = 0; j < p->nrules; j++) {
        const pol_rule *a = &p->rules[j];
        if (a->effect == POL_ALLOW && rule_overlap(p, r, a) &&
            (!r->withholds || fields_overlap(p, a, r)))
            return;
    }
    pol_report(d, r->line, r->col, "deny rule '%s' shadows nothing: no allow rule could ever "
                                   "%s, so it changes no decision; check its conditions or "
                                   "remove it", r->id,
               r->withholds ? "send the fields it withholds under its conditions"
                            : "match a request it matches");
}

void pol_check_rules(const policy *p, pol_diag *d)
{
    for (size_t i = 0; i < p->nrules; i++) {
        if (p->rules[i].effect == POL_ALLOW)
            check_allow(p, i, d);
        else
            check_deny(p, &p->rules[i], d);
    }
}
