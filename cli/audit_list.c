/*
 * audit_list: table, JSON lines and CSV output of audit entries.  See
 * audit_list.h.
 *
 * The table is for reading on a terminal: a fixed set of the columns an IG
 * lead asks about, widths that fit typical agency ids and categories (a
 * longer value widens its row rather than being cut, since a truncated
 * agency id could be mistaken for another).  JSON lines and CSV carry every
 * field, with byte fields as lower-case hex.
 */
#include "audit_list.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "audit_cli.h"
#include "audit_query.h"
#include "json_wipe.h"
#include "pseudonym.h"
#include "timefmt.h"
#include "utf8.h"

static const char *const COLUMNS[] = {
    "index",   "time",     "event",  "sender",      "recipient",  "subject",
    "subject_role", "category", "purpose", "lawful_basis", "consent", "risk",
    "decision", "rule_id", "reason", "break_glass", "stage",     "fields",
    "flag_id",  "version", "message_id", "policy_hash", "payload_hash",
};
#define N_COLUMNS (sizeof COLUMNS / sizeof COLUMNS[0])

int audit_list_format_parse(const char *name, int *format)
{
    if (strcmp(name, "table") == 0)
        *format = AUDIT_LIST_TABLE;
    else if (strcmp(name, "jsonl") == 0)
        *format = AUDIT_LIST_JSONL;
    else if (strcmp(name, "csv") == 0)
        *format = AUDIT_LIST_CSV;
    else
        return -1;
    return 0;
}

static const char *s_or(const char *s)
{
    return s != NULL ? s : "";
}

void audit_list_begin(audit_list_writer *w, FILE *out, int format)
{
    w->out = out;
    w->format = format;
    w->rows = 0;
    if (format == AUDIT_LIST_TABLE) {
        fprintf(out, "%-7s %-20s %-19s %-20s %-20s %-20s %-10s %s\n", "ENTRY", "TIME (UTC)",
                "EVENT", "SENDER", "RECIPIENT", "CATEGORY", "DECISION", "RULE OR REASON");
    } else if (format == AUDIT_LIST_CSV) {
        for (size_t i = 0; i < N_COLUMNS; i++)
            fprintf(out, "%s%s", i ? "," : "", COLUMNS[i]);
        fputs("\r\n", out);
    }
}

static void hex_of(const ProtobufCBinaryData *b, char *out, size_t n)
{
    audit_cli_hex(b->data, b->len, out, n);
}

/* "nhs:hex;postcode:hex" */
static char *subjects_text(const Flagpost__AuditEntry *e)
{
    size_t cap = e->n_subject * (16 + 2 * PSEUDONYM_LEN + 2) + 1;
    char *s = malloc(cap);
    if (s == NULL)
        return NULL;
    size_t k = 0;
    s[0] = '\0';
    for (size_t i = 0; i < e->n_subject; i++) {
        char hex[2 * PSEUDONYM_LEN + 1];
        hex_of(&e->subject[i]->value, hex, sizeof hex);
        k += (size_t)snprintf(s + k, cap - k, "%s%s:%s", i ? ";" : "",
                              pseudonym_kind_name((int)e->subject[i]->kind), hex);
    }
    return s;
}

static char *fields_text(const Flagpost__AuditEntry *e)
{
    size_t cap = 1;
    for (size_t i = 0; i < e->n_fields; i++)
        cap += strlen(e->fields[i]) + 1;
    char *s = malloc(cap);
    if (s == NULL)
        return NULL;
    s[0] = '\0';
    for (size_t i = 0; i < e->n_fields; i++) {
        if (i)
            strcat(s, ";");
        strcat(s, e->fields[i]);
    }
    return s;
}

static void row_table(audit_list_writer *w, uint64_t index, const Flagpost__AuditEntry *e)
{
    char when[32];
    audit_cli_time(e->time_ms, when);
    const char *why = e->rule_id != NULL && e->rule_id[0] ? e->rule_id : s_or(e->reason);
    fprintf(w->out, "%-7llu %-20s %-19s %-20s %-20s %-20s %-10s %s\n",
            (unsigned long long)index, when, audit_event_name((int)e->event), s_or(e->sender),
            s_or(e->recipient), s_or(e->category), s_or(e->decision), why);
}

static json_t *hex_json(const ProtobufCBinaryData *b)
{
    char buf[2 * 64 + 1];
    hex_of(b, buf, sizeof buf);
    return json_string(buf);
}

/* A string from an entry as JSON.  protobuf-c does not check UTF-8, so a
 * damaged or hostile entry can hold bytes jansson refuses: those become
 * U+FFFD rather than the row being dropped. */
static json_t *text_json(const char *s)
{
    s = s_or(s);
    if (utf8_valid(s))
        return json_string(s);
    char *fixed = utf8_repair(s);
    json_t *j = fixed != NULL ? json_string(fixed) : NULL;
    free(fixed);
    return j;
}

