/*
 * publisher: flag_request -> committed OutboxRecord.  See publisher.h.
 *
 * The record is built in three stages that mirror what the broker will
 * check: the metadata (FlagBody) everyone may see, one sealed part per
 * allowed recipient, and the digest of each part inside the body so a
 * single signature will cover them all.  Builder memory is freed as soon as
 * the record is committed; the caller gets the record back as stored.
 */
#include "publisher.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cert.h"
#include "envelope.h"
#include "fp_limits.h"
#include "marac.h"
#include "outbox.h"
#include "sha256.h"

/* One recipient's decision and, if allowed, its sealed part. */
typedef struct recipient_plan {
    const char *agency_id;
    const char *sector;
    policy_decision decision;
    uint8_t *part;                  /* packed RecipientPart, malloc'd */
    size_t part_len;
    unsigned char digest[32];
} recipient_plan;

typedef struct build {
    unsigned char message_id[16];
    unsigned char flag_id[16];
    uint32_t version;
    Flagpost__Lifecycle lifecycle;
    pseudonym subject[PSEUDONYM_MAX];
    size_t subject_count;
    pseudonym linked[PSEUDONYM_MAX];
    size_t linked_count;
    recipient_plan plans[FLAG_MAX_RECIPIENTS * 2];
    size_t plan_count;
} build;

static void build_release(build *b)
{
    for (size_t i = 0; i < b->plan_count; i++)
        free(b->plans[i].part);
    sodium_memzero(b, sizeof *b);
}

static void fill_policy_request(const agent *a, const flag_request *req, const char *to,
                                const char *to_sector, policy_request *pr)
{
    memset(pr, 0, sizeof *pr);
    pr->from.agency_id = a->id.cert.agency_id;
    pr->from.sector = a->id.cert.sector;
    pr->to.agency_id = to;
    pr->to.sector = to_sector;
    pr->category = req->category;
    pr->subcategory = req->subcategory;
    pr->purpose = req->purpose;
    pr->lawful_basis = req->lawful_basis;
    pr->consent = req->consent;
    pr->risk = req->risk;
    pr->subject_role = req->role;
    pr->restricted = req->restricted;
    pr->named_agencies = req->named;
    pr->named_count = req->named_count;
    pr->break_glass = req->break_glass;
}

/* Names the agreement must know, and fields the category must carry. */
static int validate_names(agent *a, const flag_request *req, fp_error *err)
{
    policy_request pr;
    fill_policy_request(a, req, a->id.cert.agency_id, a->id.cert.sector, &pr);
    int rc = policy_validate_request(a->policy, &pr, err);
    if (rc != FP_OK)
        return rc;
    for (size_t i = 0; i < req->field_count; i++)
        if (policy_field_index(a->policy, req->category, req->fields[i].name) < 0)
            return fp_error_set(err, FP_ERR_INPUT,
                                "fields.%s: the category '%s' has no field '%s' in the "
                                "agreement", req->fields[i].name, req->category,
                                req->fields[i].name);
    int64_t now = envelope_now_ms() / 1000;
    for (size_t i = 0; i < req->named_count; i++)
        if (agent_sector_of(a, req->named[i], now) == NULL)
            return fp_error_set(err, FP_ERR_INPUT,
                                "named_agencies[%zu]: no valid certificate for agency '%s'",
                                i, req->named[i]);
    return FP_OK;
}

static bool plan_has(const build *b, const char *agency_id)
{
    for (size_t i = 0; i < b->plan_count; i++)
        if (strcmp(b->plans[i].agency_id, agency_id) == 0)
            return true;
    return false;
}

static int add_plan(agent *a, const flag_request *req, build *b, const char *agency_id,
                    const char *sector)
{
    if (plan_has(b, agency_id) || b->plan_count == sizeof b->plans / sizeof b->plans[0])
        return FP_OK;
    recipient_plan *p = &b->plans[b->plan_count++];
    p->agency_id = agency_id;
    p->sector = sector;
    policy_request pr;
    fill_policy_request(a, req, agency_id, sector, &pr);
    policy_decide(a->policy, &pr, &p->decision);
    return FP_OK;
}

/* Explicit recipients must exist; otherwise everyone the trust bundle holds
 * (but ourselves and the broker) is a candidate. */
