/*
 * agent_receive_seeds.h: the seed writer of fuzz_agent_receive, included
 * by it only when built with -DFUZZ_AGENT_RECEIVE_WRITE_SEEDS (kept apart
 * so the target stays readable; not a target of its own).
 *
 * Each seed is one input in the item format fuzz_agent_receive.c
 * describes, written so that it takes a path the fuzzer would otherwise
 * have to find: a flag stored, updated, withdrawn and redelivered; a MARAC
 * research request, reminder and action at a member; an answer at the
 * coordinator; each refusal the receiver names; a witness accepting,
 * proving and alarming.  The bodies carry only values the agreement and
 * the code compare with; the harness does the ids, sealing and signing.
 */
#ifndef FLAGPOST_FUZZ_AGENT_RECEIVE_SEEDS_H
#define FLAGPOST_FUZZ_AGENT_RECEIVE_SEEDS_H

typedef struct seed_buf {
    uint8_t b[16384];
    size_t n;
} seed_buf;

static void sb_u8(seed_buf *s, unsigned v)
{
    if (s->n >= sizeof s->b)
        abort();
    s->b[s->n++] = (uint8_t)v;
}

static void sb_u16(seed_buf *s, size_t v)
{
    sb_u8(s, v & 0xff);
    sb_u8(s, (v >> 8) & 0xff);
}

static void sb_msg(seed_buf *s, const ProtobufCMessage *m)
{
    size_t len = m ? protobuf_c_message_get_packed_size(m) : 0;
    sb_u16(s, len);
    if (len == 0)
        return;
    if (s->n + len > sizeof s->b)
        abort();
    s->n += protobuf_c_message_pack(m, s->b + s->n);
}

/* An item's kind and a length patched in by sb_end. */
static size_t sb_begin(seed_buf *s, int kind)
{
    sb_u8(s, (unsigned)kind);
    sb_u16(s, 0);
    return s->n;
}

static void sb_end(seed_buf *s, size_t mark)
{
    size_t len = s->n - mark;
    s->b[mark - 2] = len & 0xff;
    s->b[mark - 1] = (len >> 8) & 0xff;
}

static void sb_write(const seed_buf *s, const char *dir, const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(s->b, 1, s->n, f) != s->n || fclose(f) != 0)
        abort();
}

typedef struct seed_flag {
    int signer;
    unsigned fix, pool, seq;
    int32_t offset;
    unsigned version;
    Flagpost__Lifecycle lifecycle;
    const char *category, *purpose, *basis, *consent, *risk, *role, *withdraw_reason;
    const char *const *names;      /* declared in the part */
    size_t n_names;
    const char *const *values;     /* in the payload, one per name and then extras */
    const char *const *extra;      /* undeclared names in the payload */
    size_t n_extra;
    const char *recipient;         /* the part's, before FIX_TO_ME */
    uint64_t serial;
} seed_flag;

static const char *const SEED_VICTIM[] = {"name", "safe_contact_phone", "risk_summary"};
static const char *const SEED_VICTIM_V[] = {"Jane Doe", "07700 900123", "strangulation",
                                            "1 Refuge Road"};
static const char *const SEED_EXTRA[] = {"new_address", "name"};