static void put_text(json_t *o, const char *key, const char *s)
{
    json_object_set_new(o, key, text_json(s));
}

static void row_jsonl(audit_list_writer *w, uint64_t index, const Flagpost__AuditEntry *e)
{
    char when[TIMEFMT_ISO_LEN];
    timefmt_iso_ms(e->time_ms, when);
    json_t *subject = json_array(), *fields = json_array();
    for (size_t i = 0; i < e->n_subject; i++)
        json_array_append_new(subject,
                              json_pack("{s:s, s:o}", "kind",
                                        pseudonym_kind_name((int)e->subject[i]->kind),
                                        "pseudonym", hex_json(&e->subject[i]->value)));
    for (size_t i = 0; i < e->n_fields; i++)
        json_array_append_new(fields, text_json(e->fields[i]));
    json_t *o = json_object();
    json_object_set_new(o, "index", json_integer((json_int_t)index));
    put_text(o, "time", when);
    json_object_set_new(o, "time_ms", json_integer((json_int_t)e->time_ms));
    put_text(o, "event", audit_event_name((int)e->event));
    put_text(o, "sender", e->sender);
    put_text(o, "recipient", e->recipient);
    json_object_set_new(o, "subject", subject);
    const char *texts[][2] = {{"subject_role", e->subject_role}, {"category", e->category},
                              {"purpose", e->purpose},     {"lawful_basis", e->lawful_basis},
                              {"consent", e->consent},     {"risk", e->risk},
                              {"decision", e->decision},   {"rule_id", e->rule_id},
                              {"reason", e->reason}};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
        put_text(o, texts[i][0], texts[i][1]);
    json_object_set_new(o, "break_glass", json_boolean(e->break_glass));
    put_text(o, "stage", e->stage);
    json_object_set_new(o, "fields", fields);
    json_object_set_new(o, "flag_id", hex_json(&e->flag_id));
    json_object_set_new(o, "version", json_integer((json_int_t)e->version));
    json_object_set_new(o, "message_id", hex_json(&e->message_id));
    json_object_set_new(o, "policy_hash", hex_json(&e->policy_hash));
    json_object_set_new(o, "payload_hash", hex_json(&e->payload_hash));
    char *text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (text != NULL) {
        fputs(text, w->out);
        fputc('\n', w->out);
        json_text_free(text);
    }
    json_decref(o);
}

void audit_list_csv_cell(FILE *out, const char *s)
{
    s = s_or(s);
    bool formula = strchr("=+-@\t\r", s[0]) != NULL && s[0] != '\0';
    bool quote = formula || strpbrk(s, ",\"\r\n") != NULL;
    if (!quote) {
        fputs(s, out);
        return;
    }
    fputc('"', out);
    if (formula)
        fputc('\'', out);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', out);
        fputc(*s, out);
    }
    fputc('"', out);
}

static void row_csv(audit_list_writer *w, uint64_t index, const Flagpost__AuditEntry *e)
{
    char num[32], when[TIMEFMT_ISO_LEN], version[16], flag[33], msg[33], pol[65], pay[65];
    char *subj = subjects_text(e), *fields = fields_text(e);
    snprintf(num, sizeof num, "%llu", (unsigned long long)index);
    timefmt_iso_ms(e->time_ms, when);
    snprintf(version, sizeof version, "%u", (unsigned)e->version);
    hex_of(&e->flag_id, flag, sizeof flag);
    hex_of(&e->message_id, msg, sizeof msg);
    hex_of(&e->policy_hash, pol, sizeof pol);
    hex_of(&e->payload_hash, pay, sizeof pay);
    const char *cells[N_COLUMNS] = {
        num, when, audit_event_name((int)e->event), e->sender, e->recipient, subj,
        e->subject_role, e->category, e->purpose, e->lawful_basis, e->consent, e->risk,
        e->decision, e->rule_id, e->reason, e->break_glass ? "true" : "false", e->stage,
        fields, flag, version, msg, pol, pay};
    for (size_t i = 0; i < N_COLUMNS; i++) {
        if (i)
            fputc(',', w->out);
        audit_list_csv_cell(w->out, cells[i]);
    }
    fputs("\r\n", w->out);
    free(subj);
    free(fields);
}

int audit_list_row(void *ctx, uint64_t index, const Flagpost__AuditEntry *e)
{
    audit_list_writer *w = ctx;
    w->rows++;
    if (w->format == AUDIT_LIST_TABLE)
        row_table(w, index, e);
    else if (w->format == AUDIT_LIST_JSONL)
        row_jsonl(w, index, e);
    else
        row_csv(w, index, e);
    return 0;
}

void audit_list_end(audit_list_writer *w)
{
    if (w->format == AUDIT_LIST_TABLE)
        fprintf(w->out, "(%llu %s)\n", (unsigned long long)w->rows,
                w->rows == 1 ? "entry" : "entries");
}
