/*
 * bench/peers/rabbitmq: the peer figure for durable messaging, measured
 * the way RabbitMQ's own guidance says to get safety: a quorum queue
 * (replicated log, fsync before confirm), persistent messages, publisher
 * confirms (here a window of 1000 unconfirmed), and a consumer that
 * acknowledges manually.  Built by bench/run against librabbitmq (AMQP
 * 0-9-1), not by the Makefile, so flagpost never depends on it.
 *
 *   rabbitmq PORT MESSAGES
 *
 * A publisher thread and a consumer thread, each on its own connection,
 * move MESSAGES 1 KB messages through the queue; the figure is messages
 * per second from the first publish to the last acknowledgement.
 * Prints "peer_rabbitmq_durable_msgs VALUE".
 */
#include <amqp.h>
#include <amqp_tcp_socket.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../bench_time.h"

#define WINDOW 1000
#define QUEUE "flagpost-bench"

static int port;
static unsigned long total;

static amqp_connection_state_t open_conn(void)
{
    amqp_connection_state_t c = amqp_new_connection();
    amqp_socket_t *s = amqp_tcp_socket_new(c);
    if (s == NULL || amqp_socket_open(s, "127.0.0.1", port) != 0)
        return NULL;
    amqp_rpc_reply_t r = amqp_login(c, "/", 0, 131072, 0, AMQP_SASL_METHOD_PLAIN, "guest",
                                    "guest");
    if (r.reply_type != AMQP_RESPONSE_NORMAL)
        return NULL;
    amqp_channel_open(c, 1);
    if (amqp_get_rpc_reply(c).reply_type != AMQP_RESPONSE_NORMAL)
        return NULL;
    return c;
}

static void *publisher(void *arg)
{
    amqp_connection_state_t c = arg;
    amqp_confirm_select_t sel = {0};
    if (amqp_simple_rpc_decoded(c, 1, AMQP_CONFIRM_SELECT_METHOD, AMQP_CONFIRM_SELECT_OK_METHOD,
                                &sel) == NULL) {
        fprintf(stderr, "rabbitmq: confirm.select failed\n");
        return (void *)1;
    }
    char body[1024];
    memset(body, 'x', sizeof body);
    amqp_basic_properties_t props;
    props._flags = AMQP_BASIC_DELIVERY_MODE_FLAG;
    props.delivery_mode = 2;   /* persistent */
    unsigned long sent = 0, confirmed = 0;
    while (confirmed < total) {
        while (sent < total && sent - confirmed < WINDOW) {
            amqp_bytes_t b = {sizeof body, body};
            if (amqp_basic_publish(c, 1, amqp_empty_bytes, amqp_cstring_bytes(QUEUE), 0, 0,
                                   &props, b) != AMQP_STATUS_OK)
                return (void *)1;
            sent++;
        }
        amqp_frame_t f;
        if (amqp_simple_wait_frame(c, &f) != AMQP_STATUS_OK)
            return (void *)1;
        if (f.frame_type != AMQP_FRAME_METHOD)
            continue;
        if (f.payload.method.id == AMQP_BASIC_ACK_METHOD) {
            amqp_basic_ack_t *ack = f.payload.method.decoded;
            confirmed = ack->delivery_tag;   /* tags count from 1; multiple acks cover all up to it */
        } else if (f.payload.method.id == AMQP_BASIC_NACK_METHOD) {
            fprintf(stderr, "rabbitmq: the broker refused a message\n");
            return (void *)1;
        }
    }
    return NULL;
}

static void *consumer(void *arg)
{
    amqp_connection_state_t c = arg;
    amqp_basic_qos(c, 1, 0, WINDOW, 0);
    amqp_basic_consume(c, 1, amqp_cstring_bytes(QUEUE), amqp_empty_bytes, 0, 0, 0,
                       amqp_empty_table);
    if (amqp_get_rpc_reply(c).reply_type != AMQP_RESPONSE_NORMAL)
        return (void *)1;
    for (unsigned long got = 0; got < total;) {
        amqp_envelope_t env;
        amqp_maybe_release_buffers(c);
        amqp_rpc_reply_t r = amqp_consume_message(c, &env, NULL, 0);
        if (r.reply_type != AMQP_RESPONSE_NORMAL)
            return (void *)1;
        got++;
        /* Acknowledge in groups of 50 (multiple=true), well inside the prefetch window. */
        if (got % 50 == 0 || got == total)
            amqp_basic_ack(c, 1, env.delivery_tag, 1);
        amqp_destroy_envelope(&env);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: rabbitmq PORT MESSAGES\n");
        return 2;
    }
    port = atoi(argv[1]);
    total = strtoul(argv[2], NULL, 10);
    amqp_connection_state_t pc = open_conn(), cc = open_conn();
    if (pc == NULL || cc == NULL) {
        fprintf(stderr, "rabbitmq: cannot connect to 127.0.0.1:%d\n", port);
        return 1;
    }
    amqp_table_entry_t arg = {amqp_cstring_bytes("x-queue-type"),
                              {AMQP_FIELD_KIND_UTF8, {.bytes = amqp_cstring_bytes("quorum")}}};
    amqp_table_t args = {1, &arg};
    amqp_queue_declare(pc, 1, amqp_cstring_bytes(QUEUE), 0, 1, 0, 0, args);
    if (amqp_get_rpc_reply(pc).reply_type != AMQP_RESPONSE_NORMAL) {
        fprintf(stderr, "rabbitmq: cannot declare a quorum queue\n");
        return 1;
    }
    double t0 = bench_now_s();
    pthread_t pt, ct;
    void *pr, *cr;
    pthread_create(&ct, NULL, consumer, cc);
    pthread_create(&pt, NULL, publisher, pc);
    pthread_join(pt, &pr);
    pthread_join(ct, &cr);
    double t = bench_now_s() - t0;
    if (pr != NULL || cr != NULL) {
        fprintf(stderr, "rabbitmq: the run failed\n");
        return 1;
    }
    printf("peer_rabbitmq_durable_msgs %.0f\n", (double)total / t);
    printf("# %lu persistent 1 KB messages through a quorum queue in %.2f s\n", total, t);
    amqp_connection_close(pc, AMQP_REPLY_SUCCESS);
    amqp_connection_close(cc, AMQP_REPLY_SUCCESS);
    amqp_destroy_connection(pc);
    amqp_destroy_connection(cc);
    return 0;
}
