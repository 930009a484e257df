#!/usr/bin/env bash
# Limits, with real processes: a hostile agent (tests/tools/rogue_agent,
# which bypasses every check of our own agent) sends flags over each size
# and count limit, and more messages a second than its agency may; each is
# refused with a clear reason, audited, and the broker keeps serving the
# other agencies.  A real agent over the rate limit is told to retry, and
# its outbox delivers every flag in the end.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/partnership.sh"

check "partnership set up" pp_setup met-police housing-hf idva
# Small limits, so the test stays quick: 5 messages a second per agency
# with bursts of 10, and 256 KB messages.
check "broker starts with small limits" pp_start_broker --agency-rate 5 --agency-burst 10 \
    --max-message-kb 256
check "police agent starts" pp_start_agent met-police
check "housing agent starts" pp_start_agent housing-hf
check "police connects" pp_wait_connected met-police
check "housing connects" pp_wait_connected housing-hf

# A valid flag from idva (the hostile agency here) to housing, with options.
hostile() {   # NAME EXPECTED-REASON [rogue options]
    local name=$1 reason=$2; shift 2
    sleep 0.3   # stay under idva's rate limit: these are about sizes
    pp_rogue idva valid --to housing-hf --consent not_sought_unsafe --field risk_summary=x \
        "$@" >"$T/r.out" 2>"$T/r.err"
    check_grep "$name is refused ($reason)" "\"status\":\"refused\".*$reason" "$T/r.out"
    check "$name is audited" pp_audit_grep message_refused "$reason"
}

# ---------------------------------------------------------------- sizes and counts
hostile "129 recipients" too-many-recipients --copies 129
hostile "5 subject pseudonyms" too-many-pseudonyms --pseudonyms 5
hostile "65 declared fields" too-many-fields --extra-fields 65
hostile "a 300-byte category" text-too-long --long-category 300
hostile "a category that is not UTF-8" text-not-utf8 --category $'da_victim\xff'
hostile "a declared field name that is not UTF-8" text-not-utf8 --field $'risk\xc0\xafsummary=x'
# Events carry text too (a view's category, an acknowledgement's outcome),
# which the broker writes into audit entries and notices: the same limits.
refusals_for() { pp_audit --event message_refused | grep -c -- "$1"; }
hostile_event() {   # NAME EXPECTED-REASON MODE [rogue options]
    local name=$1 reason=$2 before; shift 2
    before=$(refusals_for "$reason")
    sleep 0.3
    pp_rogue idva "$@" >"$T/r.out" 2>"$T/r.err"
    check_grep "$name is refused ($reason)" "\"status\":\"refused\".*$reason" "$T/r.out"
    check_eq "$name is audited" "$(refusals_for "$reason")" $((before + 1))
}
sleep 0.3
pp_rogue idva view >"$T/r.out" 2>"$T/r.err"
check_grep "a view with a plain category is accepted" '"status":"accepted"' "$T/r.out"
hostile_event "a view whose category is not UTF-8" text-not-utf8 view --category $'da_victim\xff'
hostile_event "a view with a 300-byte category" text-too-long view \
    --category "$(head -c 300 /dev/zero | tr '\0' x)"
hostile_event "an acknowledgement whose outcome is not UTF-8" text-not-utf8 ack \
    --outcome $'acted_on\xc3'
hostile_event "an acknowledgement with a 300-byte outcome" text-too-long ack \
    --outcome "$(head -c 300 /dev/zero | tr '\0' x)"
check_grep "the refusal names the field" "outcome: longer than" "$T/r.out"

# A part's sealed payload is at most 256 KB (payload.h), so two copies of
# one make a message of about 400 KB.
hostile "a 400 KB message" message-too-large --pad 200000 --copies 2
check_grep "the refusal says the size limit" "accepts at most 256 KB" "$T/r.out"

# Beyond twice the limit ZeroMQ cuts the connection: no answer, and the
# broker is unharmed.
check_fails "a 600 KB message gets no answer" timeout 20 "$PP_ROGUE" --identity "$T/id-idva" \
    --ca "$PP_BUNDLE" --broker "$PP_BROKER" valid --to housing-hf --consent not_sought_unsafe \
    --pad 200000 --copies 3

