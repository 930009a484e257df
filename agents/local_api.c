/*
 * local_api: requests from the agency's own systems.  See local_api.h.
 *
 * Each request is read whole (routing frames + one JSON body), answered
 * with the same routing frames, and never blocks the loop: a publish that
 * must wait for the broker parks its routing frames in a waiter slot.
 */
#include "local_api.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sodium.h>
#include <zmq.h>

#include "json_wipe.h"
#include "envelope.h"
#include "flag_json.h"
#include "lookup.h"
#include "marac.h"
#include "outbox.h"
#include "acknowledge.h"
#include "publisher.h"
#include "timefmt.h"
#include "witness.h"

#define API_MAX_REQUEST (FLAG_MAX_JSON_BYTES + 4096)
#define ROUTE_MAX 256

typedef struct request {
    unsigned char route[ROUTE_MAX];   /* routing frames: [len][bytes]... */
    size_t route_len;
    char *body;
    size_t body_len;
} request;

int local_api_bind(agent *a, fp_error *err)
{
    a->api = zmq_socket(a->zmq, ZMQ_ROUTER);
    if (a->api == NULL)
        return fp_error_set(err, FP_ERR_IO, "cannot create the local socket: %s",
                            zmq_strerror(zmq_errno()));
    int linger = 0;
    zmq_setsockopt(a->api, ZMQ_LINGER, &linger, sizeof linger);
    int64_t maxmsg = API_MAX_REQUEST;
    zmq_setsockopt(a->api, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg);
    /* The socket file is created by bind: narrow the umask around it so it
     * is never, even briefly, open to other users. */
    mode_t old = umask(0117);
    int rc = zmq_bind(a->api, a->cfg.socket_endpoint);
    umask(old);
    if (rc != 0)
        return fp_error_set(err, FP_ERR_IO, "--socket %s: cannot bind: %s",
                            a->cfg.socket_endpoint, zmq_strerror(zmq_errno()));
    return FP_OK;
}

/* ---------------------------------------------------------------- framing */

/* The request's bytes hold identifiers and field values: wiped before they
 * go back to the heap, like jansson's blocks (json_wipe.h). */
static void request_body_free(request *r)
{
    if (r->body != NULL) {
        sodium_memzero(r->body, r->body_len);
        free(r->body);
    }
    r->body = NULL;
}

static int read_request(void *sock, request *r)
{
    memset(r, 0, sizeof *r);
    int more = 1;
    while (more) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, sock, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&m);
            request_body_free(r);
            return -1;
        }
        more = zmq_msg_more(&m);
        size_t len = zmq_msg_size(&m);
        if (more) {
            if (r->route_len + 1 + len <= ROUTE_MAX && len < 256) {
                r->route[r->route_len++] = (unsigned char)len;
                memcpy(r->route + r->route_len, zmq_msg_data(&m), len);
                r->route_len += len;
            }
        } else {
            r->body = malloc(len + 1);
            if (r->body != NULL) {
                memcpy(r->body, zmq_msg_data(&m), len);
                r->body[len] = '\0';
                r->body_len = len;
            }
        }
        zmq_msg_close(&m);
    }
    return r->body != NULL ? 0 : -1;
}

static void send_reply(agent *a, const unsigned char *route, size_t route_len, json_t *reply)
{
    char *text = json_dumps(reply, JSON_COMPACT);
    json_decref(reply);
    if (text == NULL)
        return;
    for (size_t i = 0; i < route_len;) {
        size_t len = route[i++];
        zmq_send(a->api, route + i, len, ZMQ_SNDMORE | ZMQ_DONTWAIT);
        i += len;
    }
    zmq_send(a->api, text, strlen(text), ZMQ_DONTWAIT);
    json_text_free(text);
}

static json_t *error_json(const fp_error *err)
{
    return json_pack("{s:s, s:s}", "error", err->message, "code", fp_status_name(err->code));
}

/* ---------------------------------------------------------------- records */

