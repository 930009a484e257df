/*
 * sessions: closing the connections of agencies that lost their
 * certificate.  See sessions.h.
 *
 * The close is best effort by design: if the socket cannot be identified
 * (a transport without a descriptor, or the descriptor already reused),
 * the session is still forgotten and everything from the agency refused,
 * which is what keeps information from flowing; the close only saves the
 * agency a connection that can no longer do anything.
 */
#include "sessions.h"

#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "audit_entry.h"

bool sessions_admitted(broker *b, const char *agency, int64_t now_ms)
{
    return trust_store_by_agency(b->trust, agency, now_ms / 1000, NULL) != NULL;
}

void sessions_note_socket(peer *p, int fd)
{
    struct stat st;
    p->sock_known = fd >= 0 && fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
    p->sock_fd = fd;
    p->sock_dev = p->sock_known ? (uint64_t)st.st_dev : 0;
    p->sock_ino = p->sock_known ? (uint64_t)st.st_ino : 0;
}

/* Shut the connection down if the descriptor is still the same socket. */
static bool close_socket(peer *p)
{
    struct stat st;
    bool same = p->sock_known && fstat(p->sock_fd, &st) == 0 && S_ISSOCK(st.st_mode) &&
                (uint64_t)st.st_dev == p->sock_dev && (uint64_t)st.st_ino == p->sock_ino;
    p->sock_known = false;
    return same && shutdown(p->sock_fd, SHUT_RDWR) == 0;
}

static void audit_closed(broker *b, const peer *p, uint64_t held, bool closed, const char *why,
                         int64_t now)
{
    char reason[200];
    snprintf(reason, sizeof reason,
             "%s: session ended%s; %llu queued deliveries held", why,
             closed ? " and connection closed" : "", (unsigned long long)held);
    MDB_txn *txn;
    fp_error err;
    if (broker_store_begin(b->store, true, &txn, &err) != FP_OK) {
        log_event(&b->log, LOG_ERROR, "audit-failed", "event=agent_disconnected error=\"%s\"",
                  err.message);
        return;
    }
    if (audit_entry_simple(b->store, txn, FLAGPOST__AUDIT_EVENT__AUDIT_AGENT_DISCONNECTED,
                           p->agency, "", reason, NULL, 0, policy_hash(b->policy), now,
                           &err) == FP_OK)
        broker_store_commit(txn, &err);
    else
        broker_store_abort(txn);
}

static void end_session(broker *b, peer *p, const char *why, int64_t now)
{
    uint64_t held = 0;
    MDB_txn *txn;
    if (broker_store_begin(b->store, false, &txn, NULL) == FP_OK) {
        broker_store_queue_depth(b->store, txn, p->agency, &held);
        broker_store_abort(txn);
    }
    p->connected = false;
    p->cursor = 0;
    peers_forget_inflight(p);
    bool closed = close_socket(p);
    log_event(&b->log, LOG_WARN, "session-closed",
              "agency=%s reason=\"%s\" connection=%s held=%llu", p->agency, why,
              closed ? "closed" : "forgotten", (unsigned long long)held);
    audit_closed(b, p, held, closed, why, now);
}

void sessions_sweep(broker *b, int64_t now_ms, const char *why)
{
    for (size_t i = 0; i < peers_count(b->peers); i++) {
        peer *p = peers_at(b->peers, i);
        if (p->connected && !sessions_admitted(b, p->agency, now_ms))
            end_session(b, p, why, now_ms);
    }
}
