/*
 * policy_yaml: YAML text to a small tree of scalars, sequences and mappings
 * that remembers where each node starts, so every later error can name a
 * line and column.
 *
 * libyaml's event parser does the YAML; this file only builds the tree.  We
 * use events rather than libyaml's document loader because the loader
 * resolves aliases into a graph that may contain cycles (an anchor is
 * registered before its node is complete) and may expand exponentially.  A
 * policy is a document people review line by line, so anchors and aliases
 * are refused outright with a clear message; so are a second document,
 * duplicate mapping keys, non-scalar keys and nesting deeper than
 * PYAML_MAX_DEPTH.  The node count is bounded too, so hostile input costs
 * bounded memory and no recursion can exhaust the stack.
 */
#include "policy_internal.h"

#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define PYAML_MAX_DEPTH 32
#define PYAML_MAX_NODES 200000

typedef struct builder {
    pnode *stack[PYAML_MAX_DEPTH + 1];
    int depth;
    size_t nodes;
    pnode *root;
    pol_diag *d;
    bool failed;
} builder;

static pnode *node_new(builder *b, int type, const yaml_mark_t *m)
{
    if (++b->nodes > PYAML_MAX_NODES) {
        pol_report(b->d, (int)m->line + 1, (int)m->column + 1,
                   "the file has more than %d YAML nodes; a policy is never this large",
                   PYAML_MAX_NODES);
        b->failed = true;
        return NULL;
    }
    pnode *n = calloc(1, sizeof *n);
    if (n == NULL) {
        pol_report(b->d, 0, 0, "out of memory reading the policy");
        b->failed = true;
        return NULL;
    }
    n->type = type;
    n->line = (int)m->line + 1;
    n->col = (int)m->column + 1;
    return n;
}

void pyaml_free(pnode *n)
{
    if (n == NULL)
        return;
    for (size_t i = 0; i < n->n; i++)
        pyaml_free(n->items[i]);
    free(n->items);
    free(n->value);
    free(n);
}

const pnode *pyaml_get(const pnode *map, const char *key)
{
    if (map == NULL || map->type != PN_MAP)
        return NULL;
    for (size_t i = 0; i + 1 < map->n; i += 2)
        if (strcmp(map->items[i]->value, key) == 0)
            return map->items[i + 1];
    return NULL;
}

static bool append(builder *b, pnode *parent, pnode *child)
{
    if (parent->n == parent->cap) {
        size_t cap = parent->cap ? parent->cap * 2 : 8;
        pnode **items = realloc(parent->items, cap * sizeof *items);
        if (items == NULL) {
            pol_report(b->d, 0, 0, "out of memory reading the policy");
            b->failed = true;
            return false;
        }
        parent->items = items;
        parent->cap = cap;
    }
    parent->items[parent->n++] = child;
    return true;
}

/* Attach a finished node to its parent, checking mapping keys. */
static void attach(builder *b, pnode *n)
{
    if (b->depth == 0) {
        if (b->root == NULL) {
            b->root = n;
            return;
        }
        pol_report_at(b->d, n, "a policy file holds exactly one YAML document; "
                               "remove everything after the first");
        b->failed = true;
        pyaml_free(n);
        return;
    }
    pnode *parent = b->stack[b->depth - 1];
    if (parent->type == PN_MAP && parent->n % 2 == 0) {
        if (n->type != PN_SCALAR) {
            pol_report_at(b->d, n, "a mapping key must be a plain name, not a list or "
                                   "mapping");
            b->failed = true;
            pyaml_free(n);
            return;
        }
        if (pyaml_get(parent, n->value) != NULL) {
            pol_report_at(b->d, n, "key '%s' appears twice in the same mapping; "
                                   "keep one", n->value);
            b->failed = true;
            pyaml_free(n);
            return;
        }
    }
    if (!append(b, parent, n))
        pyaml_free(n);
}

