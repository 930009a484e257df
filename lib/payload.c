/*
 * payload: per-recipient sealing with cached shared keys.  See payload.h.
 *
 * Decoded payloads are unpacked with an allocator that wipes every block on
 * free, so field values do not linger in freed heap memory.  (sodium_malloc
 * would guard-page each of the many small protobuf allocations, which costs
 * far more than the values are big.)
 *
 * The packed plaintext of a payload lives in one scratch buffer per cache,
 * sodium_malloc'd once and grown when a bigger payload comes, and wiped
 * after every use.  A sodium_malloc per payload (mmap, mprotect of guard
 * pages, munmap) cost about 200 us a call on the benchmark machine, forty
 * times the encryption itself.
 */
#include "payload.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define BOX_CACHE_SLOTS 256

struct box_slot {
    unsigned char peer[crypto_box_PUBLICKEYBYTES];
    unsigned char shared[crypto_box_BEFORENMBYTES];
    int used;
};

struct box_cache {
    unsigned char my_secret[crypto_box_SECRETKEYBYTES];
    struct box_slot slots[BOX_CACHE_SLOTS];
    size_t next_victim;
    unsigned char *scratch;        /* sodium_malloc'd; plaintext, wiped after use */
    size_t scratch_cap;
};

/* The scratch buffer, at least len bytes (NULL if out of memory). */
static unsigned char *box_cache_scratch(box_cache *bc, size_t len)
{
    if (len <= bc->scratch_cap)
        return bc->scratch;
    size_t cap = 4096;
    while (cap < len)
        cap *= 2;
    unsigned char *s = sodium_malloc(cap);
    if (s == NULL)
        return NULL;
    if (bc->scratch != NULL)
        sodium_free(bc->scratch);   /* wipes it */
    bc->scratch = s;
    bc->scratch_cap = cap;
    return s;
}

int box_cache_new(box_cache **out, const unsigned char my_secret[32], fp_error *err)
{
    box_cache *bc = sodium_malloc(sizeof *bc);
    if (bc == NULL)
        return fp_error_set(err, FP_ERR_IO, "out of memory for the key cache");
    memset(bc, 0, sizeof *bc);
    memcpy(bc->my_secret, my_secret, sizeof bc->my_secret);
    *out = bc;
    return FP_OK;
}

void box_cache_free(box_cache *bc)
{
    if (bc == NULL)
        return;
    if (bc->scratch != NULL)
        sodium_free(bc->scratch);
    sodium_free(bc);   /* wipes the secret and every shared key */
}

static const unsigned char *box_cache_key(box_cache *bc, const unsigned char peer[32])
{
    for (size_t i = 0; i < BOX_CACHE_SLOTS; i++)
        if (bc->slots[i].used && sodium_memcmp(bc->slots[i].peer, peer, 32) == 0)
            return bc->slots[i].shared;
    size_t victim = BOX_CACHE_SLOTS;
    for (size_t i = 0; i < BOX_CACHE_SLOTS && victim == BOX_CACHE_SLOTS; i++)
        if (!bc->slots[i].used)
            victim = i;
    if (victim == BOX_CACHE_SLOTS) {
        victim = bc->next_victim;
        bc->next_victim = (bc->next_victim + 1) % BOX_CACHE_SLOTS;
    }
    struct box_slot *s = &bc->slots[victim];
    if (crypto_box_beforenm(s->shared, peer, bc->my_secret) != 0) {
        sodium_memzero(s, sizeof *s);
        return NULL;   /* a low-order public key: refuse it */
    }
    memcpy(s->peer, peer, 32);
    s->used = 1;
    return s->shared;
}

