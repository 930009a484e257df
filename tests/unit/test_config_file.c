/*
 * config_file: parsing settings files, and merging them with the command
 * line so that getopt sees the file first and the command line wins.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "config_file.h"

static const struct option opts[] = {
    {"identity", required_argument, NULL, 'i'},
    {"data", required_argument, NULL, 'd'},
    {"log-level", required_argument, NULL, 'l'},
    {"map-size", required_argument, NULL, 'm'},
    {"verbose", no_argument, NULL, 'v'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0}};

static int parse_text(const char *text, config_args *out, fp_error *err)
{
    fp_error_clear(err);
    return config_file_parse("test.conf", text, strlen(text), opts, out, err);
}

static void test_settings_become_arguments(void)
{
    config_args a;
    fp_error err;
    int rc = parse_text("# broker\n"
                        "\n"
                        "identity = /etc/flagpost/id\n"
                        "  data=/var/lib/flagpost   \n"
                        "log-level\t=\tdebug   # noisy for now\n",
                        &a, &err);
    CHECK_EQ_INT(rc, FP_OK);
    CHECK_EQ_INT(a.argc, 3);
    if (a.argc == 3) {
        CHECK_EQ_STR(a.argv[0], "--identity=/etc/flagpost/id");
        CHECK_EQ_STR(a.argv[1], "--data=/var/lib/flagpost");
        CHECK_EQ_STR(a.argv[2], "--log-level=debug");
        CHECK(a.argv[3] == NULL);
    }
    config_args_free(&a);
}

static void test_quotes_keep_hash_and_spaces(void)
{
    config_args a;
    fp_error err;
    CHECK_EQ_INT(parse_text("data = \"/srv/a #1 \"  # comment\nidentity=/x#y\n", &a, &err),
                 FP_OK);
    CHECK_EQ_INT(a.argc, 2);
    if (a.argc == 2) {
        CHECK_EQ_STR(a.argv[0], "--data=/srv/a #1 ");
        CHECK_EQ_STR(a.argv[1], "--identity=/x#y");   /* '#' inside a word is not a comment */
    }
    config_args_free(&a);
}

static void test_crlf_and_no_final_newline(void)
{
    config_args a;
    fp_error err;
    CHECK_EQ_INT(parse_text("data = /d\r\nmap-size = 64", &a, &err), FP_OK);
    CHECK_EQ_INT(a.argc, 2);
    if (a.argc == 2) {
        CHECK_EQ_STR(a.argv[0], "--data=/d");
        CHECK_EQ_STR(a.argv[1], "--map-size=64");
    }
    config_args_free(&a);
}

static void test_switches(void)
{
    config_args a;
    fp_error err;
    CHECK_EQ_INT(parse_text("verbose = yes\n", &a, &err), FP_OK);
    CHECK_EQ_INT(a.argc, 1);
    if (a.argc == 1)
        CHECK_EQ_STR(a.argv[0], "--verbose");
    config_args_free(&a);
    CHECK_EQ_INT(parse_text("verbose = no\n", &a, &err), FP_OK);
    CHECK_EQ_INT(a.argc, 0);
    config_args_free(&a);
    CHECK_EQ_INT(parse_text("verbose = maybe\n", &a, &err), FP_ERR_INPUT);
    CHECK(strstr(err.message, "test.conf:1:") != NULL);
}

static void test_errors_name_file_and_line(void)
{
    config_args a;
    fp_error err;
    CHECK_EQ_INT(parse_text("data = /d\n\nbind = tcp://x\n", &a, &err), FP_ERR_INPUT);
    CHECK(strstr(err.message, "test.conf:3:") != NULL);
    CHECK(strstr(err.message, "unknown setting 'bind'") != NULL);
    CHECK(strstr(err.message, "identity, data, log-level, map-size, verbose") != NULL);

    CHECK_EQ_INT(parse_text("log_level = info\n", &a, &err), FP_ERR_INPUT);
    CHECK(strstr(err.message, "did you mean 'log-level'") != NULL);

    CHECK_EQ_INT(parse_text("# c\ndata /d\n", &a, &err), FP_ERR_INPUT);
    CHECK(strstr(err.message, "test.conf:2: expected 'key = value'") != NULL);

    CHECK_EQ_INT(parse_text("data =   # nothing\n", &a, &err), FP_ERR_INPUT);
    CHECK(strstr(err.message, "test.conf:1: 'data' has no value") != NULL);

    CHECK_EQ_INT(parse_text("data = /a\nidentity = /i\ndata = /b\n", &a, &err), FP_ERR_INPUT);
    CHECK(strstr(err.message, "test.conf:3: 'data' is set again (first on line 1)") != NULL);

    CHECK_EQ_INT(parse_text("data = \"/a\n", &a, &err), FP_ERR_INPUT);
    CHECK(strstr(err.message, "test.conf:1:") != NULL);

    CHECK_EQ_INT(parse_text("help = yes\n", &a, &err), FP_ERR_INPUT);
    CHECK(strstr(err.message, "unknown setting 'help'") != NULL);

    CHECK_EQ_INT(parse_text("da ta = x\n", &a, &err), FP_ERR_INPUT);
    CHECK(strstr(err.message, "not a setting name") != NULL);
}

