/*
 * marac_store: sealed JSON records and three small indexes in LMDB.  See
 * marac_store.h.
 *
 * A sealed value is nonce (24) || crypto_secretbox_easy(compact JSON).
 * The plaintext JSON text is wiped as soon as it is sealed or parsed.
 * The indexes (heard, due, pubsubj) hold no personal data beyond keyed
 * pseudonyms, which are what the broker sees anyway, so they are stored
 * plain and sorted for cursor scans.
 */
#include "marac_store.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_wipe.h"
#include "store.h"


#define SEAL_LABEL "flagpost-marac-store-v1"
#define PSEUD_KEY_LEN (1 + PSEUDONYM_LEN)
#define HEARD_VAL_MAX (8 + 2 * (MARAC_ID_MAX + 1))
#define PUB_SCAN_MAX 4096

static const char *const TABLE_NAMES[MARAC_TABLES] = {"marac_conf", "marac_case",
                                                      "marac_answer", "marac_action",
                                                      "marac_flags"};

void marac_store_derive_key(const unsigned char box_secret[32],
                            unsigned char out[MARAC_SEAL_KEY_LEN])
{
    crypto_generichash(out, MARAC_SEAL_KEY_LEN, (const unsigned char *)SEAL_LABEL,
                       strlen(SEAL_LABEL), box_secret, 32);
}

bool marac_id_valid(const char *id)
{
    size_t n = id ? strlen(id) : 0;
    if (n == 0 || n > MARAC_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '/' || c == '-';
        if (!ok)
            return false;
    }
    return true;
}

static int open_one(MDB_txn *txn, const char *name, unsigned flags, bool create, MDB_dbi *dbi,
                    fp_error *err)
{
    int rc = mdb_dbi_open(txn, name, flags | (create ? MDB_CREATE : 0), dbi);
    if (rc == MDB_NOTFOUND)
        return fp_error_set(err, FP_ERR_NOT_FOUND, "no MARAC records yet");
    return rc == 0 ? FP_OK : store_fail(err, rc, "opening the MARAC databases");
}

int marac_db_open(marac_db *db, MDB_txn *txn, bool create,
                  const unsigned char key[MARAC_SEAL_KEY_LEN], fp_error *err)
{
    memset(db, 0, sizeof *db);
    db->txn = txn;
    int rc = FP_OK;
    for (int t = 0; t < MARAC_TABLES && rc == FP_OK; t++)
        rc = open_one(txn, TABLE_NAMES[t], 0, create, &db->tables[t], err);
    if (rc == FP_OK)
        rc = open_one(txn, "marac_heard", MDB_DUPSORT, create, &db->heard, err);
    if (rc == FP_OK)
        rc = open_one(txn, "marac_due", 0, create, &db->due, err);
    if (rc == FP_OK)
        rc = open_one(txn, "marac_pubsubj", MDB_DUPSORT | MDB_DUPFIXED, create, &db->pubsubj,
                      err);
    if (rc == FP_OK)
        rc = open_one(txn, "marac_meta", 0, create, &db->meta, err);
    if (rc != FP_OK || key == NULL)
        return rc;   /* without a key: the plain indexes only */
    return marac_db_set_key(db, key, err);
}

int marac_db_set_key(marac_db *db, const unsigned char key[MARAC_SEAL_KEY_LEN], fp_error *err)
{
    if (db->key == NULL)
        db->key = sodium_malloc(MARAC_SEAL_KEY_LEN);
    if (db->key == NULL)
        return fp_error_set(err, FP_ERR_IO, "out of memory");
    memcpy(db->key, key, MARAC_SEAL_KEY_LEN);
    return FP_OK;
}

int marac_meta_get(marac_db *db, const char *name, const unsigned char **data, size_t *len,
                   fp_error *err)
{
    MDB_val k = store_val(name, strlen(name)), v;
    int rc = mdb_get(db->txn, db->meta, &k, &v);
    if (rc == MDB_NOTFOUND)
        return fp_error_set(err, FP_ERR_NOT_FOUND, "no MARAC value '%s'", name);
    if (rc != 0)
        return store_fail(err, rc, "reading MARAC settings");
    *data = v.mv_data;
    *len = v.mv_size;
    return FP_OK;
}