static json_t *decisions_json(const Flagpost__OutboxRecord *rec)
{
    json_t *arr = json_array();
    bool settled = rec->state != FLAGPOST__OUTBOX_STATE__OUTBOX_PENDING && rec->result != NULL;
    size_t n = settled ? rec->result->n_decisions : rec->n_sender_decisions;
    for (size_t i = 0; i < n; i++) {
        const Flagpost__Decision *d =
            settled ? rec->result->decisions[i] : rec->sender_decisions[i];
        const char *verdict = !d->allowed ? "refused" : settled ? "allowed" : "pending";
        json_t *o = json_pack("{s:s, s:s, s:s}", "recipient", d->recipient, "decision",
                              verdict, "rule", d->rule_id);
        if (!d->allowed && d->reason[0])
            json_object_set_new(o, "reason", json_string(d->reason));
        if (d->n_withheld > 0) {
            json_t *w = json_array();
            for (size_t k = 0; k < d->n_withheld; k++)
                json_array_append_new(w, json_string(d->withheld[k]));
            json_object_set_new(o, "withheld", w);
            json_object_set_new(o, "withheld_by", json_string(d->withheld_by));
        }
        json_array_append_new(arr, o);
    }
    return arr;
}

static json_t *record_json(const Flagpost__OutboxRecord *rec)
{
    char id[33], when[TIMEFMT_ISO_LEN];
    envelope_id_hex(rec->message_id.data, rec->message_id.len, id);
    timefmt_iso_ms(rec->accepted_ms, when);
    const char *status = rec->state == FLAGPOST__OUTBOX_STATE__OUTBOX_DONE      ? "accepted"
                         : rec->state == FLAGPOST__OUTBOX_STATE__OUTBOX_REFUSED ? "refused"
                                                                               : "pending";
    json_t *o = json_pack("{s:s, s:s, s:s}", "message_id", id, "status", status,
                          "accepted_at", when);
    if (rec->type == FLAGPOST__MESSAGE_TYPE__MESSAGE_FLAG) {
        Flagpost__FlagBody *b = flagpost__flag_body__unpack(NULL, rec->body.len, rec->body.data);
        if (b != NULL) {
            char fid[33];
            envelope_id_hex(b->flag_id.data, b->flag_id.len, fid);
            json_object_set_new(o, "flag_id", json_string(fid));
            json_object_set_new(o, "version", json_integer(b->version));
            flagpost__flag_body__free_unpacked(b, NULL);
        }
    }
    if (rec->result != NULL && rec->result->error[0])
        json_object_set_new(o, "error", json_string(rec->result->error));
    json_object_set_new(o, "decisions", decisions_json(rec));
    return o;
}

json_t *local_api_record_json(const Flagpost__OutboxRecord *rec)
{
    return record_json(rec);
}

/* ---------------------------------------------------------------- waiters */

static agent_waiter *waiter_park(agent *a, const request *r, const unsigned char id[16])
{
    for (size_t i = 0; i < AGENT_MAX_WAITERS; i++) {
        agent_waiter *w = &a->waiters[i];
        if (w->used)
            continue;
        w->used = true;
        memcpy(w->message_id, id, 16);
        memcpy(w->client, r->route, r->route_len);
        w->client_len = r->route_len;
        w->deadline_ms = envelope_now_ms() + a->cfg.publish_wait_ms;
        return w;
    }
    return NULL;
}

bool local_api_is_waiting(const agent *a, const unsigned char id[16])
{
    for (size_t i = 0; i < AGENT_MAX_WAITERS; i++)
        if (a->waiters[i].used && memcmp(a->waiters[i].message_id, id, 16) == 0)
            return true;
    return false;
}

void local_api_publish_settled(agent *a, const Flagpost__OutboxRecord *rec)
{
    for (size_t i = 0; i < AGENT_MAX_WAITERS; i++) {
        agent_waiter *w = &a->waiters[i];
        if (!w->used || memcmp(w->message_id, rec->message_id.data, 16) != 0)
            continue;
        send_reply(a, w->client, w->client_len, record_json(rec));
        w->used = false;
    }
}

static void answer_from_store(agent *a, const unsigned char *route, size_t route_len,
                              const unsigned char id[16])
{
    fp_error err;
    MDB_txn *txn;
    Flagpost__OutboxRecord *rec = NULL;
    int rc = agent_store_begin(a->store, false, &txn, &err);
    if (rc == FP_OK) {
        rc = agent_store_outbox_get(a->store, txn, id, &rec, &err);
        agent_store_abort(txn);
    }
    if (rc == FP_ERR_NOT_FOUND)
        fp_error_set(&err, FP_ERR_NOT_FOUND, "message_id: no message with that id was "
                     "published from this agent");
    send_reply(a, route, route_len, rc == FP_OK ? record_json(rec) : error_json(&err));
    if (rec != NULL)
        flagpost__outbox_record__free_unpacked(rec, NULL);
}

