/*
 * Unit tests for broker/lifecycle.c's deadlines on a real broker store
 * (LMDB in a temporary directory) and the example policy: a deadline
 * scheduled for one version of a flag must not act on a later version
 * whose own dates and acknowledgement window are later.  Times are fixed
 * numbers, never the clock.
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "broker_world.h"
#include "check.h"
#include "lifecycle.h"

#define NOW 1800000000000LL                 /* a fixed "broker clock", ms */
#define DAY_MS 86400000LL
#define SENDER "met-police"
#define TO "housing-hf"

typedef struct world {
    fixture f;
    broker b;
    uint8_t flag_id[16];
    uint8_t pseudonym[32];
} world;

static bool world_open(world *w, const char *name)
{
    memset(w, 0, sizeof *w);
    if (!bw_open(&w->f, &w->b, name, "test_lifecycle"))
        return false;
    memset(w->flag_id, 0x42, sizeof w->flag_id);
    memset(w->pseudonym, 0x17, sizeof w->pseudonym);
    return true;
}

static void world_close(world *w)
{
    bw_close(&w->f, &w->b);
}

/* Record version `version` of the flag, disclosed to TO, as intake does
 * after deciding it: expires_at in unix seconds (0: none), ack_within_s
 * from the deciding rule. */
static bool record_version(world *w, uint32_t version, int64_t expires_at, int64_t ack_within_s,
                           int64_t now)
{
    Flagpost__Pseudonym ps;
    flagpost__pseudonym__init(&ps);
    ps.kind = FLAGPOST__PSEUDONYM_KIND__PSEUDONYM_NHS;
    ps.value.data = w->pseudonym;
    ps.value.len = sizeof w->pseudonym;
    Flagpost__Pseudonym *subject[1] = {&ps};

    Flagpost__FlagBody body;
    flagpost__flag_body__init(&body);
    body.flag_id.data = w->flag_id;
    body.flag_id.len = sizeof w->flag_id;
    body.version = version;
    body.lifecycle = version == 1 ? FLAGPOST__LIFECYCLE__LIFECYCLE_PUBLISH
                                  : FLAGPOST__LIFECYCLE__LIFECYCLE_UPDATE;
    body.category = (char *)"da_victim";
    body.purpose = (char *)"safeguarding";
    body.lawful_basis = (char *)"public_task_safeguarding";
    body.subject_role = (char *)"victim";
    body.subject = subject;
    body.n_subject = 1;
    body.expires_at = expires_at;

    size_t len = flagpost__flag_body__get_packed_size(&body);
    uint8_t *packed = malloc(len ? len : 1);
    if (packed == NULL)
        return false;
    flagpost__flag_body__pack(&body, packed);

    uint8_t msg_id[16];
    memset(msg_id, (int)version, sizeof msg_id);
    Flagpost__Envelope env;
    flagpost__envelope__init(&env);
    env.sender = (char *)SENDER;
    env.message_id.data = msg_id;
    env.message_id.len = sizeof msg_id;
    env.body.data = packed;
    env.body.len = len;

    Flagpost__RecipientPart part;
    flagpost__recipient_part__init(&part);
    part.recipient = (char *)TO;
    recipient_verdict v;
    memset(&v, 0, sizeof v);
    v.part = &part;
    v.allowed = true;
    v.rule_id = "victim-to-housing-with-consent";
    v.reason = "";
    v.decision.allowed = true;
    v.decision.rule_id = v.rule_id;
    v.decision.ack_within_s = ack_within_s;

    fp_error err = {0};
    MDB_txn *txn = NULL;
    Flagpost__BrokerFlag *prior = NULL;
    bool ok = broker_store_begin(w->b.store, true, &txn, &err) == FP_OK;
    if (ok)
        broker_store_flag_get(w->b.store, txn, w->flag_id, &prior, NULL);
    ok = ok && lifecycle_record(&w->b, txn, &env, &body, &v, 1, prior, now, &err) == FP_OK;
    if (ok)
        ok = broker_store_commit(txn, &err) == FP_OK;
    else if (txn != NULL)
        broker_store_abort(txn);
    if (!ok)
        printf("#   lifecycle_record: %s\n", err.message);
    if (prior != NULL)
        flagpost__broker_flag__free_unpacked(prior, NULL);
    free(packed);
    return ok;
}

/* TO's recipient state in the stored flag record (copied out). */
static bool state_of_to(world *w, Flagpost__RecipientState *out, Flagpost__FlagState *state)
{
    MDB_txn *txn = NULL;
    fp_error err = {0};
    Flagpost__BrokerFlag *f = NULL;
    bool found = false;
    if (broker_store_begin(w->b.store, false, &txn, &err) != FP_OK)
        return false;
    if (broker_store_flag_get(w->b.store, txn, w->flag_id, &f, NULL) == FP_OK) {
        *state = f->state;
        for (size_t i = 0; i < f->n_recipients; i++)
            if (strcmp(f->recipients[i]->agency, TO) == 0) {
                *out = *f->recipients[i];
                out->agency = NULL;
                out->rule_id = NULL;
                out->outcome = NULL;
                found = true;
            }
        flagpost__broker_flag__free_unpacked(f, NULL);
    }
    broker_store_abort(txn);
    return found;
}

/* How many queued notices of `kind` wait for agency. */
typedef struct notice_count {
    const char *kind;
    int n;
} notice_count;

