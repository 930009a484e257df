/*
 * spool: the file-drop integration.  Many case systems integrate by
 * writing files into a directory, so an agent started with --spool DIR
 * also publishes flags from files and writes the flags it receives as
 * files:
 *
 *   DIR/in/        the agency drops one flag per NAME.json (flag_json.h).
 *                  A file is read only once it has its final name: write
 *                  it as .NAME or NAME.json.tmp / NAME.json.part and
 *                  rename it when complete (rename is atomic; write it
 *                  inside in/, since a move from another filesystem is a
 *                  copy), so a half-written file is never read.  Names starting with
 *                  '.' and names not ending in ".json" are ignored.
 *   DIR/done/      NAME.json once published, with NAME.result.json beside
 *                  it: the publish answer the local API would give
 *                  (message id, status, the decision for each recipient).
 *   DIR/failed/    NAME.json when it could not be published, with
 *                  NAME.error holding the reason (naming the field at
 *                  fault, never its value).  Nothing of it was stored or
 *                  sent.
 *   DIR/received/  one MESSAGE_ID.json per flag this agency receives, as
 *                  `flagpost inbox` shows it (a withdrawal delivered
 *                  later gives another file: the flag, state
 *                  "withdrawn"), written under a temporary
 *                  name and renamed, so the case system reads whole files
 *                  only (read *.json; the agency removes what it imported).
 *
 * A name already taken in done/ or failed/ gets a "-2", "-3", ... suffix
 * rather than replacing an earlier file.  A file that cannot be moved at
 * all stays in in/ under a hidden name (.NAME.published-MESSAGE_ID or
 * .NAME.failed), logged, so it is never published twice.  The agent looks into in/ every
 * SPOOL_POLL_MS from its event loop and publishes at most SPOOL_BATCH
 * files per look, so the loop stays responsive.  A file is published
 * before it is moved: a crash in the instant between the two publishes it
 * again on restart (a duplicate, never a loss).  A storage failure (disk
 * full) leaves the file in in/ to be tried again.
 *
 * Directories are created 0770 (in/, received/: the case system's user, in
 * the agent's group, writes into in/ and removes what it imported from
 * received/) and 0750 (done/, failed/); files are written 0640.
 */
#ifndef FLAGPOST_SPOOL_H
#define FLAGPOST_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent.h"

#define SPOOL_POLL_MS 200
#define SPOOL_BATCH 32
#define SPOOL_RETRY_MS 5000   /* after a storage failure */

/* Create DIR and its four subdirectories; errors name the path. */
int spool_prepare(const char *dir, fp_error *err);

/* Publish what waits in DIR/in if a look is due (no-op without --spool). */
void spool_poll(agent *a, int64_t now_ms);

/* After a committed batch from the broker: write each delivery marked
 * fresh (a flag newly stored or withdrawn) into DIR/received (no-op
 * without --spool). */
void spool_write_received(agent *a, Flagpost__ToAgent *const *msgs, const bool *fresh,
                          size_t n);

#endif
