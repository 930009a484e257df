/*
 * Unit tests for agents/outbox_tracker.c: lookups with real, time-ordered
 * message ids (many made in the same millisecond), and a table whose size
 * follows what is in flight rather than everything ever sent.
 */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "envelope.h"
#include "fp_error.h"
#include "outbox_tracker.h"

static void test_set_find_forget(void)
{
    outbox_tracker *t = NULL;
    CHECK_EQ_INT(outbox_tracker_new(&t), FP_OK);
    if (t == NULL)
        return;
    enum { N = 3000 };
    static unsigned char ids[N][16];
    for (int i = 0; i < N; i++) {
        envelope_new_id(ids[i]);
        outbox_tracker_set(t, ids[i], 1000 + i);
    }
    CHECK_EQ_INT(outbox_tracker_count(t), N);
    int found = 0;
    for (int i = 0; i < N; i++)
        found += outbox_tracker_sent_ms(t, ids[i]) == 1000 + i;
    CHECK_EQ_INT(found, N);
    outbox_tracker_set(t, ids[7], 99999);   /* a resend updates in place */
    CHECK(outbox_tracker_sent_ms(t, ids[7]) == 99999);
    CHECK_EQ_INT(outbox_tracker_count(t), N);
    for (int i = 0; i < N; i += 2)
        outbox_tracker_forget(t, ids[i]);
    CHECK_EQ_INT(outbox_tracker_count(t), N / 2);
    int still = 0, gone = 0;
    for (int i = 0; i < N; i++) {
        int64_t s = outbox_tracker_sent_ms(t, ids[i]);
        if (i % 2 == 0)
            gone += s == 0;
        else
            still += s > 0;
    }
    CHECK_EQ_INT(gone, N / 2);
    CHECK_EQ_INT(still, N / 2);
    unsigned char unknown[16];
    envelope_new_id(unknown);
    CHECK(outbox_tracker_sent_ms(t, unknown) == 0);
    outbox_tracker_forget(t, unknown);   /* forgetting the unknown is harmless */
    CHECK_EQ_INT(outbox_tracker_count(t), N / 2);
    outbox_tracker_free(t);
}

/* An agent that sends for months with a few hundred in flight keeps a
 * small table: 200,000 send-and-settle cycles, 200 in flight at a time. */
static void test_size_follows_what_is_in_flight(void)
{
    outbox_tracker *t = NULL;
    CHECK_EQ_INT(outbox_tracker_new(&t), FP_OK);
    if (t == NULL)
        return;
    enum { WINDOW = 200, CYCLES = 200000 };
    static unsigned char ring[WINDOW][16];
    for (int i = 0; i < CYCLES; i++) {
        unsigned char *slot = ring[i % WINDOW];
        if (i >= WINDOW)
            outbox_tracker_forget(t, slot);
        envelope_new_id(slot);
        outbox_tracker_set(t, slot, 1 + i);
    }
    CHECK_EQ_INT(outbox_tracker_count(t), WINDOW);
    CHECK(outbox_tracker_capacity(t) <= 4096);
    outbox_tracker_free(t);
}

/* After a long outage an agent holds many pending messages, all made
 * within minutes, so their ids share their leading (time) bytes.  Each
 * lookup must still examine only a few slots, or the resend scan after
 * the outage is quadratic. */
static void test_lookups_stay_short_with_many_pending(void)
{
    outbox_tracker *t = NULL;
    CHECK_EQ_INT(outbox_tracker_new(&t), FP_OK);
    if (t == NULL)
        return;
    enum { N = 20000 };
    static unsigned char ids[N][16];
    for (int i = 0; i < N; i++) {
        envelope_new_id(ids[i]);
        outbox_tracker_set(t, ids[i], 1 + i);
    }
    uint64_t before = outbox_tracker_probes(t);
    for (int i = 0; i < N; i++)
        outbox_tracker_sent_ms(t, ids[i]);
    double per_lookup = (double)(outbox_tracker_probes(t) - before) / N;
    printf("#   %.2f slots examined per lookup\n", per_lookup);
    CHECK(per_lookup < 4.0);
    outbox_tracker_free(t);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    RUN(test_set_find_forget);
    RUN(test_size_follows_what_is_in_flight);
    RUN(test_lookups_stay_short_with_many_pending);
    return check_summary();
}
