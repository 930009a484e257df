/*
 * Unit tests for agents/marac_store.c on a real LMDB environment: sealed
 * records (round trip, nothing readable at rest, another key refused),
 * prefix scans, the heard index behind repeat detection (the 12-month
 * window, other conferences only, matching across identifiers, a postcode
 * alone only suggesting a repeat), reminder timers in time order, and the
 * published-flag index.
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "marac_store.h"
#include "store.h"
#include "tmpdir.h"

#define DAY 86400LL

typedef struct fixture {
    tmpdir dir;
    MDB_env *env;
    MDB_txn *txn;
    marac_db db;
    unsigned char key[MARAC_SEAL_KEY_LEN];
} fixture;

static bool fx_open(fixture *f)
{
    memset(f, 0, sizeof *f);
    if (!tmpdir_make(&f->dir, "marac-store"))
        return false;
    fp_error err = {0};
    if (store_env_open(&f->env, f->dir.path, (size_t)32 << 20, 32, 0, &err) != FP_OK) {
        printf("#   env: %s\n", err.message);
        return false;
    }
    unsigned char box_secret[32];
    memset(box_secret, 7, sizeof box_secret);
    marac_store_derive_key(box_secret, f->key);
    return true;
}

static bool fx_begin(fixture *f, bool write)
{
    fp_error err = {0};
    if (mdb_txn_begin(f->env, NULL, write ? 0 : MDB_RDONLY, &f->txn) != 0)
        return false;
    int rc = marac_db_open(&f->db, f->txn, write, f->key, &err);
    if (rc != FP_OK) {
        printf("#   open: %s\n", err.message);
        mdb_txn_abort(f->txn);
        return false;
    }
    return true;
}

static void fx_commit(fixture *f)
{
    marac_db_close(&f->db);
    mdb_txn_commit(f->txn);
}

static void fx_close(fixture *f)
{
    if (f->env)
        mdb_env_close(f->env);
    tmpdir_remove(&f->dir);
}

static pseudonym ps_of(int kind, unsigned char fill)
{
    pseudonym p = {.kind = kind};
    memset(p.value, fill, sizeof p.value);
    return p;
}

static void test_empty_store_reads_as_nothing(void)
{
    fixture f;
    CHECK(fx_open(&f));
    MDB_txn *txn;
    CHECK(mdb_txn_begin(f.env, NULL, MDB_RDONLY, &txn) == 0);
    marac_db db;
    fp_error err = {0};
    CHECK_EQ_INT(marac_db_open(&db, txn, false, f.key, &err), FP_ERR_NOT_FOUND);
    mdb_txn_abort(txn);
    fx_close(&f);
}

static void test_sealed_round_trip_and_at_rest(void)
{
    fixture f;
    CHECK(fx_open(&f));
    CHECK(fx_begin(&f, true));
    json_t *rec = json_pack("{s:s, s:i}", "subject_name", "Zelda Unmistakable", "n", 3);
    CHECK_EQ_INT(marac_put(&f.db, MARAC_CASE, "HF-1", 4, rec, NULL), FP_OK);
    json_decref(rec);
    /* The raw value holds no plaintext. */
    MDB_val k = store_val("HF-1", 4), v;
    CHECK_EQ_INT(mdb_get(f.txn, f.db.tables[MARAC_CASE], &k, &v), 0);
    CHECK(memmem(v.mv_data, v.mv_size, "Zelda", 5) == NULL);
    CHECK(memmem(v.mv_data, v.mv_size, "subject_name", 12) == NULL);
    fx_commit(&f);

    CHECK(fx_begin(&f, false));
    json_t *back = NULL;
    CHECK_EQ_INT(marac_get(&f.db, MARAC_CASE, "HF-1", 4, &back, NULL), FP_OK);
    CHECK_EQ_STR(json_string_value(json_object_get(back, "subject_name")), "Zelda Unmistakable");
    CHECK_EQ_INT(json_integer_value(json_object_get(back, "n")), 3);
    json_decref(back);
    CHECK_EQ_INT(marac_get(&f.db, MARAC_CASE, "HF-2", 4, &back, NULL), FP_ERR_NOT_FOUND);
    fx_commit(&f);

    /* Another agency's key cannot open it. */
    unsigned char other[32], other_key[MARAC_SEAL_KEY_LEN];
    memset(other, 8, sizeof other);
    marac_store_derive_key(other, other_key);
    CHECK(memcmp(other_key, f.key, sizeof other_key) != 0);
    memcpy(f.key, other_key, sizeof f.key);
    CHECK(fx_begin(&f, false));
    fp_error err = {0};
    CHECK_EQ_INT(marac_get(&f.db, MARAC_CASE, "HF-1", 4, &back, &err), FP_ERR_CRYPTO);
    CHECK(back == NULL);
    fx_commit(&f);
    fx_close(&f);
}

