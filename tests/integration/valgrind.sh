#!/bin/sh
# Memcheck over programs that load the module: no invalid access and no
# block lost. glibc normally unloads NSS modules at exit under valgrind
# (__libc_freeres), which would strand the environment the module keeps
# open for the life of the process; --run-libc-freeres=no keeps it
# reachable, so that only real leaks are counted. Blocks "possibly lost"
# are glibc's loader's own (dl_find_object), not counted.
. "${top_srcdir:-.}/tests/lib.sh"
enter_sandbox "$@"

command -v valgrind >/dev/null || skip "needs valgrind (scripts/deps)"
sed -i -E 's/^(passwd|group):.*/\1: files dynid/' /etc/nsswitch.conf
"$DYNIDCTL" add web db >/dev/null || fail "add web db"
B=$(getent passwd web | cut -d: -f3)

# memcheck WHAT STATUS CMD...: CMD under memcheck exits with STATUS, and
# memcheck says nothing.
memcheck() {
        what=$1 want=$2
        shift 2
        valgrind --quiet --run-libc-freeres=no --leak-check=full \
                --show-leak-kinds=definite,indirect \
                --errors-for-leak-kinds=definite,indirect \
                --error-exitcode=99 "$@" >"$WORK/out" 2>"$WORK/vg"
        rc=$?
        [ "$rc" = "$want" ] ||
                { cat "$WORK/vg"; fail "$what: exit status $rc"; }
        expect_eq "$what: nothing from memcheck" "" "$(cat "$WORK/vg")"
}

memcheck "getent passwd web" 0 getent passwd web
expect_eq "getent passwd web: the answer" \
        "web:*:$B:$B:dynid service web:$STATE_DIR/home/web:/usr/sbin/nologin" \
        "$(cat "$WORK/out")"
memcheck "getent passwd B+7" 0 getent passwd $((B + 7))
expect_eq "getent passwd B+7: the answer" "web+7" "$(cut -d: -f1 "$WORK/out")"
memcheck "getent passwd web+7" 0 getent passwd web+7
expect_eq "getent passwd web+7: the answer" "$((B + 7))" \
        "$(cut -d: -f3 "$WORK/out")"
memcheck "getent group web" 0 getent group web
memcheck "id web" 0 id web
memcheck "getent passwd (enumeration)" 0 getent passwd
expect_eq "enumeration: both leases" "db web" \
        "$(grep 'dynid service' "$WORK/out" | cut -d: -f1 | sort | tr '\n' ' ' | sed 's/ $//')"
memcheck "getent passwd no-such-name" 2 getent passwd no-such-name
