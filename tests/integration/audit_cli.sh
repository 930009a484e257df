#!/usr/bin/env bash
# `flagpost audit` end to end against a broker-like store built by
# tests/tools/audit_fixture from a scripted scenario: verify (and each kind
# of tampering, done by tests/tools/audit_damage), proofs checked by
# check-proof, every list filter and the chronology returning exactly the
# expected entries, the HTML report and chronology well-formed and
# self-contained, and the read-only promises (no database created, works
# while a writer is busy).
. "$(dirname "$0")/lib.sh"

FIXTURE="$FLAGPOST_TESTBIN/audit_fixture"
DAMAGE="$FLAGPOST_TESTBIN/audit_damage"
CA="$T/ca"
D="$T/data"
LK="$CA/linkage.key"

exit_is() {   # NAME CODE COMMAND...
    local name=$1 want=$2; shift 2
    "$@" >"$T/last.out" 2>"$T/last.err"
    local rc=$?
    if [ "$rc" -eq "$want" ]; then ok "$name"; else
        not_ok "$name"; echo "#   exit $rc, expected $want"; sed 's/^/#   /' "$T/last.err" | head -5; fi
}

# Indexes of the entries in a JSON-lines listing, space separated.
indexes() { python3 -c 'import json,sys; print(" ".join(str(json.loads(l)["index"]) for l in sys.stdin if l.strip()))'; }
# list_is NAME "EXPECTED INDEXES" FILTERS...
list_is() {
    local name=$1 want=$2; shift 2
    local got
    got=$("$FP" audit list --data "$D" --format jsonl "$@" 2>"$T/last.err" | indexes)
    check_eq "$name" "$got" "$want"
}

# ------------------------------------------------------------------ setup
"$FP" ca init --ca "$CA" --name "Audit Test CA" >/dev/null || { not_ok "ca init"; exit 1; }
"$FP" ca issue --ca "$CA" --id broker --name "Broker" --sector broker --out "$T/broker" \
    >/dev/null || { not_ok "issue broker"; exit 1; }

NHS_A=9434765919 NHS_B=1860913903 NHS_C=9960308243
cat >"$T/scenario.jsonl" <<EOF
{"event":"policy_loaded","time":"2024-05-01T08:00:00Z","reason":"tri-borough v3"}
{"event":"agent_connected","time":"2024-05-01T08:01:00Z","sender":"police"}
{"event":"agent_connected","time":"2024-05-01T08:02:00Z","sender":"health"}
{"event":"disclosure","time":"2024-05-01T09:00:00Z","sender":"police","recipient":"health","subject":{"nhs":"$NHS_A","name":"Jane Doe","dob":"1990-02-03"},"role":"victim","category":"da_victim","purpose":"safeguarding","lawful_basis":"public_task","consent":"not_sought","risk":"high","decision":"allowed","rule":"police-health-dv","flag":"F1","version":1,"fields":["safe_contact","risk_summary"]}
{"event":"refusal","time":"2024-05-01T09:00:00Z","sender":"police","recipient":"housing","subject":{"nhs":"$NHS_A","name":"Jane Doe","dob":"1990-02-03"},"role":"victim","category":"da_victim","purpose":"safeguarding","lawful_basis":"public_task","consent":"not_sought","risk":"high","decision":"refused","rule":"deny-victim-address","flag":"F1","version":1}
{"event":"delivery","time":"2024-05-01T09:05:00Z","sender":"police","recipient":"health","category":"da_victim","decision":"delivered","stage":"recipient","flag":"F1","version":1}
{"event":"view","time":"2024-05-01T10:00:00Z","sender":"police","recipient":"health","subject":{"nhs":"$NHS_A"},"category":"da_victim","decision":"viewed","rule":"police-health-dv","stage":"recipient","flag":"F1","version":1}
{"event":"acknowledgement","time":"2024-05-01T11:05:00Z","sender":"police","recipient":"health","category":"da_victim","decision":"acknowledged","stage":"recipient","flag":"F1","version":1}
{"event":"disclosure","time":"2024-05-10T14:00:00Z","sender":"health","recipient":"idva","subject":{"nhs":"$NHS_B","postcode":"SW1A 1AA"},"role":"victim","category":"da_victim","purpose":"safety_planning","lawful_basis":"vital_interests","consent":"given","risk":"high","decision":"allowed","rule":"health-idva","flag":"F2","version":1,"fields":["safe_contact"]}
{"event":"break_glass","time":"2024-05-10T14:00:00Z","sender":"health","recipient":"idva","subject":{"nhs":"$NHS_B","postcode":"SW1A 1AA"},"role":"victim","category":"da_victim","lawful_basis":"vital_interests","consent":"given","decision":"allowed","rule":"health-idva","reason":"<script>alert(1)</script> risk to life & limb","flag":"F2","version":1,"break_glass":true}
{"checkpoint":true,"time":"2024-05-10T14:01:00Z"}
{"event":"delivery","time":"2024-05-10T15:00:00Z","sender":"health","recipient":"idva","category":"da_victim","decision":"delivered","stage":"recipient","flag":"F2","version":1}
{"event":"disclosure","time":"2024-06-02T09:00:00Z","sender":"police","recipient":"childrens-services","subject":{"uprn":"100023336956"},"role":"child","category":"child_in_household","purpose":"safeguarding","lawful_basis":"legal_obligation","consent":"not_sought","risk":"medium","decision":"allowed","rule":"r<1>&\"x\"","flag":"F3","version":1}
{"event":"withdrawal","time":"2024-06-03T10:00:00Z","sender":"police","recipient":"health","subject":{"nhs":"$NHS_A"},"category":"da_victim","reason":"recorded_in_error","flag":"F1","version":2}
{"event":"expiry","time":"2024-06-05T00:00:00Z","sender":"health","recipient":"idva","category":"da_victim","flag":"F2","version":1}
{"event":"agent_disconnected","time":"2024-06-05T01:00:00Z","sender":"police"}
{"checkpoint":true,"time":"2024-06-05T01:00:01Z"}
EOF
check "fixture builds the scenario" "$FIXTURE" build --data "$D" --script "$T/scenario.jsonl" \
    --linkage-key "$LK" --sign-key "$T/broker/sign.key"
