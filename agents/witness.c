/*
 * witness: checking the broker's checkpoints.  See witness.h.
 *
 * One consistency request is in flight at a time; checkpoints that arrive
 * meanwhile are skipped (a later one will be checked), and a request the
 * broker never answers is dropped after WITNESS_PROOF_TIMEOUT_MS.
 */
#include "witness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "checkpoint.h"
#include "envelope.h"
#include "fileio.h"
#include "timefmt.h"

#define WITNESS_PROOF_TIMEOUT_MS 10000
#define META_LAST "witness_last"

struct witness {
    bool have_last;
    checkpoint_info last;
    bool have_pending;
    checkpoint_info pending;
    uint8_t *pending_bytes;
    size_t pending_len;
    int64_t pending_since_ms;
    char alert_path[4096];
    char *alarm;                 /* malloc'd text while an alarm stands */
};

/* Verify under any valid broker certificate (rotation overlap). */
static int verify(agent *a, const uint8_t *cp, size_t cp_len, const uint8_t *sig,
                  size_t sig_len, checkpoint_info *out)
{
    int64_t now = envelope_now_ms() / 1000;
    for (size_t i = 0; i < trust_store_count(a->trust); i++) {
        const cert_info *c = trust_store_at(a->trust, i);
        if (strcmp(c->sector, "broker") != 0 || trust_store_check(a->trust, c, now, NULL) != FP_OK)
            continue;
        if (checkpoint_verify_parts(cp, cp_len, sig, sig_len, c->sign_public, out, NULL) == FP_OK)
            return FP_OK;
    }
    return FP_ERR_CRYPTO;
}

static void load_alarm(witness *w)
{
    uint8_t *text = NULL;
    size_t len = 0;
    if (fileio_read_all(w->alert_path, 65536, &text, &len, NULL) == FP_OK)
        w->alarm = (char *)text;
}

static void load_last(agent *a, witness *w)
{
    uint8_t buf[4096];
    size_t len = sizeof buf;
    MDB_txn *txn;
    if (agent_store_begin(a->store, false, &txn, NULL) != FP_OK)
        return;
    int rc = agent_store_meta_get(a->store, txn, META_LAST, buf, &len);
    agent_store_abort(txn);
    if (rc != FP_OK)
        return;
    Flagpost__SignedCheckpoint *sc = flagpost__signed_checkpoint__unpack(NULL, len, buf);
    if (sc != NULL && verify(a, sc->checkpoint.data, sc->checkpoint.len, sc->signature.data,
                             sc->signature.len, &w->last) == FP_OK)
        w->have_last = true;
    if (sc != NULL)
        flagpost__signed_checkpoint__free_unpacked(sc, NULL);
}

int witness_open(agent *a, witness **out, fp_error *err)
{
    witness *w = calloc(1, sizeof *w);
    if (w == NULL)
        return fp_error_set(err, FP_ERR_IO, "out of memory");
    int rc = fileio_join(w->alert_path, sizeof w->alert_path, a->cfg.data_dir,
                         WITNESS_ALERT_FILE, err);
    if (rc != FP_OK) {
        free(w);
        return rc;
    }
    load_alarm(w);
    load_last(a, w);
    *out = w;
    if (w->alarm != NULL)
        log_event(&a->log, LOG_ERROR, "audit-alarm-standing",
                  "file=%s hint=\"an earlier inconsistency in the broker's audit history has "
                  "not been cleared; investigate, then remove the file\"", w->alert_path);
    return FP_OK;
}

void witness_free(witness *w)
{
    if (w == NULL)
        return;
    free(w->pending_bytes);
    free(w->alarm);
    free(w);
}

static void raise_alarm(agent *a, const char *what, const checkpoint_info *older,
                        const checkpoint_info *newer)
{
    witness *w = a->witness;
    char old_root[65] = "-", new_root[65] = "-", when[TIMEFMT_ISO_LEN];
    if (older)
        checkpoint_root_hex(older->root, old_root);
    if (newer)
        checkpoint_root_hex(newer->root, new_root);
    timefmt_iso_ms(envelope_now_ms(), when);
    char text[2048];
    snprintf(text, sizeof text,
             "flagpost audit alert at %s\n"
             "agency: %s\n"
             "broker: %s\n"
             "problem: %s\n"
             "last accepted checkpoint: size %llu root %s\n"
             "offered checkpoint: size %llu root %s\n"
             "The broker showed an audit history that does not extend the one this agent\n"
             "witnessed. Its audit trail may have been rewritten. Keep this file and the\n"
             "agent's data directory, and tell the partnership's IG lead.\n",
             when, a->id.cert.agency_id, a->cfg.broker_endpoint, what,
             older ? (unsigned long long)older->tree_size : 0ULL, old_root,
             newer ? (unsigned long long)newer->tree_size : 0ULL, new_root);
    log_event(&a->log, LOG_ERROR, "audit-history-inconsistent", "problem=\"%s\" file=%s", what,
              w->alert_path);
    if (w->alarm == NULL) {   /* the first alarm stands; later ones only log */
        fileio_write_atomic(w->alert_path, text, strlen(text), 0640, NULL);
        w->alarm = strdup(text);
    }
}

