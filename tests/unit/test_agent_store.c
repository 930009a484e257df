/*
 * Unit tests for agents/agent_store.c on real LMDB files in a temporary
 * directory: the outbox and its pending index, received flags and their
 * pseudonym index (including what an update removes), delivery dedupe and
 * the newest-first inbox.
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "agent_store.h"
#include "check.h"
#include "tmpdir.h"

#define MAP_SIZE ((size_t)32 << 20)

typedef struct fixture {
    tmpdir dir;
    char path[600];
    agent_store *s;
} fixture;

static bool fx_open(fixture *f)
{
    f->s = NULL;
    if (!tmpdir_make(&f->dir, "agent-store"))
        return false;
    tmpdir_file(&f->dir, "store", f->path, sizeof f->path);
    fp_error err = {0};
    if (agent_store_open(&f->s, f->path, MAP_SIZE, &err) != FP_OK) {
        printf("#   agent_store_open: %s\n", err.message);
        return false;
    }
    return true;
}

static void fx_close(fixture *f)
{
    agent_store_close(f->s);
    f->s = NULL;
    tmpdir_remove(&f->dir);
}

static MDB_txn *begin(fixture *f, bool write)
{
    MDB_txn *txn = NULL;
    fp_error err = {0};
    if (agent_store_begin(f->s, write, &txn, &err) != FP_OK) {
        printf("#   begin: %s\n", err.message);
        return NULL;
    }
    return txn;
}

static void id_of(uint8_t id[16], int n)
{
    memset(id, 0, 16);
    id[0] = 0xa0;
    id[15] = (uint8_t)n;
}

/* ---------------------------------------------------------------- outbox */

static void outbox_rec(Flagpost__OutboxRecord *r, uint8_t id[16], int n, int state)
{
    flagpost__outbox_record__init(r);
    id_of(id, n);
    r->message_id.data = id;
    r->message_id.len = 16;
    r->type = FLAGPOST__MESSAGE_TYPE__MESSAGE_FLAG;
    r->accepted_ms = 1700000000000 + n;
    r->state = state;
    r->attempts = (uint32_t)n;
}

typedef struct seen_ids {
    int n;
    int stop_after;
    uint8_t ids[16][16];
} seen_ids;

static int collect_outbox(void *ctx, const Flagpost__OutboxRecord *rec)
{
    seen_ids *c = ctx;
    if (c->n < 16 && rec->message_id.len == 16)
        memcpy(c->ids[c->n], rec->message_id.data, 16);
    c->n++;
    return c->stop_after && c->n >= c->stop_after;
}

