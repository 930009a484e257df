#!/usr/bin/env bash
# Hostile inputs and attackers (issue 9), with real processes: a CURVE
# broker and agents on 127.0.0.1 and real LMDB files.  Each abuse is
# refused, the refusal is on the audit trail, and the broker goes on
# serving a well-behaved agency (a normal flag from police still reaches
# housing) after every one:
#   an agency that claims to be another; a recipient the policy forbids;
#   a payload carrying fields beyond its declared list; clock skew both
#   ways; a bit-flipped, truncated or garbage frame; a certificate from
#   another CA; a replay after the broker restarts (kill -9); an agency
#   revoked while connected (session closed, queued deliveries held); the
#   broker's and an agent's LMDB files edited on disk; a policy altered
#   after signing (at start-up and on SIGHUP, broker and agent).
# docs/abuse-cases.md lists the cases against these checks.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/partnership.sh"

check "partnership set up" pp_setup met-police housing-hf housing-rbkc school-hf-primary
check "broker starts" pp_start_broker
check "police agent starts" pp_start_agent met-police
check "housing agent starts" pp_start_agent housing-hf
check "police connects" pp_wait_connected met-police
check "housing connects" pp_wait_connected housing-hf

queued_for() {   # AGENCY -> entries in its broker queue
    "$FP" broker-status --data "$PP_BROKER_DATA" --json | jq -r ".backlog[\"$1\"] // 0"
}
# A normal flag from police to housing, found at housing: the broker (and
# both agents) still serve well-behaved agencies.
serves() {   # N (a subject no other check uses)
    printf '{"category":"da_victim","purpose":"safeguarding","lawful_basis":"public_task_safeguarding",
"consent":"not_sought_unsafe","consent_reason":"unsafe","risk":"high",
"subject":{"role":"victim","name":"Abuse Check %d","dob":"1975-01-01"},"recipients":["housing-hf"],
"fields":{"risk_summary":"check %d"}}' "$1" "$1" | pp_fp met-police publish - >/dev/null || return 1
    wait_output 20 1 pp_lookup_count housing-hf --name "Abuse Check $1" --dob 1975-01-01
}
ALLOWED=(--to housing-hf --consent not_sought_unsafe --field risk_summary=x)

check "a normal flag is delivered before any abuse" serves 0

# ---------------------------------------------------------------- impersonation
pp_rogue met-police forged-sender --claim housing-hf "${ALLOWED[@]}" >"$T/r.out"
check_grep "an agency claiming to be another is refused" '"status":"refused".*forged-sender' "$T/r.out"
check "and audited against the agency it really is" \
    pp_audit_select message_refused '.sender=="met-police" and .reason=="forged-sender"'
check "the broker serves others after impersonation" serves 1

# ---------------------------------------------------------------- forbidden recipient
pp_rogue met-police valid --to school-hf-primary --field risk_summary=x >"$T/r.out"
check_eq "a recipient the policy forbids is refused by the broker" \
    "$(jq -r '.decisions[0].allowed' "$T/r.out")" false
check "the broker's refusal is audited with the recipient" \
    pp_audit_select refusal '.recipient=="school-hf-primary" and .stage=="broker"'
printf '{"category":"da_victim","purpose":"safeguarding","lawful_basis":"public_task_safeguarding",
"consent":"given","risk":"high","subject":{"role":"victim","nhs":"9434765919"},
"recipients":["school-hf-primary"]}' | pp_fp met-police publish - >"$T/school.out"
check_eq "the sending agent refuses it too" \
    "$(jq -r '.decisions[] | select(.recipient=="school-hf-primary") | .decision' "$T/school.out")" refused
check "and that refusal is audited" \
    pp_audit_select refusal '.recipient=="school-hf-primary" and .stage=="sender"'
check_eq "nothing is queued for the forbidden recipient" "$(queued_for school-hf-primary)" 0
check "the broker serves others after a forbidden recipient" serves 2

# ---------------------------------------------------------------- undeclared fields
pp_rogue met-police valid --to housing-hf --consent not_sought_unsafe \
    --field dash_score=DECLARED-NOT-ALLOWED >"$T/r.out"
check_eq "a declared field the rule does not grant is refused by the broker" \
    "$(jq -r '.decisions[0].reason' "$T/r.out")" declared-field-not-allowed
pp_rogue met-police valid --to housing-hf --nhs 9876543210 --consent not_sought_unsafe \
    --field risk_summary=ok --undeclared immigration_status=SMUGGLED-ABUSE >"$T/r.out"
