/*
 * broker_world.h: a broker struct over a real broker store (LMDB in a
 * scratch directory, broker_store_fixture.h) and the example agreement,
 * for the unit tests of the broker modules that take a `broker *`
 * (lifecycle, delivery).  Only what those modules read is set: the store,
 * the policy and the log.  Header-only, like the fixtures.
 */
#ifndef FLAGPOST_TEST_BROKER_WORLD_H
#define FLAGPOST_TEST_BROKER_WORLD_H

#include <string.h>

#include "broker.h"
#include "broker_store_fixture.h"

#define BW_POLICY "policy/examples/tri-borough.yaml"

/* name labels the scratch directory, program the log lines; only errors
 * are logged. */
static bool bw_open(fixture *f, broker *b, const char *name, const char *program)
{
    memset(b, 0, sizeof *b);
    if (!fx_open(f, name))
        return false;
    fp_error err = {0};
    if (policy_load(&b->policy, BW_POLICY, NULL, &err) != FP_OK) {
        printf("#   policy_load: %s\n", err.message);
        fx_close(f);
        return false;
    }
    b->store = f->s;
    b->log.level = LOG_ERROR;
    b->log.program = program;
    return true;
}

static void bw_close(fixture *f, broker *b)
{
    policy_free(b->policy);
    fx_close(f);
}

#endif
