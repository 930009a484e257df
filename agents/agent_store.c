/*
 * agent_store: the agent's LMDB databases.  See agent_store.h.
 *
 * Records are protobuf bytes; keys are fixed-size binary so LMDB's default
 * ordering is the order we want (message ids begin with their creation
 * time in milliseconds, so the outbox is in the order records were made;
 * the inbox key is a big-endian counter).
 * The subject index is DUPSORT|DUPFIXED: one key per pseudonym, a sorted
 * run of 16-byte flag ids under it, so a lookup is one cursor seek plus a
 * scan of exactly the matching flags.
 */
#include "agent_store.h"

#include <search.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store.h"

#define LOOKUP_MAX_HITS 4096

struct agent_store {
    MDB_env *env;
    MDB_dbi outbox, pending, flags, subjects, inbox, received, meta, published, notices,
        checkpoints;
};

static int open_dbis(agent_store *s, fp_error *err)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(s->env, NULL, 0, &txn);
    if (rc != 0)
        return store_fail(err, rc, "opening the agent store");
    if ((rc = store_dbi_open(txn, "outbox", MDB_CREATE, &s->outbox, err)) != FP_OK ||
        (rc = store_dbi_open(txn, "pending", MDB_CREATE, &s->pending, err)) != FP_OK ||
        (rc = store_dbi_open(txn, "flags", MDB_CREATE, &s->flags, err)) != FP_OK ||
        (rc = store_dbi_open(txn, "subjects", MDB_CREATE | MDB_DUPSORT | MDB_DUPFIXED,
                             &s->subjects, err)) != FP_OK ||
        (rc = store_dbi_open(txn, "inbox", MDB_CREATE, &s->inbox, err)) != FP_OK ||
        (rc = store_dbi_open(txn, "received", MDB_CREATE, &s->received, err)) != FP_OK ||
        (rc = store_dbi_open(txn, "meta", MDB_CREATE, &s->meta, err)) != FP_OK ||
        (rc = store_dbi_open(txn, "published", MDB_CREATE, &s->published, err)) != FP_OK ||
        (rc = store_dbi_open(txn, "notices", MDB_CREATE, &s->notices, err)) != FP_OK ||
        (rc = store_dbi_open(txn, "checkpoints", MDB_CREATE, &s->checkpoints, err)) != FP_OK) {
        mdb_txn_abort(txn);
        return rc;
    }
    if ((rc = mdb_txn_commit(txn)) != 0)
        return store_fail(err, rc, "creating the agent store");
    return FP_OK;
}

int agent_store_open(agent_store **out, const char *dir, size_t map_size, fp_error *err)
{
    *out = NULL;
    agent_store *s = calloc(1, sizeof *s);
    if (s == NULL)
        return fp_error_set(err, FP_ERR_IO, "out of memory");
    int rc = store_env_open(&s->env, dir, map_size, 32, 0, err);
    if (rc == FP_OK)
        rc = store_writer_attach(s->env, err);
    if (rc == FP_OK)
        rc = open_dbis(s, err);
    if (rc != FP_OK) {
        agent_store_close(s);
        return rc;
    }
    *out = s;
    return FP_OK;
}

MDB_env *agent_store_env(agent_store *s)
{
    return s->env;
}

void agent_store_close(agent_store *s)
{
    if (s == NULL)
        return;
    if (s->env != NULL) {
        store_writer_free(s->env);
        mdb_env_close(s->env);
    }
    free(s);
}

int agent_store_begin(agent_store *s, bool write, MDB_txn **txn, fp_error *err)
{
    if (write)
        return store_begin_write(s->env, false, txn, err);
    int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, txn);
    return rc == 0 ? FP_OK : store_fail(err, rc, "starting a transaction");
}

int agent_store_begin_lazy(agent_store *s, MDB_txn **txn, fp_error *err)
{
    return store_begin_write(s->env, true, txn, err);
}

int agent_store_commit(MDB_txn *txn, fp_error *err)
{
    return store_commit(txn, "committing to the agent store", err);
}

void agent_store_abort(MDB_txn *txn)
{
    store_abort(txn);
}

/* Pack a protobuf message into a value with MDB_RESERVE: no extra copy. */
/* ---------------------------------------------------------------- outbox */

