#!/usr/bin/env bash
# make demo, shortened: the whole day runs, shuts down cleanly and ends with
# the expected counts of deliveries, refusals, withheld fields and views.
. "$(dirname "$0")/lib.sh"
ROOT=$(cd "$(dirname "$0")/../.." && pwd)

check "the demo runs" "$ROOT/scripts/demo" "$FLAGPOST_BIN" --short --out "$T/demo"
cp "$T/last.out" "$T/demo.out"
check_grep "it prints a plain-English account" "police notice: nhs-acute viewed" "$T/demo.out"
check_grep "Operation Encompass goes to the school" \
    "school-hf-primary: allowed \(rule operation-encompass\)" "$T/demo.out"
check_grep "immigration status is withheld from police" \
    "withheld: immigration_status by immigration-status-needs-consent" "$T/demo.out"
check_grep "the audit trail verifies" "latest checkpoint" "$T/demo.out"
check_grep "break-glass is listed for IG review" "idva -> nhs-acute: Patient unconscious" "$T/demo.out"
check_grep "and in the IG report" "clinicians need the safety plan" "$T/demo/ig-report.html"
check_grep "everything stops cleanly" "stopped cleanly" "$T/demo.out"
check_eq "the expected counts" "$(tail -n 1 "$T/demo.out")" \
    "demo: deliveries=${DEMO_DELIVERIES:-31} refusals=1 withheld=1 views=4"
check "the IG report is written" test -s "$T/demo/ig-report.html"
check_no_grep "no process is left behind" "." <(pgrep -f "$T/demo/" || true)
check "the IG report opens in headless Chromium without console errors" \
    browser_render "$T/demo/ig-report.html" "$T/ig-report.png"
check_grep "the report is self-contained (no network)" "loads nothing from the network" "$T/demo/ig-report.html"
