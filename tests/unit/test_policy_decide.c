/*
 * The example agreement (policy/examples/tri-borough.yaml), decided case by
 * case: each row is a request and the decision, rule id and fields an IG
 * lead would expect from reading the YAML.  Parties are written as an
 * agency id (its sector looked up in the policy, as the broker takes it
 * from the certificate), "id@sector" (a certificate naming that sector) or
 * "sector:NAME" (no agency id).
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "policy.h"

#define EXAMPLE "policy/examples/tri-borough.yaml"

enum { R = 1, BG = 2, HP = 4 };   /* restricted, break-glass, holds perpetrator */

typedef struct dcase {
    const char *from, *to, *cat, *sub, *purpose, *basis, *consent, *risk, *role;
    unsigned flags;
    const char *named;            /* comma list for restricted flags */
    bool allowed;
    const char *rule;
    const char *has;              /* fields that must flow */
    const char *hasnt;            /* fields that must not */
} dcase;

#define SG "safeguarding"
#define PTS "public_task_safeguarding"
#define LOC "legal_obligation_children_act"

static const dcase cases[] = {
    /* victims: high risk without consent, to IDVA, housing and health */
    { "met-police", "idva", "da_victim", NULL, SG, PTS, "refused_overridden", "high", "victim", 0, NULL, true, "police-victim-to-idva", "name,dash_score,current_address", "immigration_status,nhs_number" },
    { "met-police", "idva", "da_victim", NULL, SG, PTS, "refused_overridden", "medium", "victim", 0, NULL, false, "default-deny", NULL, NULL },
    { "met-police", "idva", "da_victim", NULL, "safe_contact", "consent", "given", "high", "victim", 0, NULL, true, "police-victim-to-idva", "safe_contact_phone", NULL },
    { "met-police", "housing-hf", "da_victim", NULL, SG, PTS, "not_sought_unsafe", "high", "victim", 0, NULL, true, "high-risk-victim-to-housing-no-consent", "current_address,new_address,risk_summary", "immigration_status,dash_score,support_needs" },
    { "met-police", "housing-rbkc", "da_victim", NULL, SG, PTS, "refused_overridden", "high", "victim", 0, NULL, true, "high-risk-victim-to-housing-no-consent", "name", NULL },
    { "idva", "housing-wcc", "da_victim", NULL, SG, PTS, "refused_overridden", "high", "victim", 0, NULL, true, "high-risk-victim-to-housing-no-consent", "name", NULL },
    { "met-police", "housing-assoc", "da_victim", NULL, SG, PTS, "refused_overridden", "high", "victim", HP, NULL, true, "high-risk-victim-to-housing-no-consent", "name,safe_contact_phone", "current_address,new_address" },
    { "met-police", "housing-wcc", "da_victim", NULL, SG, PTS, "not_sought_unsafe", "medium", "victim", 0, NULL, false, "default-deny", NULL, NULL },
    { "met-police", "housing-hf", "da_victim", NULL, SG, PTS, "refused", "high", "victim", 0, NULL, false, "consent-refused-is-final", NULL, NULL },
    { "met-police", "housing-hf", "da_victim", NULL, SG, PTS, "not_possible", "high", "victim", 0, NULL, false, "default-deny", NULL, NULL },
    { "idva", "nhs-acute", "da_victim", NULL, SG, PTS, "not_sought_unsafe", "high", "victim", 0, NULL, true, "high-risk-victim-to-health-no-consent", "nhs_number,safe_contact_times", "current_address,new_address,immigration_status" },
    { "met-police", "gp-federation", "da_victim", NULL, SG, PTS, "refused_overridden", "high", "victim", 0, NULL, true, "high-risk-victim-to-health-no-consent", "name", NULL },
    { "met-police", "nhs-mental-health", "da_victim", NULL, SG, PTS, "refused_overridden", "high", "victim", HP, NULL, true, "high-risk-victim-to-health-no-consent", "name", "current_address" },
    /* victims with consent */
    { "met-police", "housing-hf", "da_victim", NULL, SG, "consent", "given", "standard", "victim", 0, NULL, true, "victim-to-housing-with-consent", "support_needs,new_address", "immigration_status" },
    { "nhs-acute", "housing-wcc", "da_victim", NULL, "safe_contact", PTS, "given", "medium", "victim", 0, NULL, true, "victim-to-housing-with-consent", "name", NULL },
    { "specialist-bfs", "housing-hf", "da_victim", NULL, SG, "consent", "given", "high", "victim", HP, NULL, true, "victim-to-housing-with-consent", "name,support_needs", "current_address,new_address" },
    { "met-police", "nhs-acute", "da_victim", NULL, SG, "consent", "given", "standard", "victim", 0, NULL, true, "victim-to-health-with-consent", "interpreter_language", "current_address" },
    { "nhs-acute", "gp-federation", "da_victim", NULL, SG, PTS, "not_sought_unsafe", "medium", "victim", 0, NULL, true, "health-victim-within-health", "nhs_number", "current_address" },
    { "nhs-acute", "gp-federation", "da_victim", NULL, SG, PTS, NULL, "medium", "victim", 0, NULL, false, "default-deny", NULL, NULL },
    { "gp-federation", "nhs-mental-health", "da_victim", NULL, SG, PTS, "refused", "high", "victim", 0, NULL, false, "consent-refused-is-final", NULL, NULL },
    { "met-police", "specialist-bfs", "da_victim", NULL, SG, "consent", "given", "medium", "victim", 0, NULL, true, "victim-to-specialist-with-consent", "immigration_status", "dash_score" },
    { "met-police", "specialist-bfs", "da_victim", NULL, SG, PTS, "refused_overridden", "high", "victim", 0, NULL, false, "default-deny", NULL, NULL },
    /* immigration status never to enforcement without consent */
    { "idva", "met-police", "da_victim", NULL, "crime_prevention", "consent", "given", "high", "victim", 0, NULL, true, "idva-victim-to-police", "immigration_status,dash_score", NULL },
    { "idva", "met-police", "da_victim", NULL, SG, PTS, "refused_overridden", "high", "victim", 0, NULL, true, "idva-victim-to-police", "name,dash_score", "immigration_status" },
    { "specialist-bfs", "met-police", "da_victim", NULL, SG, PTS, "refused_overridden", "medium", "victim", 0, NULL, true, "idva-victim-to-police", "name", "immigration_status" },
    { "idva", "met-police", "da_victim", NULL, SG, "consent", "given", "standard", "victim", 0, NULL, false, "default-deny", NULL, NULL },
    { "idva", "met-police", "da_victim", NULL, SG, PTS, "not_sought_unsafe", "high", "victim", 0, NULL, false, "default-deny", NULL, NULL },
    /* adults at risk; other victim refusals */
    { "met-police", "adults-sc", "da_victim", NULL, SG, PTS, "not_possible", "medium", "victim", 0, NULL, true, "victim-to-adult-social-care", "support_needs,nhs_number", "immigration_status" },
    { "housing-hf", "adults-sc", "da_victim", NULL, SG, PTS, "given", "standard", "victim", 0, NULL, true, "victim-to-adult-social-care", "name", NULL },
    { "met-police", "adults-sc", "da_victim", NULL, SG, PTS, "not_sought_unsafe", "high", "victim", 0, NULL, false, "default-deny", NULL, NULL },
    { "met-police", "probation", "da_victim", NULL, SG, PTS, "refused_overridden", "high", "victim", 0, NULL, false, "default-deny", NULL, NULL },
    { "met-police", "school-hf-primary", "da_victim", NULL, SG, PTS, "given", "high", "victim", 0, NULL, false, "default-deny", NULL, NULL },
    { "met-police", "idva", "da_victim", NULL, "risk_management", PTS, "refused_overridden", "high", "victim", 0, NULL, false, "default-deny", NULL, NULL },
    { "met-police", "idva", "da_victim", NULL, SG, "law_enforcement", "refused_overridden", "high", "victim", 0, NULL, false, "default-deny", NULL, NULL },
    { "met-police", "idva", "da_victim", NULL, SG, PTS, "refused_overridden", "high", "perpetrator", 0, NULL, false, "default-deny", NULL, NULL },
    /* perpetrators */
    { "met-police", "probation", "da_perpetrator", NULL, "risk_management", "law_enforcement", NULL, "high", "perpetrator", 0, NULL, true, "perpetrator-to-probation", "last_known_address,pnc_id,bail_conditions", NULL },
    { "probation", "met-police", "da_perpetrator", NULL, "risk_management", "law_enforcement", NULL, "medium", "perpetrator", 0, NULL, true, "probation-perpetrator-to-police", "court_orders", "bail_conditions,incident_date" },
    { "met-police", "idva", "da_perpetrator", NULL, SG, PTS, NULL, "medium", "perpetrator", 0, NULL, true, "perpetrator-to-victim-advocates", "bail_conditions,court_orders", "last_known_address,pnc_id,offence_summary" },
    { "met-police", "idva", "da_perpetrator", NULL, SG, PTS, NULL, "standard", "perpetrator", 0, NULL, false, "default-deny", NULL, NULL },
    { "probation", "specialist-bfs", "da_perpetrator", NULL, SG, PTS, NULL, "high", "perpetrator", 0, NULL, true, "perpetrator-to-victim-advocates", "weapons_risk", NULL },
    { "met-police", "housing-wcc", "da_perpetrator", NULL, "risk_management", "law_enforcement", NULL, "high", "perpetrator", 0, NULL, true, "perpetrator-to-housing-high-risk", "weapons_risk", "last_known_address,offence_summary" },
    { "met-police", "housing-wcc", "da_perpetrator", NULL, "risk_management", "law_enforcement", NULL, "medium", "perpetrator", 0, NULL, false, "default-deny", NULL, NULL },
    { "met-police", "childrens-sc", "da_perpetrator", NULL, SG, LOC, NULL, "standard", "perpetrator", 0, NULL, true, "perpetrator-to-childrens-social-care", "offence_summary", "pnc_id,last_known_address" },
    { "met-police", "nhs-acute", "da_perpetrator", NULL, SG, PTS, NULL, "high", "perpetrator", 0, NULL, false, "default-deny", NULL, NULL },
    { "probation@police", "met-police", "da_perpetrator", NULL, "risk_management", "law_enforcement", NULL, "high", "perpetrator", 0, NULL, false, "agency-sector-mismatch", NULL, NULL },
    /* children */
    { "met-police", "childrens-sc", "child_in_household", NULL, SG, LOC, NULL, "high", "child", 0, NULL, true, "child-to-childrens-social-care", "school_name,present_at_incident,child_protection_status", NULL },
    { "school-wcc-secondary", "childrens-sc", "child_in_household", NULL, SG, PTS, NULL, "medium", "child", 0, NULL, true, "child-to-childrens-social-care", "name", NULL },
    { "housing-assoc", "childrens-sc", "child_in_household", NULL, SG, LOC, NULL, NULL, "child", 0, NULL, true, "child-to-childrens-social-care", "name", NULL },
    { "childrens-sc", "gp-federation", "child_in_household", NULL, SG, PTS, NULL, "high", "child", 0, NULL, true, "child-to-gp", "child_protection_status", "school_name" },
    { "met-police", "nhs-acute", "child_in_household", NULL, SG, PTS, NULL, "high", "child", 0, NULL, false, "default-deny", NULL, NULL },
    { "met-police", "school-hf-primary", "child_in_household", NULL, SG, PTS, NULL, "high", "child", 0, NULL, false, "default-deny", NULL, NULL },
    /* Operation Encompass */
    { "met-police", "school-hf-primary", "education_notification", NULL, "education_safeguarding", PTS, NULL, "standard", "child", 0, NULL, true, "operation-encompass", "child_name,child_date_of_birth,incident_date,incident_time,child_present", "police_reference,incident_summary" },
    { "met-police", "school-wcc-secondary", "education_notification", NULL, "education_safeguarding", PTS, NULL, "high", "child", 0, NULL, true, "operation-encompass", "child_present", "incident_summary" },
    { "met-police", "school-rbkc-new@education", "education_notification", NULL, "education_safeguarding", PTS, NULL, "high", "child", 0, NULL, true, "operation-encompass", "child_name", "police_reference" },
    { "childrens-sc", "school-hf-primary", "education_notification", NULL, "education_safeguarding", PTS, NULL, "high", "child", 0, NULL, false, "default-deny", NULL, NULL },
    { "met-police", "childrens-sc", "education_notification", NULL, "education_safeguarding", PTS, NULL, "high", "child", 0, NULL, true, "encompass-copy-to-childrens-social-care", "incident_summary,police_reference", NULL },
    { "met-police", "school-hf-primary", "education_notification", NULL, SG, PTS, NULL, "high", "child", 0, NULL, false, "default-deny", NULL, NULL },
    /* address warnings */
    { "met-police", "housing-hf", "address_warning", NULL, "staff_safety", PTS, NULL, NULL, "address", 0, NULL, true, "address-warning-to-visiting-services", "address,safe_visiting_advice", NULL },
    { "housing-hf", "nhs-mental-health", "address_warning", NULL, "staff_safety", "law_enforcement", NULL, NULL, "address", 0, NULL, true, "address-warning-to-visiting-services", "uprn", NULL },
    { "housing-hf", "idva", "address_warning", NULL, "staff_safety", PTS, NULL, NULL, "address", 0, NULL, false, "default-deny", NULL, NULL },
    { "childrens-sc", "housing-hf", "address_warning", NULL, "staff_safety", PTS, NULL, NULL, "address", 0, NULL, false, "default-deny", NULL, NULL },
    /* harmful practices: restricted, first matching rule decides */
    { "nhs-acute", "gp-federation", "harmful_practice", "fgm", SG, PTS, NULL, "medium", "child", R, "gp-federation", true, "fgm-family-history-within-health", "practice_risk_summary", "current_address,travel_risk" },
    { "nhs-acute", "gp-federation", "harmful_practice", "fgm", SG, PTS, NULL, "medium", "child", 0, NULL, false, "harmful-practice-only-restricted", NULL, NULL },
    { "nhs-acute", "gp-federation", "harmful_practice", "fgm", SG, PTS, NULL, "medium", "child", R, "childrens-sc", false, "restricted-not-named", NULL, NULL },
    { "nhs-mental-health", "gp-federation", "harmful_practice", "fgm", SG, PTS, NULL, "medium", "child", R, "gp-federation", true, "harmful-practice-to-safeguarding-leads", "travel_risk,current_address", NULL },
    { "met-police", "childrens-sc", "harmful_practice", "forced_marriage", SG, LOC, "not_sought_unsafe", "high", "victim", R, "childrens-sc,idva", true, "harmful-practice-to-safeguarding-leads", "family_involvement_warning", NULL },
    { "met-police", "specialist-bfs", "harmful_practice", "hba", SG, PTS, "not_sought_unsafe", "high", "victim", R | HP, "specialist-bfs", true, "harmful-practice-to-safeguarding-leads", "name,protection_orders", "current_address" },
    { "met-police", "school-wcc-secondary", "harmful_practice", "forced_marriage", SG, PTS, NULL, "medium", "child", R, "school-wcc-secondary", true, "harmful-practice-to-school", "travel_risk", "current_address,protection_orders" },
    { "met-police", "school-wcc-secondary", "harmful_practice", "dowry", SG, PTS, NULL, "high", "child", R, "school-wcc-secondary", false, "default-deny", NULL, NULL },
    { "met-police", "school-wcc-secondary", "harmful_practice", "forced_marriage", SG, PTS, NULL, "standard", "child", R, "school-wcc-secondary", false, "default-deny", NULL, NULL },
    { "met-police", "housing-hf", "harmful_practice", "hba", SG, PTS, NULL, "high", "victim", R, "housing-hf", false, "default-deny", NULL, NULL },
    { "met-police", "childrens-sc", "harmful_practice", "caste", SG, PTS, "refused", "high", "victim", R, "childrens-sc", false, "consent-refused-is-final", NULL, NULL },
    /* MARAC */
    { "idva", "marac", "marac_case", NULL, "marac", PTS, "refused_overridden", "high", "victim", 0, NULL, true, "marac-referral", "subject_name,referring_agency", "case_reference" },
    { "housing-hf", "marac", "marac_case", NULL, "marac", PTS, NULL, "medium", "victim", 0, NULL, false, "default-deny", NULL, NULL },
    { "marac", "met-police", "marac_case", NULL, "marac", PTS, NULL, "high", "perpetrator", 0, NULL, true, "marac-case-to-members", "actions_for_recipient,case_reference", "referring_agency" },
    { "marac", "school-hf-primary", "marac_case", NULL, "marac", PTS, NULL, "high", "child", R, "met-police,school-hf-primary", true, "marac-case-to-members", "actions_for_recipient", NULL },
    { "marac", "housing-rbkc", "marac_case", NULL, "marac", PTS, NULL, "high", "victim", R, "met-police,idva", false, "restricted-not-named", NULL, NULL },
    { "marac", "nhs-acute", "marac_research", NULL, "marac", PTS, NULL, NULL, "victim", 0, NULL, true, "marac-research-request", "research_questions,subject_address", "agency_summary" },
    { "gp-federation", "marac", "marac_research", NULL, "marac", PTS, NULL, NULL, "victim", 0, NULL, true, "marac-research-answer", "agency_summary,record_found", "subject_name,subject_address" },
    { "marac", "met-police", "marac_research", NULL, SG, PTS, NULL, NULL, "victim", 0, NULL, false, "default-deny", NULL, NULL },
    { "met-police", "idva", "marac_research", NULL, "marac", PTS, NULL, NULL, "victim", 0, NULL, false, "default-deny", NULL, NULL },
    /* break-glass */
    { "met-police", "nhs-acute", "da_victim", NULL, "emergency", "vital_interests", "not_possible", "high", "victim", BG, NULL, true, "break-glass-to-health", "current_address,immigration_status,support_needs", NULL },
    { "met-police", "nhs-acute", "da_victim", NULL, "emergency", "vital_interests", "not_possible", "high", "victim", 0, NULL, false, "default-deny", NULL, NULL },
    { "met-police", "nhs-acute", "da_victim", NULL, SG, PTS, "not_sought_unsafe", "high", "victim", BG, NULL, false, "default-deny", NULL, NULL },
    { "idva", "met-police", "da_victim", NULL, "emergency", "vital_interests", "not_possible", "high", "victim", BG, NULL, true, "break-glass-to-police", "current_address", "immigration_status" },
    { "nhs-acute", "met-police", "da_victim", NULL, "emergency", "vital_interests", "refused", "high", "victim", BG, NULL, false, "consent-refused-is-final", NULL, NULL },
    { "nhs-acute", "met-police", "child_in_household", NULL, "emergency", "vital_interests", NULL, "high", "child", BG, NULL, true, "break-glass-to-police", "school_name", NULL },
    { "met-police", "housing-hf", "da_victim", NULL, "emergency", "vital_interests", "not_possible", "high", "victim", BG, NULL, false, "default-deny", NULL, NULL },
    { "nhs-acute", "gp-federation", "da_victim", NULL, SG, PTS, "not_possible", "high", "victim", BG | HP, NULL, false, "default-deny", NULL, NULL },
    /* parties by sector, unknown parties and names */
    { "other-trust@health", "housing-hf", "da_victim", NULL, SG, "consent", "given", "standard", "victim", 0, NULL, true, "victim-to-housing-with-consent", "name", NULL },
    { "other-force@police", "probation", "da_perpetrator", NULL, "risk_management", "law_enforcement", NULL, "high", "perpetrator", 0, NULL, false, "default-deny", NULL, NULL },
    { "met-police", "sector:housing", "da_victim", NULL, SG, PTS, "not_sought_unsafe", "high", "victim", 0, NULL, true, "high-risk-victim-to-housing-no-consent", "name", NULL },
    { "met-police", "sector:housing", "da_victim", NULL, SG, PTS, "not_sought_unsafe", "high", "victim", R, "housing-hf", false, "restricted-not-named", NULL, NULL },
    { "met-police@health", "housing-hf", "da_victim", NULL, SG, PTS, "not_sought_unsafe", "high", "victim", 0, NULL, false, "agency-sector-mismatch", NULL, NULL },
    { "met-police", "idva", "da_vctim", NULL, SG, PTS, "refused_overridden", "high", "victim", 0, NULL, false, "default-deny", NULL, NULL },
    { "met-police", "idva", "da_victim", NULL, SG, PTS, "overridden", "high", "victim", 0, NULL, false, "default-deny", NULL, NULL },
    { "met-police", "idva@broker", "da_victim", NULL, SG, PTS, "given", "high", "victim", 0, NULL, false, "agency-sector-mismatch", NULL, NULL },
    { "met-police", "new-agency@broker", "da_victim", NULL, SG, PTS, "given", "high", "victim", 0, NULL, false, "default-deny", NULL, NULL },
    { "met-police", "idva", "da_victim", NULL, SG, PTS, "refused_overridden", "severe", "victim", 0, NULL, false, "default-deny", NULL, NULL },
};

