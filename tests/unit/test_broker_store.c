/*
 * Unit tests for broker/broker_store.c on real LMDB files in a temporary
 * directory: per-agency durable queues (sequence numbers, scans, release on
 * acknowledgement, depth), the replay table, flag records, clients and
 * metadata.
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "broker_store_fixture.h"
#include "check.h"



static MDB_txn *begin(fixture *f, bool write)
{
    MDB_txn *txn = NULL;
    fp_error err = {0};
    if (broker_store_begin(f->s, write, &txn, &err) != FP_OK) {
        printf("#   begin: %s\n", err.message);
        return NULL;
    }
    return txn;
}

static uint8_t FLAG_ID[16] = "flag-id-0123456";

/* Enqueue a Deliver (or a Notice when notice is set) tagged with `mark` in
 * a field that survives packing, so scans can tell entries apart. */
static int enqueue(fixture *f, MDB_txn *txn, const char *agency, int mark, bool notice,
                   uint64_t *seq, uint64_t *written)
{
    Flagpost__ToAgent msg;
    flagpost__to_agent__init(&msg);
    Flagpost__Deliver d;
    flagpost__deliver__init(&d);
    Flagpost__Notice n;
    flagpost__notice__init(&n);
    uint8_t part[4] = {'p', (uint8_t)mark, 0, 0};
    char text[32];
    snprintf(text, sizeof text, "mark %d", mark);
    if (notice) {
        n.kind = (char *)"view";
        n.text = text;
        n.flag_id.data = FLAG_ID;
        n.flag_id.len = 16;
        n.seq = 999;   /* must be overwritten */
        msg.kind_case = FLAGPOST__TO_AGENT__KIND_NOTICE;
        msg.notice = &n;
    } else {
        d.part.data = part;
        d.part.len = sizeof part;
        d.seq = 999;
        msg.kind_case = FLAGPOST__TO_AGENT__KIND_DELIVER;
        msg.deliver = &d;
    }
    fp_error err = {0};
    int rc = broker_store_enqueue(f->s, txn, agency, &msg, seq, &err);
    if (rc != FP_OK)
        printf("#   enqueue: %s\n", err.message);
    if (written != NULL)
        *written = notice ? n.seq : d.seq;
    return rc;
}

/* The mark an entry was enqueued with, from its packed bytes; -1 if the
 * bytes do not decode, -2 if the stored seq disagrees with `seq`. */
static int mark_of(const uint8_t *bytes, size_t len, uint64_t seq)
{
    Flagpost__ToAgent *m = flagpost__to_agent__unpack(NULL, len, bytes);
    if (m == NULL)
        return -1;
    int mark = -1;
    uint64_t stored = 0;
    if (m->kind_case == FLAGPOST__TO_AGENT__KIND_DELIVER && m->deliver->part.len == 4) {
        mark = m->deliver->part.data[1];
        stored = m->deliver->seq;
    } else if (m->kind_case == FLAGPOST__TO_AGENT__KIND_NOTICE) {
        sscanf(m->notice->text, "mark %d", &mark);
        stored = m->notice->seq;
    }
    flagpost__to_agent__free_unpacked(m, NULL);
    return stored == seq ? mark : -2;
}

/* A release callback that records what it was shown, or refuses. */
typedef struct shown {
    bool refuse;
    int calls, mark;
} shown;

static int show_released(void *ctx, const uint8_t *bytes, size_t len, fp_error *err)
{
    shown *sh = ctx;
    sh->calls++;
    if (sh->refuse)
        return fp_error_set(err, FP_ERR_INPUT, "refused by the test");
    sh->mark = mark_of(bytes, len, 2);
    return FP_OK;
}

typedef struct scan {
    int n;
    int stop_after;
    uint64_t seq[32];
    int mark[32];
} scan;

static int collect(void *ctx, uint64_t seq, const uint8_t *bytes, size_t len)
{
    scan *c = ctx;
    if (c->n < 32) {
        c->seq[c->n] = seq;
        c->mark[c->n] = mark_of(bytes, len, seq);
    }
    c->n++;
    return c->stop_after && c->n >= c->stop_after;
}

