#!/usr/bin/env bash
# tests/run itself: the time limit it gives every test, and that nothing
# it started outlives it.  Each check runs tests/run on a build tree made
# here, whose only "unit test" is a small script (TEST_ONLY names it, so
# no real test runs), in a session of its own so every process it leaves
# behind can be found by session id.
#
# - a test that reads its standard input gets end of file: run from a
#   terminal, it must not be stopped by SIGTTIN (each test runs in a
#   background process group, and bash with job control does not give a
#   background job /dev/null as it does otherwise);
# - a test over its limit is stopped, with what it started, and fails;
# - tests/run stopped by INT or TERM leaves nothing behind: neither the
#   test nor the watchdog that would otherwise signal, minutes later, a
#   process group whose id may have been reused.
set -u
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh

FAKE="$T/build"
mkdir -p "$FAKE/bin" "$FAKE/tests"

# fake_test NAME BODY: a unit test of the fake build tree.
fake_test() {
    printf '#!/usr/bin/env bash\n%s\n' "$2" >"$FAKE/tests/test_fp_runner_$1"
    chmod +x "$FAKE/tests/test_fp_runner_$1"
}
fake_test stdin 'if read -r -t 20 line; then echo "ok read: $line"; else echo "ok read: end of file"; fi'
fake_test hang 'sleep 300 & wait'

# in_session OUT COMMAND...: COMMAND in a new session, SIGINT at its
# default (an asynchronous command of a script starts with it ignored,
# and bash cannot trap a signal ignored on entry), output to OUT; prints
# its pid, which is also its session id.
in_session() {
    local out=$1; shift
    python3 -c 'import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.setsid()
os.execvp(sys.argv[1], sys.argv[1:])' "$@" >"$out" 2>&1 </dev/null &
    T_PIDS+=("$!")
    echo "$!"
}

# session_left SID: the processes still in session SID.
session_left() { pgrep -s "$1" 2>/dev/null | tr '\n' ' '; }

run_fake() {   # ONLY [LIMIT]
    TMPDIR=$T TEST_ONLY=test_fp_runner_$1 FLAGPOST_TEST_LIMIT=${2:-900} tests/run "$FAKE"
}

# A terminal: script(1) gives tests/run one as its standard input.
if command -v script >/dev/null; then
    TMPDIR=$T TEST_ONLY=test_fp_runner_stdin timeout 60 \
        script -qec "tests/run '$FAKE'" /dev/null >"$T/stdin.out" 2>&1 </dev/null
    check_grep "runner_stdin_not_stopped: a test reading stdin from a terminal gets end of file" \
        '^1 passed, 0 failed' "$T/stdin.out"
else
    not_ok "runner_stdin_not_stopped: script(1) (bsdutils) is not installed"
fi

start=$SECONDS
run_fake hang 2 >"$T/limit.out" 2>&1
check_grep "runner_limit_stops_test: a test over its limit fails, named" \
    'not ok .*test_fp_runner_hang \(still running after 2s' "$T/limit.out"
check "runner_limit_stops_test: within seconds of the limit" [ $((SECONDS - start)) -lt 30 ]

for sig in INT TERM; do
    sid=$(in_session "$T/$sig.out" env TMPDIR="$T" TEST_ONLY=test_fp_runner_hang \
        FLAGPOST_TEST_LIMIT=600 tests/run "$FAKE")
    wait_until 10 pgrep -s "$sid" -f 'sleep 300'
    kill -"$sig" "$sid"
    wait_until 10 bash -c "! kill -0 $sid 2>/dev/null"
    wait_until 5 bash -c "[ -z \"\$(pgrep -s $sid)\" ]"
    left=$(session_left "$sid")
    if [ -z "$left" ]; then
        ok "runner_${sig,,}_leaves_nothing: tests/run stopped by SIG$sig"
    else
        not_ok "runner_${sig,,}_leaves_nothing: tests/run stopped by SIG$sig"
        ps -o pid,pgid,args -s "$sid" | sed 's/^/#   /'
        for pid in $left; do kill -KILL "$pid" 2>/dev/null; done
    fi
done
