#!/usr/bin/env bash
# The core path, end to end with real processes: police's flag reaches
# housing through a real broker (CURVE + ZAP, LMDB, audit), housing finds
# it by NHS number and by name + date of birth, fields the agreement does
# not grant never reach housing or the broker's disk, and hostile messages
# (another CA, a revoked agency, a tampered signature, a replay, a forged
# sender, a stale clock, a malformed envelope) are each refused and
# audited.  Refused recipients and smuggled fields: abuse.sh.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/partnership.sh"

check "partnership set up" pp_setup met-police housing-hf housing-rbkc
# housing-rbkc is revoked before the broker starts; its identity and an
# old bundle (from before the revocation) are what its agent will use.
cp -r "$PP_BUNDLE" "$T/bundle-before-revocation"
check "revoke housing-rbkc" "$FP" ca revoke --ca "$PP_CA" --id housing-rbkc --reason "test"
check "re-export bundle" "$FP" ca export --ca "$PP_CA" --out "$PP_BUNDLE"

# The agreement must be signed by the partnership CA.
cp "$PP_POLICY" "$T/unsigned.yaml"
check_fails "the broker refuses an unsigned policy" "$FLAGPOST_BIN/flagpost-broker" \
    --identity "$T/id-broker" --ca "$PP_BUNDLE" --policy "$T/unsigned.yaml" \
    --data "$T/never" --bind tcp://127.0.0.1:1
check_grep "and says why" "unsigned.yaml" "$T/last.err"
cp "$PP_POLICY" "$T/altered.yaml"; cp "$PP_POLICY.sig" "$T/altered.yaml.sig"
sed -i 's/^version: .*/version: "tampered"/' "$T/altered.yaml"
check_fails "an agent refuses an altered policy" "$FLAGPOST_BIN/flagpost-agent" \
    --identity "$T/id-met-police" --ca "$PP_BUNDLE" --policy "$T/altered.yaml" \
    --data "$T/never2" --broker tcp://127.0.0.1:1 --socket "ipc://$T/never.sock"
check_grep "naming the policy file" "altered.yaml" "$T/last.err"

check "broker starts" pp_start_broker
check "police agent starts" pp_start_agent met-police
# At debug level, so the log checks below cover what debug lines say too.
check "housing agent starts" pp_start_agent housing-hf --log-level debug
check "police connects" pp_wait_connected met-police
check "housing connects" pp_wait_connected housing-hf

# ---------------------------------------------------------------- the flag
FLAG=$(pp_flag victim '{
  "category": "da_victim", "purpose": "safeguarding",
  "lawful_basis": "public_task_safeguarding",
  "consent": "not_sought_unsafe",
  "consent_reason": "perpetrator present at every contact",
  "risk": "high",
  "subject": {"role": "victim", "nhs": "943 476 5919", "name": "Jane Testcase",
              "dob": "12/03/1985", "postcode": "W6 9LZ"},
  "recipients": ["housing-hf"],
  "fields": {"name": "Jane Testcase", "current_address": "Flat 9 Zinnia Court W6 9LZ",
             "safe_contact_phone": "07700 900123",
             "risk_summary": "Strangulation in past month; escalating",
             "dash_score": "Q23-DASHVALUE-XYZZY",
             "immigration_status": "IMMSTATUS-SPOUSAL-VISA-QWERTY"}
}')
pp_fp met-police publish "$FLAG" >"$T/publish.out" 2>"$T/publish.err"
check_grep "publish is accepted" '"status": "accepted"' "$T/publish.out"
check_grep "housing decision names the deciding rule" \
    'high-risk-victim-to-housing-no-consent' "$T/publish.out"
check_eq "housing is allowed" \
    "$(jq -r '.decisions[] | select(.recipient=="housing-hf") | .decision' "$T/publish.out")" allowed

check "housing receives the flag" wait_output 10 1 pp_lookup_count housing-hf --nhs 9434765919
pp_fp housing-hf lookup --nhs "943-476-5919" >"$T/lookup-nhs.out"
pp_fp housing-hf lookup --name "JANE  testcase" --dob 1985-03-12 >"$T/lookup-name.out"
check_eq "lookup by NHS number finds one flag" "$(grep -c flag_id "$T/lookup-nhs.out")" 1
check_eq "lookup by name and date of birth finds it" "$(grep -c flag_id "$T/lookup-name.out")" 1
check_eq "the sender is police" "$(jq -r .from "$T/lookup-nhs.out")" met-police
check_eq "housing sees the address it is granted" \
    "$(jq -r '.fields.current_address' "$T/lookup-nhs.out")" "Flat 9 Zinnia Court W6 9LZ"
check_eq "housing does not get dash_score" "$(jq -r '.fields.dash_score' "$T/lookup-nhs.out")" null
check_eq "housing does not get immigration_status" \
    "$(jq -r '.fields.immigration_status' "$T/lookup-nhs.out")" null