static void test_outbox_put_get_and_pending_index(void)
{
    fixture f;
    CHECK(fx_open(&f));
    if (f.s == NULL)
        return;
    MDB_txn *txn = begin(&f, true);
    uint8_t ids[4][16];
    Flagpost__OutboxRecord r;
    fp_error err = {0};
    for (int i = 0; i < 4; i++) {
        outbox_rec(&r, ids[i], i + 1, FLAGPOST__OUTBOX_STATE__OUTBOX_PENDING);
        CHECK_EQ_INT(agent_store_outbox_put(f.s, txn, &r, &err), FP_OK);
    }
    CHECK_EQ_INT(agent_store_commit(txn, &err), FP_OK);

    txn = begin(&f, false);
    size_t pending = 9, total = 9;
    CHECK_EQ_INT(agent_store_outbox_count(f.s, txn, &pending, &total), FP_OK);
    CHECK_EQ_INT(pending, 4);
    CHECK_EQ_INT(total, 4);
    Flagpost__OutboxRecord *got = NULL;
    CHECK_EQ_INT(agent_store_outbox_get(f.s, txn, ids[2], &got, &err), FP_OK);
    CHECK(got != NULL && got->attempts == 3 && got->accepted_ms == 1700000000003 &&
          memcmp(got->message_id.data, ids[2], 16) == 0);
    if (got)
        flagpost__outbox_record__free_unpacked(got, NULL);
    uint8_t unknown[16];
    id_of(unknown, 99);
    CHECK_EQ_INT(agent_store_outbox_get(f.s, txn, unknown, &got, &err), FP_ERR_NOT_FOUND);
    CHECK(got == NULL);
    agent_store_abort(txn);

    /* Done and refused records leave the pending index; the record stays. */
    txn = begin(&f, true);
    outbox_rec(&r, ids[0], 1, FLAGPOST__OUTBOX_STATE__OUTBOX_DONE);
    CHECK_EQ_INT(agent_store_outbox_put(f.s, txn, &r, &err), FP_OK);
    outbox_rec(&r, ids[3], 4, FLAGPOST__OUTBOX_STATE__OUTBOX_REFUSED);
    CHECK_EQ_INT(agent_store_outbox_put(f.s, txn, &r, &err), FP_OK);
    /* Putting a done record again (already out of the index) is fine. */
    outbox_rec(&r, ids[3], 4, FLAGPOST__OUTBOX_STATE__OUTBOX_REFUSED);
    CHECK_EQ_INT(agent_store_outbox_put(f.s, txn, &r, &err), FP_OK);
    CHECK_EQ_INT(agent_store_outbox_count(f.s, txn, &pending, &total), FP_OK);
    CHECK_EQ_INT(pending, 2);
    CHECK_EQ_INT(total, 4);
    seen_ids c = {0};
    CHECK_EQ_INT(agent_store_outbox_pending(f.s, txn, NULL, collect_outbox, &c, &err), FP_OK);
    CHECK_EQ_INT(c.n, 2);
    bool saw1 = false, saw2 = false;
    for (int i = 0; i < c.n && i < 16; i++) {
        saw1 |= memcmp(c.ids[i], ids[1], 16) == 0;
        saw2 |= memcmp(c.ids[i], ids[2], 16) == 0;
    }
    CHECK(saw1 && saw2);
    /* A record put back to pending rejoins the index. */
    outbox_rec(&r, ids[0], 1, FLAGPOST__OUTBOX_STATE__OUTBOX_PENDING);
    CHECK_EQ_INT(agent_store_outbox_put(f.s, txn, &r, &err), FP_OK);
    CHECK_EQ_INT(agent_store_outbox_count(f.s, txn, &pending, &total), FP_OK);
    CHECK_EQ_INT(pending, 3);
    /* The visitor can stop the scan. */
    seen_ids stop = {.stop_after = 1};
    CHECK_EQ_INT(agent_store_outbox_pending(f.s, txn, NULL, collect_outbox, &stop, &err), FP_OK);
    CHECK_EQ_INT(stop.n, 1);
    /* A visit resumes after a given record, in id order: after the first
     * of the three, the other two; after the last, none; after an id that
     * is not in the index, every record that sorts after it. */
    seen_ids all = {0}, rest = {0}, none = {0}, from_gap = {0};
    CHECK_EQ_INT(agent_store_outbox_pending(f.s, txn, NULL, collect_outbox, &all, &err), FP_OK);
    CHECK_EQ_INT(all.n, 3);
    CHECK(memcmp(all.ids[0], all.ids[1], 16) < 0 && memcmp(all.ids[1], all.ids[2], 16) < 0);
    CHECK_EQ_INT(agent_store_outbox_pending(f.s, txn, all.ids[0], collect_outbox, &rest, &err),
                 FP_OK);
    CHECK(rest.n == 2 && memcmp(rest.ids[0], all.ids[1], 16) == 0 &&
          memcmp(rest.ids[1], all.ids[2], 16) == 0);
    CHECK_EQ_INT(agent_store_outbox_pending(f.s, txn, all.ids[2], collect_outbox, &none, &err),
                 FP_OK);
    CHECK_EQ_INT(none.n, 0);
    uint8_t gap[16];
    id_of(gap, 0);   /* not in the index; sorts before all three */
    CHECK_EQ_INT(agent_store_outbox_pending(f.s, txn, gap, collect_outbox, &from_gap, &err),
                 FP_OK);
    CHECK_EQ_INT(from_gap.n, 3);
    CHECK_EQ_INT(agent_store_commit(txn, &err), FP_OK);

    /* A record must have a 16-byte id. */
    txn = begin(&f, true);
    outbox_rec(&r, ids[0], 1, FLAGPOST__OUTBOX_STATE__OUTBOX_PENDING);
    r.message_id.len = 15;
    CHECK_EQ_INT(agent_store_outbox_put(f.s, txn, &r, &err), FP_ERR_INTERNAL);
    agent_store_abort(txn);
    fx_close(&f);
}