void local_api_expire_waiters(agent *a, int64_t now_ms)
{
    for (size_t i = 0; i < AGENT_MAX_WAITERS; i++) {
        agent_waiter *w = &a->waiters[i];
        if (w->used && now_ms >= w->deadline_ms) {
            w->used = false;
            answer_from_store(a, w->client, w->client_len, w->message_id);
        }
    }
}

/* ---------------------------------------------------------------- operations */

/* The record is committed: from here it is safe whatever happens to the
 * broker.  Answer now if it cannot be sent or nobody waits; otherwise when
 * the broker decides (or publish_wait_ms passes). */
static void send_and_answer(agent *a, const request *r, const Flagpost__OutboxRecord *rec)
{
    bool sent = outbox_send(a, rec, NULL) == FP_OK;
    if (!sent || a->cfg.publish_wait_ms <= 0 || waiter_park(a, r, rec->message_id.data) == NULL)
        send_reply(a, r->route, r->route_len, record_json(rec));
}

static void op_publish(agent *a, const request *r, json_t *req)
{
    fp_error err;
    flag_request fr;
    Flagpost__OutboxRecord *rec = NULL;
    int rc = flag_json_from_object(json_object_get(req, "flag"), &fr, &err);
    if (rc != FP_OK) {
        send_reply(a, r->route, r->route_len, error_json(&err));
        return;
    }
    rc = publisher_accept(a, &fr, &rec, &err);
    flag_request_free(&fr);
    if (rc != FP_OK) {
        send_reply(a, r->route, r->route_len, error_json(&err));
        return;
    }
    a->stats_published++;
    char hex[33];
    envelope_id_hex(rec->message_id.data, 16, hex);
    log_event(&a->log, LOG_INFO, "flag-accepted", "message=%s recipients=%zu", hex,
              rec->n_parts);
    send_and_answer(a, r, rec);
    flagpost__outbox_record__free_unpacked(rec, NULL);
}

static const char *opt_text(json_t *req, const char *key)
{
    json_t *v = json_object_get(req, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static void op_lookup(agent *a, const request *r, json_t *req)
{
    subject_identifiers ids = {.nhs = opt_text(req, "nhs"),
                               .name = opt_text(req, "name"),
                               .dob = opt_text(req, "dob"),
                               .postcode = opt_text(req, "postcode"),
                               .uprn = opt_text(req, "uprn")};
    fp_error err;
    json_t *flags = json_array();
    lookup_views views = {0};
    int rc = lookup_by_subject(a, &ids, flags, &views, &err);
    if (rc != FP_OK) {
        json_decref(flags);
        free(views.items);
        send_reply(a, r->route, r->route_len, error_json(&err));
        return;
    }
    send_reply(a, r->route, r->route_len, json_pack("{s:o}", "flags", flags));
    lookup_report_views(a, &views);
}

static void op_inbox(agent *a, const request *r, json_t *req)
{
    json_t *lim = json_object_get(req, "limit");
    size_t limit = json_is_integer(lim) && json_integer_value(lim) > 0
                       ? (size_t)json_integer_value(lim) : 50;
    if (limit > 1000000)
        limit = 1000000;
    json_t *open = json_object_get(req, "open");
    bool open_fields = json_is_true(open);
    fp_error err;
    if (open != NULL && !json_is_boolean(open)) {
        fp_error_set(&err, FP_ERR_INPUT, "open: true (show field values, and record a view "
                                         "of each flag shown) or false (metadata only)");
        send_reply(a, r->route, r->route_len, error_json(&err));
        return;
    }
    json_t *flags = json_array();
    lookup_views views = {0};
    if (lookup_inbox(a, limit, flags, open_fields ? &views : NULL, &err) != FP_OK) {
        json_decref(flags);
        free(views.items);
        send_reply(a, r->route, r->route_len, error_json(&err));
        return;
    }
    send_reply(a, r->route, r->route_len, json_pack("{s:o}", "flags", flags));
    if (open_fields)
        lookup_report_views(a, &views);
}

static void op_result(agent *a, const request *r, json_t *req)
{
    fp_error err;
    unsigned char id[16];
    const char *hex = opt_text(req, "message_id");
    if (hex == NULL || envelope_id_parse(hex, id, &err) != FP_OK) {
        fp_error_set(&err, FP_ERR_INPUT, "message_id: give the 32-hex-digit id that "
                     "publish printed");
        send_reply(a, r->route, r->route_len, error_json(&err));
        return;
    }
    answer_from_store(a, r->route, r->route_len, id);
}

/* Withdraw and acknowledge both answer like a publish. */
static void op_record(agent *a, const request *r, json_t *req, bool withdraw)
{
    fp_error err;
    Flagpost__OutboxRecord *rec = NULL;
    int rc = withdraw ? publisher_withdraw(a, opt_text(req, "flag_id"), opt_text(req, "reason"),
                                           &rec, &err)
                      : acknowledge_flag(a, opt_text(req, "flag_id"), opt_text(req, "outcome"),
                                         &rec, &err);
    if (rc != FP_OK) {
        send_reply(a, r->route, r->route_len, error_json(&err));
        return;
    }
    log_event(&a->log, LOG_INFO, withdraw ? "withdrawal-accepted" : "acknowledgement-accepted",
              "flag=%.32s", opt_text(req, "flag_id"));
    send_and_answer(a, r, rec);
    flagpost__outbox_record__free_unpacked(rec, NULL);
}

static int notice_to_json(void *ctx, const Flagpost__Notice *n)
{
    char fid[33], when[TIMEFMT_ISO_LEN];
    envelope_id_hex(n->flag_id.data, n->flag_id.len, fid);
    timefmt_iso_ms(n->time_ms, when);
    json_array_append_new(ctx, json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:s}", "seq",
                                         (json_int_t)n->seq, "kind", n->kind, "agency",
                                         n->agency, "flag_id", fid, "category", n->category,
                                         "detail", n->text, "time", when));
    return 0;
}