static scan scan_after(fixture *f, const char *agency, uint64_t after)
{
    scan c = {0};
    MDB_txn *txn = begin(f, false);
    if (broker_store_queue_scan(f->s, txn, agency, after, collect, &c, NULL) != FP_OK)
        c.n = -1;
    mdb_txn_abort(txn);
    return c;
}

static uint64_t depth_of(fixture *f, const char *agency)
{
    uint64_t d = 12345;
    MDB_txn *txn = begin(f, false);
    broker_store_queue_depth(f->s, txn, agency, &d);
    mdb_txn_abort(txn);
    return d;
}

static void test_enqueue_assigns_increasing_seqs(void)
{
    fixture f;
    CHECK(fx_open(&f, "broker-store"));
    if (f.s == NULL)
        return;
    CHECK(broker_store_audit(f.s) != NULL);
    MDB_txn *txn = begin(&f, true);
    bool seqs_ok = true, written_ok = true;
    for (int i = 1; i <= 5; i++) {
        uint64_t seq = 0, written = 0;
        CHECK_EQ_INT(enqueue(&f, txn, "housing", i, i % 2 == 0, &seq, &written), FP_OK);
        seqs_ok &= seq == (uint64_t)i;
        written_ok &= written == (uint64_t)i;   /* deliver.seq / notice.seq */
    }
    CHECK(seqs_ok);
    CHECK(written_ok);
    CHECK_EQ_INT(broker_store_commit(txn, NULL), FP_OK);
    CHECK_EQ_INT(depth_of(&f, "housing"), 5);
    CHECK_EQ_INT(depth_of(&f, "nobody"), 0);
    scan c = scan_after(&f, "housing", 0);
    CHECK_EQ_INT(c.n, 5);
    bool in_order = c.n == 5;
    for (int i = 0; i < c.n && i < 5; i++)
        in_order &= c.seq[i] == (uint64_t)(i + 1) && c.mark[i] == i + 1;
    CHECK(in_order);
    fx_close(&f);
}

static void test_scan_after_a_seq(void)
{
    fixture f;
    CHECK(fx_open(&f, "broker-store"));
    if (f.s == NULL)
        return;
    MDB_txn *txn = begin(&f, true);
    for (int i = 1; i <= 5; i++)
        enqueue(&f, txn, "idva", i, false, NULL, NULL);
    CHECK_EQ_INT(broker_store_commit(txn, NULL), FP_OK);
    scan c = scan_after(&f, "idva", 3);
    CHECK_EQ_INT(c.n, 2);
    CHECK(c.seq[0] == 4 && c.seq[1] == 5 && c.mark[0] == 4 && c.mark[1] == 5);
    c = scan_after(&f, "idva", 5);
    CHECK_EQ_INT(c.n, 0);
    c = scan_after(&f, "idva", 100);
    CHECK_EQ_INT(c.n, 0);
    c = scan_after(&f, "nobody", 0);
    CHECK_EQ_INT(c.n, 0);
    scan stop = {.stop_after = 2};
    txn = begin(&f, false);
    CHECK_EQ_INT(broker_store_queue_scan(f.s, txn, "idva", 0, collect, &stop, NULL), FP_OK);
    mdb_txn_abort(txn);
    CHECK_EQ_INT(stop.n, 2);
    fx_close(&f);
}

