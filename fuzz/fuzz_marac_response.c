/*
 * fuzz_marac_response: libFuzzer target for the MARAC research answers a
 * member agency sends back (`flagpost marac respond FILE`): the checks of
 * agents/marac_respond.c that need no store (marac_answers_list,
 * marac_answer_check).  The file is often a template the agency's staff
 * filled in by hand, so anything may be in it.
 *
 * The whole input is the answers file's JSON text, loaded as the CLI loads
 * it (duplicate keys refused) and put in the request as the CLI does
 * ({"answers": FILE}).  An accepted list holds 1-MARAC_MAX_ANSWERS
 * answers.  An accepted answer is not a draft, says "yes" or "no" (with a
 * summary when "yes"), names its request by a request id (32 hex digits,
 * which must print back the same) or a non-empty case reference, and
 * every text it carries is within MARAC_MAX_TEXT, non-empty and holds no
 * NUL.  A refusal names the answer at fault.
 *
 * Built and run by scripts/fuzz; seeds in fuzz/corpus/marac_response are
 * docs/examples/marac-answers.json and variants of it.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "envelope.h"
#include "marac_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void need(int cond)
{
    if (!cond)
        abort();
}

static void need_text(const char *s, size_t max)
{
    need(s == NULL || (s[0] != '\0' && strlen(s) <= max));
}

static void check_accepted(json_t *ans, const marac_answer *a)
{
    need(!json_is_true(json_object_get(ans, "draft")));
    need(a->record_found != NULL);
    need(strcmp(a->record_found, "yes") == 0 || strcmp(a->record_found, "no") == 0);
    if (strcmp(a->record_found, "yes") == 0)
        need(a->summary != NULL);
    need_text(a->summary, MARAC_MAX_TEXT);
    need_text(a->risk, MARAC_MAX_TEXT);
    need_text(a->children, MARAC_MAX_TEXT);
    need_text(a->case_ref, MARAC_ID_MAX);
    if (a->have_id) {
        char hex[33];
        envelope_id_hex(a->request_id, 16, hex);
        const char *given = json_string_value(json_object_get(ans, "request_id"));
        need(given != NULL && strcasecmp(given, hex) == 0);
    } else {
        need(a->case_ref != NULL);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *file = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
    if (file == NULL)
        return 0;
    json_t *req = json_pack("{s:o}", "answers", file);
    need(req != NULL);
    json_t *list = NULL;
    fp_error err;
    err.message[0] = '\0';
    int rc = marac_answers_list(req, &list, &err);
    if (rc != FP_OK) {
        need(rc == FP_ERR_INPUT && err.message[0] != '\0');
        json_decref(req);
        return 0;
    }
    need(json_is_array(list) && json_array_size(list) >= 1 &&
         json_array_size(list) <= MARAC_MAX_ANSWERS);
    size_t i;
    json_t *ans;
    json_array_foreach(list, i, ans) {
        marac_answer a;
        err.message[0] = '\0';
        rc = marac_answer_check(ans, i, &a, &err);
        if (rc == FP_OK)
            check_accepted(ans, &a);
        else
            need(rc == FP_ERR_INPUT && strncmp(err.message, "answers[", 8) == 0);
    }
    json_decref(req);
    return 0;
}
