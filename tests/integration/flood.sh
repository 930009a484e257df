#!/usr/bin/env bash
# A flood of CURVE handshakes from unauthenticated peers, with real
# processes: a broker with its default limits, police and IDVA agents
# connected, and tests/tools/handshake_flood opening thousands of
# connections a second from 127.0.0.1 (and then from many loopback
# addresses), each with a real CURVE HELLO, while police publishes flags
# to IDVA through bench/e2e.  Checks that every flag is delivered, that the
# broker refused the flood (closed connections and SYNs dropped by its
# socket filter; counted, logged, audited in aggregate) rather than doing
# its handshakes, and that it kept serving.
#
# Prints, and never asserts, the publish -> stored latency without and
# with the flood and the broker's CPU: timings on a shared machine are
# noise; speed is `make bench`'s business.  FLOOD_COMPARE=1 also floods a
# broker started with --connect-rate 0 (no defence), for comparison.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/partnership.sh"

FLOOD="$FLAGPOST_TESTBIN/handshake_flood"
E2E="$(dirname "$FLAGPOST_BIN")/bench/e2e"
SECONDS_FLOOD=3
RATE=${FLOOD_RATE:-3000}

check "partnership set up" pp_setup met-police idva housing-hf
check "broker starts (default limits)" pp_start_broker
check "police agent starts" pp_start_agent met-police
check "idva agent starts" pp_start_agent idva
check "police connects" pp_wait_connected met-police
check "idva connects" pp_wait_connected idva
PORT=${PP_BROKER##*:}

cpu_ticks() {   # PID -> user+system clock ticks so far
    awk '{print $14 + $15}' "/proc/$1/stat"
}
cpu_ms_per_s() {   # TICKS SECONDS
    awk -v t="$1" -v s="$2" -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.0f", t * 1000 / hz / s}'
}
e2e() {   # OUT: police -> idva at 50 flags/s for the flood's length
    "$E2E" --agent "$(pp_agent met-police)" --recipient-data "$T/data-idva" --to idva \
        --rate 50 --seconds "$SECONDS_FLOOD" --warmup 0.3 >"$1" 2>"$1.err"
}
field() { awk -v n="$1" '$1 == n {print $2}' "$2"; }

# ---------------------------------------------------------------- without flood
c0=$(cpu_ticks "$PP_BROKER_PID"); s0=$(date +%s.%N)
check "flags are delivered without a flood" e2e "$T/quiet.out"
c1=$(cpu_ticks "$PP_BROKER_PID"); s1=$(date +%s.%N)
QUIET_CPU=$(cpu_ms_per_s $((c1 - c0)) "$(echo "$s1 - $s0" | bc)")

# ---------------------------------------------------------------- one address
"$FLOOD" --bundle "$PP_BUNDLE" --port "$PORT" --seconds "$SECONDS_FLOOD" --rate "$RATE" \
    --concurrency 3000 >"$T/flood.out" 2>&1 &
FLOOD_PID=$!
sleep 0.3
c0=$(cpu_ticks "$PP_BROKER_PID"); s0=$(date +%s.%N)
check "every flag is delivered during the flood" e2e "$T/flooded.out"
c1=$(cpu_ticks "$PP_BROKER_PID"); s1=$(date +%s.%N)
FLOOD_CPU=$(cpu_ms_per_s $((c1 - c0)) "$(echo "$s1 - $s0" | bc)")
wait "$FLOOD_PID"
check_eq "the flood tool ran" "$?" 0
attempts=$(field attempts "$T/flood.out"); welcomed=$(field welcomed "$T/flood.out")
refused=$(field refused "$T/flood.out")
echo "# flood from 127.0.0.1: $(tr '\n' ' ' <"$T/flood.out")"
echo "# publish -> stored at 50 flags/s, p50 / p99 ms: quiet $(field e2e_latency_p50_ms "$T/quiet.out") / $(field e2e_latency_p99_ms "$T/quiet.out"), during the flood $(field e2e_latency_p50_ms "$T/flooded.out") / $(field e2e_latency_p99_ms "$T/flooded.out")"
echo "# broker CPU, ms per second: quiet $QUIET_CPU, during the flood $FLOOD_CPU"
check "the flood made attempts" test "${attempts:-0}" -gt 1000
timeouts=$(field timeouts "$T/flood.out")
check "most attempts were dropped or closed before a handshake" \
    test "$((${refused:-0} + ${timeouts:-0}))" -gt "$((attempts / 2))"
check "few got a handshake" test "${welcomed:-0}" -lt "$((attempts / 4))"
check "the broker logged the flood" wait_until 5 \
    grep -q 'connection-flood address=127.0.0.1 closed=[1-9]' "$T/broker.log"
check "the flood is audited" wait_until 5 bash -c \
    "'$FP' audit list --data '$PP_BROKER_DATA' --format jsonl --event certificate_refused | grep -q 'connection-rate-limited: from 127.0.0.1'"
entries=$(pp_audit --event certificate_refused | grep -c 'connection-rate-limited')
echo "# $entries aggregated audit entries for $refused refused connections"
check "in aggregate: a few entries, not one per attempt" test "$entries" -le 10
check "the broker is still running" kill -0 "$PP_BROKER_PID"

# After the flood an agency can connect from the same address.
sleep 1
check "housing agent starts after the flood" pp_start_agent housing-hf
check "housing connects after the flood" pp_wait_connected housing-hf

# ---------------------------------------------------------------- many addresses
"$FLOOD" --bundle "$PP_BUNDLE" --port "$PORT" --seconds 2 --rate "$RATE" --sources 40 \
    --concurrency 3000 \
    >"$T/flood40.out" 2>&1
echo "# flood from 40 addresses: $(tr '\n' ' ' <"$T/flood40.out")"
attempts=$(field attempts "$T/flood40.out"); welcomed=$(field welcomed "$T/flood40.out")
check "from many addresses, the total limit stops most" test "${welcomed:-0}" -lt \
    "$((attempts / 2))"
check "the other addresses are audited" wait_until 5 bash -c \
    "'$FP' audit list --data '$PP_BROKER_DATA' --format jsonl --event certificate_refused | grep -Eq 'from 127[.]0[.]0[.]([2-9]|[1-4][0-9]) in'"
check "and the broker still serves: every flag delivered" e2e "$T/after.out"

# ---------------------------------------------------------------- no defence
if [ -n "${FLOOD_COMPARE:-}" ]; then
    stop_pid "$PP_PID_met_police"; stop_pid "$PP_PID_idva"; stop_pid "$PP_PID_housing_hf"
    stop_pid "$PP_BROKER_PID"
    mv "$T/broker.log" "$T/broker-defended.log"
    PP_PORT=$(free_port) pp_start_broker --connect-rate 0
    PORT=${PP_BROKER##*:}
    pp_start_agent met-police; pp_start_agent idva
    pp_wait_connected met-police; pp_wait_connected idva
    "$FLOOD" --bundle "$PP_BUNDLE" --port "$PORT" --seconds "$SECONDS_FLOOD" --rate "$RATE" \
        --concurrency 3000 >"$T/flood-open.out" 2>&1 &
    FLOOD_PID=$!
    sleep 0.3
    c0=$(cpu_ticks "$PP_BROKER_PID"); s0=$(date +%s.%N)
    e2e "$T/open.out"
    c1=$(cpu_ticks "$PP_BROKER_PID"); s1=$(date +%s.%N)
    wait "$FLOOD_PID"
    echo "# no defence (--connect-rate 0): $(tr '\n' ' ' <"$T/flood-open.out")"
    echo "# no defence: p50 / p99 ms $(field e2e_latency_p50_ms "$T/open.out") / $(field e2e_latency_p99_ms "$T/open.out"), broker CPU $(cpu_ms_per_s $((c1 - c0)) "$(echo "$s1 - $s0" | bc)") ms per second"
fi
