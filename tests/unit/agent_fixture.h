/*
 * agent_fixture.h: fuzz_agent_receive's fixture (a real CA, identities,
 * the signed tri-borough agreement and real agents with their LMDB
 * stores) for the unit tests of the agent's modules.  The fixture is
 * written for the fuzz build's warnings; these are quietened for it alone.
 */
#ifndef FLAGPOST_TEST_AGENT_FIXTURE_H
#define FLAGPOST_TEST_AGENT_FIXTURE_H

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#ifndef __clang__
#pragma GCC diagnostic ignored "-Wformat-truncation"
#endif
#pragma GCC diagnostic ignored "-Wshadow"
#include "../../fuzz/agent_receive_fixture.h"
#pragma GCC diagnostic pop

#endif
