/*
 * verify_pool: parallel signature checks for a batch.  See verify_pool.h.
 *
 * Workers sleep on a condition variable until a table is posted (a new
 * generation), then take questions by an atomic counter until none are
 * left.  verify_pool_finish takes questions the same way (so the main
 * thread helps when it has nothing else to do, and finds the work done
 * when it had), then waits until every worker has checked out of the
 * generation: only then may the table be read, cleared or refilled.
 * Answers are found by a linear scan from a hint, since staging asks in
 * the order the questions were added.
 */
#include "verify_pool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "envelope.h"

#define VERIFY_CHECKS_MAX 2048
#define VERIFY_POOL_MAX_THREADS 64

typedef struct job {
    const Flagpost__SignedEnvelope *se;
    unsigned char key[32];
    bool ok;
} job;

struct verify_checks {
    job jobs[VERIFY_CHECKS_MAX];
    size_t n_jobs;
    atomic_size_t next;        /* next question to take */
    bool posted;               /* handed to the workers, not yet finished */
    size_t hint;
};

struct verify_pool {
    pthread_mutex_t lock;
    pthread_cond_t wake, done;
    pthread_t threads[VERIFY_POOL_MAX_THREADS];
    unsigned n_threads;
    bool stopping;
    unsigned long generation;
    verify_checks *current;    /* the posted table, under lock */
    unsigned checked_out;      /* workers done with this generation, under lock */
};

/* Take and answer questions until none are left. */
static void work(verify_checks *c)
{
    for (;;) {
        size_t i = atomic_fetch_add(&c->next, 1);
        if (i >= c->n_jobs)
            return;
        c->jobs[i].ok = envelope_verify(c->jobs[i].se, c->jobs[i].key, NULL) == FP_OK;
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
        verify_checks *c = p->current;
        pthread_mutex_unlock(&p->lock);
        work(c);
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

verify_checks *verify_checks_new(void)
{
    verify_checks *c = calloc(1, sizeof *c);
    if (c != NULL)
        atomic_init(&c->next, 0);
    return c;
}

void verify_checks_free(verify_checks *c)
{
    free(c);
}

void verify_checks_add(verify_checks *c, const Flagpost__SignedEnvelope *se,
                       const unsigned char sign_public[32])
{
    if (c->posted || c->n_jobs >= VERIFY_CHECKS_MAX || se == NULL)
        return;
    job *j = &c->jobs[c->n_jobs++];
    j->se = se;
    memcpy(j->key, sign_public, 32);
    j->ok = false;
}

void verify_pool_start(verify_pool *p, verify_checks *c)
{
    atomic_store(&c->next, 0);
    if (c->posted || c->n_jobs <= 1 || p->n_threads == 0)
        return;
    pthread_mutex_lock(&p->lock);
    if (p->current != NULL) {   /* another table is still out: c is answered inline */
        pthread_mutex_unlock(&p->lock);
        return;
    }
    p->current = c;
    p->checked_out = 0;
    p->generation++;
    c->posted = true;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);
}

void verify_pool_finish(verify_pool *p, verify_checks *c)
{
    work(c);
    if (!c->posted)
        return;
    pthread_mutex_lock(&p->lock);
    while (p->checked_out < p->n_threads)
        pthread_cond_wait(&p->done, &p->lock);
    p->current = NULL;
    pthread_mutex_unlock(&p->lock);
    c->posted = false;
}

bool verify_checks_signed(verify_checks *c, const Flagpost__SignedEnvelope *se,
                          const unsigned char sign_public[32])
{
    for (size_t k = 0; c != NULL && !c->posted && k < c->n_jobs; k++) {
        size_t i = (c->hint + k) % c->n_jobs;
        if (c->jobs[i].se == se && memcmp(c->jobs[i].key, sign_public, 32) == 0) {
            c->hint = i + 1;
            return c->jobs[i].ok;
        }
    }
    return envelope_verify(se, sign_public, NULL) == FP_OK;
}

void verify_checks_clear(verify_checks *c)
{
    c->n_jobs = 0;
    c->hint = 0;
    atomic_store(&c->next, 0);
}
