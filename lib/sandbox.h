/*
 * sandbox: what the broker and the agent give up once they have started.
 *
 * A broker or agent that is taken over through a bug in a decoder should
 * find nothing to do with the process: no program to run, no privilege to
 * gain, no file outside its own directories to change, no core dump or
 * debugger to read its keys out of.  sandbox_enter() applies, to the whole
 * process, whatever of that the kernel offers:
 *
 *   - no new privileges (PR_SET_NO_NEW_PRIVS): set-uid programs and file
 *     capabilities give nothing; required, start-up fails without it;
 *   - a seccomp filter (libseccomp) that refuses with EPERM the system calls
 *     a broker or agent never makes: execve/execveat (no shell), ptrace and
 *     process_vm_*, mount and namespaces, module and kexec loading, bpf,
 *     perf, keyrings, set*id and capset;
 *   - a Landlock ruleset that makes the whole filesystem read-only and
 *     non-executable except the directories named, where files may be
 *     created, written, renamed and removed (but still not executed);
 *   - no core dumps (PR_SET_DUMPABLE 0, RLIMIT_CORE 0), which also stops
 *     other processes of the same user from attaching to it.
 *
 * Landlock restricts only the calling thread and threads it creates later,
 * so sandbox_enter() must be called before the first thread starts (before
 * ZeroMQ's context and the worker pools).  Everything later (policy reloads
 * on SIGHUP, LMDB, ZeroMQ's sockets) then runs inside it.
 *
 * Seccomp and Landlock are skipped, and the report says so, where the
 * kernel or a supervisor does not offer them (an old kernel, valgrind,
 * a systemd unit whose own filter refuses the calls); the systemd units in
 * packaging/ confine the programs independently.  Sanitizer builds keep
 * ptrace and dumpability, because LeakSanitizer ptrace-attaches to the
 * process at exit to find leaks.
 */
#ifndef FLAGPOST_SANDBOX_H
#define FLAGPOST_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>

#include "fp_error.h"

#define SANDBOX_MAX_WRITABLE 8

typedef struct sandbox_report {
    bool no_new_privs;
    bool syscall_filter;     /* the seccomp filter is loaded */
    bool ptrace_refused;     /* ... and refuses ptrace (not in sanitizer builds) */
    int landlock_abi;        /* 0: filesystem writes not confined */
    bool no_core_dumps;
    char summary[320];       /* one sentence for the start-up log */
} sandbox_report;

/* Confine the calling process.  writable: existing directories that stay
 * writable (the data directory, the directory of a local socket, a spool);
 * NULL entries are ignored, at most SANDBOX_MAX_WRITABLE.  Fails only when
 * a directory cannot be opened or a facility the kernel offers refuses the
 * rules; the report is filled in either way. */
int sandbox_enter(const char *const *writable, size_t n, sandbox_report *report,
                  fp_error *err);

/* Only the last of those: no core dumps and no attaching (a no-op, false,
 * in sanitizer builds).  For the `flagpost` command, which holds the CA's
 * key or a flag in clear for a moment and needs nothing else taken away.
 * True when both took effect. */
bool sandbox_no_core_dumps(void);

/* The directory a ZeroMQ "ipc://PATH" endpoint's socket file lives in,
 * which must stay writable for a bind after sandbox_enter(); NULL (and out
 * untouched) for any other transport or a path that does not fit. */
const char *sandbox_ipc_dir(const char *endpoint, char *out, size_t size);

#endif
