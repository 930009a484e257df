#!/usr/bin/env bash
# The broker prunes its replay table (broker/seen_prune.h), with real
# processes: a CURVE broker and agents on 127.0.0.1 and real LMDB files.
#   --seen-retention below twice --skew plus 60 s is refused at start-up,
#   whichever comes first and from the config file too;
#   a broker with --skew 2 --seen-retention 64 forgets the message ids of
#   a flag and of a view after 64 s and logs it; the identical frames sent
#   again are refused clock-skew, the flag is not disclosed again and the
#   view not audited again;
#   restarted with --skew 300 (the frames are now well inside the skew),
#   the identical frames are still refused: the floor the prune left says
#   the broker no longer remembers ids that old.  (A replayed flag would
#   also meet flag-id-in-use; a view has no such second line, so without
#   the floor it would be audited, and its sender notified, twice);
#   the data directory remembers the largest --skew it was served with.
# This script waits about 70 s for the retention to pass.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/partnership.sh"

BROKER=$FLAGPOST_BIN/flagpost-broker

check "partnership set up" pp_setup met-police housing-hf

# ---------------------------------------------------------------- the rule at start-up
broker_refuses() {   # NAME ERRFILE OPTIONS... : exits 2 before serving
    local name=$1 errfile=$2; shift 2
    timeout 20 "$BROKER" --identity "$T/id-broker" --ca "$PP_BUNDLE" --policy "$PP_POLICY" \
        --data "$T/refused-data" --bind "tcp://127.0.0.1:$(free_port)" "$@" 2>"$errfile"
    check_eq "$name" "$?" 2
}
broker_refuses "a retention under twice the skew plus 60 s is refused" "$T/short.err" \
    --seen-retention 600 --skew 300
check_grep "the refusal names both options and the least value" \
    'seen-retention 600 is too short for --skew 300.*660 or more' "$T/short.err"
broker_refuses "also when --skew comes after --seen-retention" "$T/order.err" \
    --skew 300 --seen-retention 659
printf 'seen-retention = 100\n' >"$T/broker.conf"
broker_refuses "and from the config file" "$T/conf.err" --config "$T/broker.conf"
check_grep "which names the option" 'seen-retention 100 is too short' "$T/conf.err"
check "nothing was created for a refused start" test ! -e "$T/refused-data/data.mdb"

# ---------------------------------------------------------------- a message id pruned
check "the broker starts with --skew 2 --seen-retention 64" \
    pp_start_broker --skew 2 --seen-retention 64
check "housing agent starts" pp_start_agent housing-hf
check "housing connects" pp_wait_connected housing-hf

pp_rogue met-police valid --to housing-hf --consent not_sought_unsafe --field risk_summary=x \
    --nhs 4010232137 --save "$T/frame.bin" >"$T/r.out"
check_eq "a flag is accepted" "$(jq -r .status "$T/r.out")" accepted
check "and delivered" wait_output 15 1 pp_lookup_count housing-hf --nhs 4010232137
SHARED=$(pp_audit_count disclosure '.recipient=="housing-hf"')
check_eq "it is disclosed once" "$SHARED" 1
# A view of a flag the broker does not hold is audited and remembered too.
pp_rogue housing-hf view --category seen_prune_view --save "$T/view.bin" >"$T/v.out"
check_eq "a view is accepted" "$(jq -r .status "$T/v.out")" accepted
VIEWED='.category=="seen_prune_view"'
check_eq "and audited once" "$(pp_audit_count view "$VIEWED")" 1
# The flag's id and those of housing's views (every lookup is one).
check "the broker logs the prune after the retention" \
    wait_until 90 grep -Eq 'seen-pruned count=[1-9][0-9]* ' "$T/broker.log"
pp_rogue met-police resend --load "$T/frame.bin" >"$T/r.out"
check_grep "the identical frame sent again is refused as clock skew" \
    '"status":"refused".*clock-skew.*behind' "$T/r.out"
check_eq "and audited as clock skew" \
    "$(pp_audit_count message_refused '.sender=="met-police" and .reason=="clock-skew"')" 1
pp_rogue housing-hf resend --load "$T/view.bin" >"$T/v.out"
check_grep "the identical view sent again is refused as clock skew" \
    '"status":"refused".*clock-skew.*behind' "$T/v.out"

# ---------------------------------------------------------------- a wider skew
stop_pid "$PP_BROKER_PID"
mv "$T/broker.log" "$T/broker-first.log"
check "the broker restarts with --skew 300" pp_start_broker --skew 300 --seen-retention 660
pp_rogue met-police resend --load "$T/frame.bin" >"$T/r.out"
check_grep "the identical frame, inside the new skew, is still refused" \
    '"status":"refused".*clock-skew.*cannot be told from a replay' "$T/r.out"
check_eq "and audited as clock skew" \
    "$(pp_audit_count message_refused '.sender=="met-police" and .reason=="clock-skew"')" 2
check_eq "it was never disclosed again" "$(pp_audit_count disclosure '.recipient=="housing-hf"')" 1
pp_rogue housing-hf resend --load "$T/view.bin" >"$T/v.out"
check_grep "the identical view, inside the new skew, is still refused" \
    '"status":"refused".*clock-skew.*cannot be told from a replay' "$T/v.out"
check_eq "and the view is still audited once" "$(pp_audit_count view "$VIEWED")" 1
check "housing reconnects" wait_until 20 grep -q 'agent-connected agency=housing-hf' \
    "$T/broker.log"
pp_rogue met-police valid --to housing-hf --consent not_sought_unsafe --field risk_summary=y \
    --nhs 9434765919 >"$T/r.out"
check_eq "a new flag is still accepted" "$(jq -r .status "$T/r.out")" accepted
check "and delivered" wait_output 15 1 pp_lookup_count housing-hf --nhs 9434765919
check_eq "housing holds the pruned flag once" "$(pp_lookup_count housing-hf --nhs 4010232137)" 1
check_no_grep "no sweep failed" 'seen-prune-failed' "$T/broker.log"

# ---------------------------------------------------------------- the skew remembered
stop_pid "$PP_BROKER_PID"
timeout 20 "$BROKER" --identity "$T/id-broker" --ca "$PP_BUNDLE" --policy "$PP_POLICY" \
    --data "$PP_BROKER_DATA" --bind "tcp://127.0.0.1:$(free_port)" \
    --skew 2 --seen-retention 64 2>"$T/history.err"
check_eq "a store served with --skew 300 refuses --skew 2 --seen-retention 64" "$?" 2
check_grep "naming the largest skew it was served with" \
    'served with --skew up to 300.*362 or more' "$T/history.err"
