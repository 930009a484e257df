#!/usr/bin/env bash
# The benchmark, briefly, so it never rots: bench/run --smoke exercises
# every measurement (ceilings, broker capacity, end-to-end latency, lookup,
# policy, audit verification, memory) for a moment against real processes,
# and this checks that results.json is well-formed and names every figure.
# No timing is asserted: on a shared machine under a sanitizer the numbers
# mean nothing.
. "$(dirname "$0")/lib.sh"

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(dirname "$FLAGPOST_BIN")
OUT=$T/results.json

BENCH_OUT=$OUT "$ROOT/bench/run" "$BUILD" --smoke >"$T/bench.out" 2>"$T/bench.err"
rc=$?
check_eq "bench/run --smoke exits 0" "$rc" 0
[ "$rc" -eq 0 ] || sed 's/^/#   /' "$T/bench.err" | tail -20

check "results.json is a JSON list" jq -e 'type == "array" and length > 0' "$OUT"
check "every entry has name, value, unit, ceiling, ratio" jq -e \
    'all(.[]; has("name") and has("value") and has("unit") and has("ceiling") and has("ratio"))' \
    "$OUT"
for name in ceiling_ed25519_verify_2core ceiling_curve_msgs ceiling_lmdb_group_commit \
            floor_ipc_rtt_p50_us floor_ipc_rtt_p99_us floor_unix_rtt_p50_us floor_unix_rtt_p99_us bound_capacity_flags_per_s \
            broker_capacity_flags_per_s e2e_latency_p50_ms e2e_latency_p99_ms lookup_p99_us \
            policy_decide_ns audit_verify_entries_per_s agent_rss_mb broker_rss_mb_1m_queued \
            peer_rabbitmq_durable_msgs peer_mosquitto_qos1_msgs; do
    check "results.json names $name" jq -e --arg n "$name" \
        '[.[] | select(.name == $n)] | length == 1' "$OUT"
done
check "every flagpost figure is a number" jq -e \
    'all(.[] | select(.name | startswith("peer_") | not); .value | type == "number")' "$OUT"
check "a skipped peer says why" jq -e \
    'all(.[] | select(.value == null); .note | test("skipped"))' "$OUT"
check "capacity has a ratio against its ceiling" jq -e \
    '.[] | select(.name == "broker_capacity_flags_per_s") | .ratio | type == "number"' "$OUT"
check "lookup has a ratio against the bare ipc round trip" jq -e \
    '.[] | select(.name == "lookup_p99_us") | .ratio | type == "number"' "$OUT"
check_grep "the table is printed" "broker_capacity_flags_per_s" "$T/bench.out"

# FLAGPOST_BENCH_IN_MEMORY: a name it does not know is refused, saying
# which; the e2e section runs with every store on /dev/shm and leaves
# nothing there.
FLAGPOST_BENCH_IN_MEMORY="broker disk" "$ROOT/bench/run" "$BUILD" --smoke \
    >"$T/mem-bad.out" 2>"$T/mem-bad.err"
check_eq "an unknown FLAGPOST_BENCH_IN_MEMORY name exits 2" "$?" 2
check_grep "the refusal names the bad word" '"disk" is not broker, sender or recipient' \
    "$T/mem-bad.err"
shm_before=$(ls -d /dev/shm/fp-bench.* 2>/dev/null | wc -l)
BENCH_OUT=$T/mem.json FLAGPOST_BENCH_ONLY=e2e FLAGPOST_BENCH_IN_MEMORY="broker sender recipient" \
    "$ROOT/bench/run" "$BUILD" --smoke >"$T/mem.out" 2>"$T/mem.err"
check_eq "e2e with every store in memory exits 0" "$?" 0
check "it records the e2e p99" jq -e \
    '[.[] | select(.name == "e2e_latency_p99_ms") | .value | type == "number"] == [true]' \
    "$T/mem.json"
check_eq "it leaves nothing in /dev/shm" "$(ls -d /dev/shm/fp-bench.* 2>/dev/null | wc -l)" \
    "$shm_before"
# ... and the stores really were there: kept (KEEP_BENCH_DIR), the run's
# /dev/shm directory holds all three and its working directory none.
ls -d /dev/shm/fp-bench.* 2>/dev/null | sort >"$T/shm-before"
KEEP_BENCH_DIR=1 BENCH_OUT=$T/mem2.json FLAGPOST_BENCH_ONLY=e2e \
    FLAGPOST_BENCH_IN_MEMORY="broker sender recipient" "$ROOT/bench/run" "$BUILD" --smoke \
    >"$T/mem2.out" 2>"$T/mem2.err"
W=$(sed -n 's/^== setting up .*(\(.*\))$/\1/p' "$T/mem2.err")
SHM=$(ls -d /dev/shm/fp-bench.* 2>/dev/null | sort | comm -13 "$T/shm-before" - | head -1)
check "the kept run names its working directory" test -n "$W" -a -d "$W"
for s in broker-data data-met-police data-idva; do
    check "the kept run's $s is in /dev/shm" test -e "$SHM/$s/data.mdb"
    check_fails "the kept run's $s is not in its working directory" test -e "$W/$s"
done
[ -n "$W" ] && rm -rf "$W"
[ -n "$SHM" ] && rm -rf "$SHM"

# bench/resend_stall (lookups while an agent resends a backlog), small:
# it runs, prints its figures, and stops every process it started.
"$ROOT/bench/resend_stall" "$BUILD" 50 300 500 >"$T/resend.out" 2>"$T/resend.err"
check_eq "bench/resend_stall exits 0" "$?" 0
check_grep "it prints the lookups' figures" \
    '^lookups 300: p50 [0-9]* us, p99 [0-9]* us, p99.9 [0-9]* us, max [0-9]* us, over 5 ms: [0-9]*$' \
    "$T/resend.out"
check_fails "it leaves no broker or agent running" pgrep -f "fp-resend\."
"$ROOT/bench/resend_stall" "$BUILD" many >"$T/resend-bad.out" 2>"$T/resend-bad.err"
check_eq "a count that is not a number exits 2" "$?" 2
check_grep "and says which" "'many' is not a positive count" "$T/resend-bad.err"