int payload_seal(box_cache *bc, const unsigned char recipient_public[32],
                 const Flagpost__Payload *payload, Flagpost__RecipientPart *part,
                 fp_error *err)
{
    const unsigned char *key = box_cache_key(bc, recipient_public);
    if (key == NULL)
        return fp_error_set(err, FP_ERR_CRYPTO, "recipient's box key is not usable");
    size_t len = flagpost__payload__get_packed_size(payload);
    if (len > PAYLOAD_MAX_BYTES)
        return fp_error_set(err, FP_ERR_INPUT,
                            "fields: the payload is %zu bytes; the limit is %d", len,
                            PAYLOAD_MAX_BYTES);
    unsigned char *plain = box_cache_scratch(bc, len ? len : 1);
    unsigned char *nonce = malloc(crypto_box_NONCEBYTES);
    unsigned char *cipher = malloc(len + crypto_box_MACBYTES);
    if (plain == NULL || nonce == NULL || cipher == NULL) {
        free(nonce);
        free(cipher);
        return fp_error_set(err, FP_ERR_IO, "out of memory sealing a payload");
    }
    flagpost__payload__pack(payload, plain);
    randombytes_buf(nonce, crypto_box_NONCEBYTES);
    crypto_box_easy_afternm(cipher, plain, len, nonce, key);
    sodium_memzero(plain, len);
    part->nonce.data = nonce;
    part->nonce.len = crypto_box_NONCEBYTES;
    part->ciphertext.data = cipher;
    part->ciphertext.len = len + crypto_box_MACBYTES;
    return FP_OK;
}

void payload_part_release(Flagpost__RecipientPart *part)
{
    free(part->nonce.data);
    free(part->ciphertext.data);
    part->nonce.data = part->ciphertext.data = NULL;
    part->nonce.len = part->ciphertext.len = 0;
}

/* An allocator that remembers each block's size so it can wipe it. */
static void *wiping_alloc(void *ctx, size_t size)
{
    (void)ctx;
    size_t *block = malloc(sizeof(size_t) * 2 + size);
    if (block == NULL)
        return NULL;
    block[0] = size;
    return block + 2;   /* two words keep 16-byte alignment */
}

static void wiping_free(void *ctx, void *ptr)
{
    (void)ctx;
    if (ptr == NULL)
        return;
    size_t *block = (size_t *)ptr - 2;
    sodium_memzero(ptr, block[0]);
    free(block);
}

static ProtobufCAllocator wiping_allocator = {wiping_alloc, wiping_free, NULL};

int payload_open(box_cache *bc, const unsigned char sender_public[32],
                 const Flagpost__RecipientPart *part, Flagpost__Payload **out,
                 fp_error *err)
{
    *out = NULL;
    if (part->nonce.len != crypto_box_NONCEBYTES ||
        part->ciphertext.len < crypto_box_MACBYTES ||
        part->ciphertext.len > PAYLOAD_MAX_BYTES + crypto_box_MACBYTES)
        return fp_error_set(err, FP_ERR_INPUT, "sealed payload has the wrong shape");
    const unsigned char *key = box_cache_key(bc, sender_public);
    if (key == NULL)
        return fp_error_set(err, FP_ERR_CRYPTO, "sender's box key is not usable");
    size_t len = part->ciphertext.len - crypto_box_MACBYTES;
    unsigned char *plain = box_cache_scratch(bc, len ? len : 1);
    if (plain == NULL)
        return fp_error_set(err, FP_ERR_IO, "out of memory opening a payload");
    if (crypto_box_open_easy_afternm(plain, part->ciphertext.data, part->ciphertext.len,
                                     part->nonce.data, key) != 0) {
        sodium_memzero(plain, len);
        return fp_error_set(err, FP_ERR_CRYPTO,
                            "sealed payload does not decrypt: it was not written by the "
                            "sender's key for this recipient, or it was altered");
    }
    /* protobuf-c's allocator field is not const-qualified. */
    *out = flagpost__payload__unpack(&wiping_allocator, len, plain);
    sodium_memzero(plain, len);
    if (*out == NULL)
        return fp_error_set(err, FP_ERR_INPUT, "sealed payload is not a valid Payload");
    return FP_OK;
}

void payload_free(Flagpost__Payload *p)
{
    if (p != NULL)
        flagpost__payload__free_unpacked(p, &wiping_allocator);
}
