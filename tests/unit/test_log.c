/*
 * Unit tests for lib/log.c: what reaches stderr (captured through a pipe)
 * is one line per event, in the documented shape, and a value carrying a
 * newline, a carriage return or an escape cannot end the line early or
 * forge a second event; levels above the configured one are dropped.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "log.h"

/* Run one log_event with stderr sent into a pipe; returns what it wrote. */
static char *captured(int level, const char *event, const char *value)
{
    static char out[8192];
    int fds[2], saved = dup(STDERR_FILENO);
    if (pipe(fds) != 0 || saved < 0)
        return NULL;
    dup2(fds[1], STDERR_FILENO);
    fp_log log = {.level = LOG_INFO, .program = "flagpost-test"};
    log_event(&log, level, event, "name=\"%s\" n=%d", value, 7);
    dup2(saved, STDERR_FILENO);
    close(saved);
    close(fds[1]);
    ssize_t n = read(fds[0], out, sizeof out - 1);
    close(fds[0]);
    out[n > 0 ? n : 0] = '\0';
    return out;
}

static int count_char(const char *s, char c)
{
    int n = 0;
    for (; *s; s++)
        n += *s == c;
    return n;
}

static void test_one_line_in_the_documented_shape(void)
{
    char *line = captured(LOG_INFO, "spool-accepted", "case-17.json");
    CHECK(line != NULL && strlen(line) > 30);
    CHECK_EQ_INT(count_char(line, '\n'), 1);
    CHECK(line[strlen(line) - 1] == '\n');
    CHECK(strstr(line, "Z flagpost-test info spool-accepted name=\"case-17.json\" n=7\n") != NULL);
    CHECK(line[4] == '-' && line[10] == 'T');
}

static void test_a_value_cannot_forge_a_line(void)
{
    const char *evil = "x.json\n2026-11-22T11:20:25.123Z flagpost-agent info flag-published "
                       "ok=1\r\x1b[2K";
    char *line = captured(LOG_WARN, "spool-rejected", evil);
    CHECK_EQ_INT(count_char(line, '\n'), 1);
    CHECK_EQ_INT(count_char(line, '\r'), 0);
    CHECK_EQ_INT(count_char(line, '\x1b'), 0);
    CHECK(strstr(line, "x.json\\x0a2026-11-22T11:20:25.123Z flagpost-agent info") != NULL);
    CHECK(strstr(line, "ok=1\\x0d\\x1b[2K\" n=7\n") != NULL);
}

static void test_levels_above_the_configured_one_are_dropped(void)
{
    char *line = captured(LOG_DEBUG, "noisy", "v");
    CHECK_EQ_STR(line, "");
}

static void test_a_long_value_is_cut_but_still_one_line(void)
{
    char big[3000];
    memset(big, '\n', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    char *line = captured(LOG_ERROR, "long", big);
    CHECK_EQ_INT(count_char(line, '\n'), 1);
    CHECK(strlen(line) > 1024);   /* every cut-off newline was escaped, 4 bytes each */
}

int main(void)
{
    RUN(test_one_line_in_the_documented_shape);
    RUN(test_a_value_cannot_forge_a_line);
    RUN(test_levels_above_the_configured_one_are_dropped);
    RUN(test_a_long_value_is_cut_but_still_one_line);
    return check_summary();
}
