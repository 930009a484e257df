/*
 * agent_client: request/reply with the local agent.  See agent_client.h.
 *
 * A fresh REQ socket per call: commands make one or two calls, and a REQ
 * socket that timed out cannot be reused anyway.  The request and the
 * answer carry flags in clear (a publish's fields, a lookup's answer), so
 * the answer's bytes are wiped once parsed, and the request's text, like
 * every JSON value, is allocated by json_wipe (installed by main()).
 */
#include "agent_client.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zmq.h>

#include "cli_options.h"
#include "commands.h"
#include "json_wipe.h"

int agent_client_timeout_ms(int dflt_ms)
{
    const char *t = getenv("FLAGPOST_TIMEOUT");
    int64_t secs;
    if (t != NULL && cli_parse_int("FLAGPOST_TIMEOUT", t, 1, 3600, &secs, NULL) == FP_OK)
        return (int)secs * 1000;
    return dflt_ms;
}

static int receive(void *sock, const char *endpoint, int timeout_ms, json_t **reply)
{
    zmq_pollitem_t item = {sock, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&item, 1, timeout_ms) != 1) {
        fprintf(stderr, "flagpost: the agent at %s did not answer within %d s; is "
                        "flagpost-agent running, and is this its --socket?\n",
                endpoint, timeout_ms / 1000);
        return CLI_FAILED;
    }
    zmq_msg_t m;
    zmq_msg_init(&m);
    int rc = CLI_FAILED;
    if (zmq_msg_recv(&m, sock, 0) >= 0) {
        json_error_t jerr;
        *reply = json_loadb(zmq_msg_data(&m), zmq_msg_size(&m), 0, &jerr);
        if (*reply != NULL)
            rc = CLI_OK;
        else
            fprintf(stderr, "flagpost: the agent sent a malformed answer (%s at byte %d)\n",
                    jerr.text, jerr.position);
        sodium_memzero(zmq_msg_data(&m), zmq_msg_size(&m));   /* flags, in clear */
    }
    zmq_msg_close(&m);
    return rc;
}

int agent_client_exchange(const char *endpoint, json_t *request, int timeout_ms,
                          json_t **reply)
{
    *reply = NULL;
    struct stat st;
    if (strncmp(endpoint, "ipc://", 6) == 0 && stat(endpoint + 6, &st) != 0) {
        fprintf(stderr, "flagpost: --agent %s: no agent socket there; is flagpost-agent "
                        "running, and is this its --socket?\n", endpoint);
        return CLI_FAILED;
    }
    char *text = json_dumps(request, JSON_COMPACT);
    if (text == NULL) {
        fputs("flagpost: out of memory\n", stderr);
        return CLI_FAILED;
    }
    void *ctx = zmq_ctx_new();
    void *sock = zmq_socket(ctx, ZMQ_REQ);
    int linger = 0;
    zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger);
    int rc = CLI_FAILED;
    if (zmq_connect(sock, endpoint) != 0)
        fprintf(stderr, "flagpost: --agent %s: %s\n", endpoint, zmq_strerror(zmq_errno()));
    else if (zmq_send(sock, text, strlen(text), 0) < 0)
        fprintf(stderr, "flagpost: cannot send to the agent at %s\n", endpoint);
    else
        rc = receive(sock, endpoint, timeout_ms, reply);
    zmq_close(sock);
    zmq_ctx_term(ctx);
    json_text_free(text);
    return rc;
}

int agent_client_report_error(json_t *reply)
{
    json_t *e = json_object_get(reply, "error");
    if (!json_is_string(e))
        return CLI_OK;
    fprintf(stderr, "flagpost: %s\n", json_string_value(e));
    return CLI_FAILED;
}
