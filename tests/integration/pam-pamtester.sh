#!/bin/sh
# The module driven by pamtester, a launcher that opens and closes the
# session in one process and runs nothing in it: both modes open and close
# cleanly, users without a lease pass untouched, and an unknown option is
# ignored.
. "${top_srcdir:-.}/tests/lib.sh"
enter_sandbox "$@"

D=$DYNIDCTL
command -v pamtester >/dev/null || skip "needs pamtester (scripts/deps)"

# pam_permit first: a stack whose only module returns PAM_IGNORE fails
# (libpam's default), so nobody's sessions need a second module, as any
# real stack has.
stack() {
        printf '%s\n' 'auth required pam_permit.so' \
                'account required pam_permit.so' \
                'session required pam_permit.so' \
                "session required pam_dynid.so${1:+ $1}" \
                >/etc/pam.d/dynid-test
}

"$D" add web >/dev/null || fail "add web"
HOME_DIR=$STATE_DIR/home/web

for mode in mount userns; do
        stack "mode=$mode"
        used=$(lease_field web last_used)
        after_second "$used"
        pamtester dynid-test web open_session close_session
        expect_eq "pamtester web, mode=$mode" 0 "$?"
        expect_eq "no live session after it (mode=$mode)" 0 \
                "$(lease_field web sessions)"
        used2=$(lease_field web last_used)
        [ "$used2" -gt "$used" ] ||
                fail "last_used $used2 did not move past $used (mode=$mode)"
        echo "ok: the session used the lease (mode=$mode)"
        expect_eq "the home is not mounted outside (mode=$mode)" "" \
                "$(grep " $HOME_DIR " /proc/self/mountinfo)"
        expect_eq "gc after mode=$mode" 0 "$("$D" gc >/dev/null; echo $?)"
done

# mode=mount: pam_close_session removed the record itself, so gc has
# nothing left to reap (reaping would move last_used).
stack
used=$(lease_field web last_used)
after_second "$used"
pamtester dynid-test web open_session close_session
expect_eq "pamtester web, default mode" 0 "$?"
used=$(lease_field web last_used)
after_second "$used"
"$D" gc >/dev/null || fail "gc"
expect_eq "gc found no record left by a closed session" "$used" \
        "$(lease_field web last_used)"

# A user without a lease: PAM_IGNORE, nothing created, nothing recorded.
before=$("$D" list --json)
pamtester dynid-test nobody open_session close_session
expect_eq "pamtester nobody" 0 "$?"
expect_eq "no home appears for nobody" "" \
        "$(find "$STATE_DIR/home" -mindepth 1 -maxdepth 1 ! -name web)"
expect_eq "the leases are unchanged" "$before" "$("$D" list --json)"
expect_eq "still no lease for nobody" 1 \
        "$("$D" show nobody >/dev/null 2>&1; echo $?)"
pamtester dynid-test no-such-user open_session close_session
expect_eq "pamtester no-such-user" 0 "$?"

# An unknown option is ignored with a warning (to syslog, which may be
# absent): the session still opens. A fresh lease shows it: its home's
# mount point appears with the first session.
"$D" add api >/dev/null || fail "add api"
[ ! -e "$STATE_DIR/home/api" ] || fail "api's home exists before a session"
stack bogus
expect_eq "the stack has the unknown option" \
        "session required pam_dynid.so bogus" \
        "$(grep pam_dynid /etc/pam.d/dynid-test)"
used=$(lease_field api last_used)
after_second "$used"
pamtester dynid-test api open_session close_session
expect_eq "pamtester api with an unknown option" 0 "$?"
expect_eq "the session built api's home" "root 755" \
        "$(stat -c '%U %a' "$STATE_DIR/home/api")"
used2=$(lease_field api last_used)
[ "$used2" -gt "$used" ] ||
        fail "last_used of api $used2 did not move past $used"
echo "ok: the session with an unknown option used the lease"
expect_eq "no live session of api" 0 "$(lease_field api sessions)"
"$D" remove web api >/dev/null
expect_eq "both leases end without --force" 0 "$?"
