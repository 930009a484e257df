/*
 * bench/peers/mosquitto: the peer figure for a lightweight broker:
 * mosquitto with persistence on, QoS 1 (at least once), 1 KB messages.
 * What it does not do, so the number is read fairly: no per-message
 * durability (persistence is a periodic snapshot, not an fsync before the
 * PUBACK), no signatures, no policy, no audit trail.  Built by bench/run
 * against libmosquitto, not by the Makefile.
 *
 *   mosquitto PORT MESSAGES
 *
 * A subscriber (QoS 1, persistent session) and a publisher keeping at most
 * 1000 messages unacknowledged; the figure is messages per second from the
 * first publish until the subscriber has them all.
 * Prints "peer_mosquitto_qos1_msgs VALUE".
 */
#include <mosquitto.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../bench_time.h"

#define WINDOW 1000
#define TOPIC "flagpost/bench"

static atomic_ulong acked, received;
static atomic_int subscribed;

static void on_publish(struct mosquitto *m, void *ud, int mid)
{
    (void)m, (void)ud, (void)mid;
    atomic_fetch_add(&acked, 1);
}

static void on_message(struct mosquitto *m, void *ud, const struct mosquitto_message *msg)
{
    (void)m, (void)ud, (void)msg;
    atomic_fetch_add(&received, 1);
}

static void on_subscribe(struct mosquitto *m, void *ud, int mid, int n, const int *q)
{
    (void)m, (void)ud, (void)mid, (void)n, (void)q;
    atomic_store(&subscribed, 1);
}

static void on_connect_sub(struct mosquitto *m, void *ud, int rc)
{
    (void)ud;
    if (rc == 0)
        mosquitto_subscribe(m, NULL, TOPIC, 1);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: mosquitto PORT MESSAGES\n");
        return 2;
    }
    int port = atoi(argv[1]);
    unsigned long total = strtoul(argv[2], NULL, 10);
    mosquitto_lib_init();
    struct mosquitto *sub = mosquitto_new("flagpost-bench-sub", false, NULL);
    struct mosquitto *pub = mosquitto_new("flagpost-bench-pub", true, NULL);
    if (sub == NULL || pub == NULL)
        return 1;
    mosquitto_int_option(pub, MOSQ_OPT_SEND_MAXIMUM, WINDOW);
    mosquitto_int_option(sub, MOSQ_OPT_RECEIVE_MAXIMUM, WINDOW);
    mosquitto_max_inflight_messages_set(pub, WINDOW);
    mosquitto_connect_callback_set(sub, on_connect_sub);
    mosquitto_subscribe_callback_set(sub, on_subscribe);
    mosquitto_message_callback_set(sub, on_message);
    mosquitto_publish_callback_set(pub, on_publish);
    if (mosquitto_connect(sub, "127.0.0.1", port, 60) != MOSQ_ERR_SUCCESS ||
        mosquitto_connect(pub, "127.0.0.1", port, 60) != MOSQ_ERR_SUCCESS) {
        fprintf(stderr, "mosquitto: cannot connect to 127.0.0.1:%d\n", port);
        return 1;
    }
    mosquitto_loop_start(sub);
    mosquitto_loop_start(pub);
    for (int i = 0; i < 500 && !atomic_load(&subscribed); i++)
        usleep(10000);
    if (!atomic_load(&subscribed)) {
        fprintf(stderr, "mosquitto: the subscription was not confirmed\n");
        return 1;
    }
    char body[1024];
    memset(body, 'x', sizeof body);
    double t0 = bench_now_s(), deadline = t0 + 120;
    for (unsigned long sent = 0; sent < total && bench_now_s() < deadline;) {
        if (sent - atomic_load(&acked) >= WINDOW) {
            usleep(50);
            continue;
        }
        if (mosquitto_publish(pub, NULL, TOPIC, sizeof body, body, 1, false) == MOSQ_ERR_SUCCESS)
            sent++;
    }
    while (atomic_load(&received) < total && bench_now_s() < deadline)
        usleep(100);
    double t = bench_now_s() - t0;
    unsigned long got = atomic_load(&received);
    mosquitto_disconnect(pub);
    mosquitto_disconnect(sub);
    mosquitto_loop_stop(pub, false);
    mosquitto_loop_stop(sub, false);
    mosquitto_destroy(pub);
    mosquitto_destroy(sub);
    mosquitto_lib_cleanup();
    if (got < total) {
        fprintf(stderr, "mosquitto: only %lu of %lu messages arrived\n", got, total);
        return 1;
    }
    printf("peer_mosquitto_qos1_msgs %.0f\n", (double)total / t);
    printf("# %lu QoS 1 1 KB messages in %.2f s\n", total, t);
    return 0;
}
