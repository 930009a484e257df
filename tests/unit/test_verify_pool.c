/*
 * Unit tests for broker/verify_pool.c with real Ed25519 signatures and
 * real worker threads: every answer must be the answer envelope_verify
 * gives for the same bytes and key, whether the workers, the finishing
 * thread or an inline check produced it, and whichever of two alternating
 * tables (the broker's pipeline) is being read while the other is out.
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "envelope.h"
#include "verify_pool.h"

#define N_ENV 40

typedef struct fixture {
    unsigned char pk[2][crypto_sign_PUBLICKEYBYTES];
    unsigned char sk[2][crypto_sign_SECRETKEYBYTES];
    Flagpost__SignedEnvelope se[N_ENV];
    bool truth[N_ENV][2];   /* does se[i] verify under pk[k]? */
} fixture;

/* Envelopes signed alternately by two keys; every fifth one then has a
 * byte of its signed bytes flipped, so it verifies under neither. */
static void fixture_make(fixture *f)
{
    crypto_sign_keypair(f->pk[0], f->sk[0]);
    crypto_sign_keypair(f->pk[1], f->sk[1]);
    for (int i = 0; i < N_ENV; i++) {
        unsigned char id[ENVELOPE_ID_LEN], body[64], hash[32] = {0};
        envelope_new_id(id);
        randombytes_buf(body, sizeof body);
        Flagpost__Envelope e;
        flagpost__envelope__init(&e);
        e.wire_version = ENVELOPE_WIRE_VERSION;
        e.message_id.data = id;
        e.message_id.len = sizeof id;
        e.type = FLAGPOST__MESSAGE_TYPE__MESSAGE_FLAG;
        e.sender = (char *)"met-police";
        e.created_ms = 1700000000000 + i;
        e.policy_hash.data = hash;
        e.policy_hash.len = sizeof hash;
        e.body.data = body;
        e.body.len = sizeof body;
        fp_error err;
        if (envelope_sign(&e, f->sk[i % 2], &f->se[i], &err) != FP_OK)
            abort();   /* the test's own fixture, not input under test */
        if (i % 5 == 4)
            f->se[i].envelope.data[f->se[i].envelope.len / 2] ^= 0x01;
        for (int k = 0; k < 2; k++)
            f->truth[i][k] = envelope_verify(&f->se[i], f->pk[k], NULL) == FP_OK;
    }
}

static void fixture_free(fixture *f)
{
    for (int i = 0; i < N_ENV; i++)
        envelope_signed_release(&f->se[i]);
}

/* Ask about envelopes [from, to) under both keys. */
static void ask(verify_checks *c, fixture *f, int from, int to)
{
    for (int i = from; i < to; i++)
        for (int k = 0; k < 2; k++)
            verify_checks_add(c, &f->se[i], f->pk[k]);
}

static int wrong_answers(verify_checks *c, fixture *f, int from, int to)
{
    int wrong = 0;
    for (int i = from; i < to; i++)
        for (int k = 0; k < 2; k++)
            wrong += verify_checks_signed(c, &f->se[i], f->pk[k]) != f->truth[i][k];
    return wrong;
}

static void test_fixture_has_both_outcomes(void)
{
    fixture f;
    fixture_make(&f);
    int valid = 0, invalid = 0;
    for (int i = 0; i < N_ENV; i++)
        for (int k = 0; k < 2; k++)
            f.truth[i][k] ? valid++ : invalid++;
    CHECK_EQ_INT(valid, N_ENV - N_ENV / 5);   /* each good one under its own key only */
    CHECK(invalid > valid);
    fixture_free(&f);
}

static void test_workers_answer_like_envelope_verify(void)
{
    fixture f;
    fixture_make(&f);
    verify_pool *p = verify_pool_new(3);
    verify_checks *c = verify_checks_new();
    CHECK(p != NULL && c != NULL);
    ask(c, &f, 0, N_ENV);
    verify_pool_start(p, c);
    verify_pool_finish(p, c);
    CHECK_EQ_INT(wrong_answers(c, &f, 0, N_ENV), 0);
    verify_checks_free(c);
    verify_pool_free(p);
    fixture_free(&f);
}

/* The broker's pipeline: table A is read (staged) while B is out with the
 * workers, then the roles swap, many times over. */
static void test_two_tables_alternate(void)
{
    fixture f;
    fixture_make(&f);
    verify_pool *p = verify_pool_new(1);
    verify_checks *t[2] = {verify_checks_new(), verify_checks_new()};
    int wrong = 0;
    ask(t[0], &f, 0, N_ENV / 2);
    verify_pool_start(p, t[0]);
    verify_pool_finish(p, t[0]);
    for (int round = 1; round <= 20; round++) {
        verify_checks *out = t[round % 2], *staged = t[(round + 1) % 2];
        int half = round % 2 ? N_ENV / 2 : 0;
        ask(out, &f, half, half + N_ENV / 2);
        verify_pool_start(p, out);
        int staged_half = half ? 0 : N_ENV / 2;
        wrong += wrong_answers(staged, &f, staged_half, staged_half + N_ENV / 2);
        verify_checks_clear(staged);
        verify_pool_finish(p, out);
    }
    wrong += wrong_answers(t[0], &f, 0, N_ENV / 2);
    CHECK_EQ_INT(wrong, 0);
    verify_checks_free(t[0]);
    verify_checks_free(t[1]);
    verify_pool_free(p);
    fixture_free(&f);
}

/* Without workers, with one question, with a second table started while
 * the first is still out, and for a question never asked: the answers are
 * still right (computed on the caller's thread). */
static void test_inline_paths(void)
{
    fixture f;
    fixture_make(&f);
    verify_pool *none = verify_pool_new(0), *two = verify_pool_new(2);
    verify_checks *a = verify_checks_new(), *b = verify_checks_new();
    ask(a, &f, 0, N_ENV);
    verify_pool_start(none, a);
    verify_pool_finish(none, a);
    CHECK_EQ_INT(wrong_answers(a, &f, 0, N_ENV), 0);
    verify_checks_clear(a);

    verify_checks_add(a, &f.se[4], f.pk[0]);   /* one question: never posted */
    verify_pool_start(two, a);
    verify_pool_finish(two, a);
    CHECK_EQ_INT(wrong_answers(a, &f, 4, 5), 0);
    verify_checks_clear(a);

    ask(a, &f, 0, N_ENV / 2);
    ask(b, &f, N_ENV / 2, N_ENV);
    verify_pool_start(two, a);
    verify_pool_start(two, b);   /* a is out: b waits for its own finish */
    verify_pool_finish(two, b);
    verify_pool_finish(two, a);
    CHECK_EQ_INT(wrong_answers(a, &f, 0, N_ENV / 2) + wrong_answers(b, &f, N_ENV / 2, N_ENV), 0);
    CHECK_EQ_INT(wrong_answers(a, &f, N_ENV / 2, N_ENV), 0);   /* not asked of a: inline */
    CHECK_EQ_INT(wrong_answers(NULL, &f, 0, N_ENV), 0);
    verify_checks_free(a);
    verify_checks_free(b);
    verify_pool_free(none);
    verify_pool_free(two);
    fixture_free(&f);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    RUN(test_fixture_has_both_outcomes);
    RUN(test_workers_answer_like_envelope_verify);
    RUN(test_two_tables_alternate);
    RUN(test_inline_paths);
    return check_summary();
}
