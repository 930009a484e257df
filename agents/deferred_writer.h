/*
 * deferred_writer: the agent's writes that need not hold up an answer, on
 * a thread of its own: the views that lookups cause, so a point-of-contact
 * lookup never waits behind the fsync of the previous lookup's view
 * record, and the broker's answers, so a publish never waits behind the
 * fsync that writes the previous answer into its record.
 *
 * The lookup answers first and then hands its view bodies here (it always
 * answered before recording).  The writer commits every body handed over
 * since its last commit as pending outbox records in one transaction
 * (group commit), and the event loop then signs and sends them to the
 * broker (deferred_writer_collect: ZeroMQ sockets stay on the loop's thread).
 * A record committed but not yet sent is pending in the outbox like any
 * other, so once committed a crash or a broker outage loses nothing, and
 * the resend loop covers it.  A round that does not commit (the disk full
 * or failing) is tried again after 1 s, then 2, 4, ... up to 30 s, its
 * view bodies kept in memory meanwhile (up to 100,000); only a crash or a
 * stop before the store recovers loses them, and the log says how many
 * (view-report-dropped).  The writer touches only the store (its own
 * write transactions; LMDB serialises writers) and the log; the policy
 * hash each record carries is taken on the loop at hand-over, since a
 * reload may replace the policy.
 *
 * The broker's answers are settled here too (deferred_writer_settle): a
 * view's, and a flag's, acknowledgement's or withdrawal's once the loop
 * has woken the caller waiting on it.  They ride in the next view commit,
 * or wait up to 100 ms for one and then commit lazily by themselves, so a
 * burst of answers costs one commit and the loop never waits for it.  The
 * broker committed each answer before sending it, so nothing is lost: an
 * answer lost to a power failure leaves its record pending, and the
 * record is resent and answered again as a duplicate.  Until it commits, a
 * record whose caller has been answered still reads as pending in the
 * store (`status`, `result`); deferred_writer_collect then tells the outbox
 * tracker to forget it.
 *
 * Call deferred_writer_submit, deferred_writer_settle and deferred_writer_collect
 * only from the loop's thread.
 */
#ifndef FLAGPOST_DEFERRED_WRITER_H
#define FLAGPOST_DEFERRED_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct agent agent;
typedef struct deferred_writer deferred_writer;

/* NULL if the thread cannot start (views are then recorded inline). */
deferred_writer *deferred_writer_start(agent *a);
/* Commits what is still queued, stops the thread, frees. */
void deferred_writer_stop(deferred_writer *w);

/* Hand over one packed ViewBody (malloc'd; the writer frees it). */
void deferred_writer_submit(deferred_writer *w, uint8_t *body, size_t len);

/* Hand over the broker's answer to a pending record (copied).  False
 * when out of memory: the caller then settles it itself. */
struct Flagpost__PublishResult;
bool deferred_writer_settle(deferred_writer *w, const struct Flagpost__PublishResult *res);

/* On the loop's thread: send the records committed since the last call,
 * and forget the send times of the records settled since then. */
void deferred_writer_collect(deferred_writer *w);

#endif
