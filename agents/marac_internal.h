/*
 * marac_internal: what the MARAC modules of the agent share (not for the
 * rest of the agent, which sees only marac.h).
 *
 *   marac_common   transactions over marac_store, opening received flags,
 *                  publishing a flag written as JSON, small JSON helpers
 *   marac_request  the coordinator's research request and repeat detection
 *   marac_coord    the coordinator's side: answers, notices, status,
 *                  reminders
 *   marac_pack     the research pack, as JSON (the CLI renders HTML)
 *   marac_actions  actions after the conference, both sides
 *   marac_member   a member agency's side: inbox, pre-fill, respond
 *   marac_stats    the partnership's counts
 *
 * Records (marac_store.h) are keyed in marac_flags by a one-byte kind and
 * the flag id, so each side scans only its own kind (below).
 */
#ifndef FLAGPOST_MARAC_INTERNAL_H
#define FLAGPOST_MARAC_INTERNAL_H

#include <jansson.h>

#include "agent.h"
#include "lookup.h"
#include "marac_store.h"

#define MARAC_KIND_REQUEST 'Q'    /* coordinator: a research request flag it sent */
#define MARAC_KIND_ACTION 'A'     /* coordinator: an action flag it sent */
#define MARAC_KIND_INBOX 'R'      /* member: a research request it received */
#define MARAC_KIND_TASK 'T'       /* member: an action it received */

#define MARAC_MAX_TEXT 8000       /* summaries and answers */
#define MARAC_CATEGORY_RESEARCH "marac_research"
#define MARAC_CATEGORY_CASE "marac_case"

/* One operation's view of the MARAC records: a transaction and handles. */
typedef struct marac_tx {
    agent *a;
    MDB_txn *txn;
    marac_db db;
    bool own;                     /* the transaction is ours to end */
} marac_tx;

/* FP_ERR_NOT_FOUND (read only) when nothing was ever recorded. */
int marac_tx_begin(agent *a, bool write, marac_tx *tx, fp_error *err);
/* Use a caller's write transaction (the hooks); unsealed: the plain
 * indexes only (no key is derived). */
int marac_tx_join(agent *a, MDB_txn *txn, marac_tx *tx, bool sealed, fp_error *err);
/* Commit (or, for a joined transaction, just release the handles). */
int marac_tx_commit(marac_tx *tx, fp_error *err);
void marac_tx_end(marac_tx *tx);   /* abort if ours; release handles */

/* marac_flags keys: kind byte || flag id. */
void marac_flag_key(unsigned char out[17], char kind, const uint8_t flag_id[16]);

bool marac_is_coordinator(const agent *a);
/* The display name on an agency's certificate, or the id itself. */
const char *marac_agency_name(const agent *a, const char *agency_id);
const char *marac_sector(const agent *a, const char *agency_id);

/* A received flag opened: body and field values (name -> value).  fields
 * is NULL when the payload does not open (withdrawn/expired flags have
 * none).  Free with marac_opened_free. */
typedef struct marac_opened {
    Flagpost__StoredFlag *flag;
    Flagpost__FlagBody *body;
    json_t *fields;
    bool past_its_dates;   /* active, but past a date: not opened (lookup.h) */
} marac_opened;
int marac_open_stored(agent *a, MDB_txn *txn, const uint8_t flag_id[16], marac_opened *o,
                      fp_error *err);
int marac_open_flag(agent *a, const Flagpost__StoredFlag *f, marac_opened *o);
void marac_opened_free(marac_opened *o);
/* Wipe the values of a fields object this caller alone holds, and drop it. */
void marac_fields_free(json_t *fields);
/* Field values of a part written by sender (NULL if it does not open). */
json_t *marac_open_part(agent *a, const char *sender, const ProtobufCBinaryData *part);

/* Publish a flag written as flag JSON (docs/flags.md); the record is
 * committed and sent (or left for the resend loop).  *rec (optional) is
 * the committed record. */
int marac_publish(agent *a, json_t *flag, Flagpost__OutboxRecord **rec, fp_error *err);
/* Send a committed outbox record by id (best effort: it is resent later). */
void marac_send_record(agent *a, const unsigned char id[16]);
/* Allowed and refused recipients of a committed flag record. */
json_t *marac_decisions(const Flagpost__OutboxRecord *rec, bool allowed);

/* ---- JSON and time helpers ---- */
const char *mj_str(json_t *o, const char *key);      /* NULL unless a string */
int64_t mj_int(json_t *o, const char *key);          /* 0 unless an integer */
void mj_set_str(json_t *o, const char *key, const char *v);   /* skips NULL */
void mj_set_int(json_t *o, const char *key, int64_t v);
void marac_hex(const uint8_t *id, char out[33]);
void marac_iso(int64_t ms, char out[32]);
void marac_iso_s(int64_t ms, char out[32]);   /* YYYY-MM-DDTHH:MM:SSZ */
void marac_date(int64_t s, char out[32]);
json_t *marac_error_json(const fp_error *err);
/* Reject keys of o not in the NULL-terminated list, naming where. */
int marac_known_keys(json_t *o, const char *const *keys, const char *where, fp_error *err);
/* An optional string member: NULL when absent; error when not a string,
 * empty, too long or holding a NUL. */
