#!/usr/bin/env bash
# A MARAC research round with real processes: a coordinator and five member
# agencies, a conference of 20 cases.  Four agencies answer on time (one
# of them "no record" to every case), one is reminded before the deadline
# and answers late; the research pack shows each answer under the right
# agency; a repeat is detected through a different identifier from the
# first referral's; actions go to their owners, are completed or become
# overdue; a closed case reaches only the agencies named on it; the counts
# add up; and every step is in an audit trail that verifies.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/partnership.sh"

MEMBERS="met-police nhs-acute housing-hf childrens-sc idva"
ON_TIME="met-police nhs-acute housing-hf idva"
LATE=childrens-sc
NO_RECORD=housing-hf
check "partnership set up" pp_setup marac $MEMBERS
check "broker starts" pp_start_broker
for a in marac $MEMBERS; do
    check "$a agent starts" pp_start_agent $a
    check "$a connects" pp_wait_connected $a
done
day() { date -u -d "$1 days" +%Y-%m-%d; }
in_s() { date -u -d "+$1 seconds" +%Y-%m-%dT%H:%M:%SZ; }

# ------------------------------------------------------------ before the round
# Police already shared a high-risk victim flag about the first case's
# subject with the IDVA service: both drafts must say so.
pp_flag jane-v '{"category": "da_victim", "purpose": "safeguarding",
  "lawful_basis": "public_task_safeguarding", "consent": "not_sought_unsafe",
  "consent_reason": "unsafe to ask", "risk": "high",
  "subject": {"role": "victim", "nhs": "9434765919"}, "recipients": ["idva"],
  "fields": {"name": "Jane Example", "risk_summary": "Strangled last month"}}' >/dev/null
check "police publishes a victim flag to the IDVA service" pp_fp met-police publish "$T/jane-v.json"
pp_flag jane-ref '{"category": "marac_case", "purpose": "marac",
  "lawful_basis": "public_task_safeguarding", "consent": "not_sought_unsafe",
  "consent_reason": "high risk", "risk": "high",
  "subject": {"role": "victim", "nhs": "9434765919", "name": "Jane Example", "dob": "1985-03-12"},
  "recipients": ["marac"],
  "fields": {"subject_name": "Jane Example", "risk_summary": "Strangled last month",
             "referring_agency": "met-police"}}' >/dev/null
check "police refers her to MARAC" pp_fp met-police publish "$T/jane-ref.json"
held_by_idva() { pp_fp idva lookup --nhs 9434765919 2>/dev/null | jq -r .category; }
check "the IDVA service holds it" wait_output 10 da_victim held_by_idva

# Earlier conferences: one 400 days ago (too old to make a repeat) and one
# 60 days ago, whose case is referred by NHS number and name + date of birth.
old_round() {   # FILE ID DATE REF NAME DOB NHS
    jq -n --arg id "$2" --arg date "$3" --arg dl "$3" --arg ref "$4" --arg name "$5" \
        --arg dob "$6" --arg nhs "$7" '{conference: {id: $id, date: $date, area: "Westminster"},
        deadline: $dl, agencies: ["idva"], cases: [{case_reference: $ref,
        subject: {role: "victim", name: $name, dob: $dob, nhs: $nhs},
        referral: {source: "met-police"}}]}' >"$1"
}
old_round "$T/c0.json" wm-old "$(day -400)" C0-001 "Olga Old" 1970-02-02 4010232137
old_round "$T/c1.json" wm-spring "$(day -60)" C1-001 "Rita Repeat" 1979-07-21 6541236542
check "the old conference is recorded" pp_fp marac marac request "$T/c0.json"
check "the spring conference is recorded" pp_fp marac marac request "$T/c1.json"