static void test_outbox_durable_and_abort_discards(void)
{
    fixture f;
    CHECK(fx_open(&f));
    if (f.s == NULL)
        return;
    uint8_t a[16], b[16];
    Flagpost__OutboxRecord r;
    MDB_txn *txn = begin(&f, true);
    outbox_rec(&r, a, 1, FLAGPOST__OUTBOX_STATE__OUTBOX_PENDING);
    CHECK_EQ_INT(agent_store_outbox_put(f.s, txn, &r, NULL), FP_OK);
    CHECK_EQ_INT(agent_store_commit(txn, NULL), FP_OK);
    txn = begin(&f, true);
    outbox_rec(&r, b, 2, FLAGPOST__OUTBOX_STATE__OUTBOX_PENDING);
    CHECK_EQ_INT(agent_store_outbox_put(f.s, txn, &r, NULL), FP_OK);
    agent_store_abort(txn);
    /* Reopen: the committed record and its pending entry survive. */
    agent_store_close(f.s);
    f.s = NULL;
    fp_error err = {0};
    CHECK_EQ_INT(agent_store_open(&f.s, f.path, MAP_SIZE, &err), FP_OK);
    if (f.s == NULL) {
        tmpdir_remove(&f.dir);
        return;
    }
    txn = begin(&f, false);
    size_t pending = 0, total = 0;
    agent_store_outbox_count(f.s, txn, &pending, &total);
    CHECK_EQ_INT(pending, 1);
    CHECK_EQ_INT(total, 1);
    Flagpost__OutboxRecord *got = NULL;
    CHECK_EQ_INT(agent_store_outbox_get(f.s, txn, a, &got, NULL), FP_OK);
    if (got)
        flagpost__outbox_record__free_unpacked(got, NULL);
    CHECK_EQ_INT(agent_store_outbox_get(f.s, txn, b, &got, NULL), FP_ERR_NOT_FOUND);
    agent_store_abort(txn);
    fx_close(&f);
}

/* ---------------------------------------------------------------- flags */

/* A received flag: the StoredFlag (with a SignedEnvelope whose body is the
 * FlagBody, as the store re-reads it on update) and the FlagBody. */
typedef struct rflag {
    uint8_t flag_id[16], msg_id[16];
    Flagpost__Pseudonym ps[4];
    Flagpost__Pseudonym *psp[4];
    uint8_t values[4][32];
    Flagpost__FlagBody body;
    uint8_t *body_bytes, *env_bytes, *signed_bytes;
    Flagpost__StoredFlag stored;
} rflag;

/* Pseudonym (kind, n): value is 32 bytes of n. */
static void ps_value(uint8_t out[32], int n)
{
    memset(out, n, 32);
}

static void rflag_make(rflag *r, int flag_n, int msg_n, uint32_t version, const int *kinds,
                       const int *values, size_t count)
{
    memset(r, 0, sizeof *r);
    id_of(r->flag_id, flag_n);
    r->flag_id[0] = 0xf1;
    id_of(r->msg_id, msg_n);
    flagpost__flag_body__init(&r->body);
    r->body.flag_id.data = r->flag_id;
    r->body.flag_id.len = 16;
    r->body.version = version;
    r->body.category = (char *)"da_victim";
    for (size_t i = 0; i < count; i++) {
        flagpost__pseudonym__init(&r->ps[i]);
        r->ps[i].kind = kinds[i];
        ps_value(r->values[i], values[i]);
        r->ps[i].value.data = r->values[i];
        r->ps[i].value.len = 32;
        r->psp[i] = &r->ps[i];
    }
    r->body.subject = r->psp;
    r->body.n_subject = count;
    size_t blen = flagpost__flag_body__get_packed_size(&r->body);
    r->body_bytes = malloc(blen + 1);
    flagpost__flag_body__pack(&r->body, r->body_bytes);

    Flagpost__Envelope env;
    flagpost__envelope__init(&env);
    env.wire_version = 1;
    env.message_id.data = r->msg_id;
    env.message_id.len = 16;
    env.type = FLAGPOST__MESSAGE_TYPE__MESSAGE_FLAG;
    env.sender = (char *)"police";
    env.body.data = r->body_bytes;
    env.body.len = blen;
    size_t elen = flagpost__envelope__get_packed_size(&env);
    r->env_bytes = malloc(elen + 1);
    flagpost__envelope__pack(&env, r->env_bytes);
    static uint8_t sig[64];
    Flagpost__SignedEnvelope se;
    flagpost__signed_envelope__init(&se);
    se.envelope.data = r->env_bytes;
    se.envelope.len = elen;
    se.signature.data = sig;
    se.signature.len = 64;
    size_t slen = flagpost__signed_envelope__get_packed_size(&se);
    r->signed_bytes = malloc(slen + 1);
    flagpost__signed_envelope__pack(&se, r->signed_bytes);

    flagpost__stored_flag__init(&r->stored);
    r->stored.signed_envelope.data = r->signed_bytes;
    r->stored.signed_envelope.len = slen;
    r->stored.received_ms = 1700000000000;
    r->stored.sender = (char *)"police";
    r->stored.flag_id.data = r->flag_id;
    r->stored.flag_id.len = 16;
    r->stored.version = version;
    r->stored.message_id.data = r->msg_id;
    r->stored.message_id.len = 16;
}

