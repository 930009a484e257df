#!/usr/bin/env bash
# shellcheck disable=SC2317  # predicates called through wait_for
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
# First, that a fuzz run leaves no scratch files behind however it ends
# (scripts/fuzz, "Scratch files"): the two targets with fixtures on disk
# run with FUZZ_TMPDIR pointing into this test's directory; once each has
# made its fixture there, fuzz_broker_intake is made to crash (a SIGSEGV
# it raises itself on its next input, see FUZZ_SMOKE_CRASH_FILE in
# fuzz/fuzz_broker_intake.c; libFuzzer's crash path: the reproducer is
# written, then _Exit, so no atexit runs) and fuzz_agent_receive is sent
# SIGKILL; then a second run is interrupted as a whole (SIGTERM to
# scripts/fuzz).  Each time nothing may be left in FUZZ_TMPDIR, and the
# crash's reproducer must still be where scripts/fuzz reports it.  This
# runs before the smoke proper, whose run of fuzz_broker_intake removes
# that deliberate reproducer again.  A few seconds once the fuzz build is
# cached (the first run builds it).  Every wait here is bounded: a run
# that does not end is a failure, and is killed.
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

. tests/integration/lib.sh

# wait_for SECONDS COMMAND...: true once COMMAND succeeds, polled 5 times a
# second; false after SECONDS or as soon as the run ($run) has ended.
wait_for() {
    local n=$(($1 * 5)) i
    shift
    for ((i = 0; i < n; i++)); do
        "$@" && return 0
        kill -0 "$run" 2>/dev/null || return 1
        sleep 0.2
    done
    return 1
}

# The pid scripts/fuzz wrote for target NAME, and the target's fixture.
target_pid() { cat "$T"/scratch/fp-fuzz-run.*/"$1.pid" 2>/dev/null; }
has_fixture() { compgen -G "$T/scratch/fp-fuzz-run.*/$1/$2.*" >/dev/null; }
started() { [ -n "$(target_pid "$1")" ] && has_fixture "$1" "$2"; }
intake_ready() {
    started broker_intake fp-fuzz-intake && grep -q INITED build/fuzz/run/broker_intake/log
}
left_behind() { find "$T/scratch" -mindepth 1 | head -5 | sed 's/^/#   left: /'; }
nothing_left() { [ -z "$(find "$T/scratch" -mindepth 1 -print -quit)" ]; }

# Start a 60-second run of NAME...; sets $run.  fuzz_broker_intake
# crashes on its first input once $T/crash-now exists (FUZZ_SMOKE_CRASH_FILE,
# see fuzz/fuzz_broker_intake.c).
start_run() {
    rm -f "$T/crash-now"
    FUZZ_SMOKE_CRASH_FILE=$T/crash-now FUZZ_TMPDIR=$T/scratch \
        scripts/fuzz 60 "$@" >"$T/run.out" 2>&1 &
    run=$!
    T_PIDS+=("$run")
}

# run_ends SECONDS WHAT: true once the run has ended; else a failure named
# WHAT, and the run and its targets are killed so the test goes on.
run_ends() {
    local i
    for ((i = 0; i < $1 * 5; i++)); do
        kill -0 "$run" 2>/dev/null || { wait "$run"; return 0; }
        sleep 0.2
    done
    not_ok "$2: scripts/fuzz still runs $1 s later"
    local f
    for f in "$T"/scratch/fp-fuzz-run.*/*.pid; do
        [ -f "$f" ] && kill -KILL "$(cat "$f")" 2>/dev/null
    done
    kill -KILL "$run" 2>/dev/null
    wait "$run"
    return 1
}

crash_leaves_nothing() {
    start_run broker_intake agent_receive
    # The first run may build the fuzz tree: minutes, once.
    if ! wait_for 900 intake_ready || ! wait_for 60 started agent_receive fp-fuzz-agent; then
        not_ok "fuzz_crash_leaves_nothing: the targets did not start with their fixtures in FUZZ_TMPDIR"
        sed 's/^/#   /' "$T/run.out" | head -10
        return
    fi
    : >"$T/crash-now"
    kill -KILL "$(target_pid agent_receive)"
    run_ends 60 "fuzz_crash_leaves_nothing" || return
    local artifact
    artifact=$(sed -n 's/^not ok fuzz_broker_intake (crash: \([^;]*\);.*/\1/p' "$T/run.out")
    if [ -n "$artifact" ] && [ -f "$artifact" ]; then
        ok "fuzz_crash_artifact_kept: $artifact"
    else
        not_ok "fuzz_crash_artifact_kept: no crash reproducer reported for the SIGSEGV"
        sed 's/^/#   /' "$T/run.out" | head -10
    fi
    if nothing_left; then
        ok "fuzz_crash_leaves_nothing: SIGSEGV and SIGKILL mid-run left no scratch files"
    else
        not_ok "fuzz_crash_leaves_nothing: scratch files left after SIGSEGV and SIGKILL"
        left_behind
    fi
}

interrupt_leaves_nothing() {
    start_run broker_intake
    if ! wait_for 60 intake_ready; then
        not_ok "fuzz_interrupt_leaves_nothing: fuzz_broker_intake did not start"
        return
    fi
    local target
    target=$(target_pid broker_intake)
    kill -TERM "$run"
    run_ends 60 "fuzz_interrupt_leaves_nothing" || return
    if kill -0 "$target" 2>/dev/null; then
        not_ok "fuzz_interrupt_leaves_nothing: fuzz_broker_intake still runs after scripts/fuzz was stopped"
        kill -KILL "$target"
    elif nothing_left; then
        ok "fuzz_interrupt_leaves_nothing: SIGTERM to scripts/fuzz stopped its target and left no scratch files"
    else
        not_ok "fuzz_interrupt_leaves_nothing: scratch files left after SIGTERM to scripts/fuzz"
        left_behind
    fi
}

mkdir -p "$T/scratch"
crash_leaves_nothing
interrupt_leaves_nothing

scripts/fuzz "${FUZZ_SMOKE_SECONDS:-8}"
status=$?
[ "$T_FAILED" -eq 0 ] || status=1
exit $status
