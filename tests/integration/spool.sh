#!/usr/bin/env bash
# The spool directory (flagpost-agent --spool DIR): a case system that
# integrates by dropping files.  A good file is published and moved to
# done/ with its answer; malformed JSON and an invalid NHS number go to
# failed/ with the reason; a file still being written (.tmp, .part, a
# hidden name) is never read until renamed; received flags appear as whole
# files in received/.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/partnership.sh"

# drop NAME: standard input becomes $SP/in/NAME the way a case system must
# write it (a hidden temporary name, then a rename), so the agent never
# sees it half written.
drop() {
    cat >"$SP/in/.drop-$1.tmp" && mv "$SP/in/.drop-$1.tmp" "$SP/in/$1"
}

SP=$T/spool-police
SH=$T/spool-housing

check "partnership set up" pp_setup met-police housing-hf
check "broker starts" pp_start_broker
check "police agent starts with a spool" pp_start_agent met-police --spool "$SP"
check "housing agent starts with a spool" pp_start_agent housing-hf --spool "$SH"
check "police connects" pp_wait_connected met-police
check "housing connects" pp_wait_connected housing-hf

for d in in done failed received; do
    check "spool $d/ created" test -d "$SP/$d"
done
check_eq "in/ is group-writable, not world-readable" "$(stat -c %a "$SP/in")" 770
check_eq "done/ is 0750" "$(stat -c %a "$SP/done")" 750

flag_json() {   # NHS
    cat <<EOF
{"category": "da_victim", "purpose": "safeguarding",
 "lawful_basis": "public_task_safeguarding", "consent": "not_sought_unsafe",
 "consent_reason": "perpetrator present at every contact", "risk": "high",
 "subject": {"role": "victim", "nhs": "$1", "name": "Spool Testcase", "dob": "1985-03-12"},
 "recipients": ["housing-hf"],
 "fields": {"name": "Spool Testcase", "risk_summary": "dropped as a file"}}
EOF
}

# A file is written under a temporary name and renamed when complete.
flag_json 9434765919 >"$SP/in/.good.json.tmp"
mv "$SP/in/.good.json.tmp" "$SP/in/good.json"
check "a good file is moved to done/" wait_until 10 test -f "$SP/done/good.json"
check "its answer is beside it" wait_until 5 test -f "$SP/done/good.result.json"
check "it is no longer in in/" test ! -e "$SP/in/good.json"
MID=$(jq -r .message_id "$SP/done/good.result.json" 2>/dev/null)
check_grep "the answer has a message id" '^[0-9a-f]{32}$' <(echo "$MID")
check_eq "the answer names the file" "$(jq -r .file "$SP/done/good.result.json")" good.json
check_eq "the answer gives housing's decision" \
    "$(jq -r '.decisions[] | select(.recipient=="housing-hf") | .decision' \
        "$SP/done/good.result.json")" pending
check "the broker's answer is there for the id" wait_until 10 bash -c \
    "'$FP' --agent '$(pp_agent met-police)' result $MID | grep -q '\"status\": \"accepted\"'"
check_grep "the log names the spool as the source" "flag-accepted.*source=spool.*file=good.json" \
    "$T/agent-met-police.log"

# Malformed JSON.
printf '{"category": "da_victim", "purpose": \n' | drop broken.json
check "malformed JSON goes to failed/" wait_until 10 test -f "$SP/failed/broken.json"
check "with a reason beside it" wait_until 5 test -f "$SP/failed/broken.error"
check_grep "the reason says where the JSON is broken" "line [0-9]+" "$SP/failed/broken.error"

# An invalid NHS number (bad check digit).
flag_json 9434765918 | drop badnhs.json
check "an invalid NHS number goes to failed/" wait_until 10 test -f "$SP/failed/badnhs.error"
check_grep "the reason names subject.nhs" "subject\.nhs" "$SP/failed/badnhs.error"
check_no_grep "the reason does not repeat the number" "9434765918" "$SP/failed/badnhs.error"
check "nothing of it is in done/" test ! -e "$SP/done/badnhs.json"

# Files still being written are never read, whatever their content.
flag_json 4010232137 >"$SP/in/late.json.tmp"
flag_json 4010232137 >"$SP/in/late.json.part"
flag_json 4010232137 >"$SP/in/.late.json"
sleep 1.5
check "a .tmp file is left alone" test -f "$SP/in/late.json.tmp"
check "a .part file is left alone" test -f "$SP/in/late.json.part"
check "a hidden file is left alone" test -f "$SP/in/.late.json"
check "none of them was published" test ! -e "$SP/done/late.json"
check_eq "nothing failed meanwhile" "$(ls "$SP/failed" | grep -c late)" 0
mv "$SP/in/late.json.tmp" "$SP/in/late.json"
check "once renamed it is published" wait_until 10 test -f "$SP/done/late.result.json"
rm -f "$SP/in/late.json.part" "$SP/in/.late.json"

