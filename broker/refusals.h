/*
 * refusals: the audit entries and log lines for refusals that arrive in
 * floods (messages over an agency's rate, connections over an address's
 * rate, certificate refusals beyond the first few per address).
 *
 * Auditing each one would turn an attacker's flood into a flood of audit
 * entries and fsyncs, so the limiters only count, and once a second the
 * broker's loop calls refusals_flush, which writes everything counted in
 * one transaction: one message_refused entry per agency (reason
 * "rate-limited: N messages ...") and one certificate_refused entry per
 * source address (reason "connection-rate-limited: ...").  Nothing is
 * written in a quiet second.
 */
#ifndef FLAGPOST_REFUSALS_H
#define FLAGPOST_REFUSALS_H

#include <stdint.h>

#include "broker.h"

void refusals_flush(broker *b, int64_t now_ms);

#endif
