/*
 * flag_limits: count and text limits of a flag's clear content.  See
 * flag_limits.h.  Counts are checked before texts so that a flag with a
 * million entries is refused without walking them.
 */
#include "flag_limits.h"

#include <string.h>

#include "utf8.h"

const char *flag_count_over(fp_error *why, const char *reason, const char *what, size_t n,
                            size_t max)
{
    fp_error_set(why, FP_ERR_INPUT, "%s: %zu, and a flag may carry at most %zu", what, n, max);
    return reason;
}

const char *flag_text_unfit(fp_error *why, const char *what, const char *text, size_t max)
{
    size_t n = strnlen(text, max + 1);
    if (n > max) {
        fp_error_set(why, FP_ERR_INPUT, "%s: longer than %zu bytes", what, max);
        return FLAG_TEXT_TOO_LONG;
    }
    if (!utf8_valid(text)) {
        fp_error_set(why, FP_ERR_INPUT, "%s: not valid UTF-8", what);
        return FLAG_TEXT_NOT_UTF8;
    }
    return NULL;
}

static const char *body_counts_over(const Flagpost__FlagBody *b, fp_error *why)
{
    if (b->n_part_digests > FP_MAX_RECIPIENTS)
        return flag_count_over(why, FLAG_TOO_MANY_RECIPIENTS, "recipients", b->n_part_digests,
                               FP_MAX_RECIPIENTS);
    if (b->n_refused_at_sender > FP_MAX_RECIPIENTS)
        return flag_count_over(why, FLAG_TOO_MANY_RECIPIENTS, "recipients refused at the sender",
                               b->n_refused_at_sender, FP_MAX_RECIPIENTS);
    if (b->n_subject > FP_MAX_PSEUDONYMS || b->n_linked_perpetrator > FP_MAX_PSEUDONYMS)
        return flag_count_over(why, FLAG_TOO_MANY_PSEUDONYMS, "subject pseudonyms",
                               b->n_subject > b->n_linked_perpetrator ? b->n_subject
                                                                      : b->n_linked_perpetrator,
                               FP_MAX_PSEUDONYMS);
    if (b->n_named_agencies > FP_MAX_NAMED_AGENCIES)
        return flag_count_over(why, FLAG_TOO_MANY_NAMED, "named agencies", b->n_named_agencies,
                               FP_MAX_NAMED_AGENCIES);
    return NULL;
}

static const char *refusal_unfit(const Flagpost__SenderRefusal *s, fp_error *why)
{
    if (s->n_fields > FP_MAX_FIELDS)
        return flag_count_over(why, FLAG_TOO_MANY_FIELDS, "refused_at_sender fields",
                               s->n_fields, FP_MAX_FIELDS);
    const char *r = flag_text_unfit(why, "refused_at_sender", s->recipient, FP_MAX_TEXT);
    if (r == NULL)
        r = flag_text_unfit(why, "refused_at_sender", s->rule_id, FP_MAX_TEXT);
    if (r == NULL)
        r = flag_text_unfit(why, "refused_at_sender", s->reason, FP_MAX_TEXT);
    for (size_t j = 0; r == NULL && j < s->n_fields; j++)
        r = flag_text_unfit(why, "refused_at_sender fields", s->fields[j], FP_MAX_TEXT);
    return r;
}

const char *flag_body_unfit(const Flagpost__FlagBody *b, fp_error *why)
{
    const char *r = body_counts_over(b, why);
    const struct { const char *name, *text; } t[] = {
        {"category", b->category},         {"subcategory", b->subcategory},
        {"purpose", b->purpose},           {"lawful_basis", b->lawful_basis},
        {"consent", b->consent},           {"risk", b->risk},
        {"subject_role", b->subject_role}, {"withdraw_reason", b->withdraw_reason}};
    for (size_t i = 0; r == NULL && i < sizeof t / sizeof t[0]; i++)
        r = flag_text_unfit(why, t[i].name, t[i].text, FP_MAX_TEXT);
    if (r == NULL)
        r = flag_text_unfit(why, "justification", b->justification, FP_MAX_JUSTIFICATION);
    for (size_t i = 0; r == NULL && i < b->n_named_agencies; i++)
        r = flag_text_unfit(why, "named_agencies", b->named_agencies[i], FP_MAX_TEXT);
    for (size_t i = 0; r == NULL && i < b->n_refused_at_sender; i++)
        r = refusal_unfit(b->refused_at_sender[i], why);
    return r;
}

const char *flag_part_unfit(const Flagpost__RecipientPart *p, fp_error *why)
{
    if (p->n_fields > FP_MAX_FIELDS)
        return flag_count_over(why, FLAG_TOO_MANY_FIELDS, "fields declared for one recipient",
                               p->n_fields, FP_MAX_FIELDS);
    const char *r = flag_text_unfit(why, "recipient", p->recipient, FP_MAX_TEXT);
    for (size_t i = 0; r == NULL && i < p->n_fields; i++)
        r = flag_text_unfit(why, "field name", p->fields[i], FP_MAX_TEXT);
    return r;
}