check "a payload with a field beyond its declared list is rejected by housing" wait_until 15 \
    pp_audit_select recipient_rejected '.recipient=="housing-hf" and .reason=="payload-field-not-declared"'
check_eq "housing stored nothing from it" "$(pp_lookup_count housing-hf --nhs 9876543210)" 0
check_no_grep "the smuggled value is not in housing's store" "SMUGGLED" "$T/data-housing-hf/data.mdb"
# A value that is not UTF-8: sealed, so only the recipient can see it; it
# would vanish from every lookup (JSON cannot carry it), so it is refused.
pp_rogue met-police valid --to housing-hf --nhs 4857780011 --consent not_sought_unsafe \
    --field $'risk_summary=BROKEN-\xff\xfe-TEXT' >"$T/r.out"
check "a payload value that is not UTF-8 is rejected by housing" wait_until 15 \
    pp_audit_select recipient_rejected '.recipient=="housing-hf" and .reason=="payload-not-utf8"'
check_eq "housing stored nothing from it" "$(pp_lookup_count housing-hf --nhs 4857780011)" 0
check "the broker serves others after a smuggled field" serves 3

# ---------------------------------------------------------------- clock skew
pp_rogue met-police stale "${ALLOWED[@]}" >"$T/r.out"
check_grep "a message an hour old is refused" '"status":"refused".*clock-skew.*behind' "$T/r.out"
pp_rogue met-police future "${ALLOWED[@]}" >"$T/r.out"
check_grep "a message an hour in the future is refused" '"status":"refused".*clock-skew.*ahead' "$T/r.out"
check_eq "both are audited as clock skew" \
    "$(pp_audit_count message_refused '.sender=="met-police" and .reason=="clock-skew"')" 2
check "the broker serves others after clock skew" serves 4

# A signed time at the ends of int64 is refused as skew (the broker compares,
# never subtracts: under UBSan an overflow here would stop the broker).
pp_rogue met-police time-min "${ALLOWED[@]}" >"$T/r.out"
check_grep "a message signed at INT64_MIN ms is refused" '"status":"refused".*clock-skew.*behind' "$T/r.out"
pp_rogue met-police time-max "${ALLOWED[@]}" >"$T/r.out"
check_grep "a message signed at INT64_MAX ms is refused" '"status":"refused".*clock-skew.*ahead' "$T/r.out"
# A flag's dates are unix seconds the broker turns into milliseconds: past
# 9999-12-31 (or before 1970) it refuses them, and no recipient gets them.
pp_rogue met-police valid "${ALLOWED[@]}" --nhs 4857770016 --review-at 9223372036854775807 >"$T/r.out"
check_grep "a review date past year 9999 is refused" '"status":"refused".*malformed-flag-dates' "$T/r.out"
pp_rogue met-police valid "${ALLOWED[@]}" --nhs 4857770016 --expires-at -86400 >"$T/r.out"
check_grep "an expiry before 1970 is refused" '"status":"refused".*malformed-flag-dates' "$T/r.out"
check_eq "both are audited as malformed dates" \
    "$(pp_audit_count message_refused '.sender=="met-police" and .reason=="malformed-flag-dates"')" 2
pp_rogue met-police valid "${ALLOWED[@]}" --nhs 4857770016 --review-at 253402300799 >"$T/r.out"
check_grep "a review date of 9999-12-31T23:59:59Z is accepted" '"status":"accepted"' "$T/r.out"
review_shown() {
    pp_fp housing-hf lookup --nhs 4857770016 2>/dev/null | grep -c '"review_date": *"9999-12-31"'
}
check "housing shows it with that date" wait_output 15 1 review_shown
check "the broker serves others after extreme times" serves 12

# ---------------------------------------------------------------- duplicate recipient
# Two parts for one agency: the first is decided, the second refused, and
# both the answer and the refusal's audit entry name the agency.
pp_rogue met-police valid "${ALLOWED[@]}" --nhs 4857780003 --copies 2 >"$T/r.out"
check_grep "a flag naming housing twice is accepted for the first" \
    '"status":"accepted".*"recipient":"housing-hf","allowed":true' "$T/r.out"
check_grep "the second part is refused, naming housing" \
    '"recipient":"housing-hf","allowed":false,"rule":"","reason":"duplicate-recipient"' "$T/r.out"
check "the duplicate's refusal is audited against housing" \
    pp_audit_select refusal '.recipient=="housing-hf" and .reason=="duplicate-recipient"'