static policy *example(void)
{
    static policy *p;
    if (p == NULL) {
        fp_error err = { 0 };
        if (policy_load(&p, EXAMPLE, NULL, &err) != FP_OK)
            printf("# cannot load %s: %s\n", EXAMPLE, err.message);
    }
    return p;
}

/* "id", "id@sector" or "sector:NAME" into a party; buf holds the copy. */
static void party(const policy *p, const char *spec, char *buf, size_t bufsz,
                  policy_party *out)
{
    snprintf(buf, bufsz, "%s", spec);
    char *at = strchr(buf, '@');
    if (strncmp(buf, "sector:", 7) == 0) {
        out->agency_id = NULL;
        out->sector = buf + 7;
    } else if (at != NULL) {
        *at = '\0';
        out->agency_id = buf;
        out->sector = at + 1;
    } else {
        out->agency_id = buf;
        out->sector = policy_agency_sector(p, buf);
    }
}

/* Every field in list (comma separated) is (want=true) or is not in mask. */
static bool fields_are(const policy *p, const char *cat, uint64_t mask, const char *list,
                       bool want)
{
    if (list == NULL)
        return true;
    char buf[512];
    snprintf(buf, sizeof buf, "%s", list);
    bool ok = true;
    for (char *save = NULL, *f = strtok_r(buf, ",", &save); f; f = strtok_r(NULL, ",", &save)) {
        int i = policy_field_index(p, cat, f);
        if (i < 0 || (((mask >> i) & 1u) != 0) != want) {
            printf("#     field %s %s\n", f, i < 0 ? "unknown" : want ? "missing" : "present");
            ok = false;
        }
    }
    return ok;
}