typedef struct collected {
    char keys[8][64];
    int n;
} collected;

static int collect(void *ctx, const unsigned char *key, size_t klen, json_t *rec)
{
    collected *c = ctx;
    (void)rec;
    if (c->n < 8 && klen < 64) {
        memcpy(c->keys[c->n], key, klen);
        for (size_t i = 0; i < klen; i++)   /* show the NUL separator as '|' */
            if (c->keys[c->n][i] == '\0')
                c->keys[c->n][i] = '|';
        c->keys[c->n][klen] = '\0';
        c->n++;
    }
    return 0;
}

static void test_prefix_scan_and_pair_keys(void)
{
    fixture f;
    CHECK(fx_open(&f));
    CHECK(fx_begin(&f, true));
    char key[128];
    const char *rows[][2] = {{"HF-1", "met-police"}, {"HF-1", "idva"}, {"HF-10", "idva"},
                             {"HF-2", "idva"}};
    for (size_t i = 0; i < 4; i++) {
        size_t kl = marac_key_pair(key, sizeof key, rows[i][0], rows[i][1]);
        json_t *rec = json_object();
        CHECK_EQ_INT(marac_put(&f.db, MARAC_ANSWER, key, kl, rec, NULL), FP_OK);
        json_decref(rec);
    }
    collected c = {.n = 0};
    /* "HF-1\0" must not match HF-10's rows. */
    CHECK_EQ_INT(marac_scan(&f.db, MARAC_ANSWER, "HF-1", 5, collect, &c, NULL), FP_OK);
    CHECK_EQ_INT(c.n, 2);
    CHECK_EQ_STR(c.keys[0], "HF-1|idva");
    CHECK_EQ_STR(c.keys[1], "HF-1|met-police");
    c.n = 0;
    CHECK_EQ_INT(marac_scan(&f.db, MARAC_ANSWER, NULL, 0, collect, &c, NULL), FP_OK);
    CHECK_EQ_INT(c.n, 4);
    CHECK_EQ_INT(marac_key_seq(key, sizeof key, "HF-1", 7), 8);
    CHECK(memcmp(key, "HF-1\0" "007", 8) == 0);
    CHECK_EQ_INT(marac_key_pair(key, 4, "HF-1", "x"), 0);   /* does not fit */
    fx_commit(&f);
    fx_close(&f);
}

