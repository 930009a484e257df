/*
 * fuzz_marac_actions: libFuzzer target for the MARAC actions file the
 * coordinator sends after a conference (`flagpost marac actions FILE`):
 * marac_actions_check in agents/marac_actions.c, every check that needs no
 * store, run before anything is looked up or sent.
 *
 * The whole input is the actions file's JSON text, loaded as the CLI loads
 * it (duplicate keys refused).  An accepted file is an object with a
 * conference id of 1-MARAC_ID_MAX characters and a non-empty list of
 * cases; each case has a valid case reference, a boolean "closed" if any,
 * and 1-50 actions, each an object with an owning agency (at most 63
 * characters), a text (at most 4000) and a due date marac_parse_due reads;
 * no text holds a NUL.  A refusal says why.
 *
 * Built and run by scripts/fuzz; seeds in fuzz/corpus/marac_actions are
 * docs/examples/marac-actions.json and variants of it.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "marac_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void need(int cond)
{
    if (!cond)
        abort();
}

static void need_text(json_t *o, const char *key, size_t max)
{
    json_t *v = json_object_get(o, key);
    need(json_is_string(v) && json_string_length(v) >= 1 && json_string_length(v) <= max &&
         strlen(json_string_value(v)) == json_string_length(v));
}

static void check_accepted(json_t *file)
{
    need(json_is_object(file));
    need_text(file, "conference", MARAC_ID_MAX);
    json_t *cases = json_object_get(file, "cases");
    need(json_is_array(cases) && json_array_size(cases) >= 1);
    size_t i, j;
    json_t *c, *act;
    json_array_foreach(cases, i, c) {
        need(marac_id_valid(mj_str(c, "case_reference")));
        json_t *closed = json_object_get(c, "closed");
        need(closed == NULL || json_is_boolean(closed));
        json_t *acts = json_object_get(c, "actions");
        need(json_is_array(acts) && json_array_size(acts) >= 1 && json_array_size(acts) <= 50);
        json_array_foreach(acts, j, act) {
            need_text(act, "agency", 63);
            need_text(act, "action", 4000);
            need_text(act, "due", 32);
            int64_t due;
            need(marac_parse_due(mj_str(act, "due"), &due) == FP_OK);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *file = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
    if (file == NULL)
        return 0;
    fp_error err;
    err.message[0] = '\0';
    int rc = marac_actions_check(file, &err);
    if (rc == FP_OK)
        check_accepted(file);
    else
        need(rc == FP_ERR_INPUT && err.code == rc && err.message[0] != '\0');
    json_decref(file);
    return 0;
}
