/*
 * deferred_writer: view records and answers, committed off the event
 * loop.  See deferred_writer.h.
 *
 * Four lists under one mutex: bodies waiting to be committed and the
 * broker's answers waiting to be settled (filled by the loop, emptied by
 * the writer), and the message ids of records committed but not yet sent
 * and of records settled (filled by the writer, emptied by the loop).  The
 * writer swaps the first two out and works without the lock, so the loop
 * only ever waits for a list append.
 * Answers travel packed, so the writer owns its copy outright.
 */
#include "deferred_writer.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent.h"
#include "envelope.h"
#include "outbox.h"
#include "outbox_tracker.h"

#define ANSWER_WAIT_MS 100
/* A round that does not commit (the disk full or failing) is tried again
 * after 1 s, then 2, 4, ... up to 30 s; its view records are kept in
 * memory meanwhile, at most this many, so a store that never recovers
 * cannot take the agent's memory with it. */
#define RETRY_FIRST_MS 1000
#define RETRY_MAX_MS 30000
#define MAX_VIEWS_KEPT 100000

typedef struct view_body {
    uint8_t *bytes;
    size_t len;
    unsigned char policy_hash[32];   /* taken on the loop: a reload may swap the policy */
} view_body;

typedef struct packed_answer {
    uint8_t *bytes;                  /* a packed PublishResult */
    size_t len;
} packed_answer;