check_eq "housing holds the flag once" \
    "$(wait_output 15 1 pp_lookup_count housing-hf --nhs 4857780003; pp_lookup_count housing-hf --nhs 4857780003)" 1

# ---------------------------------------------------------------- damaged frames
pp_rogue met-police bit-flip "${ALLOWED[@]}" >"$T/r.out"
check_grep "an envelope with one bit flipped is refused" '"status":"refused".*bad-signature' "$T/r.out"
pp_rogue met-police truncated-envelope "${ALLOWED[@]}" >"$T/r.out"
check_grep "an envelope cut short is refused" '"status":"refused".*bad-signature' "$T/r.out"
check_eq "both are audited as bad signatures" \
    "$(pp_audit_count message_refused '.sender=="met-police" and .reason=="bad-signature"')" 2
pp_rogue met-police truncated "${ALLOWED[@]}" >"$T/r.out"
check "a frame cut short is audited as malformed" wait_until 10 \
    pp_audit_select message_refused '.sender=="met-police" and .reason=="malformed-frame"'
pp_rogue met-police garbage >"$T/r.out"
check "a frame that is not protobuf is audited as malformed" wait_until 10 \
    test "$(pp_audit_count message_refused '.sender=="met-police" and .reason=="malformed-frame"')" -eq 2
check "the broker serves others after damaged frames" serves 5

# ---------------------------------------------------------------- another CA
check "another CA set up" "$FP" ca init --ca "$T/other-ca" --name "Other CA"
check "it issues an agency with a partnership name" "$FP" ca issue --ca "$T/other-ca" \
    --id housing-hf --name "Impostor" --sector housing --out "$T/id-impostor"
check_fails "an agency certified by another CA gets no answer" timeout 20 "$PP_ROGUE" \
    --identity "$T/id-impostor" --ca "$T/other-ca" --server-ca "$PP_BUNDLE" \
    --broker "$PP_BROKER" valid --to housing-hf
check "its handshake is audited as refused" \
    pp_audit_select certificate_refused '.reason | test("no certificate")'
check "the broker serves others after a foreign certificate" serves 6

# ---------------------------------------------------------------- replay after restart
pp_rogue met-police valid "${ALLOWED[@]}" --nhs 4010232137 --save "$T/frame.bin" >"$T/r.out"
check_eq "a message is accepted" "$(jq -r .status "$T/r.out")" accepted
check "and delivered" wait_output 15 1 pp_lookup_count housing-hf --nhs 4010232137
DUPS=$(pp_audit_count message_refused '.reason=="duplicate"')
SHARED=$(pp_audit_count disclosure '.recipient=="housing-hf"')
stop_pid "$PP_BROKER_PID" KILL
check "the broker restarts after kill -9" pp_start_broker
pp_rogue met-police resend --load "$T/frame.bin" >"$T/r.out"
check_eq "the same frame sent again after the restart gets its first answer" \
    "$(jq -r .status "$T/r.out")" accepted
check_eq "and is audited as a duplicate" \
    "$(pp_audit_count message_refused '.reason=="duplicate"')" $((DUPS + 1))
pp_rogue met-police resend --load "$T/frame.bin" --alter >"$T/r.out"
check_grep "the same id with another body is refused as a replay" '"status":"refused".*replay' "$T/r.out"
check "and audited" pp_audit_select message_refused '.sender=="met-police" and .reason=="replay"'
check_eq "neither replay was disclosed again" "$(pp_audit_count disclosure '.recipient=="housing-hf"')" "$SHARED"
check "the broker serves others after the replays" serves 7
check_eq "housing holds the replayed flag once" "$(pp_lookup_count housing-hf --nhs 4010232137)" 1

# ---------------------------------------------------------------- revoked while connected
start_bg rbkc "$PP_ROGUE" --identity "$T/id-housing-rbkc" --ca "$PP_BUNDLE" --broker "$PP_BROKER" \
    listen --for 90
check "housing-rbkc connects (and never acknowledges)" wait_until 15 grep -q connected "$T/rbkc.log"
for n in 1 2; do
    printf '{"category":"da_victim","purpose":"safeguarding","lawful_basis":"public_task_safeguarding",
"consent":"not_sought_unsafe","consent_reason":"unsafe","risk":"high",
"subject":{"role":"victim","name":"Held %d","dob":"1980-02-02"},"recipients":["housing-rbkc"],
"fields":{"risk_summary":"held %d"}}' $n $n | pp_fp met-police publish - >>"$T/rbkc-pub.out"
done
check_eq "two flags are disclosed to housing-rbkc" \
    "$(jq -r '.decisions[] | select(.recipient=="housing-rbkc") | .decision' "$T/rbkc-pub.out" | sort -u)" allowed
