/*
 * audit_list: writing audit entries as a table, JSON lines or CSV (the
 * output side of `flagpost audit list`).  A writer is fed entries one by
 * one, so a list of any length streams in constant memory.
 */
#ifndef FLAGPOST_AUDIT_LIST_H
#define FLAGPOST_AUDIT_LIST_H

#include <stdint.h>
#include <stdio.h>

#include "flagpost.pb-c.h"

enum { AUDIT_LIST_TABLE, AUDIT_LIST_JSONL, AUDIT_LIST_CSV };

typedef struct audit_list_writer {
    FILE *out;
    int format;
    uint64_t rows;
} audit_list_writer;

int audit_list_format_parse(const char *name, int *format);
void audit_list_begin(audit_list_writer *w, FILE *out, int format);
/* An audit_query_fn: ctx is the writer.  Always returns 0 (continue). */
int audit_list_row(void *ctx, uint64_t index, const Flagpost__AuditEntry *e);
void audit_list_end(audit_list_writer *w);

/* One CSV cell, quoted when needed and defused if a spreadsheet would
 * read it as a formula. */
void audit_list_csv_cell(FILE *out, const char *s);

#endif
