#!/usr/bin/env bash
# `flagpost ca` end to end: init, issue (agencies and the broker), rotation
# with an overlap, revocation by serial and by agency, export, list, file
# modes, and the exit codes of every refusal.
. "$(dirname "$0")/lib.sh"

CA="$T/ca"

# exit_is NAME CODE COMMAND...: passes when COMMAND exits with CODE.
exit_is() {
    local name=$1 want=$2; shift 2
    "$@" >"$T/last.out" 2>"$T/last.err"
    local rc=$?
    if [ "$rc" -eq "$want" ]; then ok "$name"; else
        not_ok "$name"; echo "#   exit $rc, expected $want"; sed 's/^/#   /' "$T/last.err" | head -5; fi
}

# --help for every command lists every option
check "ca --help" "$FP" ca --help
for sub in init issue revoke export list; do
    check "ca $sub --help" "$FP" ca "$sub" --help
    cp "$T/last.out" "$T/help-$sub"
done
check_grep "init help lists its options" '--ca DIR.*' "$T/help-init"
for opt in --ca --id --name --sector --out --valid-days --not-before --help; do
    check_grep "issue help lists $opt" "^  $opt" "$T/help-issue"
done
for opt in --ca --id --serial --reason --help; do
    check_grep "revoke help lists $opt" "^  $opt" "$T/help-revoke"
done
check_grep "issue help lists the sectors" 'childrens_social_care' "$T/help-issue"

# usage errors exit 2
exit_is "ca with no command is a usage error" 2 "$FP" ca
exit_is "unknown ca command is a usage error" 2 "$FP" ca frobnicate
exit_is "init without --name is a usage error" 2 "$FP" ca init --ca "$CA"
exit_is "unknown option is a usage error" 2 "$FP" ca init --ca "$CA" --name X --colour red
check_grep "unknown option is named" 'colour' "$T/last.err"

# init
check "ca init" "$FP" ca init --ca "$CA" --name "Tri-borough DA Partnership CA"
check_eq "CA directory is 0700" "$(stat -c %a "$CA")" 700
check_eq "ca.key is 0600" "$(stat -c %a "$CA/ca.key")" 600
check_eq "linkage.key is 0600" "$(stat -c %a "$CA/linkage.key")" 600
check_eq "ca.pub is 0644" "$(stat -c %a "$CA/ca.pub")" 644
exit_is "init over an existing CA is refused" 1 "$FP" ca init --ca "$CA" --name Other
check_grep "refusal says why" 'already holds a CA' "$T/last.err"

# issue
check "issue police" "$FP" ca issue --ca "$CA" --id police --name "Metropolitan Police" \
    --sector police --out "$T/police"
check_grep "issue reports the serial" 'serial 1' "$T/last.out"
check "issue health" "$FP" ca issue --ca "$CA" --id nhs-trust --name "NHS Trust" \
    --sector health --out "$T/health" --valid-days 30
check "issue broker" "$FP" ca issue --ca "$CA" --id broker --name "Partnership Broker" \
    --sector broker --out "$T/broker"
for f in curve.key sign.key box.key linkage.sealed; do
    check_eq "police $f is 0600" "$(stat -c %a "$T/police/$f")" 600
done
check_eq "police identity directory is 0700" "$(stat -c %a "$T/police")" 700
check_eq "agency.cert is 0644" "$(stat -c %a "$T/police/agency.cert")" 644
if [ -e "$T/broker/linkage.sealed" ]; then not_ok "broker has no linkage key"; else
    ok "broker has no linkage key"; fi
check_grep "broker output says no linkage key" 'no linkage key' "$T/last.out"

exit_is "issue into an existing identity is refused" 1 "$FP" ca issue --ca "$CA" --id police \
    --name "Metropolitan Police" --sector police --out "$T/police"
check_grep "overwrite refusal says why" 'already holds an identity' "$T/last.err"
exit_is "unknown sector is a usage error" 2 "$FP" ca issue --ca "$CA" --id x --name X \
    --sector aliens --out "$T/x"
check_grep "unknown sector lists the valid ones" 'police, health, housing.*broker' "$T/last.err"
exit_is "bad agency id is a usage error" 2 "$FP" ca issue --ca "$CA" --id "Bad Id" --name X \
    --sector police --out "$T/x"
exit_is "bad --valid-days is a usage error" 2 "$FP" ca issue --ca "$CA" --id x --name X \
    --sector police --out "$T/x" --valid-days 0
exit_is "missing --out is a usage error" 2 "$FP" ca issue --ca "$CA" --id x --name X \
    --sector police
exit_is "changing an id's sector is refused" 1 "$FP" ca issue --ca "$CA" --id police \
    --name X --sector broker --out "$T/x"
exit_is "issue from a missing CA fails" 1 "$FP" ca issue --ca "$T/nope" --id x --name X \
    --sector police --out "$T/x"
if [ -e "$T/x" ]; then not_ok "refused issues wrote nothing"; else ok "refused issues wrote nothing"; fi

# a readable CA key is refused with the chmod to run
chmod 644 "$CA/ca.key"
exit_is "readable ca.key is refused" 1 "$FP" ca issue --ca "$CA" --id housing --name Housing \
    --sector housing --out "$T/housing"
check_grep "refusal gives the chmod" 'chmod 600' "$T/last.err"
chmod 600 "$CA/ca.key"

# rotation: a second police certificate; both valid
check "re-issue police (rotation)" "$FP" ca issue --ca "$CA" --id police \
    --name "Metropolitan Police" --sector police --out "$T/police-2026"
