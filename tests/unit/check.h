/*
 * check.h: the unit-test harness.  Header-only so each test file is one
 * self-contained program.
 *
 * A test file defines functions and lists them in main():
 *
 *     static void test_nhs_check_digit(void) { CHECK(pseudonym_nhs_valid("9434765919")); }
 *     int main(void) { RUN(test_nhs_check_digit); return check_summary(); }
 *
 * Output is one line per test, "ok NAME" or "not ok NAME", plus a line per
 * failed CHECK with file:line.  tests/run counts those lines.  A test that
 * makes no CHECK at all is reported as a failure: it proves nothing.
 */
#ifndef FLAGPOST_CHECK_H
#define FLAGPOST_CHECK_H

#include <stdio.h>
#include <string.h>

struct check_state {
    int failed_checks;   /* in the running test */
    int checks;          /* in the running test */
    int tests_passed;
    int tests_failed;
};

static struct check_state check_state_;

#define CHECK(cond)                                                          \
    do {                                                                     \
        check_state_.checks++;                                               \
        if (!(cond)) {                                                       \
            check_state_.failed_checks++;                                    \
            fprintf(stdout, "#   %s:%d: CHECK(%s) failed\n", __FILE__,      \
                    __LINE__, #cond);                                        \
        }                                                                    \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                   \
    do {                                                                     \
        long long va_ = (long long)(a), vb_ = (long long)(b);                \
        check_state_.checks++;                                               \
        if (va_ != vb_) {                                                    \
            check_state_.failed_checks++;                                    \
            fprintf(stdout, "#   %s:%d: %s == %s failed: %lld != %lld\n",   \
                    __FILE__, __LINE__, #a, #b, va_, vb_);                   \
        }                                                                    \
    } while (0)

#define CHECK_EQ_STR(a, b)                                                   \
    do {                                                                     \
        const char *sa_ = (a), *sb_ = (b);                                   \
        check_state_.checks++;                                               \
        if (sa_ == NULL || sb_ == NULL || strcmp(sa_, sb_) != 0) {           \
            check_state_.failed_checks++;                                    \
            fprintf(stdout, "#   %s:%d: %s == %s failed: \"%s\" != \"%s\"\n", \
                    __FILE__, __LINE__, #a, #b, sa_ ? sa_ : "(null)",        \
                    sb_ ? sb_ : "(null)");                                   \
        }                                                                    \
    } while (0)

#define RUN(fn)                                                              \
    do {                                                                     \
        check_state_.checks = 0;                                             \
        check_state_.failed_checks = 0;                                      \
        fn();                                                                \
        if (check_state_.failed_checks == 0 && check_state_.checks > 0) {    \
            check_state_.tests_passed++;                                     \
            printf("ok %s\n", #fn);                                          \
        } else {                                                             \
            check_state_.tests_failed++;                                     \
            if (check_state_.checks == 0)                                    \
                printf("#   %s made no checks\n", #fn);                      \
            printf("not ok %s\n", #fn);                                      \
        }                                                                    \
        fflush(stdout);                                                      \
    } while (0)

static inline int check_summary(void)
{
    return check_state_.tests_failed == 0 ? 0 : 1;
}

#endif