check_eq "lookup by another person finds nothing" "$(pp_lookup_count housing-hf --nhs 4010232137)" 0

# Each flag a lookup shows becomes a signed view event; the broker audits
# it and answers, and the deferred writer's thread settles the answer, so
# housing's outbox empties without its event loop committing anything.
outbox_pending_of() { pp_fp "$1" status | jq -r .outbox.pending; }
check "audit records housing's views" pp_audit_grep view housing-hf
check "housing's view records are settled" wait_output 20 0 outbox_pending_of housing-hf
check_grep "housing logs each view record it settles (debug)" "publish-settled message=" \
    "$T/agent-housing-hf.log"

# A plain inbox lists what housing holds without a field value, and is not
# a view; inbox --open shows the values and, like a lookup, reports each
# flag it shows as a view.  Housing holds this one flag now.
housing_views() { pp_audit_count view '.recipient=="housing-hf"'; }
VIEWS=$(housing_views)
pp_fp housing-hf inbox >"$T/inbox.out"
check_eq "a plain inbox lists the flag" "$(jq -r .flag_id "$T/inbox.out")" \
    "$(jq -r .flag_id "$T/lookup-nhs.out")"
check_eq "with who sent it and why" "$(jq -r '.from + " " + .category' "$T/inbox.out")" \
    "met-police da_victim"
check_eq "but no field values" "$(jq -c 'has("fields")' "$T/inbox.out")" false
check_no_grep "not one of them" "Zinnia Court" "$T/inbox.out"
pp_fp housing-hf inbox --open >"$T/inbox-open.out"
check_eq "inbox --open shows the granted field values" \
    "$(jq -r .fields.current_address "$T/inbox-open.out")" "Flat 9 Zinnia Court W6 9LZ"
check "inbox --open records a view" wait_output 20 $((VIEWS + 1)) housing_views
check "housing's view records are settled again" wait_output 20 0 outbox_pending_of housing-hf
check_eq "one view, of that flag: a plain inbox recorded none" \
    "$(pp_audit --event view | jq -r 'select(.recipient=="housing-hf") | .flag_id' | tail -n +$((VIEWS + 1)))" \
    "$(jq -r .flag_id "$T/inbox.out")"
# Police's caller was answered as soon as the broker's answer arrived; the
# writer's thread writes that answer into the outbox record afterwards, so
# the record settles, and settles to what the caller was told.
check "police's published record is settled" wait_output 20 0 outbox_pending_of met-police
pp_fp met-police result "$(jq -r .message_id "$T/publish.out")" >"$T/result.out"
check_eq "and the stored result is the answer the caller got" \
    "$(jq -c '{status, decisions}' "$T/result.out")" "$(jq -c '{status, decisions}' "$T/publish.out")"

# Withheld values exist nowhere at housing, and no field value at all is
# on the broker's disk (only sealed parts and metadata).
check_no_grep "dash_score value not in housing's store" "DASHVALUE" "$T/data-housing-hf/data.mdb"
check_no_grep "immigration value not in housing's store" "IMMSTATUS" "$T/data-housing-hf/data.mdb"
for v in "Zinnia Court" "07700 900123" "Strangulation" "Jane Testcase" "DASHVALUE" "IMMSTATUS"; do
    check_no_grep "broker disk holds no plaintext '$v'" "$v" "$PP_BROKER_DATA/data.mdb"
done

check "audit records the disclosure" pp_audit_grep disclosure housing-hf

# ---------------------------------------------------------------- bad input
BAD=$(pp_flag bad '{"category": "da_victim", "purpose": "safeguarding", "consent": "given",
  "subject": {"role": "victim", "nhs": "9434765919"}}')
check_fails "a flag without lawful_basis is refused" pp_fp met-police publish "$BAD"
check_grep "the error names lawful_basis" "lawful_basis" "$T/last.err"
BADNHS=$(pp_flag badnhs '{"category": "da_victim", "purpose": "safeguarding",
  "lawful_basis": "public_task_safeguarding", "consent": "given",
  "subject": {"role": "victim", "nhs": "9434765918"}}')
check_fails "an invalid NHS number is refused" pp_fp met-police publish "$BADNHS"
check_grep "the error names subject.nhs" "subject.nhs" "$T/last.err"
BADCAT=$(pp_flag badcat '{"category": "da_vctim", "purpose": "safeguarding",
  "lawful_basis": "public_task_safeguarding", "consent": "given",
  "subject": {"role": "victim", "nhs": "9434765919"}}')
check_fails "an unknown category is refused" pp_fp met-police publish "$BADCAT"
check_grep "the error names category" "category" "$T/last.err"
pp_fp met-police status >"$T/status.out"
check_eq "refused input left nothing in the outbox" "$(jq .outbox.total "$T/status.out")" 1

# ---------------------------------------------------------------- hostile peers
pp_rogue met-police bad-signature --to housing-hf --field risk_summary=x >"$T/r.out"
check_grep "tampered signature is refused" '"status":"refused".*bad-signature' "$T/r.out"
check "tampered signature is audited" pp_audit_grep message_refused bad-signature

