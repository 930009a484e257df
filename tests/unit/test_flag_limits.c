/*
 * test_flag_limits: the counts and clear texts a flag may carry, as the
 * broker checks them at intake and each receiving agent checks them again
 * (receiver.c).  Every text field of a body and a part is tried with bytes
 * that are not UTF-8 and with one byte over its length limit, so a field
 * left out of the checks fails here by name.
 */
#include <stddef.h>
#include <string.h>

#include "check.h"
#include "flag_limits.h"

#define NOT_UTF8 "ok-\xff\xfe-ok"

static char long_text[FP_MAX_JUSTIFICATION + 2];

static char *over(size_t max)
{
    memset(long_text, 'a', max + 1);
    long_text[max + 1] = '\0';
    return long_text;
}

static void sound_body(Flagpost__FlagBody *b)
{
    flagpost__flag_body__init(b);
    b->category = "dv_risk_indicator";
    b->purpose = "safeguarding";
    b->risk = "high";
}

/* Each of the body's text fields, by address, with the limit it has. */
typedef struct text_slot {
    const char *name;
    size_t offset;
    size_t max;
} text_slot;
#define SLOT(f, m) {#f, offsetof(Flagpost__FlagBody, f), m}
static const text_slot BODY_TEXTS[] = {
    SLOT(category, FP_MAX_TEXT),     SLOT(subcategory, FP_MAX_TEXT),
    SLOT(purpose, FP_MAX_TEXT),      SLOT(lawful_basis, FP_MAX_TEXT),
    SLOT(consent, FP_MAX_TEXT),      SLOT(risk, FP_MAX_TEXT),
    SLOT(subject_role, FP_MAX_TEXT), SLOT(withdraw_reason, FP_MAX_TEXT),
    SLOT(justification, FP_MAX_JUSTIFICATION),
};

static void test_every_body_text_is_checked(void)
{
    for (size_t i = 0; i < sizeof BODY_TEXTS / sizeof BODY_TEXTS[0]; i++) {
        Flagpost__FlagBody b;
        sound_body(&b);
        const char **slot = (const char **)((char *)&b + BODY_TEXTS[i].offset);
        CHECK(flag_body_unfit(&b, NULL) == NULL);
        *slot = NOT_UTF8;
        fp_error why = {0};
        CHECK_EQ_STR(flag_body_unfit(&b, &why), FLAG_TEXT_NOT_UTF8);
        CHECK(strstr(why.message, BODY_TEXTS[i].name) != NULL);
        *slot = over(BODY_TEXTS[i].max);
        CHECK_EQ_STR(flag_body_unfit(&b, NULL), FLAG_TEXT_TOO_LONG);
        long_text[BODY_TEXTS[i].max] = '\0';   /* exactly at the limit */
        CHECK(flag_body_unfit(&b, NULL) == NULL);
    }
}

static void test_lists_in_the_body(void)
{
    Flagpost__FlagBody b;
    sound_body(&b);
    char *named[] = {"idva", NOT_UTF8};
    b.named_agencies = named;
    b.n_named_agencies = 2;
    CHECK_EQ_STR(flag_body_unfit(&b, NULL), FLAG_TEXT_NOT_UTF8);
    b.n_named_agencies = 1;
    CHECK(flag_body_unfit(&b, NULL) == NULL);
    b.n_named_agencies = FP_MAX_NAMED_AGENCIES + 1;   /* counted before any is read */
    CHECK_EQ_STR(flag_body_unfit(&b, NULL), FLAG_TOO_MANY_NAMED);
    b.n_named_agencies = 1;

    Flagpost__SenderRefusal r;
    flagpost__sender_refusal__init(&r);
    r.recipient = "probation";
    r.rule_id = "R1";
    r.reason = "not-allowed";
    char *fields[] = {"address", NOT_UTF8};
    r.fields = fields;
    r.n_fields = 2;
    Flagpost__SenderRefusal *rs[] = {&r};
    b.refused_at_sender = rs;
    b.n_refused_at_sender = 1;
    CHECK_EQ_STR(flag_body_unfit(&b, NULL), FLAG_TEXT_NOT_UTF8);
    r.n_fields = 1;
    CHECK(flag_body_unfit(&b, NULL) == NULL);
    r.reason = NOT_UTF8;
    CHECK_EQ_STR(flag_body_unfit(&b, NULL), FLAG_TEXT_NOT_UTF8);
    r.reason = "not-allowed";
    r.n_fields = FP_MAX_FIELDS + 1;
    CHECK_EQ_STR(flag_body_unfit(&b, NULL), FLAG_TOO_MANY_FIELDS);
    r.n_fields = 1;
    b.n_refused_at_sender = FP_MAX_RECIPIENTS + 1;
    CHECK_EQ_STR(flag_body_unfit(&b, NULL), FLAG_TOO_MANY_RECIPIENTS);
    b.n_refused_at_sender = 1;
    b.n_part_digests = FP_MAX_RECIPIENTS + 1;
    CHECK_EQ_STR(flag_body_unfit(&b, NULL), FLAG_TOO_MANY_RECIPIENTS);
    b.n_part_digests = 0;
    b.n_subject = FP_MAX_PSEUDONYMS + 1;
    CHECK_EQ_STR(flag_body_unfit(&b, NULL), FLAG_TOO_MANY_PSEUDONYMS);
    b.n_subject = 0;
    b.n_linked_perpetrator = FP_MAX_PSEUDONYMS + 1;
    CHECK_EQ_STR(flag_body_unfit(&b, NULL), FLAG_TOO_MANY_PSEUDONYMS);
}

static void test_part_texts(void)
{
    Flagpost__RecipientPart p;
    flagpost__recipient_part__init(&p);
    p.recipient = "idva";
    char *fields[] = {"risk_summary", "safe_contact"};
    p.fields = fields;
    p.n_fields = 2;
    CHECK(flag_part_unfit(&p, NULL) == NULL);
    fields[1] = NOT_UTF8;
    fp_error why = {0};
    CHECK_EQ_STR(flag_part_unfit(&p, &why), FLAG_TEXT_NOT_UTF8);
    CHECK(strstr(why.message, "field name") != NULL);
    fields[1] = "safe_contact";
    p.recipient = NOT_UTF8;
    CHECK_EQ_STR(flag_part_unfit(&p, NULL), FLAG_TEXT_NOT_UTF8);
    p.recipient = over(FP_MAX_TEXT);
    CHECK_EQ_STR(flag_part_unfit(&p, NULL), FLAG_TEXT_TOO_LONG);
    p.recipient = "idva";
    p.n_fields = FP_MAX_FIELDS + 1;
    CHECK_EQ_STR(flag_part_unfit(&p, NULL), FLAG_TOO_MANY_FIELDS);
}

int main(void)
{
    RUN(test_every_body_text_is_checked);
    RUN(test_lists_in_the_body);
    RUN(test_part_texts);
    return check_summary();
}