static int plan_recipients(agent *a, const flag_request *req, build *b, fp_error *err)
{
    int64_t now = envelope_now_ms() / 1000;
    if (req->recipients_given) {
        for (size_t i = 0; i < req->recipient_count; i++) {
            const char *id = req->recipients[i];
            const char *sector = agent_sector_of(a, id, now);
            if (sector == NULL || strcmp(sector, "broker") == 0)
                return fp_error_set(err, FP_ERR_INPUT,
                                    "recipients[%zu]: no valid certificate for agency '%s'",
                                    i, id);
            if (strcmp(id, a->id.cert.agency_id) == 0)
                return fp_error_set(err, FP_ERR_INPUT,
                                    "recipients[%zu]: an agency cannot send to itself", i);
            add_plan(a, req, b, id, sector);
        }
        return FP_OK;
    }
    for (size_t i = 0; i < trust_store_count(a->trust); i++) {
        const cert_info *c = trust_store_at(a->trust, i);
        if (strcmp(c->sector, "broker") == 0 || strcmp(c->agency_id, a->id.cert.agency_id) == 0)
            continue;
        if (trust_store_check(a->trust, c, now, NULL) != FP_OK)
            continue;
        add_plan(a, req, b, c->agency_id, c->sector);
    }
    return FP_OK;
}

/* Seal the allowed fields for one recipient and pack its part. */
static int seal_part(agent *a, const flag_request *req, build *b, recipient_plan *p,
                     fp_error *err)
{
    const cert_info *to = trust_store_by_agency(a->trust, p->agency_id,
                                                envelope_now_ms() / 1000, err);
    if (to == NULL)
        return fp_error_wrap(err, "recipient %s", p->agency_id);
    Flagpost__FieldValue values[FLAG_MAX_FIELDS];
    Flagpost__FieldValue *value_ptrs[FLAG_MAX_FIELDS];
    char *names[FLAG_MAX_FIELDS];
    size_t n = 0;
    for (size_t i = 0; i < req->field_count; i++) {
        int bit = policy_field_index(a->policy, req->category, req->fields[i].name);
        if (bit < 0 || !(p->decision.fields & ((uint64_t)1 << bit)))
            continue;   /* not granted to this recipient: it never leaves here */
        flagpost__field_value__init(&values[n]);
        values[n].name = (char *)(uintptr_t)req->fields[i].name;
        values[n].value = (char *)(uintptr_t)req->fields[i].value;
        value_ptrs[n] = &values[n];
        names[n] = values[n].name;
        n++;
    }
    Flagpost__Payload payload = FLAGPOST__PAYLOAD__INIT;
    payload.message_id.data = b->message_id;
    payload.message_id.len = 16;
    payload.recipient = (char *)(uintptr_t)p->agency_id;
    payload.fields = value_ptrs;
    payload.n_fields = n;

    Flagpost__RecipientPart part = FLAGPOST__RECIPIENT_PART__INIT;
    part.recipient = payload.recipient;
    part.fields = names;
    part.n_fields = n;
    part.recipient_serial = to->serial;
    int rc = payload_seal(a->boxes, to->box_public, &payload, &part, err);
    if (rc != FP_OK)
        return rc;
    p->part_len = flagpost__recipient_part__get_packed_size(&part);
    p->part = malloc(p->part_len);
    if (p->part == NULL) {
        payload_part_release(&part);
        return fp_error_set(err, FP_ERR_IO, "out of memory");
    }
    flagpost__recipient_part__pack(&part, p->part);
    payload_part_release(&part);
    sha256_digest(p->digest, p->part, p->part_len);
    return FP_OK;
}

/* Field names the agency supplied that a deny rule keeps from this
 * recipient (the rest of the flag still goes). */
static size_t withheld_names(agent *a, const flag_request *req, const recipient_plan *p,
                             char **names)
{
    size_t n = 0;
    for (size_t i = 0; i < req->field_count; i++) {
        int bit = policy_field_index(a->policy, req->category, req->fields[i].name);
        if (bit >= 0 && (p->decision.withheld & ((uint64_t)1 << bit)))
            names[n++] = (char *)(uintptr_t)req->fields[i].name;
    }
    return n;
}

static Flagpost__Decision *decision_of(agent *a, const flag_request *req,
                                       const recipient_plan *p, Flagpost__Decision *d,
                                       char **withheld)
{
    flagpost__decision__init(d);
    d->n_withheld = p->decision.allowed ? withheld_names(a, req, p, withheld) : 0;
    d->withheld = withheld;
    d->withheld_by = (char *)(uintptr_t)(d->n_withheld ? p->decision.withheld_by : "");
    d->recipient = (char *)(uintptr_t)p->agency_id;
    d->allowed = p->decision.allowed;
    d->rule_id = (char *)(uintptr_t)p->decision.rule_id;
    d->reason = (char *)(uintptr_t)(p->decision.allowed ? "" : p->decision.reason);
    return d;
}