int marac_text(json_t *o, const char *key, const char *where, size_t max, bool required,
               const char **out, fp_error *err);
/* "24h", "90s", "30m", "7d" -> milliseconds. */
int marac_parse_duration(const char *s, int64_t *ms);
/* A date (end of that day, UTC) or an ISO instant -> unix ms. */
int marac_parse_due(const char *s, int64_t *ms);

/* ---- request files (pure: no agent, no store; unit-tested) ---- */
extern const char *const MARAC_EQUALITY_KEYS[];      /* monitoring fields, NULL-terminated */
extern const char *const MARAC_HARMFUL_PRACTICES[];  /* hba, forced_marriage, ... */
/* Check a research request file and normalise it: *conf the conference
 * record, *cases one record per case with its pseudonyms ("kind:hex").
 * Both are set (new references) even on failure. */
int marac_request_parse(json_t *file, const unsigned char *linkage_key, int64_t now_ms,
                        json_t **conf, json_t **cases, fp_error *err);
size_t marac_case_pseudonyms(json_t *kase, pseudonym out[PSEUDONYM_MAX]);

/* ---- answer and action files (pure: no agent, no store; fuzzed) ---- */

#define MARAC_MAX_ANSWERS 500

/* One answer of a `marac respond` file, as checked (pointers into it). */
typedef struct marac_answer {
    const char *case_ref;         /* NULL when only request_id was given */
    bool have_id;
    unsigned char request_id[16]; /* when have_id */
    const char *record_found;     /* "yes" or "no" */
    const char *summary, *risk, *children;   /* NULL when not given */
} marac_answer;

/* The list of answers in a respond request: req.answers, or
 * req.answers.answers as the template file nests it (*list borrowed). */
int marac_answers_list(json_t *req, json_t **list, fp_error *err);
/* Check answers[i] (keys, record_found, texts, which request) without
 * looking anything up; errors name answers[i].KEY. */
int marac_answer_check(json_t *ans, size_t i, marac_answer *out, fp_error *err);
/* Check an actions file (keys, conference, cases with their references
 * and 1-50 actions each, owners, texts, due dates) without the store;
 * errors name cases[i].actions[j].KEY. */
int marac_actions_check(json_t *file, fp_error *err);

/* ---- counts (pure; unit-tested) ---- */
json_t *marac_stats_new(void);
/* One case heard: repeat is marac_repeat_of's answer (or NULL), actions
 * its action records. */
void marac_stats_add_case(json_t *st, json_t *kase, json_t *repeat, json_t *actions,
                          int64_t now_ms);
void marac_stats_finish(json_t *st);   /* rates */

/* ---- per-module entry points (dispatched from marac.c) ---- */
json_t *marac_request_op(agent *a, json_t *req);
json_t *marac_conferences_op(agent *a, json_t *req);
json_t *marac_status_op(agent *a, json_t *req);
json_t *marac_pack_op(agent *a, json_t *req);
json_t *marac_actions_op(agent *a, json_t *req);
json_t *marac_stats_op(agent *a, json_t *req);
json_t *marac_inbox_op(agent *a, json_t *req);
json_t *marac_respond_op(agent *a, json_t *req);
json_t *marac_action_done_op(agent *a, json_t *req);

int marac_coord_on_flag(marac_tx *tx, const Flagpost__FlagBody *body,
                        const Flagpost__StoredFlag *flag, json_t *fields, fp_error *err);
int marac_coord_on_notice(marac_tx *tx, const Flagpost__Notice *n, fp_error *err);
int marac_member_on_flag(marac_tx *tx, const Flagpost__FlagBody *body,
                         const Flagpost__StoredFlag *flag, json_t *fields, fp_error *err);
int marac_member_on_notice(marac_tx *tx, const Flagpost__Notice *n, fp_error *err);
void marac_coord_timers(agent *a, int64_t now_ms);

/* The conference a status/pack is about: the id asked, else the next
 * one to be held (or the latest).  *conf is a new reference. */
int marac_pick_conference(marac_tx *tx, const char *id, json_t **conf, fp_error *err);
/* A case's answers (agency -> record) and actions (array), new references. */
int marac_case_records(marac_tx *tx, const char *ref, json_t **answers, json_t **actions,
                       fp_error *err);
/* sent, acknowledged, overdue, done, done-late or refused (pure). */
const char *marac_action_state(json_t *action, int64_t now_ms);
/* Whether and where a case was heard before (live, from the heard index). */
json_t *marac_repeat_of(marac_tx *tx, json_t *kase);

#endif
