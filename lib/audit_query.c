/*
 * audit_query: filters, event names and dates for the audit tools.  See
 * audit_query.h.
 *
 * Times are UTC throughout: the broker stamps entries in UTC and a report
 * that silently shifted by an hour in summer would put a disclosure in the
 * wrong month.  Dates are parsed by hand (strptime is locale-dependent and
 * accepts too much) and converted with timegm.
 */
#include "audit_query.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct event_name {
    int event;
    const char *name;
    const char *label;
};

static const struct event_name EVENTS[] = {
    {FLAGPOST__AUDIT_EVENT__AUDIT_DISCLOSURE, "disclosure", "Disclosure"},
    {FLAGPOST__AUDIT_EVENT__AUDIT_REFUSAL, "refusal", "Refusal"},
    {FLAGPOST__AUDIT_EVENT__AUDIT_DELIVERY, "delivery", "Delivery"},
    {FLAGPOST__AUDIT_EVENT__AUDIT_VIEW, "view", "View"},
    {FLAGPOST__AUDIT_EVENT__AUDIT_ACKNOWLEDGEMENT, "acknowledgement", "Acknowledgement"},
    {FLAGPOST__AUDIT_EVENT__AUDIT_UPDATE, "update", "Update"},
    {FLAGPOST__AUDIT_EVENT__AUDIT_WITHDRAWAL, "withdrawal", "Withdrawal"},
    {FLAGPOST__AUDIT_EVENT__AUDIT_EXPIRY, "expiry", "Expiry"},
    {FLAGPOST__AUDIT_EVENT__AUDIT_BREAK_GLASS, "break_glass", "Break-glass"},
    {FLAGPOST__AUDIT_EVENT__AUDIT_POLICY_LOADED, "policy_loaded", "Policy loaded"},
    {FLAGPOST__AUDIT_EVENT__AUDIT_CERTIFICATE_REFUSED, "certificate_refused",
     "Certificate refused"},
    {FLAGPOST__AUDIT_EVENT__AUDIT_MESSAGE_REFUSED, "message_refused", "Message refused"},
    {FLAGPOST__AUDIT_EVENT__AUDIT_AGENT_CONNECTED, "agent_connected", "Agent connected"},
    {FLAGPOST__AUDIT_EVENT__AUDIT_AGENT_DISCONNECTED, "agent_disconnected",
     "Agent disconnected"},
    {FLAGPOST__AUDIT_EVENT__AUDIT_RECIPIENT_REJECTED, "recipient_rejected",
     "Recipient rejected"},
    {FLAGPOST__AUDIT_EVENT__AUDIT_ESCALATION, "escalation", "Escalation"},
    {FLAGPOST__AUDIT_EVENT__AUDIT_MARAC_REMINDER, "marac_reminder", "MARAC reminder"},
};
#define N_EVENTS (sizeof EVENTS / sizeof EVENTS[0])

const char *audit_event_name(int event)
{
    for (size_t i = 0; i < N_EVENTS; i++)
        if (EVENTS[i].event == event)
            return EVENTS[i].name;
    return "unknown";
}

const char *audit_event_label(int event)
{
    for (size_t i = 0; i < N_EVENTS; i++)
        if (EVENTS[i].event == event)
            return EVENTS[i].label;
    return "Unknown event";
}

const char *audit_event_names(void)
{
    return "disclosure, refusal, delivery, view, acknowledgement, update, withdrawal, "
           "expiry, break_glass, policy_loaded, certificate_refused, message_refused, "
           "agent_connected, agent_disconnected, recipient_rejected, escalation, "
           "marac_reminder";
}

int audit_event_parse(const char *name, int *event, fp_error *err)
{
    for (size_t i = 0; i < N_EVENTS; i++)
        if (strcmp(EVENTS[i].name, name) == 0) {
            *event = EVENTS[i].event;
            return FP_OK;
        }
    return fp_error_set(err, FP_ERR_INPUT, "--event: unknown event; use one of: %s",
                        audit_event_names());
}

void audit_filter_init(audit_filter *f)
{
    memset(f, 0, sizeof *f);
    f->from_ms = INT64_MIN;
    f->to_ms = INT64_MAX;
}

bool audit_entry_has_subject(const Flagpost__AuditEntry *e, const pseudonym *subjects,
                             size_t n)
{
    for (size_t i = 0; i < e->n_subject; i++) {
        const Flagpost__Pseudonym *p = e->subject[i];
        if (p->value.len != PSEUDONYM_LEN)
            continue;
        for (size_t k = 0; k < n; k++)
            if ((int)p->kind == subjects[k].kind &&
                memcmp(p->value.data, subjects[k].value, PSEUDONYM_LEN) == 0)
                return true;
    }
    return false;
}

static bool same(const char *a, const char *b)
{
    return strcmp(a != NULL ? a : "", b != NULL ? b : "") == 0;
}

