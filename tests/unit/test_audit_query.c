/*
 * test_audit_query: the filters, event names, dates and sentences the
 * audit tools use, over hand-built entries, and audit_query_run over a
 * real store.
 */
#include <lmdb.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit_chronology.h"
#include "audit_log.h"
#include "audit_query.h"
#include "check.h"
#include "store.h"

struct entry {
    Flagpost__AuditEntry e;
    Flagpost__Pseudonym ps[2];
    Flagpost__Pseudonym *pp[2];
    unsigned char v[2][32];
};

static char *mut(const char *s)
{
    return (char *)(uintptr_t)s;
}

static void make(struct entry *x, int event, const char *sender, const char *recipient,
                 int64_t t, unsigned char subject_byte)
{
    memset(x, 0, sizeof *x);
    flagpost__audit_entry__init(&x->e);
    x->e.event = (Flagpost__AuditEvent)event;
    x->e.sender = mut(sender);
    x->e.recipient = mut(recipient);
    x->e.time_ms = t;
    x->e.category = mut("da_victim");
    x->e.decision = mut("allowed");
    if (subject_byte != 0) {
        for (int k = 0; k < 2; k++) {
            flagpost__pseudonym__init(&x->ps[k]);
            memset(x->v[k], subject_byte + k, 32);
            x->ps[k].kind = (Flagpost__PseudonymKind)(k == 0 ? PSEUDONYM_KIND_NHS
                                                             : PSEUDONYM_KIND_POSTCODE);
            x->ps[k].value.data = x->v[k];
            x->ps[k].value.len = 32;
            x->pp[k] = &x->ps[k];
        }
        x->e.subject = x->pp;
        x->e.n_subject = 2;
    }
}

static void test_agency_and_direction(void)
{
    struct entry x;
    make(&x, FLAGPOST__AUDIT_EVENT__AUDIT_DISCLOSURE, "police", "health", 0, 0);
    audit_filter f;
    audit_filter_init(&f);
    CHECK(audit_filter_match(&f, &x.e));
    f.agency = "police";
    CHECK(audit_filter_match(&f, &x.e));
    f.direction = AUDIT_DIRECTION_SENT;
    CHECK(audit_filter_match(&f, &x.e));
    f.direction = AUDIT_DIRECTION_RECEIVED;
    CHECK(!audit_filter_match(&f, &x.e));
    f.agency = "health";
    CHECK(audit_filter_match(&f, &x.e));
    f.direction = AUDIT_DIRECTION_SENT;
    CHECK(!audit_filter_match(&f, &x.e));
    f.direction = AUDIT_DIRECTION_ANY;
    f.agency = "housing";
    CHECK(!audit_filter_match(&f, &x.e));
    f.agency = "polic";   /* whole ids only */
    CHECK(!audit_filter_match(&f, &x.e));
}

static void test_subject_category_decision_event(void)
{
    struct entry x;
    make(&x, FLAGPOST__AUDIT_EVENT__AUDIT_VIEW, "police", "health", 0, 0x40);
    audit_filter f;
    audit_filter_init(&f);
    pseudonym p[2];
    memset(p, 0, sizeof p);
    p[0].kind = PSEUDONYM_KIND_POSTCODE;
    memset(p[0].value, 0x41, 32);          /* the entry's second pseudonym */
    f.subjects = p;
    f.n_subjects = 1;
    CHECK(audit_filter_match(&f, &x.e));
    p[0].kind = PSEUDONYM_KIND_UPRN;       /* same bytes, other kind: no */
    CHECK(!audit_filter_match(&f, &x.e));
    p[1].kind = PSEUDONYM_KIND_NHS;
    memset(p[1].value, 0x40, 32);
    f.n_subjects = 2;                      /* any of them is enough */
    CHECK(audit_filter_match(&f, &x.e));
    f.category = "da_victim";
    f.decision = "allowed";
    f.event = FLAGPOST__AUDIT_EVENT__AUDIT_VIEW;
    CHECK(audit_filter_match(&f, &x.e));
    f.event = FLAGPOST__AUDIT_EVENT__AUDIT_DISCLOSURE;
    CHECK(!audit_filter_match(&f, &x.e));
    f.event = 0;
    f.decision = "refused";
    CHECK(!audit_filter_match(&f, &x.e));
    f.decision = NULL;
    f.category = "da_perpetrator";
    CHECK(!audit_filter_match(&f, &x.e));
    struct entry none;
    make(&none, FLAGPOST__AUDIT_EVENT__AUDIT_VIEW, "police", "health", 0, 0);
    f.category = NULL;
    CHECK(!audit_filter_match(&f, &none.e));
}