static void test_repeat_window_and_identifiers(void)
{
    fixture f;
    CHECK(fx_open(&f));
    CHECK(fx_begin(&f, true));
    int64_t d0 = 1750000000 - 1750000000 % DAY;   /* a conference date */
    pseudonym nhs = ps_of(PSEUDONYM_KIND_NHS, 1), name = ps_of(PSEUDONYM_KIND_NAME_DOB, 2);
    pseudonym pc = ps_of(PSEUDONYM_KIND_POSTCODE, 3), other = ps_of(PSEUDONYM_KIND_NAME_DOB, 9);
    /* First hearing: NHS number and name+dob. */
    CHECK_EQ_INT(marac_heard_add(&f.db, &nhs, d0, "conf-a", "A-1", NULL), FP_OK);
    CHECK_EQ_INT(marac_heard_add(&f.db, &name, d0, "conf-a", "A-1", NULL), FP_OK);
    CHECK_EQ_INT(marac_heard_add(&f.db, &name, d0, "conf-a", "A-1", NULL), FP_OK);   /* again */
    /* Someone else at the same postcode, more recently. */
    CHECK_EQ_INT(marac_heard_add(&f.db, &pc, d0 + 30 * DAY, "conf-b", "B-4", NULL), FP_OK);
    fx_commit(&f);

    CHECK(fx_begin(&f, false));
    marac_heard_hit hit;
    /* Second referral by name+dob and postcode only (no NHS number): a
     * repeat through the name, preferred over the postcode's newer case. */
    pseudonym second[] = {name, pc};
    CHECK_EQ_INT(marac_heard_find(&f.db, second, 2, d0 + 200 * DAY, "conf-c", &hit, NULL),
                 FP_OK);
    CHECK_EQ_STR(hit.case_ref, "A-1");
    CHECK_EQ_STR(hit.conference, "conf-a");
    CHECK(!hit.address_only);
    CHECK_EQ_INT(hit.kinds, 1u << PSEUDONYM_KIND_NAME_DOB);
    CHECK_EQ_INT(hit.date_s, d0);
    /* 365 days later is still within the window; 366 is not. */
    CHECK_EQ_INT(marac_heard_find(&f.db, &nhs, 1, d0 + 365 * DAY, "conf-c", &hit, NULL), FP_OK);
    CHECK_EQ_INT(marac_heard_find(&f.db, &nhs, 1, d0 + 366 * DAY, "conf-c", &hit, NULL),
                 FP_ERR_NOT_FOUND);
    /* Its own conference does not count, nor a conference after it. */
    CHECK_EQ_INT(marac_heard_find(&f.db, &nhs, 1, d0, "conf-a", &hit, NULL), FP_ERR_NOT_FOUND);
    CHECK_EQ_INT(marac_heard_find(&f.db, &nhs, 1, d0 - DAY, "conf-z", &hit, NULL),
                 FP_ERR_NOT_FOUND);
    /* A postcode alone only suggests a repeat. */
    CHECK_EQ_INT(marac_heard_find(&f.db, &pc, 1, d0 + 40 * DAY, "conf-c", &hit, NULL), FP_OK);
    CHECK_EQ_STR(hit.case_ref, "B-4");
    CHECK(hit.address_only);
    /* Nobody else matches. */
    CHECK_EQ_INT(marac_heard_find(&f.db, &other, 1, d0 + DAY, "conf-c", &hit, NULL),
                 FP_ERR_NOT_FOUND);
    /* Both identifiers of the first hearing are reported when both match. */
    pseudonym both[] = {nhs, name};
    CHECK_EQ_INT(marac_heard_find(&f.db, both, 2, d0 + DAY, "conf-c", &hit, NULL), FP_OK);
    CHECK_EQ_INT(hit.kinds, (1u << PSEUDONYM_KIND_NHS) | (1u << PSEUDONYM_KIND_NAME_DOB));
    fx_commit(&f);
    fx_close(&f);
}

