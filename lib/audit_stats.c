/*
 * audit_stats: one pass of counting for the IG report.  See audit_stats.h.
 *
 * Tallies are a row array plus an open-addressing index (FNV-1a, linear
 * probing, kept under half full), so counting a year of a national log
 * stays linear however many agencies and rules there are.  Sorting
 * reorders only the rows, after which the index is dropped: a sorted
 * tally is read-only.
 */
#include "audit_stats.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit_query.h"

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
    return h;
}

static size_t *probe(const audit_tally *t, const char *key)
{
    size_t mask = t->nslots - 1;
    for (size_t i = (size_t)fnv1a(key) & mask;; i = (i + 1) & mask) {
        size_t *slot = &t->slots[i];
        if (*slot == 0 || strcmp(t->rows[*slot - 1].key, key) == 0)
            return slot;
    }
}

static int grow_index(audit_tally *t)
{
    size_t nslots = t->nslots ? t->nslots * 2 : 64;
    size_t *slots = calloc(nslots, sizeof *slots);
    if (slots == NULL)
        return FP_ERR_IO;
    free(t->slots);
    t->slots = slots;
    t->nslots = nslots;
    for (size_t r = 0; r < t->n; r++)
        *probe(t, t->rows[r].key) = r + 1;
    return FP_OK;
}

static audit_tally_row *upsert(audit_tally *t, const char *key)
{
    if ((t->n + 1) * 2 > t->nslots && grow_index(t) != FP_OK)
        return NULL;
    size_t *slot = probe(t, key);
    if (*slot != 0)
        return &t->rows[*slot - 1];
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        audit_tally_row *rows = realloc(t->rows, cap * sizeof *rows);
        if (rows == NULL)
            return NULL;
        t->rows = rows;
        t->cap = cap;
    }
    char *copy = strdup(key);
    if (copy == NULL)
        return NULL;
    audit_tally_row *row = &t->rows[t->n++];
    row->key = copy;
    row->count = 0;
    row->value = INT64_MAX;
    *slot = t->n;
    return row;
}

static audit_tally_row *find_mut(audit_tally *t, const char *key)
{
    if (t->slots == NULL)
        return NULL;
    size_t *slot = probe(t, key);
    return *slot ? &t->rows[*slot - 1] : NULL;
}

int audit_tally_add(audit_tally *t, const char *key, uint64_t amount)
{
    audit_tally_row *row = upsert(t, key != NULL ? key : "");
    if (row == NULL)
        return FP_ERR_IO;
    row->count += amount;
    return FP_OK;
}

const audit_tally_row *audit_tally_find(const audit_tally *t, const char *key)
{
    if (t->slots == NULL) {
        for (size_t i = 0; i < t->n; i++)
            if (strcmp(t->rows[i].key, key) == 0)
                return &t->rows[i];
        return NULL;
    }
    size_t *slot = probe(t, key);
    return *slot ? &t->rows[*slot - 1] : NULL;
}

static int by_count(const void *a, const void *b)
{
    const audit_tally_row *x = a, *y = b;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    return strcmp(x->key, y->key);
}

void audit_tally_sort(audit_tally *t)
{
    free(t->slots);
    t->slots = NULL;
    t->nslots = 0;
    if (t->n > 1)
        qsort(t->rows, t->n, sizeof *t->rows, by_count);
}

void audit_tally_free(audit_tally *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->rows[i].key);
    free(t->rows);
    free(t->slots);
    memset(t, 0, sizeof *t);
}

void audit_stats_init(audit_stats *s)
{
    memset(s, 0, sizeof *s);
    s->first_ms = INT64_MAX;
    s->last_ms = INT64_MIN;
}

static const char *or_none(const char *s, const char *none)
{
    return s != NULL && s[0] != '\0' ? s : none;
}

/* "flag-id-hex|agency": one flag as one recipient holds it. */
static void flag_key(const Flagpost__AuditEntry *e, const char *agency, char *out, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < e->flag_id.len && k + 3 < n; i++) {
        static const char hex[] = "0123456789abcdef";
        out[k++] = hex[e->flag_id.data[i] >> 4];
        out[k++] = hex[e->flag_id.data[i] & 15];
    }
    snprintf(out + k, n - k, "|%s", or_none(agency, ""));
}

