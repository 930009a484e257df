#!/usr/bin/env bash
# `make install` into a staging directory: every file lands where the
# units and docs say, the installed programs run (--help, a CA made with
# the installed flagpost), the man pages render without warnings and list
# every option each program's --help lists, the units pass systemd-analyze
# verify and its offline security check, and a second install keeps an
# operator's edited configuration.
. "$(dirname "$0")/lib.sh"

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD_DIR=$(dirname "$FLAGPOST_BIN")
MAKE_ARGS=(BUILD="$BUILD_DIR")
[ -n "${FLAGPOST_SANITIZED:-}" ] && MAKE_ARGS+=(SAN=1 CC=clang)

install_to() {   # DESTDIR PREFIX
    make --no-print-directory -s -C "$ROOT" "${MAKE_ARGS[@]}" install DESTDIR="$1" PREFIX="$2"
}

S=$T/stage
P=/opt/flagpost
check "make install DESTDIR=... PREFIX=$P" install_to "$S" "$P"
for f in bin/flagpost sbin/flagpost-broker sbin/flagpost-agent; do
    check "$f installed executable" test -x "$S$P/$f"
done
for f in share/man/man1/flagpost.1 share/man/man8/flagpost-broker.8 \
    share/man/man8/flagpost-agent.8 share/doc/flagpost/ca.md share/doc/flagpost/deploy.md \
    share/flagpost/policy/tri-borough.yaml share/flagpost/broker.conf share/flagpost/agent.conf \
    share/flagpost/create-users lib/systemd/system/flagpost-broker.service \
    lib/systemd/system/flagpost-agent.service lib/sysusers.d/flagpost.conf \
    etc/flagpost/broker.conf etc/flagpost/agent.conf; do
    check "$f installed" test -f "$S$P/$f"
done
check "nothing is installed outside DESTDIR" bash -c "[ ! -e '$P' ]"
check_eq "configuration is readable by the service users" \
    "$(stat -c %a "$S$P/etc/flagpost/broker.conf")" 644

UNIT=$S$P/lib/systemd/system/flagpost-broker.service
check_grep "the broker unit runs the installed program with its config" \
    "^ExecStart=$P/sbin/flagpost-broker --config $P/etc/flagpost/broker.conf$" "$UNIT"
check_grep "the agent unit too" \
    "^ExecStart=$P/sbin/flagpost-agent --config $P/etc/flagpost/agent.conf$" \
    "$S$P/lib/systemd/system/flagpost-agent.service"
check_no_grep "no placeholder is left in the units" "@[A-Z]+@" "$UNIT"
check_grep "the installed config points into the install's etc" \
    "^ca += $P/etc/flagpost/bundle" "$S$P/etc/flagpost/broker.conf"
for k in User=flagpost-broker NoNewPrivileges=yes ProtectSystem=strict ProtectHome=yes \
    PrivateTmp=yes PrivateDevices=yes StateDirectory=flagpost-broker \
    SystemCallFilter=@system-service CapabilityBoundingSet= MemoryDenyWriteExecute=yes \
    LockPersonality=yes Restart=on-failure KillSignal=SIGTERM \
    'ExecReload=/bin/kill -HUP \$MAINPID'; do
    check_grep "broker unit: $k" "^$k\$" "$UNIT"
done
check_grep "agent unit: RuntimeDirectory for the socket" "^RuntimeDirectory=flagpost-agent$" \
    "$S$P/lib/systemd/system/flagpost-agent.service"
check_grep "agent unit: runs as flagpost-agent" "^User=flagpost-agent$" \
    "$S$P/lib/systemd/system/flagpost-agent.service"

# ---------------------------------------------------------------- the installed programs
for p in bin/flagpost sbin/flagpost-broker sbin/flagpost-agent; do
    check "installed $(basename $p) --help" "$S$P/$p" --help
done
check "the installed flagpost makes a CA" "$S$P/bin/flagpost" ca init --ca "$T/ca" --name "Install CA"
check "and issues the broker's identity" "$S$P/bin/flagpost" ca issue --ca "$T/ca" --id broker \
    --name "Broker" --sector broker --out "$T/id-broker"
check "and signs the installed example policy" bash -c \
    "cp '$S$P/share/flagpost/policy/tri-borough.yaml' '$T/policy.yaml' &&
     '$S$P/bin/flagpost' policy sign --ca '$T/ca' '$T/policy.yaml'"
check "the installed broker reads the installed config (and names a bad key)" bash -c \
    "printf 'data = /x\nbnid = y\n' >'$T/bad.conf';
     '$S$P/sbin/flagpost-broker' --config '$T/bad.conf' 2>'$T/bad.err'; [ \$? -eq 2 ]"
check_grep "with file and line" "bad.conf:2: unknown setting 'bnid'" "$T/bad.err"