static void pseudonyms_out(const pseudonym *in, size_t n, Flagpost__Pseudonym *pv,
                           Flagpost__Pseudonym **ptrs)
{
    for (size_t i = 0; i < n; i++) {
        flagpost__pseudonym__init(&pv[i]);
        pv[i].kind = (Flagpost__PseudonymKind)in[i].kind;
        pv[i].value.data = (uint8_t *)(uintptr_t)in[i].value;
        pv[i].value.len = PSEUDONYM_LEN;
        ptrs[i] = &pv[i];
    }
}

/* Pack the FlagBody into *out (malloc'd). */
static int pack_body(agent *a, const flag_request *req, const build *b, uint8_t **out,
                     size_t *out_len, fp_error *err)
{
    Flagpost__FlagBody body = FLAGPOST__FLAG_BODY__INIT;
    Flagpost__Pseudonym subj[PSEUDONYM_MAX], *subj_ptrs[PSEUDONYM_MAX];
    Flagpost__Pseudonym linked[PSEUDONYM_MAX], *linked_ptrs[PSEUDONYM_MAX];
    pseudonyms_out(b->subject, b->subject_count, subj, subj_ptrs);
    pseudonyms_out(b->linked, b->linked_count, linked, linked_ptrs);
    ProtobufCBinaryData digests[FLAG_MAX_RECIPIENTS * 2];
    Flagpost__SenderRefusal refusals[FLAG_MAX_RECIPIENTS * 2];
    Flagpost__SenderRefusal *refusal_ptrs[FLAG_MAX_RECIPIENTS * 2];
    char *withheld[FLAG_MAX_RECIPIENTS * 2][FLAG_MAX_FIELDS];
    size_t nd = 0, nr = 0;
    for (size_t i = 0; i < b->plan_count; i++) {
        const recipient_plan *p = &b->plans[i];
        size_t nw = p->decision.allowed ? withheld_names(a, req, p, withheld[nr]) : 0;
        if (p->decision.allowed) {
            digests[nd].data = (uint8_t *)(uintptr_t)p->digest;
            digests[nd++].len = 32;
        }
        if (nw == 0 && (p->decision.allowed || !req->recipients_given))
            continue;
        flagpost__sender_refusal__init(&refusals[nr]);
        refusals[nr].recipient = (char *)(uintptr_t)p->agency_id;
        refusals[nr].rule_id =
            (char *)(uintptr_t)(nw ? p->decision.withheld_by : p->decision.rule_id);
        refusals[nr].reason = (char *)(uintptr_t)(nw ? "fields-withheld" : p->decision.reason);
        refusals[nr].fields = withheld[nr];
        refusals[nr].n_fields = nw;
        refusal_ptrs[nr] = &refusals[nr];
        nr++;
    }
    body.flag_id.data = (uint8_t *)(uintptr_t)b->flag_id;
    body.flag_id.len = 16;
    body.version = b->version;
    body.lifecycle = b->lifecycle;
    body.category = (char *)(uintptr_t)req->category;
    body.subcategory = (char *)(uintptr_t)(req->subcategory ? req->subcategory : "");
    body.purpose = (char *)(uintptr_t)req->purpose;
    body.lawful_basis = (char *)(uintptr_t)req->lawful_basis;
    body.consent = (char *)(uintptr_t)req->consent;
    body.consent_reason_recorded = req->consent_reason != NULL && req->consent_reason[0];
    body.risk = (char *)(uintptr_t)req->risk;
    body.subject_role = (char *)(uintptr_t)req->role;
    body.subject = subj_ptrs;
    body.n_subject = b->subject_count;
    body.linked_perpetrator = linked_ptrs;
    body.n_linked_perpetrator = b->linked_count;
    body.restricted = req->restricted;
    body.named_agencies = (char **)(uintptr_t)req->named;
    body.n_named_agencies = req->named_count;
    body.review_at = req->review_at;
    body.expires_at = req->expires_at;
    body.part_digests = digests;
    body.n_part_digests = nd;
    body.refused_at_sender = refusal_ptrs;
    body.n_refused_at_sender = nr;
    body.break_glass = req->break_glass;
    body.justification = (char *)(uintptr_t)(req->justification ? req->justification : "");
    *out_len = flagpost__flag_body__get_packed_size(&body);
    *out = malloc(*out_len ? *out_len : 1);
    if (*out == NULL)
        return fp_error_set(err, FP_ERR_IO, "out of memory");
    flagpost__flag_body__pack(&body, *out);
    return FP_OK;
}

