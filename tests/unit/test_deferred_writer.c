/*
 * test_deferred_writer: a view record whose commit fails is kept and
 * committed later, not dropped.
 *
 * Each view body handed to the deferred writer stands for a flag a person
 * was already shown; SPEC.md: every view is logged.  The writer once
 * freed a round that did not commit (a full or failing disk), so the view
 * never reached the broker's audit trail.  The commit fails for real here:
 * RLIMIT_FSIZE below the store's data file (SIGXFSZ ignored) makes LMDB's
 * write fail with EFBIG, as a disk error would; the limit is lifted and
 * the writer's retry must then commit the record.  The fixture is
 * fuzz_agent_receive's real agent and LMDB store.
 */
#include "agent_fixture.h"

#include <signal.h>
#include <sodium.h>
#include <sys/resource.h>
#include <time.h>

#include "check.h"
#include "deferred_writer.h"

static size_t pending_records(agent *a)
{
    MDB_txn *txn;
    size_t pending = 0, total = 0;
    if (agent_store_begin(a->store, false, &txn, NULL) != FP_OK)
        return (size_t)-1;
    agent_store_outbox_count(a->store, txn, &pending, &total);
    agent_store_abort(txn);
    return pending;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static uint8_t *view_bytes(void)
{
    uint8_t *body = malloc(16);
    if (body != NULL)
        memset(body, 0x5a, 16);
    return body;
}

static void test_view_kept_until_store_commits(void)
{
    fa_fixture *fx = fa_fixture_new();
    agent *a = &fx->agents[RX_MEMBER];
    size_t before = pending_records(a);
    deferred_writer *w = deferred_writer_start(a);
    CHECK(w != NULL);
    if (w == NULL) {
        fa_fixture_free(fx);
        return;
    }
    /* The nearest accepted input: a view that commits at once. */
    deferred_writer_submit(w, view_bytes(), 16);
    for (int i = 0; i < 100 && pending_records(a) != before + 1; i++)
        sleep_ms(20);
    CHECK_EQ_INT((int)pending_records(a), (int)before + 1);

    struct rlimit old, tight;
    CHECK_EQ_INT(getrlimit(RLIMIT_FSIZE, &old), 0);
    tight = old;
    tight.rlim_cur = 4096;
    signal(SIGXFSZ, SIG_IGN);
    CHECK_EQ_INT(setrlimit(RLIMIT_FSIZE, &tight), 0);
    deferred_writer_submit(w, view_bytes(), 16);
    sleep_ms(300);   /* the writer's first attempt fails meanwhile */
    CHECK_EQ_INT((int)pending_records(a), (int)before + 1);
    CHECK_EQ_INT(setrlimit(RLIMIT_FSIZE, &old), 0);
    /* Retried after 1 s; allow a few. */
    for (int i = 0; i < 250 && pending_records(a) != before + 2; i++)
        sleep_ms(20);
    CHECK_EQ_INT((int)pending_records(a), (int)before + 2);
    deferred_writer_stop(w);
    fa_fixture_free(fx);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    RUN(test_view_kept_until_store_commits);
    return check_summary();
}
