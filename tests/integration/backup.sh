#!/usr/bin/env bash
# Backup and restore with real processes: a backup of the broker's store
# taken while an agent publishes a stream of flags restores into a new
# directory whose audit trail verifies and holds every entry up to the
# backup point (exactly the live trail's first entries); a broker started
# on it serves; an agent's store backs up and restores too; and neither
# command overwrites anything by accident.  Also `flagpost broker-status`.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/partnership.sh"

check "partnership set up" pp_setup met-police housing-hf
check "broker starts" pp_start_broker
check "police agent starts" pp_start_agent met-police
check "housing agent starts" pp_start_agent housing-hf
check "police connects" pp_wait_connected met-police
check "housing connects" pp_wait_connected housing-hf

audit_size() {   # DATA-DIR
    "$FP" broker-status --data "$1" --json | jq .audit.entries
}

# ---------------------------------------------------------------- broker-status
"$FP" broker-status --data "$PP_BROKER_DATA" >"$T/status.txt"
check_grep "status shows the policy hash" "^policy hash +[0-9a-f]{64}$" "$T/status.txt"
check_grep "status shows the audit size" "^audit trail +[0-9]+ entries" "$T/status.txt"
"$FP" broker-status --data "$PP_BROKER_DATA" --json >"$T/status.json"
check_eq "JSON policy hash is the signed policy's" "$(jq -r .policy_hash "$T/status.json")" \
    "$("$FP" policy hash "$PP_POLICY" 2>/dev/null | grep -Eo '[0-9a-f]{64}' | head -1)"
check_fails "broker-status refuses a directory without a store" \
    "$FP" broker-status --data "$T/nowhere"
check "broker-status created nothing" test ! -e "$T/nowhere"

# Housing stops, so flags for it queue at the broker: the backlog shows it.
stop_pid "$PP_PID_housing_hf"
flag() {   # N
    printf '{"category": "da_victim", "purpose": "safeguarding",
 "lawful_basis": "public_task_safeguarding", "consent": "not_sought_unsafe",
 "consent_reason": "unsafe to seek", "risk": "high",
 "subject": {"role": "victim", "nhs": "9434765919"},
 "recipients": ["housing-hf"], "fields": {"risk_summary": "stream %s"}}\n' "$1"
}
for i in 1 2 3; do flag "q$i" | pp_fp met-police publish - >/dev/null; done
check "the backlog for housing shows 3" wait_until 10 bash -c \
    "[ \"\$('$FP' broker-status --data '$PP_BROKER_DATA' --json | jq '.backlog[\"housing-hf\"]')\" = 3 ]"
"$FP" broker-status --data "$PP_BROKER_DATA" --json >"$T/status.json"
check_eq "backlog total" "$(jq .backlog_total "$T/status.json")" 3
check "housing starts again" pp_start_agent housing-hf
check "the backlog drains" wait_until 15 bash -c \
    "[ \"\$('$FP' broker-status --data '$PP_BROKER_DATA' --json | jq .backlog_total)\" = 0 ]"

# ---------------------------------------------------------------- backup under load
N=150
cat >"$T/stream.sh" <<EOF
for i in \$(seq 1 $N); do
    printf '{"category": "da_victim", "purpose": "safeguarding", "lawful_basis": "public_task_safeguarding", "consent": "not_sought_unsafe", "consent_reason": "unsafe", "risk": "high", "subject": {"role": "victim", "nhs": "9434765919"}, "recipients": ["housing-hf"], "fields": {"risk_summary": "stream %s"}}' \$i \
      | "$FP" --agent "$(pp_agent met-police)" publish - >/dev/null || exit 1
done
echo stream-done
EOF
start_bg stream bash "$T/stream.sh"
STREAM_PID=$!
wait_until 20 bash -c "[ \$('$FP' broker-status --data '$PP_BROKER_DATA' --json | jq .audit.entries) -gt 60 ]"
BEFORE=$(audit_size "$PP_BROKER_DATA")
check "backup while the stream runs" "$FP" backup --data "$PP_BROKER_DATA" --out "$T/broker.backup"
AFTER=$(audit_size "$PP_BROKER_DATA")
check "the stream was still running after the backup" kill -0 "$STREAM_PID"
check_eq "the backup file is 0600" "$(stat -c %a "$T/broker.backup")" 600
check "no temporary directory is left" bash -c "! ls -A '$T' | grep -q flagpost-backup"
check_fails "backup refuses to overwrite" "$FP" backup --data "$PP_BROKER_DATA" --out "$T/broker.backup"
check_grep "and says to use --force" "--force" "$T/last.err"
check "backup --force replaces" "$FP" backup --data "$PP_BROKER_DATA" --out "$T/broker2.backup"
check "backup --force onto an existing file" "$FP" backup --data "$PP_BROKER_DATA" \
    --out "$T/broker2.backup" --force
