/*
 * decide: per-recipient policy decisions at the broker.  See decide.h.
 */
#include "decide.h"

#include <sodium.h>
#include <string.h>

#include "envelope.h"
#include "sha256.h"
#include "timefmt.h"

static bool pseudonyms_sound(Flagpost__Pseudonym **ps, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (ps[i]->value.len != 32 || ps[i]->kind < FLAGPOST__PSEUDONYM_KIND__PSEUDONYM_NHS ||
            ps[i]->kind > FLAGPOST__PSEUDONYM_KIND__PSEUDONYM_UPRN)
            return false;
    return true;
}

/* ---------------------------------------------------------------- limits */

const char *decide_unpack_parts(const Flagpost__Publish *pub, decide_parts *out, fp_error *why)
{
    out->n = 0;
    if (pub->n_parts > DECIDE_MAX_RECIPIENTS)
        return flag_count_over(why, FLAG_TOO_MANY_RECIPIENTS, "recipients", pub->n_parts,
                               DECIDE_MAX_RECIPIENTS);
    for (; out->n < pub->n_parts; out->n++) {
        const ProtobufCBinaryData *bytes = &pub->parts[out->n];
        out->part[out->n] = flagpost__recipient_part__unpack(NULL, bytes->len, bytes->data);
    }
    return NULL;
}

void decide_parts_release(decide_parts *parts)
{
    for (size_t i = 0; i < parts->n; i++)
        if (parts->part[i] != NULL)
            flagpost__recipient_part__free_unpacked(parts->part[i], NULL);
    parts->n = 0;
}

const char *decide_check_limits(const Flagpost__FlagBody *body, const decide_parts *parts,
                                fp_error *why)
{
    const char *r = flag_body_unfit(body, why);
    for (size_t i = 0; r == NULL && i < parts->n; i++)
        if (parts->part[i] != NULL)   /* else refused per recipient as malformed-part */
            r = flag_part_unfit(parts->part[i], why);
    return r;
}

/* ---------------------------------------------------------------- shape */

/* The dates are unix seconds the broker later turns into milliseconds
 * (lifecycle's expiry): beyond year 9999 that would overflow. */
static bool dates_sound(const Flagpost__FlagBody *body)
{
    return timefmt_in_range_s(body->review_at) && timefmt_in_range_s(body->expires_at);
}

const char *decide_flag_shape(const Flagpost__FlagBody *body, const Flagpost__Publish *pub)
{
    if (body->flag_id.len != 16 || body->version == 0)
        return "malformed-flag-id";
    if (body->category[0] == '\0' || body->purpose[0] == '\0' || body->lawful_basis[0] == '\0')
        return "malformed-flag-metadata";
    /* SPEC 6: a break-glass disclosure needs a free-text justification (the
     * sending agent asks for at least 10 characters, agents/flag_json.c);
     * checked here too, since a compromised agent need not ask. */
    if (body->break_glass && strlen(body->justification) < 10)
        return "break-glass-without-justification";
    if (body->n_subject == 0 || !pseudonyms_sound(body->subject, body->n_subject) ||
        !pseudonyms_sound(body->linked_perpetrator, body->n_linked_perpetrator))
        return "malformed-subject";
    if (!dates_sound(body))
        return "malformed-flag-dates";
    if (body->n_part_digests != pub->n_parts || pub->n_parts > DECIDE_MAX_RECIPIENTS)
        return "parts-do-not-match-digests";
    for (size_t i = 0; i < pub->n_parts; i++) {
        unsigned char d[32];
        sha256_digest(d, pub->parts[i].data, pub->parts[i].len);
        if (body->part_digests[i].len != 32 ||
            sodium_memcmp(d, body->part_digests[i].data, 32) != 0)
            return "part-digest-mismatch";
    }
    return NULL;
}

static bool holds_perpetrator(broker *b, MDB_txn *txn, const char *agency,
                              const Flagpost__FlagBody *body)
{
    for (size_t i = 0; i < body->n_linked_perpetrator; i++)
        if (broker_store_client_has(b->store, txn, agency, body->linked_perpetrator[i]))
            return true;
    return false;
}