static void op_notices(agent *a, const request *r, json_t *req)
{
    json_t *lim = json_object_get(req, "limit");
    size_t limit = json_is_integer(lim) && json_integer_value(lim) > 0
                       ? (size_t)json_integer_value(lim) : 50;
    json_t *out = json_array();
    fp_error err;
    MDB_txn *txn;
    int rc = agent_store_begin(a->store, false, &txn, &err);
    if (rc == FP_OK) {
        rc = agent_store_notices(a->store, txn, limit, notice_to_json, out, &err);
        agent_store_abort(txn);
    }
    if (rc != FP_OK) {
        json_decref(out);
        send_reply(a, r->route, r->route_len, error_json(&err));
        return;
    }
    send_reply(a, r->route, r->route_len, json_pack("{s:o}", "notices", out));
}

static void op_status(agent *a, const request *r)
{
    size_t pending = 0, total = 0, stored = 0;
    MDB_txn *txn;
    if (agent_store_begin(a->store, false, &txn, NULL) == FP_OK) {
        agent_store_outbox_count(a->store, txn, &pending, &total);
        agent_store_flag_count(a->store, txn, &stored);
        agent_store_abort(txn);
    }
    char heard[TIMEFMT_ISO_LEN] = "never", hash[65], root[65], cp_time[TIMEFMT_ISO_LEN] = "never";
    if (a->last_heard_ms)
        timefmt_iso_ms(a->last_heard_ms, heard);
    sodium_bin2hex(hash, sizeof hash, policy_hash(a->policy), 32);
    int64_t cp_ms = 0;
    uint64_t cp_size = witness_last_size(a->witness, root, &cp_ms);
    if (cp_ms)
        timefmt_iso_ms(cp_ms, cp_time);
    const char *alarm = witness_alarm(a->witness);
    json_t *o = json_pack(
        "{s:s, s:s, s:s, s:{s:s, s:b, s:s}, s:{s:I, s:I}, s:I, s:{s:I, s:I, s:I, s:I},"
        " s:{s:s, s:s}, s:{s:I, s:s, s:s}, s:o}",
        "agency", a->id.cert.agency_id, "name", a->id.cert.display_name, "sector",
        a->id.cert.sector, "broker", "endpoint", a->cfg.broker_endpoint, "connected",
        a->broker_up, "last_heard", heard, "outbox", "pending", (json_int_t)pending, "total",
        (json_int_t)total, "flags_stored", (json_int_t)stored, "counts", "published",
        (json_int_t)a->stats_published, "received", (json_int_t)a->stats_received,
        "rejected", (json_int_t)a->stats_rejected, "views", (json_int_t)a->stats_views,
        "policy", "name", policy_name(a->policy), "hash", hash, "checkpoint", "tree_size",
        (json_int_t)cp_size, "root", root, "time", cp_time, "audit_alarm",
        alarm ? json_string(alarm) : json_null());
    send_reply(a, r->route, r->route_len, o);
}

