/*
 * policy_schema: the vocabulary half of a policy file -- header, sensitivity
 * classes, sectors, agencies, purposes, lawful bases and categories with
 * their fields -- compiled into name tables and indices.
 *
 * Each section is checked independently and every problem is reported with
 * its position, then compilation carries on with what was understood, so
 * one typo does not hide the next.  The fixed vocabularies (consent states,
 * risk levels, subject roles) are registered here too, so the evaluator
 * resolves every request name through the same table.
 */
#include "policy_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

const char *const pol_consent_names[POL_CONSENT_COUNT] = {
    "given", "refused", "refused_overridden", "not_sought_unsafe", "not_possible"
};
const char *const pol_risk_names[POL_RISK_COUNT] = { "standard", "medium", "high" };
const char *const pol_role_names[POL_ROLE_COUNT] = { "victim", "perpetrator", "child",
                                                     "address" };

/* ---- small helpers shared with policy_rules.c ---- */

bool pol_is_scalar(const pnode *n)
{
    return n != NULL && n->type == PN_SCALAR;
}

bool pol_check_keys(const pnode *map, const char *const *allowed, const char *what,
                    pol_diag *d)
{
    bool ok = true;
    for (size_t i = 0; i + 1 < map->n; i += 2) {
        const char *key = map->items[i]->value;
        bool known = false;
        for (const char *const *a = allowed; *a != NULL && !known; a++)
            known = strcmp(*a, key) == 0;
        if (known)
            continue;
        char list[400] = "";
        for (const char *const *a = allowed; *a != NULL; a++) {
            if (list[0] != '\0')
                strncat(list, ", ", sizeof list - strlen(list) - 1);
            strncat(list, *a, sizeof list - strlen(list) - 1);
        }
        pol_report_at(d, map->items[i], "unknown key '%s' in %s; the keys allowed here "
                                        "are: %s", key, what, list);
        ok = false;
    }
    return ok;
}

bool pol_name_ok(const char *s, bool allow_dash)
{
    if (s[0] < 'a' || s[0] > 'z') {
        if (!(allow_dash && s[0] >= '0' && s[0] <= '9'))
            return false;
    }
    size_t n = 0;
    for (; s[n] != '\0'; n++) {
        char c = s[n];
        bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
                  (allow_dash && c == '-');
        if (!ok)
            return false;
    }
    return n < 64;
}

int pol_parse_bool(const pnode *n, bool *out, pol_diag *d, const char *key)
{
    if (pol_is_scalar(n) && strcmp(n->value, "true") == 0) {
        *out = true;
        return FP_OK;
    }
    if (pol_is_scalar(n) && strcmp(n->value, "false") == 0) {
        *out = false;
        return FP_OK;
    }
    pol_report_at(d, n, "'%s' must be true or false", key);
    return FP_ERR_INPUT;
}

static bool parse_int(const char *s, int64_t max, int64_t *out, char **end)
{
    if (*s < '0' || *s > '9')
        return false;
    errno = 0;
    long long v = strtoll(s, end, 10);
    if (errno != 0 || v < 0 || v > max)
        return false;
    *out = v;
    return true;
}

int pol_parse_count(const pnode *n, int64_t *out, pol_diag *d, const char *key)
{
    char *end = NULL;
    if (pol_is_scalar(n) && parse_int(n->value, 36500, out, &end) && *end == '\0')
        return FP_OK;
    pol_report_at(d, n, "'%s' must be a whole number of days from 0 to 36500", key);
    return FP_ERR_INPUT;
}

int pol_parse_duration(const pnode *n, int64_t *out, pol_diag *d, const char *key)
{
    char *end = NULL;
    int64_t v = 0;
    if (pol_is_scalar(n) && parse_int(n->value, 100000, &v, &end) && v > 0 &&
        end[0] != '\0' && end[1] == '\0') {
        /* Seconds exist for drills and tests of escalation; agreements use
         * minutes, hours and days. */
        int64_t unit = end[0] == 's'   ? 1
                       : end[0] == 'm' ? 60
                       : end[0] == 'h' ? 3600
                       : end[0] == 'd' ? 86400
                                       : 0;
        if (unit != 0) {
            *out = v * unit;
            return FP_OK;
        }
    }
    pol_report_at(d, n, "'%s' must be a duration such as 30m, 24h or 7d (or 90s)", key);
    return FP_ERR_INPUT;
}

