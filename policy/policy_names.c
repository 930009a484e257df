/*
 * policy_names: the policy's string arena, its name table, and the
 * diagnostics sink.
 *
 * Strings the compiled policy keeps (names, rule ids, descriptions) are
 * copied into an arena of large chunks that policy_free() releases in one
 * walk, so the policy owns every string it hands out and no per-string
 * bookkeeping exists.
 *
 * The name table maps (kind, scope, name) to the small integer used in the
 * rule bitmasks.  It is an open-addressing hash table (FNV-1a, linear
 * probing, at most half full) built at load time; lookups on the decision
 * path hash the request's string once and compare it once, without
 * allocating.
 */
#include "policy_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define POL_CHUNK 16384

struct pol_chunk {
    pol_chunk *next;
    size_t used, cap;
    char data[];
};

const char *pol_strdup(policy *p, const char *s, size_t len)
{
    pol_chunk *c = p->arena;
    if (c == NULL || c->cap - c->used < len + 1) {
        size_t cap = len + 1 > POL_CHUNK ? len + 1 : POL_CHUNK;
        pol_chunk *nc = malloc(sizeof *nc + cap);
        if (nc == NULL)
            return NULL;
        nc->next = c;
        nc->used = 0;
        nc->cap = cap;
        p->arena = c = nc;
    }
    char *out = c->data + c->used;
    memcpy(out, s, len);
    out[len] = '\0';
    c->used += len + 1;
    return out;
}

void pol_arena_free(policy *p)
{
    pol_chunk *c = p->arena;
    while (c != NULL) {
        pol_chunk *next = c->next;
        free(c);
        c = next;
    }
    p->arena = NULL;
    free(p->names.slots);
    p->names.slots = NULL;
}

static uint32_t name_hash(int kind, int scope, const char *s)
{
    uint32_t h = 2166136261u ^ (uint32_t)(kind * 131 + scope * 7919);
    for (; *s != '\0'; s++) {
        h ^= (unsigned char)*s;
        h *= 16777619u;
    }
    return h ? h : 1;   /* 0 marks an empty slot */
}

static int names_grow(pol_names *t)
{
    size_t cap = t->cap ? t->cap * 2 : 256;
    pol_name *slots = calloc(cap, sizeof *slots);
    if (slots == NULL)
        return FP_ERR_IO;
    for (size_t i = 0; i < t->cap; i++) {
        if (t->slots[i].hash == 0)
            continue;
        size_t j = t->slots[i].hash & (cap - 1);
        while (slots[j].hash != 0)
            j = (j + 1) & (cap - 1);
        slots[j] = t->slots[i];
    }
    free(t->slots);
    t->slots = slots;
    t->cap = cap;
    return FP_OK;
}

/* name must already live in the arena.  Returns FP_ERR_INPUT if the same
 * (kind, scope, name) is present. */
int pol_name_add(policy *p, int kind, int scope, const char *name, int index)
{
    pol_names *t = &p->names;
    if (pol_name_find(p, kind, scope, name) >= 0)
        return FP_ERR_INPUT;
    if ((t->count + 1) * 2 > t->cap && names_grow(t) != FP_OK)
        return FP_ERR_IO;
    uint32_t h = name_hash(kind, scope, name);
    size_t j = h & (t->cap - 1);
    while (t->slots[j].hash != 0)
        j = (j + 1) & (t->cap - 1);
    t->slots[j] = (pol_name){ .name = name, .hash = h, .kind = (uint16_t)kind,
                              .scope = (uint16_t)scope, .index = index };
    t->count++;
    return FP_OK;
}

int pol_name_find(const policy *p, int kind, int scope, const char *name)
{
    const pol_names *t = &p->names;
    if (name == NULL || t->cap == 0)
        return -1;
    uint32_t h = name_hash(kind, scope, name);
    for (size_t j = h & (t->cap - 1);; j = (j + 1) & (t->cap - 1)) {
        const pol_name *e = &t->slots[j];
        if (e->hash == 0)
            return -1;
        if (e->hash == h && e->kind == kind && e->scope == scope &&
            strcmp(e->name, name) == 0)
            return e->index;
    }
}

static void deliver(pol_diag *d, int line, int col, const char *msg)
{
    if (d->count == 0 && d->err != NULL) {
        if (line > 0)
            fp_error_set(d->err, FP_ERR_INPUT, "%s:%d:%d: %s", d->source, line, col, msg);
        else
            fp_error_set(d->err, FP_ERR_INPUT, "%s: %s", d->source, msg);
    }
    d->count++;
    if (d->fn != NULL)
        d->fn(d->ctx, d->source, line, col, msg);
}

void pol_report(pol_diag *d, int line, int col, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    deliver(d, line, col, msg);
}

void pol_report_at(pol_diag *d, const pnode *at, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    deliver(d, at ? at->line : 0, at ? at->col : 0, msg);
}
