/*
 * Unit tests for broker/peers.c: the in-memory connection table.  A new
 * ZeroMQ routing id for an agency is a new connection and must restart
 * delivery (cursor and in-flight count back to zero).  A batch that does
 * not commit puts the table back as it was marked.
 */
#include <string.h>

#include "check.h"
#include "peers.h"

static const unsigned char R1[] = {0x00, 0x6b, 0x8b, 0x45, 0x67};
static const unsigned char R2[] = {0x00, 0x6b, 0x8b, 0x45, 0x68};

static void test_first_contact_is_fresh(void)
{
    peers *p = NULL;
    CHECK_EQ_INT(peers_new(&p), 0);
    CHECK(p != NULL);
    CHECK_EQ_INT(peers_count(p), 0);
    CHECK(peers_find(p, "police") == NULL);
    CHECK(peers_at(p, 0) == NULL);
    bool fresh = false;
    peer *e = peers_touch(p, "police", R1, sizeof R1, 1000, &fresh);
    CHECK(e != NULL);
    CHECK(fresh);
    if (e != NULL) {
        CHECK_EQ_STR(e->agency, "police");
        CHECK(e->connected);
        CHECK_EQ_INT(e->connected_ms, 1000);
        CHECK_EQ_INT(e->last_heard_ms, 1000);
        CHECK_EQ_INT(e->last_progress_ms, 1000);
        CHECK_EQ_INT(e->cursor, 0);
        CHECK_EQ_INT(e->inflight, 0);
        CHECK(e->routing_len == sizeof R1 && memcmp(e->routing, R1, sizeof R1) == 0);
    }
    CHECK_EQ_INT(peers_count(p), 1);
    CHECK(peers_find(p, "police") == e);
    CHECK(peers_at(p, 0) == e);
    CHECK(peers_at(p, 1) == NULL);
    peers_free(p);
}

static void test_same_connection_is_not_fresh(void)
{
    peers *p = NULL;
    peers_new(&p);
    bool fresh = false;
    peer *e = peers_touch(p, "police", R1, sizeof R1, 1000, &fresh);
    CHECK(e != NULL && fresh);
    if (e == NULL) {
        peers_free(p);
        return;
    }
    e->cursor = 41;
    e->inflight = 3;
    e->last_progress_ms = 1500;
    peer *again = peers_touch(p, "police", R1, sizeof R1, 2000, &fresh);
    CHECK(again == e);
    CHECK(!fresh);
    CHECK_EQ_INT(e->cursor, 41);          /* delivery state kept */
    CHECK_EQ_INT(e->inflight, 3);
    CHECK_EQ_INT(e->connected_ms, 1000);
    CHECK_EQ_INT(e->last_progress_ms, 1500);
    CHECK_EQ_INT(e->last_heard_ms, 2000); /* but it was heard from */
    CHECK_EQ_INT(peers_count(p), 1);
    peers_free(p);
}

/* A table where police connected on R1 at 1000 and has 3 of its queue
 * up to seq 41 in flight; NULL (checked, table freed) if it cannot. */
static peer *police_mid_delivery(peers **p)
{
    bool fresh = false;
    peers_new(p);
    peer *e = peers_touch(*p, "police", R1, sizeof R1, 1000, &fresh);
    CHECK(e != NULL);
    if (e == NULL) {
        peers_free(*p);
        return NULL;
    }
    e->cursor = 41;
    e->inflight = 3;
    return e;
}

static void test_reconnection_resets_cursor_and_inflight(void)
{
    peers *p = NULL;
    bool fresh = false;
    peer *e = police_mid_delivery(&p);
    if (e == NULL)
        return;
    e = peers_touch(p, "police", R2, sizeof R2, 5000, &fresh);
    CHECK(e != NULL && fresh);
    if (e != NULL) {
        CHECK_EQ_INT(e->cursor, 0);
        CHECK_EQ_INT(e->inflight, 0);
        CHECK_EQ_INT(e->connected_ms, 5000);
        CHECK_EQ_INT(e->last_progress_ms, 5000);
        CHECK(memcmp(e->routing, R2, sizeof R2) == 0);
    }
    CHECK_EQ_INT(peers_count(p), 1);   /* still one agency */
    /* A routing id that is a prefix of the current one is another
     * connection too. */
    e->cursor = 7;
    e = peers_touch(p, "police", R2, sizeof R2 - 1, 6000, &fresh);
    CHECK(e != NULL && fresh);
    CHECK(e != NULL && e->cursor == 0 && e->routing_len == sizeof R2 - 1);
    /* So is the same routing id after the broker marked it disconnected. */
    e->connected = false;
    e->cursor = 9;
    e = peers_touch(p, "police", R2, sizeof R2 - 1, 7000, &fresh);
    CHECK(e != NULL && fresh && e->connected && e->cursor == 0);
    peers_free(p);
}