/* Pending pairs: value is when the clock starts, count says from what
 * (PENDING_SHARED, PENDING_DELIVERED) or that it stopped (ACKNOWLEDGED). */
enum { PENDING_SHARED = 0, PENDING_DELIVERED = 1, ACKNOWLEDGED = 2 };

static int note_sent(audit_stats *s, const Flagpost__AuditEntry *e, bool delivered)
{
    char key[256];
    flag_key(e, e->recipient, key, sizeof key);
    audit_tally_row *row = upsert(&s->pending, key);
    if (row == NULL)
        return FP_ERR_IO;
    /* The clock starts when the flag reached the agency; when no delivery
     * was recorded, when it was shared. */
    if (row->count == ACKNOWLEDGED)
        return FP_OK;
    if (delivered && row->count == PENDING_SHARED) {
        row->count = PENDING_DELIVERED;
        row->value = e->time_ms;
    } else if (row->count == PENDING_SHARED && e->time_ms < row->value) {
        row->value = e->time_ms;
    }
    return FP_OK;
}

static int note_ack(audit_stats *s, const Flagpost__AuditEntry *e)
{
    /* The acknowledging agency is normally the entry's recipient; accept it
     * as sender too, whichever has the flag outstanding. */
    const char *who[2] = {e->recipient, e->sender};
    for (int w = 0; w < 2; w++) {
        char key[256];
        flag_key(e, who[w], key, sizeof key);
        audit_tally_row *row = find_mut(&s->pending, key);
        if (row == NULL || row->count == ACKNOWLEDGED)
            continue;   /* never sent to them in the period, or already counted */
        row->count = ACKNOWLEDGED;
        if (s->n_ack == s->cap_ack) {
            size_t cap = s->cap_ack ? s->cap_ack * 2 : 64;
            int64_t *a = realloc(s->ack_ms, cap * sizeof *a);
            if (a == NULL)
                return FP_ERR_IO;
            s->ack_ms = a;
            s->cap_ack = cap;
        }
        int64_t d = e->time_ms - row->value;
        s->ack_ms[s->n_ack++] = d > 0 ? d : 0;
        return FP_OK;
    }
    return FP_OK;
}

static int note_removed(audit_stats *s, audit_tally *t, const Flagpost__AuditEntry *e)
{
    char key[256];
    flag_key(e, audit_event_name((int)e->event), key, sizeof key);
    audit_tally_row *row = upsert(&s->seen, key);
    if (row == NULL)
        return FP_ERR_IO;
    if (row->count++ > 0)
        return FP_OK;   /* one flag, many recipients: count it once */
    return audit_tally_add(t, or_none(e->sender, "(unknown)"), 1);
}

static char *dup_or_empty(const char *s)
{
    return strdup(s != NULL ? s : "");
}

static int note_break_glass(audit_stats *s, uint64_t index, const Flagpost__AuditEntry *e)
{
    if (s->n_breaks == s->cap_breaks) {
        size_t cap = s->cap_breaks ? s->cap_breaks * 2 : 8;
        audit_break_glass *b = realloc(s->breaks, cap * sizeof *b);
        if (b == NULL)
            return FP_ERR_IO;
        s->breaks = b;
        s->cap_breaks = cap;
    }
    audit_break_glass *b = &s->breaks[s->n_breaks];
    b->index = index;
    b->time_ms = e->time_ms;
    b->sender = dup_or_empty(e->sender);
    b->recipient = dup_or_empty(e->recipient);
    b->category = dup_or_empty(e->category);
    b->lawful_basis = dup_or_empty(e->lawful_basis);
    b->rule_id = dup_or_empty(e->rule_id);
    b->reason = dup_or_empty(e->reason);
    s->n_breaks++;
    if (!b->sender || !b->recipient || !b->category || !b->lawful_basis || !b->rule_id ||
        !b->reason)
        return FP_ERR_IO;
    return FP_OK;
}