# A symbolic link is refused, not followed.
ln -s "$SP/done/good.json" "$SP/in/link.json"
check "a symbolic link goes to failed/" wait_until 10 test -f "$SP/failed/link.error"
check_grep "the reason says it is a link" "symbolic link" "$SP/failed/link.error"

# The same name again never replaces the earlier file in done/.
flag_json 9434765919 | drop good.json
check "a second good.json is kept as good-2.json" wait_until 10 test -f "$SP/done/good-2.json"
check "with its own answer" wait_until 5 test -f "$SP/done/good-2.result.json"
check "the first answer is untouched" test -n "$MID" -a "$(jq -r .message_id "$SP/done/good.result.json")" = "$MID"

# Housing receives three flags (good, late, good again) and writes each as a file.
received_count() { ls "$SH/received" | grep -c '^[0-9a-f]\{32\}\.json$'; }
check "received flags appear as files" wait_until 15 test "$(received_count)" -ge 3
check_eq "one file per flag" "$(received_count)" 3
check_eq "no temporary file is left" "$(ls -A "$SH/received" | grep -vc '\.json$')" 0
check "the file for the first flag is named by its message id" test -f "$SH/received/$MID.json"
check_eq "it says who sent it" "$(jq -r .from "$SH/received/$MID.json")" met-police
check_eq "it holds the granted field" "$(jq -r .fields.risk_summary "$SH/received/$MID.json")" \
    "dropped as a file"
check_eq "received files are 0640" "$(stat -c %a "$SH/received/$MID.json")" 640

# A withdrawal by file, as the local API takes it.
FID=$(jq -r .flag_id "$SP/done/good.result.json")
printf '{"action": "withdraw", "flag_id": "%s", "reason": "entered_in_error"}\n' "$FID" \
    | drop withdraw-good.json
check "a withdrawal file is accepted" wait_until 10 test -f "$SP/done/withdraw-good.result.json"
check "housing sees the flag withdrawn" wait_until 15 bash -c \
    "'$FP' --agent '$(pp_agent housing-hf)' lookup --nhs 9434765919 | jq -r 'select(.flag_id==\"$FID\") | .state' | grep -qx withdrawn"
check "the withdrawal reaches housing's received/ as a file" wait_until 10 bash -c \
    "grep -l '\"state\": \"withdrawn\"' '$SH'/received/*.json | xargs -r jq -r .flag_id | grep -qx '$FID'"
printf '{"action": "withdraw", "flag_id": "%s", "reason": "entered_in_error"}\n' \
    00000000000000000000000000000000 | drop withdraw-unknown.json
check "withdrawing a flag we never published fails" wait_until 10 \
    test -f "$SP/failed/withdraw-unknown.error"
check_grep "naming flag_id" "^flag_id" "$SP/failed/withdraw-unknown.error"
printf '{"action": "withdraw", "flag_id": "%s", "reason": "entered_in_error", "x": 1}\n' \
    "$FID" | drop withdraw-extra.json
check "a withdrawal with a stray key fails" wait_until 10 test -f "$SP/failed/withdraw-extra.error"

# When a file cannot be moved out of in/, it is hidden there, never
# published (or judged) again at every look.
mv "$SP/done" "$SP/done.away" && touch "$SP/done"
mv "$SP/failed" "$SP/failed.away" && touch "$SP/failed"
flag_json 9434765919 | drop stuck.json
printf '{"broken": \n' | drop stuck-bad.json
check "a published file that cannot go to done/ is hidden in in/" wait_until 10 bash -c \
    "ls -A '$SP/in' | grep -q '^\.stuck\.json\.published-[0-9a-f]\{32\}$'"
check "a failed file that cannot go to failed/ is hidden in in/" wait_until 10 \
    test -f "$SP/in/.stuck-bad.json.failed"
sleep 1
check_eq "the stuck flag was published once" \
    "$(grep -c 'flag-accepted.*file=stuck.json' "$T/agent-met-police.log")" 1
check_eq "the move failure was logged once each" \
    "$(grep -c 'spool-move-failed' "$T/agent-met-police.log")" 2
rm -f "$SP/done" "$SP/failed" && mv "$SP/done.away" "$SP/done" && mv "$SP/failed.away" "$SP/failed"

# After a restart the agent picks up a file dropped while it was down.
stop_pid "$PP_PID_met_police"
flag_json 9434765919 | drop while-down.json
check "police agent restarts" pp_start_agent met-police --spool "$SP"
check "a file dropped while it was down is published" wait_until 10 \
    test -f "$SP/done/while-down.result.json"

check "an unusable spool is refused at start" bash -c \
    "touch '$T/not-a-dir'; ! '$FLAGPOST_BIN/flagpost-agent' --identity '$T/id-met-police' \
       --ca '$PP_BUNDLE' --policy '$PP_POLICY' --data '$T/data-x' --broker '$PP_BROKER' \
       --socket 'ipc://$T/x.sock' --spool '$T/not-a-dir' 2>'$T/bad-spool.err'"
check_grep "naming the path" "not-a-dir" "$T/bad-spool.err"
