/*
 * fuzz_flag_json: libFuzzer target for the JSON flag parser
 * (agents/flag_json.c), the first thing an agency's case system reaches.
 *
 * The whole input is the JSON text.  Whatever flag_json_parse accepts must
 * keep the header's promises: required keys present and non-empty, counts
 * within their limits, every field value a string within
 * FLAG_MAX_FIELD_BYTES, a restricted flag naming agencies, break glass with
 * a justification of at least 10 characters, update/withdraw naming a
 * flag.  A refusal must leave nothing allocated and say why.  The date
 * parser is fed the input as text too.
 *
 * Built and run by scripts/fuzz; seeds in fuzz/corpus/flag_json are
 * hand-written JSON flags.
 */
#include <stdlib.h>
#include <string.h>

#include "flag_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void need(int cond)
{
    if (!cond)
        abort();
}

static void need_text(const char *s, size_t max)
{
    need(s != NULL && s[0] != '\0' && strlen(s) <= max);
}

static void fuzz_check_accepted(const flag_request *r)
{
    need(r->root != NULL);
    need(r->action >= FLAG_ACTION_PUBLISH && r->action <= FLAG_ACTION_WITHDRAW);
    need_text(r->category, FLAG_MAX_TEXT);
    need_text(r->purpose, FLAG_MAX_TEXT);
    need_text(r->lawful_basis, FLAG_MAX_TEXT);
    need_text(r->consent, FLAG_MAX_TEXT);
    need(r->risk != NULL && strlen(r->risk) <= FLAG_MAX_TEXT);
    need_text(r->role, FLAG_MAX_TEXT);
    if (strcmp(r->consent, "given") != 0)
        need(r->consent_reason != NULL && r->consent_reason[0] != '\0');
    if (r->action == FLAG_ACTION_PUBLISH)
        need(r->flag_id_hex == NULL);
    else
        need_text(r->flag_id_hex, 64);
    if (r->action == FLAG_ACTION_WITHDRAW)
        need_text(r->withdraw_reason, FLAG_MAX_TEXT);
    need(r->recipient_count <= FLAG_MAX_RECIPIENTS);
    need(!r->recipients_given || r->recipient_count > 0);
    for (size_t i = 0; i < r->recipient_count; i++) {
        need_text(r->recipients[i], 63);
        for (size_t j = 0; j < i; j++)
            need(strcmp(r->recipients[i], r->recipients[j]) != 0);
    }
    need(r->named_count <= FLAG_MAX_RECIPIENTS);
    for (size_t i = 0; i < r->named_count; i++)
        need_text(r->named[i], 63);
    if (r->restricted)
        need(r->named_count > 0);
    if (r->break_glass)
        need(r->justification != NULL && strlen(r->justification) >= 10);
    need(r->field_count <= FLAG_MAX_FIELDS);
    for (size_t i = 0; i < r->field_count; i++) {
        need_text(r->fields[i].name, 63);
        need(r->fields[i].value != NULL &&
             strlen(r->fields[i].value) <= FLAG_MAX_FIELD_BYTES);
    }
    const char *ids[] = {r->subject.nhs, r->subject.name, r->subject.dob,
                         r->subject.postcode, r->subject.uprn};
    for (size_t i = 0; i < 5; i++)
        need(ids[i] == NULL || strlen(ids[i]) <= 200);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    flag_request r;
    fp_error err;
    err.message[0] = '\0';
    int rc = flag_json_parse((const char *)data, size, &r, &err);
    if (rc == FP_OK) {
        fuzz_check_accepted(&r);
        /* Parsing the same object again gives the same answer. */
        flag_request again;
        need(flag_json_from_object(r.root, &again, NULL) == FP_OK);
        need(again.field_count == r.field_count && again.action == r.action);
        flag_request_free(&again);
        flag_request_free(&r);
        need(r.root == NULL);
    } else {
        need(rc == FP_ERR_INPUT || rc == FP_ERR_IO);
        need(r.root == NULL && err.code == rc && err.message[0] != '\0');
    }
    if (size < 64) {
        char text[64];
        memcpy(text, data, size);
        text[size] = '\0';
        int64_t t = 0;
        flag_json_parse_date(text, &t);
    }
    return 0;
}
