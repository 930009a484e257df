/*
 * broker_intake_seeds.h: the seed writer for fuzz_broker_intake, included
 * by fuzz_broker_intake.c only when built with
 * -DFUZZ_BROKER_INTAKE_WRITE_SEEDS.  Each seed is a short story in the
 * target's record format (see the top of fuzz_broker_intake.c) that reaches
 * somewhere deep: a victim flag's whole life (views, acknowledgement,
 * delivery acknowledgements, update, withdrawal, expiry; and again in a
 * store too small for it), a perpetrator's
 * holder refused a survivor's address, MARAC reminders, break-glass and
 * sender refusals, a restricted harmful-practice flag, forgeries and
 * replays, raw frames, the size and count limits, and the replay table
 * pruned between batches (clock steps, restarts, exact replays).  Nothing
 * here is signed or sealed: the harness signs at run time with the
 * fixture's keys,
 * so the seeds stay valid whatever keys a run generates.
 *
 * Built after scripts/fuzz has made build/fuzz/libfuzzdeps.a, from the
 * repository root:
 *     clang -std=c11 -D_GNU_SOURCE -DFUZZ_BROKER_INTAKE_WRITE_SEEDS \
 *         -fsanitize=address,undefined -Ilib -Icerts -Ipolicy -Ibroker \
 *         -Iagents -Icli -isystem build/gen $(pkg-config --cflags libzmq \
 *         libsodium libprotobuf-c lmdb) fuzz/fuzz_broker_intake.c \
 *         build/fuzz/libfuzzdeps.a $(pkg-config --libs libzmq libsodium \
 *         libprotobuf-c lmdb jansson yaml-0.1 libseccomp) -lpthread -lm \
 *         -o build/fuzz/fuzz_broker_intake_seeds
 *     build/fuzz/fuzz_broker_intake_seeds fuzz/corpus/broker_intake
 */
#ifndef FLAGPOST_FUZZ_BROKER_INTAKE_SEEDS_H
#define FLAGPOST_FUZZ_BROKER_INTAKE_SEEDS_H

/* Agency indices, in fbi_agencies' order. */
enum { S_POLICE, S_IDVA, S_HOUSING, S_ACUTE, S_PROBATION, S_CSC, S_MARAC, S_SCHOOL, S_BFS, S_GP,
       S_EXPIRED, S_REVOKED, S_BROKER };

typedef struct seed {
    uint8_t b[8192];
    size_t n;
} seed;

static void seed_bytes(seed *s, const void *p, size_t n)
{
    if (s->n + n > sizeof s->b)
        abort();
    memcpy(s->b + s->n, p, n);
    s->n += n;
}