static int stage_record(agent *a, MDB_txn *txn, const flag_request *req, const build *b,
                        const uint8_t *body, size_t body_len, fp_error *err)
{
    char *withheld[FLAG_MAX_RECIPIENTS * 2][FLAG_MAX_FIELDS];
    Flagpost__OutboxRecord rec = FLAGPOST__OUTBOX_RECORD__INIT;
    ProtobufCBinaryData parts[FLAG_MAX_RECIPIENTS * 2];
    Flagpost__Decision decisions[FLAG_MAX_RECIPIENTS * 2], *decision_ptrs[FLAG_MAX_RECIPIENTS * 2];
    size_t np = 0;
    for (size_t i = 0; i < b->plan_count; i++) {
        decision_ptrs[i] = decision_of(a, req, &b->plans[i], &decisions[i], withheld[i]);
        if (b->plans[i].decision.allowed) {
            parts[np].data = b->plans[i].part;
            parts[np++].len = b->plans[i].part_len;
        }
    }
    rec.message_id.data = (uint8_t *)(uintptr_t)b->message_id;
    rec.message_id.len = 16;
    rec.type = FLAGPOST__MESSAGE_TYPE__MESSAGE_FLAG;
    rec.body.data = (uint8_t *)(uintptr_t)body;
    rec.body.len = body_len;
    rec.parts = parts;
    rec.n_parts = np;
    rec.accepted_ms = envelope_now_ms();
    rec.state = FLAGPOST__OUTBOX_STATE__OUTBOX_PENDING;
    rec.policy_hash.data = (uint8_t *)(uintptr_t)policy_hash(a->policy);
    rec.policy_hash.len = 32;
    rec.sender_decisions = decision_ptrs;
    rec.n_sender_decisions = b->plan_count;

    int rc = agent_store_outbox_put(a->store, txn, &rec, err);
    Flagpost__PublishedFlag pf = FLAGPOST__PUBLISHED_FLAG__INIT;
    pf.version = b->version;
    pf.last_message_id = rec.message_id;
    pf.state = FLAGPOST__FLAG_STATE__FLAG_ACTIVE;
    pf.category = (char *)(uintptr_t)req->category;
    pf.published_ms = rec.accepted_ms;
    if (rc == FP_OK)
        rc = agent_store_published_put(a->store, txn, b->flag_id, &pf, err);
    if (rc == FP_OK)
        rc = marac_on_publish(a, txn, &rec, err);
    return rc;
}

/* An update names one of this agency's own active flags, of the same
 * category, and carries its next version. */
static int follow_on(agent *a, const flag_request *req, build *b, fp_error *err)
{
    if (req->action == FLAG_ACTION_PUBLISH) {
        envelope_new_id(b->flag_id);
        b->version = 1;
        b->lifecycle = FLAGPOST__LIFECYCLE__LIFECYCLE_PUBLISH;
        return FP_OK;
    }
    if (req->action != FLAG_ACTION_UPDATE)
        return fp_error_set(err, FP_ERR_INPUT,
                            "action: withdraw a flag with `flagpost withdraw FLAG_ID --reason "
                            "CODE`, not with a flag file");
    int rc = envelope_id_parse(req->flag_id_hex, b->flag_id, err);
    if (rc != FP_OK)
        return fp_error_wrap(err, "flag_id");
    Flagpost__PublishedFlag *pf = NULL;
    MDB_txn *txn;
    if ((rc = agent_store_begin(a->store, false, &txn, err)) != FP_OK)
        return rc;
    rc = agent_store_published_get(a->store, txn, b->flag_id, &pf, err);
    agent_store_abort(txn);
    if (rc != FP_OK)
        return fp_error_set(err, FP_ERR_INPUT,
                            "flag_id: this agency has not published a flag with that id");
    if (pf->state != FLAGPOST__FLAG_STATE__FLAG_ACTIVE)
        rc = fp_error_set(err, FP_ERR_INPUT, "flag_id: that flag was withdrawn or expired; "
                          "publish a new one instead");
    else if (strcmp(pf->category, req->category) != 0)
        rc = fp_error_set(err, FP_ERR_INPUT,
                          "category: an update keeps the flag's category ('%s'); withdraw "
                          "it and publish a new flag to change category", pf->category);
    b->version = pf->version + 1;
    b->lifecycle = FLAGPOST__LIFECYCLE__LIFECYCLE_UPDATE;
    flagpost__published_flag__free_unpacked(pf, NULL);
    return rc;
}