bool audit_filter_match(const audit_filter *f, const Flagpost__AuditEntry *e)
{
    if (e->time_ms < f->from_ms || e->time_ms > f->to_ms)
        return false;
    if (f->event != 0 && (int)e->event != f->event)
        return false;
    if (f->category != NULL && !same(f->category, e->category))
        return false;
    if (f->decision != NULL && !same(f->decision, e->decision))
        return false;
    if (f->agency != NULL) {
        bool sent = same(f->agency, e->sender), received = same(f->agency, e->recipient);
        if (f->direction == AUDIT_DIRECTION_SENT ? !sent
            : f->direction == AUDIT_DIRECTION_RECEIVED ? !received
                                                       : !(sent || received))
            return false;
    }
    if (f->n_subjects > 0 && !audit_entry_has_subject(e, f->subjects, f->n_subjects))
        return false;
    return true;
}

const char *audit_entry_actor(const Flagpost__AuditEntry *e)
{
    switch (e->event) {
    case FLAGPOST__AUDIT_EVENT__AUDIT_DELIVERY:
    case FLAGPOST__AUDIT_EVENT__AUDIT_VIEW:
    case FLAGPOST__AUDIT_EVENT__AUDIT_ACKNOWLEDGEMENT:
    case FLAGPOST__AUDIT_EVENT__AUDIT_RECIPIENT_REJECTED:
        return e->recipient != NULL && e->recipient[0] ? e->recipient : e->sender;
    default:
        return e->sender != NULL && e->sender[0] ? e->sender : e->recipient;
    }
}

/* Read exactly n digits; advances *p. */
static bool digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return false;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return true;
}

static bool expect(const char **p, char c)
{
    if (**p != c)
        return false;
    (*p)++;
    return true;
}

static int time_error(fp_error *err, const char *option)
{
    return fp_error_set(err, FP_ERR_INPUT,
                        "%s: not a date or time; write YYYY-MM-DD (a whole day, UTC) or "
                        "YYYY-MM-DDTHH:MM:SSZ",
                        option);
}

/* Optional ":SS[.fff]" then an optional zone; fills sec, ms, offset. */
static bool time_tail(const char **p, int *sec, int *ms, int *offset_min)
{
    *sec = 0;
    *ms = 0;
    *offset_min = 0;
    if (**p == ':') {
        (*p)++;
        if (!digits(p, 2, sec) || *sec > 60)
            return false;
        if (**p == '.') {
            (*p)++;
            int n = 0, v = 0;
            while (isdigit((unsigned char)**p) && n < 9) {
                if (n < 3)
                    v = v * 10 + (**p - '0');
                n++;
                (*p)++;
            }
            if (n == 0)
                return false;
            for (int k = n; k < 3; k++)
                v *= 10;
            *ms = v;
        }
    }
    if (**p == 'Z' || **p == 'z') {
        (*p)++;
    } else if (**p == '+' || **p == '-') {
        int sign = **p == '-' ? -1 : 1, hh, mm;
        (*p)++;
        if (!digits(p, 2, &hh) || !expect(p, ':') || !digits(p, 2, &mm) || hh > 23 || mm > 59)
            return false;
        *offset_min = sign * (hh * 60 + mm);
    }
    return **p == '\0';
}

int audit_time_parse(const char *text, bool end_of_day, int64_t *ms, const char *option,
                     fp_error *err)
{
    const char *p = text;
    int y, mo, d;
    if (!digits(&p, 4, &y) || !expect(&p, '-') || !digits(&p, 2, &mo) || !expect(&p, '-') ||
        !digits(&p, 2, &d) || mo < 1 || mo > 12 || d < 1 || d > 31)
        return time_error(err, option);
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    int h = 0, mi = 0, sec = 0, milli = 0, offset = 0;
    bool whole_day = *p == '\0';
    if (!whole_day) {
        if ((*p != 'T' && *p != 't' && *p != ' ') || (p++, !digits(&p, 2, &h)) ||
            !expect(&p, ':') || !digits(&p, 2, &mi) || h > 23 || mi > 59 ||
            !time_tail(&p, &sec, &milli, &offset))
            return time_error(err, option);
    }
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    time_t t = timegm(&tm);
    struct tm back;
    if (t == (time_t)-1 || gmtime_r(&t, &back) == NULL || back.tm_mday != d ||
        back.tm_mon != mo - 1)
        return fp_error_set(err, FP_ERR_INPUT, "%s: %04d-%02d-%02d is not a real date",
                            option, y, mo, d);
    int64_t v = ((int64_t)t - (int64_t)offset * 60) * 1000 + milli;
    if (whole_day && end_of_day)
        v += 86400 * 1000LL - 1;
    *ms = v;
    return FP_OK;
}

struct run_ctx {
    const audit_filter *filter;
    audit_query_fn fn;
    void *ctx;
    int rc;
    uint64_t bad_index;
};