static void seed_u16(seed *s, size_t v)
{
    uint8_t le[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
    seed_bytes(s, le, 2);
}

static void seed_rec(seed *s, uint8_t op, uint8_t who, uint8_t fix, int8_t when, const void *p,
                     size_t n)
{
    uint8_t h[4] = {op, who, fix, (uint8_t)when};
    seed_bytes(s, h, 4);
    seed_u16(s, n);
    seed_bytes(s, p, n);
}

static size_t seed_pack(const ProtobufCMessage *m, uint8_t *out, size_t max)
{
    size_t n = protobuf_c_message_get_packed_size(m);
    if (n > max)
        abort();
    return protobuf_c_message_pack(m, out);
}

/* A part for recipient declaring fields (values are sealed; the broker
 * never opens them, so the ciphertext is filler). */
static size_t seed_part(const char *recipient, const char *fields, size_t cipher_len,
                        uint8_t *out, size_t max)
{
    static uint8_t filler[2048];
    char copy[512], *names[16];
    size_t n = 0;
    snprintf(copy, sizeof copy, "%s", fields);
    for (char *t = strtok(copy, ","); t != NULL && n < 16; t = strtok(NULL, ","))
        names[n++] = t;
    Flagpost__RecipientPart part = FLAGPOST__RECIPIENT_PART__INIT;
    part.recipient = (char *)(uintptr_t)recipient;
    part.fields = names;
    part.n_fields = n;
    part.nonce.data = filler;
    part.nonce.len = 24;
    part.ciphertext.data = filler;
    part.ciphertext.len = cipher_len < sizeof filler ? cipher_len : sizeof filler;
    return seed_pack(&part.base, out, max);
}

typedef struct seed_parts {
    uint8_t bytes[4096];
    size_t used, len[FBI_MAX_PARTS], n;
} seed_parts;

static void seed_add_part(seed_parts *ps, const char *recipient, const char *fields)
{
    size_t len = seed_part(recipient, fields, 48, ps->bytes + ps->used,
                           sizeof ps->bytes - ps->used);
    ps->len[ps->n++] = len;
    ps->used += len;
}

/* A FLAG record: body length, body, then each part with its length. */
static void seed_flag(seed *s, uint8_t op, uint8_t who, uint8_t fix, int8_t when,
                      const Flagpost__FlagBody *fb, const seed_parts *ps)
{
    uint8_t body[4096], rec[8192];
    size_t body_len = seed_pack(&fb->base, body, sizeof body), n = 0;
    rec[n++] = (uint8_t)body_len;
    rec[n++] = (uint8_t)(body_len >> 8);
    memcpy(rec + n, body, body_len);
    n += body_len;
    for (size_t i = 0, off = 0; ps != NULL && i < ps->n; off += ps->len[i++]) {
        if (n + 2 + ps->len[i] > sizeof rec)
            abort();
        rec[n++] = (uint8_t)ps->len[i];
        rec[n++] = (uint8_t)(ps->len[i] >> 8);
        memcpy(rec + n, ps->bytes + off, ps->len[i]);
        n += ps->len[i];
    }
    seed_rec(s, op, who, fix, when, rec, n);
}

static void seed_msg(seed *s, uint8_t op, uint8_t who, uint8_t fix, int8_t when,
                     const ProtobufCMessage *m)
{
    uint8_t buf[4096];
    seed_rec(s, op, who, fix, when, buf, seed_pack(m, buf, sizeof buf));
}

static uint8_t seed_subject_value[32] = {0x5a, 0x01};
static uint8_t seed_perp_value[32] = {0x5a, 0x02};
static Flagpost__Pseudonym seed_subject = {PROTOBUF_C_MESSAGE_INIT(&flagpost__pseudonym__descriptor),
                                           FLAGPOST__PSEUDONYM_KIND__PSEUDONYM_NHS,
                                           {32, seed_subject_value}};
static Flagpost__Pseudonym seed_perp = {PROTOBUF_C_MESSAGE_INIT(&flagpost__pseudonym__descriptor),
                                        FLAGPOST__PSEUDONYM_KIND__PSEUDONYM_NAME_DOB,
                                        {32, seed_perp_value}};
static Flagpost__Pseudonym *seed_subjects[1] = {&seed_subject};
static Flagpost__Pseudonym *seed_perps[1] = {&seed_perp};

static void seed_body(Flagpost__FlagBody *fb, uint8_t *id, uint8_t tag, const char *category,
                      const char *purpose, const char *basis, const char *consent,
                      const char *role)
{
    flagpost__flag_body__init(fb);
    memset(id, tag, 16);
    fb->flag_id.data = id;
    fb->flag_id.len = 16;
    fb->version = 1;
    fb->category = (char *)(uintptr_t)category;
    fb->purpose = (char *)(uintptr_t)purpose;
    fb->lawful_basis = (char *)(uintptr_t)basis;
    fb->consent = (char *)(uintptr_t)consent;
    fb->risk = (char *)"high";
    fb->subject_role = (char *)(uintptr_t)role;
    fb->subject = seed_subjects;
    fb->n_subject = 1;
}

static void seed_write(const char *dir, const char *name, const seed *s)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(s->b, 1, s->n, f) != s->n || fclose(f) != 0)
        abort();
}