/* The broker's socket cuts off a message over FP_MAX_MESSAGE_BYTES
 * without an answer, so a flag that would make one is refused here, before
 * it is stored, with the sizes that explain why.  1 KB covers the
 * envelope, its signature and the framing around the body and parts. */
static int check_message_size(const build *b, size_t body_len, fp_error *err)
{
    size_t total = body_len + 1024, parts = 0;
    for (size_t i = 0; i < b->plan_count; i++)
        if (b->plans[i].part != NULL) {
            total += b->plans[i].part_len + 8;
            parts++;
        }
    if (total <= FP_MAX_MESSAGE_BYTES)
        return FP_OK;
    return fp_error_set(err, FP_ERR_INPUT,
                        "fields: the flag would be a %zu KB message (%zu recipients, each with "
                        "its own sealed copy of the fields) and the broker accepts at most %d "
                        "KB; send shorter fields or address fewer recipients per flag",
                        total / 1024, parts, FP_MAX_MESSAGE_BYTES / 1024);
}

/* Everything but the write: validation, pseudonyms, policy, sealing, the
 * signed body.  Nothing here touches the store except to read. */
static int prepare(agent *a, const flag_request *req, build *b, uint8_t **body, size_t *len,
                   fp_error *err)
{
    if (a->id.linkage_key == NULL)
        return fp_error_set(err, FP_ERR_INTERNAL,
                            "this identity has no linkage key, so it cannot name subjects");
    envelope_new_id(b->message_id);
    int rc = follow_on(a, req, b, err);
    if (rc == FP_OK)
        rc = validate_names(a, req, err);
    if (rc == FP_OK)
        rc = pseudonym_derive(a->id.linkage_key, &req->subject, "subject", b->subject,
                              &b->subject_count, err);
    if (rc == FP_OK && req->has_linked_perpetrator)
        rc = pseudonym_derive(a->id.linkage_key, &req->linked_perpetrator, "linked_perpetrator",
                              b->linked, &b->linked_count, err);
    if (rc == FP_OK)
        rc = plan_recipients(a, req, b, err);
    for (size_t i = 0; rc == FP_OK && i < b->plan_count; i++)
        if (b->plans[i].decision.allowed)
            rc = seal_part(a, req, b, &b->plans[i], err);
    if (rc == FP_OK)
        rc = pack_body(a, req, b, body, len, err);
    if (rc == FP_OK && (rc = check_message_size(b, *len, err)) != FP_OK) {
        free(*body);
        *body = NULL;
    }
    return rc;
}

int publisher_accept_batch(agent *a, const flag_request *const *reqs, size_t n,
                           Flagpost__OutboxRecord **out, int *status, fp_error *errs)
{
    build *b = calloc(n ? n : 1, sizeof *b);
    uint8_t **body = calloc(n ? n : 1, sizeof *body);
    size_t *len = calloc(n ? n : 1, sizeof *len);
    if (b == NULL || body == NULL || len == NULL) {
        free(b);
        free(body);
        free(len);
        for (size_t i = 0; i < n; i++)
            status[i] = fp_error_set(&errs[i], FP_ERR_IO, "out of memory");
        return FP_ERR_IO;
    }
    size_t ready = 0;
    for (size_t i = 0; i < n; i++) {
        out[i] = NULL;
        status[i] = prepare(a, reqs[i], &b[i], &body[i], &len[i], &errs[i]);
        ready += status[i] == FP_OK;
    }
    /* One transaction, one fsync, for every flag that is ready. */
    fp_error werr;
    MDB_txn *txn = NULL;
    int rc = ready ? agent_store_begin(a->store, true, &txn, &werr) : FP_OK;
    for (size_t i = 0; rc == FP_OK && i < n; i++)
        if (status[i] == FP_OK)
            rc = stage_record(a, txn, reqs[i], &b[i], body[i], len[i], &werr);
    if (txn != NULL)
        rc = rc == FP_OK ? agent_store_commit(txn, &werr) : (agent_store_abort(txn), rc);
    for (size_t i = 0; i < n; i++) {
        if (status[i] == FP_OK && rc != FP_OK) {   /* nothing of the batch was stored */
            errs[i] = werr;
            status[i] = rc;
        }
        if (status[i] == FP_OK)
            status[i] = outbox_read(a, b[i].message_id, &out[i], &errs[i]);
        free(body[i]);
        build_release(&b[i]);
    }
    free(b);
    free(body);
    free(len);
    return rc;
}

