/*
 * utf8: see utf8.h.
 *
 * One table-free decoder step (seq_len) serves both functions, so what
 * utf8_valid accepts is exactly what utf8_repair keeps.  The byte ranges
 * are those of RFC 3629 section 4, which is also what jansson accepts.
 */
#include "utf8.h"

#include <stdlib.h>
#include <string.h>

static bool cont(unsigned char c)
{
    return c >= 0x80 && c <= 0xbf;
}

/* Length of the valid sequence starting at s (s NUL-terminated), or 0. */
static size_t seq_len(const unsigned char *s)
{
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        return cont(s[1]) ? 2 : 0;
    if (c >= 0xe0 && c <= 0xef) {
        unsigned char lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
        return s[1] >= lo && s[1] <= hi && cont(s[2]) ? 3 : 0;
    }
    if (c >= 0xf0 && c <= 0xf4) {
        unsigned char lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
        return s[1] >= lo && s[1] <= hi && cont(s[2]) && cont(s[3]) ? 4 : 0;
    }
    return 0;
}

bool utf8_valid(const char *s)
{
    if (s == NULL)
        return true;
    const unsigned char *p = (const unsigned char *)s;
    while (*p != '\0') {
        size_t n = seq_len(p);
        if (n == 0)
            return false;
        p += n;
    }
    return true;
}

char *utf8_repair(const char *s)
{
    if (s == NULL)
        return NULL;
    size_t len = strlen(s);
    char *out = malloc(3 * len + 1);   /* each byte at worst becomes U+FFFD */
    if (out == NULL)
        return NULL;
    const unsigned char *p = (const unsigned char *)s;
    size_t o = 0;
    while (*p != '\0') {
        size_t n = seq_len(p);
        if (n == 0) {
            memcpy(out + o, "\xef\xbf\xbd", 3);
            o += 3;
            p++;
        } else {
            memcpy(out + o, p, n);
            o += n;
            p += n;
        }
    }
    out[o] = '\0';
    return out;
}