check "they reach its connection" wait_until 15 test "$(grep -c delivery "$T/rbkc.log")" -ge 2
check_eq "and stay queued, unacknowledged" "$(queued_for housing-rbkc)" 2
check "housing-rbkc revoked" "$FP" ca revoke --ca "$PP_CA" --id housing-rbkc --reason "laptop stolen"
check "bundle re-exported" "$FP" ca export --ca "$PP_CA" --out "$PP_BUNDLE"
kill -HUP "$PP_BROKER_PID"
check "the broker ends its session on reload" wait_until 15 \
    grep -q 'session-closed agency=housing-rbkc.*connection=closed held=2' "$T/broker.log"
check "the end of the session is audited with the deliveries held" \
    pp_audit_select agent_disconnected '.sender=="housing-rbkc" and (.reason | test("2 queued deliveries held"))'
check "its connection is closed" wait_until 15 grep -q '"disconnected"' "$T/rbkc.log"
check "and its reconnection is refused" wait_until 15 grep -q '"refused"' "$T/rbkc.log"
check "the refused reconnection is audited" pp_audit_select certificate_refused '.reason | test("revoked")'
check_eq "its queued deliveries are held, not deleted" "$(queued_for housing-rbkc)" 2
check_eq "and never acknowledged as delivered" \
    "$(pp_audit_count delivery '.recipient=="housing-rbkc"')" 0
check_fails "a message it sends afterwards gets no answer" timeout 20 \
    "$PP_ROGUE" --identity "$T/id-housing-rbkc" --ca "$PP_BUNDLE" --broker "$PP_BROKER" \
    valid --to housing-hf --consent not_sought_unsafe --field risk_summary=x
check "and is audited as refused" test "$(pp_audit_count certificate_refused '.reason | test("revoked")')" -ge 2
printf '{"category":"da_victim","purpose":"safeguarding","lawful_basis":"public_task_safeguarding",
"consent":"not_sought_unsafe","consent_reason":"unsafe","risk":"high",
"subject":{"role":"victim","name":"Held 3","dob":"1980-02-02"},"recipients":["housing-rbkc"],
"fields":{"risk_summary":"held 3"}}' | pp_fp met-police publish - >"$T/rbkc-after.out"
check_eq "a new flag to the revoked agency is not disclosed" \
    "$(jq -r '.decisions[] | select(.recipient=="housing-rbkc") | .decision' "$T/rbkc-after.out")" refused
check_eq "nothing more is queued for it" "$(queued_for housing-rbkc)" 2
check "the broker serves others after a revocation" serves 8

