/*
 * Unit tests for the checks a MARAC answers file and actions file pass
 * before the agent looks anything up (marac_answers_list,
 * marac_answer_check, marac_actions_check): the shapes
 * docs/examples/marac-*.json show are accepted, and each kind of mistake
 * is refused with a message naming the field.  fuzz_marac_response and
 * fuzz_marac_actions hold the same functions to their promises on any
 * input.
 */
#include <jansson.h>
#include <string.h>

#include "check.h"
#include "marac_internal.h"

static json_t *load(const char *text)
{
    return json_loads(text, JSON_REJECT_DUPLICATES, NULL);
}

/* Check one answer as answers[3]; *a points into *held, which the caller
 * releases. */
static int answer_held(const char *text, marac_answer *a, json_t **held, fp_error *err)
{
    *held = load(text);
    return marac_answer_check(*held, 3, a, err);
}

static int answer(const char *text, marac_answer *a, fp_error *err)
{
    json_t *held;
    int rc = answer_held(text, a, &held, err);
    json_decref(held);
    return rc;
}

static void test_answers_list(void)
{
    json_t *list;
    fp_error err;
    json_t *req = load("{\"answers\": {\"answers\": [{\"record_found\": \"no\"}]}}");
    CHECK_EQ_INT(marac_answers_list(req, &list, &err), FP_OK);
    CHECK_EQ_INT(json_array_size(list), 1);
    json_decref(req);
    req = load("{\"answers\": [{}, {}]}");
    CHECK_EQ_INT(marac_answers_list(req, &list, &err), FP_OK);
    CHECK_EQ_INT(json_array_size(list), 2);
    json_decref(req);
    req = load("{\"answers\": []}");
    CHECK_EQ_INT(marac_answers_list(req, &list, &err), FP_ERR_INPUT);
    CHECK(strstr(err.message, "a list of 1-500 answers") != NULL);
    json_decref(req);
}

static void test_answer_checks(void)
{
    marac_answer a;
    fp_error err;
    json_t *held;
    CHECK_EQ_INT(answer_held("{\"case_reference\": \"HF-25-041\", \"record_found\": true, "
                             "\"agency_summary\": \"Known to us\"}", &a, &held, &err), FP_OK);
    CHECK_EQ_STR(a.record_found, "yes");
    CHECK_EQ_STR(a.case_ref, "HF-25-041");
    CHECK_EQ_STR(a.summary, "Known to us");
    CHECK(!a.have_id);
    json_decref(held);
    CHECK_EQ_INT(answer("{\"request_id\": \"00112233445566778899AABBCCDDEEFF\", "
                        "\"record_found\": \"no record\"}", &a, &err), FP_OK);
    CHECK(a.have_id && a.request_id[15] == 0xff);
    CHECK_EQ_STR(a.record_found, "no");
    CHECK_EQ_INT(answer("{\"case_reference\": \"x\", \"record_found\": \"yes\"}", &a, &err),
                 FP_ERR_INPUT);
    CHECK(strstr(err.message, "answers[3].agency_summary: required") != NULL);
    CHECK_EQ_INT(answer("{\"record_found\": \"no\"}", &a, &err), FP_ERR_INPUT);
    CHECK(strstr(err.message, "answers[3]: give case_reference") != NULL);
    CHECK_EQ_INT(answer("{\"request_id\": \"nothex\", \"record_found\": \"no\"}", &a, &err),
                 FP_ERR_INPUT);
    CHECK(strstr(err.message, "answers[3].request_id: 32 hex digits") != NULL);
    CHECK_EQ_INT(answer("{\"case_reference\": \"x\", \"record_found\": \"no\", \"draft\": true}",
                        &a, &err), FP_ERR_INPUT);
    CHECK(strstr(err.message, "still marked as a draft") != NULL);
    CHECK_EQ_INT(answer("[1]", &a, &err), FP_ERR_INPUT);
    CHECK(strstr(err.message, "answers[3]: must be an object") != NULL);
}

static int actions(const char *text, fp_error *err)
{
    json_t *file = load(text);
    int rc = marac_actions_check(file, err);
    json_decref(file);
    return rc;
}

#define ACTION_OK "{\"agency\": \"idva\", \"action\": \"Safety plan\", \"due\": \"2025-06-13\"}"

static void test_actions_checks(void)
{
    fp_error err;
    CHECK_EQ_INT(actions("{\"conference\": \"hf-2025-06-10\", \"cases\": [{\"case_reference\": "
                         "\"HF-25-041\", \"closed\": true, \"actions\": [" ACTION_OK "]}]}",
                         &err), FP_OK);
    CHECK_EQ_INT(actions("[]", &err), FP_ERR_INPUT);
    CHECK(strstr(err.message, "must be a JSON object") != NULL);
    CHECK_EQ_INT(actions("{\"conference\": \"c\", \"cases\": []}", &err), FP_ERR_INPUT);
    CHECK(strstr(err.message, "actions.cases") != NULL);
    CHECK_EQ_INT(actions("{\"conference\": \"c\", \"cases\": [{\"case_reference\": \"r\", "
                         "\"closed\": \"yes\", \"actions\": [" ACTION_OK "]}]}", &err),
                 FP_ERR_INPUT);
    CHECK(strstr(err.message, "cases[0].closed: true or false") != NULL);
    CHECK_EQ_INT(actions("{\"conference\": \"c\", \"cases\": [{\"case_reference\": \"r\", "
                         "\"actions\": [" ACTION_OK ", {\"agency\": \"idva\", \"action\": \"x\", "
                         "\"due\": \"soon\"}]}]}", &err), FP_ERR_INPUT);
    CHECK(strstr(err.message, "cases[0].actions[1].due") != NULL);
}

/* An owner that is not a string after a valid action: once the store was
 * reached with it, listing the case's owners compared against NULL. */
static void test_actions_owner_not_a_string(void)
{
    fp_error err;
    CHECK_EQ_INT(actions("{\"conference\": \"c\", \"cases\": [{\"case_reference\": \"r\", "
                         "\"actions\": [" ACTION_OK ", {\"agency\": 5, \"action\": \"x\", "
                         "\"due\": \"2025-06-13\"}]}]}", &err), FP_ERR_INPUT);
    CHECK(strstr(err.message, "cases[0].actions[1].agency: must be a string") != NULL);
}

int main(void)
{
    RUN(test_answers_list);
    RUN(test_answer_checks);
    RUN(test_actions_checks);
    RUN(test_actions_owner_not_a_string);
    return check_summary();
}
