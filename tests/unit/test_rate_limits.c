/*
 * Unit tests for the broker's rate limiting: the token bucket (tbucket),
 * the per-agency limiter (agency_limit) and the kernel SYN filter
 * (synfilter) on a real listening socket on 127.0.0.1.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agency_limit.h"
#include "check.h"
#include "synfilter.h"
#include "tbucket.h"

static void test_bucket_burst_then_rate(void)
{
    tbucket t = {0};
    int64_t now = 1000000;
    int ok = 0;
    for (int i = 0; i < 30; i++)
        ok += tbucket_take(&t, 10, 20, now);
    CHECK_EQ_INT(ok, 20);                       /* a full bucket: the burst, no more */
    CHECK(!tbucket_take(&t, 10, 20, now + 50)); /* half a token */
    CHECK(tbucket_take(&t, 10, 20, now + 100)); /* one token after 100 ms at 10/s */
    CHECK(!tbucket_take(&t, 10, 20, now + 100));
    ok = 0;
    for (int i = 0; i < 100; i++)
        ok += tbucket_take(&t, 10, 20, now + 100 + 100000);   /* long idle: refilled to burst only */
    CHECK_EQ_INT(ok, 20);
}

static void test_bucket_unlimited_and_clock_steps(void)
{
    tbucket t = {0};
    for (int i = 0; i < 1000; i++)
        CHECK(tbucket_take(&t, 0, 1, 5));        /* rate 0: no limit */
    tbucket u = {0};
    for (int i = 0; i < 5; i++)
        tbucket_take(&u, 1, 5, 10000);
    CHECK(!tbucket_take(&u, 1, 5, 9000));        /* a clock step back refills nothing */
    CHECK(!tbucket_take(&u, 1, 5, 10000));
    CHECK(tbucket_take(&u, 1, 5, 11000));
}

typedef struct seen {
    char agency[64];
    uint64_t refused;
    int calls;
} seen;

static void record(void *ctx, const char *agency, uint64_t refused)
{
    seen *s = ctx;
    snprintf(s->agency, sizeof s->agency, "%s", agency);
    s->refused = refused;
    s->calls++;
}

static void test_agency_limit_per_agency(void)
{
    agency_limit *l = agency_limit_new(5, 10);
    CHECK(l != NULL);
    int ok = 0;
    for (int i = 0; i < 25; i++)
        ok += agency_limit_take(l, "idva", 1000);
    CHECK_EQ_INT(ok, 10);
    CHECK(agency_limit_take(l, "met-police", 1000));   /* another agency: its own bucket */
    CHECK(agency_limit_pending(l));
    seen s = {0};
    CHECK_EQ_INT((int)agency_limit_report(l, record, &s), 1);
    CHECK_EQ_INT(s.calls, 1);
    CHECK_EQ_STR(s.agency, "idva");
    CHECK_EQ_INT((int)s.refused, 15);
    CHECK(!agency_limit_pending(l));                    /* the report resets the counts */
    CHECK_EQ_INT((int)agency_limit_report(l, record, &s), 0);
    char text[256];
    agency_limit_describe(l, text, sizeof text);
    CHECK(strstr(text, "rate-limited") != NULL && strstr(text, "resent") != NULL);
    agency_limit_free(l);
    agency_limit *off = agency_limit_new(0, 1);
    for (int i = 0; i < 100; i++)
        CHECK(agency_limit_take(off, "idva", 1000));
    agency_limit_free(off);
}

/* Connect from source address `from` to 127.0.0.1:port; 0 when the
 * connection completed within 300 ms. */
static int connect_from(const char *from, uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct timeval tv = {0, 300000};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    struct sockaddr_in src = {.sin_family = AF_INET}, dst = {.sin_family = AF_INET};
    inet_pton(AF_INET, from, &src.sin_addr);
    bind(fd, (struct sockaddr *)&src, sizeof src);
    inet_pton(AF_INET, "127.0.0.1", &dst.sin_addr);
    dst.sin_port = htons(port);
    int rc = connect(fd, (struct sockaddr *)&dst, sizeof dst);
    close(fd);
    return rc;
}

static void test_synfilter_drops_blocked_syns(void)
{
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    socklen_t len = sizeof a;
    CHECK(bind(ls, (struct sockaddr *)&a, sizeof a) == 0 && listen(ls, 64) == 0);
    getsockname(ls, (struct sockaddr *)&a, &len);
    uint16_t port = ntohs(a.sin_port);
    synfilter f;
    synfilter_init(&f);
    synfilter_set_listener(&f, ls);
    CHECK(synfilter_block(&f, "127.0.0.2", 10000));
    CHECK(!synfilter_block(&f, "::1", 10000));         /* IPv4 only */
    CHECK_EQ_INT(synfilter_apply(&f, 1000), 0);
    CHECK_EQ_INT(connect_from("127.0.0.2", port), -1); /* dropped: the SYN never answered */
    CHECK_EQ_INT(connect_from("127.0.0.3", port), 0);
    /* Unknown addresses blocked, a known one let through. */
    synfilter_known(&f, "127.0.0.4", 10000);
    synfilter_block_unknown(&f, 5000);
    CHECK_EQ_INT(synfilter_apply(&f, 1000), 0);
    CHECK_EQ_INT(connect_from("127.0.0.3", port), -1);
    CHECK_EQ_INT(connect_from("127.0.0.4", port), 0);
    /* Everything expires. */
    CHECK_EQ_INT(synfilter_apply(&f, 20000), 0);
    CHECK_EQ_INT(connect_from("127.0.0.2", port), 0);
    CHECK_EQ_INT(connect_from("127.0.0.3", port), 0);
    close(ls);
}

int main(void)
{
    RUN(test_bucket_burst_then_rate);
    RUN(test_bucket_unlimited_and_clock_steps);
    RUN(test_agency_limit_per_agency);
    RUN(test_synfilter_drops_blocked_syns);
    return check_summary();
}