static void test_dequeue_releases_once(void)
{
    fixture f;
    CHECK(fx_open(&f, "broker-store"));
    if (f.s == NULL)
        return;
    MDB_txn *txn = begin(&f, true);
    for (int i = 1; i <= 3; i++)
        enqueue(&f, txn, "health", 10 + i, false, NULL, NULL);
    CHECK_EQ_INT(broker_store_commit(txn, NULL), FP_OK);

    txn = begin(&f, true);
    fp_error err = {0};
    /* fn refusing keeps the entry, and its error is returned. */
    shown sh = {.refuse = true};
    CHECK_EQ_INT(broker_store_dequeue(f.s, txn, "health", 2, show_released, &sh, &err),
                 FP_ERR_INPUT);
    uint64_t d = 0;
    broker_store_queue_depth(f.s, txn, "health", &d);
    CHECK_EQ_INT(d, 3);
    sh = (shown){.refuse = false};
    CHECK_EQ_INT(broker_store_dequeue(f.s, txn, "health", 2, show_released, &sh, &err), FP_OK);
    CHECK_EQ_INT(sh.calls, 1);
    CHECK_EQ_INT(sh.mark, 12);
    broker_store_queue_depth(f.s, txn, "health", &d);
    CHECK_EQ_INT(d, 2);
    /* Released already: NOT_FOUND, fn is not called, the depth does not move. */
    sh = (shown){.refuse = false};
    CHECK_EQ_INT(broker_store_dequeue(f.s, txn, "health", 2, show_released, &sh, &err),
                 FP_ERR_NOT_FOUND);
    CHECK_EQ_INT(sh.calls, 0);
    broker_store_queue_depth(f.s, txn, "health", &d);
    CHECK_EQ_INT(d, 2);
    /* Never queued: NOT_FOUND too. */
    CHECK_EQ_INT(broker_store_dequeue(f.s, txn, "health", 9, NULL, NULL, &err),
                 FP_ERR_NOT_FOUND);
    CHECK_EQ_INT(broker_store_dequeue(f.s, txn, "nobody", 1, NULL, NULL, &err),
                 FP_ERR_NOT_FOUND);
    /* Without asking for the bytes. */
    CHECK_EQ_INT(broker_store_dequeue(f.s, txn, "health", 1, NULL, NULL, &err), FP_OK);
    CHECK_EQ_INT(broker_store_commit(txn, NULL), FP_OK);
    CHECK_EQ_INT(depth_of(&f, "health"), 1);
    scan c = scan_after(&f, "health", 0);
    CHECK_EQ_INT(c.n, 1);
    CHECK(c.seq[0] == 3 && c.mark[0] == 13);
    /* Sequence numbers are never reused after a release. */
    txn = begin(&f, true);
    uint64_t seq = 0;
    CHECK_EQ_INT(broker_store_dequeue(f.s, txn, "health", 3, NULL, NULL, &err), FP_OK);
    CHECK_EQ_INT(enqueue(&f, txn, "health", 14, false, &seq, NULL), FP_OK);
    CHECK_EQ_INT(seq, 4);
    CHECK_EQ_INT(broker_store_commit(txn, NULL), FP_OK);
    CHECK_EQ_INT(depth_of(&f, "health"), 1);
    fx_close(&f);
}

typedef struct depths {
    int n;
    char agency[8][64];
    uint64_t depth[8];
} depths;

static int collect_depth(void *ctx, const char *agency, uint64_t depth)
{
    depths *d = ctx;
    if (d->n < 8) {
        snprintf(d->agency[d->n], sizeof d->agency[d->n], "%s", agency);
        d->depth[d->n] = depth;
    }
    d->n++;
    return 0;
}

