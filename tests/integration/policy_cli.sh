#!/usr/bin/env bash
# flagpost policy check / explain / sign / verify / hash: exit codes and
# output, on the example agreement and the broken-policy corpus.
. "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/../.."

EX=policy/examples/tri-borough.yaml
CORPUS=tests/policy_corpus

# exit_is NAME EXPECTED COMMAND...: passes when COMMAND exits with EXPECTED.
exit_is() {
    local name=$1 want=$2; shift 2
    "$@" >"$T/last.out" 2>"$T/last.err"
    local rc=$?
    if [ "$rc" -eq "$want" ]; then ok "$name"; else
        not_ok "$name"; echo "#   exit $rc, expected $want"
        sed 's/^/#   /' "$T/last.out" "$T/last.err" | head -20; fi
}

# ---- help and usage
exit_is policy_help 0 "$FP" policy --help
check_grep policy_help_lists_commands 'check.*explain|explain' "$T/last.out"
exit_is policy_no_command 2 "$FP" policy
exit_is policy_unknown_command 2 "$FP" policy frobnicate
exit_is explain_help 0 "$FP" policy explain --help
for opt in --policy --ca --from --to --category --subcategory --purpose --basis --consent \
           --risk --role --restricted --named --break-glass --holds-perpetrator --help; do
    check_grep "explain_help_lists_$opt" "$opt" "$T/last.out"
done

# ---- check
exit_is check_example_clean 0 "$FP" policy check "$EX"
check_grep check_example_says_ok "^$EX: ok: policy 'tri-borough-vawg-isa', [0-9]+ rules, sha256 [0-9a-f]{64}" "$T/last.out"
exit_is check_needs_file 2 "$FP" policy check
exit_is check_missing_file 1 "$FP" policy check "$T/no-such.yaml"
check_grep check_missing_file_says_so "cannot open" "$T/last.err"