/* The first case with this rule, sender and recipient. */
static const dcase *find_case(const char *rule, const char *from, const char *to)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (strcmp(cases[i].rule, rule) == 0 && strcmp(cases[i].from, from) == 0 &&
            strcmp(cases[i].to, to) == 0)
            return &cases[i];
    printf("#   no case %s %s -> %s\n", rule, from, to);
    abort();
}

static void decide_case(const policy *p, const dcase *c, policy_decision *d)
{
    char fbuf[64], tbuf[64], nbuf[256];
    const char *named[8];
    policy_request r = { .category = c->cat, .subcategory = c->sub, .purpose = c->purpose,
                         .lawful_basis = c->basis, .consent = c->consent, .risk = c->risk,
                         .subject_role = c->role, .restricted = c->flags & R,
                         .break_glass = c->flags & BG,
                         .recipient_holds_perpetrator = c->flags & HP };
    party(p, c->from, fbuf, sizeof fbuf, &r.from);
    party(p, c->to, tbuf, sizeof tbuf, &r.to);
    if (c->named != NULL) {
        snprintf(nbuf, sizeof nbuf, "%s", c->named);
        for (char *s = NULL, *t = strtok_r(nbuf, ",", &s); t && r.named_count < 8;
             t = strtok_r(NULL, ",", &s))
            named[r.named_count++] = t;
        r.named_agencies = named;
    }
    policy_decide(p, &r, d);
}