int agent_store_outbox_put(agent_store *s, MDB_txn *txn, const Flagpost__OutboxRecord *rec,
                           fp_error *err)
{
    if (rec->message_id.len != 16)
        return fp_error_set(err, FP_ERR_INTERNAL, "outbox record without a 16-byte id");
    MDB_val key = store_val(rec->message_id.data, 16);
    int rc = store_put_message(txn, s->outbox, &key, &rec->base, "writing to the outbox", err);
    if (rc != FP_OK)
        return rc;
    MDB_val empty = store_val("", 0);
    if (rec->state == FLAGPOST__OUTBOX_STATE__OUTBOX_PENDING)
        rc = mdb_put(txn, s->pending, &key, &empty, 0);
    else
        rc = mdb_del(txn, s->pending, &key, NULL);
    if (rc != 0 && rc != MDB_NOTFOUND)
        return store_fail(err, rc, "updating the outbox's pending list");
    return FP_OK;
}

int agent_store_outbox_get(agent_store *s, MDB_txn *txn, const uint8_t id[16],
                           Flagpost__OutboxRecord **out, fp_error *err)
{
    MDB_val key = store_val(id, 16), val;
    *out = NULL;
    int rc = mdb_get(txn, s->outbox, &key, &val);
    if (rc != 0)
        return store_fail(err, rc, "reading the outbox");
    *out = flagpost__outbox_record__unpack(NULL, val.mv_size, val.mv_data);
    if (*out == NULL)
        return fp_error_set(err, FP_ERR_IO, "outbox record is damaged");
    return FP_OK;
}

int agent_store_outbox_pending(agent_store *s, MDB_txn *txn, const uint8_t after[16],
                               agent_store_outbox_fn fn, void *ctx, fp_error *err)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, s->pending, &cur);
    if (rc != 0)
        return store_fail(err, rc, "scanning the outbox");
    MDB_val key = store_val(after, 16), val;
    rc = mdb_cursor_get(cur, &key, &val, after != NULL ? MDB_SET_RANGE : MDB_FIRST);
    if (rc == 0 && after != NULL && key.mv_size == 16 && memcmp(key.mv_data, after, 16) == 0)
        rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT);
    for (int stop = 0; rc == 0 && !stop; rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
        Flagpost__OutboxRecord *rec = NULL;
        if (key.mv_size != 16 || agent_store_outbox_get(s, txn, key.mv_data, &rec, NULL) != FP_OK)
            continue;
        if (rec->state == FLAGPOST__OUTBOX_STATE__OUTBOX_PENDING)
            stop = fn(ctx, rec);
        flagpost__outbox_record__free_unpacked(rec, NULL);
    }
    mdb_cursor_close(cur);
    return FP_OK;
}

int agent_store_outbox_count(agent_store *s, MDB_txn *txn, size_t *pending, size_t *total)
{
    MDB_stat st;
    *pending = *total = 0;
    if (mdb_stat(txn, s->pending, &st) != 0)
        return FP_ERR_IO;
    *pending = st.ms_entries;
    if (mdb_stat(txn, s->outbox, &st) != 0)
        return FP_ERR_IO;
    *total = st.ms_entries;
    return FP_OK;
}

/* ---------------------------------------------------------------- flags */

bool agent_store_seen(agent_store *s, MDB_txn *txn, const uint8_t msg_id[16])
{
    MDB_val key = store_val(msg_id, 16), val;
    return mdb_get(txn, s->received, &key, &val) == 0;
}

int agent_store_mark_seen(agent_store *s, MDB_txn *txn, const uint8_t msg_id[16],
                          fp_error *err)
{
    unsigned char when[8];
    store_put_u64(when, (uint64_t)time(NULL));
    MDB_val key = store_val(msg_id, 16);
    MDB_val val = {.mv_size = 8, .mv_data = when};
    int rc = mdb_put(txn, s->received, &key, &val, 0);
    return rc == 0 ? FP_OK : store_fail(err, rc, "recording a delivery");
}

/* An empty value decodes as a NULL pointer, which memcpy must not get even
 * for 0 bytes (the broker refuses such a pseudonym; a broker that does not
 * must not make us run into undefined behaviour). */
static void subject_key(const Flagpost__Pseudonym *p, unsigned char out[33])
{
    out[0] = (unsigned char)p->kind;
    memset(out + 1, 0, 32);
    if (p->value.len > 0)
        memcpy(out + 1, p->value.data, p->value.len < 32 ? p->value.len : 32);
}

static int index_subjects(agent_store *s, MDB_txn *txn, const Flagpost__FlagBody *body,
                          const uint8_t flag_id[16], bool remove, fp_error *err)
{
    for (size_t i = 0; i < body->n_subject; i++) {
        unsigned char k[33];
        subject_key(body->subject[i], k);
        MDB_val key = {.mv_size = 33, .mv_data = k};
        MDB_val val = store_val(flag_id, 16);
        int rc = remove ? mdb_del(txn, s->subjects, &key, &val)
                        : mdb_put(txn, s->subjects, &key, &val, MDB_NODUPDATA);
        if (rc != 0 && rc != MDB_KEYEXIST && rc != MDB_NOTFOUND)
            return store_fail(err, rc, "updating the subject index");
    }
    return FP_OK;
}