static void rflag_free(rflag *r)
{
    free(r->body_bytes);
    free(r->env_bytes);
    free(r->signed_bytes);
}

static int rflag_put(fixture *f, int flag_n, int msg_n, uint32_t version, const int *kinds,
                     const int *values, size_t count)
{
    rflag r;
    rflag_make(&r, flag_n, msg_n, version, kinds, values, count);
    MDB_txn *txn = begin(f, true);
    fp_error err = {0};
    int rc = agent_store_flag_put(f->s, txn, &r.stored, &r.body, &err);
    if (rc == FP_OK)
        rc = agent_store_commit(txn, &err);
    else
        agent_store_abort(txn);
    if (rc != FP_OK)
        printf("#   flag_put: %s\n", err.message);
    rflag_free(&r);
    return rc;
}

typedef struct hits {
    int n;
    int stop_after;
    int flag_n[32];       /* the flag number (last id byte) of each visit */
    uint32_t version[32];
} hits;

static int collect_flag(void *ctx, const Flagpost__StoredFlag *fl)
{
    hits *h = ctx;
    if (h->n < 32) {
        h->flag_n[h->n] = fl->flag_id.len == 16 ? fl->flag_id.data[15] : -1;
        h->version[h->n] = fl->version;
    }
    h->n++;
    return h->stop_after && h->n >= h->stop_after;
}

/* Look up one or two (kind, value) pseudonyms. */
static hits lookup(fixture *f, int kind1, int value1, int kind2, int value2)
{
    pseudonym ps[2];
    size_t n = 0;
    ps[n].kind = kind1;
    ps_value(ps[n++].value, value1);
    if (kind2 != 0) {
        ps[n].kind = kind2;
        ps_value(ps[n++].value, value2);
    }
    hits h = {0};
    MDB_txn *txn = begin(f, false);
    fp_error err = {0};
    if (agent_store_lookup(f->s, txn, ps, n, collect_flag, &h, &err) != FP_OK)
        h.n = -1;
    agent_store_abort(txn);
    return h;
}

static bool hits_has(const hits *h, int flag_n)
{
    for (int i = 0; i < h->n && i < 32; i++)
        if (h->flag_n[i] == flag_n)
            return true;
    return false;
}

enum { NHS = 1, NAME_DOB = 2, POSTCODE = 3, UPRN = 4 };

