/*
 * test_audit_stats: the report's numbers for a small scripted sequence of
 * entries, and the tally table on its own (including growth past its
 * first index size).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit_stats.h"
#include "check.h"

static char *mut(const char *s)
{
    return (char *)(uintptr_t)s;
}

struct ev {
    int event;
    const char *sender, *recipient, *rule, *basis, *consent, *flag, *reason;
    int64_t minute;
};

static void add_all(audit_stats *s, const struct ev *evs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        Flagpost__AuditEntry e;
        flagpost__audit_entry__init(&e);
        unsigned char flag[16];
        memset(flag, 0, sizeof flag);
        e.event = (Flagpost__AuditEvent)evs[i].event;
        e.sender = mut(evs[i].sender ? evs[i].sender : "");
        e.recipient = mut(evs[i].recipient ? evs[i].recipient : "");
        e.rule_id = mut(evs[i].rule ? evs[i].rule : "");
        e.lawful_basis = mut(evs[i].basis ? evs[i].basis : "");
        e.consent = mut(evs[i].consent ? evs[i].consent : "");
        e.reason = mut(evs[i].reason ? evs[i].reason : "");
        e.category = mut("da_victim");
        if (evs[i].flag != NULL) {
            snprintf((char *)flag, sizeof flag, "%s", evs[i].flag);
            e.flag_id.data = flag;
            e.flag_id.len = 16;
        }
        e.time_ms = evs[i].minute * 60000;
        CHECK_EQ_INT(audit_stats_add(s, i, &e, NULL), FP_OK);
    }
}

enum {
    DISC = FLAGPOST__AUDIT_EVENT__AUDIT_DISCLOSURE,
    REF = FLAGPOST__AUDIT_EVENT__AUDIT_REFUSAL,
    DEL = FLAGPOST__AUDIT_EVENT__AUDIT_DELIVERY,
    VIEW = FLAGPOST__AUDIT_EVENT__AUDIT_VIEW,
    ACK = FLAGPOST__AUDIT_EVENT__AUDIT_ACKNOWLEDGEMENT,
    WD = FLAGPOST__AUDIT_EVENT__AUDIT_WITHDRAWAL,
    EXP = FLAGPOST__AUDIT_EVENT__AUDIT_EXPIRY,
    BG = FLAGPOST__AUDIT_EVENT__AUDIT_BREAK_GLASS,
};

static const struct ev SCRIPT[] = {
    {DISC, "police", "health", "r1", "public_task", "not_sought", "F1", NULL, 0},
    {DISC, "police", "housing", "r2", "public_task", "given", "F1", NULL, 0},
    {REF, "police", "school", "", NULL, NULL, "F1", NULL, 0},
    {DISC, "police", "health", "r1", "vital_interests", "not_sought", "F2", NULL, 10},
    {DEL, "police", "health", NULL, NULL, NULL, "F1", NULL, 30},
    {ACK, "police", "health", NULL, NULL, NULL, "F1", NULL, 90},     /* 60 min after delivery */
    {ACK, "police", "health", NULL, NULL, NULL, "F1", NULL, 95},     /* repeat: ignored */
    {ACK, "police", "housing", NULL, NULL, NULL, "F1", NULL, 300},   /* no delivery: from 0 */
    {ACK, "police", "idva", NULL, NULL, NULL, "F9", NULL, 300},      /* never sent: ignored */
    {VIEW, "police", "health", NULL, NULL, NULL, "F1", NULL, 40},
    {VIEW, "police", "health", NULL, NULL, NULL, "F1", NULL, 41},
    {VIEW, "police", "housing", NULL, NULL, NULL, "F1", NULL, 42},
    {REF, "health", "police", "deny-x", NULL, NULL, "F3", NULL, 50},
    {REF, "health", "police", "deny-x", NULL, NULL, "F4", NULL, 51},
    {WD, "police", "health", NULL, NULL, NULL, "F1", "error", 400},
    {WD, "police", "housing", NULL, NULL, NULL, "F1", "error", 400}, /* same flag */
    {EXP, "police", "health", NULL, NULL, NULL, "F2", NULL, 500},
    {BG, "health", "idva", "r9", "vital_interests", NULL, "F5", "<danger>", 600},
};