# Every corpus file fails, and prints each expected position.
corpus_ok=1
for f in "$CORPUS"/*.yaml; do
    exp=${f%.yaml}.expect
    "$FP" policy check "$f" >"$T/c.out" 2>&1 && { corpus_ok=0; echo "#   $f passed check"; }
    while read -r pos _; do
        case $pos in '#'*|'') continue ;; esac
        grep -q "^$f:$pos: " "$T/c.out" || { corpus_ok=0; echo "#   $f: no diagnostic at $pos"; }
    done <"$exp"
done
check_eq check_corpus_positions "$corpus_ok" 1

# All errors of a file, not just the first.
exit_is check_reports_all 1 "$FP" policy check "$CORPUS/unknown-names.yaml"
check_eq check_reports_all_three "$(grep -c "^$CORPUS/unknown-names.yaml:[0-9]*:[0-9]*: " "$T/last.out")" 3
# A clean file and a broken one together: exit 1, both reported.
exit_is check_mixed_files 1 "$FP" policy check "$EX" "$CORPUS/unknown-rule-key.yaml"
check_grep check_mixed_reports_clean ": ok: " "$T/last.out"
check_grep check_mixed_reports_broken "unknown-rule-key.yaml:26:5: unknown key 'form' in a rule" "$T/last.out"

# ---- explain
explain() { "$FP" policy explain --policy "$EX" "$@"; }
exit_is explain_allow 0 explain --from met-police --to housing-hf --category da_victim \
    --purpose safeguarding --basis public_task_safeguarding --consent not_sought_unsafe \
    --risk high --role victim
check_grep explain_allow_word '^ALLOW$' "$T/last.out"
check_grep explain_allow_rule '^rule: +high-risk-victim-to-housing-no-consent$' "$T/last.out"
check_grep explain_allow_fields '^fields: +name, date_of_birth, current_address, new_address' "$T/last.out"
check_grep explain_allow_hash "^policy: +tri-borough-vawg-isa sha256 [0-9a-f]{64}$" "$T/last.out"

exit_is explain_encompass 0 explain --from met-police --to school-hf-primary \
    --category education_notification --purpose education_safeguarding \
    --basis public_task_safeguarding --role child
check_grep explain_encompass_exact_fields \
    '^fields: +child_name, child_date_of_birth, incident_date, incident_time, child_present$' "$T/last.out"

exit_is explain_withheld 0 explain --from idva --to met-police --category da_victim \
    --purpose safeguarding --basis public_task_safeguarding --consent refused_overridden \
    --risk high --role victim
check_grep explain_withheld_field '^withheld: +immigration_status$' "$T/last.out"
check_grep explain_withheld_by '^withheld by: +immigration-status-needs-consent$' "$T/last.out"
check_no_grep explain_withheld_not_in_fields '^fields:.*immigration_status' "$T/last.out"

exit_is explain_restricted_deny 1 explain --from marac --to housing-rbkc --category marac_case \
    --purpose marac --basis public_task_safeguarding --risk high --role victim \
    --restricted --named met-police,idva
check_grep explain_deny_word '^DENY$' "$T/last.out"
check_grep explain_deny_rule '^rule: +restricted-not-named$' "$T/last.out"
check_grep explain_deny_no_fields '^fields: +\(none\)$' "$T/last.out"

exit_is explain_restricted_named 0 explain --from marac --to housing-rbkc --category marac_case \
    --purpose marac --basis public_task_safeguarding --risk high --role victim \
    --restricted --named met-police,housing-rbkc

exit_is explain_break_glass 0 explain --from met-police --to nhs-acute --category da_victim \
    --purpose emergency --basis vital_interests --consent not_possible --risk high \
    --role victim --break-glass
check_grep explain_break_glass_marked '^break-glass: +yes' "$T/last.out"
exit_is explain_no_break_glass 1 explain --from met-police --to nhs-acute --category da_victim \
    --purpose emergency --basis vital_interests --consent not_possible --risk high --role victim
check_grep explain_default_deny '^rule: +default-deny$' "$T/last.out"

exit_is explain_holds_perpetrator 0 explain --from met-police --to housing-assoc \
    --category da_victim --purpose safeguarding --basis public_task_safeguarding \
    --consent refused_overridden --risk high --role victim --holds-perpetrator
check_no_grep explain_holds_no_address '^fields:.*address' "$T/last.out"

exit_is explain_sector_party 0 explain --from met-police --to sector:housing \
    --category da_victim --purpose safeguarding --basis public_task_safeguarding \
    --consent refused_overridden --risk high --role victim
exit_is explain_unknown_category 2 explain --from met-police --to idva --category da_vctim \
    --purpose safeguarding
check_grep explain_unknown_category_says "category: unknown category 'da_vctim'" "$T/last.err"
exit_is explain_unknown_agency 2 explain --from met-polise --to idva --category da_victim \
    --purpose safeguarding
check_grep explain_unknown_agency_says "sector:NAME" "$T/last.err"
exit_is explain_missing_options 2 explain --from met-police --to idva
exit_is explain_broken_policy 1 "$FP" policy explain --policy "$CORPUS/unknown-names.yaml" \
    --from met-police --to housing-hf --category da_victim --purpose safeguarding

# ---- hash
exit_is hash_ok 0 "$FP" policy hash "$EX"
check_eq hash_is_sha256 "$(cat "$T/last.out")" "$(sha256sum "$EX" | cut -d' ' -f1)"
exit_is hash_needs_file 2 "$FP" policy hash
exit_is hash_missing_file 1 "$FP" policy hash "$T/no-such.yaml"

# ---- sign and verify
check make_ca "$FP" ca init --ca "$T/ca" --name "Policy test CA"
check make_other_ca "$FP" ca init --ca "$T/other-ca" --name "Another CA"
check export_bundle "$FP" ca export --ca "$T/ca" --out "$T/bundle"
cp "$EX" "$T/isa.yaml"
exit_is verify_unsigned_refused 1 "$FP" policy verify --ca "$T/ca" "$T/isa.yaml"
check_grep verify_unsigned_says "is not signed" "$T/last.err"
exit_is sign_ok 0 "$FP" policy sign --ca "$T/ca" "$T/isa.yaml"
check_grep sign_reports_sig "isa.yaml.sig" "$T/last.out"
check_grep sign_wrote_sig '^flagpost-policy-signature-v1$' "$T/isa.yaml.sig"
exit_is verify_ok 0 "$FP" policy verify --ca "$T/ca" "$T/isa.yaml"
check_grep verify_ok_says "signature ok" "$T/last.out"
exit_is verify_with_bundle 0 "$FP" policy verify --ca "$T/bundle" "$T/isa.yaml"
exit_is sign_with_bundle_refused 1 "$FP" policy sign --ca "$T/bundle" "$T/isa.yaml"
exit_is explain_with_ca 0 "$FP" policy explain --policy "$T/isa.yaml" --ca "$T/ca" \
    --from met-police --to idva --category da_victim --purpose safeguarding \
    --basis public_task_safeguarding --consent given --risk high --role victim
exit_is verify_wrong_ca 1 "$FP" policy verify --ca "$T/other-ca" "$T/isa.yaml"
check_grep verify_wrong_ca_says "does not match its signature" "$T/last.err"
sed -i 's/retention_days: 365/retention_days: 366/' "$T/isa.yaml"
exit_is verify_altered_refused 1 "$FP" policy verify --ca "$T/ca" "$T/isa.yaml"
check_grep verify_altered_says "does not match its signature" "$T/last.err"
exit_is explain_altered_with_ca 1 "$FP" policy explain --policy "$T/isa.yaml" --ca "$T/ca" \
    --from met-police --to idva --category da_victim --purpose safeguarding
exit_is sign_needs_ca 2 "$FP" policy sign "$T/isa.yaml"
cp "$CORPUS/unknown-names.yaml" "$T/broken.yaml"
exit_is sign_refuses_broken 1 "$FP" policy sign --ca "$T/ca" "$T/broken.yaml"
check_grep sign_refuses_broken_says "refusing to sign" "$T/last.err"
check_fails sign_broken_wrote_nothing test -e "$T/broken.yaml.sig"
chmod 644 "$T/ca/ca.key"
exit_is sign_refuses_readable_key 1 "$FP" policy sign --ca "$T/ca" "$T/isa.yaml"
check_grep sign_readable_key_says "readable by other users" "$T/last.err"