# ---------------------------------------------------------------- broker LMDB edited
stop_pid "$PP_PID_housing_hf" TERM
pp_rogue met-police valid "${ALLOWED[@]}" --nhs 9434765919 --show-bytes >"$T/edit1.out"
pp_rogue met-police valid "${ALLOWED[@]}" --nhs 1234567881 --show-bytes >"$T/edit2.out"
check_eq "two flags wait in housing's queue" "$(queued_for housing-hf)" 2
stop_pid "$PP_BROKER_PID" TERM
# flip_on_disk FILE HEX: flip one bit of every copy of those bytes in FILE.
flip_on_disk() {
    python3 - "$1" "$2" <<'EOF'
import sys
path, needle = sys.argv[1], bytes.fromhex(sys.argv[2])
data = bytearray(open(path, 'rb').read())
hits, at = 0, data.find(needle)
while at >= 0:
    data[at + len(needle) // 2] ^= 0x01
    hits, at = hits + 1, data.find(needle, at + 1)
open(path, 'wb').write(data)
sys.exit(0 if hits else 1)
EOF
}
check "a queued envelope's signature is edited in the broker's data.mdb" \
    flip_on_disk "$PP_BROKER_DATA/data.mdb" "$(jq -r 'select(.signature) | .signature' "$T/edit1.out")"
check "a queued sealed part is edited too" \
    flip_on_disk "$PP_BROKER_DATA/data.mdb" "$(jq -r 'select(.part_tail) | .part_tail' "$T/edit2.out")"
check "the broker restarts on the edited store" pp_start_broker
check "housing returns" pp_start_agent housing-hf
check "housing rejects the edited envelope" wait_until 20 \
    pp_audit_select recipient_rejected '.recipient=="housing-hf" and .reason=="bad-signature-or-certificate"'
check "housing rejects the edited part" wait_until 20 \
    pp_audit_select recipient_rejected '.recipient=="housing-hf" and .reason=="part-not-signed"'
check_eq "neither was stored" \
    "$(( $(pp_lookup_count housing-hf --nhs 9434765919) + $(pp_lookup_count housing-hf --nhs 1234567881) ))" 0
check "the audit trail still verifies (the queue is not the audit trail)" \
    "$FP" audit verify --data "$PP_BROKER_DATA" --ca "$PP_BUNDLE"
check "the broker serves others after its store was edited" serves 9

# ---------------------------------------------------------------- agent LMDB edited
check_eq "housing shows the flag it holds" \
    "$(pp_fp housing-hf lookup --name "Abuse Check 0" --dob 1975-01-01 | jq -r .fields.risk_summary)" "check 0"
stop_pid "$PP_PID_housing_hf" TERM
# Relabel every flag housing holds (da_victim -> da_victin), in place.
check "housing's flags are relabelled in its data.mdb" \
    flip_on_disk "$T/data-housing-hf/data.mdb" "$(printf da_victim | od -An -tx1 | tr -d ' \n')"
check "housing restarts on the edited store" pp_start_agent housing-hf
pp_fp housing-hf lookup --name "Abuse Check 0" --dob 1975-01-01 >"$T/edited.out"
check_eq "the edited record is listed as failing its integrity check" \
    "$(jq -r .integrity "$T/edited.out")" failed
check_eq "with none of its content" "$(jq -r '.fields, .category, .from' "$T/edited.out" | sort -u)" null
check_grep "and the agent logs it" "stored-flag-integrity-failed" "$T/agent-housing-hf.log"
check "housing still receives and shows new flags" serves 10

# ---------------------------------------------------------------- policy altered after signing
OLD_HASH=$("$FP" policy hash "$PP_POLICY")
cp "$PP_POLICY" "$T/signed.yaml"
# The alteration an attacker would want: the school may now receive victims' flags.
sed -i 's/^version: .*/version: "altered"/' "$PP_POLICY"
echo "# altered after signing" >>"$PP_POLICY"
check_fails "a broker refuses to start on an altered policy" "$FLAGPOST_BIN/flagpost-broker" \
    --identity "$T/id-broker" --ca "$PP_BUNDLE" --policy "$PP_POLICY" \
    --data "$T/never" --bind "tcp://127.0.0.1:1"
check_grep "naming the policy file" "policy.yaml" "$T/last.err"
check_fails "an agent refuses to start on an altered policy" "$FLAGPOST_BIN/flagpost-agent" \
    --identity "$T/id-met-police" --ca "$PP_BUNDLE" --policy "$PP_POLICY" \
    --data "$T/never2" --broker tcp://127.0.0.1:1 --socket "ipc://$T/never.sock"
# A revocation published at the same time must take effect regardless.
check "the school is revoked meanwhile" "$FP" ca revoke --ca "$PP_CA" --id school-hf-primary \
    --reason "test"
check "bundle re-exported" "$FP" ca export --ca "$PP_CA" --out "$PP_BUNDLE"
kill -HUP "$PP_BROKER_PID" "$PP_PID_met_police"
check "the broker refuses the altered policy on SIGHUP" wait_until 15 \
    grep -q 'reload-failed what=policy' "$T/broker.log"
check_fails "but the new revocation list is in force" timeout 20 "$PP_ROGUE" \
    --identity "$T/id-school-hf-primary" --ca "$PP_BUNDLE" --broker "$PP_BROKER" \
    valid --to housing-hf --consent not_sought_unsafe --field risk_summary=x
check "and the school's refused handshake is audited" \
    pp_audit_select certificate_refused '.reason | test("school-hf-primary was revoked")'
check "the refusal is audited" wait_until 10 \
    pp_audit_select policy_loaded '.decision=="refused" and (.reason | test("still in force='"$OLD_HASH"'"))'
check_eq "the signed policy stays in force" \
    "$("$FP" broker-status --data "$PP_BROKER_DATA" --json | jq -r .policy_hash)" "$OLD_HASH"
check "the police agent refuses it on SIGHUP too" wait_until 15 \
    grep -q 'reload-failed.*kept the loaded' "$T/agent-met-police.log"
check "both keep serving" serves 11
cp "$T/signed.yaml" "$PP_POLICY"

# ---------------------------------------------------------------- the trail
stop_pid "$PP_BROKER_PID" TERM
check "the audit trail verifies after every abuse" \
    "$FP" audit verify --data "$PP_BROKER_DATA" --ca "$PP_BUNDLE"