# ------------------------------------------------------------ the round
# 20 cases.  C2-003 is Rita again, referred this time by name and date of
# birth written differently, and a postcode - no NHS number.  C2-004 is
# Olga, heard more than a year ago.  Two harmful-practice cases; equality
# monitoring on some cases; children on every third.
CONF_DATE=$(day 7)
SCALE=${FLAGPOST_TIME_SCALE:-1}   # valgrind: everything tens of times slower
DEADLINE=$(in_s $((40 * SCALE)))
jq -n --arg date "$CONF_DATE" --arg dl "$DEADLINE" --arg rb "$((20 * SCALE))s" '
  def kase(i): {case_reference: ("C2-" + (if i < 10 then "00" else "0" end) + (i|tostring)),
    subject: {role: "victim", name: ("Person " + (i|tostring) + " Example"),
              dob: ("1980-01-" + (if i < 10 then "0" else "" end) + (i|tostring)),
              address: ("Flat " + (i|tostring) + ", Example Road")},
    referral: {source: (if i % 3 == 0 then "idva" elif i % 3 == 1 then "met-police" else "nhs-acute" end),
               risk: "high", summary: ("Referral summary for case " + (i|tostring))},
    children: (if i % 3 == 0 then [{name: ("Child of " + (i|tostring)), age: "5"}] else [] end)}
    + (if i % 4 == 0 then {equality: {ethnicity: "Mixed White and Black Caribbean", age_band: "35-44"}} else {} end);
  {conference: {id: "hf-round", date: $date, area: "Hammersmith & Fulham"},
   deadline: $dl, reminder_before: $rb, coordinator_contact: "MARAC coordinator, 020 7946 0000",
   cases: ([range(1; 21) | kase(.)]
     | .[0].subject += {name: "Jane Example", dob: "1985-03-12", nhs: "9434765919"}
     | .[2].subject = {role: "victim", name: "RITA  repeat", dob: "21/07/1979", postcode: "W6 9LZ"}
     | .[3].subject += {name: "Olga Old", dob: "1970-02-02", nhs: "4010232137"}
     | .[4].harmful_practice = "forced_marriage" | .[5].harmful_practice = "fgm")}' >"$T/round.json"
check_fails "a malformed request is refused" bash -c "jq '.cases[1].subject.nhs = \"123\"' $T/round.json | $FP --agent $(pp_agent marac) marac request -"
check_grep "naming the case and field" 'cases\[1\]\.subject\.nhs' "$T/last.err"
check_fails "a member cannot send a research request" pp_fp met-police marac request "$T/round.json"
START=$SECONDS
pp_fp marac marac request --json "$T/round.json" >"$T/request.out"
check_eq "the request goes out for 20 cases" "$(jq '[.cases[] | select(.status == "sent")] | length' "$T/request.out")" 20
check_eq "each case to the five member agencies" \
    "$(jq -r '[.cases[].agencies | sort | join(",")] | unique | .[]' "$T/request.out")" \
    "childrens-sc,housing-hf,idva,met-police,nhs-acute"
check_eq "sending it again sends nothing new" \
    "$(pp_fp marac marac request --json "$T/round.json" | jq '[.cases[] | select(.status == "sent")] | length')" 0
check_eq "the repeat is found through name and date of birth" \
    "$(jq -r '.cases[] | select(.case_reference == "C2-003") | [.repeat, .repeat_of.case_reference, (.repeat_of.matched_by | join(","))] | join(" ")' "$T/request.out")" \
    "true C1-001 name_dob"
check_eq "a hearing over 12 months ago is not a repeat" \
    "$(jq -r '.cases[] | select(.case_reference == "C2-004") | .repeat' "$T/request.out")" false
check_eq "only one repeat among the 20" "$(jq '[.cases[] | select(.repeat)] | length' "$T/request.out")" 1

# ------------------------------------------------------------ members answer
open_requests() { pp_fp "$1" marac inbox --json 2>/dev/null | jq '[.requests[] | select(.case_reference | startswith("C2-"))] | length'; }
for a in $MEMBERS; do
    check "$a has the 20 requests" wait_output 20 20 open_requests $a