# The refused flags reached nobody.
check_eq "housing received none of them" "$(pp_lookup_count housing-hf --nhs 9434765919)" 0

# ---------------------------------------------------------------- the rate limit
sleep 2.5   # idva's bucket refills
pp_rogue idva valid --to housing-hf --consent not_sought_unsafe --field risk_summary=x \
    --nhs 4010232137 --count 30 >"$T/burst.out" 2>"$T/burst.err"
check_eq "30 flags at once: 30 answers" "$(wc -l <"$T/burst.out")" 30
accepted=$(grep -c '"status":"accepted"' "$T/burst.out")
retried=$(grep -c '"status":"retry".*rate-limited' "$T/burst.out")
echo "# burst of 30: $accepted accepted, $retried told to retry"
check "the burst allowance was accepted" test "$accepted" -ge 10
check "the rest were told rate-limited, retry" test "$retried" -ge 1
check_eq "every answer is one or the other" "$((accepted + retried))" 30
check_no_grep "none was refused for good" '"status":"refused"' "$T/burst.out"
check "the rate limit is audited once, with a count" wait_until 5 \
    pp_audit_grep message_refused "rate-limited: .* messages refused"
n_entries=$(pp_audit --event message_refused | grep -c 'rate-limited')
check "one entry per second, not one per message" test "$n_entries" -lt "$retried"
check_grep "and logged" "rate-limited agency=idva refused=" "$T/broker.log"

# Police is a different agency: its bucket is its own.
FLAG=$(pp_flag victim '{
  "category": "da_victim", "purpose": "safeguarding",
  "lawful_basis": "public_task_safeguarding", "consent": "not_sought_unsafe",
  "consent_reason": "perpetrator present", "risk": "high",
  "subject": {"role": "victim", "nhs": "9876543210"},
  "recipients": ["housing-hf"], "fields": {"risk_summary": "limits test"}}')
pp_fp met-police publish "$FLAG" >"$T/publish.out" 2>&1
check_grep "police is served while idva is limited" '"status": "accepted"' "$T/publish.out"

# A real agent over its rate: the outbox keeps the flags and resends them
# until the broker takes them; none is lost or refused.  The broker comes
# back allowing 2 messages a second (bursts of 2), so 20 flags published at
# once must wait even if the publishing processes start slowly (as under a
# sanitizer).
stop_pid "$PP_BROKER_PID"
check "broker restarts allowing 2 a second" pp_start_broker --agency-rate 2 --agency-burst 2 \
    --max-message-kb 256
reconnected() { [ "$(grep -c broker-connected "$T/agent-met-police.log")" -ge 2 ]; }
check "police reconnects" wait_until 20 reconnected
PUBS=()
for i in $(seq 1 20); do
    f=$(pp_flag "many-$i" "{
      \"category\": \"da_victim\", \"purpose\": \"safeguarding\",
      \"lawful_basis\": \"public_task_safeguarding\", \"consent\": \"not_sought_unsafe\",
      \"consent_reason\": \"perpetrator present\", \"risk\": \"high\",
      \"subject\": {\"role\": \"victim\", \"nhs\": \"4857773457\", \"name\": \"Limit Test $i\",
                  \"dob\": \"1980-01-01\"},
      \"recipients\": [\"housing-hf\"], \"fields\": {\"risk_summary\": \"flag $i\"}}")
    pp_fp met-police publish "$f" >"$T/many-$i.out" 2>&1 &
    PUBS+=($!)
done
wait "${PUBS[@]}"
check "police was told to retry some of 20 at once" wait_until 10 \
    grep -q 'publish-retry.*rate-limited' "$T/agent-met-police.log"
check "housing receives all 20 in the end" wait_output 60 20 pp_lookup_count housing-hf \
    --nhs 4857773457
