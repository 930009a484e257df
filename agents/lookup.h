/*
 * lookup: answering "what does this agency hold on this person or
 * address?" from the agent's own store, at the point of contact.
 *
 * Results are built as JSON objects with each flag's metadata, who sent it,
 * and the field values opened from its sealed payload.  Every flag whose
 * field values are shown, by a lookup or by `inbox --open`, is reported to
 * the broker as a signed view event (through the outbox, so it survives a
 * broker outage); the audit trail records it and, where the rule says so,
 * the sending agency is told.  A plain inbox shows metadata only, and is
 * not a view.
 */
#ifndef FLAGPOST_LOOKUP_H
#define FLAGPOST_LOOKUP_H

#include <jansson.h>

#include "agent.h"
#include "fp_limits.h"

/* What a view report needs to know about one flag that was shown. */
typedef struct lookup_view {
    unsigned char flag_id[16];
    unsigned char message_id[16];
    uint32_t version;
    char sender[CERT_ID_MAX];
    char category[FP_MAX_TEXT + 1];   /* whole: a held flag's texts are within it */
    pseudonym subject[PSEUDONYM_MAX];
    size_t subject_count;
} lookup_view;

typedef struct lookup_views {
    lookup_view *items;
    size_t count;
    size_t cap;
} lookup_views;

/* Whether held flag f (b: its signed body) is still active here but past
 * its review or expiry date now: its sealed part is then never opened, by
 * lookup, inbox or MARAC, whether or not the broker's expiry notice has
 * arrived. */
bool lookup_past_its_dates(const Flagpost__StoredFlag *f, const Flagpost__FlagBody *b);

/* Remember that flag f (body: its signed body) was shown to a person.
 * False only when out of memory: the caller must then not show it. */
bool lookup_views_add(lookup_views *v, const Flagpost__StoredFlag *f,
                      const Flagpost__FlagBody *body);

/* Append one object per matching flag to out (a JSON array) and, when
 * views is non-NULL, remember each flag shown. */
int lookup_by_subject(agent *a, const subject_identifiers *ids, json_t *out,
                      lookup_views *views, fp_error *err);

/* The newest `limit` received flags, newest first.  With views NULL, the
 * metadata only: who sent it, category, purpose, risk, dates, state, but
 * no field values, whose sealed parts are not even opened, so nothing was
 * viewed.  With views non-NULL, the field values too, and each flag shown
 * is remembered in views, to be reported with lookup_report_views: there
 * is no way to show a flag's fields without that record. */
int lookup_inbox(agent *a, size_t limit, json_t *out, lookup_views *views, fp_error *err);

/* One stored flag as lookup and inbox show it, payload opened (NULL if
 * the record cannot be decoded).  The caller owns the reference. */
json_t *lookup_flag_to_json(agent *a, const Flagpost__StoredFlag *f);

/* Commit and send a signed view event for each flag shown; frees views. */
void lookup_report_views(agent *a, lookup_views *views);

#endif