done
pp_fp met-police marac inbox --template "$T/police-draft.json" 2>/dev/null
check_eq "police's draft for Jane: a record (the flag it sent)" \
    "$(jq -r '.answers[] | select(.case_reference == "C2-001") | .record_found' "$T/police-draft.json")" yes
check_grep "naming the flag it sent" 'Sent: da_victim flag to Test idva' "$T/police-draft.json"
pp_fp idva marac inbox --template "$T/idva-draft.json" 2>/dev/null
check_grep "the IDVA's draft names the flag it holds" 'Held: da_victim flag from Test met-police \(high risk' "$T/idva-draft.json"
check_eq "a case nobody holds anything on is drafted as no record" \
    "$(jq -r '.answers[] | select(.case_reference == "C2-002") | .record_found' "$T/idva-draft.json")" no
check_fails "a draft is not sent unchecked" pp_fp met-police marac respond "$T/police-draft.json"
check_grep "respond says it is still a draft" 'still marked as a draft' "$T/last.err"
check_no_grep "equality monitoring never reaches a member" 'Caribbean|age_band|ethnicity' "$T/idva-draft.json"

answer() {   # AGENCY: answer every C2 request from the template
    local a=$1
    pp_fp $a marac inbox --template "$T/$a-t.json" 2>/dev/null
    if [ "$a" = "$NO_RECORD" ]; then
        jq '.answers |= [.[] | select(.case_reference | startswith("C2-"))
            | del(.draft) | .record_found = "no" | .agency_summary = ""]' "$T/$a-t.json" >"$T/$a-a.json"
    else
        jq --arg a "$a" '.answers |= [.[] | select(.case_reference | startswith("C2-"))
            | del(.draft) | .record_found = "yes"
            | .agency_summary = ("ANSWER " + $a + " " + .case_reference)
            | .risk_indicators = "Escalating"]' "$T/$a-t.json" >"$T/$a-a.json"
    fi
    pp_fp $a marac respond --json "$T/$a-a.json" >"$T/$a-r.out"
}
for a in $ON_TIME; do
    answer $a
    check_eq "$a answers all 20" "$(jq '.answers | length' "$T/$a-r.out")" 20