static void request_for(const cert_info *from, const cert_info *to, const Flagpost__FlagBody *body,
                        policy_request *pr)
{
    memset(pr, 0, sizeof *pr);
    pr->from.agency_id = from->agency_id;
    pr->from.sector = from->sector;
    pr->to.agency_id = to->agency_id;
    pr->to.sector = to->sector;
    pr->category = body->category;
    pr->subcategory = body->subcategory[0] ? body->subcategory : NULL;
    pr->purpose = body->purpose;
    pr->lawful_basis = body->lawful_basis;
    pr->consent = body->consent;
    pr->risk = body->risk;
    pr->subject_role = body->subject_role;
    pr->restricted = body->restricted;
    pr->named_agencies = (const char *const *)body->named_agencies;
    pr->named_count = body->n_named_agencies;
    pr->break_glass = body->break_glass;
}

static bool fields_granted(broker *b, const char *category, const Flagpost__RecipientPart *part,
                           uint64_t granted)
{
    for (size_t i = 0; i < part->n_fields; i++) {
        int bit = policy_field_index(b->policy, category, part->fields[i]);
        if (bit < 0 || !(granted & ((uint64_t)1 << bit)))
            return false;
        for (size_t j = 0; j < i; j++)
            if (strcmp(part->fields[i], part->fields[j]) == 0)
                return false;
    }
    return true;
}

static void refuse(recipient_verdict *v, const char *reason)
{
    v->allowed = false;
    v->reason = reason;
    if (v->rule_id == NULL)
        v->rule_id = "";
}

static bool seen_recipient(const recipient_verdict *v, size_t n, const char *agency)
{
    for (size_t i = 0; i < n; i++)
        if (v[i].part != NULL && strcmp(v[i].part->recipient, agency) == 0)
            return true;
    return false;
}

static void decide_one(broker *b, MDB_txn *txn, const cert_info *sender,
                       const Flagpost__FlagBody *body, recipient_verdict *all, size_t i)
{
    recipient_verdict *v = &all[i];
    int64_t now_s = envelope_now_ms() / 1000;
    if (v->part == NULL) {
        refuse(v, "malformed-part");
        return;
    }
    if (seen_recipient(all, i, v->part->recipient)) {
        /* The part is kept so the answer and the refusal's audit entry
         * name the agency; being refused, it is never queued. */
        refuse(v, "duplicate-recipient");
        return;
    }
    const cert_info *to = trust_store_by_agency(b->trust, v->part->recipient, now_s, NULL);
    if (to == NULL || strcmp(to->sector, "broker") == 0) {
        refuse(v, "recipient-has-no-valid-certificate");
        return;
    }
    if (strcmp(to->agency_id, sender->agency_id) == 0) {
        refuse(v, "recipient-is-sender");
        return;
    }
    policy_request pr;
    request_for(sender, to, body, &pr);
    pr.recipient_holds_perpetrator = holds_perpetrator(b, txn, to->agency_id, body);
    policy_decide(b->policy, &pr, &v->decision);
    v->rule_id = v->decision.rule_id;
    if (!v->decision.allowed) {
        refuse(v, v->decision.reason);
        return;
    }
    if (!fields_granted(b, body->category, v->part, v->decision.fields)) {
        /* A sealed part cannot be trimmed here, so a part carrying a field
         * a deny rule withholds (which the sender could not know, e.g. the
         * recipient holds the perpetrator) is refused whole, under that
         * rule's name so the sender can resend without it. */
        if (fields_granted(b, body->category, v->part,
                           v->decision.fields | v->decision.withheld) && v->decision.withheld_by) {
            v->rule_id = v->decision.withheld_by;
            refuse(v, "carries-withheld-field");
        } else {
            refuse(v, "declared-field-not-allowed");
        }
        return;
    }
    v->allowed = true;
    v->reason = "";
}

void decide_recipients(broker *b, MDB_txn *txn, const cert_info *sender,
                       const Flagpost__FlagBody *body, const Flagpost__Publish *pub,
                       const decide_parts *parts, recipient_verdict *out)
{
    for (size_t i = 0; i < parts->n; i++) {
        recipient_verdict *v = &out[i];
        memset(v, 0, sizeof *v);
        v->bytes = &pub->parts[i];
        /* decide_flag_shape has compared this part's hash with its digest */
        memcpy(v->digest, body->part_digests[i].data, sizeof v->digest);
        v->part = parts->part[i];
        decide_one(b, txn, sender, body, out, i);
    }
}
