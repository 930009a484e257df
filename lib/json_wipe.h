/*
 * json_wipe: jansson memory that is wiped when it is freed.
 *
 * The agent parses flag JSON from its agency's systems and renders lookup
 * answers as JSON, so jansson's heap blocks hold names, addresses and
 * narratives.  json_wipe_install() gives jansson an allocator that zeroes
 * every block before returning it to the heap, so field values do not
 * linger in freed memory for a later bug (or a core dump, were one taken)
 * to expose.  Blocks are ordinary malloc memory with a size header; they
 * are not locked or guard-paged (sodium_malloc per JSON node would cost an
 * mmap each).
 *
 * Once installed, text from json_dumps() belongs to that allocator and
 * must be released with json_text_free(), never free(); json_text_free()
 * is right whether or not the allocator was installed.
 */
#ifndef FLAGPOST_JSON_WIPE_H
#define FLAGPOST_JSON_WIPE_H

/* Call once in main(), before any other use of jansson. */
void json_wipe_install(void);

/* Release text returned by json_dumps() (NULL is fine). */
void json_text_free(char *text);

#endif