static void test_flag_put_and_lookup_by_each_pseudonym(void)
{
    fixture f;
    CHECK(fx_open(&f));
    if (f.s == NULL)
        return;
    int kinds[] = {NHS, NAME_DOB, POSTCODE};
    int values[] = {11, 12, 13};
    CHECK_EQ_INT(rflag_put(&f, 1, 100, 1, kinds, values, 3), FP_OK);
    for (int i = 0; i < 3; i++) {
        hits h = lookup(&f, kinds[i], values[i], 0, 0);
        CHECK_EQ_INT(h.n, 1);
        CHECK(hits_has(&h, 1));
        CHECK_EQ_INT(h.version[0], 1);
    }
    /* Several pseudonyms of the same flag find it once. */
    hits h = lookup(&f, NHS, 11, POSTCODE, 13);
    CHECK_EQ_INT(h.n, 1);
    /* The kind is part of the key: the same bytes under another kind miss. */
    h = lookup(&f, UPRN, 11, 0, 0);
    CHECK_EQ_INT(h.n, 0);
    h = lookup(&f, NHS, 12, 0, 0);
    CHECK_EQ_INT(h.n, 0);
    /* A second flag on the same person: both found, each once. */
    int k2[] = {NHS, UPRN};
    int v2[] = {11, 14};
    CHECK_EQ_INT(rflag_put(&f, 2, 101, 1, k2, v2, 2), FP_OK);
    h = lookup(&f, NHS, 11, 0, 0);
    CHECK_EQ_INT(h.n, 2);
    CHECK(hits_has(&h, 1) && hits_has(&h, 2));
    h = lookup(&f, NAME_DOB, 12, UPRN, 14);
    CHECK_EQ_INT(h.n, 2);
    h = lookup(&f, NHS, 11, UPRN, 14);   /* flag 2 matches both */
    CHECK_EQ_INT(h.n, 2);
    /* The visitor can stop early. */
    pseudonym p = {.kind = NHS};
    ps_value(p.value, 11);
    hits stop = {.stop_after = 1};
    MDB_txn *txn = begin(&f, false);
    CHECK_EQ_INT(agent_store_lookup(f.s, txn, &p, 1, collect_flag, &stop, NULL), FP_OK);
    CHECK_EQ_INT(stop.n, 1);
    size_t count = 0;
    CHECK_EQ_INT(agent_store_flag_count(f.s, txn, &count), FP_OK);
    CHECK_EQ_INT(count, 2);
    agent_store_abort(txn);
    fx_close(&f);
}

static void test_update_reindexes_pseudonyms(void)
{
    fixture f;
    CHECK(fx_open(&f));
    if (f.s == NULL)
        return;
    int k1[] = {NHS, NAME_DOB};
    int v1[] = {21, 22};
    CHECK_EQ_INT(rflag_put(&f, 5, 200, 1, k1, v1, 2), FP_OK);
    /* Version 2 drops the NHS pseudonym and adds a postcode. */
    int k2[] = {NAME_DOB, POSTCODE};
    int v2[] = {22, 23};
    CHECK_EQ_INT(rflag_put(&f, 5, 201, 2, k2, v2, 2), FP_OK);
    hits h = lookup(&f, NHS, 21, 0, 0);
    CHECK_EQ_INT(h.n, 0);
    h = lookup(&f, NAME_DOB, 22, 0, 0);
    CHECK_EQ_INT(h.n, 1);
    CHECK_EQ_INT(h.version[0], 2);
    h = lookup(&f, POSTCODE, 23, 0, 0);
    CHECK_EQ_INT(h.n, 1);
    CHECK_EQ_INT(h.version[0], 2);
    /* Version 3 with no subject at all leaves nothing indexed. */
    CHECK_EQ_INT(rflag_put(&f, 5, 202, 3, NULL, NULL, 0), FP_OK);
    h = lookup(&f, NAME_DOB, 22, POSTCODE, 23);
    CHECK_EQ_INT(h.n, 0);
    MDB_txn *txn = begin(&f, false);
    size_t count = 0;
    agent_store_flag_count(f.s, txn, &count);
    CHECK_EQ_INT(count, 1);
    uint8_t fid[16];
    id_of(fid, 5);
    fid[0] = 0xf1;
    Flagpost__StoredFlag *got = NULL;
    CHECK_EQ_INT(agent_store_flag_get(f.s, txn, fid, &got, NULL), FP_OK);
    CHECK(got != NULL && got->version == 3);
    if (got)
        flagpost__stored_flag__free_unpacked(got, NULL);
    fid[15] = 99;
    CHECK_EQ_INT(agent_store_flag_get(f.s, txn, fid, &got, NULL), FP_ERR_NOT_FOUND);
    agent_store_abort(txn);
    fx_close(&f);
}

/* Another flag on the same pseudonym keeps its index entry when one flag
 * is updated away from it. */