/* ---- sections ---- */

typedef void (*entry_fn)(policy *p, const pnode *key, const pnode *value, pol_diag *d);

/* Walk a mapping section, checking each key is a well-formed name. */
static void each_entry(policy *p, const pnode *sec, const char *what, bool dash_names,
                       entry_fn fn, pol_diag *d)
{
    if (sec->type != PN_MAP) {
        pol_report_at(d, sec, "'%s' must be a mapping of names to descriptions", what);
        return;
    }
    for (size_t i = 0; i + 1 < sec->n; i += 2) {
        const pnode *k = sec->items[i];
        if (!pol_name_ok(k->value, dash_names)) {
            pol_report_at(d, k, "'%s' is not a valid name in %s: use lower case letters, "
                                "digits and %s (at most 63 characters)", k->value, what,
                          dash_names ? "'-'" : "'_' (snake_case)");
            continue;
        }
        fn(p, k, sec->items[i + 1], d);
    }
}

/* Register one name of a simple vocabulary (a scalar description). */
static void add_simple(policy *p, const pnode *k, const pnode *v, pol_diag *d, int kind,
                       const char **names, size_t *count, const char *what)
{
    if (!pol_is_scalar(v))
        pol_report_at(d, v, "the description of %s '%s' must be text", what, k->value);
    if (*count >= POL_MAX_NAMES) {
        pol_report_at(d, k, "too many %ss: at most %d", what, POL_MAX_NAMES);
        return;
    }
    const char *name = pol_strdup(p, k->value, k->len);
    if (name == NULL || pol_name_add(p, kind, 0, name, (int)*count) != FP_OK) {
        pol_report_at(d, k, "%s '%s' is declared twice", what, k->value);
        return;
    }
    names[(*count)++] = name;
}

static void add_sector(policy *p, const pnode *k, const pnode *v, pol_diag *d)
{
    add_simple(p, k, v, d, PK_SECTOR, p->sectors, &p->nsectors, "sector");
}
static void add_purpose(policy *p, const pnode *k, const pnode *v, pol_diag *d)
{
    add_simple(p, k, v, d, PK_PURPOSE, p->purposes, &p->npurposes, "purpose");
}
static void add_basis(policy *p, const pnode *k, const pnode *v, pol_diag *d)
{
    add_simple(p, k, v, d, PK_BASIS, p->bases, &p->nbases, "lawful basis");
}
static void add_sensitivity(policy *p, const pnode *k, const pnode *v, pol_diag *d)
{
    add_simple(p, k, v, d, PK_SENSITIVITY, p->sensitivity, &p->nsensitivity,
               "sensitivity class");
}

static void add_agency(policy *p, const pnode *k, const pnode *v, pol_diag *d)
{
    static const char *const keys[] = { "sector", "name", "description", NULL };
    if (v->type != PN_MAP) {
        pol_report_at(d, v, "agency '%s' must be a mapping with at least 'sector'", k->value);
        return;
    }
    pol_check_keys(v, keys, "an agency", d);
    const pnode *sec = pyaml_get(v, "sector");
    const pnode *nm = pyaml_get(v, "name");
    int sector = -1;
    if (!pol_is_scalar(sec))
        pol_report_at(d, sec ? sec : k, "agency '%s' needs a 'sector'", k->value);
    else if ((sector = pol_name_find(p, PK_SECTOR, 0, sec->value)) < 0)
        pol_report_at(d, sec, "agency '%s' has sector '%s', which is not declared under "
                              "'sectors'", k->value, sec->value);
    if (p->nagencies >= POL_MAX_AGENCIES) {
        pol_report_at(d, k, "too many agencies: at most %d", POL_MAX_AGENCIES);
        return;
    }
    const char *id = pol_strdup(p, k->value, k->len);
    if (id == NULL || pol_name_add(p, PK_AGENCY, 0, id, (int)p->nagencies) != FP_OK) {
        pol_report_at(d, k, "agency '%s' is listed twice", k->value);
        return;
    }
    pol_agency *a = &p->agencies[p->nagencies++];
    a->id = id;
    a->sector = sector;
    a->display_name = pol_is_scalar(nm) ? pol_strdup(p, nm->value, nm->len) : id;
}

