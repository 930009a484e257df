/*
 * zap: admitting CURVE clients.  See zap.h.
 */
#include "zap.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <zmq.h>

#include "admission.h"
#include "audit_entry.h"
#include "envelope.h"

#define ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define ZAP_FRAMES 7

int zap_bind(broker *b, fp_error *err)
{
    b->zap = zmq_socket(b->zmq, ZMQ_REP);
    if (b->zap == NULL || zmq_bind(b->zap, ZAP_ENDPOINT) != 0)
        return fp_error_set(err, FP_ERR_IO, "cannot start the ZAP handler: %s",
                            zmq_strerror(zmq_errno()));
    return FP_OK;
}

typedef struct zap_request {
    zmq_msg_t frames[ZAP_FRAMES];
    size_t count;
    bool overflow;
} zap_request;

static int read_request(void *sock, zap_request *r)
{
    r->count = 0;
    r->overflow = false;
    int more = 1;
    while (more) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, sock, r->count == 0 ? ZMQ_DONTWAIT : 0) < 0) {
            zmq_msg_close(&m);
            return -1;
        }
        more = zmq_msg_more(&m);
        if (r->count < ZAP_FRAMES) {
            r->frames[r->count++] = m;
        } else {
            r->overflow = true;
            zmq_msg_close(&m);
        }
    }
    return 0;
}

static void release_request(zap_request *r)
{
    for (size_t i = 0; i < r->count; i++)
        zmq_msg_close(&r->frames[i]);
}

static void frame_text(zmq_msg_t *m, char *out, size_t outsz)
{
    size_t n = zmq_msg_size(m) < outsz - 1 ? zmq_msg_size(m) : outsz - 1;
    memcpy(out, zmq_msg_data(m), n);
    out[n] = '\0';
}

static void send_reply(broker *b, zmq_msg_t *request_id, const char *code, const char *text,
                       const char *user)
{
    zmq_send(b->zap, "1.0", 3, ZMQ_SNDMORE);
    zmq_send(b->zap, zmq_msg_data(request_id), zmq_msg_size(request_id), ZMQ_SNDMORE);
    zmq_send(b->zap, code, strlen(code), ZMQ_SNDMORE);
    zmq_send(b->zap, text, strlen(text), ZMQ_SNDMORE);
    zmq_send(b->zap, user, strlen(user), ZMQ_SNDMORE);
    zmq_send(b->zap, "", 0, 0);
}

static void audit_refusal(broker *b, const char *address, const unsigned char *key,
                          const char *why)
{
    char hex[65] = "-", reason[512];
    if (key != NULL)
        sodium_bin2hex(hex, sizeof hex, key, 32);
    snprintf(reason, sizeof reason, "%s; client %s key %.16s", why, address, hex);
    log_event(&b->log, LOG_WARN, "certificate-refused", "address=%s key=%.16s reason=\"%s\"",
              address, hex, why);
    MDB_txn *txn;
    fp_error err;
    if (broker_store_begin(b->store, true, &txn, &err) != FP_OK)
        return;
    if (audit_entry_simple(b->store, txn, FLAGPOST__AUDIT_EVENT__AUDIT_CERTIFICATE_REFUSED, "",
                           "", reason, NULL, 0, policy_hash(b->policy), envelope_now_ms(),
                           &err) == FP_OK)
        broker_store_commit(txn, &err);
    else
        broker_store_abort(txn);
}

static void decide(broker *b, zap_request *r)
{
    char version[8], mechanism[16], address[64];
    frame_text(&r->frames[0], version, sizeof version);
    frame_text(&r->frames[3], address, sizeof address);
    frame_text(&r->frames[5], mechanism, sizeof mechanism);
    if (strcmp(version, "1.0") != 0 || strcmp(mechanism, "CURVE") != 0 ||
        r->count != ZAP_FRAMES || zmq_msg_size(&r->frames[6]) != 32) {
        send_reply(b, &r->frames[1], "400", "only CURVE clients are accepted", "");
        audit_refusal(b, address, NULL, "not a CURVE client");
        return;
    }
    if (!admission_zap_allows(b->admission, address, envelope_now_ms())) {
        /* Over its connection rate: counted and audited in aggregate. */
        send_reply(b, &r->frames[1], "400", "connection rate limit", "");
        return;
    }
    const unsigned char *key = zmq_msg_data(&r->frames[6]);
    fp_error err;
    const cert_info *c = trust_store_by_curve_key(b->trust, key, envelope_now_ms() / 1000, &err);
    if (c != NULL && strcmp(c->sector, "broker") == 0) {
        c = NULL;
        fp_error_set(&err, FP_ERR_DENIED, "a broker certificate cannot connect as an agency");
    }
    if (c == NULL) {
        send_reply(b, &r->frames[1], "400", "certificate refused", "");
        if (admission_certificate_refused(b->admission, address))   /* else aggregated */
            audit_refusal(b, address, key, err.message);
        return;
    }
    send_reply(b, &r->frames[1], "200", "OK", c->agency_id);
    admission_authenticated(b->admission, address, envelope_now_ms());
    log_event(&b->log, LOG_DEBUG, "certificate-accepted", "agency=%s serial=%llu address=%s",
              c->agency_id, (unsigned long long)c->serial, address);
}

void zap_handle(broker *b)
{
    for (int i = 0; i < 64; i++) {
        zap_request r;
        if (read_request(b->zap, &r) != 0)
            return;
        if (r.count >= 2 && !r.overflow)
            decide(b, &r);
        else if (r.count >= 2)
            send_reply(b, &r.frames[1], "400", "malformed ZAP request", "");
        release_request(&r);
    }
}
