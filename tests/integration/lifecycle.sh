#!/usr/bin/env bash
# The flag lifecycle with real processes: a view notifies the sender, an
# acknowledgement with outcome reaches the sender, an update supersedes the
# flag at every recipient (and withdraws it from a recipient the new
# version leaves out), a withdrawal removes the values everywhere, an
# unacknowledged flag is escalated to the sender after the rule's time, and
# an expiry date reaches every holder - each step audited, with earlier
# versions still in the audit trail.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/partnership.sh"

check "partnership set up" pp_setup met-police housing-hf nhs-acute
# Escalation is tested on a drill copy of the agreement whose housing rule
# wants acknowledgement within 3 seconds.
sed -i '/id: high-risk-victim-to-housing-no-consent/,/retention_days/ s/acknowledge_within: 24h/acknowledge_within: 3s/' "$PP_POLICY"
check_grep "drill policy has a 3 s deadline" "acknowledge_within: 3s" "$PP_POLICY"
check "drill policy signed" "$FP" policy sign --ca "$PP_CA" "$PP_POLICY"
check "broker starts" pp_start_broker
for a in met-police housing-hf nhs-acute; do
    check "$a agent starts" pp_start_agent $a
    check "$a connects" pp_wait_connected $a
done

FLAG='{
  "category": "da_victim", "purpose": "safeguarding",
  "lawful_basis": "public_task_safeguarding", "consent": "not_sought_unsafe",
  "consent_reason": "unsafe to ask", "risk": "high",
  "subject": {"role": "victim", "nhs": "9434765919"},
  "recipients": ["housing-hf", "nhs-acute"],
  "fields": {"name": "Ada Lifecycle", "risk_summary": "VERSION-ONE", "safe_contact_phone": "07700 900001"}
}'
echo "$FLAG" >"$T/v1.json"
pp_fp met-police publish "$T/v1.json" >"$T/v1.out"
check_eq "version 1 accepted" "$(jq -r .status "$T/v1.out")" accepted
FLAG_ID=$(jq -r .flag_id "$T/v1.out")
held() {   # AGENCY JQ-EXPR -> value for the flag
    pp_fp "$1" lookup --nhs 9434765919 2>/dev/null | jq -r "select(.flag_id==\"$FLAG_ID\") | $2"
}
check "housing holds version 1" wait_output 10 1 held housing-hf .version
check "health holds version 1" wait_output 10 1 held nhs-acute .version

# A view at housing is reported; the rule says the sender is told.
notices() { pp_fp "$1" notices --limit 100 2>/dev/null; }
check "police is told housing viewed its flag" wait_until 10 \
    bash -c "$(declare -f pp_fp pp_agent notices); T=$T FP=$FP; notices met-police | grep -q '\"kind\":\"view\".*housing-hf'"
check "the view is audited" bash -c "$FP audit list --data $PP_BROKER_DATA --format jsonl --event view | grep -q housing-hf"

# Health acknowledges with an outcome; housing does not and is escalated.
check "health acknowledges" pp_fp nhs-acute ack "$FLAG_ID" --outcome acted_on
check_fails "an unknown outcome is refused" pp_fp nhs-acute ack "$FLAG_ID" --outcome "spoke to Ada"
check_grep "the error lists the outcomes" "safety_plan_updated" "$T/last.err"
check "police is told health acted on it" wait_until 10 \
    bash -c "$(declare -f pp_fp pp_agent notices); T=$T FP=$FP; notices met-police | grep -q '\"kind\":\"acknowledged\".*nhs-acute.*acted_on'"
check "the acknowledgement is audited" bash -c \
    "$FP audit list --data $PP_BROKER_DATA --format jsonl --event acknowledgement | grep -q acted_on"
check "housing's silence is escalated to police" wait_until 15 \
    bash -c "$(declare -f pp_fp pp_agent notices); T=$T FP=$FP; notices met-police | grep -q '\"kind\":\"escalation\".*housing-hf'"
check "the escalation is audited" bash -c \
    "$FP audit list --data $PP_BROKER_DATA --format jsonl --event escalation | grep -q housing-hf"