static int count_entry(audit_stats *s, uint64_t index, const Flagpost__AuditEntry *e)
{
    char pair[300];
    switch (e->event) {
    case FLAGPOST__AUDIT_EVENT__AUDIT_DISCLOSURE:
        snprintf(pair, sizeof pair, "%s%c%s", or_none(e->sender, "(unknown)"),
                 AUDIT_PAIR_SEP, or_none(e->recipient, "(unknown)"));
        if (audit_tally_add(&s->pairs, pair, 1) != FP_OK ||
            audit_tally_add(&s->bases, or_none(e->lawful_basis, "(none recorded)"), 1) ||
            audit_tally_add(&s->consent, or_none(e->consent, "(none recorded)"), 1))
            return FP_ERR_IO;
        return note_sent(s, e, false);
    case FLAGPOST__AUDIT_EVENT__AUDIT_DELIVERY:
        return note_sent(s, e, true);
    case FLAGPOST__AUDIT_EVENT__AUDIT_REFUSAL:
        return audit_tally_add(&s->refusal_rules,
                               or_none(e->rule_id, "(no rule allowed it: default deny)"), 1);
    case FLAGPOST__AUDIT_EVENT__AUDIT_VIEW:
        return audit_tally_add(&s->views, or_none(e->recipient, "(unknown)"), 1);
    case FLAGPOST__AUDIT_EVENT__AUDIT_ACKNOWLEDGEMENT:
        return note_ack(s, e);
    case FLAGPOST__AUDIT_EVENT__AUDIT_WITHDRAWAL:
        return note_removed(s, &s->withdrawn, e);
    case FLAGPOST__AUDIT_EVENT__AUDIT_EXPIRY:
        return note_removed(s, &s->expired, e);
    case FLAGPOST__AUDIT_EVENT__AUDIT_BREAK_GLASS:
        return note_break_glass(s, index, e);
    default:
        return FP_OK;
    }
}

int audit_stats_add(audit_stats *s, uint64_t index, const Flagpost__AuditEntry *e,
                    fp_error *err)
{
    s->entries++;
    if ((unsigned)e->event < AUDIT_EVENT_MAX)
        s->by_event[e->event]++;
    if (e->time_ms < s->first_ms)
        s->first_ms = e->time_ms;
    if (e->time_ms > s->last_ms)
        s->last_ms = e->time_ms;
    if (count_entry(s, index, e) != FP_OK)
        return fp_error_set(err, FP_ERR_IO, "out of memory counting audit entries");
    return FP_OK;
}

static int by_value(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

void audit_stats_finish(audit_stats *s)
{
    audit_tally *all[] = {&s->pairs, &s->refusal_rules, &s->bases, &s->consent,
                          &s->views, &s->withdrawn, &s->expired};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        audit_tally_sort(all[i]);
    if (s->n_ack > 1)
        qsort(s->ack_ms, s->n_ack, sizeof *s->ack_ms, by_value);
}

int64_t audit_stats_ack_percentile(const audit_stats *s, int pct)
{
    if (s->n_ack == 0)
        return -1;
    size_t i = (size_t)(((uint64_t)s->n_ack * (uint64_t)pct + 99) / 100);
    i = i == 0 ? 0 : i - 1;
    return s->ack_ms[i < s->n_ack ? i : s->n_ack - 1];
}

void audit_stats_free(audit_stats *s)
{
    audit_tally *all[] = {&s->pairs, &s->refusal_rules, &s->bases, &s->consent, &s->views,
                          &s->withdrawn, &s->expired, &s->pending, &s->seen};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        audit_tally_free(all[i]);
    for (size_t i = 0; i < s->n_breaks; i++) {
        audit_break_glass *b = &s->breaks[i];
        free(b->sender);
        free(b->recipient);
        free(b->category);
        free(b->lawful_basis);
        free(b->rule_id);
        free(b->reason);
    }
    free(s->breaks);
    free(s->ack_ms);
    memset(s, 0, sizeof *s);
}