int marac_meta_put(marac_db *db, const char *name, const void *data, size_t len,
                   fp_error *err)
{
    MDB_val k = store_val(name, strlen(name)), v = store_val(data, len);
    int rc = mdb_put(db->txn, db->meta, &k, &v, 0);
    return rc == 0 ? FP_OK : store_fail(err, rc, "writing MARAC settings");
}

void marac_db_close(marac_db *db)
{
    if (db->key != NULL)
        sodium_free(db->key);   /* wipes */
    db->key = NULL;
    db->txn = NULL;
}

/* ---------------------------------------------------------------- records */

static void text_free(char *text)
{
    if (text != NULL) {
        sodium_memzero(text, strlen(text));
        json_text_free(text);
    }
}

int marac_put(marac_db *db, marac_table t, const void *key, size_t klen, json_t *rec,
              fp_error *err)
{
    if (klen == 0 || klen > 511 || db->key == NULL)
        return fp_error_set(err, FP_ERR_INTERNAL, "MARAC record key of %zu bytes", klen);
    char *text = json_dumps(rec, JSON_COMPACT | JSON_SORT_KEYS);
    if (text == NULL)
        return fp_error_set(err, FP_ERR_IO, "out of memory");
    size_t len = strlen(text);
    MDB_val k = store_val(key, klen);
    MDB_val v = {.mv_size = crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + len};
    int rc = mdb_put(db->txn, db->tables[t], &k, &v, MDB_RESERVE);
    if (rc == 0) {
        unsigned char *out = v.mv_data;
        randombytes_buf(out, crypto_secretbox_NONCEBYTES);
        crypto_secretbox_easy(out + crypto_secretbox_NONCEBYTES, (const unsigned char *)text,
                              len, out, db->key);
    }
    text_free(text);
    return rc == 0 ? FP_OK : store_fail(err, rc, "writing a MARAC record");
}

static int open_value(marac_db *db, const MDB_val *v, json_t **out, fp_error *err)
{
    *out = NULL;
    size_t over = crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES;
    if (db->key == NULL)
        return fp_error_set(err, FP_ERR_INTERNAL, "MARAC records opened without a key");
    if (v->mv_size < over)
        return fp_error_set(err, FP_ERR_IO, "a MARAC record is damaged (too short)");
    size_t len = v->mv_size - over;
    char *text = malloc(len + 1);
    if (text == NULL)
        return fp_error_set(err, FP_ERR_IO, "out of memory");
    const unsigned char *in = v->mv_data;
    if (crypto_secretbox_open_easy((unsigned char *)text, in + crypto_secretbox_NONCEBYTES,
                                   v->mv_size - crypto_secretbox_NONCEBYTES, in,
                                   db->key) != 0) {
        free(text);
        return fp_error_set(err, FP_ERR_CRYPTO, "a MARAC record does not open with this "
                            "agency's key (damaged, or another agency's data directory)");
    }
    text[len] = '\0';
    *out = json_loadb(text, len, 0, NULL);
    sodium_memzero(text, len);
    free(text);
    if (*out == NULL || !json_is_object(*out)) {
        json_decref(*out);
        *out = NULL;
        return fp_error_set(err, FP_ERR_IO, "a MARAC record is damaged (not a JSON object)");
    }
    return FP_OK;
}

int marac_get(marac_db *db, marac_table t, const void *key, size_t klen, json_t **out,
              fp_error *err)
{
    *out = NULL;
    MDB_val k = store_val(key, klen), v;
    int rc = mdb_get(db->txn, db->tables[t], &k, &v);
    if (rc == MDB_NOTFOUND)
        return fp_error_set(err, FP_ERR_NOT_FOUND, "no such MARAC record");
    if (rc != 0)
        return store_fail(err, rc, "reading a MARAC record");
    return open_value(db, &v, out, err);
}