static void test_report_numbers(void)
{
    audit_stats s;
    audit_stats_init(&s);
    add_all(&s, SCRIPT, sizeof SCRIPT / sizeof SCRIPT[0]);
    audit_stats_finish(&s);
    CHECK_EQ_INT(s.entries, sizeof SCRIPT / sizeof SCRIPT[0]);
    CHECK_EQ_INT(s.by_event[DISC], 3);
    CHECK_EQ_INT(s.first_ms, 0);
    CHECK_EQ_INT(s.last_ms, 600 * 60000);

    CHECK_EQ_INT(s.pairs.n, 2);
    CHECK_EQ_STR(s.pairs.rows[0].key, "police\x1fhealth");
    CHECK_EQ_INT(s.pairs.rows[0].count, 2);
    CHECK_EQ_INT(s.pairs.rows[1].count, 1);

    CHECK_EQ_INT(s.refusal_rules.n, 2);
    CHECK_EQ_STR(s.refusal_rules.rows[0].key, "deny-x");
    CHECK_EQ_INT(s.refusal_rules.rows[0].count, 2);
    CHECK(strstr(s.refusal_rules.rows[1].key, "default deny") != NULL);

    const audit_tally_row *r = audit_tally_find(&s.bases, "public_task");
    CHECK(r != NULL && r->count == 2);
    r = audit_tally_find(&s.consent, "not_sought");
    CHECK(r != NULL && r->count == 2);
    r = audit_tally_find(&s.views, "health");
    CHECK(r != NULL && r->count == 2);

    CHECK_EQ_INT(s.n_ack, 2);
    CHECK_EQ_INT(s.ack_ms[0], 60 * 60000);    /* from delivery */
    CHECK_EQ_INT(s.ack_ms[1], 300 * 60000);   /* from disclosure */
    CHECK_EQ_INT(audit_stats_ack_percentile(&s, 50), 60 * 60000);
    CHECK_EQ_INT(audit_stats_ack_percentile(&s, 90), 300 * 60000);

    CHECK_EQ_INT(s.withdrawn.n, 1);
    CHECK_EQ_INT(s.withdrawn.rows[0].count, 1);   /* one flag, two recipients */
    CHECK_EQ_INT(s.expired.rows[0].count, 1);

    CHECK_EQ_INT(s.n_breaks, 1);
    CHECK_EQ_STR(s.breaks[0].reason, "<danger>");
    CHECK_EQ_INT(s.breaks[0].index, 17);
    audit_stats_free(&s);
}

static void test_empty(void)
{
    audit_stats s;
    audit_stats_init(&s);
    audit_stats_finish(&s);
    CHECK_EQ_INT(s.entries, 0);
    CHECK_EQ_INT(audit_stats_ack_percentile(&s, 50), -1);
    CHECK_EQ_INT(s.pairs.n, 0);
    audit_stats_free(&s);
}

static void test_tally_grows_and_sorts(void)
{
    audit_tally t;
    memset(&t, 0, sizeof t);
    int bad = 0;
    for (int round = 0; round < 3; round++)
        for (int i = 0; i < 1000; i++) {
            char key[16];
            snprintf(key, sizeof key, "k%d", i);
            bad += audit_tally_add(&t, key, (uint64_t)(i % 7 == 0 ? 2 : 1)) != FP_OK;
        }
    CHECK_EQ_INT(bad, 0);
    CHECK_EQ_INT(t.n, 1000);
    const audit_tally_row *r = audit_tally_find(&t, "k700");
    CHECK(r != NULL && r->count == 6);
    CHECK(audit_tally_find(&t, "k1000") == NULL);
    audit_tally_sort(&t);
    CHECK_EQ_INT(t.rows[0].count, 6);
    CHECK_EQ_STR(t.rows[0].key, "k0");
    CHECK_EQ_INT(t.rows[t.n - 1].count, 3);
    r = audit_tally_find(&t, "k700");   /* still found after sorting */
    CHECK(r != NULL && r->count == 6);
    audit_tally_free(&t);
    CHECK_EQ_INT(t.n, 0);
}

int main(void)
{
    RUN(test_report_numbers);
    RUN(test_empty);
    RUN(test_tally_grows_and_sorts);
    return check_summary();
}
