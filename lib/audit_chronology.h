/*
 * audit_chronology: the audit entries about one subject, in time order,
 * and what each agency did — the data behind `flagpost audit chronology`.
 *
 * An entry belongs to the chronology when it names the subject (any of the
 * given pseudonyms) or concerns a flag that an earlier entry naming the
 * subject was about (deliveries, acknowledgements, withdrawals of that
 * flag).  Entries are kept decoded, sorted by time then log position; the
 * chronology owns them.
 */
#ifndef FLAGPOST_AUDIT_CHRONOLOGY_H
#define FLAGPOST_AUDIT_CHRONOLOGY_H

#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>

#include "audit_log.h"
#include "audit_stats.h"
#include "flagpost.pb-c.h"
#include "fp_error.h"
#include "pseudonym.h"

typedef struct audit_chronology_item {
    uint64_t index;
    Flagpost__AuditEntry *entry;
} audit_chronology_item;

typedef struct audit_chronology_agency {
    char *agency;
    uint64_t by_event[AUDIT_EVENT_MAX];   /* events this agency acted in */
} audit_chronology_agency;

typedef struct audit_chronology {
    /* Inputs: set before collecting. */
    pseudonym subjects[PSEUDONYM_MAX];
    size_t n_subjects;
    int64_t from_ms, to_ms;               /* inclusive; open by default */
    /* Results. */
    audit_chronology_item *items;
    size_t n, cap;
    audit_chronology_agency *agencies;    /* in order of first appearance */
    size_t n_agencies, cap_agencies;
    audit_tally flags;                    /* flag ids that named the subject */
} audit_chronology;

void audit_chronology_init(audit_chronology *c);
int audit_chronology_collect(audit_chronology *c, audit_log *log, MDB_txn *txn,
                             fp_error *err);
void audit_chronology_free(audit_chronology *c);

#endif
