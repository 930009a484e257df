#!/usr/bin/env bash
# The build under test was made the way the Makefile promises: every object
# compiled with the warning flags as errors, the normal build optimised
# (-O2) and linked with the optional libraries the machine has, the
# sanitizer build really sanitized.  A Makefile edit once dropped WARN and
# OPT for most of a day and every other test still passed, so the flags are
# checked here, in the make commands and in the binaries themselves.
. "$(dirname "$0")/lib.sh"

root=$(cd "$(dirname "$0")/../.." && pwd)
build_abs=$(dirname "$FLAGPOST_BIN")
build=${build_abs#"$root"/}
broker="$FLAGPOST_BIN/flagpost-broker"

if [ -n "${FLAGPOST_SANITIZED:-}" ]; then
    make_args=(BUILD="$build" SAN=1 CC=clang)
    want_opt="-fsanitize=address,undefined"
else
    make_args=(BUILD="$build")
    want_opt="-O2"
fi

# The commands make would run to rebuild everything (-n runs none of them).
make -C "$root" -n -B "${make_args[@]}" all >"$T/make.out" 2>"$T/make.err"
grep -E '^(cc|gcc|clang)\b.* -c ' "$T/make.out" >"$T/compile.lines"
n=$(wc -l <"$T/compile.lines")
check "make -n lists the compile commands of $build ($n)" test "$n" -ge 50

# all_have FLAG FILE: every compile line in FILE has FLAG; prints the
# sources that lack it.
all_have() { ! grep -v -e " $1 " "$2" | grep -o ' -c [^ ]*'; }
# protobuf-c's generated code is ours to compile, not to warn about.
grep -v " -c $build/gen/" "$T/compile.lines" >"$T/ours.lines"
for flag in -Wall -Wextra -Werror; do
    check "every object of $build from our sources is compiled with $flag" \
        all_have "$flag" "$T/ours.lines"
done
check "every object of $build is compiled with $want_opt" all_have "$want_opt" "$T/compile.lines"

if [ -n "${FLAGPOST_SANITIZED:-}" ]; then
    check "the sanitized broker carries AddressSanitizer" \
        bash -c "nm '$broker' | grep -q __asan_init"
    check "the sanitized broker carries UBSan" \
        bash -c "nm '$broker' | grep -q __ubsan_handle"
else
    # gcc records its options in each compile unit's DW_AT_producer.
    readelf --debug-dump=info "$broker" 2>/dev/null | grep DW_AT_producer >"$T/producers"
    units=$(wc -l <"$T/producers")
    unoptimised=$(grep -vc -e ' -O2' "$T/producers")
    check "the broker's $units compile units were built with -O2 ($unoptimised were not)" \
        test "$units" -gt 0 -a "$unoptimised" -eq 0
    if pkg-config --exists jemalloc; then
        check "jemalloc is installed, and the broker links it" \
            bash -c "ldd '$broker' | grep -q libjemalloc"
    else
        ok "jemalloc is not installed; the broker uses the C library's malloc"
    fi
    if pkg-config --exists libcrypto; then
        check "libcrypto is installed, and the audit tree hashes with it" \
            bash -c "ldd '$broker' | grep -q libcrypto && grep -q -- -DFLAGPOST_SHA256_OPENSSL '$T/compile.lines'"
    else
        ok "libcrypto is not installed; the audit tree hashes with libsodium"
    fi
fi
exit $T_FAILED
