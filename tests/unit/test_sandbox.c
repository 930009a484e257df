/*
 * Unit tests for lib/sandbox.c against the real kernel: each test forks a
 * child, confines it with sandbox_enter(), has it try what a taken-over
 * broker would try (write outside its directory, from the main thread and
 * from a thread started afterwards; run a program; ptrace), and reports
 * the outcomes to the parent through a pipe.  Where the kernel offers no
 * Landlock the report must say so and the filesystem probes are not made
 * (printed as a comment, never counted as a pass).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "sandbox.h"
#include "tmpdir.h"

typedef struct outcome {
    int enter_rc;
    sandbox_report rep;
    int no_new_privs;        /* PR_GET_NO_NEW_PRIVS after entering */
    int dumpable;
    int write_inside;        /* 0 or the errno of each probe */
    int write_outside;
    int write_outside_thread;
    int remove_outside;
    int read_outside;
    int exec_errno;
    int ptrace_errno;
    int seccomp_mode;        /* from /proc/self/status */
} outcome;

/* What the kernel offers, asked independently of the module under test. */
static int kernel_landlock_abi(void)
{
    long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
    return abi > 0 ? (int)abi : 0;
}

static int seccomp_mode(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    int mode = -1;
    while (f != NULL && fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "Seccomp: %d", &mode) == 1)
            break;
    if (f != NULL)
        fclose(f);
    return mode;
}

static int try_write(const char *dir, const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
        return errno;
    close(fd);
    return 0;
}

static const char *outside_dir;

static void *thread_write(void *arg)
{
    *(int *)arg = try_write(outside_dir, "from-thread");
    return NULL;
}

static void probe(const char *inside, const char *outside, outcome *o)
{
    const char *writable[] = {inside, NULL};
    fp_error err = {0};
    o->enter_rc = sandbox_enter(writable, 2, &o->rep, &err);
    o->no_new_privs = prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0);
    o->dumpable = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
    o->seccomp_mode = seccomp_mode();
    o->write_inside = try_write(inside, "inside");
    o->write_outside = try_write(outside, "outside");
    outside_dir = outside;
    pthread_t t;
    if (pthread_create(&t, NULL, thread_write, &o->write_outside_thread) == 0)
        pthread_join(t, NULL);
    char victim[600];
    snprintf(victim, sizeof victim, "%s/victim", outside);
    o->remove_outside = unlink(victim) == 0 ? 0 : errno;
    snprintf(victim, sizeof victim, "%s/readable", outside);
    int fd = open(victim, O_RDONLY);
    o->read_outside = fd >= 0 ? 0 : errno;
    if (fd >= 0)
        close(fd);
    if (o->rep.syscall_filter || o->rep.landlock_abi > 0) {
        /* Unconfined (valgrind, an old kernel), this would replace the
         * child and lose the outcome. */
        char *argv[] = {"/bin/true", NULL}, *envp[] = {NULL};
        execve("/bin/true", argv, envp);   /* returns only if refused */
        o->exec_errno = errno;
    }
    if (o->rep.ptrace_refused)
        o->ptrace_errno = ptrace(PTRACE_TRACEME, 0, NULL, NULL) == 0 ? 0 : errno;
}