#define FIX_FLAG (FBI_FIX_DIGESTS)
#define FIX_NEXT (FBI_FIX_DIGESTS | FBI_FIX_FLAG_ID | FBI_FIX_VERSION)
#define END FBI_OP_END_BATCH

/* Publish to IDVA, housing and health; view, acknowledge, receive; update
 * leaving housing out; withdraw; then a year later.  In a 96 KB store
 * (settings bit 1) the same story fills it part way. */
static void seed_victim_lifecycle(const char *dir, const char *name, uint8_t settings)
{
    seed s = {.n = 0};
    uint8_t id[16];
    seed_bytes(&s, &settings, 1);
    Flagpost__FlagBody fb;
    seed_body(&fb, id, 0x11, "da_victim", "safeguarding", "public_task_safeguarding", "given",
              "victim");
    seed_parts ps = {.n = 0};
    seed_add_part(&ps, "idva", "name,safe_contact_phone,risk_summary");
    seed_add_part(&ps, "housing-hf", "name,current_address,risk_summary");
    seed_add_part(&ps, "nhs-acute", "name,nhs_number");
    seed_flag(&s, FBI_FLAG | END, S_POLICE, FIX_FLAG, 0, &fb, &ps);
    Flagpost__ViewBody vb = FLAGPOST__VIEW_BODY__INIT;
    vb.flag_id = fb.flag_id;
    vb.version = 1;
    vb.category = (char *)"da_victim";
    vb.original_sender = (char *)"met-police";
    seed_msg(&s, FBI_VIEW, S_IDVA, FBI_FIX_FLAG_ID, 0, &vb.base);
    Flagpost__ActionAckBody ab = FLAGPOST__ACTION_ACK_BODY__INIT;
    ab.flag_id = fb.flag_id;
    ab.version = 1;
    ab.outcome = (char *)"contacted-safely";
    seed_msg(&s, FBI_ACK | END, S_IDVA, FBI_FIX_FLAG_ID, 0, &ab.base);
    seed_rec(&s, FBI_DELIVERY_ACK | END, S_IDVA, FBI_FIX_SEQS, 0, "", 0);
    fb.lifecycle = FLAGPOST__LIFECYCLE__LIFECYCLE_UPDATE;
    seed_parts one = {.n = 0};
    seed_add_part(&one, "idva", "name,risk_summary");
    seed_flag(&s, FBI_FLAG | END, S_POLICE, FIX_NEXT, 0, &fb, &one);
    seed_msg(&s, FBI_VIEW | END, S_HOUSING, FBI_FIX_FLAG_ID, 0, &vb.base);
    fb.lifecycle = FLAGPOST__LIFECYCLE__LIFECYCLE_WITHDRAW;
    fb.withdraw_reason = (char *)"recorded-in-error";
    seed_flag(&s, FBI_FLAG | END, S_POLICE, FBI_FIX_FLAG_ID | FBI_FIX_VERSION, 0, &fb, NULL);
    seed_rec(&s, FBI_DELIVERY_ACK | END, S_HOUSING, FBI_FIX_SEQS | FBI_FIX_REJECTED, 0, "", 0);
    seed_rec(&s, FBI_TIMERS, S_POLICE, 0, 100, "", 0);
    seed_write(dir, name, &s);
}

/* Police hold a perpetrator; a survivor's address to police is withheld;
 * a day later the unacknowledged flags escalate. */
