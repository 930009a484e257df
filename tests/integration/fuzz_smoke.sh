#!/usr/bin/env bash
# Fuzz smoke test: every libFuzzer target in fuzz/ for a bounded time
# (scripts/fuzz 8: eight seconds each, two at a time, so about a minute
# for the fifteen targets once the fuzz build is cached), so `make test`
# catches a decoder, or what the broker and the agent do behind their
# signature checks (fuzz_broker_intake, fuzz_agent_receive), that crashes
# on its committed seeds (which include every input that ever crashed one)
# or on their first mutations.  Prints
# scripts/fuzz's "ok fuzz_NAME (N runs)" / "not ok fuzz_NAME (...)" line
# for each target; tests/run counts them.  FUZZ_SMOKE_SECONDS changes the
# time per target.
#
# Skipped only in the sanitized pass of `make test` (FLAGPOST_SANITIZED=1):
# the fuzz build is already ASan+UBSan, so running it twice would only
# double the time.  A missing clang is a failure, never a skip.
set -u
cd "$(dirname "$0")/../.."

if [ "${FLAGPOST_SANITIZED:-}" = 1 ]; then
    echo "ok fuzz_smoke # skipped: the fuzz targets already run under ASan+UBSan in the normal pass"
    exit 0
fi

scripts/fuzz "${FUZZ_SMOKE_SECONDS:-8}"
