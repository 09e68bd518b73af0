#!/bin/sh
# dynidctl run: root inside the service's user namespace, its home
# idmapped with inner owners, no capability left for an inner user, and
# nothing of dynidctl's open in the command.
. "${top_srcdir:-.}/tests/lib.sh"
enter_sandbox "$@"

D=$DYNIDCTL
# run leases the name when needed.
expect_eq "id -u inside" 0 "$("$D" run web -- id -u)"
B=$(getent passwd web | cut -d: -f3)
expect_eq "uid_map inside" "0 $B 65536" \
        "$("$D" run web -- cat /proc/self/uid_map | tr -s ' ' | sed 's/^ //')"
expect_eq "gid_map inside" "0 $B 65536" \
        "$("$D" run web -- cat /proc/self/gid_map | tr -s ' ' | sed 's/^ //')"

out=$("$D" run web -- sh -c 'touch ~/x; stat -c "%u %g" ~/x; pwd; echo "$HOME|$USER|$LOGNAME|$SHELL|$PATH"; ls /proc/self/fd | wc -l')
expect_eq "a new file, seen inside" "0 0" "$(echo "$out" | sed -n 1p)"
expect_eq "the command starts in its home" "$STATE_DIR/home/web" \
        "$(echo "$out" | sed -n 2p)"
expect_eq "environment" "$STATE_DIR/home/web|web|web|/usr/sbin/nologin|/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
        "$(echo "$out" | sed -n 3p)"
# 0, 1, 2 and the one ls reads /proc/self/fd through.
expect_eq "descriptors in the command" 4 "$(echo "$out" | sed -n 4p)"
expect_eq "the raw file in storage" "2147352576 2147352576" \
        "$(stat -c '%u %g' "$STATE_DIR/storage/web/x")"
expect_home_mount "dynidctl run" \
        "$("$D" run web -- sh -c 'grep " $HOME " /proc/self/mountinfo')"
expect_eq "the same file from the host view" "" \
        "$(grep " $STATE_DIR/home/web " /proc/self/mountinfo)"

out=$("$D" run web --user 7 -- sh -c 'id -u; id -g; echo $USER; grep -E "^Cap(Prm|Eff|Bnd|Amb)" /proc/self/status | tr -d "\t"')
expect_eq "--user 7" "7
7
web+7
CapPrm:0000000000000000
CapEff:0000000000000000
CapBnd:0000000000000000
CapAmb:0000000000000000" "$out"

expect_eq "the command's exit status" 3 \
        "$("$D" run web -- sh -c 'exit 3'; echo $?)"
# A caller that ignores SIGCHLD (kept across exec) still gets the status.
expect_eq "the exit status, SIGCHLD ignored by the caller" "inside
5" \
        "$(perl -e '$SIG{CHLD} = "IGNORE"; exec @ARGV' \
           "$D" run web -- sh -c 'echo inside; exit 5'; echo $?)"
"$D" run web 2>"$WORK/err"
expect_eq "no command: exit status" 2 "$?"
expect_eq "no command: message" \
        "dynidctl: run: missing COMMAND
Try 'dynidctl --help' for more information." \
        "$(cat "$WORK/err")"
"$D" run 2>"$WORK/err"
expect_eq "no name: message" \
        "dynidctl: run: missing NAME and COMMAND
Try 'dynidctl --help' for more information." \
        "$(cat "$WORK/err")"
"$D" run web -- /nonexistent/cmd 2>"$WORK/err"
expect_eq "a missing command: exit status" 127 "$?"
expect_eq "a missing command: message" \
        "dynidctl: run: /nonexistent/cmd: No such file or directory" \
        "$(cat "$WORK/err")"
expect_eq "no live session afterwards" 0 \
        "$(lease_field web sessions)"
as_nobody "$D" run web -- true 2>"$WORK/err"
expect_eq "as nobody: exit status" 1 "$?"
expect_eq "as nobody: message" "dynidctl: run: must be run as root" \
        "$(cat "$WORK/err")"
"$D" run web --user 65536 -- true 2>"$WORK/err"
expect_eq "--user 65536: exit status" 1 "$?"
expect_eq "--user 65536: message" "dynidctl: run: --user is outside the block" \
        "$(cat "$WORK/err")"
"$D" run web --user -1 -- true 2>"$WORK/err"
expect_eq "--user -1: exit status" 2 "$?"
