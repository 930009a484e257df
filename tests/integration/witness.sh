#!/usr/bin/env bash
# Agents as witnesses: the broker signs checkpoints of its audit tree and
# sends them to agents; an agent accepts a newer checkpoint only with a
# valid consistency proof.  A broker whose store is rewritten after an
# agent saw a checkpoint is caught by that agent (log, alert file, status).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/partnership.sh"

check "partnership set up" pp_setup met-police housing-hf
check "broker starts" pp_start_broker --checkpoint-interval 500
check "police agent starts" pp_start_agent met-police
check "housing agent starts" pp_start_agent housing-hf

publish_one() {   # N
    printf '{"category":"da_victim","purpose":"safeguarding","lawful_basis":"public_task_safeguarding",
"consent":"not_sought_unsafe","consent_reason":"unsafe","risk":"high",
"subject":{"role":"victim","name":"Witness %d","dob":"1990-01-01"},"recipients":["housing-hf"],
"fields":{"risk_summary":"w"}}' "$1" | pp_fp met-police publish - >/dev/null
}
cp_size() { pp_fp "$1" status 2>/dev/null | jq -r .checkpoint.tree_size; }
for i in 1 2 3; do publish_one $i; done
check "housing accepts a first checkpoint" wait_until 15 bash -c \
    "test \"\$($FP --agent $(pp_agent housing-hf) status | jq -r .checkpoint.tree_size)\" -gt 0"
FIRST=$(cp_size housing-hf)
for i in 4 5 6; do publish_one $i; done
check "housing accepts a later checkpoint with a consistency proof" wait_until 15 bash -c \
    "test \"\$($FP --agent $(pp_agent housing-hf) status | jq -r .checkpoint.tree_size)\" -gt $FIRST"
check "no alarm while the history is honest" pp_fp housing-hf status
check_eq "the status shows no alarm" "$(pp_fp housing-hf status | jq -r .audit_alarm)" null
check "stored checkpoints verify" "$FP" audit verify --data "$PP_BROKER_DATA" --ca "$PP_BUNDLE"

# The operator rewrites an early entry and recomputes the whole tree, then
# restarts the broker as if nothing happened.
stop_pid "$PP_BROKER_PID" TERM
check "history rewritten on disk" "$FLAGPOST_TESTBIN/audit_damage" --data "$PP_BROKER_DATA" \
    --change-byte 1 --rebuild
check_fails "audit verify notices the rewrite against the signed checkpoints" \
    "$FP" audit verify --data "$PP_BROKER_DATA" --ca "$PP_BUNDLE"
check "broker restarts on the rewritten store" pp_start_broker --checkpoint-interval 500
for i in 7 8; do publish_one $i; done
check "housing raises the alarm" wait_until 20 grep -q audit-history-inconsistent \
    "$T/agent-housing-hf.log"
check "the alert file exists" test -s "$T/data-housing-hf/AUDIT-ALERT"
check_grep "the alert names the problem" "problem:" "$T/data-housing-hf/AUDIT-ALERT"
pp_fp housing-hf status >"$T/status.out" 2>"$T/status.err"
check_eq "status exits 3 on an audit alarm" "$?" 3
check_grep "status says so" "AUDIT ALARM" "$T/status.err"
check "police, also a witness, raises it too" wait_until 20 grep -q audit-history-inconsistent \
    "$T/agent-met-police.log"
stop_pid "$PP_PID_housing_hf" TERM
check "the alarm survives an agent restart" pp_start_agent housing-hf
pp_fp housing-hf status >/dev/null 2>&1
check_eq "status still exits 3" "$?" 3
