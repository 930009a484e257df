/*
 * refusals: aggregated audit of flood refusals.  See refusals.h.
 *
 * The counts are taken from the limiters before the transaction opens and
 * are lost if the commit fails (a full disk): the log line, written first,
 * still says what happened.
 */
#include "refusals.h"

#include <stdio.h>

#include "admission.h"
#include "agency_limit.h"
#include "audit_entry.h"

typedef struct flush_ctx {
    broker *b;
    MDB_txn *txn;
    int64_t now;
    int rc;
    fp_error err;
} flush_ctx;

static void agency_refused(void *arg, const char *agency, uint64_t refused)
{
    flush_ctx *c = arg;
    char reason[256];
    snprintf(reason, sizeof reason,
             "%s: %llu messages refused in the last second (limit %.0f/s, burst %.0f); the "
             "sender was told to resend", AGENCY_LIMIT_REASON, (unsigned long long)refused,
             c->b->cfg.agency_rate, c->b->cfg.agency_burst);
    log_event(&c->b->log, LOG_WARN, "rate-limited", "agency=%s refused=%llu", agency,
              (unsigned long long)refused);
    if (c->rc == FP_OK)
        c->rc = audit_entry_simple(c->b->store, c->txn,
                                   FLAGPOST__AUDIT_EVENT__AUDIT_MESSAGE_REFUSED, agency, "",
                                   reason, NULL, 0, policy_hash(c->b->policy), c->now, &c->err);
}

static void address_refused(flush_ctx *c, const admission_refusals *r)
{
    char reason[768], limits[200];
    admission_describe(c->b->admission, limits, sizeof limits);
    snprintf(reason, sizeof reason,
             "%s: from %.63s%s in the last second, %llu connections closed before the handshake, "
             "%llu handshakes refused a session, %llu further certificate refusals (%.199s)",
             ADMISSION_REASON, r->address, r->address[0] == '*' ? " (other addresses)" : "",
             (unsigned long long)r->at_accept, (unsigned long long)r->at_zap,
             (unsigned long long)r->certificates, limits);
    log_event(&c->b->log, LOG_WARN, "connection-flood",
              "address=%s closed=%llu refused_at_zap=%llu certificates_refused=%llu",
              r->address, (unsigned long long)r->at_accept, (unsigned long long)r->at_zap,
              (unsigned long long)r->certificates);
    if (c->rc == FP_OK)
        c->rc = audit_entry_simple(c->b->store, c->txn,
                                   FLAGPOST__AUDIT_EVENT__AUDIT_CERTIFICATE_REFUSED, "", "",
                                   reason, NULL, 0, policy_hash(c->b->policy), c->now, &c->err);
}

/* A transaction is opened only when something was counted
 * (agency_limit_report calls back as it resets, so it runs inside). */
void refusals_flush(broker *b, int64_t now_ms)
{
    admission_refusals addr[ADMISSION_REPORT_MAX + 1];
    size_t naddr = admission_report(b->admission, addr, NULL, NULL);
    if (naddr == 0 && !agency_limit_pending(b->limits))
        return;
    flush_ctx c = {.b = b, .now = now_ms, .rc = FP_OK};
    if (broker_store_begin(b->store, true, &c.txn, &c.err) != FP_OK) {
        for (size_t i = 0; i < naddr; i++)   /* at least the log says what happened */
            log_event(&b->log, LOG_WARN, "connection-flood", "address=%s closed=%llu",
                      addr[i].address, (unsigned long long)addr[i].at_accept);
        log_event(&b->log, LOG_ERROR, "refusals-not-audited", "error=\"%s\"", c.err.message);
        return;
    }
    size_t nagency = agency_limit_report(b->limits, agency_refused, &c);
    for (size_t i = 0; i < naddr; i++)
        address_refused(&c, &addr[i]);
    if (nagency + naddr == 0) {
        broker_store_abort(c.txn);
        return;
    }
    if (c.rc == FP_OK)
        c.rc = broker_store_commit(c.txn, &c.err);
    else
        broker_store_abort(c.txn);
    if (c.rc != FP_OK)
        log_event(&b->log, LOG_ERROR, "refusals-not-audited", "error=\"%s\"", c.err.message);
}