check_eq "scenario has 15 entries" "$(cat "$T/last.out")" 15

# ------------------------------------------------------------------ help
check "audit --help" "$FP" audit --help
for sub in verify proof consistency check-proof list report chronology; do
    check "audit $sub --help" "$FP" audit "$sub" --help
    cp "$T/last.out" "$T/help-$sub"
done
for opt in --data --ca --threads --help; do
    check_grep "verify help lists $opt" "^  $opt" "$T/help-verify"
done
for opt in --agency --direction --nhs --name --postcode --uprn --category --decision \
    --event --from --data --format --help; do
    check_grep "list help lists $opt" "^  $opt" "$T/help-list"
done
check_grep "list help names every event" 'agent_disconnected, recipient_rejected, escalation' \
    "$T/help-list"
for opt in --data --html --from --to --title --help; do
    check_grep "report help lists $opt" "^  $opt" "$T/help-report"
done
for opt in --data --linkage-key --label --html --help; do
    check_grep "chronology help lists $opt" "^  $opt" "$T/help-chronology"
done
exit_is "audit with no subcommand is a usage error" 2 "$FP" audit
exit_is "unknown subcommand is a usage error" 2 "$FP" audit frobnicate
exit_is "list without --data is a usage error" 2 "$FP" audit list
exit_is "bad --event is a usage error" 2 "$FP" audit list --data "$D" --event exploded
check_grep "bad --event lists the events" 'disclosure, refusal' "$T/last.err"
exit_is "bad --from is a usage error" 2 "$FP" audit list --data "$D" --from 2024-13-01
exit_is "--direction without --agency is a usage error" 2 "$FP" audit list --data "$D" \
    --direction sent
exit_is "a subject without --linkage-key is a usage error" 2 "$FP" audit list --data "$D" \
    --nhs "$NHS_A"
exit_is "an invalid NHS number is a usage error" 2 "$FP" audit list --data "$D" \
    --linkage-key "$LK" --nhs 1234567890
check_grep "invalid NHS number is named" 'nhs' "$T/last.err"

# ------------------------------------------------------ read-only promises
mkdir -p "$T/empty"
exit_is "a directory without data is refused" 1 "$FP" audit verify --data "$T/empty"
check_grep "refusal says there is no flagpost data" "no flagpost data in $T/empty" "$T/last.err"
if [ -e "$T/empty/data.mdb" ] || [ -e "$T/empty/lock.mdb" ]; then
    not_ok "no database was created"; else ok "no database was created"; fi
