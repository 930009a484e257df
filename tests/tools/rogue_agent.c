/*
 * rogue_agent: a test tool that speaks to the broker as an agency would,
 * but builds its messages by hand so tests can send what a real agent never
 * would: bad signatures, forged senders, replays, stale clocks, malformed
 * envelopes, parts for recipients or fields the policy refuses, and sealed
 * payloads holding fields they do not declare.
 *
 *   rogue_agent --identity DIR --ca DIR --broker EP MODE [options]
 *
 * MODE: valid | bad-signature | forged-sender | replay-same | replay-altered |
 *       stale | future | time-min | time-max | malformed-envelope | garbage | bit-flip |
 *       truncated-envelope | truncated | resend | listen | view | ack
 * options: --to AGENCY (repeatable), --claim AGENCY, --server-ca DIR (broker key
 *          from another bundle), --category C, --purpose P,
 *          over the limits (fp_limits.h): --copies N (each part N times),
 *          --pseudonyms N, --extra-fields N (declared names), --long-category N
 *          (bytes), --pad BYTES (risk_summary's sealed value, that long);
 *          --count N sends N flags back to back before reading the N
 *          answers (rate limits),
 *          --basis B, --consent C, --risk R, --role R, --nhs N,
 *          --field NAME=VALUE (declared and sealed), --undeclared NAME=VALUE
 *          (sealed but not declared), --save FILE (keep the exact frame
 *          sent), --load FILE (resend: the frame to send again), --alter
 *          (resend: same message id, other body, signed again),
 *          --show-bytes (print the signature and the first part's last 16
 *          bytes, hex, so a test can find them on disk), --for SECONDS
 *          (listen: how long), --outcome TEXT (ack's outcome),
 *          --review-at N, --expires-at N (the body's dates, unix seconds,
 *          any 64-bit value)
 *
 * time-min and time-max sign the envelope as created at INT64_MIN and
 * INT64_MAX milliseconds.  bit-flip and truncated-envelope spoil the signed envelope after signing;
 * truncated cuts the whole frame short, so it is not a message at all.
 * listen connects and stays, saying hello, printing each delivery and each
 * connection event as a JSON line, and never acknowledges anything: a
 * recipient whose deliveries stay queued at the broker.  view and ack send
 * one signed event (a view, an acknowledgement) about a flag id nobody
 * published, with the text of --category (view) or --outcome (ack).
 *
 * Prints each broker answer as one JSON line.  Exit 0 when answers came
 * back (whatever they say: the test judges them), 1 otherwise.
 */
#include <getopt.h>
#include <stdbool.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "envelope.h"
#include "identity.h"
#include "payload.h"
#include "pseudonym.h"
#include "tool_hello.h"
#include "trust_store.h"

#define MAX_TO 16
#define MAX_FIELDS 16

typedef struct options {
    const char *identity, *ca, *server_ca, *broker, *mode, *claim;
    const char *category, *purpose, *basis, *consent, *risk, *role, *nhs;
    const char *save, *load, *outcome;
    bool alter, show_bytes;
    int listen_s;
    const char *to[MAX_TO];
    size_t n_to;
    char *fields[MAX_FIELDS];
    size_t n_fields;
    char *undeclared[MAX_FIELDS];
    size_t n_undeclared;
    size_t copies;        /* --copies N: each part repeated N times (too many recipients) */
    size_t pseudonyms;    /* --pseudonyms N: the subject's pseudonym repeated to N */
    size_t extra_fields;  /* --extra-fields N: N more declared field names */
    size_t long_text;     /* --long-category N: a category N bytes long */
    size_t pad;           /* --pad BYTES: a sealed field value of BYTES bytes */
    size_t count;         /* --count N: send N flags at once, then read N answers */
    int64_t review_at, expires_at;   /* --review-at, --expires-at: unix seconds, any int64 */
} options;

typedef struct rogue {
    options o;
    identity id;
    trust_store *trust;
    trust_store *server_trust;   /* --server-ca, else trust */
    box_cache *boxes;
    void *ctx, *sock;
} rogue;

