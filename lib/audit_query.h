/*
 * audit_query: choosing audit entries by what an IG lead asks about —
 * agency and direction, subject, category, decision, event and period —
 * and the vocabulary those questions use (event names, dates).
 *
 * Pure matching over decoded AuditEntry messages plus one scan helper that
 * decodes entries from the log in order; nothing here writes, prints or
 * allocates beyond protobuf-c's own decoding.  A subject is given as the
 * pseudonyms pseudonym_derive() computed from identifiers with the
 * linkage key; an entry matches when any of its subject pseudonyms is one
 * of them (same kind and value).
 */
#ifndef FLAGPOST_AUDIT_QUERY_H
#define FLAGPOST_AUDIT_QUERY_H

#include <lmdb.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "audit_log.h"
#include "flagpost.pb-c.h"
#include "fp_error.h"
#include "pseudonym.h"

enum audit_direction {
    AUDIT_DIRECTION_ANY = 0,   /* the agency is sender or recipient */
    AUDIT_DIRECTION_SENT,      /* the agency is the sender */
    AUDIT_DIRECTION_RECEIVED   /* the agency is the recipient */
};

typedef struct audit_filter {
    const char *agency;          /* NULL: every agency */
    int direction;               /* enum audit_direction; needs agency */
    const pseudonym *subjects;   /* NULL/0: every subject */
    size_t n_subjects;
    const char *category;        /* NULL: any; otherwise exact */
    const char *decision;        /* NULL: any; otherwise exact */
    int event;                   /* 0: any; otherwise a Flagpost__AuditEvent */
    int64_t from_ms;             /* inclusive; INT64_MIN when open */
    int64_t to_ms;               /* inclusive; INT64_MAX when open */
} audit_filter;

void audit_filter_init(audit_filter *f);
bool audit_filter_match(const audit_filter *f, const Flagpost__AuditEntry *e);
bool audit_entry_has_subject(const Flagpost__AuditEntry *e, const pseudonym *subjects,
                             size_t n);

/* The agency that acted in an entry: the recipient for what a recipient
 * does (delivery, view, acknowledgement, rejection), else the sender. */
const char *audit_entry_actor(const Flagpost__AuditEntry *e);

/* One plain-English sentence saying what an entry records, e.g. "police
 * shared a da_victim flag with health (rule r1; lawful basis public_task;
 * consent not_sought; risk high)".  Metadata only, like the entry. */
void audit_entry_describe(const Flagpost__AuditEntry *e, char *out, size_t n);

/* Event names as people type them: "disclosure", "break_glass", ... */
const char *audit_event_name(int event);
/* A sentence-case label for reports: "Disclosure", "Break-glass", ... */
const char *audit_event_label(int event);
int audit_event_parse(const char *name, int *event, fp_error *err);
/* Every name audit_event_parse() accepts, comma separated (for --help). */
const char *audit_event_names(void);

/* "YYYY-MM-DD" (a whole UTC day) or an ISO-8601 time
 * "YYYY-MM-DDTHH:MM[:SS[.fff]][Z|+HH:MM|-HH:MM]" (UTC when no zone).  A
 * date is its first millisecond, or its last when end_of_day, so --from
 * and --to both include the days they name.  `option` names the option in
 * errors. */
int audit_time_parse(const char *text, bool end_of_day, int64_t *ms, const char *option,
                     fp_error *err);

/* Decode each entry from index `from` on and call fn with the ones the
 * filter (may be NULL: all) matches, until fn returns non-zero.  An entry
 * that does not decode is an error naming it (run verify). */
typedef int (*audit_query_fn)(void *ctx, uint64_t index, const Flagpost__AuditEntry *e);
int audit_query_run(audit_log *log, MDB_txn *txn, uint64_t from, const audit_filter *f,
                    audit_query_fn fn, void *ctx, fp_error *err);

#endif
