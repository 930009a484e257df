/*
 * sha256: SHA-256 of public data, from the fastest implementation the
 * build found.
 *
 * With OpenSSL's libcrypto (FLAGPOST_SHA256_OPENSSL, see the Makefile) the
 * CPU's SHA extensions are used; otherwise libsodium's portable C, about
 * four times slower.  The output is the same either way.  Only public
 * data is hashed through here (envelope bodies, sealed parts, audit
 * entries and tree nodes): nothing here wipes its state, so keys and
 * plaintext must not pass through it.
 */
#ifndef FLAGPOST_SHA256_H
#define FLAGPOST_SHA256_H

#include <stddef.h>
#include <stdint.h>

#ifdef FLAGPOST_SHA256_OPENSSL
/* The low-level SHA-256 calls: deprecated in OpenSSL 3 in favour of EVP,
 * whose per-call dispatch costs as much as hashing a tree node. */
#define OPENSSL_API_COMPAT 10101
#include <openssl/sha.h>
typedef SHA256_CTX sha256_state;
#else
#include <sodium.h>
typedef crypto_hash_sha256_state sha256_state;
#endif

/* data may be NULL when len is 0 (nothing is hashed). */
void sha256_init(sha256_state *st);
void sha256_update(sha256_state *st, const void *data, size_t len);
void sha256_final(sha256_state *st, unsigned char out[32]);

/* out = SHA-256(data[0..len)) */
void sha256_digest(unsigned char out[32], const void *data, size_t len);

/* "openssl" or "libsodium": which implementation this build uses. */
const char *sha256_backend(void);

#endif
