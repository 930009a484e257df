# Bring up parts of a partnership for integration tests.  Source after lib.sh.
#
#   pp_setup AGENCY...      CA, broker identity, agency identities, bundle,
#                           the example policy copied and signed
#   pp_start_broker         broker on a free 127.0.0.1 port ($PP_BROKER)
#   pp_start_agent ID       agent with its socket at $T/ID.sock
#   pp_agent ID             the agent's --agent endpoint
#   pp_fp ID ARGS...        flagpost --agent <ID's socket> ARGS...
#   pp_audit ARGS...        flagpost audit list --data <broker data> --format jsonl ARGS
#   pp_audit_grep EVENT PATTERN      some EVENT entry's JSON line matches grep's PATTERN
#   pp_audit_count EVENT JQ-FILTER   how many EVENT entries jq's select(FILTER) keeps
#   pp_audit_select EVENT JQ-FILTER  at least one does
#
# Every agency id must be one the example policy lists (see
# policy/examples/tri-borough.yaml).
PP_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PP_CA=$T/ca
PP_BUNDLE=$T/bundle
PP_POLICY=$T/policy.yaml
PP_BROKER_DATA=$T/broker-data

declare -A PP_SECTOR=(
    [met-police]=police [nhs-acute]=health [nhs-mental-health]=health [gp-federation]=health
    [housing-hf]=housing [housing-rbkc]=housing [housing-wcc]=housing [housing-assoc]=housing
    [childrens-sc]=childrens_social_care [adults-sc]=adult_social_care [idva]=idva
    [specialist-bfs]=specialist [probation]=probation [school-hf-primary]=education
    [school-wcc-secondary]=education [marac]=marac)

pp_issue() {   # ID SECTOR
    "$FP" ca issue --ca "$PP_CA" --id "$1" --name "Test $1" --sector "$2" \
        --out "$T/id-$1" >/dev/null
}

pp_setup() {
    "$FP" ca init --ca "$PP_CA" --name "Test Partnership CA" >/dev/null || return 1
    pp_issue broker broker || return 1
    local a
    for a in "$@"; do
        pp_issue "$a" "${PP_SECTOR[$a]}" || return 1
    done
    "$FP" ca export --ca "$PP_CA" --out "$PP_BUNDLE" >/dev/null || return 1
    cp "$PP_ROOT/policy/examples/tri-borough.yaml" "$PP_POLICY"
    "$FP" policy sign --ca "$PP_CA" "$PP_POLICY" >/dev/null
}

pp_start_broker() {
    PP_PORT=${PP_PORT:-$(free_port)}
    PP_BROKER="tcp://127.0.0.1:$PP_PORT"
    start_bg broker "$FLAGPOST_BIN/flagpost-broker" --identity "$T/id-broker" \
        --ca "$PP_BUNDLE" --policy "$PP_POLICY" --data "$PP_BROKER_DATA" \
        --bind "$PP_BROKER" --log-level "${PP_LOG_LEVEL:-info}" "$@"
    PP_BROKER_PID=$!
    wait_until 10 grep -q broker-started "$T/broker.log"
}

pp_agent() { echo "ipc://$T/$1.sock"; }

pp_start_agent() {   # ID [extra options]
    local id=$1; shift
    start_bg "agent-$id" "$FLAGPOST_BIN/flagpost-agent" --identity "$T/id-$id" \
        --ca "$PP_BUNDLE" --policy "$PP_POLICY" --data "$T/data-$id" \
        --broker "$PP_BROKER" --socket "$(pp_agent "$id")" \
        --log-level "${PP_LOG_LEVEL:-info}" "$@"
    eval "PP_PID_${id//-/_}=$!"
    wait_until 10 test -S "$T/$id.sock"
}

pp_wait_connected() {   # ID
    wait_until 15 grep -q broker-connected "$T/agent-$1.log"
}

pp_fp() {   # ID ARGS...
    local id=$1; shift
    "$FP" --agent "$(pp_agent "$id")" "$@"
}

# The hostile test agent (tests/tools/rogue_agent.c), as identity ID.
PP_ROGUE="${FLAGPOST_TESTBIN:-}/rogue_agent"
pp_rogue() {   # IDENTITY-ID MODE [options]
    local id=$1 mode=$2; shift 2
    "$PP_ROGUE" --identity "$T/id-$id" --ca "$PP_BUNDLE" --broker "$PP_BROKER" "$mode" "$@"
}

pp_lookup_count() {   # AGENCY ARGS... -> number of flags found
    local id=$1; shift
    pp_fp "$id" lookup "$@" 2>/dev/null | grep -c flag_id
}

pp_audit() {
    "$FP" audit list --data "$PP_BROKER_DATA" --format jsonl "$@"
}

# Two ways to ask whether something was audited, kept apart because they
# test different things: pp_audit_grep matches text anywhere in an entry's
# line (a reason, a recipient, a quoted word), pp_audit_select asks jq
# about named fields.
pp_audit_grep() {   # EVENT PATTERN
    pp_audit --event "$1" | grep -q -- "$2"
}
pp_audit_count() {   # EVENT JQ-FILTER -> number of matching entries
    pp_audit --event "$1" | jq -c "select($2)" | wc -l
}
pp_audit_select() {   # EVENT JQ-FILTER
    [ "$(pp_audit_count "$1" "$2")" -gt 0 ]
}

# A flag file from a JSON literal.
pp_flag() {   # NAME JSON
    printf '%s\n' "$2" >"$T/$1.json"
    echo "$T/$1.json"
}
