/*
 * Unit tests for cli/json_input.c: a JSON document from a file or from
 * standard input (a pipe standing in for it here), the size limit on
 * both, duplicate keys refused, and errors that name the source and the
 * line and column of bad JSON.
 */
#include <jansson.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "json_input.h"

static char tmpdir[] = "/tmp/fp-json-input.XXXXXX";

static const char *write_file(const char *name, const char *text)
{
    static char path[256];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "w");
    if (f != NULL) {
        fputs(text, f);
        fclose(f);
    }
    return path;
}

/* Make standard input a pipe holding len bytes of text (written by a
 * child, so a document larger than the pipe's buffer does not block). */
static int stdin_from(const char *text, size_t len)
{
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        size_t done = 0;
        while (done < len) {
            ssize_t n = write(fds[1], text + done, len - done);
            if (n <= 0)
                _exit(1);
            done += (size_t)n;
        }
        _exit(0);
    }
    close(fds[1]);
    int rc = dup2(fds[0], STDIN_FILENO);
    close(fds[0]);
    return pid > 0 && rc >= 0 ? 0 : -1;
}

static void test_file(void)
{
    json_t *v = NULL;
    fp_error err;
    const char *path = write_file("flag.json", "{\"risk\": \"high\", \"n\": 3}");
    CHECK_EQ_INT(json_input_read(path, 1024, &v, &err), FP_OK);
    CHECK(v != NULL && strcmp(json_string_value(json_object_get(v, "risk")), "high") == 0);
    json_decref(v);
}

static void test_file_errors(void)
{
    json_t *v = NULL;
    fp_error err;
    const char *path = write_file("bad.json", "{\n  \"a\": 1,\n  \"b\": }\n");
    CHECK_EQ_INT(json_input_read(path, 1024, &v, &err), FP_ERR_INPUT);
    CHECK(v == NULL);
    CHECK(strstr(err.message, "bad.json: malformed JSON at line 3") != NULL);

    path = write_file("dup.json", "{\"a\": 1, \"a\": 2}");
    CHECK_EQ_INT(json_input_read(path, 1024, &v, &err), FP_ERR_INPUT);
    CHECK(strstr(err.message, "duplicate") != NULL);

    path = write_file("big.json", "{\"a\": \"0123456789\"}");
    CHECK_EQ_INT(json_input_read(path, 10, &v, &err), FP_ERR_INPUT);
    CHECK(strstr(err.message, "the limit is 10") != NULL);

    CHECK(json_input_read("/nonexistent/flag.json", 1024, &v, &err) != FP_OK);
    CHECK(strstr(err.message, "/nonexistent/flag.json") != NULL);
}

static void test_stdin(void)
{
    /* Larger than the first buffer and than a pipe's, so it grows. */
    size_t n = 200000;
    char *text = malloc(n + 32);
    CHECK(text != NULL);
    if (text == NULL)
        return;
    strcpy(text, "{\"notes\": \"");
    size_t at = strlen(text);
    memset(text + at, 'x', n);
    strcpy(text + at + n, "\"}");
    json_t *v = NULL;
    fp_error err;
    CHECK_EQ_INT(stdin_from(text, strlen(text)), 0);
    CHECK_EQ_INT(json_input_read("-", 1 << 20, &v, &err), FP_OK);
    CHECK(v != NULL && strlen(json_string_value(json_object_get(v, "notes"))) == n);
    json_decref(v);

    CHECK_EQ_INT(stdin_from(text, strlen(text)), 0);
    CHECK_EQ_INT(json_input_read("-", 100000, &v, &err), FP_ERR_INPUT);
    CHECK(v == NULL && strstr(err.message, "standard input holds more than 100000") != NULL);
    free(text);

    CHECK_EQ_INT(stdin_from("[1, 2", 5), 0);
    CHECK_EQ_INT(json_input_read("-", 1024, &v, &err), FP_ERR_INPUT);
    CHECK(strstr(err.message, "standard input: malformed JSON at line 1") != NULL);

    CHECK_EQ_INT(stdin_from("", 0), 0);
    CHECK_EQ_INT(json_input_read("-", 1024, &v, &err), FP_ERR_INPUT);
}

int main(void)
{
    if (mkdtemp(tmpdir) == NULL)
        return 1;
    signal(SIGCHLD, SIG_IGN);   /* the pipe writers reap themselves */
    RUN(test_file);
    RUN(test_file_errors);
    RUN(test_stdin);
    const char *names[] = {"flag.json", "bad.json", "dup.json", "big.json"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char path[256];
        snprintf(path, sizeof path, "%s/%s", tmpdir, names[i]);
        unlink(path);
    }
    rmdir(tmpdir);
    return check_summary();
}