pp_rogue met-police forged-sender --claim housing-hf --to housing-hf >"$T/r.out"
check_grep "forged sender is refused" '"status":"refused".*forged-sender' "$T/r.out"
check "forged sender is audited" pp_audit_grep message_refused forged-sender

pp_rogue met-police stale --to housing-hf >"$T/r.out"
check_grep "stale clock is refused" '"status":"refused".*clock-skew' "$T/r.out"
check "stale clock is audited" pp_audit_grep message_refused clock-skew

pp_rogue met-police malformed-envelope --to housing-hf >"$T/r.out"
check_grep "malformed envelope is refused" '"status":"refused".*malformed-envelope' "$T/r.out"
check "malformed envelope is audited" pp_audit_grep message_refused malformed-envelope

REPLAY_NHS=4010232137
pp_rogue met-police replay-same --to housing-hf --nhs $REPLAY_NHS --consent not_sought_unsafe \
    --field risk_summary=replayed >"$T/r.out"
check_eq "replayed message: first copy accepted" "$(sed -n 1p "$T/r.out" | jq -r .status)" accepted
check "replay is audited" pp_audit_grep message_refused duplicate
pp_rogue met-police replay-altered --to housing-hf --nhs $REPLAY_NHS --consent not_sought_unsafe \
    --field risk_summary=again >"$T/r.out"
check_eq "reused id with other content is refused" "$(sed -n 2p "$T/r.out" | jq -r .status)" refused
check "reused id is audited as a replay" pp_audit_grep message_refused '"replay"'
sleep 1
check_eq "housing holds each replayed flag once" "$(pp_lookup_count housing-hf --nhs $REPLAY_NHS)" 2

# A recipient the policy forbids, a declared field the rule does not grant
# and a field smuggled beyond the declared list are abuse.sh's, which also
# checks the stage of each refusal and that the broker serves on after it.

# Another CA's agency, and a revoked agency, never get past the handshake.
check "other CA set up" "$FP" ca init --ca "$T/other-ca" --name "Other CA"
check "other CA issues an agency" "$FP" ca issue --ca "$T/other-ca" --id housing-wcc \
    --name "Impostor" --sector housing --out "$T/id-impostor"
cp "$PP_BUNDLE/certs/"broker-*.cert "$T/other-ca/certs/" 2>/dev/null
check_fails "an agency of another CA gets no answer" timeout 20 "$PP_ROGUE" \
    --identity "$T/id-impostor" --ca "$T/other-ca" --server-ca "$PP_BUNDLE" \
    --broker "$PP_BROKER" valid --to housing-hf
check "another CA's agency is audited as refused" pp_audit_grep certificate_refused "no certificate"

start_bg agent-revoked "$FLAGPOST_BIN/flagpost-agent" --identity "$T/id-housing-rbkc" \
    --ca "$T/bundle-before-revocation" --policy "$PP_POLICY" --data "$T/data-rbkc" \
    --broker "$PP_BROKER" --socket "ipc://$T/rbkc.sock"
check "revoked agency's agent is told it was refused" wait_until 15 \
    grep -q broker-refused-certificate "$T/agent-revoked.log"
check "revoked agency is audited as refused" pp_audit_grep certificate_refused revoked

# ---------------------------------------------------------------- logs
# One line per event, and never a field value, a subject identifier or a
# secret key (as stored, or as hex) in any program's log.
cat "$T/broker.log" "$T"/agent-*.log >"$T/all-logs.txt"
check "the broker and agents wrote logs" test "$(wc -l <"$T/all-logs.txt")" -ge 10
lacks() { ! grep -qF -- "$1" "$T/all-logs.txt"; }
for v in "Jane Testcase" "943 476 5919" "9434765919" "12/03/1985" "W6 9LZ" "Zinnia" \
    "07700 900123" "Strangulation" "DASHVALUE" "IMMSTATUS"; do
    check "no log holds '$v'" lacks "$v"
done
for key in "$T"/id-*/*.key; do
    b64=$(sed -n 2p "$key")
    hex=$(printf '%s' "$b64" | base64 -d | od -An -tx1 | tr -d ' \n')
    name="$(basename "$(dirname "$key")")/$(basename "$key")"
    check "no log holds $name" lacks "$b64"
    check "no log holds $name as hex" lacks "$hex"
done

# ---------------------------------------------------------------- no agent
# A command aimed at a socket with no agent behind it says so at once,
# instead of waiting out its timeout.
start=$SECONDS
"$FP" --agent "ipc://$T/nobody.sock" lookup --nhs 9434765919 >"$T/nobody.out" 2>"$T/nobody.err"
check_eq "a lookup with no agent at the socket fails" "$?" 1
check_grep "and says there is no agent socket there" "no agent socket there" "$T/nobody.err"
check "and says so at once, not after the 15 s timeout" test $((SECONDS - start)) -lt 5
