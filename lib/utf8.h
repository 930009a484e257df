/*
 * utf8: checking and repairing UTF-8 in strings that came off the wire.
 *
 * protobuf-c does not check that a string field holds UTF-8, so any
 * string in a message, a stored record or an audit entry can hold any
 * bytes.  JSON cannot carry those (jansson refuses them), so code that
 * turns such strings into JSON must repair them first or lose the whole
 * object; utf8_repair replaces each byte that does not start a valid
 * sequence with U+FFFD, the Unicode replacement character, so the rest of
 * the text survives and the damage is visible.  The original bytes stay
 * wherever they were stored (an audit entry is still verified over them).
 */
#ifndef FLAGPOST_UTF8_H
#define FLAGPOST_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* True when the NUL-terminated s is valid UTF-8 (RFC 3629: no overlong
 * forms, no surrogates, nothing above U+10FFFF).  NULL counts as valid. */
bool utf8_valid(const char *s);

/* A malloc'd copy of s with every invalid byte replaced by U+FFFD; NULL
 * when out of memory or s is NULL. */
char *utf8_repair(const char *s);

#endif
