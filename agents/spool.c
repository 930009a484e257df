/*
 * spool: flags in and out as files.  See spool.h for the directory
 * contract an agency's case system relies on.
 *
 * Publishing from a file takes exactly the local API's path (flag_json,
 * publisher_accept, outbox_send) so a file and a socket request are held
 * to the same checks and get the same answer.  A file is judged by its
 * name only: the write-then-rename convention is what keeps a half-written
 * file from being read, so nothing here tries to guess whether a writer
 * has finished (sizes and times lie on network filesystems).
 *
 * Files are opened with O_NOFOLLOW and must be regular: a symlink dropped
 * into in/ must not make the agent read (and publish) a file elsewhere.
 */
#include "spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "json_wipe.h"
#include "envelope.h"
#include "fileio.h"
#include "flag_json.h"
#include "local_api.h"
#include "lookup.h"
#include "outbox.h"
#include "publisher.h"
#include "spool_name.h"

#define SPOOL_PATH_MAX 4096
#define SPOOL_FILE_MODE 0640

typedef struct subdir {
    const char *name;
    mode_t mode;
} subdir;

static const subdir SUBDIRS[] = {
    {"in", 0770}, {"done", 0750}, {"failed", 0750}, {"received", 0770}};

/* ---------------------------------------------------------------- setup */

static int make_dir(const char *path, mode_t mode, fp_error *err)
{
    if (mkdir(path, mode) == 0) {
        /* mkdir's mode passes through the umask; a group that must write
         * into in/ needs the mode exactly. */
        if (chmod(path, mode) != 0)
            return fp_error_set(err, FP_ERR_IO, "--spool: cannot set the mode of %s: %s", path,
                                strerror(errno));
        return FP_OK;
    }
    struct stat sb;
    if (errno == EEXIST && stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
        return FP_OK;
    return fp_error_set(err, FP_ERR_IO, "--spool: cannot create directory %s: %s", path,
                        errno == EEXIST ? "a file of that name is in the way" : strerror(errno));
}

int spool_prepare(const char *dir, fp_error *err)
{
    if (fileio_mkdirs(dir, 0750, err) != FP_OK)
        return fp_error_wrap(err, "--spool");
    char path[SPOOL_PATH_MAX];
    for (size_t i = 0; i < sizeof SUBDIRS / sizeof SUBDIRS[0]; i++) {
        if (fileio_join(path, sizeof path, dir, SUBDIRS[i].name, err) != FP_OK)
            return fp_error_wrap(err, "--spool");
        int rc = make_dir(path, SUBDIRS[i].mode, err);
        if (rc != FP_OK)
            return rc;
        if (access(path, W_OK | X_OK) != 0)
            return fp_error_set(err, FP_ERR_IO,
                                "--spool: %s is not writable by this user; give the agent's "
                                "user write access to it", path);
    }
    return FP_OK;
}

/* ---------------------------------------------------------------- names */

static int by_name(const void *x, const void *y)
{
    return strcmp(*(char *const *)x, *(char *const *)y);
}

/* rename() that never replaces an existing file (EEXIST instead).  Where
 * the filesystem cannot do that in one step (NFS), link + unlink. */
static int move_noreplace(const char *src, const char *dst)
{
    if (renameat2(AT_FDCWD, src, AT_FDCWD, dst, RENAME_NOREPLACE) == 0)
        return 0;
    if (errno != EINVAL && errno != ENOSYS)
        return -1;
    if (link(src, dst) != 0)
        return -1;
    unlink(src);
    return 0;
}

/* Move src to dir/name, or dir/stem-N.json if that is taken; *final gets
 * the name used. */
static int move_unique(const char *src, const char *dir, const char *name,
                       char final[SPOOL_NAME_MAX], fp_error *err)
{
    char path[SPOOL_PATH_MAX];
    for (int n = 1; n < SPOOL_NAME_TRIES; n++) {
        if (spool_name_numbered(name, n, final, err) != FP_OK ||
            fileio_join(path, sizeof path, dir, final, err) != FP_OK)
            return FP_ERR_INPUT;
        if (move_noreplace(src, path) == 0)
            return FP_OK;
        if (errno != EEXIST)
            return fp_error_set(err, FP_ERR_IO, "cannot move %s to %s: %s", src, path,
                                strerror(errno));
    }
    return fp_error_set(err, FP_ERR_IO, "cannot move %s: too many files named %s in %s", src,
                        name, dir);
}

/* ---------------------------------------------------------------- results */

static void write_beside(agent *a, const char *dir, const char *name, const char *suffix,
                         const char *text)
{
    char file[SPOOL_NAME_MAX + 32], path[SPOOL_PATH_MAX];
    fp_error err;
    if (spool_name_beside(name, suffix, file, sizeof file, &err) != FP_OK ||
        fileio_join(path, sizeof path, dir, file, &err) != FP_OK ||
        fileio_write_atomic(path, text, strlen(text), SPOOL_FILE_MODE, &err) != FP_OK)
        log_event(&a->log, LOG_ERROR, "spool-write-failed", "error=\"%s\"", err.message);
}

/* Flag text holds field values (names, addresses, narratives): wiped
 * before it goes back to the heap, as jansson's own blocks are
 * (json_wipe.h). */
static void free_wiped(char *text, size_t len)
{
    if (text == NULL)
        return;
    sodium_memzero(text, len);
    free(text);
}

/* Indented, sorted, with a final newline (for people and line tools).
 * Release with free_wiped(text, strlen(text)). */
static char *dump_json(json_t *j)
{
    char *text = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);
    if (text == NULL)
        return NULL;
    size_t n = strlen(text);
    char *with_nl = malloc(n + 2);   /* plain malloc: callers free() it */
    if (with_nl != NULL) {
        memcpy(with_nl, text, n);
        memcpy(with_nl + n, "\n", 2);
    }
    json_text_free(text);
    return with_nl;
}