/* "a" is a prefix of "ab": their queues must not mix. */
static void test_agency_queues_do_not_mix(void)
{
    fixture f;
    CHECK(fx_open(&f, "broker-store"));
    if (f.s == NULL)
        return;
    MDB_txn *txn = begin(&f, true);
    uint64_t sa = 0, sab = 0, sb = 0;
    for (int i = 0; i < 3; i++) {
        CHECK_EQ_INT(enqueue(&f, txn, "a", 20 + i, false, &sa, NULL), FP_OK);
        CHECK_EQ_INT(enqueue(&f, txn, "ab", 30 + i, true, &sab, NULL), FP_OK);
    }
    CHECK_EQ_INT(enqueue(&f, txn, "b", 40, false, &sb, NULL), FP_OK);
    CHECK_EQ_INT(broker_store_commit(txn, NULL), FP_OK);
    CHECK_EQ_INT(sa, 3);    /* each agency counts from 1 on its own */
    CHECK_EQ_INT(sab, 3);
    CHECK_EQ_INT(sb, 1);
    scan c = scan_after(&f, "a", 0);
    CHECK_EQ_INT(c.n, 3);
    CHECK(c.n == 3 && c.mark[0] == 20 && c.mark[1] == 21 && c.mark[2] == 22);
    c = scan_after(&f, "ab", 0);
    CHECK_EQ_INT(c.n, 3);
    CHECK(c.n == 3 && c.mark[0] == 30 && c.mark[2] == 32);
    c = scan_after(&f, "a", 2);
    CHECK(c.n == 1 && c.mark[0] == 22);
    /* Releasing a's entry 1 leaves ab's entry 1 alone. */
    txn = begin(&f, true);
    CHECK_EQ_INT(broker_store_dequeue(f.s, txn, "a", 1, NULL, NULL, NULL), FP_OK);
    CHECK_EQ_INT(broker_store_commit(txn, NULL), FP_OK);
    CHECK_EQ_INT(depth_of(&f, "a"), 2);
    CHECK_EQ_INT(depth_of(&f, "ab"), 3);
    c = scan_after(&f, "ab", 0);
    CHECK(c.n == 3 && c.seq[0] == 1 && c.mark[0] == 30);
    depths d = {0};
    txn = begin(&f, false);
    CHECK_EQ_INT(broker_store_queue_depths(f.s, txn, collect_depth, &d), FP_OK);
    mdb_txn_abort(txn);
    CHECK_EQ_INT(d.n, 3);
    uint64_t da = 99, dab = 99, db = 99;
    for (int i = 0; i < d.n && i < 8; i++) {
        if (strcmp(d.agency[i], "a") == 0)
            da = d.depth[i];
        else if (strcmp(d.agency[i], "ab") == 0)
            dab = d.depth[i];
        else if (strcmp(d.agency[i], "b") == 0)
            db = d.depth[i];
    }
    CHECK_EQ_INT(da, 2);
    CHECK_EQ_INT(dab, 3);
    CHECK_EQ_INT(db, 1);
    fx_close(&f);
}

static void test_queue_survives_reopen_and_abort_discards(void)
{
    fixture f;
    CHECK(fx_open(&f, "broker-store"));
    if (f.s == NULL)
        return;
    MDB_txn *txn = begin(&f, true);
    enqueue(&f, txn, "police", 1, false, NULL, NULL);
    CHECK_EQ_INT(broker_store_commit(txn, NULL), FP_OK);
    txn = begin(&f, true);
    enqueue(&f, txn, "police", 2, false, NULL, NULL);
    mdb_txn_abort(txn);
    broker_store_close(f.s);
    f.s = NULL;
    CHECK_EQ_INT(broker_store_open(&f.s, f.path, BSF_MAP_SIZE, NULL), FP_OK);
    if (f.s == NULL) {
        tmpdir_remove(&f.dir);
        return;
    }
    CHECK_EQ_INT(depth_of(&f, "police"), 1);
    scan c = scan_after(&f, "police", 0);
    CHECK(c.n == 1 && c.mark[0] == 1);
    /* The aborted seq 2 is handed out again. */
    txn = begin(&f, true);
    uint64_t seq = 0;
    enqueue(&f, txn, "police", 3, false, &seq, NULL);
    CHECK_EQ_INT(seq, 2);
    CHECK_EQ_INT(broker_store_commit(txn, NULL), FP_OK);
    fx_close(&f);
}

