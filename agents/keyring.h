/*
 * keyring: every payload key this agent has ever held, so a flag sealed to
 * an earlier key still opens after the agency's identity is rotated.
 *
 * Received flags are kept sealed as delivered, to the box key of the
 * certificate the sender used.  When the agency's identity is re-issued
 * (new keys, overlap period) flags already stored - and flags still queued
 * at the broker, sealed to the old key - must stay readable, so the agent
 * keeps each box secret it has used in DATA/keyring (mode 0600, keyfile
 * kind "box-keyring"), adding the current one at start-up.
 */
#ifndef FLAGPOST_KEYRING_H
#define FLAGPOST_KEYRING_H

#include "fp_error.h"
#include "payload.h"
#include "trust_store.h"

#define KEYRING_MAX 16

typedef struct keyring keyring;

/* Load DATA/keyring and make sure current_secret is in it (saving it). */
int keyring_open(keyring **out, const char *data_dir, const unsigned char current_secret[32],
                 fp_error *err);
void keyring_free(keyring *kr);

/* Open a part with any key of the ring (newest first). */
int keyring_open_payload(keyring *kr, const unsigned char sender_public[32],
                         const Flagpost__RecipientPart *part, Flagpost__Payload **out,
                         fp_error *err);

/* Open a part sealed by agency `sender`: with first's box key (NULL: none)
 * and then with every other certificate of sender's in ts.  A part is
 * sealed with the box key its sender held when sealing, which after a
 * rotation may be an older certificate's than the one that signed (a flag
 * left in the outbox is signed afresh when sent) or is valid now; the
 * signed body commits to the part, so which of the sender's keys sealed it
 * does not matter.  FP_OK, or FP_ERR_CRYPTO when none opens it. */
int keyring_open_from_sender(keyring *kr, const trust_store *ts, const char *sender,
                             const cert_info *first, const Flagpost__RecipientPart *part,
                             Flagpost__Payload **out);

#endif
