/*
 * Unit tests for lib/json_wipe.c: once installed, jansson allocates and
 * frees through the wiping allocator (not malloc/free), text from
 * json_dumps() goes back through json_text_free(), and a whole parse /
 * render / free cycle is clean (under the ASan build a block released by
 * the wrong function is reported as a bad free).
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "json_wipe.h"

static void test_text_free_before_install(void)
{
    json_t *one = json_integer(1);
    char *text = json_dumps(one, JSON_ENCODE_ANY);   /* plain malloc */
    json_decref(one);
    CHECK(text != NULL);
    json_text_free(text);
    json_text_free(NULL);
    CHECK(1);
}

static void test_installed_allocator_is_used(void)
{
    json_wipe_install();
    json_malloc_t m = NULL;
    json_free_t f = NULL;
    json_get_alloc_funcs(&m, &f);
    CHECK(m != NULL && f != NULL);
    CHECK(m != (json_malloc_t)malloc);
    CHECK(f != (json_free_t)free);
}

static void test_round_trip_after_install(void)
{
    json_error_t jerr;
    const char *in = "{\"fields\":{\"address\":\"12 Example Road\",\"notes\":\"x\"}}";
    for (int i = 0; i < 1000; i++) {
        json_t *v = json_loads(in, 0, &jerr);
        CHECK(v != NULL);
        char *out = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
        CHECK(out != NULL && strcmp(out, in) == 0);
        json_text_free(out);
        json_decref(v);
    }
}

int main(void)
{
    RUN(test_text_free_before_install);
    RUN(test_installed_allocator_is_used);
    RUN(test_round_trip_after_install);
    return check_summary();
}
