/*
 * zap: the broker's ZeroMQ Authentication Protocol handler (RFC 27).
 *
 * libzmq asks it about every CURVE client during the handshake, before a
 * single application byte is accepted.  It admits a client key only if it
 * belongs to a certificate of this partnership's CA that is valid now and
 * not revoked, and is not the broker's own; it answers with the agency id
 * as the ZAP User-Id, which the ROUTER then attaches to every message on
 * that connection.  That, not anything inside a message, is who a message
 * is from.  Every refusal is audited.
 *
 * The handler runs on the broker's own loop (a REP socket polled beside the
 * ROUTER), so it reads the trust store without locks.
 */
#ifndef FLAGPOST_ZAP_H
#define FLAGPOST_ZAP_H

#include "broker.h"

/* Must be called before the CURVE ROUTER binds. */
int zap_bind(broker *b, fp_error *err);

/* Answer every pending ZAP request. */
void zap_handle(broker *b);

#endif