static int visit(void *vctx, uint64_t index, const uint8_t *entry, size_t len)
{
    struct run_ctx *r = vctx;
    Flagpost__AuditEntry *e = flagpost__audit_entry__unpack(NULL, len, entry);
    if (e == NULL) {
        r->rc = FP_ERR_INPUT;
        r->bad_index = index;
        return 1;
    }
    int stop = 0;
    if (r->filter == NULL || audit_filter_match(r->filter, e))
        stop = r->fn(r->ctx, index, e);
    flagpost__audit_entry__free_unpacked(e, NULL);
    return stop;
}

int audit_query_run(audit_log *log, MDB_txn *txn, uint64_t from, const audit_filter *f,
                    audit_query_fn fn, void *ctx, fp_error *err)
{
    struct run_ctx r = {f, fn, ctx, FP_OK, 0};
    int rc = audit_log_scan(log, txn, from, visit, &r, err);
    if (rc != FP_OK)
        return rc;
    if (r.rc != FP_OK)
        return fp_error_set(err, FP_ERR_IO,
                            "audit entry %llu cannot be decoded: the trail is damaged; run "
                            "`flagpost audit verify` to see what changed",
                            (unsigned long long)r.bad_index);
    return FP_OK;
}

static const char *or_dash(const char *s, const char *dflt)
{
    return s != NULL && s[0] != '\0' ? s : dflt;
}

/* The core sentence, without the details in brackets. */
static int describe_core(const Flagpost__AuditEntry *e, char *out, size_t n)
{
    const char *s = or_dash(e->sender, "an agency"), *r = or_dash(e->recipient, "an agency");
    const char *c = or_dash(e->category, "a");
    switch (e->event) {
    case FLAGPOST__AUDIT_EVENT__AUDIT_DISCLOSURE:
        return snprintf(out, n, "%s shared a %s flag with %s", s, c, r);
    case FLAGPOST__AUDIT_EVENT__AUDIT_REFUSAL:
        return snprintf(out, n, "%s's %s flag for %s was refused", s, c, r);
    case FLAGPOST__AUDIT_EVENT__AUDIT_DELIVERY:
        return snprintf(out, n, "%s received %s's %s flag", r, s, c);
    case FLAGPOST__AUDIT_EVENT__AUDIT_VIEW:
        return snprintf(out, n, "%s viewed %s's %s flag", r, s, c);
    case FLAGPOST__AUDIT_EVENT__AUDIT_ACKNOWLEDGEMENT:
        return snprintf(out, n, "%s acknowledged %s's %s flag", r, s, c);
    case FLAGPOST__AUDIT_EVENT__AUDIT_UPDATE:
        return snprintf(out, n, "%s updated its %s flag for %s (version %u)", s, c, r,
                        (unsigned)e->version);
    case FLAGPOST__AUDIT_EVENT__AUDIT_WITHDRAWAL:
        return snprintf(out, n, "%s withdrew its %s flag from %s", s, c, r);
    case FLAGPOST__AUDIT_EVENT__AUDIT_EXPIRY:
        return snprintf(out, n, "%s's %s flag held by %s expired", s, c, r);
    case FLAGPOST__AUDIT_EVENT__AUDIT_BREAK_GLASS:
        return snprintf(out, n, "%s made an emergency (break-glass) disclosure of a %s flag "
                                "to %s",
                        s, c, r);
    case FLAGPOST__AUDIT_EVENT__AUDIT_RECIPIENT_REJECTED:
        return snprintf(out, n, "%s rejected %s's %s flag", r, s, c);
    case FLAGPOST__AUDIT_EVENT__AUDIT_ESCALATION:
        return snprintf(out, n, "%s was told that %s had not acknowledged its %s flag in time",
                        s, r, c);
    case FLAGPOST__AUDIT_EVENT__AUDIT_MARAC_REMINDER:
        return snprintf(out, n, "%s reminded %s to answer its %s request", s, r, c);
    default:
        return snprintf(out, n, "%s (%s, %s)", audit_event_label((int)e->event), s, r);
    }
}

void audit_entry_describe(const Flagpost__AuditEntry *e, char *out, size_t n)
{
    if (n == 0)
        return;
    int k = describe_core(e, out, n);
    if (k < 0 || (size_t)k >= n)
        return;
    const char *parts[][2] = {
        {"rule", e->rule_id},        {"lawful basis", e->lawful_basis},
        {"consent", e->consent},     {"risk", e->risk},
        {"subject is the", e->subject_role}, {"reason", e->reason},
    };
    const char *sep = " (";
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        if (parts[i][1] == NULL || parts[i][1][0] == '\0')
            continue;
        int w = snprintf(out + k, n - (size_t)k, "%s%s %s", sep, parts[i][0], parts[i][1]);
        if (w < 0 || (size_t)w >= n - (size_t)k)
            return;
        k += w;
        sep = "; ";
    }
    if (strcmp(sep, "; ") == 0 && (size_t)k + 1 < n) {
        out[k++] = ')';
        out[k] = '\0';
    }
}
