#!/usr/bin/env bash
# Keys and trust change while flags are in flight, and nothing is lost:
# the broker reloads a newly signed policy on SIGHUP (audited, old and new
# hash) and refuses an altered one; a revocation picked up on SIGHUP ends
# the agency's open session at once; an agency's identity is re-issued with an
# overlap period and swapped in on SIGHUP while flags sealed to both keys
# are queued; the broker's own identity is rotated.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/partnership.sh"

check "partnership set up" pp_setup met-police housing-hf nhs-acute
check "broker starts" pp_start_broker --checkpoint-interval 500
for a in met-police housing-hf nhs-acute; do
    check "$a starts" pp_start_agent $a
    check "$a connects" pp_wait_connected $a
done
audit() { "$FP" audit list --data "$PP_BROKER_DATA" --format jsonl "$@"; }
publish_to() {   # RECIPIENT N -> prints flag_id (subject "Rotation N")
    local N=$2
    printf '{"category":"da_victim","purpose":"safeguarding","lawful_basis":"public_task_safeguarding",
"consent":"not_sought_unsafe","consent_reason":"unsafe","risk":"high",
"subject":{"role":"victim","name":"Rotation %d","dob":"1970-05-05"},"recipients":["%s"],
"fields":{"risk_summary":"rotation %d"}}' "$N" "$1" "$N" \
        | pp_fp met-police publish - | jq -r .flag_id
}

# ---------------------------------------------------------------- policy reload
OLD_HASH=$("$FP" policy hash "$PP_POLICY")
sed -i 's/^version: .*/version: "2024.3"/' "$PP_POLICY"
check "the new policy is signed" "$FP" policy sign --ca "$PP_CA" "$PP_POLICY"
NEW_HASH=$("$FP" policy hash "$PP_POLICY")
kill -HUP "$PP_BROKER_PID"
check "the broker loads the new policy on SIGHUP" wait_until 10 grep -q "policy-loaded.*new=$NEW_HASH" "$T/broker.log"
check "the change is audited with both hashes" bash -c \
    "$FP audit list --data $PP_BROKER_DATA --format jsonl --event policy_loaded | grep -q 'old=$OLD_HASH new=$NEW_HASH'"
echo "# tampered" >>"$PP_POLICY"
kill -HUP "$PP_BROKER_PID"
check "an altered policy is refused on reload" wait_until 10 grep -q "reload-failed.*what=policy" "$T/broker.log"
check "and the broker keeps serving" test -n "$(publish_to housing-hf 0)"
"$FP" policy sign --ca "$PP_CA" "$PP_POLICY" >/dev/null

# ---------------------------------------------------------------- revocation
check "nhs-acute revoked" "$FP" ca revoke --ca "$PP_CA" --id nhs-acute --reason "device lost"
check "bundle re-exported" "$FP" ca export --ca "$PP_CA" --out "$PP_BUNDLE"
kill -HUP "$PP_BROKER_PID"
check "the broker reloads the revocation list" wait_until 10 grep -q "trust-reloaded" "$T/broker.log"
# The revoked agency's open connection is ended at once (not at its next
# message), and its agent is refused when it reconnects.
check "the revoked agency's session is ended and audited" wait_until 15 bash -c \
    "$FP audit list --data $PP_BROKER_DATA --format jsonl --event agent_disconnected | grep -q 'nhs-acute.*revoked'"
check "its agent is refused when it reconnects" wait_until 15 \
    grep -q broker-refused-certificate "$T/agent-nhs-acute.log"
NHS_FLAG='{"category":"da_victim","purpose":"safeguarding","lawful_basis":"public_task_safeguarding","consent":"given","risk":"high","subject":{"role":"victim","nhs":"9434765919"},"recipients":["housing-hf"]}'
echo "$NHS_FLAG" | pp_fp nhs-acute publish - >"$T/nhs.out" 2>&1
check_eq "its next flag never reaches the broker" "$(jq -r .status "$T/nhs.out")" pending
check "the refused reconnection is audited" bash -c \
    "$FP audit list --data $PP_BROKER_DATA --format jsonl --event certificate_refused | grep -q revoked"

# ---------------------------------------------------------------- agency rotation
# housing's identity is re-issued; the broker learns it first, then police
# (which will seal to the new key) before housing itself has switched.
Q1=$(publish_to housing-hf 1)
check "housing re-issued with an overlap" "$FP" ca issue --ca "$PP_CA" --id housing-hf \
    --name "Test housing-hf" --sector housing --out "$T/id-housing-hf.new"
check "bundle re-exported" "$FP" ca export --ca "$PP_CA" --out "$PP_BUNDLE"
kill -HUP "$PP_BROKER_PID"
kill -HUP "$PP_PID_met_police"
check "police reloads the bundle" wait_until 10 grep -q "reloaded" "$T/agent-met-police.log"
Q2=$(publish_to housing-hf 2)   # sealed to housing's new key: housing must hold it, not reject it
check "housing holds back what it cannot open yet" wait_until 15 grep -q "delivery-held.*sealed-to-newer-identity" "$T/agent-housing-hf.log"
mv "$T/id-housing-hf" "$T/id-housing-hf.old" && mv "$T/id-housing-hf.new" "$T/id-housing-hf"
kill -HUP "$PP_PID_housing_hf"
check "housing swaps in its new identity and reconnects" wait_until 10 grep -q "reloaded.*reconnect=yes" "$T/agent-housing-hf.log"
Q3=$(publish_to housing-hf 3)
has_flag() { pp_fp housing-hf lookup --name "Rotation $2" --dob 1970-05-05 2>/dev/null | jq -r .flag_id | grep -c "$1"; }
check "a flag sealed to the old key still opens" wait_output 30 1 has_flag "$Q1" 1
check "the flag sealed to the new key arrives after the swap" wait_output 40 1 has_flag "$Q2" 2
check "and so do flags sent after it" wait_output 30 1 has_flag "$Q3" 3
check_eq "nothing was rejected" "$(audit --event recipient_rejected | wc -l)" 0

# ---------------------------------------------------------------- broker rotation
check "a new broker identity" "$FP" ca issue --ca "$PP_CA" --id broker --name "Test broker" \
    --sector broker --out "$T/id-broker.new"
check "bundle re-exported" "$FP" ca export --ca "$PP_CA" --out "$PP_BUNDLE"
stop_pid "$PP_BROKER_PID" TERM
mv "$T/id-broker" "$T/id-broker.old" && mv "$T/id-broker.new" "$T/id-broker"
Q4=$(publish_to housing-hf 4)   # the broker is down: police keeps it in its outbox
kill -HUP "$PP_PID_met_police" "$PP_PID_housing_hf"
check "the broker restarts with its new identity" pp_start_broker --checkpoint-interval 500
check "the queued flag arrives through the rotated broker" wait_output 40 1 has_flag "$Q4" 4
check "checkpoints from the new broker key are accepted" wait_until 20 bash -c \
    "test \"\$($FP --agent $(pp_agent housing-hf) status | jq -r .audit_alarm)\" = null"
check "the audit trail verifies across the rotation" "$FP" audit verify --data "$PP_BROKER_DATA" --ca "$PP_BUNDLE"