static void test_period_bounds_are_inclusive(void)
{
    struct entry x;
    audit_filter f;
    audit_filter_init(&f);
    CHECK(audit_time_parse("2024-05-10", false, &f.from_ms, "--from", NULL) == FP_OK);
    CHECK(audit_time_parse("2024-05-10", true, &f.to_ms, "--to", NULL) == FP_OK);
    CHECK_EQ_INT(f.from_ms, 1715299200000LL);
    CHECK_EQ_INT(f.to_ms, 1715299200000LL + 86400000LL - 1);
    make(&x, 1, "a", "b", f.from_ms, 0);
    CHECK(audit_filter_match(&f, &x.e));
    x.e.time_ms = f.to_ms;
    CHECK(audit_filter_match(&f, &x.e));
    x.e.time_ms = f.to_ms + 1;
    CHECK(!audit_filter_match(&f, &x.e));
    x.e.time_ms = f.from_ms - 1;
    CHECK(!audit_filter_match(&f, &x.e));
}

static void test_time_parse(void)
{
    int64_t ms = 0;
    fp_error err;
    CHECK(audit_time_parse("2024-05-01T09:30:00Z", false, &ms, "--from", &err) == FP_OK);
    CHECK_EQ_INT(ms, 1714555800000LL);
    CHECK(audit_time_parse("2024-05-01T10:30:00+01:00", false, &ms, "--from", &err) == FP_OK);
    CHECK_EQ_INT(ms, 1714555800000LL);
    CHECK(audit_time_parse("2024-05-01T09:30:00.250Z", false, &ms, "--from", &err) == FP_OK);
    CHECK_EQ_INT(ms, 1714555800250LL);
    CHECK(audit_time_parse("2024-05-01T09:30", true, &ms, "--to", &err) == FP_OK);
    CHECK_EQ_INT(ms, 1714555800000LL);   /* end_of_day applies to dates only */
    CHECK(audit_time_parse("2024-02-29", false, &ms, "--from", &err) == FP_OK);
    CHECK_EQ_INT(audit_time_parse("2023-02-29", false, &ms, "--from", &err), FP_ERR_INPUT);
    CHECK(strstr(err.message, "not a real date") != NULL);
    const char *bad[] = {"2024-5-1", "01/05/2024", "2024-05-01T25:00Z", "2024-05-01T09:30Zjunk",
                         "2024-13-01", "yesterday", "", "2024-05-01T09:30:00+0100"};
    int rejected = 0;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        rejected += audit_time_parse(bad[i], false, &ms, "--from", &err) == FP_ERR_INPUT;
    CHECK_EQ_INT(rejected, (int)(sizeof bad / sizeof bad[0]));
    CHECK(strstr(err.message, "--from") != NULL);
}

static void test_event_names_round_trip(void)
{
    int ok = 0;
    for (int e = 1; e <= 16; e++) {
        int back = 0;
        const char *name = audit_event_name(e);
        ok += audit_event_parse(name, &back, NULL) == FP_OK && back == e &&
              strstr(audit_event_names(), name) != NULL;
    }
    CHECK_EQ_INT(ok, 16);
    int v;
    fp_error err;
    CHECK_EQ_INT(audit_event_parse("explosion", &v, &err), FP_ERR_INPUT);
    CHECK(strstr(err.message, "break_glass") != NULL);
    CHECK_EQ_STR(audit_event_label(FLAGPOST__AUDIT_EVENT__AUDIT_BREAK_GLASS), "Break-glass");
}