/* The FlagBody inside a stored flag's signed envelope. */
static Flagpost__FlagBody *stored_body(const Flagpost__StoredFlag *f)
{
    Flagpost__SignedEnvelope *se = flagpost__signed_envelope__unpack(
        NULL, f->signed_envelope.len, f->signed_envelope.data);
    if (se == NULL)
        return NULL;
    Flagpost__Envelope *env = flagpost__envelope__unpack(NULL, se->envelope.len,
                                                         se->envelope.data);
    Flagpost__FlagBody *body = NULL;
    if (env != NULL)
        body = flagpost__flag_body__unpack(NULL, env->body.len, env->body.data);
    if (env != NULL)
        flagpost__envelope__free_unpacked(env, NULL);
    flagpost__signed_envelope__free_unpacked(se, NULL);
    return body;
}

/* A new version replaces the old record: drop the old index entries first
 * so a pseudonym the update removed no longer finds the flag. */
static int unindex_previous(agent_store *s, MDB_txn *txn, const uint8_t flag_id[16],
                            fp_error *err)
{
    Flagpost__StoredFlag *old = NULL;
    if (agent_store_flag_get(s, txn, flag_id, &old, NULL) != FP_OK)
        return FP_OK;
    Flagpost__FlagBody *body = stored_body(old);
    int rc = FP_OK;
    if (body != NULL) {
        rc = index_subjects(s, txn, body, flag_id, true, err);
        flagpost__flag_body__free_unpacked(body, NULL);
    }
    flagpost__stored_flag__free_unpacked(old, NULL);
    return rc;
}

static int next_counter(agent_store *s, MDB_txn *txn, const char *name, uint64_t *out,
                        fp_error *err)
{
    MDB_val key = store_val(name, strlen(name)), val;
    uint64_t v = 0;
    if (mdb_get(txn, s->meta, &key, &val) == 0 && val.mv_size == 8)
        v = store_get_u64(val.mv_data);
    v++;
    unsigned char buf[8];
    store_put_u64(buf, v);
    val.mv_size = 8;
    val.mv_data = buf;
    int rc = mdb_put(txn, s->meta, &key, &val, 0);
    if (rc != 0)
        return store_fail(err, rc, "updating a counter");
    *out = v;
    return FP_OK;
}

int agent_store_flag_put(agent_store *s, MDB_txn *txn, const Flagpost__StoredFlag *flag,
                         const Flagpost__FlagBody *body, fp_error *err)
{
    if (flag->flag_id.len != 16 || flag->message_id.len != 16)
        return fp_error_set(err, FP_ERR_INTERNAL, "stored flag without a 16-byte id");
    int rc = unindex_previous(s, txn, flag->flag_id.data, err);
    if (rc != FP_OK)
        return rc;
    MDB_val key = {.mv_size = 16, .mv_data = flag->flag_id.data};
    if ((rc = store_put_message(txn, s->flags, &key, &flag->base, "storing a flag", err)) != FP_OK)
        return rc;
    if ((rc = index_subjects(s, txn, body, flag->flag_id.data, false, err)) != FP_OK)
        return rc;
    uint64_t seq = 0;
    if ((rc = next_counter(s, txn, "inbox_seq", &seq, err)) != FP_OK)
        return rc;
    unsigned char k[8];
    store_put_u64(k, seq);
    MDB_val ikey = {.mv_size = 8, .mv_data = k};
    MDB_val ival = {.mv_size = 16, .mv_data = flag->flag_id.data};
    if ((rc = mdb_put(txn, s->inbox, &ikey, &ival, 0)) != 0)
        return store_fail(err, rc, "updating the inbox");
    return agent_store_mark_seen(s, txn, flag->message_id.data, err);
}

int agent_store_flag_get(agent_store *s, MDB_txn *txn, const uint8_t flag_id[16],
                         Flagpost__StoredFlag **out, fp_error *err)
{
    MDB_val key = store_val(flag_id, 16), val;
    *out = NULL;
    int rc = mdb_get(txn, s->flags, &key, &val);
    if (rc != 0)
        return store_fail(err, rc, "reading a flag");
    *out = flagpost__stored_flag__unpack(NULL, val.mv_size, val.mv_data);
    if (*out == NULL)
        return fp_error_set(err, FP_ERR_IO, "stored flag record is damaged");
    return FP_OK;
}

