/*
 * envelope: the signed wrapper every agent-originated message travels in.
 *
 * A SignedEnvelope is the serialised Envelope plus an Ed25519 signature over
 * "flagpost-env-v1" || those exact bytes.  Verification always happens on
 * the bytes as received, before they are decoded, so nothing acts on an
 * unverified field.  envelope_decode() then refuses a wire version it does
 * not know, a message id that is not 16 bytes, and a malformed sender id.
 */
#ifndef FLAGPOST_ENVELOPE_H
#define FLAGPOST_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>

#include "flagpost.pb-c.h"
#include "fp_error.h"

#define ENVELOPE_WIRE_VERSION 1
#define ENVELOPE_ID_LEN 16
#define ENVELOPE_DEFAULT_SKEW_MS (300 * 1000)

/* A fresh id: a millisecond timestamp then 80 random bits (time-ordered,
 * unguessable).  Used for message ids and flag ids. */
void envelope_new_id(unsigned char id[ENVELOPE_ID_LEN]);

/* Serialise env and sign it.  out->envelope.data and out->signature.data
 * are malloc'd; release them with envelope_signed_release(). */
int envelope_sign(const Flagpost__Envelope *env, const unsigned char sign_secret[64],
                  Flagpost__SignedEnvelope *out, fp_error *err);
void envelope_signed_release(Flagpost__SignedEnvelope *s);

/* FP_OK if the signature verifies under sign_public. */
int envelope_verify(const Flagpost__SignedEnvelope *s, const unsigned char sign_public[32],
                    fp_error *err);

/* Decode (after envelope_verify).  Free *out with flagpost__envelope__free_unpacked. */
int envelope_decode(const Flagpost__SignedEnvelope *s, Flagpost__Envelope **out,
                    fp_error *err);

/* FP_OK if env->created_ms is within skew_ms of now_ms. */
int envelope_check_time(const Flagpost__Envelope *env, int64_t now_ms, int64_t skew_ms,
                        fp_error *err);

/* Lower-case hex of a 16-byte id (33 bytes with NUL); "-" if malformed. */
void envelope_id_hex(const uint8_t *id, size_t len, char out[2 * ENVELOPE_ID_LEN + 1]);
/* Parse hex into id; FP_ERR_INPUT if not 32 hex digits. */
int envelope_id_parse(const char *hex, unsigned char id[ENVELOPE_ID_LEN], fp_error *err);

int64_t envelope_now_ms(void);

#endif
