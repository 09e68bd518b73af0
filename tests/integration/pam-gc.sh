#!/bin/sh
# Sessions that were never closed: a launcher killed by SIGKILL, and a PAM
# client that exits without pam_close_session. Their records stop counting
# when the process is gone, and dynidctl gc reaps them.
. "${top_srcdir:-.}/tests/lib.sh"
enter_sandbox "$@"

D=$DYNIDCTL
command -v pamtester >/dev/null || skip "needs pamtester (scripts/deps)"
echo 'session required pam_dynid.so' >>/etc/pam.d/runuser-l
"$D" add web >/dev/null || fail "add web"
HOME_DIR=$STATE_DIR/home/web

# gone PID: waits (at most 5 s) until PID is gone or a zombie.
gone() {
        n=0
        while [ -e "/proc/$1" ] &&
              [ "$(sed 's/.*) \(.\).*/\1/' "/proc/$1/stat" 2>/dev/null)" != Z ]; do
                n=$((n + 1))
                [ "$n" -le 50 ] || return 1
                sleep 0.1
        done
}

launcher=
sleeper=
cleanup() {
        for p in $sleeper $launcher; do
                kill -9 "$p" 2>/dev/null
        done
}
trap cleanup EXIT

# 1. runuser (mode=mount) killed by SIGKILL while its session runs.
runuser -l -s /bin/sh web -c 'exec sleep 60' &
launcher=$!
n=0
while [ "$(lease_field web sessions)" != 1 ]; do
        n=$((n + 1))
        [ "$n" -le 50 ] || fail "the session of runuser never counted"
        sleep 0.1
done
echo "ok: the running session counts"
expect_eq "the background job is runuser" runuser "$(cat "/proc/$launcher/comm")"
expect_eq "the lease is active" active \
        "$("$D" list | awk '$1 == "web" { print $4 }')"
n=0
until sleeper=$(cat "/proc/$launcher/task/$launcher/children" 2>/dev/null) &&
      [ -n "$sleeper" ] &&
      [ "$(cat "/proc/${sleeper% }/comm")" = sleep ]; do
        n=$((n + 1))
        [ "$n" -le 50 ] || fail "runuser's child never became sleep"
        sleep 0.1
done
sleeper=${sleeper% }
if [ "$(readlink "/proc/$sleeper/ns/mnt")" = "$(readlink /proc/self/ns/mnt)" ]
then
        fail "the session shares our mount namespace"
fi
echo "ok: the session has its own mount namespace"

kill -9 "$launcher"
wait "$launcher" 2>/dev/null
kill -9 "$sleeper"
gone "$sleeper" || fail "sleep $sleeper survived SIGKILL"
launcher=
sleeper=
expect_eq "list after the kill" "web idle 0" \
        "$("$D" list | awk '$1 == "web" { print $1, $4, $5 }')"
expect_eq "show after the kill" 0 "$(lease_field web sessions)"
used=$(lease_field web last_used)
after_second "$used"
"$D" gc
expect_eq "gc exit status" 0 "$?"
# Reaping the dead record is the lease's last use: last_used moves. A
# second gc finds nothing left, so it stays.
used2=$(lease_field web last_used)
[ "$used2" -gt "$used" ] ||
        fail "gc did not reap the session: last_used $used2, was $used"
echo "ok: gc reaped the killed launcher's session"
after_second "$used2"
"$D" gc || fail "second gc"
expect_eq "a second gc has nothing to reap" "$used2" \
        "$(lease_field web last_used)"
"$D" check
expect_eq "check after gc" 0 "$?"
expect_eq "the home is not mounted here" "" \
        "$(grep " $HOME_DIR " /proc/self/mountinfo)"

# 2. A PAM client that opens a session and exits without closing it.
printf '%s\n' 'auth required pam_permit.so' \
        'account required pam_permit.so' \
        'session required pam_dynid.so' >/etc/pam.d/dynid-test
pamtester dynid-test web open_session
expect_eq "pamtester open_session only" 0 "$?"
expect_eq "the unclosed session is dead" 0 "$(lease_field web sessions)"
used=$(lease_field web last_used)
after_second "$used"
"$D" gc
expect_eq "gc exit status (unclosed session)" 0 "$?"
used2=$(lease_field web last_used)
[ "$used2" -gt "$used" ] ||
        fail "gc did not reap the unclosed session: last_used $used2, was $used"
echo "ok: gc reaped the unclosed session"
"$D" check
expect_eq "check after the second reap" 0 "$?"

"$D" remove web >/dev/null
expect_eq "remove without --force" 0 "$?"
"$D" check >/dev/null
expect_eq "check with no lease" 0 "$?"

# Idle leases: with idle_ttl, gc reclaims a lease without a session only
# when no process runs with an ID of its block, not even one a session
# left behind.
mkdir -p "${CONF_FILE%/*}"
printf '[service]\nidle_ttl = 1\n' >"$CONF_FILE"
"$D" add idle >/dev/null || fail "add idle"
IB=$(getent passwd idle | cut -d: -f3)
setpriv --reuid="$((IB + 5))" --regid="$IB" --clear-groups sleep 30 &
left=$!
sleep 2
expect_eq "a process in the block keeps the lease" "" "$("$D" gc)"
expect_eq "the lease is still there" idle \
        "$(getent passwd "$IB" | cut -d: -f1)"
kill "$left"
wait "$left" 2>/dev/null
expect_eq "without it, gc reclaims the lease" "reclaimed idle" \
        "$("$D" gc | grep idle)"
