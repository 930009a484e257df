/*
 * envelope: signing and opening SignedEnvelopes.  See envelope.h.
 *
 * The signature covers a context string and then the envelope bytes, so a
 * signature made for an envelope can never be passed off as one over a
 * certificate, policy or checkpoint (each has its own context).
 */
#include "envelope.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cert.h"

static const char SIG_CONTEXT[] = "flagpost-env-v1";
#define SIG_CONTEXT_LEN (sizeof SIG_CONTEXT - 1)

/* 48 bits of milliseconds, then 80 random bits.  Ids stay unique and
 * unguessable, and ids made close in time sort close together, so the
 * LMDB tables keyed by them (replay table, outbox, flags) grow at one end
 * instead of dirtying pages all over the tree on every commit.  The time
 * they reveal is already in the envelope. */
void envelope_new_id(unsigned char id[ENVELOPE_ID_LEN])
{
    uint64_t ms = (uint64_t)envelope_now_ms();
    for (int i = 5; i >= 0; i--) {
        id[i] = (unsigned char)(ms & 0xff);
        ms >>= 8;
    }
    randombytes_buf(id + 6, ENVELOPE_ID_LEN - 6);
}

int64_t envelope_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* context || data in one buffer: Ed25519 signs a single message. */
static uint8_t *with_context(const uint8_t *data, size_t len)
{
    uint8_t *buf = malloc(SIG_CONTEXT_LEN + len + 1);
    if (buf == NULL)
        return NULL;
    memcpy(buf, SIG_CONTEXT, SIG_CONTEXT_LEN);
    if (len > 0)
        memcpy(buf + SIG_CONTEXT_LEN, data, len);
    return buf;
}

int envelope_sign(const Flagpost__Envelope *env, const unsigned char sign_secret[64],
                  Flagpost__SignedEnvelope *out, fp_error *err)
{
    flagpost__signed_envelope__init(out);
    size_t len = flagpost__envelope__get_packed_size(env);
    uint8_t *bytes = malloc(len ? len : 1);
    uint8_t *sig = malloc(crypto_sign_BYTES);
    if (bytes == NULL || sig == NULL) {
        free(bytes);
        free(sig);
        return fp_error_set(err, FP_ERR_IO, "out of memory signing an envelope");
    }
    flagpost__envelope__pack(env, bytes);
    uint8_t *msg = with_context(bytes, len);
    if (msg == NULL) {
        free(bytes);
        free(sig);
        return fp_error_set(err, FP_ERR_IO, "out of memory signing an envelope");
    }
    crypto_sign_detached(sig, NULL, msg, SIG_CONTEXT_LEN + len, sign_secret);
    free(msg);
    out->envelope.data = bytes;
    out->envelope.len = len;
    out->signature.data = sig;
    out->signature.len = crypto_sign_BYTES;
    return FP_OK;
}

void envelope_signed_release(Flagpost__SignedEnvelope *s)
{
    free(s->envelope.data);
    free(s->signature.data);
    s->envelope.data = NULL;
    s->signature.data = NULL;
    s->envelope.len = s->signature.len = 0;
}

int envelope_verify(const Flagpost__SignedEnvelope *s, const unsigned char sign_public[32],
                    fp_error *err)
{
    if (s->signature.len != crypto_sign_BYTES)
        return fp_error_set(err, FP_ERR_CRYPTO, "envelope signature is %zu bytes, not %d",
                            s->signature.len, crypto_sign_BYTES);
    uint8_t *msg = with_context(s->envelope.data, s->envelope.len);
    if (msg == NULL)
        return fp_error_set(err, FP_ERR_IO, "out of memory verifying an envelope");
    int bad = crypto_sign_verify_detached(s->signature.data, msg,
                                          SIG_CONTEXT_LEN + s->envelope.len, sign_public);
    free(msg);
    if (bad)
        return fp_error_set(err, FP_ERR_CRYPTO, "envelope signature does not verify");
    return FP_OK;
}

int envelope_decode(const Flagpost__SignedEnvelope *s, Flagpost__Envelope **out,
                    fp_error *err)
{
    *out = flagpost__envelope__unpack(NULL, s->envelope.len, s->envelope.data);
    if (*out == NULL)
        return fp_error_set(err, FP_ERR_INPUT, "envelope is not a valid protobuf Envelope");
    const Flagpost__Envelope *e = *out;
    const char *why = NULL;
    int code = FP_ERR_INPUT;
    if (e->wire_version != ENVELOPE_WIRE_VERSION) {
        why = "unsupported wire_version";
        code = FP_ERR_VERSION;
    } else if (e->message_id.len != ENVELOPE_ID_LEN) {
        why = "message_id is not 16 bytes";
    } else if (!cert_agency_id_valid(e->sender)) {
        why = "sender is not a valid agency id";
    } else if (e->policy_hash.len != 0 && e->policy_hash.len != 32) {
        why = "policy_hash is not 32 bytes";
    } else if (flagpost__envelope__get_packed_size(e) != s->envelope.len) {
        /* protobuf-c cuts a string at an embedded NUL, so "police\0x"
         * would decode as "police".  Re-encoding the decoded envelope must
         * give back exactly the bytes that were signed. */
        why = "not canonically encoded (a string holds a NUL byte?)";
    }
    if (why == NULL)
        return FP_OK;
    if (code == FP_ERR_VERSION)
        fp_error_set(err, code, "envelope wire_version %u is not supported (this build "
                     "speaks %d); upgrade the older side", e->wire_version,
                     ENVELOPE_WIRE_VERSION);
    else
        fp_error_set(err, code, "malformed envelope: %s", why);
    flagpost__envelope__free_unpacked(*out, NULL);
    *out = NULL;
    return code;
}

int envelope_check_time(const Flagpost__Envelope *env, int64_t now_ms, int64_t skew_ms,
                        fp_error *err)
{
    /* created_ms is any int64_t the sender chose: compared, never
     * subtracted from, so that INT64_MIN cannot overflow. */
    bool behind = env->created_ms < now_ms - skew_ms;
    if (!behind && env->created_ms <= now_ms + skew_ms)
        return FP_OK;
    uint64_t off = behind ? (uint64_t)now_ms - (uint64_t)env->created_ms
                          : (uint64_t)env->created_ms - (uint64_t)now_ms;
    return fp_error_set(err, FP_ERR_TIME,
                        "envelope time is %llu s %s the broker's clock (allowed: %lld s); "
                        "check the sender's clock (NTP)",
                        (unsigned long long)(off / 1000), behind ? "behind" : "ahead of",
                        (long long)skew_ms / 1000);
}

void envelope_id_hex(const uint8_t *id, size_t len, char out[2 * ENVELOPE_ID_LEN + 1])
{
    if (id == NULL || len != ENVELOPE_ID_LEN) {
        strcpy(out, "-");
        return;
    }
    sodium_bin2hex(out, 2 * ENVELOPE_ID_LEN + 1, id, ENVELOPE_ID_LEN);
}

int envelope_id_parse(const char *hex, unsigned char id[ENVELOPE_ID_LEN], fp_error *err)
{
    size_t bin_len = 0;
    const char *end = NULL;
    if (strlen(hex) != 2 * ENVELOPE_ID_LEN ||
        sodium_hex2bin(id, ENVELOPE_ID_LEN, hex, strlen(hex), NULL, &bin_len, &end) != 0 ||
        bin_len != ENVELOPE_ID_LEN)
        return fp_error_set(err, FP_ERR_INPUT,
                            "'%.40s' is not a message id (32 hex digits)", hex);
    return FP_OK;
}
