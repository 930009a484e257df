/*
 * payload: sealing each recipient's field values so only that recipient can
 * read them and it knows which agency wrote them.
 *
 * A payload is a Payload protobuf (message id, recipient, field values)
 * encrypted with crypto_box (X25519 + XSalsa20-Poly1305) from the sender's
 * box key to the recipient's, under a random 24-byte nonce.  The shared key
 * for each peer is computed once (crypto_box_beforenm) and kept in a
 * box_cache in sodium_malloc memory, so sealing a message costs one
 * symmetric encryption rather than a scalar multiplication.
 *
 * Plaintext payloads live only in sodium_malloc buffers (one scratch
 * buffer per box_cache, reused) and are wiped as soon as they are encrypted
 * or decoded.  A box_cache belongs to one thread.
 */
#ifndef FLAGPOST_PAYLOAD_H
#define FLAGPOST_PAYLOAD_H

#include <stddef.h>

#include "flagpost.pb-c.h"
#include "fp_error.h"

#define PAYLOAD_MAX_BYTES (256 * 1024)

typedef struct box_cache box_cache;

/* my_secret (32 bytes) is copied into the cache's own protected memory. */
int box_cache_new(box_cache **out, const unsigned char my_secret[32], fp_error *err);
void box_cache_free(box_cache *bc);

/* Encrypt payload for recipient_public; fills part->nonce and
 * part->ciphertext with malloc'd buffers (release with payload_part_release). */
int payload_seal(box_cache *bc, const unsigned char recipient_public[32],
                 const Flagpost__Payload *payload, Flagpost__RecipientPart *part,
                 fp_error *err);
void payload_part_release(Flagpost__RecipientPart *part);

/* Decrypt and decode a part written by sender_public.  Free *out with
 * payload_free() (which wipes the field values). */
int payload_open(box_cache *bc, const unsigned char sender_public[32],
                 const Flagpost__RecipientPart *part, Flagpost__Payload **out,
                 fp_error *err);
void payload_free(Flagpost__Payload *p);

#endif