static void seed_perpetrator_holder(const char *dir)
{
    seed s = {.n = 0};
    uint8_t id[16], id2[16];
    seed_bytes(&s, "\0", 1);
    Flagpost__FlagBody fb;
    seed_body(&fb, id, 0x21, "da_perpetrator", "risk_management", "law_enforcement",
              "not_sought_unsafe", "perpetrator");
    fb.subject = seed_perps;
    seed_parts ps = {.n = 0};
    seed_add_part(&ps, "probation", "name,pnc_id,offence_summary");
    seed_flag(&s, FBI_FLAG | END, S_POLICE, FIX_FLAG, 0, &fb, &ps);
    seed_body(&fb, id2, 0x22, "da_victim", "safeguarding", "public_task_safeguarding", "given",
              "victim");
    fb.linked_perpetrator = seed_perps;
    fb.n_linked_perpetrator = 1;
    seed_parts to_police = {.n = 0};
    seed_add_part(&to_police, "met-police", "name,current_address");
    seed_add_part(&to_police, "met-police", "name");
    seed_flag(&s, FBI_FLAG | END, S_IDVA, FIX_FLAG, 0, &fb, &to_police);
    seed_rec(&s, FBI_TIMERS, S_POLICE, FBI_FIX_RECONNECT, 6, "", 0);
    seed_rec(&s, FBI_DELIVERY_ACK, S_POLICE, FBI_FIX_SEQS, 0, "", 0);
    seed_write(dir, "perpetrator-holder", &s);
}

/* The coordinator's research request, its reminders, and reminders it may
 * not send. */
static void seed_marac(const char *dir)
{
    seed s = {.n = 0};
    uint8_t id[16];
    seed_bytes(&s, "\0", 1);
    Flagpost__FlagBody fb;
    seed_body(&fb, id, 0x31, "marac_research", "marac", "public_task_safeguarding",
              "not_sought_unsafe", "victim");
    seed_parts ps = {.n = 0};
    seed_add_part(&ps, "met-police", "case_reference,research_questions");
    seed_add_part(&ps, "housing-hf", "case_reference,subject_name");
    seed_flag(&s, FBI_FLAG | END, S_MARAC, FIX_FLAG, 0, &fb, &ps);
    Flagpost__MaracReminderItem it[2] = {FLAGPOST__MARAC_REMINDER_ITEM__INIT,
                                         FLAGPOST__MARAC_REMINDER_ITEM__INIT};
    Flagpost__MaracReminderItem *itp[2] = {&it[0], &it[1]};
    it[0].flag_id = fb.flag_id;
    it[0].agency = (char *)"met-police";
    it[1].flag_id = fb.flag_id;
    it[1].agency = (char *)"housing-hf";
    Flagpost__MaracReminder mr = FLAGPOST__MARAC_REMINDER__INIT;
    mr.deadline_ms = 1893456000000;
    mr.items = itp;
    mr.n_items = 2;
    seed_msg(&s, FBI_MARAC | END, S_MARAC, FBI_FIX_REMINDER | FBI_FIX_FLAG_ID, 0, &mr.base);
    seed_msg(&s, FBI_MARAC, S_POLICE, FBI_FIX_REMINDER | FBI_FIX_FLAG_ID, 0, &mr.base);
    it[1].agency = (char *)"idva";
    seed_msg(&s, FBI_MARAC, S_MARAC, FBI_FIX_REMINDER | FBI_FIX_FLAG_ID, 0, &mr.base);
    Flagpost__MaracBody mb = FLAGPOST__MARAC_BODY__INIT;
    mb.kind = (char *)"summary";
    seed_msg(&s, FBI_MARAC | END, S_MARAC, 0, 0, &mb.base);
    seed_rec(&s, FBI_DELIVERY_ACK, S_POLICE, FBI_FIX_SEQS, 0, "", 0);
    seed_write(dir, "marac-reminder", &s);
}

/* Housing breaks glass to health, having refused two recipients itself;
 * an hour later the flag escalates. */
