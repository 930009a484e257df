/*
 * view_writer: records the views that lookups cause, on a thread of its
 * own, so a point-of-contact lookup never waits behind the fsync of the
 * previous lookup's view record.
 *
 * The lookup answers first and then hands its view bodies here (it always
 * answered before recording).  The writer commits every body handed over
 * since its last commit as pending outbox records in one transaction
 * (group commit), and the event loop then signs and sends them to the
 * broker (view_writer_collect: ZeroMQ sockets stay on the loop's thread).
 * A record committed but not yet sent is pending in the outbox like any
 * other, so once committed a crash or a broker outage loses nothing, and
 * the resend loop covers it.  The writer touches only the store (its own
 * write transactions; LMDB serialises writers) and the log; the policy
 * hash each record carries is taken on the loop at hand-over, since a
 * reload may replace the policy.
 *
 * The broker's answers to view records are settled here too
 * (view_writer_settle), in lazy commits of their own: nobody waits on a
 * view's answer, and an answer lost to a power failure is asked for again
 * (the record is still pending, is resent, and the broker answers it as a
 * duplicate).  So the loop never commits on a lookup's behalf.
 *
 * Call view_writer_submit, view_writer_settle and view_writer_collect
 * only from the loop's thread.
 */
#ifndef FLAGPOST_VIEW_WRITER_H
#define FLAGPOST_VIEW_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct agent agent;
typedef struct view_writer view_writer;

/* NULL if the thread cannot start (views are then recorded inline). */
view_writer *view_writer_start(agent *a);
/* Commits what is still queued, stops the thread, frees. */
void view_writer_stop(view_writer *w);

/* Hand over one packed ViewBody (malloc'd; the writer frees it). */
void view_writer_submit(view_writer *w, uint8_t *body, size_t len);

/* Hand over the broker's answer to a pending view record (copied).  False
 * when out of memory: the caller then settles it itself. */
struct Flagpost__PublishResult;
bool view_writer_settle(view_writer *w, const struct Flagpost__PublishResult *res);

/* On the loop's thread: send the records committed since the last call. */
void view_writer_collect(view_writer *w);

#endif