static void seed_flag_item(seed_buf *s, const seed_flag *f)
{
    unsigned char flag_id[16], subject[32];
    memset(flag_id, 0xf0 + (f->pool & 3), 16);
    memset(subject, 0x33, 32);
    Flagpost__Pseudonym ps = FLAGPOST__PSEUDONYM__INIT, *psp[1] = {&ps};
    ps.kind = FLAGPOST__PSEUDONYM_KIND__PSEUDONYM_NHS;
    ps.value.data = subject;
    ps.value.len = 32;
    Flagpost__FlagBody b = FLAGPOST__FLAG_BODY__INIT;
    b.flag_id.data = flag_id;
    b.flag_id.len = 16;
    b.version = f->version ? f->version : 1;
    b.lifecycle = f->lifecycle;
    b.category = (char *)(uintptr_t)f->category;
    b.purpose = (char *)(uintptr_t)f->purpose;
    b.lawful_basis = (char *)(uintptr_t)(f->basis ? f->basis : "public_task_safeguarding");
    b.consent = (char *)(uintptr_t)(f->consent ? f->consent : "");
    b.risk = (char *)(uintptr_t)(f->risk ? f->risk : "");
    b.subject_role = (char *)(uintptr_t)f->role;
    b.subject = psp;
    b.n_subject = 1;
    if (f->lifecycle == FLAGPOST__LIFECYCLE__LIFECYCLE_WITHDRAW)
        b.withdraw_reason = (char *)(uintptr_t)(f->withdraw_reason ? f->withdraw_reason : "closed");
    Flagpost__RecipientPart p = FLAGPOST__RECIPIENT_PART__INIT;
    p.recipient = (char *)(uintptr_t)(f->recipient ? f->recipient : "");
    p.fields = (char **)(uintptr_t)f->names;
    p.n_fields = f->n_names;
    p.recipient_serial = f->serial;
    Flagpost__FieldValue fv[16], *fvp[16];
    size_t nv = 0;
    for (size_t i = 0; i < f->n_names + f->n_extra && nv < 16; i++, nv++) {
        flagpost__field_value__init(&fv[nv]);
        fv[nv].name = (char *)(uintptr_t)(i < f->n_names ? f->names[i] : f->extra[i - f->n_names]);
        fv[nv].value = (char *)(uintptr_t)f->values[i];
        fvp[nv] = &fv[nv];
    }
    Flagpost__Payload pl = FLAGPOST__PAYLOAD__INIT;
    pl.fields = fvp;
    pl.n_fields = nv;
    size_t mark = sb_begin(s, ITEM_FLAG);
    sb_u8(s, (unsigned)f->signer);
    sb_u8(s, f->fix);
    sb_u8(s, f->pool);
    sb_u8(s, FLAGPOST__MESSAGE_TYPE__MESSAGE_FLAG);
    sb_u8(s, f->seq);
    for (int i = 0; i < 4; i++)
        sb_u8(s, ((uint32_t)f->offset >> (8 * i)) & 0xff);
    sb_msg(s, &b.base);
    sb_msg(s, &p.base);
    sb_msg(s, &pl.base);
    sb_end(s, mark);
}

/* A police flag about a high-risk victim, to idva (police-victim-to-idva). */
static seed_flag seed_victim(unsigned version)
{
    return (seed_flag){.signer = 0, .fix = 0xff, .seq = 1, .version = version,
                       .category = "da_victim", .purpose = "safeguarding", .consent = "given",
                       .risk = "high", .role = "victim", .names = SEED_VICTIM, .n_names = 3,
                       .values = SEED_VICTIM_V};
}

static void seed_notice_item(seed_buf *s, unsigned fix, unsigned sel, const char *text)
{
    Flagpost__Notice n = FLAGPOST__NOTICE__INIT;
    n.text = (char *)(uintptr_t)text;
    n.time_ms = 1700000000000;
    n.seq = 7;
    size_t mark = sb_begin(s, ITEM_NOTICE);
    sb_u8(s, fix);
    sb_u8(s, sel);
    sb_msg(s, &n.base);
    sb_end(s, mark);
}

/* NOTICE selector: flag pool, agency (a SIGNERS index), category index. */
static unsigned seed_sel(unsigned pool, unsigned signer, unsigned category)
{
    return (pool & 3) | (signer << 2 & 0x1c) | (category << 5);
}

static void seed_small_item(seed_buf *s, int kind, const uint8_t *b, size_t n)
{
    size_t mark = sb_begin(s, kind);
    for (size_t i = 0; i < n; i++)
        sb_u8(s, b[i]);
    sb_end(s, mark);
}

static void seed_lifecycle(const char *dir)
{
    seed_buf s = {.n = 0};
    sb_u8(&s, RX_MEMBER);
    seed_flag f = seed_victim(1);
    f.fix &= ~FIX_MSG_ID;
    seed_flag_item(&s, &f);
    seed_small_item(&s, ITEM_BATCH, NULL, 0);
    seed_flag_item(&s, &f);                 /* redelivered: a duplicate */
    f.version = 2;
    seed_flag_item(&s, &f);                 /* an update */
    f.version = 1;
    f.seq = 2;
    seed_flag_item(&s, &f);                 /* older than what is held */
    seed_small_item(&s, ITEM_BATCH, NULL, 0);
    f.version = 3;
    f.lifecycle = FLAGPOST__LIFECYCLE__LIFECYCLE_WITHDRAW;
    f.signer = 2;
    seed_flag_item(&s, &f);                 /* idva withdrawing met-police's flag */
    f.signer = 0;
    seed_flag_item(&s, &f);
    seed_notice_item(&s, 0x0f | 1 << 4, seed_sel(0, 0, 2), "expired");
    sb_write(&s, dir, "member-lifecycle");
}