static void sub_path(const agent *a, const char *sub, char out[SPOOL_PATH_MAX])
{
    snprintf(out, SPOOL_PATH_MAX, "%s/%s", a->cfg.spool_dir, sub);
}

static void file_failed(agent *a, const char *src, const char *name, const fp_error *why)
{
    char dir[SPOOL_PATH_MAX], final[SPOOL_NAME_MAX], line[sizeof why->message + 2];
    fp_error err;
    sub_path(a, "failed", dir);
    log_event(&a->log, LOG_WARN, "spool-file-failed", "file=%s error=\"%s\"", name,
              why->message);
    if (move_unique(src, dir, name, final, &err) != FP_OK) {
        /* Hidden, so it is not judged again at every look. */
        char hidden[SPOOL_PATH_MAX];
        snprintf(hidden, sizeof hidden, "%s/in/.%s.failed", a->cfg.spool_dir, name);
        rename(src, hidden);
        log_event(&a->log, LOG_ERROR, "spool-move-failed", "file=%s error=\"%s\" kept_as=\"%s\"",
                  name, err.message, hidden);
        return;
    }
    snprintf(line, sizeof line, "%s\n", why->message);
    write_beside(a, dir, final, ".error", line);
}

static void file_done(agent *a, const char *src, const char *name,
                      const Flagpost__OutboxRecord *rec)
{
    char dir[SPOOL_PATH_MAX], final[SPOOL_NAME_MAX];
    fp_error err;
    sub_path(a, "done", dir);
    if (move_unique(src, dir, name, final, &err) != FP_OK) {
        /* Left as it is the file would be published again at every look:
         * hide it in in/ (a dot name is never read), or as a last resort
         * remove it.  The flag itself is safe in the outbox. */
        char hex[33], hidden[SPOOL_PATH_MAX];
        envelope_id_hex(rec->message_id.data, 16, hex);
        snprintf(hidden, sizeof hidden, "%s/in/.%s.published-%s", a->cfg.spool_dir, name, hex);
        bool kept = rename(src, hidden) == 0;
        if (!kept)
            unlink(src);
        log_event(&a->log, LOG_ERROR, "spool-move-failed",
                  "file=%s message=%s error=\"%s\" kept_as=\"%s\"", name, hex, err.message,
                  kept ? hidden : "(removed)");
        return;
    }
    json_t *answer = local_api_record_json(rec);
    json_object_set_new(answer, "file", json_string(final));
    char *text = dump_json(answer);
    json_decref(answer);
    if (text != NULL)
        write_beside(a, dir, final, ".result.json", text);
    free_wiped(text, text != NULL ? strlen(text) : 0);
}

/* ---------------------------------------------------------------- publishing */