exit_is "a missing directory is refused" 1 "$FP" audit list --data "$T/nowhere"
if [ -e "$T/nowhere" ]; then not_ok "missing directory not created"; else
    ok "missing directory not created"; fi

# ------------------------------------------------------------------ verify
check "verify with the CA bundle" "$FP" audit verify --data "$D" --ca "$CA"
check_grep "verify reports the entries" 'verified: 15 entries' "$T/last.out"
check_grep "verify checked both checkpoints" 'all 2 signed by the broker' "$T/last.out"
check "verify without --ca" "$FP" audit verify --data "$D"
check_grep "without --ca checkpoints are not checked" 'NOT checked' "$T/last.out"
check_no_grep "no progress bar when stderr is not a terminal" 'verifying \[' "$T/last.err"

# Each kind of tampering, on a fresh copy of the store.
damaged() {   # NAME EXPECTED-STDERR-REGEX DAMAGE-OPTIONS...
    local name=$1 want=$2; shift 2
    rm -rf "$T/d2" && cp -r "$D" "$T/d2"
    "$DAMAGE" --data "$T/d2" "$@" || { not_ok "$name (damage tool)"; return; }
    exit_is "$name is detected" 1 "$FP" audit verify --data "$T/d2" --ca "$CA"
    check_grep "$name is named" "$want" "$T/last.err"
}
damaged "a changed byte" 'entry 6 does not match' --change-byte 6
check_grep "the first bad entry is named on its own line" '^flagpost: audit verify: first entry that does not match: 6$' "$T/last.err"
damaged "a deleted entry" 'entry 4 is missing' --delete 4
damaged "a reordered pair" 'entry 7 does not match.*written as entry 8' --swap 7
damaged "a pair reordered with the hashes rebuilt" 'entry 2 records that it was written as entry 3' \
    --swap 2 --rebuild
damaged "a changed entry with the hashes rebuilt" 'entries 10..14 do not match the broker.s checkpoint' \
    --change-byte 12 --rebuild
damaged "a replaced (forged) checkpoint" 'checkpoint stored for the first 10 entries was replaced' \
    --forge-checkpoint 10
damaged "a moved checkpoint" 'is the broker.s checkpoint for 10 entries' --move-checkpoint 15:10
damaged "entries removed from the end" 'log now holds only 13' --truncate 2

# ------------------------------------------------------------------ proofs
check "inclusion proof" "$FP" audit proof --data "$D" --entry 3
cp "$T/last.out" "$T/proof.json"
check_grep "proof is against the latest checkpoint" '"tree_size": 15' "$T/proof.json"
check_grep "proof carries the signed checkpoint" '"signed"' "$T/proof.json"
check "check-proof with the CA" "$FP" audit check-proof --ca "$CA" "$T/proof.json"
check_grep "check-proof confirms the broker signed it" 'broker \(broker\) signed this root' "$T/last.out"
check "check-proof from stdin" bash -c "'$FP' audit check-proof - <'$T/proof.json'"
check_grep "without --ca it says the signature was not checked" 'give --ca' "$T/last.out"
python3 - "$T/proof.json" "$T/bad-path.json" "$T/bad-entry.json" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
q = dict(p); q["path"] = list(p["path"]); h = q["path"][0]
q["path"][0] = ("0" if h[0] != "0" else "1") + h[1:]
json.dump(q, open(sys.argv[2], "w"))
r = dict(p); r["index"] = p["index"] + 1
json.dump(r, open(sys.argv[3], "w"))
PY
exit_is "a proof with a changed path fails" 1 "$FP" audit check-proof --ca "$CA" "$T/bad-path.json"
exit_is "a proof moved to another index fails" 1 "$FP" audit check-proof "$T/bad-entry.json"
check "proof at an older size" "$FP" audit proof --data "$D" --entry 0 --size 10
check "older proof checks" bash -c "'$FP' audit proof --data '$D' --entry 9 --size 10 | '$FP' audit check-proof --ca '$CA' -"
exit_is "an entry beyond the size is a usage error" 2 "$FP" audit proof --data "$D" --entry 10 --size 10
check "consistency proof" "$FP" audit consistency --data "$D" --old 10 --new 15
cp "$T/last.out" "$T/cons.json"
check "consistency proof checks with the CA" "$FP" audit check-proof --ca "$CA" "$T/cons.json"
check_grep "both checkpoints are checked" 'signed this root for 15' "$T/last.out"
exit_is "consistency backwards is a usage error" 2 "$FP" audit consistency --data "$D" --old 12 --new 5