static void test_reminders_come_due_in_order(void)
{
    fixture f;
    CHECK(fx_open(&f));
    CHECK(fx_begin(&f, true));
    CHECK_EQ_INT(marac_due_add(&f.db, 5000, "late-conf", NULL), FP_OK);
    CHECK_EQ_INT(marac_due_add(&f.db, 2000, "early-conf", NULL), FP_OK);
    fx_commit(&f);

    CHECK(fx_begin(&f, true));
    int64_t due = 0;
    char conf[MARAC_ID_MAX + 1];
    CHECK_EQ_INT(marac_due_next(&f.db, 1999, &due, conf, NULL), FP_ERR_NOT_FOUND);
    CHECK_EQ_INT(marac_due_next(&f.db, 6000, &due, conf, NULL), FP_OK);
    CHECK_EQ_INT(due, 2000);
    CHECK_EQ_STR(conf, "early-conf");
    CHECK_EQ_INT(marac_due_del(&f.db, due, conf, NULL), FP_OK);
    CHECK_EQ_INT(marac_due_next(&f.db, 4999, &due, conf, NULL), FP_ERR_NOT_FOUND);
    CHECK_EQ_INT(marac_due_next(&f.db, 5000, &due, conf, NULL), FP_OK);
    CHECK_EQ_STR(conf, "late-conf");
    fx_commit(&f);
    fx_close(&f);
}

typedef struct ids {
    uint8_t id[8][16];
    int n;
} ids;

static int collect_id(void *ctx, const uint8_t flag_id[16])
{
    ids *c = ctx;
    if (c->n < 8)
        memcpy(c->id[c->n++], flag_id, 16);
    return 0;
}

static void test_published_index_finds_each_flag_once(void)
{
    fixture f;
    CHECK(fx_open(&f));
    /* The published index needs no sealing key. */
    fp_error err = {0};
    CHECK(mdb_txn_begin(f.env, NULL, 0, &f.txn) == 0);
    CHECK_EQ_INT(marac_db_open(&f.db, f.txn, true, NULL, &err), FP_OK);
    pseudonym nhs = ps_of(PSEUDONYM_KIND_NHS, 1), name = ps_of(PSEUDONYM_KIND_NAME_DOB, 2);
    uint8_t a[16], b[16];
    memset(a, 0xaa, 16);
    memset(b, 0xbb, 16);
    CHECK_EQ_INT(marac_pub_add(&f.db, &nhs, a, NULL), FP_OK);
    CHECK_EQ_INT(marac_pub_add(&f.db, &name, a, NULL), FP_OK);
    CHECK_EQ_INT(marac_pub_add(&f.db, &name, b, NULL), FP_OK);
    CHECK_EQ_INT(marac_put(&f.db, MARAC_CASE, "x", 1, NULL, &err), FP_ERR_INTERNAL);
    fx_commit(&f);
    CHECK(fx_begin(&f, false));
    ids c = {.n = 0};
    pseudonym both[] = {nhs, name};
    CHECK_EQ_INT(marac_pub_find(&f.db, both, 2, collect_id, &c, NULL), FP_OK);
    CHECK_EQ_INT(c.n, 2);
    CHECK(memcmp(c.id[0], a, 16) == 0);
    CHECK(memcmp(c.id[1], b, 16) == 0);
    c.n = 0;
    CHECK_EQ_INT(marac_pub_find(&f.db, &nhs, 1, collect_id, &c, NULL), FP_OK);
    CHECK_EQ_INT(c.n, 1);
    fx_commit(&f);
    fx_close(&f);
}

static void test_ids(void)
{
    CHECK(marac_id_valid("HF-2025/031.a_b"));
    CHECK(!marac_id_valid(""));
    CHECK(!marac_id_valid("has space"));
    CHECK(!marac_id_valid("semi;colon"));
    char long_id[MARAC_ID_MAX + 2];
    memset(long_id, 'a', sizeof long_id - 1);
    long_id[sizeof long_id - 1] = '\0';
    CHECK(!marac_id_valid(long_id));
    long_id[MARAC_ID_MAX] = '\0';
    CHECK(marac_id_valid(long_id));
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    RUN(test_empty_store_reads_as_nothing);
    RUN(test_sealed_round_trip_and_at_rest);
    RUN(test_prefix_scan_and_pair_keys);
    RUN(test_repeat_window_and_identifiers);
    RUN(test_reminders_come_due_in_order);
    RUN(test_published_index_finds_each_flag_once);
    RUN(test_ids);
    return check_summary();
}