/* Fields of one category. */
static void add_fields(policy *p, pol_category *c, int ci, const pnode *fields, pol_diag *d)
{
    static const char *const keys[] = { "sensitivity", "description", NULL };
    for (size_t i = 0; i + 1 < fields->n; i += 2) {
        const pnode *k = fields->items[i], *v = fields->items[i + 1];
        if (!pol_name_ok(k->value, false)) {
            pol_report_at(d, k, "field name '%s' must be snake_case: lower case letters, "
                                "digits and '_'", k->value);
            continue;
        }
        if (c->nfields >= POLICY_MAX_FIELDS) {
            pol_report_at(d, k, "category '%s' has more than %d fields", c->name,
                          POLICY_MAX_FIELDS);
            return;
        }
        if (v->type != PN_MAP) {
            pol_report_at(d, v, "field '%s' must be a mapping with 'sensitivity' and "
                                "'description'", k->value);
            continue;
        }
        pol_check_keys(v, keys, "a field", d);
        const pnode *s = pyaml_get(v, "sensitivity"), *desc = pyaml_get(v, "description");
        int sens = -1;
        if (!pol_is_scalar(s))
            pol_report_at(d, s ? s : k, "field '%s' needs a 'sensitivity' class", k->value);
        else if ((sens = pol_name_find(p, PK_SENSITIVITY, 0, s->value)) < 0)
            pol_report_at(d, s, "field '%s' has sensitivity '%s', which is not declared "
                                "under 'sensitivity_classes'", k->value, s->value);
        const char *name = pol_strdup(p, k->value, k->len);
        if (name == NULL || pol_name_add(p, PK_FIELD, ci, name, (int)c->nfields) != FP_OK)
            continue;   /* duplicate keys were already reported by the YAML reader */
        pol_field *f = &c->fields[c->nfields++];
        f->name = name;
        f->sensitivity = sens;
        f->description = pol_is_scalar(desc) ? pol_strdup(p, desc->value, desc->len) : "";
    }
}

static void add_roles(policy *p, pol_category *c, const pnode *roles, pol_diag *d)
{
    if (roles == NULL || roles->type != PN_SEQ || roles->n == 0) {
        pol_report_at(d, roles, "category '%s' needs 'roles': the subject roles it can be "
                                "about (victim, perpetrator, child, address)", c->name);
        return;
    }
    for (size_t i = 0; i < roles->n; i++) {
        const pnode *r = roles->items[i];
        int idx = pol_is_scalar(r) ? pol_name_find(p, PK_ROLE, 0, r->value) : -1;
        if (idx < 0)
            pol_report_at(d, r, "'%s' is not a subject role; use victim, perpetrator, child "
                                "or address", pol_is_scalar(r) ? r->value : "?");
        else
            c->roles |= 1ULL << idx;
    }
}

static void add_subcats(policy *p, pol_category *c, int ci, const pnode *subs, pol_diag *d)
{
    if (subs->type != PN_MAP) {
        pol_report_at(d, subs, "'subcategories' of '%s' must be a mapping of names to "
                               "descriptions", c->name);
        return;
    }
    for (size_t i = 0; i + 1 < subs->n; i += 2) {
        const pnode *k = subs->items[i];
        if (!pol_name_ok(k->value, false)) {
            pol_report_at(d, k, "subcategory '%s' must be snake_case", k->value);
            continue;
        }
        if (p->nsubcats >= POL_MAX_NAMES) {
            pol_report_at(d, k, "too many subcategories: at most %d", POL_MAX_NAMES);
            return;
        }
        const char *name = pol_strdup(p, k->value, k->len);
        if (name == NULL ||
            pol_name_add(p, PK_SUBCATEGORY, 0, name, (int)p->nsubcats) != FP_OK) {
            pol_report_at(d, k, "subcategory '%s' is declared by two categories; "
                                "subcategory names must be unique", k->value);
            continue;
        }
        c->subcats |= 1ULL << p->nsubcats;
        p->subcat_category[p->nsubcats] = ci;
        p->subcats[p->nsubcats++] = name;
    }
}