static int read_file(const char *path, char **text, size_t *len, fp_error *err)
{
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT)
        return fp_error_set(err, FP_ERR_NOT_FOUND, "the file went away");
    if (fd < 0)
        return fp_error_set(err, errno == ELOOP ? FP_ERR_INPUT : FP_ERR_IO,
                            "cannot open the file: %s",
                            errno == ELOOP ? "it is a symbolic link" : strerror(errno));
    struct stat sb;
    int rc = FP_OK;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode))
        rc = fp_error_set(err, FP_ERR_INPUT, "not a regular file");
    else if (sb.st_size > FLAG_MAX_JSON_BYTES)
        rc = fp_error_set(err, FP_ERR_INPUT, "the file is larger than %d bytes",
                          FLAG_MAX_JSON_BYTES);
    close(fd);
    if (rc != FP_OK)
        return rc;
    uint8_t *buf = NULL;
    rc = fileio_read_all(path, FLAG_MAX_JSON_BYTES, &buf, len, err);
    *text = (char *)buf;
    return rc;
}

static bool transient(int rc)
{
    return rc == FP_ERR_IO || rc == FP_ERR_FULL || rc == FP_ERR_UNAVAILABLE;
}

static int withdraw_object(agent *a, json_t *root, Flagpost__OutboxRecord **rec, fp_error *err)
{
    const char *key;
    json_t *v;
    json_object_foreach(root, key, v) {
        if (strcmp(key, "action") != 0 && strcmp(key, "flag_id") != 0 &&
            strcmp(key, "reason") != 0)
            return fp_error_set(err, FP_ERR_INPUT, "%.64s: a withdrawal holds only action, "
                                "flag_id and reason", key);
    }
    const char *id = json_string_value(json_object_get(root, "flag_id"));
    if (id == NULL)
        return fp_error_set(err, FP_ERR_INPUT,
                            "flag_id: a withdrawal names the flag (the flag_id publish gave)");
    return publisher_withdraw(a, id, json_string_value(json_object_get(root, "reason")), rec,
                              err);
}

/* A flag (publish or update, flag_json.h), or a withdrawal written as the
 * local API takes it: {"action": "withdraw", "flag_id": ..., "reason": ...}. */
static int accept_text(agent *a, const char *text, size_t len, Flagpost__OutboxRecord **rec,
                       fp_error *err)
{
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL)
        return fp_error_set(err, FP_ERR_INPUT, "malformed JSON at line %d, column %d: %s",
                            jerr.line, jerr.column, jerr.text);
    const char *action = json_string_value(json_object_get(root, "action"));
    int rc;
    if (json_is_object(root) && action != NULL && strcmp(action, "withdraw") == 0) {
        rc = withdraw_object(a, root, rec, err);
    } else {
        flag_request fr;
        rc = flag_json_from_object(root, &fr, err);
        if (rc == FP_OK) {
            rc = publisher_accept(a, &fr, rec, err);
            flag_request_free(&fr);
        }
    }
    json_decref(root);
    return rc;
}

/* Publish one file; false when a storage failure means stop for now. */
static bool publish_file(agent *a, const char *name)
{
    char dir[SPOOL_PATH_MAX], src[SPOOL_PATH_MAX];
    fp_error err;
    fp_error_clear(&err);
    sub_path(a, "in", dir);
    if (fileio_join(src, sizeof src, dir, name, &err) != FP_OK)
        return true;
    char *text = NULL;
    size_t len = 0;
    Flagpost__OutboxRecord *rec = NULL;
    int rc = read_file(src, &text, &len, &err);
    if (rc == FP_OK) {
        rc = accept_text(a, text, len, &rec, &err);
        free_wiped(text, len);
    }
    if (rc == FP_ERR_NOT_FOUND && access(src, F_OK) != 0)
        return true;   /* taken away by the agency meanwhile */
    if (rc != FP_OK && transient(rc)) {
        log_event(&a->log, LOG_ERROR, "spool-retry-later", "file=%s error=\"%s\"", name,
                  err.message);
        return false;
    }
    if (rc != FP_OK) {
        file_failed(a, src, name, &err);
        return true;
    }
    a->stats_published++;
    char hex[33];
    envelope_id_hex(rec->message_id.data, 16, hex);
    log_event(&a->log, LOG_INFO, "flag-accepted", "message=%s recipients=%zu source=spool "
              "file=%s", hex, rec->n_parts, name);
    /* Committed: safe in the outbox whatever happens to the broker. */
    outbox_send(a, rec, NULL);
    file_done(a, src, name, rec);
    flagpost__outbox_record__free_unpacked(rec, NULL);
    return true;
}

