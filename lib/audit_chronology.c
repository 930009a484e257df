/*
 * audit_chronology: collecting one subject's entries.  See
 * audit_chronology.h.
 *
 * One pass in log order is enough to follow flags: an entry that names
 * the subject always comes before the deliveries and acknowledgements of
 * its flag, because the broker writes them in that order.  The flag set is
 * filled regardless of the period, so a delivery inside the period is
 * found even when the disclosure came before it.
 */
#include "audit_chronology.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "audit_query.h"

void audit_chronology_init(audit_chronology *c)
{
    memset(c, 0, sizeof *c);
    c->from_ms = INT64_MIN;
    c->to_ms = INT64_MAX;
}

static void flag_hex(const Flagpost__AuditEntry *e, char out[65])
{
    static const char hex[] = "0123456789abcdef";
    size_t n = e->flag_id.len < 32 ? e->flag_id.len : 32;
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[e->flag_id.data[i] >> 4];
        out[2 * i + 1] = hex[e->flag_id.data[i] & 15];
    }
    out[2 * n] = '\0';
}

static int note_agency(audit_chronology *c, const Flagpost__AuditEntry *e)
{
    const char *who = audit_entry_actor(e);
    if (who == NULL || who[0] == '\0')
        return FP_OK;
    audit_chronology_agency *a = NULL;
    for (size_t i = 0; i < c->n_agencies && a == NULL; i++)
        if (strcmp(c->agencies[i].agency, who) == 0)
            a = &c->agencies[i];
    if (a == NULL) {
        if (c->n_agencies == c->cap_agencies) {
            size_t cap = c->cap_agencies ? c->cap_agencies * 2 : 8;
            audit_chronology_agency *g = realloc(c->agencies, cap * sizeof *g);
            if (g == NULL)
                return FP_ERR_IO;
            c->agencies = g;
            c->cap_agencies = cap;
        }
        a = &c->agencies[c->n_agencies];
        memset(a, 0, sizeof *a);
        if ((a->agency = strdup(who)) == NULL)
            return FP_ERR_IO;
        c->n_agencies++;
    }
    if ((unsigned)e->event < AUDIT_EVENT_MAX)
        a->by_event[e->event]++;
    return FP_OK;
}

static int keep(audit_chronology *c, uint64_t index, Flagpost__AuditEntry *e)
{
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 32;
        audit_chronology_item *items = realloc(c->items, cap * sizeof *items);
        if (items == NULL)
            return FP_ERR_IO;
        c->items = items;
        c->cap = cap;
    }
    c->items[c->n].index = index;
    c->items[c->n].entry = e;
    c->n++;
    return note_agency(c, e);
}

struct visit_ctx {
    audit_chronology *c;
    int rc;
    uint64_t bad;
};

static int visit(void *vctx, uint64_t index, const uint8_t *bytes, size_t len)
{
    struct visit_ctx *v = vctx;
    audit_chronology *c = v->c;
    Flagpost__AuditEntry *e = flagpost__audit_entry__unpack(NULL, len, bytes);
    if (e == NULL) {
        v->rc = FP_ERR_INPUT;
        v->bad = index;
        return 1;
    }
    char flag[65];
    flag_hex(e, flag);
    bool named = audit_entry_has_subject(e, c->subjects, c->n_subjects);
    bool linked = flag[0] != '\0' && audit_tally_find(&c->flags, flag) != NULL;
    if (named && flag[0] != '\0' && !linked && audit_tally_add(&c->flags, flag, 1) != FP_OK)
        v->rc = FP_ERR_IO;
    if (v->rc == FP_OK && (named || linked) && e->time_ms >= c->from_ms &&
        e->time_ms <= c->to_ms) {
        if (keep(c, index, e) != FP_OK)
            v->rc = FP_ERR_IO;
        return v->rc != FP_OK;
    }
    flagpost__audit_entry__free_unpacked(e, NULL);
    return v->rc != FP_OK;
}

static int by_time(const void *a, const void *b)
{
    const audit_chronology_item *x = a, *y = b;
    if (x->entry->time_ms != y->entry->time_ms)
        return x->entry->time_ms < y->entry->time_ms ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

int audit_chronology_collect(audit_chronology *c, audit_log *log, MDB_txn *txn,
                             fp_error *err)
{
    struct visit_ctx v = {c, FP_OK, 0};
    int rc = audit_log_scan(log, txn, 0, visit, &v, err);
    if (rc != FP_OK)
        return rc;
    if (v.rc == FP_ERR_INPUT)
        return fp_error_set(err, FP_ERR_IO,
                            "audit entry %llu cannot be decoded: the trail is damaged; run "
                            "`flagpost audit verify` to see what changed",
                            (unsigned long long)v.bad);
    if (v.rc != FP_OK)
        return fp_error_set(err, FP_ERR_IO, "out of memory building the chronology");
    if (c->n > 1)
        qsort(c->items, c->n, sizeof *c->items, by_time);
    return FP_OK;
}

void audit_chronology_free(audit_chronology *c)
{
    for (size_t i = 0; i < c->n; i++)
        flagpost__audit_entry__free_unpacked(c->items[i].entry, NULL);
    free(c->items);
    for (size_t i = 0; i < c->n_agencies; i++)
        free(c->agencies[i].agency);
    free(c->agencies);
    audit_tally_free(&c->flags);
    memset(c->subjects, 0, sizeof c->subjects);
    c->items = NULL;
    c->agencies = NULL;
    c->n = c->n_agencies = 0;
}