/* Runs probe() in a child and returns its outcome. */
static bool run_confined(const char *inside, const char *outside, outcome *o)
{
    int p[2];
    if (pipe(p) != 0)
        return false;
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        outcome mine;
        memset(&mine, 0, sizeof mine);
        probe(inside, outside, &mine);
        ssize_t n = write(p[1], &mine, sizeof mine);
        _exit(n == (ssize_t)sizeof mine ? 0 : 1);
    }
    close(p[1]);
    ssize_t got = read(p[0], o, sizeof *o);
    close(p[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    return got == (ssize_t)sizeof *o && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static void make_file(const char *dir, const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = open(path, O_WRONLY | O_CREAT, 0600);
    if (fd >= 0)
        close(fd);
}

static void test_confined_process(void)
{
    tmpdir in, out;
    CHECK(tmpdir_make(&in, "sandbox-in"));
    CHECK(tmpdir_make(&out, "sandbox-out"));
    make_file(out.path, "victim");
    make_file(out.path, "readable");
    outcome o;
    memset(&o, 0, sizeof o);
    CHECK(run_confined(in.path, out.path, &o));
    CHECK_EQ_INT(o.enter_rc, FP_OK);
    CHECK(o.rep.no_new_privs);
    CHECK_EQ_INT(o.no_new_privs, 1);
    CHECK(strstr(o.rep.summary, "confined: no new privileges") != NULL);
    CHECK_EQ_INT(o.write_inside, 0);
    CHECK_EQ_INT(o.read_outside, 0);
    CHECK_EQ_INT(o.rep.landlock_abi, kernel_landlock_abi());
    CHECK_EQ_INT(o.seccomp_mode, o.rep.syscall_filter ? 2 : 0);
    if (o.rep.landlock_abi > 0) {
        CHECK_EQ_INT(o.write_outside, EACCES);
        CHECK_EQ_INT(o.write_outside_thread, EACCES);
        CHECK_EQ_INT(o.remove_outside, EACCES);
    } else {
        printf("#   no Landlock on this kernel: filesystem confinement not tested here\n");
        CHECK(strstr(o.rep.summary, "filesystem NOT confined") != NULL);
    }
    if (o.rep.syscall_filter)
        CHECK_EQ_INT(o.exec_errno, EPERM);
    else if (o.rep.landlock_abi > 0)
        CHECK_EQ_INT(o.exec_errno, EACCES);   /* Landlock refuses execute */
    else
        printf("#   neither seccomp nor Landlock here: exec refusal not tested\n");
    if (o.rep.ptrace_refused)
        CHECK_EQ_INT(o.ptrace_errno, EPERM);
    if (o.rep.no_core_dumps)
        CHECK_EQ_INT(o.dumpable, 0);
    tmpdir_remove(&in);
    tmpdir_remove(&out);
}

static void test_missing_directory_is_an_error(void)
{
    pid_t pid = fork();
    if (pid == 0) {
        const char *writable[] = {"/nonexistent/flagpost-sandbox-test"};
        sandbox_report rep;
        fp_error err = {0};
        int rc = sandbox_enter(writable, 1, &rep, &err);
        printf("#   %s\n", err.message);
        fflush(stdout);
        _exit(rc == FP_ERR_IO && strstr(err.message, writable[0]) != NULL ? 0 : 1);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void test_ipc_dir(void)
{
    char buf[64];
    CHECK_EQ_STR(sandbox_ipc_dir("ipc:///run/flagpost/police.sock", buf, sizeof buf),
                 "/run/flagpost");
    CHECK_EQ_STR(sandbox_ipc_dir("ipc:///top.sock", buf, sizeof buf), "/");
    CHECK_EQ_STR(sandbox_ipc_dir("ipc://here.sock", buf, sizeof buf), ".");
    CHECK_EQ_STR(sandbox_ipc_dir("ipc://rel/dir/a.sock", buf, sizeof buf), "rel/dir");
    CHECK(sandbox_ipc_dir("ipc://@abstract", buf, sizeof buf) == NULL);
    CHECK(sandbox_ipc_dir("tcp://127.0.0.1:7000", buf, sizeof buf) == NULL);
    CHECK(sandbox_ipc_dir(NULL, buf, sizeof buf) == NULL);
    CHECK(sandbox_ipc_dir("ipc:///a/very/long/directory/name/that/does/not/fit/x.sock", buf,
                          8) == NULL);
}

int main(void)
{
    RUN(test_confined_process);
    RUN(test_missing_directory_is_an_error);
    RUN(test_ipc_dir);
    return check_summary();
}