/* Up to SPOOL_BATCH wanted names in in/, sorted; returns how many. */
static size_t list_in(agent *a, char **names, bool *more)
{
    char dir[SPOOL_PATH_MAX];
    sub_path(a, "in", dir);
    *more = false;
    DIR *d = opendir(dir);
    if (d == NULL) {
        log_event(&a->log, LOG_ERROR, "spool-unreadable", "dir=%s error=\"%s\"", dir,
                  strerror(errno));
        return 0;
    }
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!spool_name_wanted(e->d_name))
            continue;
        if (n == SPOOL_BATCH) {
            *more = true;
            break;
        }
        if ((names[n] = strdup(e->d_name)) != NULL)
            n++;
    }
    closedir(d);
    qsort(names, n, sizeof *names, by_name);
    return n;
}

void spool_poll(agent *a, int64_t now_ms)
{
    if (a->cfg.spool_dir == NULL || now_ms < a->next_spool_ms)
        return;
    a->next_spool_ms = now_ms + SPOOL_POLL_MS;
    char *names[SPOOL_BATCH];
    bool more;
    size_t n = list_in(a, names, &more);
    for (size_t i = 0; i < n; i++) {
        if (names[i] != NULL && !publish_file(a, names[i])) {
            a->next_spool_ms = now_ms + SPOOL_RETRY_MS;
            more = false;
            for (size_t k = i; k < n; k++)
                free(names[k]);
            return;
        }
        free(names[i]);
    }
    if (more)
        a->next_spool_ms = now_ms;   /* a backlog: carry on at the next turn of the loop */
}

/* ---------------------------------------------------------------- received */

/* The stored flag a delivery became, if it is still the latest version;
 * for a withdrawal, the flag it withdrew (its state says so). */
static json_t *received_json(agent *a, const Flagpost__Deliver *dv, char id_hex[33])
{
    Flagpost__Envelope *env = NULL;
    Flagpost__FlagBody *body = NULL;
    json_t *j = NULL;
    if (dv->signed_ == NULL || envelope_decode(dv->signed_, &env, NULL) != FP_OK)
        return NULL;
    body = flagpost__flag_body__unpack(NULL, env->body.len, env->body.data);
    MDB_txn *txn;
    if (body != NULL && body->flag_id.len == 16 &&
        agent_store_begin(a->store, false, &txn, NULL) == FP_OK) {
        Flagpost__StoredFlag *f = NULL;
        if (agent_store_flag_get(a->store, txn, body->flag_id.data, &f, NULL) == FP_OK &&
            f->message_id.len == 16 && env->message_id.len == 16 &&
            (memcmp(f->message_id.data, env->message_id.data, 16) == 0 ||
             f->state != FLAGPOST__FLAG_STATE__FLAG_ACTIVE)) {
            j = lookup_flag_to_json(a, f);
            envelope_id_hex(env->message_id.data, 16, id_hex);
        }
        if (f != NULL)
            flagpost__stored_flag__free_unpacked(f, NULL);
        agent_store_abort(txn);
    }
    if (body != NULL)
        flagpost__flag_body__free_unpacked(body, NULL);
    flagpost__envelope__free_unpacked(env, NULL);
    return j;
}

void spool_write_received(agent *a, Flagpost__ToAgent *const *msgs, const bool *fresh,
                          size_t n)
{
    if (a->cfg.spool_dir == NULL)
        return;
    char dir[SPOOL_PATH_MAX], path[SPOOL_PATH_MAX], name[48];
    sub_path(a, "received", dir);
    for (size_t i = 0; i < n; i++) {
        char id[33];
        json_t *j = fresh[i] && msgs[i]->kind_case == FLAGPOST__TO_AGENT__KIND_DELIVER
                        ? received_json(a, msgs[i]->deliver, id)
                        : NULL;
        if (j == NULL)
            continue;   /* not a flag we stored, or a newer version came in the same batch */
        char *text = dump_json(j);
        json_decref(j);
        fp_error err;
        snprintf(name, sizeof name, "%s.json", id);
        /* fileio writes NAME.json.tmp.PID first, a name a reader of *.json skips. */
        if (text == NULL || fileio_join(path, sizeof path, dir, name, &err) != FP_OK ||
            fileio_write_atomic(path, text, strlen(text), SPOOL_FILE_MODE, &err) != FP_OK)
            log_event(&a->log, LOG_ERROR, "spool-write-failed", "message=%s error=\"%s\"", id,
                      text == NULL ? "out of memory" : err.message);
        free_wiped(text, text != NULL ? strlen(text) : 0);
    }
}
