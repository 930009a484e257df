#!/usr/bin/env bash
# --config FILE for flagpost-broker and flagpost-agent with real processes:
# a broker and an agent started from config files alone work end to end,
# every key is the long option of the same name, the command line
# overrides the file, and a bad file stops the program with FILE:LINE.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/partnership.sh"

BROKER=$FLAGPOST_BIN/flagpost-broker
AGENT=$FLAGPOST_BIN/flagpost-agent

check "partnership set up" pp_setup met-police housing-hf
PORT=$(free_port)
cat >"$T/broker.conf" <<EOF
# the test broker
identity = $T/id-broker
ca       = $PP_BUNDLE
policy   = $PP_POLICY
data     = $T/broker-data
bind     = tcp://127.0.0.1:$PORT
log-level = warn        # the command line below says info
skew     = 120
window   = 64
window-mb = 8
batch    = 32
map-size = 256
EOF
# broker-started is an info line: seeing it proves --log-level overrode the file.
start_bg broker "$BROKER" --config "$T/broker.conf" --log-level info
check "a broker starts from its config file" wait_until 10 grep -q broker-started "$T/broker.log"
check "with the file's data directory" test -f "$T/broker-data/data.mdb"

agent_conf() {   # ID -> config text
    cat <<EOF
identity     = $T/id-$1
ca           = $PP_BUNDLE
policy       = $PP_POLICY
data         = $T/data-$1
broker       = tcp://127.0.0.1:$PORT
socket       = "ipc://$T/$1.sock"
publish-wait = 5000
map-size     = 256
log-level    = info
spool        = $T/spool-$1
EOF
}
agent_conf met-police >"$T/police.conf"
agent_conf housing-hf >"$T/housing.conf"
start_bg agent-police "$AGENT" --config "$T/police.conf"
start_bg agent-housing "$AGENT" --config="$T/housing.conf"
check "agents start from their config files" wait_until 10 test -S "$T/met-police.sock" -a \
    -S "$T/housing-hf.sock"
check "police connects" wait_until 15 grep -q broker-connected "$T/agent-police.log"
check "housing connects" wait_until 15 grep -q broker-connected "$T/agent-housing.log"
check "the spool key made the spool" test -d "$T/spool-met-police/in"
printf '%s\n' '{"category": "da_victim", "purpose": "safeguarding",
 "lawful_basis": "public_task_safeguarding", "consent": "not_sought_unsafe",
 "consent_reason": "unsafe", "risk": "high", "subject": {"role": "victim", "nhs": "9434765919"},
 "recipients": ["housing-hf"], "fields": {"risk_summary": "from config"}}' >"$T/flag.json"
"$FP" --agent "ipc://$T/met-police.sock" publish "$T/flag.json" >"$T/publish.out"
check_grep "a flag goes through" '"status": "accepted"' "$T/publish.out"
check "and reaches housing" wait_until 10 bash -c \
    "'$FP' --agent 'ipc://$T/housing-hf.sock' lookup --nhs 9434765919 | grep -q 'from config'"

# The command line wins over the file.
stop_pid "$PID_agent_police"
start_bg agent-police2 "$AGENT" --config "$T/police.conf" --socket "ipc://$T/other.sock"
check "a socket on the command line replaces the file's" wait_until 10 test -S "$T/other.sock"
check "the file's socket is not used" bash -c "sleep 0.5; [ ! -S '$T/met-police.sock' ] ||
    ! FLAGPOST_TIMEOUT=2 '$FP' --agent 'ipc://$T/met-police.sock' status"
stop_pid "$PID_agent_police2"

# Bad files stop the program, naming the file and line (exit status 2).
run_expect_2() {   # NAME PROGRAM ARGS...
    local name=$1; shift
    "$@" >"$T/bad.out" 2>"$T/bad.err"
    check_eq "$name: exit status 2" "$?" 2
}
printf 'identity = /x\n\nbnid = tcp://x\n' >"$T/typo.conf"
run_expect_2 "unknown key" "$BROKER" --config "$T/typo.conf"
check_grep "names file and line" "typo.conf:3: unknown setting 'bnid'" "$T/bad.err"
check_grep "lists the settings" "identity, ca, policy, data, bind" "$T/bad.err"
printf 'spool = /x\n' >"$T/broker-spool.conf"
run_expect_2 "an agent key in a broker file" "$BROKER" --config "$T/broker-spool.conf"
check_grep "is unknown to the broker" "broker-spool.conf:1: unknown setting 'spool'" "$T/bad.err"
printf 'log_level = info\n' >"$T/underscore.conf"
run_expect_2 "log_level" "$AGENT" --config "$T/underscore.conf"
check_grep "suggests log-level" "did you mean 'log-level'" "$T/bad.err"
printf 'data = /a\ndata = /b\n' >"$T/twice.conf"
run_expect_2 "a key twice" "$AGENT" --config "$T/twice.conf"
check_grep "names both lines" "twice.conf:2: 'data' is set again \(first on line 1\)" "$T/bad.err"
printf 'skew = soon\n' >"$T/value.conf"
run_expect_2 "a bad value" "$BROKER" --config "$T/value.conf"
check_grep "names the option" "skew" "$T/bad.err"
run_expect_2 "a missing file" "$AGENT" --config "$T/nowhere.conf"
check_grep "names the file" "nowhere.conf" "$T/bad.err"
run_expect_2 "--config twice" "$AGENT" --config "$T/police.conf" --config "$T/police.conf"
run_expect_2 "--config without a file" "$BROKER" --config

for p in "$BROKER" "$AGENT"; do
    "$p" --help >"$T/help.out"
    check_grep "$(basename "$p") --help documents --config" "--config FILE" "$T/help.out"
done