static void test_decision_table(void)
{
    const policy *p = example();
    CHECK(p != NULL);
    if (p == NULL)
        return;
    size_t n = sizeof cases / sizeof cases[0];
    CHECK(n >= 60);
    for (size_t i = 0; i < n; i++) {
        const dcase *c = &cases[i];
        policy_decision d;
        decide_case(p, c, &d);
        bool ok = d.allowed == c->allowed && d.rule_id != NULL &&
                  strcmp(d.rule_id, c->rule) == 0 &&
                  fields_are(p, c->cat, d.fields, c->has, true) &&
                  fields_are(p, c->cat, d.fields, c->hasnt, false) &&
                  (d.allowed || d.fields == 0) && d.break_glass == (d.allowed && (c->flags & BG));
        if (!ok)
            printf("#   case %zu (%s -> %s, %s): got %s by %s, expected %s by %s\n", i,
                   c->from, c->to, c->cat, d.allowed ? "ALLOW" : "DENY", d.rule_id,
                   c->allowed ? "ALLOW" : "DENY", c->rule);
        CHECK(ok);
    }
}

/* The withheld fields are named, with the rule that withheld them. */
static void test_withheld_reported(void)
{
    const policy *p = example();
    CHECK(p != NULL);
    if (p == NULL)
        return;
    policy_decision d;
    const dcase *c = find_case("idva-victim-to-police", "idva", "met-police");
    CHECK_EQ_STR(c->consent, "given");
    decide_case(p, c, &d);
    CHECK(d.allowed);
    CHECK(d.withheld_by == NULL);
    CHECK_EQ_INT(d.withheld, 0);
    c++;                              /* the same request, consent overridden */
    CHECK_EQ_STR(c->consent, "refused_overridden");
    decide_case(p, c, &d);
    CHECK(d.allowed);
    CHECK_EQ_STR(d.withheld_by, "immigration-status-needs-consent");
    CHECK_EQ_INT(d.withheld, 1ULL << policy_field_index(p, "da_victim", "immigration_status"));
    CHECK_EQ_INT(d.withheld & d.fields, 0);
}