static void test_seen_records(void)
{
    fixture f;
    CHECK(fx_open(&f, "broker-store"));
    if (f.s == NULL)
        return;
    uint8_t id[16] = "message-id-0001", other[16] = "message-id-0002";
    uint8_t hash[32];
    memset(hash, 7, sizeof hash);
    MDB_txn *txn = begin(&f, true);
    Flagpost__SeenRecord *got = (Flagpost__SeenRecord *)(uintptr_t)1;
    fp_error err = {0};
    CHECK_EQ_INT(broker_store_seen_get(f.s, txn, id, &got, &err), FP_ERR_NOT_FOUND);
    CHECK(got == NULL);
    Flagpost__PublishResult res;
    flagpost__publish_result__init(&res);
    res.status = FLAGPOST__RESULT_STATUS__RESULT_REFUSED;
    res.error = (char *)"replay";
    Flagpost__SeenRecord rec;
    flagpost__seen_record__init(&rec);
    rec.sender = (char *)"police";
    rec.body_hash.data = hash;
    rec.body_hash.len = 32;
    rec.time_ms = 1700000000000;
    rec.result = &res;
    CHECK_EQ_INT(broker_store_seen_put(f.s, txn, id, &rec, &err), FP_OK);
    CHECK_EQ_INT(broker_store_commit(txn, NULL), FP_OK);
    txn = begin(&f, false);
    CHECK_EQ_INT(broker_store_seen_get(f.s, txn, id, &got, &err), FP_OK);
    CHECK(got != NULL);
    if (got != NULL) {
        CHECK_EQ_STR(got->sender, "police");
        CHECK(got->body_hash.len == 32 && memcmp(got->body_hash.data, hash, 32) == 0);
        CHECK_EQ_INT(got->time_ms, 1700000000000);
        CHECK(got->result != NULL && got->result->status == res.status);
        CHECK(got->result != NULL && strcmp(got->result->error, "replay") == 0);
        flagpost__seen_record__free_unpacked(got, NULL);
    }
    CHECK_EQ_INT(broker_store_seen_get(f.s, txn, other, &got, &err), FP_ERR_NOT_FOUND);
    mdb_txn_abort(txn);
    fx_close(&f);
}

typedef struct flag_visits {
    int n;
    int stop_after;
    uint32_t version_sum;
} flag_visits;

static int collect_flag(void *ctx, const uint8_t flag_id[16], const Flagpost__BrokerFlag *rec)
{
    flag_visits *v = ctx;
    (void)flag_id;
    v->n++;
    v->version_sum += rec->version;
    return v->stop_after && v->n >= v->stop_after;
}

static void test_flag_records(void)
{
    fixture f;
    CHECK(fx_open(&f, "broker-store"));
    if (f.s == NULL)
        return;
    uint8_t ids[3][16];
    for (int i = 0; i < 3; i++) {
        memset(ids[i], 0, 16);
        ids[i][15] = (uint8_t)i;
    }
    Flagpost__RecipientState rs, *rsp[1] = {&rs};
    flagpost__recipient_state__init(&rs);
    rs.agency = (char *)"housing";
    rs.rule_id = (char *)"victims-to-housing";
    rs.notify_on_view = 1;
    rs.ack_within_s = 86400;
    Flagpost__BrokerFlag bf;
    flagpost__broker_flag__init(&bf);
    bf.sender = (char *)"police";
    bf.recipients = rsp;
    bf.n_recipients = 1;
    MDB_txn *txn = begin(&f, true);
    fp_error err = {0};
    Flagpost__BrokerFlag *got = NULL;
    CHECK_EQ_INT(broker_store_flag_get(f.s, txn, ids[0], &got, &err), FP_ERR_NOT_FOUND);
    for (int i = 0; i < 3; i++) {
        bf.version = (uint32_t)(i + 1);
        CHECK_EQ_INT(broker_store_flag_put(f.s, txn, ids[i], &bf, &err), FP_OK);
    }
    /* A new version replaces the record. */
    bf.version = 10;
    bf.state = FLAGPOST__FLAG_STATE__FLAG_WITHDRAWN;
    CHECK_EQ_INT(broker_store_flag_put(f.s, txn, ids[0], &bf, &err), FP_OK);
    CHECK_EQ_INT(broker_store_commit(txn, NULL), FP_OK);
    txn = begin(&f, false);
    CHECK_EQ_INT(broker_store_flag_get(f.s, txn, ids[0], &got, &err), FP_OK);
    CHECK(got != NULL && got->version == 10 && got->state == FLAGPOST__FLAG_STATE__FLAG_WITHDRAWN);
    CHECK(got != NULL && got->n_recipients == 1 && got->recipients[0]->ack_within_s == 86400 &&
          strcmp(got->recipients[0]->agency, "housing") == 0);
    if (got)
        flagpost__broker_flag__free_unpacked(got, NULL);
    flag_visits v = {0};
    CHECK_EQ_INT(broker_store_flag_scan(f.s, txn, collect_flag, &v, &err), FP_OK);
    CHECK_EQ_INT(v.n, 3);
    CHECK_EQ_INT(v.version_sum, 10 + 2 + 3);
    flag_visits stop = {.stop_after = 1};
    CHECK_EQ_INT(broker_store_flag_scan(f.s, txn, collect_flag, &stop, &err), FP_OK);
    CHECK_EQ_INT(stop.n, 1);
    mdb_txn_abort(txn);
    fx_close(&f);
}