static int die(const char *what, const char *detail)
{
    fprintf(stderr, "rogue_agent: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    return 1;
}

static void split_field(char *nv, Flagpost__FieldValue *fv)
{
    flagpost__field_value__init(fv);
    char *eq = strchr(nv, '=');
    fv->name = nv;
    fv->value = (char *)"";
    if (eq != NULL) {
        *eq = '\0';
        fv->value = eq + 1;
    }
}

/* One recipient's sealed part, packed; returns malloc'd bytes. */
static uint8_t *build_part(rogue *r, const char *to, const unsigned char msg_id[16],
                           size_t *len)
{
    const cert_info *c = trust_store_by_agency(r->trust, to, envelope_now_ms() / 1000, NULL);
    if (c == NULL)
        c = trust_store_by_agency(r->server_trust, to, envelope_now_ms() / 1000, NULL);
    if (c == NULL)
        return NULL;
    Flagpost__FieldValue fv[2 * MAX_FIELDS], *fvp[2 * MAX_FIELDS];
    char *names[MAX_FIELDS];
    size_t n = 0;
    for (size_t i = 0; i < r->o.n_fields; i++, n++) {
        split_field(strdup(r->o.fields[i]), &fv[n]);
        names[i] = fv[n].name;
        fvp[n] = &fv[n];
    }
    for (size_t i = 0; i < r->o.n_undeclared; i++, n++) {
        split_field(strdup(r->o.undeclared[i]), &fv[n]);
        fvp[n] = &fv[n];
    }
    Flagpost__Payload p = FLAGPOST__PAYLOAD__INIT;
    p.message_id.data = (uint8_t *)(uintptr_t)msg_id;
    p.message_id.len = 16;
    p.recipient = (char *)(uintptr_t)to;
    p.fields = fvp;
    p.n_fields = n;
    char *padded = NULL;
    Flagpost__FieldValue padv = FLAGPOST__FIELD_VALUE__INIT;
    if (r->o.pad > 0 && (padded = malloc(r->o.pad + 1)) != NULL) {
        randombytes_buf(padded, r->o.pad);   /* incompressible, like ciphertext */
        for (size_t i = 0; i < r->o.pad; i++)
            padded[i] = (char)('a' + (unsigned char)padded[i] % 26);
        padded[r->o.pad] = '\0';
        /* The value of risk_summary if it was given (--field), so the
         * part stays one a real recipient stores; a field of its own if not. */
        size_t at = 0;
        while (at < n && strcmp(fvp[at]->name, "risk_summary") != 0)
            at++;
        if (at == n) {
            padv.name = (char *)"risk_summary";
            fvp[n] = &padv;
            p.n_fields = n + 1;
        }
        fvp[at]->value = padded;
    }
    size_t n_names = r->o.n_fields + r->o.extra_fields;
    char **all = calloc(n_names ? n_names : 1, sizeof *all);
    char extra[64];
    for (size_t i = 0; i < n_names; i++) {
        snprintf(extra, sizeof extra, "extra_field_%zu", i);
        all[i] = i < r->o.n_fields ? names[i] : strdup(extra);
    }
    Flagpost__RecipientPart part = FLAGPOST__RECIPIENT_PART__INIT;
    part.recipient = p.recipient;
    part.fields = all;
    part.n_fields = n_names;
    uint8_t *out = NULL;
    if (payload_seal(r->boxes, c->box_public, &p, &part, NULL) == FP_OK) {
        *len = flagpost__recipient_part__get_packed_size(&part);
        out = malloc(*len);
        flagpost__recipient_part__pack(&part, out);
        payload_part_release(&part);
    }
    for (size_t i = 0; i < n; i++)
        free(fv[i].name);
    for (size_t i = r->o.n_fields; i < n_names; i++)
        free(all[i]);
    free(all);
    free(padded);
    return out;
}

static uint8_t *build_body(rogue *r, ProtobufCBinaryData *parts, size_t n_parts, size_t *len)
{
    pseudonym ps[PSEUDONYM_MAX];
    size_t nps = 0;
    subject_identifiers ids = {.nhs = r->o.nhs};
    if (pseudonym_derive(r->id.linkage_key, &ids, "subject", ps, &nps, NULL) != FP_OK)
        return NULL;
    Flagpost__Pseudonym pv[PSEUDONYM_MAX], *pvp[64];
    for (size_t i = 0; i < nps; i++) {
        flagpost__pseudonym__init(&pv[i]);
        pv[i].kind = (Flagpost__PseudonymKind)ps[i].kind;
        pv[i].value.data = ps[i].value;
        pv[i].value.len = 32;
        pvp[i] = &pv[i];
    }
    for (size_t i = nps; i < r->o.pseudonyms && i < 64; i++)
        pvp[i] = &pv[0];
    if (r->o.pseudonyms > nps)
        nps = r->o.pseudonyms < 64 ? r->o.pseudonyms : 64;
    unsigned char (*digests)[32] = calloc(n_parts ? n_parts : 1, 32), flag_id[16];
    ProtobufCBinaryData *dv = calloc(n_parts ? n_parts : 1, sizeof *dv);
    char *category = NULL;
    if (r->o.long_text > 0 && (category = malloc(r->o.long_text + 1)) != NULL) {
        memset(category, 'x', r->o.long_text);
        category[r->o.long_text] = '\0';
    }
    for (size_t i = 0; i < n_parts; i++) {
        crypto_hash_sha256(digests[i], parts[i].data, parts[i].len);
        dv[i].data = digests[i];
        dv[i].len = 32;
    }
    randombytes_buf(flag_id, 16);
    Flagpost__FlagBody b = FLAGPOST__FLAG_BODY__INIT;
    b.flag_id.data = flag_id;
    b.flag_id.len = 16;
    b.version = 1;
    b.review_at = r->o.review_at;
    b.expires_at = r->o.expires_at;
    b.category = category ? category : (char *)(uintptr_t)r->o.category;
    b.purpose = (char *)(uintptr_t)r->o.purpose;
    b.lawful_basis = (char *)(uintptr_t)r->o.basis;
    b.consent = (char *)(uintptr_t)r->o.consent;
    b.risk = (char *)(uintptr_t)r->o.risk;
    b.subject_role = (char *)(uintptr_t)r->o.role;
    b.subject = pvp;
    b.n_subject = nps;
    b.part_digests = dv;
    b.n_part_digests = n_parts;
    *len = flagpost__flag_body__get_packed_size(&b);
    uint8_t *out = malloc(*len);
    flagpost__flag_body__pack(&b, out);
    free(digests);
    free(dv);
    free(category);
    return out;
}

static void print_hex_field(const char *name, const uint8_t *data, size_t len)
{
    char hex[2 * 64 + 1];
    if (len > 64)
        len = 64;
    sodium_bin2hex(hex, sizeof hex, data, len);
    printf("{\"%s\":\"%s\"}\n", name, hex);
    fflush(stdout);
}

/* Pack and send one message: saved first with --save, cut in half in
 * mode truncated (no longer a ToBroker).  0, or -1 if it was not sent. */
static int send_message(rogue *r, const Flagpost__ToBroker *msg)
{
    size_t len = flagpost__to_broker__get_packed_size(msg);
    uint8_t *buf = malloc(len);
    if (buf == NULL)
        return -1;
    flagpost__to_broker__pack(msg, buf);
    if (r->o.save != NULL) {
        FILE *f = fopen(r->o.save, "wb");
        if (f == NULL || fwrite(buf, 1, len, f) != len || fclose(f) != 0)
            fprintf(stderr, "rogue_agent: cannot save the frame to %s\n", r->o.save);
    }
    if (strcmp(r->o.mode, "truncated") == 0)
        len /= 2;
    int rc = zmq_send(r->sock, buf, len, 0);
    free(buf);
    return rc < 0 ? -1 : 0;
}

static int send_publish(rogue *r, const Flagpost__SignedEnvelope *se, ProtobufCBinaryData *parts,
                        size_t n_parts)
{
    Flagpost__Publish pub = FLAGPOST__PUBLISH__INIT;
    pub.signed_ = (Flagpost__SignedEnvelope *)(uintptr_t)se;
    pub.parts = parts;
    pub.n_parts = n_parts;
    Flagpost__ToBroker msg = FLAGPOST__TO_BROKER__INIT;
    msg.kind_case = FLAGPOST__TO_BROKER__KIND_PUBLISH;
    msg.publish = &pub;
    int rc = send_message(r, &msg);
    if (r->o.show_bytes) {
        print_hex_field("signature", se->signature.data, se->signature.len);
        if (n_parts > 0 && parts[0].len >= 16)
            print_hex_field("part_tail", parts[0].data + parts[0].len - 16, 16);
    }
    return rc;
}

/* Wait for one PublishResult and print it as a JSON line. */
static int print_answer(rogue *r)
{
    for (;;) {
        zmq_pollitem_t item = {r->sock, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&item, 1, 10000) != 1)
            return die("no answer from the broker", NULL);
        zmq_msg_t m;
        zmq_msg_init(&m);
        zmq_msg_recv(&m, r->sock, 0);
        Flagpost__ToAgent *a = flagpost__to_agent__unpack(NULL, zmq_msg_size(&m), zmq_msg_data(&m));
        zmq_msg_close(&m);
        if (a == NULL || a->kind_case != FLAGPOST__TO_AGENT__KIND_PUBLISH_RESULT) {
            if (a)
                flagpost__to_agent__free_unpacked(a, NULL);
            continue;   /* deliveries for this identity are not our concern */
        }
        const Flagpost__PublishResult *res = a->publish_result;
        static const char *const names[] = {"accepted", "refused", "retry"};
        json_t *o = json_pack("{s:s, s:s, s:[]}", "status",
                              names[res->status <= 2 ? res->status : 1], "error", res->error,
                              "decisions");
        for (size_t i = 0; i < res->n_decisions; i++)
            json_array_append_new(json_object_get(o, "decisions"),
                                  json_pack("{s:s, s:b, s:s, s:s}", "recipient",
                                            res->decisions[i]->recipient, "allowed",
                                            res->decisions[i]->allowed, "rule",
                                            res->decisions[i]->rule_id, "reason",
                                            res->decisions[i]->reason));
        char *s = json_dumps(o, JSON_COMPACT);
        puts(s);
        fflush(stdout);
        free(s);
        json_decref(o);
        flagpost__to_agent__free_unpacked(a, NULL);
        return 0;
    }
}