done
echo "# four agencies answered $((SECONDS - START)) s after the request"
answered() { pp_fp marac marac status --json 2>/dev/null | jq .summary.answers_received; }
check "the coordinator has 80 answers" wait_output 20 80 answered
status_of() { pp_fp marac marac status --json 2>/dev/null | jq -r "$1"; }
check_eq "the late agency is outstanding on every case" \
    "$(status_of "[.cases[].answers[\"$LATE\"]] | unique | join(\",\")")" outstanding
check_eq "and the others have answered" \
    "$(status_of "[.cases[].answers | to_entries[] | select(.key != \"$LATE\") | .value] | unique | join(\",\")")" answered

# ------------------------------------------------------------ the reminder
reminded() { status_of '.conference.reminded // [] | join(",")'; }
check "the reminder goes out before the deadline" wait_output 30 "$LATE" reminded
late_notices() { pp_fp $LATE notices --limit 100 2>/dev/null | grep -c '"kind":"marac-reminder"'; }
check "the late agency gets a reminder for each case" wait_output 10 20 late_notices
check_eq "nobody else is reminded" \
    "$(for a in $ON_TIME; do pp_fp $a notices --limit 100; done | grep -c marac-reminder)" 0
check_eq "the late agency's inbox marks them reminded" \
    "$(pp_fp $LATE marac inbox --json | jq '[.requests[] | select(.reminded_at)] | length')" 20
check_eq "each reminder is audited" \
    "$(pp_audit --event marac_reminder | jq -r 'select(.recipient == "'$LATE'") | .flag_id' | sort -u | wc -l)" 20
check "status shows the time left" bash -c "$FP --agent $(pp_agent marac) marac status | grep -q 'left)'"
check "a pack before the deadline" pp_fp marac marac pack --html "$T/pack-early.html"
check_grep "lists the late agency as not answering" "<li>Test $LATE \($LATE\)</li>" "$T/pack-early.html"

# ------------------------------------------------------------ after the deadline
past_deadline() { [ "$(date -u +%s)" -gt "$(date -u -d "$DEADLINE" +%s)" ]; }
check "the deadline passes" wait_until 60 past_deadline
answer $LATE
check_eq "the late agency's answers are marked late" "$(jq '[.answers[] | select(.late)] | length' "$T/$LATE-r.out")" 20
check "the coordinator has all 100 answers" wait_output 20 100 answered
check_eq "status shows them late" "$(status_of "[.cases[].answers[\"$LATE\"]] | unique | join(\",\")")" late

check "the research pack" pp_fp marac marac pack --conference hf-round --html "$T/pack.html"
check_eq "the pack is 0600" "$(stat -c %a "$T/pack.html")" 600
check "the pack is well-formed" python3 -c 'import sys, xml.etree.ElementTree as E; E.parse(sys.argv[1])' "$T/pack.html"
check_no_grep "the pack has no script" '<script' "$T/pack.html"
check_no_grep "the pack loads nothing" 'http|<link|url\(' "$T/pack.html"
check "every answer is under its own agency's heading, in its own case" python3 - "$T/pack.html" $MEMBERS <<'PY'
import sys, xml.etree.ElementTree as E
root = E.parse(sys.argv[1]).getroot()
agencies = sys.argv[2:]
cases = {s.get('id'): s for s in root.iter('section')}
assert len(cases) == 20, len(cases)
for n in range(1, 21):
    ref = 'C2-%03d' % n
    sec = cases['case-' + ref]
    arts = {a.get('id'): a for a in sec.iter('article')}
    assert len(arts) == 5, (ref, list(arts))
    for ag in agencies:
        art = arts['case-%s-answer-%s' % (ref, ag)]
        h4 = ''.join(art.find('h4').itertext())
        assert h4.startswith('Test ' + ag), (ref, h4)
        text = ''.join(art.itertext())
        if ag == 'housing-hf':
            assert 'No record' in text and 'ANSWER' not in text, (ref, text)
        else:
            assert 'ANSWER %s %s' % (ag, ref) in text, (ref, ag, text)
            for other in agencies:
                if other != ag:
                    assert 'ANSWER %s ' % other not in text
    if ag == 'childrens-sc':
        assert 'after the deadline' in text
print('ok')
PY
check_grep "the pack marks the repeat" 'Repeat case:</strong> heard as case C1-001' "$T/pack.html"
check_grep "the pack shows the children" 'Child of 3' "$T/pack.html"
check_grep "the pack shows the flag history" 'Strangled last month' "$T/pack-early.html"
check_no_grep "equality data stays out of the pack" 'Caribbean' "$T/pack.html"
check_no_grep "case records are sealed at rest" 'Person 7 Example' "$T/data-marac/data.mdb"

# ------------------------------------------------------------ actions
jq -n --arg soon "$(in_s $((30 * SCALE)))" --arg later "$(day 14)" '{conference: "hf-round", cases: [
  {case_reference: "C2-001", risk_summary: "Strangulation; separation imminent",
   actions: [{agency: "met-police", action: "Mark the address for urgent response", due: $later},
             {agency: "housing-hf", action: "Sanctuary scheme assessment", due: $later},
             {agency: "nhs-acute", action: "Alert on the A&E record", due: $soon}]},
  {case_reference: "C2-005", closed: true,
   actions: [{agency: "idva", action: "Safety plan with a forced-marriage specialist", due: $later},
             {agency: "childrens-sc", action: "Strategy discussion", due: $later}]}]}' >"$T/actions.json"
check_fails "an action for an unknown case is refused" bash -c \
    "jq '.cases[0].case_reference = \"NOPE-1\"' $T/actions.json | $FP --agent $(pp_agent marac) marac actions -"
pp_fp marac marac actions --json "$T/actions.json" >"$T/actions.out"
check_eq "five actions go to their owners" "$(jq '[.actions[] | select(.status == "sent")] | length' "$T/actions.out")" 5
check_eq "sending them again sends nothing" \
    "$(pp_fp marac marac actions --json "$T/actions.json" | jq '[.actions[] | select(.status == "sent")] | length')" 0
action_id() { jq -r ".actions[] | select(.owner == \"$1\") | .action_id" "$T/actions.out"; }
open_actions() { pp_fp "$1" marac inbox --json 2>/dev/null | jq '.actions | length'; }
for a in met-police housing-hf nhs-acute idva childrens-sc; do
    check "$a receives its action" wait_output 15 1 open_actions $a
done
check_eq "the closed case's action is restricted" \
    "$(pp_fp idva marac inbox --json | jq -r '.actions[0].restricted')" true
check_eq "it reached only the agencies named on it" \
    "$(pp_audit --category marac_case | jq -r 'select(.event == "disclosure" and .flag_id == "'"$(action_id idva)"'") | .recipient')" idva
check_eq "housing holds nothing on the closed case's subject" \
    "$(pp_fp housing-hf lookup --name "Person 5 Example" --dob 1980-01-05 | jq -r 'select(.category == "marac_case") | .flag_id')" ""
pp_flag closed '{"category": "marac_case", "purpose": "marac", "lawful_basis": "public_task_safeguarding",
  "consent": "not_sought_unsafe", "consent_reason": "high risk", "risk": "high",
  "subject": {"role": "victim", "name": "Person 5 Example", "dob": "1980-01-05"},
  "recipients": ["idva", "housing-hf"], "restricted": true, "named_agencies": ["idva"],
  "fields": {"case_reference": "C2-005"}}' >/dev/null
