/*
 * sandbox: confine the broker or agent process.  See sandbox.h.
 *
 * Order matters.  No-new-privileges comes first because both seccomp
 * (without CAP_SYS_ADMIN) and landlock_restrict_self() require it.  The
 * Landlock ruleset is built from directory descriptors opened before
 * anything is restricted, then enforced; the seccomp filter is loaded last
 * with TSYNC so it covers every thread even if a library started one
 * behind our back.
 *
 * The filter is a deny list on top of default-allow, not an allow list:
 * an allow list would have to track every call glibc, libzmq and LMDB make
 * on every architecture and release, and a missed one aborts the broker in
 * production.  The systemd units carry the allow list (@system-service),
 * checked against real traced runs by tests/integration/sandbox.sh.
 *
 * Landlock handles only write-like and execute rights, so reading stays
 * allowed everywhere: the programs read their identity, the CA bundle and
 * the policy again on SIGHUP, from wherever the operator keeps them.
 */
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <seccomp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Landlock ABI 3 (Linux 6.2) added truncate; Debian 12's headers stop at
 * ABI 2.  Value from the kernel's include/uapi/linux/landlock.h. */
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)
#endif

#if defined(__SANITIZE_ADDRESS__)
#define SANDBOX_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANDBOX_SANITIZED 1
#endif
#endif
#ifndef SANDBOX_SANITIZED
#define SANDBOX_SANITIZED 0
#endif

#define FS_WRITE_RIGHTS                                                                    \
    (LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_REMOVE_DIR |                       \
     LANDLOCK_ACCESS_FS_REMOVE_FILE | LANDLOCK_ACCESS_FS_MAKE_CHAR |                       \
     LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_MAKE_REG |                           \
     LANDLOCK_ACCESS_FS_MAKE_SOCK | LANDLOCK_ACCESS_FS_MAKE_FIFO |                         \
     LANDLOCK_ACCESS_FS_MAKE_BLOCK | LANDLOCK_ACCESS_FS_MAKE_SYM)

/* Never made by a broker or agent after start-up. */
static const char *const denied_always[] = {
    "execve", "execveat", "mount", "umount2", "pivot_root", "chroot", "unshare", "setns",
    "init_module", "finit_module", "delete_module", "kexec_load", "kexec_file_load",
    "bpf", "perf_event_open", "userfaultfd", "keyctl", "add_key", "request_key",
    "setuid", "setgid", "setreuid", "setregid", "setresuid", "setresgid", "setgroups",
    "setfsuid", "setfsgid", "capset", "acct", "swapon", "swapoff", "reboot",
    "open_by_handle_at", "name_to_handle_at", "iopl", "ioperm", "personality",
};
/* Also denied outside sanitizer builds (LeakSanitizer needs ptrace). */
static const char *const denied_unsanitized[] = {
    "ptrace", "process_vm_readv", "process_vm_writev",
};

static long ll_create_ruleset(const struct landlock_ruleset_attr *attr, size_t size,
                              uint32_t flags)
{
    return syscall(SYS_landlock_create_ruleset, attr, size, flags);
}

/* The ABI version, or 0 where Landlock is absent or refused to us. */
static int landlock_abi(void)
{
    long abi = ll_create_ruleset(NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
    return abi > 0 ? (int)abi : 0;
}

static uint64_t handled_rights(int abi)
{
    uint64_t rights = FS_WRITE_RIGHTS | LANDLOCK_ACCESS_FS_EXECUTE;
    if (abi >= 2)
        rights |= LANDLOCK_ACCESS_FS_REFER;
    if (abi >= 3)
        rights |= LANDLOCK_ACCESS_FS_TRUNCATE;
    return rights;
}

static int add_writable(int ruleset, const char *dir, uint64_t handled, fp_error *err)
{
    struct landlock_path_beneath_attr rule = {
        .allowed_access = handled & ~(uint64_t)LANDLOCK_ACCESS_FS_EXECUTE,
    };
    rule.parent_fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (rule.parent_fd < 0)
        return fp_error_set(err, FP_ERR_IO,
                            "cannot confine the process: directory %s: %s (it must exist "
                            "and be a directory)",
                            dir, strerror(errno));
    long rc = syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &rule, 0);
    int saved = errno;
    close(rule.parent_fd);
    if (rc != 0)
        return fp_error_set(err, FP_ERR_IO,
                            "cannot confine the process: Landlock refused a rule for %s: %s",
                            dir, strerror(saved));
    return FP_OK;
}

static int enter_landlock(const char *const *writable, size_t n, sandbox_report *rep,
                          fp_error *err)
{
    int abi = landlock_abi();
    if (abi == 0)
        return FP_OK;
    struct landlock_ruleset_attr attr = {.handled_access_fs = handled_rights(abi)};
    int ruleset = (int)ll_create_ruleset(&attr, sizeof attr, 0);
    if (ruleset < 0)
        return fp_error_set(err, FP_ERR_IO, "cannot confine the process: Landlock: %s",
                            strerror(errno));
    int rc = FP_OK;
    for (size_t i = 0; i < n && rc == FP_OK; i++)
        if (writable[i] != NULL)
            rc = add_writable(ruleset, writable[i], attr.handled_access_fs, err);
    if (rc == FP_OK && syscall(SYS_landlock_restrict_self, ruleset, 0) != 0)
        rc = fp_error_set(err, FP_ERR_IO, "cannot confine the process: Landlock: %s",
                          strerror(errno));
    close(ruleset);
    if (rc == FP_OK)
        rep->landlock_abi = abi;
    return rc;
}

