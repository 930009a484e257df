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

static void test_request_copy_wiped(void)
{
    fa_fixture *fx = fa_fixture_new();
    agent *a = &fx->agents[RX_MEMBER];
    char endpoint[FA_PATH + 16];
    snprintf(endpoint, sizeof endpoint, "ipc://%s/api.sock", fx->root);
    a->cfg.socket_endpoint = endpoint;
    fp_error err;
    CHECK_EQ_INT(local_api_bind(a, &err), FP_OK);
    void *client = zmq_socket(a->zmq, ZMQ_DEALER);
    int zero = 0;
    zmq_setsockopt(client, ZMQ_LINGER, &zero, sizeof zero);
    CHECK_EQ_INT(zmq_connect(client, endpoint), 0);

    /* A status request (its answer does not echo the request) padded to a
     * few hundred bytes, the marker well past the first 16. */
    char body[600];
    int len = snprintf(body, sizeof body, "{\"op\": \"status\", \"note\": \"%s", MARKER);
    while (len < (int)sizeof body - 3)
        body[len++] = 'x';
    body[len++] = '"';
    body[len++] = '}';
    zmq_send(client, "", 0, ZMQ_SNDMORE);
    CHECK_EQ_INT(zmq_send(client, body, (size_t)len, 0), len);
    zmq_pollitem_t item = {.socket = a->api, .events = ZMQ_POLLIN};
    CHECK_EQ_INT(zmq_poll(&item, 1, 5000), 1);

    local_api_handle(a);
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
    zmq_pollitem_t citem = {.socket = client, .events = ZMQ_POLLIN};
    CHECK_EQ_INT(zmq_poll(&citem, 1, 5000), 1);
    int n = zmq_recv(client, reply, sizeof reply - 1, 0);   /* the empty delimiter */
    CHECK_EQ_INT(n, 0);
    n = zmq_recv(client, reply, sizeof reply - 1, 0);
    CHECK(n > 0);
    if (n > 0) {
        reply[n < (int)sizeof reply - 1 ? n : (int)sizeof reply - 1] = '\0';
        CHECK(strstr(reply, "\"agency\"") != NULL);
    }
    zmq_close(client);
    fa_fixture_free(fx);
}

/* One request to a's local API, handled; its answer in reply (empty if
 * none came). */
static void ask(agent *a, void *client, const char *body, char *reply, size_t cap)
{
    reply[0] = '\0';
    zmq_send(client, "", 0, ZMQ_SNDMORE);
    CHECK_EQ_INT(zmq_send(client, body, strlen(body), 0), (int)strlen(body));
    zmq_pollitem_t item = {.socket = a->api, .events = ZMQ_POLLIN};
    CHECK_EQ_INT(zmq_poll(&item, 1, 5000), 1);
    local_api_handle(a);
    zmq_pollitem_t citem = {.socket = client, .events = ZMQ_POLLIN};
    CHECK_EQ_INT(zmq_poll(&citem, 1, 5000), 1);
    CHECK_EQ_INT(zmq_recv(client, reply, cap - 1, 0), 0);   /* the empty delimiter */
    int n = zmq_recv(client, reply, cap - 1, 0);
    reply[n > 0 ? (size_t)n < cap - 1 ? (size_t)n : cap - 1 : 0] = '\0';
}

/* inbox's "open" (show field values, and record views) is true or false;
 * anything else is refused with a sentence naming it, never taken as
 * false or true. */
static void test_inbox_open_is_boolean(void)
{
    fa_fixture *fx = fa_fixture_new();
    agent *a = &fx->agents[RX_MEMBER];
    char endpoint[FA_PATH + 16];
    snprintf(endpoint, sizeof endpoint, "ipc://%s/api.sock", fx->root);
    a->cfg.socket_endpoint = endpoint;
    fp_error err;
    CHECK_EQ_INT(local_api_bind(a, &err), FP_OK);
    void *client = zmq_socket(a->zmq, ZMQ_DEALER);
    int zero = 0;
    zmq_setsockopt(client, ZMQ_LINGER, &zero, sizeof zero);
    CHECK_EQ_INT(zmq_connect(client, endpoint), 0);

    char reply[4096];
    ask(a, client, "{\"op\": \"inbox\", \"open\": \"yes\"}", reply, sizeof reply);
    CHECK(strstr(reply, "\"error\"") != NULL && strstr(reply, "open: true") != NULL);
    ask(a, client, "{\"op\": \"inbox\", \"open\": 1}", reply, sizeof reply);
    CHECK(strstr(reply, "\"error\"") != NULL);
    ask(a, client, "{\"op\": \"inbox\", \"open\": true}", reply, sizeof reply);
    CHECK(strstr(reply, "\"flags\"") != NULL && strstr(reply, "\"error\"") == NULL);
    ask(a, client, "{\"op\": \"inbox\", \"open\": false}", reply, sizeof reply);
    CHECK(strstr(reply, "\"flags\"") != NULL && strstr(reply, "\"error\"") == NULL);
    zmq_close(client);
    fa_fixture_free(fx);
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