/* The bytes of --load; with --alter, the same message id with another
 * body, signed again by this identity (a replay dressed as new). */
static uint8_t *load_frame(rogue *r, size_t *len)
{
    FILE *f = fopen(r->o.load, "rb");
    if (f == NULL)
        return NULL;
    uint8_t *buf = malloc(1 << 20);
    *len = buf ? fread(buf, 1, 1 << 20, f) : 0;
    fclose(f);
    if (buf == NULL || !r->o.alter)
        return buf;
    Flagpost__ToBroker *msg = flagpost__to_broker__unpack(NULL, *len, buf);
    free(buf);
    Flagpost__Envelope *env = NULL;
    if (msg == NULL || msg->kind_case != FLAGPOST__TO_BROKER__KIND_PUBLISH ||
        envelope_decode(msg->publish->signed_, &env, NULL) != FP_OK) {
        if (msg)
            flagpost__to_broker__free_unpacked(msg, NULL);
        return NULL;
    }
    env->body.data[env->body.len - 1] ^= 0x01;
    env->created_ms = envelope_now_ms();
    Flagpost__SignedEnvelope se, *orig = msg->publish->signed_;
    envelope_sign(env, r->id.sign_secret, &se, NULL);
    msg->publish->signed_ = &se;
    *len = flagpost__to_broker__get_packed_size(msg);
    buf = malloc(*len);
    flagpost__to_broker__pack(msg, buf);
    msg->publish->signed_ = orig;
    envelope_signed_release(&se);
    flagpost__envelope__free_unpacked(env, NULL);
    flagpost__to_broker__free_unpacked(msg, NULL);
    return buf;
}