wait_until 120 grep -q stream-done "$T/stream.log"
check "the stream finished" grep -q stream-done "$T/stream.log"

check "restore into a new directory" "$FP" restore --backup "$T/broker.backup" --data "$T/restored"
check_eq "the restored directory is 0700" "$(stat -c %a "$T/restored")" 700
check "the restored audit trail verifies" "$FP" audit verify --data "$T/restored" --ca "$PP_BUNDLE"
RSIZE=$(audit_size "$T/restored")
check "it holds every entry up to the backup point" test "$RSIZE" -ge "$BEFORE" -a "$RSIZE" -le "$AFTER"
LIVE=$(audit_size "$PP_BROKER_DATA")
check "the live trail went on growing" test "$LIVE" -gt "$RSIZE"
"$FP" audit list --data "$T/restored" --format jsonl >"$T/restored.jsonl"
"$FP" audit list --data "$PP_BROKER_DATA" --format jsonl | head -n "$RSIZE" >"$T/live-prefix.jsonl"
check_eq "restored entries are the live trail's first $RSIZE" "$(wc -l <"$T/restored.jsonl")" "$RSIZE"
check "restored entries are not none" test -s "$T/restored.jsonl"
check "entry for entry" cmp "$T/restored.jsonl" "$T/live-prefix.jsonl"

check_fails "restore refuses a non-empty directory" \
    "$FP" restore --backup "$T/broker.backup" --data "$T/restored"
check_grep "saying so" "not empty" "$T/last.err"
echo "not lmdb" >"$T/junk.backup"
check_fails "restore refuses a file that is not a store" \
    "$FP" restore --backup "$T/junk.backup" --data "$T/junk-restored"
check "and writes nothing" bash -c "[ -z \"\$(ls -A '$T/junk-restored' 2>/dev/null)\" ]"

# ---------------------------------------------------------------- the restored broker serves
RPORT=$(free_port)
start_bg broker-restored "$FLAGPOST_BIN/flagpost-broker" --identity "$T/id-broker" \
    --ca "$PP_BUNDLE" --policy "$PP_POLICY" --data "$T/restored" \
    --bind "tcp://127.0.0.1:$RPORT"
check "a broker starts on the restored store" wait_until 10 grep -q broker-started \
    "$T/broker-restored.log"
start_bg agent-police2 "$FLAGPOST_BIN/flagpost-agent" --identity "$T/id-met-police" \
    --ca "$PP_BUNDLE" --policy "$PP_POLICY" --data "$T/data-police2" \
    --broker "tcp://127.0.0.1:$RPORT" --socket "ipc://$T/police2.sock"
check "an agent connects to it" wait_until 15 grep -q broker-connected "$T/agent-police2.log"
flag restored | "$FP" --agent "ipc://$T/police2.sock" publish - >"$T/restored-publish.out"
check_grep "it accepts a flag" '"status": "accepted"' "$T/restored-publish.out"
check "its trail still verifies" "$FP" audit verify --data "$T/restored" --ca "$PP_BUNDLE"

# ---------------------------------------------------------------- an agent's store
check "backup of a running agent's store" "$FP" backup --data "$T/data-met-police" \
    --out "$T/police.backup"
check "restores" "$FP" restore --backup "$T/police.backup" --data "$T/police-restored"
check_fails "broker-status says it is not a broker store" \
    "$FP" broker-status --data "$T/police-restored"
stop_pid "$PP_PID_met_police"
start_bg agent-police3 "$FLAGPOST_BIN/flagpost-agent" --identity "$T/id-met-police" \
    --ca "$PP_BUNDLE" --policy "$PP_POLICY" --data "$T/police-restored" \
    --broker "$PP_BROKER" --socket "ipc://$T/police3.sock"
check "an agent starts on the restored store" wait_until 10 test -S "$T/police3.sock"
"$FP" --agent "ipc://$T/police3.sock" status >"$T/police3.status"
check "it holds the published flags" test "$(jq .outbox.total "$T/police3.status")" -ge "$N"
