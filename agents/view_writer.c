/*
 * view_writer: view records, committed off the event loop.  See
 * view_writer.h.
 *
 * Two lists under one mutex: bodies waiting to be committed (filled by the
 * loop, emptied by the writer) and message ids committed but not yet sent
 * (filled by the writer, emptied by the loop).  The writer swaps the first
 * list out and works without the lock, so the loop only ever waits for a
 * list append.
 */
#include "view_writer.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "envelope.h"
#include "outbox.h"

typedef struct view_body {
    uint8_t *bytes;
    size_t len;
    unsigned char policy_hash[32];   /* taken on the loop: a reload may swap the policy */
} view_body;

struct view_writer {
    agent *a;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool stopping;
    view_body *queued;
    size_t n_queued, cap_queued;
    unsigned char (*done)[16];
    size_t n_done, cap_done;
};

static bool grow(void **arr, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return true;
    size_t cap2 = *cap ? *cap * 2 : 64;
    while (cap2 < need)
        cap2 *= 2;
    void *p = realloc(*arr, cap2 * elem);
    if (p == NULL)
        return false;
    *arr = p;
    *cap = cap2;
    return true;
}

/* The record outbox_stage would write, built here so this thread reads
 * nothing a reload can swap (agent_reload replaces the policy). */
static int stage_view(view_writer *w, MDB_txn *txn, const view_body *v, unsigned char id[16],
                      fp_error *err)
{
    Flagpost__OutboxRecord rec = FLAGPOST__OUTBOX_RECORD__INIT;
    envelope_new_id(id);
    rec.message_id.data = id;
    rec.message_id.len = 16;
    rec.type = FLAGPOST__MESSAGE_TYPE__MESSAGE_VIEW;
    rec.body.data = v->bytes;
    rec.body.len = v->len;
    rec.accepted_ms = envelope_now_ms();
    rec.state = FLAGPOST__OUTBOX_STATE__OUTBOX_PENDING;
    rec.policy_hash.data = (uint8_t *)(uintptr_t)v->policy_hash;
    rec.policy_hash.len = 32;
    return agent_store_outbox_put(w->a->store, txn, &rec, err);
}

/* Commit a batch of bodies; on success append their ids to done. */
static void commit_batch(view_writer *w, view_body *items, size_t n)
{
    unsigned char (*ids)[16] = calloc(n, 16);
    fp_error err;
    MDB_txn *txn = NULL;
    int rc = ids == NULL ? fp_error_set(&err, FP_ERR_IO, "out of memory")
                         : agent_store_begin(w->a->store, true, &txn, &err);
    for (size_t i = 0; rc == FP_OK && i < n; i++)
        rc = stage_view(w, txn, &items[i], ids[i], &err);
    if (txn != NULL)
        rc = rc == FP_OK ? agent_store_commit(txn, &err) : (agent_store_abort(txn), rc);
    if (rc != FP_OK)
        log_event(&w->a->log, LOG_ERROR, "view-report-failed", "views=%zu error=\"%s\"", n,
                  err.message);
    pthread_mutex_lock(&w->lock);
    if (rc == FP_OK && grow((void **)&w->done, &w->cap_done, w->n_done + n, 16)) {
        memcpy(w->done[w->n_done], ids, n * 16);
        w->n_done += n;
    }   /* else: committed but not remembered; the resend loop sends them */
    pthread_mutex_unlock(&w->lock);
    free(ids);
}

static void *writer_main(void *arg)
{
    view_writer *w = arg;
    pthread_mutex_lock(&w->lock);
    for (;;) {
        while (!w->stopping && w->n_queued == 0)
            pthread_cond_wait(&w->wake, &w->lock);
        if (w->n_queued == 0)
            break;   /* stopping, and nothing left to commit */
        view_body *items = w->queued;
        size_t n = w->n_queued;
        w->queued = NULL;
        w->n_queued = w->cap_queued = 0;
        pthread_mutex_unlock(&w->lock);
        commit_batch(w, items, n);
        for (size_t i = 0; i < n; i++)
            free(items[i].bytes);
        free(items);
        pthread_mutex_lock(&w->lock);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

view_writer *view_writer_start(agent *a)
{
    view_writer *w = calloc(1, sizeof *w);
    if (w == NULL)
        return NULL;
    w->a = a;
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->wake, NULL);
    if (pthread_create(&w->thread, NULL, writer_main, w) != 0) {
        pthread_mutex_destroy(&w->lock);
        pthread_cond_destroy(&w->wake);
        free(w);
        return NULL;
    }
    return w;
}

void view_writer_stop(view_writer *w)
{
    if (w == NULL)
        return;
    pthread_mutex_lock(&w->lock);
    w->stopping = true;
    pthread_cond_signal(&w->wake);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->thread, NULL);
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->wake);
    free(w->queued);
    free(w->done);
    free(w);
}

void view_writer_submit(view_writer *w, uint8_t *body, size_t len)
{
    pthread_mutex_lock(&w->lock);
    if (grow((void **)&w->queued, &w->cap_queued, w->n_queued + 1, sizeof *w->queued)) {
        view_body *v = &w->queued[w->n_queued++];
        v->bytes = body;
        v->len = len;
        memcpy(v->policy_hash, policy_hash(w->a->policy), 32);
        body = NULL;
        pthread_cond_signal(&w->wake);
    }
    pthread_mutex_unlock(&w->lock);
    if (body != NULL) {
        log_event(&w->a->log, LOG_ERROR, "view-report-failed", "error=\"out of memory\"");
        free(body);
    }
}

void view_writer_collect(view_writer *w)
{
    pthread_mutex_lock(&w->lock);
    unsigned char (*ids)[16] = w->done;
    size_t n = w->n_done;
    w->done = NULL;
    w->n_done = w->cap_done = 0;
    pthread_mutex_unlock(&w->lock);
    for (size_t i = 0; i < n; i++) {
        Flagpost__OutboxRecord *rec = NULL;
        if (outbox_read(w->a, ids[i], &rec, NULL) == FP_OK) {
            outbox_send(w->a, rec, NULL);   /* if the broker is away, the resend loop sends it */
            flagpost__outbox_record__free_unpacked(rec, NULL);
        }
        w->a->stats_views++;
    }
    free(ids);
}
