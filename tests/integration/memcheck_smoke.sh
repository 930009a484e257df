#!/usr/bin/env bash
# The core path (tests/integration/core_path.sh) again with every broker,
# agent and flagpost process under valgrind's memcheck, so `make test`
# keeps the valgrind mode working and catches a memory error or leak on the
# main path.  `make valgrind` runs every test this way (it takes over an
# hour on two cores; this takes a few minutes).
#
# Prints one "ok"/"not ok" line for the core path's checks and one for the
# memcheck verdict.  Skipped in the sanitized pass (ASan and valgrind do
# not mix) and when already under valgrind.
set -u
cd "$(dirname "$0")/../.."

if [ -n "${FLAGPOST_SANITIZED:-}" ] || [ -n "${FLAGPOST_VALGRIND:-}" ]; then
    echo "ok memcheck_smoke # skipped: runs once, in the plain build's pass"
    exit 0
fi
if ! command -v valgrind >/dev/null; then
    echo "not ok valgrind is installed (scripts/install-deps)"
    exit 1
fi
build=$(cd "$FLAGPOST_BIN/.." && pwd)
out=$(FLAGPOST_VALGRIND=1 TEST_ONLY=core_path tests/run "${build#"$PWD"/}" 2>&1)
summary=$(echo "$out" | tail -1)
checks=$(echo "$summary" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p')
if [ -z "$checks" ] || [ "${checks% *}" -lt 100 ]; then
    echo "not ok the core path runs under memcheck (no result)"
    echo "$out" | tail -20 | sed 's/^/#   /'
    exit 1
fi
failures=$(echo "$out" | grep -E '^ +not ok ' | sed 's/^ *//')
if echo "$failures" | grep -qv '^not ok memcheck of' && [ -n "$failures" ]; then
    echo "not ok the core path passes under memcheck"
    echo "$out" | grep -E '^ +(not ok|#)' | grep -v 'memcheck of' | head -30 | sed 's/^ */#   /'
else
    echo "ok the core path passes under memcheck (${checks% *} checks)"
fi
if echo "$failures" | grep -q '^not ok memcheck of'; then
    echo "not ok memcheck finds no error or leak on the core path"
    echo "$out" | grep -A14 'not ok memcheck of' | sed 's/^ */#   /'
else
    echo "ok memcheck finds no error or leak on the core path"
fi
