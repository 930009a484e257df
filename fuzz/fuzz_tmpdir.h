/*
 * fuzz_tmpdir.h: where a fuzz target puts its scratch files.  $TMPDIR when
 * it is set, so whoever starts the target decides, and can remove what a
 * crashed run leaves behind: libFuzzer ends a run that crashes, times out,
 * runs out of memory or is interrupted with _Exit, so no atexit handler
 * runs, and SIGKILL runs nothing at all.  scripts/fuzz gives every target
 * its own $TMPDIR inside a directory it removes however the run ends.
 * Without $TMPDIR, /dev/shm when it is writable (LMDB commits there cost
 * no disk flushes), else /tmp.  Header-only, like the fixtures.
 */
#ifndef FLAGPOST_FUZZ_TMPDIR_H
#define FLAGPOST_FUZZ_TMPDIR_H

#include <stdlib.h>
#include <unistd.h>

static const char *fuzz_tmpdir(void)
{
    const char *t = getenv("TMPDIR");
    if (t != NULL && t[0] != '\0')
        return t;
    return access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
}

#endif
