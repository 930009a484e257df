/*
 * fuzz_audit_entry: libFuzzer target for audit entry decoding, the bytes
 * `flagpost audit` reads back from the broker's trail (which a damaged or
 * tampered disk can make anything): the hand-written wire walk
 * audit_log_entry_index (lib/audit_log.c), protobuf-c's AuditEntry
 * unpack, and what the audit tools then do with an entry (lib/audit_query.c,
 * lib/audit_stats.c, cli/audit_list.c).
 *
 * The first input byte picks what the rest is:
 *   0  AuditEntry bytes.  audit_log_entry_index and protobuf-c must agree:
 *      whatever protobuf-c decodes, the walk also reads, with the same
 *      index (verify and list would otherwise disagree about which entry
 *      is which).  A decoded entry must match a filter built from its own
 *      fields, and is described, counted by audit_stats and written as a
 *      table row, a CSV row and a JSON line; the JSON line must parse as
 *      one JSON object carrying the entry's index.
 *   1  text for audit_time_parse (--from/--to) and audit_event_parse
 *      (--event): an accepted day starts no later than it ends, and an
 *      accepted event name is the name of the event it gives.
 *
 * Built and run by scripts/fuzz; seeds in fuzz/corpus/audit_entry were
 * made by this file built with -DFUZZ_AUDIT_ENTRY_WRITE_SEEDS (no
 * -fsanitize=fuzzer): fuzz_audit_entry_seeds DIR
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit_list.h"
#include "audit_log.h"
#include "audit_query.h"
#include "audit_stats.h"
#include "flagpost.pb-c.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void need(int cond)
{
    if (!cond)
        abort();
}

static void check_jsonl(const char *text, size_t len, uint64_t index)
{
    need(len > 0 && text[len - 1] == '\n' && memchr(text, '\n', len) == text + len - 1);
    json_error_t jerr;
    json_t *j = json_loadb(text, len, 0, &jerr);
    need(json_is_object(j));
    json_t *ix = json_object_get(j, "index");
    need(json_is_integer(ix) && (uint64_t)json_integer_value(ix) == index);
    json_decref(j);
}

static void render(const Flagpost__AuditEntry *e, uint64_t index)
{
    for (int format = AUDIT_LIST_TABLE; format <= AUDIT_LIST_CSV; format++) {
        char *text = NULL;
        size_t len = 0;
        FILE *out = open_memstream(&text, &len);
        need(out != NULL);
        audit_list_writer w;
        audit_list_begin(&w, out, format);
        long start = ftell(out);
        audit_list_row(&w, index, e);
        long end = ftell(out);
        audit_list_end(&w);
        need(fclose(out) == 0);
        if (format == AUDIT_LIST_JSONL)
            check_jsonl(text + start, (size_t)(end - start), index);
        free(text);
    }
}

static void fuzz_entry(const uint8_t *b, size_t len)
{
    uint64_t walked = 0;
    int wrc = audit_log_entry_index(b, len, &walked);
    Flagpost__AuditEntry *e = flagpost__audit_entry__unpack(NULL, len, b);
    if (e == NULL)
        return;
    need(wrc == FP_OK && walked == e->index);

    audit_filter f;
    audit_filter_init(&f);
    f.agency = e->sender;
    f.direction = AUDIT_DIRECTION_SENT;
    f.category = e->category;
    f.decision = e->decision;
    f.event = (int)e->event;
    f.from_ms = f.to_ms = e->time_ms;
    need(audit_filter_match(&f, e));
    pseudonym none;
    memset(&none, 0, sizeof none);
    (void)audit_entry_has_subject(e, &none, 1);
    (void)audit_entry_actor(e);
    (void)audit_event_name((int)e->event);
    (void)audit_event_label((int)e->event);
    char text[512];
    audit_entry_describe(e, text, sizeof text);
    need(strlen(text) < sizeof text);

    audit_stats st;
    audit_stats_init(&st);
    need(audit_stats_add(&st, e->index, e, NULL) == FP_OK);
    need(audit_stats_add(&st, e->index + 1, e, NULL) == FP_OK);
    audit_stats_finish(&st);
    (void)audit_stats_ack_percentile(&st, 50);
    need(st.entries == 2);
    audit_stats_free(&st);

    render(e, walked);
    flagpost__audit_entry__free_unpacked(e, NULL);
}

static void fuzz_text(const uint8_t *b, size_t len)
{
    char text[80];
    if (len >= sizeof text)
        len = sizeof text - 1;
    memcpy(text, b, len);
    text[len] = '\0';
    int64_t start = 0, end = 0;
    fp_error err;
    int rs = audit_time_parse(text, false, &start, "--from", &err);
    int re = audit_time_parse(text, true, &end, "--to", &err);
    need(rs == re);
    if (rs == FP_OK)
        need(start <= end);
    else
        need(err.code == re && err.message[0] != '\0');
    int event = -1;
    if (audit_event_parse(text, &event, &err) == FP_OK) {
        int again = -1;
        need(audit_event_parse(audit_event_name(event), &again, NULL) == FP_OK &&
             again == event);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    if (data[0] & 1)
        fuzz_text(data + 1, size - 1);
    else
        fuzz_entry(data + 1, size - 1);
    return 0;
}

#ifdef FUZZ_AUDIT_ENTRY_WRITE_SEEDS
static void seed_write(const char *dir, const char *name, uint8_t mode, const void *b,
                       size_t len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (f == NULL || fputc(mode, f) == EOF || (len && fwrite(b, 1, len, f) != len) ||
        fclose(f) != 0)
        abort();
}

static void seed_entry(const char *dir, const char *name, const Flagpost__AuditEntry *e)
{
    size_t len = flagpost__audit_entry__get_packed_size(e);
    uint8_t *buf = malloc(len + 1);
    flagpost__audit_entry__pack(e, buf);
    seed_write(dir, name, 0, buf, len);
    free(buf);
}

int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    unsigned char hash[32], id[16];
    memset(hash, 0xab, sizeof hash);
    memset(id, 0x42, sizeof id);
    Flagpost__Pseudonym ps = FLAGPOST__PSEUDONYM__INIT, *psp[1] = {&ps};
    ps.kind = FLAGPOST__PSEUDONYM_KIND__PSEUDONYM_NHS;
    ps.value.data = hash;
    ps.value.len = 32;
    char *fields[2] = {(char *)"safe_contact", (char *)"risk_notes"};
    Flagpost__AuditEntry e = FLAGPOST__AUDIT_ENTRY__INIT;
    e.index = 41;
    e.time_ms = 1700000000000;
    e.event = FLAGPOST__AUDIT_EVENT__AUDIT_DISCLOSURE;
    e.sender = (char *)"met-police";
    e.recipient = (char *)"idva";
    e.subject = psp;
    e.n_subject = 1;
    e.subject_role = (char *)"victim";
    e.category = (char *)"da_victim";
    e.purpose = (char *)"safeguarding";
    e.lawful_basis = (char *)"public_task";
    e.consent = (char *)"given";
    e.risk = (char *)"high";
    e.decision = (char *)"allowed";
    e.rule_id = (char *)"victims-to-idva";
    e.policy_hash.data = hash;
    e.policy_hash.len = 32;
    e.payload_hash.data = hash;
    e.payload_hash.len = 32;
    e.message_id.data = id;
    e.message_id.len = 16;
    e.flag_id.data = id;
    e.flag_id.len = 16;
    e.version = 2;
    e.stage = (char *)"broker";
    e.fields = fields;
    e.n_fields = 2;
    seed_entry(argv[1], "disclosure", &e);

    Flagpost__AuditEntry r = e;
    r.index = 0;
    r.event = FLAGPOST__AUDIT_EVENT__AUDIT_REFUSAL;
    r.decision = (char *)"refused";
    r.reason = (char *)"default-deny";
    r.recipient = (char *)"=cmd|' /C calc'!A0";   /* a CSV formula to defuse */
    r.n_fields = 0;
    seed_entry(argv[1], "refusal-index-0", &r);

    Flagpost__AuditEntry b = e;
    b.index = 300;
    b.event = FLAGPOST__AUDIT_EVENT__AUDIT_BREAK_GLASS;
    b.break_glass = 1;
    b.reason = (char *)"child at immediate risk, \"quoted\", line\nbreak";
    seed_entry(argv[1], "break-glass", &b);

    Flagpost__AuditEntry a = FLAGPOST__AUDIT_ENTRY__INIT;
    a.index = 7;
    a.time_ms = 1700000360000;
    a.event = FLAGPOST__AUDIT_EVENT__AUDIT_ACKNOWLEDGEMENT;
    a.sender = (char *)"met-police";
    a.recipient = (char *)"housing";
    a.flag_id.data = id;
    a.flag_id.len = 16;
    a.decision = (char *)"acted_on";
    seed_entry(argv[1], "acknowledgement", &a);

    Flagpost__AuditEntry c = FLAGPOST__AUDIT_ENTRY__INIT;
    c.index = 1;
    c.event = FLAGPOST__AUDIT_EVENT__AUDIT_AGENT_CONNECTED;
    c.sender = (char *)"idva";
    seed_entry(argv[1], "connected", &c);

    const char *texts[] = {"2024-02-29", "2024-03-01T12:30:05.250+01:00", "2023-02-29",
                           "disclosure", "break_glass", "marac-reminder"};
    for (int i = 0; i < 6; i++) {
        char name[32];
        snprintf(name, sizeof name, "text-%d", i);
        seed_write(argv[1], name, 1, texts[i], strlen(texts[i]));
    }
    return 0;
}
#endif
