/*
 * outbox_tracker: when each in-flight message was last sent.  See
 * outbox_tracker.h.
 *
 * An open-addressing table with linear probing, keyed by the random tail
 * of the message id.  Forgetting leaves a deleted mark; when live and
 * deleted slots fill half the table it is rebuilt without the marks, and
 * doubled only if the live entries alone need it.
 */
#include "outbox_tracker.h"

#include <stdlib.h>
#include <string.h>

#include "fp_error.h"

#define TRACKER_INITIAL 1024

typedef struct tracker_slot {
    unsigned char id[16];
    int64_t sent_ms;     /* 0: empty, -1: deleted */
} tracker_slot;

struct outbox_tracker {
    tracker_slot *slots;
    size_t cap;          /* power of two */
    size_t used;         /* live + deleted */
    size_t live;
    uint64_t probes;     /* slots examined by lookups, for the tests */
};

int outbox_tracker_new(outbox_tracker **out)
{
    outbox_tracker *t = calloc(1, sizeof *t);
    if (t == NULL)
        return FP_ERR_IO;
    t->slots = calloc(TRACKER_INITIAL, sizeof *t->slots);
    if (t->slots == NULL) {
        free(t);
        return FP_ERR_IO;
    }
    t->cap = TRACKER_INITIAL;
    *out = t;
    return FP_OK;
}

void outbox_tracker_free(outbox_tracker *t)
{
    if (t == NULL)
        return;
    free(t->slots);
    free(t);
}

static size_t slot_of(const outbox_tracker *t, const unsigned char id[16])
{
    /* An id is 48 bits of milliseconds then 80 random bits: the random
     * tail is already a hash; the time-ordered head would put every id
     * in one probe run. */
    uint64_t h;
    memcpy(&h, id + 8, sizeof h);
    return (size_t)h & (t->cap - 1);
}

static tracker_slot *tracker_find(outbox_tracker *t, const unsigned char id[16])
{
    for (size_t i = slot_of(t, id), n = 0; n < t->cap; i = (i + 1) & (t->cap - 1), n++) {
        t->probes++;
        if (t->slots[i].sent_ms == 0)
            return NULL;
        if (t->slots[i].sent_ms > 0 && memcmp(t->slots[i].id, id, 16) == 0)
            return &t->slots[i];
    }
    return NULL;
}

static void tracker_rehash(outbox_tracker *t);

void outbox_tracker_set(outbox_tracker *t, const unsigned char id[16], int64_t when)
{
    tracker_slot *s = tracker_find(t, id);
    if (s != NULL) {
        s->sent_ms = when;
        return;
    }
    if ((t->used + 1) * 2 > t->cap)
        tracker_rehash(t);
    size_t i = slot_of(t, id);
    while (t->slots[i].sent_ms > 0)
        i = (i + 1) & (t->cap - 1);
    if (t->slots[i].sent_ms == 0)
        t->used++;
    memcpy(t->slots[i].id, id, 16);
    t->slots[i].sent_ms = when;
    t->live++;
}

/* Drop the deleted slots; double the table only when the live entries
 * need it, so a long-running agent's table stays the size of what is in
 * flight rather than of everything it ever sent. */
static void tracker_rehash(outbox_tracker *t)
{
    tracker_slot *old = t->slots;
    size_t old_cap = t->cap;
    size_t cap = (t->live + 1) * 4 > old_cap ? old_cap * 2 : old_cap;
    tracker_slot *slots = calloc(cap, sizeof *slots);
    if (slots == NULL)
        return;   /* keep working with the old table; resends just happen sooner */
    t->slots = slots;
    t->cap = cap;
    t->used = 0;
    t->live = 0;
    for (size_t i = 0; i < old_cap; i++)
        if (old[i].sent_ms > 0)
            outbox_tracker_set(t, old[i].id, old[i].sent_ms);
    free(old);
}

void outbox_tracker_forget(outbox_tracker *t, const unsigned char id[16])
{
    tracker_slot *s = tracker_find(t, id);
    if (s != NULL) {
        s->sent_ms = -1;
        t->live--;
    }
}

int64_t outbox_tracker_sent_ms(outbox_tracker *t, const unsigned char id[16])
{
    const tracker_slot *s = tracker_find(t, id);
    return s != NULL ? s->sent_ms : 0;
}

size_t outbox_tracker_capacity(const outbox_tracker *t)
{
    return t->cap;
}

size_t outbox_tracker_count(const outbox_tracker *t)
{
    return t->live;
}

uint64_t outbox_tracker_probes(const outbox_tracker *t)
{
    return t->probes;
}