static void seed_break_glass(const char *dir)
{
    seed s = {.n = 0};
    uint8_t id[16];
    seed_bytes(&s, "\0", 1);
    Flagpost__FlagBody fb;
    seed_body(&fb, id, 0x41, "da_victim", "emergency", "vital_interests", "not_possible",
              "victim");
    fb.break_glass = 1;
    fb.justification = (char *)"Unconscious in A&E; known risk of strangulation.";
    fb.review_at = 1893456000;
    char *withheld[1] = {(char *)"current_address"};
    Flagpost__SenderRefusal r[2] = {FLAGPOST__SENDER_REFUSAL__INIT,
                                    FLAGPOST__SENDER_REFUSAL__INIT};
    Flagpost__SenderRefusal *rp[2] = {&r[0], &r[1]};
    r[0].recipient = (char *)"school-hf-primary";
    r[0].rule_id = (char *)"default-deny";
    r[0].reason = (char *)"no-rule";
    r[1].recipient = (char *)"nhs-acute";
    r[1].rule_id = (char *)"survivor-address-not-to-perpetrator-holder";
    r[1].reason = (char *)"withheld";
    r[1].fields = withheld;
    r[1].n_fields = 1;
    fb.refused_at_sender = rp;
    fb.n_refused_at_sender = 2;
    seed_parts ps = {.n = 0};
    seed_add_part(&ps, "nhs-acute", "name,risk_summary");
    seed_add_part(&ps, "gp-federation", "name");
    seed_add_part(&ps, "broker", "name");
    seed_add_part(&ps, "housing-hf", "name");
    seed_flag(&s, FBI_FLAG | END, S_HOUSING, FIX_FLAG, 0, &fb, &ps);
    seed_rec(&s, FBI_TIMERS, S_HOUSING, 0, 2, "", 0);
    seed_write(dir, "break-glass", &s);
}

/* A restricted harmful-practice flag for named agencies only. */
static void seed_harmful_practice(const char *dir)
{
    seed s = {.n = 0};
    uint8_t id[16];
    seed_bytes(&s, "\0", 1);
    Flagpost__FlagBody fb;
    seed_body(&fb, id, 0x51, "harmful_practice", "safeguarding", "public_task_safeguarding",
              "given", "child");
    char *named[2] = {(char *)"idva", (char *)"childrens-sc"};
    fb.subcategory = (char *)"fgm";
    fb.restricted = 1;
    fb.named_agencies = named;
    fb.n_named_agencies = 2;
    fb.expires_at = 1893456000;
    seed_parts ps = {.n = 0};
    seed_add_part(&ps, "childrens-sc", "name,practice_risk_summary,family_involvement_warning");
    seed_add_part(&ps, "school-hf-primary", "name");
    seed_add_part(&ps, "idva", "name,travel_risk");
    seed_flag(&s, FBI_FLAG | END, S_POLICE, FIX_FLAG, 0, &fb, &ps);
    seed_write(dir, "harmful-practice", &s);
}

/* Everything verify refuses, and a retransmission and a replay. */
static void seed_forgeries(const char *dir)
{
    seed s = {.n = 0};
    uint8_t id[16];
    seed_bytes(&s, "\0", 1);
    Flagpost__FlagBody fb;
    seed_body(&fb, id, 0x61, "da_victim", "safeguarding", "public_task_safeguarding", "given",
              "victim");
    seed_parts ps = {.n = 0};
    seed_add_part(&ps, "idva", "name");
    seed_flag(&s, FBI_FLAG, S_POLICE, FIX_FLAG, 0, &fb, &ps);
    seed_flag(&s, FBI_FLAG | FBI_OP_REPLAY | END, S_POLICE, FIX_FLAG, 0, &fb, &ps);
    fb.version = 2;
    seed_flag(&s, FBI_FLAG | FBI_OP_REPLAY, S_POLICE, FIX_FLAG, 0, &fb, &ps);
    seed_flag(&s, FBI_FLAG | FBI_OP_BAD_SIGNATURE, S_POLICE, FIX_FLAG, 0, &fb, &ps);
    seed_flag(&s, FBI_FLAG | FBI_OP_FORGED, S_POLICE, FIX_FLAG, 0, &fb, &ps);
    seed_flag(&s, FBI_FLAG | FBI_OP_WIRE2, S_POLICE, FIX_FLAG, 0, &fb, &ps);
    seed_flag(&s, FBI_FLAG, S_POLICE, FIX_FLAG, 100, &fb, &ps);
    seed_flag(&s, FBI_FLAG, S_EXPIRED, FIX_FLAG, 0, &fb, &ps);
    seed_flag(&s, FBI_FLAG, S_REVOKED, FIX_FLAG, 0, &fb, &ps);
    seed_flag(&s, FBI_FLAG, S_POLICE, 0, 0, &fb, &ps);   /* digests do not match */
    fb.flag_id.len = 8;
    seed_flag(&s, FBI_FLAG | END, S_POLICE, FIX_FLAG, 0, &fb, &ps);
    seed_write(dir, "forgeries", &s);
}

