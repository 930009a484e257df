/*
 * peers: the connection table.  See peers.h.  A partnership has tens of
 * agencies, so a linear scan is both simplest and fastest here.
 */
#include "peers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Each peer is its own allocation so a pointer to one stays valid when
 * the table grows. */
struct peers {
    peer **items;
    size_t count;
    size_t cap;
    peer *marked;          /* copies of the first marked_count entries (peers_mark) */
    size_t marked_count;
    size_t marked_cap;
};

int peers_new(peers **out)
{
    *out = calloc(1, sizeof **out);
    return *out != NULL ? 0 : -1;
}

void peers_free(peers *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i < p->count; i++)
        free(p->items[i]);
    free(p->items);
    free(p->marked);
    free(p);
}

peer *peers_find(peers *p, const char *agency)
{
    for (size_t i = 0; i < p->count; i++)
        if (strcmp(p->items[i]->agency, agency) == 0)
            return p->items[i];
    return NULL;
}

static peer *peers_add(peers *p, const char *agency)
{
    if (p->count == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 16;
        peer **items = realloc(p->items, cap * sizeof *items);
        if (items == NULL)
            return NULL;
        p->items = items;
        p->cap = cap;
    }
    peer *e = calloc(1, sizeof *e);
    if (e == NULL)
        return NULL;
    p->items[p->count++] = e;
    snprintf(e->agency, sizeof e->agency, "%s", agency);
    return e;
}

peer *peers_touch(peers *p, const char *agency, const unsigned char *routing, size_t len,
                  int64_t now, bool *fresh)
{
    *fresh = false;
    if (len > PEER_ROUTING_MAX)
        return NULL;
    peer *e = peers_find(p, agency);
    if (e == NULL && (e = peers_add(p, agency)) == NULL)
        return NULL;
    if (!e->connected || e->routing_len != len || memcmp(e->routing, routing, len) != 0) {
        *fresh = true;
        memcpy(e->routing, routing, len);
        e->routing_len = len;
        e->connected = true;
        e->connected_ms = now;
        e->cursor = 0;
        peers_forget_inflight(e);
        e->last_progress_ms = now;
        e->sock_known = false;   /* the caller notes the new socket */
    }
    e->last_heard_ms = now;
    return e;
}

size_t peers_count(const peers *p)
{
    return p->count;
}

peer *peers_at(peers *p, size_t i)
{
    return i < p->count ? p->items[i] : NULL;
}

void peers_forget_inflight(peer *p)
{
    p->inflight = 0;
    p->inflight_bytes = 0;
}

int peers_mark(peers *p)
{
    if (p->count > p->marked_cap) {
        peer *m = realloc(p->marked, p->count * sizeof *m);
        if (m == NULL)
            return -1;
        p->marked = m;
        p->marked_cap = p->count;
    }
    for (size_t i = 0; i < p->count; i++)
        p->marked[i] = *p->items[i];
    p->marked_count = p->count;
    return 0;
}

void peers_rollback(peers *p)
{
    while (p->count > p->marked_count)   /* entries are never removed, only added */
        free(p->items[--p->count]);
    for (size_t i = 0; i < p->count; i++)
        *p->items[i] = p->marked[i];
}