pp_fp marac publish "$T/closed.json" >"$T/closed.out"
check_eq "a closed case sent to an agency not named on it is refused for that agency" \
    "$(jq -r '.decisions[] | select(.recipient == "housing-hf") | .decision' "$T/closed.out")" refused

check "police acknowledges its action" pp_fp met-police marac action-done "$(action_id met-police)" --outcome received
check "then completes it" pp_fp met-police marac action-done "$(action_id met-police)"
check "housing completes its action" pp_fp housing-hf marac action-done "$(action_id housing-hf)" --outcome safety_plan_updated
check_fails "an agency cannot complete another agency's action" pp_fp idva marac action-done "$(action_id housing-hf)"
action_state() { status_of ".actions[] | select(.owner == \"$1\") | .state"; }
check "the coordinator sees police's action done" wait_output 15 done action_state met-police
check "and housing's" wait_output 15 done action_state housing-hf
check_eq "health's is still open" "$(action_state nhs-acute)" sent
check "health's action becomes overdue when missed" wait_output 50 overdue action_state nhs-acute
check_eq "status counts one overdue" "$(status_of .summary.actions_overdue)" 1
check "the table shows it" bash -c "$FP --agent $(pp_agent marac) marac status | grep -E 'C2-001 +3 +nhs-acute .*overdue'"
check_eq "completions are audited as acknowledgements" \
    "$(pp_audit --event acknowledgement --category marac_case | jq -r .reason | sort | tr '\n' ' ')" \
    "acted_on received safety_plan_updated "

# ------------------------------------------------------------ counts
pp_fp marac marac stats --from "$CONF_DATE" --to "$CONF_DATE" --json >"$T/stats.json"
check_eq "20 cases heard at the conference" "$(jq .cases_heard "$T/stats.json")" 20
check_eq "one repeat (5%)" "$(jq -r '"\(.repeat_cases) \(.repeat_rate_percent)"' "$T/stats.json")" "1 5"
check_eq "children counted" "$(jq .children "$T/stats.json")" 6
check_eq "referral sources" "$(jq -c .referral_sources "$T/stats.json")" '{"met-police":7,"nhs-acute":7,"idva":6}'
check_eq "harmful-practice cases" "$(jq -c .harmful_practice "$T/stats.json")" '{"cases":2,"by_type":{"forced_marriage":1,"fgm":1}}'
check_eq "equality counted where recorded" "$(jq -c '.equality.ethnicity' "$T/stats.json")" '{"Mixed White and Black Caribbean":5}'
check_eq "actions: two done on time, one overdue" \
    "$(jq -r '.actions | "\(.completed_on_time) \(.overdue) \(.open)"' "$T/stats.json")" "2 1 2"