static void test_agencies_are_separate(void)
{
    peers *p = NULL;
    peers_new(&p);
    bool fresh = false;
    peer *a = peers_touch(p, "a", R1, sizeof R1, 1, &fresh);
    CHECK(a != NULL && fresh);
    if (a)
        a->cursor = 5;
    /* Same routing id, different agency: a separate entry. */
    peer *ab = peers_touch(p, "ab", R1, sizeof R1, 2, &fresh);
    CHECK(ab != NULL && fresh);
    CHECK_EQ_INT(peers_count(p), 2);
    peer *fa = peers_find(p, "a");
    CHECK(fa != NULL && fa->cursor == 5);
    CHECK(peers_find(p, "ab") != NULL && peers_find(p, "ab")->cursor == 0);
    CHECK(peers_find(p, "b") == NULL);
    peers_free(p);
}

/* More agencies than the initial capacity: the table grows and every entry
 * keeps its state (callers re-find entries after a touch). */
static void test_many_agencies(void)
{
    peers *p = NULL;
    peers_new(&p);
    bool fresh;
    size_t made = 0;
    for (int i = 0; i < 100; i++) {
        char name[16];
        snprintf(name, sizeof name, "agency-%d", i);
        unsigned char r[2] = {0, (unsigned char)i};
        peer *e = peers_touch(p, name, r, 2, i, &fresh);
        if (e != NULL && fresh) {
            e->cursor = (uint64_t)i * 10;
            made++;
        }
    }
    CHECK_EQ_INT(made, 100);
    CHECK_EQ_INT(peers_count(p), 100);
    size_t right = 0;
    for (int i = 0; i < 100; i++) {
        char name[16];
        snprintf(name, sizeof name, "agency-%d", i);
        peer *e = peers_find(p, name);
        if (e != NULL && e->cursor == (uint64_t)i * 10 && e->routing[1] == i)
            right++;
    }
    CHECK_EQ_INT(right, 100);
    size_t seen = 0;
    for (size_t i = 0; i < peers_count(p); i++)
        seen += peers_at(p, i) != NULL;
    CHECK_EQ_INT(seen, 100);
    peers_free(p);
}

static void test_routing_id_limits(void)
{
    peers *p = NULL;
    peers_new(&p);
    unsigned char big[PEER_ROUTING_MAX + 1];
    memset(big, 7, sizeof big);
    bool fresh = true;
    CHECK(peers_touch(p, "police", big, sizeof big, 1, &fresh) == NULL);
    CHECK(!fresh);
    CHECK_EQ_INT(peers_count(p), 0);
    peer *e = peers_touch(p, "police", big, PEER_ROUTING_MAX, 1, &fresh);
    CHECK(e != NULL && fresh && e->routing_len == PEER_ROUTING_MAX);
    peers_free(p);
    peers_free(NULL);
}

/* A batch that does not commit puts the table back (batch.c): a
 * reconnection and an acknowledgement undone, an agency added since the
 * mark dropped, and the entry still at its old address.  Marking again
 * moves the point rolled back to. */
static void test_rollback_restores_the_mark(void)
{
    peers *p = NULL;
    bool fresh = false;
    peer *e = police_mid_delivery(&p);
    if (e == NULL)
        return;
    CHECK_EQ_INT(peers_mark(p), 0);
    e->inflight = 2;                                           /* an acknowledgement */
    CHECK(peers_touch(p, "police", R2, sizeof R2, 2000, &fresh) == e && fresh);
    CHECK(peers_touch(p, "health", R1, sizeof R1, 2000, &fresh) != NULL && fresh);
    CHECK_EQ_INT(peers_count(p), 2);
    peers_rollback(p);
    CHECK_EQ_INT(peers_count(p), 1);
    CHECK(peers_find(p, "health") == NULL);
    CHECK(peers_find(p, "police") == e);
    CHECK_EQ_INT(e->cursor, 41);
    CHECK_EQ_INT(e->inflight, 3);
    CHECK(e->routing_len == sizeof R1 && memcmp(e->routing, R1, sizeof R1) == 0);
    CHECK_EQ_INT(e->connected_ms, 1000);
    /* The same touch is fresh again after the rollback. */
    CHECK(peers_touch(p, "police", R2, sizeof R2, 3000, &fresh) == e && fresh);
    CHECK_EQ_INT(peers_mark(p), 0);
    e->cursor = 5;
    peers_rollback(p);
    CHECK_EQ_INT(e->cursor, 0);
    CHECK(memcmp(e->routing, R2, sizeof R2) == 0);
    peers_free(p);
}

int main(void)
{
    RUN(test_first_contact_is_fresh);
    RUN(test_same_connection_is_not_fresh);
    RUN(test_reconnection_resets_cursor_and_inflight);
    RUN(test_agencies_are_separate);
    RUN(test_many_agencies);
    RUN(test_routing_id_limits);
    RUN(test_rollback_restores_the_mark);
    return check_summary();
}
