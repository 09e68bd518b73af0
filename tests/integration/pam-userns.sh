#!/bin/sh
# mode=userns through the real runuser: the session's user namespace maps
# the block onto itself, so setuid-root programs are inert inside.
. "${top_srcdir:-.}/tests/lib.sh"
enter_sandbox "$@"

D=$DYNIDCTL
echo 'session required pam_dynid.so mode=userns' >>/etc/pam.d/runuser-l
"$D" add web >/dev/null || fail "add web"
B=$(getent passwd web | cut -d: -f3)

# A setuid-root copy of id, outside any nosuid mount.
cp /usr/bin/id "$WORK/id-suid"
chmod 4755 "$WORK/id-suid"
expect_eq "the setuid copy works outside" 0 \
        "$(as_nobody "$WORK/id-suid" -u)"

out=$(runuser -l -s /bin/sh web -c "cat /proc/self/uid_map /proc/self/gid_map; id -u; $WORK/id-suid -u; echo \$HOME; touch ~/g; stat -c %u ~/g")
expect_eq "runuser exit status" 0 "$?"
expect_eq "uid_map" "$B $B 65536" \
        "$(echo "$out" | sed -n 1p | tr -s ' ' | sed 's/^ //')"
expect_eq "gid_map" "$B $B 65536" \
        "$(echo "$out" | sed -n 2p | tr -s ' ' | sed 's/^ //')"
expect_eq "uid in the session" "$B" "$(echo "$out" | sed -n 3p)"
expect_eq "the setuid-root copy inside" "$B" "$(echo "$out" | sed -n 4p)"
expect_eq "HOME" "$STATE_DIR/home/web" "$(echo "$out" | sed -n 5p)"
expect_eq "a new file inside" "$B" "$(echo "$out" | sed -n 6p)"
expect_eq "the raw file in storage" 2147352576 \
        "$(stat -c %u "$STATE_DIR/storage/web/g")"

out=$(runuser -l -s /bin/sh web -c "$SESSION_PROBE")
expect_eq "runuser with the session probe: exit status" 0 "$?"
expect_session_home "mode=userns" "$out" "$B" web

# Names resolve inside, where root's snapshot shows the overflow uid.
# (A login resets the environment; an ASan build needs its preload kept.)
expect_eq "id inside" "uid=$B(web) gid=$B(web) groups=$B(web)" \
        "$(runuser -l -w LD_PRELOAD,ASAN_OPTIONS -s /bin/sh web -c id)"

# The launcher, inside the namespace now, still ends the session: gc finds
# no record left to reap (reaping one would mark the lease used again).
used=$(lease_field web last_used)
sleep 1.1
"$D" gc >/dev/null || fail "gc"
expect_eq "no session left for gc" "$used" \
        "$(lease_field web last_used)"
