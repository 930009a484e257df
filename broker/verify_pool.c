/*
 * verify_pool: parallel signature checks for a batch.  See verify_pool.h.
 *
 * Workers sleep on a condition variable until a batch is posted (a new
 * generation), then take jobs by an atomic counter until none are left;
 * the posting thread takes jobs the same way, then waits until every
 * worker has checked out of the generation, so no worker can still be
 * reading the job table when the next batch starts filling it.  A batch of one job never wakes a worker: at
 * light load the thread hand-off would cost more than it saves.
 * Answers are found by a linear scan from a hint, since staging asks in
 * the order the jobs were added.
 */
#include "verify_pool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "envelope.h"

#define VERIFY_POOL_JOBS 2048
#define VERIFY_POOL_MAX_THREADS 64

typedef struct job {
    const Flagpost__SignedEnvelope *se;
    unsigned char key[32];
    bool ok;
} job;

struct verify_pool {
    pthread_mutex_t lock;
    pthread_cond_t wake, done;
    pthread_t threads[VERIFY_POOL_MAX_THREADS];
    unsigned n_threads;
    bool stopping;
    unsigned long generation;
    job jobs[VERIFY_POOL_JOBS];
    size_t n_jobs;
    atomic_size_t next;        /* next job to take */
    unsigned checked_out;      /* workers done with this generation, under lock */
    size_t hint;
};

/* Take and run jobs until none are left. */
static void work(verify_pool *p)
{
    for (;;) {
        size_t i = atomic_fetch_add(&p->next, 1);
        if (i >= p->n_jobs)
            return;
        p->jobs[i].ok = envelope_verify(p->jobs[i].se, p->jobs[i].key, NULL) == FP_OK;
    }
}

static void *worker(void *arg)
{
    verify_pool *p = arg;
    unsigned long seen = 0;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (!p->stopping && p->generation == seen)
            pthread_cond_wait(&p->wake, &p->lock);
        if (p->stopping)
            break;
        seen = p->generation;
        pthread_mutex_unlock(&p->lock);
        work(p);
        pthread_mutex_lock(&p->lock);
        if (++p->checked_out == p->n_threads)
            pthread_cond_signal(&p->done);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

unsigned verify_pool_default_threads(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n <= 1)
        return 0;
    return n - 1 > VERIFY_POOL_MAX_THREADS ? VERIFY_POOL_MAX_THREADS : (unsigned)(n - 1);
}

verify_pool *verify_pool_new(unsigned threads)
{
    verify_pool *p = calloc(1, sizeof *p);
    if (p == NULL)
        return NULL;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->wake, NULL);
    pthread_cond_init(&p->done, NULL);
    atomic_init(&p->next, 0);
    if (threads > VERIFY_POOL_MAX_THREADS)
        threads = VERIFY_POOL_MAX_THREADS;
    for (unsigned i = 0; i < threads; i++) {
        if (pthread_create(&p->threads[i], NULL, worker, p) != 0) {
            verify_pool_free(p);
            return NULL;
        }
        p->n_threads++;
    }
    return p;
}

void verify_pool_free(verify_pool *p)
{
    if (p == NULL)
        return;
    pthread_mutex_lock(&p->lock);
    p->stopping = true;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);
    for (unsigned i = 0; i < p->n_threads; i++)
        pthread_join(p->threads[i], NULL);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->wake);
    pthread_cond_destroy(&p->done);
    free(p);
}

void verify_pool_add(verify_pool *p, const Flagpost__SignedEnvelope *se,
                     const unsigned char sign_public[32])
{
    if (p->n_jobs >= VERIFY_POOL_JOBS || se == NULL)
        return;
    job *j = &p->jobs[p->n_jobs++];
    j->se = se;
    memcpy(j->key, sign_public, 32);
    j->ok = false;
}

void verify_pool_run(verify_pool *p)
{
    if (p->n_jobs == 0)
        return;
    atomic_store(&p->next, 0);
    if (p->n_jobs == 1 || p->n_threads == 0) {
        work(p);
        return;
    }
    pthread_mutex_lock(&p->lock);
    p->checked_out = 0;
    p->generation++;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);
    work(p);
    pthread_mutex_lock(&p->lock);
    while (p->checked_out < p->n_threads)
        pthread_cond_wait(&p->done, &p->lock);
    pthread_mutex_unlock(&p->lock);
}

bool verify_pool_signed(verify_pool *p, const Flagpost__SignedEnvelope *se,
                        const unsigned char sign_public[32])
{
    for (size_t k = 0; p != NULL && k < p->n_jobs; k++) {
        size_t i = (p->hint + k) % p->n_jobs;
        if (p->jobs[i].se == se && memcmp(p->jobs[i].key, sign_public, 32) == 0) {
            p->hint = i + 1;
            return p->jobs[i].ok;
        }
    }
    return envelope_verify(se, sign_public, NULL) == FP_OK;
}

void verify_pool_clear(verify_pool *p)
{
    p->n_jobs = 0;
    p->hint = 0;
}
