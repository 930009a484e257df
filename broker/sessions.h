/*
 * sessions: ending the session of an agency whose certificate stops being
 * valid while it is connected (revoked, then picked up on SIGHUP; or
 * expired).
 *
 * ZAP only runs at the handshake, so without this a revoked agency would
 * keep its established connection.  The broker therefore, on every trust
 * reload and every housekeeping tick:
 *   - forgets the agency's connection (no more deliveries on it; anything
 *     sent and not yet acknowledged stays in its LMDB queue: held, neither
 *     delivered nor deleted, until it connects again with a valid
 *     certificate);
 *   - audits it (agent_disconnected, with the number of deliveries held);
 *   - closes the TCP/IPC connection itself.  A ROUTER socket cannot close
 *     one peer, so the broker shuts down the connection's file descriptor
 *     (ZMQ_SRCFD of a message that arrived on it) with shutdown(2): libzmq
 *     sees end-of-stream and tears the session down itself; the agent's
 *     reconnect then meets ZAP, which refuses it.  The descriptor is only
 *     touched when it is still the very socket the agency spoke on (same
 *     device and inode), so a number libzmq has since reused is never hit.
 * Anything the agency still sends before the close takes effect is refused
 * (publishes and events are audited by intake as no-valid-certificate;
 * acknowledgements and hellos are dropped), so its queue stays held.
 */
#ifndef FLAGPOST_SESSIONS_H
#define FLAGPOST_SESSIONS_H

#include <stdbool.h>
#include <stdint.h>

#include "broker.h"

/* True when agency holds a certificate valid at now_ms. */
bool sessions_admitted(broker *b, const char *agency, int64_t now_ms);

/* Remember the socket a new connection's first message arrived on
 * (fd < 0: unknown; the session is then only forgotten, not closed). */
void sessions_note_socket(peer *p, int fd);

/* End every connected session whose agency no longer has a valid
 * certificate.  `why` goes into the log and audit entry. */
void sessions_sweep(broker *b, int64_t now_ms, const char *why);

#endif