int marac_del(marac_db *db, marac_table t, const void *key, size_t klen, fp_error *err)
{
    MDB_val k = store_val(key, klen);
    int rc = mdb_del(db->txn, db->tables[t], &k, NULL);
    return rc == 0 || rc == MDB_NOTFOUND ? FP_OK : store_fail(err, rc, "deleting a MARAC record");
}

int marac_scan(marac_db *db, marac_table t, const void *prefix, size_t plen,
               marac_visit_fn fn, void *ctx, fp_error *err)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open(db->txn, db->tables[t], &cur);
    if (rc != 0)
        return store_fail(err, rc, "reading MARAC records");
    MDB_val k = store_val(prefix, plen), v;
    rc = mdb_cursor_get(cur, &k, &v, plen ? MDB_SET_RANGE : MDB_FIRST);
    int status = FP_OK;
    while (rc == 0) {
        if (plen && (k.mv_size < plen || memcmp(k.mv_data, prefix, plen) != 0))
            break;
        json_t *rec = NULL;
        status = open_value(db, &v, &rec, err);
        if (status != FP_OK)
            break;
        int stop = fn(ctx, k.mv_data, k.mv_size, rec);
        json_decref(rec);
        if (stop)
            break;
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    if (status == FP_OK && rc != 0 && rc != MDB_NOTFOUND)
        status = store_fail(err, rc, "reading MARAC records");
    return status;
}

size_t marac_key_pair(char *out, size_t cap, const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la + 1 + lb > cap)
        return 0;
    memcpy(out, a, la);
    out[la] = '\0';
    memcpy(out + la + 1, b, lb);
    return la + 1 + lb;
}

size_t marac_key_seq(char *out, size_t cap, const char *case_ref, unsigned seq)
{
    char num[16];
    snprintf(num, sizeof num, "%03u", seq);
    return marac_key_pair(out, cap, case_ref, num);
}

/* ---------------------------------------------------------------- heard */

static void pseud_key(unsigned char out[PSEUD_KEY_LEN], const pseudonym *p)
{
    out[0] = (unsigned char)p->kind;
    memcpy(out + 1, p->value, PSEUDONYM_LEN);
}

int marac_heard_add(marac_db *db, const pseudonym *p, int64_t date_s, const char *conference,
                    const char *case_ref, fp_error *err)
{
    unsigned char key[PSEUD_KEY_LEN], val[HEARD_VAL_MAX];
    size_t lc = strlen(conference), lr = strlen(case_ref);
    if (lc > MARAC_ID_MAX || lr > MARAC_ID_MAX)
        return fp_error_set(err, FP_ERR_INTERNAL, "MARAC id too long for the heard index");
    pseud_key(key, p);
    store_put_u64(val, (uint64_t)date_s);
    memcpy(val + 8, conference, lc);
    val[8 + lc] = '\0';
    memcpy(val + 9 + lc, case_ref, lr);
    MDB_val k = store_val(key, sizeof key), v = store_val(val, 9 + lc + lr);
    int rc = mdb_put(db->txn, db->heard, &k, &v, MDB_NODUPDATA);
    return rc == 0 || rc == MDB_KEYEXIST ? FP_OK
                                         : store_fail(err, rc, "indexing a case heard");
}

static bool heard_parse(const MDB_val *v, marac_heard_hit *h)
{
    if (v->mv_size < 10 || v->mv_size > HEARD_VAL_MAX)
        return false;
    const unsigned char *p = v->mv_data;
    h->date_s = (int64_t)store_get_u64(p);
    const char *rest = (const char *)p + 8;
    size_t n = v->mv_size - 8;
    const char *nul = memchr(rest, '\0', n);
    if (nul == NULL)
        return false;
    size_t lc = (size_t)(nul - rest), lr = n - lc - 1;
    if (lc > MARAC_ID_MAX || lr > MARAC_ID_MAX)
        return false;
    memcpy(h->conference, rest, lc);
    h->conference[lc] = '\0';
    memcpy(h->case_ref, nul + 1, lr);
    h->case_ref[lr] = '\0';
    return true;
}