/* Frames as they come: a hello, garbage, an unsolicited acknowledgement,
 * unsupported events, a body that is not a flag published as one. */
static void seed_raw(const char *dir)
{
    seed s = {.n = 0};
    seed_bytes(&s, "\0", 1);
    Flagpost__Hello hello = FLAGPOST__HELLO__INIT;
    hello.last_checkpoint_size = 3;
    Flagpost__ToBroker tb = FLAGPOST__TO_BROKER__INIT;
    tb.kind_case = FLAGPOST__TO_BROKER__KIND_HELLO;
    tb.hello = &hello;
    seed_msg(&s, FBI_RAW, S_GP, 0, 0, &tb.base);
    seed_rec(&s, FBI_RAW, S_GP, 0, 0, "\x0a\xff\xff", 3);
    Flagpost__DeliveryAckItem item = FLAGPOST__DELIVERY_ACK_ITEM__INIT, *itemp[1] = {&item};
    item.seq = 1;
    item.stored = 1;
    Flagpost__DeliveryAck ack = FLAGPOST__DELIVERY_ACK__INIT;
    ack.items = itemp;
    ack.n_items = 1;
    seed_msg(&s, FBI_DELIVERY_ACK, S_BFS, 0, 0, &ack.base);
    seed_rec(&s, FBI_EVENT, S_BFS, 9, 0, "\x0a\x01x", 3);
    seed_rec(&s, FBI_EVENT, S_BFS, 0x80 | 2, 0, "\x0a\x10xxxxxxxxxxxxxxxx", 18);
    seed_rec(&s, FBI_EVENT | END, S_BFS, 0x80 | 1, 0, "\xff", 1);
    seed_write(dir, "raw-frames", &s);
}

/* Over the count and text limits. */
static void seed_limits(const char *dir)
{
    seed s = {.n = 0};
    uint8_t id[16];
    seed_bytes(&s, "\0", 1);
    Flagpost__FlagBody fb;
    seed_body(&fb, id, 0x71, "da_victim", "safeguarding", "public_task_safeguarding", "given",
              "victim");
    seed_parts many = {.n = 0};
    for (size_t i = 0; i < FP_MAX_RECIPIENTS + 1; i++)
        many.len[many.n++] = 0;
    seed_flag(&s, FBI_FLAG, S_POLICE, FIX_FLAG, 0, &fb, &many);
    fb.purpose = (char *)"safe\xc3guarding";
    seed_flag(&s, FBI_FLAG | END, S_POLICE, FIX_FLAG, 0, &fb, NULL);
    seed_write(dir, "limits", &s);
}

/* Over the size limit (settings bit 0: 1 KB). */
static void seed_oversize(const char *dir)
{
    seed s = {.n = 0};
    uint8_t id[16];
    seed_bytes(&s, "\x01", 1);
    Flagpost__FlagBody fb;
    seed_body(&fb, id, 0x81, "da_victim", "safeguarding", "public_task_safeguarding", "given",
              "victim");
    seed_parts big = {.n = 0};
    big.len[0] = seed_part("idva", "name", 1100, big.bytes, sizeof big.bytes);
    big.used = big.len[0];
    big.n = 1;
    seed_flag(&s, FBI_FLAG | END, S_POLICE, FIX_FLAG, 0, &fb, &big);
    seed_write(dir, "oversize", &s);
}

#define PRUNE (FBI_TIMERS | FBI_OP_PRUNE)
#define SWEEPS(n) ((uint8_t)(((n) - 1) << 4))