# The answers are written into the outbox records lazily, up to 100 ms
# after the callers have them (agents/deferred_writer.h).
police_pending() { pp_fp met-police status | jq .outbox.pending; }
check "the police outbox has nothing pending" wait_output 10 0 police_pending
check_no_grep "no flag was refused" '"status": "refused"' "$T"/many-*.out

check "the broker is still running" kill -0 "$PP_BROKER_PID"

# ---------------------------------------------------------------- the delivery window in bytes
# An agency that never acknowledges is sent at most --window-mb of
# deliveries, however many more its window in messages would allow; the
# rest wait, durable, in its queue at the broker.  12 flags of 200 KB with
# a window of 1,000 deliveries and 1 MB: no more than 5 go out.
stop_pid "$PP_PID_housing_hf"
stop_pid "$PP_BROKER_PID"
check "broker restarts with a delivery window of 1 MB" pp_start_broker --agency-rate 0 \
    --max-message-kb 256 --window 1000 --window-mb 1
pp_rogue idva valid --to housing-hf --consent not_sought_unsafe --field risk_summary=x \
    --nhs 6123456784 --pad 200000 --count 12 >"$T/big.out" 2>"$T/big.err"
check_eq "12 flags of 200 KB for housing are accepted" \
    "$(grep -c '"status":"accepted"' "$T/big.out")" 12
pp_rogue housing-hf listen --for 4 >"$T/held.out" 2>&1
sent=$(grep -c '"delivery"' "$T/held.out")
echo "# deliveries sent to a recipient that never acknowledges: $sent of 12"
check "some reach a recipient that never acknowledges" test "$sent" -ge 1
check "no more than 1 MB of them (5 of 200 KB)" test "$sent" -le 5
check "housing receives all 12 when it acknowledges again" pp_start_agent housing-hf
check "all 12 are stored at housing" wait_output 60 12 pp_lookup_count housing-hf \
    --nhs 6123456784

# ---------------------------------------------------------------- a batch in bytes
# Four connections sending flags of 1 MB as fast as they can: the broker
# reads at most --batch-mb of them into one batch (and one transaction);
# the message that crosses the bound is the last one in.  Without the
# bound a batch took whatever was waiting: up to 185 MB here, and 3.3 GB
# of broker memory with four agencies sending 3.75 MB flags.  The broker
# logs each batch it reads at debug level (batch-read).
stop_pid "$PP_PID_housing_hf"
stop_pid "$PP_BROKER_PID"
check "broker restarts with batches of at most 1 MB" pp_start_broker --batch-mb 1 \
    --log-level debug
FLOODS=()
for s in met-police idva met-police idva; do
    pp_rogue "$s" valid --to housing-hf --consent not_sought_unsafe --field risk_summary=x \
        --nhs 6123456784 --pad 250000 --copies 4 --count 50 >>"$T/large.out" 2>>"$T/large.err" &
    FLOODS+=($!)
done
wait "${FLOODS[@]}"
check_eq "200 flags of 1 MB from four connections are all accepted" \
    "$(grep -c '"status":"accepted"' "$T/large.out")" 200
largest=$(sed -n 's/.*batch-read messages=[0-9]* bytes=\([0-9]*\).*/\1/p' "$T/broker.log" |
    sort -n | tail -1)
echo "# largest batch read: ${largest:-none} bytes"
check "the broker logged the batches it read" test -n "$largest"
check "no batch went past 1 MB by more than one message" test "${largest:-0}" -lt 2100000
peak_kb=$(awk '/^VmHWM/ {print $2}' "/proc/$PP_BROKER_PID/status")
echo "# broker peak memory (VmHWM) after 200 MB of flags: $peak_kb kB"
if [ -n "${FLAGPOST_SANITIZED:-}" ]; then
    # ASan's quarantine keeps freed memory for a while: 450 MB either way.
    echo "# the memory bound is checked in the plain build only"
else
    check "the broker's peak memory stays under 100 MB" test "$peak_kb" -lt 102400
fi
check "the broker is still running after the large flags" kill -0 "$PP_BROKER_PID"