sleep 4
check_eq "an acknowledged recipient is never escalated" \
    "$($FP audit list --data $PP_BROKER_DATA --format jsonl --event escalation | grep -c nhs-acute)" 0

# Version 2 goes to housing only: health must drop version 1.
jq '.fields.risk_summary = "VERSION-TWO" | .recipients = ["housing-hf"]' "$T/v1.json" >"$T/v2.json"
pp_fp met-police update "$FLAG_ID" "$T/v2.json" >"$T/v2.out"
check_eq "version 2 accepted" "$(jq -r .status "$T/v2.out")" accepted
check_eq "it is version 2" "$(jq -r .version "$T/v2.out")" 2
check "housing holds version 2" wait_output 10 2 held housing-hf .version
check_eq "housing sees the new content" "$(held housing-hf .fields.risk_summary)" VERSION-TWO
check "health's copy is withdrawn" wait_output 10 withdrawn held nhs-acute .state
check_eq "health no longer holds any value" "$(held nhs-acute '.fields | length')" 0
check_fails "another agency cannot update police's flag" pp_fp housing-hf update "$FLAG_ID" "$T/v2.json"

# Withdrawal reaches housing; values gone, reason kept.
check_fails "a withdrawal needs a known reason" pp_fp met-police withdraw "$FLAG_ID" --reason "because"
check "police withdraws" pp_fp met-police withdraw "$FLAG_ID" --reason risk_reduced
check "housing's copy is withdrawn" wait_output 10 withdrawn held housing-hf .state
check_eq "with the reason" "$(held housing-hf .state_reason)" risk_reduced
check_eq "and no values" "$(held housing-hf '.fields | length')" 0
check_fails "a withdrawn flag cannot be updated" pp_fp met-police update "$FLAG_ID" "$T/v2.json"
check_no_grep "the old content is gone from housing's store" "VERSION-TWO" "$T/data-housing-hf/data.mdb"

$FP audit list --data "$PP_BROKER_DATA" --format jsonl >"$T/audit.jsonl"
check_eq "audit keeps the first disclosure to housing" \
    "$(jq -r "select(.flag_id==\"$FLAG_ID\" and .event==\"disclosure\" and .recipient==\"housing-hf\") | .version" "$T/audit.jsonl")" 1
check_eq "audit has the update to housing" \
    "$(jq -r "select(.flag_id==\"$FLAG_ID\" and .event==\"update\" and .recipient==\"housing-hf\") | .version" "$T/audit.jsonl")" 2
check_eq "audit has both withdrawals" \
    "$(jq -r "select(.flag_id==\"$FLAG_ID\" and .event==\"withdrawal\") | .recipient" "$T/audit.jsonl" | sort | tr '\n' ' ')" "housing-hf nhs-acute "

# A flag whose expiry date has come is expired at every holder.
jq '.fields.risk_summary = "EXPIRING" | .subject.nhs = "4010232137" | .expires = (now | strftime("%Y-%m-%d"))' \
    "$T/v1.json" >"$T/exp.json"
pp_fp met-police publish "$T/exp.json" >"$T/exp.out"
EXP_ID=$(jq -r .flag_id "$T/exp.out")
# The broker's notice names its reason; before it comes, an agent shows the
# flag expired on its own clock ("past-review-or-expiry-date", lookup.c).
exp_state() {
    pp_fp "$1" lookup --nhs 4010232137 2>/dev/null |
        jq -r "select(.flag_id==\"$EXP_ID\") | .state + \" \" + .state_reason"
}
check "the expired flag is expired at housing, by the broker's notice" \
    wait_output 15 "expired review-date-or-retention" exp_state housing-hf
check "and at health" wait_output 15 "expired review-date-or-retention" exp_state nhs-acute
check "expiry is audited for both" bash -c \
    "test \$($FP audit list --data $PP_BROKER_DATA --format jsonl --event expiry | grep -c $EXP_ID) -eq 2"
check "the audit trail verifies" "$FP" audit verify --data "$PP_BROKER_DATA" --ca "$PP_BUNDLE"
