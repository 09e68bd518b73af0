#!/bin/sh
# tests/fuzz/run.sh SECONDS: builds the libFuzzer targets with clang (ASan
# and UBSan) and runs each for SECONDS over its corpus in tests/fuzz/corpus,
# in the private sandbox. Prints "fuzz-NAME: RUNS runs in S s (R/s)" for
# each; exits 1 at the first crash, leaving the crashing input in
# $top_builddir/fuzz/. make check runs it for a few seconds (fuzz.sh);
# make fuzz for minutes.
. "${top_srcdir:-.}/tests/lib.sh"
enter_sandbox "$@"

SECONDS_EACH=${1:-10}
command -v clang >/dev/null || skip "needs clang and libclang-rt-14-dev (scripts/deps)"

out=$top_builddir/fuzz
mkdir -p "$out"
# FUZZ_ROOT is private to the sandbox: a tmpfs.
root=/tmp/dynid-fuzz
mkdir -p "$root"
mount -t tmpfs -o mode=0755 tmpfs "$root" || fail "cannot mount $root"

src=$top_srcdir
cflags="-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
        -std=gnu11 -I$top_builddir -I$src -I$src/allocator
        -DLOCALSTATEDIR=\"$root/var\" -DSYSCONFDIR=\"$root/etc\"
        -DFUZZ_ROOT=\"$root\""
libdynid="$src/allocator/names.c $src/allocator/util.c $src/allocator/record.c
        $src/allocator/config.c $src/allocator/conflict.c $src/allocator/store.c
        $src/allocator/lease.c $src/allocator/publish.c $src/allocator/check.c
        $src/allocator/storage.c $src/allocator/session.c $src/allocator/idmap.c"
build() {
        # shellcheck disable=SC2086
        clang $cflags -o "$out/$1" "$src/tests/fuzz/$1.c" $2 \
                $(pkg-config --libs lmdb inih) -lpthread ||
                fail "cannot build $1"
}
build fuzz-config "$libdynid"
build fuzz-names "$libdynid"
build fuzz-nss "$libdynid $src/nss/nss-dynid.c"
build fuzz-snapshot "$src/allocator/record.c $src/allocator/names.c $src/allocator/util.c $src/nss/nss-dynid.c"

for t in fuzz-config fuzz-names fuzz-nss fuzz-snapshot; do
        corpus=$WORK/corpus-$t
        mkdir -p "$corpus"
        cp "$src/tests/fuzz/corpus/${t#fuzz-}"/* "$corpus"/ 2>/dev/null
        # The targets carry clang's ASan runtime; the sandbox's preload of
        # gcc's (an ASan build) would clash with it.
        (cd "$out" && LD_PRELOAD= ASAN_OPTIONS= "./$t" -max_total_time="$SECONDS_EACH" \
                -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
                -artifact_prefix="$out/$t-" "$corpus") >"$WORK/$t.log" 2>&1
        rc=$?
        runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$WORK/$t.log")
        secs=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$WORK/$t.log")
        if [ "$rc" != 0 ]; then
                tail -n 40 "$WORK/$t.log"
                fail "$t: exit status $rc (inputs in $out)"
        fi
        echo "ok: $t: $runs runs in $SECONDS_EACH s ($secs/s)"
done
