#!/bin/sh
# A service login through the real su -l (PAM service su-l), from root:
# mode=mount gives the session its own mount namespace with the idmapped
# home at pw_dir; mode=userns adds the user namespace mapping the block
# onto itself.
. "${top_srcdir:-.}/tests/lib.sh"
enter_sandbox "$@"

D=$DYNIDCTL
[ -f /etc/pam.d/su-l ] || skip "no /etc/pam.d/su-l"
command -v su >/dev/null || skip "needs su(1)"
echo 'session required pam_dynid.so' >>/etc/pam.d/su-l

"$D" add web >/dev/null || fail "add web"
B=$(getent passwd web | cut -d: -f3)
HOME_DIR=$STATE_DIR/home/web
STORE=$STATE_DIR/storage/web
FOREIGN=2147352576

out=$(su -l -s /bin/sh web -c "$SESSION_PROBE")
expect_eq "su exit status" 0 "$?"
expect_session_home "su" "$out" "$B" web
expect_eq "no live session after logout" 0 "$(lease_field web sessions)"
# su closed the record itself: gc finds nothing to reap (reaping would
# move last_used).
used=$(lease_field web last_used)
after_second "$used"
"$D" gc || fail "gc"
expect_eq "gc found no record left by su" "$used" "$(lease_field web last_used)"

# mode=userns: the block mapped onto itself, the same home and storage.
sed -i 's/^session required pam_dynid\.so$/& mode=userns/' /etc/pam.d/su-l
expect_eq "su-l now asks for mode=userns" \
        "session required pam_dynid.so mode=userns" \
        "$(grep pam_dynid /etc/pam.d/su-l)"
# shellcheck disable=SC2016
out=$(su -l -s /bin/sh web -c 'cat /proc/self/uid_map /proc/self/gid_map; id -u; echo $HOME; stat -c %u ~/f; touch ~/g; stat -c %u ~/g')
expect_eq "su exit status (userns)" 0 "$?"
expect_eq "uid_map" "$B $B 65536" \
        "$(echo "$out" | sed -n 1p | tr -s ' ' | sed 's/^ //')"
expect_eq "gid_map" "$B $B 65536" \
        "$(echo "$out" | sed -n 2p | tr -s ' ' | sed 's/^ //')"
expect_eq "uid in the session (userns)" "$B" "$(echo "$out" | sed -n 3p)"
expect_eq "HOME (userns)" "$HOME_DIR" "$(echo "$out" | sed -n 4p)"
expect_eq "the file of the first session (userns)" "$B" \
        "$(echo "$out" | sed -n 5p)"
expect_eq "a new file inside (userns)" "$B" "$(echo "$out" | sed -n 6p)"
expect_eq "the raw new file in storage" "$FOREIGN $FOREIGN" \
        "$(stat -c '%u %g' "$STORE/g")"
expect_eq "the mount is not visible outside the session (userns)" "" \
        "$(grep " $HOME_DIR " /proc/self/mountinfo)"
expect_eq "no live session after logout (userns)" 0 "$(lease_field web sessions)"

# Users without a lease are untouched: no namespace, same mounts.
out=$(su -l -s /bin/sh nobody -c 'readlink /proc/self/ns/mnt /proc/self/ns/user' 2>/dev/null)
expect_eq "nobody's session keeps the namespaces" \
        "$(readlink /proc/self/ns/mnt /proc/self/ns/user)" "$out"