/* A person identifier (NHS number, name and date of birth) or a property
 * (UPRN) links two hearings; a postcode alone covers a street, so it only
 * suggests one. */
static bool kind_is_strong(int kind)
{
    return kind != PSEUDONYM_KIND_POSTCODE;
}

#define HEARD_HITS_MAX 256

typedef struct heard_hits {
    marac_heard_hit hit[HEARD_HITS_MAX];
    int kind[HEARD_HITS_MAX];
    size_t n;
} heard_hits;

static bool same_case(const marac_heard_hit *a, const marac_heard_hit *b)
{
    return strcmp(a->case_ref, b->case_ref) == 0 && strcmp(a->conference, b->conference) == 0;
}

/* The most recent case linked by a strong identifier, else the most recent
 * linked by a postcode; with every kind that links it. */
static void heard_choose(const heard_hits *h, marac_heard_hit *out)
{
    size_t best = 0;
    bool best_strong = kind_is_strong(h->kind[0]);
    for (size_t i = 1; i < h->n; i++) {
        bool strong = kind_is_strong(h->kind[i]);
        if ((strong && !best_strong) ||
            (strong == best_strong && h->hit[i].date_s > h->hit[best].date_s)) {
            best = i;
            best_strong = strong;
        }
    }
    *out = h->hit[best];
    out->kinds = 0;
    out->address_only = true;
    for (size_t i = 0; i < h->n; i++)
        if (same_case(&h->hit[i], out)) {
            out->kinds |= 1u << h->kind[i];
            out->address_only &= !kind_is_strong(h->kind[i]);
        }
}

int marac_heard_find(marac_db *db, const pseudonym *ps, size_t n, int64_t date_s,
                     const char *conference, marac_heard_hit *out, fp_error *err)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open(db->txn, db->heard, &cur);
    if (rc != 0)
        return store_fail(err, rc, "reading the cases heard");
    heard_hits *h = calloc(1, sizeof *h);
    if (h == NULL) {
        mdb_cursor_close(cur);
        return fp_error_set(err, FP_ERR_IO, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char key[PSEUD_KEY_LEN];
        pseud_key(key, &ps[i]);
        MDB_val k = store_val(key, sizeof key), v;
        for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_KEY); rc == 0 && h->n < HEARD_HITS_MAX;
             rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT_DUP)) {
            marac_heard_hit *x = &h->hit[h->n];
            if (!heard_parse(&v, x) || strcmp(x->conference, conference) == 0)
                continue;
            if (x->date_s > date_s || x->date_s < date_s - MARAC_YEAR_S)
                continue;
            h->kind[h->n++] = ps[i].kind;
        }
    }
    mdb_cursor_close(cur);
    int status = FP_ERR_NOT_FOUND;
    if (rc != 0 && rc != MDB_NOTFOUND && h->n < HEARD_HITS_MAX)
        status = store_fail(err, rc, "reading the cases heard");
    else if (h->n > 0)
        status = (heard_choose(h, out), FP_OK);
    free(h);
    return status;
}

/* ---------------------------------------------------------------- due */

static size_t due_key(unsigned char *out, int64_t due_ms, const char *conference)
{
    size_t lc = strlen(conference);
    if (lc > MARAC_ID_MAX)
        return 0;
    store_put_u64(out, (uint64_t)due_ms);
    memcpy(out + 8, conference, lc);
    return 8 + lc;
}

int marac_due_add(marac_db *db, int64_t due_ms, const char *conference, fp_error *err)
{
    unsigned char key[8 + MARAC_ID_MAX];
    size_t kl = due_key(key, due_ms, conference);
    MDB_val k = store_val(key, kl), v = store_val("", 0);
    int rc = kl ? mdb_put(db->txn, db->due, &k, &v, 0) : EINVAL;
    return rc == 0 ? FP_OK : store_fail(err, rc, "scheduling a MARAC reminder");
}

