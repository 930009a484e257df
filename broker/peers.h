/*
 * peers: which agencies are connected to the broker right now, on which
 * connection, and how far delivery to each has got on that connection.
 *
 * A connection is identified by the ROUTER routing id that ZeroMQ gave it;
 * the agency behind it is the one ZAP authenticated (never a claim in a
 * message).  A new routing id for an agency means a new connection, so
 * delivery restarts from the front of its queue: anything sent on the old
 * connection and not acknowledged is sent again (the agent drops what it
 * already stored).  This table is memory only; after a restart every
 * connection is new.
 */
#ifndef FLAGPOST_PEERS_H
#define FLAGPOST_PEERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PEER_ROUTING_MAX 255

typedef struct peer {
    char agency[64];
    unsigned char routing[PEER_ROUTING_MAX];
    size_t routing_len;
    bool connected;
    int64_t connected_ms;
    int64_t last_heard_ms;
    uint64_t cursor;          /* highest queue seq sent on this connection */
    size_t inflight;          /* sent and not yet acknowledged */
    size_t inflight_bytes;    /* ... and their size */
    int64_t last_progress_ms; /* last send or acknowledgement */
    /* The socket this connection arrived on, so it can be closed when the
     * agency's certificate stops being valid (sessions.h). */
    bool sock_known;
    int sock_fd;
    uint64_t sock_dev, sock_ino;
} peer;

typedef struct peers peers;

int peers_new(peers **out);
void peers_free(peers *p);

peer *peers_find(peers *p, const char *agency);

/* Note that agency spoke on connection `routing` at now.  *fresh is set
 * when this is a new connection (first contact, reconnection, restart). */
peer *peers_touch(peers *p, const char *agency, const unsigned char *routing, size_t len,
                  int64_t now, bool *fresh);

size_t peers_count(const peers *p);
peer *peers_at(peers *p, size_t i);

/* Forget what was sent on p's connection and not acknowledged: it is
 * sent again from the queue (a new connection, or one that stalled). */
void peers_forget_inflight(peer *p);

/* Remember every entry as it is now, so that the table can be put back
 * when the batch that changes it does not commit (batch.c).  -1 when out
 * of memory; nothing may be rolled back to then. */
int peers_mark(peers *p);

/* Put the table back as the last peers_mark left it: entries added since
 * are dropped, the others restored in place (pointers to them stay
 * valid). */
void peers_rollback(peers *p);

#endif