# ------------------------------------------------------------------ list
list_is "everything, in order" "0 1 2 3 4 5 6 7 8 9 10 11 12 13 14"
list_is "police sent" "1 3 4 5 6 7 11 12 14" --agency police --direction sent
list_is "health received" "3 5 6 7 12" --agency health --direction received
list_is "health either way" "2 3 5 6 7 8 9 10 12 13" --agency health
list_is "subject by NHS number" "3 4 6 12" --linkage-key "$LK" --nhs "$NHS_A"
list_is "subject by name and date of birth, written differently" "3 4" \
    --linkage-key "$LK" --name "  JANE   doe " --dob 03/02/1990
list_is "subject by postcode" "8 9" --linkage-key "$LK" --postcode sw1a1aa
list_is "subject by UPRN" "11" --linkage-key "$LK" --uprn 000100023336956
list_is "an unknown subject matches nothing" "" --linkage-key "$LK" --nhs "$NHS_C"
list_is "category" "11" --category child_in_household
list_is "decision" "4" --decision refused
list_is "event" "6" --event view
list_is "period of one day" "8 9 10" --from 2024-05-10 --to 2024-05-10
list_is "period by ISO times" "3 4 5" --from 2024-05-01T09:00:00Z --to 2024-05-01T09:30:00+00:00
list_is "filters combine" "3" --agency police --direction sent --event disclosure --linkage-key "$LK" --nhs "$NHS_A"

check "table format" "$FP" audit list --data "$D" --event disclosure
check_grep "table has a header" '^ENTRY +TIME \(UTC\) +EVENT +SENDER +RECIPIENT +CATEGORY +DECISION +RULE OR REASON$' "$T/last.out"
check_grep "table row" '^3 +2024-05-01 09:00:00Z +disclosure +police +health +da_victim +allowed +police-health-dv' "$T/last.out"
check_grep "table counts rows" '^\(3 entries\)$' "$T/last.out"
check "csv format" "$FP" audit list --data "$D" --format csv
check_eq "csv has a header and 15 rows" "$(python3 -c 'import csv,sys; print(len(list(csv.reader(open(sys.argv[1])))))' "$T/last.out")" 16
check_grep "csv quotes awkward cells" '"r<1>&""x"""' "$T/last.out"
check_no_grep "no field value is listed" 'Jane|Doe|1990|SW1A' "$T/last.out"

# ------------------------------------------------------------ chronology
check "chronology (text)" "$FP" audit chronology --data "$D" --linkage-key "$LK" --nhs "$NHS_A" \
    --label "Adult A"
cp "$T/last.out" "$T/chron.txt"
check_eq "chronology lists exactly the subject's events, in time order" \
    "$(awk '/^[0-9][0-9][0-9][0-9]-/{print $3}' "$T/chron.txt" | tr '\n' ' ')" "3 4 5 6 7 12 "
check_grep "chronology names the subject by its label" '^Chronology of Adult A: 6 events' "$T/chron.txt"
check_grep "chronology says what happened" 'police shared a da_victim flag with health' "$T/chron.txt"
check_grep "chronology shows who viewed" 'health viewed police.s da_victim flag' "$T/chron.txt"
check_grep "by agency: health received, viewed and acknowledged" '^health +0 +0 +1 +1 +1 ' "$T/chron.txt"
check_grep "by agency: police shared, was refused and withdrew" '^police +1 +1 +0 +0 +0 +0 +1 ' "$T/chron.txt"
check_no_grep "chronology never prints identifiers" "$NHS_A|Jane|1990" "$T/chron.txt"
check "chronology for a period" "$FP" audit chronology --data "$D" --linkage-key "$LK" \
    --nhs "$NHS_A" --from 2024-06-01
check_eq "period limits the chronology" "$(awk '/^[0-9][0-9][0-9][0-9]-/{print $3}' "$T/last.out" | tr '\n' ' ')" "12 "
check "chronology by postcode" "$FP" audit chronology --data "$D" --linkage-key "$LK" --postcode "SW1A 1AA"
check_eq "linked flag events are included" "$(awk '/^[0-9][0-9][0-9][0-9]-/{print $3}' "$T/last.out" | tr '\n' ' ')" "8 9 10 13 "
exit_is "chronology without identifiers is a usage error" 2 "$FP" audit chronology --data "$D" \
    --linkage-key "$LK"