static void test_clients(void)
{
    fixture f;
    CHECK(fx_open(&f, "broker-store"));
    if (f.s == NULL)
        return;
    uint8_t v1[32], v2[32];
    memset(v1, 1, 32);
    memset(v2, 2, 32);
    Flagpost__Pseudonym p;
    flagpost__pseudonym__init(&p);
    p.kind = FLAGPOST__PSEUDONYM_KIND__PSEUDONYM_NHS;
    p.value.data = v1;
    p.value.len = 32;
    MDB_txn *txn = begin(&f, true);
    CHECK(!broker_store_client_has(f.s, txn, "probation", &p));
    CHECK_EQ_INT(broker_store_client_add(f.s, txn, "probation", &p, NULL), FP_OK);
    CHECK_EQ_INT(broker_store_client_add(f.s, txn, "probation", &p, NULL), FP_OK);   /* again */
    CHECK_EQ_INT(broker_store_commit(txn, NULL), FP_OK);
    txn = begin(&f, false);
    CHECK(broker_store_client_has(f.s, txn, "probation", &p));
    CHECK(!broker_store_client_has(f.s, txn, "probatio", &p));     /* prefix agency */
    CHECK(!broker_store_client_has(f.s, txn, "probation2", &p));
    CHECK(!broker_store_client_has(f.s, txn, "police", &p));
    Flagpost__Pseudonym q = p;
    q.kind = FLAGPOST__PSEUDONYM_KIND__PSEUDONYM_UPRN;            /* other kind */
    CHECK(!broker_store_client_has(f.s, txn, "probation", &q));
    q = p;
    q.value.data = v2;                                            /* other person */
    CHECK(!broker_store_client_has(f.s, txn, "probation", &q));
    mdb_txn_abort(txn);
    fx_close(&f);
}

static void test_meta(void)
{
    fixture f;
    CHECK(fx_open(&f, "broker-store"));
    if (f.s == NULL)
        return;
    MDB_txn *txn = begin(&f, true);
    uint8_t buf[16];
    size_t len = sizeof buf;
    CHECK_EQ_INT(broker_store_meta_get(f.s, txn, "policy_hash", buf, &len), FP_ERR_NOT_FOUND);
    const uint8_t value[] = "0123456789";
    CHECK_EQ_INT(broker_store_meta_put(f.s, txn, "policy_hash", value, 10, NULL), FP_OK);
    CHECK_EQ_INT(broker_store_meta_put(f.s, txn, "policy", value, 3, NULL), FP_OK);
    CHECK_EQ_INT(broker_store_commit(txn, NULL), FP_OK);
    txn = begin(&f, false);
    len = sizeof buf;
    CHECK_EQ_INT(broker_store_meta_get(f.s, txn, "policy_hash", buf, &len), FP_OK);
    CHECK(len == 10 && memcmp(buf, value, 10) == 0);
    len = sizeof buf;
    CHECK_EQ_INT(broker_store_meta_get(f.s, txn, "policy", buf, &len), FP_OK);
    CHECK_EQ_INT(len, 3);
    len = 9;   /* too small for the 10-byte value */
    CHECK_EQ_INT(broker_store_meta_get(f.s, txn, "policy_hash", buf, &len), FP_ERR_INPUT);
    mdb_txn_abort(txn);
    fx_close(&f);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    RUN(test_enqueue_assigns_increasing_seqs);
    RUN(test_scan_after_a_seq);
    RUN(test_dequeue_releases_once);
    RUN(test_agency_queues_do_not_mix);
    RUN(test_queue_survives_reopen_and_abort_discards);
    RUN(test_seen_records);
    RUN(test_flag_records);
    RUN(test_clients);
    RUN(test_meta);
    return check_summary();
}