static void test_update_keeps_other_flags_indexed(void)
{
    fixture f;
    CHECK(fx_open(&f));
    if (f.s == NULL)
        return;
    int k[] = {NHS};
    int v[] = {31};
    CHECK_EQ_INT(rflag_put(&f, 7, 300, 1, k, v, 1), FP_OK);
    CHECK_EQ_INT(rflag_put(&f, 8, 301, 1, k, v, 1), FP_OK);
    int k2[] = {UPRN};
    int v2[] = {32};
    CHECK_EQ_INT(rflag_put(&f, 7, 302, 2, k2, v2, 1), FP_OK);
    hits h = lookup(&f, NHS, 31, 0, 0);
    CHECK_EQ_INT(h.n, 1);
    CHECK(hits_has(&h, 8));
    h = lookup(&f, UPRN, 32, 0, 0);
    CHECK_EQ_INT(h.n, 1);
    CHECK(hits_has(&h, 7));
    fx_close(&f);
}

static void test_seen_and_mark_seen(void)
{
    fixture f;
    CHECK(fx_open(&f));
    if (f.s == NULL)
        return;
    int k[] = {NHS};
    int v[] = {41};
    CHECK_EQ_INT(rflag_put(&f, 9, 400, 1, k, v, 1), FP_OK);
    uint8_t stored_msg[16], rejected[16], never[16];
    id_of(stored_msg, 400 & 0xff);
    id_of(rejected, 77);
    id_of(never, 78);
    MDB_txn *txn = begin(&f, true);
    CHECK(agent_store_seen(f.s, txn, stored_msg));   /* flag_put records it */
    CHECK(!agent_store_seen(f.s, txn, rejected));
    CHECK_EQ_INT(agent_store_mark_seen(f.s, txn, rejected, NULL), FP_OK);
    CHECK(agent_store_seen(f.s, txn, rejected));
    CHECK(!agent_store_seen(f.s, txn, never));
    CHECK_EQ_INT(agent_store_commit(txn, NULL), FP_OK);
    txn = begin(&f, false);
    CHECK(agent_store_seen(f.s, txn, rejected));
    agent_store_abort(txn);
    /* A rejected delivery stores no flag. */
    txn = begin(&f, false);
    size_t count = 0;
    agent_store_flag_count(f.s, txn, &count);
    CHECK_EQ_INT(count, 1);
    agent_store_abort(txn);
    fx_close(&f);
}

static void test_flag_put_refuses_short_ids(void)
{
    fixture f;
    CHECK(fx_open(&f));
    if (f.s == NULL)
        return;
    rflag r;
    rflag_make(&r, 1, 1, 1, NULL, NULL, 0);
    MDB_txn *txn = begin(&f, true);
    r.stored.flag_id.len = 8;
    CHECK_EQ_INT(agent_store_flag_put(f.s, txn, &r.stored, &r.body, NULL), FP_ERR_INTERNAL);
    r.stored.flag_id.len = 16;
    r.stored.message_id.len = 0;
    CHECK_EQ_INT(agent_store_flag_put(f.s, txn, &r.stored, &r.body, NULL), FP_ERR_INTERNAL);
    agent_store_abort(txn);
    rflag_free(&r);
    fx_close(&f);
}

/* Regression from fuzz_agent_receive: a pseudonym with an empty value (the
 * broker refuses one; a broker that does not can deliver it) decodes with a
 * NULL pointer, which the subject index must not hand to memcpy (UBSan
 * catches that in the sanitized pass).  The flag is stored, updated and
 * still found by its other pseudonym. */
static void test_flag_put_with_empty_pseudonym(void)
{
    fixture f;
    CHECK(fx_open(&f));
    if (f.s == NULL)
        return;
    const int kinds[] = {NHS, POSTCODE}, values[] = {7, 8};
    for (uint32_t version = 1; version <= 2; version++) {
        rflag r;
        rflag_make(&r, 5, (int)version, version, kinds, values, 2);
        r.ps[0].value.data = NULL;
        r.ps[0].value.len = 0;
        MDB_txn *txn = begin(&f, true);
        fp_error err = {0};
        CHECK_EQ_INT(agent_store_flag_put(f.s, txn, &r.stored, &r.body, &err), FP_OK);
        CHECK_EQ_INT(agent_store_commit(txn, &err), FP_OK);
        rflag_free(&r);
    }
    hits h = lookup(&f, POSTCODE, 8, 0, 0);
    CHECK(h.n == 1 && hits_has(&h, 5) && h.version[0] == 2);
    fx_close(&f);
}