static void seed_marac_member(const char *dir)
{
    static const char *const req[] = {"case_reference", "conference_date", "research_deadline",
                                      "subject_name"};
    static const char *const req_v[] = {"TRI-2026-0042", "2026-12-01", "2026-11-28T17:00:00Z",
                                        "Jane Doe"};
    static const char *const act[] = {"case_reference", "actions_for_recipient"};
    static const char *const act_v[] = {"TRI-2026-0042", "Offer IDVA support within 24h"};
    seed_buf s = {.n = 0};
    sb_u8(&s, RX_MEMBER);
    seed_flag f = {.signer = 3, .fix = 0xff, .pool = 1, .seq = 1, .category = "marac_research",
                   .purpose = "marac", .role = "victim", .names = req, .n_names = 4,
                   .values = req_v};
    seed_flag_item(&s, &f);
    seed_small_item(&s, ITEM_BATCH, NULL, 0);
    seed_notice_item(&s, 0x0f | 2 << 4, seed_sel(1, 3, 0), "");
    f = (seed_flag){.signer = 3, .fix = 0xff, .pool = 2 | 1 << 2, .seq = 2,
                    .category = "marac_case", .purpose = "marac", .risk = "high",
                    .role = "victim", .names = act, .n_names = 2, .values = act_v};
    seed_flag_item(&s, &f);
    sb_write(&s, dir, "member-marac");
}

static void seed_marac_coordinator(const char *dir)
{
    static const char *const ans[] = {"case_reference", "record_found", "agency_summary"};
    static const char *const ans_v[] = {"TRI-2026-0042", "yes", "Known to the IDVA service."};
    seed_buf s = {.n = 0};
    sb_u8(&s, RX_COORD | 2);                 /* with the research round recorded */
    seed_flag f = {.signer = 2, .fix = 0xff, .pool = 1, .seq = 3, .category = "marac_research",
                   .purpose = "marac", .role = "victim", .names = ans, .n_names = 3,
                   .values = ans_v};
    seed_flag_item(&s, &f);
    seed_notice_item(&s, 0x0f | 3 << 4, seed_sel(2, 2, 1), "acted_on");
    seed_notice_item(&s, 0x0f | 4 << 4, seed_sel(2, 2, 1), "");
    sb_write(&s, dir, "coordinator-marac");
}

/* A refused message id is remembered, so each refusal needs its own. */
static seed_flag seed_victim_own_id(void)
{
    seed_flag f = seed_victim(1);
    f.fix &= ~FIX_MSG_ID;
    return f;
}

/* Every refusal the receiver names, one flag each. */
static void seed_refusals(const char *dir)
{
    seed_buf s = {.n = 0};
    sb_u8(&s, RX_MEMBER);
    for (int signer = 4; signer <= 7; signer++) {   /* revoked, expired, impostor, broker */
        seed_flag f = seed_victim_own_id();
        f.signer = signer;
        f.offset = signer == 5 ? -29 * 86400 : 0;
        f.fix &= signer == 5 ? ~FIX_NOW : 0xff;
        seed_flag_item(&s, &f);
    }
    seed_flag f = seed_victim_own_id();
    f.category = "child_in_household";       /* police -> idva: no rule */
    f.role = "child";
    seed_flag_item(&s, &f);
    for (int i = 0; i < 2; i++) {            /* a field sealed but not declared; twice */
        f = seed_victim_own_id();
        f.extra = SEED_EXTRA + i;
        f.n_extra = 1;
        f.pool = 1;
        seed_flag_item(&s, &f);
    }
    static const char *const immigration[] = {"name", "immigration_status"};
    f = seed_victim_own_id();
    f.names = immigration;                   /* declared, but not a field the rule grants */
    f.n_names = 2;
    seed_flag_item(&s, &f);
    f = seed_victim_own_id();
    f.fix &= ~FIX_TO_ME;
    f.recipient = "housing-hf";
    seed_flag_item(&s, &f);
    f = seed_victim_own_id();
    f.fix &= ~FIX_DIGEST;
    seed_flag_item(&s, &f);
    f = seed_victim_own_id();
    f.fix &= ~FIX_SEAL;                      /* does not open; sealed to serial 999: held */
    f.serial = 999;
    seed_flag_item(&s, &f);
    f.serial = 0;
    f.pool = 2;
    seed_flag_item(&s, &f);                   /* does not open: refused */
    sb_write(&s, dir, "member-refusals");
}

