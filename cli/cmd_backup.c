/*
 * cmd_backup: `flagpost backup --data DIR --out FILE [--force]` and
 * `flagpost restore --backup FILE --data DIR`.
 *
 * A backup is LMDB's own consistent copy (mdb_env_copy2 with
 * MDB_CP_COMPACT) of one read snapshot, so it can be taken while the
 * broker or agent runs and writes: it holds exactly the transactions
 * committed when the copy began, never half of one, and the writer is not
 * blocked meanwhile.  The copy is made in a private directory beside FILE
 * and then put in place with one link (or rename, with --force), so FILE is
 * never seen half-written and an existing backup is never replaced by
 * accident.  The file is a plain LMDB data file (data.mdb), mode 0600: it
 * holds the same data as the directory it came from.
 *
 * Restore is the reverse, into an empty directory only (a restore must
 * never be mixed with a live store), and goes through LMDB as well, so a
 * file that is not an LMDB environment is refused before anything is
 * written.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <lmdb.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "commands.h"
#include "fileio.h"
#include "store.h"

#define BACKUP_MAX_DBS 64

static void usage_backup(FILE *out)
{
    fputs("usage: flagpost backup --data DIR --out FILE [--force]\n"
          "\n"
          "Write a consistent copy of a broker's or an agent's data directory (its LMDB\n"
          "store) to FILE, while the program runs.  The copy is one snapshot: every\n"
          "transaction committed when it began, nothing after.  FILE is written whole or\n"
          "not at all (mode 0600).  Run it as the service's user or root.\n"
          "\n"
          "  --data DIR    the data directory (the program's --data setting)\n"
          "  --out FILE    where to write the backup; refused if it exists\n"
          "  --force       replace FILE if it exists\n"
          "  --help        this text\n"
          "\n"
          "Restore with `flagpost restore --backup FILE --data NEWDIR`.\n",
          out);
}

static void usage_restore(FILE *out)
{
    fputs("usage: flagpost restore --backup FILE --data DIR\n"
          "\n"
          "Restore a backup written by `flagpost backup` into DIR, which must be empty\n"
          "or not exist yet (created 0700).  Stop the program first, restore into a\n"
          "new directory, check it (`flagpost audit verify --data DIR --ca BUNDLE` for\n"
          "a broker), then point --data at it.  See docs/deploy.md.\n"
          "\n"
          "  --backup FILE  the backup file\n"
          "  --data DIR     the directory to restore into (empty or new)\n"
          "  --help         this text\n",
          out);
}

/* ---------------------------------------------------------------- helpers */

static void fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

static int open_env(MDB_env **env, const char *path, unsigned flags, fp_error *err)
{
    int rc = mdb_env_create(env);
    if (rc == 0)
        rc = mdb_env_set_maxdbs(*env, BACKUP_MAX_DBS);
    if (rc == 0)
        rc = mdb_env_open(*env, path, MDB_RDONLY | MDB_NOTLS | flags, 0600);
    if (rc != 0) {
        if (*env != NULL)
            mdb_env_close(*env);
        *env = NULL;
        if (rc == EACCES)
            return fp_error_set(err, FP_ERR_IO,
                                "%s: permission denied; run as the service's user (LMDB "
                                "readers need write access to lock.mdb) or root", path);
        return fp_error_set(err, FP_ERR_IO, "%s: not a readable LMDB store: %s", path,
                            mdb_strerror(rc));
    }
    return FP_OK;
}

static void dir_of(const char *path, char out[PATH_MAX])
{
    char copy[PATH_MAX];
    snprintf(copy, sizeof copy, "%s", path);
    snprintf(out, PATH_MAX, "%s", dirname(copy));
}

/* ---------------------------------------------------------------- backup */

/* Put the copy at out: link() refuses an existing file, rename() (with
 * --force) replaces it; both are atomic. */
static int place(const char *copy, const char *out, bool force, fp_error *err)
{
    if (force ? rename(copy, out) == 0 : link(copy, out) == 0)
        return FP_OK;
    if (errno == EEXIST)
        return fp_error_set(err, FP_ERR_INPUT, "--out %s exists; give --force to replace it",
                            out);
    return fp_error_set(err, FP_ERR_IO, "cannot write %s: %s", out, strerror(errno));
}

