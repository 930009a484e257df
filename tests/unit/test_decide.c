/*
 * Unit tests for broker/decide.c's shape check, the broker's own check of
 * what a (possibly compromised) agent sends: a break-glass flag must carry
 * the free-text justification SPEC 6 requires and IG reviewers read, as
 * the sending agent's own check (agents/flag_json.c, at least 10
 * characters) already demands of an honest one.
 */
#include <sodium.h>
#include <string.h>

#include "check.h"
#include "decide.h"

typedef struct shaped {
    uint8_t flag_id[16];
    uint8_t value[32];
    Flagpost__Pseudonym ps;
    Flagpost__Pseudonym *subject[1];
    Flagpost__FlagBody body;
    Flagpost__Publish pub;
} shaped;

/* A sound flag with no recipient parts (so no digests to match). */
static void shape(shaped *s)
{
    memset(s->flag_id, 0x42, sizeof s->flag_id);
    memset(s->value, 0x17, sizeof s->value);
    flagpost__pseudonym__init(&s->ps);
    s->ps.kind = FLAGPOST__PSEUDONYM_KIND__PSEUDONYM_NHS;
    s->ps.value.data = s->value;
    s->ps.value.len = sizeof s->value;
    s->subject[0] = &s->ps;
    flagpost__flag_body__init(&s->body);
    s->body.flag_id.data = s->flag_id;
    s->body.flag_id.len = sizeof s->flag_id;
    s->body.version = 1;
    s->body.category = (char *)"da_victim";
    s->body.purpose = (char *)"emergency";
    s->body.lawful_basis = (char *)"vital_interests";
    s->body.subject_role = (char *)"victim";
    s->body.subject = s->subject;
    s->body.n_subject = 1;
    flagpost__publish__init(&s->pub);
}

static void test_break_glass_needs_justification(void)
{
    shaped s;
    shape(&s);
    s.body.break_glass = true;
    s.body.justification = (char *)"unconscious in A&E";
    CHECK(decide_flag_shape(&s.body, &s.pub) == NULL);
    s.body.justification = (char *)"0123456789";   /* 10 characters: enough */
    CHECK(decide_flag_shape(&s.body, &s.pub) == NULL);

    s.body.justification = (char *)"012345678";    /* 9: not */
    const char *r = decide_flag_shape(&s.body, &s.pub);
    CHECK(r != NULL);
    s.body.justification = (char *)"";
    r = decide_flag_shape(&s.body, &s.pub);
    CHECK(r != NULL);
    CHECK(r != NULL && strstr(r, "justification") != NULL);

    /* an ordinary flag needs none */
    s.body.break_glass = false;
    CHECK(decide_flag_shape(&s.body, &s.pub) == NULL);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    RUN(test_break_glass_needs_justification);
    return check_summary();
}