static int visit_flag(agent_store *s, MDB_txn *txn, const uint8_t id[16],
                      agent_store_flag_fn fn, void *ctx)
{
    Flagpost__StoredFlag *f = NULL;
    if (agent_store_flag_get(s, txn, id, &f, NULL) != FP_OK)
        return 0;
    int stop = fn(ctx, f);
    flagpost__stored_flag__free_unpacked(f, NULL);
    return stop;
}

static bool already_hit(uint8_t (*hits)[16], size_t n, const uint8_t *id)
{
    for (size_t i = 0; i < n; i++)
        if (memcmp(hits[i], id, 16) == 0)
            return true;
    return false;
}

int agent_store_lookup(agent_store *s, MDB_txn *txn, const pseudonym *ps, size_t count,
                       agent_store_flag_fn fn, void *ctx, fp_error *err)
{
    uint8_t (*hits)[16] = malloc(sizeof(*hits) * LOOKUP_MAX_HITS);
    if (hits == NULL)
        return fp_error_set(err, FP_ERR_IO, "out of memory");
    size_t n = 0;
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, s->subjects, &cur);
    if (rc != 0) {
        free(hits);
        return store_fail(err, rc, "reading the subject index");
    }
    for (size_t i = 0; i < count; i++) {
        unsigned char k[33];
        k[0] = (unsigned char)ps[i].kind;
        memcpy(k + 1, ps[i].value, 32);
        MDB_val key = {.mv_size = 33, .mv_data = k}, val;
        for (rc = mdb_cursor_get(cur, &key, &val, MDB_SET); rc == 0 && n < LOOKUP_MAX_HITS;
             rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT_DUP)) {
            if (val.mv_size == 16 && !already_hit(hits, n, val.mv_data))
                memcpy(hits[n++], val.mv_data, 16);
        }
    }
    mdb_cursor_close(cur);
    for (size_t i = 0; i < n; i++)
        if (visit_flag(s, txn, hits[i], fn, ctx))
            break;
    free(hits);
    return FP_OK;
}

static int compare_ids(const void *x, const void *y)
{
    return memcmp(x, y, 16);
}

static void keep_node_key(void *key)
{
    (void)key;   /* the keys live in shown_ids, freed whole */
}

int agent_store_inbox(agent_store *s, MDB_txn *txn, size_t limit, agent_store_flag_fn fn,
                      void *ctx, fp_error *err)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, s->inbox, &cur);
    if (rc != 0)
        return store_fail(err, rc, "reading the inbox");
    MDB_val key, val;
    size_t shown = 0;
    /* A flag updated twice appears twice in arrival order; show it once,
     * at its newest position.  The ids shown so far are kept in a search
     * tree (glibc's tsearch): a list searched end to end made an inbox of
     * N flags cost N^2/2 comparisons, 3 s for 80,000 on this machine,
     * with the agent's loop, and every lookup, waiting. */
    uint8_t (*shown_ids)[16] = malloc(sizeof(*shown_ids) * (limit ? limit : 1));
    void *tree = NULL;
    bool out_of_memory = shown_ids == NULL;
    for (rc = out_of_memory ? MDB_NOTFOUND : mdb_cursor_get(cur, &key, &val, MDB_LAST);
         rc == 0 && shown < limit; rc = mdb_cursor_get(cur, &key, &val, MDB_PREV)) {
        if (val.mv_size != 16)
            continue;
        memcpy(shown_ids[shown], val.mv_data, 16);
        void *const *node = tsearch(shown_ids[shown], &tree, compare_ids);
        if (node == NULL) {
            out_of_memory = true;
            break;
        }
        if (*node != shown_ids[shown])
            continue;   /* shown already, at a newer position */
        shown++;
        if (visit_flag(s, txn, val.mv_data, fn, ctx))
            break;
    }
    tdestroy(tree, keep_node_key);
    free(shown_ids);
    mdb_cursor_close(cur);
    return out_of_memory ? fp_error_set(err, FP_ERR_IO, "out of memory") : FP_OK;
}

int agent_store_flag_count(agent_store *s, MDB_txn *txn, size_t *count)
{
    MDB_stat st;
    if (mdb_stat(txn, s->flags, &st) != 0)
        return FP_ERR_IO;
    *count = st.ms_entries;
    return FP_OK;
}