static int run_resend(rogue *r)
{
    size_t len = 0;
    uint8_t *buf = r->o.load ? load_frame(r, &len) : NULL;
    if (buf == NULL)
        return die("resend: cannot read a publish frame from --load", r->o.load);
    int rc = zmq_send(r->sock, buf, len, 0) < 0 ? 1 : print_answer(r);
    free(buf);
    return rc;
}

static void print_delivery(void *sock)
{
    zmq_msg_t m;
    zmq_msg_init(&m);
    if (zmq_msg_recv(&m, sock, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&m);
        return;
    }
    Flagpost__ToAgent *a = flagpost__to_agent__unpack(NULL, zmq_msg_size(&m), zmq_msg_data(&m));
    zmq_msg_close(&m);
    if (a != NULL && a->kind_case == FLAGPOST__TO_AGENT__KIND_DELIVER) {
        printf("{\"delivery\":%llu}\n", (unsigned long long)a->deliver->seq);
        fflush(stdout);
    }
    if (a != NULL)
        flagpost__to_agent__free_unpacked(a, NULL);
}

/* One monitor event as a JSON line; returns true for an authentication
 * failure (the broker refused our certificate: nothing more to see). */
static bool print_event(void *mon)
{
    zmq_msg_t m;
    zmq_msg_init(&m);
    if (zmq_msg_recv(&m, mon, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&m);
        return false;
    }
    uint16_t ev = 0;
    if (zmq_msg_size(&m) >= 2)
        memcpy(&ev, zmq_msg_data(&m), 2);
    while (zmq_msg_more(&m)) {
        zmq_msg_close(&m);
        zmq_msg_init(&m);
        zmq_msg_recv(&m, mon, 0);
    }
    zmq_msg_close(&m);
    const char *name = ev == ZMQ_EVENT_HANDSHAKE_SUCCEEDED     ? "connected"
                       : ev == ZMQ_EVENT_DISCONNECTED          ? "disconnected"
                       : ev == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH ? "refused"
                                                               : "other";
    printf("{\"event\":\"%s\"}\n", name);
    fflush(stdout);
    return ev == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int run_listen(rogue *r, void *mon)
{
    int64_t end = mono_ms() + (int64_t)(r->o.listen_s > 0 ? r->o.listen_s : 30) * 1000;
    int64_t next_hello = 0;
    bool refused = false;
    while (!refused && mono_ms() < end) {
        if (mono_ms() >= next_hello) {
            tool_hello_send(r->sock);
            next_hello = mono_ms() + 1000;
        }
        zmq_pollitem_t items[] = {{r->sock, 0, ZMQ_POLLIN, 0}, {mon, 0, ZMQ_POLLIN, 0}};
        if (zmq_poll(items, 2, 200) <= 0)
            continue;
        if (items[0].revents & ZMQ_POLLIN)
            print_delivery(r->sock);
        if (items[1].revents & ZMQ_POLLIN)
            refused = print_event(mon);
    }
    return 0;
}

/* No answer comes to a frame that is not a message, so wait at close
 * until it has really left (the connection may still be handshaking). */
static void linger_for_send(rogue *r)
{
    int linger = 10000;
    zmq_setsockopt(r->sock, ZMQ_LINGER, &linger, sizeof linger);
}

/* Build one flag as the mode says, spoil it as the mode says, and send it. */
static int send_one(rogue *r, bool *replay_again, Flagpost__SignedEnvelope *se_out,
                    ProtobufCBinaryData **parts_out, size_t *n_out, uint8_t **body_out,
                    size_t *body_len_out, Flagpost__Envelope *env)
{
    const char *mode = r->o.mode;
    size_t copies = r->o.copies ? r->o.copies : 1, n = r->o.n_to * copies;
    static unsigned char id[16];
    envelope_new_id(id);
    ProtobufCBinaryData *parts = calloc(n ? n : 1, sizeof *parts);
    for (size_t i = 0; i < r->o.n_to; i++) {
        parts[i].data = build_part(r, r->o.to[i], id, &parts[i].len);
        if (parts[i].data == NULL)
            return die("no valid certificate for", r->o.to[i]);
    }
    for (size_t i = r->o.n_to; i < n; i++)   /* copies share the first parts' bytes */
        parts[i] = parts[i % r->o.n_to];
    size_t body_len = 0;
    uint8_t *body = build_body(r, parts, n, &body_len);
    if (body == NULL)
        return die("cannot build the flag body (give a valid --nhs)", NULL);
    flagpost__envelope__init(env);
    env->wire_version = ENVELOPE_WIRE_VERSION;
    env->message_id.data = id;
    env->message_id.len = 16;
    env->type = FLAGPOST__MESSAGE_TYPE__MESSAGE_FLAG;
    env->sender = strcmp(mode, "forged-sender") == 0 ? (char *)(uintptr_t)r->o.claim
                                                      : r->id.cert.agency_id;
    env->created_ms = envelope_now_ms() - (strcmp(mode, "stale") == 0 ? 3600 * 1000 : 0) +
                      (strcmp(mode, "future") == 0 ? 3600 * 1000 : 0);
    if (strcmp(mode, "time-min") == 0)
        env->created_ms = INT64_MIN;
    if (strcmp(mode, "time-max") == 0)
        env->created_ms = INT64_MAX;
    env->body.data = body;
    env->body.len = body_len;
    if (strcmp(mode, "malformed-envelope") == 0) {
        Flagpost__Envelope junk = FLAGPOST__ENVELOPE__INIT;
        junk.wire_version = ENVELOPE_WIRE_VERSION;
        junk.message_id.data = id;
        junk.message_id.len = 7;   /* not 16: malformed */
        junk.sender = r->id.cert.agency_id;
        envelope_sign(&junk, r->id.sign_secret, se_out, NULL);
    } else {
        envelope_sign(env, r->id.sign_secret, se_out, NULL);
    }
    if (strcmp(mode, "bad-signature") == 0)
        se_out->signature.data[10] ^= 0x40;
    if (strcmp(mode, "bit-flip") == 0)
        se_out->envelope.data[se_out->envelope.len / 2] ^= 0x01;   /* one bit, mid-envelope */
    if (strcmp(mode, "truncated-envelope") == 0)
        se_out->envelope.len -= 5;
    *replay_again = strncmp(mode, "replay", 6) == 0;
    *parts_out = parts;
    *n_out = n;
    *body_out = body;
    *body_len_out = body_len;
    return send_publish(r, se_out, parts, n);
}

static void release_one(rogue *r, Flagpost__SignedEnvelope *se, ProtobufCBinaryData *parts,
                        uint8_t *body)
{
    envelope_signed_release(se);
    free(body);
    for (size_t i = 0; i < r->o.n_to; i++)
        free(parts[i].data);
    free(parts);
}

/* The body of a view or an acknowledgement of flag_id, packed. */
static uint8_t *event_body(const rogue *r, bool view, unsigned char flag_id[16], size_t *len)
{
    ProtobufCBinaryData id = {16, flag_id};
    uint8_t *body = NULL;
    if (view) {
        Flagpost__ViewBody vb = FLAGPOST__VIEW_BODY__INIT;
        vb.flag_id = id;
        vb.version = 1;
        vb.original_sender = (char *)"met-police";
        vb.category = (char *)(uintptr_t)(r->o.category ? r->o.category : "da_victim");
        *len = flagpost__view_body__get_packed_size(&vb);
        if ((body = malloc(*len)) != NULL)
            flagpost__view_body__pack(&vb, body);
    } else {
        Flagpost__ActionAckBody ack = FLAGPOST__ACTION_ACK_BODY__INIT;
        ack.flag_id = id;
        ack.version = 1;
        ack.outcome = (char *)(uintptr_t)(r->o.outcome ? r->o.outcome : "acted_on");
        *len = flagpost__action_ack_body__get_packed_size(&ack);
        if ((body = malloc(*len)) != NULL)
            flagpost__action_ack_body__pack(&ack, body);
    }
    return body;
}

/* view | ack: one signed event, then its answer. */
static int run_event(rogue *r)
{
    bool view = strcmp(r->o.mode, "view") == 0;
    unsigned char flag_id[16], id[16];
    randombytes_buf(flag_id, sizeof flag_id);
    envelope_new_id(id);
    Flagpost__Envelope env = FLAGPOST__ENVELOPE__INIT;
    env.wire_version = ENVELOPE_WIRE_VERSION;
    env.message_id.data = id;
    env.message_id.len = 16;
    env.type = view ? FLAGPOST__MESSAGE_TYPE__MESSAGE_VIEW
                    : FLAGPOST__MESSAGE_TYPE__MESSAGE_ACTION_ACK;
    env.sender = r->id.cert.agency_id;
    env.created_ms = envelope_now_ms();
    env.body.data = event_body(r, view, flag_id, &env.body.len);
    Flagpost__SignedEnvelope se;
    if (env.body.data == NULL || envelope_sign(&env, r->id.sign_secret, &se, NULL) != FP_OK) {
        free(env.body.data);
        return die("cannot build the event", NULL);
    }
    Flagpost__ToBroker msg = FLAGPOST__TO_BROKER__INIT;
    msg.kind_case = FLAGPOST__TO_BROKER__KIND_EVENT;
    msg.event = &se;
    int rc = send_message(r, &msg);
    envelope_signed_release(&se);
    free(env.body.data);
    return rc < 0 ? die("cannot send the event", NULL) : print_answer(r);
}

static int run_mode(rogue *r)
{
    const char *mode = r->o.mode;
    if (strcmp(mode, "resend") == 0)
        return run_resend(r);
    if (strcmp(mode, "view") == 0 || strcmp(mode, "ack") == 0)
        return run_event(r);
    if (strcmp(mode, "garbage") == 0 || strcmp(mode, "truncated") == 0)
        linger_for_send(r);
    if (strcmp(mode, "garbage") == 0) {
        zmq_send(r->sock, "\xff\xfe not protobuf", 15, 0);
        puts("{\"status\":\"sent\"}");
        return 0;
    }
    bool unanswered = strcmp(mode, "truncated") == 0;   /* there is no message to answer */
    size_t count = r->o.count ? r->o.count : 1;
    int rc = 0;
    for (size_t k = 0; rc == 0 && k < count; k++) {
        Flagpost__SignedEnvelope se;
        Flagpost__Envelope env;
        ProtobufCBinaryData *parts = NULL;
        uint8_t *body = NULL;
        size_t n = 0, body_len = 0;
        bool again = false;
        rc = send_one(r, &again, &se, &parts, &n, &body, &body_len, &env);
        if (unanswered)
            puts(rc == 0 ? "{\"status\":\"sent\"}" : "{\"status\":\"not sent\"}");
        else if (rc == 0 && count == 1)
            rc = print_answer(r);
        if (rc == 0 && again) {
            if (strcmp(mode, "replay-altered") == 0) {
                body[body_len - 1] ^= 0x01;   /* same id, other content, re-signed */
                envelope_signed_release(&se);
                envelope_sign(&env, r->id.sign_secret, &se, NULL);
            }
            rc = send_publish(r, &se, parts, n) || print_answer(r);
        }
        if (parts != NULL)
            release_one(r, &se, parts, body);
    }
    for (size_t k = 0; rc == 0 && !unanswered && count > 1 && k < count; k++)
        rc = print_answer(r);
    return rc;
}

static int parse(int argc, char **argv, options *o)
{
    static const struct option opts[] = {
        {"identity", 1, NULL, 'i'}, {"ca", 1, NULL, 'c'},       {"broker", 1, NULL, 'b'},
        {"to", 1, NULL, 't'},       {"claim", 1, NULL, 'C'},    {"category", 1, NULL, 'g'},
        {"purpose", 1, NULL, 'p'},  {"basis", 1, NULL, 'l'},    {"consent", 1, NULL, 'o'},
        {"risk", 1, NULL, 'r'},     {"role", 1, NULL, 'R'},     {"nhs", 1, NULL, 'n'},
        {"field", 1, NULL, 'f'},    {"undeclared", 1, NULL, 'u'},
        {"server-ca", 1, NULL, 'S'}, {"save", 1, NULL, 's'},   {"load", 1, NULL, 'L'},
        {"alter", 0, NULL, 'A'},     {"show-bytes", 0, NULL, 'B'}, {"for", 1, NULL, 'F'},
        {"copies", 1, NULL, 'N'},    {"pseudonyms", 1, NULL, 'P'}, {"extra-fields", 1, NULL, 'X'},
        {"long-category", 1, NULL, 'G'}, {"pad", 1, NULL, 'D'}, {"count", 1, NULL, 'K'},
        {"outcome", 1, NULL, 'O'},  {"review-at", 1, NULL, 'V'}, {"expires-at", 1, NULL, 'E'},
        {NULL, 0, NULL, 0}};
    *o = (options){.category = "da_victim", .purpose = "safeguarding",
                   .basis = "public_task_safeguarding", .consent = "given", .risk = "high",
                   .role = "victim", .nhs = "9434765919", .claim = "met-police"};
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'i': o->identity = optarg; break;
        case 'c': o->ca = optarg; break;
        case 'b': o->broker = optarg; break;
        case 'S': o->server_ca = optarg; break;
        case 's': o->save = optarg; break;
        case 'L': o->load = optarg; break;
        case 'A': o->alter = true; break;
        case 'B': o->show_bytes = true; break;
        case 'F': o->listen_s = atoi(optarg); break;
        case 't': if (o->n_to < MAX_TO) o->to[o->n_to++] = optarg; break;
        case 'C': o->claim = optarg; break;
        case 'g': o->category = optarg; break;
        case 'p': o->purpose = optarg; break;
        case 'l': o->basis = optarg; break;
        case 'o': o->consent = optarg; break;
        case 'r': o->risk = optarg; break;
        case 'R': o->role = optarg; break;
        case 'n': o->nhs = optarg; break;
        case 'f': if (o->n_fields < MAX_FIELDS) o->fields[o->n_fields++] = optarg; break;
        case 'u': if (o->n_undeclared < MAX_FIELDS) o->undeclared[o->n_undeclared++] = optarg; break;
        case 'N': o->copies = strtoul(optarg, NULL, 10); break;
        case 'P': o->pseudonyms = strtoul(optarg, NULL, 10); break;
        case 'X': o->extra_fields = strtoul(optarg, NULL, 10); break;
        case 'G': o->long_text = strtoul(optarg, NULL, 10); break;
        case 'D': o->pad = strtoul(optarg, NULL, 10); break;
        case 'K': o->count = strtoul(optarg, NULL, 10); break;
        case 'O': o->outcome = optarg; break;
        case 'V': o->review_at = strtoll(optarg, NULL, 10); break;
        case 'E': o->expires_at = strtoll(optarg, NULL, 10); break;
        default: return -1;
        }
    }
    if (optind != argc - 1 || !o->identity || !o->ca || !o->broker)
        return -1;
    o->mode = argv[optind];
    return 0;
}