static void add_category(policy *p, const pnode *k, const pnode *v, pol_diag *d)
{
    static const char *const keys[] = { "description", "roles", "subcategories", "fields",
                                        NULL };
    if (v->type != PN_MAP) {
        pol_report_at(d, v, "category '%s' must be a mapping with 'roles' and 'fields'",
                      k->value);
        return;
    }
    if (p->ncategories >= POL_MAX_NAMES) {
        pol_report_at(d, k, "too many categories: at most %d", POL_MAX_NAMES);
        return;
    }
    pol_check_keys(v, keys, "a category", d);
    int ci = (int)p->ncategories;
    const char *name = pol_strdup(p, k->value, k->len);
    if (name == NULL || pol_name_add(p, PK_CATEGORY, 0, name, ci) != FP_OK)
        return;
    pol_category *c = &p->categories[p->ncategories++];
    c->name = name;
    c->line = k->line;
    c->col = k->col;
    add_roles(p, c, pyaml_get(v, "roles"), d);
    const pnode *subs = pyaml_get(v, "subcategories");
    if (subs != NULL)
        add_subcats(p, c, ci, subs, d);
    const pnode *fields = pyaml_get(v, "fields");
    if (fields == NULL || fields->type != PN_MAP || fields->n == 0)
        pol_report_at(d, fields ? fields : k, "category '%s' needs 'fields': a mapping of "
                                             "each field it carries", name);
    else
        add_fields(p, c, ci, fields, d);
}

static void register_fixed(policy *p, int kind, const char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        pol_name_add(p, kind, 0, names[i], (int)i);
}

static void check_header(policy *p, const pnode *root, pol_diag *d)
{
    const pnode *ver = pyaml_get(root, "flagpost_policy");
    if (!pol_is_scalar(ver) || strcmp(ver->value, "1") != 0)
        pol_report_at(d, ver ? ver : root, "the file must start with 'flagpost_policy: 1' "
                                           "(the policy format version this build reads)");
    const pnode *name = pyaml_get(root, "name");
    if (!pol_is_scalar(name) || name->len == 0)
        pol_report_at(d, name ? name : root, "the policy needs a 'name'");
    else
        p->name = pol_strdup(p, name->value, name->len);
}

void pol_compile_schema(policy *p, const pnode *root, pol_diag *d)
{
    static const char *const keys[] = { "flagpost_policy", "name", "description", "version",
                                        "sensitivity_classes", "sectors", "agencies",
                                        "purposes", "lawful_bases", "categories", "rules",
                                        NULL };
    pol_check_keys(root, keys, "the top level", d);
    check_header(p, root, d);
    register_fixed(p, PK_CONSENT, pol_consent_names, POL_CONSENT_COUNT);
    register_fixed(p, PK_RISK, pol_risk_names, POL_RISK_COUNT);
    register_fixed(p, PK_ROLE, pol_role_names, POL_ROLE_COUNT);

    static const struct { const char *key; entry_fn fn; bool dash; } sections[] = {
        { "sensitivity_classes", add_sensitivity, false }, { "sectors", add_sector, false },
        { "agencies", add_agency, true }, { "purposes", add_purpose, false },
        { "lawful_bases", add_basis, false }, { "categories", add_category, false },
    };
    for (size_t i = 0; i < sizeof sections / sizeof sections[0]; i++) {
        const pnode *sec = pyaml_get(root, sections[i].key);
        bool optional = strcmp(sections[i].key, "agencies") == 0;
        if (sec == NULL) {
            if (!optional)
                pol_report_at(d, root, "the policy needs a '%s' section", sections[i].key);
            continue;
        }
        each_entry(p, sec, sections[i].key, sections[i].dash, sections[i].fn, d);
    }
}
