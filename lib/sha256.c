/*
 * sha256: one name for whichever SHA-256 the build found.  See sha256.h.
 */
#include "sha256.h"

void sha256_init(sha256_state *st)
{
#ifdef FLAGPOST_SHA256_OPENSSL
    SHA256_Init(st);
#else
    crypto_hash_sha256_init(st);
#endif
}

void sha256_update(sha256_state *st, const void *data, size_t len)
{
    if (len == 0)
        return;
#ifdef FLAGPOST_SHA256_OPENSSL
    SHA256_Update(st, data, len);
#else
    crypto_hash_sha256_update(st, data, len);
#endif
}

void sha256_final(sha256_state *st, unsigned char out[32])
{
#ifdef FLAGPOST_SHA256_OPENSSL
    SHA256_Final(out, st);
#else
    crypto_hash_sha256_final(st, out);
#endif
}

void sha256_digest(unsigned char out[32], const void *data, size_t len)
{
    sha256_state st;
    sha256_init(&st);
    sha256_update(&st, data, len);
    sha256_final(&st, out);
}

const char *sha256_backend(void)
{
#ifdef FLAGPOST_SHA256_OPENSSL
    return "openssl";
#else
    return "libsodium";
#endif
}