# ---------------------------------------------------------------- man pages
for m in man1/flagpost.1 man8/flagpost-broker.8 man8/flagpost-agent.8; do
    LC_ALL=C.UTF-8 MANWIDTH=100 man --warnings -l "$S$P/share/man/$m" >"$T/$(basename $m).txt" \
        2>"$T/$(basename $m).err"
    check "man -l renders $m" test -s "$T/$(basename $m).txt"
    check_eq "without warnings: $m" "$(cat "$T/$(basename $m).err")" ""
done
# Man pages cannot drift from --help: every long option a --help lists is
# in the page.  (Rendered with ASCII hyphens.)
options_of() { grep -oE -- '--[a-z][a-z-]+' | sort -u; }
page_text() { LC_ALL=C MANWIDTH=200 man -l "$S$P/share/man/$1" 2>/dev/null | sed 's/‐/-/g'; }
missing_options() {   # PAGE, help text on stdin
    local page opt
    page=$(page_text "$1")
    for opt in $(options_of); do
        grep -qF -- "$opt" <<<"$page" || echo "$opt"
    done
}
check_eq "flagpost-broker(8) lists every option of --help" \
    "$("$S$P/sbin/flagpost-broker" --help | missing_options man8/flagpost-broker.8 | xargs)" ""
check_eq "flagpost-agent(8) lists every option of --help" \
    "$("$S$P/sbin/flagpost-agent" --help | missing_options man8/flagpost-agent.8 | xargs)" ""
FPI=$S$P/bin/flagpost
{
    "$FPI" --help
    for c in "ca init" "ca issue" "ca revoke" "ca export" "ca list" "policy check" \
        "policy sign" "policy verify" "policy hash" "policy explain" "audit verify" \
        "audit list" "audit proof" "audit consistency" "audit check-proof" "audit report" \
        "audit chronology" broker-status backup restore lookup inbox notices \
        "marac request" "marac status" "marac pack" "marac actions" "marac stats" \
        "marac inbox" "marac respond" "marac action-done"; do
        # shellcheck disable=SC2086
        "$FPI" $c --help 2>&1
    done
} >"$T/all-help.txt"
check_eq "flagpost(1) lists every option of every command's --help" \
    "$(missing_options man1/flagpost.1 <"$T/all-help.txt" | xargs)" ""
for c in ca policy audit broker-status backup restore publish lookup inbox result status \
    update withdraw ack notices "marac request" "marac respond" "marac action-done"; do
    check_grep "flagpost(1) documents '$c'" "flagpost $c" <(page_text man1/flagpost.1)
done

# ---------------------------------------------------------------- systemd
# A root holding the staged /usr/local install, /bin/kill and systemd's own
# units, so systemd-analyze checks the units as installed.
R=$T/root
check "install into a root with PREFIX=/usr/local" install_to "$R" /usr/local
mkdir -p "$R/usr/lib/systemd" "$R/bin"
cp -a /usr/lib/systemd/system "$R/usr/lib/systemd/"
cp /bin/kill "$R/bin/kill"
check_grep "PREFIX=/usr/local keeps configuration in /etc" "/etc/flagpost/broker.conf$" \
    "$R/usr/local/lib/systemd/system/flagpost-broker.service"
(cd "$T" && systemd-analyze verify --man=no --root="$R" flagpost-broker.service \
    flagpost-agent.service) >"$T/verify.out" 2>&1
check "systemd-analyze verify passes" test $? -eq 0
check_eq "with nothing to say" "$(cat "$T/verify.out")" ""
for u in flagpost-broker flagpost-agent; do
    check "systemd-analyze security: $u exposure at most 2.0" bash -c \
        "cd '$T' && systemd-analyze security --offline=yes --threshold=20 --root='$R' $u.service \
         >'$T/security-$u.out' 2>&1"
done
# The verification can fail: an unknown directive is reported.
echo "ProtectEverything=yes" >>"$R/usr/local/lib/systemd/system/flagpost-agent.service"
(cd "$T" && systemd-analyze verify --man=no --root="$R" flagpost-agent.service) \
    >"$T/verify-bad.out" 2>&1
check_grep "a broken unit is caught" "ProtectEverything" "$T/verify-bad.out"

# ---------------------------------------------------------------- upgrades keep configuration
echo "# edited by the operator" >>"$S$P/etc/flagpost/broker.conf"
check "install again over it" install_to "$S" "$P"
check_grep "the edited config is kept" "edited by the operator" "$S$P/etc/flagpost/broker.conf"
check_no_grep "the example in share is the shipped one" "edited by the operator" \
    "$S$P/share/flagpost/broker.conf"
check "create-users is a valid shell script" sh -n "$S$P/share/flagpost/create-users"
