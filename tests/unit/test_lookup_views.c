/*
 * test_lookup_views: what a view record remembers of a flag shown is the
 * flag's, whole.  The broker writes the record's category into the audit
 * trail, so a category cut short there would misstate what was viewed.
 * A held flag's category may be as long as any text of a flag
 * (FP_MAX_TEXT, checked by flag_body_unfit when it arrives); the record
 * once kept 63 bytes of it.
 */
#include <sodium.h>
#include <string.h>

#include "check.h"
#include "lookup.h"

static void test_category_kept_whole(void)
{
    char category[FP_MAX_TEXT + 1];
    memset(category, 'c', FP_MAX_TEXT);
    category[FP_MAX_TEXT] = '\0';
    char sender[CERT_ID_MAX];
    memset(sender, 's', CERT_ID_MAX - 1);
    sender[CERT_ID_MAX - 1] = '\0';
    unsigned char flag_id[16], message_id[16], value[PSEUDONYM_LEN];
    memset(flag_id, 0xf1, sizeof flag_id);
    memset(message_id, 0xe2, sizeof message_id);
    memset(value, 0x33, sizeof value);

    Flagpost__StoredFlag f = FLAGPOST__STORED_FLAG__INIT;
    f.flag_id = (ProtobufCBinaryData){.len = 16, .data = flag_id};
    f.message_id = (ProtobufCBinaryData){.len = 16, .data = message_id};
    f.version = 7;
    f.sender = sender;
    Flagpost__Pseudonym ps = FLAGPOST__PSEUDONYM__INIT, *psp[1] = {&ps};
    ps.kind = FLAGPOST__PSEUDONYM_KIND__PSEUDONYM_NHS;
    ps.value = (ProtobufCBinaryData){.len = PSEUDONYM_LEN, .data = value};
    Flagpost__FlagBody body = FLAGPOST__FLAG_BODY__INIT;
    body.category = category;
    body.subject = psp;
    body.n_subject = 1;

    lookup_views v = {0};
    for (int i = 0; i < 20; i++)   /* past the first allocation */
        CHECK(lookup_views_add(&v, &f, &body));
    CHECK_EQ_INT((int)v.count, 20);
    if (v.count == 20) {
        const lookup_view *last = &v.items[19];
        CHECK_EQ_STR(last->category, category);
        CHECK_EQ_STR(last->sender, sender);
        CHECK(memcmp(last->flag_id, flag_id, 16) == 0);
        CHECK(memcmp(last->message_id, message_id, 16) == 0);
        CHECK_EQ_INT((int)last->version, 7);
        CHECK_EQ_INT((int)last->subject_count, 1);
        CHECK(memcmp(last->subject[0].value, value, PSEUDONYM_LEN) == 0);
    }
    free(v.items);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    RUN(test_category_kept_whole);
    return check_summary();
}