static void test_rule_settings(void)
{
    const policy *p = example();
    CHECK(p != NULL);
    if (p == NULL)
        return;
    policy_decision d;
    decide_case(p, find_case("high-risk-victim-to-housing-no-consent", "met-police", "housing-hf"),
                &d);
    CHECK_EQ_INT(d.ack_within_s, 24 * 3600);
    CHECK(d.notify_on_view);
    CHECK_EQ_INT(d.retention_days, 365);
    CHECK(!d.break_glass);
    decide_case(p, find_case("operation-encompass", "met-police", "school-hf-primary"), &d);
    CHECK_EQ_STR(d.rule_id, "operation-encompass");
    CHECK_EQ_INT(d.ack_within_s, 12 * 3600);
    CHECK_EQ_INT(__builtin_popcountll(d.fields), 5);
    decide_case(p, find_case("break-glass-to-health", "met-police", "nhs-acute"), &d);
    CHECK(d.break_glass);
    CHECK_EQ_INT(d.ack_within_s, 3600);
    CHECK_EQ_INT(d.retention_days, 30);
    CHECK_EQ_INT(d.fields, (1ULL << policy_field_count(p, "da_victim")) - 1);
}

static void test_null_and_empty_requests(void)
{
    const policy *p = example();
    CHECK(p != NULL);
    policy_request r = { 0 };
    policy_decision d;
    policy_decide(p, &r, &d);
    CHECK(!d.allowed);
    CHECK_EQ_STR(d.rule_id, "default-deny");
    CHECK(d.reason != NULL);
    r.restricted = true;
    policy_decide(p, &r, &d);
    CHECK_EQ_STR(d.rule_id, "restricted-not-named");
    policy_decide(NULL, &r, &d);
    CHECK_EQ_STR(d.rule_id, "default-deny");
}

int main(void)
{
    RUN(test_decision_table);
    RUN(test_withheld_reported);
    RUN(test_rule_settings);
    RUN(test_null_and_empty_requests);
    policy_free(example());
    return check_summary();
}