int agent_store_flag_set_state(agent_store *s, MDB_txn *txn, const uint8_t flag_id[16],
                               Flagpost__FlagState state, const char *reason, int64_t now_ms,
                               fp_error *err)
{
    Flagpost__StoredFlag *f = NULL;
    int rc = agent_store_flag_get(s, txn, flag_id, &f, err);
    if (rc != FP_OK)
        return rc;
    ProtobufCBinaryData old_part = f->part;
    char *old_reason = f->state_reason;
    f->state = state;
    f->state_reason = (char *)(uintptr_t)(reason ? reason : "");
    f->state_changed_ms = now_ms;
    if (state == FLAGPOST__FLAG_STATE__FLAG_WITHDRAWN || state == FLAGPOST__FLAG_STATE__FLAG_EXPIRED)
        f->part.len = 0;   /* drop the sealed values: this agency no longer holds them */
    MDB_val key = store_val(flag_id, 16);
    rc = store_put_message(txn, s->flags, &key, &f->base, "updating a flag", err);
    f->part = old_part;
    f->state_reason = old_reason;
    flagpost__stored_flag__free_unpacked(f, NULL);
    return rc;
}

int agent_store_published_get(agent_store *s, MDB_txn *txn, const uint8_t flag_id[16],
                              Flagpost__PublishedFlag **out, fp_error *err)
{
    MDB_val key = store_val(flag_id, 16), val;
    *out = NULL;
    int rc = mdb_get(txn, s->published, &key, &val);
    if (rc != 0)
        return store_fail(err, rc, "reading a published flag");
    *out = flagpost__published_flag__unpack(NULL, val.mv_size, val.mv_data);
    return *out != NULL ? FP_OK : fp_error_set(err, FP_ERR_IO, "published flag record is damaged");
}

int agent_store_published_put(agent_store *s, MDB_txn *txn, const uint8_t flag_id[16],
                              const Flagpost__PublishedFlag *rec, fp_error *err)
{
    MDB_val key = store_val(flag_id, 16);
    return store_put_message(txn, s->published, &key, &rec->base, "recording a published flag", err);
}

int agent_store_notice_put(agent_store *s, MDB_txn *txn, const Flagpost__Notice *n,
                           fp_error *err)
{
    unsigned char k[8];
    store_put_u64(k, n->seq);
    MDB_val key = store_val(k, 8), val;
    if (mdb_get(txn, s->notices, &key, &val) == 0)
        return FP_OK;
    return store_put_message(txn, s->notices, &key, &n->base, "storing a notice", err);
}

int agent_store_notices(agent_store *s, MDB_txn *txn, size_t limit, agent_store_notice_fn fn,
                        void *ctx, fp_error *err)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, s->notices, &cur);
    if (rc != 0)
        return store_fail(err, rc, "reading notices");
    MDB_val key, val;
    size_t shown = 0;
    for (rc = mdb_cursor_get(cur, &key, &val, MDB_LAST); rc == 0 && shown < limit;
         rc = mdb_cursor_get(cur, &key, &val, MDB_PREV)) {
        Flagpost__Notice *n = flagpost__notice__unpack(NULL, val.mv_size, val.mv_data);
        if (n == NULL)
            continue;
        shown++;
        int stop = fn(ctx, n);
        flagpost__notice__free_unpacked(n, NULL);
        if (stop)
            break;
    }
    mdb_cursor_close(cur);
    return FP_OK;
}

int agent_store_meta_get(agent_store *s, MDB_txn *txn, const char *name, uint8_t *out,
                         size_t *len)
{
    return store_get_named(txn, s->meta, name, out, len);
}

int agent_store_meta_put(agent_store *s, MDB_txn *txn, const char *name, const uint8_t *v,
                         size_t len, fp_error *err)
{
    return store_put_named(txn, s->meta, name, v, len, err);
}

int agent_store_checkpoint_put(agent_store *s, MDB_txn *txn, uint64_t tree_size,
                               const uint8_t *bytes, size_t len, size_t keep, fp_error *err)
{
    unsigned char k[8];
    store_put_u64(k, tree_size);
    MDB_val key = store_val(k, 8), val = store_val(bytes, len);
    int rc = mdb_put(txn, s->checkpoints, &key, &val, 0);
    if (rc != 0)
        return store_fail(err, rc, "keeping a checkpoint");
    MDB_stat st;
    if (mdb_stat(txn, s->checkpoints, &st) != 0 || st.ms_entries <= keep)
        return FP_OK;
    MDB_cursor *cur;
    if (mdb_cursor_open(txn, s->checkpoints, &cur) != 0)
        return FP_OK;
    for (size_t extra = st.ms_entries - keep; extra > 0; extra--)
        if (mdb_cursor_get(cur, &key, &val, MDB_FIRST) != 0 || mdb_cursor_del(cur, 0) != 0)
            break;
    mdb_cursor_close(cur);
    return FP_OK;
}
