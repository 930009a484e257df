/*
 * test_local_api: the agent's copy of a local API request is wiped before
 * it is freed; inbox's "open" is a boolean or refused.
 *
 * A request carries what the agency's systems send: the identifiers of a
 * lookup, the field values of a flag.  jansson's blocks are wiped on free
 * (json_wipe.h, docs/threat-model.md section 8); local_api also copies
 * the request's bytes into a buffer of its own to parse them, and that
 * copy must not linger in freed heap memory either.
 *
 * How it is seen: glibc hands a freed small block back to the next
 * malloc of its size class on the same thread (its tcache), so a malloc
 * of the request's size right after local_api_handle returns gets the
 * buffer the request was copied into, and the request's text is still
 * there (past the allocator's own first 16 bytes) unless it was wiped.
 * Another allocator (ASan's, say) returns other memory and the check is
 * trivially met.  The fixture is fuzz_agent_receive's real agent.
 */
#include "agent_fixture.h"

#include <sodium.h>

#include "check.h"
#include "json_wipe.h"
#include "local_api.h"

#define MARKER "NHS-9434765919-Jane-Doe-1-Refuge-Road"

static bool contains(const unsigned char *p, size_t n, const char *s)
{
    return memmem(p, n, s, strlen(s)) != NULL;
}

/* A real agent with its local API bound, and a client connected to it. */
typedef struct api {
    fa_fixture *fx;
    agent *a;
    void *client;
    char endpoint[FA_PATH + 16];
} api;

static void api_open(api *t)
{
    t->fx = fa_fixture_new();
    t->a = &t->fx->agents[RX_MEMBER];
    snprintf(t->endpoint, sizeof t->endpoint, "ipc://%s/api.sock", t->fx->root);
    t->a->cfg.socket_endpoint = t->endpoint;
    fp_error err;
    CHECK_EQ_INT(local_api_bind(t->a, &err), FP_OK);
    t->client = zmq_socket(t->a->zmq, ZMQ_DEALER);
    int zero = 0;
    zmq_setsockopt(t->client, ZMQ_LINGER, &zero, sizeof zero);
    CHECK_EQ_INT(zmq_connect(t->client, t->endpoint), 0);
}

static void api_close(api *t)
{
    zmq_close(t->client);
    fa_fixture_free(t->fx);
}

/* Send one request of len bytes and have the agent handle it. */
static void api_send(api *t, const char *body, size_t len)
{
    zmq_send(t->client, "", 0, ZMQ_SNDMORE);
    CHECK_EQ_INT(zmq_send(t->client, body, len, 0), (int)len);
    zmq_pollitem_t item = {.socket = t->a->api, .events = ZMQ_POLLIN};
    CHECK_EQ_INT(zmq_poll(&item, 1, 5000), 1);
    local_api_handle(t->a);
}

/* The answer to the last request, as text (empty if none came). */
static void api_answer(api *t, char *reply, size_t cap)
{
    reply[0] = '\0';
    zmq_pollitem_t item = {.socket = t->client, .events = ZMQ_POLLIN};
    CHECK_EQ_INT(zmq_poll(&item, 1, 5000), 1);
    CHECK_EQ_INT(zmq_recv(t->client, reply, cap - 1, 0), 0);   /* the empty delimiter */
    int n = zmq_recv(t->client, reply, cap - 1, 0);
    reply[n > 0 ? (size_t)n < cap - 1 ? (size_t)n : cap - 1 : 0] = '\0';
}

static void ask(api *t, const char *body, char *reply, size_t cap)
{
    api_send(t, body, strlen(body));
    api_answer(t, reply, cap);
}

static void test_request_copy_wiped(void)
{
    api t;
    api_open(&t);

    /* A status request (its answer does not echo the request) padded to a
     * few hundred bytes, the marker well past the first 16. */
    char body[600];
    int len = snprintf(body, sizeof body, "{\"op\": \"status\", \"note\": \"%s", MARKER);
    while (len < (int)sizeof body - 3)
        body[len++] = 'x';
    body[len++] = '"';
    body[len++] = '}';
    api_send(&t, body, (size_t)len);
    unsigned char *again = malloc((size_t)len + 1);
    CHECK(again != NULL);
    if (again != NULL) {
        /* Reading a fresh block on purpose: what the last free left there. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
        CHECK(!contains(again + 16, (size_t)len + 1 - 16, MARKER));
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
        free(again);
    }

    /* The request was answered (the nearest accepted behaviour). */
    char reply[4096];
    api_answer(&t, reply, sizeof reply);
    CHECK(strstr(reply, "\"agency\"") != NULL);
    api_close(&t);
}

/* inbox's "open" (show field values, and record views) is true or false;
 * anything else is refused with a sentence naming it, never taken as
 * false or true. */
static void test_inbox_open_is_boolean(void)
{
    api t;
    api_open(&t);
    char reply[4096];
    ask(&t, "{\"op\": \"inbox\", \"open\": \"yes\"}", reply, sizeof reply);
    CHECK(strstr(reply, "\"error\"") != NULL && strstr(reply, "open: true") != NULL);
    ask(&t, "{\"op\": \"inbox\", \"open\": 1}", reply, sizeof reply);
    CHECK(strstr(reply, "\"error\"") != NULL);
    ask(&t, "{\"op\": \"inbox\", \"open\": true}", reply, sizeof reply);
    CHECK(strstr(reply, "\"flags\"") != NULL && strstr(reply, "\"error\"") == NULL);
    ask(&t, "{\"op\": \"inbox\", \"open\": false}", reply, sizeof reply);
    CHECK(strstr(reply, "\"flags\"") != NULL && strstr(reply, "\"error\"") == NULL);
    api_close(&t);
}

int main(void)
{
    json_wipe_install();
    if (sodium_init() < 0)
        return 1;
    RUN(test_request_copy_wiped);
    RUN(test_inbox_open_is_boolean);
    return check_summary();
}
