#!/usr/bin/env bash
# Fuzz smoke test: every libFuzzer target in fuzz/ for about 10 seconds
# (scripts/fuzz 10), so `make test` catches a decoder that crashes on the
# first mutations of its seeds.  Prints scripts/fuzz's "ok fuzz_NAME" /
# "not ok fuzz_NAME" lines; tests/run counts them.
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

scripts/fuzz "${FUZZ_SMOKE_SECONDS:-10}"