/* A stored flag, then its sender's withdrawal whose reason is not UTF-8
 * (the broker refuses it; a compromised one need not): rejected
 * text-not-utf8, where the reason was once kept as the flag's state reason
 * and then missing from every lookup. */
static void seed_text_not_utf8(const char *dir)
{
    seed_buf s = {.n = 0};
    sb_u8(&s, RX_MEMBER);
    seed_flag f = seed_victim(1);
    seed_flag_item(&s, &f);
    seed_small_item(&s, ITEM_BATCH, NULL, 0);
    f.version = 2;
    f.seq = 2;
    f.lifecycle = FLAGPOST__LIFECYCLE__LIFECYCLE_WITHDRAW;
    f.withdraw_reason = "closed-\xff\xfe";
    f.fix &= ~FIX_MSG_ID;                   /* a message of its own */
    seed_flag_item(&s, &f);
    sb_write(&s, dir, "member-text-not-utf8");
}

static void seed_witness(const char *dir)
{
    seed_buf s = {.n = 0};
    sb_u8(&s, RX_MEMBER);
    const uint8_t first[] = {0, 5, 0, 0, 0, 0}, second[] = {0, 9, 0, 0, 0, 0};
    const uint8_t forked[] = {1, 9, 0, 0, 0, 0, 3}, shrunk[] = {0, 3, 0, 0, 0, 0};
    const uint8_t honest[] = {3};
    seed_small_item(&s, ITEM_CHECKPOINT, first, sizeof first);
    seed_small_item(&s, ITEM_CHECKPOINT, second, sizeof second);
    seed_small_item(&s, ITEM_PROOF, honest, sizeof honest);
    seed_small_item(&s, ITEM_CHECKPOINT, forked, sizeof forked);
    seed_small_item(&s, ITEM_CHECKPOINT, shrunk, sizeof shrunk);
    sb_write(&s, dir, "witness");
    s.n = 1;
    const uint8_t bad[] = {1, 0x1a, 2, 0x0a, 0x00};   /* sizes fixed; one 2-byte path hash */
    seed_small_item(&s, ITEM_CHECKPOINT, first, sizeof first);
    seed_small_item(&s, ITEM_CHECKPOINT, second, sizeof second);
    seed_small_item(&s, ITEM_PROOF, bad, sizeof bad);
    sb_write(&s, dir, "witness-bad-proof");
}

static void seed_raw(const char *dir)
{
    unsigned char id[16];
    memset(id, 0x10, 16);
    seed_buf s = {.n = 0};
    sb_u8(&s, RX_MEMBER);
    Flagpost__PublishResult pr = FLAGPOST__PUBLISH_RESULT__INIT;
    pr.message_id.data = id;
    pr.message_id.len = 16;
    pr.status = FLAGPOST__RESULT_STATUS__RESULT_RETRY;
    pr.error = (char *)"busy";
    Flagpost__ToAgent m = FLAGPOST__TO_AGENT__INIT;
    m.kind_case = FLAGPOST__TO_AGENT__KIND_PUBLISH_RESULT;
    m.publish_result = &pr;
    sb_u8(&s, ITEM_RAW);
    sb_msg(&s, &m.base);
    Flagpost__Notice n = FLAGPOST__NOTICE__INIT;
    n.kind = (char *)"view";
    n.agency = (char *)"met-police";
    n.flag_id.data = id;
    n.flag_id.len = 16;
    m.kind_case = FLAGPOST__TO_AGENT__KIND_NOTICE;
    m.notice = &n;
    sb_u8(&s, ITEM_RAW);
    sb_msg(&s, &m.base);
    sb_write(&s, dir, "raw");
}

int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    seed_buf s = {.n = 0};
    sb_u8(&s, RX_MEMBER);
    seed_flag f = seed_victim(1);
    seed_flag_item(&s, &f);
    sb_write(&s, argv[1], "member-flag");
    seed_lifecycle(argv[1]);
    seed_marac_member(argv[1]);
    seed_marac_coordinator(argv[1]);
    seed_refusals(argv[1]);
    seed_text_not_utf8(argv[1]);
    seed_witness(argv[1]);
    seed_raw(argv[1]);
    return 0;
}

#endif