static void open_collection(builder *b, int type, const yaml_event_t *e)
{
    if (b->depth >= PYAML_MAX_DEPTH) {
        pol_report(b->d, (int)e->start_mark.line + 1, (int)e->start_mark.column + 1,
                   "nesting deeper than %d levels; a policy never needs this",
                   PYAML_MAX_DEPTH);
        b->failed = true;
        return;
    }
    pnode *n = node_new(b, type, &e->start_mark);
    if (n != NULL)
        b->stack[b->depth++] = n;
}

static void close_collection(builder *b)
{
    pnode *n = b->stack[--b->depth];
    attach(b, n);
}

static void add_scalar(builder *b, const yaml_event_t *e)
{
    pnode *n = node_new(b, PN_SCALAR, &e->start_mark);
    if (n == NULL)
        return;
    n->len = e->data.scalar.length;
    n->value = malloc(n->len + 1);
    if (n->value == NULL) {
        free(n);
        pol_report(b->d, 0, 0, "out of memory reading the policy");
        b->failed = true;
        return;
    }
    memcpy(n->value, e->data.scalar.value, n->len);
    n->value[n->len] = '\0';
    if (strlen(n->value) != n->len) {
        pol_report_at(b->d, n, "text contains a NUL character");
        b->failed = true;
        pyaml_free(n);
        return;
    }
    attach(b, n);
}

static bool has_anchor(const yaml_event_t *e)
{
    switch (e->type) {
    case YAML_SCALAR_EVENT: return e->data.scalar.anchor != NULL;
    case YAML_SEQUENCE_START_EVENT: return e->data.sequence_start.anchor != NULL;
    case YAML_MAPPING_START_EVENT: return e->data.mapping_start.anchor != NULL;
    default: return false;
    }
}

/* One event; returns false when building must stop. */
static bool on_event(builder *b, const yaml_event_t *e)
{
    if (e->type == YAML_ALIAS_EVENT || has_anchor(e)) {
        pol_report(b->d, (int)e->start_mark.line + 1, (int)e->start_mark.column + 1,
                   "YAML anchors and aliases (&name, *name) are not allowed in a "
                   "policy: write the values out so a reviewer sees them in place");
        b->failed = true;
        return false;
    }
    switch (e->type) {
    case YAML_SCALAR_EVENT: add_scalar(b, e); break;
    case YAML_SEQUENCE_START_EVENT: open_collection(b, PN_SEQ, e); break;
    case YAML_MAPPING_START_EVENT: open_collection(b, PN_MAP, e); break;
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT: close_collection(b); break;
    default: break;
    }
    return !b->failed;
}

static void builder_drop(builder *b)
{
    while (b->depth > 0)
        pyaml_free(b->stack[--b->depth]);
    pyaml_free(b->root);
    b->root = NULL;
}

int pyaml_load(const char *text, size_t len, pnode **out, pol_diag *d)
{
    *out = NULL;
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) {
        pol_report(d, 0, 0, "out of memory starting the YAML parser");
        return FP_ERR_INTERNAL;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    builder b = { .d = d };
    for (;;) {
        yaml_event_t e;
        if (!yaml_parser_parse(&parser, &e)) {
            pol_report(d, (int)parser.problem_mark.line + 1,
                       (int)parser.problem_mark.column + 1, "this is not valid YAML: %s%s%s",
                       parser.problem ? parser.problem : "parse error",
                       parser.context ? " " : "", parser.context ? parser.context : "");
            b.failed = true;
            break;
        }
        bool go_on = on_event(&b, &e) && e.type != YAML_STREAM_END_EVENT;
        yaml_event_delete(&e);
        if (!go_on)
            break;
    }
    yaml_parser_delete(&parser);
    if (b.failed) {
        builder_drop(&b);
        return FP_ERR_INPUT;
    }
    if (b.root == NULL || b.root->type != PN_MAP) {
        int line = b.root ? b.root->line : 1, col = b.root ? b.root->col : 1;
        pol_report(d, line, col, "a policy is a YAML mapping starting with "
                                 "'flagpost_policy: 1'; this file is %s",
                   b.root ? "not a mapping" : "empty");
        builder_drop(&b);
        return FP_ERR_INPUT;
    }
    *out = b.root;
    return FP_OK;
}