int marac_due_del(marac_db *db, int64_t due_ms, const char *conference, fp_error *err)
{
    unsigned char key[8 + MARAC_ID_MAX];
    size_t kl = due_key(key, due_ms, conference);
    MDB_val k = store_val(key, kl);
    int rc = kl ? mdb_del(db->txn, db->due, &k, NULL) : MDB_NOTFOUND;
    return rc == 0 || rc == MDB_NOTFOUND ? FP_OK
                                         : store_fail(err, rc, "clearing a MARAC reminder");
}

int marac_due_next(marac_db *db, int64_t now_ms, int64_t *due_ms,
                   char conference[MARAC_ID_MAX + 1], fp_error *err)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open(db->txn, db->due, &cur);
    if (rc != 0)
        return store_fail(err, rc, "reading MARAC reminders");
    MDB_val k, v;
    rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    int status = FP_ERR_NOT_FOUND;
    if (rc == 0 && k.mv_size > 8 && k.mv_size <= 8 + MARAC_ID_MAX) {
        int64_t due = (int64_t)store_get_u64(k.mv_data);
        if (due <= now_ms) {
            *due_ms = due;
            memcpy(conference, (const char *)k.mv_data + 8, k.mv_size - 8);
            conference[k.mv_size - 8] = '\0';
            status = FP_OK;
        }
    } else if (rc != 0 && rc != MDB_NOTFOUND) {
        status = store_fail(err, rc, "reading MARAC reminders");
    }
    mdb_cursor_close(cur);
    return status;
}

/* ---------------------------------------------------------------- published */

int marac_pub_add(marac_db *db, const pseudonym *p, const uint8_t flag_id[16], fp_error *err)
{
    unsigned char key[PSEUD_KEY_LEN];
    pseud_key(key, p);
    MDB_val k = store_val(key, sizeof key), v = store_val(flag_id, 16);
    int rc = mdb_put(db->txn, db->pubsubj, &k, &v, MDB_NODUPDATA);
    return rc == 0 || rc == MDB_KEYEXIST ? FP_OK
                                         : store_fail(err, rc, "indexing a published flag");
}

typedef struct id_set {
    uint8_t (*ids)[16];
    size_t n, cap;
} id_set;

static bool id_set_add(id_set *s, const uint8_t id[16])
{
    for (size_t i = 0; i < s->n; i++)
        if (memcmp(s->ids[i], id, 16) == 0)
            return false;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        uint8_t (*ids)[16] = realloc(s->ids, cap * 16);
        if (ids == NULL)
            return false;
        s->ids = ids;
        s->cap = cap;
    }
    memcpy(s->ids[s->n++], id, 16);
    return true;
}

int marac_pub_find(marac_db *db, const pseudonym *ps, size_t n, marac_flag_fn fn, void *ctx,
                   fp_error *err)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open(db->txn, db->pubsubj, &cur);
    if (rc != 0)
        return store_fail(err, rc, "reading published flags");
    id_set seen = {0};
    for (size_t i = 0; i < n && seen.n < PUB_SCAN_MAX; i++) {
        unsigned char key[PSEUD_KEY_LEN];
        pseud_key(key, &ps[i]);
        MDB_val k = store_val(key, sizeof key), v;
        for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_KEY); rc == 0 && seen.n < PUB_SCAN_MAX;
             rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT_DUP))
            if (v.mv_size == 16)
                id_set_add(&seen, v.mv_data);
    }
    mdb_cursor_close(cur);
    int status = rc != 0 && rc != MDB_NOTFOUND ? store_fail(err, rc, "reading published flags")
                                               : FP_OK;
    for (size_t i = 0; status == FP_OK && i < seen.n; i++)
        if (fn(ctx, seen.ids[i]))
            break;
    free(seen.ids);
    return status;
}
