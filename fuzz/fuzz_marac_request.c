/*
 * fuzz_marac_request: libFuzzer target for the MARAC research request
 * file (agents/marac_request.c, marac_request_parse), which a coordinator
 * writes or exports from a case system and `flagpost marac request FILE`
 * hands to the agent as JSON.
 *
 * The first input byte picks what the rest is:
 *   0  the request file's JSON text, loaded as the CLI and the local API
 *      load it (duplicate keys refused).  An accepted request has a valid
 *      conference id, a deadline no later than the end of the conference
 *      day, 1-200 cases with distinct case references, each with a consent
 *      state, at least one pseudonym and at most PSEUDONYM_MAX, a children
 *      count of 0-30, and no string anywhere holding a NUL; a refusal
 *      says why.  The result must survive a JSON dump and load.
 *   1  text for marac_parse_duration ("24h") and marac_parse_due (a date or
 *      an ISO time): an accepted duration is 0..366 days, and a date alone
 *      means the last millisecond of that day.
 *
 * Built and run by scripts/fuzz; seeds in fuzz/corpus/marac_request are
 * docs/examples/marac-request.json, variants of it, and durations/dates.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "flag_json.h"
#include "marac_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const unsigned char fuzz_linkage_key[32] = "flagpost-fuzz-marac-linkage-key";

static void need(int cond)
{
    if (!cond)
        abort();
}

/* No string value or key anywhere in j holds a NUL. */
static void no_nul(json_t *j)
{
    const char *k;
    json_t *v;
    size_t i;
    if (json_is_string(j))
        need(strlen(json_string_value(j)) == json_string_length(j));
    json_object_foreach(j, k, v) no_nul(v);
    json_array_foreach(j, i, v) no_nul(v);
}

static void check_accepted(json_t *file, json_t *conf, json_t *cases)
{
    need(marac_id_valid(mj_str(conf, "id")));
    int64_t date_s = mj_int(conf, "date_s"), deadline = mj_int(conf, "deadline_ms");
    need(deadline <= (date_s + 86400) * 1000);
    size_t n = json_array_size(cases);
    need(n >= 1 && n <= 200 && n == json_array_size(json_object_get(file, "cases")));
    for (size_t i = 0; i < n; i++) {
        json_t *c = json_array_get(cases, i);
        const char *ref = mj_str(c, "case_reference");
        need(ref != NULL && ref[0] != '\0' && mj_str(c, "consent") != NULL);
        for (size_t j = 0; j < i; j++)
            need(strcmp(ref, mj_str(json_array_get(cases, j), "case_reference")) != 0);
        pseudonym ps[PSEUDONYM_MAX];
        size_t np = marac_case_pseudonyms(c, ps);
        need(np >= 1 && np <= PSEUDONYM_MAX);
        int64_t children = mj_int(c, "children_count");
        need(children >= 0 && children <= 30);
    }
    no_nul(conf);
    no_nul(cases);
    char *text = json_dumps(cases, JSON_COMPACT);
    need(text != NULL);
    json_t *again = json_loads(text, 0, NULL);
    need(again != NULL && json_equal(again, cases));
    json_decref(again);
    free(text);
}

static void fuzz_file(const uint8_t *b, size_t len)
{
    json_t *file = json_loadb((const char *)b, len, JSON_REJECT_DUPLICATES, NULL);
    if (file == NULL)
        return;
    json_t *conf = NULL, *cases = NULL;
    fp_error err;
    err.message[0] = '\0';
    int rc = marac_request_parse(file, fuzz_linkage_key, 1700000000000LL, &conf, &cases, &err);
    need(conf != NULL && cases != NULL);
    if (rc == FP_OK)
        check_accepted(file, conf, cases);
    else
        need(rc == FP_ERR_INPUT && err.code == rc && err.message[0] != '\0');
    json_decref(conf);
    json_decref(cases);
    json_decref(file);
}

static void fuzz_text(const uint8_t *b, size_t len)
{
    char text[64];
    if (len >= sizeof text)
        len = sizeof text - 1;
    memcpy(text, b, len);
    text[len] = '\0';
    int64_t ms = -1;
    if (marac_parse_duration(text, &ms) == FP_OK)
        need(ms >= 0 && ms <= 366LL * 86400 * 86400000);
    int64_t due = 0;
    if (marac_parse_due(text, &due) == FP_OK && strchr(text, 'T') == NULL &&
        strchr(text, '.') == NULL) {
        int64_t day = 0;
        need(flag_json_parse_date(text, &day) == FP_OK && due == (day + 86400) * 1000 - 1);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    if (data[0] & 1)
        fuzz_text(data + 1, size - 1);
    else
        fuzz_file(data + 1, size - 1);
    return 0;
}