check "chronology (HTML)" "$FP" audit chronology --data "$D" --linkage-key "$LK" --nhs "$NHS_A" \
    --html "$T/chron.html"

# ------------------------------------------------------------------ report
check "report" "$FP" audit report --data "$D" --html "$T/report.html" --title "Tri-borough <DA> & partners"
check_eq "report is 0600" "$(stat -c %a "$T/report.html")" 600
self_contained() {   # NAME FILE
    check "$1 is well-formed" python3 -c 'import sys, xml.etree.ElementTree as E; E.parse(sys.argv[1])' "$2"
    check_no_grep "$1 loads nothing remote" '(src|href)=.?["'"'"']?(https?:)?//' "$2"
    check_no_grep "$1 has no script" '<script' "$2"
    check_no_grep "$1 links no stylesheet or font" '<link|@import|url\(' "$2"
    check_no_grep "$1 mentions no http" 'http' "$2"
}
self_contained "report" "$T/report.html"
self_contained "chronology" "$T/chron.html"
for h in "Who shared with whom" "Disclosures refused" "Lawful bases relied on" "Consent" \
    "Who viewed flags" "How quickly flags were acknowledged" "Flags withdrawn and expired" \
    "Break-glass disclosures to review"; do
    check_grep "report has \"$h\"" "<h2>$h" "$T/report.html"
done
check_grep "report has charts" '<svg role="img"' "$T/report.html"
check_grep "report escapes the title" 'Tri-borough &lt;DA&gt; &amp; partners' "$T/report.html"
check_grep "report escapes the justification" '&lt;script&gt;alert\(1\)&lt;/script&gt; risk to life &amp; limb' "$T/report.html"
check "chronology (HTML) of the child" "$FP" audit chronology --data "$D" --linkage-key "$LK" \
    --uprn 100023336956 --html "$T/child.html" --label "Child <C>"
self_contained "chronology of the child" "$T/child.html"
check_grep "chronology escapes rule ids" 'rule r&lt;1&gt;&amp;&quot;x&quot;' "$T/child.html"
check_grep "chronology escapes the label" 'Chronology of Child &lt;C&gt;' "$T/child.html"
check_grep "report counts the agency pair" 'police → health</td><td class="num">1<' "$T/report.html"
check_grep "report counts the refusal rule" 'deny-victim-address</td><td class="num">1<' "$T/report.html"
check_grep "report times the acknowledgement" 'Half came within 2 h 0 min' "$T/report.html"
check_grep "report counts the withdrawn flag" 'Flags withdrawn, by the agency.*' "$T/report.html"
check "report for a period" "$FP" audit report --data "$D" --html "$T/may.html" --from 2024-05-01 --to 2024-05-31
check_no_grep "the period leaves out June's disclosure" 'childrens-services' "$T/may.html"

# ------------------------------------------------------ beside a busy writer
"$FIXTURE" bulk --data "$T/busy" --count 20000 --batch 5000 --sign-key "$T/broker/sign.key" \
    --checkpoint-every 5000 >/dev/null
check "a multi-chunk store verifies" "$FP" audit verify --data "$T/busy" --ca "$CA"
start_bg writer "$FIXTURE" bulk --data "$T/busy" --count 300000 --batch 200 \
    --sign-key "$T/broker/sign.key" --checkpoint-every 1000
sleep 0.3
busy_ok=0
for i in 1 2 3 4 5; do
    if "$FP" audit verify --data "$T/busy" --ca "$CA" >"$T/busy$i.out" 2>&1; then
        busy_ok=$((busy_ok + 1))
    else
        sed "s/^/#   run $i: /" "$T/busy$i.out"
    fi
done
check_eq "verify works while the store is being written (5 runs)" "$busy_ok" 5
sizes=$(sed -n 's/^audit trail verified: \([0-9]*\) entries.*/\1/p' "$T"/busy[1-5].out | sort -un | wc -l)
check "the runs saw the log growing (the writer was busy during them)" test "$sizes" -ge 2
stop_pid "$PID_writer"

exit $T_FAILED