static hits inbox(fixture *f, size_t limit)
{
    hits h = {0};
    MDB_txn *txn = begin(f, false);
    if (agent_store_inbox(f->s, txn, limit, collect_flag, &h, NULL) != FP_OK)
        h.n = -1;
    agent_store_abort(txn);
    return h;
}

static void test_inbox_newest_first_once_per_flag(void)
{
    fixture f;
    CHECK(fx_open(&f));
    if (f.s == NULL)
        return;
    hits h = inbox(&f, 10);
    CHECK_EQ_INT(h.n, 0);
    int k[] = {NHS};
    int v[] = {51};
    CHECK_EQ_INT(rflag_put(&f, 1, 1, 1, k, v, 1), FP_OK);
    CHECK_EQ_INT(rflag_put(&f, 2, 2, 1, k, v, 1), FP_OK);
    CHECK_EQ_INT(rflag_put(&f, 3, 3, 1, k, v, 1), FP_OK);
    h = inbox(&f, 10);
    CHECK_EQ_INT(h.n, 3);
    CHECK(h.flag_n[0] == 3 && h.flag_n[1] == 2 && h.flag_n[2] == 1);
    /* Flag 1 updated twice: it moves to the front and appears once, at
     * its newest version. */
    CHECK_EQ_INT(rflag_put(&f, 1, 4, 2, k, v, 1), FP_OK);
    CHECK_EQ_INT(rflag_put(&f, 1, 5, 3, k, v, 1), FP_OK);
    h = inbox(&f, 10);
    CHECK_EQ_INT(h.n, 3);
    CHECK(h.flag_n[0] == 1 && h.flag_n[1] == 3 && h.flag_n[2] == 2);
    CHECK_EQ_INT(h.version[0], 3);
    h = inbox(&f, 2);
    CHECK_EQ_INT(h.n, 2);
    CHECK(h.flag_n[0] == 1 && h.flag_n[1] == 3);
    h = inbox(&f, 0);
    CHECK_EQ_INT(h.n, 0);
    /* An update of the middle flag, then a limit of 3, still gives the
     * three distinct flags. */
    CHECK_EQ_INT(rflag_put(&f, 3, 6, 2, k, v, 1), FP_OK);
    h = inbox(&f, 3);
    CHECK_EQ_INT(h.n, 3);
    CHECK(h.flag_n[0] == 3 && h.flag_n[1] == 1 && h.flag_n[2] == 2);
    hits stop = {.stop_after = 1};
    MDB_txn *txn = begin(&f, false);
    CHECK_EQ_INT(agent_store_inbox(f.s, txn, 10, collect_flag, &stop, NULL), FP_OK);
    CHECK_EQ_INT(stop.n, 1);
    agent_store_abort(txn);
    fx_close(&f);
}

static void test_open_refuses_unusable_directory(void)
{
    tmpdir t;
    CHECK(tmpdir_make(&t, "agent-store-bad"));
    char path[600];
    tmpdir_file(&t, "file", path, sizeof path);
    FILE *fp = fopen(path, "w");
    if (fp)
        fclose(fp);
    char sub[700];
    snprintf(sub, sizeof sub, "%s/store", path);   /* below a regular file */
    agent_store *s = (agent_store *)(uintptr_t)1;
    fp_error err = {0};
    CHECK(agent_store_open(&s, sub, MAP_SIZE, &err) != FP_OK);
    CHECK(s == NULL);
    CHECK(err.message[0] != '\0');
    tmpdir_remove(&t);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    RUN(test_outbox_put_get_and_pending_index);
    RUN(test_outbox_durable_and_abort_discards);
    RUN(test_flag_put_and_lookup_by_each_pseudonym);
    RUN(test_update_reindexes_pseudonyms);
    RUN(test_update_keeps_other_flags_indexed);
    RUN(test_seen_and_mark_seen);
    RUN(test_flag_put_refuses_short_ids);
    RUN(test_flag_put_with_empty_pseudonym);
    RUN(test_inbox_newest_first_once_per_flag);
    RUN(test_open_refuses_unusable_directory);
    return check_summary();
}