static int copy_snapshot(MDB_env *env, const char *tmpdir, const char *out, bool force,
                         size_t *size, fp_error *err)
{
    int rc = mdb_env_copy2(env, tmpdir, MDB_CP_COMPACT);
    if (rc != 0)
        return fp_error_set(err, rc == ENOSPC ? FP_ERR_FULL : FP_ERR_IO,
                            "copying the store: %s", mdb_strerror(rc));
    char copy[PATH_MAX];
    if (fileio_join(copy, sizeof copy, tmpdir, "data.mdb", err) != FP_OK)
        return FP_ERR_INPUT;
    int fd = open(copy, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    bool ok = fd >= 0 && fchmod(fd, 0600) == 0 && fsync(fd) == 0 && fstat(fd, &sb) == 0;
    int e = errno;
    if (fd >= 0)
        close(fd);
    if (!ok)
        return fp_error_set(err, e == ENOSPC ? FP_ERR_FULL : FP_ERR_IO,
                            "writing the copy: %s", strerror(e));
    *size = (size_t)sb.st_size;
    rc = place(copy, out, force, err);
    unlink(copy);
    return rc;
}

static int do_backup(const char *dir, const char *out, bool force, fp_error *err)
{
    char path[PATH_MAX], parent[PATH_MAX], tmpdir[PATH_MAX];
    struct stat sb;
    if (fileio_join(path, sizeof path, dir, "data.mdb", err) != FP_OK)
        return FP_ERR_INPUT;
    if (stat(path, &sb) != 0)
        return fp_error_set(err, FP_ERR_NOT_FOUND,
                            "--data %s: no flagpost store there (no data.mdb)", dir);
    if (!force && lstat(out, &sb) == 0)
        return fp_error_set(err, FP_ERR_INPUT, "--out %s exists; give --force to replace it",
                            out);
    dir_of(out, parent);
    if (snprintf(tmpdir, sizeof tmpdir, "%s/.flagpost-backup.XXXXXX", parent) >=
        (int)sizeof tmpdir)
        return fp_error_set(err, FP_ERR_INPUT, "--out %s: path too long", out);
    if (mkdtemp(tmpdir) == NULL)
        return fp_error_set(err, FP_ERR_IO, "--out %s: cannot write in %s: %s", out, parent,
                            strerror(errno));
    MDB_env *env = NULL;
    size_t size = 0;
    int rc = open_env(&env, dir, 0, err);
    if (rc == FP_OK)
        rc = copy_snapshot(env, tmpdir, out, force, &size, err);
    if (env != NULL)
        mdb_env_close(env);
    char left[PATH_MAX];
    if (fileio_join(left, sizeof left, tmpdir, "data.mdb", NULL) == FP_OK)
        unlink(left);   /* what a failed copy left behind */
    rmdir(tmpdir);
    if (rc != FP_OK)
        return rc;
    fsync_dir(parent);
    printf("backup of %s written to %s (%zu bytes)\n", dir, out, size);
    return FP_OK;
}

int cmd_backup(int argc, char **argv)
{
    static const struct option opts[] = {{"data", required_argument, NULL, 'd'},
                                         {"out", required_argument, NULL, 'o'},
                                         {"force", no_argument, NULL, 'f'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *dir = NULL, *out = NULL;
    bool force = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': dir = optarg; break;
        case 'o': out = optarg; break;
        case 'f': force = true; break;
        case 'h': usage_backup(stdout); return CLI_OK;
        default: usage_backup(stderr); return CLI_USAGE;
        }
    }
    if (dir == NULL || out == NULL || optind < argc) {
        fputs("flagpost: backup: give --data DIR and --out FILE (see --help)\n", stderr);
        return CLI_USAGE;
    }
    fp_error err;
    fp_error_clear(&err);
    return do_backup(dir, out, force, &err) == FP_OK ? CLI_OK : cli_report("backup", &err);
}

/* ---------------------------------------------------------------- restore */

static int empty_or_new(const char *dir, fp_error *err)
{
    DIR *d = opendir(dir);
    if (d == NULL) {
        if (errno == ENOENT)
            return fileio_mkdirs(dir, 0700, err);
        return fp_error_set(err, FP_ERR_IO, "--data %s: %s", dir, strerror(errno));
    }
    struct dirent *e;
    bool empty = true;
    while (empty && (e = readdir(d)) != NULL)
        empty = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0;
    closedir(d);
    if (!empty)
        return fp_error_set(err, FP_ERR_INPUT,
                            "--data %s is not empty; restore into a new or empty directory, "
                            "never over a store", dir);
    return FP_OK;
}

static int do_restore(const char *file, const char *dir, fp_error *err)
{
    struct stat sb;
    if (stat(file, &sb) != 0 || !S_ISREG(sb.st_mode))
        return fp_error_set(err, FP_ERR_NOT_FOUND, "--backup %s: no such file", file);
    int rc = empty_or_new(dir, err);
    if (rc != FP_OK)
        return rc;
    /* MDB_NOLOCK: reading a backup file must not leave a lock file beside
     * it.  The environment is a bare file (MDB_NOSUBDIR), so LMDB takes
     * the copy's destination as a file name too. */
    char path[PATH_MAX];
    if (fileio_join(path, sizeof path, dir, "data.mdb", err) != FP_OK)
        return FP_ERR_INPUT;
    MDB_env *env = NULL;
    if ((rc = open_env(&env, file, MDB_NOSUBDIR | MDB_NOLOCK, err)) != FP_OK)
        return fp_error_wrap(err, "--backup");
    int mrc = mdb_env_copy2(env, path, 0);
    mdb_env_close(env);
    if (mrc != 0) {
        unlink(path);
        return fp_error_set(err, mrc == ENOSPC ? FP_ERR_FULL : FP_ERR_IO,
                            "restoring into %s: %s", dir, mdb_strerror(mrc));
    }
    chmod(path, 0600);
    fsync_dir(dir);
    printf("restored %s into %s\n", file, dir);
    return FP_OK;
}

int cmd_restore(int argc, char **argv)
{
    static const struct option opts[] = {{"backup", required_argument, NULL, 'b'},
                                         {"data", required_argument, NULL, 'd'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *file = NULL, *dir = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'b': file = optarg; break;
        case 'd': dir = optarg; break;
        case 'h': usage_restore(stdout); return CLI_OK;
        default: usage_restore(stderr); return CLI_USAGE;
        }
    }
    if (file == NULL || dir == NULL || optind < argc) {
        fputs("flagpost: restore: give --backup FILE and --data DIR (see --help)\n", stderr);
        return CLI_USAGE;
    }
    fp_error err;
    fp_error_clear(&err);
    return do_restore(file, dir, &err) == FP_OK ? CLI_OK : cli_report("restore", &err);
}
