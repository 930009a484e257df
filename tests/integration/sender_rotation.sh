#!/usr/bin/env bash
# A flag published while the broker is away waits in the sender's outbox,
# its parts sealed with the sender's keys of that moment.  If the sender's
# identity is re-issued and swapped in (SIGHUP) before the broker returns,
# the outbox signs the record afresh with the new key when it finally goes
# out (outbox.h).  The recipient must still store it: the signed body
# commits to the part, whichever of the sender's box keys sealed it.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/partnership.sh"

check "partnership set up" pp_setup met-police housing-hf
check "broker starts" pp_start_broker
for a in met-police housing-hf; do
    check "$a starts" pp_start_agent $a
    check "$a connects" pp_wait_connected $a
done
publish_to() {   # RECIPIENT N -> prints flag_id (subject "Sender rotation N")
    printf '{"category":"da_victim","purpose":"safeguarding","lawful_basis":"public_task_safeguarding",
"consent":"not_sought_unsafe","consent_reason":"unsafe","risk":"high",
"subject":{"role":"victim","name":"Sender rotation %d","dob":"1970-05-05"},"recipients":["%s"],
"fields":{"risk_summary":"sender rotation %d"}}' "$2" "$1" "$2" \
        | pp_fp met-police publish - | jq -r .flag_id
}
has_flag() {   # FLAG_ID N
    pp_fp housing-hf lookup --name "Sender rotation $2" --dob 1970-05-05 2>/dev/null \
        | jq -r 'select(.state == "active" and .fields.risk_summary != null) | .flag_id' \
        | grep -c "$1"
}

Q1=$(publish_to housing-hf 1)
check "a flag before the rotation arrives" wait_output 30 1 has_flag "$Q1" 1

stop_pid "$PP_BROKER_PID" TERM
Q2=$(publish_to housing-hf 2)   # the broker is away: police keeps it in its outbox
check "police accepted the flag into its outbox" test -n "$Q2"
check "police re-issued with an overlap" "$FP" ca issue --ca "$PP_CA" --id met-police \
    --name "Test met-police" --sector police --out "$T/id-met-police.new"
check "bundle re-exported" "$FP" ca export --ca "$PP_CA" --out "$PP_BUNDLE"
mv "$T/id-met-police" "$T/id-met-police.old" && mv "$T/id-met-police.new" "$T/id-met-police"
kill -HUP "$PP_PID_met_police" "$PP_PID_housing_hf"
check "police swaps in its new identity" wait_until 10 grep -q "reloaded" "$T/agent-met-police.log"
check "the broker returns" pp_start_broker
check "the flag from the outbox arrives and opens" wait_output 40 1 has_flag "$Q2" 2
check_eq "nothing was rejected" "$(pp_audit --event recipient_rejected | wc -l)" 0
Q3=$(publish_to housing-hf 3)
check "and a flag after the rotation arrives" wait_output 30 1 has_flag "$Q3" 3
