/*
 * verify: authenticity, freshness and novelty of envelopes.  See verify.h.
 */
#include "verify.h"

#include <sodium.h>
#include <string.h>

#include "envelope.h"
#include "verify_pool.h"
#include "sha256.h"
#include "timefmt.h"

/* During a key rotation an agency has two valid certificates; either's
 * signing key may have signed. */
static bool signed_by_agency(broker *b, const char *agency, const Flagpost__SignedEnvelope *se,
                             int64_t now_s)
{
    for (size_t i = 0; i < trust_store_count(b->trust); i++) {
        const cert_info *c = trust_store_at(b->trust, i);
        if (strcmp(c->agency_id, agency) != 0)
            continue;
        if (trust_store_check(b->trust, c, now_s, NULL) != FP_OK)
            continue;
        if (verify_checks_signed(b->staging_checks, se, c->sign_public))
            return true;
    }
    return false;
}

/* Older than the replay table remembers (seen_prune.h): its id may have
 * been pruned, so it cannot be told from a replay.  Only a raised --skew
 * or a clock stepped back lets such an envelope past the clock check. */
static int check_floor(broker *b, const Flagpost__Envelope *env, fp_error *err)
{
    int64_t floor = seen_prune_floor(&b->pruning);
    if (env->created_ms >= floor)
        return FP_OK;
    char when[TIMEFMT_ISO_LEN], since[TIMEFMT_ISO_LEN];
    timefmt_iso_ms(env->created_ms, when);
    timefmt_iso_ms(floor, since);
    return fp_error_set(err, FP_ERR_TIME,
                        "envelope time %s is before %s, the oldest the broker still "
                        "remembers message ids from, so it cannot be told from a replay; "
                        "send the flag again as a new message", when, since);
}

void verify_prepare(broker *b, verify_checks *checks, const char *agency,
                    const Flagpost__SignedEnvelope *se, int64_t now_ms)
{
    if (se == NULL || se->envelope.len == 0)
        return;
    for (size_t i = 0; i < trust_store_count(b->trust); i++) {
        const cert_info *c = trust_store_at(b->trust, i);
        if (strcmp(c->agency_id, agency) == 0 &&
            trust_store_check(b->trust, c, now_ms / 1000, NULL) == FP_OK)
            verify_checks_add(checks, se, c->sign_public);
    }
}

int verify_envelope(broker *b, const char *agency, const Flagpost__SignedEnvelope *se,
                    int64_t now_ms, Flagpost__Envelope **env, const char **reason,
                    fp_error *err)
{
    *env = NULL;
    if (se == NULL || se->envelope.len == 0) {
        *reason = VERIFY_MALFORMED;
        return fp_error_set(err, FP_ERR_INPUT, "malformed envelope: no signed envelope");
    }
    if (trust_store_by_agency(b->trust, agency, now_ms / 1000, NULL) == NULL) {
        *reason = VERIFY_NO_CERTIFICATE;
        return fp_error_set(err, FP_ERR_DENIED,
                            "%s has no valid certificate (revoked or expired since it "
                            "connected)", agency);
    }
    if (!signed_by_agency(b, agency, se, now_ms / 1000)) {
        *reason = VERIFY_BAD_SIGNATURE;
        return fp_error_set(err, FP_ERR_CRYPTO,
                            "the envelope signature does not verify under any valid "
                            "certificate of %s", agency);
    }
    int rc = envelope_decode(se, env, err);
    if (rc != FP_OK) {
        *reason = rc == FP_ERR_VERSION ? VERIFY_VERSION : VERIFY_MALFORMED;
        return rc;
    }
    if (strcmp((*env)->sender, agency) != 0) {
        *reason = VERIFY_FORGED_SENDER;
        return fp_error_set(err, FP_ERR_DENIED,
                            "the envelope claims to be from %.63s but the connection "
                            "belongs to %s", (*env)->sender, agency);
    }
    rc = envelope_check_time(*env, now_ms, b->cfg.skew_ms, err);
    if (rc == FP_OK)
        rc = check_floor(b, *env, err);
    if (rc != FP_OK) {
        *reason = VERIFY_CLOCK_SKEW;
        return rc;
    }
    *reason = "";
    return FP_OK;
}

verify_replay_result verify_replay(broker *b, MDB_txn *txn, const Flagpost__Envelope *env,
                                   unsigned char body_hash[32], Flagpost__SeenRecord **seen)
{
    *seen = NULL;
    sha256_digest(body_hash, env->body.data, env->body.len);
    Flagpost__SeenRecord *rec = NULL;
    if (broker_store_seen_get(b->store, txn, env->message_id.data, &rec, NULL) != FP_OK)
        return VERIFY_NEW;
    bool same = strcmp(rec->sender, env->sender) == 0 && rec->body_hash.len == 32 &&
                sodium_memcmp(rec->body_hash.data, body_hash, 32) == 0;
    if (!same) {
        flagpost__seen_record__free_unpacked(rec, NULL);
        return VERIFY_REPLAYED;
    }
    *seen = rec;
    return VERIFY_RETRANSMISSION;
}