static void dispatch(agent *a, const request *r)
{
    json_error_t jerr;
    fp_error err;
    json_t *req = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &jerr);
    const char *op = req ? opt_text(req, "op") : NULL;
    if (req == NULL || !json_is_object(req)) {
        fp_error_set(&err, FP_ERR_INPUT, "malformed JSON at line %d, column %d: %s",
                     jerr.line, jerr.column, req ? "expected an object" : jerr.text);
        send_reply(a, r->route, r->route_len, error_json(&err));
    } else if (op == NULL) {
        fp_error_set(&err, FP_ERR_INPUT, "op: missing (publish, lookup, inbox, result, status, "
                     "withdraw, ack, notices)");
        send_reply(a, r->route, r->route_len, error_json(&err));
    } else if (strcmp(op, "publish") == 0) {
        op_publish(a, r, req);
    } else if (strcmp(op, "lookup") == 0) {
        op_lookup(a, r, req);
    } else if (strcmp(op, "inbox") == 0) {
        op_inbox(a, r, req);
    } else if (strcmp(op, "result") == 0) {
        op_result(a, r, req);
    } else if (strcmp(op, "status") == 0) {
        op_status(a, r);
    } else if (strcmp(op, "withdraw") == 0) {
        op_record(a, r, req, true);
    } else if (strcmp(op, "ack") == 0) {
        op_record(a, r, req, false);
    } else if (strcmp(op, "notices") == 0) {
        op_notices(a, r, req);
    } else if (strncmp(op, "marac_", 6) == 0) {
        send_reply(a, r->route, r->route_len, marac_api(a, op, req));
    } else {
        fp_error_set(&err, FP_ERR_INPUT, "op: unknown operation '%.40s'", op);
        send_reply(a, r->route, r->route_len, error_json(&err));
    }
    if (req != NULL)
        json_decref(req);
}

/* ---------------------------------------------------------------- group commit */

/* New flags that arrived together are accepted with one commit (one
 * fsync) between them; anything else first flushes them, so requests are
 * still answered in the order they came. */
#define API_DRAIN 64

typedef struct publish_batch {
    request r[API_DRAIN];
    flag_request fr[API_DRAIN];
    size_t n;
} publish_batch;

/* Take r into the batch if it is a well-formed publish of a new flag. */
static bool batch_take(publish_batch *pb, request *r)
{
    json_t *req = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, NULL);
    const char *op = json_is_object(req) ? opt_text(req, "op") : NULL;
    bool taken = false;
    if (op != NULL && strcmp(op, "publish") == 0 && pb->n < API_DRAIN &&
        flag_json_from_object(json_object_get(req, "flag"), &pb->fr[pb->n], NULL) == FP_OK) {
        if (pb->fr[pb->n].action == FLAG_ACTION_PUBLISH) {
            pb->r[pb->n++] = *r;
            taken = true;
        } else {
            flag_request_free(&pb->fr[pb->n]);
        }
    }
    if (req != NULL)
        json_decref(req);
    return taken;
}

static void batch_flush(agent *a, publish_batch *pb)
{
    if (pb->n == 0)
        return;
    const flag_request *reqs[API_DRAIN];
    Flagpost__OutboxRecord *recs[API_DRAIN];
    int status[API_DRAIN];
    fp_error errs[API_DRAIN];
    for (size_t i = 0; i < pb->n; i++)
        reqs[i] = &pb->fr[i];
    publisher_accept_batch(a, reqs, pb->n, recs, status, errs);
    for (size_t i = 0; i < pb->n; i++) {
        if (status[i] != FP_OK) {
            send_reply(a, pb->r[i].route, pb->r[i].route_len, error_json(&errs[i]));
        } else {
            a->stats_published++;
            char hex[33];
            envelope_id_hex(recs[i]->message_id.data, 16, hex);
            log_event(&a->log, LOG_INFO, "flag-accepted", "message=%s recipients=%zu", hex,
                      recs[i]->n_parts);
            send_and_answer(a, &pb->r[i], recs[i]);
            flagpost__outbox_record__free_unpacked(recs[i], NULL);
        }
        flag_request_free(&pb->fr[i]);
        request_body_free(&pb->r[i]);
    }
    pb->n = 0;
}

void local_api_handle(agent *a)
{
    publish_batch *pb = calloc(1, sizeof *pb);
    for (int i = 0; i < API_DRAIN; i++) {
        request r;
        if (read_request(a->api, &r) != 0)
            break;
        if (pb != NULL && batch_take(pb, &r))
            continue;
        if (pb != NULL)
            batch_flush(a, pb);
        dispatch(a, &r);
        request_body_free(&r);
    }
    if (pb != NULL)
        batch_flush(a, pb);
    free(pb);
}