pp_fp marac marac stats --csv >"$T/stats.csv"
check_grep "CSV for a spreadsheet" '^cases_heard,,22' "$T/stats.csv"
check_grep "with the equality counts" '^equality.age_band,35-44,5' "$T/stats.csv"

# ------------------------------------------------------------ rotation
# The coordinator's identity is re-issued between rounds: its sealed MARAC
# records and the answers sealed to its old key must still open.
check "the coordinator is re-issued" "$FP" ca issue --ca "$PP_CA" --id marac \
    --name "Test marac" --sector marac --out "$T/id-marac.new"
check "bundle re-exported" "$FP" ca export --ca "$PP_CA" --out "$PP_BUNDLE"
kill -HUP "$PP_BROKER_PID"
for a in $MEMBERS; do kill -HUP "$(eval echo \$PP_PID_${a//-/_})"; done
mv "$T/id-marac" "$T/id-marac.old" && mv "$T/id-marac.new" "$T/id-marac"
kill -HUP "$PP_PID_marac"
check "the coordinator swaps in its new identity" wait_until 10 grep -q "reloaded.*reconnect=yes" "$T/agent-marac.log"
check "its records still open" wait_output 10 100 answered
check "and so do the answers sealed to its old key" pp_fp marac marac pack --conference hf-round --json "$T/pack-rotated.json"
check_eq "all 100 answers are in the pack" \
    "$(jq '[.cases[].answers[] | select(.record_found)] | length' "$T/pack-rotated.json")" 100

# ------------------------------------------------------------ documented examples
EX="$PP_ROOT/docs/examples"
jq --arg date "$(day 10)" --arg dl "$(day 9)" '.conference.date = $date | .deadline = $dl' \
    "$EX/marac-request.json" >"$T/ex-request.json"
check "the documented request is accepted" pp_fp marac marac request "$T/ex-request.json"
ex_open() { pp_fp met-police marac inbox --json 2>/dev/null | jq '[.requests[] | select(.case_reference | startswith("HF-25-"))] | length'; }
check "police receives its three requests" wait_output 15 3 ex_open
check "the documented answers are accepted" pp_fp met-police marac respond "$EX/marac-answers.json"
check "the documented actions are accepted" pp_fp marac marac actions "$EX/marac-actions.json"
check_eq "Jane is a repeat at the later conference" \
    "$(pp_fp marac marac status --conference hf-2025-06-10 --json | jq -r '.cases[] | select(.case_reference == "HF-25-041") | .repeat_of.case_reference')" C2-001

# ------------------------------------------------------------ audit
check_eq "every request disclosure is audited" \
    "$(pp_audit --category marac_research | jq -r 'select(.event == "disclosure" and .sender == "marac") | .recipient' | sort | uniq -c | awk '{print $1}' | sort -u | tr '\n' ' ')" "23 25 "
check_eq "every answer disclosure is audited" \
    "$(pp_audit --category marac_research | jq -r 'select(.event == "disclosure" and .recipient == "marac") | .sender' | wc -l)" 103
check "showing requests is audited as views" bash -c "$FP audit list --data $PP_BROKER_DATA --format jsonl --event view | grep -q marac_research"
check "the audit trail verifies" "$FP" audit verify --data "$PP_BROKER_DATA" --ca "$PP_BUNDLE"
echo "# whole round: $((SECONDS - START)) s"
