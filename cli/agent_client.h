/*
 * agent_client: one JSON request to a running agent's local socket and its
 * one JSON answer (ZeroMQ REQ), for commands in their own files.
 *
 * Failures to reach the agent are printed on stderr as "flagpost: ..."
 * with what to check; an answer holding {"error": ...} is returned as it
 * came, for the command to report.
 */
#ifndef FLAGPOST_AGENT_CLIENT_H
#define FLAGPOST_AGENT_CLIENT_H

#include <jansson.h>

/* How long to wait: FLAGPOST_TIMEOUT (seconds) if set, else dflt_ms. */
int agent_client_timeout_ms(int dflt_ms);

/* CLI_OK with *reply set (a new reference), or CLI_FAILED (reported). */
int agent_client_exchange(const char *endpoint, json_t *request, int timeout_ms,
                          json_t **reply);

/* Print the answer's "error" on stderr; CLI_FAILED if there was one. */
int agent_client_report_error(json_t *reply);

#endif