static void test_actor_and_describe(void)
{
    struct entry x;
    make(&x, FLAGPOST__AUDIT_EVENT__AUDIT_VIEW, "police", "health", 0, 0);
    CHECK_EQ_STR(audit_entry_actor(&x.e), "health");
    x.e.event = FLAGPOST__AUDIT_EVENT__AUDIT_DISCLOSURE;
    CHECK_EQ_STR(audit_entry_actor(&x.e), "police");
    x.e.rule_id = mut("r1");
    x.e.lawful_basis = mut("public_task");
    char text[256];
    audit_entry_describe(&x.e, text, sizeof text);
    CHECK_EQ_STR(text, "police shared a da_victim flag with health (rule r1; lawful basis "
                       "public_task)");
    x.e.event = FLAGPOST__AUDIT_EVENT__AUDIT_ACKNOWLEDGEMENT;
    x.e.rule_id = mut("");
    x.e.lawful_basis = mut("");
    audit_entry_describe(&x.e, text, sizeof text);
    CHECK_EQ_STR(text, "health acknowledged police's da_victim flag");
    char tiny[8];
    audit_entry_describe(&x.e, tiny, sizeof tiny);
    CHECK(strlen(tiny) < sizeof tiny);
}

static int collect(void *ctx, uint64_t index, const Flagpost__AuditEntry *e)
{
    char *out = ctx;
    char buf[32];
    snprintf(buf, sizeof buf, "%llu:%s ", (unsigned long long)index, e->sender);
    strcat(out, buf);
    return 0;
}

static void test_query_run_over_a_store(void)
{
    char dir[] = "/tmp/fp-audit-query.XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    MDB_env *env;
    audit_log *log;
    CHECK(store_env_open(&env, dir, 16u << 20, 32, 0, NULL) == FP_OK);
    CHECK(audit_log_open(&log, env, NULL) == FP_OK);
    MDB_txn *txn;
    CHECK(mdb_txn_begin(env, NULL, 0, &txn) == 0);
    const char *senders[] = {"police", "health", "police", "idva", "police"};
    for (int i = 0; i < 5; i++) {
        struct entry x;
        make(&x, FLAGPOST__AUDIT_EVENT__AUDIT_DISCLOSURE, senders[i], "housing", i * 1000, 0);
        CHECK(audit_log_append_entry(log, txn, &x.e, NULL, NULL) == FP_OK);
    }
    CHECK(mdb_txn_commit(txn) == 0);
    CHECK(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) == 0);
    audit_filter f;
    audit_filter_init(&f);
    f.agency = "police";
    f.direction = AUDIT_DIRECTION_SENT;
    char out[256] = "";
    CHECK(audit_query_run(log, txn, 0, &f, collect, out, NULL) == FP_OK);
    CHECK_EQ_STR(out, "0:police 2:police 4:police ");
    out[0] = '\0';
    CHECK(audit_query_run(log, txn, 3, NULL, collect, out, NULL) == FP_OK);
    CHECK_EQ_STR(out, "3:idva 4:police ");
    mdb_txn_abort(txn);

    /* A damaged entry is reported by index, not skipped. */
    MDB_dbi entries;
    audit_log_dbis(log, &entries, NULL, NULL);
    CHECK(mdb_txn_begin(env, NULL, 0, &txn) == 0);
    unsigned char key[8];
    store_put_u64(key, 1);
    const unsigned char junk[] = {0xff, 0xff, 0xff};
    MDB_val k = {8, key}, v = {sizeof junk, (void *)(uintptr_t)junk};
    CHECK(mdb_put(txn, entries, &k, &v, 0) == 0);
    CHECK(mdb_txn_commit(txn) == 0);
    CHECK(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) == 0);
    fp_error err;
    out[0] = '\0';
    CHECK_EQ_INT(audit_query_run(log, txn, 0, NULL, collect, out, &err), FP_ERR_IO);
    CHECK(strstr(err.message, "entry 1 cannot be decoded") != NULL);
    mdb_txn_abort(txn);
    audit_log_close(log);
    mdb_env_close(env);
    char cmd[64];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
}

/* Entries naming the subject, and later entries about the same flag that
 * do not name it, in time order (not log order); others left out. */
