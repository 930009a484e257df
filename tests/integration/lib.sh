# Shared helpers for integration tests.  Source it first:
#     . "$(dirname "$0")/lib.sh"
#
# Each check prints "ok NAME" or "not ok NAME" (tests/run counts them).
# Every process a test starts is recorded and stopped by PID on exit, and
# servers bind only to 127.0.0.1 or ipc:// paths inside the test's own
# temporary directory.
set -u

FLAGPOST_BIN=${FLAGPOST_BIN:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build/bin}
FLAGPOST_TESTBIN=${FLAGPOST_TESTBIN:-$(dirname "$FLAGPOST_BIN")/tests}
FP="$FLAGPOST_BIN/flagpost"
T=$(mktemp -d "${TMPDIR:-/tmp}/fp-it.XXXXXX")
T_PIDS=()
T_FAILED=0

t_cleanup() {
    local pid
    for pid in "${T_PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null
    done
    for pid in "${T_PIDS[@]}"; do
        for _ in $(seq 1 $((50 * ${FLAGPOST_TIME_SCALE:-1}))); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    # A sanitizer report in any process log is a failure, even though the
    # process ran in the background and nobody waited for its status.
    local log
    for log in "$T"/*.log; do
        [ -f "$log" ] || continue
        if grep -Eq 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$log"; then
            not_ok "no sanitizer report in $(basename "$log")"
            grep -E -A12 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$log" \
                | head -30 | sed 's/^/#   /'
        fi
    done
    if [ "$T_FAILED" -eq 0 ] && [ -z "${KEEP_TEST_DIR:-}" ]; then
        rm -rf "$T"
    else
        echo "# test files kept in $T"
    fi
}
trap t_cleanup EXIT

ok()     { echo "ok $1"; }
not_ok() { echo "not ok $1"; T_FAILED=$((T_FAILED + 1)); }

# check NAME COMMAND...: passes when COMMAND exits 0.
check() {
    local name=$1; shift
    if "$@" >"$T/last.out" 2>"$T/last.err"; then ok "$name"; else
        not_ok "$name"; sed 's/^/#   /' "$T/last.out" "$T/last.err" | head -20; fi
}
# check_fails NAME COMMAND...: passes when COMMAND exits non-zero.
check_fails() {
    local name=$1; shift
    if "$@" >"$T/last.out" 2>"$T/last.err"; then
        not_ok "$name"; echo "#   expected failure but it succeeded"; else ok "$name"; fi
}
# check_grep NAME PATTERN FILE: passes when FILE matches the extended regex.
check_grep() {
    if grep -Eq -- "$2" "$3"; then ok "$1"; else
        not_ok "$1"; echo "#   /$2/ not found in $3:"; head -20 "$3" | sed 's/^/#   /'; fi
}
check_no_grep() {
    if grep -Eq -- "$2" "$3"; then
        not_ok "$1"; echo "#   /$2/ unexpectedly found in $3"; else ok "$1"; fi
}
check_eq() {   # NAME ACTUAL EXPECTED
    if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1"; echo "#   got '$2', expected '$3'"; fi
}

# start_bg NAME COMMAND...: run in the background, log to $T/NAME.log, record PID.
start_bg() {
    local name=$1; shift
    "$@" >"$T/$name.log" 2>&1 &
    local pid=$!
    T_PIDS+=("$pid")
    eval "PID_${name//-/_}=$pid"
}

# stop_pid PID [SIGNAL]: stop one process and wait for it.
stop_pid() {
    local pid=$1 sig=${2:-TERM}
    kill "-$sig" "$pid" 2>/dev/null
    for _ in $(seq 1 $((100 * ${FLAGPOST_TIME_SCALE:-1}))); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    wait "$pid" 2>/dev/null
    return 0
}

# wait_until SECONDS COMMAND...: poll until COMMAND succeeds.
# FLAGPOST_TIME_SCALE (tests/run sets it under valgrind) stretches every
# wait: the programs run tens of times slower there, and nothing in these
# tests asserts a time.
wait_until() {
    local secs=$(($1 * ${FLAGPOST_TIME_SCALE:-1})); shift
    local deadline=$((SECONDS + secs))
    while [ $SECONDS -lt $deadline ]; do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    return 1
}

# wait_output SECONDS EXPECTED COMMAND...: poll until COMMAND prints EXPECTED
# (COMMAND is run afresh each time; shell functions work).
wait_output() {
    local secs=$(($1 * ${FLAGPOST_TIME_SCALE:-1})) want=$2; shift 2
    local deadline=$((SECONDS + secs)) got=""
    while [ $SECONDS -lt $deadline ]; do
        got=$("$@" 2>/dev/null)
        [ "$got" = "$want" ] && return 0
        sleep 0.1
    done
    echo "#   last output: '$got', waited for '$want'" >&2
    return 1
}

# A free TCP port on 127.0.0.1 (the kernel picks it).
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# browser_render HTML PNG: open HTML in headless Chromium (Debian's
# package), save a screenshot, and fail if the page logged anything to the
# console or tried the network.  The screenshot is also kept as a test
# artifact under build/artifacts/.
browser_render() {
    local html=$1 png=$2 log
    log="$T/chromium-$(basename "$png").log"
    command -v chromium >/dev/null || { echo "#   chromium is not installed (scripts/install-deps)"; return 1; }
    timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --user-data-dir="$T/chromium-profile" --enable-logging=stderr --v=0 \
        --window-size=1280,4000 --screenshot="$png" "file://$html" >"$log" 2>&1 || return 1
    if grep -Eq 'CONSOLE|Uncaught|net::ERR|Failed to load resource' "$log"; then
        grep -E 'CONSOLE|Uncaught|net::ERR|Failed to load resource' "$log" | head -5 | sed 's/^/#   /'
        return 1
    fi
    [ -s "$png" ] || return 1
    local artifacts
    artifacts="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build/artifacts"
    mkdir -p "$artifacts" && cp "$png" "$artifacts/"
}