int main(int argc, char **argv)
{
    rogue r;
    memset(&r, 0, sizeof r);
    if (parse(argc, argv, &r.o) != 0 || sodium_init() < 0)
        return die("usage: rogue_agent --identity DIR --ca DIR --broker EP MODE [options]", NULL);
    fp_error err;
    if (trust_store_load(&r.trust, r.o.ca, &err) != FP_OK ||
        identity_load(&r.id, r.o.identity, trust_store_ca_public(r.trust), &err) != FP_OK ||
        box_cache_new(&r.boxes, r.id.box_secret, &err) != FP_OK)
        return die(err.message, NULL);
    /* --server-ca: take the broker's key from another bundle (an agency
     * of a foreign CA that knows the real broker's public key). */
    r.server_trust = r.trust;
    if (r.o.server_ca != NULL && trust_store_load(&r.server_trust, r.o.server_ca, &err) != FP_OK)
        return die(err.message, NULL);
    const cert_info *bc = trust_store_broker(r.server_trust, envelope_now_ms() / 1000, &err);
    if (bc == NULL)
        return die(err.message, NULL);
    r.ctx = zmq_ctx_new();
    r.sock = zmq_socket(r.ctx, ZMQ_DEALER);
    int linger = 0;
    zmq_setsockopt(r.sock, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(r.sock, ZMQ_CURVE_SERVERKEY, bc->curve_public, 32);
    zmq_setsockopt(r.sock, ZMQ_CURVE_PUBLICKEY, r.id.cert.curve_public, 32);
    zmq_setsockopt(r.sock, ZMQ_CURVE_SECRETKEY, r.id.curve_secret, 32);
    void *mon = NULL;
    if (strcmp(r.o.mode, "listen") == 0) {
        zmq_socket_monitor(r.sock, "inproc://rogue-monitor",
                           ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_DISCONNECTED |
                               ZMQ_EVENT_HANDSHAKE_FAILED_AUTH);
        mon = zmq_socket(r.ctx, ZMQ_PAIR);
        zmq_connect(mon, "inproc://rogue-monitor");
    }
    zmq_connect(r.sock, r.o.broker);
    int rc = mon != NULL ? run_listen(&r, mon) : run_mode(&r);
    if (mon != NULL) {   /* stop the monitor before closing its reader (see agents/agent.c) */
        zmq_socket_monitor(r.sock, NULL, 0);
        zmq_close(mon);
    }
    if (r.server_trust != r.trust)
        trust_store_free(r.server_trust);
    zmq_close(r.sock);
    zmq_ctx_term(r.ctx);
    box_cache_free(r.boxes);
    identity_free(&r.id);
    trust_store_free(r.trust);
    return rc;
}
