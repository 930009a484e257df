/*
 * flag_json: the flag as an agency's case system writes it, in JSON, and
 * its structural validation.
 *
 *   {
 *     "category": "da_victim",            required
 *     "subcategory": "forced_marriage",   when the category has types
 *     "purpose": "safeguarding",          required
 *     "lawful_basis": "...",              required
 *     "consent": "given" | "refused_overridden" | "not_sought_unsafe" | "not_possible",
 *     "consent_reason": "...",            required unless consent is "given"
 *     "risk": "standard" | "medium" | "high"   (default "standard")
 *     "subject": {"role": "victim", "nhs": "...", "name": "...", "dob": "...",
 *                 "postcode": "...", "uprn": "..."},
 *     "linked_perpetrator": {"nhs": "...", ...}   optional: lets the broker
 *                                         keep a survivor's address from
 *                                         agencies that hold him as a client
 *     "recipients": ["housing-hf", ...],  optional: default is everyone the
 *                                         policy allows
 *     "fields": {"safe_contact": "...", ...},
 *     "restricted": false, "named_agencies": [...],
 *     "review_date": "YYYY-MM-DD", "expires": "YYYY-MM-DD",
 *     "break_glass": false, "justification": "...",
 *     "action": "publish" | "update" | "withdraw", "flag_id": "<hex>",
 *     "reason": "..."                     withdraw only
 *   }
 *
 * This module checks shape, types, sizes and required keys, and names the
 * offending key in every error ("subject.role: ...", "fields.address: ...").
 * Whether a name is one the agreement knows (category, purpose, field) is
 * the policy's question, asked by the publisher.  Nothing here touches
 * storage, so a rejected flag leaves no trace.
 */
#ifndef FLAGPOST_FLAG_JSON_H
#define FLAGPOST_FLAG_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fp_error.h"
#include "fp_limits.h"
#include "pseudonym.h"

#define FLAG_MAX_JSON_BYTES (512 * 1024)
#define FLAG_MAX_RECIPIENTS 64
#define FLAG_MAX_FIELDS 64
#define FLAG_MAX_FIELD_BYTES 16384
#define FLAG_MAX_TEXT 256          /* names, codes, reasons */

/* What an agent may build, the broker must accept (fp_limits.h); the
 * publisher may address twice FLAG_MAX_RECIPIENTS (explicit and default
 * recipients), each a part. */
_Static_assert(2 * FLAG_MAX_RECIPIENTS <= FP_MAX_RECIPIENTS, "broker recipient limit");
_Static_assert(FLAG_MAX_FIELDS <= FP_MAX_FIELDS, "broker field limit");
_Static_assert(FLAG_MAX_TEXT <= FP_MAX_TEXT, "broker text limit");
_Static_assert(FLAG_MAX_FIELD_BYTES <= FP_MAX_FIELD_BYTES, "field value limit");
_Static_assert(PSEUDONYM_MAX <= FP_MAX_PSEUDONYMS, "broker pseudonym limit");

enum flag_action { FLAG_ACTION_PUBLISH = 0, FLAG_ACTION_UPDATE = 1, FLAG_ACTION_WITHDRAW = 2 };

typedef struct flag_field {
    const char *name;
    const char *value;
} flag_field;

typedef struct flag_request {
    json_t *root;                   /* owns every string below */
    int action;
    const char *flag_id_hex;        /* update and withdraw */
    const char *withdraw_reason;
    const char *category;
    const char *subcategory;
    const char *purpose;
    const char *lawful_basis;
    const char *consent;
    const char *consent_reason;
    const char *risk;
    const char *role;
    subject_identifiers subject;
    bool has_linked_perpetrator;
    subject_identifiers linked_perpetrator;
    bool recipients_given;
    const char *recipients[FLAG_MAX_RECIPIENTS];
    size_t recipient_count;
    flag_field fields[FLAG_MAX_FIELDS];
    size_t field_count;
    bool restricted;
    const char *named[FLAG_MAX_RECIPIENTS];
    size_t named_count;
    int64_t review_at;              /* unix seconds, 0 if none */
    int64_t expires_at;
    bool break_glass;
    const char *justification;
} flag_request;

int flag_json_parse(const char *text, size_t len, flag_request *out, fp_error *err);
/* Same, from an already-parsed object (takes a new reference). */
int flag_json_from_object(json_t *obj, flag_request *out, fp_error *err);
void flag_request_free(flag_request *r);

/* Parse "YYYY-MM-DD" (or a full ISO-8601 UTC time) into unix seconds;
 * FP_ERR_INPUT outside 1970-01-01 .. 9999-12-31 (timefmt_in_range_s). */
int flag_json_parse_date(const char *s, int64_t *out);

#endif