static void test_nul_byte_refused(void)
{
    config_args a;
    fp_error err;
    fp_error_clear(&err);
    CHECK_EQ_INT(config_file_parse("t.conf", "data = /a\0b\n", 12, opts, &a, &err), FP_ERR_INPUT);
    CHECK(strstr(err.message, "NUL") != NULL);
}

static char *write_temp(const char *text)
{
    static char path[64];
    snprintf(path, sizeof path, "/tmp/fp-config-test.XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0)
        return NULL;
    if (write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
        close(fd);
        return NULL;
    }
    close(fd);
    return path;
}

/* What a program would end up with: getopt over the merged list. */
static void run_getopt(config_args *a, const char **data, const char **level)
{
    *data = *level = NULL;
    optind = 1;
    int c;
    while ((c = getopt_long(a->argc, a->argv, "h", opts, NULL)) != -1) {
        if (c == 'd')
            *data = optarg;
        if (c == 'l')
            *level = optarg;
    }
}

static void test_merge_command_line_wins(void)
{
    char *path = write_temp("data = /from/file\nlog-level = warn\n");
    CHECK(path != NULL);
    if (path == NULL)
        return;
    char *argv[] = {"prog", "--data", "/from/cli", "--config", path, NULL};
    config_args a;
    fp_error err;
    fp_error_clear(&err);
    CHECK_EQ_INT(config_file_merge(5, argv, opts, &a, &err), FP_OK);
    CHECK_EQ_INT(a.argc, 5);   /* prog + 2 settings + --data /from/cli */
    const char *data, *level;
    run_getopt(&a, &data, &level);
    CHECK_EQ_STR(data, "/from/cli");
    CHECK_EQ_STR(level, "warn");
    config_args_free(&a);

    char *argv2[] = {"prog", "--config=", NULL};
    CHECK_EQ_INT(config_file_merge(2, argv2, opts, &a, &err), FP_ERR_INPUT);
    char *argv3[] = {"prog", "--config", path, "--config", path, NULL};
    CHECK_EQ_INT(config_file_merge(5, argv3, opts, &a, &err), FP_ERR_INPUT);
    CHECK(strstr(err.message, "twice") != NULL);
    char *argv4[] = {"prog", "--config", NULL};
    CHECK_EQ_INT(config_file_merge(2, argv4, opts, &a, &err), FP_ERR_INPUT);
    unlink(path);
}

static void test_merge_without_config_copies(void)
{
    char *argv[] = {"prog", "--data", "/d", NULL};
    config_args a;
    fp_error err;
    fp_error_clear(&err);
    CHECK_EQ_INT(config_file_merge(3, argv, opts, &a, &err), FP_OK);
    CHECK_EQ_INT(a.argc, 3);
    if (a.argc == 3)
        CHECK_EQ_STR(a.argv[2], "/d");
    config_args_free(&a);
}

static void test_merge_missing_and_bad_file(void)
{
    char *argv[] = {"prog", "--config", "/nonexistent/flagpost.conf", NULL};
    config_args a;
    fp_error err;
    fp_error_clear(&err);
    CHECK(config_file_merge(3, argv, opts, &a, &err) != FP_OK);
    CHECK(strstr(err.message, "/nonexistent/flagpost.conf") != NULL);

    char *path = write_temp("data = /d\nsocket = ipc:///x\n");
    CHECK(path != NULL);
    if (path == NULL)
        return;
    char *argv2[] = {"prog", "--config", path, NULL};
    CHECK_EQ_INT(config_file_merge(3, argv2, opts, &a, &err), FP_ERR_INPUT);
    char want[128];
    snprintf(want, sizeof want, "%s:2: unknown setting 'socket'", path);
    CHECK(strstr(err.message, want) != NULL);
    unlink(path);
}

int main(void)
{
    RUN(test_settings_become_arguments);
    RUN(test_quotes_keep_hash_and_spaces);
    RUN(test_crlf_and_no_final_newline);
    RUN(test_switches);
    RUN(test_errors_name_file_and_line);
    RUN(test_nul_byte_refused);
    RUN(test_merge_command_line_wins);
    RUN(test_merge_without_config_copies);
    RUN(test_merge_missing_and_bad_file);
    return check_summary();
}