/* The replay table pruned under traffic (broker_intake_prune.h): a flag
 * and a view; six minutes on, a second flag; then the clock past the
 * first two's retention but not the second's, so one sweep deletes two
 * ids, keeps one and raises the floor; the three frames sent again
 * (refused: two below the floor, one retransmission); a restart with a wider --skew
 * and a chunk of 2, the clock stepped back, a flag created before the
 * floor (refused as clock-skew), a new one and its retransmission; a
 * retention the rule forbids; then an hour on, swept in small steps and
 * the latest frames sent again.  In a 96 KB store
 * (settings bit 1) the sweeps also meet a full store. */
static void seed_seen_prune(const char *dir, const char *name, uint8_t settings)
{
    seed s = {.n = 0};
    uint8_t id[16];
    seed_bytes(&s, &settings, 1);
    Flagpost__FlagBody fb;
    seed_body(&fb, id, 0x91, "da_victim", "safeguarding", "public_task_safeguarding", "given",
              "victim");
    seed_parts ps = {.n = 0};
    seed_add_part(&ps, "idva", "name,risk_summary");
    seed_flag(&s, FBI_FLAG | END, S_POLICE, FIX_FLAG, 0, &fb, &ps);
    Flagpost__ViewBody vb = FLAGPOST__VIEW_BODY__INIT;
    vb.flag_id = fb.flag_id;
    vb.version = 1;
    vb.category = (char *)"da_victim";
    vb.original_sender = (char *)"met-police";
    seed_msg(&s, FBI_VIEW | END, S_IDVA, FBI_FIX_FLAG_ID, 0, &vb.base);
    seed_rec(&s, PRUNE, S_POLICE, 0, 12, "", 0);   /* 360 s: nothing expires */
    memset(id, 0x92, sizeof id);
    seed_flag(&s, FBI_FLAG | END, S_POLICE, FIX_FLAG, 0, &fb, &ps);
    seed_rec(&s, PRUNE, S_POLICE, SWEEPS(2), 11, "", 0);   /* 690 s > 660 s > 330 s */
    seed_rec(&s, PRUNE, S_POLICE, FBP_FIX_RESEND, 0, "", 0);
    uint8_t wider[3] = {60, 5, 2};   /* --skew 600, retention + 5 min, chunk 2 */
    seed_rec(&s, PRUNE, S_POLICE, FBP_FIX_RESTART, -4, wider, sizeof wider);
    memset(id, 0x93, sizeof id);
    seed_flag(&s, FBI_FLAG | END, S_POLICE, FIX_FLAG, -100, &fb, &ps);
    memset(id, 0x94, sizeof id);
    seed_flag(&s, FBI_FLAG | END, S_POLICE, FIX_FLAG, 0, &fb, &ps);
    seed_flag(&s, FBI_FLAG | FBI_OP_REPLAY | END, S_POLICE, FIX_FLAG, 0, &fb, &ps);
    uint8_t short_retention[2] = {30, 10};
    seed_rec(&s, PRUNE, S_POLICE, FBP_FIX_RESTART | FBP_FIX_ILLEGAL, 0, short_retention,
             sizeof short_retention);
    seed_rec(&s, PRUNE, S_POLICE, SWEEPS(16) | FBP_FIX_RESEND, 127, "", 0);
    seed_write(dir, name, &s);
}

int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    seed_victim_lifecycle(argv[1], "victim-lifecycle", 0);
    seed_victim_lifecycle(argv[1], "store-full", 2);
    seed_perpetrator_holder(argv[1]);
    seed_marac(argv[1]);
    seed_break_glass(argv[1]);
    seed_harmful_practice(argv[1]);
    seed_forgeries(argv[1]);
    seed_raw(argv[1]);
    seed_limits(argv[1]);
    seed_oversize(argv[1]);
    seed_seen_prune(argv[1], "seen-prune", 0);
    seed_seen_prune(argv[1], "seen-prune-store-full", 2);
    return 0;
}

#endif