int publisher_accept(agent *a, const flag_request *req, Flagpost__OutboxRecord **out,
                     fp_error *err)
{
    int status;
    publisher_accept_batch(a, &req, 1, out, &status, err);
    return status;
}

/* ---------------------------------------------------------------- withdraw */

static const char *const WITHDRAW_REASONS[] = {
    "entered_in_error", "risk_reduced", "case_closed", "consent_withdrawn",
    "subject_moved_away", "duplicate", "superseded_by_new_flag", "other", NULL};

static bool withdraw_reason_known(const char *r)
{
    for (size_t i = 0; WITHDRAW_REASONS[i] != NULL; i++)
        if (strcmp(r, WITHDRAW_REASONS[i]) == 0)
            return true;
    return false;
}

static int stage_withdrawal(agent *a, MDB_txn *txn, const unsigned char flag_id[16],
                            Flagpost__PublishedFlag *pf, const char *reason,
                            unsigned char id[16], fp_error *err)
{
    Flagpost__FlagBody body = FLAGPOST__FLAG_BODY__INIT;
    body.flag_id.data = (uint8_t *)(uintptr_t)flag_id;
    body.flag_id.len = 16;
    body.version = pf->version + 1;
    body.lifecycle = FLAGPOST__LIFECYCLE__LIFECYCLE_WITHDRAW;
    body.category = pf->category;
    body.withdraw_reason = (char *)(uintptr_t)reason;
    size_t len = flagpost__flag_body__get_packed_size(&body);
    uint8_t *bytes = malloc(len ? len : 1);
    if (bytes == NULL)
        return fp_error_set(err, FP_ERR_IO, "out of memory");
    flagpost__flag_body__pack(&body, bytes);
    int rc = outbox_stage(a, txn, FLAGPOST__MESSAGE_TYPE__MESSAGE_FLAG, bytes, len, id, err);
    free(bytes);
    if (rc != FP_OK)
        return rc;
    Flagpost__PublishedFlag next = *pf;
    next.version = body.version;
    next.state = FLAGPOST__FLAG_STATE__FLAG_WITHDRAWN;
    next.last_message_id.data = id;
    next.last_message_id.len = 16;
    return agent_store_published_put(a->store, txn, flag_id, &next, err);
}

int publisher_withdraw(agent *a, const char *flag_id_hex, const char *reason,
                       Flagpost__OutboxRecord **out, fp_error *err)
{
    *out = NULL;
    unsigned char flag_id[16], id[16];
    if (envelope_id_parse(flag_id_hex, flag_id, err) != FP_OK)
        return fp_error_wrap(err, "flag_id");
    if (reason == NULL || !withdraw_reason_known(reason))
        return fp_error_set(err, FP_ERR_INPUT,
                            "reason: one of entered_in_error, risk_reduced, case_closed, "
                            "consent_withdrawn, subject_moved_away, duplicate, "
                            "superseded_by_new_flag, other");
    MDB_txn *txn;
    int rc = agent_store_begin(a->store, true, &txn, err);
    if (rc != FP_OK)
        return rc;
    Flagpost__PublishedFlag *pf = NULL;
    rc = agent_store_published_get(a->store, txn, flag_id, &pf, err);
    if (rc != FP_OK)
        rc = fp_error_set(err, FP_ERR_INPUT,
                          "flag_id: this agency has not published a flag with that id");
    else if (pf->state != FLAGPOST__FLAG_STATE__FLAG_ACTIVE)
        rc = fp_error_set(err, FP_ERR_INPUT, "flag_id: that flag is already withdrawn or "
                          "expired");
    else
        rc = stage_withdrawal(a, txn, flag_id, pf, reason, id, err);
    if (pf != NULL)
        flagpost__published_flag__free_unpacked(pf, NULL);
    rc = rc == FP_OK ? agent_store_commit(txn, err) : (agent_store_abort(txn), rc);
    return rc == FP_OK ? outbox_read(a, id, out, err) : rc;
}
