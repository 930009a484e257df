/*
 * json_wipe: a wiping allocator for jansson.  See json_wipe.h.
 *
 * jansson's free function is not told the block's size, so each block
 * carries it in a header of 16 bytes, which keeps the pointer handed to
 * jansson as aligned as malloc's own.
 */
#include "json_wipe.h"

#include <jansson.h>
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define HEADER 16

static void *wipe_malloc(size_t size)
{
    if (size > SIZE_MAX - HEADER)
        return NULL;
    unsigned char *block = malloc(size + HEADER);
    if (block == NULL)
        return NULL;
    memcpy(block, &size, sizeof size);
    return block + HEADER;
}

static void wipe_free(void *ptr)
{
    if (ptr == NULL)
        return;
    unsigned char *block = (unsigned char *)ptr - HEADER;
    size_t size;
    memcpy(&size, block, sizeof size);
    sodium_memzero(block, size + HEADER);
    free(block);
}

void json_wipe_install(void)
{
    json_set_alloc_funcs(wipe_malloc, wipe_free);
}

void json_text_free(char *text)
{
    if (text == NULL)
        return;
    json_free_t release = NULL;
    json_get_alloc_funcs(NULL, &release);
    release(text);
}