static void test_chronology_follows_flags(void)
{
    char dir[] = "/tmp/fp-audit-chron.XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    MDB_env *env;
    audit_log *log;
    CHECK(store_env_open(&env, dir, 16u << 20, 32, 0, NULL) == FP_OK);
    CHECK(audit_log_open(&log, env, NULL) == FP_OK);
    MDB_txn *txn;
    CHECK(mdb_txn_begin(env, NULL, 0, &txn) == 0);
    struct {
        int event;
        const char *sender, *recipient;
        int64_t t;
        unsigned char subject, flag;
    } script[] = {
        {FLAGPOST__AUDIT_EVENT__AUDIT_DELIVERY, "police", "health", 5, 0, 1},   /* before */
        {FLAGPOST__AUDIT_EVENT__AUDIT_DISCLOSURE, "police", "health", 10, 0x40, 1},
        {FLAGPOST__AUDIT_EVENT__AUDIT_DISCLOSURE, "idva", "health", 11, 0x70, 2},
        {FLAGPOST__AUDIT_EVENT__AUDIT_DELIVERY, "police", "health", 30, 0, 1},
        {FLAGPOST__AUDIT_EVENT__AUDIT_VIEW, "police", "health", 20, 0x40, 1},
        {FLAGPOST__AUDIT_EVENT__AUDIT_DELIVERY, "idva", "health", 31, 0, 2},
    };
    for (size_t i = 0; i < sizeof script / sizeof script[0]; i++) {
        struct entry x;
        make(&x, script[i].event, script[i].sender, script[i].recipient, script[i].t,
             script[i].subject);
        unsigned char flag[16];
        memset(flag, script[i].flag, sizeof flag);
        x.e.flag_id.data = flag;
        x.e.flag_id.len = 16;
        CHECK(audit_log_append_entry(log, txn, &x.e, NULL, NULL) == FP_OK);
    }
    CHECK(mdb_txn_commit(txn) == 0);
    audit_chronology c;
    audit_chronology_init(&c);
    c.subjects[0].kind = PSEUDONYM_KIND_NHS;
    memset(c.subjects[0].value, 0x40, 32);
    c.n_subjects = 1;
    CHECK(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) == 0);
    CHECK(audit_chronology_collect(&c, log, txn, NULL) == FP_OK);
    mdb_txn_abort(txn);
    char got[64] = "";
    for (size_t i = 0; i < c.n; i++) {
        char b[8];
        snprintf(b, sizeof b, "%llu ", (unsigned long long)c.items[i].index);
        strcat(got, b);
    }
    CHECK_EQ_STR(got, "1 4 3 ");
    CHECK_EQ_INT(c.n_agencies, 2);
    CHECK_EQ_STR(c.agencies[0].agency, "police");
    CHECK_EQ_INT(c.agencies[1].by_event[FLAGPOST__AUDIT_EVENT__AUDIT_VIEW], 1);
    CHECK_EQ_INT(c.agencies[1].by_event[FLAGPOST__AUDIT_EVENT__AUDIT_DELIVERY], 1);
    audit_chronology_free(&c);

    audit_chronology_init(&c);
    c.subjects[0].kind = PSEUDONYM_KIND_NHS;
    memset(c.subjects[0].value, 0x40, 32);
    c.n_subjects = 1;
    c.from_ms = 15;   /* the flag is still followed from before the period */
    CHECK(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) == 0);
    CHECK(audit_chronology_collect(&c, log, txn, NULL) == FP_OK);
    mdb_txn_abort(txn);
    CHECK_EQ_INT(c.n, 2);
    CHECK_EQ_INT(c.items[0].index, 4);
    CHECK_EQ_INT(c.items[1].index, 3);
    audit_chronology_free(&c);
    audit_log_close(log);
    mdb_env_close(env);
    char cmd[64];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    RUN(test_agency_and_direction);
    RUN(test_subject_category_decision_event);
    RUN(test_period_bounds_are_inclusive);
    RUN(test_time_parse);
    RUN(test_event_names_round_trip);
    RUN(test_actor_and_describe);
    RUN(test_query_run_over_a_store);
    RUN(test_chronology_follows_flags);
    return check_summary();
}