check_grep "rotation says both are valid" 'police now has 2 valid certificates' "$T/last.out"
check "list" "$FP" ca list --ca "$CA"
check_grep "list shows police serial 1 valid" '^police +1 +police +valid' "$T/last.out"
check_grep "list shows police serial 4 valid" '^police +4 +police +valid' "$T/last.out"
check_grep "list shows the broker" '^broker +3 +broker +valid' "$T/last.out"
# A machine whose clock runs a few minutes behind the CA's still accepts a
# certificate just issued (valid from 5 minutes before issue), not more.
check "list --at two minutes ago" "$FP" ca list --ca "$CA" --at "$(( $(date +%s) - 120 ))"
check_grep "police serial 4 is valid two minutes before its issue" \
    '^police +4 +police +valid' "$T/last.out"
check "list --at ten minutes ago" "$FP" ca list --ca "$CA" --at "$(( $(date +%s) - 600 ))"
check_grep "but not ten minutes before" '^police +4 +police +not-yet-valid' "$T/last.out"

# expiry as seen by list at a later time
check "list --at later" "$FP" ca list --ca "$CA" --at "$(date -u -d '+60 days' +%Y-%m-%d)"
check_grep "health expired after 30 days" '^nhs-trust +2 +health +expired' "$T/last.out"
check_grep "police still valid after 60 days" '^police +1 +police +valid' "$T/last.out"
check "issue not yet valid" "$FP" ca issue --ca "$CA" --id idva --name "IDVA Service" \
    --sector idva --out "$T/idva" --not-before 2099-01-01
check "list" "$FP" ca list --ca "$CA"
check_grep "future certificate is not yet valid" '^idva +5 +idva +not-yet-valid' "$T/last.out"

# revoke one serial, then a whole agency
exit_is "revoke without --reason is a usage error" 2 "$FP" ca revoke --ca "$CA" --id police
exit_is "revoke an unknown serial fails" 1 "$FP" ca revoke --ca "$CA" --id police --serial 9 \
    --reason typo
exit_is "revoke an unknown agency fails" 1 "$FP" ca revoke --ca "$CA" --id nobody --reason typo
check "revoke police serial 1" "$FP" ca revoke --ca "$CA" --id police --serial 1 \
    --reason "rotated to serial 4"
exit_is "revoking it again is refused" 1 "$FP" ca revoke --ca "$CA" --id police --serial 1 \
    --reason again
check_eq "revoked.crl is 0644" "$(stat -c %a "$CA/revoked.crl")" 644
check "list" "$FP" ca list --ca "$CA"
check_grep "serial 1 revoked" '^police +1 +police +revoked' "$T/last.out"
check_grep "serial 4 still valid" '^police +4 +police +valid' "$T/last.out"
check "revoke all of nhs-trust" "$FP" ca revoke --ca "$CA" --id nhs-trust --reason "left"
check "list" "$FP" ca list --ca "$CA"
check_grep "nhs-trust revoked" '^nhs-trust +2 +health +revoked' "$T/last.out"
exit_is "re-issuing a wholly revoked agency is refused" 1 "$FP" ca issue --ca "$CA" \
    --id nhs-trust --name "NHS Trust" --sector health --out "$T/health-2"

# export
check "export" "$FP" ca export --ca "$CA" --out "$T/bundle"
check_grep "export counts the certificates" '5 certificates' "$T/last.out"
check_eq "bundle holds only public files" \
    "$(cd "$T/bundle" && find . -type f | sort | tr '\n' ' ')" \
    "./ca.name ./ca.pub ./certs/broker-3.cert ./certs/idva-5.cert ./certs/nhs-trust-2.cert ./certs/police-1.cert ./certs/police-4.cert ./revoked.crl "
if grep -rqs -- '-secret-v1\|linkage-key' "$T/bundle"; then not_ok "no secret in the bundle"; else
    ok "no secret in the bundle"; fi
check "list the bundle" "$FP" ca list --ca "$T/bundle"
check_grep "bundle carries the revocation" '^police +1 +police +revoked' "$T/last.out"
exit_is "export into the CA directory is refused" 1 "$FP" ca export --ca "$CA" --out "$CA"
exit_is "export into an identity is refused" 1 "$FP" ca export --ca "$CA" --out "$T/police"
check "export again refreshes" "$FP" ca export --ca "$CA" --out "$T/bundle"

# a tampered revocation list makes every load fail (never silently un-revokes)
cp "$T/bundle/revoked.crl" "$T/crl.saved"
printf '\x01' | dd of="$T/bundle/revoked.crl" bs=1 seek=20 conv=notrunc 2>/dev/null
cmp -s "$T/bundle/revoked.crl" "$T/crl.saved" && printf '\x02' | \
    dd of="$T/bundle/revoked.crl" bs=1 seek=20 conv=notrunc 2>/dev/null
exit_is "tampered CRL: list fails" 1 "$FP" ca list --ca "$T/bundle"
check_grep "tampered CRL: says so" 'revocation list' "$T/last.err"
cp "$T/crl.saved" "$T/bundle/revoked.crl"
check "restored CRL loads" "$FP" ca list --ca "$T/bundle"

# a foreign certificate in the bundle is ignored, with a warning
"$FP" ca init --ca "$T/rogue" --name Rogue >/dev/null
"$FP" ca issue --ca "$T/rogue" --id intruder --name Intruder --sector police \
    --out "$T/intruder" >/dev/null
cp "$T/intruder/agency.cert" "$T/bundle/certs/intruder-1.cert"
check "list with a foreign certificate" "$FP" ca list --ca "$T/bundle"
check_no_grep "foreign certificate not listed" '^intruder' "$T/last.out"
check_grep "foreign certificate warned about" 'ignored' "$T/last.err"

[ "$T_FAILED" -eq 0 ]
