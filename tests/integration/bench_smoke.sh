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
