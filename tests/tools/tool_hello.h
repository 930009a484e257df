/*
 * tool_hello: the Hello a tool standing in for an agency sends the broker,
 * for tests/tools/rogue_agent and bench/loadgen.  It carries nothing but
 * presence: the broker learns where the agency is from its messages and
 * counts it gone after a while without one, so a tool that only listens
 * says hello, as an agent's heartbeat does.
 *
 * Header-only (static inline) because each tests/tools/NAME.c and
 * bench/NAME.c file is its own program.  Owns nothing; never blocks: a
 * Hello that cannot be queued at once is dropped, as the next one (the
 * callers send one a second) takes its place.
 */
#ifndef FLAGPOST_TEST_TOOL_HELLO_H
#define FLAGPOST_TEST_TOOL_HELLO_H

#include <stddef.h>
#include <stdint.h>
#include <zmq.h>

#include "flagpost.pb-c.h"

static inline void tool_hello_send(void *sock)
{
    Flagpost__Hello hello = FLAGPOST__HELLO__INIT;
    Flagpost__ToBroker msg = FLAGPOST__TO_BROKER__INIT;
    msg.kind_case = FLAGPOST__TO_BROKER__KIND_HELLO;
    msg.hello = &hello;
    uint8_t buf[64];
    size_t len = flagpost__to_broker__pack(&msg, buf);
    zmq_send(sock, buf, len, ZMQ_DONTWAIT);
}

#endif
