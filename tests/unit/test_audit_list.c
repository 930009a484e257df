/*
 * Unit tests for `flagpost audit list` output (cli/audit_list.c) and the
 * UTF-8 repair under it (lib/utf8.c).
 *
 * Regression: fuzz_audit_entry found that an entry whose strings are not
 * UTF-8 (protobuf-c never checks) vanished from --format jsonl: jansson
 * refused the string, the whole row object was NULL and nothing was
 * printed, so an auditor's export silently missed an entry.  The bytes
 * below are the fuzzer's input (fuzz/corpus/audit_entry/
 * crash-jsonl-invalid-utf8, without its mode byte): an acknowledgement
 * whose sender is "me\x8f-police".
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit_list.h"
#include "check.h"
#include "flagpost.pb-c.h"
#include "utf8.h"

static const uint8_t CRASH_ENTRY[] = {
    0x08, 0x07, 0x10, 0xc0, 0xcc, 0xab, 0xff, 0xbc, 0x31, 0x18, 0x05, 0x22, 0x0a, 0x6d,
    0x65, 0x8f, 0x2d, 0x70, 0x6f, 0x6c, 0x69, 0x63, 0x65, 0x2a, 0x07, 0x68, 0x6f, 0x75,
    0x73, 0x69, 0x6e, 0x67, 0x6a, 0x08, 0x61, 0x63, 0x74, 0x65, 0x64, 0x5f, 0x6f, 0x6e,
    0x92, 0x01, 0x10, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x3f, 0x42, 0x42,
    0x42, 0x42, 0x42, 0x42, 0x42,
};

/* The rows written for e in the given format. */
static char *render(const Flagpost__AuditEntry *e, int format)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    audit_list_writer w;
    audit_list_begin(&w, out, format);
    audit_list_row(&w, e->index, e);
    audit_list_end(&w);
    fclose(out);
    return text;
}

static void test_jsonl_keeps_an_entry_that_is_not_utf8(void)
{
    Flagpost__AuditEntry *e =
        flagpost__audit_entry__unpack(NULL, sizeof CRASH_ENTRY, CRASH_ENTRY);
    CHECK(e != NULL);
    if (e == NULL)
        return;
    CHECK(!utf8_valid(e->sender));
    char *text = render(e, AUDIT_LIST_JSONL);
    CHECK(text != NULL && strlen(text) > 0);
    json_t *row = json_loads(text, 0, NULL);
    CHECK(json_is_object(row));
    CHECK_EQ_INT(json_integer_value(json_object_get(row, "index")), 7);
    CHECK_EQ_STR(json_string_value(json_object_get(row, "sender")), "me\xef\xbf\xbd-police");
    CHECK_EQ_STR(json_string_value(json_object_get(row, "recipient")), "housing");
    CHECK_EQ_STR(json_string_value(json_object_get(row, "decision")), "acted_on");
    json_decref(row);
    free(text);
    flagpost__audit_entry__free_unpacked(e, NULL);
}

static void test_jsonl_of_a_clean_entry_is_unchanged(void)
{
    char *fields[1] = {(char *)"safe_contact"};
    Flagpost__AuditEntry e = FLAGPOST__AUDIT_ENTRY__INIT;
    e.index = 3;
    e.event = FLAGPOST__AUDIT_EVENT__AUDIT_DISCLOSURE;
    e.sender = (char *)"met-police";
    e.recipient = (char *)"idva";
    e.category = (char *)"da_victim";
    e.fields = fields;
    e.n_fields = 1;
    char *text = render(&e, AUDIT_LIST_JSONL);
    CHECK(text != NULL && strncmp(text, "{\"index\":3,\"time\":", 18) == 0);
    CHECK(text != NULL && strstr(text, "\"sender\":\"met-police\",\"recipient\":\"idva\","
                                       "\"subject\":[],\"subject_role\":\"\","
                                       "\"category\":\"da_victim\"") != NULL);
    CHECK(text != NULL && strstr(text, "\"fields\":[\"safe_contact\"]") != NULL);
    free(text);
}

static void test_utf8_rules(void)
{
    CHECK(utf8_valid("plain ascii"));
    CHECK(utf8_valid("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));
    CHECK(!utf8_valid("\xc0\xaf"));            /* overlong '/' */
    CHECK(!utf8_valid("\xed\xa0\x80"));        /* a surrogate */
    CHECK(!utf8_valid("\xf4\x90\x80\x80"));    /* above U+10FFFF */
    CHECK(!utf8_valid("\xe2\x82"));            /* cut short */
    char *fixed = utf8_repair("a\xffz\xe2\x82");
    CHECK_EQ_STR(fixed, "a\xef\xbf\xbdz\xef\xbf\xbd\xef\xbf\xbd");
    CHECK(utf8_valid(fixed));
    free(fixed);
}

int main(void)
{
    RUN(test_jsonl_keeps_an_entry_that_is_not_utf8);
    RUN(test_jsonl_of_a_clean_entry_is_unchanged);
    RUN(test_utf8_rules);
    return check_summary();
}