static int count_notice(void *ctx, uint64_t seq, const uint8_t *bytes, size_t len)
{
    (void)seq;
    notice_count *c = ctx;
    Flagpost__ToAgent *m = flagpost__to_agent__unpack(NULL, len, bytes);
    if (m != NULL && m->kind_case == FLAGPOST__TO_AGENT__KIND_NOTICE &&
        strcmp(m->notice->kind, c->kind) == 0)
        c->n++;
    if (m != NULL)
        flagpost__to_agent__free_unpacked(m, NULL);
    return 0;
}

static int notices(world *w, const char *agency, const char *kind)
{
    MDB_txn *txn = NULL;
    fp_error err = {0};
    notice_count c = {kind, 0};
    if (broker_store_begin(w->b.store, false, &txn, &err) != FP_OK)
        return -1;
    broker_store_queue_scan(w->b.store, txn, agency, 0, count_notice, &c, NULL);
    broker_store_abort(txn);
    return c.n;
}

/* Version 1 expires in 10 days; version 2, sent on day 5, in 30.  On day
 * 11 the recipient must still hold version 2; on day 31 it expires. */
static void test_update_extending_expiry_is_not_expired_by_old_deadline(void)
{
    world w;
    CHECK(world_open(&w, "lifecycle-expiry"));
    CHECK(record_version(&w, 1, (NOW + 10 * DAY_MS) / 1000, 0, NOW));
    CHECK(record_version(&w, 2, (NOW + 30 * DAY_MS) / 1000, 0, NOW + 5 * DAY_MS));

    lifecycle_run_deadlines(&w.b, NOW + 11 * DAY_MS);
    Flagpost__RecipientState r;
    Flagpost__FlagState state = FLAGPOST__FLAG_STATE__FLAG_ACTIVE;
    CHECK(state_of_to(&w, &r, &state));
    CHECK(!r.expired);
    CHECK_EQ_INT(state, FLAGPOST__FLAG_STATE__FLAG_ACTIVE);
    CHECK_EQ_INT(notices(&w, TO, "expired"), 0);

    /* the nearest valid case: version 2's own expiry still acts */
    lifecycle_run_deadlines(&w.b, NOW + 31 * DAY_MS);
    CHECK(state_of_to(&w, &r, &state));
    CHECK(r.expired);
    CHECK_EQ_INT(state, FLAGPOST__FLAG_STATE__FLAG_EXPIRED);
    CHECK_EQ_INT(notices(&w, TO, "expired"), 1);
    world_close(&w);
}

/* Version 1 must be acknowledged within an hour; version 2, sent after 50
 * minutes, restarts the hour.  At 61 minutes nothing is escalated; at 111
 * the sender is told. */
static void test_update_restarts_acknowledgement_window(void)
{
    world w;
    CHECK(world_open(&w, "lifecycle-ack"));
    CHECK(record_version(&w, 1, 0, 3600, NOW));
    CHECK(record_version(&w, 2, 0, 3600, NOW + 50 * 60000LL));

    lifecycle_run_deadlines(&w.b, NOW + 61 * 60000LL);
    Flagpost__RecipientState r;
    Flagpost__FlagState state;
    CHECK(state_of_to(&w, &r, &state));
    CHECK(!r.escalated);
    CHECK_EQ_INT(notices(&w, SENDER, "escalation"), 0);

    lifecycle_run_deadlines(&w.b, NOW + 111 * 60000LL);
    CHECK(state_of_to(&w, &r, &state));
    CHECK(r.escalated);
    CHECK_EQ_INT(notices(&w, SENDER, "escalation"), 1);
    world_close(&w);
}

/* A lifecycle number outside the enum (protobuf-c keeps it as sent) is
 * neither a publication, an update nor a withdrawal: it must be refused,
 * not taken as an update and audited as a first disclosure. */
static void test_unknown_lifecycle_is_refused(void)
{
    world w;
    CHECK(world_open(&w, "lifecycle-unknown"));
    CHECK(record_version(&w, 1, 0, 0, NOW));

    Flagpost__FlagBody body;
    flagpost__flag_body__init(&body);
    body.flag_id.data = w.flag_id;
    body.flag_id.len = sizeof w.flag_id;
    body.version = 2;
    body.lifecycle = (Flagpost__Lifecycle)3;
    uint8_t packed[64];
    size_t len = flagpost__flag_body__pack(&body, packed);
    Flagpost__FlagBody *got = flagpost__flag_body__unpack(NULL, len, packed);
    CHECK(got != NULL);
    Flagpost__Envelope env;
    flagpost__envelope__init(&env);
    env.sender = (char *)SENDER;

    MDB_txn *txn = NULL;
    fp_error err = {0};
    CHECK(broker_store_begin(w.b.store, false, &txn, &err) == FP_OK);
    if (got != NULL && txn != NULL) {
        CHECK_EQ_INT(got->lifecycle, 3);   /* reaches the broker as sent */
        Flagpost__BrokerFlag *prior = NULL;
        CHECK(lifecycle_check(&w.b, txn, &env, got, &prior) != NULL);
        if (prior != NULL)
            flagpost__broker_flag__free_unpacked(prior, NULL);
        /* the nearest valid case: an update */
        got->lifecycle = FLAGPOST__LIFECYCLE__LIFECYCLE_UPDATE;
        CHECK(lifecycle_check(&w.b, txn, &env, got, &prior) == NULL);
        if (prior != NULL)
            flagpost__broker_flag__free_unpacked(prior, NULL);
    }
    if (txn != NULL)
        broker_store_abort(txn);
    if (got != NULL)
        flagpost__flag_body__free_unpacked(got, NULL);
    world_close(&w);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    RUN(test_update_extending_expiry_is_not_expired_by_old_deadline);
    RUN(test_update_restarts_acknowledgement_window);
    RUN(test_unknown_lifecycle_is_refused);
    return check_summary();
}