static int deny_each(scmp_filter_ctx ctx, const char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int nr = seccomp_syscall_resolve_name(names[i]);
        if (nr == __NR_SCMP_ERROR)
            continue;   /* not a system call on this architecture */
        if (seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0) != 0)
            return -1;
    }
    return 0;
}

/* Loads the filter.  A kernel or supervisor that refuses seccomp itself
 * (EINVAL, ENOSYS, EPERM, EACCES) leaves the filter off; the report says. */
static int enter_seccomp(sandbox_report *rep, fp_error *err)
{
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
    if (ctx == NULL)
        return fp_error_set(err, FP_ERR_IO, "cannot confine the process: out of memory");
    if (seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1) != 0) {
        /* libseccomp found no seccomp() system call to sync threads with:
         * a kernel before 3.17, or valgrind, which does not emulate it. */
        seccomp_release(ctx);
        return FP_OK;
    }
    int rc = FP_OK;
    size_t nd = sizeof denied_always / sizeof denied_always[0];
    size_t nu = sizeof denied_unsanitized / sizeof denied_unsanitized[0];
    if (deny_each(ctx, denied_always, nd) != 0 ||
        (!SANDBOX_SANITIZED && deny_each(ctx, denied_unsanitized, nu) != 0)) {
        rc = fp_error_set(err, FP_ERR_INTERNAL,
                          "cannot confine the process: building the system call filter "
                          "failed");
    } else {
        int lrc = seccomp_load(ctx);
        if (lrc == 0) {
            rep->syscall_filter = true;
            rep->ptrace_refused = !SANDBOX_SANITIZED;
        }
        else if (lrc != -EINVAL && lrc != -ENOSYS && lrc != -EPERM && lrc != -EACCES)
            rc = fp_error_set(err, FP_ERR_IO,
                              "cannot confine the process: loading the system call filter: "
                              "%s",
                              strerror(-lrc));
    }
    seccomp_release(ctx);
    return rc;
}

bool sandbox_no_core_dumps(void)
{
    if (SANDBOX_SANITIZED)
        return false;
    struct rlimit none = {0, 0};
    return setrlimit(RLIMIT_CORE, &none) == 0 && prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == 0;
}

static void summarise(sandbox_report *rep)
{
    char fs[64];
    if (rep->landlock_abi > 0)
        snprintf(fs, sizeof fs, "writes confined to its directories (Landlock ABI %d)",
                 rep->landlock_abi);
    else
        snprintf(fs, sizeof fs, "filesystem NOT confined (no Landlock here)");
    snprintf(rep->summary, sizeof rep->summary,
             "confined: no new privileges; %s; %s; %s",
             !rep->syscall_filter ? "system call filter NOT loaded (seccomp refused here)"
             : rep->ptrace_refused ? "exec, ptrace, mount and set*id refused"
                                   : "exec, mount and set*id refused (ptrace kept for the sanitizer)",
             fs, rep->no_core_dumps ? "no core dumps" : "core dumps left on (sanitizer build)");
}

/* Checked whether or not Landlock is here, so a mistyped directory fails
 * the same way on every kernel. */
static int check_dir(const char *dir, fp_error *err)
{
    struct stat sb;
    if (stat(dir, &sb) != 0)
        return fp_error_set(err, FP_ERR_IO,
                            "cannot confine the process: directory %s: %s (it must exist)",
                            dir, strerror(errno));
    if (!S_ISDIR(sb.st_mode))
        return fp_error_set(err, FP_ERR_IO,
                            "cannot confine the process: %s is not a directory", dir);
    return FP_OK;
}

int sandbox_enter(const char *const *writable, size_t n, sandbox_report *report,
                  fp_error *err)
{
    memset(report, 0, sizeof *report);
    if (n > SANDBOX_MAX_WRITABLE)
        return fp_error_set(err, FP_ERR_INTERNAL,
                            "cannot confine the process: more than %d writable directories",
                            SANDBOX_MAX_WRITABLE);
    for (size_t i = 0; i < n; i++)
        if (writable[i] != NULL && check_dir(writable[i], err) != FP_OK)
            return err->code;
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        return fp_error_set(err, FP_ERR_IO,
                            "cannot confine the process: PR_SET_NO_NEW_PRIVS: %s",
                            strerror(errno));
    report->no_new_privs = true;
    report->no_core_dumps = sandbox_no_core_dumps();
    int rc = enter_landlock(writable, n, report, err);
    if (rc == FP_OK)
        rc = enter_seccomp(report, err);
    summarise(report);
    return rc;
}

const char *sandbox_ipc_dir(const char *endpoint, char *out, size_t size)
{
    static const char prefix[] = "ipc://";
    if (endpoint == NULL || strncmp(endpoint, prefix, sizeof prefix - 1) != 0)
        return NULL;
    const char *path = endpoint + sizeof prefix - 1;
    if (path[0] == '@')
        return NULL;   /* Linux abstract namespace: no file */
    const char *slash = strrchr(path, '/');
    if (slash == NULL)
        return snprintf(out, size, ".") < (int)size ? out : NULL;
    size_t len = slash == path ? 1 : (size_t)(slash - path);
    if (len >= size)
        return NULL;
    memcpy(out, path, len);
    out[len] = '\0';
    return out;
}