struct deferred_writer {
    agent *a;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool stopping;
    view_body *queued;
    size_t n_queued, cap_queued;
    packed_answer *answers;
    size_t n_answers, cap_answers;
    unsigned char (*done)[16];
    size_t n_done, cap_done;
    unsigned char (*settled)[16];
    size_t n_settled, cap_settled;
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
static int stage_view(deferred_writer *w, MDB_txn *txn, const view_body *v, unsigned char id[16],
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

/* ids[i] receives answer i's message id (zeros if it does not unpack). */
static int settle_answers(deferred_writer *w, MDB_txn *txn, const packed_answer *items, size_t n,
                          unsigned char (*ids)[16], fp_error *err)
{
    int rc = FP_OK;
    for (size_t i = 0; rc == FP_OK && i < n; i++) {
        Flagpost__PublishResult *res =
            flagpost__publish_result__unpack(NULL, items[i].len, items[i].bytes);
        Flagpost__OutboxRecord *rec = NULL;
        if (res != NULL && res->message_id.len == 16)
            memcpy(ids[i], res->message_id.data, 16);
        if (res != NULL)
            rc = outbox_settle_stage(w->a, txn, res, &rec, err);
        if (rec != NULL)
            flagpost__outbox_record__free_unpacked(rec, NULL);
        if (res != NULL)
            flagpost__publish_result__free_unpacked(res, NULL);
    }
    return rc;
}

/* One transaction for a round: the new view records (durable, since each
 * stands for a lookup already answered) and the answers waiting to be
 * settled, which ride along; a round of answers alone commits lazily (see
 * the header).  On success the new records' ids are appended to done, and
 * the settled records' ids to settled. */
static bool commit_round(deferred_writer *w, view_body *items, size_t n, packed_answer *answers,
                         size_t n_answers)
{
    unsigned char (*ids)[16] = n > 0 ? calloc(n, 16) : NULL;
    unsigned char (*answered)[16] = n_answers > 0 ? calloc(n_answers, 16) : NULL;
    fp_error err;
    MDB_txn *txn = NULL;
    int rc = (n > 0 && ids == NULL) || (n_answers > 0 && answered == NULL)
                 ? fp_error_set(&err, FP_ERR_IO, "out of memory")
             : n > 0              ? agent_store_begin(w->a->store, true, &txn, &err)
                                  : agent_store_begin_lazy(w->a->store, &txn, &err);
    for (size_t i = 0; rc == FP_OK && i < n; i++)
        rc = stage_view(w, txn, &items[i], ids[i], &err);
    if (rc == FP_OK)
        rc = settle_answers(w, txn, answers, n_answers, answered, &err);
    if (txn != NULL)
        rc = rc == FP_OK ? agent_store_commit(txn, &err) : (agent_store_abort(txn), rc);
    /* Answers not settled stay pending: resent, and answered again.  A
     * round of answers alone recorded no view, so it says so by name. */
    if (rc != FP_OK)
        log_event(&w->a->log, LOG_ERROR, n > 0 ? "view-report-failed" : "answers-not-settled",
                  "views=%zu answers=%zu error=\"%s\"", n, n_answers, err.message);
    pthread_mutex_lock(&w->lock);
    if (rc == FP_OK && n > 0 && grow((void **)&w->done, &w->cap_done, w->n_done + n, 16)) {
        memcpy(w->done[w->n_done], ids, n * 16);
        w->n_done += n;
    }   /* else: committed but not remembered; the resend loop sends them */
    if (rc == FP_OK && n_answers > 0 &&
        grow((void **)&w->settled, &w->cap_settled, w->n_settled + n_answers, 16)) {
        memcpy(w->settled[w->n_settled], answered, n_answers * 16);
        w->n_settled += n_answers;
    }   /* else: the tracker keeps them a while longer; harmless */
    pthread_mutex_unlock(&w->lock);
    free(ids);
    free(answered);
    return rc == FP_OK;
}

/* With the lock held: put a round's view records that did not commit back
 * at the front of the queue, in their order, for the next attempt.  False
 * (the caller drops them, logged) when stopping, when too many are kept
 * already, or when out of memory. */
static bool keep_for_retry(deferred_writer *w, view_body *items, size_t n)
{
    if (n == 0 || w->stopping || w->n_queued + n > MAX_VIEWS_KEPT ||
        !grow((void **)&w->queued, &w->cap_queued, w->n_queued + n, sizeof *w->queued))
        return false;
    memmove(w->queued + n, w->queued, w->n_queued * sizeof *w->queued);
    memcpy(w->queued, items, n * sizeof *items);
    w->n_queued += n;
    return true;
}

/* The wall-clock time ms from now, as pthread_cond_timedwait takes it. */
static struct timespec deadline_in(long ms)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (ms % 1000) * 1000000L;
    until.tv_sec += until.tv_nsec / 1000000000L;
    until.tv_nsec %= 1000000000L;
    return until;
}

/* With the lock held: wait ms, or until stopping. */
static void wait_before_retry(deferred_writer *w, long ms)
{
    struct timespec until = deadline_in(ms);
    while (!w->stopping && pthread_cond_timedwait(&w->wake, &w->lock, &until) == 0) {
    }
}

/* Answers alone wait up to ANSWER_WAIT_MS for a view record to commit
 * with, so a steady stream of lookups costs one commit each, not two. */
static void wait_for_company(deferred_writer *w)
{
    struct timespec until = deadline_in(ANSWER_WAIT_MS);
    while (!w->stopping && w->n_queued == 0 &&
           pthread_cond_timedwait(&w->wake, &w->lock, &until) == 0) {
    }
}

static void *writer_main(void *arg)
{
    deferred_writer *w = arg;
    long retry_ms = RETRY_FIRST_MS;
    pthread_mutex_lock(&w->lock);
    for (;;) {
        while (!w->stopping && w->n_queued == 0 && w->n_answers == 0)
            pthread_cond_wait(&w->wake, &w->lock);
        if (w->n_queued == 0 && w->n_answers == 0)
            break;   /* stopping, and nothing left to commit */
        if (w->n_queued == 0)
            wait_for_company(w);
        view_body *items = w->queued;
        size_t n = w->n_queued;
        packed_answer *answers = w->answers;
        size_t n_answers = w->n_answers;
        w->queued = NULL;
        w->n_queued = w->cap_queued = 0;
        w->answers = NULL;
        w->n_answers = w->cap_answers = 0;
        pthread_mutex_unlock(&w->lock);
        bool committed = commit_round(w, items, n, answers, n_answers);
        /* Each view stands for something a person was already shown:
         * kept and tried again, not dropped, while the store refuses. */
        pthread_mutex_lock(&w->lock);
        bool kept = !committed && keep_for_retry(w, items, n);
        pthread_mutex_unlock(&w->lock);
        if (!committed && !kept && n > 0)
            log_event(&w->a->log, LOG_ERROR, "view-report-dropped",
                      "views=%zu hint=\"the agent's store would not commit (see "
                      "view-report-failed); these views were shown and are not recorded\"",
                      n);
        for (size_t i = 0; i < n && !kept; i++)
            free(items[i].bytes);
        for (size_t i = 0; i < n_answers; i++)
            free(answers[i].bytes);
        free(items);
        free(answers);
        pthread_mutex_lock(&w->lock);
        if (kept) {
            wait_before_retry(w, retry_ms);
            retry_ms = retry_ms * 2 < RETRY_MAX_MS ? retry_ms * 2 : RETRY_MAX_MS;
        } else if (committed) {
            retry_ms = RETRY_FIRST_MS;
        }
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

deferred_writer *deferred_writer_start(agent *a)
{
    deferred_writer *w = calloc(1, sizeof *w);
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

void deferred_writer_stop(deferred_writer *w)
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
    free(w->answers);
    free(w->done);
    free(w->settled);
    free(w);
}

void deferred_writer_submit(deferred_writer *w, uint8_t *body, size_t len)
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

bool deferred_writer_settle(deferred_writer *w, const Flagpost__PublishResult *res)
{
    size_t len = flagpost__publish_result__get_packed_size(res);
    uint8_t *bytes = malloc(len ? len : 1);
    if (bytes == NULL)
        return false;
    flagpost__publish_result__pack(res, bytes);
    pthread_mutex_lock(&w->lock);
    bool queued = grow((void **)&w->answers, &w->cap_answers, w->n_answers + 1,
                       sizeof *w->answers);
    if (queued) {
        w->answers[w->n_answers++] = (packed_answer){bytes, len};
        pthread_cond_signal(&w->wake);
    }
    pthread_mutex_unlock(&w->lock);
    if (!queued)
        free(bytes);
    return queued;
}

void deferred_writer_collect(deferred_writer *w)
{
    pthread_mutex_lock(&w->lock);
    unsigned char (*ids)[16] = w->done;
    size_t n = w->n_done;
    w->done = NULL;
    w->n_done = w->cap_done = 0;
    unsigned char (*settled)[16] = w->settled;
    size_t n_settled = w->n_settled;
    w->settled = NULL;
    w->n_settled = w->cap_settled = 0;
    pthread_mutex_unlock(&w->lock);
    for (size_t i = 0; i < n_settled; i++) {
        char hex[33];
        envelope_id_hex(settled[i], 16, hex);
        outbox_tracker_forget(w->a->tracker, settled[i]);
        log_event(&w->a->log, LOG_DEBUG, "publish-settled", "message=%s", hex);
    }
    free(settled);
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