static void accept_checkpoint(agent *a, const checkpoint_info *cp, const uint8_t *bytes,
                              size_t len)
{
    witness *w = a->witness;
    MDB_txn *txn;
    fp_error err;
    if (agent_store_begin(a->store, true, &txn, &err) != FP_OK)
        return;
    int rc = agent_store_meta_put(a->store, txn, META_LAST, bytes, len, &err);
    if (rc == FP_OK)
        rc = agent_store_checkpoint_put(a->store, txn, cp->tree_size, bytes, len, WITNESS_KEEP,
                                        &err);
    rc = rc == FP_OK ? agent_store_commit(txn, &err) : (agent_store_abort(txn), rc);
    if (rc != FP_OK) {
        log_event(&a->log, LOG_ERROR, "witness-store-failed", "error=\"%s\"", err.message);
        return;
    }
    w->last = *cp;
    w->have_last = true;
}

static void request_proof(agent *a, const checkpoint_info *cp, const uint8_t *bytes, size_t len)
{
    witness *w = a->witness;
    uint8_t *copy = malloc(len);
    if (copy == NULL)
        return;
    memcpy(copy, bytes, len);
    free(w->pending_bytes);
    w->pending = *cp;
    w->pending_bytes = copy;
    w->pending_len = len;
    w->have_pending = true;
    w->pending_since_ms = envelope_now_ms();
    Flagpost__ConsistencyRequest req = FLAGPOST__CONSISTENCY_REQUEST__INIT;
    req.old_size = w->last.tree_size;
    req.new_size = cp->tree_size;
    Flagpost__ToBroker msg = FLAGPOST__TO_BROKER__INIT;
    msg.kind_case = FLAGPOST__TO_BROKER__KIND_CONSISTENCY_REQUEST;
    msg.consistency_request = &req;
    agent_send_to_broker(a, &msg);
}

void witness_on_checkpoint(agent *a, const Flagpost__SignedCheckpoint *sc)
{
    witness *w = a->witness;
    checkpoint_info cp;
    if (verify(a, sc->checkpoint.data, sc->checkpoint.len, sc->signature.data, sc->signature.len,
               &cp) != FP_OK) {
        log_event(&a->log, LOG_WARN, "checkpoint-refused",
                  "reason=\"not signed by a valid broker certificate\"");
        return;
    }
    size_t len = flagpost__signed_checkpoint__get_packed_size(sc);
    uint8_t *bytes = malloc(len);
    if (bytes == NULL)
        return;
    flagpost__signed_checkpoint__pack(sc, bytes);
    if (!w->have_last) {
        accept_checkpoint(a, &cp, bytes, len);   /* trust on first sight */
    } else if (cp.tree_size < w->last.tree_size) {
        raise_alarm(a, "the broker's audit tree shrank", &w->last, &cp);
    } else if (cp.tree_size == w->last.tree_size) {
        if (memcmp(cp.root, w->last.root, 32) != 0)
            raise_alarm(a, "two different roots for the same tree size", &w->last, &cp);
    } else if (!w->have_pending) {
        request_proof(a, &cp, bytes, len);
    }
    free(bytes);
}

void witness_on_proof(agent *a, const Flagpost__ConsistencyProof *proof)
{
    witness *w = a->witness;
    if (!w->have_pending || proof->old_size != w->last.tree_size ||
        proof->new_size != w->pending.tree_size)
        return;   /* not the proof we are waiting for */
    w->have_pending = false;
    fp_error err;
    int rc = checkpoint_check_consistency_message(&w->last, &w->pending, proof, &err);
    if (rc == FP_OK) {
        accept_checkpoint(a, &w->pending, w->pending_bytes, w->pending_len);
        log_event(&a->log, LOG_DEBUG, "checkpoint-consistent", "size=%llu",
                  (unsigned long long)w->last.tree_size);
    } else if (rc == FP_ERR_UNAVAILABLE) {
        log_event(&a->log, LOG_WARN, "consistency-proof-unavailable", "error=\"%s\"",
                  err.message);
    } else {
        raise_alarm(a, err.message, &w->last, &w->pending);
    }
}

void witness_tick(agent *a, int64_t now)
{
    witness *w = a->witness;
    if (w->have_pending && now - w->pending_since_ms > WITNESS_PROOF_TIMEOUT_MS)
        w->have_pending = false;   /* the broker went away; the next checkpoint retries */
}

uint64_t witness_last_size(const witness *w, char root_hex[65], int64_t *time_ms)
{
    if (!w->have_last) {
        strcpy(root_hex, "-");
        *time_ms = 0;
        return 0;
    }
    checkpoint_root_hex(w->last.root, root_hex);
    *time_ms = w->last.time_ms;
    return w->last.tree_size;
}

const char *witness_alarm(const witness *w)
{
    return w->alarm;
}
